//! serial: a driver outside core for COM2 (a 16550 UART at the I/O ports its description
//! grants, 0x2f8-0x2ff, interrupting on ISA IRQ 3), interrupt driven: each receive interrupt
//! it drains the UART into lines (`serial::Discipline`: at most the shared page's bytes kept, the
//! rest of a longer line counted; lines queue on its heap, paid from its budget, and what the
//! heap has no room for is dropped and counted), acks, and signals its client when a line is
//! ready; the client reads lines and writes bytes through the channel's shared page. COM1 stays the kernel's
//! and core's console. It ends when its client says `Bye`.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::VecDeque;

use sel4_runtime::channel::{self, Channel, Handler, Message, Shared};
use sel4_runtime::device::{IoPorts, Irq};
use sel4_runtime::{declare_main, println};
use serial::{Discipline, Line, Request};

declare_main!(main);

/// Register offsets of the 16550.
const DATA: u16 = 0;
const IER: u16 = 1;
const FCR: u16 = 2;
const LCR: u16 = 3;
const MCR: u16 = 4;
const LSR: u16 = 5;
/// Line status: a byte is ready; the transmitter can take one.
const LSR_DATA: u8 = 0x01;
const LSR_THRE: u8 = 0x20;

struct Serial {
    ports: IoPorts,
    irq: Irq,
    client: Channel,
    shared: Shared,
    discipline: Discipline,
    lines: VecDeque<Line>,
    /// Lines dropped because the heap had no room for them (the client did not read).
    lost: u64,
    /// The client asked for a line when there was none: signal it when one comes.
    waiting: bool,
    done: bool,
}

impl Serial {
    fn reg(&self, r: u16) -> u16 {
        self.ports.first + r
    }

    fn drain(&mut self) {
        while self.ports.in8(self.reg(LSR)).is_ok_and(|s| s & LSR_DATA != 0) {
            let Ok(b) = self.ports.in8(self.reg(DATA)) else { break };
            if let Some(line) = self.discipline.push(b) {
                if self.lines.try_reserve(1).is_ok() {
                    self.lines.push_back(line);
                } else {
                    self.lost += 1;
                }
            }
        }
    }

    fn write(&self, bytes: &[u8]) {
        for &b in bytes {
            // The UART takes a byte when its transmit register is empty.
            while !self.ports.in8(self.reg(LSR)).is_ok_and(|s| s & LSR_THRE != 0) {}
            let _ = self.ports.out8(self.reg(DATA), b);
        }
    }
}

impl Handler for Serial {
    fn notified(&mut self, id: u8) {
        if id != self.irq.id() {
            return;
        }
        self.drain();
        let _ = self.irq.ack();
        // The interrupt is an edge (ISA): a byte that came between the drain and the ack raised
        // the line while the kernel had it masked, and brings no edge of its own. Reading it
        // now lowers the line, so the next byte's edge comes through.
        self.drain();
        if self.waiting && !self.lines.is_empty() {
            self.waiting = false;
            let _ = self.client.notify();
        }
    }

    fn called(&mut self, _channel: u8, message: &Message) -> Result<Message, Option<u64>> {
        let words = message.short_words().ok_or(None)?;
        match Request::decode(message.label, words).ok_or(None)? {
            Request::Read => match self.lines.pop_front() {
                Some(line) => {
                    self.shared.write(0, &line.bytes);
                    Ok(Message::short(0, [1, line.bytes.len() as u64, line.dropped, 0], 3))
                }
                None => {
                    self.waiting = true;
                    Ok(Message::short(0, [0; 4], 3))
                }
            },
            Request::Write { len } => {
                let mut bytes = alloc::vec![0u8; (len as usize).min(self.shared.len())];
                self.shared.read(0, &mut bytes);
                self.write(&bytes);
                Ok(Message::short(0, [0; 4], 0))
            }
            Request::Bye => {
                self.done = true;
                Ok(Message::short(0, [0; 4], 0))
            }
        }
    }

    fn done(&self) -> bool {
        self.done
    }
}

fn main(_index: usize) -> Result<(), &'static str> {
    let ports = IoPorts::open(0).map_err(|_| "no I/O ports granted")?;
    let irq = Irq::open(0).map_err(|_| "no interrupt granted as id 0")?;
    let client = Channel::all().into_iter().find(Channel::serves).ok_or("no client channel")?;
    let shared = client.shared().ok_or("the client channel has no shared page")?;
    // A line the client cannot take in one read is no line: cut it at the shared page.
    let discipline = Discipline::new(shared.len());
    let base = ports.first;
    let mut s =
        Serial { ports, irq, client, shared, discipline, lines: VecDeque::new(), lost: 0, waiting: false, done: false };
    let set = |s: &Serial, regs: &[(u16, u8)]| {
        regs.iter()
            .try_for_each(|&(reg, value)| s.ports.out8(base + reg, value))
            .map_err(|_| "the UART's ports refused a write")
    };
    // 115200 baud, 8 bits, no parity, one stop bit, interrupts off meanwhile.
    set(&s, &[(IER, 0x00), (LCR, 0x80), (DATA, 0x01), (IER, 0x00), (LCR, 0x03)])?;
    // FIFOs off: turning them on clears what arrived already (on the chip as in QEMU), and a
    // byte typed ahead would be lost; one byte at a time, the sender waits for each read.
    // DTR, RTS and OUT2 (which lets the interrupt out on a PC); an interrupt when a byte
    // arrives.
    set(&s, &[(FCR, 0x00), (MCR, 0x0b), (IER, 0x01)])?;
    // Bytes a previous instance left unread (core acked the interrupt it left unacked).
    s.drain();
    println!("serial: COM2 at {:#x}-{:#x}, interrupt id {}, ready", s.ports.first, s.ports.last, s.irq.id());
    channel::serve(&mut s);
    println!("serial: done ({} lines dropped unread)", s.lost);
    Ok(())
}
