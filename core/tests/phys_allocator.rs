//! core's strategy against the kernel model, side by side with an ideal allocator (the same
//! range allocator without kernel constraints).

mod common;

use common::*;

const N: usize = 2048;
const FIRST_FREE: u32 = 16;

type Model = KernelModel<Vec<ModelSlot>>;

struct Rig {
    k: Counting<Model>,
    ram: Box<ArrayRangeAllocator<N>>,
    dev: Box<ArrayRangeAllocator<N>>,
    boot: Vec<UntypedDesc>,
}

fn rig(boot: &[UntypedDesc]) -> Rig {
    Rig {
        k: Counting::new(KernelModel::new(vec![ModelSlot::EMPTY; 2048], boot, Slot(FIRST_FREE)).unwrap()),
        ram: ArrayRangeAllocator::new_boxed(),
        dev: ArrayRangeAllocator::new_boxed(),
        boot: boot.to_vec(),
    }
}

type TestOurs<'s> = PhysAllocator<'s, [RangeNode; N], Vec<PoolNode>, Vec<CapEntry>>;

fn ours<'s>(r: &'s mut Rig) -> (&'s mut Counting<Model>, TestOurs<'s>) {
    let pool = UntypedPool::new(vec![PoolNode::EMPTY; 2048], &r.boot).unwrap();
    let caps = CapSpace::new(vec![CapEntry::EMPTY; 2048 - FIRST_FREE as usize], Slot(FIRST_FREE)).unwrap();
    let s = PhysAllocator::new(&mut r.ram, &mut r.dev, Placer::new(pool, caps)).unwrap();
    (&mut r.k, s)
}

fn layout() -> Vec<UntypedDesc> {
    let u = |slot, paddr, size_bits, is_device| UntypedDesc { slot: Slot(slot), paddr, size_bits, is_device };
    vec![
        u(1, 0x10_0000, 20, false),
        u(2, 0x20_0000, 16, false),
        u(3, 0x24_0000, 18, false),
        u(4, 0x28_0000, 12, false),
        u(5, 0x21_0000, 14, false),
        u(6, 0xfe00_0000, 21, true),
    ]
}

#[test]
fn seed_case_through_the_strategy() {
    let boot = [UntypedDesc { slot: Slot(1), paddr: 0x10_0000, size_bits: 13, is_device: false }];
    let mut r = rig(&boot);
    let (k, mut s) = ours(&mut r);
    let a = s.alloc_at(k, T::CNode, 5, 0x10_0000).unwrap();
    let b = s.alloc_at(k, T::CNode, 6, 0x10_0800).unwrap();
    let c = s.alloc_at(k, T::Frame4K, 0, 0x10_1000).unwrap();
    // The allocator's own choice for the next 1 KiB is the gap at 0x400.
    let d = s.alloc(k, T::CNode, 5).unwrap();
    assert_eq!(d.paddr, 0x10_0400);
    assert_eq!(k.inner.object_at(d.slot), Some((T::CNode, 0x10_0400, 10)));
    for x in [a, b, c, d] {
        s.free(k, x.handle).unwrap();
    }
    assert_eq!(s.largest_free(k), 0x2000);
}

#[test]
fn device_memory_rules() {
    let mut r = rig(&layout());
    let (k, mut s) = ours(&mut r);
    let f = s.alloc_at(k, T::Frame4K, 0, 0xfe00_1000).unwrap();
    assert_eq!(k.inner.object_at(f.slot), Some((T::Frame4K, 0xfe00_1000, 12)));
    assert_eq!(
        s.alloc_at(k, T::Tcb, 0, 0xfe00_2000),
        Err(AllocFailure::Invalid(KernelError::InvalidArgument { which: 1 }))
    );
    assert_eq!(s.alloc_at(k, T::Frame4K, 0, 0xfe00_1000), Err(AllocFailure::NoBlock), "already in use");
    assert_eq!(s.alloc_at(k, T::Frame4K, 0, 0x5000), Err(AllocFailure::NoBlock), "no memory there");
    assert_eq!(s.alloc_at(k, T::Frame4K, 0, 0x10_0800), Err(AllocFailure::Invalid(KernelError::AlignmentError)));
    assert_eq!(s.alloc(k, T::CNode, 0), Err(AllocFailure::Invalid(KernelError::InvalidArgument { which: 1 })));
    assert_eq!(s.alloc(k, T::Frame1G, 0), Err(AllocFailure::NoBlock));
    // Anonymous frames come from RAM.
    let g = s.alloc(k, T::Frame4K, 0).unwrap();
    assert!(g.paddr < 0xfe00_0000);
    s.free(k, f.handle).unwrap();
    assert_eq!(s.free(k, f.handle), Err(FreeError::InvalidHandle), "double free");
    assert_eq!(s.free(k, ObjectId(u64::MAX)), Err(FreeError::InvalidHandle), "forged");
    // A stale handle whose leaf has been reused is rejected.
    let f2 = s.alloc_at(k, T::Frame4K, 0, 0xfe00_1000).unwrap();
    assert_ne!(f2.handle, f.handle);
    assert_eq!(s.free(k, f.handle), Err(FreeError::InvalidHandle));
    assert_eq!(s.object(f2.handle), Some((0xfe00_1000, T::Frame4K, f2.slot)));
}

