//! One allocation or free on the real kernel as the scenarios issue it:
//! through core's strategy, timed with the TSC, counted, and (feature
//! `audit`) checked against the kernel right after.

use crate::kernel::InvocationCounts;
use crate::object::ObjectType;
use crate::phys_allocator::{ObjectId, Placed};
use crate::root::error::Error;

use crate::root::audit::Audit;
use crate::root::state::Core;

pub use sel4::rdtsc;

/// `seL4_Yield`s the floor is averaged over: about 10 ms under TCG, long enough that a pause of
/// the host in the middle shifts it little.
pub const YIELD_SAMPLES: u64 = 10_000;

/// TSC cycles of one `seL4_Yield`, averaged over `n`: the cheapest kernel entry, so the
/// floor the scenarios report invocation costs against.
pub fn yield_cycles(n: u64) -> u64 {
    let t0 = rdtsc();
    for _ in 0..n {
        sel4::syscalls::yield_now();
    }
    (rdtsc() - t0) / n.max(1)
}

/// With feature `memory-map`: prints core's memory map (`crate::memory_map`, read by
/// `run map`) as the pool is now.
pub fn dump_memory_map(core: &Core) {
    if cfg!(feature = "memory-map") {
        let _ = crate::memory_map::write_dump(&core.ours.placer.pool, &mut sel4_root_task::printing::Writer);
    }
}

/// Totals of the operations issued through [`Runner`].
#[derive(Copy, Clone, Default, Debug)]
pub struct OpStats {
    pub allocs: u64,
    pub frees: u64,
    pub failures: u64,
    /// TSC cycles inside core's alloc/free (audit excluded).
    pub cycles: u64,
}

impl OpStats {
    pub fn ops(&self) -> u64 {
        self.allocs + self.frees + self.failures
    }
}

pub struct Runner {
    pub core: Core,
    pub audit: Option<Audit>,
    pub stats: OpStats,
}

impl Runner {
    pub fn new(mut core: Core) -> Result<Self, Error> {
        let audit = if cfg!(feature = "audit") { Some(Audit::new(&mut core)?) } else { None };
        Ok(Runner { core, audit, stats: OpStats::default() })
    }

    pub fn invocations(&self) -> InvocationCounts {
        self.core.kernel.counts
    }

    /// Allocates in RAM wherever core's allocator chooses.
    pub fn alloc(&mut self, ty: ObjectType, size_bits: u8) -> Result<Placed, Error> {
        self.place(ty, size_bits, None, None)
    }

    /// Allocates at physical address `addr` (RAM or device memory).
    pub fn alloc_at(&mut self, ty: ObjectType, size_bits: u8, addr: u64) -> Result<Placed, Error> {
        self.place(ty, size_bits, Some(addr), None)
    }

    /// Allocates in RAM within `[lo, hi)`.
    pub fn alloc_in(&mut self, ty: ObjectType, size_bits: u8, lo: u64, hi: u64) -> Result<Placed, Error> {
        self.place(ty, size_bits, None, Some((lo, hi)))
    }

    fn place(
        &mut self,
        ty: ObjectType,
        size_bits: u8,
        addr: Option<u64>,
        range: Option<(u64, u64)>,
    ) -> Result<Placed, Error> {
        let c = &mut self.core;
        let t0 = rdtsc();
        let r = match (addr, range) {
            (_, Some((lo, hi))) => c.ours.alloc_in(&mut c.kernel, ty, size_bits, lo, hi),
            (Some(a), None) => c.ours.alloc_at(&mut c.kernel, ty, size_bits, a),
            (None, None) => c.ours.alloc(&mut c.kernel, ty, size_bits),
        };
        self.stats.cycles += rdtsc() - t0;
        match r {
            Ok(p) => {
                self.stats.allocs += 1;
                if let Some(a) = self.audit.as_mut() {
                    a.placed(&mut self.core, &p)?;
                }
                Ok(p)
            }
            Err(failure) => {
                self.stats.failures += 1;
                Err(Error::Alloc { ty, size_bits, failure })
            }
        }
    }

    pub fn free(&mut self, h: ObjectId) -> Result<(), Error> {
        let c = &mut self.core;
        let leaf = c.ours.node_of(h);
        let t0 = rdtsc();
        let r = c.ours.free(&mut c.kernel, h);
        self.stats.cycles += rdtsc() - t0;
        match (r, leaf) {
            (Ok(()), Some(leaf)) => {
                self.stats.frees += 1;
                if let Some(a) = self.audit.as_mut() {
                    a.freed(&mut self.core, leaf)?;
                }
                Ok(())
            }
            (r, _) => {
                self.stats.failures += 1;
                r.map_err(Error::from)
            }
        }
    }
}
