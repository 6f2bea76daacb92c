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

use sel4::BootInfo;
use sel4_core::cap_space::{CapEntry, CapSpace};
use sel4_core::kernel::{BootUntyped, Counting, Slot};
use sel4_core::placement::Placer;
use sel4_core::range_allocator::RangeAllocator;
use sel4_core::strategy::Ours;
use sel4_core::untyped_pool::{PoolError, PoolNode, UntypedPool};
use sel4_root_task::println;

use crate::cspace::{slot_limit, MAX_LEVEL2};
use crate::kernel_impl::{CSpaceLayout, SeL4};
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
pub type CoreStrategy = Ours<'static, RANGE_BLOCKS, &'static mut [PoolNode], &'static mut [CapEntry]>;

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

#[allow(dead_code)] // read through Debug when main reports it
#[derive(Debug)]
pub enum SetupError {
    /// A fixed capacity is smaller than what bootinfo needs.
    Capacity {
        what: &'static str,
        have: usize,
        need: usize,
    },
    Pool(PoolError),
    Ranges(sel4_core::strategy::SetupError),
    CapSpace(sel4_core::cap_space::CapSpaceError),
}

/// Mirrors every boot untyped (RAM and device) and builds core's strategy over them. Cap
/// slots are managed from bootinfo's first empty slot up to the end of `level2`
/// second-level CNodes (which `cspace::extend` creates next).
///
/// Must be called once.
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
    // SAFETY: setup runs once; nothing else touches these statics.
    let (pool_store, cap_store, ram, device) = unsafe {
        (
            fill(addr_of_mut!(POOL), PoolNode::EMPTY),
            fill(addr_of_mut!(CAPS), CapEntry::EMPTY),
            &mut *addr_of_mut!(RAM),
            &mut *addr_of_mut!(DEVICE),
        )
    };
    let cap_store = &mut cap_store[..(end - first) as usize];
    let pool = UntypedPool::new(pool_store, &boot).map_err(SetupError::Pool)?;
    let caps = CapSpace::new(cap_store, Slot(first)).map_err(SetupError::CapSpace)?;
    let ours = Ours::new(ram, device, Placer::new(pool, caps)).map_err(SetupError::Ranges)?;
    Ok(Core { ours, kernel: Counting::new(SeL4 { layout: CSpaceLayout::Root }), boot, reserved })
}

/// Prints the untyped table (what bootinfo handed over and the pool mirrors) and totals.
pub fn print_untypeds(core: &Core, bi: &BootInfo) {
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
        println!("error: the mirror does not match bootinfo");
    }
}
