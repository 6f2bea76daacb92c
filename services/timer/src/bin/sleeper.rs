//! sleeper: a client of the timer driver. It sleeps `(index + 1) * 10` ms three times (its
//! index in the system description, so that several sleepers overlap with different
//! deadlines), checking with `now()` that at least that long passed each time; the first
//! sleeper then has the timer crash, and sleeps once more through the restarted driver.
#![no_std]
#![no_main]

use sel4_runtime::channel::{Channel, ChannelError};
use sel4_runtime::{declare_main, println};
use timer::client::{call, sleep};
use timer::Request;

declare_main!(main);

fn main(index: usize) -> Result<(), &'static str> {
    let t = Channel::all().into_iter().find(Channel::calls).ok_or("no call channel to the timer")?;
    let ms = (index as u64 + 1) * 10;
    let mut slept = [0; 3];
    for s in &mut slept {
        *s = sleep(&t, ms).map_err(|_| "a sleep failed")?;
        if *s < ms {
            println!("sleeper: asked for {ms} ms, the timer says {s} passed");
            return Err("woke too early");
        }
    }
    println!(
        "sleeper {index}: slept {ms} ms three times: {} {} {} ms by the timer's clock",
        slept[0], slept[1], slept[2]
    );
    if index == 1 {
        match call(&t, Request::Crash) {
            Err(ChannelError::Restarted) => {}
            other => {
                println!("sleeper: the crash request returned {other:?}");
                return Err("the timer did not restart");
            }
        }
        let [_, generation] = call(&t, Request::Now).map_err(|_| "now() failed after the restart")?;
        let s = sleep(&t, ms).map_err(|_| "a sleep after the restart failed")?;
        if s < ms {
            return Err("woke too early after the restart");
        }
        println!("sleeper {index}: the timer restarted (generation {generation}); slept {ms} ms again: {s} ms");
    }
    call(&t, Request::Bye).map_err(|_| "bye failed")?;
    Ok(())
}
