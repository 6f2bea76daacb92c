//! A child service's ELF image as core loads it: which pages to map where, with which rights,
//! and which bytes of the file fill them. Read with the `elf` crate; every header field a load
//! depends on is checked, so a bad image is an error, never a wrong mapping.

use alloc::vec::Vec;

use elf::abi::{EM_X86_64, ET_EXEC, PF_R, PF_W, PF_X, PT_LOAD};
use elf::endian::LittleEndian;
use elf::file::Class;
use elf::ElfBytes;

/// Bytes of a page: child images are mapped in 4 KiB frames (`seL4_PageBits`).
pub const PAGE: u64 = 1 << sel4_abi::sys::seL4_PageBits;

/// Why an image cannot be loaded.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ImageError {
    /// Not an ELF file the `elf` crate can read.
    Parse,
    /// Not a 64-bit x86_64 executable (static, not position independent).
    NotX86_64Executable,
    /// A segment whose file bytes lie outside the file, whose file size exceeds its memory
    /// size, whose address and file offset differ modulo a page, or that ends past `limit`.
    BadSegment { index: usize },
    /// Two segments share a page.
    Overlap { index: usize },
    /// No loadable segment, or the entry point in none that is executable.
    BadEntry,
}

impl core::fmt::Display for ImageError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            ImageError::Parse => write!(f, "not a readable ELF file"),
            ImageError::NotX86_64Executable => write!(f, "not a 64-bit x86_64 static executable"),
            ImageError::BadSegment { index } => write!(f, "loadable segment {index} is malformed or out of range"),
            ImageError::Overlap { index } => write!(f, "loadable segment {index} shares a page with another"),
            ImageError::BadEntry => write!(f, "the entry point lies in no executable segment"),
        }
    }
}

/// One loadable segment, widened to whole pages.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Segment {
    /// First page's virtual address.
    pub vaddr: u64,
    /// Pages the segment covers.
    pub pages: u64,
    /// Where the file bytes go: `[file_vaddr, file_vaddr + file_len)`, filled from
    /// `[file_offset, file_offset + file_len)` of the image; the rest of the pages is zero.
    pub file_vaddr: u64,
    pub file_offset: u64,
    pub file_len: u64,
    pub writable: bool,
    pub executable: bool,
}

impl Segment {
    pub fn end(&self) -> u64 {
        self.vaddr + self.pages * PAGE
    }

    /// The file bytes of the page at `vaddr` (inside the segment): the page offset they start
    /// at and the range of the image they come from (empty for a page of bss only).
    pub fn page_fill(&self, vaddr: u64) -> (u64, core::ops::Range<usize>) {
        let (lo, hi) = (vaddr.max(self.file_vaddr), (vaddr + PAGE).min(self.file_vaddr + self.file_len));
        if lo >= hi {
            return (0, 0..0);
        }
        let from = self.file_offset + (lo - self.file_vaddr);
        (lo - vaddr, from as usize..(from + (hi - lo)) as usize)
    }
}

/// What loading an image takes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Image {
    pub entry: u64,
    /// As many as the ELF header lists (`e_phnum`).
    pub segments: Vec<Segment>,
}

