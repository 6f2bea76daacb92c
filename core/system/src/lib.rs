//! sel4-core-system: the system description the run tool hands core, in postcard's compact
//! binary format: every service core starts from its boot image, with its quotas, restart
//! policy and ELF, and the channels between services. [`System::decode`] also checks what
//! needs no state: every channel's ends name services that exist and ids the ABI has, no end
//! is given twice, shared memory is whole pages in the address space.
//! Decoding borrows names and ELF images from the blob (no copy; the list of services is the
//! one allocation, `no_std` + `alloc`); any byte string decodes to a [`System`] or a
//! [`DecodeError`], never a panic. Feature `std` adds the encoder.
#![cfg_attr(not(any(test, feature = "std")), no_std)]

extern crate alloc;

use alloc::vec::Vec;
use core::fmt;

use serde::{Deserialize, Serialize};

/// Bytes a service takes at least in the encoding (a byte for each of its eight fields and its
/// three lists of devices): a count of services beyond the bytes there are is refused before
/// anything is allocated.
const MIN_SERVICE_BYTES: usize = 11;

use sel4_core_protocol::abi::CHANNEL_IDS;
use sel4_core_protocol::limits::{PAGE_SIZE as PAGE, VADDR_LIMIT};

/// One service core starts: its ELF image and what it may use.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Service<'a> {
    /// The service's name (its binary's name), for core's log.
    pub name: &'a str,
    /// RAM quota in bytes.
    pub ram: u64,
    /// Cap quota: capability slots the service may have.
    pub caps: u32,
    /// Priority of its first thread.
    pub prio: u8,
    /// Bytes of its first thread's stack.
    pub stack: u64,
    /// Bytes of dataspaces its heap may take from its budget (the runtime's limit; core hands
    /// it over at start, `sel4_core_protocol::abi`).
    pub heap: u64,
    /// How often core starts it again from its image after a fault (0: never; it is reclaimed).
    pub restarts: u32,
    /// The devices it may drive: core gives it these and nothing else.
    pub devices: Devices,
    /// The static ELF image, as built.
    pub elf: &'a [u8],
}

/// Devices granted to a service.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Devices {
    pub ports: Vec<Ports>,
    pub irqs: Vec<Irq>,
    pub memory: Vec<DeviceMemory>,
}

impl Devices {
    pub fn is_empty(&self) -> bool {
        self.ports.is_empty() && self.irqs.is_empty() && self.memory.is_empty()
    }
}

/// I/O ports `first..=last`.
#[derive(Debug, Copy, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Ports {
    pub first: u16,
    pub last: u16,
}

/// An interrupt from IOAPIC `ioapic`'s input `pin`, signalled to the service as channel `id`
/// (level-triggered or edge, active low or high). The service acks each within `ack_within_ms`
/// milliseconds, or core takes it for hung and reclaims it (restarting it where its policy says).
#[derive(Debug, Copy, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Irq {
    pub id: u8,
    pub ioapic: u8,
    pub pin: u8,
    pub level: bool,
    pub active_low: bool,
    pub ack_within_ms: u32,
}

/// The PC's real-time clock (the CMOS RTC): its I/O ports and the IOAPIC pin of its interrupt
/// (ISA IRQ 8) are core's, whose periodic interrupt is the clock of its interrupt watchdog. No
/// service is granted them.
pub const WATCHDOG_PORTS: Ports = Ports { first: 0x70, last: 0x71 };
pub const WATCHDOG_PIN: (u8, u8) = (0, 8);

/// Interrupts core routes in one system: core tells them apart by a bit each of its
/// notification's badge (`seL4_BadgeBits`), less the bit that marks a signal apart from a
/// request on its endpoint and the bit of the watchdog's clock.
pub const INTERRUPTS: usize = CHANNEL_IDS as usize - 1;

/// Device memory: `size` bytes at physical `paddr`, mapped at `at` in the service with cache
/// attribute `cache` (`sel4_core_protocol::CacheAttr` as a byte).
#[derive(Debug, Copy, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceMemory {
    pub paddr: u64,
    pub size: u64,
    pub at: u64,
    pub cache: u8,
}

/// One end of a channel: a service (its index) and the id it knows the channel by.
#[derive(Debug, Copy, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct End {
    pub service: u32,
    pub id: u8,
}

/// Which end of a channel.
#[derive(Debug, Copy, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum Side {
    Client,
    Server,
}

/// A channel's shared dataspace: `size` bytes mapped in the client at `client_at` and in the
/// server at `server_at`, paid for by `payer`.
#[derive(Debug, Copy, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shared {
    pub size: u64,
    pub payer: Side,
    pub client_at: u64,
    pub server_at: u64,
}

