//! Kernel model tests: each error path and rule against the kernel function it models, and the
//! tree representation against a literal transcription of the kernel's MDB list code.

extern crate std;
use std::vec;
use std::vec::Vec;

use super::*;
use sel4_core::object::ObjectType as T;

const RAM: u64 = 0x10_0000;

fn model(slots: usize, boot: &[UntypedDesc]) -> KernelModel<Vec<ModelSlot>> {
    let first = boot.iter().map(|u| u.slot.0 + 1).max().unwrap_or(0);
    KernelModel::new(vec![ModelSlot::EMPTY; slots], boot, Slot(first)).unwrap()
}

fn one(bits: u8) -> KernelModel<Vec<ModelSlot>> {
    // Above 2^39 bytes a root is aligned by its kernel address PPTR_BASE + paddr (= 0 here).
    let paddr = if bits <= 20 {
        RAM
    } else if bits <= 39 {
        1 << bits
    } else {
        1 << 39
    };
    model(64, &[UntypedDesc { slot: Slot(1), paddr, size_bits: bits, is_device: false }])
}

const U: Slot = Slot(1);

#[test]
fn boot_untyped_starts_full_but_first_retype_resets() {
    // boot.c:provide_untyped_cap: FreeIndex = MAX_FREE_INDEX; untyped.c: no children -> reset.
    let mut k = one(13);
    assert_eq!(k.cap(U), Some(ModelCap::Untyped { paddr: RAM, size_bits: 13, is_device: false, free_index: 0x2000 }));
    assert_eq!(k.watermark(U), Some(0));
    k.untyped_retype(U, T::Endpoint, 0, Slot(10), 1).unwrap();
    assert_eq!(k.object_at(Slot(10)), Some((T::Endpoint, RAM, 4)));
    assert_eq!(k.watermark(U), Some(0x10));
    assert_eq!(k.stats().resets, 1);
    assert_eq!(k.stats().bytes_zeroed, 0x2000);
}

#[test]
fn seed_case_freeindex_placement_fails() {
    // Verified on the running kernel too: 1 KiB CNode -> 0x0, 2 KiB CNode aligned to 0x800,
    // 4 KiB frame at 0x1000, then a 1 KiB CNode gets NotEnoughMemory with 0 bytes left.
    let mut k = one(13);
    k.untyped_retype(U, T::CNode, 5, Slot(10), 1).unwrap();
    assert_eq!(k.object_at(Slot(10)), Some((T::CNode, RAM, 10)));
    assert_eq!(k.watermark(U), Some(0x400));
    k.untyped_retype(U, T::CNode, 6, Slot(11), 1).unwrap();
    assert_eq!(k.object_at(Slot(11)), Some((T::CNode, RAM + 0x800, 11)));
    assert_eq!(k.watermark(U), Some(0x1000));
    k.untyped_retype(U, T::Frame4K, 0, Slot(12), 1).unwrap();
    assert_eq!(k.object_at(Slot(12)), Some((T::Frame4K, RAM + 0x1000, 12)));
    assert_eq!(k.untyped_retype(U, T::CNode, 5, Slot(13), 1), Err(KernelError::NotEnoughMemory { bytes_available: 0 }));
    assert_eq!(k.cap(Slot(13)), Some(ModelCap::Empty), "a failed retype changes nothing");
    assert_eq!(k.watermark(U), Some(0x2000));
}

#[test]
fn seed_case_with_padding_untyped() {
    let mut k = one(13);
    k.untyped_retype(U, T::CNode, 5, Slot(10), 1).unwrap();
    // 1 KiB padding untyped covers the alignment gap [0x400, 0x800).
    k.untyped_retype(U, T::Untyped, 10, Slot(20), 1).unwrap();
    assert_eq!(k.object_at(Slot(20)), Some((T::Untyped, RAM + 0x400, 10)));
    k.untyped_retype(U, T::CNode, 6, Slot(11), 1).unwrap();
    k.untyped_retype(U, T::Frame4K, 0, Slot(12), 1).unwrap();
    k.untyped_retype(Slot(20), T::CNode, 5, Slot(13), 1).unwrap();
    assert_eq!(k.object_at(Slot(13)), Some((T::CNode, RAM + 0x400, 10)));
}

