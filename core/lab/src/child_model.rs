//! A child's protection domain on the kernel model, for testing core's sessions on the host:
//! [`ModelPd`] implements [`Pd`] with core's allocator over a [`Rig`]'s kernel model, the
//! child's CNode as model slots outside core's cap space (so revoking an object's leaf deletes
//! the child's copies exactly as the kernel does), and its VSpace as a table of the paging
//! structures and frames mapped, with the kernel's rules for x86_64
//! (`src/arch/x86/64/kernel/vspace.c`): a level missing above is a failed lookup, an occupied
//! entry or a frame mapped twice is refused, and freeing an object unmaps it.

extern crate std;
use std::vec::Vec;

use sel4_core::kernel::Slot;
use sel4_core::object::ObjectType;
use sel4_core::phys_allocator::{AllocFailure, ObjectId, Placed};
use sel4_core::session::pd::{CapData, MapFailure, Pd, Registers, Rights};
use sel4_core::untyped_pool::NodeState;
use sel4_core_protocol::abi::FIRST_FREE_SLOT;
use sel4_core_protocol::limits::VADDR_LIMIT;
use sel4_core_protocol::CacheAttr;

use sel4_kernel_model::ModelCap;

use crate::rig::{HostAllocator, Model};

/// An entry of the child's VSpace: a paging structure or a frame, at its index in its parent
/// ([`key_bits`]). `slot` is `None` for the child's own structures (its image's).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
struct Entry {
    ty: ObjectType,
    index: u64,
    slot: Option<Slot>,
}

/// log2 of the span of the entry of its parent an object of `ty` takes: its index there is
/// `vaddr >> key_bits(ty)`, and two objects in the same entry conflict.
fn key_bits(ty: ObjectType) -> u8 {
    ty.vspan_bits().unwrap_or(12)
}

/// A thread's state as the model sees it.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ModelThread {
    pub tcb: Slot,
    pub configured: bool,
    pub running: bool,
}

/// A child's PD over the model.
pub struct ModelPd<'r> {
    pub kernel: &'r mut Model,
    pub ours: HostAllocator<'r>,
    /// The child's CNode: slots `cnode_base ..` of the model, `2^cnode_bits` of them.
    cnode_base: Slot,
    cnode_bits: u8,
    vspace: Vec<Entry>,
    pub threads: Vec<ModelThread>,
    /// The PML4 the loader attached (`None` for a PD made whole by [`ModelPd::new`]).
    pub attached: Option<Slot>,
    /// Bytes written into frames ([`Pd::fill`]).
    pub filled: u64,
    /// Registers each thread was given, by TCB.
    pub registers: Vec<(Slot, Registers)>,
}

impl<'r> ModelPd<'r> {
    /// A child whose CNode is `2^cnode_bits` model slots from `cnode_base` (its first
    /// [`FIRST_FREE_SLOT`] slots hold its own caps) and whose VSpace has the page table (and
    /// the levels above) covering `own_table` already, as a child's image and stack do.
    pub fn new(
        kernel: &'r mut Model,
        ours: HostAllocator<'r>,
        cnode_base: Slot,
        cnode_bits: u8,
        own_table: u64,
    ) -> Self {
        let own = |ty| Entry { ty, index: own_table >> key_bits(ty), slot: None };
        let vspace = std::vec![own(ObjectType::Pdpt), own(ObjectType::PageDirectory), own(ObjectType::PageTable)];
        ModelPd {
            kernel,
            ours,
            cnode_base,
            cnode_bits,
            vspace,
            threads: Vec::new(),
            attached: None,
            filled: 0,
            registers: Vec::new(),
        }
    }

    /// A child with nothing yet, for the loader to build: its CNode's slots from
    /// `cnode_base` on (the loader's CNode object stands for them), its VSpace empty.
    pub fn empty(kernel: &'r mut Model, ours: HostAllocator<'r>, cnode_base: Slot) -> Self {
        let mut pd = ModelPd::new(kernel, ours, cnode_base, 0, 0);
        pd.vspace.clear();
        pd
    }

