//! Invocations per operation of core's strategy on generated traces, replayed against the
//! kernel model on the untyped layout of a 512 MiB QEMU guest. Asserts the bounds core's
//! placement is built to meet (no refusal, no misplaced object, full reuse, steady-state churn
//! <= 1.25 invocations per op) and prints the figures (`cargo test -p sel4-core-lab --lib measure -- --nocapture`).

extern crate std;
use std::string::String;
use std::vec;
use std::vec::Vec;

use crate::replay::{self, Live, Stats};
use crate::rig::{Options, Rig};
use crate::strategy::{AllocFailure, FreeError, ObjectId, Placed, Strategy};
use crate::trace::{self, IdTable};
use sel4_core::kernel::{Counting, InvocationCounts, Kernel, Slot, UntypedDesc};
use sel4_core::object::ObjectType;

const N: usize = 1 << 14;

/// The untyped list of a `-m 512M` QEMU guest, as core printed it from bootinfo.
const QEMU_512M: &str = crate::shipped::QEMU_512M_UNTYPEDS;

/// The RAM untypeds of [`QEMU_512M`], in file order, with slots from 12.
fn layout() -> Vec<UntypedDesc> {
    let ram: Vec<_> = trace::untypeds::parse(QEMU_512M)
        .map(|r| r.expect("shipped layout parses"))
        .filter(|d| !d.is_device)
        .enumerate()
        .map(|(i, d)| UntypedDesc {
            slot: Slot(12 + i as u32),
            paddr: d.paddr,
            size_bits: d.size_bits,
            is_device: false,
        })
        .collect();
    // The figures below were taken on bootinfo's 32 RAM untypeds.
    assert_eq!(ram.len(), 32);
    ram
}

/// Wraps a strategy and counts operations and invocations separately before and after
/// operation `cut` (warm-up vs steady state).
struct Phased<S> {
    inner: S,
    cut: u64,
    ops: [u64; 2],
    counts: [InvocationCounts; 2],
}

impl<S: Strategy> Phased<S> {
    fn phase(&self) -> usize {
        usize::from(self.ops[0] >= self.cut)
    }
    fn add(&mut self, c: InvocationCounts) {
        let p = self.phase();
        self.ops[p] += 1;
        let t = &mut self.counts[p];
        t.retypes += c.retypes;
        t.deletes += c.deletes;
        t.revokes += c.revokes;
    }
}

impl<S: Strategy> Strategy for Phased<S> {
    fn name(&self) -> &'static str {
        self.inner.name()
    }
    fn alloc<K: Kernel>(
        &mut self,
        k: &mut K,
        ty: ObjectType,
        sb: u8,
        addr: Option<u64>,
    ) -> Result<Placed, AllocFailure> {
        let mut c = Counting::new(k);
        let r = self.inner.alloc(&mut c, ty, sb, addr);
        self.add(c.counts);
        r
    }
    fn free<K: Kernel>(&mut self, k: &mut K, h: ObjectId) -> Result<(), FreeError> {
        let mut c = Counting::new(k);
        let r = self.inner.free(&mut c, h);
        self.add(c.counts);
        r
    }
    fn largest_allocatable<K: Kernel>(&mut self, k: &mut K) -> u64 {
        self.inner.largest_allocatable(k)
    }
}

struct Measured {
    stats: Stats,
    ops: [u64; 2],
    counts: [InvocationCounts; 2],
    largest_after_free_all: u64,
    free_all: InvocationCounts,
    placer: sel4_core::placement::PlacerStats,
}

impl Measured {
    fn per_op(&self, phase: usize) -> f64 {
        self.counts[phase].total() as f64 / self.ops[phase].max(1) as f64
    }
}

/// Replays `text` on a fresh strategy and kernel model; operations from `cut` on are counted
/// as steady state. Then frees everything and checks the largest block.
fn run(text: &str, cut: u64) -> Measured {
    let boot = layout();
    let mut rig = Rig::new(&boot, Options { object_slots: 1 << 17, range_blocks: N, spare_slots: 0 }).unwrap();
    let (k, ours) = rig.ours().unwrap();
    let mut s = Phased { inner: ours, cut, ops: [0; 2], counts: [InvocationCounts::default(); 2] };
    let mut st: Vec<trace::IdEntry<'_, Live>> = vec![None; 1 << 17];
    let mut table = IdTable::new(&mut st);
    let stats = replay::run(text, &boot, &mut s, k, &mut table, || 0).unwrap();
    let (ops, counts) = (s.ops, s.counts);
    let mut kc = Counting::new(&mut *k);
    let after = replay::free_all(&mut s.inner, &mut kc, &mut table);
    assert_eq!(after.free_errors, 0);
    let free_all = kc.counts;
    let largest = s.inner.largest_allocatable(&mut *k);
    Measured { stats, ops, counts, largest_after_free_all: largest, free_all, placer: s.inner.placer.stats }
}

fn report(name: &str, r: &Measured) {
    let p = &r.stats;
    std::eprintln!(
        "{name}: ops {} allocs {} frees {} failed {} refused {} | retypes {} deletes {} revokes {} = {:.3} invocations/op",
        p.ops, p.allocs, p.frees, p.failed, p.refused,
        p.invocations.retypes, p.invocations.deletes, p.invocations.revokes, p.invocations_per_op()
    );
    for (i, label) in ["warm-up", "steady"].iter().enumerate() {
        if r.ops[i] > 0 {
            std::eprintln!("  {label}: {} ops, {:?} = {:.3} invocations/op", r.ops[i], r.counts[i], r.per_op(i));
        }
    }
    std::eprintln!(
        "  placer: splits {} merges {} objects {} frees {}; free-all {:?}; largest block after free-all {} MiB",
        r.placer.splits,
        r.placer.merges,
        r.placer.objects,
        r.placer.frees,
        r.free_all,
        r.largest_after_free_all >> 20
    );
}

fn assert_clean(r: &Measured) {
    let p = &r.stats;
    assert_eq!((p.refused, p.misplaced, p.capacity, p.free_errors), (0, 0, 0, 0));
    // The largest root (128 MiB) is whole again.
    assert_eq!(r.largest_after_free_all, 1 << 27);
}

#[test]
fn measure_churn() {
    // First 20k operations warm up (first touch splits), the next 80k are steady state.
    let mut text = String::new();
    let mut live = vec![0u64; 4096];
    trace::gen::churn(&mut text, 100_000, 1, 500, &mut live).unwrap();
    let r = run(&text, 20_000);
    report("churn 1e5 ops, target 500 live", &r);
    assert_clean(&r);
    assert!(r.per_op(1) <= 1.25, "steady-state churn: {:.3} invocations/op", r.per_op(1));
}

#[test]
fn measure_fill_and_adversary() {
    let mut text = String::new();
    trace::gen::fill(&mut text, 629_145_600, 1).unwrap();
    let r = run(&text, u64::MAX);
    report("fill 600 MiB", &r);
    assert_clean(&r);
    let mut text = String::new();
    trace::gen::adversary(&mut text, 16 << 20, 629_145_600, 1).unwrap();
    let r = run(&text, u64::MAX);
    report("adversary 16 MiB / 600 MiB", &r);
    assert_clean(&r);
}