/// A channel between two services: with `call`, the client calls the server (an endpoint the
/// server receives on); with `notify`, each end may signal the other (each service's
/// notification); optionally a shared dataspace.
#[derive(Debug, Copy, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Channel {
    pub client: End,
    pub server: End,
    pub call: bool,
    pub notify: bool,
    pub shared: Option<Shared>,
}

impl Channel {
    /// The end of service `index` with id `id`, if it is one of this channel's, and its side.
    pub fn end_of(&self, index: u32, id: u8) -> Option<Side> {
        if self.client == (End { service: index, id }) {
            Some(Side::Client)
        } else if self.server == (End { service: index, id }) {
            Some(Side::Server)
        } else {
            None
        }
    }
}

/// Every service of a system, in start order (a service's index is its position), and the
/// channels between them.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct System<'a> {
    #[serde(borrow)]
    pub services: Vec<Service<'a>>,
    pub channels: Vec<Channel>,
}

/// Why bytes are no system description.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DecodeError<'a> {
    /// The description lists more services than its bytes can hold.
    TooManyServices { count: u64, bytes: usize },
    /// The bytes are not a postcard-encoded system.
    Malformed(postcard::Error),
    /// The description ends before the bytes do.
    TrailingBytes { count: usize },
    /// Channel `index` is not one core can build.
    Channel { index: usize, why: &'static str },
    /// A device grant of service `service` (named `name`) is not one core can give (it
    /// overlaps one of service `other`, when that is another service: its index and name).
    Device { service: usize, name: &'a str, other: Option<(usize, &'a str)>, why: &'static str },
}

impl fmt::Display for DecodeError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DecodeError::TooManyServices { count, bytes } => {
                write!(f, "system description lists {count} services in {bytes} bytes, more than they can hold")
            }
            DecodeError::Malformed(e) => write!(f, "malformed system description: {e}"),
            DecodeError::TrailingBytes { count } => {
                write!(f, "system description is followed by {count} unexpected bytes")
            }
            DecodeError::Channel { index, why } => write!(f, "system description: channel {index}: {why}"),
            DecodeError::Device { name, other: None, why, .. } => {
                write!(f, "system description: service {name}: {why}")
            }
            DecodeError::Device { name, other: Some((_, other)), why, .. } => {
                write!(f, "system description: services {name} and {other}: {why}")
            }
        }
    }
}

#[cfg(feature = "std")]
impl std::error::Error for DecodeError<'_> {}

impl<'a> System<'a> {
    /// The system `bytes` describe. Empty bytes are a system without services (what core's
    /// image holds when it was built without one).
    pub fn decode(bytes: &'a [u8]) -> Result<System<'a>, DecodeError<'a>> {
        if bytes.is_empty() {
            return Ok(System::default());
        }
        // The count leads the encoding; checking it first names the problem instead of
        // serde's generic length error.
        if let Ok((count, _)) = postcard::take_from_bytes::<u64>(bytes) {
            if count > (bytes.len() / MIN_SERVICE_BYTES) as u64 {
                return Err(DecodeError::TooManyServices { count, bytes: bytes.len() });
            }
        }
        let (system, rest) = postcard::take_from_bytes::<System>(bytes).map_err(DecodeError::Malformed)?;
        if !rest.is_empty() {
            return Err(DecodeError::TrailingBytes { count: rest.len() });
        }
        system.check_channels()?;
        system.check_devices()?;
        Ok(system)
    }

