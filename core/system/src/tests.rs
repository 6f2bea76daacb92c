use super::*;
use proptest::prelude::*;

fn hello(elf: &[u8]) -> Service<'_> {
    Service {
        name: "hello",
        ram: 4 << 20,
        caps: 256,
        prio: 100,
        stack: 32 << 10,
        heap: 2 << 20,
        restarts: 0,
        devices: Devices::default(),
        elf,
    }
}

#[test]
fn a_system_round_trips_and_borrows_from_the_blob() {
    let elf = b"\x7fELF and the rest";
    let mut system = System::default();
    system.services.push(hello(elf));
    system.services.push(Service {
        name: "timer",
        ram: 1 << 30,
        caps: 16,
        prio: 255,
        stack: 1 << 20,
        heap: 0,
        restarts: 3,
        devices: Devices::default(),
        elf: &[],
    });
    let blob = system.encode().unwrap();
    let decoded = System::decode(&blob).unwrap();
    assert_eq!(decoded, system);
    let range = blob.as_ptr_range();
    assert!(range.contains(&decoded.services[0].elf.as_ptr()), "the ELF is read in place");
    assert!(range.contains(&decoded.services[0].name.as_ptr()), "the name is read in place");
}

#[test]
fn empty_bytes_are_a_system_without_services() {
    assert_eq!(System::decode(&[]), Ok(System::default()));
    assert_eq!(System::decode(&System::default().encode().unwrap()), Ok(System::default()));
}

#[test]
fn cut_and_padded_blobs_are_errors() {
    let mut system = System::default();
    system.services.push(hello(b"elf"));
    let blob = system.encode().unwrap();
    for cut in 1..blob.len() {
        let e = System::decode(&blob[..cut]).unwrap_err();
        // Cut short of what one service takes at least, the count is past the bytes.
        assert!(matches!(e, DecodeError::Malformed(_) | DecodeError::TooManyServices { .. }), "cut at {cut}: {e}");
    }
    let mut padded = blob.clone();
    padded.extend_from_slice(&[0, 0]);
    let e = System::decode(&padded).unwrap_err();
    assert_eq!(e, DecodeError::TrailingBytes { count: 2 });
    assert_eq!(e.to_string(), "system description is followed by 2 unexpected bytes");
}

#[test]
fn names_must_be_utf8() {
    let mut system = System::default();
    system.services.push(hello(b""));
    let mut blob = system.encode().unwrap();
    // Count 1, then the name's length 5 and its first byte.
    assert_eq!(&blob[..3], &[1, 5, b'h']);
    blob[2] = 0xff;
    let e = System::decode(&blob).unwrap_err();
    assert!(e.to_string().starts_with("malformed system description: "), "{e}");
}

#[test]
fn many_services_decode_and_a_count_past_the_bytes_is_refused() {
    let mut system = System::default();
    for _ in 0..1000 {
        system.services.push(hello(b"x"));
    }
    let blob = system.encode().unwrap();
    assert_eq!(System::decode(&blob).unwrap().services.len(), 1000);
    // A count far beyond the bytes there are is refused before anything is read or allocated.
    let e = System::decode(&[0xff, 0xff, 0xff, 0xff, 0x0f]).unwrap_err();
    assert_eq!(e, DecodeError::TooManyServices { count: u32::MAX as u64, bytes: 5 });
    assert_eq!(e.to_string(), "system description lists 4294967295 services in 5 bytes, more than they can hold");
}

fn service() -> impl Strategy<Value = (String, u64, u32, u8, u64, Vec<u8>)> {
    (".{0,12}", any::<u64>(), any::<u32>(), any::<u8>(), any::<u64>(), proptest::collection::vec(any::<u8>(), 0..64))
}

proptest! {
    #[test]
    fn random_systems_round_trip(services in proptest::collection::vec(service(), 0..=80)) {
        let mut system = System::default();
        for (name, ram, caps, prio, stack, elf) in &services {
            system.services.push(Service { name, ram: *ram, caps: *caps, prio: *prio, stack: *stack, heap: *ram / 2, restarts: 0, devices: Devices::default(), elf });
        }
        let blob = system.encode().unwrap();
        prop_assert_eq!(System::decode(&blob), Ok(system));
    }

    #[test]
    fn any_bytes_decode_to_a_system_or_an_error(bytes in proptest::collection::vec(any::<u8>(), 0..256)) {
        if let Ok(system) = System::decode(&bytes) {
            prop_assert!(system.services.len() <= bytes.len());
            let again = system.encode().unwrap();
            prop_assert_eq!(System::decode(&again), Ok(system));
        };
    }

    /// Bytes that start like a real description (a small count) reach the service decoder.
    #[test]
    fn any_bytes_after_a_plausible_count_decode_or_fail(
        count in 0u8..=3,
        bytes in proptest::collection::vec(any::<u8>(), 0..128),
    ) {
        let mut blob = vec![count];
        blob.extend_from_slice(&bytes);
        if let Ok(system) = System::decode(&blob) {
            prop_assert_eq!(system.services.len(), count as usize);
        };
    }
}

fn channel(client: (u32, u8), server: (u32, u8)) -> Channel {
    Channel {
        client: End { service: client.0, id: client.1 },
        server: End { service: server.0, id: server.1 },
        call: true,
        notify: true,
        shared: Some(Shared { size: 4096, payer: Side::Client, client_at: 1 << 40, server_at: 2 << 40 }),
    }
}

