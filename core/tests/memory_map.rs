//! Dumps of pools driven by placement against the kernel model, parsed back and checked.

mod common;

use common::*;
use sel4_core::memory_map::*;

fn bu(slot: u32, paddr: u64, size_bits: u8, is_device: bool) -> UntypedDesc {
    UntypedDesc { slot: Slot(slot), paddr, size_bits, is_device }
}

fn dump<P, C>(p: &Placer<P, C>) -> String
where
    P: AsRef<[PoolNode]> + AsMut<[PoolNode]>,
{
    let mut s = String::new();
    write_dump(&p.pool, &mut s).unwrap();
    s
}

/// Parses and checks a whole dump; returns its records.
fn parse_dump(text: &str) -> Vec<Record<'_>> {
    let mut c = Checker::new();
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let r = parse_line(line).unwrap_or_else(|e| panic!("line {}: {e}", i + 1)).expect("every line is a map line");
        c.feed(r).unwrap_or_else(|e| panic!("line {}: {e}", i + 1));
        out.push(r);
    }
    c.finish().unwrap();
    out
}

#[test]
fn seed_case_dump_shows_the_cnode_at_0x400() {
    let (mut k, mut p) = setup(&[bu(12, 0, 13, false)], 64, 32);
    p.place(&mut k, T::CNode, 5, 0x0).unwrap();
    p.place(&mut k, T::CNode, 6, 0x800).unwrap();
    p.place(&mut k, T::Frame4K, 0, 0x1000).unwrap();
    p.place(&mut k, T::CNode, 5, 0x400).unwrap();
    let expected = "\
map begin
map root 0x0 13 ram
map 0x0 13 split
map 0x0 12 split
map 0x0 11 split
map 0x0 10 cnode
map 0x400 10 cnode
map 0x800 11 cnode
map 0x1000 12 frame_4k
map end
";
    assert_eq!(dump(&p), expected);
    assert_eq!(parse_dump(expected).len(), 10);
}

#[test]
fn pad_is_an_unused_half_and_a_freed_leaf_is_free() {
    let (mut k, mut p) = setup(&[bu(12, 0x10000, 16, false), bu(13, 0x0, 12, true)], 64, 32);
    let placed = p.place(&mut k, T::Tcb, 0, 0x10000).unwrap();
    let d = dump(&p);
    assert!(d.contains("map 0x10000 11 tcb\n"), "{d}");
    assert!(d.contains("map 0x10800 11 pad\n"), "{d}");
    assert!(d.contains("map 0x18000 15 pad\n"), "{d}");
    // Untouched root: one free node; roots in address order with their memory kind.
    assert!(d.starts_with("map begin\nmap root 0x0 12 dev\nmap 0x0 12 free\nmap root 0x10000 16 ram\n"), "{d}");
    p.release(&mut k, placed.node).unwrap();
    let d = dump(&p);
    assert!(d.contains("map 0x10000 11 free\n"), "{d}");
    assert!(d.contains("map 0x10800 11 pad\n"), "{d}");
}

