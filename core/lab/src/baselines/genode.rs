//! Baseline "genode": page-granular placement as Genode's base-sel4 core
//! does it (repos/base-sel4/src/core/, `untyped_memory.h`,
//! `kernel_object.h`, `cnode.h`, `core_cspace.h`).
//!
//! Modelled on that code:
//! * Setup: all memory below the 8 GiB ceiling (Genode's phys CNode indexes
//!   2^21 pages) is retyped into 4 KiB untyped pages, 256 per retype, into
//!   a frame-indexed slot range (slot = base + page number); pages of RAM go
//!   to the physical allocator, pages of device memory to a second one
//!   (IO_MEM). Memory above the ceiling and untypeds below 4 KiB are not used.
//!   The setup's invocations are counted apart ([`GenodePages::setup_retypes`]).
//! * Every object takes a whole page: `Untyped_memory::alloc_page` (AVL,
//!   4 KiB aligned), then one retype of the object from that page's untyped.
//!   So objects larger than 4 KiB (2 MiB/1 GiB frames, untypeds and CNodes
//!   above 4 KiB) cannot be created: base-sel4 builds large RAM dataspaces
//!   from 4 KiB frames and limits CNodes to one page. They count as
//!   `failed` (the allocator has no block of that size). An object asked for
//!   at an address that is not page aligned fails the same way.
//! * Free: `seL4_CNode_Revoke` then `seL4_CNode_Delete` of the object's cap
//!   (`convert_to_untyped_frames`: "Without the revoke, one gets
//!   sporadically Untyped Retype: Insufficient memory"), then the page goes
//!   back to the allocator; the page untyped, now childless, resets on its
//!   next retype.

use crate::baselines::freeindex::{bits_of, SetupError};
use crate::baselines::roots::{Root, Roots};
use crate::baselines::slab::{Entry, Slab};
use crate::strategy::{AllocFailure, FreeError, ObjectId, Placed, Strategy};
use sel4_core::cap_space::{CapEntry, CapSpace};
use sel4_core::kernel::{Capacity, Kernel, Slot, UntypedDesc};
use sel4_core::object::ObjectType;
use sel4_core::range_allocator::ArrayRangeAllocator;
use sel4_kernel_model::RETYPE_FAN_OUT_LIMIT;

pub const PAGE_BITS: u8 = sel4_abi::sys::seL4_PageBits as u8;
const PAGE: u64 = 1 << PAGE_BITS;
/// Genode's phys CNode has 2^21 entries of 4 KiB pages (`core_cspace.h`,
/// `NUM_PHYS_SEL_LOG2`): memory from 8 GiB up is unusable.
pub const CEILING: u64 = 1 << (21 + PAGE_BITS);

#[derive(Copy, Clone, Debug)]
pub struct Obj {
    slot: Slot,
    page: u64,
    device: bool,
}

pub struct GenodePages<'s, const N: usize> {
    ram: &'s mut ArrayRangeAllocator<N>,
    device: &'s mut ArrayRangeAllocator<N>,
    roots: Roots<'s>,
    /// First page slot of each root (sorted like `roots`), `u32::MAX` if
    /// the root was not converted.
    page_base: &'s mut [u32],
    caps: CapSpace<&'s mut [CapEntry]>,
    objs: Slab<'s, Obj>,
    /// Retypes issued by the setup (not part of any trace operation).
    pub setup_retypes: u64,
}

/// Number of page slots [`GenodePages::new`] needs for `boot`.
pub fn pages_needed(boot: &[UntypedDesc]) -> u64 {
    boot.iter().map(|u| convertible(u.paddr, u.size_bits) / PAGE).sum()
}

/// Bytes of an untyped that base-sel4 turns into pages.
fn convertible(paddr: u64, size_bits: u8) -> u64 {
    if size_bits < PAGE_BITS || paddr >= CEILING || !paddr.is_multiple_of(PAGE) {
        return 0;
    }
    (paddr + (1u64 << size_bits)).min(CEILING) - paddr
}

