//! channel-ping: the client end of the channel benchmark, timing each phase of `channel-pong`
//! (its documentation) with the TSC after `WARM` untimed round trips, and printing cycles per
//! round trip: the raw call floor (`seL4_Call` against `seL4_ReplyRecv`, one word each way),
//! the raw signal floor (`seL4_Signal` and `seL4_Wait` each way), and the same two through the
//! runtime (`Channel::call`, `Channel::notify` and `channel::wait`).
#![no_std]
#![no_main]

use channel_bench::{ROUNDS, STOP, WARM};
use sel4::{syscalls, CPtr, MessageInfo};
use sel4_core_protocol::abi;
use sel4_runtime::channel::{self, Channel, Message};
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` reads the time-stamp counter; it has no memory effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

/// Cycles per round trip of `round` over the last `ROUNDS` of `WARM + ROUNDS`.
fn timed(mut round: impl FnMut(u64)) -> u64 {
    for i in 0..WARM {
        round(i);
    }
    let t0 = rdtsc();
    for i in 0..ROUNDS {
        round(i);
    }
    (rdtsc() - t0) / ROUNDS
}

fn main(_index: usize) -> Result<(), &'static str> {
    let channel = Channel::open(0).map_err(|_| "no channel 0")?;
    let ep = CPtr::from_bits(abi::call_slot(0));
    let mut bad = 0;
    let call_floor = timed(|i| {
        let r = syscalls::call(ep, MessageInfo::new(0, 0, 0, 1), [i, 0, 0, 0]);
        bad += (r.mrs[0] != i + 1) as u64;
    });
    let (own, peer) = (CPtr::from_bits(abi::NOTIFICATION), CPtr::from_bits(abi::notify_slot(0)));
    let notify_floor = timed(|_| {
        syscalls::nb_send(peer, MessageInfo::new(0, 0, 0, 0), [0; 4]);
        syscalls::recv(own);
    });
    let call = timed(|i| match channel.call(&Message::short(1, [i, 0, 0, 0], 1)) {
        Ok(r) => bad += (r.word(0) != i + 1) as u64,
        Err(_) => bad += 1,
    });
    let notify = timed(|_| {
        let _ = channel.notify();
        channel::wait();
    });
    let _ = channel.call(&Message::short(STOP, [0; 4], 0));
    if bad > 0 {
        println!("channel-bench: {bad} replies were wrong");
        return Err("wrong replies");
    }
    println!("bench: channel call floor {call_floor} cycles per round trip (seL4_Call and seL4_ReplyRecv)");
    println!("bench: channel call {call} cycles per round trip (Channel::call and channel::serve)");
    println!("bench: channel notify floor {notify_floor} cycles per round trip (seL4_Signal and seL4_Wait each way)");
    println!("bench: channel notify {notify} cycles per round trip (Channel::notify, channel::wait and serve)");
    Ok(())
}
