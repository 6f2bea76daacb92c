//! Kernel object invocations, one method per libsel4 stub. Arguments go in
//! the order the kernel decoders read them (word arguments as message
//! registers, cap arguments as extra caps); every invocation uses
//! `seL4_Call`, because the kernel reports errors only to a Call
//! (`src/api/syscall.c:handleInvocation`).

use crate::abi::layout;
use crate::cptr::{cap_type, Cap, FrameType};
use crate::invocation_clock;
use crate::syscalls::{self, Received};
use crate::{
    ipc_buffer, sys, AbsoluteCPtr, CPtr, Error, InvocationLabel, MessageInfo, ObjectBlueprint, ObjectType, Result, Word,
};

/// Access rights of a cap (`seL4_CapRights`, laid out as [`layout::seL4_CapRights`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapRights(Word);

impl CapRights {
    pub const fn new(grant: bool, read: bool, write: bool) -> Self {
        use layout::seL4_CapRights::{capAllowGrant, capAllowRead, capAllowWrite};
        let w = capAllowGrant.set(0, grant as Word);
        let w = capAllowRead.set(w, read as Word);
        CapRights(capAllowWrite.set(w, write as Word))
    }
    pub const fn all() -> Self {
        Self::new(true, true, true)
    }
    pub const fn read_write() -> Self {
        Self::new(false, true, true)
    }
    pub const fn read_only() -> Self {
        Self::new(false, true, false)
    }
    pub const fn none() -> Self {
        Self::new(false, false, false)
    }
    pub const fn into_word(self) -> Word {
        self.0
    }
}

/// x86 mapping attributes (`seL4_X86_VMAttributes`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VmAttributes(Word);

impl VmAttributes {
    pub const DEFAULT: Self = VmAttributes(sys::seL4_X86_Default_VMAttributes);
    pub const WRITE_THROUGH: Self = VmAttributes(sys::seL4_X86_WriteThrough);
    pub const CACHE_DISABLED: Self = VmAttributes(sys::seL4_X86_CacheDisabled);
    pub const UNCACHEABLE: Self = VmAttributes(sys::seL4_X86_Uncacheable);
    pub const WRITE_COMBINING: Self = VmAttributes(sys::seL4_X86_WriteCombining);
    pub const fn into_word(self) -> Word {
        self.0
    }
}

/// Register set of TCB_ReadRegisters / TCB_WriteRegisters, in
/// `seL4_UserContext` order.
#[repr(C)]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct UserContext {
    pub rip: Word,
    pub rsp: Word,
    pub rflags: Word,
    pub rax: Word,
    pub rbx: Word,
    pub rcx: Word,
    pub rdx: Word,
    pub rsi: Word,
    pub rdi: Word,
    pub rbp: Word,
    pub r8: Word,
    pub r9: Word,
    pub r10: Word,
    pub r11: Word,
    pub r12: Word,
    pub r13: Word,
    pub r14: Word,
    pub r15: Word,
    pub tls_base: Word,
}

impl UserContext {
    /// Number of words.
    pub const COUNT: usize = 19;

    pub fn to_words(&self) -> [Word; Self::COUNT] {
        [
            self.rip,
            self.rsp,
            self.rflags,
            self.rax,
            self.rbx,
            self.rcx,
            self.rdx,
            self.rsi,
            self.rdi,
            self.rbp,
            self.r8,
            self.r9,
            self.r10,
            self.r11,
            self.r12,
            self.r13,
            self.r14,
            self.r15,
            self.tls_base,
        ]
    }

    pub fn from_words(w: &[Word; Self::COUNT]) -> Self {
        let [rip, rsp, rflags, rax, rbx, rcx, rdx, rsi, rdi, rbp, r8, r9, r10, r11, r12, r13, r14, r15, tls_base] = *w;
        UserContext {
            rip,
            rsp,
            rflags,
            rax,
            rbx,
            rcx,
            rdx,
            rsi,
            rdi,
            rbp,
            r8,
            r9,
            r10,
            r11,
            r12,
            r13,
            r14,
            r15,
            tls_base,
        }
    }
}

