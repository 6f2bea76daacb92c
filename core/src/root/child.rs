//! A child service, for core: its protection domain (built by [`crate::loader`] through
//! [`ChildPd`], every object charged to the child), and its reclaim: freeing every object
//! (revoking its leaf untyped, so every cap and mapping derived from it dies too). Frames are
//! filled through core's own mapping window at [`WINDOW`].

use alloc::vec::Vec;

use sel4::{cap_type, Cap, Word};

use crate::kernel::Slot;
use crate::loader::{self, Charge, Given, Layout, LoadError, Spec};
use crate::phys_allocator::ObjectId;
use crate::root::child_pd::ChildPd;
use crate::root::log_window::LogWindow;
use crate::root::state::Core;
use crate::root::vspace::{MapError, Mapped};
use sel4_root_task::println;

pub use crate::root::child_pd::WINDOW;

/// What a child is, for core: its name, the objects it holds and what they cost.
pub struct Child {
    pub index: usize,
    pub name: &'static str,
    pub prio: u8,
    pub budget: u64,
    pub charge: Charge,
    pub layout: Layout,
    objects: Vec<ObjectId>,
    tcb: Slot,
    /// The child's VSpace (PML4) in core's CSpace.
    pub vspace: Slot,
    /// The child's CNode in core's CSpace, and its radix.
    pub cnode: Slot,
    pub cnode_bits: u8,
    /// Cap slots of its budget.
    pub caps: u64,
    /// Its log buffer, as core maps it.
    pub log: LogWindow,
}

impl Child {
    /// Objects core holds for the child's protection domain (a run of frames counts once).
    pub fn objects(&self) -> usize {
        self.objects.len()
    }

    /// Handles of the objects core holds for the child (its protection domain).
    pub fn handles(&self) -> &[ObjectId] {
        &self.objects
    }

    /// Stops the child and frees every object it holds, newest first.
    pub fn reclaim(self, core: &mut Core) {
        // A refusal changes nothing here: freeing the TCB below stops the thread for good; the
        // suspend only keeps it from running while its memory goes first.
        let _ = Cap::<cap_type::Tcb>::from_bits(self.tcb.0 as Word).tcb_suspend();
        let mut pd = ChildPd { core, vspace: self.vspace, cnode: self.cnode, cnode_bits: self.cnode_bits };
        for &h in self.objects.iter().rev() {
            crate::session::pd::Pd::free(&mut pd, h);
        }
        // Freeing the log buffer's frame deleted core's copy of its cap and unmapped it.
        self.log.release(core);
    }
}

/// What the system description says of service `index`, for the loader.
pub fn spec(index: usize, s: &sel4_core_system::Service<'static>) -> Spec<'static> {
    Spec {
        index,
        name: s.name,
        elf: s.elf,
        ram: s.ram,
        caps: s.caps as u64,
        prio: s.prio,
        stack: s.stack,
        heap: s.heap,
        restarts: s.restarts,
    }
}

/// Builds the protection domain of `spec` and starts its thread (`loader::load`). `endpoint`
/// is core's endpoint (in core's CSpace); the child's requests come badged `badge << 1`, its
/// faults `badge << 1 | 1`. `record` is the bytes of core's record of the child, charged to
/// it too; `budget` what its PD and sessions may take of its RAM (what it keeps across
/// restarts is charged already); `given` what its channels give it. On failure everything
/// placed is freed again.
pub fn start(
    core: &mut Core,
    endpoint: Slot,
    badge: usize,
    spec: &Spec<'static>,
    budget: u64,
    given: &Given,
    record: u64,
) -> Result<Child, LoadError> {
    let mut pd = ChildPd::unattached(core);
    let l = loader::load(&mut pd, &Spec { ram: budget, ..*spec }, given, record, endpoint, badge as u64)?;
    let log = match LogWindow::attach(core, badge, l.log) {
        Ok(w) => w,
        Err(e) => {
            println!("child {}: {e}", spec.name);
            let _ = Cap::<cap_type::Tcb>::from_bits(l.tcb.0 as Word).tcb_suspend();
            let (vspace, cnode, cnode_bits) = (l.vspace, l.cnode, l.cnode_bits);
            l.free(&mut ChildPd { core, vspace, cnode, cnode_bits });
            return Err(LoadError::Refused("map its log buffer in core"));
        }
    };
    Ok(Child {
        index: spec.index,
        name: spec.name,
        prio: spec.prio,
        budget,
        charge: l.charge,
        layout: l.layout,
        objects: l.objects.iter().map(|o| o.handle).collect(),
        tcb: l.tcb,
        vspace: l.vspace,
        cnode: l.cnode,
        cnode_bits: l.cnode_bits,
        caps: spec.caps,
        log,
    })
}

/// Places the paging structures of core's windows once: the window core fills child frames
/// through, and the log windows of children numbered below `children`, with a frame mapped and
/// unmapped at each (core's own objects, not charged to any child, kept).
pub fn prepare_windows(core: &mut Core, children: usize) -> Result<Mapped, MapError> {
    let fill = crate::root::probe::prepare_paging(core, WINDOW)?;
    let logs = crate::root::log_window::prepare(core, children)?;
    Ok(Mapped {
        paging_structures: fill.paging_structures + logs.paging_structures,
        paging_bytes: fill.paging_bytes + logs.paging_bytes,
        ..Mapped::default()
    })
}