#[test]
fn alignment_skips_bytes_and_multi_object_retype_is_contiguous() {
    // untyped.c: alignedFreeRef = alignUp(freeRef, objectSize); createNewObjects: base + i*size.
    let mut k = one(16);
    k.untyped_retype(U, T::Endpoint, 0, Slot(10), 1).unwrap();
    k.untyped_retype(U, T::Tcb, 0, Slot(11), 3).unwrap();
    for i in 0..3 {
        assert_eq!(k.object_at(Slot(11 + i)), Some((T::Tcb, RAM + 0x800 * (i as u64 + 1), 11)));
    }
    assert_eq!(k.watermark(U), Some(0x2000));
    // insertNewCap puts each new cap right after the untyped: reverse creation order, newest first.
    let order: Vec<Slot> = k.children(U).collect();
    assert_eq!(order, vec![Slot(13), Slot(12), Slot(11), Slot(10)]);
}

#[test]
fn invoked_cap_errors() {
    let mut k = one(12);
    // objecttype.c:decodeInvocation: null cap -> InvalidCapability 0.
    assert_eq!(k.untyped_retype(Slot(5), T::Tcb, 0, Slot(10), 1), Err(KernelError::InvalidCapability { which: 0 }));
    // Initial (non-untyped) cap: its decoder rejects the label.
    assert_eq!(k.untyped_retype(Slot(0), T::Tcb, 0, Slot(10), 1), Err(KernelError::IllegalOperation));
    k.untyped_retype(U, T::Endpoint, 0, Slot(10), 1).unwrap();
    assert_eq!(k.untyped_retype(Slot(10), T::Endpoint, 0, Slot(11), 1), Err(KernelError::IllegalOperation));
    // Beyond the CNode: the real kernel faults, the model reports FailedLookup.
    assert_eq!(k.untyped_retype(Slot(64), T::Tcb, 0, Slot(10), 1), Err(outside(64, Slot(64), false)));
}

#[test]
fn argument_errors_in_kernel_order() {
    let mut k = one(12);
    // untyped.c: userObjSize > seL4_MaxUntypedBits -> RangeError{0, wordBits - 3}, before the
    // destination is even looked at (dest 99 is out of range here).
    assert_eq!(k.untyped_retype(U, T::Untyped, 48, Slot(99), 0), Err(KernelError::RangeError { min: 0, max: 61 }));
    // CapTable of radix 0 -> InvalidArgument 1.
    assert_eq!(k.untyped_retype(U, T::CNode, 0, Slot(99), 0), Err(KernelError::InvalidArgument { which: 1 }));
    // Untyped below 16 bytes -> InvalidArgument 1.
    assert_eq!(k.untyped_retype(U, T::Untyped, 3, Slot(99), 0), Err(KernelError::InvalidArgument { which: 1 }));
    // nodeOffset > nodeSize - 1 -> RangeError{0, nodeSize - 1}, before nodeWindow.
    assert_eq!(k.untyped_retype(U, T::Tcb, 0, Slot(64), 0), Err(KernelError::RangeError { min: 0, max: 63 }));
    // nodeWindow < 1 or > CONFIG_RETYPE_FAN_OUT_LIMIT -> RangeError{1, 256}.
    assert_eq!(k.untyped_retype(U, T::Tcb, 0, Slot(10), 0), Err(KernelError::RangeError { min: 1, max: 256 }));
    assert_eq!(k.untyped_retype(U, T::Tcb, 0, Slot(10), 257), Err(KernelError::RangeError { min: 1, max: 256 }));
    // nodeWindow > nodeSize - nodeOffset -> RangeError{1, nodeSize - nodeOffset}.
    assert_eq!(k.untyped_retype(U, T::Tcb, 0, Slot(60), 5), Err(KernelError::RangeError { min: 1, max: 4 }));
}

