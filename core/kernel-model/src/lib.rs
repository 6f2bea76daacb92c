//! sel4-kernel-model: host-side model of the seL4 5.0 (x86_64) kernel for the invocations placement uses:
//! `Untyped_Retype`, `CNode_Delete`, `CNode_Revoke` (and `CNode_Copy` for tests), with the
//! capability derivation tree (CDT) they depend on.
//!
//! # The derivation tree
//! The kernel keeps the CDT as a doubly linked list in pre-order (`mdb_node` prev/next,
//! `src/object/cnode.c`): a cap's descendants follow it. "X has children" means the *next*
//! entry is an MDB child of X (`cnode.c:ensureNoChildren`, `isMDBParentOf`: X revocable and the
//! next cap inside X's region, `src/object/objecttype.c:sameRegionAs`). A retype inserts each new
//! cap directly after the untyped (`cnode.c:insertNewCap`), so one retype's objects appear in
//! reverse creation order before older children. Deleting a cap unlinks it (`cnode.c:emptySlot`);
//! its former descendants stay where they were in the list and so now follow its predecessor.
//! Boot caps start unlinked (`src/kernel/boot.c:write_slot` writes a null MDB node), so every
//! boot untyped heads its own list.
//!
//! Instead of the list this model keeps, per slot, a parent, a first child and doubly linked
//! siblings (newest first): the pre-order walk of this tree is exactly the kernel's list.
//! Deleting a cap replaces it in its parent's child list by its own children, in order, which
//! leaves the pre-order walk equal to the list with the cap removed. "Has children" is then
//! `first_child != NIL`: a tree child is always inside the parent's region (it was derived from
//! the parent or from a since-deleted descendant), and the entry following a childless cap is a
//! later sibling of it or of an ancestor, whose region is disjoint from it (siblings are created
//! by retypes of one untyped between two resets, or are descendants of a deleted sibling).
//! A revoke deletes the tree descendants, exactly the run `cteRevoke` deletes. The unit tests
//! compare this model with a literal transcription of the kernel's list code on random
//! operation sequences.
//!
//! Cost: retype O(count), delete O(1) plus O(k) to re-parent k children of a deleted untyped
//! (each cap can be re-parented at most once per level of nesting, at most 44 levels),
//! revoke O(descendants) (each deleted once). Storage is caller-provided (`S`), one
//! [`ModelSlot`] per CSpace slot.
#![no_std]

use sel4_abi::LookupFailure;
/// `CONFIG_RETYPE_FAN_OUT_LIMIT` and `CONFIG_RESET_CHUNK_BITS` of the configuration (the
/// granule in which `untyped.c:resetUntypedCap` zeroes a RAM untyped), generated.
pub use sel4_abi::{RESET_CHUNK_BITS, RETYPE_FAN_OUT_LIMIT};
use sel4_core::kernel::{kernel_aligned, Kernel, KernelError, Slot, UntypedDesc};
use sel4_core::object::{ObjectType, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS, WORD_BITS};

const NIL: u32 = u32::MAX;

/// The model's answer for a slot beyond its storage of `len` slots (the source or the
/// destination of a CNode operation). The model is one CNode whose radix covers its storage and
/// whose guard of zero bits makes up the rest of the word, as core's root CNode at boot: an
/// index beyond it meets a guard it does not match (`cspace.c:resolveAddressBits`).
pub fn outside(len: usize, slot: Slot, source: bool) -> KernelError {
    let radix = len.next_power_of_two().trailing_zeros() as u8;
    let guard_bits = WORD_BITS - radix;
    let failure = LookupFailure::GuardMismatch {
        bits_left: WORD_BITS as u64,
        guard_found: (slot.0 as u64) >> radix,
        bits_found: guard_bits as u64,
    };
    KernelError::FailedLookup { source, failure }
}

/// The capability held in one slot of the model.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum ModelCap {
    Empty,
    /// A boot cap core did not create and the model does not interpret (TCB, CNode, VSpace,
    /// IRQ control, ... in the initial slots).
    Other,
    /// `free_index` in bytes (the kernel stores it in 16-byte units, `include/object/untyped.h`);
    /// it is the raw cap field: it only counts while the untyped has children.
    Untyped {
        paddr: u64,
        size_bits: u8,
        is_device: bool,
        free_index: u64,
    },
    Object {
        ty: ObjectType,
        paddr: u64,
        bits: u8,
        is_device: bool,
    },
}