#[test]
fn dma_range_constraint() {
    let mut r = rig(&layout());
    let (k, mut s) = ours(&mut r);
    let x = s.alloc_in(k, T::Frame4K, 0, 0x24_0000, 0x28_0000).unwrap();
    assert!((0x24_0000..0x28_0000).contains(&x.paddr));
    assert_eq!(k.inner.object_at(x.slot), Some((T::Frame4K, x.paddr, 12)));
    assert_eq!(s.alloc_in(k, T::Frame2M, 0, 0x24_0000, 0x28_0000), Err(AllocFailure::NoBlock));
}

#[test]
fn capacity_failure_rolls_the_allocator_back() {
    let boot = [UntypedDesc { slot: Slot(1), paddr: 0x10_0000, size_bits: 20, is_device: false }];
    let mut r = rig(&boot);
    let pool = UntypedPool::new(vec![PoolNode::EMPTY; 64], &boot).unwrap();
    // Three slots: one split pair and one object slot.
    let caps = CapSpace::new(vec![CapEntry::EMPTY; 3], Slot(FIRST_FREE)).unwrap();
    let mut s = PhysAllocator::new(&mut r.ram, &mut r.dev, Placer::new(pool, caps)).unwrap();
    let k = &mut r.k;
    let x = s.alloc(k, T::Untyped, 19).unwrap();
    assert_eq!(x.paddr, 0x10_0000);
    let avail = s.ram().avail();
    assert_eq!(s.alloc(k, T::Frame4K, 0), Err(AllocFailure::Capacity(Capacity::CapSlots)));
    assert_eq!(s.ram().avail(), avail, "the allocator's block was returned");
    s.free(k, x.handle).unwrap();
    // The freed object slot is enough for an object of a free node's exact size.
    let y = s.alloc_at(k, T::Untyped, 19, 0x18_0000).unwrap();
    assert_eq!(k.inner.object_at(y.slot), Some((T::Untyped, 0x18_0000, 19)));
}

mod prop {
    use super::*;
    use proptest::prelude::{any, prop_assert, prop_assert_eq, prop_oneof, proptest, ProptestConfig};
    use proptest::strategy::Strategy as Gen;

    #[derive(Clone, Debug)]
    enum Op {
        Alloc { ty: usize, sb: u8, at: Option<(usize, u64)> },
        Free(usize),
    }

