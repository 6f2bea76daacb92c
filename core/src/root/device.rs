//! Device memory: a frame at a chosen device address (the legacy VGA text
//! buffer at 0xB8000), placed from the device untyped that owns it, mapped
//! into core's own VSpace through a page directory and page table core
//! places for a scratch window, and written: "core" in the top-left corner
//! of the VGA text screen.

use crate::object::ObjectType;
use sel4::{cap_type, init_thread, Cap, CapRights, VmAttributes, Word};
use sel4_root_task::println;

use crate::root::error::Error;
use crate::root::kernel::kernel_error;
use crate::root::runner::Runner;

/// Physical address of the VGA text buffer (80x25 cells of character + attribute).
pub const VGA_TEXT: u64 = 0xb8000;
/// Virtual scratch window: 3 GiB lies under core's PML4 slot 0 and PDPT (both exist below
/// 512 GiB), in a 1 GiB region without a page directory yet.
const WINDOW: Word = 0xc000_0000;
/// White on blue.
const ATTR: u16 = 0x1f00;

fn step<T>(what: &'static str, r: sel4::Result<T>) -> Result<T, Error> {
    r.map_err(|e| Error::Kernel(what, kernel_error(e)))
}

pub fn vga(run: &mut Runner) -> Result<(), Error> {
    let root = run.core.ours.placer.pool.root_of(VGA_TEXT).ok_or(Error::Failed("device: 0xb8000 in no untyped"))?;
    let r = run.core.ours.placer.pool.info(root);
    let frame = run.alloc_at(ObjectType::Frame4K, 0, VGA_TEXT)?;
    let pd = run.alloc(ObjectType::PageDirectory, 0)?;
    let pt = run.alloc(ObjectType::PageTable, 0)?;
    let vspace = init_thread::VSPACE;
    let frame_cap: Cap<cap_type::Frame4K> = Cap::from_bits(frame.slot.0 as Word);
    let pd_cap: Cap<cap_type::PageDirectory> = Cap::from_bits(pd.slot.0 as Word);
    let pt_cap: Cap<cap_type::PageTable> = Cap::from_bits(pt.slot.0 as Word);
    let kernel_paddr = step("get address", frame_cap.frame_get_address())?;
    step("map PD", pd_cap.page_directory_map(vspace, WINDOW, VmAttributes::DEFAULT))?;
    step("map PT", pt_cap.page_table_map(vspace, WINDOW, VmAttributes::DEFAULT))?;
    step("map frame", frame_cap.frame_map(vspace, WINDOW, CapRights::read_write(), VmAttributes::CACHE_DISABLED))?;
    let cells = WINDOW as *mut u16;
    let mut back = [0u16; 4];
    for (i, c) in b"core".iter().enumerate() {
        // SAFETY: the VGA frame is mapped read-write at WINDOW; cells 0..4 are inside it.
        unsafe {
            cells.add(i).write_volatile(ATTR | *c as u16);
            back[i] = cells.add(i).read_volatile();
        }
    }
    let ok = back.iter().zip(b"core").all(|(v, c)| *v == ATTR | *c as u16);
    // Under UEFI the VGA runs in a graphics mode that does not decode
    // 0xB8000: reads return all ones. Nothing to check there, not an error.
    let no_text_screen = back.iter().all(|v| *v == 0xffff);
    println!(
        "device: frame at {:#x} (kernel: {kernel_paddr:#x}) from device untyped slot {:#x} [{:#x}, {:#x}), mapped at {WINDOW:#x}; wrote \"core\" to the VGA text screen: {}",
        frame.paddr,
        r.slot.0,
        r.paddr,
        r.paddr + (1u64 << r.bits),
        if ok {
            "read back ok"
        } else if no_text_screen {
            "no VGA text screen there (reads all ones, e.g. under UEFI)"
        } else {
            "read back differs"
        }
    );
    // Freeing revokes each leaf: the mappings go with the caps.
    for h in [frame.handle, pt.handle, pd.handle] {
        run.free(h)?;
    }
    if !(ok || no_text_screen) || kernel_paddr != VGA_TEXT {
        return Err(Error::Failed("device: VGA frame"));
    }
    Ok(())
}
