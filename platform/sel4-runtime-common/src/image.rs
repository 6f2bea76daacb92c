//! The program's own image as the shared linker script laid it out (`image.ld`).

extern "C" {
    static __bss_start: u8;
    static __bss_end: u8;
}

/// Bytes of the image's `.bss` (zero-initialised statics).
pub fn bss_bytes() -> usize {
    // Only the addresses of the linker-defined symbols are taken, never their bytes.
    core::ptr::addr_of!(__bss_end) as usize - core::ptr::addr_of!(__bss_start) as usize
}
