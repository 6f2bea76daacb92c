//! ack-check: a client of the timer driver that has it stop acking its interrupt, in the
//! `irq-hung` scenario. It sleeps once, asks the driver to ack no more interrupts (the driver
//! goes on serving, but its clock stops: the PIT's interrupt stays masked), and sleeps again:
//! core's watchdog takes the driver for hung once the interrupt is unacked for longer than the
//! grant allows, reclaims it and starts it again (its policy), the interrupt comes again to the
//! new instance, and the sleep ends through it. Exits 0 only if it did.
#![no_std]
#![no_main]

use sel4_runtime::channel::Channel;
use sel4_runtime::{declare_main, println};
use timer::client::{call, sleep};
use timer::Request;

declare_main!(main);

const MS: u64 = 30;

fn main(_index: usize) -> Result<(), &'static str> {
    let t = Channel::all().into_iter().find(Channel::calls).ok_or("no call channel to the timer")?;
    let s = sleep(&t, MS).map_err(|_| "the first sleep failed")?;
    println!("ack-check: slept {MS} ms: {s} ms by the timer's clock");
    call(&t, Request::StopAcking).map_err(|_| "the timer refused to stop acking")?;
    let s = sleep(&t, MS).map_err(|_| "the sleep through the hung timer failed")?;
    let [_, generation] = call(&t, Request::Now).map_err(|_| "now() failed")?;
    if generation == 0 {
        return Err("the sleep ended, but the timer was never restarted");
    }
    println!("ack-check: the timer was restarted (generation {generation}); slept {MS} ms through it: {s} ms");
    call(&t, Request::Bye).map_err(|_| "bye failed")?;
    Ok(())
}
