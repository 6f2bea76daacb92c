//! Paging structures of core's own VSpace placed ahead of use: a probe frame mapped where core
//! will map frames later, then unmapped and freed, leaves the structures above it in place
//! (core's own, kept), so that later mappings there take none of core's memory.

use sel4::{cap_type, init_thread, Cap, CapRights, VmAttributes, Word};

use crate::kernel::KernelError;
use crate::object::ObjectType;
use crate::root::state::Core;
use crate::root::vspace::{map_frame, MapError, Mapped, Mapping};

/// Places the paging structures core's VSpace needs to map a frame at `va`, by mapping a probe
/// frame there and freeing it again (core's own structures, kept).
pub fn prepare_paging(core: &mut Core, va: u64) -> Result<Mapped, MapError> {
    let (ours, kernel) = (&mut core.ours, &mut core.kernel);
    let mut place = |ty| ours.alloc(kernel, ty, 0).map(|p| (p.slot, p.handle));
    let (frame, handle) = place(ObjectType::Frame4K).map_err(|e| MapError::Alloc(ObjectType::Frame4K, e))?;
    let mut done = Mapped::default();
    let how = Mapping { vspace: init_thread::VSPACE, rights: CapRights::read_write(), attrs: VmAttributes::DEFAULT };
    map_frame(&mut |ty| place(ty).map(|p| p.0), how, frame, ObjectType::Frame4K, va, &mut done)?;
    Cap::<cap_type::Frame4K>::from_bits(frame.0 as Word)
        .frame_unmap()
        .map_err(|e| MapError::Kernel("unmap probe", e))?;
    core.ours
        .free(&mut core.kernel, handle)
        .map_err(|_| MapError::Kernel("free probe", KernelError::IllegalOperation))?;
    Ok(done)
}
