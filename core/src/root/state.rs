//! Core's allocator state on the real kernel: the mirror of every boot untyped in the
//! untyped pool and the RAM and device range allocators, core's metadata (pool nodes, cap-slot
//! entries, range blocks) sized from the machine, and the tables core prints at boot.
//!
//! Metadata sizing: [`setup`] mirrors every untyped with small bootstrap storage (a few hundred
//! KiB in `.bss`) and sizes core's metadata from bootinfo ([`Capacities`]); then
//! `metadata::move_to_window` places 2 MiB frames for it with core's own allocator, maps them
//! into core's VSpace ([`crate::root::vspace`]) and moves the metadata there
//! ([`PhysAllocator::replace_storage`]). An image that needs fixed
//! storage (the trace self-test, whose replay must start from the bare boot state) brings its
//! own with [`Metadata::Static`].

use alloc::vec::Vec;

use crate::cap_space::{CapEntry, CapSpace};
use crate::kernel::{Capacity, Counting, Slot, UntypedDesc};
use crate::object::ObjectType;
use crate::phys_allocator::{
    ObjectId, PhysAllocator, Storage, CAP_SLOTS_PER_4_OBJECTS, POOL_NODES_PER_4_OBJECTS, RAM_BLOCKS_PER_4_OBJECTS,
};
use crate::placement::Placer;
use crate::range_allocator::{slab_len, RangeAllocator, RangeNode};
use crate::root::kernel::{CSpaceLayout, SeL4, LEVEL2_BITS};
use crate::root::vspace::MapError;
use crate::size::Size;
use crate::static_slab::StaticSlab;
use crate::untyped_pool::{PoolError, PoolNode, UntypedPool};
use sel4::BootInfo;
use sel4_root_task::println;

/// Boot untypeds core can mirror (the kernel hands out at most this many, bootinfo's array).
pub const MAX_BOOT_UNTYPEDS: usize = sel4_config::MAX_NUM_BOOTINFO_UNTYPED_CAPS;

/// Bootstrap storage: enough to mirror every boot untyped and to place core's metadata frames
/// and their paging structures.
const BOOT_POOL_NODES: usize = 2 * MAX_BOOT_UNTYPEDS + 1024;
const BOOT_CAP_SLOTS: usize = 2048;
const BOOT_RANGE_BLOCKS: usize = slab_len(3 * MAX_BOOT_UNTYPEDS + 256);

static BOOT_POOL: StaticSlab<PoolNode, BOOT_POOL_NODES> = StaticSlab::new();
static BOOT_CAPS: StaticSlab<CapEntry, BOOT_CAP_SLOTS> = StaticSlab::new();
static BOOT_RAM: StaticSlab<RangeNode, BOOT_RANGE_BLOCKS> = StaticSlab::new();
static BOOT_DEVICE: StaticSlab<RangeNode, BOOT_RANGE_BLOCKS> = StaticSlab::new();
/// The range allocators' headers (their node slabs are the storage above, then the mapped one).
static RANGES: StaticSlab<Option<Ranges>, 2> = StaticSlab::new();

/// Virtual address of core's first metadata window: in the first 512 GiB, whose PDPT the kernel
/// made for core's image, below its window onto child frames (0x20_0000_0000).
pub const METADATA_BASE: u64 = 0x10_0000_0000;

pub type Ranges = RangeAllocator<&'static mut [RangeNode]>;
pub type CoreStrategy =
    PhysAllocator<'static, &'static mut [RangeNode], &'static mut [PoolNode], &'static mut [CapEntry]>;
/// Core's metadata storage, in `.bss` or in frames core mapped.
pub type CoreStorage = Storage<&'static mut [RangeNode], &'static mut [PoolNode], &'static mut [CapEntry]>;

/// How many objects core's metadata is sized for; the pool, cap-slot and range-block
/// capacities follow by `phys_allocator`'s ratios per object.
#[derive(Copy, Clone, Debug)]
pub struct Capacities {
    pub objects: usize,
}

