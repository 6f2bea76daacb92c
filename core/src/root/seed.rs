//! The seed case on the real kernel: on an 8 KiB child untyped that core
//! placed, CNode 1 KiB, CNode 2 KiB, a 4 KiB page, then a CNode of 1 KiB.
//! Plain FreeIndex placement (retyping straight from the untyped) leaves
//! the gap at 0x400 unusable and refuses the last CNode; core places it at
//! offset 0x400, and the kernel confirms it.

use crate::kernel::{Kernel, KernelError, Slot};
use crate::object::ObjectType;
use crate::phys_allocator::{ObjectId, Placed};
use sel4_root_task::println;

use crate::root::audit::Audit;
use crate::root::error::Error;
use crate::root::runner::Runner;

/// (type, size_bits, offset in the 8 KiB untyped, name) of the seed sequence.
const SEQUENCE: [(ObjectType, u8, u64, &str); 4] = [
    (ObjectType::CNode, 5, 0x0, "cnode 1 KiB"),
    (ObjectType::CNode, 6, 0x800, "cnode 2 KiB"),
    (ObjectType::Frame4K, 0, 0x1000, "frame 4 KiB"),
    (ObjectType::CNode, 5, 0x400, "cnode 1 KiB"),
];

/// A retype's result as the seed case reports it.
struct Outcome(Result<(), KernelError>);

impl core::fmt::Display for Outcome {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.0 {
            Ok(()) => f.write_str("created"),
            Err(e) => write!(f, "refused: {e}"),
        }
    }
}

/// FreeIndex-only placement on the 8 KiB untyped object `u`: the kernel's own rule.
fn freeindex_only(run: &mut Runner, u: &Placed) -> Result<(), Error> {
    let mut slots = [Slot(0); 4];
    for s in slots.iter_mut() {
        *s = run.core.ours.placer.caps.alloc().map_err(|_| Error::Failed("seed: no free slot"))?;
    }
    let k = &mut run.core.kernel.inner;
    let mut results: [Result<(), KernelError>; 4] = [Ok(()); 4];
    for (i, (ty, sb, _, _)) in SEQUENCE.iter().enumerate() {
        results[i] = k.untyped_retype(u.slot, *ty, *sb, slots[i], 1);
    }
    let frame = k.frame_address(slots[2]);
    let last = results[3];
    println!(
        "seed: FreeIndex only on an 8 KiB untyped at {:#x}: cnode 1 KiB {}, cnode 2 KiB {} (gap 0x400..0x800 skipped), frame {}, last cnode 1 KiB: {}",
        u.paddr,
        Outcome(results[0]),
        Outcome(results[1]),
        Outcome(results[2]),
        Outcome(last)
    );
    match frame {
        Ok(a) => println!("seed: FreeIndex only: the kernel says the frame is at +{:#x}", a.wrapping_sub(u.paddr)),
        Err(e) => println!("seed: FreeIndex only: Page_GetAddress failed: {e}"),
    }
    // Remove the objects (revoking the untyped object's cap deletes its children).
    k.cnode_revoke(u.slot).map_err(|e| Error::Kernel("seed: revoke", e))?;
    for s in slots {
        let _ = run.core.ours.placer.caps.free(s);
    }
    if results[..3].iter().any(|r| r.is_err())
        || frame != Ok(u.paddr + 0x1000)
        || !matches!(last, Err(KernelError::NotEnoughMemory { bytes_available: 0 }))
    {
        return Err(Error::Failed("seed: the kernel's FreeIndex rule did not behave as documented"));
    }
    println!("seed: FreeIndex only: the last CNode is refused (NotEnoughMemory, 0 bytes left)");
    Ok(())
}