    /// Caps in the child's CNode (the loader's, its first slots, among them).
    pub fn child_caps(&self) -> usize {
        (0..1u64 << self.cnode_bits)
            .filter(|&s| self.kernel.cap(self.child(s)).is_some_and(|c| c != ModelCap::Empty))
            .count()
    }

    /// Whether the child's CNode slot holds a cap.
    pub fn child_slot_used(&self, slot: u64) -> bool {
        // Made whole by `new`: the loader's slots stand taken.
        (self.attached.is_none() && slot < FIRST_FREE_SLOT)
            || self.kernel.cap(self.child(slot)).is_some_and(|c| c != ModelCap::Empty)
    }

    /// Frames sessions mapped in the child's VSpace: (type, vaddr).
    pub fn mapped_frames(&self) -> impl Iterator<Item = (ObjectType, u64)> + '_ {
        self.vspace.iter().filter(|e| e.slot.is_some() && e.ty.is_frame()).map(|e| (e.ty, e.index << key_bits(e.ty)))
    }

    /// Paging structures sessions placed that are mapped.
    pub fn mapped_tables(&self) -> usize {
        self.vspace.iter().filter(|e| e.slot.is_some() && !e.ty.is_frame()).count()
    }

    fn child(&self, slot: u64) -> Slot {
        Slot(self.cnode_base.0 + slot as u32)
    }

    /// Whether the model holds an object of `ty` in `slot`.
    fn is(&self, slot: Slot, ty: ObjectType) -> bool {
        self.kernel.object_at(slot).is_some_and(|(t, _, _)| t == ty)
    }

    /// Whether the paging structure an entry sits in is mapped.
    fn has_parent(&self, e: &Entry) -> bool {
        let va = e.index << key_bits(e.ty);
        e.ty.paging_parent().is_none_or(|p| self.vspace.iter().any(|x| x.ty == p && x.index == va >> key_bits(p)))
    }

    /// What hung below a paging structure that went is no longer reachable: gone too.
    fn drop_orphans(&mut self) {
        while let Some(i) = self.vspace.iter().position(|e| !self.has_parent(e)) {
            self.vspace.swap_remove(i);
        }
    }

    /// Maps the object of `ty` in `slot` at `vaddr`: its parent level must be there (else the
    /// kernel's failed lookup), and its entry there free.
    fn insert(&mut self, slot: Slot, ty: ObjectType, vaddr: u64) -> Result<(), MapFailure> {
        if !self.is(slot, ty) || vaddr >= VADDR_LIMIT || self.vspace.iter().any(|e| e.slot == Some(slot)) {
            return Err(MapFailure::Refused(None));
        }
        if let Some(p) = ty.paging_parent() {
            if !self.vspace.iter().any(|e| e.ty == p && e.index == vaddr >> key_bits(p)) {
                return Err(MapFailure::Missing);
            }
        }
        if self.vspace.iter().any(|e| e.ty.paging_parent() == ty.paging_parent() && e.index == vaddr >> key_bits(ty)) {
            return Err(MapFailure::Refused(None));
        }
        self.vspace.push(Entry { ty, index: vaddr >> key_bits(ty), slot: Some(slot) });
        Ok(())
    }
}

