//! irq-bench: how long an interrupt takes to reach a driver outside core. It programs the PIT
//! like the timer driver (1 kHz, rate generator) on its granted ports and interrupt and, at
//! each wake-up, first latches the PIT's counter: the counter runs down from the divisor since
//! the interrupt, so what it has run down is the time from the interrupt to the driver, in PIT
//! ticks, which the TSC's rate over the whole run turns into cycles (the interrupt goes through
//! core, which signals it on). Beside it, the floor: one `seL4_Signal` to its own notification
//! and the `seL4_Wait` that takes it; what an ack costs (a call to core, which acks the
//! handler); and the sleep accuracy: the TSC cycles of 10 ticks against the PIT's 10 ms.
#![no_std]
#![no_main]

use sel4::{syscalls, CPtr, MessageInfo};
use sel4_core_protocol::abi;
use sel4_runtime::device::{IoPorts, Irq};
use sel4_runtime::{declare_main, println};

declare_main!(main);

const WARM: u64 = 50;
const ROUNDS: u64 = 1000;

fn rdtsc() -> u64 {
    // SAFETY: `rdtsc` reads the time-stamp counter; it has no memory effects.
    unsafe { core::arch::x86_64::_rdtsc() }
}

fn main(_index: usize) -> Result<(), &'static str> {
    let ports = IoPorts::open(0).map_err(|_| "no I/O ports granted")?;
    let irq = Irq::open(0).map_err(|_| "no interrupt granted as id 0")?;
    let div = timer::divisor(timer::TICK_HZ) as u64;
    let out = |p: u16, v: u8| ports.out8(p, v).map_err(|_| "the PIT's ports refused a write");
    out(0x43, 0x34)?;
    out(0x40, div as u8)?;
    out(0x40, (div >> 8) as u8)?;
    let own = CPtr::from_bits(abi::NOTIFICATION);
    let mut elapsed_ticks = 0u64;
    let mut ack_cycles = 0u64;
    let (mut t0, mut ten) = (0, 0);
    for round in 0..WARM + ROUNDS {
        syscalls::recv(own);
        // Latch channel 0's count first thing, then read it low byte first.
        out(0x43, 0x00)?;
        let lo = ports.in8(0x40).map_err(|_| "read")? as u64;
        let hi = ports.in8(0x40).map_err(|_| "read")? as u64;
        let now = rdtsc();
        irq.ack().map_err(|_| "core refused an ack")?;
        let acked = rdtsc();
        if round == WARM {
            t0 = now;
        }
        if round == WARM + 10 {
            ten = now - t0;
        }
        if round > WARM {
            elapsed_ticks += div.saturating_sub(hi << 8 | lo);
            ack_cycles += acked - now;
        }
    }
    let total = rdtsc() - t0;
    // TSC cycles per PIT tick, over the whole run.
    let per_pit_tick = total as f64 / ((ROUNDS - 1) * div) as f64;
    let latency = (elapsed_ticks as f64 / (ROUNDS - 1) as f64 * per_pit_tick) as u64;
    let floor = {
        let t = rdtsc();
        for _ in 0..ROUNDS {
            syscalls::nb_send(own, MessageInfo::new(0, 0, 0, 0), [0; 4]);
            syscalls::recv(own);
        }
        (rdtsc() - t) / ROUNDS
    };
    let expected = (10 * div) as f64 * per_pit_tick;
    println!("bench: irq wake-up {latency} cycles per interrupt (PIT interrupt to the driver's first invocation)");
    println!("bench: irq floor {floor} cycles per round (seL4_Signal to its own notification and the seL4_Wait that takes it)");
    println!("bench: irq ack {} cycles per ack (a call to core, which acks the handler)", ack_cycles / (ROUNDS - 1));
    println!("bench: sleep 10 {ten} cycles for 10 ticks, {:.3} of the PIT's 10 ms", ten as f64 / expected);
    Ok(())
}
