//! core's loader against the kernel model: arbitrary ELF layouts the image reader accepts are
//! loaded through the same `Pd` path as sessions; the charge is exact (a budget that fits
//! loads, one byte less refuses and changes nothing), every file byte is written once, the
//! thread starts at the entry with the stack and IPC buffer the layout says, and freeing the
//! loaded child gives back every byte.
//!
//! Case count: 32, or `PROPTEST_CASES`.

use proptest::prelude::*;
use sel4_core::image::{Image, PAGE};
use sel4_core::kernel::{Slot, UntypedDesc};
use sel4_core::loader::{self, Given, Layout, LoadError, Loaded, Spec, IPC_BUFFER, STACK_TOP};
use sel4_core::object::ObjectType;
use sel4_core::session::pd::Pd;
use sel4_core_lab::child_model::ModelPd;
use sel4_core_lab::rig::{Options, Rig};
use sel4_core_protocol::charges::OBJECT_RECORD;

/// core's record of the child, as the server charges it (any figure will do here).
const RECORD: u64 = 600;

/// RAM from 1 MiB to 64 MiB in blocks of every size from 1 MiB to 32 MiB.
fn layout() -> Vec<UntypedDesc> {
    (20..26)
        .enumerate()
        .map(|(i, b)| UntypedDesc { slot: Slot(i as u32 + 1), paddr: 1 << b, size_bits: b, is_device: false })
        .collect()
}

/// A loadable segment to write: where, how much of file and memory, flags, the fill byte.
#[derive(Clone, Debug)]
struct Seg {
    vaddr: u64,
    filesz: u64,
    memsz: u64,
    flags: u32,
}

/// A static x86_64 executable with `segs` (each file part filled with its index + 1) and its
/// entry `entry_off` bytes into the first executable segment.
fn elf(segs: &[Seg], entry: u64) -> Vec<u8> {
    let (ehdr, phdr) = (64u64, 56u64);
    let mut offset = ehdr + phdr * segs.len() as u64;
    let mut out = vec![0u8; offset as usize];
    let mut phdrs = Vec::new();
    for (i, s) in segs.iter().enumerate() {
        // File offset congruent to the address modulo a page.
        offset = offset.next_multiple_of(PAGE) + s.vaddr % PAGE;
        out.resize(offset as usize, 0);
        out.extend(std::iter::repeat_n(i as u8 + 1, s.filesz as usize));
        phdrs.push((offset, s));
        offset += s.filesz;
    }
    let w16 = |o: &mut Vec<u8>, at: usize, v: u16| o[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let w32 = |o: &mut Vec<u8>, at: usize, v: u32| o[at..at + 4].copy_from_slice(&v.to_le_bytes());
    let w64 = |o: &mut Vec<u8>, at: usize, v: u64| o[at..at + 8].copy_from_slice(&v.to_le_bytes());
    out[..4].copy_from_slice(b"\x7fELF");
    (out[4], out[5], out[6]) = (2, 1, 1); // 64-bit, little endian, version 1
    w16(&mut out, 16, 2); // ET_EXEC
    w16(&mut out, 18, 62); // EM_X86_64
    w32(&mut out, 20, 1);
    w64(&mut out, 24, entry);
    w64(&mut out, 32, ehdr); // program headers
    w16(&mut out, 52, ehdr as u16);
    w16(&mut out, 54, phdr as u16);
    w16(&mut out, 56, segs.len() as u16);
    w16(&mut out, 58, 64); // section header size; no sections
    for (i, (off, s)) in phdrs.iter().enumerate() {
        let at = (ehdr + i as u64 * phdr) as usize;
        w32(&mut out, at, 1); // PT_LOAD
        w32(&mut out, at + 4, s.flags);
        w64(&mut out, at + 8, *off);
        w64(&mut out, at + 16, s.vaddr);
        w64(&mut out, at + 24, s.vaddr);
        w64(&mut out, at + 32, s.filesz);
        w64(&mut out, at + 40, s.memsz);
        w64(&mut out, at + 48, PAGE);
    }
    out
}

/// Up to four segments, one after another with gaps, the first executable; sizes up to a
/// few MiB, bss among them.
fn image() -> impl Strategy<Value = (Vec<Seg>, u64)> {
    // Mostly small segments; some of a few MiB (the model's VSpace is a list: keep it short).
    let size = || prop_oneof![4 => 0u64..(64 << 10), 1 => 0u64..(3 << 20)];
    let seg = (0u64..4, 0u64..4, size(), size(), 0u64..PAGE, 0u32..8);
    (proptest::collection::vec(seg, 1..=4), 0u64..256).prop_map(|(v, entry_off)| {
        let mut at = 0x40_0000u64;
        let segs: Vec<Seg> = v
            .iter()
            .enumerate()
            .map(|(i, &(gap_pages, _, file, bss, misalign, flags))| {
                let vaddr = at + gap_pages * PAGE + misalign;
                // The first holds the entry: executable, with file bytes.
                let (flags, file) = if i == 0 { (5, file.max(1)) } else { (flags | 4, file) };
                let s = Seg { vaddr, filesz: file, memsz: (file + bss).max(1), flags };
                at = (vaddr + s.memsz).next_multiple_of(PAGE);
                s
            })
            .collect();
        let entry = segs[0].vaddr + entry_off.min(segs[0].filesz - 1);
        (segs, entry)
    })
}

/// The heap setting every child here has: core hands it over, whatever it is.
const HEAP: u64 = 0x1234_5000;

fn spec(elf: &[u8], ram: u64, stack_pages: u64) -> Spec<'_> {
    Spec { index: 3, name: "child", elf, ram, caps: 64, prio: 100, stack: stack_pages * PAGE, heap: HEAP, restarts: 0 }
}

