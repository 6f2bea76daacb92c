//! Range allocator churn benchmark: fill to `n` live ranges, then alternate
//! freeing a random live range and allocating a random size, timing each
//! operation. The same seeded trace drives our AVL allocator and crates.io
//! peers: `range-alloc` (best fit over a sorted vector), `buddy_system_allocator`
//! (buddy free lists) and a `BTreeMap` first fit written here.
//!
//! Requests are naturally aligned powers of two, 1 to 64 units (what core
//! asks for), in an address space of 32n to 64n units. The `fragmented`
//! variant first fills to 2n and frees every other range by address, so the
//! churn runs among about n free holes.
//!
//! A second group measures the cost bound of aligned search: `k` free
//! blocks that are near misses for a request (long enough, but not at the
//! alignment), and one failing request that must rule them all out. A
//! naturally aligned request (`size == align`) prunes them through the
//! subtree annotations (O(log n)); other requests check each near miss
//! (O(k log n)), see the module doc of `range_allocator`.
//!
//! Fairness: every subject replays the same seeded trace and does the same
//! work per operation. Peers that do not record the size of a used range
//! (`range-alloc`, the buddy allocator, the `BTreeMap`) get it passed back
//! on free from the trace's live list; ours looks it up itself.
//!
//! Run: `cargo bench -p sel4-core --features std --bench range_allocator`
//! (the summary at the end gives ns/op per allocator and size, the growth
//! from the smallest to the largest size, and which peers ours beats).
//!
//! Fixed-count mode, for deterministic instruction and cache-miss counts
//! under `valgrind --tool=callgrind --cache-sim=yes
//! --toggle-collect='*run_ops*'`: with `RANGE_ALLOCATOR_FIXED_OPS=<ops>`
//! set, the binary skips criterion, fills every selected churn subject and
//! runs exactly `<ops>` operations (`run_ops`) on it; the first positional
//! argument filters subjects as a substring of
//! `<group>/<allocator>/<live>` (a trailing `$` anchors it at the end).

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::hint::black_box;
use std::time::{Duration, Instant};

use criterion::{BenchmarkId, Criterion};
use sel4_core::range_allocator::ArrayRangeAllocator;

const LIVE: [usize; 4] = [1_000, 10_000, 100_000, 1_000_000];
/// Nodes for 10^6 live ranges and the free gaps between them.
const NODES: usize = 1 << 21;
const MAX_ORDER: u64 = 6;

/// An allocator under test.
trait Subject {
    const NAME: &'static str;
    fn new(space: u64) -> Self;
    fn alloc(&mut self, size: u64, align_log2: u8) -> Option<u64>;
    fn free(&mut self, addr: u64, size: u64);
}

struct Ours(Box<ArrayRangeAllocator<NODES>>);

impl Subject for Ours {
    const NAME: &'static str = "avl (ours)";
    fn new(space: u64) -> Self {
        let mut a = ArrayRangeAllocator::new_boxed();
        a.add_range(0, space).unwrap();
        Ours(a)
    }
    fn alloc(&mut self, size: u64, align_log2: u8) -> Option<u64> {
        self.0.alloc(size, align_log2, None).ok()
    }
    fn free(&mut self, addr: u64, _size: u64) {
        self.0.free(addr).unwrap();
    }
}

struct RangeAlloc(range_alloc::RangeAllocator<u64>);

impl Subject for RangeAlloc {
    const NAME: &'static str = "range-alloc";
    fn new(space: u64) -> Self {
        RangeAlloc(range_alloc::RangeAllocator::new(0..space))
    }
    fn alloc(&mut self, size: u64, align_log2: u8) -> Option<u64> {
        self.0.allocate_range_aligned(size, 1 << align_log2).ok().map(|r| r.start)
    }
    fn free(&mut self, addr: u64, size: u64) {
        self.0.free_range(addr..addr + size);
    }
}

struct Buddy(buddy_system_allocator::FrameAllocator<40>);

impl Subject for Buddy {
    const NAME: &'static str = "buddy_system_allocator";
    fn new(space: u64) -> Self {
        let mut b = buddy_system_allocator::FrameAllocator::new();
        b.add_frame(0, space as usize);
        Buddy(b)
    }
    fn alloc(&mut self, size: u64, _align_log2: u8) -> Option<u64> {
        // buddy blocks of 2^k are 2^k-aligned by construction
        self.0.alloc(size as usize).map(|a| a as u64)
    }
    fn free(&mut self, addr: u64, size: u64) {
        self.0.dealloc(addr as usize, size as usize);
    }
}