/// Sends one invocation with `seL4_Call` and decodes an error reply.
/// Arguments beyond MR3 and the extra caps go through the IPC buffer, which
/// is filled before the call and read after it, never borrowed across it.
fn invoke(cap: CPtr, label: InvocationLabel, args: &[Word], caps: &[CPtr]) -> Result<Received> {
    let mut regs = [0; 4];
    let in_regs = args.len().min(regs.len());
    regs[..in_regs].copy_from_slice(&args[..in_regs]);
    if args.len() > in_regs || !caps.is_empty() {
        ipc_buffer::with_ipc_buffer(|b| {
            for (i, &a) in args.iter().enumerate().skip(in_regs) {
                b.set_mr(i, a);
            }
            for (i, c) in caps.iter().enumerate() {
                b.set_cap(i, *c);
            }
        });
    }
    let info = MessageInfo::new(label as Word, 0, caps.len(), args.len());
    let r = invocation_clock::timed(|| syscalls::call(cap, info, regs));
    Error::check(r.info.label(), |i| reply_mr(&r, i))?;
    Ok(r)
}

/// Message register `i` of a reply: MR0..MR3 from the registers, the rest
/// from the IPC buffer.
fn reply_mr(r: &Received, i: usize) -> Word {
    match r.mrs.get(i) {
        Some(v) => *v,
        None => ipc_buffer::with_ipc_buffer(|b| b.get_mr(i).unwrap_or(0)),
    }
}

impl Cap<cap_type::Untyped> {
    /// Creates `num_objects` objects of `blueprint` with caps in slots
    /// `dst_offset..` of the CNode `dst` names (`dst.depth() == 0`: the
    /// root itself).
    ///
    /// Corresponds to `seL4_Untyped_Retype`.
    pub fn untyped_retype(
        &self,
        blueprint: &ObjectBlueprint,
        dst: &AbsoluteCPtr,
        dst_offset: usize,
        num_objects: usize,
    ) -> Result<()> {
        self.untyped_retype_with_size_arg(
            blueprint.ty(),
            blueprint.api_size_bits() as Word,
            dst,
            dst_offset,
            num_objects,
        )
    }

    /// `seL4_Untyped_Retype` with the `size_bits` word passed as given, as libsel4 does. The
    /// kernel ignores it for fixed-size types but still range-checks it against
    /// `seL4_MaxUntypedBits` (`src/object/untyped.c:decodeUntypedInvocation`), so a caller that
    /// mirrors the kernel's answers (e.g. against a model) needs the raw word to reach it.
    pub fn untyped_retype_with_size_arg(
        &self,
        ty: ObjectType,
        size_bits: Word,
        dst: &AbsoluteCPtr,
        dst_offset: usize,
        num_objects: usize,
    ) -> Result<()> {
        // A type this configuration lacks has no number to send: answer as the
        // kernel does for an unknown type (`decodeUntypedInvocation`: InvalidArgument 0).
        let ty = ty.into_word().ok_or(Error::InvalidArgument { which: 0 })?;
        invoke(
            self.cptr(),
            InvocationLabel::UntypedRetype,
            &[ty, size_bits, dst.path().bits(), dst.depth() as Word, dst_offset as Word, num_objects as Word],
            &[dst.root().cptr()],
        )
        .map(drop)
    }
}

impl AbsoluteCPtr {
    fn cnode_op(&self, label: InvocationLabel, extra: &[Word], src: Option<&AbsoluteCPtr>) -> Result<()> {
        let mut args = [0; 6];
        args[0] = self.path().bits();
        args[1] = self.depth() as Word;
        let mut n = 2;
        let mut caps = [CPtr::from_bits(0); 1];
        let mut ncaps = 0;
        if let Some(s) = src {
            args[2] = s.path().bits();
            args[3] = s.depth() as Word;
            n = 4;
            caps[0] = s.root().cptr();
            ncaps = 1;
        }
        for &e in extra {
            args[n] = e;
            n += 1;
        }
        invoke(self.root().cptr(), label, &args[..n], &caps[..ncaps]).map(drop)
    }

