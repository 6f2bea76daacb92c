//! heap-stress: threads share the service's heap. The main thread starts `THREADS` threads
//! (`sel4_runtime::thread::spawn`, their stacks on the heap) at its own priority; each, seeded
//! by its number, allocates blocks of random sizes from 16 bytes to 4 MiB (sizes spread evenly
//! over their logarithm), fills each with words only that block has, keeps up to `LIVE_BYTES`
//! of them, and frees them in random order, checking every word of a block before it frees it.
//! The threads run preempted by the kernel's timer, so they allocate and free at once (the
//! service counts how many were between their first and last allocation at the same time, and
//! fails if never more than one). Then the main thread joins them and checks that the heap
//! holds no byte more than before they started. Exits 0 only if every block read back what was
//! written and nothing was left.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;
use core::sync::atomic::{AtomicU64, Ordering};

use sel4_core_protocol::{SessionError, TcbSession};
use sel4_runtime::thread::{self, JoinHandle};
use sel4_runtime::{declare_main, heap, println, Core};

declare_main!(main);

const THREADS: u64 = 6;
/// Blocks each thread allocates.
const BLOCKS: u64 = 160;
/// The most a thread keeps allocated at once.
const LIVE_BYTES: usize = 8 << 20;
/// The service's priority in its scenario: its threads get the same, so the heap's lock
/// (which waits by yielding) lets a preempted holder run.
const PRIO: u8 = 100;

/// Words that did not read back, over all threads.
static BAD_WORDS: AtomicU64 = AtomicU64::new(0);
/// Bytes allocated over all threads.
static ALLOCATED: AtomicU64 = AtomicU64::new(0);
/// Threads between their first and last allocation now, and the most there were at once.
static ACTIVE: AtomicU64 = AtomicU64::new(0);
static MOST_ACTIVE: AtomicU64 = AtomicU64::new(0);

struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// A size from 16 bytes to 4 MiB, even over log2.
    fn size(&mut self) -> usize {
        let bits = 4 + self.next() % 19;
        let base = 1usize << bits;
        (base + (self.next() as usize & (base - 1))).min(4 << 20)
    }
}

/// The word at index `i` of a block tagged `tag`.
fn word(tag: u64, i: usize) -> u64 {
    tag.rotate_left(i as u32 % 64) ^ i as u64
}

/// A block and its tag.
struct Block {
    words: Vec<u64>,
    tag: u64,
}

impl Block {
    fn new(bytes: usize, tag: u64) -> Block {
        let words = (0..bytes.div_ceil(8)).map(|i| word(tag, i)).collect();
        Block { words, tag }
    }

    /// Words that do not read what was written.
    fn bad_words(&self) -> u64 {
        self.words.iter().enumerate().filter(|(i, w)| **w != word(self.tag, *i)).count() as u64
    }

    fn bytes(&self) -> usize {
        self.words.len() * 8
    }
}

fn work(n: u64) {
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15 ^ (n + 1).wrapping_mul(0xff51_afd7_ed55_8ccd));
    let mut live: Vec<Block> = Vec::new();
    let mut held = 0;
    let mut bad = 0;
    let active = ACTIVE.fetch_add(1, Ordering::SeqCst) + 1;
    MOST_ACTIVE.fetch_max(active, Ordering::SeqCst);
    let free_one = |live: &mut Vec<Block>, held: &mut usize, rng: &mut Rng| {
        let b = live.swap_remove(rng.next() as usize % live.len());
        *held -= b.bytes();
        b.bad_words()
    };
    for _ in 0..BLOCKS {
        let size = rng.size();
        while !live.is_empty() && (held + size > LIVE_BYTES || rng.next().is_multiple_of(3)) {
            bad += free_one(&mut live, &mut held, &mut rng);
        }
        let b = Block::new(size, rng.next());
        held += b.bytes();
        ALLOCATED.fetch_add(b.bytes() as u64, Ordering::Relaxed);
        live.push(b);
    }
    while !live.is_empty() {
        bad += free_one(&mut live, &mut held, &mut rng);
    }
    BAD_WORDS.fetch_add(bad, Ordering::Relaxed);
    ACTIVE.fetch_sub(1, Ordering::SeqCst);
}

fn main(_: usize) -> Result<(), &'static str> {
    let t = &mut Core;
    let threads = TcbSession::open(t, 256 << 10, 32).map_err(|_| "cannot open a TCB session")?;
    let before = heap::stats();
    println!("heap-stress: {THREADS} threads, {BLOCKS} blocks each of 16 bytes to 4 MiB, at most {LIVE_BYTES} bytes live per thread");
    let started: Result<Vec<JoinHandle>, SessionError> =
        (0..THREADS).map(|n| thread::spawn(threads, PRIO, move || work(n))).collect();
    let started = started.map_err(|_| "cannot start the threads")?;
    for h in started {
        h.join().map_err(|_| "cannot destroy a thread")?;
    }
    threads.close(t).map_err(|_| "cannot close the TCB session")?;
    let after = heap::stats();
    let bad = BAD_WORDS.load(Ordering::Relaxed);
    println!(
        "heap-stress: {} bytes allocated in all; heap grew to {} bytes in {} dataspaces of its {} byte setting",
        ALLOCATED.load(Ordering::Relaxed),
        after.held,
        after.grown,
        after.limit
    );
    // Preempted by the timer, threads overlap: more than one was between its first and last
    // allocation at once.
    println!("heap-stress: up to {} threads allocating at once", MOST_ACTIVE.load(Ordering::SeqCst));
    println!(
        "heap-stress: {bad} words read back wrong; {} bytes in use before the threads, {} after",
        before.allocated, after.allocated
    );
    if bad != 0 {
        return Err("data corrupted");
    }
    if MOST_ACTIVE.load(Ordering::SeqCst) < 2 {
        return Err("the threads never overlapped, so the heap's lock was not tested");
    }
    if after.allocated != before.allocated {
        return Err("the threads left bytes allocated");
    }
    println!("heap-stress: every block intact, nothing left");
    Ok(())
}
