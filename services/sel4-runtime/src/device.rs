//! Devices the system description grants the service (`ports`, `irqs`, `memory`): core hands
//! it caps to exactly those and nothing else, and answers `Denied` for anything more.
//! [`IoPorts`] reads and writes a granted port range through its cap (the kernel does the
//! `in`/`out`: seL4 on x86 keeps I/O privilege to itself); [`Irq`] is a granted interrupt,
//! which arrives as a signal of its id (in [`crate::channel::serve`]'s `notified`, or
//! [`crate::channel::wait`]) and comes again once acked (through core, which watches for a
//! driver that stops acking); [`DeviceMemory`] is device memory core
//! mapped in the service with the granted cache attribute.
//!
//! The invocations take the calling thread's IPC buffer only for results: call them from the
//! first thread, like every `sel4` invocation (the crate documentation says why).

use sel4::{cap_type, Cap, Word};
use sel4_core_protocol::answer::{Answer, ChannelReply, DeviceReply};
use sel4_core_protocol::{DeviceKind, ErrorCode, Request};

use crate::channel::ChannelError;

/// Asks core for the service's `index`-th grant of `kind`.
fn grant(kind: DeviceKind, index: u64) -> Result<DeviceReply, ChannelError> {
    let r = crate::call_core(&Request::Device { kind, index });
    if r.info.label() != 0 {
        return Err(ChannelError::NotGiven);
    }
    let len = r.info.length().min(r.mrs.len());
    DeviceReply::from_words(&r.mrs[..len]).ok_or(ChannelError::MalformedReply)
}

/// A granted range of I/O ports.
#[derive(Copy, Clone, Debug)]
pub struct IoPorts {
    pub first: u16,
    pub last: u16,
    cap: Cap<cap_type::IoPort>,
}

impl IoPorts {
    /// The service's `index`-th port range.
    pub fn open(index: u64) -> Result<IoPorts, ChannelError> {
        let g = grant(DeviceKind::Ports, index)?;
        Ok(IoPorts { first: g.a as u16, last: g.b as u16, cap: Cap::from_bits(g.c as Word) })
    }

    /// Reads a byte from `port` (the kernel refuses a port outside the range).
    pub fn in8(&self, port: u16) -> Result<u8, sel4::Error> {
        self.cap.ioport_in8(port)
    }

    /// Writes a byte to `port`.
    pub fn out8(&self, port: u16, value: u8) -> Result<(), sel4::Error> {
        self.cap.ioport_out8(port, value)
    }
}

/// A granted interrupt: its signals come as channel id [`Irq::id`]. Core holds its handler
/// and signals each interrupt; [`Irq::ack`] tells core it was handled, and core lets it come
/// again. Not acked within the grant's `ack_within_ms`, core takes the service for hung.
#[derive(Copy, Clone, Debug)]
pub struct Irq {
    id: u8,
}

impl Irq {
    /// The interrupt granted as id `id`.
    pub fn open(id: u8) -> Result<Irq, ChannelError> {
        let r = crate::call_core(&Request::Channel { id: id as u64 });
        let len = r.info.length().min(r.mrs.len());
        match ChannelReply::from_words(&r.mrs[..len]) {
            Some(c) if r.info.label() == 0 && c.irq => Ok(Irq { id }),
            _ => Err(ChannelError::NotGiven),
        }
    }

    pub fn id(&self) -> u8 {
        self.id
    }

    /// Lets the interrupt come again (core's `seL4_IRQHandler_Ack`). `Refused` when none of it
    /// is outstanding.
    pub fn ack(&self) -> Result<(), ChannelError> {
        let r = crate::call_core(&Request::Ack { id: self.id as u64 });
        match r.info.label() {
            0 => Ok(()),
            code if code == ErrorCode::Denied as u64 => Err(ChannelError::NotGiven),
            code => Err(ChannelError::Refused(code)),
        }
    }
}

/// Granted device memory, as core mapped it.
#[derive(Copy, Clone, Debug)]
pub struct DeviceMemory {
    pub paddr: u64,
    pub size: u64,
    at: u64,
}

impl DeviceMemory {
    /// The service's `index`-th device memory grant.
    pub fn open(index: u64) -> Result<DeviceMemory, ChannelError> {
        let g = grant(DeviceKind::Memory, index)?;
        Ok(DeviceMemory { paddr: g.a, size: g.b, at: g.c })
    }

    /// Its address in the service.
    pub fn address(&self) -> u64 {
        self.at
    }

    /// Writes `value` at byte `offset` (volatile: the device sees every write, in order);
    /// `false` past the end.
    pub fn write16(&self, offset: u64, value: u16) -> bool {
        if offset.checked_add(2).is_none_or(|end| end > self.size) || !offset.is_multiple_of(2) {
            return false;
        }
        // SAFETY: core mapped `size` bytes at `at` writable in this service for its life (the
        // device memory grant), the two bytes are within them and aligned (checked above), and
        // no Rust reference to that memory exists.
        unsafe { core::ptr::write_volatile((self.at + offset) as *mut u16, value) };
        true
    }

    /// Reads the 16-bit word at byte `offset` (volatile); `None` past the end.
    pub fn read16(&self, offset: u64) -> Option<u16> {
        if offset.checked_add(2).is_none_or(|end| end > self.size) || !offset.is_multiple_of(2) {
            return None;
        }
        // SAFETY: as in `write16`.
        Some(unsafe { core::ptr::read_volatile((self.at + offset) as *const u16) })
    }
}