impl Capacities {
    /// RAM bytes per object core provides for by default.
    pub const RAM_PER_OBJECT: u64 = 64 << 10;

    /// One object per 64 KiB of RAM bootinfo hands over, at least 4096.
    pub fn for_machine(bi: &BootInfo) -> Self {
        let ram: u64 = bi.untypeds().filter(|u| !u.is_device).map(|u| 1u64 << u.size_bits).sum();
        Capacities { objects: ((ram / Self::RAM_PER_OBJECT) as usize).max(4096) }
    }

    pub fn pool_nodes(&self, untypeds: usize) -> usize {
        self.objects / 4 * POOL_NODES_PER_4_OBJECTS + 2 * untypeds + 256
    }

    pub fn cap_slots(&self) -> usize {
        self.objects / 4 * CAP_SLOTS_PER_4_OBJECTS + 1024
    }

    /// Slab length of the RAM range allocator: its blocks, one extent per untyped at most, and
    /// its used table.
    pub fn ram_blocks(&self, untypeds: usize) -> usize {
        slab_len(self.objects / 4 * RAM_BLOCKS_PER_4_OBJECTS + 3 * untypeds + 256)
    }

    pub fn device_blocks(&self, untypeds: usize) -> usize {
        slab_len(3 * untypeds + 1024)
    }
}

/// Where core's metadata lives.
pub enum Metadata {
    /// Sized from the machine at boot, in frames core places and maps.
    Mapped(Capacities),
    /// In storage the image brings (e.g. `StaticSlab`s of its own).
    Static(CoreStorage),
}

/// What core's metadata takes.
#[derive(Copy, Clone, Debug, Default)]
pub struct Footprint {
    pub pool_nodes: usize,
    pub cap_slots: usize,
    pub ram_blocks: usize,
    pub device_blocks: usize,
    /// Bytes of the storage above.
    pub metadata_bytes: u64,
    /// Frames and paging structures core placed for it (0 for static storage).
    pub mapped_bytes: u64,
    pub paging_bytes: u64,
    /// Second-level CNodes the cap slots need (`cspace::extend` makes them).
    pub level2: usize,
}

/// Core's allocator state and the kernel it drives.
pub struct Core {
    pub ours: CoreStrategy,
    /// The kernel, counting the invocations placement makes (audit probes go around it).
    pub kernel: Counting<SeL4>,
    /// Boot untypeds as bootinfo listed them.
    pub boot: heapless::Vec<UntypedDesc, MAX_BOOT_UNTYPEDS>,
    /// Empty root-CNode slots kept out of the cap space, for side experiments.
    pub reserved: core::ops::Range<u32>,
    pub footprint: Footprint,
    /// The first slot of core's cap space.
    pub first_slot: u32,
    /// The window core's mapped metadata lives in (`root::metadata`); `None` for static storage.
    pub metadata: Option<Window>,
    /// Core's CSpace past the boot root CNode (`root::cspace`).
    pub cspace: CSpaceState,
}

/// Root-CNode slots kept out of core's cap space (just after bootinfo's first empty slot).
pub const RESERVED_SLOTS: u32 = 64;

