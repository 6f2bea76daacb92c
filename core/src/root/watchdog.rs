//! The clock of core's interrupt watchdog: the PC's real-time clock (the CMOS RTC) raising its
//! periodic interrupt (ISA IRQ 8, IOAPIC pin 8) [`HZ`] times a second, through the ports no
//! service is granted (`sel4_core_system::WATCHDOG_PORTS`). Core counts its ticks and takes a
//! driver that leaves an interrupt unacked for longer than its grant allows for hung
//! (`server::children`). The clock runs only while some service has an interrupt.
//!
//! The RTC (Motorola MC146818 and its successors in every PC chipset): register A's low four
//! bits select the periodic rate, 32768 Hz >> (rate - 1); register B's bit 6 enables the
//! periodic interrupt; reading register C acknowledges it (the RTC raises no other until then).

use sel4::Word;
use sel4_core_system::WATCHDOG_PORTS;

use crate::kernel::Slot;
use crate::root::interrupt::{CoreIrq, Source};
use crate::root::state::Core;

/// Ticks a second.
pub const HZ: u64 = 16;
/// Register A's rate select for [`HZ`]: 32768 >> (12 - 1) = 16.
const RATE: u8 = 12;
const REG_A: u8 = 0x0a;
const REG_B: u8 = 0x0b;
const REG_C: u8 = 0x0c;
const PERIODIC: u8 = 0x40;

/// The running clock: its interrupt, signalling core's notification.
pub struct Clock {
    irq: CoreIrq,
    /// Ticks since it started.
    pub ticks: u64,
}

/// Why the clock did not start.
#[derive(Debug)]
pub struct NoClock(pub &'static str);

fn select(reg: u8) -> Result<(), sel4::Error> {
    sel4::init_thread::IO_PORT.ioport_out8(WATCHDOG_PORTS.first, reg)
}

fn read(reg: u8) -> Result<u8, sel4::Error> {
    select(reg)?;
    sel4::init_thread::IO_PORT.ioport_in8(WATCHDOG_PORTS.last)
}

fn write(reg: u8, value: u8) -> Result<(), sel4::Error> {
    select(reg)?;
    sel4::init_thread::IO_PORT.ioport_out8(WATCHDOG_PORTS.last, value)
}

impl Clock {
    /// Issues the RTC's interrupt on CPU vector `vector`, signalling core's `notification` with
    /// `badge`, and starts the periodic interrupt.
    pub fn start(core: &mut Core, notification: Slot, badge: Word, vector: u64) -> Result<Clock, NoClock> {
        let (ioapic, pin) = sel4_core_system::WATCHDOG_PIN;
        // ISA: edge-triggered, active high.
        let source = Source { ioapic, pin, level: false, active_low: false };
        let irq = CoreIrq::issue(core, source, vector, notification, badge).map_err(NoClock)?;
        let clock = Clock { irq, ticks: 0 };
        // Reading register C lowers an interrupt the RTC raised before.
        let programmed = read(REG_A).and_then(|a| write(REG_A, (a & 0xf0) | RATE)).is_ok()
            && read(REG_B).and_then(|b| write(REG_B, b | PERIODIC)).is_ok()
            && read(REG_C).is_ok();
        if !programmed {
            clock.stop(core);
            return Err(NoClock("the RTC's ports refused"));
        }
        Ok(clock)
    }

    /// One tick came: acknowledged at the RTC and the IOAPIC, so the next comes.
    pub fn tick(&mut self) {
        self.ticks += 1;
        // A refusal leaves the clock stopped: the watchdog then waits, it never fires early.
        let _ = read(REG_C);
        self.irq.ack();
    }

    /// Ticks that certainly span `ms` milliseconds whenever in a tick they start.
    pub fn ticks_for(ms: u32) -> u64 {
        (ms as u64 * HZ).div_ceil(1000) + 1
    }

    /// Stops the periodic interrupt, clears the handler and frees the slots.
    pub fn stop(self, core: &mut Core) {
        let _ = read(REG_B).and_then(|b| write(REG_B, b & !PERIODIC));
        let _ = read(REG_C);
        self.irq.release(core);
    }
}