/// One CSpace slot of the model (caller-allocated storage; initialise with [`ModelSlot::EMPTY`]).
#[derive(Copy, Clone, Debug)]
pub struct ModelSlot {
    cap: ModelCap,
    /// `mdbRevocable`: caps from retype and untyped copies are revocable, copies of object caps
    /// are not (`cnode.c:cteInsert`, `insertNewCap`).
    revocable: bool,
    parent: u32,
    first_child: u32,
    prev_sib: u32,
    next_sib: u32,
}

impl ModelSlot {
    pub const EMPTY: ModelSlot = ModelSlot {
        cap: ModelCap::Empty,
        revocable: false,
        parent: NIL,
        first_child: NIL,
        prev_sib: NIL,
        next_sib: NIL,
    };
}

/// Why a model could not be built.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum ModelError {
    /// A boot untyped's slot is not below the first free slot, or beyond the storage.
    SlotOutOfRange(Slot),
    /// Two boot untypeds name the same slot.
    DuplicateSlot(Slot),
    /// A boot untyped with size outside 4..=47 bits or a misaligned base.
    BadUntyped(Slot),
    /// More boot slots than storage, or more slots than a `u32` slot number can name.
    Storage,
}

/// Work the model has seen the kernel do.
#[derive(Copy, Clone, Default, Eq, PartialEq, Debug)]
pub struct ModelStats {
    /// Retypes that reset their untyped (no children, old FreeIndex > 0).
    pub resets: u64,
    /// Bytes the kernel zeroed in resets (`untyped.c:resetUntypedCap`; device memory is not zeroed).
    pub bytes_zeroed: u64,
    /// Objects (caps) created by retypes.
    pub objects_created: u64,
    /// Caps removed by deletes and revokes.
    pub caps_deleted: u64,
}

pub struct KernelModel<S> {
    slots: S,
    stats: ModelStats,
}

impl<S: AsRef<[ModelSlot]> + AsMut<[ModelSlot]>> KernelModel<S> {
    /// Builds the model of core's CSpace: `storage.len()` slots, slots below `first_free` hold boot
    /// caps (the given untypeds; the rest are opaque [`ModelCap::Other`]), the others are empty.
    /// Boot untypeds start full (`src/kernel/boot.c:provide_untyped_cap` sets FreeIndex to
    /// `MAX_FREE_INDEX`), so the first retype of each resets it.
    pub fn new(mut storage: S, boot: &[UntypedDesc], first_free: Slot) -> Result<Self, ModelError> {
        let n = storage.as_ref().len();
        if n >= NIL as usize || first_free.0 as usize > n {
            return Err(ModelError::Storage);
        }
        let slots = storage.as_mut();
        for (i, s) in slots.iter_mut().enumerate() {
            *s = ModelSlot::EMPTY;
            if (i as u32) < first_free.0 {
                s.cap = ModelCap::Other;
                s.revocable = true;
            }
        }
        for u in boot {
            if u.slot.0 >= first_free.0 {
                return Err(ModelError::SlotOutOfRange(u.slot));
            }
            // Aligned as the kernel cuts them: by kernel virtual address.
            if !(MIN_UNTYPED_BITS..=MAX_UNTYPED_BITS).contains(&u.size_bits) || !kernel_aligned(u.paddr, u.size_bits) {
                return Err(ModelError::BadUntyped(u.slot));
            }
            let s = &mut slots[u.slot.0 as usize];
            if s.cap != ModelCap::Other {
                return Err(ModelError::DuplicateSlot(u.slot));
            }
            s.cap = ModelCap::Untyped {
                paddr: u.paddr,
                size_bits: u.size_bits,
                is_device: u.is_device,
                free_index: 1u64 << u.size_bits,
            };
        }
        Ok(KernelModel { slots: storage, stats: ModelStats::default() })
    }

    fn s(&self) -> &[ModelSlot] {
        self.slots.as_ref()
    }
    fn sm(&mut self) -> &mut [ModelSlot] {
        self.slots.as_mut()
    }

    /// Number of slots in the modelled CNode.
    pub fn num_slots(&self) -> usize {
        self.s().len()
    }

    pub fn stats(&self) -> ModelStats {
        self.stats
    }

