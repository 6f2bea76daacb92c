//! A child service: a protection domain built entirely from objects core places for it, each
//! charged to the child (objects cost their own size), and reclaimed whole by freeing them
//! (revoking their leaf untypeds, so every cap and mapping derived from them dies too).
//!
//! The child's address space: its ELF image (below [`IMAGE_LIMIT`]), a stack of
//! [`STACK_PAGES`] with an unmapped guard page below it, and its IPC buffer at [`IPC_BUFFER`],
//! all in the first GiB, so one PDPT and one page directory serve it. Its CSpace: one CNode
//! holding the caps `sel4_core_protocol::abi` names. Frames are filled through core's own
//! mapping window at [`WINDOW`], then unmapped and mapped into the child (a frame cap holds one
//! mapping).

use sel4::{cap_type, init_thread, CNodeCapData, Cap, CapRights, UserContext, VmAttributes, Word};
use sel4_core_protocol::abi;

use crate::image::{Image, ImageError, PAGE};
use crate::kernel::{KernelError, Slot};
use crate::object::{ObjectType, SLOT_BITS, WORD_BITS};
use crate::phys_allocator::{AllocFailure, FreeError, Handle, METADATA_PER_OBJECT};
use crate::root::state::Core;
use crate::root::vspace::{self, MapError, Mapped, Mapping};

/// Where a child's image may lie: its first GiB, below the stack.
pub const IMAGE_LIMIT: u64 = 0x3ff0_0000;
/// The child's IPC buffer: the last page of its first GiB.
pub const IPC_BUFFER: u64 = 0x3fff_f000;
/// Top of the child's stack: one unmapped page below the IPC buffer.
pub const STACK_TOP: u64 = IPC_BUFFER - PAGE;
/// Pages of the child's stack; the page below them stays unmapped (the guard).
pub const STACK_PAGES: u64 = 8;
/// Pages for the IPC buffers of the threads a child starts through its TCB sessions: from
/// [`IMAGE_LIMIT`] up to the guard page below the stack, under the stack's page table.
pub const IPC_PAGES: u32 = ((STACK_TOP - (STACK_PAGES + 1) * PAGE - IMAGE_LIMIT) / PAGE) as u32;
/// Virtual address in core's own VSpace where core fills a child's frames.
pub const WINDOW: u64 = 0x20_0000_0000;
/// Objects one child may hold (its frames, paging structures, CNode, TCB, VSpace).
pub const MAX_OBJECTS: usize = 1024;

/// Bytes charged to a child, by what they pay for.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Charge {
    pub image: u64,
    pub stack: u64,
    pub ipc_buffer: u64,
    pub paging: u64,
    pub cnode: u64,
    pub tcb: u64,
    pub vspace: u64,
    /// Core's bookkeeping: its record of the child (the entry in its table of children) and
    /// the allocator metadata provisioned per object (`phys_allocator::METADATA_PER_OBJECT`).
    pub records: u64,
}

impl Charge {
    /// Bytes of the child's kernel objects: what freeing them gives the allocator back.
    pub fn objects(&self) -> u64 {
        self.image + self.stack + self.ipc_buffer + self.paging + self.cnode + self.tcb + self.vspace
    }

    /// Everything charged to the child's budget.
    pub fn total(&self) -> u64 {
        self.objects() + self.records
    }
}

/// Why a child could not be started.
#[derive(Debug)]
pub enum ChildError {
    Image(ImageError),
    /// Its RAM budget does not cover what it needs.
    Budget {
        needed: u64,
        budget: u64,
    },
    /// Its cap budget does not cover the caps core gives it.
    Caps {
        needed: u64,
        budget: u64,
    },
    /// More objects than [`MAX_OBJECTS`].
    TooManyObjects,
    /// A guard of this many bits does not fit a CNode cap's guard-size field.
    Guard(u8),
    /// Freeing one of the child's objects failed.
    Free(FreeError),
    Alloc(ObjectType, AllocFailure),
    Kernel(&'static str, KernelError),
    Map(MapError),
}

impl core::fmt::Display for ChildError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ChildError::Image(e) => write!(f, "image: {e}"),
            ChildError::Budget { needed, budget } => {
                write!(f, "needs more than its RAM budget of {budget} bytes (at least {needed})")
            }
            ChildError::Caps { needed, budget } => write!(f, "needs {needed} cap slots, its budget is {budget}"),
            ChildError::TooManyObjects => write!(f, "more than {MAX_OBJECTS} objects"),
            ChildError::Guard(bits) => write!(f, "a guard of {bits} bits does not fit a CNode cap"),
            ChildError::Free(e) => write!(f, "freeing an object: {e}"),
            ChildError::Alloc(ty, e) => write!(f, "cannot place a {}: {e}", ty.name()),
            ChildError::Kernel(what, e) => write!(f, "{what}: {e}"),
            ChildError::Map(e) => write!(f, "{e}"),
        }
    }
}

