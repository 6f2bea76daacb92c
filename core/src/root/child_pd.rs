//! A child's protection domain on the real kernel, as its sessions use it ([`Pd`]): core's
//! allocator for the objects, and the seL4 invocations on the child's VSpace, CNode and threads.

use core::sync::atomic::{AtomicBool, Ordering::Relaxed};

use sel4::{cap_type, init_thread, CNodeCapData, Cap, CapRights, UserContext, VmAttributes, Word};
use sel4_core_protocol::CacheAttr;

use crate::kernel::Slot;
use crate::object::ObjectType;
use crate::phys_allocator::{AllocFailure, ObjectId, Placed};
use crate::root::state::Core;
use crate::root::telemetry::in_allocator;
use crate::session::pd::{CapData, MapFailure, Pd, Registers, Rights};

/// Virtual address in core's own VSpace where core fills a child's frames ([`Pd::fill`]).
pub const WINDOW: u64 = 0x20_0000_0000;

/// The child's caps in core's CSpace, and core.
pub struct ChildPd<'a> {
    pub core: &'a mut Core,
    /// The child's VSpace (PML4).
    pub vspace: Slot,
    /// The child's CNode and its radix.
    pub cnode: Slot,
    pub cnode_bits: u8,
}

/// Set when core's allocator ran out of one of core's own stores (pool nodes, cap slots, range
/// blocks) for a child: the server grows them (`root::metadata`) and serves the request again.
static SHORT: AtomicBool = AtomicBool::new(false);

/// Whether a store ran short since the last call; clears the mark.
pub fn take_short() -> bool {
    SHORT.swap(false, Relaxed)
}

fn note_short<T>(r: Result<T, AllocFailure>) -> Result<T, AllocFailure> {
    if let Err(AllocFailure::Capacity(_)) = r {
        SHORT.store(true, Relaxed);
    }
    r
}

/// The kernel's answer to a map: `FailedLookup` means the level above is missing
/// (`src/arch/x86/64/kernel/vspace.c`: `decodeX86FrameInvocation` after
/// `lookupPTSlot`/`lookupPDSlot`, `decodeX86PageDirectoryInvocation` after `lookupPDPTSlot`).
fn mapped(r: Result<(), sel4::Error>) -> Result<(), MapFailure> {
    match r {
        Ok(()) => Ok(()),
        Err(sel4::Error::FailedLookup { .. }) => Err(MapFailure::Missing),
        Err(e) => Err(MapFailure::Refused(Some(e))),
    }
}

fn tcb(slot: Slot) -> Cap<cap_type::Tcb> {
    Cap::from_bits(slot.0 as Word)
}

fn cap_rights(rights: Rights) -> CapRights {
    match rights {
        Rights::All => CapRights::all(),
        Rights::ReadWrite => CapRights::read_write(),
        Rights::Call => CapRights::new(true, false, true),
        Rights::Receive => CapRights::new(false, true, false),
        Rights::Signal => CapRights::new(false, false, true),
    }
}

impl<'a> ChildPd<'a> {
    /// A PD not built yet: the loader attaches its VSpace and CNode ([`Pd::attach`]).
    pub fn unattached(core: &'a mut Core) -> Self {
        ChildPd { core, vspace: Slot(0), cnode: Slot(0), cnode_bits: 0 }
    }

    /// The guard of the child's own CNode cap: it makes a slot number a CPtr at full depth.
    fn guard(&self) -> Option<Word> {
        CNodeCapData::skip(crate::object::WORD_BITS - self.cnode_bits).map(CNodeCapData::into_word)
    }
}

impl ChildPd<'_> {
    fn vspace(&self) -> Cap<cap_type::Pml4> {
        Cap::from_bits(self.vspace.0 as Word)
    }

    fn child_slot(&self, slot: u64) -> sel4::AbsoluteCPtr {
        Cap::<cap_type::CNode>::from_bits(self.cnode.0 as Word).relative_bits_with_depth(slot, self.cnode_bits as usize)
    }
}