/// First fit in address order over a map of free blocks (base -> size).
struct BTreeFirstFit(BTreeMap<u64, u64>);

impl Subject for BTreeFirstFit {
    const NAME: &'static str = "btreemap first fit";
    fn new(space: u64) -> Self {
        BTreeFirstFit(BTreeMap::from([(0, space)]))
    }
    fn alloc(&mut self, size: u64, align_log2: u8) -> Option<u64> {
        let mask = (1u64 << align_log2) - 1;
        let (base, len, x) = self.0.iter().find_map(|(&b, &l)| {
            let x = (b + mask) & !mask;
            (x + size <= b + l).then_some((b, l, x))
        })?;
        self.0.remove(&base);
        if x > base {
            self.0.insert(base, x - base);
        }
        if x + size < base + len {
            self.0.insert(x + size, base + len - x - size);
        }
        Some(x)
    }
    fn free(&mut self, addr: u64, size: u64) {
        let mut len = size;
        if let Some(next) = self.0.remove(&(addr + size)) {
            len += next;
        }
        if let Some((&pb, pl)) = self.0.range_mut(..addr).next_back() {
            if pb + *pl == addr {
                *pl += len;
                return;
            }
        }
        self.0.insert(addr, len);
    }
}

/// splitmix64: a small seeded generator so every subject sees the same trace.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
}

/// A subject kept at `n` live ranges; each `op` alternates free and alloc.
struct Churn<S> {
    subject: S,
    live: Vec<(u64, u64)>,
    rng: Rng,
    free_next: bool,
    failed: u64,
    ops: u64,
    nanos: u128,
}

impl<S: Subject> Churn<S> {
    /// `n` live ranges; `fragmented`: fill to 2n, then free every other
    /// range in address order, leaving about n free holes that cannot merge.
    fn filled(n: usize, fragmented: bool) -> (Self, Duration) {
        let target = if fragmented { 2 * n } else { n };
        let space = (target as u64 * 32).next_power_of_two();
        let mut c = Churn {
            subject: S::new(space),
            live: Vec::with_capacity(n),
            rng: Rng(0x5eed),
            free_next: true,
            failed: 0,
            ops: 0,
            nanos: 0,
        };
        let start = Instant::now();
        while c.live.len() < target {
            c.alloc_one();
        }
        if fragmented {
            // ascending, so list-based peers insert near their end
            c.live.sort_unstable();
            let all = std::mem::take(&mut c.live);
            for (i, (a, size)) in all.into_iter().enumerate() {
                if i % 2 == 0 {
                    c.subject.free(a, size);
                } else {
                    c.live.push((a, size));
                }
            }
        }
        (c, start.elapsed())
    }

    fn alloc_one(&mut self) {
        let k = (self.rng.next() % (MAX_ORDER + 1)) as u8;
        match self.subject.alloc(1 << k, k) {
            Some(a) => self.live.push((a, 1 << k)),
            None => self.failed += 1,
        }
    }

    fn op(&mut self) {
        if self.free_next && !self.live.is_empty() {
            let i = (self.rng.next() % self.live.len() as u64) as usize;
            let (a, s) = self.live.swap_remove(i);
            self.subject.free(a, s);
        } else {
            self.alloc_one();
        }
        self.free_next = !self.free_next;
    }
}

/// `ops` churn operations; not inlined so callgrind can count exactly
/// these (`--toggle-collect='*run_ops*'`).
#[inline(never)]
fn run_ops<S: Subject>(c: &mut Churn<S>, ops: u64) {
    for _ in 0..ops {
        c.op();
    }
    black_box(&c.live);
}

struct Row {
    trace: &'static str,
    subject: &'static str,
    live: usize,
    fill: Duration,
    ns_per_op: f64,
    ops: u64,
    failed: u64,
}

/// Whether the command line's filter (criterion's first positional
/// argument) may select `id`; a substring test, so fills of benchmarks that
/// will not run are skipped.
fn selected(id: &str) -> bool {
    match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(filter) => id.contains(&filter),
        None => true,
    }
}

