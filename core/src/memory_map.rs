//! core's view of physical memory as compact text lines, for the serial console and the host.
//!
//! A dump walks every root of the [`UntypedPool`] (address order) and every node of its binary
//! untyped tree in pre-order (a split node, then its lower half, then its upper half):
//!
//! ```text
//! map begin
//! map root 0x0 13 ram          # boot untyped: paddr, log2 size, ram | dev
//! map 0x0 13 split             # one line per node: paddr, log2 size, kind
//! map 0x0 12 split
//! map 0x0 11 split
//! map 0x0 10 cnode
//! map 0x400 10 cnode
//! map 0x800 11 cnode
//! map 0x1000 12 frame_4k
//! map end
//! ```
//!
//! An object's line may end in its owner ([`Owner`]): `core`, a child's name (an object of
//! the child's own protection domain), or `<child>:<session>` (an object of one of its
//! sessions, the session handle in hex), e.g. `map 0x1000 12 frame_4k ram-demo:0x10000`.
//!
//! Kinds ([`Kind`]): an object type name (the trace names, e.g. `cnode`), `split` (an untyped
//! cap retyped into its two halves, which follow), `free` (an untyped leaf with no children:
//! a root never touched, or a leaf that held an object before and is kept for reuse) and `pad`
//! (a free leaf that only exists because its sibling half was split on the way to an object's
//! address and has never held an object itself: core's padding).
//!
//! The same module parses the lines back ([`parse_line`]) and checks that a sequence of them is
//! a well-formed dump ([`Checker`]: the nodes of each root tile it exactly as a binary tree), so
//! the format lives in one place. Nothing here allocates; the walk is O(1) per line.

use crate::object::{ObjectType, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS};
use crate::untyped_pool::{NodeId, NodeInfo, NodeState, PoolNode, UntypedPool};

/// What a node of the untyped tree is.
#[derive(Copy, Clone, Eq, PartialEq, Ord, PartialOrd, Hash, Debug)]
pub enum Kind {
    /// Untyped leaf without children that is a root or held an object before.
    Free,
    /// Untyped leaf without children, made by a split and never used.
    Pad,
    /// Untyped retyped into two halves.
    Split,
    /// The node's untyped holds exactly one object of its size.
    Object(ObjectType),
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Free => "free",
            Kind::Pad => "pad",
            Kind::Split => "split",
            Kind::Object(t) => t.name(),
        }
    }

    pub fn from_name(s: &str) -> Option<Kind> {
        match s {
            "free" => Some(Kind::Free),
            "pad" => Some(Kind::Pad),
            "split" => Some(Kind::Split),
            _ => ObjectType::from_name(s).map(Kind::Object),
        }
    }

    /// The kind of a pool node (`None` for an unused arena entry).
    pub fn of(n: &NodeInfo) -> Option<Kind> {
        match n.state {
            NodeState::Unused => None,
            NodeState::Split => Some(Kind::Split),
            NodeState::Occupied { ty, .. } => Some(Kind::Object(ty)),
            NodeState::Free if n.parent.is_some() && n.generation == 0 => Some(Kind::Pad),
            NodeState::Free => Some(Kind::Free),
        }
    }
}

/// Who holds an object.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum Owner<'a> {
    Core,
    /// A child, by name; `session` names the session the object belongs to, if any.
    Child {
        name: &'a str,
        session: Option<u32>,
    },
}

impl core::fmt::Display for Owner<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Owner::Core => f.write_str("core"),
            Owner::Child { name, session: None } => f.write_str(name),
            Owner::Child { name, session: Some(s) } => write!(f, "{name}:{s:#x}"),
        }
    }
}

impl<'a> Owner<'a> {
    /// The owner a dump's token names: `core`, `<name>` or `<name>:<session>`.
    pub fn parse(t: &'a str) -> Result<Owner<'a>, LineError<'a>> {
        let (name, session) = match t.split_once(':') {
            Some((name, s)) => {
                (name, Some(parse_addr(s).ok().and_then(|s| u32::try_from(s).ok()).ok_or(LineError::BadOwner(t))?))
            }
            None => (t, None),
        };
        match (name, session) {
            ("", _) | ("core", Some(_)) => Err(LineError::BadOwner(t)),
            ("core", None) => Ok(Owner::Core),
            (name, session) => Ok(Owner::Child { name, session }),
        }
    }
}