impl Pd for ChildPd<'_> {
    fn alloc(&mut self, ty: ObjectType, size_bits: u8) -> Result<Placed, AllocFailure> {
        note_short(in_allocator(|| self.core.ours.alloc(&mut self.core.kernel, ty, size_bits)))
    }

    fn alloc_run_at(&mut self, ty: ObjectType, paddr: u64, count_log2: u8) -> Result<Placed, AllocFailure> {
        note_short(in_allocator(|| self.core.ours.alloc_run_at(&mut self.core.kernel, ty, 0, paddr, count_log2)))
    }

    fn find_block(&mut self, size: u64, align_log2: u8, range: Option<(u64, u64)>) -> Result<u64, AllocFailure> {
        note_short(in_allocator(|| self.core.ours.find_block(size, align_log2, range)))
    }

    fn find_span(&mut self, size: u64, align_log2: u8, range: Option<(u64, u64)>) -> Result<u64, AllocFailure> {
        note_short(in_allocator(|| self.core.ours.find_span(size, align_log2, range)))
    }

    fn free(&mut self, object: ObjectId) {
        // A handle the session holds names a live object, so this fails only if the kernel
        // refuses the revoke; say so, since the session forgets the object either way.
        if let Err(e) = in_allocator(|| self.core.ours.free(&mut self.core.kernel, object)) {
            sel4_root_task::println!("error: core could not free a session's object: {e}");
        }
    }

    fn attach(&mut self, vspace: Slot, cnode: Slot, cnode_bits: u8) -> bool {
        (self.vspace, self.cnode, self.cnode_bits) = (vspace, cnode, cnode_bits);
        // An ASID before any map into the PML4 (`X86_ASIDPool_Assign`).
        init_thread::ASID_POOL.asid_pool_assign(self.vspace()).is_ok()
    }

    fn fill(&mut self, frame: Slot, offset: u64, bytes: &[u8]) -> bool {
        let page = 1u64 << sel4::sys::seL4_PageBits;
        if offset.checked_add(bytes.len() as u64).is_none_or(|end| end > page) {
            return false;
        }
        let frame: Cap<cap_type::Frame4K> = Cap::from_bits(frame.0 as Word);
        if frame.frame_map(init_thread::VSPACE, WINDOW, CapRights::read_write(), VmAttributes::DEFAULT).is_err() {
            return false;
        }
        // SAFETY: the frame is mapped read-write at WINDOW (one page, only here, and unmapped
        // below), and `offset + bytes.len()` lies within the page (checked above).
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), (WINDOW + offset) as *mut u8, bytes.len()) };
        frame.frame_unmap().is_ok()
    }

    fn map_frame(
        &mut self,
        frame: Slot,
        ty: ObjectType,
        vaddr: u64,
        cache: CacheAttr,
        writable: bool,
    ) -> Result<(), MapFailure> {
        let attrs = match cache {
            CacheAttr::Cached => VmAttributes::DEFAULT,
            CacheAttr::WriteCombining => VmAttributes::WRITE_COMBINING,
            CacheAttr::Uncached => VmAttributes::CACHE_DISABLED,
        };
        let rights = if writable { CapRights::read_write() } else { CapRights::read_only() };
        let (vspace, s) = (self.vspace(), frame.0 as Word);
        mapped(match ty {
            ObjectType::Frame1G => Cap::<cap_type::HugePage>::from_bits(s).frame_map(vspace, vaddr, rights, attrs),
            ObjectType::Frame2M => Cap::<cap_type::LargePage>::from_bits(s).frame_map(vspace, vaddr, rights, attrs),
            _ => Cap::<cap_type::Frame4K>::from_bits(s).frame_map(vspace, vaddr, rights, attrs),
        })
    }

    fn map_table(&mut self, table: Slot, ty: ObjectType, vaddr: u64) -> Result<(), MapFailure> {
        let (vspace, attrs, s) = (self.vspace(), VmAttributes::DEFAULT, table.0 as Word);
        mapped(match ty {
            ObjectType::PageTable => Cap::<cap_type::PageTable>::from_bits(s).page_table_map(vspace, vaddr, attrs),
            ObjectType::PageDirectory => {
                Cap::<cap_type::PageDirectory>::from_bits(s).page_directory_map(vspace, vaddr, attrs)
            }
            ObjectType::Pdpt => Cap::<cap_type::Pdpt>::from_bits(s).pdpt_map(vspace, vaddr, attrs),
            _ => return Err(MapFailure::Refused(None)),
        })
    }

    fn unmap_frame(&mut self, frame: Slot, ty: ObjectType) {
        let s = frame.0 as Word;
        let r = match ty {
            ObjectType::Frame1G => Cap::<cap_type::HugePage>::from_bits(s).frame_unmap(),
            ObjectType::Frame2M => Cap::<cap_type::LargePage>::from_bits(s).frame_unmap(),
            _ => Cap::<cap_type::Frame4K>::from_bits(s).frame_unmap(),
        };
        // Undoing a map core just made; the kernel refuses only a cap that is not a frame's.
        // Say so: the frame would stay mapped until its dataspace is freed.
        if let Err(e) = r {
            sel4_root_task::println!("error: core could not unmap a frame it had just mapped: {e}");
        }
    }

    fn copy_cap(&mut self, from: Slot, child_slot: u64, rights: Rights) -> bool {
        if child_slot >> self.cnode_bits != 0 {
            return false;
        }
        self.child_slot(child_slot).copy(&self.core.kernel.inner.slot(from), cap_rights(rights)).is_ok()
    }

    fn mint_cap(&mut self, from: Slot, child_slot: u64, rights: Rights, data: CapData) -> bool {
        let data = match data {
            CapData::Badge(b) => b as Word,
            CapData::Ports { first, last } => {
                use sel4::abi::layout::io_port_capdata;
                io_port_capdata::lastPort.set(io_port_capdata::firstPort.set(0, first as Word), last as Word)
            }
            CapData::Guard => match self.guard() {
                Some(g) => g,
                None => return false,
            },
        };
        child_slot >> self.cnode_bits == 0
            && self.child_slot(child_slot).mint(&self.core.kernel.inner.slot(from), cap_rights(rights), data).is_ok()
    }

    fn delete_cap(&mut self, child_slot: u64) {
        // Undoing a copy core just made; a refusal would leave the copy until its frame is
        // freed (revoking the frame's leaf deletes it): say so.
        if let Err(e) = self.child_slot(child_slot).delete() {
            sel4_root_task::println!("error: core could not delete a cap it had just copied: {e}");
        }
    }

    fn thread_configure(&mut self, t: Slot, ipc_frame: Slot, ipc_vaddr: u64, prio: u8) -> bool {
        // The child's CNode is reached with a guard that makes a CPtr resolve at full depth.
        let Some(guard) = self.guard() else {
            return false;
        };
        tcb(t)
            .tcb_configure(
                sel4::CPtr::from_bits(sel4_core_protocol::abi::FAULT_ENDPOINT),
                prio,
                prio,
                Cap::from_bits(self.cnode.0 as Word),
                guard,
                self.vspace(),
                0,
                ipc_vaddr,
                Cap::<cap_type::Frame4K>::from_bits(ipc_frame.0 as Word),
            )
            .is_ok()
    }

    fn thread_registers(&mut self, t: Slot, regs: Registers) -> bool {
        let ctx = UserContext {
            rip: regs.entry,
            rsp: regs.stack,
            rdi: regs.arg,
            rsi: regs.arg2,
            rdx: regs.arg3,
            rcx: regs.arg4,
            ..UserContext::default()
        };
        tcb(t).tcb_write_registers(false, UserContext::COUNT, &ctx).is_ok()
    }

    fn thread_resume(&mut self, t: Slot) -> bool {
        tcb(t).tcb_resume().is_ok()
    }

    fn thread_suspend(&mut self, t: Slot) -> bool {
        tcb(t).tcb_suspend().is_ok()
    }
}