#[test]
fn delete_first_is_checked_before_memory() {
    let mut k = one(12);
    k.untyped_retype(U, T::Frame4K, 0, Slot(10), 1).unwrap();
    // ensureEmptySlot (DeleteFirst) comes before the memory check (NotEnoughMemory).
    assert_eq!(k.untyped_retype(U, T::Frame4K, 0, Slot(9), 2), Err(KernelError::DeleteFirst));
    assert_eq!(
        k.untyped_retype(U, T::Frame4K, 0, Slot(11), 1),
        Err(KernelError::NotEnoughMemory { bytes_available: 0 })
    );
    // The untyped's own slot counts as occupied.
    assert_eq!(k.untyped_retype(U, T::Endpoint, 0, U, 1), Err(KernelError::DeleteFirst));
}

#[test]
fn not_enough_memory_reports_bytes_left_and_ignores_alignment() {
    let mut k = one(13);
    k.untyped_retype(U, T::Endpoint, 0, Slot(10), 1).unwrap();
    // (untypedFreeBytes >> objectSize) < nodeWindow, without alignment: 0x1ff0 bytes left,
    // one 4 KiB frame fits (at 0x1000), two do not.
    assert_eq!(
        k.untyped_retype(U, T::Frame4K, 0, Slot(11), 2),
        Err(KernelError::NotEnoughMemory { bytes_available: 0x1ff0 })
    );
    k.untyped_retype(U, T::Frame4K, 0, Slot(11), 1).unwrap();
    assert_eq!(k.object_at(Slot(11)), Some((T::Frame4K, RAM + 0x1000, 12)));
    // Object bigger than the untyped.
    assert_eq!(
        k.untyped_retype(U, T::Frame2M, 0, Slot(12), 1),
        Err(KernelError::NotEnoughMemory { bytes_available: 0 })
    );
    // objectSize >= wordBits: a CNode of radix 47 is 2^52 bytes, refused as NotEnoughMemory.
    let mut k = one(47);
    assert_eq!(
        k.untyped_retype(U, T::CNode, 47, Slot(10), 1),
        Err(KernelError::NotEnoughMemory { bytes_available: 1 << 47 })
    );
}

#[test]
fn device_untyped_only_frames_and_untypeds_checked_after_memory() {
    let mut k = model(64, &[UntypedDesc { slot: Slot(1), paddr: 0xfee0_0000, size_bits: 21, is_device: true }]);
    k.untyped_retype(U, T::Frame4K, 0, Slot(10), 1).unwrap();
    assert_eq!(
        k.cap(Slot(10)),
        Some(ModelCap::Object { ty: T::Frame4K, paddr: 0xfee0_0000, bits: 12, is_device: true })
    );
    // Arch_isFrameType fails and it is not an untyped -> InvalidArgument 1.
    assert_eq!(k.untyped_retype(U, T::Tcb, 0, Slot(11), 1), Err(KernelError::InvalidArgument { which: 1 }));
    assert_eq!(k.untyped_retype(U, T::PageTable, 0, Slot(11), 1), Err(KernelError::InvalidArgument { which: 1 }));
    // The memory check comes first.
    assert_eq!(k.untyped_retype(U, T::Tcb, 0, Slot(11), 2000), Err(KernelError::RangeError { min: 1, max: 256 }));
    assert_eq!(
        k.untyped_retype(U, T::Frame1G, 0, Slot(11), 1),
        Err(KernelError::NotEnoughMemory { bytes_available: 0x1f_f000 })
    );
    // Child untypeds inherit the device flag (objecttype.c:createObject); no zeroing on reset.
    k.untyped_retype(U, T::Untyped, 12, Slot(11), 1).unwrap();
    assert_eq!(
        k.cap(Slot(11)),
        Some(ModelCap::Untyped { paddr: 0xfee0_1000, size_bits: 12, is_device: true, free_index: 0 })
    );
    assert_eq!(k.untyped_retype(Slot(11), T::Endpoint, 0, Slot(12), 1), Err(KernelError::InvalidArgument { which: 1 }));
    assert_eq!(k.stats().bytes_zeroed, 0);
}

