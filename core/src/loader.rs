//! The loader: builds a child's protection domain from its ELF image the way sessions build
//! objects, through [`Pd`] and a [`Pending`] charge, so the host runs it over the kernel model
//! (`core/lab`) and the root task over the kernel. Every object is charged to the child's
//! budget by the sessions' rule (its size plus [`charges::OBJECT_RECORD`]); a load that fails
//! at any step frees everything it placed.
//!
//! The child's address space: in its first GiB the image below [`Layout::image_limit`], an
//! unmapped guard page, the stack ([`Spec::stack`] bytes) ending at [`STACK_TOP`], its log
//! buffer ([`abi::LOG_BUFFER`], which core maps too), and the first thread's IPC buffer at
//! [`IPC_BUFFER`]; the IPC buffers of the
//! threads it starts through TCB sessions go in its last 512 GiB (`session::thread`). Image and stack are 4 KiB frames in runs of up to
//! the kernel's retype fan-out, each run one retype. Its CSpace: one CNode holding the caps
//! [`abi`] names.

use alloc::vec::Vec;

use sel4_core_protocol::{abi, charges, CacheAttr, ErrorCode};

use crate::cap_space::MAX_RUN_LOG2;
use crate::image::{Image, ImageError, PAGE};
use crate::kernel::Slot;
use crate::object::ObjectType;
use crate::session::mapping::{self, FrameMap};
use crate::session::pd::{CapData, Pd, Registers, Rights};
use crate::session::{ram, Object, Paging, Pending};

/// The first thread's IPC buffer: the last page of the child's first GiB.
pub const IPC_BUFFER: u64 = 0x3fff_f000;
/// Top of the child's stack: the log buffer's page lies between it and the IPC buffer.
pub const STACK_TOP: u64 = IPC_BUFFER - PAGE;
const _: () = assert!(abi::LOG_BUFFER == STACK_TOP && abi::LOG_BUFFER + abi::LOG_BUFFER_BYTES == IPC_BUFFER);
/// A service's stack when its description does not say.
pub const DEFAULT_STACK: u64 = 8 * PAGE;

/// Where the parts of a child's address space go, for its stack size.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Layout {
    /// Bytes of the stack, below [`STACK_TOP`].
    pub stack: u64,
}

impl Layout {
    /// The layout for a stack of `stack` bytes: a positive multiple of a page that leaves
    /// room below it for a guard page and some image.
    pub fn new(stack: u64) -> Result<Layout, LoadError> {
        (STACK_TOP.checked_sub(stack))
            .and_then(|bottom| bottom.checked_sub(PAGE))
            .filter(|&limit| stack > 0 && stack.is_multiple_of(PAGE) && limit > 0)
            .ok_or(LoadError::Stack(stack))?;
        Ok(Layout { stack })
    }

    /// Where the image must end: below the stack's guard page.
    pub fn image_limit(&self) -> u64 {
        STACK_TOP - self.stack - PAGE
    }

    /// The lowest page of the stack.
    pub fn stack_bottom(&self) -> u64 {
        STACK_TOP - self.stack
    }
}

/// What a child is to be: its entry in the system description.
#[derive(Copy, Clone, Debug)]
pub struct Spec<'a> {
    pub index: usize,
    pub name: &'a str,
    pub elf: &'a [u8],
    /// RAM budget in bytes: everything it holds is charged to it.
    pub ram: u64,
    /// Cap budget: its CNode has the largest power of two of slots within it.
    pub caps: u64,
    pub prio: u8,
    /// Bytes of its first thread's stack.
    pub stack: u64,
    /// Its heap setting, handed to its first thread (`abi`); core does not enforce it (the
    /// RAM budget is what core enforces).
    pub heap: u64,
    /// How often core starts it again after a fault (0: never).
    pub restarts: u32,
}

/// A cap core puts in the child's CNode besides the ones every child gets: a copy, or a mint
/// with `data`, of `from` (in core's CSpace) at the child's `slot`.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    pub from: Slot,
    pub slot: u64,
    pub rights: Rights,
    pub data: Option<CapData>,
}

/// What the loader gets besides the image: objects that outlive one start of the child (kept
/// across its restarts, placed, charged and freed by the caller) and the caps and mappings its
/// channels give it.
#[derive(Copy, Clone, Debug, Default)]
pub struct Given<'g> {
    /// The first thread's TCB, when it is kept across restarts (`None`: the loader places one).
    pub tcb: Option<Slot>,
    /// Caps to put in the child's CNode.
    pub caps: &'g [Grant],
    /// 4 KiB frames (core's cap for this mapping) to map writable at the addresses given, with
    /// their cache attribute (shared memory, device memory); each cap's slot in core's CSpace
    /// is charged as a record.
    pub frames: &'g [(Slot, u64, CacheAttr)],
    /// How often the child was started before (its first thread's `rcx`).
    pub restarts: u64,
}

