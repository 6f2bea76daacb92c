//! The service heap's allocator against two others on one trace (ns/op, 10^3 to 10^6 live
//! blocks): talc (the runtime's), `linked_list_allocator` (first fit over one list of free
//! blocks; core's own heap) and `buddy_system_allocator` (power-of-two free lists). Each gets
//! the same arena (host memory, 2 GiB) and replays the same seeded trace: fill to `n` live
//! blocks of 16 bytes to 2 KiB (sizes even over their logarithm, alignment 8 or 16), then
//! alternate freeing a random live block and allocating a random size, timing those
//! operations. An allocator that would take too long at a size is given fewer operations
//! (its figure says how many).
//!
//! Run: `cargo bench -p sel4-runtime --bench heap` (`run bench` runs it and prints its table).

use std::alloc::Layout;
use std::ptr::NonNull;
use std::time::Instant;

const LIVE: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
const ARENA: usize = 2 << 30;
/// Operations timed per size, the most time one allocator may spend on them, and on filling.
const OPS: usize = 200_000;
const BUDGET_SECS: f64 = 5.0;
const FILL_SECS: f64 = 15.0;

trait Subject {
    const NAME: &'static str;
    /// An allocator over `[base, base + size)`.
    unsafe fn new(base: *mut u8, size: usize) -> Self;
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>>;
    unsafe fn free(&mut self, p: NonNull<u8>, layout: Layout);
}

struct Talc(talc::Talc<talc::ErrOnOom>);

impl Subject for Talc {
    const NAME: &'static str = "talc (ours)";
    unsafe fn new(base: *mut u8, size: usize) -> Self {
        let mut t = talc::Talc::new(talc::ErrOnOom);
        // SAFETY: the caller hands over the arena for this allocator alone.
        unsafe { t.claim(talc::Span::from_base_size(base, size)).expect("claim the arena") };
        Talc(t)
    }
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        // SAFETY: layouts of the trace are non-zero in size.
        unsafe { self.0.malloc(layout).ok() }
    }
    unsafe fn free(&mut self, p: NonNull<u8>, layout: Layout) {
        // SAFETY: `p` came from `alloc` with `layout` (the caller's promise).
        unsafe { self.0.free(p, layout) }
    }
}

struct LinkedList(linked_list_allocator::Heap);

impl Subject for LinkedList {
    const NAME: &'static str = "linked_list_allocator";
    unsafe fn new(base: *mut u8, size: usize) -> Self {
        // SAFETY: as for talc.
        LinkedList(unsafe { linked_list_allocator::Heap::new(base, size) })
    }
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.allocate_first_fit(layout).ok()
    }
    unsafe fn free(&mut self, p: NonNull<u8>, layout: Layout) {
        // SAFETY: as for talc.
        unsafe { self.0.deallocate(p, layout) }
    }
}

struct Buddy(buddy_system_allocator::Heap<33>);

impl Subject for Buddy {
    const NAME: &'static str = "buddy_system_allocator";
    unsafe fn new(base: *mut u8, size: usize) -> Self {
        let mut h = buddy_system_allocator::Heap::<33>::new();
        // SAFETY: as for talc.
        unsafe { h.init(base as usize, size) };
        Buddy(h)
    }
    fn alloc(&mut self, layout: Layout) -> Option<NonNull<u8>> {
        self.0.alloc(layout).ok()
    }
    unsafe fn free(&mut self, p: NonNull<u8>, layout: Layout) {
        self.0.dealloc(p, layout)
    }
}

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn layout(&mut self) -> Layout {
        let bits = 4 + self.next() % 7;
        let size = (1usize << bits) + (self.next() as usize & ((1 << bits) - 1));
        let align = if self.next().is_multiple_of(4) { 16 } else { 8 };
        Layout::from_size_align(size, align).unwrap()
    }
}

/// ns per operation of `S` at `n` live blocks, and the operations timed; `None` if filling to
/// `n` alone takes longer than [`FILL_SECS`] (the allocator's work per block grows with the
/// blocks, so the churn would not be measured in reasonable time).
fn churn<S: Subject>(arena: &mut [u8], n: usize) -> Option<(f64, usize)> {
    // SAFETY: the arena is this run's alone and outlives the allocator.
    let mut a = unsafe { S::new(arena.as_mut_ptr(), arena.len()) };
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ n as u64);
    let mut live: Vec<(NonNull<u8>, Layout)> = Vec::with_capacity(n + 1);
    let fill = Instant::now();
    while live.len() < n {
        let l = rng.layout();
        live.push((a.alloc(l).expect("the arena holds the fill"), l));
        if live.len().is_multiple_of(1000) && fill.elapsed().as_secs_f64() > FILL_SECS {
            return None;
        }
    }
    let start = Instant::now();
    let mut ops = 0;
    while ops < OPS {
        let (p, l) = live.swap_remove(rng.next() as usize % live.len());
        // SAFETY: allocated above with `l`, freed once.
        unsafe { a.free(p, l) };
        let l = rng.layout();
        live.push((a.alloc(l).expect("the arena holds the churn"), l));
        ops += 2;
        if ops % 1000 == 0 && start.elapsed().as_secs_f64() > BUDGET_SECS {
            break;
        }
    }
    // The blocks left are not freed: the arena goes with the allocator (freeing 10^6 blocks
    // into a first-fit list would take longer than the benchmark).
    Some((start.elapsed().as_nanos() as f64 / ops as f64, ops))
}

fn main() {
    let mut arena = vec![0u8; ARENA];
    // Touch every page first, so no subject pays for the first touch.
    for page in arena.chunks_mut(4096) {
        page[0] = 1;
    }
    println!("heap allocators, churn at n live blocks of 16 B to 2 KiB (ns/op; operations timed)");
    println!("| live blocks | {} | {} | {} |", Talc::NAME, LinkedList::NAME, Buddy::NAME);
    println!("|---|---|---|---|");
    let cell = |r: Option<(f64, usize)>| match r {
        Some((ns, ops)) => format!("{ns:.0} ({ops})"),
        None => format!("not measured: filling took over {FILL_SECS} s"),
    };
    let mut ours = Vec::new();
    for n in LIVE {
        let t = churn::<Talc>(&mut arena, n);
        let l = churn::<LinkedList>(&mut arena, n);
        let b = churn::<Buddy>(&mut arena, n);
        ours.push(t.map_or(f64::NAN, |t| t.0));
        println!("| {n} | {} | {} | {} |", cell(t), cell(l), cell(b));
    }
    println!(
        "heap: talc growth from {} to {} live blocks: {:.2}x",
        LIVE[0],
        LIVE[LIVE.len() - 1],
        ours[ours.len() - 1] / ours[0]
    );
}
