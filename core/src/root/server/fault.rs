//! A child's fault as the kernel reports it to core (the fault message on the child's fault
//! endpoint), or as core's interrupt watchdog finds it, read and shown with the child's name in
//! core's log.

use sel4::{FaultType, Word};

/// Why core took a child for failed.
#[derive(Copy, Clone, Debug)]
pub enum Fault {
    /// A fault the kernel sent for it: its kind (a fault label, `FaultType` when known), the
    /// IP, and up to two more words (the address for memory and cap faults, the syscall
    /// number, the exception number and code).
    Kernel { label: Word, ip: Word, a: Word, b: Word },
    /// It left the interrupt granted as `id` unacked for longer than `ms` (core's watchdog).
    NotAcked { id: u8, ms: u32 },
}

impl Fault {
    /// The fault message's words as `src/api/faults.c:setMRs_fault` writes them.
    pub fn read(label: Word, mrs: &[Word; 4]) -> Fault {
        let at = |i: u64| {
            let i = i as usize;
            if i < mrs.len() {
                mrs[i]
            } else {
                sel4::message_word(i).unwrap_or(0)
            }
        };
        use sel4::sys::*;
        let (ip, a, b) = match FaultType::from_label(label) {
            Some(FaultType::VMFault) => (at(seL4_VMFault_IP), at(seL4_VMFault_Addr), at(seL4_VMFault_PrefetchFault)),
            Some(FaultType::CapFault) => (at(seL4_CapFault_IP), at(seL4_CapFault_Addr), 0),
            Some(FaultType::UnknownSyscall) => (at(seL4_UnknownSyscall_FaultIP), at(seL4_UnknownSyscall_Syscall), 0),
            Some(FaultType::UserException) => {
                (at(seL4_UserException_FaultIP), at(seL4_UserException_Number), at(seL4_UserException_Code))
            }
            _ => (0, 0, 0),
        };
        Fault::Kernel { label, ip, a, b }
    }
}

impl core::fmt::Display for Fault {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        let (label, ip, a, b) = match *self {
            Fault::Kernel { label, ip, a, b } => (label, ip, a, b),
            Fault::NotAcked { id, ms } => return write!(f, "interrupt id {id} not acked within {ms} ms"),
        };
        match FaultType::from_label(label) {
            Some(FaultType::VMFault) => write!(
                f,
                "VM fault at ip {ip:#x}, address {a:#x} ({})",
                if b != 0 { "instruction fetch" } else { "data access" }
            ),
            Some(FaultType::CapFault) => write!(f, "cap fault at ip {ip:#x}, address {a:#x}"),
            Some(FaultType::UnknownSyscall) => write!(f, "unknown syscall {} at ip {ip:#x}", a as i64),
            Some(FaultType::UserException) => write!(f, "user exception {a} (code {b:#x}) at ip {ip:#x}"),
            _ => write!(f, "fault with label {label} at ip {ip:#x}"),
        }
    }
}