/// What a child is, for core: its name, the objects it holds and what they cost.
pub struct Child {
    pub index: usize,
    pub name: &'static str,
    pub prio: u8,
    pub budget: u64,
    pub charge: Charge,
    objects: heapless::Vec<Handle, MAX_OBJECTS>,
    tcb: Slot,
    /// The child's VSpace (PML4) in core's CSpace.
    pub vspace: Slot,
    /// The child's CNode in core's CSpace, and its radix.
    pub cnode: Slot,
    pub cnode_bits: u8,
    /// Cap slots of its budget.
    pub caps: u64,
}

impl Child {
    /// Objects core holds for the child.
    pub fn objects(&self) -> usize {
        self.objects.len()
    }

    /// Handles of the objects core holds for the child (its protection domain).
    pub fn handles(&self) -> &[Handle] {
        &self.objects
    }

    /// Stops the child and frees every object it holds; returns the bytes the RAM allocator got
    /// back.
    pub fn reclaim(mut self, core: &mut Core) -> Result<u64, ChildError> {
        let before = core.ours.ram().avail();
        let _ = Cap::<cap_type::Tcb>::from_bits(self.tcb.0 as Word).tcb_suspend();
        free_all(core, &mut self.objects)?;
        Ok(core.ours.ram().avail() - before)
    }
}

/// Frees `objects`, newest first.
fn free_all(core: &mut Core, objects: &mut heapless::Vec<Handle, MAX_OBJECTS>) -> Result<(), ChildError> {
    while let Some(h) = objects.pop() {
        core.ours.free(&mut core.kernel, h).map_err(ChildError::Free)?;
    }
    Ok(())
}

/// What a child is to be: its entry in the system description.
pub struct Spec<'a> {
    pub index: usize,
    pub name: &'static str,
    pub elf: &'a [u8],
    pub ram: u64,
    pub caps: u64,
    pub prio: u8,
}

/// Builds the protection domain of `spec`, every object placed by core and charged to the
/// child, and starts its thread. `endpoint` is core's endpoint (in core's CSpace); the child's
/// requests come badged `badge << 1`, its faults `badge << 1 | 1`. On failure everything placed
/// so far is freed again.
/// `record` is the bytes of core's record of the child, charged to it too.
pub fn start(core: &mut Core, endpoint: Slot, badge: usize, spec: &Spec, record: u64) -> Result<Child, ChildError> {
    let image = Image::parse(spec.elf, IMAGE_LIMIT).map_err(ChildError::Image)?;
    let cnode_bits = cnode_bits(spec.caps)?;
    let charge = Charge { records: record, ..Charge::default() };
    let mut b = Builder { core, spec, objects: heapless::Vec::new(), charge };
    match b.build(&image, cnode_bits, endpoint, badge as Word) {
        Ok((tcb, vspace, cnode)) => {
            let Builder { objects, charge, .. } = b;
            Ok(Child {
                index: spec.index,
                name: spec.name,
                prio: spec.prio,
                budget: spec.ram,
                charge,
                objects,
                tcb,
                vspace,
                cnode,
                cnode_bits,
                caps: spec.caps,
            })
        }
        Err(e) => {
            let Builder { core, mut objects, .. } = b;
            free_all(core, &mut objects)?;
            Err(e)
        }
    }
}

/// The radix of the child's CNode for a cap budget of `caps` slots.
fn cnode_bits(caps: u64) -> Result<u8, ChildError> {
    let needed = abi::FIRST_FREE_SLOT;
    if caps < needed {
        return Err(ChildError::Caps { needed, budget: caps });
    }
    // The largest power of two within the budget: the budget is an upper bound.
    Ok((63 - caps.leading_zeros()) as u8)
}

struct Builder<'c, 's, 'e> {
    core: &'c mut Core,
    spec: &'s Spec<'e>,
    objects: heapless::Vec<Handle, MAX_OBJECTS>,
    charge: Charge,
}

/// Which part of the charge an object counts in.
#[derive(Copy, Clone)]
enum Part {
    Image,
    Stack,
    IpcBuffer,
    Paging,
    Cnode,
    Tcb,
    Vspace,
}