#[derive(Debug)]
pub enum SetupError {
    /// A capacity is smaller than what bootinfo needs.
    Capacity {
        what: &'static str,
        have: usize,
        need: usize,
    },
    /// A storage larger than the structure can index.
    TooLarge {
        what: &'static str,
        have: usize,
    },
    /// `setup` was called before: its storage is taken.
    AlreadySetUp,
    Pool(PoolError),
    Ranges(crate::phys_allocator::SetupError),
    CapSpace(crate::cap_space::CapSpaceError),
    /// Core's metadata could not be placed or mapped.
    Metadata(MapError),
    /// The mapped metadata cannot hold what is in use.
    Move(Capacity),
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
            SetupError::TooLarge { what, have } => write!(f, "{have} {what} are more than the structure can index"),
            SetupError::AlreadySetUp => write!(f, "core's state is set up once; a second setup would alias it"),
            SetupError::Pool(e) => write!(f, "untyped pool: {e}"),
            SetupError::Ranges(e) => write!(f, "{e}"),
            SetupError::CapSpace(e) => write!(f, "cap space: {e}"),
            SetupError::Metadata(e) => write!(f, "core's metadata: {e}"),
            SetupError::Move(c) => write!(f, "core's metadata: the new storage's {c} cannot hold what is in use"),
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

impl From<MapError> for SetupError {
    fn from(e: MapError) -> Self {
        SetupError::Metadata(e)
    }
}

/// The first slot of core's cap space: after bootinfo's first empty slot and the
/// [`RESERVED_SLOTS`], even, so the cap space's aligned pairs (one split's two halves, one
/// retype window) never straddle the end of a CNode (`decodeUntypedInvocation` checks the
/// window fits).
pub fn first_managed_slot(bi: &BootInfo) -> u32 {
    (bi.empty().start as u32 + RESERVED_SLOTS + 1) & !1
}

/// The bootstrap storage in `.bss`, handed out once.
fn bootstrap_storage() -> Result<CoreStorage, SetupError> {
    match (
        BOOT_RAM.take(RangeNode::ZERO),
        BOOT_DEVICE.take(RangeNode::ZERO),
        BOOT_POOL.take(PoolNode::EMPTY),
        BOOT_CAPS.take(CapEntry::EMPTY),
    ) {
        (Some(ram), Some(device), Some(pool), Some(caps)) => Ok(Storage { ram, device, pool, caps }),
        _ => Err(SetupError::AlreadySetUp),
    }
}

/// The frames of the window core's metadata lives in, and where the next window goes.
pub struct Window {
    pub(crate) frames: Vec<ObjectId>,
    pub(crate) next_va: u64,
}

impl Window {
    pub fn new() -> Window {
        Window { frames: Vec::new(), next_va: METADATA_BASE }
    }

    /// Where the frames of the window being mapped are recorded.
    pub fn frames_mut(&mut self) -> &mut Vec<ObjectId> {
        &mut self.frames
    }

