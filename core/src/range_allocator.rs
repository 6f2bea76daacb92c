//! Range allocator for physical address ranges, with the semantics of Genode's
//! `Allocator_avl`: disjoint blocks (free or used) in managed ranges, an AVL
//! tree of the free blocks keyed by base address, each subtree annotated with
//! its largest free block so that allocations run in O(log n), and `free`
//! by address alone.
//!
//! Where the blocks live, in one slab of 32-byte nodes:
//! * **Free blocks** are the nodes of the annotated AVL tree (the "free
//!   tree"). Allocation searches only them.
//! * **Used blocks** are nodes outside any tree, chained through a hash table
//!   keyed by base address (the "used table", whose buckets fill the last
//!   eighth or less of the slab). `free(addr)` finds its block in O(1) and its
//!   free neighbours in the free tree. Genode keeps used blocks in its one
//!   tree; here they would make every search descend past them (at 10^6
//!   live ranges, nine nodes in ten are used), and every descent in a tree
//!   that size misses the cache at most levels.
//! * **Extents**, the maximal runs of managed addresses, are a second AVL
//!   tree (unannotated). Every managed byte is in a free or a used block, so
//!   the used blocks of an extent are the gaps between its free blocks, and
//!   the ordered questions (overlap on `add_range`, used blocks under
//!   `remove_range` and `alloc_addr`, iteration in address order) are
//!   answered from the two trees and the table.
//!
//! Differences from Genode, and the choices made here:
//! * Metadata lives in a slab of nodes the caller provides (no heap): an
//!   array inside the allocator ([`ArrayRangeAllocator`], whose all-zero value
//!   is a valid empty one, so `new()` is `const` and a large instance can live
//!   in `.bss` or zeroed heap memory), or any slice, such as the frames core's
//!   root task maps for its metadata at boot, sized from the machine.
//! * Every operation computes exactly how many nodes it needs and checks them
//!   before it mutates anything: `OutOfMetadata` comes exactly when the
//!   result would hold more blocks and extents than [`RangeAllocator::capacity`],
//!   and a failing call leaves the allocator unchanged.
//! * `remove_range` refuses (instead of stopping half-way) when any used block
//!   overlaps the range.
//! * Boundaries: addresses across which free blocks never merge, so no
//!   allocation can span one (e.g. the borders of the untyped roots).
//! * Placement policy of [`RangeAllocator::alloc`] (first fit, not Genode's
//!   best fit: the best-fit walk visits every subtree whose largest free
//!   block is big enough, which is not O(log n) once alignment matters):
//!   *the first block in address order that surely fits*, else *the first
//!   block that fits*. A free block surely fits `(size, 2^a)` when it is at
//!   least `size + 2^a - 1` long or contains a naturally aligned chunk of
//!   `2^M` bytes, `M = max(a, ceil_log2(size))`. Blocks cut by the
//!   constraint range `[lo, hi)` are checked exactly.
//!
//! Cost of `alloc` (f free blocks):
//! * Each subtree carries its largest free size and the order of its largest
//!   naturally aligned free chunk ("order"). Both sure-fit conditions are
//!   per-block maxima, so whether a subtree holds a sure fit is read off its
//!   root, and the first sure fit is one descent: O(log f). Subtrees cut by
//!   `[lo, hi)` lie on the two search paths of `lo` and `hi`: O(log f) more.
//! * Only if no block surely fits, the exact pass visits subtrees that meet
//!   the necessary conditions `len >= size` and
//!   `order >= min(a, floor_log2(size))` (an aligned fit at `x` contains the
//!   `2^min(a, floor_log2(size))` chunk at `x`). Every visited subtree holds a
//!   near miss (a block that meets the necessary but not the sure
//!   conditions), so the pass costs O((1 + c) log f) for c near misses.
//! * For `size == 2^a`, the requests core makes, necessary and sure coincide
//!   (`order >= a`): there are no near misses, and `alloc` is O(log f) exactly,
//!   whether it succeeds or fails. The benchmark `range_allocator_near_miss`
//!   measures both cases.
//! * `free` is O(1) expected for the table (buckets at least half the nodes)
//!   plus O(log f); `add_range` and `add_boundary` are O(log n) (plus a
//!   binary search of the boundaries); `alloc_addr` is O(log n) when the
//!   range lies in one free block, else O(k log n) for the k free blocks it
//!   meets; `remove_range` is O(k log n) for the k blocks and extents it
//!   touches; `block_containing` of a used address walks the used blocks
//!   from the free block or extent start before it.
//!
//! How `alloc` and `free` change the free tree (the hot path): one descent
//! records the root-to-block path; the carve or merge happens at its end (a
//! freed block without free neighbours becomes a leaf where the descent
//! ended, a merged-away neighbour is a node with at most one child, spliced
//! out); one bottom-up pass over the path then recomputes and rebalances,
//! stopping at the first subtree that comes out unchanged. When only one
//! child's annotations changed, the pass takes the new maxima from that
//! child alone instead of reading the sibling, which in a large tree is a
//! cache miss.

/// Link to a node: 0 is "none", otherwise the slab index plus one. Zero as
/// "none" keeps an empty allocator all-zero.
type Link = u32;
const NIL: Link = 0;

/// Default number of boundaries an allocator can hold.
pub const DEFAULT_BOUNDARIES: usize = 512;

/// Errors of the range allocator. A failing call changes nothing.
#[derive(Copy, Clone, Debug, Eq, PartialEq, Hash)]
pub enum RangeError {
    /// The node slab (or the boundary table) is full.
    OutOfMetadata,
    /// The range overlaps a block that prevents the operation (any block for
    /// `add_range`, a used block otherwise).
    Overlap,
    /// No used block starts at the given address.
    NotFound,
    /// Zero size, an address range that wraps, an alignment of 2^64 or more,
    /// or an empty constraint range.
    InvalidArgument,
    /// No free block can hold the request.
    NoFit,
}

impl core::fmt::Display for RangeError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            RangeError::OutOfMetadata => "range allocator blocks exhausted",
            RangeError::Overlap => "range overlaps a block",
            RangeError::NotFound => "no used block starts there",
            RangeError::InvalidArgument => "invalid range arguments",
            RangeError::NoFit => "no free block fits",
        })
    }
}

/// One block as seen by [`RangeAllocator::iter`].
#[derive(Copy, Clone, Debug, Eq, PartialEq, Hash)]
pub struct Block {
    pub base: u64,
    pub size: u64,
    pub used: bool,
}

impl Block {
    /// One past the last byte.
    pub fn end(&self) -> u64 {
        self.base + self.size
    }
}

/// One block or extent. 32 bytes and 32-aligned, so a node never straddles
/// a cache line: speed at 10^6 blocks is bound by cache misses. The height,
/// the used flag and the aligned-chunk order live in the top bits of the two
/// links. A used block is in no tree: its left link chains it in its bucket
/// of the used table. Extents carry the used flag too, so they add nothing
/// to the annotations.
#[derive(Copy, Clone)]
#[repr(C, align(32))]
pub struct Node {
    base: u64,
    size: u64,
    /// Largest free block size in this subtree (0: none).
    max_free: u64,
    /// Left link (low `LINK_BITS`; for a used block, the next in its
    /// bucket), subtree height (6 bits; a leaf has 1), used flag (top bit).
    left_meta: u32,
    /// Right link (low `LINK_BITS`), and 1 + the largest order `k` such that
    /// some free block of this subtree contains a naturally aligned `2^k`
    /// chunk (0: no free block).
    right_meta: u32,
}

/// Bits of a link; the node capacity must stay below `1 << LINK_BITS`.
const LINK_BITS: u32 = 25;
const LINK_MASK: u32 = (1 << LINK_BITS) - 1;
const USED_BIT: u32 = 1 << 31;
const HEIGHT_MASK: u32 = 0x3f << LINK_BITS;

impl Node {
    /// A node that holds nothing (slab contents before use do not matter).
    pub const ZERO: Node = Node { base: 0, size: 0, max_free: 0, left_meta: 0, right_meta: 0 };

