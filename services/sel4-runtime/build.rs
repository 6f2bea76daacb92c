//! Tells the build scripts of service packages where the image's linker script is
//! (`DEP_SEL4_RUNTIME_LINKER_SCRIPT`).

fn main() {
    println!("cargo:rerun-if-changed=service.ld");
    let dir = std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    println!("cargo:LINKER_SCRIPT={dir}/service.ld");
    // Where the script's INCLUDE finds the shared layout.
    let common = std::env::var("DEP_SEL4_RUNTIME_COMMON_LINKER_DIR").expect("sel4-runtime-common names its directory");
    println!("cargo:LINKER_SEARCH={common}");
}