    fn op() -> impl Gen<Value = Op> {
        prop_oneof![
            6 => (0..T::ALL.len(), 1u8..12, proptest::option::weighted(0.25, (0..6usize, any::<u64>())))
                .prop_map(|(ty, sb, at)| Op::Alloc { ty, sb, at }),
            4 => any::<usize>().prop_map(Op::Free),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]
        /// Random traces: every object lands at the allocator's address, the allocator's choice
        /// equals an ideal allocator's, the pool mirrors the model after every operation, no
        /// object overlaps another, nothing is refused, and after freeing everything each root
        /// takes a retype of its full size.
        #[test]
        fn ours_is_as_good_as_the_ideal_allocator(ops in proptest::collection::vec(op(), 1..300)) {
            let mut r = rig(&layout());
            let boot = r.boot.clone();
            let (k, mut s) = ours(&mut r);
            // The ideal allocator: same ranges and boundaries, no kernel.
            let (mut ideal_ram, mut ideal_dev) = {
                let mut a = ArrayRangeAllocator::<N>::new_boxed();
                let mut d = ArrayRangeAllocator::<N>::new_boxed();
                for u in &boot {
                    let x = if u.is_device { &mut d } else { &mut a };
                    x.add_boundary(u.paddr).unwrap();
                    x.add_boundary(u.paddr + (1 << u.size_bits)).unwrap();
                    x.add_range(u.paddr, 1 << u.size_bits).unwrap();
                }
                (a, d)
            };
            let mut live: BTreeMap<u64, (ObjectId, bool)> = BTreeMap::new();
            for op in ops {
                match op {
                    Op::Alloc { ty, sb, at } => {
                        let t = T::ALL[ty];
                        let sb = match t { T::Untyped => sb + 3, T::CNode => sb, _ => 0 };
                        let bits = t.object_bits(sb).unwrap();
                        let addr = at.map(|(root, pick)| {
                            let u = boot[root];
                            let span = u.size_bits.saturating_sub(bits);
                            u.paddr + ((pick % (1u64 << span)) << bits)
                        });
                        // What the ideal allocator does with the same request.
                        let dev_root = addr.is_some_and(|a| boot.iter().any(|u| u.is_device && a >= u.paddr && a < u.paddr + (1 << u.size_bits)));
                        let misaligned = addr.is_some_and(|a| a & ((1u64 << bits) - 1) != 0);
                        let expect: Result<u64, AllocFailure> = if misaligned {
                            Err(AllocFailure::Invalid(KernelError::AlignmentError))
                        } else if dev_root && !t.allowed_from_device() {
                            Err(AllocFailure::Invalid(KernelError::InvalidArgument { which: 1 }))
                        } else {
                            let a = if dev_root { &mut ideal_dev } else { &mut ideal_ram };
                            match addr {
                                None => a.alloc(1 << bits, bits, None).map_err(|_| AllocFailure::NoBlock),
                                Some(x) => a.alloc_addr(x, 1 << bits).map(|_| x).map_err(|_| AllocFailure::NoBlock),
                            }
                        };
                        let got = match addr {
                            Some(a) => s.alloc_at(k, t, sb, a),
                            None => s.alloc(k, t, sb),
                        };
                        match (&got, &expect) {
                            (Ok(p), Ok(x)) => {
                                prop_assert_eq!(p.paddr, *x, "same address as the ideal allocator");
                                prop_assert_eq!(k.inner.object_at(p.slot), Some((t, p.paddr, bits)));
                                live.insert(p.paddr, (p.handle, dev_root));
                            }
                            (Err(g), Err(e)) => prop_assert_eq!(g, e),
                            _ => prop_assert!(false, "ours {:?} vs ideal {:?} for {:?} {} at {:?}", got, expect, t, sb, addr),
                        }
                    }
                    Op::Free(i) => {
                        if live.is_empty() { continue; }
                        let key = *live.keys().nth(i % live.len()).unwrap();
                        let (h, dev) = live.remove(&key).unwrap();
                        s.free(k, h).unwrap();
                        let a = if dev { &mut ideal_dev } else { &mut ideal_ram };
                        a.free(key).unwrap();
                    }
                }
                check_mirror(&s.placer, &k.inner);
                check_no_overlap(&k.inner);
            }
            for (_, (h, _)) in live {
                s.free(k, h).unwrap();
            }
            prop_assert_eq!(s.largest_free(k), 1 << 20);
            // Full reuse: each root takes a retype of its full size at its base.
            let mut hs = Vec::new();
            for u in &boot {
                let p = s.alloc_at(k, T::Untyped, u.size_bits, u.paddr).unwrap();
                prop_assert_eq!(k.inner.object_at(p.slot), Some((T::Untyped, u.paddr, u.size_bits)));
                hs.push(p.handle);
            }
            check_mirror(&s.placer, &k.inner);
            for h in hs {
                s.free(k, h).unwrap();
            }
            prop_assert_eq!(s.ram().avail(), boot.iter().filter(|u| !u.is_device).map(|u| 1u64 << u.size_bits).sum::<u64>());
        }
    }
}

