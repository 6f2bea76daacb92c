//! Baseline "freeindex": an address allocator on top of plain FreeIndex
//! placement, with no padding. The range allocator chooses an address, the
//! object is retyped straight from the boot untyped (root) that owns it, and
//! the kernel decides where it lands (`alignUp(FreeIndex, size)`,
//! src/object/untyped.c:decodeUntypedInvocation). When the kernel refuses,
//! or places the object elsewhere than the allocator chose, the allocation
//! counts as refused (a misplaced object is deleted again). Free deletes the
//! object cap; the root's FreeIndex only goes back to 0 when its last child
//! is gone, so freed holes below the watermark stay unusable until then.
//! This is what a Genode-style core gets without placement control.

use crate::baselines::roots::{Root, Roots};
use crate::baselines::slab::{Entry, Slab};
use crate::strategy::{AllocFailure, FreeError, ObjectId, Placed, Strategy};
use sel4_core::cap_space::{CapEntry, CapSpace};
use sel4_core::kernel::{Capacity, Kernel, KernelError, Slot, UntypedDesc};
use sel4_core::object::{ObjectType, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS};
use sel4_core::range_allocator::{ArrayRangeAllocator, RangeError};

/// A live object of this strategy.
#[derive(Copy, Clone, Debug)]
pub struct Obj {
    root: u32,
    slot: Slot,
    paddr: u64,
    device: bool,
}

/// Why a baseline could not be set up.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum SetupError {
    /// Storage for roots too small, or roots overlap.
    Roots,
    /// The range allocator refused a root (metadata or boundary capacity).
    Ranges,
    /// Cap slots or other fixed storage too small.
    Capacity,
    /// The kernel refused a setup invocation.
    Kernel(KernelError),
}

pub struct FreeIndexOnly<'s, const N: usize> {
    ram: &'s mut ArrayRangeAllocator<N>,
    device: &'s mut ArrayRangeAllocator<N>,
    roots: Roots<'s>,
    caps: CapSpace<&'s mut [CapEntry]>,
    objs: Slab<'s, Obj>,
}

/// Add every root to the RAM or device allocator, with boundaries at its
/// edges so no block spans two roots.
pub(crate) fn add_roots<const N: usize>(
    roots: &[Root],
    ram: &mut ArrayRangeAllocator<N>,
    device: &mut ArrayRangeAllocator<N>,
) -> Result<(), SetupError> {
    for r in roots {
        let a = if r.is_device { &mut *device } else { &mut *ram };
        a.add_boundary(r.paddr).map_err(|_| SetupError::Ranges)?;
        a.add_boundary(r.end()).map_err(|_| SetupError::Ranges)?;
        a.add_range(r.paddr, r.size()).map_err(|_| SetupError::Ranges)?;
    }
    Ok(())
}

/// Choose an address: anonymous requests from RAM (first fit, naturally
/// aligned); requests at an address from RAM, or from device memory for
/// the types a device untyped can hold. Returns the address and whether it
/// is device memory.
pub(crate) fn choose<const N: usize>(
    ram: &mut ArrayRangeAllocator<N>,
    device: &mut ArrayRangeAllocator<N>,
    ty: ObjectType,
    bits: u8,
    addr: Option<u64>,
) -> Result<(u64, bool), AllocFailure> {
    let size = 1u64 << bits;
    match addr {
        None => ram.alloc(size, bits, None).map(|a| (a, false)).map_err(|e| match e {
            RangeError::OutOfMetadata => AllocFailure::Capacity(Capacity::RangeBlocks),
            _ => AllocFailure::NoBlock,
        }),
        Some(a) => {
            if ram.alloc_addr(a, size).is_ok() {
                Ok((a, false))
            } else if ty.allowed_from_device() && device.alloc_addr(a, size).is_ok() {
                Ok((a, true))
            } else {
                Err(AllocFailure::NoBlock)
            }
        }
    }
}

/// The object's log2 size, or the kernel's answer to a bad request.
pub(crate) fn bits_of(ty: ObjectType, size_bits: u8) -> Result<u8, AllocFailure> {
    let bits = ty.object_bits(size_bits).map_err(AllocFailure::Invalid)?;
    if bits > MAX_UNTYPED_BITS {
        return Err(AllocFailure::Invalid(KernelError::NotEnoughMemory { bytes_available: 0 }));
    }
    Ok(bits)
}

