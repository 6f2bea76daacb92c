//! core's memory map on the host: read from a serial log (the lines of
//! `sel4_core::memory_map`) or taken from a pool directly, as a tree per root.

use anyhow::{anyhow, bail, Result};
use sel4_core::memory_map::{self, Checker, Kind, Record};
use sel4_core::untyped_pool::{PoolNode, UntypedPool};

/// One node of a root's tree, in pre-order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Node {
    pub paddr: u64,
    pub bits: u8,
    pub kind: Kind,
    /// Who holds the object (`core`, a child, `<child>:<session>`), if the dump says.
    pub owner: Option<String>,
}

impl Node {
    pub fn end(&self) -> u64 {
        self.paddr.saturating_add(1u64 << self.bits)
    }
}

/// A root untyped and every node of its tree (the first node is the root
/// itself).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RootMap {
    pub paddr: u64,
    pub bits: u8,
    pub device: bool,
    pub nodes: Vec<Node>,
}

impl RootMap {
    pub fn size(&self) -> u64 {
        1u64 << self.bits
    }

    pub fn end(&self) -> u64 {
        self.paddr.saturating_add(self.size())
    }

    /// The nodes that are not split: they tile the root in address order.
    pub fn leaves(&self) -> impl Iterator<Item = &Node> + '_ {
        self.nodes.iter().filter(|n| n.kind != Kind::Split)
    }

    /// Nothing was ever done with it: one free node.
    pub fn untouched(&self) -> bool {
        matches!(self.nodes.as_slice(), [n] if n.kind == Kind::Free)
    }
}

/// A whole dump: every root in address order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct MemoryMap {
    pub roots: Vec<RootMap>,
}

/// Collects checked records into a map.
#[derive(Default)]
struct Builder {
    checker: Checker,
    roots: Vec<RootMap>,
}

impl Builder {
    fn feed(&mut self, r: Record<'_>) -> Result<(), memory_map::SequenceError> {
        self.checker.feed(r)?;
        match r {
            Record::Begin => self.roots.clear(),
            Record::Root { paddr, bits, device } => self.roots.push(RootMap { paddr, bits, device, nodes: Vec::new() }),
            Record::Node { paddr, bits, kind, owner } => {
                // The checker only accepts nodes inside an open root.
                if let Some(root) = self.roots.last_mut() {
                    root.nodes.push(Node { paddr, bits, kind, owner: owner.map(|o| o.to_string()) });
                }
            }
            Record::End => {}
        }
        Ok(())
    }
}

/// The last complete dump in `log` (lines that are not `map ...` are
/// skipped, so a whole serial log can be given). Errors name the line.
pub fn parse(log: &str) -> Result<MemoryMap> {
    let mut b = Builder::default();
    let mut last: Option<MemoryMap> = None;
    let mut begin_line = 0;
    for (i, line) in log.lines().enumerate() {
        let n = i + 1;
        let Some(r) = memory_map::parse_line(line).map_err(|e| anyhow!("line {n}: {e}: `{}`", line.trim()))? else {
            continue;
        };
        if r == Record::Begin {
            begin_line = n;
        }
        b.feed(r).map_err(|e| anyhow!("line {n}: {e}"))?;
        if r == Record::End {
            last = Some(MemoryMap { roots: std::mem::take(&mut b.roots) });
        }
    }
    if b.checker.in_dump() {
        bail!("the memory map starting at line {begin_line} has no `map end` (serial output cut off?)");
    }
    last.ok_or_else(|| anyhow!("no memory map (`map begin` .. `map end`) in the output"))
}

/// The map of a pool as it is now.
pub fn from_pool<P: AsRef<[PoolNode]> + AsMut<[PoolNode]>>(pool: &UntypedPool<P>) -> MemoryMap {
    let mut b = Builder::default();
    for r in memory_map::records(pool) {
        // The walk produces a well-formed dump by construction (tested in
        // sel4_core::memory_map); a bad record would be a bug there.
        b.feed(r).expect("pool walk yields a well-formed dump");
    }
    MemoryMap { roots: b.roots }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sel4_core::object::ObjectType;

    const SEED: &str = "\
core: seL4 root task
map begin
map root 0x0 13 ram
map 0x0 13 split
map 0x0 12 split
map 0x0 11 split
map 0x0 10 cnode
map 0x400 10 cnode
map 0x800 11 cnode
map 0x1000 12 frame_4k
map root 0xb8000 12 dev
map 0xb8000 12 free
map end
exit
";

    #[test]
    fn parses_a_dump_inside_a_serial_log() {
        let m = parse(SEED).unwrap();
        assert_eq!(m.roots.len(), 2);
        let r = &m.roots[0];
        assert_eq!((r.paddr, r.bits, r.device, r.nodes.len()), (0, 13, false, 7));
        let leaves: Vec<(u64, Kind)> = r.leaves().map(|n| (n.paddr, n.kind)).collect();
        assert_eq!(
            leaves,
            vec![
                (0x0, Kind::Object(ObjectType::CNode)),
                (0x400, Kind::Object(ObjectType::CNode)),
                (0x800, Kind::Object(ObjectType::CNode)),
                (0x1000, Kind::Object(ObjectType::Frame4K)),
            ]
        );
        assert!(!r.untouched());
        assert!(m.roots[1].device && m.roots[1].untouched());
    }

    #[test]
    fn owners_are_read_with_their_objects() {
        let owned = SEED
            .replace("map 0x0 10 cnode", "map 0x0 10 cnode core")
            .replace("map 0x400 10 cnode", "map 0x400 10 cnode ram-demo")
            .replace("map 0x1000 12 frame_4k", "map 0x1000 12 frame_4k ram-demo:0x10000");
        let m = parse(&owned).unwrap();
        let owners: Vec<Option<&str>> = m.roots[0].leaves().map(|n| n.owner.as_deref()).collect();
        assert_eq!(owners, vec![Some("core"), Some("ram-demo"), None, Some("ram-demo:0x10000")]);
        let bad = SEED.replace("map 0x0 13 split", "map 0x0 13 split core");
        assert!(parse(&bad).unwrap_err().to_string().contains("unexpected extra field `core`"));
        let bad = SEED.replace("map 0x400 10 cnode", "map 0x400 10 cnode x:y");
        assert!(parse(&bad).unwrap_err().to_string().contains("`x:y` is not an owner"));
    }

    #[test]
    fn the_last_dump_wins() {
        let two = format!("{SEED}map begin\nmap root 0x0 13 ram\nmap 0x0 13 free\nmap end\n");
        let m = parse(&two).unwrap();
        assert_eq!(m.roots.len(), 1);
        assert!(m.roots[0].untouched());
    }

    #[test]
    fn errors_name_the_line() {
        assert_eq!(parse("hello\n").unwrap_err().to_string(), "no memory map (`map begin` .. `map end`) in the output");
        let cut: String = SEED.lines().take(6).map(|l| format!("{l}\n")).collect();
        assert_eq!(
            parse(&cut).unwrap_err().to_string(),
            "the memory map starting at line 2 has no `map end` (serial output cut off?)"
        );
        let bad = SEED.replace("map 0x400 10 cnode", "map 0x400 10 cnod");
        assert!(
            parse(&bad).unwrap_err().to_string().starts_with("line 8: unknown node kind `cnod`"),
            "{}",
            parse(&bad).unwrap_err()
        );
        let gap = SEED.replace("map 0x400 10 cnode\n", "");
        assert_eq!(
            parse(&gap).unwrap_err().to_string(),
            "line 8: expected node 0x400 (2^10) next in the tree, found 0x800 (2^11)"
        );
    }
}