    #[inline]
    fn left(&self) -> Link {
        self.left_meta & LINK_MASK
    }
    #[inline]
    fn set_left(&mut self, l: Link) {
        self.left_meta = (self.left_meta & !LINK_MASK) | l;
    }
    #[inline]
    fn right(&self) -> Link {
        self.right_meta & LINK_MASK
    }
    #[inline]
    fn set_right(&mut self, l: Link) {
        self.right_meta = (self.right_meta & !LINK_MASK) | l;
    }
    #[inline]
    fn height(&self) -> u8 {
        ((self.left_meta & HEIGHT_MASK) >> LINK_BITS) as u8
    }
    #[inline]
    fn set_height(&mut self, h: u8) {
        self.left_meta = (self.left_meta & !HEIGHT_MASK) | ((h as u32) << LINK_BITS);
    }
    #[inline]
    fn used(&self) -> bool {
        self.left_meta & USED_BIT != 0
    }
    #[inline]
    fn set_used(&mut self, used: bool) {
        self.left_meta = (self.left_meta & !USED_BIT) | if used { USED_BIT } else { 0 };
    }
    /// The `i`th of the eight 32-bit words of a node that holds buckets of
    /// the used table.
    #[inline]
    fn word(&self, i: usize) -> u32 {
        match i {
            0 => self.base as u32,
            1 => (self.base >> 32) as u32,
            2 => self.size as u32,
            3 => (self.size >> 32) as u32,
            4 => self.max_free as u32,
            5 => (self.max_free >> 32) as u32,
            6 => self.left_meta,
            _ => self.right_meta,
        }
    }
    #[inline]
    fn set_word(&mut self, i: usize, v: u32) {
        let half = |x: &mut u64, high: bool| {
            let shift = if high { 32 } else { 0 };
            *x = (*x & !(0xffff_ffffu64 << shift)) | ((v as u64) << shift);
        };
        match i {
            0 | 1 => half(&mut self.base, i == 1),
            2 | 3 => half(&mut self.size, i == 3),
            4 | 5 => half(&mut self.max_free, i == 5),
            6 => self.left_meta = v,
            _ => self.right_meta = v,
        }
    }
    #[inline]
    fn max_order(&self) -> u8 {
        (self.right_meta >> LINK_BITS) as u8
    }
    #[inline]
    fn set_max_order(&mut self, o: u8) {
        self.right_meta = (self.right_meta & LINK_MASK) | ((o as u32) << LINK_BITS);
    }
}

/// (max_free, max_order + 1, height) of a subtree.
type Summary = (u64, u8, u8);

/// Largest `k` such that `[base, base + size)` contains a `2^k`-aligned chunk
/// of `2^k` bytes. `size > 0`, `base + size` does not overflow.
#[inline]
fn block_order(base: u64, size: u64) -> u8 {
    // A range of length >= 2^k always holds an aligned 2^(k-1) chunk, so the
    // answer is k or k - 1 with k = floor_log2(size). Rounding `base` up to
    // 2^k cannot overflow and stays below the end (2^k - 1 < size), so the
    // test is a subtraction.
    let k = 63 - size.leading_zeros();
    let mask = size_pow(k) - 1;
    let x = (base + mask) & !mask;
    (k - ((base + size - x) < size_pow(k)) as u32) as u8
}

#[inline]
fn size_pow(k: u32) -> u64 {
    1u64 << k
}

/// Whether `size` bytes aligned to `2^align_log2` fit in `[lo, hi)`; returns
/// the address on success.
#[inline]
fn fit_addr(lo: u64, hi: u64, size: u64, align_log2: u32) -> Option<u64> {
    if lo >= hi {
        return None;
    }
    let mask = size_pow(align_log2) - 1;
    let x = lo.checked_add(mask)? & !mask;
    let end = x.checked_add(size)?;
    (end <= hi).then_some(x)
}

/// The search criteria of one aligned request.
#[derive(Copy, Clone)]
struct Request {
    size: u64,
    align_log2: u32,
    lo: u64,
    hi: u64,
    /// A block at least this long surely fits (`u64::MAX`: never known).
    sure_len: u64,
    /// A block whose aligned-chunk order (stored as order + 1) is at least
    /// this surely fits (`u8::MAX`: never).
    sure_order1: u16,
    /// Necessary: order + 1 of the block is at least this.
    need_order1: u16,
}

impl Request {
    #[inline]
    fn new(size: u64, align_log2: u32, lo: u64, hi: u64) -> Self {
        let floor_log2 = 63 - size.leading_zeros();
        let ceil_log2 = if size.is_power_of_two() { floor_log2 } else { floor_log2 + 1 };
        let sure_order = align_log2.max(ceil_log2);
        Request {
            size,
            align_log2,
            lo,
            hi,
            sure_len: size.saturating_add(size_pow(align_log2) - 1),
            sure_order1: if sure_order >= 64 { u16::MAX } else { sure_order as u16 + 1 },
            need_order1: align_log2.min(floor_log2) as u16 + 1,
        }
    }

    /// Some free block of a subtree with these annotations surely fits.
    #[inline]
    fn subtree_sure(&self, max_free: u64, max_order1: u8) -> bool {
        (max_free >= self.sure_len && self.sure_len != u64::MAX) || max_order1 as u16 >= self.sure_order1
    }

    /// A subtree with these annotations may hold a fitting free block.
    #[inline]
    fn subtree_maybe(&self, max_free: u64, max_order1: u8) -> bool {
        max_free >= self.size && max_order1 as u16 >= self.need_order1
    }
}

/// One node of a range allocator's slab (opaque; see [`RangeAllocator::with_storage`]).
pub type RangeNode = Node;

/// Something that holds `T`s in a slice: an array, a `Vec`, or memory a root task mapped.
pub trait Slab<T>: AsRef<[T]> + AsMut<[T]> {}
impl<T, S: AsRef<[T]> + AsMut<[T]>> Slab<T> for S {}

/// Which AVL tree of the slab an operation works on.
#[derive(Copy, Clone, Eq, PartialEq)]
enum Tree {
    /// Free blocks, annotated.
    Free = 0,
    /// Extents: maximal runs of managed addresses.
    Extents = 1,
}

/// What a node holds, for recycling: tree nodes are reused for tree nodes
/// and used blocks for used blocks while both last, so the free tree stays
/// in few pages instead of spreading over the slab with the used blocks.
#[derive(Copy, Clone)]
enum Kind {
    Tree = 0,
    Used = 1,
}

/// Buckets of the used table in a slab of `len` nodes: the largest power of
/// two not above `len` (at least 8), so the table's load stays below 2 and
/// its chains short. Eight 32-bit buckets fill one node.
#[inline]
fn buckets_log2(len: usize) -> u32 {
    (usize::BITS - 1 - len.max(8).leading_zeros()).min(LINK_BITS)
}

/// Nodes of a slab of `len` that can hold blocks and extents; the rest hold
/// the used table.
#[inline]
fn capacity_of(len: usize) -> usize {
    len.saturating_sub((1usize << buckets_log2(len)) / 8)
}

/// The slab length that holds `nodes` blocks and extents beside its used
/// table (see [`RangeAllocator::capacity`]).
pub const fn slab_len(nodes: usize) -> usize {
    let len = nodes + nodes.div_ceil(7) + 1;
    if len < 2 {
        2
    } else {
        len
    }
}

/// Slab bytes per node of capacity, at most: the used table takes an eighth
/// of the slab or less.
pub const SLAB_BYTES_PER_NODE: usize = size_of::<Node>() * 8 / 7 + 1;

/// AVL range allocator over a slab `S` of nodes (fewer than 2^25, at least 2)
/// and with up to `B` boundaries. Blocks are free or used; every used block
/// came from `alloc` or `alloc_addr` and keeps its size for `free`.
pub struct RangeAllocator<S, const B: usize = DEFAULT_BOUNDARIES> {
    /// Roots of the free tree and the extent tree (index: [`Tree`]).
    roots: [Link; 2],
    /// Recycled nodes of each [`Kind`], linked through `left`.
    recycled: [Link; 2],
    /// Nodes at slab index >= `fresh` have never been used.
    fresh: u32,
    /// Nodes in use: blocks, free and used, and extents.
    live: u32,
    /// Used blocks (in the used table).
    used: u32,
    /// Extents (in the extent tree).
    extents: u32,
    avail: u64,
    n_boundaries: usize,
    boundaries: [u64; B],
    nodes: S,
}

/// A range allocator whose slab of `N` nodes is an array inside it.
pub type ArrayRangeAllocator<const N: usize, const B: usize = DEFAULT_BOUNDARIES> = RangeAllocator<[Node; N], B>;

impl<const N: usize, const B: usize> Default for RangeAllocator<[Node; N], B> {
    fn default() -> Self {
        Self::new()
    }
}

impl<const N: usize, const B: usize> RangeAllocator<[Node; N], B> {
    /// An empty allocator. Its bytes are all zero, so a large instance can be
    /// a `static` (placed in `.bss`) or zeroed heap memory (see `new_boxed`).
    pub const fn new() -> Self {
        assert!(N < LINK_MASK as usize, "node capacity must fit a link");
        assert!(N >= 2, "the used table takes a node");
        Self::empty([Node::ZERO; N])
    }
}