#[test]
fn channels_round_trip_and_bad_ones_are_refused() {
    let mut system = System::default();
    system.services.push(hello(b"a"));
    system.services.push(hello(b"b"));
    system.channels.push(channel((0, 1), (1, 0)));
    system.channels.push(channel((0, 2), (1, 1)));
    assert_eq!(System::decode(&system.encode().unwrap()), Ok(system.clone()));
    assert_eq!(system.channels[0].end_of(1, 0), Some(Side::Server));
    assert_eq!(system.channels[0].end_of(0, 1), Some(Side::Client));
    assert_eq!(system.channels[0].end_of(0, 0), None);
    let refused = |c: Channel| {
        let mut s = system.clone();
        s.channels.push(c);
        match System::decode(&s.encode().unwrap()) {
            Err(DecodeError::Channel { index: 2, why }) => why,
            other => panic!("{other:?}"),
        }
    };
    assert!(refused(channel((0, 3), (2, 0))).contains("does not have"));
    assert!(refused(channel((0, 3), (0, 4))).contains("same service"));
    assert!(refused(channel((0, CHANNEL_IDS as u8), (1, 4))).contains("beyond"));
    assert!(refused(channel((0, 1), (1, 4))).contains("already"));
    assert!(refused(channel((0, 3), (1, 1))).contains("already"));
    let mut c = channel((0, 3), (1, 4));
    c.shared.as_mut().unwrap().size = 100;
    assert!(refused(c).contains("whole pages"));
    c.shared.as_mut().unwrap().size = 4096;
    c.shared.as_mut().unwrap().server_at = (1 << 47) - 2048;
    assert!(refused(c).contains("whole pages"));
    let bare = Channel { call: false, notify: false, shared: None, ..channel((0, 3), (1, 4)) };
    assert!(refused(bare).contains("neither"));
}

#[test]
fn device_grants_round_trip_and_overlaps_are_refused() {
    let timer = Devices {
        ports: vec![Ports { first: 0x40, last: 0x43 }],
        irqs: vec![Irq { id: 1, ioapic: 0, pin: 2, level: false, active_low: false, ack_within_ms: 500 }],
        memory: vec![DeviceMemory { paddr: 0xb8000, size: 4096, at: 1 << 30, cache: 2 }],
    };
    let mut system = System::default();
    system.services.push(Service { devices: timer.clone(), ..hello(b"a") });
    system.services.push(hello(b"b"));
    assert_eq!(System::decode(&system.encode().unwrap()), Ok(system.clone()));
    let refused = |devices: Devices, index: usize| {
        let mut s = system.clone();
        s.services[index].devices = devices;
        match System::decode(&s.encode().unwrap()) {
            Err(DecodeError::Device { why, .. }) => why,
            other => panic!("{other:?}"),
        }
    };
    let ports = |first, last| Devices { ports: vec![Ports { first, last }], ..Devices::default() };
    assert!(refused(ports(0x43, 0x44), 1).contains("overlaps"));
    assert!(refused(ports(0x44, 0x43), 1).contains("ends before"));
    let mut twice = timer.clone();
    twice.ports.push(Ports { first: 0x42, last: 0x42 });
    assert!(refused(twice, 0).contains("overlaps"));
    let pin = Devices {
        irqs: vec![Irq { id: 0, ioapic: 0, pin: 2, level: true, active_low: true, ack_within_ms: 500 }],
        ..Devices::default()
    };
    assert!(refused(pin, 1).contains("twice"));
    let id = Devices {
        irqs: vec![Irq {
            id: CHANNEL_IDS as u8,
            ioapic: 0,
            pin: 3,
            level: false,
            active_low: false,
            ack_within_ms: 500,
        }],
        ..Devices::default()
    };
    assert!(refused(id, 1).contains("beyond"));
    let irq = |pin, ack_within_ms| Devices {
        irqs: vec![Irq { id: 0, ioapic: 0, pin, level: false, active_low: false, ack_within_ms }],
        ..Devices::default()
    };
    assert!(refused(irq(8, 500), 1).contains("core's"));
    assert!(refused(ports(0x71, 0x72), 1).contains("core's"));
    assert!(refused(irq(3, 0), 1).contains("at least 1 ms"));
    let many = Devices {
        irqs: (0..=INTERRUPTS as u8)
            .map(|i| Irq { id: i, ioapic: 1, pin: i, level: false, active_low: false, ack_within_ms: 1 })
            .collect(),
        ..Devices::default()
    };
    assert!(refused(many, 1).contains("more interrupts"));
    let mem = |paddr, size| Devices {
        memory: vec![DeviceMemory { paddr, size, at: 1 << 30, cache: 2 }],
        ..Devices::default()
    };
    assert!(refused(mem(0xb9000 - 4096, 8192), 1).contains("overlaps"));
    assert!(refused(mem(0xb9800, 4096), 1).contains("whole pages"));
    assert_eq!(
        System::decode(
            &{
                let mut s = system.clone();
                s.services[1].devices = mem(0xb9000, 4096);
                s
            }
            .encode()
            .unwrap()
        )
        .map(|_| ()),
        Ok(())
    );
}