    /// The cap in `slot` (`None` if the slot is outside the CNode).
    pub fn cap(&self, slot: Slot) -> Option<ModelCap> {
        self.s().get(slot.0 as usize).map(|s| s.cap)
    }

    /// Effective watermark of the untyped in `slot` in bytes: where the next retype starts before
    /// alignment, i.e. its FreeIndex if it has children, else 0 (`untyped.c:decodeUntypedInvocation`).
    pub fn watermark(&self, slot: Slot) -> Option<u64> {
        match self.cap(slot)? {
            ModelCap::Untyped { free_index, .. } => Some(if self.has_children(slot) { free_index } else { 0 }),
            _ => None,
        }
    }

    /// Kind, physical address and log2 size of the object (or untyped) whose cap is in `slot`.
    pub fn object_at(&self, slot: Slot) -> Option<(ObjectType, u64, u8)> {
        match self.cap(slot)? {
            ModelCap::Untyped { paddr, size_bits, .. } => Some((ObjectType::Untyped, paddr, size_bits)),
            ModelCap::Object { ty, paddr, bits, .. } => Some((ty, paddr, bits)),
            _ => None,
        }
    }

    /// `cnode.c:ensureNoChildren` fails, i.e. the next CDT entry is a child.
    pub fn has_children(&self, slot: Slot) -> bool {
        self.s().get(slot.0 as usize).is_some_and(|s| s.first_child != NIL)
    }

    /// CDT parent (the entry that would revoke this cap), if any.
    pub fn parent(&self, slot: Slot) -> Option<Slot> {
        let p = self.s().get(slot.0 as usize)?.parent;
        (p != NIL).then_some(Slot(p))
    }

    /// Direct CDT children of `slot` in list order (newest first).
    pub fn children(&self, slot: Slot) -> impl Iterator<Item = Slot> + '_ {
        let mut c = self.s().get(slot.0 as usize).map_or(NIL, |s| s.first_child);
        core::iter::from_fn(move || {
            if c == NIL {
                return None;
            }
            let r = c;
            c = self.s()[c as usize].next_sib;
            Some(Slot(r))
        })
    }

    /// Every non-empty slot with its cap, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (Slot, ModelCap)> + '_ {
        self.s().iter().enumerate().filter(|(_, s)| s.cap != ModelCap::Empty).map(|(i, s)| (Slot(i as u32), s.cap))
    }

    fn link_first_child(&mut self, parent: u32, child: u32) {
        let old = self.s()[parent as usize].first_child;
        {
            let c = &mut self.sm()[child as usize];
            c.parent = parent;
            c.prev_sib = NIL;
            c.next_sib = old;
        }
        if old != NIL {
            self.sm()[old as usize].prev_sib = child;
        }
        self.sm()[parent as usize].first_child = child;
    }

    fn link_after(&mut self, prev: u32, x: u32) {
        let (parent, next) = {
            let p = &self.s()[prev as usize];
            (p.parent, p.next_sib)
        };
        {
            let c = &mut self.sm()[x as usize];
            c.parent = parent;
            c.prev_sib = prev;
            c.next_sib = next;
        }
        self.sm()[prev as usize].next_sib = x;
        if next != NIL {
            self.sm()[next as usize].prev_sib = x;
        }
    }

    /// `cnode.c:emptySlot`: remove the cap; its children take its place among its siblings.
    fn empty_slot(&mut self, x: u32) {
        let ModelSlot { parent, first_child, prev_sib, next_sib, cap, .. } = self.s()[x as usize];
        if cap == ModelCap::Empty {
            return;
        }
        // Replacement chain for x in its sibling list: x's children (re-parented) or nothing.
        let (head, tail) = if first_child != NIL {
            let mut c = first_child;
            let mut last = c;
            while c != NIL {
                self.sm()[c as usize].parent = parent;
                last = c;
                c = self.s()[c as usize].next_sib;
            }
            (first_child, last)
        } else {
            (next_sib, NIL)
        };
        if first_child != NIL {
            self.sm()[head as usize].prev_sib = prev_sib;
            self.sm()[tail as usize].next_sib = next_sib;
            if next_sib != NIL {
                self.sm()[next_sib as usize].prev_sib = tail;
            }
        } else if next_sib != NIL {
            self.sm()[next_sib as usize].prev_sib = prev_sib;
        }
        if prev_sib != NIL {
            self.sm()[prev_sib as usize].next_sib = head;
        } else if parent != NIL {
            self.sm()[parent as usize].first_child = head;
        }
        self.sm()[x as usize] = ModelSlot::EMPTY;
        self.stats.caps_deleted += 1;
    }

    fn lookup(&self, slot: Slot, source: bool) -> Result<u32, KernelError> {
        if (slot.0 as usize) < self.s().len() {
            Ok(slot.0)
        } else {
            Err(outside(self.s().len(), slot, source))
        }
    }

    /// `seL4_CNode_Copy` of the cap in `src` to the empty slot `dest` with full rights
    /// (`cnode.c:decodeCNodeInvocation`, `cteInsert`, `objecttype.c:deriveCap`). Not used by
    /// placement; it models the copies clients hold, to test that revoking a leaf removes them.
    pub fn cnode_copy(&mut self, src: Slot, dest: Slot) -> Result<(), KernelError> {
        let d = self.lookup(dest, false)?;
        if self.s()[d as usize].cap != ModelCap::Empty {
            return Err(KernelError::DeleteFirst);
        }
        let s = self.lookup(src, true)?;
        let cap = self.s()[s as usize].cap;
        let revocable = match cap {
            // decodeCNodeInvocation: an empty source slot is a missing capability.
            ModelCap::Empty => {
                let failure = LookupFailure::MissingCapability { bits_left: WORD_BITS as u64 };
                return Err(KernelError::FailedLookup { source: true, failure });
            }
            ModelCap::Other => return Err(KernelError::IllegalOperation),
            ModelCap::Untyped { .. } => {
                // deriveCap: an untyped with children cannot be copied.
                if self.has_children(src) {
                    return Err(KernelError::RevokeFirst);
                }
                true
            }
            ModelCap::Object { .. } => false,
        };
        self.sm()[d as usize].cap = cap;
        self.sm()[d as usize].revocable = revocable;
        if self.s()[s as usize].revocable {
            // The copy is in the source's region: an MDB child of a revocable source.
            self.link_first_child(s, d);
        } else {
            // A non-revocable source is nobody's parent (`isMDBParentOf`): the copy follows it
            // as a sibling.
            self.link_after(s, d);
        }
        if let ModelCap::Untyped { paddr, size_bits, is_device, .. } = cap {
            // cnode.c:setUntypedCapAsFull: the source is marked full.
            self.sm()[s as usize].cap =
                ModelCap::Untyped { paddr, size_bits, is_device, free_index: 1u64 << size_bits };
        }
        Ok(())
    }
}

