//! The three kernel invocations placement needs, as a trait, so the same placement code drives the
//! real seL4 kernel (in the root task) and the host-side kernel model (tests, trace replay).

use crate::object::ObjectType;

/// A slot in core's CSpace, and a boot untyped: `sel4-abi`'s, shared with bootinfo, the kernel
/// model and the host tools.
pub use sel4_abi::{Slot, UntypedDesc};

/// An `seL4_Error` reply with its detail words: the one error type of the kernel interface
/// (`sel4-abi`, shared with the real kernel's invocations), under the name the library uses.
pub use sel4_abi::Error as KernelError;

/// The kernel invocations placement issues. Every slot is in core's CSpace.
///
/// On the real kernel (core's root CNode is `seL4_CapInitThreadCNode`; `src/kernel/boot.c`
/// gives it guard size `64 - radix`, so a slot number is a CPtr at depth 64):
/// * `untyped_retype`: `seL4_Untyped_Retype(untyped, type, size_bits, root = CapInitThreadCNode,
///   node_index = 0, node_depth = 0, node_offset = dest, num_objects = count)` with the type
///   number of the kernel's configuration (generated from its headers by `platform/sel4-abi`);
/// * `cnode_delete` / `cnode_revoke`: `seL4_CNode_Delete/Revoke(CapInitThreadCNode, slot, 64)`.
///
/// Errors must come back as the kernel's error reply (`KernelError::decode`), so use
/// `seL4_Call`, never `seL4_Send` (errors are only reported for calls).
pub trait Kernel {
    /// `seL4_Untyped_Retype(untyped, ty, size_bits, root=core's CNode, depth 0, offset=dest, num=count)`:
    /// creates `count` objects in slots `[dest, dest+count)`.
    fn untyped_retype(
        &mut self,
        untyped: Slot,
        ty: ObjectType,
        size_bits: u8,
        dest: Slot,
        count: u32,
    ) -> Result<(), KernelError>;
    /// `seL4_CNode_Delete` on core's CNode.
    fn cnode_delete(&mut self, slot: Slot) -> Result<(), KernelError>;
    /// `seL4_CNode_Revoke` on core's CNode: deletes every CDT descendant of the cap in `slot`.
    fn cnode_revoke(&mut self, slot: Slot) -> Result<(), KernelError>;

    /// The effective watermark (bytes; 0 when the untyped has no children) of the untyped cap in
    /// `slot`, if this kernel can tell without side effects (the kernel model can; the real
    /// kernel only through a failing retype, so it answers `None`). Placement uses it in debug
    /// builds to check its mirror after every invocation. Not counted as an invocation.
    fn observed_watermark(&mut self, _slot: Slot) -> Option<u64> {
        None
    }
}

impl<K: Kernel + ?Sized> Kernel for &mut K {
    fn untyped_retype(&mut self, u: Slot, ty: ObjectType, sb: u8, dest: Slot, n: u32) -> Result<(), KernelError> {
        (**self).untyped_retype(u, ty, sb, dest, n)
    }
    fn cnode_delete(&mut self, slot: Slot) -> Result<(), KernelError> {
        (**self).cnode_delete(slot)
    }
    fn cnode_revoke(&mut self, slot: Slot) -> Result<(), KernelError> {
        (**self).cnode_revoke(slot)
    }
    fn observed_watermark(&mut self, slot: Slot) -> Option<u64> {
        (**self).observed_watermark(slot)
    }
}

/// Start of the kernel's window onto physical memory on x86_64
/// (`include/plat/pc99/plat/64/plat_mode/machine/hardware.h:PPTR_BASE`, generated).
pub use sel4_abi::PPTR_BASE;

pub use sel4_abi::{kernel_aligned, kernel_vaddr};

/// A fixed capacity of core's bookkeeping, named when it runs out.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum Capacity {
    /// Nodes of the untyped pool (one per untyped cap core holds).
    PoolNodes,
    /// Nodes of a range allocator (one per free or used range and per extent of managed memory).
    RangeBlocks,
    /// Slots of core's CSpace it manages.
    CapSlots,
    /// A baseline strategy's table of live objects (evaluation only).
    ObjectTable,
}

impl core::fmt::Display for Capacity {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Capacity::PoolNodes => "untyped pool nodes",
            Capacity::RangeBlocks => "range allocator blocks",
            Capacity::CapSlots => "cap slots",
            Capacity::ObjectTable => "object table entries",
        })
    }
}

/// Invocations issued, successful or not (a refused invocation still costs a syscall).
#[derive(Copy, Clone, Default, Eq, PartialEq, Debug)]
pub struct InvocationCounts {
    pub retypes: u64,
    pub deletes: u64,
    pub revokes: u64,
}

impl InvocationCounts {
    pub fn total(&self) -> u64 {
        self.retypes + self.deletes + self.revokes
    }
}

/// Wraps a kernel and counts the invocations made through it.
pub struct Counting<K> {
    pub inner: K,
    pub counts: InvocationCounts,
}

impl<K> Counting<K> {
    pub fn new(inner: K) -> Self {
        Counting { inner, counts: InvocationCounts::default() }
    }
}

impl<K: Kernel> Kernel for Counting<K> {
    fn untyped_retype(&mut self, u: Slot, ty: ObjectType, sb: u8, dest: Slot, n: u32) -> Result<(), KernelError> {
        self.counts.retypes += 1;
        self.inner.untyped_retype(u, ty, sb, dest, n)
    }
    fn cnode_delete(&mut self, slot: Slot) -> Result<(), KernelError> {
        self.counts.deletes += 1;
        self.inner.cnode_delete(slot)
    }
    fn cnode_revoke(&mut self, slot: Slot) -> Result<(), KernelError> {
        self.counts.revokes += 1;
        self.inner.cnode_revoke(slot)
    }
    fn observed_watermark(&mut self, slot: Slot) -> Option<u64> {
        self.inner.observed_watermark(slot)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Refuser;
    impl Kernel for Refuser {
        fn untyped_retype(&mut self, _: Slot, _: ObjectType, _: u8, _: Slot, _: u32) -> Result<(), KernelError> {
            Err(KernelError::IllegalOperation)
        }
        fn cnode_delete(&mut self, _: Slot) -> Result<(), KernelError> {
            Ok(())
        }
        fn cnode_revoke(&mut self, _: Slot) -> Result<(), KernelError> {
            Ok(())
        }
    }

    #[test]
    fn counting_counts_failures_too() {
        let mut k = Counting::new(Refuser);
        assert!(k.untyped_retype(Slot(1), ObjectType::Tcb, 0, Slot(2), 1).is_err());
        k.cnode_delete(Slot(2)).unwrap();
        k.cnode_revoke(Slot(1)).unwrap();
        k.cnode_revoke(Slot(1)).unwrap();
        assert_eq!(k.counts, InvocationCounts { retypes: 1, deletes: 1, revokes: 2 });
        assert_eq!(k.counts.total(), 4);
    }
}