impl Builder<'_, '_, '_> {
    /// Places one object for the child, within its budget, and records it.
    fn place(&mut self, ty: ObjectType, size_bits: u8, part: Part) -> Result<Slot, ChildError> {
        let bytes = ty.object_bits(size_bits).map(|b| 1u64 << b).map_err(|e| ChildError::Kernel("size", e))?;
        let needed = self.charge.total() + bytes + METADATA_PER_OBJECT;
        if needed > self.spec.ram {
            return Err(ChildError::Budget { needed, budget: self.spec.ram });
        }
        if self.objects.is_full() {
            return Err(ChildError::TooManyObjects);
        }
        let core = &mut *self.core;
        let p = core.ours.alloc(&mut core.kernel, ty, size_bits).map_err(|e| ChildError::Alloc(ty, e))?;
        let _ = self.objects.push(p.handle);
        let c = &mut self.charge;
        *match part {
            Part::Image => &mut c.image,
            Part::Stack => &mut c.stack,
            Part::IpcBuffer => &mut c.ipc_buffer,
            Part::Paging => &mut c.paging,
            Part::Cnode => &mut c.cnode,
            Part::Tcb => &mut c.tcb,
            Part::Vspace => &mut c.vspace,
        } += bytes;
        c.records += METADATA_PER_OBJECT;
        Ok(p.slot)
    }

    /// Maps the frame in `slot` into the child at `va`, placing the paging structures it needs
    /// (charged to the child).
    fn map_into_child(&mut self, vspace: Slot, slot: Slot, va: u64, writable: bool) -> Result<(), ChildError> {
        let rights = if writable { CapRights::read_write() } else { CapRights::read_only() };
        let how = Mapping { vspace: Cap::from_bits(vspace.0 as Word), rights, attrs: VmAttributes::DEFAULT };
        // Paging structures come out of the child's budget; a failure inside comes back as
        // MapError::Alloc with the allocator's reason, or as the budget error recorded here.
        let mut budget_error = None;
        let mut done = Mapped::default();
        let r = {
            let mut place = |ty: ObjectType| match self.place(ty, 0, Part::Paging) {
                Ok(s) => Ok(s),
                Err(ChildError::Alloc(_, e)) => Err(e),
                Err(e) => {
                    budget_error = Some(e);
                    Err(AllocFailure::NoBlock)
                }
            };
            vspace::map_frame(&mut place, how, slot, ObjectType::Frame4K, va, &mut done)
        };
        match (r, budget_error) {
            (Ok(()), _) => Ok(()),
            (Err(_), Some(e)) => Err(e),
            (Err(e), None) => Err(ChildError::Map(e)),
        }
    }

    fn build(
        &mut self,
        image: &Image,
        cnode_bits: u8,
        endpoint: Slot,
        badge: Word,
    ) -> Result<(Slot, Slot, Slot), ChildError> {
        let k = |what: &'static str| move |e: sel4::Error| ChildError::Kernel(what, e);
        // VSpace: a PML4 with an ASID (`X86_ASIDPool_Assign` before any map into it).
        let pml4 = self.place(ObjectType::Pml4, 0, Part::Vspace)?;
        let pml4_cap: Cap<cap_type::Pml4> = Cap::from_bits(pml4.0 as Word);
        init_thread::ASID_POOL.asid_pool_assign(pml4_cap).map_err(k("assign ASID"))?;
        // Image: each page filled through core's window, then mapped into the child.
        for seg in &image.segments {
            for p in 0..seg.pages {
                let va = seg.vaddr + p * PAGE;
                let frame = self.place(ObjectType::Frame4K, 0, Part::Image)?;
                let (at, bytes) = seg.page_fill(va);
                if !bytes.is_empty() {
                    self.fill(frame, at, &self.spec.elf[bytes])?;
                }
                self.map_into_child(pml4, frame, va, seg.writable)?;
            }
        }
        // Stack with an unmapped guard page below it, and the IPC buffer.
        for p in 0..STACK_PAGES {
            let frame = self.place(ObjectType::Frame4K, 0, Part::Stack)?;
            self.map_into_child(pml4, frame, STACK_TOP - (p + 1) * PAGE, true)?;
        }
        let ipc = self.place(ObjectType::Frame4K, 0, Part::IpcBuffer)?;
        self.map_into_child(pml4, ipc, IPC_BUFFER, true)?;
        // CSpace: one CNode. Core's own cap to it has no guard (index it at depth = radix); the
        // child's has the guard that makes its slot numbers CPtrs at depth 64.
        let cnode = self.place(ObjectType::CNode, cnode_bits, Part::Cnode)?;
        let tcb = self.place(ObjectType::Tcb, 0, Part::Tcb)?;
        let cnode_cap: Cap<cap_type::CNode> = Cap::from_bits(cnode.0 as Word);
        let guard = CNodeCapData::skip(WORD_BITS - cnode_bits)
            .map(CNodeCapData::into_word)
            .ok_or(ChildError::Guard(WORD_BITS - cnode_bits))?;
        let child_slot = |i: u64| cnode_cap.relative_bits_with_depth(i, cnode_bits as usize);
        let core_slot = |s: Slot| self.core.kernel.inner.slot(s);
        // Send and grant, never receive: the child can call core, not listen on its endpoint
        // (grant: without it the reply never arrives, `endpoint.c:sendIPC`).
        let send = CapRights::new(true, false, true);
        let badge = badge << 1;
        child_slot(abi::ENDPOINT).mint(&core_slot(endpoint), send, badge).map_err(k("mint endpoint"))?;
        child_slot(abi::FAULT_ENDPOINT)
            .mint(&core_slot(endpoint), send, badge | 1)
            .map_err(k("mint fault endpoint"))?;
        child_slot(abi::CNODE).mint(&core_slot(cnode), CapRights::all(), guard).map_err(k("mint own CNode"))?;
        child_slot(abi::TCB).copy(&core_slot(tcb), CapRights::all()).map_err(k("copy TCB"))?;
        child_slot(abi::VSPACE).copy(&core_slot(pml4), CapRights::all()).map_err(k("copy VSpace"))?;
        // The thread: priority and MCP as the system description says (never above core's).
        let tcb_cap: Cap<cap_type::Tcb> = Cap::from_bits(tcb.0 as Word);
        tcb_cap
            .tcb_configure(
                sel4::CPtr::from_bits(abi::FAULT_ENDPOINT),
                self.spec.prio,
                self.spec.prio,
                cnode_cap,
                guard,
                pml4_cap,
                0,
                IPC_BUFFER,
                Cap::from_bits(ipc.0 as Word),
            )
            .map_err(k("configure TCB"))?;
        let regs = UserContext {
            rip: image.entry,
            rsp: STACK_TOP,
            rdi: IPC_BUFFER,
            rsi: self.spec.index as Word,
            ..UserContext::default()
        };
        tcb_cap.tcb_write_registers(true, UserContext::COUNT, &regs).map_err(k("start thread"))?;
        Ok((tcb, pml4, cnode))
    }

    /// Copies `bytes` into the frame in `slot` at offset `at`, through core's window.
    fn fill(&self, slot: Slot, at: u64, bytes: &[u8]) -> Result<(), ChildError> {
        let frame: Cap<cap_type::Frame4K> = Cap::from_bits(slot.0 as Word);
        frame
            .frame_map(init_thread::VSPACE, WINDOW, CapRights::read_write(), VmAttributes::DEFAULT)
            .map_err(|e| ChildError::Kernel("map into core's window", e))?;
        // SAFETY: the frame is mapped read-write at WINDOW (one page, only here, and unmapped
        // before this returns), and `at + bytes.len()` lies within the page (`Segment::page_fill`).
        unsafe { core::ptr::copy_nonoverlapping(bytes.as_ptr(), (WINDOW + at) as *mut u8, bytes.len()) };
        frame.frame_unmap().map_err(|e| ChildError::Kernel("unmap from core's window", e))
    }
}

