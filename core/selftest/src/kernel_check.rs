//! Boot-time check of the kernel interface core relies on, against the
//! real kernel: Retype into chosen slots and the placement it gives,
//! Page_GetAddress, CNode Copy/Mint/Move/Delete/Revoke, the error replies
//! for an occupied slot and for too little memory, mapping a frame through
//! new paging structures, an ASID assignment, and a second thread started,
//! observed and stopped through its TCB. Everything comes from one small
//! RAM untyped and is revoked at the end.

use core::sync::atomic::{AtomicU64, Ordering};
use sel4::cap_type::{self, Null};
use sel4::{cap, init_thread, BootInfo, Cap, CapRights, Error, ObjectBlueprint, UserContext, VmAttributes, Word};
use sel4_core::static_slab::StaticSlab;
use sel4_root_task::println;

#[derive(Debug)]
pub enum CheckError {
    Kernel(&'static str, Error),
    /// An invocation succeeded or failed other than the kernel's rules say.
    Unexpected(&'static str),
}

impl core::fmt::Display for CheckError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            CheckError::Kernel(what, e) => write!(f, "kernel interface check: {what}: {e}"),
            CheckError::Unexpected(what) => write!(f, "kernel interface check: {what}"),
        }
    }
}

fn step<T>(what: &'static str, r: sel4::Result<T>) -> Result<T, CheckError> {
    r.map_err(|e| CheckError::Kernel(what, e))
}

fn expect(ok: bool, what: &'static str) -> Result<(), CheckError> {
    if ok {
        Ok(())
    } else {
        Err(CheckError::Unexpected(what))
    }
}

/// Unused virtual range for the scratch mappings (core's image is at 4 MiB;
/// 2 GiB lies in a 1 GiB region with no page directory yet).
const SCRATCH: Word = 0x8000_0000;
/// Set by the second thread.
static CHILD_RAN: AtomicU64 = AtomicU64::new(0);
const CHILD_STACK_SIZE: usize = 16 * 1024;
/// The second thread's stack, in 16-byte words (its alignment), lent once.
static CHILD_STACK: StaticSlab<u128, { CHILD_STACK_SIZE / 16 }> = StaticSlab::new();

extern "C" fn child_entry() -> ! {
    CHILD_RAN.store(0xc0de, Ordering::SeqCst);
    loop {
        sel4::syscalls::yield_now();
    }
}

/// Hands out consecutive empty slots of the root CNode.
struct Slots {
    next: Word,
    end: Word,
}

impl Slots {
    fn take(&mut self) -> Result<Word, CheckError> {
        expect(self.next < self.end, "out of empty slots")?;
        self.next += 1;
        Ok(self.next - 1)
    }
}