/// Bytes charged to a child for its protection domain, by what they pay for.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Charge {
    pub image: u64,
    pub stack: u64,
    pub ipc_buffer: u64,
    pub log_buffer: u64,
    pub paging: u64,
    pub cnode: u64,
    pub tcb: u64,
    pub vspace: u64,
    /// Core's records: its record of the child, and [`charges::OBJECT_RECORD`] per object.
    pub records: u64,
}

impl Charge {
    /// Bytes of the child's kernel objects: what freeing them gives the allocator back.
    pub fn objects(&self) -> u64 {
        self.image + self.stack + self.ipc_buffer + self.log_buffer + self.paging + self.cnode + self.tcb + self.vspace
    }

    /// Everything charged to the child's budget.
    pub fn total(&self) -> u64 {
        self.objects() + self.records
    }
}

/// Why a child could not be loaded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum LoadError {
    Image(ImageError),
    /// A stack size that is no positive multiple of a page, or leaves no room for the rest.
    Stack(u64),
    /// Its RAM budget does not cover what it needs (at least `needed` bytes).
    Budget {
        needed: u64,
        budget: u64,
    },
    /// Its cap budget does not cover the caps core gives it.
    Caps {
        needed: u64,
        budget: u64,
    },
    /// No free RAM for one of its objects.
    NoMemory(&'static str),
    /// The kernel refused an invocation.
    Refused(&'static str),
}

impl core::fmt::Display for LoadError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            LoadError::Image(e) => write!(f, "image: {e}"),
            LoadError::Stack(s) => write!(f, "a stack of {s} bytes is no positive multiple of 4 KiB that fits"),
            LoadError::Budget { needed, budget } => {
                write!(f, "needs more than its RAM budget of {budget} bytes (at least {needed})")
            }
            LoadError::Caps { needed, budget } => write!(f, "needs {needed} cap slots, its budget is {budget}"),
            LoadError::NoMemory(what) => write!(f, "no free RAM for its {what}"),
            LoadError::Refused(what) => write!(f, "the kernel refused to {what}"),
        }
    }
}

/// A loaded child: the objects it holds (newest last), what they cost, its caps in core's
/// CSpace.
#[derive(Debug)]
pub struct Loaded {
    pub objects: Vec<Object>,
    pub charge: Charge,
    pub layout: Layout,
    pub tcb: Slot,
    pub vspace: Slot,
    pub cnode: Slot,
    pub cnode_bits: u8,
    /// The log buffer's frame (mapped in the child at [`abi::LOG_BUFFER`]).
    pub log: Slot,
}

impl Loaded {
    /// Frees every object, newest first (the thread was suspended by the caller, or never ran
    /// on what goes first: its TCB is among the newest).
    pub fn free(self, pd: &mut impl Pd) {
        for o in self.objects.iter().rev() {
            pd.free(o.handle);
        }
    }
}

/// The radix of the child's CNode for a cap budget of `caps` slots: the largest power of two
/// within it, which must hold the caps core gives it.
pub fn cnode_bits(caps: u64) -> Result<u8, LoadError> {
    let needed = abi::FIRST_FREE_SLOT;
    if caps < needed {
        return Err(LoadError::Caps { needed, budget: caps });
    }
    Ok((63 - caps.leading_zeros()) as u8)
}

/// Builds the protection domain of `spec` and starts its thread. `record` is the bytes of
/// core's record of the child, charged first. The child's requests come on `endpoint` (a slot
/// of core's) badged `badge << 1`, its faults `badge << 1 | 1`; its first thread gets the IPC
/// buffer's address and its index in the system as arguments.
pub fn load(
    pd: &mut impl Pd,
    spec: &Spec,
    given: &Given,
    record: u64,
    endpoint: Slot,
    badge: u64,
) -> Result<Loaded, LoadError> {
    let layout = Layout::new(spec.stack)?;
    let image = Image::parse(spec.elf, layout.image_limit()).map_err(LoadError::Image)?;
    let cnode_bits = cnode_bits(spec.caps)?;
    // Every cap given must have its slot in the CNode.
    if let Some(top) = given.caps.iter().map(|g| g.slot).max().filter(|&s| s >> cnode_bits != 0) {
        return Err(LoadError::Caps { needed: top + 1, budget: spec.caps });
    }
    let budget = |needed| LoadError::Budget { needed, budget: spec.ram };
    let left = spec.ram.checked_sub(record).ok_or(budget(record))?;
    // core's slots for the child's objects are paid from its RAM (their records); the cap
    // budget is its CNode's.
    let mut b = Builder { pd, pending: Pending::with_left(left, u32::MAX), paging: Vec::new(), record, ram: spec.ram };
    match b.build(spec, given, &image, layout, cnode_bits, endpoint, badge) {
        Ok(done) => Ok(done),
        Err(e) => {
            let Builder { pd, pending, .. } = b;
            pending.undo(pd);
            Err(e)
        }
    }
}

