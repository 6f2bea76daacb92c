//! core, the root task (freestanding binary, feature `root-task`): reports
//! what the kernel handed over at boot (bootinfo summary and every boot
//! untyped), then exits QEMU.
#![no_std]
#![no_main]

#[path = "bin_kernel_check.rs"]
mod kernel_check;

use kernel_check::{check_kernel_interface, CheckError};
use sel4::BootInfo;
use sel4_root_task::{declare_main, println};

declare_main!(main);

fn main(bi: &BootInfo<'static>) -> Result<(), CheckError> {
    println!("core: seL4 root task, kernel config {}", sel4_config::NAME);
    print_summary(bi);
    print_untypeds(bi);
    check_kernel_interface(bi)?;
    println!("kernel interface check: ok");
    Ok(())
}

fn print_summary(bi: &BootInfo) {
    let region = |r: sel4::SlotRegion| (r.start, r.end, r.len());
    println!("bootinfo: node {} of {}", bi.node_id(), bi.num_nodes());
    println!("  IPC buffer        {:#x}", bi.ipc_buffer());
    let (s, e, n) = region(bi.empty());
    println!("  empty slots       [{s:#x}, {e:#x}) {n} slots");
    let (s, e, n) = region(bi.untyped());
    println!("  untyped slots     [{s:#x}, {e:#x}) {n} untypeds");
    let (s, e, n) = region(bi.user_image_frames());
    println!("  image frames      [{s:#x}, {e:#x}) {n}");
    let (s, e, n) = region(bi.user_image_paging());
    println!("  image paging      [{s:#x}, {e:#x}) {n}");
    println!("  CNode size bits   {}", bi.init_thread_cnode_size_bits());
    println!("  TSC               {} MHz", bi.tsc_mhz());
}

fn print_untypeds(bi: &BootInfo) {
    println!("untypeds: {}", bi.untyped_count());
    println!("  {:>6}  {:>18}  {:>18}  {:>4}  {:>10}  kind", "slot", "paddr", "end", "bits", "size");
    let (mut ram, mut device, mut nram, mut ndev) = (0u128, 0u128, 0usize, 0usize);
    for u in bi.untypeds() {
        let size = u.size();
        let end = u.paddr as u128 + size;
        let kind = if u.is_device { "device" } else { "ram" };
        println!("  {:>6}  {:#018x}  {:#018x}  {:>4}  {:>10}  {}", u.slot, u.paddr, end, u.size_bits, Size(size), kind);
        if u.is_device {
            device += size;
            ndev += 1;
        } else {
            ram += size;
            nram += 1;
        }
    }
    println!("total RAM    {} in {} untypeds ({} bytes)", Size(ram), nram, ram);
    println!("total device {} in {} untypeds ({} bytes)", Size(device), ndev, device);
}

/// A byte count in the largest binary unit it reaches, with two decimals
/// when that unit does not divide it exactly.
struct Size(u128);

impl core::fmt::Display for Size {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        use core::fmt::Write;
        let units = [("TiB", 40), ("GiB", 30), ("MiB", 20), ("KiB", 10)];
        let mut s: heapless::String<48> = heapless::String::new();
        let _ = match units.iter().find(|(_, b)| self.0 >= 1 << b) {
            Some((u, b)) if self.0.is_multiple_of(1 << b) => write!(s, "{} {u}", self.0 >> b),
            Some((u, b)) => {
                let hundredths = (self.0 * 100) >> b;
                write!(s, "{}.{:02} {u}", hundredths / 100, hundredths % 100)
            }
            None => write!(s, "{} B", self.0),
        };
        f.pad(&s)
    }
}
