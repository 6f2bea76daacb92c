//! Channels between children, and what outlives one start of a child. A child with channels or
//! a restart policy gets objects core keeps across its restarts ([`Kept`]): its first thread's
//! TCB, its notification (bound to that thread), its endpoint if it serves calls, and the
//! shared dataspaces it pays for. Its peers hold caps to them, so they must survive the child's
//! fault: a client queued on the endpoint is served by the next instance, a signal is not lost,
//! and the TCB keeps the reply cap of a call the child had received when it faulted, which the
//! next instance answers with an error (`src/api/syscall.c:handleRecv` would delete it, so the
//! runtime replies before its first receive). Everything kept is charged to the child's budget
//! by the sessions' rule and freed when the child ends for good.
//!
//! At each start, [`crate::channel::grants`] says which caps the child gets for its channels
//! (`abi` slots and badges), and [`SharedMaps`] maps each shared dataspace of its channels
//! through fresh copies of the frames' caps in core's CSpace (a frame cap maps once; the copies
//! die with the child's start, unmapping it there).

use alloc::vec::Vec;

use sel4::{CapRights, Word};
use sel4_core_protocol::{charges, ErrorCode};
use sel4_core_system::Channel;

use crate::channel::{self, PeerCaps};
use crate::kernel::Slot;
use crate::loader::{self, LoadError, Spec};
use crate::object::ObjectType;
use crate::root::child_pd::ChildPd;
use crate::root::state::Core;
use crate::session::pd::Pd;
use crate::session::{Object, Pending};

/// What core keeps of a child across its restarts.
pub struct Kept {
    pub tcb: Object,
    pub notification: Object,
    /// Its endpoint, if it serves a call channel.
    pub endpoint: Option<Object>,
    /// The shared dataspaces it pays for: the channel's index and the frames' caps in address
    /// order.
    pub shared: Vec<(usize, Vec<Slot>)>,
    objects: Vec<Object>,
    /// Bytes charged to the child's budget for all of it (objects and their records).
    pub charged: u64,
}

/// Whether child `index` needs kept objects: it has a channel or may be restarted.
pub fn needs_kept(index: usize, spec: &Spec, channels: &[Channel]) -> bool {
    spec.restarts > 0
        || channels.iter().any(|c| c.client.service as usize == index || c.server.service as usize == index)
}

impl Kept {
    /// Places what child `index` keeps, charged to its budget (`spec.ram`).
    pub fn place(core: &mut Core, index: usize, spec: &Spec, channels: &[Channel]) -> Result<Kept, LoadError> {
        let mut pd = ChildPd::unattached(core);
        let mut pending = Pending::with_left(spec.ram, u32::MAX);
        match Self::build(&mut pd, &mut pending, index, spec, channels) {
            Ok((tcb, notification, endpoint, shared)) => {
                let (objects, charged, _) = pending.finish();
                Ok(Kept { tcb, notification, endpoint, shared, objects, charged })
            }
            Err(e) => {
                pending.undo(&mut pd);
                Err(e)
            }
        }
    }

    #[allow(clippy::type_complexity)]
    fn build(
        pd: &mut ChildPd,
        pending: &mut Pending,
        index: usize,
        spec: &Spec,
        channels: &[Channel],
    ) -> Result<(Object, Object, Option<Object>, Vec<(usize, Vec<Slot>)>), LoadError> {
        let failed = |e: ErrorCode, pending: &Pending, bytes: u64, what| match e {
            ErrorCode::OutOfRamQuota => {
                LoadError::Budget { needed: pending.bytes() + crate::session::object_cost(bytes), budget: spec.ram }
            }
            _ => LoadError::NoMemory(what),
        };
        let one = |pd: &mut ChildPd, pending: &mut Pending, ty: ObjectType, what| {
            let bytes = ty.object_bits(0).map(|b| 1u64 << b).unwrap_or(0);
            pending.place(pd, ty, 0, None, 0).map_err(|e| failed(e, pending, bytes, what))
        };
        let tcb = one(pd, pending, ObjectType::Tcb, "TCB")?;
        let notification = one(pd, pending, ObjectType::Notification, "notification")?;
        let serves = channel::serves_calls(index, channels);
        let endpoint = if serves { Some(one(pd, pending, ObjectType::Endpoint, "endpoint")?) } else { None };
        let mut shared = Vec::new();
        for (i, c) in channels.iter().enumerate() {
            if let (Some(payer), Some(s)) = (channel::payer(c), c.shared) {
                if payer as usize == index {
                    let frames = loader::place_frames(pd, pending, s.size)
                        .map_err(|(e, bytes)| failed(e, pending, bytes, "shared memory"))?;
                    shared.push((i, frames));
                }
            }
        }
        // Signals of its peers wake its first thread wherever it waits
        // (`seL4_TCB_BindNotification`); the binding lasts as long as both objects.
        let t = sel4::Cap::<sel4::cap_type::Tcb>::from_bits(tcb.slot.0 as Word);
        t.tcb_bind_notification(sel4::Cap::from_bits(notification.slot.0 as Word))
            .map_err(|_| LoadError::Refused("bind its notification to its thread"))?;
        Ok((tcb, notification, endpoint, shared))
    }

