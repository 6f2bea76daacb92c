//! mute: a server that never answers. It serves a call channel in the system description but
//! never receives on its endpoint: its clients' calls queue there. It waits on its
//! notification instead, and exits when a peer signals it.
#![no_std]
#![no_main]

use sel4_core_protocol::abi;
use sel4_runtime::{declare_main, println};

declare_main!(main);

fn main(_index: usize) -> Result<(), &'static str> {
    println!("mute: serving nothing; waiting for a signal");
    let m = sel4::syscalls::recv(sel4::CPtr::from_bits(abi::NOTIFICATION));
    println!("mute: signalled (badge {:#x}); exiting with every call to it unanswered", m.badge);
    Ok(())
}