#[test]
fn every_x86_64_type_has_its_size() {
    let mut k = one(32);
    for (slot, t) in (10..).zip(ObjectType::ALL) {
        let sb = match t {
            T::Untyped => 12,
            T::CNode => 4,
            _ => 0,
        };
        k.untyped_retype(U, t, sb, Slot(slot), 1).unwrap();
        let (ty, paddr, bits) = k.object_at(Slot(slot)).unwrap();
        assert_eq!((ty, bits), (t, t.object_bits(sb).unwrap()));
        assert_eq!(paddr % (1 << bits), 0, "{} naturally aligned", t.name());
        assert!(paddr >= 1 << 32 && paddr + (1 << bits) <= 2 << 32);
    }
}

#[test]
fn watermark_returns_to_zero_only_without_children() {
    // untyped.c:decodeUntypedInvocation: ensureNoChildren decides reset.
    let mut k = one(14);
    k.untyped_retype(U, T::Frame4K, 0, Slot(10), 2).unwrap();
    k.cnode_delete(Slot(11)).unwrap();
    assert_eq!(k.watermark(U), Some(0x2000), "one child left: no reset");
    assert_eq!(
        k.untyped_retype(U, T::Frame4K, 0, Slot(11), 3),
        Err(KernelError::NotEnoughMemory { bytes_available: 0x2000 })
    );
    k.cnode_delete(Slot(10)).unwrap();
    assert_eq!(k.watermark(U), Some(0));
    k.untyped_retype(U, T::Frame4K, 0, Slot(10), 4).unwrap();
    assert_eq!(k.object_at(Slot(10)), Some((T::Frame4K, RAM, 12)));
    assert_eq!(k.stats().resets, 2);
    assert_eq!(k.stats().bytes_zeroed, 0x4000 + 0x2000);
}

#[test]
fn revoke_deletes_all_descendants_and_keeps_free_index() {
    // cnode.c:cteRevoke deletes while the next entry is a child; FreeIndex untouched.
    let mut k = one(16);
    k.untyped_retype(U, T::Untyped, 15, Slot(10), 2).unwrap();
    k.untyped_retype(Slot(10), T::Untyped, 14, Slot(12), 2).unwrap();
    k.untyped_retype(Slot(12), T::Tcb, 0, Slot(14), 2).unwrap();
    k.untyped_retype(Slot(11), T::Frame4K, 0, Slot(16), 1).unwrap();
    k.cnode_copy(Slot(16), Slot(17)).unwrap();
    k.cnode_revoke(Slot(10)).unwrap();
    for s in [12, 13, 14, 15] {
        assert_eq!(k.cap(Slot(s)), Some(ModelCap::Empty));
    }
    assert!(!k.has_children(Slot(10)));
    assert_eq!(
        k.cap(Slot(10)),
        Some(ModelCap::Untyped { paddr: RAM, size_bits: 15, is_device: false, free_index: 0x8000 })
    );
    assert_eq!(k.watermark(Slot(10)), Some(0));
    assert_eq!(k.object_at(Slot(16)).map(|o| o.1), Some(RAM + 0x8000), "the sibling's objects stay");
    // Revoking the sibling removes the frame and the copy derived from it.
    k.cnode_revoke(Slot(11)).unwrap();
    assert_eq!(k.cap(Slot(16)), Some(ModelCap::Empty));
    assert_eq!(k.cap(Slot(17)), Some(ModelCap::Empty));
    // Revoking an object cap without children, or an empty slot, does nothing.
    k.cnode_revoke(Slot(30)).unwrap();
    assert_eq!(k.cnode_revoke(Slot(64)), Err(outside(64, Slot(64), false)));
    assert_eq!(k.cnode_delete(Slot(64)), Err(outside(64, Slot(64), false)));
}

