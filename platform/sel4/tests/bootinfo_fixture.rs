//! Bootinfo parsing of a real image: the `seL4_BootInfo` the debug kernel
//! handed to core under QEMU with 512 MiB, captured over serial. Checks
//! every untyped against the kernel's rules for making them
//! (`src/kernel/boot.c:create_untypeds_for_region`: maximal blocks aligned
//! to their size, RAM first, then device gaps in ascending order).

use sel4::bootinfo::{BootInfo, BootInfoError, BOOTINFO_SIZE};

/// Base of the x86_64 kernel window (physical 0 maps here).
const PPTR_BASE: u64 = sel4::abi::PPTR_BASE;

fn fixture() -> Vec<u8> {
    let text = include_str!("fixtures/bootinfo-qemu-512m.txt");
    let mut bytes = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#')) {
        let (off, hex) = line.split_once(' ').unwrap();
        assert_eq!(usize::from_str_radix(off, 16).unwrap(), bytes.len());
        for i in (0..hex.len()).step_by(2) {
            bytes.push(u8::from_str_radix(&hex[i..i + 2], 16).unwrap());
        }
    }
    bytes
}

#[test]
fn summary_fields() {
    let b = fixture();
    assert_eq!(b.len(), BOOTINFO_SIZE);
    let bi = BootInfo::parse(&b).unwrap();
    assert_eq!((bi.node_id(), bi.num_nodes()), (0, 1));
    assert_eq!(bi.init_thread_cnode_size_bits(), 16);
    // Empty slots run to the end of the 2^16-slot root CNode.
    assert_eq!(bi.empty().end, 1 << 16);
    assert_eq!(bi.empty().start, bi.untyped().end);
    assert_eq!(bi.untyped().start, bi.user_image_frames().end);
    // The IPC buffer is the page after the image (which starts at 0x400000).
    assert!(bi.ipc_buffer() > 0x400000 && bi.ipc_buffer().is_multiple_of(4096));
    assert_eq!(bi.user_image_frames().len() as u64, (bi.ipc_buffer() - 0x400000) / 4096);
    assert!(bi.tsc_mhz() > 0);
    assert!(bi.extra_len() >= 4096);
    assert_eq!(bi.untyped_count(), 139);
}

#[test]
fn every_untyped_follows_the_kernel_rules() {
    let b = fixture();
    let bi = BootInfo::parse(&b).unwrap();
    let all: Vec<_> = bi.untypeds().collect();
    assert_eq!(all.len(), bi.untyped_count());
    let mut ram = 0u128;
    let mut last_device_end = 0u128;
    let mut seen_device = false;
    for (i, u) in all.iter().enumerate() {
        assert_eq!(u.slot.0 as u64, bi.untyped().start + i as u64, "slots are consecutive");
        assert!((4..=47).contains(&u.size_bits), "untyped {i}: {} bits", u.size_bits);
        // The kernel aligns the blocks by their kernel virtual address
        // (`reg.start` is a pointer in the kernel window at PPTR_BASE,
        // `include/plat/pc99/plat/64/plat_mode/machine/hardware.h`), so
        // physical alignment holds only up to PPTR_BASE's own alignment
        // (2^39): above 512 GiB a 1 TiB device untyped may start at an odd
        // multiple of 512 GiB.
        let kvaddr = u.paddr.wrapping_add(PPTR_BASE) as u128;
        assert_eq!(kvaddr % u.size(), 0, "untyped {i} is aligned in the kernel window");
        if u.size_bits <= 39 {
            assert_eq!(u.paddr as u128 % u.size(), 0, "untyped {i} is naturally aligned");
        }
        if u.is_device {
            seen_device = true;
            assert!(u.paddr as u128 >= last_device_end, "device untypeds ascend");
            last_device_end = u.paddr as u128 + u.size();
            assert!(last_device_end <= 1 << 47);
        } else {
            assert!(!seen_device, "RAM untypeds come before device ones");
            // QEMU's usable RAM at or above 1 MiB: [0x100000, 0x1ffe0000).
            assert!(u.paddr >= 0x100000 && u.paddr as u128 + u.size() <= 0x1ffe0000, "untyped {i}");
            ram += u.size();
        }
    }
    // The first untyped is the kernel's boot-code region at PADDR_LOAD.
    assert_eq!((all[0].paddr, all[0].is_device), (0x100000, false));
    assert_eq!(all.iter().filter(|u| !u.is_device).count(), 33);
    assert_eq!(ram, 533_069_824);
    // RAM untypeds never overlap device untypeds.
    for r in all.iter().filter(|u| !u.is_device) {
        for d in all.iter().filter(|u| u.is_device) {
            let (rs, re) = (r.paddr as u128, r.paddr as u128 + r.size());
            let (ds, de) = (d.paddr as u128, d.paddr as u128 + d.size());
            assert!(re <= ds || de <= rs, "{r:?} overlaps {d:?}");
        }
    }
    // The last device untyped ends at the top of the user device range (2^47).
    assert_eq!(last_device_end, 1 << 47);
}

#[test]
fn truncated_or_corrupt_images_are_errors() {
    let b = fixture();
    for len in [0, 1, 152, 168, 169, BOOTINFO_SIZE - 1] {
        assert!(matches!(BootInfo::parse(&b[..len]), Err(BootInfoError::TooShort { .. })), "len {len}");
    }
    // Untyped region end moved past the list's capacity.
    let mut bad = b.clone();
    bad[161..169].copy_from_slice(&u64::MAX.to_le_bytes());
    assert!(matches!(BootInfo::parse(&bad), Err(BootInfoError::BadUntypedRegion { .. })));
    // A descriptor claiming a 200-bit untyped.
    let mut bad = b;
    bad[169 + 5 * 12 + 10] = 200;
    assert_eq!(BootInfo::parse(&bad).unwrap_err(), BootInfoError::BadUntypedSize { index: 5, size_bits: 200 });
}
