//! heap-exhaust: runs its heap past its `heap=` setting on purpose. It keeps allocating blocks of
//! 1 MiB (writing each) until one cannot be had; the runtime then says what was asked and what
//! the setting had left, and ends the service with `EXIT_ALLOC` (102). Core reclaims it whole.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::vec::Vec;

use sel4_runtime::{declare_main, heap, println};

declare_main!(main);

fn main(_: usize) {
    let mut kept: Vec<Vec<u8>> = Vec::new();
    println!("heap-exhaust: allocating 1 MiB blocks past the heap setting of {} bytes", heap::limit());
    loop {
        kept.push(alloc::vec![kept.len() as u8; 1 << 20]);
        let s = heap::stats();
        println!("heap-exhaust: {} MiB kept, heap holds {} bytes", kept.len(), s.held);
    }
}