/// Runs `f` with a fresh model, core's allocator over it, a child PD with nothing in it yet,
/// and an endpoint of the test's own.
fn with_pd<T>(f: impl FnOnce(&mut ModelPd<'_>, Slot) -> T) -> T {
    let opts = Options { object_slots: 1 << 14, range_blocks: 1 << 12, spare_slots: 1 << 6 };
    let mut rig = Rig::new(&layout(), opts).unwrap();
    let cnode = rig.spare_slots();
    let (kernel, ours) = rig.ours().unwrap();
    let mut pd = ModelPd::empty(kernel, ours, cnode);
    let ep = pd.alloc(ObjectType::Endpoint, 0).unwrap();
    f(&mut pd, ep.slot)
}

/// The RAM allocator's free bytes and largest free block.
fn state(pd: &ModelPd<'_>) -> (u64, u64) {
    (pd.ours.ram().avail(), pd.ours.ram().largest_free())
}

/// Checks a loaded child, frees it and checks that everything is back.
fn check_and_free(
    pd: &mut ModelPd<'_>,
    l: Loaded,
    image: &Image,
    elf_file_bytes: u64,
    stack_pages: u64,
    before: (u64, u64),
) -> Result<(), TestCaseError> {
    let objects: u64 = l.objects.iter().map(|o| o.bytes()).sum();
    prop_assert_eq!(l.charge.objects(), objects);
    prop_assert_eq!(before.0 - pd.ours.ram().avail(), objects, "what the allocator gave is what is charged");
    prop_assert_eq!(l.charge.records, RECORD + l.objects.len() as u64 * OBJECT_RECORD);
    prop_assert_eq!(l.charge.stack, stack_pages * PAGE);
    prop_assert_eq!(l.charge.image, image.segments.iter().map(|s| s.pages * PAGE).sum::<u64>());
    prop_assert_eq!(pd.filled, elf_file_bytes, "every file byte written once");
    let frames = pd.mapped_frames().count() as u64;
    prop_assert_eq!(frames, l.charge.image / PAGE + stack_pages + 2, "image, stack, IPC and log buffer mapped");
    prop_assert!(pd.mapped_frames().any(|(_, va)| va == sel4_core_protocol::abi::LOG_BUFFER));
    prop_assert_eq!(l.charge.log_buffer, PAGE);
    prop_assert!(pd.mapped_frames().any(|(_, va)| va == IPC_BUFFER));
    prop_assert!(!pd.mapped_frames().any(|(_, va)| va == STACK_TOP - stack_pages * PAGE - PAGE), "guard page");
    let regs = pd.registers.iter().find(|(t, _)| *t == l.tcb).map(|r| r.1).expect("registers written");
    prop_assert_eq!((regs.entry, regs.stack, regs.arg, regs.arg2), (image.entry, STACK_TOP, IPC_BUFFER, 3));
    prop_assert_eq!(regs.arg3, HEAP, "the heap setting in rdx");
    prop_assert!(pd.threads.iter().any(|t| t.tcb == l.tcb && t.running));
    prop_assert_eq!(pd.child_caps(), 5, "endpoint, fault endpoint, CNode, TCB, VSpace");
    l.free(pd);
    prop_assert_eq!(state(pd), before, "everything back after the child is freed");
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(32)))]

    #[test]
    fn loads_charge_exactly_and_free_completely((segs, entry) in image(), stack_pages in 1u64..40) {
        let bytes = elf(&segs, entry);
        let layout = Layout::new(stack_pages * PAGE).unwrap();
        let image = Image::parse(&bytes, layout.image_limit()).unwrap();
        let file_bytes: u64 = segs.iter().map(|s| s.filesz).sum();
        with_pd(|pd, ep| {
            let before = state(pd);
            let l = loader::load(pd, &spec(&bytes, 64 << 20, stack_pages), &Given::default(), RECORD, ep, 3)
                .map_err(|e| TestCaseError::fail(e.to_string()))?;
            let exact = l.charge.total();
            check_and_free(pd, l, &image, file_bytes, stack_pages, before)?;
            Ok(exact)
        }).and_then(|exact| {
            // Exactly the charge: served, the same again.
            with_pd(|pd, ep| {
                let before = state(pd);
                let l = loader::load(pd, &spec(&bytes, exact, stack_pages), &Given::default(), RECORD, ep, 3)
                    .map_err(|e| TestCaseError::fail(format!("an exact budget of {exact}: {e}")))?;
                prop_assert_eq!(l.charge.total(), exact);
                check_and_free(pd, l, &image, file_bytes, stack_pages, before)
            })?;
            // One byte less: refused, nothing changed.
            with_pd(|pd, ep| {
                let before = state(pd);
                let e = loader::load(pd, &spec(&bytes, exact - 1, stack_pages), &Given::default(), RECORD, ep, 3).unwrap_err();
                prop_assert!(matches!(e, LoadError::Budget { budget, .. } if budget == exact - 1), "{e}");
                prop_assert_eq!(state(pd), before);
                prop_assert_eq!(pd.child_caps(), 0);
                Ok(())
            })
        })?;
    }

    #[test]
    fn bad_images_and_budgets_change_nothing(
        junk in proptest::collection::vec(any::<u8>(), 0..200),
        ram in 0u64..(64 << 10),
        stack in prop_oneof![Just(0u64), 1u64..PAGE, Just(1u64 << 40)],
    ) {
        let (segs, entry) = (vec![Seg { vaddr: 0x40_0000, filesz: 100, memsz: 100, flags: 5 }], 0x40_0000);
        let good = elf(&segs, entry);
        with_pd(|pd, ep| {
            let before = state(pd);
            prop_assert!(loader::load(pd, &spec(&junk, 64 << 20, 8), &Given::default(), RECORD, ep, 3).is_err());
            let e = loader::load(pd, &spec(&good, ram, 8), &Given::default(), RECORD, ep, 3).unwrap_err();
            prop_assert!(matches!(e, LoadError::Budget { .. }), "{e}");
            let mut s = spec(&good, 64 << 20, 8);
            s.stack = stack;
            prop_assert_eq!(loader::load(pd, &s, &Given::default(), RECORD, ep, 3).unwrap_err(), LoadError::Stack(stack));
            prop_assert_eq!(state(pd), before);
            Ok(())
        })?;
    }
}

#[test]
fn a_large_stack_moves_the_image_limit_down() {
    let default = Layout::new(loader::DEFAULT_STACK).unwrap();
    assert_eq!(default.image_limit(), 0x3fff_5000);
    let big = Layout::new(64 << 20).unwrap();
    assert_eq!(default.image_limit() - big.image_limit(), (64 << 20) - loader::DEFAULT_STACK);
    assert_eq!(Layout::new(1 << 30), Err(LoadError::Stack(1 << 30)));
}