/// Deterministic pseudo-random numbers (xorshift) for the round trip.
struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn round_trip_after_churn_tiles_every_root() {
    let boot = [bu(12, 0x100000, 20, false), bu(13, 0x400000, 18, false), bu(14, 0xa0000, 17, true)];
    let (mut k, mut p) = setup(&boot, 1 << 12, 1 << 12);
    let types = [(T::Frame4K, 0), (T::Tcb, 0), (T::Endpoint, 0), (T::CNode, 4), (T::PageTable, 0), (T::Untyped, 14)];
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut live = Vec::new();
    for _ in 0..600 {
        if live.len() > 40 && rng.next().is_multiple_of(3) {
            let i = (rng.next() as usize) % live.len();
            let node = live.swap_remove(i);
            p.release(&mut k, node).unwrap();
            continue;
        }
        let (ty, sb) = types[(rng.next() % types.len() as u64) as usize];
        let bits = ty.object_bits(sb).unwrap();
        let (base, size) = if rng.next().is_multiple_of(2) { (0x100000u64, 1u64 << 20) } else { (0x400000, 1 << 18) };
        let addr = base + ((rng.next() % size) & !((1u64 << bits) - 1));
        if let Ok(pl) = p.place(&mut k, ty, sb, addr) {
            live.push(pl.node);
        }
    }
    assert!(live.len() > 20);
    let text = dump(&p);
    let recs = parse_dump(&text);
    // Display and parse are inverse on every line.
    let again: String = recs.iter().map(|r| r.to_string() + "\n").collect();
    assert_eq!(again, text);
    assert_eq!(recs, records(&p.pool).collect::<Vec<_>>());
    // Every pool node appears once; objects and their bytes match the live set.
    let nodes = recs.iter().filter(|r| matches!(r, Record::Node { .. })).count();
    assert_eq!(nodes, p.pool.nodes_in_use());
    let objects: Vec<(u64, u8)> = recs
        .iter()
        .filter_map(|r| match *r {
            Record::Node { paddr, bits, kind: Kind::Object(_), .. } => Some((paddr, bits)),
            _ => None,
        })
        .collect();
    let mut want: Vec<(u64, u8)> = live.iter().map(|&n| (p.pool.info(n).paddr, p.pool.info(n).bits)).collect();
    want.sort();
    assert_eq!(objects, want, "objects in address order");
    // Leaves tile each root.
    let mut cursor = 0;
    for r in &recs {
        match *r {
            Record::Root { paddr, .. } => cursor = paddr,
            Record::Node { paddr, bits, kind, .. } if kind != Kind::Split => {
                assert_eq!(paddr, cursor);
                cursor += 1 << bits;
            }
            _ => {}
        }
    }
}

#[test]
fn other_lines_are_not_records() {
    assert_eq!(parse_line("core: seL4 root task"), Ok(None));
    assert_eq!(parse_line(""), Ok(None));
    assert_eq!(parse_line("mapping 0x0 12 free"), Ok(None));
    assert_eq!(
        parse_line("  map 0x40 6 cnode  "),
        Ok(Some(Record::Node { paddr: 0x40, bits: 6, kind: Kind::Object(T::CNode), owner: None }))
    );
}

#[test]
fn owners_follow_objects_and_read_back() {
    let node = |owner| Record::Node { paddr: 0x1000, bits: 12, kind: Kind::Object(T::Frame4K), owner };
    for (line, owner) in [
        ("map 0x1000 12 frame_4k core", Owner::Core),
        ("map 0x1000 12 frame_4k ram-demo", Owner::Child { name: "ram-demo", session: None }),
        ("map 0x1000 12 frame_4k ram-demo:0x10000", Owner::Child { name: "ram-demo", session: Some(0x10000) }),
    ] {
        assert_eq!(parse_line(line), Ok(Some(node(Some(owner)))));
        assert_eq!(node(Some(owner)).to_string(), line);
    }
    let e = |l: &str| parse_line(l).unwrap_err().to_string();
    assert_eq!(e("map 0x1000 12 free core"), "unexpected extra field `core`");
    assert_eq!(e("map 0x1000 12 frame_4k a:b"), "`a:b` is not an owner (core, <child> or <child>:0x<session>)");
    assert_eq!(e("map 0x1000 12 frame_4k :0x1"), "`:0x1` is not an owner (core, <child> or <child>:0x<session>)");
    assert_eq!(
        e("map 0x1000 12 frame_4k core:0x1"),
        "`core:0x1` is not an owner (core, <child> or <child>:0x<session>)"
    );
    assert_eq!(
        e("map 0x1000 12 frame_4k x:0x100000000"),
        "`x:0x100000000` is not an owner (core, <child> or <child>:0x<session>)"
    );
    assert_eq!(e("map 0x1000 12 frame_4k core extra"), "unexpected extra field `extra`");
}

