//! Core's allocator state on the real kernel: the fixed-capacity structures
//! (statics in `.bss`), the mirror of every boot untyped in the untyped pool,
//! RAM and device ranges in their range allocators, and the untyped table
//! core prints at boot.
//!
//! Capacities are sized for the 3 GiB `scale` run (10^5 live objects of
//! mixed sizes): every placed object is a leaf of the binary untyped tree,
//! so the pool needs about two nodes per object plus the split paths; every
//! node and every object holds one cap slot.

use core::mem::MaybeUninit;
use core::ptr::addr_of_mut;

use crate::cap_space::{CapEntry, CapSpace};
use crate::kernel::{BootUntyped, Counting, Slot};
use crate::phys_allocator::PhysAllocator;
use crate::placement::Placer;
use crate::range_allocator::RangeAllocator;
use crate::untyped_pool::{PoolError, PoolNode, UntypedPool};
use sel4::BootInfo;
use sel4_root_task::println;

use crate::root::kernel::{slot_limit, CSpaceLayout, SeL4, MAX_LEVEL2};
use crate::size::Size;

/// Nodes of the untyped pool (boot untypeds plus two per split).
pub const POOL_NODES: usize = 1 << 19;
/// Blocks (free and used) per range allocator.
pub const RANGE_BLOCKS: usize = 1 << 17;
/// Second-level CNodes the cap storage can cover.
pub const CAP_LEVEL2: usize = 8;
/// Cap-slot bookkeeping entries: the boot root CNode and `CAP_LEVEL2` second-level CNodes.
pub const CAP_ENTRIES: usize = slot_limit(CAP_LEVEL2) as usize;
/// Boot untypeds core can mirror (the kernel hands out at most this many, bootinfo's array).
pub const MAX_BOOT_UNTYPEDS: usize = sel4_config::MAX_NUM_BOOTINFO_UNTYPED_CAPS;

const _: () = assert!(CAP_LEVEL2 <= MAX_LEVEL2);

pub type Ranges = RangeAllocator<RANGE_BLOCKS>;
pub type CoreStrategy = PhysAllocator<'static, RANGE_BLOCKS, &'static mut [PoolNode], &'static mut [CapEntry]>;

static mut POOL: MaybeUninit<[PoolNode; POOL_NODES]> = MaybeUninit::uninit();
static mut CAPS: MaybeUninit<[CapEntry; CAP_ENTRIES]> = MaybeUninit::uninit();
// All-zero is an empty range allocator: these live in .bss.
static mut RAM: Ranges = RangeAllocator::new();
static mut DEVICE: Ranges = RangeAllocator::new();

/// Fills a static array with `v` and hands it out.
///
/// # Safety
/// Called at most once per static, before any other reference to it exists.
unsafe fn fill<T: Copy, const N: usize>(s: *mut MaybeUninit<[T; N]>, v: T) -> &'static mut [T] {
    let p = s as *mut T;
    for i in 0..N {
        // SAFETY: i < N, inside the static; writing initialises without reading.
        unsafe { p.add(i).write(v) };
    }
    // SAFETY: every element is initialised and the caller guarantees exclusivity.
    unsafe { core::slice::from_raw_parts_mut(p, N) }
}

/// Core's allocator state and the kernel it drives.
pub struct Core {
    pub ours: CoreStrategy,
    /// The kernel, counting the invocations placement makes (audit probes go around it).
    pub kernel: Counting<SeL4>,
    /// Boot untypeds as bootinfo listed them.
    pub boot: heapless::Vec<BootUntyped, MAX_BOOT_UNTYPEDS>,
    /// Empty root-CNode slots kept out of the cap space, for side experiments.
    pub reserved: core::ops::Range<u32>,
}

/// Root-CNode slots kept out of core's cap space (just after bootinfo's first empty slot).
pub const RESERVED_SLOTS: u32 = 64;

#[derive(Debug)]
pub enum SetupError {
    /// A fixed capacity is smaller than what bootinfo needs.
    Capacity {
        what: &'static str,
        have: usize,
        need: usize,
    },
    /// `setup` was called before: its storage is taken.
    AlreadySetUp,
    Pool(PoolError),
    Ranges(crate::phys_allocator::SetupError),
    CapSpace(crate::cap_space::CapSpaceError),
    /// The mirror does not hold exactly what bootinfo handed over.
    Mirror {
        untypeds: usize,
        mirrored: usize,
        ram: u128,
        ram_mirrored: u128,
        device: u128,
        device_mirrored: u128,
    },
}