    /// Whether every device grant can be given: ranges that are ranges, pages where pages are
    /// meant, an IRQ's id free in its service, no port, IOAPIC pin or page granted twice (to
    /// one service or two), none of core's watchdog clock, and at most [`INTERRUPTS`].
    fn check_devices(&self) -> Result<(), DecodeError<'a>> {
        let irqs: usize = self.services.iter().map(|s| s.devices.irqs.len()).sum();
        if irqs > INTERRUPTS {
            let service = self.services.len() - 1;
            return Err(DecodeError::Device {
                service,
                name: self.services[service].name,
                other: None,
                why: "more interrupts than core routes (one bit of a badge each)",
            });
        }
        for (service, s) in self.services.iter().enumerate() {
            let name = s.name;
            let refuse = |why| Err(DecodeError::Device { service, name, other: None, why });
            let d = &s.devices;
            if d.ports.iter().any(|p| p.first > p.last) {
                return refuse("an I/O port range ends before it starts");
            }
            let w = WATCHDOG_PORTS;
            if d.ports.iter().any(|p| p.first <= w.last && w.first <= p.last) {
                return refuse("I/O ports 0x70-0x71 (the RTC) are core's, the clock of its interrupt watchdog");
            }
            if d.irqs.iter().any(|irq| (irq.ioapic, irq.pin) == WATCHDOG_PIN) {
                return refuse("IOAPIC pin 8 (the RTC's interrupt) is core's, the clock of its interrupt watchdog");
            }
            if d.irqs.iter().any(|irq| irq.ack_within_ms == 0) {
                return refuse("an interrupt must be acked within at least 1 ms");
            }
            for irq in &d.irqs {
                if irq.id as u64 >= CHANNEL_IDS {
                    return refuse("an interrupt's id is beyond the channel ids a badge holds");
                }
                let taken = self.channels.iter().any(|c| c.end_of(service as u32, irq.id).is_some())
                    || d.irqs.iter().filter(|o| o.id == irq.id).count() > 1;
                if taken {
                    return refuse("an interrupt's id is already a channel's or another interrupt's");
                }
            }
            for m in &d.memory {
                let fits = m.at.checked_add(m.size).is_some_and(|end| end <= VADDR_LIMIT)
                    && m.paddr.checked_add(m.size).is_some();
                if m.size == 0
                    || !m.size.is_multiple_of(PAGE)
                    || !m.paddr.is_multiple_of(PAGE)
                    || !m.at.is_multiple_of(PAGE)
                    || !fits
                {
                    return refuse("device memory is no whole pages at page-aligned addresses");
                }
                if m.cache > 2 {
                    return refuse("device memory has no such cache attribute");
                }
            }
            // Overlaps with this service's later grants and every later service's.
            for (other, o) in self.services.iter().enumerate().skip(service) {
                let od = &o.devices;
                let same = other == service;
                let refuse =
                    |why| Err(DecodeError::Device { service, name, other: (!same).then_some((other, o.name)), why });
                for (i, p) in d.ports.iter().enumerate() {
                    let later = if same { &od.ports[i + 1..] } else { &od.ports[..] };
                    if later.iter().any(|q| p.first <= q.last && q.first <= p.last) {
                        return refuse("an I/O port range overlaps another grant's");
                    }
                }
                for (i, irq) in d.irqs.iter().enumerate() {
                    let later = if same { &od.irqs[i + 1..] } else { &od.irqs[..] };
                    if later.iter().any(|j| (j.ioapic, j.pin) == (irq.ioapic, irq.pin)) {
                        return refuse("an interrupt pin is granted twice");
                    }
                }
                for (i, m) in d.memory.iter().enumerate() {
                    let later = if same { &od.memory[i + 1..] } else { &od.memory[..] };
                    if later.iter().any(|n| m.paddr < n.paddr + n.size && n.paddr < m.paddr + m.size) {
                        return refuse("device memory overlaps another grant's");
                    }
                }
            }
        }
        Ok(())
    }

    /// Whether every channel can be built: its ends name two different services and ids below
    /// the ABI's, no service has an id twice, and shared memory is a whole number of pages at
    /// page-aligned addresses in the lower half of the address space.
    fn check_channels(&self) -> Result<(), DecodeError<'a>> {
        let n = self.services.len() as u64;
        for (index, c) in self.channels.iter().enumerate() {
            let refuse = |why| Err(DecodeError::Channel { index, why });
            if c.client.service as u64 >= n || c.server.service as u64 >= n {
                return refuse("an end names a service the system does not have");
            }
            if c.client.service == c.server.service {
                return refuse("both ends are the same service");
            }
            if c.client.id as u64 >= CHANNEL_IDS || c.server.id as u64 >= CHANNEL_IDS {
                return refuse("an id is beyond the channel ids a badge holds");
            }
            let taken = |e: End| self.channels[..index].iter().any(|o| o.end_of(e.service, e.id).is_some());
            if taken(c.client) || taken(c.server) {
                return refuse("an end's id is already another channel's in that service");
            }
            if !c.call && !c.notify && c.shared.is_none() {
                return refuse("it has neither call, notify nor shared memory");
            }
            if let Some(s) = c.shared {
                let fits =
                    |at: u64| at.is_multiple_of(PAGE) && at.checked_add(s.size).is_some_and(|end| end <= VADDR_LIMIT);
                if s.size == 0 || !s.size.is_multiple_of(PAGE) || !fits(s.client_at) || !fits(s.server_at) {
                    return refuse("its shared memory is no whole pages at page-aligned addresses below 2^47");
                }
            }
        }
        Ok(())
    }

    /// The encoded description, as [`System::decode`] reads it.
    #[cfg(feature = "std")]
    pub fn encode(&self) -> Result<Vec<u8>, EncodeError> {
        postcard::to_stdvec(self).map_err(EncodeError)
    }
}

/// Why a system could not be encoded.
#[cfg(feature = "std")]
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodeError(postcard::Error);

#[cfg(feature = "std")]
impl fmt::Display for EncodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cannot encode the system description: {}", self.0)
    }
}

#[cfg(feature = "std")]
impl std::error::Error for EncodeError {}

#[cfg(test)]
mod tests;
