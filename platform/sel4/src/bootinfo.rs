//! `seL4_BootInfo`, parsed from bytes (`libsel4/include/sel4/bootinfo_types.h`).
//! The C struct is packed and `initThreadDomain` is a full word at the
//! unaligned offset 137, so every field is read at its byte offset rather
//! than through a `repr(C)` struct; parsing a byte slice keeps it testable
//! on the host and turns a short or inconsistent image into an error.

use crate::{sys, Word, WORD_BITS};

const W: usize = WORD_BITS / 8;
/// Byte size of `seL4_SlotRegion`.
const SLOT_REGION: usize = 2 * W;

// Field offsets, in declaration order.
const EXTRA_LEN: usize = 0;
const NODE_ID: usize = EXTRA_LEN + W;
const NUM_NODES: usize = NODE_ID + W;
const NUM_IOPT_LEVELS: usize = NUM_NODES + W;
const IPC_BUFFER: usize = NUM_IOPT_LEVELS + W;
const EMPTY: usize = IPC_BUFFER + W;
const SHARED_FRAMES: usize = EMPTY + SLOT_REGION;
const USER_IMAGE_FRAMES: usize = SHARED_FRAMES + SLOT_REGION;
const USER_IMAGE_PAGING: usize = USER_IMAGE_FRAMES + SLOT_REGION;
const IO_SPACE_CAPS: usize = USER_IMAGE_PAGING + SLOT_REGION;
const EXTRA_BI_PAGES: usize = IO_SPACE_CAPS + SLOT_REGION;
const INIT_THREAD_CNODE_SIZE_BITS: usize = EXTRA_BI_PAGES + SLOT_REGION;
const INIT_THREAD_DOMAIN: usize = INIT_THREAD_CNODE_SIZE_BITS + 1;
const ARCH_INFO: usize = INIT_THREAD_DOMAIN + W;
const UNTYPED: usize = ARCH_INFO + W;
/// Offset of `untypedList` (169 on x86_64).
pub const UNTYPED_LIST_OFFSET: usize = UNTYPED + SLOT_REGION;
/// Byte size of one `seL4_UntypedDesc`: paddr, two padding bytes, sizeBits, isDevice.
pub const UNTYPED_DESC_SIZE: usize = W + 4;
/// Length of the untyped list (`CONFIG_MAX_NUM_BOOTINFO_UNTYPED_CAPS`).
pub const MAX_UNTYPEDS: usize = sel4_config::MAX_NUM_BOOTINFO_UNTYPED_CAPS;
/// `sizeof(seL4_BootInfo)`.
pub const BOOTINFO_SIZE: usize = UNTYPED_LIST_OFFSET + MAX_UNTYPEDS * UNTYPED_DESC_SIZE;
/// The bootinfo frame the kernel maps for the root task is one 4 KiB page
/// (`src/kernel/boot.c:allocate_bi_frame`).
pub const BOOTINFO_FRAME_SIZE: usize = 1 << sys::seL4_PageBits;

/// A run of CNode slots `[start, end)`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SlotRegion {
    pub start: Word,
    pub end: Word,
}

impl SlotRegion {
    pub fn len(&self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn contains(&self, slot: Word) -> bool {
        (self.start..self.end).contains(&slot)
    }
}

/// One boot untyped (`seL4_UntypedDesc`) and the slot holding its cap: `sel4-abi`'s type.
pub use sel4_abi::UntypedDesc;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BootInfoError {
    /// The image is shorter than `sizeof(seL4_BootInfo)`.
    TooShort { len: usize, need: usize },
    /// The untyped slot region is reversed or longer than the list.
    BadUntypedRegion { start: Word, end: Word },
    /// An untyped descriptor with an impossible size (`> 63` bits).
    BadUntypedSize { index: usize, size_bits: u8 },
}

/// A parsed view of a bootinfo image.
#[derive(Clone, Copy, Debug)]
pub struct BootInfo<'a> {
    bytes: &'a [u8],
}

fn word_at(b: &[u8], off: usize) -> Word {
    let mut w = [0u8; W];
    w.copy_from_slice(&b[off..off + W]);
    Word::from_le_bytes(w)
}