/// One line of a dump.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum Record<'a> {
    Begin,
    /// A boot untyped; its nodes follow.
    Root {
        paddr: u64,
        bits: u8,
        device: bool,
    },
    Node {
        paddr: u64,
        bits: u8,
        kind: Kind,
        /// For an object, who holds it, if the dump says.
        owner: Option<Owner<'a>>,
    },
    End,
}

/// The serial line, without a newline.
impl core::fmt::Display for Record<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Record::Begin => f.write_str("map begin"),
            Record::Root { paddr, bits, device } => {
                write!(f, "map root {paddr:#x} {bits} {}", if device { "dev" } else { "ram" })
            }
            Record::Node { paddr, bits, kind, owner: None } => write!(f, "map {paddr:#x} {bits} {}", kind.name()),
            Record::Node { paddr, bits, kind, owner: Some(o) } => {
                write!(f, "map {paddr:#x} {bits} {} {o}", kind.name())
            }
            Record::End => f.write_str("map end"),
        }
    }
}

/// Every line of the dump of `pool`, `Begin` to `End`.
pub fn records<P>(pool: &UntypedPool<P>) -> Records<'_, 'static, P>
where
    P: AsRef<[PoolNode]> + AsMut<[PoolNode]>,
{
    Records { pool, at: At::Begin, owner: None }
}

/// Who holds the object of a node.
pub type Owners<'p, 'o> = &'p dyn Fn(NodeId) -> Owner<'o>;

/// Every line of the dump of `pool`, each object with its owner as `owner` tells.
pub fn records_owned<'p, 'o, P>(pool: &'p UntypedPool<P>, owner: Owners<'p, 'o>) -> Records<'p, 'o, P>
where
    P: AsRef<[PoolNode]> + AsMut<[PoolNode]>,
{
    Records { pool, at: At::Begin, owner: Some(owner) }
}

/// Writes the dump of `pool`, one line per record (for a `core::fmt::Write` console).
pub fn write_dump<P, W>(pool: &UntypedPool<P>, out: &mut W) -> core::fmt::Result
where
    P: AsRef<[PoolNode]> + AsMut<[PoolNode]>,
    W: core::fmt::Write,
{
    write_records(records(pool), out)
}

/// Writes records, one line each.
pub fn write_records<'o, W: core::fmt::Write>(
    records: impl Iterator<Item = Record<'o>>,
    out: &mut W,
) -> core::fmt::Result {
    for r in records {
        writeln!(out, "{r}")?;
    }
    Ok(())
}

#[derive(Copy, Clone)]
enum At {
    Begin,
    /// Next: the header of root `i` (or `End` after the last root).
    Root(u32),
    /// Next: node `node` of root `root`.
    Node {
        root: u32,
        node: NodeId,
    },
    Done,
}

/// Iterator of [`records`]: a pre-order walk that climbs through parent links (no stack).
pub struct Records<'p, 'o, P> {
    pool: &'p UntypedPool<P>,
    at: At,
    owner: Option<Owners<'p, 'o>>,
}

impl<P: AsRef<[PoolNode]> + AsMut<[PoolNode]>> Records<'_, '_, P> {
    fn halves(&self, id: NodeId) -> (NodeId, NodeId) {
        self.pool.halves(id)
    }

    /// The node after the whole subtree of `id` in pre-order, within root `root`.
    fn after_subtree(&self, root: u32, mut id: NodeId) -> Option<NodeId> {
        while id.0 != root {
            let parent = self.pool.info(id).parent?;
            let (lo, hi) = self.halves(parent);
            if id == lo {
                return Some(hi);
            }
            id = parent;
        }
        None
    }
}

