//! Self-test `kernel-check`: the kernel interface core relies on, checked on the real kernel
//! before core owns the untypeds (it borrows one small untyped and returns it empty).
#![no_std]
#![no_main]

use sel4::BootInfo;
use sel4_core_selftest::kernel_check::{self, CheckError};
use sel4_root_task::{declare_main, println};

declare_main!(main);

fn main(bi: &BootInfo<'static>) -> Result<(), CheckError> {
    println!("core: seL4 root task, kernel config {}, self-test `kernel-check`", sel4_config::NAME);
    kernel_check::check_kernel_interface(bi)?;
    println!("kernel interface check: ok");
    println!("core: done");
    Ok(())
}