    /// The window mapped takes `bytes` of VA: the next goes after it.
    pub fn advance(&mut self, bytes: u64) {
        self.next_va += bytes;
    }
}

impl Default for Window {
    fn default() -> Self {
        Window::new()
    }
}

/// Core's CSpace past the boot root CNode: the top CNode once there is one, and how many
/// second-level CNodes it holds (`cspace` grows it).
pub struct CSpaceState {
    /// Core's IPC buffer, which its TCB keeps when its CSpace root changes.
    pub(crate) ipc_buffer: u64,
    /// Core's unguarded cap to the top CNode and its radix.
    pub(crate) top: Option<(Slot, u8)>,
    pub level2: usize,
}

impl CSpaceState {
    pub fn new(ipc_buffer: u64) -> CSpaceState {
        CSpaceState { ipc_buffer, top: None, level2: 0 }
    }
}

/// Mirrors every boot untyped (RAM and device) and builds core's allocator over them, on
/// bootstrap storage or the static storage `metadata` brings. With [`Metadata::Mapped`] it
/// returns the capacities to size core's stores for: the caller moves them into a window
/// (`metadata::move_to_window`). Cap slots are managed from just after the reserved slots up
/// to what the metadata holds; slots past the boot root CNode exist once `cspace::extend` has
/// made `footprint.level2` second-level CNodes, which the caller does next. A second call is
/// [`SetupError::AlreadySetUp`].
pub fn setup(bi: &BootInfo, metadata: Metadata) -> Result<(Core, Option<Capacities>), SetupError> {
    let n = bi.untyped_count();
    let mut boot: heapless::Vec<UntypedDesc, MAX_BOOT_UNTYPEDS> = heapless::Vec::new();
    for u in bi.untypeds() {
        boot.push(u).map_err(|_| SetupError::Capacity {
            what: "boot untyped list",
            have: MAX_BOOT_UNTYPEDS,
            need: n,
        })?;
    }
    let reserved = bi.empty().start as u32..bi.empty().start as u32 + RESERVED_SLOTS;
    let first = first_managed_slot(bi);
    let (storage, mapped) = match metadata {
        Metadata::Static(s) => (s, None),
        Metadata::Mapped(c) => (bootstrap_storage()?, Some(c)),
    };
    let Storage { ram, device, pool, caps } = storage;
    let (ram_len, device_len) = (ram.len(), device.len());
    let headers = RANGES.take_with(|| None).ok_or(SetupError::AlreadySetUp)?;
    let [ram_hdr, device_hdr] = headers else {
        return Err(SetupError::AlreadySetUp);
    };
    let ram = ram_hdr.insert(RangeAllocator::with_storage(ram).map_err(too_many("RAM range blocks", ram_len))?);
    let device =
        device_hdr.insert(RangeAllocator::with_storage(device).map_err(too_many("device range blocks", device_len))?);
    let pool = UntypedPool::new(pool, &boot)?;
    let caps = CapSpace::new(caps, Slot(first))?;
    let ours = PhysAllocator::new(ram, device, Placer::new(pool, caps))?;
    let mut core = Core {
        ours,
        kernel: Counting::new(SeL4 { layout: CSpaceLayout::Root }),
        boot,
        reserved,
        footprint: Footprint::default(),
        first_slot: first,
        metadata: None,
        cspace: CSpaceState::new(bi.ipc_buffer()),
    };
    check_mirror(&core)?;
    count_footprint(&mut core);
    Ok((core, mapped))
}

/// Counts what core's stores hold now into its footprint, and the second-level CNodes its cap
/// slots need.
pub fn count_footprint(core: &mut Core) {
    let first = core.first_slot;
    let f = &mut core.footprint;
    f.pool_nodes = core.ours.placer.pool.capacity();
    f.cap_slots = core.ours.placer.caps.capacity();
    f.ram_blocks = core.ours.ram().capacity();
    f.device_blocks = core.ours.device().capacity();
    f.metadata_bytes = metadata_bytes(f.pool_nodes, f.cap_slots, f.ram_blocks + f.device_blocks) as u64;
    let end = first as usize + f.cap_slots;
    f.level2 = end.saturating_sub(1) >> LEVEL2_BITS;
}

/// A slab too large for a range allocator's links.
fn too_many(what: &'static str, have: usize) -> impl Fn(crate::range_allocator::RangeError) -> SetupError {
    move |_| SetupError::TooLarge { what, have }
}

fn metadata_bytes(pool: usize, caps: usize, ranges: usize) -> usize {
    pool * size_of::<PoolNode>() + caps * size_of::<CapEntry>() + ranges * size_of::<RangeNode>()
}

/// Prints core's own footprint: its metadata (what it holds, and the frames and paging
/// structures it placed for it) and its image.
pub fn print_footprint(core: &Core, bi: &BootInfo) {
    let f = &core.footprint;
    println!(
        "footprint: metadata {} ({} bytes: {} pool nodes, {} cap slots, {} + {} range blocks) in {} of frames \
         mapped at {METADATA_BASE:#x} with {} of paging structures; {} second-level CNodes for the cap slots",
        Size(f.metadata_bytes as u128),
        f.metadata_bytes,
        f.pool_nodes,
        f.cap_slots,
        f.ram_blocks,
        f.device_blocks,
        Size(f.mapped_bytes as u128),
        Size(f.paging_bytes as u128),
        f.level2
    );
    let page = ObjectType::Frame4K.object_bits(0).map_or(0, |b| 1u128 << b);
    let image = bi.user_image_frames().len() as u128 * page;
    println!(
        "footprint: image {} ({image} bytes in {} frames), of which .bss {} bytes",
        Size(image),
        bi.user_image_frames().len(),
        sel4_root_task::image::bss_bytes()
    );
}

/// Bytes of RAM and device memory the boot untypeds hold, and how many of each.
fn totals(boot: &[UntypedDesc]) -> (u128, usize, u128, usize) {
    let (mut ram, mut nram, mut device, mut ndev) = (0u128, 0usize, 0u128, 0usize);
    for u in boot {
        if u.is_device {
            device += 1u128 << u.size_bits;
            ndev += 1;
        } else {
            ram += 1u128 << u.size_bits;
            nram += 1;
        }
    }
    (ram, nram, device, ndev)
}

/// Stops with [`SetupError::Mirror`] unless the pool and the range allocators hold exactly
/// the untypeds bootinfo listed (before core allocates anything).
fn check_mirror(core: &Core) -> Result<(), SetupError> {
    let (ram, _, device, _) = totals(&core.boot);
    let mirrored = core.ours.placer.pool.num_roots();
    let (ra, da) = (core.ours.ram().avail() as u128, core.ours.device().avail() as u128);
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

/// Prints the untyped table (what bootinfo handed over and the pool mirrors), totals, and
/// capacities.
pub fn print_untypeds(core: &Core, bi: &BootInfo) {
    println!("untypeds: {} (bootinfo slots [{:#x}, {:#x}))", core.boot.len(), bi.untyped().start, bi.untyped().end);
    println!("  {:>6}  {:>18}  {:>18}  {:>4}  {:>10}  kind", "slot", "paddr", "end", "bits", "size");
    for u in &core.boot {
        let size = 1u128 << u.size_bits;
        println!(
            "  {:>6}  {:#018x}  {:#018x}  {:>4}  {:>10}  {}",
            u.slot.0,
            u.paddr,
            u.paddr as u128 + size,
            u.size_bits,
            Size(size),
            if u.is_device { "device" } else { "ram" }
        );
    }
    let (ram, nram, device, ndev) = totals(&core.boot);
    println!("total RAM    {} in {} untypeds ({} bytes)", Size(ram), nram, ram);
    println!("total device {} in {} untypeds ({} bytes)", Size(device), ndev, device);
    let pool = &core.ours.placer.pool;
    let (ra, da) = (core.ours.ram().avail() as u128, core.ours.device().avail() as u128);
    println!(
        "mirrored: {} of {} untypeds in the pool; range allocators: RAM {} ({} bytes), device {} ({} bytes) \
         free; {} bytes of RAM hold core's metadata",
        pool.num_roots(),
        core.boot.len(),
        Size(ra),
        ra,
        Size(da),
        da,
        ram - ra
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
        "capacities: pool {} of {} nodes in use, {} cap slots free of {}, range blocks {} of {} + {} of {}",
        pool.nodes_in_use(),
        pool.capacity(),
        caps.free_slots(),
        caps.capacity(),
        core.ours.ram().len(),
        core.ours.ram().capacity(),
        core.ours.device().len(),
        core.ours.device().capacity()
    );
}

/// What core's own bookkeeping holds at a moment: pool nodes, cap slots and range blocks in
/// use, and RAM free in the allocator.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct InUse {
    pub pool_nodes: usize,
    pub cap_slots: usize,
    pub ram_blocks: usize,
    pub device_blocks: usize,
    pub ram_free: u64,
}

impl InUse {
    pub fn of(core: &Core) -> InUse {
        let caps = &core.ours.placer.caps;
        InUse {
            pool_nodes: core.ours.placer.pool.nodes_in_use(),
            cap_slots: caps.capacity() - caps.free_slots(),
            ram_blocks: core.ours.ram().len(),
            device_blocks: core.ours.device().len(),
            ram_free: core.ours.ram().avail(),
        }
    }
}

impl core::fmt::Display for InUse {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(
            f,
            "{} pool nodes, {} cap slots, {} + {} range blocks in use, {} bytes of RAM free",
            self.pool_nodes, self.cap_slots, self.ram_blocks, self.device_blocks, self.ram_free
        )
    }
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