#[test]
fn deleting_object_cap_with_client_copy_keeps_leaf_busy() {
    // Why free revokes the leaf: a copy is a CDT child of the object cap (cteInsert), and after
    // the original is deleted it follows the leaf, which then still "has children".
    let mut k = one(12);
    k.untyped_retype(U, T::Frame4K, 0, Slot(10), 1).unwrap();
    k.cnode_copy(Slot(10), Slot(11)).unwrap();
    k.cnode_delete(Slot(10)).unwrap();
    assert!(k.has_children(U));
    assert_eq!(
        k.untyped_retype(U, T::Frame4K, 0, Slot(10), 1),
        Err(KernelError::NotEnoughMemory { bytes_available: 0 })
    );
    k.cnode_revoke(U).unwrap();
    assert_eq!(k.cap(Slot(11)), Some(ModelCap::Empty));
    k.untyped_retype(U, T::Frame4K, 0, Slot(10), 1).unwrap();
}

#[test]
fn deleting_untyped_with_children_relinks_them_to_parent() {
    // cnode.c:emptySlot relinks; the parent keeps its watermark (verified on the running kernel).
    let mut k = one(14);
    k.untyped_retype(U, T::Untyped, 12, Slot(10), 1).unwrap();
    k.untyped_retype(Slot(10), T::Frame4K, 0, Slot(11), 1).unwrap();
    k.cnode_delete(Slot(10)).unwrap();
    assert_eq!(k.parent(Slot(11)), Some(U));
    assert_eq!(k.watermark(U), Some(0x1000));
    assert_eq!(k.object_at(Slot(11)), Some((T::Frame4K, RAM, 12)));
    k.cnode_delete(Slot(11)).unwrap();
    assert_eq!(k.watermark(U), Some(0));
}

#[test]
fn untyped_copy_marks_source_full() {
    // objecttype.c:deriveCap: RevokeFirst with children; cnode.c:setUntypedCapAsFull otherwise.
    let mut k = one(12);
    k.untyped_retype(U, T::Untyped, 12, Slot(10), 1).unwrap();
    k.untyped_retype(Slot(10), T::Endpoint, 0, Slot(11), 1).unwrap();
    assert_eq!(k.cnode_copy(Slot(10), Slot(12)), Err(KernelError::RevokeFirst));
    k.cnode_delete(Slot(11)).unwrap();
    k.cnode_copy(Slot(10), Slot(12)).unwrap();
    assert_eq!(
        k.untyped_retype(Slot(10), T::Endpoint, 0, Slot(13), 1),
        Err(KernelError::NotEnoughMemory { bytes_available: 0 })
    );
    k.untyped_retype(Slot(12), T::Endpoint, 0, Slot(13), 1).unwrap();
    assert_eq!(k.object_at(Slot(13)), Some((T::Endpoint, RAM, 4)));
}

#[test]
fn roots_are_aligned_by_kernel_virtual_address() {
    // A 512 MiB QEMU boot hands out a 2^40-byte device untyped at 0x180_0000_0000: aligned as
    // PPTR_BASE + paddr, not physically (boot.c:create_untypeds_for_region).
    let boot = [UntypedDesc { slot: Slot(1), paddr: 0x180_0000_0000, size_bits: 40, is_device: true }];
    let mut k = model(16, &boot);
    k.untyped_retype(U, T::Untyped, 39, Slot(10), 2).unwrap();
    assert_eq!(k.object_at(Slot(10)), Some((T::Untyped, 0x180_0000_0000, 39)));
    assert_eq!(k.object_at(Slot(11)), Some((T::Untyped, 0x200_0000_0000, 39)));
    // Physically aligned but not in the kernel window's alignment: refused.
    let bad = [UntypedDesc { slot: Slot(1), paddr: 0x200_0000_0000, size_bits: 40, is_device: true }];
    assert_eq!(
        KernelModel::new(vec![ModelSlot::EMPTY; 16], &bad, Slot(2)).err(),
        Some(ModelError::BadUntyped(Slot(1)))
    );
}