/// Places 4 KiB frames for `bytes`, charged to `pending`, in runs from free blocks as large as
/// there are; the frames' slots in address order. On failure, why and the bytes that failed.
pub fn place_frames(pd: &mut impl Pd, pending: &mut Pending, bytes: u64) -> Result<Vec<Slot>, (ErrorCode, u64)> {
    let first = pending.placed().len();
    let mut todo = alloc::vec![bytes];
    while let Some(size) = todo.pop() {
        match ram::place_block(pd, size, PAGE.trailing_zeros() as u8, None) {
            Ok(base) => {
                for run in sel4_core_protocol::layout::runs(base, size, PAGE.trailing_zeros() as u8, MAX_RUN_LOG2 as u8)
                {
                    ram::place_run(pd, pending, run).map_err(|e| (e, run.bytes()))?;
                }
            }
            // No block that large: two smaller ones, the lower half first.
            Err(_) if size > PAGE => {
                let half = (size / PAGE).div_ceil(2) * PAGE;
                todo.extend([size - half, half]);
            }
            Err(e) => return Err((e, size)),
        }
    }
    let mut runs: Vec<Object> = pending.placed()[first..].to_vec();
    runs.sort_unstable_by_key(|o| o.paddr);
    Ok(runs.iter().flat_map(|o| o.slots()).collect())
}

struct Builder<'p, P: Pd> {
    pd: &'p mut P,
    pending: Pending,
    paging: Vec<Paging>,
    record: u64,
    ram: u64,
}