impl<S: AsRef<[ModelSlot]> + AsMut<[ModelSlot]>> Kernel for KernelModel<S> {
    /// `src/object/untyped.c:decodeUntypedInvocation` + `invokeUntyped_Retype`, checks in the
    /// kernel's order.
    fn untyped_retype(
        &mut self,
        untyped: Slot,
        ty: ObjectType,
        size_bits: u8,
        dest: Slot,
        count: u32,
    ) -> Result<(), KernelError> {
        // The invoked cap. On the real kernel a CPtr that does not resolve raises a cap fault
        // (`src/api/syscall.c:handleInvocation`); the model reports FailedLookup instead.
        let u = self.lookup(untyped, false)?;
        let (base, ubits, is_device, raw_free) = match self.s()[u as usize].cap {
            // objecttype.c:decodeInvocation: invoking a null cap.
            ModelCap::Empty => return Err(KernelError::InvalidCapability { which: 0 }),
            // Another object's decoder sees the UntypedRetype label: IllegalOperation (e.g.
            // cnode.c:decodeCNodeInvocation, tcb.c:decodeTCBInvocation). Not modelled:
            // invoking an endpoint or notification cap is a send or signal whatever the label
            // (objecttype.c:decodeInvocation) — the kernel would block or succeed there; the
            // model answers IllegalOperation, and placement never invokes such caps.
            ModelCap::Other | ModelCap::Object { .. } => return Err(KernelError::IllegalOperation),
            ModelCap::Untyped { paddr, size_bits, is_device, free_index } => (paddr, size_bits, is_device, free_index),
        };
        // Type in range (every ObjectType is), size_bits <= 47, CNode radix >= 1, untyped >= 16 B.
        let obits = ty.object_bits(size_bits)?;
        // Destination window inside core's CNode (depth 0: the root CNode itself).
        let n = self.s().len() as u64;
        let (off, cnt) = (dest.0 as u64, count as u64);
        if off > n - 1 {
            return Err(KernelError::RangeError { min: 0, max: n - 1 });
        }
        if cnt < 1 || cnt > RETYPE_FAN_OUT_LIMIT as u64 {
            return Err(KernelError::RangeError { min: 1, max: RETYPE_FAN_OUT_LIMIT as u64 });
        }
        if cnt > n - off {
            return Err(KernelError::RangeError { min: 1, max: n - off });
        }
        // cnode.c:ensureEmptySlot on each destination slot, ascending.
        if self.s()[off as usize..(off + cnt) as usize].iter().any(|s| s.cap != ModelCap::Empty) {
            return Err(KernelError::DeleteFirst);
        }
        // ensureNoChildren decides: continue at FreeIndex, or reset to 0.
        let reset = !self.has_children(untyped);
        let free = if reset { 0 } else { raw_free };
        let free_bytes = (1u64 << ubits) - free;
        if obits >= WORD_BITS || (free_bytes >> obits) < cnt {
            return Err(KernelError::NotEnoughMemory { bytes_available: free_bytes });
        }
        // Device untypeds make only frames and untypeds (Arch_isFrameType), checked after memory.
        if is_device && !ty.allowed_from_device() {
            return Err(KernelError::InvalidArgument { which: 1 });
        }
        // Natural alignment: alignUp(freeRef, objectSize) on the kernel pointer, whose base is
        // aligned to 2^ubits >= 2^obits, so aligning the offset is the same.
        let size = 1u64 << obits;
        let aligned = (free + size - 1) & !(size - 1);
        if reset && raw_free > 0 {
            // untyped.c:resetUntypedCap zeroes RAM untypeds: a block below
            // CONFIG_RESET_CHUNK_BITS (2^8) whole, a larger one in 256-byte chunks
            // from ROUND_DOWN(offset - 1, 8) down to 0, i.e. FreeIndex rounded up to 256.
            self.stats.resets += 1;
            if !is_device {
                self.stats.bytes_zeroed += if ubits < RESET_CHUNK_BITS {
                    1u64 << ubits
                } else {
                    (raw_free + (1 << RESET_CHUNK_BITS) - 1) & !((1u64 << RESET_CHUNK_BITS) - 1)
                };
            }
        }
        self.sm()[u as usize].cap =
            ModelCap::Untyped { paddr: base, size_bits: ubits, is_device, free_index: aligned + cnt * size };
        // objecttype.c:createNewObjects: object i into slot offset+i, each inserted right after
        // the untyped (insertNewCap), revocable.
        for i in 0..cnt {
            let paddr = base + aligned + i * size;
            let cap = match ty {
                // objecttype.c:createObject: child untyped with FreeIndex 0 and the parent's device flag.
                ObjectType::Untyped => ModelCap::Untyped { paddr, size_bits: obits, is_device, free_index: 0 },
                _ => ModelCap::Object { ty, paddr, bits: obits, is_device },
            };
            let d = (off + i) as u32;
            self.sm()[d as usize].cap = cap;
            self.sm()[d as usize].revocable = true;
            self.link_first_child(u, d);
        }
        self.stats.objects_created += cnt;
        Ok(())
    }

    /// `cnode.c:cteDelete`: deleting an empty slot succeeds and does nothing. Children of a
    /// deleted untyped stay alive and follow its predecessor (`emptySlot`).
    fn cnode_delete(&mut self, slot: Slot) -> Result<(), KernelError> {
        let x = self.lookup(slot, false)?;
        self.empty_slot(x);
        Ok(())
    }

    /// `cnode.c:cteRevoke`: deletes the entries after the cap while they are its MDB children.
    /// FreeIndex is not touched; the next retype resets.
    fn cnode_revoke(&mut self, slot: Slot) -> Result<(), KernelError> {
        let x = self.lookup(slot, false)?;
        loop {
            let c = self.s()[x as usize].first_child;
            if c == NIL {
                return Ok(());
            }
            self.empty_slot(c);
        }
    }

    fn observed_watermark(&mut self, slot: Slot) -> Option<u64> {
        self.watermark(slot)
    }
}

#[cfg(test)]
mod tests;