impl<S, const B: usize> RangeAllocator<S, B> {
    /// No blocks, no boundaries, over `nodes`.
    const fn empty(nodes: S) -> Self {
        RangeAllocator {
            roots: [NIL; 2],
            recycled: [NIL; 2],
            fresh: 0,
            live: 0,
            used: 0,
            extents: 0,
            avail: 0,
            n_boundaries: 0,
            boundaries: [0; B],
            nodes,
        }
    }
}

impl<S: Slab<Node>, const B: usize> RangeAllocator<S, B> {
    /// An empty allocator over `nodes`. The used table's buckets are cleared,
    /// and nodes are written before they are read, so the slab's contents do
    /// not matter. Fails for a slab of fewer than 2 nodes or 2^25 nodes or
    /// more (links are 25 bits).
    pub fn with_storage(nodes: S) -> Result<Self, RangeError> {
        let len = nodes.as_ref().len();
        if !(2..LINK_MASK as usize).contains(&len) {
            return Err(RangeError::InvalidArgument);
        }
        let mut a = Self::empty(nodes);
        a.clear_buckets();
        Ok(a)
    }

    /// Node capacity: the most blocks (free and used) and extents the
    /// allocator can hold; the rest of the slab holds the used table.
    pub fn capacity(&self) -> usize {
        capacity_of(self.nodes.as_ref().len())
    }

    /// Length of the slab: nodes and the used table.
    pub fn slab_len(&self) -> usize {
        self.nodes.as_ref().len()
    }

    /// Bytes of the slab: nodes and the used table.
    pub fn slab_bytes(&self) -> usize {
        core::mem::size_of_val(self.nodes.as_ref())
    }

    /// Whether a slab of `len` nodes can hold this allocator: every node used so far, and
    /// fewer than 2^25.
    pub fn can_move_to(&self, len: usize) -> bool {
        capacity_of(len) >= self.fresh as usize && (2..LINK_MASK as usize).contains(&len)
    }

    /// Moves the allocator onto `nodes` (see [`Self::can_move_to`]) and returns the old slab:
    /// node indices stay valid, so it is the same allocator with a new capacity (the used
    /// table is rebuilt for the new size). Gives `nodes` back if it cannot hold the allocator.
    pub fn replace_storage(&mut self, mut nodes: S) -> Result<S, S> {
        if !self.can_move_to(nodes.as_ref().len()) {
            return Err(nodes);
        }
        let used = self.fresh as usize;
        nodes.as_mut()[..used].copy_from_slice(&self.nodes.as_ref()[..used]);
        let old = core::mem::replace(&mut self.nodes, nodes);
        self.rebuild_buckets(old.as_ref());
        Ok(old)
    }

    /// Copies this allocator's state into `dst` (of any slab that holds every node used so
    /// far): node indices stay valid, so the copy is the same allocator.
    pub fn copy_to<T: Slab<Node>>(&self, dst: &mut RangeAllocator<T, B>) -> Result<(), RangeError> {
        let used = self.fresh as usize;
        if used > dst.capacity() {
            return Err(RangeError::OutOfMetadata);
        }
        dst.nodes.as_mut()[..used].copy_from_slice(&self.nodes.as_ref()[..used]);
        dst.roots = self.roots;
        dst.recycled = self.recycled;
        dst.fresh = self.fresh;
        dst.live = self.live;
        dst.used = self.used;
        dst.extents = self.extents;
        dst.avail = self.avail;
        dst.n_boundaries = self.n_boundaries;
        dst.boundaries = self.boundaries;
        dst.rebuild_buckets(self.nodes.as_ref());
        Ok(())
    }

    /// Number of blocks (free and used) in the allocator.
    pub fn len(&self) -> usize {
        (self.live - self.extents) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of extents (maximal runs of managed addresses); each takes a node.
    pub fn extents(&self) -> usize {
        self.extents as usize
    }

    /// Free bytes in total (not necessarily allocatable in one piece).
    pub fn avail(&self) -> u64 {
        self.avail
    }

    /// Size of the largest free block.
    pub fn largest_free(&self) -> u64 {
        self.aug(self.root()).0
    }

    /// Largest `k` such that `alloc(1 << k, k, None)` succeeds now, i.e. the
    /// order of the largest naturally aligned free power-of-two chunk.
    pub fn largest_aligned_free_log2(&self) -> Option<u8> {
        self.aug(self.root()).1.checked_sub(1)
    }

    /// Boundaries in ascending order.
    pub fn boundaries(&self) -> &[u64] {
        &self.boundaries[..self.n_boundaries]
    }

    /// The block (free or used) containing `addr`. For a used address, walks
    /// the used blocks from the free block or extent start before it.
    pub fn block_containing(&self, addr: u64) -> Option<Block> {
        let e = self.find_containing(Tree::Extents, addr);
        if e == NIL {
            return None;
        }
        let f = self.last_starting_at_or_below(addr);
        if f != NIL && self.block(f).end() > addr {
            return Some(self.block(f));
        }
        let mut at = if f == NIL { self.n(e).base } else { self.block(f).end().max(self.n(e).base) };
        loop {
            let u = self.used_find(at).0;
            if u == NIL {
                return None; // unreachable while the invariants hold
            }
            let b = self.block(u);
            if b.end() > addr {
                return Some(b);
            }
            at = b.end();
        }
    }

    /// All blocks in address order.
    pub fn iter(&self) -> Iter<'_, S, B> {
        Iter { alloc: self, at: 0, extent_end: 0, done: false, broken: false }
    }

    /// Adds `[base, base + size)` as free memory. Refuses overlap with any
    /// block; merges with adjacent free blocks unless a boundary separates
    /// them; splits at boundaries inside the range.
    pub fn add_range(&mut self, base: u64, size: u64) -> Result<(), RangeError> {
        let end = Self::range_end(base, size)?;
        let first = self.first_ending_after(Tree::Extents, base);
        if first != NIL && self.n(first).base < end {
            return Err(RangeError::Overlap);
        }
        let (lo_idx, hi_idx) = self.boundaries_inside(base, end);
        let pieces = hi_idx - lo_idx + 1;
        let pred = self.mergeable_pred(base);
        let succ = self.mergeable_succ(end);
        let merges = (pred != NIL) as usize + (succ != NIL) as usize;
        let blocks_needed = if pieces == 1 { (merges == 0) as isize } else { (pieces - merges) as isize };
        // The extent grows a neighbour, or joins two (giving a node back), or is new.
        let ext_pred = if base == 0 { NIL } else { self.find_containing(Tree::Extents, base - 1) };
        let ext_succ = self.find_containing(Tree::Extents, end);
        let ext_needed = match (ext_pred != NIL, ext_succ != NIL) {
            (false, false) => 1,
            (true, true) => -1,
            _ => 0,
        };
        if blocks_needed + ext_needed > self.free_nodes() as isize {
            return Err(RangeError::OutOfMetadata);
        }
        // Extents first: joining two gives back the node the free blocks may need.
        match (ext_pred, ext_succ) {
            (NIL, NIL) => self.insert_block(Tree::Extents, base, size),
            (p, NIL) => self.nm(p).size += size,
            (NIL, s) => {
                let n = self.nm(s);
                n.base = base;
                n.size += size;
            }
            (p, s) => {
                let s_size = self.n(s).size;
                self.remove_node(Tree::Extents, s);
                self.nm(p).size += size + s_size;
            }
        }

        let mut piece_base = base;
        for i in lo_idx..=hi_idx {
            let piece_end = if i < hi_idx { self.boundaries[i] } else { end };
            let is_first = i == lo_idx;
            let is_last = i == hi_idx;
            if is_first && pred != NIL {
                let pred_base = self.n(pred).base;
                self.nm(pred).size += piece_end - piece_base;
                if is_last && succ != NIL {
                    let succ_size = self.n(succ).size;
                    self.remove_node(Tree::Free, succ);
                    self.nm(pred).size += succ_size;
                }
                self.refresh_path(Tree::Free, pred_base);
            } else if is_last && succ != NIL {
                let s = self.nm(succ);
                s.size += piece_end - piece_base;
                s.base = piece_base;
                self.refresh_path(Tree::Free, piece_base);
            } else {
                self.insert_block(Tree::Free, piece_base, piece_end - piece_base);
            }
            piece_base = piece_end;
        }
        self.avail += size;
        Ok(())
    }

