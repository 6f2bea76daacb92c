//! core, the root task (freestanding binary, feature `root-task`): reports
//! what the kernel handed over at boot (bootinfo summary and every boot
//! untyped), then exits QEMU.
#![no_std]
#![no_main]

use sel4::{init_thread, BootInfo, CapRights, Error, ObjectBlueprint};
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

// The fields are read through `Debug` when main's error is reported.
#[allow(dead_code)]
#[derive(Debug)]
enum CheckError {
    Kernel(&'static str, Error),
    /// An invocation succeeded or failed other than the kernel's rules say.
    Unexpected(&'static str),
}

fn step<T>(what: &'static str, r: sel4::Result<T>) -> Result<T, CheckError> {
    r.map_err(|e| CheckError::Kernel(what, e))
}

/// Exercises the invocations the placement engine relies on, on the
/// smallest RAM untyped of at least 8 KiB (so its first-retype reset is cheap): Retype into a
/// chosen slot, Page_GetAddress, CNode Copy/Delete/Revoke, and the error
/// replies for an occupied slot and for too little memory.
fn check_kernel_interface(bi: &BootInfo) -> Result<(), CheckError> {
    let ut = bi
        .untypeds()
        .filter(|u| !u.is_device && u.size_bits >= 13)
        .min_by_key(|u| u.size_bits)
        .ok_or(CheckError::Unexpected("no RAM untyped of 8 KiB or more"))?;
    let empty = bi.empty();
    if empty.len() < 2 {
        return Err(CheckError::Unexpected("fewer than two empty slots"));
    }
    let (a, b) = (empty.start, empty.start + 1);
    let root = init_thread::CNODE;
    let untyped: sel4::cap::Untyped = sel4::Cap::from_bits(ut.slot);
    let frame: sel4::cap::Frame4K = sel4::Cap::from_bits(a);
    let dest = root.absolute_cptr_for_self();

    step("retype frame", untyped.untyped_retype(&ObjectBlueprint::Frame4K, &dest, a as usize, 1))?;
    let paddr = step("get address", frame.frame_get_address())?;
    println!("kernel interface check: frame from untyped slot {} at {:#x} (untyped base {:#x})", ut.slot, paddr, ut.paddr);
    if paddr != ut.paddr {
        return Err(CheckError::Unexpected("first frame not at the untyped's base"));
    }
    match untyped.untyped_retype(&ObjectBlueprint::Frame4K, &dest, a as usize, 1) {
        Err(Error::DeleteFirst) => {}
        _ => return Err(CheckError::Unexpected("retype into an occupied slot did not give DeleteFirst")),
    }
    // Asking for more than the untyped holds reports the bytes left.
    let free = 1u64 << ut.size_bits;
    match untyped.untyped_retype(&ObjectBlueprint::Untyped { size_bits: 47 }, &dest, b as usize, 1) {
        Err(Error::NotEnoughMemory { bytes_available }) if bytes_available == free - 4096 => {}
        _ => return Err(CheckError::Unexpected("oversized retype did not report the bytes left")),
    }
    step("copy frame cap", root.relative(sel4::Cap::<sel4::cap_type::Null>::from_bits(b)).copy(&root.relative(frame), CapRights::all()))?;
    let copy: sel4::cap::Frame4K = sel4::Cap::from_bits(b);
    if step("get address of copy", copy.frame_get_address())? != paddr {
        return Err(CheckError::Unexpected("copy names another frame"));
    }
    step("delete copy", root.relative(copy).delete())?;
    // Revoking the untyped deletes the frame; the slot is free again and
    // the untyped, now childless, places the next frame at its base again.
    step("revoke untyped", root.relative(untyped).revoke())?;
    step("retype again", untyped.untyped_retype(&ObjectBlueprint::Frame4K, &dest, a as usize, 1))?;
    if step("get address again", frame.frame_get_address())? != ut.paddr {
        return Err(CheckError::Unexpected("frame after revoke not at the untyped's base"));
    }
    step("final revoke", root.relative(untyped).revoke())?;
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
