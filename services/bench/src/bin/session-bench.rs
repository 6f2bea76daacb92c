//! session-bench: times RAM session round trips as a client sees them, `bench::ROUNDS` of each
//! after as many to warm up, and prints `bench: session <op> <cycles> cycles per op`:
//! - `null`: a usage request (no work: core looks up the session and answers);
//! - `alloc+free`: a 4 KiB dataspace allocated and freed (two requests);
//! - `alloc+caps+free`: the same with its frame cap handed over in between (three);
//! - `alloc+map+free`: the same mapped in between (three; the page table stays after the first);
//! - `open+close`: a RAM session opened and closed (two requests, no kernel work; core prints
//!   a line for each session closed, which the figure includes);
//! - `cnode create+destroy`: a CNode of 2^4 slots made in this service's CSpace and destroyed;
//! - `tcb create+setup+start+stop+destroy`: a thread made, set up, started, stopped and
//!   destroyed (five requests; it has a lower priority than this service's, so it never runs
//!   while this one loops);
//! - `log line 80`: a `println!` of 80 bytes (with its newline) through the log buffer (one
//!   request), and `log line 80 inline` the same line as inline log requests of 24 bytes (four),
//!   `LOG_ROUNDS` of each: core prints every one.
//!
//! Dataspaces of other sizes are `size-bench`'s, a child of its own, so that core's per-request
//! work printed for this one is of these requests alone.
#![no_std]
#![no_main]

use bench::ROUNDS;
use sel4_core_protocol::session::AllocOptions;
use sel4_core_protocol::{CnodeSession, RamSession, SessionError, TcbSession};
use sel4_runtime::{declare_main, println, Core};

declare_main!(main);

const VADDR: u64 = 0x1000_0000;
const CAP_SLOT: u64 = 32;
/// The priority of the threads made: below this service's own (100 in the scenario).
const THREAD_PRIO: u8 = 1;
const STACK_WORDS: usize = 256;
/// The threads' stack (16-byte words, its alignment); they never run while the bench loops.
static mut STACK: [u128; STACK_WORDS] = [0; STACK_WORDS];

sel4_runtime::thread_entry!(session_bench_thread_entry => idle);

/// The threads' code, should one ever run: nothing, for ever.
extern "C" fn idle(_: u64) -> ! {
    loop {
        sel4::syscalls::yield_now();
    }
}

/// Cycles per call of `op`, after as many calls to warm up.
fn time(op: impl FnMut() -> Result<(), SessionError>) -> Result<u64, SessionError> {
    bench::time(ROUNDS, op)
}

fn main(_: usize) -> Result<(), SessionError> {
    let t = &mut Core;
    let ram = RamSession::open(t, 1 << 20, 64)?;
    let page = AllocOptions::default();
    let null = time(|| ram.usage(&mut Core).map(|_| ()))?;
    println!("bench: session null {null} cycles per op");
    let alloc_free = time(|| {
        let d = ram.alloc(&mut Core, 4096, page)?;
        ram.free(&mut Core, d)
    })?;
    println!("bench: session alloc+free {alloc_free} cycles per op");
    let with_caps = time(|| {
        let d = ram.alloc(&mut Core, 4096, page)?;
        ram.caps(&mut Core, d, CAP_SLOT)?;
        ram.free(&mut Core, d)
    })?;
    println!("bench: session alloc+caps+free {with_caps} cycles per op");
    let mapped = time(|| {
        let d = ram.alloc(&mut Core, 4096, page)?;
        ram.map(&mut Core, d, VADDR)?;
        ram.free(&mut Core, d)
    })?;
    println!("bench: session alloc+map+free {mapped} cycles per op");
    ram.close(t)?;
    // Core prints a report line per session closed, which costs far more than the requests:
    // fewer rounds, so the log stays short.
    let sessions = bench::time(ROUNDS / 10, || RamSession::open(&mut Core, 1 << 20, 64)?.close(&mut Core))?;
    println!("bench: session open+close {sessions} cycles per op");
    let cnodes = CnodeSession::open(t, 64 << 10, 64)?;
    let cnode = time(|| {
        let c = cnodes.create(&mut Core, 4, CAP_SLOT)?;
        cnodes.destroy(&mut Core, c)
    })?;
    println!("bench: session cnode create+destroy {cnode} cycles per op");
    cnodes.close(t)?;
    let threads = TcbSession::open(t, 64 << 10, 64)?;
    // Only the threads made here use this stack; taking its address reads nothing.
    let top = core::ptr::addr_of_mut!(STACK) as u64 + (STACK_WORDS * 16) as u64;
    let entry = session_bench_thread_entry as *const () as u64;
    let thread = time(|| {
        let th = threads.create(&mut Core, THREAD_PRIO)?;
        threads.setup(&mut Core, th, entry, top, 0)?;
        threads.start(&mut Core, th)?;
        threads.stop(&mut Core, th)?;
        threads.destroy(&mut Core, th)
    })?;
    println!("bench: session tcb create+setup+start+stop+destroy {thread} cycles per op");
    threads.close(t)?;
    let line = bench::LOG_LINE;
    let buffered = bench::time(bench::LOG_ROUNDS, || {
        println!("{line}");
        Ok::<(), SessionError>(())
    })?;
    let inline = bench::time(bench::LOG_ROUNDS, || {
        sel4_runtime::log::inline(format_args!("{line}\n"));
        Ok::<(), SessionError>(())
    })?;
    println!("bench: session log line 80 {buffered} cycles per op");
    println!("bench: session log line 80 inline {inline} cycles per op");
    Ok(())
}