    /// Deletes every cap derived from the cap in this slot (for an untyped:
    /// every object retyped from it).
    ///
    /// Corresponds to `seL4_CNode_Revoke`.
    pub fn revoke(&self) -> Result<()> {
        self.cnode_op(InvocationLabel::CNodeRevoke, &[], None)
    }

    /// Empties this slot.
    ///
    /// Corresponds to `seL4_CNode_Delete`.
    pub fn delete(&self) -> Result<()> {
        self.cnode_op(InvocationLabel::CNodeDelete, &[], None)
    }

    /// Copies the cap in `src` into this (empty) slot with `rights`.
    ///
    /// Corresponds to `seL4_CNode_Copy`.
    pub fn copy(&self, src: &AbsoluteCPtr, rights: CapRights) -> Result<()> {
        self.cnode_op(InvocationLabel::CNodeCopy, &[rights.into_word()], Some(src))
    }

    /// Copies with `rights` and a badge (endpoint, notification) or guard
    /// word (CNode).
    ///
    /// Corresponds to `seL4_CNode_Mint`.
    pub fn mint(&self, src: &AbsoluteCPtr, rights: CapRights, badge: Word) -> Result<()> {
        self.cnode_op(InvocationLabel::CNodeMint, &[rights.into_word(), badge], Some(src))
    }

    /// Moves the cap in `src` into this (empty) slot.
    ///
    /// Corresponds to `seL4_CNode_Move`.
    pub fn move_(&self, src: &AbsoluteCPtr) -> Result<()> {
        self.cnode_op(InvocationLabel::CNodeMove, &[], Some(src))
    }

    /// Moves and sets the badge or guard word.
    ///
    /// Corresponds to `seL4_CNode_Mutate`.
    pub fn mutate(&self, src: &AbsoluteCPtr, badge: Word) -> Result<()> {
        self.cnode_op(InvocationLabel::CNodeMutate, &[badge], Some(src))
    }
}

impl Cap<cap_type::Tcb> {
    /// Sets fault endpoint (a CPtr in the thread's own CSpace), priority and
    /// MCP, CSpace and VSpace roots (with their guard/cap data words) and
    /// the IPC buffer (vaddr, 512-byte aligned, and its frame).
    ///
    /// Corresponds to `seL4_TCB_Configure`.
    #[allow(clippy::too_many_arguments)]
    pub fn tcb_configure(
        &self,
        fault_ep: CPtr,
        priority: u8,
        mcp: u8,
        cspace_root: Cap<cap_type::CNode>,
        cspace_root_data: Word,
        vspace_root: Cap<cap_type::Pml4>,
        vspace_root_data: Word,
        ipc_buffer_vaddr: Word,
        ipc_buffer_frame: Cap<cap_type::Frame4K>,
    ) -> Result<()> {
        use layout::seL4_PrioProps::{mcp as mcp_field, prio};
        let prio_props = mcp_field.set(prio.set(0, priority as Word), mcp as Word);
        invoke(
            self.cptr(),
            InvocationLabel::TCBConfigure,
            &[fault_ep.bits(), prio_props, cspace_root_data, vspace_root_data, ipc_buffer_vaddr],
            &[cspace_root.cptr(), vspace_root.cptr(), ipc_buffer_frame.cptr()],
        )
        .map(drop)
    }

    /// Writes the first `count` registers of `regs` (in `UserContext`
    /// order); `resume` starts the thread.
    ///
    /// Corresponds to `seL4_TCB_WriteRegisters`.
    pub fn tcb_write_registers(&self, resume: bool, count: usize, regs: &UserContext) -> Result<()> {
        let count = count.min(UserContext::COUNT);
        let mut args = [0; 2 + UserContext::COUNT];
        args[0] = resume as Word; // arch_flags (bits 8..15) = 0
        args[1] = count as Word;
        args[2..2 + count].copy_from_slice(&regs.to_words()[..count]);
        invoke(self.cptr(), InvocationLabel::TCBWriteRegisters, &args[..2 + count], &[]).map(drop)
    }