    /// Removes the free memory inside `[base, base + size)`, cutting free
    /// blocks at the edges. Parts of the range that are not managed are
    /// ignored. Refuses if any used block overlaps the range.
    pub fn remove_range(&mut self, base: u64, size: u64) -> Result<(), RangeError> {
        let end = Self::range_end(base, size)?;
        if self.used_overlaps(base, end) {
            return Err(RangeError::Overlap);
        }
        let needed = self.cut_needs(Tree::Free, base, end) + self.cut_needs(Tree::Extents, base, end);
        if needed > self.free_nodes() as isize {
            return Err(RangeError::OutOfMetadata);
        }
        // Free blocks first: a split there comes with no removal, and
        // removals there give back the node an extent split may need.
        self.avail -= self.cut(Tree::Free, base, end);
        self.cut(Tree::Extents, base, end);
        Ok(())
    }

    /// The address [`Self::alloc`] would choose now for the same request, allocating nothing:
    /// the same search, without the carving and its tree updates.
    pub fn peek(&self, size: u64, align_log2: u8, range: Option<(u64, u64)>) -> Result<u64, RangeError> {
        self.search(size, align_log2, range, &mut Path::new(Tree::Free)).map(|(_, addr)| addr)
    }

    /// Where a request for `size` bytes aligned to `2^align_log2`, optionally inside `[lo, hi)`,
    /// goes: the free block and the address. Without a constraint the whole tree is inside
    /// it, and the first sure fit is one descent, which leaves its path in `path`.
    fn search(
        &self,
        size: u64,
        align_log2: u8,
        range: Option<(u64, u64)>,
        path: &mut Path,
    ) -> Result<(Link, u64), RangeError> {
        if size == 0 || align_log2 >= 64 {
            return Err(RangeError::InvalidArgument);
        }
        let (lo, hi) = range.unwrap_or((0, u64::MAX));
        if lo >= hi {
            return Err(RangeError::InvalidArgument);
        }
        let req = Request::new(size, align_log2 as u32, lo, hi);
        let root = self.root();
        let sure = if lo == 0 && hi == u64::MAX {
            let (max_free, max_order1) = self.aug(root);
            if req.subtree_sure(max_free, max_order1) {
                self.descend_sure(root, &req, path)
            } else {
                None
            }
        } else {
            self.find_sure(root, 0, u64::MAX, &req)
        };
        match sure {
            Some(f) => Ok(f),
            None => self.find_exact(root, 0, u64::MAX, &req).ok_or(RangeError::NoFit),
        }
    }

    /// Allocates `size` bytes aligned to `2^align_log2`, optionally inside
    /// `[lo, hi)`. Returns the base address. See the module doc for the
    /// placement policy.
    pub fn alloc(&mut self, size: u64, align_log2: u8, range: Option<(u64, u64)>) -> Result<u64, RangeError> {
        let mut path = Path::new(Tree::Free);
        let (t, addr) = self.search(size, align_log2, range, &mut path)?;
        // The bucket of the new used block is fetched while the free tree
        // is updated.
        self.prefetch_bucket(addr);
        if path.last() != t {
            path.clear();
            self.descend(self.n(t).base, &mut path);
        }
        self.carve_at(&mut path, addr, size)?;
        Ok(addr)
    }

    /// Allocates exactly `[addr, addr + size)`, which must lie inside one free
    /// block.
    pub fn alloc_addr(&mut self, addr: u64, size: u64) -> Result<(), RangeError> {
        let end = Self::range_end(addr, size)?;
        let t = self.find_containing(Tree::Free, addr);
        if t != NIL && self.block(t).end() >= end {
            let mut path = Path::new(Tree::Free);
            self.descend(self.n(t).base, &mut path);
            return self.carve_at(&mut path, addr, size);
        }
        if self.used_overlaps(addr, end) {
            Err(RangeError::Overlap)
        } else {
            Err(RangeError::NoFit)
        }
    }

    /// Frees the used block starting at `addr` and returns its size. The
    /// block merges with free neighbours unless a boundary separates them.
    pub fn free(&mut self, addr: u64) -> Result<u64, RangeError> {
        // The bucket is fetched while the free tree is searched: in a large
        // allocator both are cache misses, and neither waits for the other.
        self.prefetch_bucket(addr);
        // One descent to where the block would sit in the free tree: its
        // neighbours are the last ancestors where the descent turned.
        let mut path = Path::new(Tree::Free);
        let (_, pred_at, succ_at) = self.descend(addr, &mut path);
        let (u, prev) = self.used_find(addr);
        if u == NIL {
            return Err(RangeError::NotFound);
        }
        self.used_unlink(u, prev);
        let size = self.n(u).size;
        let end = addr + size;
        let pred = pred_at.map_or(NIL, |i| path.links[i]);
        let succ = succ_at.map_or(NIL, |i| path.links[i]);
        let merge_pred = pred != NIL && self.block(pred).end() == addr && !self.is_boundary(addr);
        let merge_succ = succ != NIL && self.n(succ).base == end && !self.is_boundary(end);
        match (merge_pred, merge_succ) {
            (false, false) => {
                // A free leaf where the descent ended.
                self.release_node(u, Kind::Used);
                let u = self.new_node(addr, size, false);
                match path.last() {
                    NIL => self.roots[Tree::Free as usize] = u,
                    p if addr < self.n(p).base => self.nm(p).set_left(u),
                    p => self.nm(p).set_right(u),
                }
                if path.len > 0 {
                    self.fix_up(&path, path.len - 1);
                }
            }
            (true, false) => {
                let at = pred_at.unwrap_or(0);
                self.nm(pred).size += size;
                path.len = at + 1;
                self.fix_up(&path, at);
                self.release_node(u, Kind::Used);
            }
            (false, true) => {
                let at = succ_at.unwrap_or(0);
                let s = self.nm(succ);
                s.base = addr;
                s.size += size;
                path.len = at + 1;
                self.fix_up(&path, at);
                self.release_node(u, Kind::Used);
            }
            (true, true) => {
                // Both are on the path; the deeper one goes and the other
                // grows over it (no free block lies between them).
                let (pred_at, succ_at) = (pred_at.unwrap_or(0), succ_at.unwrap_or(0));
                let (p, s) = (self.block(pred), self.block(succ));
                if pred_at > succ_at {
                    let n = self.nm(succ);
                    n.base = p.base;
                    n.size += p.size + size;
                    self.remove_on_path(&mut path, pred_at, succ_at);
                } else {
                    self.nm(pred).size += size + s.size;
                    self.remove_on_path(&mut path, succ_at, pred_at);
                }
                self.release_node(u, Kind::Used);
            }
        }
        self.avail += size;
        Ok(size)
    }

    /// Adds a boundary at `addr`: free blocks never merge across it, so no
    /// allocation spans it. A free block across `addr` is split. Adding an
    /// existing boundary is a no-op.
    pub fn add_boundary(&mut self, addr: u64) -> Result<(), RangeError> {
        let idx = self.boundaries().partition_point(|&b| b < addr);
        if idx < self.n_boundaries && self.boundaries[idx] == addr {
            return Ok(());
        }
        if self.n_boundaries == B {
            return Err(RangeError::OutOfMetadata);
        }
        let t = self.find_containing(Tree::Free, addr);
        let split = t != NIL && self.n(t).base < addr;
        if split {
            if self.free_nodes() == 0 {
                return Err(RangeError::OutOfMetadata);
            }
        } else if t == NIL && self.find_containing(Tree::Extents, addr) != NIL && self.used_find(addr).0 == NIL {
            // A managed address in no free block and at no used block's start.
            return Err(RangeError::Overlap);
        }
        self.boundaries.copy_within(idx..self.n_boundaries, idx + 1);
        self.boundaries[idx] = addr;
        self.n_boundaries += 1;
        if split {
            let b = self.block(t);
            self.nm(t).size = addr - b.base;
            self.refresh_path(Tree::Free, b.base);
            self.insert_block(Tree::Free, addr, b.end() - addr);
        }
        Ok(())
    }