impl Image {
    /// Reads `bytes`; every segment must end at or below `limit` (the part of the address
    /// space the image may use).
    pub fn parse(bytes: &[u8], limit: u64) -> Result<Image, ImageError> {
        let file = ElfBytes::<LittleEndian>::minimal_parse(bytes).map_err(|_| ImageError::Parse)?;
        let h = &file.ehdr;
        if h.class != Class::ELF64 || h.e_machine != EM_X86_64 || h.e_type != ET_EXEC {
            return Err(ImageError::NotX86_64Executable);
        }
        let mut segments: Vec<Segment> = Vec::new();
        let table = file.segments().ok_or(ImageError::BadEntry)?;
        for (index, p) in table.iter().filter(|p| p.p_type == PT_LOAD && p.p_memsz > 0).enumerate() {
            let bad = ImageError::BadSegment { index };
            let file_end = p.p_offset.checked_add(p.p_filesz).ok_or(bad)?;
            let mem_end = p.p_vaddr.checked_add(p.p_memsz).ok_or(bad)?;
            if file_end > bytes.len() as u64 || p.p_filesz > p.p_memsz || p.p_vaddr % PAGE != p.p_offset % PAGE {
                return Err(bad);
            }
            let vaddr = p.p_vaddr - p.p_vaddr % PAGE;
            let end = mem_end.checked_next_multiple_of(PAGE).ok_or(bad)?;
            if end > limit {
                return Err(bad);
            }
            let s = Segment {
                vaddr,
                pages: (end - vaddr) / PAGE,
                file_vaddr: p.p_vaddr,
                file_offset: p.p_offset,
                file_len: p.p_filesz,
                writable: p.p_flags & PF_W != 0,
                // The kernel maps nothing non-executable (it never sets NX), and a page without
                // read rights would be kernel-only: every segment is readable.
                executable: p.p_flags & PF_X != 0 || p.p_flags & PF_R == 0,
            };
            segments.push(s);
        }
        // Overlaps, in address order: a segment overlaps another exactly when it overlaps its
        // neighbour there (the later of the two in the file is named).
        let mut order: Vec<usize> = (0..segments.len()).collect();
        order.sort_unstable_by_key(|&i| segments[i].vaddr);
        for w in order.windows(2) {
            if segments[w[1]].vaddr < segments[w[0]].end() {
                return Err(ImageError::Overlap { index: w[0].max(w[1]) });
            }
        }
        let entry = h.e_entry;
        if !segments.iter().any(|s| s.executable && (s.file_vaddr..s.file_vaddr + s.file_len).contains(&entry)) {
            return Err(ImageError::BadEntry);
        }
        Ok(Image { entry, segments })
    }

    /// Pages of all segments.
    pub fn pages(&self) -> u64 {
        self.segments.iter().map(|s| s.pages).sum()
    }
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::vec::Vec;

    /// A minimal ELF64 x86_64 executable with the given (vaddr, offset, filesz, memsz, flags)
    /// segments, `filler` file bytes after the headers, entry at `entry`.
    fn elf(segments: &[(u64, u64, u64, u64, u32)], entry: u64, file_len: usize) -> Vec<u8> {
        let mut b = Vec::new();
        b.extend_from_slice(&[0x7f, b'E', b'L', b'F', 2, 1, 1, 0]);
        b.extend_from_slice(&[0; 8]);
        b.extend_from_slice(&ET_EXEC.to_le_bytes());
        b.extend_from_slice(&EM_X86_64.to_le_bytes());
        b.extend_from_slice(&1u32.to_le_bytes());
        b.extend_from_slice(&entry.to_le_bytes());
        b.extend_from_slice(&64u64.to_le_bytes()); // phoff
        b.extend_from_slice(&0u64.to_le_bytes()); // shoff
        b.extend_from_slice(&0u32.to_le_bytes()); // flags
        b.extend_from_slice(&64u16.to_le_bytes()); // ehsize
        b.extend_from_slice(&56u16.to_le_bytes()); // phentsize
        b.extend_from_slice(&(segments.len() as u16).to_le_bytes());
        b.extend_from_slice(&[0; 6]); // shentsize, shnum, shstrndx
        for &(vaddr, offset, filesz, memsz, flags) in segments {
            b.extend_from_slice(&PT_LOAD.to_le_bytes());
            b.extend_from_slice(&flags.to_le_bytes());
            for v in [offset, vaddr, vaddr, filesz, memsz, PAGE] {
                b.extend_from_slice(&v.to_le_bytes());
            }
        }
        b.resize(file_len.max(b.len()), 0xab);
        b
    }

    const RX: u32 = PF_R | PF_X;
    const RW: u32 = PF_R | PF_W;