pub fn seed_gap(run: &mut Runner) -> Result<(), Error> {
    // A real 8 KiB child untyped carved from RAM by core.
    let u = run.alloc(ObjectType::Untyped, 13)?;
    let base = u.paddr;
    println!("seed: 8 KiB untyped placed at {base:#x} (slot {:#x})", u.slot.0);
    freeindex_only(run, &u)?;
    // Free the untyped object: its leaf (an 8 KiB untyped cap of core's tree, now childless)
    // stays; core places the sequence there.
    run.free(u.handle)?;
    let leaf = run.core.ours.placer.pool.find(base, 13).ok_or(Error::Failed("seed: no 8 KiB node"))?;
    let leaf_slot = run.core.ours.placer.pool.info(leaf).slot;
    println!("seed: core on the 8 KiB untyped at {base:#x} (cap slot {:#x}):", leaf_slot.0);
    let mut handles: [Option<ObjectId>; 4] = [None; 4];
    for (i, (ty, sb, off, name)) in SEQUENCE.iter().enumerate() {
        let before = run.invocations();
        let p = run.alloc_at(*ty, *sb, base + off)?;
        let d = run.invocations();
        println!(
            "seed:   {name} at +{:#x} ({} retypes, {} revokes)",
            p.paddr - base,
            d.retypes - before.retypes,
            d.revokes - before.revokes
        );
        if p.paddr != base + off {
            return Err(Error::Failed("seed: object not at the chosen address"));
        }
        handles[i] = Some(p.handle);
    }
    // Confirm the last CNode with the kernel: its leaf is the 1 KiB untyped at +0x400 and the
    // kernel reports that untyped full; the 2 KiB untyped at +0 is split in two halves.
    let audited = run.audit.is_some();
    let mut audit = match run.audit.take() {
        Some(a) => a,
        None => Audit::new(&mut run.core)?,
    };
    let last_leaf = run.core.ours.placer.pool.find(base + 0x400, 10).ok_or(Error::Failed("seed: no leaf at 0x400"))?;
    let n = run.core.ours.placer.pool.info(last_leaf);
    // Each check stops the run (failure exit) with both values printed if the kernel disagrees.
    let leaf_kernel = audit.node(&mut run.core, &n)?;
    let parent = run.core.ours.placer.pool.info(n.parent.ok_or(Error::Failed("seed: leaf has no parent"))?);
    let parent_kernel = audit.node(&mut run.core, &parent)?;
    // The audit must be able to fail: a mirror that claims the full leaf is empty is caught.
    let wrong = crate::untyped_pool::NodeInfo { watermark: 0, ..n };
    match audit.node(&mut run.core, &wrong) {
        Err(crate::root::audit::Disagreement::Watermark { kernel, .. }) if kernel == n.watermark => {
            println!("seed: audit self-check: a mirror claiming watermark 0 for the full leaf is caught (kernel says {kernel:#x})")
        }
        _ => return Err(Error::Failed("seed: the audit did not catch a wrong mirror")),
    }
    let frame = handles[2].and_then(|h| run.core.ours.object(h)).ok_or(Error::Failed("seed: no frame object"))?;
    let frame_at = audit.frame(&mut run.core, frame.2, base + 0x1000)?;
    // The mirror agreeing is not enough: the CNode is at +0x400 only if its 1 KiB leaf is full.
    if leaf_kernel != 1u64 << n.bits {
        println!("seed: the kernel reports watermark {leaf_kernel:#x} for the 1 KiB untyped at +0x400, not full");
        return Err(Error::Failed("seed: the last CNode is not confirmed at +0x400"));
    }
    println!(
        "seed: kernel: untyped at +0x400 watermark {:#x} of {:#x}, its parent at +0x0 watermark {:#x} of {:#x}, frame at +{:#x}",
        leaf_kernel,
        1u64 << n.bits,
        parent_kernel,
        1u64 << parent.bits,
        frame_at - base
    );
    println!("seed: last CNode 1 KiB placed at offset 0x400, confirmed by the kernel");
    crate::root::runner::dump_memory_map(&run.core);
    if audited {
        run.audit = Some(audit);
    }
    for h in handles.into_iter().flatten() {
        run.free(h)?;
    }
    Ok(())
}
