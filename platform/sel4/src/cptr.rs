//! Capability pointers: `CPtr` (a path in a CSpace), `Cap<T>` (a CPtr with a
//! marker for the kind of object it names), `AbsoluteCPtr` (a slot named
//! relative to a CNode, as CNode invocations take it) and the root task's
//! initial caps.

use crate::{Word, WORD_BITS};
use core::fmt;
use core::marker::PhantomData;

/// A capability address, resolved in a CSpace.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct CPtr(Word);

impl CPtr {
    pub const fn from_bits(bits: Word) -> Self {
        CPtr(bits)
    }

    pub const fn bits(self) -> Word {
        self.0
    }

    pub const fn cast<T: CapType>(self) -> Cap<T> {
        Cap::from_cptr(self)
    }
}

impl fmt::Debug for CPtr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CPtr({:#x})", self.0)
    }
}

/// Marker for the kind of object a cap names.
pub trait CapType: Copy {
    const NAME: &'static str;
}

/// Marker for the frame sizes (`Page` invocations work on all of them).
pub trait FrameType: CapType {
    /// log2 of the frame size in bytes.
    const SIZE_BITS: usize;
}

/// Cap-type markers.
pub mod cap_type {
    use super::{CapType, FrameType};
    use crate::sys;

    macro_rules! markers {
        ($($(#[$m:meta])* $t:ident),* $(,)?) => {$(
            $(#[$m])*
            #[derive(Clone, Copy, Debug, PartialEq, Eq)]
            pub struct $t;
            impl CapType for $t {
                const NAME: &'static str = stringify!($t);
            }
        )*};
    }

    markers! {
        /// A cap whose type is not known statically.
        Unspecified,
        Null,
        Untyped,
        Tcb,
        Endpoint,
        Notification,
        CNode,
        /// 4 KiB frame.
        Frame4K,
        /// 2 MiB frame.
        LargePage,
        /// 1 GiB frame.
        HugePage,
        PageTable,
        PageDirectory,
        Pdpt,
        Pml4,
        AsidPool,
        AsidControl,
        IrqControl,
        IrqHandler,
        IoPort,
        IoSpace,
        Domain,
    }

    impl FrameType for Frame4K {
        const SIZE_BITS: usize = sys::seL4_PageBits as usize;
    }
    impl FrameType for LargePage {
        const SIZE_BITS: usize = sys::seL4_LargePageBits as usize;
    }
    impl FrameType for HugePage {
        const SIZE_BITS: usize = sys::seL4_HugePageBits as usize;
    }
}

/// A typed capability pointer.
pub struct Cap<T: CapType> {
    cptr: CPtr,
    _ty: PhantomData<T>,
}

// Manual impls: derives would require `T: Clone` etc. on the marker.
impl<T: CapType> Clone for Cap<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T: CapType> Copy for Cap<T> {}
impl<T: CapType> PartialEq for Cap<T> {
    fn eq(&self, o: &Self) -> bool {
        self.cptr == o.cptr
    }
}
impl<T: CapType> Eq for Cap<T> {}

impl<T: CapType> fmt::Debug for Cap<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Cap<{}>({:#x})", T::NAME, self.cptr.bits())
    }
}

impl<T: CapType> Cap<T> {
    pub const fn from_cptr(cptr: CPtr) -> Self {
        Cap { cptr, _ty: PhantomData }
    }

    pub const fn from_bits(bits: Word) -> Self {
        Self::from_cptr(CPtr::from_bits(bits))
    }

    pub const fn cptr(self) -> CPtr {
        self.cptr
    }

    pub const fn bits(self) -> Word {
        self.cptr.bits()
    }

    /// Reinterprets the cap as another type (the caller knows better).
    pub const fn cast<U: CapType>(self) -> Cap<U> {
        Cap::from_cptr(self.cptr)
    }

    /// Forgets the static type.
    pub const fn upcast(self) -> Cap<cap_type::Unspecified> {
        self.cast()
    }
}

/// Aliases `cap::Untyped` = `Cap<cap_type::Untyped>`, ...
pub mod cap {
    use super::{cap_type, Cap};
    pub type Unspecified = Cap<cap_type::Unspecified>;
    pub type Null = Cap<cap_type::Null>;
    pub type Untyped = Cap<cap_type::Untyped>;
    pub type Tcb = Cap<cap_type::Tcb>;
    pub type Endpoint = Cap<cap_type::Endpoint>;
    pub type Notification = Cap<cap_type::Notification>;
    pub type CNode = Cap<cap_type::CNode>;
    pub type Frame4K = Cap<cap_type::Frame4K>;
    pub type LargePage = Cap<cap_type::LargePage>;
    pub type HugePage = Cap<cap_type::HugePage>;
    pub type PageTable = Cap<cap_type::PageTable>;
    pub type PageDirectory = Cap<cap_type::PageDirectory>;
    pub type Pdpt = Cap<cap_type::Pdpt>;
    pub type Pml4 = Cap<cap_type::Pml4>;
    pub type AsidPool = Cap<cap_type::AsidPool>;
    pub type AsidControl = Cap<cap_type::AsidControl>;
    pub type IrqControl = Cap<cap_type::IrqControl>;
    pub type IrqHandler = Cap<cap_type::IrqHandler>;
    pub type IoPort = Cap<cap_type::IoPort>;
    pub type IoSpace = Cap<cap_type::IoSpace>;
    pub type Domain = Cap<cap_type::Domain>;
}

/// A slot named by a CNode cap (the lookup root), a path and a depth: the
/// way CNode invocations and Retype's destination address slots.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AbsoluteCPtr {
    root: cap::CNode,
    path: CPtr,
    depth: usize,
}

impl AbsoluteCPtr {
    pub const fn new(root: cap::CNode, path: CPtr, depth: usize) -> Self {
        AbsoluteCPtr { root, path, depth }
    }

