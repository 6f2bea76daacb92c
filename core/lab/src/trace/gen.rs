//! Seeded, deterministic trace generators (churn, fill, adversary).
//!
//! They write the trace text to any `core::fmt::Write`, so the host tool can
//! write files and the root task can generate a trace in place instead of
//! shipping a large file. The random source is SplitMix64, written out here
//! so that a seed produces the same trace forever, independent of any
//! crate's version policy.

use core::fmt::{self, Write};

use sel4_core::object::ObjectType;
use sel4_core::range_allocator::ArrayRangeAllocator;

/// SplitMix64 (Steele, Lea, Flood 2014): tiny, full-period, good enough to
/// shuffle allocation sizes and pick victims.
#[derive(Clone, Debug)]
pub struct SplitMix64(u64);

impl SplitMix64 {
    pub fn new(seed: u64) -> Self {
        SplitMix64(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `[0, n)` (n > 0), by Lemire's multiply-shift (bias < n/2^64).
    pub fn below(&mut self, n: u64) -> u64 {
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }
}

/// An object kind with a relative weight in a mix.
#[derive(Copy, Clone, Debug)]
pub struct MixEntry {
    pub ty: ObjectType,
    /// Inclusive range of `size_bits` (equal bounds for fixed-size types).
    pub size_bits: (u8, u8),
    pub weight: u32,
}

const fn e(ty: ObjectType, lo: u8, hi: u8, weight: u32) -> MixEntry {
    MixEntry { ty, size_bits: (lo, hi), weight }
}

/// Churn mix: what a running system asks for (IPC objects, threads,
/// CSpaces, page-table objects, 4 KiB and some 2 MiB frames, untypeds
/// handed to clients).
pub const CHURN_MIX: [MixEntry; 11] = [
    e(ObjectType::Endpoint, 0, 0, 15),
    e(ObjectType::Notification, 0, 0, 10),
    e(ObjectType::Tcb, 0, 0, 10),
    e(ObjectType::CNode, 4, 8, 10),
    e(ObjectType::Frame4K, 0, 0, 25),
    e(ObjectType::PageTable, 0, 0, 8),
    e(ObjectType::PageDirectory, 0, 0, 4),
    e(ObjectType::Pdpt, 0, 0, 2),
    e(ObjectType::Pml4, 0, 0, 3),
    e(ObjectType::Untyped, 12, 16, 8),
    e(ObjectType::Frame2M, 0, 0, 5),
];

/// Fill mix: mostly large requests (so a few thousand operations exhaust
/// hundreds of MiB) with small objects interleaved, which costs
/// alignment gaps to an allocator that cannot reuse them.
pub const FILL_MIX: [MixEntry; 7] = [
    e(ObjectType::Frame2M, 0, 0, 30),
    e(ObjectType::Untyped, 14, 20, 20),
    e(ObjectType::CNode, 6, 12, 10),
    e(ObjectType::Frame4K, 0, 0, 15),
    e(ObjectType::Tcb, 0, 0, 10),
    e(ObjectType::Endpoint, 0, 0, 10),
    e(ObjectType::Notification, 0, 0, 5),
];

/// Adversary phase 1 cycles through these sizes in order, so neighbours
/// always differ in size and alignment. The cycle has odd length, so
/// "every other object" frees each kind in turn, large and small.
pub const ADVERSARY_CYCLE: [(ObjectType, u8); 7] = [
    (ObjectType::Untyped, 20),
    (ObjectType::Frame4K, 0),
    (ObjectType::Untyped, 18),
    (ObjectType::Endpoint, 0),
    (ObjectType::Untyped, 19),
    (ObjectType::Tcb, 0),
    (ObjectType::CNode, 5),
];

fn pick(rng: &mut SplitMix64, mix: &[MixEntry]) -> (ObjectType, u8) {
    let total: u64 = mix.iter().map(|m| u64::from(m.weight)).sum();
    let mut r = rng.below(total.max(1));
    for m in mix {
        if r < u64::from(m.weight) {
            let (lo, hi) = m.size_bits;
            let sb = lo + rng.below(u64::from(hi - lo) + 1) as u8;
            return (m.ty, sb);
        }
        r -= u64::from(m.weight);
    }
    (mix[0].ty, mix[0].size_bits.0)
}

fn bytes_of(ty: ObjectType, size_bits: u8) -> u64 {
    1u64 << super::object_bits(ty, size_bits)
}

/// Random churn: `ops` operations; allocates with probability 0.7 while
/// fewer than `target_live` objects are live and 0.3 above, so the live set
/// walks around `target_live`; a free picks a uniformly random live object.
/// `live` is scratch storage for live ids (its length caps the live set;
/// allocations that would exceed it become frees).
pub fn churn(out: &mut impl Write, ops: u64, seed: u64, target_live: usize, live: &mut [u64]) -> fmt::Result {
    let mut rng = SplitMix64::new(seed);
    writeln!(out, "# churn: ops={ops} seed={seed} target_live={target_live}")?;
    let mut n_live = 0usize;
    let mut next_id = 0u64;
    for _ in 0..ops {
        let p_alloc = if n_live < target_live { 70 } else { 30 };
        let alloc = n_live == 0 || (n_live < live.len() && rng.below(100) < p_alloc);
        if alloc {
            let (ty, sb) = pick(&mut rng, &CHURN_MIX);
            writeln!(out, "alloc o{next_id} {} {sb}", ty.name())?;
            live[n_live] = next_id;
            n_live += 1;
            next_id += 1;
        } else {
            let i = rng.below(n_live as u64) as usize;
            writeln!(out, "free o{}", live[i])?;
            n_live -= 1;
            live[i] = live[n_live];
        }
    }
    Ok(())
}

/// Churn in which `addr_percent`% of the allocations ask for an address, as
/// clients do for DMA buffers or device frames. Otherwise like [`churn`].
/// The generator keeps its own view of memory in `ram` (the caller adds the
/// RAM untypeds, with boundaries at their edges): an asked-for address is a
/// random naturally aligned spot inside a random RAM root (`roots`:
/// `(paddr, size_bits)`) that is free in that view (a few tries, else the
/// allocation is anonymous); anonymous allocations take `ram`'s own choice.
/// An allocator with the same choices as `ram` can satisfy every request
/// until memory runs out. `live` holds `(id, addr)` of live objects.
#[allow(clippy::too_many_arguments)]
pub fn churn_at<const N: usize>(
    out: &mut impl Write,
    ops: u64,
    seed: u64,
    target_live: usize,
    addr_percent: u64,
    roots: &[(u64, u8)],
    ram: &mut ArrayRangeAllocator<N>,
    live: &mut [(u64, u64)],
) -> fmt::Result {
    let mut rng = SplitMix64::new(seed);
    writeln!(out, "# churn: ops={ops} seed={seed} target_live={target_live} addr_percent={addr_percent}")?;
    let mut n_live = 0usize;
    let mut next_id = 0u64;
    for _ in 0..ops {
        let p_alloc = if n_live < target_live { 70 } else { 30 };
        let alloc = n_live == 0 || (n_live < live.len() && rng.below(100) < p_alloc);
        if alloc {
            let (ty, sb) = pick(&mut rng, &CHURN_MIX);
            let bits = super::object_bits(ty, sb);
            let size = 1u64 << bits;
            let mut at = None;
            if rng.below(100) < addr_percent && !roots.is_empty() {
                for _ in 0..4 {
                    let (base, rb) = roots[rng.below(roots.len() as u64) as usize];
                    if rb < bits {
                        continue;
                    }
                    let a = base + (rng.below(1u64 << (rb - bits)) << bits);
                    if ram.alloc_addr(a, size).is_ok() {
                        at = Some(a);
                        break;
                    }
                }
            }
            let addr = match at {
                Some(a) => {
                    writeln!(out, "alloc o{next_id} {} {sb} {a:#x}", ty.name())?;
                    a
                }
                None => match ram.alloc(size, bits, None) {
                    Ok(a) => {
                        writeln!(out, "alloc o{next_id} {} {sb}", ty.name())?;
                        a
                    }
                    // Memory is full in the generator's view: free instead.
                    Err(_) if n_live > 0 => {
                        free_random(out, &mut rng, ram, live, &mut n_live)?;
                        continue;
                    }
                    Err(_) => return Err(fmt::Error),
                },
            };
            live[n_live] = (next_id, addr);
            n_live += 1;
            next_id += 1;
        } else {
            free_random(out, &mut rng, ram, live, &mut n_live)?;
        }
    }
    Ok(())
}

fn free_random<const N: usize>(
    out: &mut impl Write,
    rng: &mut SplitMix64,
    ram: &mut ArrayRangeAllocator<N>,
    live: &mut [(u64, u64)],
    n_live: &mut usize,
) -> fmt::Result {
    let i = rng.below(*n_live as u64) as usize;
    let (id, addr) = live[i];
    writeln!(out, "free o{id}")?;
    let _ = ram.free(addr);
    *n_live -= 1;
    live[i] = live[*n_live];
    Ok(())
}

/// Fill to exhaustion: allocations only, from [`FILL_MIX`], until the
/// requested bytes exceed `bytes` (pick `bytes` above the RAM of the layout).
pub fn fill(out: &mut impl Write, bytes: u64, seed: u64) -> fmt::Result {
    let mut rng = SplitMix64::new(seed);
    writeln!(out, "# fill: bytes={bytes} seed={seed}")?;
    let mut total = 0u64;
    let mut id = 0u64;
    while total <= bytes {
        let (ty, sb) = pick(&mut rng, &FILL_MIX);
        writeln!(out, "alloc f{id} {} {sb}", ty.name())?;
        total += bytes_of(ty, sb);
        id += 1;
    }
    Ok(())
}

/// Fragmentation adversary: (1) allocate objects cycling through
/// [`ADVERSARY_CYCLE`] until `phase1_bytes` are requested; (2) free every
/// other one, leaving holes of every size between survivors; (3) ask for
/// large blocks (2 MiB frames and 256 KiB..4 MiB untypeds, chosen by `seed`)
/// until `large_bytes` are requested (pick it above the free RAM so the
/// trace ends in failures).
pub fn adversary(out: &mut impl Write, phase1_bytes: u64, large_bytes: u64, seed: u64) -> fmt::Result {
    let mut rng = SplitMix64::new(seed);
    writeln!(out, "# adversary: phase1_bytes={phase1_bytes} large_bytes={large_bytes} seed={seed}")?;
    writeln!(out, "# phase 1: interleaved sizes")?;
    let mut total = 0u64;
    let mut n = 0u64;
    while total < phase1_bytes {
        let (ty, sb) = ADVERSARY_CYCLE[(n % ADVERSARY_CYCLE.len() as u64) as usize];
        writeln!(out, "alloc a{n} {} {sb}", ty.name())?;
        total += bytes_of(ty, sb);
        n += 1;
    }
    writeln!(out, "# phase 2: free every other object")?;
    for i in (1..n).step_by(2) {
        writeln!(out, "free a{i}")?;
    }
    writeln!(out, "# phase 3: large blocks")?;
    let mut total = 0u64;
    let mut id = 0u64;
    while total < large_bytes {
        let (ty, sb) =
            if rng.below(2) == 0 { (ObjectType::Frame2M, 0) } else { (ObjectType::Untyped, 18 + rng.below(5) as u8) };
        writeln!(out, "alloc L{id} {} {sb}", ty.name())?;
        total += bytes_of(ty, sb);
        id += 1;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::String;
    use std::vec;

    fn churn_text(ops: u64, seed: u64) -> String {
        let mut s = String::new();
        let mut live = vec![0u64; 4096];
        churn(&mut s, ops, seed, 100, &mut live).unwrap();
        s
    }

    #[test]
    fn splitmix_reference_values() {
        // First outputs for seed 0 from the reference implementation.
        let mut r = SplitMix64::new(0);
        assert_eq!(r.next_u64(), 0xe220_a839_7b1d_cdaf);
        assert_eq!(r.next_u64(), 0x6e78_9e6a_a1b9_65f4);
    }

    #[test]
    fn churn_is_deterministic_and_seed_dependent() {
        let a = churn_text(2000, 1);
        assert_eq!(a, churn_text(2000, 1));
        assert_ne!(a, churn_text(2000, 2));
        let mut st = vec![None; 8192];
        let s = crate::trace::validate(&a, &mut st).unwrap();
        assert_eq!(s.ops, 2000);
        assert!(s.frees > 500 && s.max_live >= 100, "{s:?}");
    }

    #[test]
    fn churn_at_asks_for_free_addresses_inside_roots() {
        let roots = [(0x100000u64, 20u8), (0x400000, 22)];
        let text = |seed| {
            let mut ram = ArrayRangeAllocator::<4096>::new_boxed();
            for (b, sb) in roots {
                ram.add_boundary(b).unwrap();
                ram.add_boundary(b + (1 << sb)).unwrap();
                ram.add_range(b, 1 << sb).unwrap();
            }
            let mut s = String::new();
            let mut live = vec![(0u64, 0u64); 512];
            churn_at(&mut s, 3000, seed, 60, 50, &roots, &mut ram, &mut live).unwrap();
            s
        };
        let a = text(5);
        assert_eq!(a, text(5));
        let mut st = vec![None; 8192];
        let s = crate::trace::validate(&a, &mut st).unwrap();
        assert_eq!(s.ops, 3000);
        let at: std::vec::Vec<u64> = a
            .lines()
            .filter(|l| l.starts_with("alloc"))
            .filter_map(|l| l.split_whitespace().nth(4))
            .map(|t| u64::from_str_radix(t.trim_start_matches("0x"), 16).unwrap())
            .collect();
        assert!(at.len() > 300, "{}", at.len());
        assert!(at.iter().all(|&x| roots.iter().any(|&(b, sb)| x >= b && x < b + (1 << sb))));
    }

    #[test]
    fn fill_and_adversary_are_valid_traces() {
        let mut f = String::new();
        fill(&mut f, 64 << 20, 3).unwrap();
        let mut st = vec![None; 1 << 16];
        let s = crate::trace::validate(&f, &mut st).unwrap();
        assert_eq!(s.frees, 0);
        let mut a = String::new();
        adversary(&mut a, 16 << 20, 32 << 20, 3).unwrap();
        let mut st = vec![None; 1 << 16];
        let s = crate::trace::validate(&a, &mut st).unwrap();
        assert!(s.frees > 0 && s.live_at_end > 0);
    }
}