#[test]
fn constructor_rejects_bad_layouts() {
    let u = |slot, paddr, size_bits| UntypedDesc { slot: Slot(slot), paddr, size_bits, is_device: false };
    let st = || vec![ModelSlot::EMPTY; 16];
    assert_eq!(KernelModel::new(st(), &[u(3, 0, 12)], Slot(3)).err(), Some(ModelError::SlotOutOfRange(Slot(3))));
    assert_eq!(KernelModel::new(st(), &[u(1, 0x800, 12)], Slot(3)).err(), Some(ModelError::BadUntyped(Slot(1))));
    assert_eq!(KernelModel::new(st(), &[u(1, 0, 3)], Slot(3)).err(), Some(ModelError::BadUntyped(Slot(1))));
    assert_eq!(
        KernelModel::new(st(), &[u(1, 0, 12), u(1, 0x1000, 12)], Slot(3)).err(),
        Some(ModelError::DuplicateSlot(Slot(1)))
    );
    assert_eq!(KernelModel::new(st(), &[], Slot(17)).err(), Some(ModelError::Storage));
}

// ---------------------------------------------------------------------------------------------
// Reference: the kernel's MDB list code, transcribed literally (src/object/cnode.c), to check
// the tree representation on random operation sequences.

#[derive(Clone, Copy)]
struct RefSlot {
    cap: ModelCap,
    revocable: bool,
    prev: u32,
    next: u32,
}

struct RefKernel {
    s: Vec<RefSlot>,
}

fn region(c: ModelCap) -> Option<(u64, u64)> {
    match c {
        ModelCap::Untyped { paddr, size_bits, .. } => Some((paddr, paddr + (1u64 << size_bits) - 1)),
        ModelCap::Object { paddr, bits, .. } => Some((paddr, paddr + (1u64 << bits) - 1)),
        _ => None,
    }
}