#[test]
fn moved_metadata_keeps_every_handle_and_grows_the_capacity() {
    let boot = layout();
    let mut k = Counting::new(KernelModel::new(vec![ModelSlot::EMPTY; 2048], &boot, Slot(FIRST_FREE)).unwrap());
    // Small storage: a handful of objects fit.
    let mut ram = RangeAllocator::with_storage(vec![RangeNode::ZERO; 32]).unwrap();
    let mut dev = RangeAllocator::with_storage(vec![RangeNode::ZERO; 32]).unwrap();
    let pool = UntypedPool::new(vec![PoolNode::EMPTY; 64], &boot).unwrap();
    let caps = CapSpace::new(vec![CapEntry::EMPTY; 48], Slot(FIRST_FREE)).unwrap();
    let mut s = PhysAllocator::new(&mut ram, &mut dev, Placer::new(pool, caps)).unwrap();
    let k = &mut k;
    let mut live = Vec::new();
    let failure = loop {
        match s.alloc(k, T::Endpoint, 0) {
            Ok(p) => live.push(p),
            Err(e) => break e,
        }
    };
    assert!(matches!(failure, AllocFailure::Capacity(_)), "{failure:?}");
    let small = |n| Storage {
        ram: vec![RangeNode::ZERO; n],
        device: vec![RangeNode::ZERO; n],
        pool: vec![PoolNode::EMPTY; n],
        caps: vec![CapEntry::EMPTY; n],
    };
    assert!(s.replace_storage(small(8)).is_err(), "smaller than what is in use");
    let old = s.replace_storage(small(1024)).map_err(|_| "larger storage refused").unwrap();
    assert_eq!((old.pool.len(), old.caps.len()), (64, 48));
    check_mirror(&s.placer, &k.inner);
    for p in &live {
        assert_eq!(s.object(p.handle).map(|o| o.0), Some(p.paddr));
    }
    for _ in 0..live.len() {
        live.push(s.alloc(k, T::Endpoint, 0).unwrap());
    }
    for p in live {
        s.free(k, p.handle).unwrap();
    }
    check_mirror(&s.placer, &k.inner);
    assert_eq!(s.largest_free(k), 1 << 20);
}

#[test]
fn a_run_of_frames_is_one_retype_from_one_leaf_and_one_free() {
    let mut r = rig(&layout());
    let (k, mut s) = ours(&mut r);
    let avail = s.ram().avail();
    let before = k.counts;
    // 256 KiB at 0x10_0000 + 256 KiB: 64 frames of 4 KiB in consecutive slots.
    let p = s.alloc_run_at(k, T::Frame4K, 0, 0x14_0000, 6).unwrap();
    assert_eq!(p.paddr, 0x14_0000);
    assert_eq!(p.slot.0 % 64, 0, "the run's slots are aligned to its length");
    let after = k.counts;
    assert_eq!(after.retypes - before.retypes, 3, "two splits (1 MiB to 256 KiB) and one retype of 64 frames");
    for i in 0..64u32 {
        assert_eq!(k.inner.object_at(Slot(p.slot.0 + i)), Some((T::Frame4K, 0x14_0000 + (i as u64) * 4096, 12)));
    }
    assert_eq!(s.ram().avail(), avail - (256 << 10));
    // Misaligned runs and runs past the fan-out are invalid; nothing changes.
    assert!(matches!(s.alloc_run_at(k, T::Frame4K, 0, 0x18_1000, 1), Err(AllocFailure::Invalid(_))));
    assert!(matches!(s.alloc_run_at(k, T::Frame4K, 0, 0x10_0000, 9), Err(AllocFailure::Invalid(_))));
    assert!(matches!(s.alloc_run_at(k, T::Frame4K, 0, 0x10_0000, 250), Err(AllocFailure::Invalid(_))));
    assert_eq!(s.ram().avail(), avail - (256 << 10));
    s.free(k, p.handle).unwrap();
    assert_eq!(s.ram().avail(), avail);
    for i in 0..64u32 {
        assert_eq!(k.inner.object_at(Slot(p.slot.0 + i)), None, "the revoke took every frame");
    }
    check_mirror(&s.placer, &k.inner);
    assert_eq!(s.free(k, p.handle), Err(FreeError::InvalidHandle));
}
