//! ipc-floor: the client of the IPC floor. Calls core's endpoint with an empty message, again
//! and again; the self-test `core-session-bench` answers each call with nothing and times the
//! round trips, then reclaims this service.
#![no_std]
#![no_main]

use sel4::{syscalls, CPtr, MessageInfo};
use sel4_core_protocol::abi;
use sel4_runtime::declare_main;

declare_main!(main);

fn main(_: usize) {
    loop {
        syscalls::call(CPtr::from_bits(abi::ENDPOINT), MessageInfo::new(0, 0, 0, 0), [0; 4]);
    }
}