impl<'a> BootInfo<'a> {
    /// Checks the image and wraps it. Every later accessor is infallible.
    pub fn parse(bytes: &'a [u8]) -> Result<Self, BootInfoError> {
        if bytes.len() < BOOTINFO_SIZE {
            return Err(BootInfoError::TooShort { len: bytes.len(), need: BOOTINFO_SIZE });
        }
        let bi = BootInfo { bytes: &bytes[..BOOTINFO_SIZE] };
        let u = bi.untyped();
        if u.end < u.start || u.len() > MAX_UNTYPEDS {
            return Err(BootInfoError::BadUntypedRegion { start: u.start, end: u.end });
        }
        for i in 0..u.len() {
            let size_bits = bi.bytes[UNTYPED_LIST_OFFSET + i * UNTYPED_DESC_SIZE + W + 2];
            if size_bits as usize >= WORD_BITS {
                return Err(BootInfoError::BadUntypedSize { index: i, size_bits });
            }
        }
        Ok(bi)
    }

    /// Wraps the bootinfo frame the kernel mapped at `ptr`.
    ///
    /// # Safety
    /// `ptr` must point to a readable bootinfo frame of 4 KiB that stays
    /// mapped and unchanged for `'static` (true for the root task's frame).
    pub unsafe fn from_ptr(ptr: *const u8) -> Result<BootInfo<'static>, BootInfoError> {
        // SAFETY: the caller promises BOOTINFO_FRAME_SIZE readable bytes at
        // `ptr` that nothing changes for 'static.
        BootInfo::parse(unsafe { core::slice::from_raw_parts(ptr, BOOTINFO_FRAME_SIZE) })
    }

    /// The bytes of the `seL4_BootInfo` struct.
    pub fn as_bytes(&self) -> &'a [u8] {
        self.bytes
    }

    fn word(&self, off: usize) -> Word {
        word_at(self.bytes, off)
    }

    fn region(&self, off: usize) -> SlotRegion {
        SlotRegion { start: self.word(off), end: self.word(off + W) }
    }

    pub fn extra_len(&self) -> Word {
        self.word(EXTRA_LEN)
    }
    pub fn node_id(&self) -> Word {
        self.word(NODE_ID)
    }
    pub fn num_nodes(&self) -> Word {
        self.word(NUM_NODES)
    }
    /// IOMMU page-table levels; all ones when there is no IOMMU.
    pub fn num_iopt_levels(&self) -> Word {
        self.word(NUM_IOPT_LEVELS)
    }
    /// Virtual address of the initial thread's IPC buffer.
    pub fn ipc_buffer(&self) -> Word {
        self.word(IPC_BUFFER)
    }
    pub fn empty(&self) -> SlotRegion {
        self.region(EMPTY)
    }
    pub fn shared_frames(&self) -> SlotRegion {
        self.region(SHARED_FRAMES)
    }
    pub fn user_image_frames(&self) -> SlotRegion {
        self.region(USER_IMAGE_FRAMES)
    }
    pub fn user_image_paging(&self) -> SlotRegion {
        self.region(USER_IMAGE_PAGING)
    }
    pub fn io_space_caps(&self) -> SlotRegion {
        self.region(IO_SPACE_CAPS)
    }
    pub fn extra_bi_pages(&self) -> SlotRegion {
        self.region(EXTRA_BI_PAGES)
    }
    pub fn init_thread_cnode_size_bits(&self) -> u8 {
        self.bytes[INIT_THREAD_CNODE_SIZE_BITS]
    }
    pub fn init_thread_domain(&self) -> Word {
        self.word(INIT_THREAD_DOMAIN)
    }
    /// x86: TSC frequency in MHz (`src/plat/pc99/machine/hardware.c:tsc_init`).
    pub fn arch_info(&self) -> Word {
        self.word(ARCH_INFO)
    }
    pub fn tsc_mhz(&self) -> Word {
        self.arch_info()
    }
    pub fn untyped(&self) -> SlotRegion {
        self.region(UNTYPED)
    }

    /// Number of boot untypeds.
    pub fn untyped_count(&self) -> usize {
        self.untyped().len()
    }

    /// Descriptor `i` of the untyped list (slot `untyped.start + i`).
    pub fn untyped_desc(&self, i: usize) -> Option<UntypedDesc> {
        if i >= self.untyped_count() {
            return None;
        }
        let off = UNTYPED_LIST_OFFSET + i * UNTYPED_DESC_SIZE;
        Some(UntypedDesc {
            // Slots of the root CNode: its radix is below 32 bits (`CONFIG_ROOT_CNODE_SIZE_BITS`).
            slot: sel4_abi::Slot((self.untyped().start + i as Word) as u32),
            paddr: self.word(off),
            size_bits: self.bytes[off + W + 2],
            is_device: self.bytes[off + W + 3] != 0,
        })
    }

    /// Every boot untyped, in slot order.
    pub fn untypeds(&self) -> impl ExactSizeIterator<Item = UntypedDesc> + 'a {
        let bi = *self;
        (0..bi.untyped_count()).map(move |i| bi.untyped_desc(i).expect("index below the checked count"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_matches_the_c_struct() {
        // offsetof(seL4_BootInfo, ...) computed by gcc from the packed header.
        assert_eq!(INIT_THREAD_CNODE_SIZE_BITS, 136);
        assert_eq!(INIT_THREAD_DOMAIN, 137);
        assert_eq!(ARCH_INFO, 145);
        assert_eq!(UNTYPED, 153);
        assert_eq!(UNTYPED_LIST_OFFSET, 169);
        assert_eq!(UNTYPED_DESC_SIZE, 12);
    }

    #[test]
    fn short_images_are_errors() {
        let b = vec![0u8; BOOTINFO_SIZE - 1];
        assert_eq!(
            BootInfo::parse(&b).unwrap_err(),
            BootInfoError::TooShort { len: BOOTINFO_SIZE - 1, need: BOOTINFO_SIZE }
        );
        assert!(BootInfo::parse(&[]).is_err());
    }

    fn put(b: &mut [u8], off: usize, w: Word) {
        b[off..off + 8].copy_from_slice(&w.to_le_bytes());
    }

    #[test]
    fn bad_untyped_regions_are_errors() {
        let mut b = vec![0u8; BOOTINFO_SIZE];
        put(&mut b, UNTYPED, 20);
        put(&mut b, UNTYPED + 8, 10);
        assert_eq!(BootInfo::parse(&b).unwrap_err(), BootInfoError::BadUntypedRegion { start: 20, end: 10 });
        put(&mut b, UNTYPED + 8, 20 + MAX_UNTYPEDS as Word + 1);
        assert!(matches!(BootInfo::parse(&b), Err(BootInfoError::BadUntypedRegion { .. })));
        put(&mut b, UNTYPED, Word::MAX);
        put(&mut b, UNTYPED + 8, 5);
        assert!(BootInfo::parse(&b).is_err());
        put(&mut b, UNTYPED, 10);
        put(&mut b, UNTYPED + 8, 12);
        b[UNTYPED_LIST_OFFSET + UNTYPED_DESC_SIZE + 10] = 64;
        assert_eq!(BootInfo::parse(&b).unwrap_err(), BootInfoError::BadUntypedSize { index: 1, size_bits: 64 });
    }

    #[test]
    fn full_untyped_list_every_entry() {
        let mut b = vec![0u8; BOOTINFO_FRAME_SIZE];
        let start = 300;
        put(&mut b, UNTYPED, start);
        put(&mut b, UNTYPED + 8, start + MAX_UNTYPEDS as Word);
        let desc = |i: usize| (((i as Word) << 24) | 0x1000, (4 + i % 44) as u8, i.is_multiple_of(3));
        for i in 0..MAX_UNTYPEDS {
            let off = UNTYPED_LIST_OFFSET + i * UNTYPED_DESC_SIZE;
            let (p, s, d) = desc(i);
            put(&mut b, off, p);
            b[off + 8] = 0xaa; // padding bytes are ignored
            b[off + 9] = 0x55;
            b[off + 10] = s;
            b[off + 11] = d as u8;
        }
        let bi = BootInfo::parse(&b).unwrap();
        assert_eq!(bi.untyped_count(), MAX_UNTYPEDS);
        let all: Vec<UntypedDesc> = bi.untypeds().collect();
        assert_eq!(all.len(), MAX_UNTYPEDS);
        for (i, u) in all.iter().enumerate() {
            let (p, s, d) = desc(i);
            assert_eq!(
                *u,
                UntypedDesc { slot: sel4_abi::Slot((start + i as Word) as u32), paddr: p, size_bits: s, is_device: d }
            );
        }
        assert_eq!(bi.untyped_desc(MAX_UNTYPEDS), None);
        // Bytes after the struct do not belong to it.
        assert_eq!(bi.as_bytes().len(), BOOTINFO_SIZE);
    }
}