impl<P: Pd> Builder<'_, P> {
    /// What a failed placement means: over budget (with what it needed at least), or no RAM.
    fn failed(&self, e: ErrorCode, bytes: u64, what: &'static str) -> LoadError {
        match e {
            ErrorCode::OutOfRamQuota => LoadError::Budget {
                needed: self.record + self.pending.bytes() + crate::session::object_cost(bytes),
                budget: self.ram,
            },
            _ => LoadError::NoMemory(what),
        }
    }

    fn one(&mut self, ty: ObjectType, size_bits: u8, what: &'static str) -> Result<Object, LoadError> {
        let bytes = ty.object_bits(size_bits).map(|b| 1u64 << b).unwrap_or(u64::MAX);
        self.pending.place(self.pd, ty, size_bits, None, 0).map_err(|e| self.failed(e, bytes, what))
    }

    /// Places 4 KiB frames for `bytes` ([`place_frames`]).
    fn frames(&mut self, bytes: u64, what: &'static str) -> Result<Vec<Slot>, LoadError> {
        place_frames(self.pd, &mut self.pending, bytes).map_err(|(e, size)| self.failed(e, size, what))
    }

    fn map(&mut self, slot: Slot, va: u64, writable: bool, what: &'static str) -> Result<(), LoadError> {
        let f = FrameMap { slot, ty: ObjectType::Frame4K, va, cache: CacheAttr::Cached, writable };
        mapping::map_frame(self.pd, &mut self.pending, &mut self.paging, f).map_err(|e| match e {
            ErrorCode::InvalidArgument => LoadError::Refused("map a frame"),
            e => self.failed(e, PAGE, what),
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn build(
        &mut self,
        spec: &Spec,
        given: &Given,
        image: &Image,
        layout: Layout,
        cnode_bits: u8,
        endpoint: Slot,
        badge: u64,
    ) -> Result<Loaded, LoadError> {
        let refused = |what| move || LoadError::Refused(what);
        let vspace = self.one(ObjectType::Pml4, 0, "VSpace")?.slot;
        let cnode = self.one(ObjectType::CNode, cnode_bits, "CNode")?.slot;
        self.pd.attach(vspace, cnode, cnode_bits).then_some(()).ok_or_else(refused("assign an ASID"))?;
        let mut charge = Charge::default();
        // Image: frames filled with the file's bytes (the rest is zero: retyped frames are),
        // then mapped.
        let mark = self.pending.placed().len();
        for seg in &image.segments {
            let frames = self.frames(seg.pages * PAGE, "image")?;
            for (p, &frame) in frames.iter().enumerate() {
                let va = seg.vaddr + p as u64 * PAGE;
                let (at, bytes) = seg.page_fill(va);
                if !bytes.is_empty() && !self.pd.fill(frame, at, &spec.elf[bytes]) {
                    return Err(LoadError::Refused("fill an image frame"));
                }
                self.map(frame, va, seg.writable, "image")?;
            }
        }
        charge.image = self.bytes_since(mark, |ty| ty == ObjectType::Frame4K);
        // Stack, with an unmapped guard page below it.
        let mark = self.pending.placed().len();
        let frames = self.frames(layout.stack, "stack")?;
        for (p, &frame) in frames.iter().enumerate() {
            self.map(frame, layout.stack_bottom() + p as u64 * PAGE, true, "stack")?;
        }
        charge.stack = self.bytes_since(mark, |ty| ty == ObjectType::Frame4K);
        let ipc = self.one(ObjectType::Frame4K, 0, "IPC buffer")?;
        self.map(ipc.slot, IPC_BUFFER, true, "IPC buffer")?;
        charge.ipc_buffer = ipc.bytes();
        let log = self.one(ObjectType::Frame4K, 0, "log buffer")?;
        self.map(log.slot, abi::LOG_BUFFER, true, "log buffer")?;
        charge.log_buffer = log.bytes();
        // Core's copy of each shared frame's cap takes a slot of core's: a record's worth.
        let copies = given.frames.len() as u64 * charges::OBJECT_RECORD;
        self.pending.charge(copies, 0).map_err(|e| self.failed(e, 0, "shared memory"))?;
        for &(frame, va, cache) in given.frames {
            let f = FrameMap { slot: frame, ty: ObjectType::Frame4K, va, cache, writable: true };
            mapping::map_frame(self.pd, &mut self.pending, &mut self.paging, f).map_err(|e| match e {
                ErrorCode::InvalidArgument => LoadError::Refused("map shared or device memory"),
                e => self.failed(e, PAGE, "shared or device memory"),
            })?;
        }
        let tcb = match given.tcb {
            Some(kept) => kept,
            None => self.one(ObjectType::Tcb, 0, "TCB")?.slot,
        };
        // Its caps.
        let pd = &mut *self.pd;
        let badge = badge << 1;
        let ours = pd.mint_cap(endpoint, abi::ENDPOINT, Rights::Call, CapData::Badge(badge))
            && pd.mint_cap(endpoint, abi::FAULT_ENDPOINT, Rights::Call, CapData::Badge(badge | 1))
            && pd.mint_cap(cnode, abi::CNODE, Rights::All, CapData::Guard)
            && pd.copy_cap(tcb, abi::TCB, Rights::All)
            && pd.copy_cap(vspace, abi::VSPACE, Rights::All);
        ours.then_some(()).ok_or_else(refused("give the child its caps"))?;
        for g in given.caps {
            let done = match g.data {
                Some(data) => pd.mint_cap(g.from, g.slot, g.rights, data),
                None => pd.copy_cap(g.from, g.slot, g.rights),
            };
            done.then_some(()).ok_or_else(refused("give the child its channels' caps"))?;
        }
        // Its thread, at the priority the description gives (never above core's).
        pd.thread_configure(tcb, ipc.slot, IPC_BUFFER, spec.prio)
            .then_some(())
            .ok_or_else(refused("configure its TCB"))?;
        let regs = Registers {
            entry: image.entry,
            stack: STACK_TOP,
            arg: IPC_BUFFER,
            arg2: spec.index as u64,
            arg3: spec.heap,
            arg4: given.restarts,
        };
        (pd.thread_registers(tcb, regs) && pd.thread_resume(tcb))
            .then_some(())
            .ok_or_else(refused("start its thread"))?;
        // What it all cost, by part.
        let of = |ty: ObjectType| self.bytes_since(0, |t| t == ty);
        charge.paging = of(ObjectType::PageTable) + of(ObjectType::PageDirectory) + of(ObjectType::Pdpt);
        (charge.cnode, charge.tcb, charge.vspace) = (of(ObjectType::CNode), of(ObjectType::Tcb), of(ObjectType::Pml4));
        charge.records =
            self.record + (self.pending.placed().len() + given.frames.len()) as u64 * charges::OBJECT_RECORD;
        let objects = core::mem::replace(&mut self.pending, Pending::with_left(0, 0)).finish().0;
        Ok(Loaded { objects, charge, layout, tcb, vspace, cnode, cnode_bits, log: log.slot })
    }

    /// Bytes of the objects placed since the `mark`-th whose type `is`.
    fn bytes_since(&self, mark: usize, is: impl Fn(ObjectType) -> bool) -> u64 {
        self.pending.placed()[mark..].iter().filter(|o| is(o.ty)).map(|o| o.bytes()).sum()
    }
}