impl RefKernel {
    fn new(m: &KernelModel<Vec<ModelSlot>>) -> Self {
        let s = m
            .s()
            .iter()
            .map(|x| RefSlot { cap: x.cap, revocable: x.cap != ModelCap::Empty, prev: NIL, next: NIL })
            .collect();
        RefKernel { s }
    }
    // objecttype.c:sameRegionAs (untyped: containment; objects: the same object).
    fn same_region(a: ModelCap, b: ModelCap) -> bool {
        match (a, b) {
            (ModelCap::Untyped { .. }, _) => match (region(a), region(b)) {
                (Some((ab, at)), Some((bb, bt))) => ab <= bb && bt <= at,
                _ => false,
            },
            (ModelCap::Object { .. }, ModelCap::Object { .. }) => a == b,
            _ => false,
        }
    }
    // cnode.c:isMDBParentOf
    fn is_parent(&self, a: u32, b: u32) -> bool {
        self.s[a as usize].revocable && Self::same_region(self.s[a as usize].cap, self.s[b as usize].cap)
    }
    // cnode.c:ensureNoChildren
    fn has_children(&self, x: u32) -> bool {
        let n = self.s[x as usize].next;
        n != NIL && self.is_parent(x, n)
    }
    // cnode.c:emptySlot
    fn empty(&mut self, x: u32) {
        if self.s[x as usize].cap == ModelCap::Empty {
            return;
        }
        let RefSlot { prev, next, .. } = self.s[x as usize];
        if prev != NIL {
            self.s[prev as usize].next = next;
        }
        if next != NIL {
            self.s[next as usize].prev = prev;
        }
        self.s[x as usize] = RefSlot { cap: ModelCap::Empty, revocable: false, prev: NIL, next: NIL };
    }
    // cnode.c:cteRevoke
    fn revoke(&mut self, x: u32) {
        loop {
            let n = self.s[x as usize].next;
            if n == NIL || !self.is_parent(x, n) {
                return;
            }
            self.empty(n);
        }
    }
    // cnode.c:insertNewCap / cteInsert: the new cap goes right after `parent`.
    fn insert_after(&mut self, parent: u32, slot: u32, cap: ModelCap, revocable: bool) {
        let next = self.s[parent as usize].next;
        self.s[slot as usize] = RefSlot { cap, revocable, prev: parent, next };
        if next != NIL {
            self.s[next as usize].prev = slot;
        }
        self.s[parent as usize].next = slot;
    }
    fn retype(&mut self, u: u32, ty: ObjectType, sb: u8, dest: u32, count: u32) -> Result<(), KernelError> {
        let n = self.s.len() as u64;
        if u as u64 >= n {
            return Err(outside(n as usize, Slot(u), false));
        }
        let (base, ubits, dev, raw) = match self.s[u as usize].cap {
            ModelCap::Empty => return Err(KernelError::InvalidCapability { which: 0 }),
            ModelCap::Untyped { paddr, size_bits, is_device, free_index } => (paddr, size_bits, is_device, free_index),
            _ => return Err(KernelError::IllegalOperation),
        };
        let ob = ty.object_bits(sb)?;
        let (off, cnt) = (dest as u64, count as u64);
        if off > n - 1 {
            return Err(KernelError::RangeError { min: 0, max: n - 1 });
        }
        if !(1..=256).contains(&cnt) {
            return Err(KernelError::RangeError { min: 1, max: 256 });
        }
        if cnt > n - off {
            return Err(KernelError::RangeError { min: 1, max: n - off });
        }
        for i in off..off + cnt {
            if self.s[i as usize].cap != ModelCap::Empty {
                return Err(KernelError::DeleteFirst);
            }
        }
        let free = if self.has_children(u) { raw } else { 0 };
        let left = (1u64 << ubits) - free;
        if ob >= 64 || (left >> ob) < cnt {
            return Err(KernelError::NotEnoughMemory { bytes_available: left });
        }
        if dev && !ty.allowed_from_device() {
            return Err(KernelError::InvalidArgument { which: 1 });
        }
        let sz = 1u64 << ob;
        let al = (base + free + sz - 1) & !(sz - 1);
        self.s[u as usize].cap =
            ModelCap::Untyped { paddr: base, size_bits: ubits, is_device: dev, free_index: al + cnt * sz - base };
        for i in 0..cnt {
            let p = al + i * sz;
            let cap = if ty == ObjectType::Untyped {
                ModelCap::Untyped { paddr: p, size_bits: ob, is_device: dev, free_index: 0 }
            } else {
                ModelCap::Object { ty, paddr: p, bits: ob, is_device: dev }
            };
            self.insert_after(u, dest + i as u32, cap, true);
        }
        Ok(())
    }
    fn copy(&mut self, src: u32, dest: u32) -> Result<(), KernelError> {
        let n = self.s.len() as u32;
        if dest >= n {
            return Err(outside(n as usize, Slot(dest), false));
        }
        if self.s[dest as usize].cap != ModelCap::Empty {
            return Err(KernelError::DeleteFirst);
        }
        if src >= n {
            return Err(outside(n as usize, Slot(src), true));
        }
        let cap = self.s[src as usize].cap;
        let rev = match cap {
            ModelCap::Empty => {
                let failure = sel4_abi::LookupFailure::MissingCapability { bits_left: 64 };
                return Err(KernelError::FailedLookup { source: true, failure });
            }
            ModelCap::Other => return Err(KernelError::IllegalOperation),
            ModelCap::Untyped { .. } if self.has_children(src) => return Err(KernelError::RevokeFirst),
            ModelCap::Untyped { .. } => true,
            ModelCap::Object { .. } => false,
        };
        self.insert_after(src, dest, cap, rev);
        if let ModelCap::Untyped { paddr, size_bits, is_device, .. } = cap {
            self.s[src as usize].cap = ModelCap::Untyped { paddr, size_bits, is_device, free_index: 1 << size_bits };
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
enum Op {
    Retype { u: u32, ty: usize, sb: u8, dest: u32, count: u32 },
    Delete(u32),
    Revoke(u32),
    Copy(u32, u32),
}

mod prop {
    use super::*;
    use proptest::prelude::*;

    const SLOTS: u32 = 48;

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            5 => (0..SLOTS + 1, 0..ObjectType::ALL.len(), 0u8..14, 0..SLOTS, 1u32..4)
                .prop_map(|(u, ty, sb, dest, count)| Op::Retype { u, ty, sb, dest, count }),
            2 => (0..SLOTS).prop_map(Op::Delete),
            1 => (0..SLOTS).prop_map(Op::Revoke),
            1 => (0..SLOTS, 0..SLOTS).prop_map(|(a, b)| Op::Copy(a, b)),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 300, ..ProptestConfig::default() })]
        #[test]
        fn tree_model_equals_kernel_list(ops in proptest::collection::vec(op(), 1..120)) {
            let boot = [
                UntypedDesc { slot: Slot(1), paddr: 0x10000, size_bits: 16, is_device: false },
                UntypedDesc { slot: Slot(2), paddr: 0x8000, size_bits: 13, is_device: false },
                UntypedDesc { slot: Slot(3), paddr: 0xf000_0000, size_bits: 14, is_device: true },
            ];
            let mut m = KernelModel::new(vec![ModelSlot::EMPTY; SLOTS as usize], &boot, Slot(4)).unwrap();
            let mut r = RefKernel::new(&m);
            for op in ops {
                let (a, b) = match op {
                    Op::Retype { u, ty, sb, dest, count } => {
                        let t = ObjectType::ALL[ty];
                        (m.untyped_retype(Slot(u), t, sb, Slot(dest), count), r.retype(u, t, sb, dest, count))
                    }
                    Op::Delete(x) => { r.empty(x); (m.cnode_delete(Slot(x)), Ok(())) }
                    Op::Revoke(x) => { r.revoke(x); (m.cnode_revoke(Slot(x)), Ok(())) }
                    Op::Copy(s, d) => (m.cnode_copy(Slot(s), Slot(d)), r.copy(s, d)),
                };
                prop_assert_eq!(a, b);
                for i in 0..SLOTS {
                    prop_assert_eq!(m.cap(Slot(i)), Some(r.s[i as usize].cap));
                    prop_assert_eq!(m.has_children(Slot(i)), r.has_children(i), "slot {}", i);
                }
            }
        }
    }
}