impl core::fmt::Display for SetupError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            SetupError::Capacity { what, have, need } => {
                write!(f, "capacity of {what} is {have}, bootinfo needs {need} ({} short)", need.saturating_sub(*have))
            }
            SetupError::AlreadySetUp => write!(f, "core's state is set up once; a second setup would alias it"),
            SetupError::Pool(e) => write!(f, "untyped pool: {e}"),
            SetupError::Ranges(e) => write!(f, "{e}"),
            SetupError::CapSpace(e) => write!(f, "cap space: {e}"),
            SetupError::Mirror { untypeds, mirrored, ram, ram_mirrored, device, device_mirrored } => write!(
                f,
                "the mirror does not match bootinfo: {mirrored} of {untypeds} untypeds, RAM {ram_mirrored} of \
                 {ram} bytes, device {device_mirrored} of {device} bytes"
            ),
        }
    }
}

impl From<PoolError> for SetupError {
    fn from(e: PoolError) -> Self {
        SetupError::Pool(e)
    }
}

impl From<crate::phys_allocator::SetupError> for SetupError {
    fn from(e: crate::phys_allocator::SetupError) -> Self {
        SetupError::Ranges(e)
    }
}

impl From<crate::cap_space::CapSpaceError> for SetupError {
    fn from(e: crate::cap_space::CapSpaceError) -> Self {
        SetupError::CapSpace(e)
    }
}

/// Set by the first [`setup`]: the statics it hands out are then borrowed for good.
static TAKEN: core::sync::atomic::AtomicBool = core::sync::atomic::AtomicBool::new(false);

/// Mirrors every boot untyped (RAM and device) and builds core's strategy over them. Cap
/// slots are managed from bootinfo's first empty slot up to the end of `level2`
/// second-level CNodes (which `cspace::extend` creates next).
/// A second call is [`SetupError::AlreadySetUp`].
pub fn setup(bi: &BootInfo, level2: usize) -> Result<Core, SetupError> {
    let n = bi.untyped_count();
    let mut boot: heapless::Vec<BootUntyped, MAX_BOOT_UNTYPEDS> = heapless::Vec::new();
    for u in bi.untypeds() {
        let b =
            BootUntyped { slot: Slot(u.slot as u32), paddr: u.paddr, size_bits: u.size_bits, is_device: u.is_device };
        boot.push(b).map_err(|_| SetupError::Capacity {
            what: "boot untyped list",
            have: MAX_BOOT_UNTYPEDS,
            need: n,
        })?;
    }
    if n > POOL_NODES {
        return Err(SetupError::Capacity { what: "untyped pool nodes", have: POOL_NODES, need: n });
    }
    if level2 > CAP_LEVEL2 {
        return Err(SetupError::Capacity { what: "second-level CNodes", have: CAP_LEVEL2, need: level2 });
    }
    let reserved = bi.empty().start as u32..bi.empty().start as u32 + RESERVED_SLOTS;
    // Even, so the cap space's aligned pairs (one split's two halves, one retype window) never
    // straddle the end of a CNode (`decodeUntypedInvocation` checks the window fits).
    let first = (reserved.end + 1) & !1;
    let end = slot_limit(level2);
    if first >= end {
        return Err(SetupError::Capacity { what: "cap slots", have: 0, need: 1 });
    }
    if TAKEN.swap(true, core::sync::atomic::Ordering::AcqRel) {
        return Err(SetupError::AlreadySetUp);
    }
    // SAFETY: TAKEN was false, so this is the only call that gets here and nothing else names
    // these statics: the references handed out are the only ones.
    let (pool_store, cap_store, ram, device) = unsafe {
        (
            fill(addr_of_mut!(POOL), PoolNode::EMPTY),
            fill(addr_of_mut!(CAPS), CapEntry::EMPTY),
            &mut *addr_of_mut!(RAM),
            &mut *addr_of_mut!(DEVICE),
        )
    };
    let cap_store = &mut cap_store[..(end - first) as usize];
    let pool = UntypedPool::new(pool_store, &boot)?;
    let caps = CapSpace::new(cap_store, Slot(first))?;
    let ours = PhysAllocator::new(ram, device, Placer::new(pool, caps))?;
    Ok(Core { ours, kernel: Counting::new(SeL4 { layout: CSpaceLayout::Root }), boot, reserved })
}