    /// Reads the first `count` registers; `suspend` stops the thread first.
    ///
    /// Corresponds to `seL4_TCB_ReadRegisters`.
    pub fn tcb_read_registers(&self, suspend: bool, count: usize) -> Result<UserContext> {
        let count = count.min(UserContext::COUNT);
        let r = invoke(self.cptr(), InvocationLabel::TCBReadRegisters, &[suspend as Word, count as Word], &[])?;
        let mut w = [0; UserContext::COUNT];
        for (i, x) in w.iter_mut().enumerate().take(r.info.length().min(count)) {
            *x = reply_mr(&r, i);
        }
        Ok(UserContext::from_words(&w))
    }

    /// Corresponds to `seL4_TCB_SetPriority`.
    pub fn tcb_set_priority(&self, priority: u8) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::TCBSetPriority, &[priority as Word], &[]).map(drop)
    }

    /// Corresponds to `seL4_TCB_Resume`.
    pub fn tcb_resume(&self) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::TCBResume, &[], &[]).map(drop)
    }

    /// Corresponds to `seL4_TCB_Suspend`.
    pub fn tcb_suspend(&self) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::TCBSuspend, &[], &[]).map(drop)
    }

    /// Corresponds to `seL4_TCB_BindNotification`.
    pub fn tcb_bind_notification(&self, notification: Cap<cap_type::Notification>) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::TCBBindNotification, &[], &[notification.cptr()]).map(drop)
    }

    /// Corresponds to `seL4_TCB_UnbindNotification`.
    pub fn tcb_unbind_notification(&self) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::TCBUnbindNotification, &[], &[]).map(drop)
    }
}

impl<T: FrameType> Cap<T> {
    /// Maps the frame at `vaddr` in `vspace` (whose paging levels must exist).
    ///
    /// Corresponds to `seL4_X86_Page_Map`.
    pub fn frame_map(
        &self,
        vspace: Cap<cap_type::Pml4>,
        vaddr: Word,
        rights: CapRights,
        attrs: VmAttributes,
    ) -> Result<()> {
        invoke(
            self.cptr(),
            InvocationLabel::X86PageMap,
            &[vaddr, rights.into_word(), attrs.into_word()],
            &[vspace.cptr()],
        )
        .map(drop)
    }

    /// Corresponds to `seL4_X86_Page_Unmap`.
    pub fn frame_unmap(&self) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::X86PageUnmap, &[], &[]).map(drop)
    }

    /// Physical address of the frame. The kernel's reply has length 0 yet
    /// carries the address in MR0 (`src/arch/x86/kernel/vspace.c`:
    /// `decodeX86FrameInvocation` sets Restart before `performPageGetAddress`,
    /// then `handleInvocation` replies empty), so MR0 is read regardless.
    ///
    /// Corresponds to `seL4_X86_Page_GetAddress`.
    pub fn frame_get_address(&self) -> Result<Word> {
        invoke(self.cptr(), InvocationLabel::X86PageGetAddress, &[], &[]).map(|r| r.mrs[0])
    }
}

impl Cap<cap_type::PageTable> {
    /// Maps the page table for the 2 MiB region holding `vaddr`.
    ///
    /// Corresponds to `seL4_X86_PageTable_Map`.
    pub fn page_table_map(&self, vspace: Cap<cap_type::Pml4>, vaddr: Word, attrs: VmAttributes) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::X86PageTableMap, &[vaddr, attrs.into_word()], &[vspace.cptr()]).map(drop)
    }
}

impl Cap<cap_type::PageDirectory> {
    /// Maps the page directory for the 1 GiB region holding `vaddr`.
    ///
    /// Corresponds to `seL4_X86_PageDirectory_Map`.
    pub fn page_directory_map(&self, vspace: Cap<cap_type::Pml4>, vaddr: Word, attrs: VmAttributes) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::X86PageDirectoryMap, &[vaddr, attrs.into_word()], &[vspace.cptr()])
            .map(drop)
    }
}

