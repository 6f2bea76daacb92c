//! Channels between children, as the system description declares them (`sel4_core_system`):
//! which caps a child's CNode gets for its channel ends (the `abi` slots, and badges core mints
//! so that a peer's identity cannot be forged), which shared dataspaces are mapped in it and
//! where, and what its end of a channel is (core's answer to its `Channel` request). Plain
//! logic over the description, tested on the host; `root::channels` places the objects and
//! hands the caps over.

use alloc::vec::Vec;

use sel4_core_protocol::abi;
use sel4_core_protocol::answer::{ChannelReply, DeviceReply};
use sel4_core_protocol::{DeviceKind, ErrorCode};
use sel4_core_system::{Channel, Devices, Side};

use crate::kernel::Slot;
use crate::loader::Grant;
use crate::session::pd::{CapData, Rights};

/// The caps of what a started child keeps across restarts that its peers get copies of: its
/// notification, and its endpoint if it serves calls.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct PeerCaps {
    pub notification: Slot,
    pub endpoint: Option<Slot>,
}

/// Whether child `index` is an end of any channel.
pub fn has_channels(index: usize, channels: &[Channel]) -> bool {
    channels.iter().any(|c| c.client.service as usize == index || c.server.service as usize == index)
}

/// Whether child `index` serves a call channel (it needs an endpoint to receive on).
pub fn serves_calls(index: usize, channels: &[Channel]) -> bool {
    channels.iter().any(|c| c.call && c.server.service as usize == index)
}

/// The service that pays for a channel's shared dataspace.
pub fn payer(c: &Channel) -> Option<u32> {
    c.shared.map(|s| match s.payer {
        Side::Client => c.client.service,
        Side::Server => c.server.service,
    })
}

/// The caps child `index` gets for its channels: its own notification and endpoint, and for
/// each of its channel ends the peer's notification (badge: the peer's id bit) and, on a
/// client's end, the server's endpoint (badge: [`abi::CALL_BADGE`] | the server's id). `caps`
/// gives each started child's; an end whose peer has none (it could not be started, or ended
/// for good) gets nothing.
pub fn grants(index: usize, caps: impl Fn(usize) -> Option<PeerCaps>, channels: &[Channel]) -> Vec<Grant> {
    let mut out = Vec::new();
    let Some(own) = caps(index) else { return out };
    out.push(Grant { from: own.notification, slot: abi::NOTIFICATION, rights: Rights::All, data: None });
    if let Some(ep) = own.endpoint {
        out.push(Grant { from: ep, slot: abi::RECEIVE_ENDPOINT, rights: Rights::Receive, data: None });
    }
    for c in channels {
        let (me, peer, client) = if c.client.service as usize == index {
            (c.client, c.server, true)
        } else if c.server.service as usize == index {
            (c.server, c.client, false)
        } else {
            continue;
        };
        let Some(theirs) = caps(peer.service as usize) else { continue };
        if c.notify {
            let badge = CapData::Badge(1 << peer.id);
            let slot = abi::notify_slot(me.id as u64);
            out.push(Grant { from: theirs.notification, slot, rights: Rights::Signal, data: Some(badge) });
        }
        if let (true, true, Some(ep)) = (c.call, client, theirs.endpoint) {
            let badge = CapData::Badge(abi::CALL_BADGE | peer.id as u64);
            let slot = abi::call_slot(me.id as u64);
            out.push(Grant { from: ep, slot, rights: Rights::Call, data: Some(badge) });
        }
    }
    out
}

/// The shared dataspaces mapped in child `index`: for each, the channel's index, the service
/// that pays for it, and its address in the child.
pub fn shared_in(index: usize, channels: &[Channel]) -> impl Iterator<Item = (usize, u32, u64)> + '_ {
    channels.iter().enumerate().filter_map(move |(i, c)| {
        let s = c.shared?;
        let at = match c.end_of_service(index as u32)? {
            Side::Client => s.client_at,
            Side::Server => s.server_at,
        };
        Some((i, payer(c)?, at))
    })
}

/// Which side of `c` service `index` is, if either.
trait EndOf {
    fn end_of_service(&self, index: u32) -> Option<Side>;
}

impl EndOf for Channel {
    fn end_of_service(&self, index: u32) -> Option<Side> {
        if self.client.service == index {
            Some(Side::Client)
        } else if self.server.service == index {
            Some(Side::Server)
        } else {
            None
        }
    }
}

