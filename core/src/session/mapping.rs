//! The walk ([`crate::walk`]) over a child's PD, as its sessions and its loader map: the
//! paging structures it places are charged to the same [`Pending`] and recorded in `paging`.

use alloc::vec::Vec;

use sel4_core_protocol::ErrorCode;

use super::pd::Pd;
use super::{Paging, Pending};
use crate::kernel::{KernelError, Slot};
use crate::object::ObjectType;
pub use crate::walk::FrameMap;
use crate::walk::{self, MapFailure, Walk};

/// A child's VSpace, its paging structures charged to `pending`.
struct ChildWalk<'a, P: Pd> {
    pd: &'a mut P,
    pending: &'a mut Pending,
    paging: &'a mut Vec<Paging>,
}

impl<P: Pd> Walk for ChildWalk<'_, P> {
    type Error = ErrorCode;

    fn map_frame(&mut self, f: FrameMap) -> Result<(), MapFailure> {
        self.pd.map_frame(f.slot, f.ty, f.va, f.cache, f.writable)
    }

    fn map_table(&mut self, table: Slot, ty: ObjectType, va: u64) -> Result<(), MapFailure> {
        self.pd.map_table(table, ty, va)
    }

    fn place_table(&mut self, ty: ObjectType, va: u64) -> Result<Slot, ErrorCode> {
        let table = self.pending.place(self.pd, ty, 0, None, 0)?;
        self.paging.push(Paging { object: table, va });
        Ok(table.slot)
    }

    fn refused(&self, _: ObjectType, _: Option<KernelError>) -> ErrorCode {
        ErrorCode::InvalidArgument
    }
}

/// Maps a frame into the child, placing (and charging to `pending`) the paging structures
/// missing on the way, into `paging`.
pub fn map_frame(
    pd: &mut impl Pd,
    pending: &mut Pending,
    paging: &mut Vec<Paging>,
    f: FrameMap,
) -> Result<(), ErrorCode> {
    walk::map_frame(&mut ChildWalk { pd, pending, paging }, f)
}

/// Places a paging structure of type `ty` covering `va` in the child and maps it.
pub fn place_table(
    pd: &mut impl Pd,
    pending: &mut Pending,
    paging: &mut Vec<Paging>,
    ty: ObjectType,
    va: u64,
) -> Result<(), ErrorCode> {
    walk::place_table(&mut ChildWalk { pd, pending, paging }, Some(ty), va, ty)
}