#[test]
fn reset_zeroes_in_whole_chunks_or_whole_small_blocks() {
    // untyped.c:resetUntypedCap: a block below CONFIG_RESET_CHUNK_BITS is cleared whole;
    // a larger one in 2^8-byte chunks from ROUND_DOWN(offset - 1, 8) down to 0.
    let mut k = one(12);
    k.untyped_retype(U, T::Endpoint, 0, Slot(10), 1).unwrap(); // first retype: 4 KiB (boot cap full)
    k.cnode_delete(Slot(10)).unwrap();
    k.untyped_retype(U, T::Endpoint, 0, Slot(10), 1).unwrap(); // 16 bytes used: one 256-byte chunk
    assert_eq!(k.stats().bytes_zeroed, 0x1000 + 0x100);
    k.untyped_retype(U, T::Untyped, 7, Slot(11), 1).unwrap(); // a 128-byte child at 0x80
    k.untyped_retype(Slot(11), T::Endpoint, 0, Slot(12), 1).unwrap(); // fresh child: nothing to zero
    k.cnode_delete(Slot(12)).unwrap();
    k.untyped_retype(Slot(11), T::Endpoint, 0, Slot(12), 1).unwrap(); // below 2^8: all 128 bytes
    assert_eq!(k.stats().bytes_zeroed, 0x1000 + 0x100 + 0x80);
}
