//! timer: a driver outside core. It programs the PIT (channel 0, rate generator) through the
//! I/O ports its description grants (0x40-0x43) to interrupt every millisecond, counts the
//! interrupts core delivers as signals of its granted IRQ (ISA IRQ 0, IOAPIC pin 2), and
//! serves `now()` and `sleep(ms)` to its clients' call channels, signalling each sleeper's
//! channel when its deadline passes. Asked to crash, it takes a page fault; asked to stop
//! acking, core's watchdog takes it for hung. Either way core restarts it (its policy) with the
//! same interrupt, acked by core, and it wakes every client (their sleeps were lost with the
//! old instance). It ends once every client said `Bye`.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use sel4_runtime::channel::{self, Channel, Handler, Message};
use sel4_runtime::device::{IoPorts, Irq};
use sel4_runtime::{declare_main, println, restarts};
use timer::Request;

declare_main!(main);

struct Timer {
    irq: Irq,
    ms: u64,
    /// Each sleeper's channel and deadline.
    sleepers: BTreeMap<u8, u64>,
    clients: BTreeMap<u8, Channel>,
    /// Clients that said `Bye`.
    gone: usize,
    /// Fault at the next tick, before its ack.
    crash_in_irq: bool,
    /// Ack no more ticks.
    stop_acking: bool,
}

/// The fault a crash request asks for. The address lies in the first page, which the loader
/// never maps.
fn fault(ms: u64) -> ! {
    // SAFETY: none needed: the write faults and never completes.
    unsafe { core::ptr::write_volatile(core::ptr::without_provenance_mut::<u64>(0x10), ms) };
    unreachable!("the write above faults")
}

impl Handler for Timer {
    fn notified(&mut self, id: u8) {
        if id != self.irq.id() {
            return;
        }
        self.ms += 1;
        if self.crash_in_irq {
            println!("timer: faulting in the interrupt handler at {} ms, before the ack", self.ms);
            fault(self.ms);
        }
        if !self.stop_acking {
            let _ = self.irq.ack();
        }
        let due: Vec<u8> = self.sleepers.iter().filter(|(_, &d)| d <= self.ms).map(|(&c, _)| c).collect();
        for c in due {
            self.sleepers.remove(&c);
            if let Some(ch) = self.clients.get(&c) {
                let _ = ch.notify();
            }
        }
    }

    fn called(&mut self, channel: u8, message: &Message) -> Result<Message, Option<u64>> {
        let words = message.short_words().ok_or(None)?;
        match Request::decode(message.label, words).ok_or(None)? {
            Request::Now => Ok(Message::short(0, [self.ms, restarts(), 0, 0], 2)),
            Request::Sleep { ms } => {
                let deadline = self.ms.saturating_add(ms.max(1));
                self.sleepers.insert(channel, deadline);
                Ok(Message::short(0, [deadline, 0, 0, 0], 1))
            }
            Request::Bye => {
                self.gone += 1;
                Ok(Message::short(0, [0; 4], 0))
            }
            Request::Crash => {
                println!("timer: asked to crash at {} ms", self.ms);
                fault(self.ms)
            }
            Request::CrashInIrq => {
                self.crash_in_irq = true;
                Ok(Message::short(0, [0; 4], 0))
            }
            Request::StopAcking => {
                println!("timer: acking no more interrupts from {} ms on", self.ms);
                self.stop_acking = true;
                Ok(Message::short(0, [0; 4], 0))
            }
        }
    }

    fn done(&self) -> bool {
        self.gone == self.clients.len()
    }
}

fn main(_index: usize) -> Result<(), &'static str> {
    let ports = IoPorts::open(0).map_err(|_| "no I/O ports granted")?;
    let irq = Irq::open(0).map_err(|_| "no interrupt granted as id 0")?;
    let div = timer::divisor(timer::TICK_HZ);
    // Channel 0, low then high byte, mode 2 (rate generator), binary.
    let programmed = ports
        .out8(0x43, 0x34)
        .and_then(|_| ports.out8(0x40, div as u8))
        .and_then(|_| ports.out8(0x40, (div >> 8) as u8));
    programmed.map_err(|_| "the PIT's ports refused a write")?;
    let clients: BTreeMap<u8, Channel> =
        Channel::all().into_iter().filter(Channel::serves).map(|c| (c.id(), c)).collect();
    println!(
        "timer: PIT at {} Hz (divisor {div}) on ports {:#x}-{:#x}, interrupt id {}, {} clients, generation {}",
        timer::TICK_HZ,
        ports.first,
        ports.last,
        irq.id(),
        clients.len(),
        restarts()
    );
    if restarts() > 0 {
        // The previous instance's sleepers are lost with it: wake every client to look again.
        for c in clients.values() {
            let _ = c.notify();
        }
    }
    let mut t =
        Timer { irq, ms: 0, sleepers: BTreeMap::new(), clients, gone: 0, crash_in_irq: false, stop_acking: false };
    channel::serve(&mut t);
    println!("timer: every client said bye at {} ms", t.ms);
    Ok(())
}