/// The caps a child gets for its device grants: each I/O port range minted from core's cap to
/// every port (`io_port`, cut to the range). Its interrupts' handlers stay core's, which
/// signals each interrupt to the child and acks it when the child says so (`Request::Ack`):
/// so core sees an interrupt the child never acks.
pub fn device_grants(devices: &Devices, io_port: Slot) -> Vec<Grant> {
    let ports = devices.ports.iter().enumerate().map(|(i, p)| Grant {
        from: io_port,
        slot: abi::port_slot(i as u64),
        rights: Rights::All,
        data: Some(CapData::Ports { first: p.first, last: p.last }),
    });
    ports.collect()
}

/// A child's `index`-th grant of `kind`, for its `Device` request.
pub fn describe_device(devices: &Devices, kind: DeviceKind, index: u64) -> Result<DeviceReply, ErrorCode> {
    let i = usize::try_from(index).map_err(|_| ErrorCode::Denied)?;
    match kind {
        DeviceKind::Ports => {
            devices.ports.get(i).map(|p| DeviceReply { a: p.first as u64, b: p.last as u64, c: abi::port_slot(index) })
        }
        DeviceKind::Memory => devices.memory.get(i).map(|m| DeviceReply { a: m.paddr, b: m.size, c: m.at }),
    }
    .ok_or(ErrorCode::Denied)
}