    #[test]
    fn text_data_and_bss_become_pages_with_their_fill() {
        let bytes =
            elf(&[(0x100_0000, 0, 0x1800, 0x1800, RX), (0x100_2800, 0x1800, 0x100, 0x3000, RW)], 0x100_0010, 0x1900);
        let img = Image::parse(&bytes, 1 << 32).unwrap();
        assert_eq!(img.entry, 0x100_0010);
        let (text, data) = (img.segments[0], img.segments[1]);
        assert_eq!((text.vaddr, text.pages, text.executable, text.writable), (0x100_0000, 2, true, false));
        assert_eq!((data.vaddr, data.pages, data.writable), (0x100_2000, 4, true));
        assert_eq!(img.pages(), 6);
        // Data starts 0x800 into its first page; its file bytes end there too; the rest is bss.
        assert_eq!(data.page_fill(0x100_2000), (0x800, 0x1800..0x1900));
        assert_eq!(data.page_fill(0x100_3000), (0, 0..0));
        assert_eq!(text.page_fill(0x100_1000), (0, 0x1000..0x1800));
    }

    #[test]
    fn as_many_segments_as_the_header_lists() {
        // Twenty one-page segments, a page apart, listed from the highest address down.
        let segs: Vec<(u64, u64, u64, u64, u32)> =
            (0..20u64).rev().map(|i| (0x100_0000 + 2 * i * PAGE, 0, 0x10, 0x10, RX)).collect();
        let img = Image::parse(&elf(&segs, 0x100_0000, 0x100), 1 << 32).unwrap();
        assert_eq!(img.segments.len(), 20);
        // Two of them in one page, far apart in the file: named by the later.
        let mut clash = segs.clone();
        clash[3] = (0x100_0000 + 2 * 5 * PAGE + 0x800, 0x800, 0, 0x10, RW);
        assert_eq!(Image::parse(&elf(&clash, 0x100_0000, 0x1000), 1 << 32), Err(ImageError::Overlap { index: 14 }));
    }

    #[test]
    fn malformed_images_are_errors() {
        assert_eq!(Image::parse(b"not an elf", 1 << 32), Err(ImageError::Parse));
        let ok = [(0x100_0000, 0, 0x100, 0x100, RX)];
        let mut b = elf(&ok, 0x100_0000, 0x100);
        b[16] = 3; // ET_DYN: position independent
        assert_eq!(Image::parse(&b, 1 << 32), Err(ImageError::NotX86_64Executable));
        // File bytes beyond the file, filesz > memsz, misaligned offset, past the limit.
        let e = |s: &[(u64, u64, u64, u64, u32)]| Image::parse(&elf(s, 0x100_0000, 0x100), 1 << 32).err();
        assert_eq!(e(&[(0x100_0000, 0, 0x2000, 0x2000, RX)]), Some(ImageError::BadSegment { index: 0 }));
        assert_eq!(e(&[(0x100_0000, 0, 0x100, 0x80, RX)]), Some(ImageError::BadSegment { index: 0 }));
        assert_eq!(e(&[(0x100_0000, 8, 0x10, 0x10, RX)]), Some(ImageError::BadSegment { index: 0 }));
        assert_eq!(e(&[(0x1_0000_0000, 0, 0x10, 0x10, RX)]), Some(ImageError::BadSegment { index: 0 }));
        assert_eq!(e(&[(u64::MAX - 0x10, 0, 0x10, 0x100, RX)]), Some(ImageError::BadSegment { index: 0 }));
        // Two segments in one page; an entry outside any executable segment.
        let two_in_a_page =
            elf(&[(0x100_0000, 0, 0x10, 0x10, RX), (0x100_0800, 0x800, 0, 0x10, RW)], 0x100_0000, 0x1000);
        assert_eq!(Image::parse(&two_in_a_page, 1 << 32), Err(ImageError::Overlap { index: 1 }));
        assert_eq!(Image::parse(&elf(&ok, 0x200_0000, 0x100), 1 << 32), Err(ImageError::BadEntry));
        assert_eq!(Image::parse(&elf(&[], 0x100_0000, 0x100), 1 << 32), Err(ImageError::BadEntry));
    }
}
