//! kv-client: the example system's client that asks the server to crash half way
//! (`kv::client`). Exits 0 only if every check held.
#![no_std]
#![no_main]

sel4_runtime::declare_main!(main);

fn main(_index: usize) -> Result<(), &'static str> {
    kv::client::run(true)
}
