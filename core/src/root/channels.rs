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
use sel4_core_protocol::{charges, CacheAttr, ErrorCode};
use sel4_core_system::{Channel, Devices};

use crate::channel::{self, PeerCaps};
use crate::kernel::Slot;
use crate::loader::{self, LoadError, Spec};
use crate::object::ObjectType;
use crate::root::child_pd::ChildPd;
use crate::root::interrupt::{CoreIrq, Source};
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
    /// Its interrupts' handlers, in the order of its grants.
    pub irqs: Vec<KeptIrq>,
    /// Its device memory: each frame's cap, address in the child and cache attribute (device
    /// frames are no RAM: their records are charged, not their bytes).
    pub device_frames: Vec<(Object, u64, CacheAttr)>,
    objects: Vec<Object>,
    /// Bytes charged to the child's budget for all of it (objects and their records).
    pub charged: u64,
}

/// An interrupt core keeps for a child: the interrupt, signalling core's notification with
/// the interrupt's bit, and the copy of the child's notification core signals it on with
/// (badge: the grant's id bit), in core's CSpace. Core delivers each interrupt and acks it
/// when the child says so, so it knows one the child leaves unacked.
pub struct KeptIrq {
    pub id: u8,
    irq: CoreIrq,
    notification: Slot,
    /// Its bit of core's notification's badge.
    pub bit: u32,
    /// How long the child may take to ack it.
    pub ack_within_ms: u32,
    /// The watchdog's tick at which core delivered it, while the child has not acked it.
    pub outstanding: Option<u64>,
}

impl KeptIrq {
    /// The interrupt came (the kernel masked it): signals the child, at watchdog tick `tick`.
    pub fn deliver(&mut self, tick: u64) {
        sel4::syscalls::send(
            sel4::CPtr::from_bits(self.notification.0 as Word),
            sel4::MessageInfo::new(0, 0, 0, 0),
            [0; 4],
        );
        self.outstanding = Some(tick);
    }

    /// The child handled it: lets it come again (`seL4_IRQHandler_Ack`). `InvalidArgument`
    /// when none is outstanding.
    pub fn ack(&mut self) -> Result<(), ErrorCode> {
        self.outstanding.take().ok_or(ErrorCode::InvalidArgument)?;
        self.irq.ack();
        Ok(())
    }
}

/// Whether child `index` needs kept objects: it has a channel or devices, or may be restarted.
pub fn needs_kept(index: usize, spec: &Spec, channels: &[Channel], devices: &Devices) -> bool {
    spec.restarts > 0 || channel::has_channels(index, channels) || !devices.is_empty()
}

/// Why a device grant could not be given.
fn device_failed(what: &'static str) -> LoadError {
    LoadError::Refused(what)
}

impl Kept {
    /// Places what child `index` keeps, charged to its budget (`spec.ram`): its objects, then
    /// its device grants (`devices`; interrupts on CPU vectors from `*vector` on, each
    /// signalling core's notification (`core_notification`) with bit `1 + vector`).
    pub fn place(
        core: &mut Core,
        index: usize,
        spec: &Spec,
        channels: &[Channel],
        devices: &Devices,
        core_notification: Option<Slot>,
        vector: &mut u64,
    ) -> Result<Kept, LoadError> {
        let mut pd = ChildPd::unattached(core);
        let mut pending = Pending::with_left(spec.ram, u32::MAX);
        let (tcb, notification, endpoint, shared) = match Self::build(&mut pd, &mut pending, index, spec, channels) {
            Ok(parts) => parts,
            Err(e) => {
                pending.undo(&mut pd);
                return Err(e);
            }
        };
        let (objects, charged, _) = pending.finish();
        let mut k =
            Kept { tcb, notification, endpoint, shared, irqs: Vec::new(), device_frames: Vec::new(), objects, charged };
        if let Err(e) = k.give_devices(core, spec, devices, core_notification, vector) {
            k.free(core);
            return Err(e);
        }
        Ok(k)
    }