    /// Checks both trees (address order, AVL balance and heights, subtree
    /// annotations), the used table (every block in its bucket), that the
    /// blocks tile the extents in address order with free blocks merged
    /// except at boundaries, and the counters. For tests; O(n log n).
    pub fn check_invariants(&self) -> Result<(), &'static str> {
        self.check_subtree(self.root(), false)?;
        self.check_subtree(self.roots[Tree::Extents as usize], true)?;
        let mut extents = 0;
        self.check_extents(self.roots[Tree::Extents as usize], &mut None, &mut extents)?;
        if extents != self.extents as usize {
            return Err("extent count differs");
        }
        let mut prev: Option<Block> = None;
        let (mut count, mut used, mut avail) = (0u64, 0u64, 0u64);
        let mut walk = self.iter();
        for b in &mut walk {
            if b.size == 0 {
                return Err("empty block");
            }
            if b.base.checked_add(b.size).is_none() {
                return Err("block wraps");
            }
            if let Some(p) = prev {
                if p.end() > b.base {
                    return Err("blocks out of order or overlapping");
                }
                if p.end() == b.base && !p.used && !b.used && !self.is_boundary(b.base) {
                    return Err("adjacent free blocks not merged");
                }
            }
            let (lo, hi) = self.boundaries_inside(b.base, b.end());
            if !b.used && hi > lo {
                return Err("free block spans a boundary");
            }
            if b.used {
                used += 1;
            } else {
                avail += b.size;
            }
            count += 1;
            prev = Some(b);
        }
        if walk.broken {
            return Err("a managed address is in no block, or a block leaves its extent");
        }
        if count != self.len() as u64 {
            return Err("block count differs from len");
        }
        if used != self.used as u64 {
            return Err("used blocks in address order differ from the used count");
        }
        if avail != self.avail {
            return Err("avail differs from sum of free blocks");
        }
        let mut chained = 0u64;
        for i in 0..1usize << self.buckets_log2() {
            let mut u = self.bucket(i);
            while u != NIL {
                chained += 1;
                if chained > self.capacity() as u64 {
                    return Err("used table chain cycles");
                }
                let n = self.n(u);
                if !n.used() || self.bucket_of(n.base) != i {
                    return Err("used table entry in the wrong bucket or not used");
                }
                u = n.left();
            }
        }
        if chained != self.used as u64 {
            return Err("used table holds a different number of blocks");
        }
        let mut recycled = 0u64;
        for mut r in self.recycled {
            while r != NIL {
                recycled += 1;
                if recycled > self.capacity() as u64 {
                    return Err("recycled list cycles");
                }
                r = self.n(r).left();
            }
        }
        if recycled + self.live() as u64 != self.fresh as u64 || self.fresh as usize > self.capacity() {
            return Err("node accounting broken");
        }
        if self.boundaries().windows(2).any(|w| w[0] >= w[1]) {
            return Err("boundaries not sorted");
        }
        Ok(())
    }

    // ---- internals -------------------------------------------------------

    fn range_end(base: u64, size: u64) -> Result<u64, RangeError> {
        if size == 0 {
            return Err(RangeError::InvalidArgument);
        }
        base.checked_add(size).ok_or(RangeError::InvalidArgument)
    }

    /// Nodes not in use (for blocks and extents).
    pub fn free_nodes(&self) -> usize {
        self.capacity() - self.live as usize
    }

    fn live(&self) -> usize {
        self.live as usize
    }

    fn root(&self) -> Link {
        self.roots[Tree::Free as usize]
    }

    // ---- the used table ----

    fn buckets_log2(&self) -> u32 {
        buckets_log2(self.nodes.as_ref().len())
    }

    /// The bucket of a used block starting at `base` (Fibonacci hashing:
    /// the high bits of the product depend on every bit of `base`, so
    /// aligned bases spread).
    #[inline]
    fn bucket_of(&self, base: u64) -> usize {
        (base.wrapping_mul(0x9e37_79b9_7f4a_7c15) >> (64 - self.buckets_log2())) as usize
    }

    /// Asks the CPU to load the bucket of `base` into the cache.
    #[inline]
    fn prefetch_bucket(&self, base: u64) {
        let cell: *const Node = &self.nodes.as_ref()[self.capacity() + self.bucket_of(base) / 8];
        #[cfg(target_arch = "x86_64")]
        // SAFETY: a prefetch is a hint with no architectural effect; it never faults, and `cell`
        // points into the slab anyway.
        unsafe {
            core::arch::x86_64::_mm_prefetch::<{ core::arch::x86_64::_MM_HINT_T0 }>(cell as *const i8)
        };
    }

    #[inline]
    fn bucket(&self, i: usize) -> Link {
        self.nodes.as_ref()[self.capacity() + i / 8].word(i % 8)
    }

    #[inline]
    fn set_bucket(&mut self, i: usize, l: Link) {
        let at = self.capacity() + i / 8;
        self.nodes.as_mut()[at].set_word(i % 8, l);
    }

    /// The used block starting at `base` (NIL: none) and the one before it
    /// in its bucket's chain (NIL: it is the first).
    #[inline]
    fn used_find(&self, base: u64) -> (Link, Link) {
        let mut prev = NIL;
        let mut u = self.bucket(self.bucket_of(base));
        while u != NIL {
            let n = self.n(u);
            if n.base == base {
                return (u, prev);
            }
            prev = u;
            u = n.left();
        }
        (NIL, NIL)
    }

    /// Puts used node `u` first in its bucket's chain.
    #[inline]
    fn used_push(&mut self, u: Link) {
        let i = self.bucket_of(self.n(u).base);
        let head = self.bucket(i);
        self.nm(u).set_left(head);
        self.set_bucket(i, u);
    }

    /// Takes used node `u` (after `prev` in its chain) out of the table.
    #[inline]
    fn used_unlink(&mut self, u: Link, prev: Link) {
        let next = self.n(u).left();
        if prev == NIL {
            let i = self.bucket_of(self.n(u).base);
            self.set_bucket(i, next);
        } else {
            self.nm(prev).set_left(next);
        }
        self.used -= 1;
    }

    fn clear_buckets(&mut self) {
        let cap = self.capacity();
        self.nodes.as_mut()[cap..].fill(Node::ZERO);
    }

    /// Rebuilds the used table for this slab's size from the chains of
    /// `old`, the slab the nodes were copied from.
    fn rebuild_buckets(&mut self, old: &[Node]) {
        self.clear_buckets();
        let old_cap = capacity_of(old.len());
        for i in 0..1usize << buckets_log2(old.len()) {
            let mut u = old[old_cap + i / 8].word(i % 8);
            while u != NIL {
                let next = self.n(u).left();
                self.used_push(u);
                u = next;
            }
        }
    }

    /// Whether a used block overlaps `[base, end)`: some managed address
    /// there is in no free block.
    fn used_overlaps(&self, base: u64, end: u64) -> bool {
        let mut at = base;
        while at < end {
            let e = self.first_ending_after(Tree::Extents, at);
            if e == NIL || self.n(e).base >= end {
                return false;
            }
            let ext = self.block(e);
            at = at.max(ext.base);
            let stop = ext.end().min(end);
            while at < stop {
                let f = self.first_ending_after(Tree::Free, at);
                if f == NIL || self.n(f).base > at {
                    return true;
                }
                at = self.block(f).end();
            }
        }
        false
    }

    /// The change in nodes in use if `cut(tree, base, end)` ran: one more
    /// for a block split in two, one fewer for each block inside the range.
    fn cut_needs(&self, tree: Tree, base: u64, end: u64) -> isize {
        let mut needs = 0;
        let mut t = self.first_ending_after(tree, base);
        while t != NIL && self.n(t).base < end {
            let b = self.block(t);
            if b.base < base && b.end() > end {
                needs += 1;
            } else if b.base >= base && b.end() <= end {
                needs -= 1;
            }
            t = self.first_ending_after(tree, b.end());
        }
        needs
    }

    /// Removes `[base, end)` from the blocks of `tree`, cutting those at the
    /// edges; returns the bytes removed. The caller checked the nodes.
    fn cut(&mut self, tree: Tree, base: u64, end: u64) -> u64 {
        let mut removed = 0;
        loop {
            let t = self.first_ending_after(tree, base);
            if t == NIL || self.n(t).base >= end {
                return removed;
            }
            let b = self.block(t);
            if b.base < base {
                self.nm(t).size = base - b.base;
                self.refresh_path(tree, b.base);
                if b.end() > end {
                    self.insert_block(tree, end, b.end() - end);
                    return removed + (end - base);
                }
                removed += b.end() - base;
            } else if b.end() > end {
                let n = self.nm(t);
                n.base = end;
                n.size = b.end() - end;
                self.refresh_path(tree, end);
                return removed + (end - b.base);
            } else {
                self.remove_node(tree, t);
                removed += b.size;
            }
        }
    }

    /// The free block with the largest base not above `addr`.
    fn last_starting_at_or_below(&self, addr: u64) -> Link {
        let mut t = self.root();
        let mut best = NIL;
        while t != NIL {
            let n = self.n(t);
            if n.base <= addr {
                best = t;
                t = n.right();
            } else {
                t = n.left();
            }
        }
        best
    }

    fn n(&self, l: Link) -> &Node {
        &self.nodes.as_ref()[(l - 1) as usize]
    }

    fn nm(&mut self, l: Link) -> &mut Node {
        &mut self.nodes.as_mut()[(l - 1) as usize]
    }

    fn block(&self, l: Link) -> Block {
        let n = self.n(l);
        Block { base: n.base, size: n.size, used: n.used() }
    }

    /// (max_free, max_order + 1) of a subtree.
    fn aug(&self, l: Link) -> (u64, u8) {
        if l == NIL {
            (0, 0)
        } else {
            let n = self.n(l);
            (n.max_free, n.max_order())
        }
    }

    fn height(&self, l: Link) -> u8 {
        if l == NIL {
            0
        } else {
            self.n(l).height()
        }
    }

    fn is_boundary(&self, addr: u64) -> bool {
        self.boundaries().binary_search(&addr).is_ok()
    }

    /// Index range `[lo, hi)` of boundaries strictly inside `(base, end)`.
    fn boundaries_inside(&self, base: u64, end: u64) -> (usize, usize) {
        let bs = self.boundaries();
        let lo = bs.partition_point(|&b| b <= base);
        let hi = bs.partition_point(|&b| b < end);
        (lo, hi.max(lo))
    }

    /// The free block ending at `addr`, if it may merge with a block starting there.
    fn mergeable_pred(&self, addr: u64) -> Link {
        if addr == 0 || self.is_boundary(addr) {
            return NIL;
        }
        self.find_containing(Tree::Free, addr - 1)
    }

    /// The free block starting at `addr`, if it may merge with a block ending there.
    fn mergeable_succ(&self, addr: u64) -> Link {
        if self.is_boundary(addr) {
            return NIL;
        }
        let s = self.find_containing(Tree::Free, addr);
        if s != NIL && self.n(s).base == addr {
            s
        } else {
            NIL
        }
    }

    /// The node of `tree` containing `addr`.
    fn find_containing(&self, tree: Tree, addr: u64) -> Link {
        let mut t = self.roots[tree as usize];
        while t != NIL {
            let n = self.n(t);
            if addr < n.base {
                t = n.left();
            } else if addr - n.base < n.size {
                return t;
            } else {
                t = n.right();
            }
        }
        NIL
    }

    /// The lowest node of `tree` whose end is above `addr`.
    fn first_ending_after(&self, tree: Tree, addr: u64) -> Link {
        let mut t = self.roots[tree as usize];
        let mut best = NIL;
        while t != NIL {
            let n = self.n(t);
            if n.base + n.size > addr {
                best = t;
                t = n.left();
            } else {
                t = n.right();
            }
        }
        best
    }

    /// First block (address order) that surely fits, considering subtree
    /// annotations; blocks cut by the constraint range are checked exactly.
    /// `[sub_lo, sub_hi]` bounds the addresses of the subtree.
    fn find_sure(&self, t: Link, sub_lo: u64, sub_hi: u64, req: &Request) -> Option<(Link, u64)> {
        if t == NIL || sub_hi <= req.lo || sub_lo >= req.hi {
            return None;
        }
        let n = self.n(t);
        if sub_lo >= req.lo && sub_hi <= req.hi {
            // Whole subtree inside the constraint: its annotations decide.
            return if req.subtree_sure(n.max_free, n.max_order()) {
                self.descend_sure(t, req, &mut Path::new(Tree::Free))
            } else {
                None
            };
        }
        if let Some(f) = self.find_sure(n.left(), sub_lo, n.base, req) {
            return Some(f);
        }
        // A block cut by the constraint range is checked exactly (there are
        // at most two); a block inside it must be a sure fit, as elsewhere.
        let end = n.base + n.size;
        let candidate =
            !n.used() && (n.base < req.lo || end > req.hi || req.subtree_sure(n.size, block_order(n.base, n.size) + 1));
        if candidate {
            if let Some(x) = fit_addr(n.base.max(req.lo), end.min(req.hi), req.size, req.align_log2) {
                return Some((t, x));
            }
        }
        self.find_sure(n.right(), end, sub_hi, req)
    }

    /// The first sure block of subtree `t`, which lies inside the constraint
    /// range and holds a sure block: one root-to-node descent.
    /// Pushes every node visited onto `path`, the found one last.
    fn descend_sure(&self, mut t: Link, req: &Request, path: &mut Path) -> Option<(Link, u64)> {
        while t != NIL {
            path.push(t);
            let n = self.n(t);
            let l = n.left();
            if l != NIL && req.subtree_sure(self.n(l).max_free, self.n(l).max_order()) {
                t = l;
                continue;
            }
            if !n.used() && req.subtree_sure(n.size, block_order(n.base, n.size) + 1) {
                if let Some(x) = fit_addr(n.base, n.base + n.size, req.size, req.align_log2) {
                    return Some((t, x));
                }
            }
            t = n.right();
        }
        None
    }

    /// First block (address order) that fits, pruning subtrees that fail the
    /// necessary conditions.
    fn find_exact(&self, t: Link, sub_lo: u64, sub_hi: u64, req: &Request) -> Option<(Link, u64)> {
        if t == NIL || sub_hi <= req.lo || sub_lo >= req.hi {
            return None;
        }
        let n = self.n(t);
        if !req.subtree_maybe(n.max_free, n.max_order()) {
            return None;
        }
        if let Some(f) = self.find_exact(n.left(), sub_lo, n.base, req) {
            return Some(f);
        }
        if !n.used() {
            let lo = n.base.max(req.lo);
            let hi = (n.base + n.size).min(req.hi);
            if let Some(x) = fit_addr(lo, hi, req.size, req.align_log2) {
                return Some((t, x));
            }
        }
        self.find_exact(n.right(), n.base + n.size, sub_hi, req)
    }

    /// Turns `[addr, addr + size)` of the free block at the end of `path`
    /// into a used block, keeping the rest free. Checks metadata first.
    fn carve_at(&mut self, path: &mut Path, addr: u64, size: u64) -> Result<(), RangeError> {
        let t = path.last();
        let at = path.len - 1;
        let b = self.block(t);
        let end = addr + size;
        let (lead, trail) = (addr > b.base, end < b.end());
        // The used block takes the free block's node when nothing is left,
        // else a new one; a free rest on both sides takes one more.
        if (lead || trail) as usize + (lead && trail) as usize > self.free_nodes() {
            return Err(RangeError::OutOfMetadata);
        }
        match (lead, trail) {
            (false, false) => self.remove_on_path(path, at, at),
            (true, _) => {
                // The key stays; a trailing rest is a new free block, the
                // in-order successor of `t`: a leaf found below `t` (its
                // right child, or the left end of its right subtree), so
                // one pass fixes both changes up without a new descent.
                self.nm(t).size = addr - b.base;
                if trail {
                    let l = self.new_node(end, b.end() - end, false);
                    match self.n(t).right() {
                        NIL => self.nm(t).set_right(l),
                        mut p => {
                            loop {
                                path.push(p);
                                match self.n(p).left() {
                                    NIL => break,
                                    next => p = next,
                                }
                            }
                            self.nm(p).set_left(l);
                        }
                    }
                }
                self.fix_up(path, at);
            }
            (false, true) => {
                // The key moves up to `end`, with no free block in between.
                let n = self.nm(t);
                n.base = end;
                n.size = b.end() - end;
                self.fix_up(path, at);
            }
        }
        let u = self.alloc_node(Kind::Used);
        let mut n = Node { base: addr, size, ..Node::ZERO };
        n.set_used(true);
        *self.nm(u) = n;
        self.used_push(u);
        self.used += 1;
        self.avail -= size;
        Ok(())
    }

    /// A node for `kind`: a recycled one of that kind, else a fresh one,
    /// else one recycled from the other kind. The caller has checked that a
    /// node is available.
    fn alloc_node(&mut self, kind: Kind) -> Link {
        let other = 1 - kind as usize;
        let list = if self.recycled[kind as usize] != NIL || (self.fresh as usize) < self.capacity() {
            kind as usize
        } else {
            other
        };
        let l = if self.recycled[list] != NIL {
            let l = self.recycled[list];
            self.recycled[list] = self.n(l).left();
            l
        } else {
            self.fresh += 1;
            self.fresh
        };
        self.live += 1;
        l
    }

    fn release_node(&mut self, l: Link, kind: Kind) {
        let head = self.recycled[kind as usize];
        let mut n = Node::ZERO;
        n.set_left(head);
        *self.nm(l) = n;
        self.recycled[kind as usize] = l;
        self.live -= 1;
    }

    /// A new leaf node holding one block; the caller has checked that a node
    /// is available.
    fn new_node(&mut self, base: u64, size: u64, used: bool) -> Link {
        let l = self.alloc_node(Kind::Tree);
        let mut n = Node { base, size, ..Node::ZERO };
        n.set_used(used);
        *self.nm(l) = n;
        self.update(l);
        l
    }

    /// Inserts a new node into `tree`: a free block, or an extent (flagged
    /// used, so it adds nothing to the annotations). The caller has checked
    /// that a node is available.
    fn insert_block(&mut self, tree: Tree, base: u64, size: u64) {
        let extent = tree == Tree::Extents;
        let l = self.new_node(base, size, extent);
        if extent {
            self.extents += 1;
        }
        let mut path = Path::new(tree);
        let mut t = self.roots[tree as usize];
        if t == NIL {
            self.roots[tree as usize] = l;
            return;
        }
        loop {
            path.push(t);
            let n = self.nm(t);
            let go_left = base < n.base;
            let next = if go_left { n.left() } else { n.right() };
            if next == NIL {
                if go_left {
                    n.set_left(l);
                } else {
                    n.set_right(l);
                }
                break;
            }
            t = next;
        }
        self.fix_up(&path, path.len - 1);
    }

    /// Removes the node at `path.links[at]` from the tree, whose path from
    /// the root `path` holds, and fixes the tree up, with nodes at index
    /// `dirty` (<= `at`) and below changed in place: no second descent. A
    /// node with two children takes its successor's block, and the
    /// successor's node (without a left child) goes instead.
    fn remove_on_path(&mut self, path: &mut Path, at: usize, dirty: usize) {
        path.len = at + 1;
        let t = path.links[at];
        let (l, r) = (self.n(t).left(), self.n(t).right());
        let dirty = if l != NIL && r != NIL {
            let mut s = r;
            loop {
                path.push(s);
                match self.n(s).left() {
                    NIL => break,
                    next => s = next,
                }
            }
            let (base, size) = (self.n(s).base, self.n(s).size);
            let n = self.nm(t);
            n.base = base;
            n.size = size;
            self.splice_last(path);
            dirty.min(at)
        } else {
            self.splice_last(path);
            match at {
                0 => return,
                _ => dirty.min(at - 1),
            }
        };
        self.fix_up(path, dirty);
    }

    /// Removes the node at the end of `path`, which has at most one child,
    /// by linking its child to its parent, and recycles it; pops it off
    /// `path`. The caller fixes the path up.
    fn splice_last(&mut self, path: &mut Path) {
        let at = path.len - 1;
        let t = path.links[at];
        let n = self.n(t);
        let child = if n.left() == NIL { n.right() } else { n.left() };
        self.relink(path, at, t, child);
        path.len = at;
        self.release_node(t, Kind::Tree);
    }

    /// Points the parent of `path.links[at]` (or the root) at `new` in
    /// place of `old`.
    fn relink(&mut self, path: &Path, at: usize, old: Link, new: Link) {
        if at == 0 {
            self.roots[path.tree as usize] = new;
        } else {
            let p = self.nm(path.links[at - 1]);
            if p.left() == old {
                p.set_left(new);
            } else {
                p.set_right(new);
            }
        }
    }

    /// Recomputes and rebalances the nodes of `path` bottom-up after a change
    /// at or below its end. Nodes at index >= `dirty` may have changed in
    /// place; above them, the pass stops at the first subtree whose height
    /// and annotations come out as before, since nothing above can change.
    fn fix_up(&mut self, path: &Path, dirty: usize) {
        let mut i = path.len;
        // Summary of the subtree just fixed (the child on the path of the
        // next node up) before and after; `quick_ok` once there is one.
        let (mut child_before, mut child_after): (Summary, Summary) = ((0, 0, 0), (0, 0, 0));
        let mut quick_ok = false;
        while i > 0 {
            i -= 1;
            let t = path.links[i];
            let n = self.n(t);
            let before = (n.max_free, n.max_order(), n.height());
            // Only one child's annotations changed, not its height, and the
            // node itself is as before: unless that child held a maximum
            // and lost it, the new maxima follow from the child's new values
            // without reading the sibling (a cache miss in a large tree).
            let (cb, ca) = (child_before, child_after);
            let after = if quick_ok
                && i < dirty
                && cb.2 == ca.2
                && !(cb.0 >= before.0 && ca.0 < before.0)
                && !(cb.1 >= before.1 && ca.1 < before.1)
            {
                let after = (ca.0.max(before.0), ca.1.max(before.1), before.2);
                if after != before {
                    let m = self.nm(t);
                    m.max_free = after.0;
                    m.set_max_order(after.1);
                }
                after
            } else {
                self.recompute(path, i)
            };
            if i <= dirty && after == before {
                break;
            }
            (child_before, child_after, quick_ok) = (before, after, true);
        }
    }

    /// Recomputes node `path.links[i]` from its children, rotating it if it
    /// is out of balance; returns the summary of the subtree now there.
    fn recompute(&mut self, path: &Path, i: usize) -> Summary {
        let t = path.links[i];
        let n = *self.n(t);
        let before = (n.max_free, n.max_order(), n.height());
        let (lf, lo, lh) = self.summary(n.left());
        let (rf, ro, rh) = self.summary(n.right());
        if lh.abs_diff(rh) > 1 {
            let r = self.rebalance(t);
            self.relink(path, i, t, r);
            return self.summary(r);
        }
        // Balanced: recompute from the children just read and store only
        // what changed.
        let (own_free, own_order) = if n.used() { (0, 0) } else { (n.size, block_order(n.base, n.size) + 1) };
        let after = (own_free.max(lf).max(rf), own_order.max(lo).max(ro), 1 + lh.max(rh));
        if after != before {
            let m = self.nm(t);
            m.max_free = after.0;
            m.set_max_order(after.1);
            m.set_height(after.2);
        }
        after
    }

    /// Descends to the node with base `key`, pushing every node visited onto
    /// `path` (the found node last). Returns it (NIL if absent) and the path
    /// indices of the last ancestors where the descent went right and left,
    /// whose nodes are the predecessor and successor of a node without a
    /// child on that side.
    fn descend(&self, key: u64, path: &mut Path) -> (Link, Option<usize>, Option<usize>) {
        let (mut t, mut right_at, mut left_at) = (self.roots[path.tree as usize], None, None);
        while t != NIL {
            path.push(t);
            let n = self.n(t);
            if key < n.base {
                left_at = Some(path.len - 1);
                t = n.left();
            } else if key > n.base {
                right_at = Some(path.len - 1);
                t = n.right();
            } else {
                return (t, right_at, left_at);
            }
        }
        (NIL, right_at, left_at)
    }

    /// Takes node `l` out of `tree` and recycles it.
    fn remove_node(&mut self, tree: Tree, l: Link) {
        let key = self.n(l).base;
        let root = self.roots[tree as usize];
        self.roots[tree as usize] = self.remove_at(root, key).0;
        self.release_node(l, Kind::Tree);
        if tree == Tree::Extents {
            self.extents -= 1;
        }
    }

    /// Removes the node with base `key` (present) from subtree `t`; returns
    /// the new subtree root and whether height or annotations changed.
    fn remove_at(&mut self, t: Link, key: u64) -> (Link, bool) {
        let n = *self.n(t);
        let changed = if key < n.base {
            let (l, changed) = self.remove_at(n.left(), key);
            self.nm(t).set_left(l);
            changed
        } else if key > n.base {
            let (r, changed) = self.remove_at(n.right(), key);
            self.nm(t).set_right(r);
            changed
        } else {
            if n.left() == NIL {
                return (n.right(), true);
            }
            if n.right() == NIL {
                return (n.left(), true);
            }
            let (rest, min) = self.remove_min(n.right());
            let m = self.nm(min);
            m.set_left(n.left());
            m.set_right(rest);
            return (self.rebalance(min), true);
        };
        if changed {
            self.rebalance_tracked(t)
        } else {
            (t, false)
        }
    }

    /// Detaches the leftmost node of `t`; returns (new subtree, detached).
    fn remove_min(&mut self, t: Link) -> (Link, Link) {
        let left = self.n(t).left();
        if left == NIL {
            return (self.n(t).right(), t);
        }
        let (rest, min) = self.remove_min(left);
        self.nm(t).set_left(rest);
        (self.rebalance(t), min)
    }

    /// Recomputes the annotations on the path to the node with base `key`
    /// after that node changed in place (size, state, or a key change that
    /// keeps the address order). Stops at the first ancestor whose values do
    /// not change: every stale node lies on this path.
    fn refresh_path(&mut self, tree: Tree, key: u64) {
        let mut path = [NIL; ITER_STACK];
        let mut depth = 0;
        let mut t = self.roots[tree as usize];
        while t != NIL {
            path[depth] = t;
            depth += 1;
            let n = self.n(t);
            if key == n.base {
                break;
            }
            t = if key < n.base { n.left() } else { n.right() };
        }
        let mut target = true;
        while depth > 0 {
            depth -= 1;
            let changed = self.update(path[depth]);
            if !changed && !target {
                break;
            }
            target = false;
        }
    }

    /// Recomputes height and annotations of `t` from its children; returns
    /// whether they changed.
    fn update(&mut self, t: Link) -> bool {
        let n = *self.n(t);
        let (lf, lo, lh) = self.summary(n.left());
        let (rf, ro, rh) = self.summary(n.right());
        let (own_free, own_order) = if n.used() { (0, 0) } else { (n.size, block_order(n.base, n.size) + 1) };
        let h = 1 + lh.max(rh);
        let mf = own_free.max(lf).max(rf);
        let mo = own_order.max(lo).max(ro);
        let m = self.nm(t);
        let changed = m.height() != h || m.max_free != mf || m.max_order() != mo;
        m.set_height(h);
        m.max_free = mf;
        m.set_max_order(mo);
        changed
    }

    fn summary(&self, l: Link) -> Summary {
        if l == NIL {
            (0, 0, 0)
        } else {
            let n = self.n(l);
            (n.max_free, n.max_order(), n.height())
        }
    }

    fn rotate_right(&mut self, t: Link) -> Link {
        let l = self.n(t).left();
        let lr = self.n(l).right();
        self.nm(t).set_left(lr);
        self.nm(l).set_right(t);
        self.update(t);
        self.update(l);
        l
    }

    fn rotate_left(&mut self, t: Link) -> Link {
        let r = self.n(t).right();
        let rl = self.n(r).left();
        self.nm(t).set_right(rl);
        self.nm(r).set_left(t);
        self.update(t);
        self.update(r);
        r
    }

    fn balance(&self, t: Link) -> i16 {
        let n = self.n(t);
        self.height(n.left()) as i16 - self.height(n.right()) as i16
    }

    /// `rebalance`, reporting whether the subtree's height or annotations
    /// differ from those stored in `t` before.
    fn rebalance_tracked(&mut self, t: Link) -> (Link, bool) {
        let before = {
            let n = self.n(t);
            (n.height(), n.max_free, n.max_order())
        };
        let r = self.rebalance(t);
        let n = self.n(r);
        (r, before != (n.height(), n.max_free, n.max_order()))
    }

    fn rebalance(&mut self, t: Link) -> Link {
        self.update(t);
        let bal = self.balance(t);
        if bal > 1 {
            let l = self.n(t).left();
            if self.balance(l) < 0 {
                let nl = self.rotate_left(l);
                self.nm(t).set_left(nl);
            }
            self.rotate_right(t)
        } else if bal < -1 {
            let r = self.n(t).right();
            if self.balance(r) > 0 {
                let nr = self.rotate_right(r);
                self.nm(t).set_right(nr);
            }
            self.rotate_left(t)
        } else {
            t
        }
    }

    /// Checks subtree `t`, whose nodes must all have the used flag `used`.
    fn check_subtree(&self, t: Link, used: bool) -> Result<(u8, u64, u8), &'static str> {
        if t == NIL {
            return Ok((0, 0, 0));
        }
        let n = self.n(t);
        if n.used() != used {
            return Err("a used block in the free tree, or a free one among the extents");
        }
        let (lh, lf, lo) = self.check_subtree(n.left(), used)?;
        let (rh, rf, ro) = self.check_subtree(n.right(), used)?;
        if n.left() != NIL && self.n(n.left()).base >= n.base {
            return Err("left child not below parent");
        }
        if n.right() != NIL && self.n(n.right()).base <= n.base {
            return Err("right child not above parent");
        }
        if (lh as i16 - rh as i16).abs() > 1 {
            return Err("AVL balance violated");
        }
        let h = 1 + lh.max(rh);
        if n.height() != h {
            return Err("stored height wrong");
        }
        let (own_free, own_order) = if n.used() { (0, 0) } else { (n.size, block_order(n.base, n.size) + 1) };
        let mf = own_free.max(lf).max(rf);
        let mo = own_order.max(lo).max(ro);
        if n.max_free != mf {
            return Err("max_free annotation wrong");
        }
        if n.max_order() != mo {
            return Err("max_order annotation wrong");
        }
        Ok((h, mf, mo))
    }

    /// Extents in address order are disjoint and not adjacent (adjacent
    /// ones are joined); counts them.
    fn check_extents(&self, t: Link, prev_end: &mut Option<u64>, count: &mut usize) -> Result<(), &'static str> {
        if t == NIL {
            return Ok(());
        }
        let n = *self.n(t);
        self.check_extents(n.left(), prev_end, count)?;
        if n.size == 0 || n.base.checked_add(n.size).is_none() {
            return Err("extent empty or wrapping");
        }
        if prev_end.is_some_and(|e| e >= n.base) {
            return Err("extents overlap or touch");
        }
        *prev_end = Some(n.base + n.size);
        *count += 1;
        self.check_extents(n.right(), prev_end, count)
    }
}