/// What child `index`'s end of channel `id` is, for its `Channel` request: `Denied` when the
/// description gives it no such end, or its peer was not started (`started`). An id one of its
/// interrupts (`devices`) has is described as that.
pub fn describe(
    index: usize,
    id: u64,
    started: impl Fn(usize) -> bool,
    channels: &[Channel],
    devices: &Devices,
) -> Result<ChannelReply, ErrorCode> {
    let id = u8::try_from(id).map_err(|_| ErrorCode::InvalidArgument)?;
    if devices.irqs.iter().any(|irq| irq.id == id) {
        let irq = true;
        return Ok(ChannelReply { calls: false, serves: false, notify: false, irq, shared_at: 0, shared_size: 0 });
    }
    let (c, side) =
        channels.iter().find_map(|c| c.end_of(index as u32, id).map(|side| (c, side))).ok_or(ErrorCode::Denied)?;
    let peer = match side {
        Side::Client => c.server.service,
        Side::Server => c.client.service,
    };
    if !started(peer as usize) {
        return Err(ErrorCode::Denied);
    }
    let (shared_at, shared_size) = match (c.shared, side) {
        (Some(s), Side::Client) => (s.client_at, s.size),
        (Some(s), Side::Server) => (s.server_at, s.size),
        (None, _) => (0, 0),
    };
    Ok(ChannelReply {
        calls: c.call && side == Side::Client,
        serves: c.call && side == Side::Server,
        notify: c.notify,
        irq: false,
        shared_at,
        shared_size,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec;
    use sel4_core_system::{End, Shared};

    /// The kv example: server 0 serves client 1 on its id 0 and client 2 on its id 1; client 1
    /// pays for its shared page, client 2's channel has no notify and the server pays.
    fn kv() -> Vec<Channel> {
        let end = |service, id| End { service, id };
        vec![
            Channel {
                client: end(1, 0),
                server: end(0, 0),
                call: true,
                notify: true,
                shared: Some(Shared {
                    size: 4096,
                    payer: Side::Client,
                    client_at: 0x1000_0000,
                    server_at: 0x2000_0000,
                }),
            },
            Channel {
                client: end(2, 3),
                server: end(0, 1),
                call: true,
                notify: false,
                shared: Some(Shared {
                    size: 8192,
                    payer: Side::Server,
                    client_at: 0x3000_0000,
                    server_at: 0x4000_0000,
                }),
            },
        ]
    }

    fn caps(i: usize) -> Option<PeerCaps> {
        let base = 100 * (i as u32 + 1);
        Some(PeerCaps { notification: Slot(base), endpoint: (i == 0).then_some(Slot(base + 1)) })
    }

    #[test]
    fn the_server_gets_its_endpoint_and_a_signal_cap_per_client() {
        let g = grants(0, caps, &kv());
        assert_eq!(g[0], Grant { from: Slot(100), slot: abi::NOTIFICATION, rights: Rights::All, data: None });
        assert_eq!(g[1], Grant { from: Slot(101), slot: abi::RECEIVE_ENDPOINT, rights: Rights::Receive, data: None });
        // Client 1's notification, badged with the client's id for the channel (0).
        let signal =
            Grant { from: Slot(200), slot: abi::notify_slot(0), rights: Rights::Signal, data: Some(CapData::Badge(1)) };
        assert_eq!(g[2], signal);
        assert_eq!(g.len(), 3, "no notify on the second channel, and a server calls nobody");
    }

    #[test]
    fn a_client_gets_the_server_s_endpoint_badged_with_the_server_s_id() {
        let g = grants(2, caps, &kv());
        assert_eq!(g[0].slot, abi::NOTIFICATION);
        let call = Grant {
            from: Slot(101),
            slot: abi::call_slot(3),
            rights: Rights::Call,
            data: Some(CapData::Badge(abi::CALL_BADGE | 1)),
        };
        assert_eq!(g[1..], [call]);
        let g = grants(1, caps, &kv());
        assert_eq!(g.iter().find(|g| g.slot == abi::notify_slot(0)).unwrap().data, Some(CapData::Badge(1 << 0)));
        assert_eq!(g.iter().find(|g| g.slot == abi::call_slot(0)).unwrap().data, Some(CapData::Badge(abi::CALL_BADGE)));
    }

    #[test]
    fn an_end_whose_peer_did_not_start_gets_nothing() {
        let only_clients = |i: usize| (i != 0).then(|| caps(i).unwrap());
        assert_eq!(grants(1, only_clients, &kv()).len(), 1, "its own notification only");
        assert!(grants(0, only_clients, &kv()).is_empty());
        assert_eq!(describe(1, 0, |i| i != 0, &kv(), &Devices::default()), Err(ErrorCode::Denied));
    }

    #[test]
    fn each_end_is_described_from_its_side() {
        let c = describe(1, 0, |_| true, &kv(), &Devices::default()).unwrap();
        assert!(c.calls && !c.serves && c.notify);
        assert_eq!((c.shared_at, c.shared_size), (0x1000_0000, 4096));
        let s = describe(0, 1, |_| true, &kv(), &Devices::default()).unwrap();
        assert!(!s.calls && s.serves && !s.notify);
        assert_eq!((s.shared_at, s.shared_size), (0x4000_0000, 8192));
        assert_eq!(describe(0, 2, |_| true, &kv(), &Devices::default()), Err(ErrorCode::Denied));
        assert_eq!(describe(1, 1, |_| true, &kv(), &Devices::default()), Err(ErrorCode::Denied));
        assert_eq!(describe(1, 256, |_| true, &kv(), &Devices::default()), Err(ErrorCode::InvalidArgument));
    }

    #[test]
    fn devices_are_given_and_described() {
        use sel4_core_system::{DeviceMemory, Irq, Ports};
        let d = Devices {
            ports: vec![Ports { first: 0x40, last: 0x43 }, Ports { first: 0x61, last: 0x61 }],
            irqs: vec![Irq { id: 5, ioapic: 0, pin: 2, level: false, active_low: false, ack_within_ms: 500 }],
            memory: vec![DeviceMemory { paddr: 0xb8000, size: 4096, at: 1 << 40, cache: 2 }],
        };
        let g = device_grants(&d, Slot(7));
        assert_eq!(g.len(), 2);
        assert_eq!(g[1].slot, abi::port_slot(1));
        assert_eq!(g[1].data, Some(CapData::Ports { first: 0x61, last: 0x61 }));
        let ports = describe_device(&d, DeviceKind::Ports, 0).unwrap();
        assert_eq!((ports.a, ports.b, ports.c), (0x40, 0x43, abi::port_slot(0)));
        let mem = describe_device(&d, DeviceKind::Memory, 0).unwrap();
        assert_eq!((mem.a, mem.b, mem.c), (0xb8000, 4096, 1 << 40));
        assert_eq!(describe_device(&d, DeviceKind::Memory, 1), Err(ErrorCode::Denied));
        assert_eq!(describe_device(&d, DeviceKind::Ports, u64::MAX), Err(ErrorCode::Denied));
        let irq = describe(3, 5, |_| true, &kv(), &d).unwrap();
        assert!(irq.irq && !irq.notify && !irq.calls);
        assert_eq!(describe(3, 4, |_| true, &kv(), &d), Err(ErrorCode::Denied));
    }

    #[test]
    fn shared_memory_maps_in_both_ends_and_one_pays() {
        let k = kv();
        assert_eq!(shared_in(0, &k).collect::<Vec<_>>(), [(0, 1, 0x2000_0000), (1, 0, 0x4000_0000)]);
        assert_eq!(shared_in(2, &k).collect::<Vec<_>>(), [(1, 0, 0x3000_0000)]);
        assert!(has_channels(2, &k) && !has_channels(3, &k));
        assert!(serves_calls(0, &k) && !serves_calls(1, &k));
    }
}