pub fn check_kernel_interface(bi: &BootInfo) -> Result<(), CheckError> {
    // The smallest RAM untyped of at least 64 KiB keeps its first-retype
    // reset (zeroing) cheap.
    let ut = bi
        .untypeds()
        .filter(|u| !u.is_device && u.size_bits >= 16)
        .min_by_key(|u| u.size_bits)
        .ok_or(CheckError::Unexpected("no RAM untyped of 64 KiB or more"))?;
    let mut slots = Slots { next: bi.empty().start, end: bi.empty().end };
    let root = init_thread::CNODE;
    let slot = |s: Word| root.relative(Cap::<Null>::from_bits(s));
    let dest = root.absolute_cptr_for_self();
    let untyped: cap::Untyped = Cap::from_bits(ut.slot.0 as u64);
    let retype = |bp: ObjectBlueprint, at: Word| untyped.untyped_retype(&bp, &dest, at as usize, 1);

    // Placement: objects land at the watermark rounded up to their size.
    let frame: cap::Frame4K = Cap::from_bits(slots.take()?);
    step("retype frame", retype(ObjectBlueprint::Frame4K, frame.bits()))?;
    let paddr = step("get address", frame.frame_get_address())?;
    println!("kernel check: untyped slot {} at {:#x}: first frame at {:#x}", ut.slot.0, ut.paddr, paddr);
    expect(paddr == ut.paddr, "first frame not at the untyped's base")?;
    let ep: cap::Endpoint = Cap::from_bits(slots.take()?);
    step("retype endpoint", retype(ObjectBlueprint::Endpoint, ep.bits()))?;
    let tcb: cap::Tcb = Cap::from_bits(slots.take()?);
    step("retype TCB", retype(ObjectBlueprint::Tcb, tcb.bits()))?; // 2 KiB aligned: base + 0x1800
    let frame2: cap::Frame4K = Cap::from_bits(slots.take()?);
    step("retype second frame", retype(ObjectBlueprint::Frame4K, frame2.bits()))?;
    expect(
        step("get address 2", frame2.frame_get_address())? == ut.paddr + 0x2000,
        "second frame not at base + 0x2000",
    )?;

    // Error replies.
    expect(
        matches!(retype(ObjectBlueprint::Frame4K, frame.bits()), Err(Error::DeleteFirst)),
        "occupied slot: no DeleteFirst",
    )?;
    let probe = slots.take()?;
    let left = (1 << ut.size_bits) - 0x3000;
    expect(
        matches!(retype(ObjectBlueprint::Untyped { size_bits: 47 }, probe), Err(Error::NotEnoughMemory { bytes_available }) if bytes_available == left),
        "oversized retype did not report the bytes left",
    )?;

    // CNode operations.
    let copy = slots.take()?;
    step("copy frame cap", slot(copy).copy(&root.relative(frame), CapRights::all()))?;
    expect(
        step("address of copy", Cap::<cap_type::Frame4K>::from_bits(copy).frame_get_address())? == paddr,
        "copy names another frame",
    )?;
    step("delete copy", slot(copy).delete())?;
    let minted = slots.take()?;
    step("mint endpoint", slot(minted).mint(&root.relative(ep), CapRights::all(), 0x42))?;
    let moved = slots.take()?;
    step("move endpoint", slot(moved).move_(&slot(minted)))?;
    expect(matches!(slot(minted).move_(&slot(moved)), Ok(())), "slot not empty after move")?;
    step("delete minted", slot(minted).delete())?;

    // Mapping: page directory and page table for the scratch region, then
    // the frame; write through the mapping and read back through a copy.
    let pd: cap::PageDirectory = Cap::from_bits(slots.take()?);
    let pt: cap::PageTable = Cap::from_bits(slots.take()?);
    step("retype PD", retype(ObjectBlueprint::PageDirectory, pd.bits()))?;
    step("retype PT", retype(ObjectBlueprint::PageTable, pt.bits()))?;
    let vspace = init_thread::VSPACE;
    expect(
        matches!(
            frame.frame_map(vspace, SCRATCH, CapRights::read_write(), VmAttributes::DEFAULT),
            Err(Error::FailedLookup { .. })
        ),
        "map without paging structures did not fail the lookup",
    )?;
    step("map PD", pd.page_directory_map(vspace, SCRATCH, VmAttributes::DEFAULT))?;
    step("map PT", pt.page_table_map(vspace, SCRATCH, VmAttributes::DEFAULT))?;
    step("map frame", frame.frame_map(vspace, SCRATCH, CapRights::read_write(), VmAttributes::DEFAULT))?;
    let p = SCRATCH as *mut u64;
    // SAFETY: the frame was just mapped read-write at SCRATCH.
    unsafe {
        expect(p.read_volatile() == 0, "fresh frame not zeroed")?;
        p.write_volatile(0x1234_5678_9abc_def0);
    }
    step("unmap frame", frame.frame_unmap())?;
    step("map frame again", frame.frame_map(vspace, SCRATCH + 0x1000, CapRights::read_write(), VmAttributes::DEFAULT))?;
    // SAFETY: mapped read-write one page higher.
    expect(
        unsafe { ((SCRATCH + 0x1000) as *const u64).read_volatile() } == 0x1234_5678_9abc_def0,
        "data lost across remap",
    )?;

    // A new address space: PML4, ASID, PDPT.
    let pml4: cap::Pml4 = Cap::from_bits(slots.take()?);
    let pdpt: cap::Pdpt = Cap::from_bits(slots.take()?);
    step("retype PML4", retype(ObjectBlueprint::Pml4, pml4.bits()))?;
    step("retype PDPT", retype(ObjectBlueprint::Pdpt, pdpt.bits()))?;
    step("assign ASID", init_thread::ASID_POOL.asid_pool_assign(pml4))?;
    step("map PDPT", pdpt.pdpt_map(pml4, 0, VmAttributes::DEFAULT))?;
    expect(
        matches!(pdpt.pdpt_map(pml4, 0, VmAttributes::DEFAULT), Err(Error::InvalidCapability { .. })),
        "mapped PDPT mapped twice",
    )?;

    // A second thread in core's own spaces, with frame2 as IPC buffer.
    let ntfn: cap::Notification = Cap::from_bits(slots.take()?);
    step("retype notification", retype(ObjectBlueprint::Notification, ntfn.bits()))?;
    step("map IPC buffer", frame2.frame_map(vspace, SCRATCH + 0x2000, CapRights::read_write(), VmAttributes::DEFAULT))?;
    step(
        "configure TCB",
        tcb.tcb_configure(sel4::CPtr::from_bits(0), 255, 255, root, 0, vspace, 0, SCRATCH + 0x2000, frame2),
    )?;
    step("bind notification", tcb.tcb_bind_notification(ntfn))?;
    step("set priority", tcb.tcb_set_priority(255))?;
    // Only the second thread uses this stack: this thread never touches the slab again.
    let slab = CHILD_STACK.take(0).ok_or(CheckError::Unexpected("the kernel check runs once (its stack is taken)"))?;
    let stack_top = (slab.as_mut_ptr() as usize + CHILD_STACK_SIZE) as Word;
    // Entered like a called function: RSP + 8 16-byte aligned.
    let entry = child_entry as extern "C" fn() -> !;
    let regs = UserContext { rip: entry as *const () as Word, rsp: stack_top - 8, ..Default::default() };
    step("write registers", tcb.tcb_write_registers(true, 2, &regs))?;
    let mut yields = 0;
    while CHILD_RAN.load(Ordering::SeqCst) != 0xc0de && yields < 1000 {
        sel4::syscalls::yield_now();
        yields += 1;
    }
    expect(CHILD_RAN.load(Ordering::SeqCst) == 0xc0de, "second thread did not run")?;
    step("suspend", tcb.tcb_suspend())?;
    let seen = step("read registers", tcb.tcb_read_registers(false, UserContext::COUNT))?;
    let stack = (stack_top - CHILD_STACK_SIZE as Word)..stack_top;
    expect(stack.contains(&seen.rsp), "second thread's stack pointer outside its stack")?;
    step("resume", tcb.tcb_resume())?;
    step("suspend again", tcb.tcb_suspend())?;
    println!("kernel check: second thread ran after {yields} yields, stopped with rip {:#x}", seen.rip);

    // Revoke returns everything: the untyped places from its base again.
    step("revoke untyped", root.relative(untyped).revoke())?;
    step("retype after revoke", retype(ObjectBlueprint::Frame4K, frame.bits()))?;
    expect(step("address after revoke", frame.frame_get_address())? == ut.paddr, "frame after revoke not at the base")?;
    step("final revoke", root.relative(untyped).revoke())?;
    Ok(())
}