impl Pd for ModelPd<'_> {
    fn alloc(&mut self, ty: ObjectType, size_bits: u8) -> Result<Placed, AllocFailure> {
        self.ours.alloc(self.kernel, ty, size_bits)
    }

    fn alloc_run_at(&mut self, ty: ObjectType, paddr: u64, count_log2: u8) -> Result<Placed, AllocFailure> {
        self.ours.alloc_run_at(self.kernel, ty, 0, paddr, count_log2)
    }

    fn find_block(&mut self, size: u64, align_log2: u8, range: Option<(u64, u64)>) -> Result<u64, AllocFailure> {
        self.ours.find_block(size, align_log2, range)
    }

    fn find_span(&mut self, size: u64, align_log2: u8, range: Option<(u64, u64)>) -> Result<u64, AllocFailure> {
        self.ours.find_span(size, align_log2, range)
    }

    fn free(&mut self, object: ObjectId) {
        // The object's slot, or a run's slots.
        let run = self.ours.node_of(object).and_then(|n| match self.ours.placer.pool.info(n).state {
            NodeState::Occupied { obj_slot, count_log2, .. } => Some(obj_slot.0..obj_slot.0 + (1u32 << count_log2)),
            _ => None,
        });
        // Revoking the leaf deletes the objects: their mappings and any thread one is go with
        // them (what hangs below a freed paging structure becomes unreachable, as in the kernel).
        self.ours.free(self.kernel, object).expect("a session frees only objects it holds");
        if let Some(slots) = run {
            let inside = |s: Slot| slots.contains(&s.0);
            self.vspace.retain(|e| !e.slot.is_some_and(inside));
            self.threads.retain(|t| !inside(t.tcb));
            self.drop_orphans();
        }
    }

    fn attach(&mut self, vspace: Slot, cnode: Slot, cnode_bits: u8) -> bool {
        if !self.is(vspace, ObjectType::Pml4) || !self.is(cnode, ObjectType::CNode) || self.attached.is_some() {
            return false;
        }
        (self.attached, self.cnode_bits) = (Some(vspace), cnode_bits);
        self.vspace.clear();
        true
    }

    fn fill(&mut self, frame: Slot, offset: u64, bytes: &[u8]) -> bool {
        let fits = offset.checked_add(bytes.len() as u64).is_some_and(|end| end <= 4096);
        if !self.is(frame, ObjectType::Frame4K) || !fits {
            return false;
        }
        self.filled += bytes.len() as u64;
        true
    }

    fn map_frame(
        &mut self,
        frame: Slot,
        ty: ObjectType,
        vaddr: u64,
        _cache: CacheAttr,
        _writable: bool,
    ) -> Result<(), MapFailure> {
        let align = ty.object_bits(0).map(|b| (1u64 << b) - 1).unwrap_or(u64::MAX);
        if !ty.is_frame() || vaddr & align != 0 {
            return Err(MapFailure::Refused(None));
        }
        self.insert(frame, ty, vaddr)
    }

    fn map_table(&mut self, table: Slot, ty: ObjectType, vaddr: u64) -> Result<(), MapFailure> {
        if ty.is_frame() {
            return Err(MapFailure::Refused(None));
        }
        self.insert(table, ty, vaddr)
    }

    fn unmap_frame(&mut self, frame: Slot, _ty: ObjectType) {
        self.vspace.retain(|e| e.slot != Some(frame));
    }

    fn copy_cap(&mut self, from: Slot, child_slot: u64, _rights: Rights) -> bool {
        child_slot >> self.cnode_bits == 0
            && !self.child_slot_used(child_slot)
            && self.kernel.cnode_copy(from, self.child(child_slot)).is_ok()
    }

    fn mint_cap(&mut self, from: Slot, child_slot: u64, _rights: Rights, _data: CapData) -> bool {
        self.copy_cap(from, child_slot, Rights::All)
    }

    fn delete_cap(&mut self, child_slot: u64) {
        if child_slot >= FIRST_FREE_SLOT && child_slot >> self.cnode_bits == 0 {
            let _ = sel4_core::kernel::Kernel::cnode_delete(self.kernel, self.child(child_slot));
        }
    }

    fn thread_configure(&mut self, tcb: Slot, ipc_frame: Slot, ipc_vaddr: u64, _prio: u8) -> bool {
        let buffer_mapped = self.vspace.iter().any(|e| e.slot == Some(ipc_frame) && e.index << 12 == ipc_vaddr);
        if !self.is(tcb, ObjectType::Tcb) || !buffer_mapped {
            return false;
        }
        self.threads.retain(|t| t.tcb != tcb);
        self.threads.push(ModelThread { tcb, configured: true, running: false });
        true
    }

    fn thread_registers(&mut self, tcb: Slot, regs: Registers) -> bool {
        self.registers.retain(|(t, _)| *t != tcb);
        self.registers.push((tcb, regs));
        self.threads.iter().any(|t| t.tcb == tcb)
    }

    fn thread_resume(&mut self, tcb: Slot) -> bool {
        self.threads.iter_mut().find(|t| t.tcb == tcb).map(|t| t.running = true).is_some()
    }

    fn thread_suspend(&mut self, tcb: Slot) -> bool {
        self.threads.iter_mut().find(|t| t.tcb == tcb).map(|t| t.running = false).is_some()
    }
}
