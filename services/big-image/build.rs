//! The service's data: 16 MiB of pseudo-random bytes (xorshift64*, fixed seed) written to
//! `OUT_DIR/data.bin` for `include_bytes!`, and their FNV-1a hash as a constant the service
//! checks at run time. With feature `service`: the service binary's link arguments.

use std::io::Write;

/// Bytes of initialised data.
const DATA_BYTES: usize = 16 << 20;

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let out = std::path::PathBuf::from(std::env::var_os("OUT_DIR").expect("cargo sets OUT_DIR"));
    let mut x: u64 = 0x2545_f491_4f6c_dd1d;
    let mut data = Vec::with_capacity(DATA_BYTES);
    while data.len() < DATA_BYTES {
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        data.extend_from_slice(&x.wrapping_mul(0x2545_f491_4f6c_dd1d).to_le_bytes());
    }
    let hash = data.iter().fold(0xcbf2_9ce4_8422_2325u64, |h, &b| (h ^ b as u64).wrapping_mul(0x100_0000_01b3));
    std::fs::write(out.join("data.bin"), &data).expect("cannot write data.bin");
    let mut f = std::fs::File::create(out.join("expected.rs")).expect("cannot write expected.rs");
    writeln!(f, "/// Bytes of `DATA`.\nconst DATA_BYTES: usize = {DATA_BYTES};").unwrap();
    writeln!(f, "/// FNV-1a of `DATA`, computed when the service was built.\nconst DATA_HASH: u64 = {hash:#x};")
        .unwrap();
    if std::env::var_os("CARGO_FEATURE_SERVICE").is_some() {
        sel4_root_task_build::configure_for(sel4_root_task_build::Image::Service);
    }
}