impl<'o, P: AsRef<[PoolNode]> + AsMut<[PoolNode]>> Iterator for Records<'_, 'o, P> {
    type Item = Record<'o>;

    fn next(&mut self) -> Option<Record<'o>> {
        match self.at {
            At::Begin => {
                self.at = At::Root(0);
                Some(Record::Begin)
            }
            At::Root(i) if i as usize == self.pool.num_roots() => {
                self.at = At::Done;
                Some(Record::End)
            }
            At::Root(i) => {
                let r = self.pool.info(NodeId(i));
                self.at = At::Node { root: i, node: NodeId(i) };
                Some(Record::Root { paddr: r.paddr, bits: r.bits, device: r.device })
            }
            At::Node { root, node } => {
                let n = self.pool.info(node);
                // Nodes reachable from a root are never unused; treat one as free rather than
                // stop the dump half way.
                let kind = Kind::of(&n).unwrap_or(Kind::Free);
                let next = if kind == Kind::Split { Some(self.halves(node).0) } else { self.after_subtree(root, node) };
                self.at = match next {
                    Some(node) => At::Node { root, node },
                    None => At::Root(root + 1),
                };
                let owner = match (kind, self.owner) {
                    (Kind::Object(_), Some(f)) => Some(f(node)),
                    _ => None,
                };
                Some(Record::Node { paddr: n.paddr, bits: n.bits, kind, owner })
            }
            At::Done => None,
        }
    }
}