    /// Bytes of the kept objects: what freeing them gives back.
    pub fn object_bytes(&self) -> u64 {
        self.objects.iter().map(|o| o.bytes()).sum()
    }

    /// Bytes of each kind, for core's log: TCB, notification, endpoint, shared memory, records.
    pub fn parts(&self) -> (u64, u64, u64, u64, u64) {
        let of = |ty| self.objects.iter().filter(|o| o.ty == ty).map(|o| o.bytes()).sum::<u64>();
        let records = self.objects.len() as u64 * charges::OBJECT_RECORD;
        (of(ObjectType::Tcb), of(ObjectType::Notification), of(ObjectType::Endpoint), of(ObjectType::Frame4K), records)
    }

    /// Handles of the kept objects (for the memory map's owners).
    pub fn handles(&self) -> impl Iterator<Item = crate::phys_allocator::ObjectId> + '_ {
        self.objects.iter().map(|o| o.handle)
    }

    /// The caps its peers get copies of.
    pub fn peer_caps(&self) -> PeerCaps {
        PeerCaps { notification: self.notification.slot, endpoint: self.endpoint.map(|e| e.slot) }
    }

    /// Frees every kept object, newest first: the peers' caps to them die too.
    pub fn free(self, core: &mut Core) {
        let mut pd = ChildPd::unattached(core);
        for o in self.objects.iter().rev() {
            pd.free(o.handle);
        }
    }
}

/// Core's copies of shared frames' caps for one start of a child, and where they map.
#[derive(Default)]
pub struct SharedMaps {
    pub frames: Vec<(Slot, u64)>,
}

impl SharedMaps {
    /// Copies of the caps of every shared dataspace of child `index`'s channels, each frame at
    /// its address in the child.
    pub fn make(
        core: &mut Core,
        index: usize,
        kept: &[Option<Kept>],
        channels: &[Channel],
    ) -> Result<SharedMaps, LoadError> {
        let mut maps = SharedMaps::default();
        for (i, payer, at) in channel::shared_in(index, channels) {
            let Some(Some(k)) = kept.get(payer as usize) else { continue };
            let Some((_, frames)) = k.shared.iter().find(|(ch, _)| *ch == i) else { continue };
            for (n, &frame) in frames.iter().enumerate() {
                let Ok(slot) = core.ours.placer.caps.alloc() else {
                    maps.release(core);
                    return Err(LoadError::NoMemory("copies of its shared memory's caps"));
                };
                let k = &core.kernel.inner;
                if k.slot(slot).copy(&k.slot(frame), CapRights::read_write()).is_err() {
                    let _ = core.ours.placer.caps.free(slot);
                    maps.release(core);
                    return Err(LoadError::Refused("copy a shared frame's cap"));
                }
                maps.frames.push((slot, at + n as u64 * 4096));
            }
        }
        Ok(maps)
    }

    /// Deletes the copies (which unmaps them from the child) and frees their slots.
    pub fn release(&mut self, core: &mut Core) {
        for (slot, _) in self.frames.drain(..) {
            // A copy whose frame is gone was deleted with it; nothing else refuses a delete.
            let _ = core.kernel.inner.slot(slot).delete();
            let _ = core.ours.placer.caps.free(slot);
        }
    }
}