impl<'s, const N: usize> FreeIndexOnly<'s, N> {
    /// `ram`/`device` must be empty allocators; `root_storage` holds at least
    /// `boot.len()` entries; `caps` manages free slots for objects.
    pub fn new(
        ram: &'s mut ArrayRangeAllocator<N>,
        device: &'s mut ArrayRangeAllocator<N>,
        root_storage: &'s mut [Root],
        boot: &[UntypedDesc],
        caps: CapSpace<&'s mut [CapEntry]>,
        obj_storage: &'s mut [Entry<Obj>],
    ) -> Result<Self, SetupError> {
        let roots = Roots::new(root_storage, boot).ok_or(SetupError::Roots)?;
        add_roots(roots.all(), ram, device)?;
        Ok(FreeIndexOnly { ram, device, roots, caps, objs: Slab::new(obj_storage) })
    }

    fn release(&mut self, addr: u64, device: bool) {
        let a = if device { &mut *self.device } else { &mut *self.ram };
        let _ = a.free(addr);
    }
}

impl<const N: usize> Strategy for FreeIndexOnly<'_, N> {
    fn name(&self) -> &'static str {
        "freeindex"
    }

    fn alloc<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        size_bits: u8,
        addr: Option<u64>,
    ) -> Result<Placed, AllocFailure> {
        let bits = bits_of(ty, size_bits)?;
        if self.objs.len() == self.objs.capacity() || self.caps.free_slots() == 0 {
            return Err(AllocFailure::Capacity(Capacity::ObjectTable));
        }
        let (a, dev) = choose(self.ram, self.device, ty, bits, addr)?;
        let Some(ri) = self.roots.find(a, 1u64 << bits) else {
            self.release(a, dev);
            return Err(AllocFailure::NoBlock);
        };
        let Ok(slot) = self.caps.alloc() else {
            self.release(a, dev);
            return Err(AllocFailure::Capacity(Capacity::ObjectTable));
        };
        let root = self.roots.get_mut(ri);
        let off = root.next_offset(bits);
        let (root_slot, root_paddr) = (root.slot, root.paddr);
        if let Err(e) = k.untyped_retype(root_slot, ty, size_bits, slot, 1) {
            self.release(a, dev);
            let _ = self.caps.free(slot);
            return Err(AllocFailure::Refused(e));
        }
        self.roots.get_mut(ri).note_retype(off, bits, 1);
        let placed = root_paddr.wrapping_add(off);
        if placed != a {
            // The kernel put it elsewhere: not what the allocator chose. Delete it again (the
            // watermark stays where the kernel moved it while the root has other children).
            if k.cnode_delete(slot).is_ok() {
                self.roots.get_mut(ri).children -= 1;
                let _ = self.caps.free(slot);
            }
            self.release(a, dev);
            return Err(AllocFailure::Elsewhere { paddr: placed });
        }
        let i = self
            .objs
            .insert(Obj { root: ri as u32, slot, paddr: a, device: dev })
            .ok_or(AllocFailure::Capacity(Capacity::ObjectTable))?;
        Ok(Placed { handle: self.objs.handle(i), paddr: a, slot })
    }

    fn free<K: Kernel>(&mut self, k: &mut K, h: ObjectId) -> Result<(), FreeError> {
        let i = self.objs.index(h).ok_or(FreeError::InvalidHandle)?;
        let o = *self.objs.get(i).ok_or(FreeError::InvalidHandle)?;
        k.cnode_delete(o.slot).map_err(FreeError::Kernel)?;
        self.roots.get_mut(o.root as usize).children -= 1;
        self.release(o.paddr, o.device);
        let _ = self.caps.free(o.slot);
        self.objs.remove(i);
        Ok(())
    }

    /// Tries untypeds from the allocator's largest aligned free block down,
    /// each one allocated through the kernel and freed again.
    fn largest_allocatable<K: Kernel>(&mut self, k: &mut K) -> u64 {
        let Some(top) = self.ram.largest_aligned_free_log2() else {
            return 0;
        };
        for bits in (MIN_UNTYPED_BITS..=top.min(MAX_UNTYPED_BITS)).rev() {
            if let Ok(p) = self.alloc(k, ObjectType::Untyped, bits, None) {
                if self.free(k, p.handle).is_ok() {
                    return 1u64 << bits;
                }
            }
        }
        0
    }
}
