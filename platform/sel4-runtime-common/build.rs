//! Tells the runtimes' build scripts where the shared linker script is
//! (`DEP_SEL4_RUNTIME_COMMON_LINKER_SCRIPT`); each runtime's own script sets the image's base
//! address and includes it.

fn main() {
    println!("cargo:rerun-if-changed=image.ld");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:LINKER_SCRIPT={dir}/image.ld");
    println!("cargo:LINKER_DIR={dir}");
}