impl<'s, const N: usize> GenodePages<'s, N> {
    /// Converts memory with `k`. Page caps go to slots
    /// `[page_slots, page_slots + pages_needed(boot))`, which must be empty
    /// and outside `caps`.
    #[allow(clippy::too_many_arguments)]
    pub fn new<K: Kernel>(
        k: &mut K,
        ram: &'s mut ArrayRangeAllocator<N>,
        device: &'s mut ArrayRangeAllocator<N>,
        root_storage: &'s mut [Root],
        page_base: &'s mut [u32],
        boot: &[UntypedDesc],
        page_slots: Slot,
        caps: CapSpace<&'s mut [CapEntry]>,
        obj_storage: &'s mut [Entry<Obj>],
    ) -> Result<Self, SetupError> {
        let roots = Roots::new(root_storage, boot).ok_or(SetupError::Roots)?;
        let page_base = page_base.get_mut(..boot.len()).ok_or(SetupError::Capacity)?;
        let mut next = page_slots.0;
        let mut setup_retypes = 0;
        for (r, base) in roots.all().iter().zip(page_base.iter_mut()) {
            let bytes = convertible(r.paddr, r.size_bits);
            if bytes == 0 {
                *base = u32::MAX;
                continue;
            }
            *base = next;
            let pages = bytes / PAGE;
            let mut done = 0u64;
            while done < pages {
                let n = (pages - done).min(u64::from(RETYPE_FAN_OUT_LIMIT)) as u32;
                setup_retypes += 1;
                k.untyped_retype(r.slot, ObjectType::Untyped, PAGE_BITS, Slot(next), n).map_err(SetupError::Kernel)?;
                next = next.checked_add(n).ok_or(SetupError::Capacity)?;
                done += u64::from(n);
            }
            let a = ram_or(&mut *device, &mut *ram, r.is_device);
            a.add_range(r.paddr, bytes).map_err(|_| SetupError::Ranges)?;
        }
        Ok(GenodePages { ram, device, roots, page_base, caps, objs: Slab::new(obj_storage), setup_retypes })
    }

    fn page_slot(&self, page: u64) -> Option<Slot> {
        let i = self.roots.find(page, PAGE)?;
        let base = self.page_base[i];
        (base != u32::MAX).then(|| Slot(base + ((page - self.roots.all()[i].paddr) / PAGE) as u32))
    }

    fn release(&mut self, page: u64, device: bool) {
        let _ = if device { self.device.free(page) } else { self.ram.free(page) };
    }
}

fn ram_or<'a, const N: usize>(
    device: &'a mut ArrayRangeAllocator<N>,
    ram: &'a mut ArrayRangeAllocator<N>,
    is_device: bool,
) -> &'a mut ArrayRangeAllocator<N> {
    if is_device {
        device
    } else {
        ram
    }
}

impl<const N: usize> Strategy for GenodePages<'_, N> {
    fn name(&self) -> &'static str {
        "genode"
    }

    fn alloc<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        addr: Option<u64>,
    ) -> Result<Placed, AllocFailure> {
        let bits = bits_of(ty, size_bits)?;
        if bits > PAGE_BITS {
            return Err(AllocFailure::NoBlock);
        }
        if self.objs.len() == self.objs.capacity() || self.caps.free_slots() == 0 {
            return Err(AllocFailure::Capacity(Capacity::ObjectTable));
        }
        let (page, device) = match addr {
            None => (self.ram.alloc(PAGE, PAGE_BITS, None).map_err(|_| AllocFailure::NoBlock)?, false),
            Some(a) if !a.is_multiple_of(PAGE) => return Err(AllocFailure::NoBlock),
            Some(a) => {
                if self.ram.alloc_addr(a, PAGE).is_ok() {
                    (a, false)
                } else if ty.allowed_from_device() && self.device.alloc_addr(a, PAGE).is_ok() {
                    (a, true)
                } else {
                    return Err(AllocFailure::NoBlock);
                }
            }
        };
        let Some(untyped) = self.page_slot(page) else {
            self.release(page, device);
            return Err(AllocFailure::NoBlock);
        };
        let Ok(slot) = self.caps.alloc() else {
            self.release(page, device);
            return Err(AllocFailure::Capacity(Capacity::ObjectTable));
        };
        if let Err(e) = k.untyped_retype(untyped, ty, size_bits, slot, 1) {
            self.release(page, device);
            let _ = self.caps.free(slot);
            return Err(AllocFailure::Refused(e));
        }
        let i = self.objs.insert(Obj { slot, page, device }).ok_or(AllocFailure::Capacity(Capacity::ObjectTable))?;
        Ok(Placed { handle: self.objs.handle(i), paddr: page, slot })
    }

    fn free<K: Kernel>(&mut self, k: &mut K, h: ObjectId) -> Result<(), FreeError> {
        let i = self.objs.index(h).ok_or(FreeError::InvalidHandle)?;
        let o = *self.objs.get(i).ok_or(FreeError::InvalidHandle)?;
        k.cnode_revoke(o.slot).map_err(FreeError::Kernel)?;
        k.cnode_delete(o.slot).map_err(FreeError::Kernel)?;
        self.release(o.page, o.device);
        let _ = self.caps.free(o.slot);
        self.objs.remove(i);
        Ok(())
    }

    /// A page is the largest block this scheme hands out; verified by
    /// retyping a 4 KiB untyped from a free page and freeing it.
    fn largest_allocatable<K: Kernel>(&mut self, k: &mut K) -> u64 {
        match self.alloc(k, ObjectType::Untyped, PAGE_BITS, None) {
            Ok(p) if self.free(k, p.handle).is_ok() => PAGE,
            _ => 0,
        }
    }
}
