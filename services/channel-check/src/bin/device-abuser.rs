//! device-abuser: a driver granted one I/O port (0x61) that reaches for more, in the
//! `devices-hostile` scenario. Each attempt must be refused and change nothing: a port range,
//! an interrupt (to open or to ack) or device memory it was not granted (core answers `Denied`), a port outside
//! its range through its own cap (the kernel refuses), and a copy of its cap widened to more
//! ports (the kernel lets a port cap only shrink, `Arch_updateCapData`). Exits 0 only if every
//! attempt was refused.
#![no_std]
#![no_main]

use sel4::{Cap, CapRights};
use sel4_core_protocol::{abi, ErrorCode, Request};
use sel4_runtime::device::{DeviceMemory, IoPorts, Irq};
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn check(ok: bool, what: &'static str) -> Result<(), &'static str> {
    if ok {
        Ok(())
    } else {
        println!("device-abuser: FAILED: {what}");
        Err(what)
    }
}

fn main(_index: usize) -> Result<(), &'static str> {
    let ports = IoPorts::open(0).map_err(|_| "its own port was not granted")?;
    check((ports.first, ports.last) == (0x61, 0x61), "its port range is not 0x61")?;
    check(ports.in8(0x61).is_ok(), "its own port refused a read")?;
    check(IoPorts::open(1).is_err(), "a second port range was described")?;
    check(Irq::open(0).is_err(), "an interrupt was given")?;
    // The timer's interrupt has id 0 there: acking it from here is no ack of it.
    let ack = sel4_runtime::call_core(&Request::Ack { id: 0 }).info.label();
    check(ack == ErrorCode::Denied as u64, "core took an ack of an interrupt not granted")?;
    check(DeviceMemory::open(0).is_err(), "device memory was given")?;
    println!(
        "device-abuser: a port range, an interrupt (to open or ack) and device memory not granted: core says Denied"
    );
    let e = ports.out8(0x40, 0x34).err();
    check(e.is_some(), "the PIT's port took a write through the speaker's cap")?;
    println!("device-abuser: port 0x40 through the cap of 0x61: the kernel refuses ({:?})", e.unwrap());
    let cnode = Cap::<sel4::cap_type::CNode>::from_bits(abi::CNODE);
    let free = abi::port_slot(8);
    let own = cnode.relative_bits_with_depth(abi::port_slot(0), 64);
    // io_port_capdata: first port in bits 16..32, last in 0..16.
    let wider = (0x40u64 << 16) | 0x61;
    let e = cnode.relative_bits_with_depth(free, 64).mint(&own, CapRights::all(), wider).err();
    check(e.is_some(), "the port cap was widened")?;
    println!("device-abuser: widening its port cap to 0x40-0x61: the kernel refuses ({:?})", e.unwrap());
    println!("device-abuser: every attempt refused");
    Ok(())
}