#[cfg(any(test, feature = "std"))]
extern crate std;

#[cfg(any(test, feature = "std"))]
impl<const N: usize, const B: usize> RangeAllocator<[Node; N], B> {
    /// An empty allocator on the heap, built without a stack temporary (for
    /// capacities too large for the stack).
    pub fn new_boxed() -> std::boxed::Box<Self> {
        use std::alloc::{alloc_zeroed, handle_alloc_error, Layout};
        let layout = Layout::new::<Self>();
        // SAFETY: every field is an integer, a bool or an array of them, and
        // the all-zero value of each is the empty allocator that `new()`
        // builds (NIL links are 0). The pointer comes from the global
        // allocator with `Self`'s layout, as `Box` requires.
        unsafe {
            let p = alloc_zeroed(layout) as *mut Self;
            if p.is_null() {
                handle_alloc_error(layout);
            }
            std::boxed::Box::from_raw(p)
        }
    }
}

/// Enough for any AVL tree with fewer than 2^32 nodes (height <= 1.44 log2 n + 2).
const ITER_STACK: usize = 64;

/// Links from the root down to one node, for operations that change the
/// tree bottom-up after one descent.
struct Path {
    tree: Tree,
    links: [Link; ITER_STACK],
    len: usize,
}

impl Path {
    fn new(tree: Tree) -> Self {
        Path { tree, links: [NIL; ITER_STACK], len: 0 }
    }