/// Places the paging structures of core's window once, with a frame mapped and unmapped there
/// (core's own objects, not charged to any child).
pub fn prepare_window(core: &mut Core) -> Result<Mapped, MapError> {
    let (ours, kernel) = (&mut core.ours, &mut core.kernel);
    let mut place = |ty| ours.alloc(kernel, ty, 0).map(|p| (p.slot, p.handle));
    let (frame, handle) = place(ObjectType::Frame4K).map_err(|e| MapError::Alloc(ObjectType::Frame4K, e))?;
    let mut done = Mapped::default();
    let how = Mapping { vspace: init_thread::VSPACE, rights: CapRights::read_write(), attrs: VmAttributes::DEFAULT };
    vspace::map_frame(&mut |ty| place(ty).map(|p| p.0), how, frame, ObjectType::Frame4K, WINDOW, &mut done)?;
    Cap::<cap_type::Frame4K>::from_bits(frame.0 as Word)
        .frame_unmap()
        .map_err(|e| MapError::Kernel("unmap window probe", e))?;
    core.ours
        .free(&mut core.kernel, handle)
        .map_err(|_| MapError::Kernel("free window probe", KernelError::IllegalOperation))?;
    Ok(done)
}

/// Bytes of a CNode of `2^bits` slots.
pub fn cnode_bytes(bits: u8) -> u64 {
    1u64 << (bits + SLOT_BITS)
}