    /// Issues its interrupts' handlers (`IRQControl_GetIOAPIC`, each signalling core's
    /// `notification` with its bit) and places its device memory's frames at the granted
    /// physical addresses, each charged as a record.
    fn give_devices(
        &mut self,
        core: &mut Core,
        spec: &Spec,
        devices: &Devices,
        notification: Option<Slot>,
        vector: &mut u64,
    ) -> Result<(), LoadError> {
        let record = charges::OBJECT_RECORD;
        let items = devices.irqs.len() * 3 + devices.memory.iter().map(|m| (m.size / 4096) as usize).sum::<usize>();
        let bytes = items as u64 * record;
        if self.charged + bytes > spec.ram {
            return Err(LoadError::Budget { needed: self.charged + bytes, budget: spec.ram });
        }
        for irq in &devices.irqs {
            let core_ntfn = notification.ok_or(device_failed("route an interrupt: core has no notification"))?;
            // Bit 0 is the watchdog's; a retried placement may have used vectors before.
            let v = *vector;
            *vector += 1;
            let bit = v as u32 + 1;
            if bit as usize > sel4_core_system::INTERRUPTS {
                return Err(device_failed("route an interrupt: no bit of core's badge left"));
            }
            let source = Source { ioapic: irq.ioapic, pin: irq.pin, level: irq.level, active_low: irq.active_low };
            let issued = CoreIrq::issue(core, source, v, core_ntfn, core_badge(bit)).map_err(device_failed)?;
            let Ok(child_ntfn) = core.ours.placer.caps.alloc() else {
                issued.release(core);
                return Err(LoadError::NoMemory("an interrupt's copy of the child's notification"));
            };
            let k = &core.kernel.inner;
            let signal = CapRights::new(false, false, true);
            let minted = k.slot(child_ntfn).mint(&k.slot(self.notification.slot), signal, 1 << irq.id).is_ok();
            // Pushed either way, so that freeing what is kept frees it too.
            self.irqs.push(KeptIrq {
                id: irq.id,
                irq: issued,
                notification: child_ntfn,
                bit,
                ack_within_ms: irq.ack_within_ms,
                outstanding: None,
            });
            self.charged += 3 * record;
            if !minted {
                return Err(device_failed("copy the child's notification for an interrupt"));
            }
        }
        let mut pd = ChildPd::unattached(core);
        for m in &devices.memory {
            let cache = match m.cache {
                0 => CacheAttr::Cached,
                1 => CacheAttr::WriteCombining,
                _ => CacheAttr::Uncached,
            };
            for page in 0..m.size / 4096 {
                let paddr = m.paddr + page * 4096;
                let p = pd
                    .alloc_run_at(ObjectType::Frame4K, paddr, 0)
                    .map_err(|_| device_failed("place device memory at its physical address"))?;
                let o = Object {
                    handle: p.handle,
                    slot: p.slot,
                    ty: ObjectType::Frame4K,
                    paddr: p.paddr,
                    bits: 12,
                    count_log2: 0,
                };
                self.device_frames.push((o, m.at + page * 4096, cache));
                self.charged += record;
            }
        }
        Ok(())
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

    /// Bytes of each kind, for core's log: TCB, notification, endpoint, shared memory, and
    /// core's records (of the objects, the interrupt handlers and the device frames).
    pub fn parts(&self) -> (u64, u64, u64, u64, u64) {
        let of = |ty| self.objects.iter().filter(|o| o.ty == ty).map(|o| o.bytes()).sum::<u64>();
        let records = self.charged - self.object_bytes();
        (of(ObjectType::Tcb), of(ObjectType::Notification), of(ObjectType::Endpoint), of(ObjectType::Frame4K), records)
    }

    /// Its interrupts and its pages of device memory.
    pub fn devices(&self) -> (usize, usize) {
        (self.irqs.len(), self.device_frames.len())
    }

    /// Handles of the kept objects (for the memory map's owners).
    pub fn handles(&self) -> impl Iterator<Item = crate::phys_allocator::ObjectId> + '_ {
        self.objects.iter().chain(self.device_frames.iter().map(|(o, _, _)| o)).map(|o| o.handle)
    }

    /// The caps its peers get copies of.
    pub fn peer_caps(&self) -> PeerCaps {
        PeerCaps { notification: self.notification.slot, endpoint: self.endpoint.map(|e| e.slot) }
    }

    /// Frees every kept object, newest first: the peers' caps to them die too. Its interrupts
    /// are cleared and their handlers deleted, so they can be issued again.
    pub fn free(self, core: &mut Core) {
        for irq in self.irqs {
            irq.irq.release(core);
            let _ = core.kernel.inner.slot(irq.notification).delete();
            let _ = core.ours.placer.caps.free(irq.notification);
        }
        let mut pd = ChildPd::unattached(core);
        for (o, _, _) in self.device_frames.iter().rev() {
            pd.free(o.handle);
        }
        for o in self.objects.iter().rev() {
            pd.free(o.handle);
        }
    }

    /// Lets every interrupt it left unacked come again: its next instance gets them.
    pub fn release_interrupts(&mut self) {
        for irq in &mut self.irqs {
            let _ = irq.ack();
        }
    }
}

/// The badge bit that tells a signal on core's notification from a request or fault on core's
/// endpoint (whose badges, `index << 1 | fault`, are below it): the kernel hands either to
/// core's receive as the badge (`src/object/notification.c:completeSignal` sets no message).
pub const NOTIFIED: Word = sel4_core_protocol::abi::CALL_BADGE;

/// The badge of core's notification for bit `bit`.
pub fn core_badge(bit: u32) -> Word {
    NOTIFIED | 1 << bit
}

/// Core's copies of shared and device frames' caps for one start of a child, where they map
/// and how.
#[derive(Default)]
pub struct SharedMaps {
    pub frames: Vec<(Slot, u64, CacheAttr)>,
}

impl SharedMaps {
    /// Copies of the caps of every shared dataspace of child `index`'s channels and of its
    /// device memory, each frame at its address in the child.
    pub fn make(
        core: &mut Core,
        index: usize,
        kept: &[Option<Kept>],
        channels: &[Channel],
    ) -> Result<SharedMaps, LoadError> {
        let mut todo: Vec<(Slot, u64, CacheAttr)> = Vec::new();
        for (i, payer, at) in channel::shared_in(index, channels) {
            let Some(Some(k)) = kept.get(payer as usize) else { continue };
            let Some((_, frames)) = k.shared.iter().find(|(ch, _)| *ch == i) else { continue };
            todo.extend(frames.iter().enumerate().map(|(n, &f)| (f, at + n as u64 * 4096, CacheAttr::Cached)));
        }
        if let Some(Some(k)) = kept.get(index) {
            todo.extend(k.device_frames.iter().map(|&(o, at, cache)| (o.slot, at, cache)));
        }
        let mut maps = SharedMaps::default();
        for (frame, at, cache) in todo {
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
            maps.frames.push((slot, at, cache));
        }
        Ok(maps)
    }

    /// Deletes the copies (which unmaps them from the child) and frees their slots.
    pub fn release(&mut self, core: &mut Core) {
        for (slot, _, _) in self.frames.drain(..) {
            // A copy whose frame is gone was deleted with it; nothing else refuses a delete.
            let _ = core.kernel.inner.slot(slot).delete();
            let _ = core.ours.placer.caps.free(slot);
        }
    }
}
