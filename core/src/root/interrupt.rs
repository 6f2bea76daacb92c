//! An IOAPIC interrupt core holds: its handler (`IRQControl_GetIOAPIC`) and the badged copy of
//! core's own notification it signals, both in core's CSpace. The children's interrupts
//! (`channels::KeptIrq`) and the watchdog's clock (`watchdog::Clock`) are each one.

use sel4::{cap_type, Cap, CapRights, Word};

use crate::kernel::Slot;
use crate::root::state::Core;

/// Where an interrupt comes from: IOAPIC `ioapic`'s input `pin`, level-triggered or edge,
/// active low or high.
#[derive(Copy, Clone, Debug)]
pub struct Source {
    pub ioapic: u8,
    pub pin: u8,
    pub level: bool,
    pub active_low: bool,
}

/// An interrupt issued to core and bound to its notification.
pub struct CoreIrq {
    handler: Slot,
    bound: Slot,
}

impl CoreIrq {
    /// Issues `source`'s interrupt on CPU vector `vector` (counted from the kernel's first user
    /// vector) and binds it to core's `notification` with `badge`. What failed, if it did;
    /// nothing is left behind then.
    pub fn issue(
        core: &mut Core,
        source: Source,
        vector: u64,
        notification: Slot,
        badge: Word,
    ) -> Result<CoreIrq, &'static str> {
        let handler = core.ours.placer.caps.alloc().map_err(|_| "no slot for an interrupt handler")?;
        let Ok(bound) = core.ours.placer.caps.alloc() else {
            let _ = core.ours.placer.caps.free(handler);
            return Err("no slot for an interrupt's notification");
        };
        let irq = CoreIrq { handler, bound };
        let k = &core.kernel.inner;
        let issued = sel4::init_thread::IRQ_CONTROL
            .irq_control_get_ioapic(
                &k.slot(handler),
                source.ioapic as Word,
                source.pin as Word,
                source.level,
                source.active_low,
                vector,
            )
            .is_ok();
        if !issued {
            irq.release(core);
            return Err("issue an interrupt handler (GetIOAPIC)");
        }
        let k = &core.kernel.inner;
        let bound_ok = k.slot(bound).mint(&k.slot(notification), CapRights::new(false, false, true), badge).is_ok()
            && irq.handler().irq_handler_set_notification(Cap::from_bits(bound.0 as Word)).is_ok();
        if !bound_ok {
            irq.release(core);
            return Err("bind an interrupt to core's notification");
        }
        // Issuing the handler unmasks the interrupt: one that came before the binding was
        // undelivered and left masked (`src/object/interrupt.c:handleInterrupt`). Let it come
        // again, now to core.
        irq.ack();
        Ok(irq)
    }

    fn handler(&self) -> Cap<cap_type::IrqHandler> {
        Cap::from_bits(self.handler.0 as Word)
    }

    /// Lets the interrupt come again (`seL4_IRQHandler_Ack`).
    pub fn ack(&self) {
        // The handler is core's and issued: the kernel refuses no ack of it.
        let _ = self.handler().irq_handler_ack();
    }

    /// Clears the handler, deletes both caps and frees their slots, so the interrupt can be
    /// issued again.
    pub fn release(self, core: &mut Core) {
        // A handler never issued refuses the clear; deleting its cap below clears an issued one
        // too.
        let _ = self.handler().irq_handler_clear();
        for s in [self.handler, self.bound] {
            let _ = core.kernel.inner.slot(s).delete();
            let _ = core.ours.placer.caps.free(s);
        }
    }
}
