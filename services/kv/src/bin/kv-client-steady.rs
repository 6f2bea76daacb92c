//! kv-client-steady: the example system's client that never asks for a crash (`kv::client`),
//! for systems where something else tests the server. Exits 0 only if every check held.
#![no_std]
#![no_main]

sel4_runtime::declare_main!(main);

fn main(_index: usize) -> Result<(), &'static str> {
    kv::client::run(false)
}