/// What is wrong with one line.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum LineError<'a> {
    MissingField(&'static str),
    ExtraField(&'a str),
    /// Addresses are hex with `0x`.
    BadAddress(&'a str),
    BadBits(&'a str),
    /// `ram` or `dev` expected after a root's size.
    BadMemoryKind(&'a str),
    UnknownKind(&'a str),
    /// An owner is `core`, a child's name, or `<name>:<session>` (session in hex).
    BadOwner(&'a str),
    /// `begin` or `end` with something after it is reported as `ExtraField`; this is a
    /// first token that is none of `begin`, `end`, `root` or an address.
    UnknownRecord(&'a str),
}

impl core::fmt::Display for LineError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            LineError::MissingField(n) => write!(f, "missing field <{n}>"),
            LineError::ExtraField(t) => write!(f, "unexpected extra field `{t}`"),
            LineError::BadAddress(t) => write!(f, "`{t}` is not a hex address (0x...)"),
            LineError::BadBits(t) => {
                write!(f, "`{t}` is not a log2 size in {MIN_UNTYPED_BITS}..={MAX_UNTYPED_BITS}")
            }
            LineError::BadMemoryKind(t) => write!(f, "`{t}` is neither `ram` nor `dev`"),
            LineError::UnknownKind(t) => {
                write!(f, "unknown node kind `{t}` (expected free, pad, split or an object type:")?;
                for ty in ObjectType::ALL {
                    write!(f, " {}", ty.name())?;
                }
                f.write_str(")")
            }
            LineError::BadOwner(t) => write!(f, "`{t}` is not an owner (core, <child> or <child>:0x<session>)"),
            LineError::UnknownRecord(t) => {
                write!(f, "`{t}` is none of begin, end, root or a node address")
            }
        }
    }
}

fn parse_addr(t: &str) -> Result<u64, LineError<'_>> {
    let hex = t.strip_prefix("0x").ok_or(LineError::BadAddress(t))?;
    if hex.is_empty() || hex.starts_with('+') {
        return Err(LineError::BadAddress(t));
    }
    u64::from_str_radix(hex, 16).map_err(|_| LineError::BadAddress(t))
}

fn parse_bits(t: &str) -> Result<u8, LineError<'_>> {
    match t.parse::<u8>() {
        Ok(b) if (MIN_UNTYPED_BITS..=MAX_UNTYPED_BITS).contains(&b) && !t.starts_with('+') => Ok(b),
        _ => Err(LineError::BadBits(t)),
    }
}

/// Parses one line. `Ok(None)` when the line is not part of a dump (its first token is not
/// `map`), so a whole serial log can be fed line by line; surrounding whitespace is ignored.
pub fn parse_line(line: &str) -> Result<Option<Record<'_>>, LineError<'_>> {
    let mut t = line.split_ascii_whitespace();
    if t.next() != Some("map") {
        return Ok(None);
    }
    let first = t.next().ok_or(LineError::MissingField("record"))?;
    let rec = match first {
        "begin" => Record::Begin,
        "end" => Record::End,
        "root" => {
            let paddr = parse_addr(t.next().ok_or(LineError::MissingField("paddr"))?)?;
            let bits = parse_bits(t.next().ok_or(LineError::MissingField("bits"))?)?;
            let device = match t.next().ok_or(LineError::MissingField("ram|dev"))? {
                "ram" => false,
                "dev" => true,
                other => return Err(LineError::BadMemoryKind(other)),
            };
            Record::Root { paddr, bits, device }
        }
        a if a.starts_with("0x") => {
            let paddr = parse_addr(a)?;
            let bits = parse_bits(t.next().ok_or(LineError::MissingField("bits"))?)?;
            let k = t.next().ok_or(LineError::MissingField("kind"))?;
            let kind = Kind::from_name(k).ok_or(LineError::UnknownKind(k))?;
            let owner = match (kind, t.next()) {
                (_, None) => None,
                (Kind::Object(_), Some(o)) => Some(Owner::parse(o)?),
                (_, Some(extra)) => return Err(LineError::ExtraField(extra)),
            };
            Record::Node { paddr, bits, kind, owner }
        }
        other => return Err(LineError::UnknownRecord(other)),
    };
    match t.next() {
        Some(extra) => Err(LineError::ExtraField(extra)),
        None => Ok(Some(rec)),
    }
}

/// Why a sequence of records is not a well-formed dump.
#[derive(Copy, Clone, Eq, PartialEq, Debug)]
pub enum SequenceError {
    /// A record before `map begin`, or a second `map begin` inside a dump.
    NotInDump,
    NestedBegin,
    /// A node line outside any root, or after its root was complete.
    NodeOutsideRoot {
        paddr: u64,
        bits: u8,
    },
    /// The tree says the next node is `[paddr, 2^bits)`, the line says otherwise.
    WrongNode {
        expected_paddr: u64,
        expected_bits: u8,
        paddr: u64,
        bits: u8,
    },
    /// A new root (or the end) came before every node of the previous root was listed.
    RootIncomplete {
        paddr: u64,
        missing_paddr: u64,
        missing_bits: u8,
    },
    /// Roots must be listed in address order without overlap.
    RootOrder {
        paddr: u64,
        previous_end: u64,
    },
    /// A root that ends beyond 2^64.
    RootTooLarge {
        paddr: u64,
        bits: u8,
    },
    /// A split of a node of the smallest untyped size, or an object that cannot have the
    /// node's size (e.g. a 2^13-byte TCB).
    ImpossibleNode {
        paddr: u64,
        bits: u8,
        kind: Kind,
    },
    /// Input ended inside a dump.
    MissingEnd,
}

impl core::fmt::Display for SequenceError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            SequenceError::NotInDump => f.write_str("map record outside `map begin` .. `map end`"),
            SequenceError::NestedBegin => f.write_str("`map begin` inside a dump that has not ended"),
            SequenceError::NodeOutsideRoot { paddr, bits } => {
                write!(f, "node {paddr:#x} (2^{bits}) does not belong to any open root")
            }
            SequenceError::WrongNode { expected_paddr, expected_bits, paddr, bits } => write!(
                f,
                "expected node {expected_paddr:#x} (2^{expected_bits}) next in the tree, found {paddr:#x} (2^{bits})"
            ),
            SequenceError::RootIncomplete { paddr, missing_paddr, missing_bits } => {
                write!(f, "root {paddr:#x} is incomplete: node {missing_paddr:#x} (2^{missing_bits}) was never listed")
            }
            SequenceError::RootOrder { paddr, previous_end } => write!(
                f,
                "root {paddr:#x} starts below the end of the previous root ({previous_end:#x}); roots must ascend"
            ),
            SequenceError::RootTooLarge { paddr, bits } => {
                write!(f, "root {paddr:#x} of 2^{bits} bytes ends beyond the 64-bit address space")
            }
            SequenceError::ImpossibleNode { paddr, bits, kind } => {
                write!(f, "node {paddr:#x}: a `{}` cannot be 2^{bits} bytes", kind.name())
            }
            SequenceError::MissingEnd => f.write_str("dump has no `map end` (output cut off?)"),
        }
    }
}