/// `selected`, where a filter ending in `$` must end the id (so
/// `.../1000$` picks 1000 live ranges, not 10000).
fn selected_exactly(id: &str) -> bool {
    match std::env::args().skip(1).find(|a| !a.starts_with('-')) {
        Some(filter) => match filter.strip_suffix('$') {
            Some(tail) => id.ends_with(tail),
            None => id.contains(&filter),
        },
        None => true,
    }
}

/// Churn after a plain fill, at every size in `LIVE`.
const PLAIN: (&str, &[usize], bool) = ("range_allocator_churn", &LIVE, false);
/// Churn among about n holes; smaller sizes, as list-based peers are O(n)
/// per operation there.
const FRAGMENTED: (&str, &[usize], bool) = ("range_allocator_churn_fragmented", &[1_000, 10_000, 100_000], true);

fn bench_subject<S: Subject>(
    c: &mut Criterion,
    rows: &mut Vec<Row>,
    (group_name, sizes, fragmented): (&'static str, &[usize], bool),
) {
    let mut group = c.benchmark_group(group_name);
    for &n in sizes {
        // Fill before criterion's warm-up (its estimate uses wall time);
        // a filter that is no substring of the id fills on first use.
        let id = format!("{group_name}/{}/{}", S::NAME, n);
        let state: RefCell<Option<(Churn<S>, Duration)>> =
            RefCell::new(selected(&id).then(|| Churn::<S>::filled(n, fragmented)));
        group.bench_with_input(BenchmarkId::new(S::NAME, n), &n, |b, &n| {
            b.iter_custom(|iters| {
                let mut guard = state.borrow_mut();
                let (c, _) = guard.get_or_insert_with(|| Churn::<S>::filled(n, fragmented));
                let start = Instant::now();
                run_ops(c, iters);
                let t = start.elapsed();
                c.ops += iters;
                c.nanos += t.as_nanos();
                t
            })
        });
        if let Some((c, fill)) = state.into_inner() {
            if c.ops > 0 {
                rows.push(Row {
                    trace: if fragmented { "fragmented" } else { "plain" },
                    subject: S::NAME,
                    live: n,
                    fill,
                    ns_per_op: c.nanos as f64 / c.ops as f64,
                    ops: c.ops,
                    failed: c.failed,
                });
            }
        }
    }
    group.finish();
}

fn bench_near_miss(c: &mut Criterion) {
    let mut group = c.benchmark_group("range_allocator_near_miss");
    for k in [1_000u64, 10_000, 100_000] {
        let mut a = ArrayRangeAllocator::<NODES>::new_boxed();
        // [0x80, 0x180) in every 4 KiB page: holds no 0x100-aligned 0x100
        // block, and no 0xc0 block at 0x100 alignment either.
        for i in 0..k {
            a.add_range(i * 0x1000 + 0x80, 0x100).unwrap();
        }
        for (name, size) in [("natural 0x100@2^8", 0x100u64), ("unnatural 0xc0@2^8", 0xc0)] {
            group.bench_with_input(BenchmarkId::new(name, k), &k, |b, _| {
                b.iter(|| assert!(a.alloc(black_box(size), 8, None).is_err()))
            });
        }
    }
    group.finish();
}

/// Fixed-count mode (see the module doc): fill and run `ops` operations on
/// each selected churn subject, printing wall ns/op.
fn fixed_ops<S: Subject>((group_name, sizes, fragmented): (&str, &[usize], bool), ops: u64) {
    for &n in sizes {
        let id = format!("{group_name}/{}/{}", S::NAME, n);
        if !selected_exactly(&id) {
            continue;
        }
        let (mut c, fill) = Churn::<S>::filled(n, fragmented);
        let start = Instant::now();
        run_ops(&mut c, ops);
        let t = start.elapsed();
        println!(
            "{id}: fill {:.1} ms, {ops} ops, {:.1} ns/op, {} failed allocs",
            fill.as_secs_f64() * 1e3,
            t.as_nanos() as f64 / ops as f64,
            c.failed
        );
    }
}

/// Prints, per trace, ns/op of every allocator at every size, the growth
/// from the smallest to the largest size, and the targets: ours within 3x
/// from the smallest to the largest size, and faster than each peer.
fn print_summary(rows: &[Row]) {
    for trace in ["plain", "fragmented"] {
        let rows: Vec<&Row> = rows.iter().filter(|r| r.trace == trace).collect();
        let mut sizes: Vec<usize> = rows.iter().map(|r| r.live).collect();
        sizes.sort_unstable();
        sizes.dedup();
        let mut subjects: Vec<&str> = Vec::new();
        for r in &rows {
            if !subjects.contains(&r.subject) {
                subjects.push(r.subject);
            }
        }
        if sizes.is_empty() {
            continue;
        }
        let ns =
            |subject: &str, n: usize| rows.iter().find(|r| r.subject == subject && r.live == n).map(|r| r.ns_per_op);
        let (small, large) = (sizes[0], sizes[sizes.len() - 1]);
        println!();
        println!("summary, {trace} churn: ns/op by live ranges (lower is better)");
        print!("{:<24}", "allocator");
        for n in &sizes {
            print!(" {:>10}", n);
        }
        println!(" {:>12}", format!("{large}/{small}"));
        for s in &subjects {
            print!("{:<24}", s);
            for &n in &sizes {
                match ns(s, n) {
                    Some(v) => print!(" {:>10.1}", v),
                    None => print!(" {:>10}", "-"),
                }
            }
            match (ns(s, small), ns(s, large)) {
                (Some(a), Some(b)) if sizes.len() > 1 => println!(" {:>12.2}", b / a),
                _ => println!(" {:>12}", "-"),
            }
        }
        let ours = <Ours as Subject>::NAME;
        if let (Some(a), Some(b)) = (ns(ours, small), ns(ours, large)) {
            if sizes.len() > 1 {
                let ratio = b / a;
                println!(
                    "target: growth from {small} to {large} at most 3x: {ratio:.2}x, {}",
                    if ratio <= 3.0 { "met" } else { "not met" }
                );
            }
        }
        for s in subjects.iter().filter(|&&s| s != ours) {
            let (mut won, mut lost) = (Vec::new(), Vec::new());
            for &n in &sizes {
                if let (Some(o), Some(p)) = (ns(ours, n), ns(s, n)) {
                    if o < p { &mut won } else { &mut lost }.push(n.to_string());
                }
            }
            println!(
                "target faster than {s}: {} (faster at [{}], not at [{}])",
                if lost.is_empty() && !won.is_empty() { "met" } else { "not met" },
                won.join(", "),
                lost.join(", ")
            );
        }
    }
}

fn main() {
    if let Ok(ops) = std::env::var("RANGE_ALLOCATOR_FIXED_OPS") {
        let ops: u64 = ops.parse().expect("RANGE_ALLOCATOR_FIXED_OPS: an operation count");
        for trace in [PLAIN, FRAGMENTED] {
            fixed_ops::<Ours>(trace, ops);
            fixed_ops::<BTreeFirstFit>(trace, ops);
            fixed_ops::<Buddy>(trace, ops);
            fixed_ops::<RangeAlloc>(trace, ops);
        }
        return;
    }
    let mut c = Criterion::default()
        .sample_size(10)
        .warm_up_time(Duration::from_millis(300))
        .measurement_time(Duration::from_secs(1))
        .configure_from_args();
    let mut rows = Vec::new();
    for trace in [PLAIN, FRAGMENTED] {
        bench_subject::<Ours>(&mut c, &mut rows, trace);
        bench_subject::<BTreeFirstFit>(&mut c, &mut rows, trace);
        bench_subject::<Buddy>(&mut c, &mut rows, trace);
        bench_subject::<RangeAlloc>(&mut c, &mut rows, trace);
    }
    bench_near_miss(&mut c);
    c.final_summary();

    println!();
    println!("churn: alternate free(random live) / alloc(2^k units, 2^k-aligned, k uniform in 0..={MAX_ORDER}); seed 0x5eed; same trace for every allocator");
    println!("plain: fill to n live in 32n..64n units; fragmented: fill to 2n in 64n..128n units, free every other range by address");
    println!("ns/op = mean over every operation criterion timed (its warm-up and samples, one process run; fill not timed); wall time on a shared machine, expect noise");
    println!(
        "{:<11} {:<24} {:>9} {:>10} {:>12} {:>10} {:>12}",
        "trace", "allocator", "live", "ns/op", "ops timed", "fill ms", "failed allocs"
    );
    for r in &rows {
        println!(
            "{:<11} {:<24} {:>9} {:>10.1} {:>12} {:>10.1} {:>12}",
            r.trace,
            r.subject,
            r.live,
            r.ns_per_op,
            r.ops,
            r.fill.as_secs_f64() * 1e3,
            r.failed
        );
    }
    print_summary(&rows);
}