    pub const fn root(&self) -> cap::CNode {
        self.root
    }

    pub const fn path(&self) -> CPtr {
        self.path
    }

    pub const fn depth(&self) -> usize {
        self.depth
    }
}

impl Cap<cap_type::CNode> {
    /// `cptr` resolved from this CNode with a full-word depth: right for a
    /// CNode whose guard makes slot numbers plain CPtrs, such as the root
    /// task's own root CNode (guard size 64 − radix).
    pub const fn relative<T: CapType>(self, cptr: Cap<T>) -> AbsoluteCPtr {
        AbsoluteCPtr::new(self, cptr.cptr(), WORD_BITS)
    }

    /// Slot `index` of this CNode looked up with `depth` bits (e.g. depth =
    /// radix for a CNode cap without guard).
    pub const fn relative_bits_with_depth(self, index: Word, depth: usize) -> AbsoluteCPtr {
        AbsoluteCPtr::new(self, CPtr::from_bits(index), depth)
    }

    /// This CNode itself as a Retype destination (depth 0: "use the root").
    pub const fn absolute_cptr_for_self(self) -> AbsoluteCPtr {
        AbsoluteCPtr::new(self, CPtr::from_bits(0), 0)
    }
}

/// The root task's initial caps (fixed slots, `libsel4/include/sel4/bootinfo_types.h`).
pub mod init_thread {
    use super::{cap, Cap};
    use crate::sys;

    pub const TCB: cap::Tcb = Cap::from_bits(sys::seL4_CapInitThreadTCB);
    pub const CNODE: cap::CNode = Cap::from_bits(sys::seL4_CapInitThreadCNode);
    pub const VSPACE: cap::Pml4 = Cap::from_bits(sys::seL4_CapInitThreadVSpace);
    pub const IRQ_CONTROL: cap::IrqControl = Cap::from_bits(sys::seL4_CapIRQControl);
    pub const ASID_CONTROL: cap::AsidControl = Cap::from_bits(sys::seL4_CapASIDControl);
    pub const ASID_POOL: cap::AsidPool = Cap::from_bits(sys::seL4_CapInitThreadASIDPool);
    pub const IO_PORT: cap::IoPort = Cap::from_bits(sys::seL4_CapIOPort);
    pub const IO_SPACE: cap::IoSpace = Cap::from_bits(sys::seL4_CapIOSpace);
    pub const BOOT_INFO_FRAME: cap::Frame4K = Cap::from_bits(sys::seL4_CapBootInfoFrame);
    pub const IPC_BUFFER: cap::Frame4K = Cap::from_bits(sys::seL4_CapInitThreadIPCBuffer);
    pub const DOMAIN: cap::Domain = Cap::from_bits(sys::seL4_CapDomain);
    /// First slot not holding a fixed initial cap.
    pub const NUM_INITIAL_CAPS: usize = sys::seL4_NumInitialCaps as usize;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_keep_the_pointer() {
        let u: cap::Untyped = Cap::from_bits(0x123);
        assert_eq!(u.cast::<cap_type::Tcb>().bits(), 0x123);
        assert_eq!(u.upcast().cptr(), CPtr::from_bits(0x123));
        assert_eq!(format!("{u:?}"), "Cap<Untyped>(0x123)");
    }

    #[test]
    fn relative_paths() {
        let a = init_thread::CNODE.relative(Cap::<cap_type::Null>::from_bits(77));
        assert_eq!((a.root(), a.path().bits(), a.depth()), (init_thread::CNODE, 77, 64));
        assert_eq!(init_thread::CNODE.absolute_cptr_for_self().depth(), 0);
        assert_eq!(init_thread::IO_PORT.bits(), 7);
        assert_eq!(init_thread::NUM_INITIAL_CAPS, 12);
    }
}