/// Prints the untyped table (what bootinfo handed over and the pool mirrors) and totals.
/// Stops with [`SetupError::Mirror`] if the mirror does not hold exactly what bootinfo listed.
pub fn print_untypeds(core: &Core, bi: &BootInfo) -> Result<(), SetupError> {
    println!("untypeds: {} (bootinfo slots [{:#x}, {:#x}))", core.boot.len(), bi.untyped().start, bi.untyped().end);
    println!("  {:>6}  {:>18}  {:>18}  {:>4}  {:>10}  kind", "slot", "paddr", "end", "bits", "size");
    let (mut ram, mut device, mut nram, mut ndev) = (0u128, 0u128, 0usize, 0usize);
    for u in &core.boot {
        let size = 1u128 << u.size_bits;
        let end = u.paddr as u128 + size;
        let kind = if u.is_device { "device" } else { "ram" };
        println!(
            "  {:>6}  {:#018x}  {:#018x}  {:>4}  {:>10}  {}",
            u.slot.0,
            u.paddr,
            end,
            u.size_bits,
            Size(size),
            kind
        );
        if u.is_device {
            device += size;
            ndev += 1;
        } else {
            ram += size;
            nram += 1;
        }
    }
    println!("total RAM    {} in {} untypeds ({} bytes)", Size(ram), nram, ram);
    println!("total device {} in {} untypeds ({} bytes)", Size(device), ndev, device);
    let pool = &core.ours.placer.pool;
    let mirrored = pool.num_roots();
    let (ra, da) = (core.ours.ram().avail() as u128, core.ours.device().avail() as u128);
    println!(
        "mirrored: {mirrored} of {} untypeds in the pool; range allocators: RAM {} ({} bytes), device {} ({} bytes)",
        core.boot.len(),
        Size(ra),
        ra,
        Size(da),
        da
    );
    if core.boot.len() >= MAX_BOOT_UNTYPEDS {
        println!(
            "warning: bootinfo's untyped list is full ({} of {MAX_BOOT_UNTYPEDS}): the kernel drops regions beyond it \
             (src/kernel/boot.c:provide_untyped_cap); raise CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS",
            core.boot.len()
        );
    }
    let caps = &core.ours.placer.caps;
    println!(
        "capacities: pool {} of {POOL_NODES} nodes in use, {} cap slots free of {}, range blocks {} + {} of {RANGE_BLOCKS} each",
        pool.nodes_in_use(),
        caps.free_slots(),
        caps.capacity(),
        core.ours.ram().len(),
        core.ours.device().len()
    );
    if mirrored != core.boot.len() || ra != ram || da != device {
        return Err(SetupError::Mirror {
            untypeds: core.boot.len(),
            mirrored,
            ram,
            ram_mirrored: ra,
            device,
            device_mirrored: da,
        });
    }
    Ok(())
}

/// Prints what bootinfo says beside the untypeds: node, IPC buffer, slot regions, TSC.
pub fn print_summary(bi: &BootInfo) {
    let region = |r: sel4::SlotRegion| (r.start, r.end, r.len());
    println!("bootinfo: node {} of {}", bi.node_id(), bi.num_nodes());
    println!("  IPC buffer        {:#x}", bi.ipc_buffer());
    let (s, e, n) = region(bi.empty());
    println!("  empty slots       [{s:#x}, {e:#x}) {n} slots");
    let (s, e, n) = region(bi.untyped());
    println!("  untyped slots     [{s:#x}, {e:#x}) {n} untypeds");
    let (s, e, n) = region(bi.user_image_frames());
    println!("  image frames      [{s:#x}, {e:#x}) {n}");
    let (s, e, n) = region(bi.user_image_paging());
    println!("  image paging      [{s:#x}, {e:#x}) {n}");
    println!("  CNode size bits   {}", bi.init_thread_cnode_size_bits());
    println!("  TSC               {} MHz", bi.tsc_mhz());
}
