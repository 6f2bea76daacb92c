//! Why a root task built on this library stops: one error for everything under [`crate::root`],
//! each shown with `Display` when `main` returns it.

use core::fmt;

use crate::kernel::KernelError;
use crate::loader::LoadError;
use crate::object::ObjectType;
use crate::phys_allocator::{AllocFailure, FreeError};
use crate::placement::PlaceError;
use crate::root::audit::Disagreement;
use crate::root::cspace::CSpaceError;
use crate::root::state::SetupError;
use crate::root::vspace::MapError;

#[derive(Debug)]
pub enum Error {
    /// Core cannot mirror what bootinfo handed over.
    Setup(SetupError),
    /// Core's CSpace could not be extended.
    CSpace(CSpaceError),
    /// The kernel disagrees with core's mirror (feature `audit`).
    Audit(Disagreement),
    /// An allocation core needed did not happen.
    Alloc { ty: ObjectType, size_bits: u8, failure: AllocFailure },
    /// A free core issued did not happen.
    Free(FreeError),
    /// Merging free untypeds back (`compact`) did not happen.
    Placement(PlaceError),
    /// A kernel invocation outside placement failed.
    Kernel(&'static str, KernelError),
    /// Core could not map what it needs into its own VSpace.
    Map(MapError),
    /// A child could not be started.
    Child(LoadError),
    /// The system description built into the image cannot be read.
    System(sel4_core_system::DecodeError<'static>),
    /// A check of the run failed.
    Failed(&'static str),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Setup(e) => write!(f, "core cannot mirror bootinfo: {e}"),
            Error::Placement(e) => write!(f, "core cannot merge free untypeds back: {e}"),
            Error::CSpace(e) => write!(f, "core cannot extend its CSpace: {e}"),
            Error::Audit(d) => write!(f, "the kernel disagrees with core: {d}"),
            Error::Alloc { ty, size_bits, failure } => {
                write!(f, "cannot allocate {} (size_bits {size_bits}): {failure}", ty.name())
            }
            Error::Free(e) => write!(f, "cannot free: {e}"),
            Error::Kernel(what, e) => write!(f, "{what}: {e}"),
            Error::Map(e) => write!(f, "{e}"),
            Error::Child(e) => write!(f, "{e}"),
            Error::System(e) => write!(f, "{e}"),
            Error::Failed(what) => write!(f, "{what}"),
        }
    }
}

impl From<SetupError> for Error {
    fn from(e: SetupError) -> Self {
        Error::Setup(e)
    }
}

impl From<CSpaceError> for Error {
    fn from(e: CSpaceError) -> Self {
        Error::CSpace(e)
    }
}

impl From<Disagreement> for Error {
    fn from(d: Disagreement) -> Self {
        Error::Audit(d)
    }
}

impl From<MapError> for Error {
    fn from(e: MapError) -> Self {
        Error::Map(e)
    }
}

impl From<LoadError> for Error {
    fn from(e: LoadError) -> Self {
        Error::Child(e)
    }
}

impl From<sel4_core_system::DecodeError<'static>> for Error {
    fn from(e: sel4_core_system::DecodeError<'static>) -> Self {
        Error::System(e)
    }
}

impl From<FreeError> for Error {
    fn from(e: FreeError) -> Self {
        Error::Free(e)
    }
}

impl From<PlaceError> for Error {
    fn from(e: PlaceError) -> Self {
        Error::Placement(e)
    }
}