impl Cap<cap_type::Pdpt> {
    /// Maps the PDPT for the 512 GiB region holding `vaddr`.
    ///
    /// Corresponds to `seL4_X86_PDPT_Map`.
    pub fn pdpt_map(&self, vspace: Cap<cap_type::Pml4>, vaddr: Word, attrs: VmAttributes) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::X86PDPTMap, &[vaddr, attrs.into_word()], &[vspace.cptr()]).map(drop)
    }
}

impl Cap<cap_type::AsidPool> {
    /// Gives `vspace` an ASID from this pool (needed before any map into it).
    ///
    /// Corresponds to `seL4_X86_ASIDPool_Assign`.
    pub fn asid_pool_assign(&self, vspace: Cap<cap_type::Pml4>) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::X86ASIDPoolAssign, &[], &[vspace.cptr()]).map(drop)
    }
}

impl Cap<cap_type::IrqControl> {
    /// Issues a handler for IOAPIC `ioapic`'s input `pin` (`level`-triggered or edge,
    /// `active_low` or high), delivered on CPU vector `vector` (counted from the first user
    /// vector), into the empty slot `dst`.
    ///
    /// Corresponds to `seL4_IRQControl_GetIOAPIC`.
    pub fn irq_control_get_ioapic(
        &self,
        dst: &AbsoluteCPtr,
        ioapic: Word,
        pin: Word,
        level: bool,
        active_low: bool,
        vector: Word,
    ) -> Result<()> {
        let args = [dst.path().bits(), dst.depth() as Word, ioapic, pin, level as Word, active_low as Word, vector];
        invoke(self.cptr(), InvocationLabel::X86IRQIssueIRQHandlerIOAPIC, &args, &[dst.root().cptr()]).map(drop)
    }
}

impl Cap<cap_type::IrqHandler> {
    /// Signals `notification` (with its badge) when the interrupt comes.
    ///
    /// Corresponds to `seL4_IRQHandler_SetNotification`.
    pub fn irq_handler_set_notification(&self, notification: Cap<cap_type::Notification>) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::IRQSetIRQHandler, &[], &[notification.cptr()]).map(drop)
    }

    /// Lets the interrupt come again.
    ///
    /// Corresponds to `seL4_IRQHandler_Ack`.
    pub fn irq_handler_ack(&self) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::IRQAckIRQ, &[], &[]).map(drop)
    }

    /// Stops signalling any notification.
    ///
    /// Corresponds to `seL4_IRQHandler_Clear`.
    pub fn irq_handler_clear(&self) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::IRQClearIRQHandler, &[], &[]).map(drop)
    }
}

impl Cap<cap_type::IoPort> {
    /// Reads a byte from `port`.
    ///
    /// Corresponds to `seL4_X86_IOPort_In8`.
    pub fn ioport_in8(&self, port: u16) -> Result<u8> {
        invoke(self.cptr(), InvocationLabel::X86IOPortIn8, &[port as Word], &[]).map(|r| r.mrs[0] as u8)
    }

    /// Writes `value` to `port`.
    ///
    /// Corresponds to `seL4_X86_IOPort_Out8`.
    pub fn ioport_out8(&self, port: u16, value: u8) -> Result<()> {
        invoke(self.cptr(), InvocationLabel::X86IOPortOut8, &[port as Word, value as Word], &[]).map(drop)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rights_set_one_field_each() {
        use layout::seL4_CapRights::{capAllowGrant, capAllowRead, capAllowWrite};
        let r = CapRights::new(true, false, true).into_word();
        assert_eq!((capAllowGrant.get(r), capAllowRead.get(r), capAllowWrite.get(r)), (1, 0, 1));
        assert_eq!(CapRights::none().into_word(), 0);
    }

    #[test]
    fn user_context_words_round_trip() {
        let w: [Word; UserContext::COUNT] = core::array::from_fn(|i| i as Word * 3 + 1);
        let c = UserContext::from_words(&w);
        assert_eq!((c.rip, c.rsp, c.rdi, c.r15, c.tls_base), (1, 4, 25, 52, 55));
        assert_eq!(c.to_words(), w);
        assert_eq!(core::mem::size_of::<UserContext>(), 8 * UserContext::COUNT);
    }
}