#[test]
fn line_errors_say_what_is_wrong() {
    let e = |l: &str| parse_line(l).unwrap_err().to_string();
    assert_eq!(e("map"), "missing field <record>");
    assert_eq!(e("map root 0x0 12"), "missing field <ram|dev>");
    assert_eq!(e("map root 0x0 12 rom"), "`rom` is neither `ram` nor `dev`");
    assert_eq!(e("map root 4096 12 ram"), "`4096` is not a hex address (0x...)");
    assert_eq!(e("map 0x1000 3 free"), "`3` is not a log2 size in 4..=47");
    assert_eq!(e("map 0x1000 48 free"), "`48` is not a log2 size in 4..=47");
    assert_eq!(e("map 0xg 12 free"), "`0xg` is not a hex address (0x...)");
    assert!(e("map 0x1000 12 frame")
        .starts_with("unknown node kind `frame` (expected free, pad, split or an object type: untyped tcb"));
    assert_eq!(e("map 0x1000 12 free 7"), "unexpected extra field `7`");
    assert_eq!(e("map end now"), "unexpected extra field `now`");
    assert_eq!(e("map 4096 12 free"), "`4096` is none of begin, end, root or a node address");
}

fn check(lines: &[&str]) -> Result<(), SequenceError> {
    let mut c = Checker::new();
    for l in lines {
        c.feed(parse_line(l).unwrap().unwrap())?;
    }
    c.finish()
}

#[test]
fn sequence_errors_name_the_node() {
    let ok =
        ["map begin", "map root 0x0 13 ram", "map 0x0 13 split", "map 0x0 12 free", "map 0x1000 12 pad", "map end"];
    assert_eq!(check(&ok), Ok(()));
    let err = |v: &[&str]| check(v).unwrap_err().to_string();
    assert_eq!(
        err(&["map begin", "map root 0x0 13 ram", "map 0x0 13 split", "map 0x1000 12 pad"]),
        "expected node 0x0 (2^12) next in the tree, found 0x1000 (2^12)"
    );
    assert_eq!(
        err(&["map begin", "map root 0x0 13 ram", "map 0x0 13 split", "map 0x0 12 free", "map end"]),
        "root 0x0 is incomplete: node 0x1000 (2^12) was never listed"
    );
    assert_eq!(err(&ok[..5]), "dump has no `map end` (output cut off?)");
    assert_eq!(err(&["map 0x0 12 free"]), "map record outside `map begin` .. `map end`");
    assert_eq!(err(&["map begin", "map begin"]), "`map begin` inside a dump that has not ended");
    assert_eq!(err(&["map begin", "map 0x0 12 free"]), "node 0x0 (2^12) does not belong to any open root");
    assert_eq!(
        err(&["map begin", "map root 0x2000 13 ram", "map 0x2000 13 free", "map root 0x1000 12 ram"]),
        "root 0x1000 starts below the end of the previous root (0x4000); roots must ascend"
    );
    assert_eq!(err(&["map begin", "map root 0x0 13 ram", "map 0x0 13 tcb"]), "node 0x0: a `tcb` cannot be 2^13 bytes");
    assert_eq!(err(&["map begin", "map root 0x0 4 ram", "map 0x0 4 split"]), "node 0x0: a `split` cannot be 2^4 bytes");
    assert_eq!(
        err(&["map begin", "map root 0xffffffffffff0000 17 dev"]),
        "root 0xffffffffffff0000 of 2^17 bytes ends beyond the 64-bit address space"
    );
}

#[test]
fn kind_names_round_trip() {
    for k in [Kind::Free, Kind::Pad, Kind::Split].into_iter().chain(T::ALL.into_iter().map(Kind::Object)) {
        assert_eq!(Kind::from_name(k.name()), Some(k));
    }
}