    fn push(&mut self, l: Link) {
        self.links[self.len] = l;
        self.len += 1;
    }

    /// The deepest node (NIL if empty).
    fn last(&self) -> Link {
        match self.len {
            0 => NIL,
            n => self.links[n - 1],
        }
    }

    fn clear(&mut self) {
        self.len = 0;
    }
}

/// In-order iterator over the blocks of a [`RangeAllocator`]: through each
/// extent, the free block or else the used block starting where the last
/// one ended.
pub struct Iter<'a, S, const B: usize> {
    alloc: &'a RangeAllocator<S, B>,
    /// Where the next block starts, inside the extent ending at `extent_end`
    /// (at its end: the next extent).
    at: u64,
    extent_end: u64,
    done: bool,
    /// A managed address was in no block, or a block left its extent (only
    /// if the invariants are broken; `check_invariants` reports it).
    broken: bool,
}

impl<S: Slab<Node>, const B: usize> Iterator for Iter<'_, S, B> {
    type Item = Block;

    fn next(&mut self) -> Option<Block> {
        if self.done {
            return None;
        }
        let a = self.alloc;
        if self.at == self.extent_end {
            let e = a.first_ending_after(Tree::Extents, self.at);
            if e == NIL {
                self.done = true;
                return None;
            }
            let ext = a.block(e);
            (self.at, self.extent_end) = (ext.base, ext.end());
        }
        let f = a.find_containing(Tree::Free, self.at);
        let t = if f != NIL && a.n(f).base == self.at { f } else { a.used_find(self.at).0 };
        if t == NIL || a.block(t).end() > self.extent_end {
            (self.done, self.broken) = (true, true);
            return None;
        }
        let b = a.block(t);
        self.at = b.end();
        Some(b)
    }
}

#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