/// Deepest tree: a root of 2^47 split down to 2^4 leaves 43 levels, two pending halves at most
/// per level.
const MAX_PENDING: usize = 2 * (MAX_UNTYPED_BITS - MIN_UNTYPED_BITS) as usize + 2;

/// Checks that records form a dump: `Begin`, roots in ascending order each followed by its
/// nodes in pre-order tiling it exactly, `End`. Fixed-size state, no allocation.
#[derive(Clone, Debug)]
pub struct Checker {
    in_dump: bool,
    root: Option<(u64, u8)>,
    /// End of the previous root (roots ascend).
    prev_end: Option<u64>,
    /// Nodes still owed by the current root, next on top.
    pending: [(u64, u8); MAX_PENDING],
    depth: usize,
}

impl Default for Checker {
    fn default() -> Self {
        Self::new()
    }
}

impl Checker {
    pub const fn new() -> Self {
        Checker { in_dump: false, root: None, prev_end: None, pending: [(0, 0); MAX_PENDING], depth: 0 }
    }

    /// Whether a dump is open (`Begin` seen, `End` not yet).
    pub fn in_dump(&self) -> bool {
        self.in_dump
    }

    fn root_done(&self) -> Result<(), SequenceError> {
        match (self.root, self.depth) {
            (Some((paddr, _)), d) if d > 0 => {
                let (missing_paddr, missing_bits) = self.pending[d - 1];
                Err(SequenceError::RootIncomplete { paddr, missing_paddr, missing_bits })
            }
            _ => Ok(()),
        }
    }

    /// Feeds the next record; on error the checker's state is unspecified (start a new one).
    pub fn feed(&mut self, r: Record<'_>) -> Result<(), SequenceError> {
        match r {
            Record::Begin if self.in_dump => Err(SequenceError::NestedBegin),
            Record::Begin => {
                *self = Checker::new();
                self.in_dump = true;
                Ok(())
            }
            _ if !self.in_dump => Err(SequenceError::NotInDump),
            Record::End => {
                self.root_done()?;
                self.in_dump = false;
                Ok(())
            }
            Record::Root { paddr, bits, .. } => {
                self.root_done()?;
                let end = paddr.checked_add(1u64 << bits).ok_or(SequenceError::RootTooLarge { paddr, bits })?;
                if let Some(previous_end) = self.prev_end.filter(|&e| paddr < e) {
                    return Err(SequenceError::RootOrder { paddr, previous_end });
                }
                self.prev_end = Some(end);
                self.root = Some((paddr, bits));
                self.pending[0] = (paddr, bits);
                self.depth = 1;
                Ok(())
            }
            Record::Node { paddr, bits, kind, .. } => {
                if self.depth == 0 {
                    return Err(SequenceError::NodeOutsideRoot { paddr, bits });
                }
                let (expected_paddr, expected_bits) = self.pending[self.depth - 1];
                if (paddr, bits) != (expected_paddr, expected_bits) {
                    return Err(SequenceError::WrongNode { expected_paddr, expected_bits, paddr, bits });
                }
                let possible = match kind {
                    Kind::Split => bits > MIN_UNTYPED_BITS,
                    Kind::Object(t) => t.size_bits_for(bits).is_some(),
                    Kind::Free | Kind::Pad => true,
                };
                if !possible {
                    return Err(SequenceError::ImpossibleNode { paddr, bits, kind });
                }
                self.depth -= 1;
                if kind == Kind::Split {
                    // Upper half below the lower so the lower comes next.
                    let half = 1u64 << (bits - 1);
                    self.pending[self.depth] = (paddr + half, bits - 1);
                    self.pending[self.depth + 1] = (paddr, bits - 1);
                    self.depth += 2;
                }
                Ok(())
            }
        }
    }

    /// Call at the end of input.
    pub fn finish(&self) -> Result<(), SequenceError> {
        if self.in_dump {
            Err(SequenceError::MissingEnd)
        } else {
            Ok(())
        }
    }
}
