//! Allocation trace format: a streaming, allocation-free parser.
//!
//! One operation per line; `#` starts a comment; blank lines are ignored.
//!
//! ```text
//! alloc <id> <type> <size_bits> [addr]   # addr: hex `0x..` or decimal
//! free <id>
//! ```
//!
//! `<id>` is any token without `#` and whitespace, unique among live objects.
//! `<type>` is an [`ObjectType`] name, `<size_bits>` is seL4's `size_bits`
//! retype argument (log2 bytes for `untyped`, log2 slots for `cnode`, 0 for
//! fixed-size types). The same parser runs on the host (replay, benchmarks)
//! and inside the root task, so it never allocates and never panics: ids are
//! slices of the trace text, and live ids are tracked in an [`IdTable`] over
//! storage the caller provides.

use core::fmt;

use sel4_core::object::{ObjectType, MAX_UNTYPED_BITS, MIN_UNTYPED_BITS, SLOT_BITS};

pub mod gen;
pub mod untypeds;

/// One operation of a trace.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Op<'a> {
    Alloc { id: &'a str, ty: ObjectType, size_bits: u8, addr: Option<u64> },
    Free { id: &'a str },
}

/// What is wrong with a line (or, for the id kinds, with the trace so far).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ErrorKind<'a> {
    /// The first token is neither `alloc` nor `free`.
    UnknownOperation(&'a str),
    /// A required field is absent.
    MissingField(&'static str),
    /// A token follows the last field.
    ExtraField(&'a str),
    UnknownType(&'a str),
    /// A field that must be a number is not one (or overflows).
    BadNumber {
        field: &'static str,
        token: &'a str,
    },
    SizeBitsOutOfRange {
        ty: ObjectType,
        size_bits: u64,
        min: u8,
        max: u8,
    },
    /// The requested address is not aligned to the object's size; the
    /// kernel only places objects naturally aligned.
    MisalignedAddress {
        addr: u64,
        object_bits: u8,
    },
    /// The object would end past the last 64-bit address.
    AddressOverflow {
        addr: u64,
        object_bits: u8,
    },
    /// `alloc` of an id that is still live.
    DuplicateId(&'a str),
    /// `free` of an id that is not live.
    UnknownId(&'a str),
    /// The live-id table is full (its capacity is the caller's storage).
    TooManyLiveIds {
        capacity: usize,
    },
}

/// A parse or semantic error, with the 1-based line number.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TraceError<'a> {
    pub line: usize,
    pub kind: ErrorKind<'a>,
}

impl fmt::Display for ErrorKind<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            ErrorKind::UnknownOperation(t) => {
                write!(f, "unknown operation `{t}` (expected `alloc` or `free`)")
            }
            ErrorKind::MissingField(name) => write!(f, "missing field <{name}>"),
            ErrorKind::ExtraField(t) => write!(f, "unexpected extra field `{t}`"),
            ErrorKind::UnknownType(t) => {
                write!(f, "unknown object type `{t}` (expected one of")?;
                for ty in ObjectType::ALL {
                    write!(f, " {}", ty.name())?;
                }
                write!(f, ")")
            }
            ErrorKind::BadNumber { field, token } => {
                write!(f, "<{field}> `{token}` is not a valid number")
            }
            ErrorKind::SizeBitsOutOfRange { ty, size_bits, min, max } => {
                write!(f, "size_bits {size_bits} out of range for {} (allowed {min}..={max})", ty.name())
            }
            ErrorKind::MisalignedAddress { addr, object_bits } => {
                write!(f, "address {addr:#x} is not aligned to the object size 2^{object_bits}")
            }
            ErrorKind::AddressOverflow { addr, object_bits } => {
                write!(f, "object of 2^{object_bits} bytes at {addr:#x} ends past the 64-bit address space")
            }
            ErrorKind::DuplicateId(id) => write!(f, "id `{id}` is already live"),
            ErrorKind::UnknownId(id) => write!(f, "free of id `{id}` that is not live"),
            ErrorKind::TooManyLiveIds { capacity } => {
                write!(f, "more live ids than the table holds ({capacity})")
            }
        }
    }
}

impl fmt::Display for TraceError<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.kind)
    }
}

/// Allowed `size_bits` for a type: the kernel's own limits
/// (src/object/untyped.c:decodeUntypedInvocation: untyped 4..=47, CNode
/// radix >= 1 and object <= 2^47); fixed-size types must say 0.
pub fn size_bits_range(ty: ObjectType) -> (u8, u8) {
    match ty {
        ObjectType::Untyped => (MIN_UNTYPED_BITS, MAX_UNTYPED_BITS),
        ObjectType::CNode => (1, MAX_UNTYPED_BITS - SLOT_BITS),
        _ => (0, 0),
    }
}

pub(crate) fn parse_u64<'a>(field: &'static str, token: &'a str) -> Result<u64, ErrorKind<'a>> {
    let bad = ErrorKind::BadNumber { field, token };
    let (digits, radix) = match token.strip_prefix("0x").or_else(|| token.strip_prefix("0X")) {
        Some(hex) => (hex, 16),
        None => (token, 10),
    };
    // from_str_radix accepts a leading '+', which is not part of the format.
    if digits.is_empty() || digits.starts_with('+') {
        return Err(bad);
    }
    u64::from_str_radix(digits, radix).map_err(|_| bad)
}

/// Parse one line. `Ok(None)` for blank and comment-only lines.
pub fn parse_line(line: &str) -> Result<Option<Op<'_>>, ErrorKind<'_>> {
    let content = match line.find('#') {
        Some(i) => &line[..i],
        None => line,
    };
    let mut tokens = content.split_ascii_whitespace();
    let Some(verb) = tokens.next() else {
        return Ok(None);
    };
    let op = match verb {
        "alloc" => {
            let id = tokens.next().ok_or(ErrorKind::MissingField("id"))?;
            let ty_tok = tokens.next().ok_or(ErrorKind::MissingField("type"))?;
            let ty = ObjectType::from_name(ty_tok).ok_or(ErrorKind::UnknownType(ty_tok))?;
            let sb_tok = tokens.next().ok_or(ErrorKind::MissingField("size_bits"))?;
            let sb = parse_u64("size_bits", sb_tok)?;
            let (min, max) = size_bits_range(ty);
            if sb < u64::from(min) || sb > u64::from(max) {
                return Err(ErrorKind::SizeBitsOutOfRange { ty, size_bits: sb, min, max });
            }
            let size_bits = sb as u8;
            let addr = match tokens.next() {
                Some(t) => Some(parse_u64("addr", t)?),
                None => None,
            };
            if let Some(a) = addr {
                let object_bits = object_bits(ty, size_bits);
                if a & ((1u64 << object_bits) - 1) != 0 {
                    return Err(ErrorKind::MisalignedAddress { addr: a, object_bits });
                }
                // Every consumer forms `addr + size`; refuse what cannot be one.
                if a.checked_add(1u64 << object_bits).is_none() {
                    return Err(ErrorKind::AddressOverflow { addr: a, object_bits });
                }
            }
            Op::Alloc { id, ty, size_bits, addr }
        }
        "free" => Op::Free { id: tokens.next().ok_or(ErrorKind::MissingField("id"))? },
        other => return Err(ErrorKind::UnknownOperation(other)),
    };
    match tokens.next() {
        Some(extra) => Err(ErrorKind::ExtraField(extra)),
        None => Ok(Some(op)),
    }
}

/// log2 bytes of an object whose `size_bits` already passed
/// [`size_bits_range`].
pub fn object_bits(ty: ObjectType, size_bits: u8) -> u8 {
    // size_bits is range-checked, so the kernel's size rule cannot refuse it;
    // fall back to the untyped rule rather than panic if it ever did.
    ty.object_bits(size_bits).unwrap_or(size_bits)
}

/// Streaming iterator over a trace text: yields `(line number, op)` and
/// stops after the first syntax error. It checks syntax only; use
/// [`IdTable`] (or [`validate`]) for the live-id rules.
pub struct Ops<'a> {
    lines: core::str::Lines<'a>,
    line: usize,
    failed: bool,
}

/// Iterate over the operations of `text`.
pub fn ops(text: &str) -> Ops<'_> {
    Ops { lines: text.lines(), line: 0, failed: false }
}

impl<'a> Iterator for Ops<'a> {
    type Item = Result<(usize, Op<'a>), TraceError<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed {
            return None;
        }
        for l in self.lines.by_ref() {
            self.line += 1;
            match parse_line(l) {
                Ok(None) => continue,
                Ok(Some(op)) => return Some(Ok((self.line, op))),
                Err(kind) => {
                    self.failed = true;
                    return Some(Err(TraceError { line: self.line, kind }));
                }
            }
        }
        None
    }
}

/// One entry of an [`IdTable`]: a live id and the caller's value for it.
pub type IdEntry<'a, V> = Option<(&'a str, V)>;

/// Errors of an [`IdTable`] operation.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum IdError {
    Duplicate,
    Unknown,
    Full,
}

/// Fixed-capacity hash table of live ids (open addressing, linear probing,
/// backward-shift deletion, so no tombstones accumulate under churn).
/// The caller supplies the storage; at most 7/8 of it is used to keep
/// probe sequences short.
pub struct IdTable<'s, 'a, V> {
    slots: &'s mut [IdEntry<'a, V>],
    len: usize,
}

fn hash(id: &str) -> u64 {
    // FNV-1a: tiny, no_std, and good enough for short tokens.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in id.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl<'s, 'a, V> IdTable<'s, 'a, V> {
    /// A table over `storage`; every entry is cleared.
    pub fn new(storage: &'s mut [IdEntry<'a, V>]) -> Self {
        for s in storage.iter_mut() {
            *s = None;
        }
        IdTable { slots: storage, len: 0 }
    }

    /// Number of live ids the table accepts.
    pub fn capacity(&self) -> usize {
        self.slots.len() - self.slots.len() / 8
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn home(&self, id: &str) -> usize {
        (hash(id) % self.slots.len() as u64) as usize
    }

    fn find(&self, id: &str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let n = self.slots.len();
        let mut i = self.home(id);
        for _ in 0..n {
            match &self.slots[i] {
                None => return None,
                Some((k, _)) if *k == id => return Some(i),
                Some(_) => i = (i + 1) % n,
            }
        }
        None
    }

    pub fn get(&self, id: &str) -> Option<&V> {
        self.find(id).and_then(|i| self.slots[i].as_ref().map(|(_, v)| v))
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut V> {
        let i = self.find(id)?;
        self.slots[i].as_mut().map(|(_, v)| v)
    }

    /// Insert a new live id; a live duplicate or a full table is an error
    /// and leaves the table unchanged.
    pub fn insert(&mut self, id: &'a str, value: V) -> Result<(), IdError> {
        if self.find(id).is_some() {
            return Err(IdError::Duplicate);
        }
        if self.len >= self.capacity() {
            return Err(IdError::Full);
        }
        let n = self.slots.len();
        let mut i = self.home(id);
        while self.slots[i].is_some() {
            i = (i + 1) % n;
        }
        self.slots[i] = Some((id, value));
        self.len += 1;
        Ok(())
    }

    /// Remove a live id and return its value.
    pub fn remove(&mut self, id: &str) -> Result<V, IdError> {
        let mut hole = self.find(id).ok_or(IdError::Unknown)?;
        let (_, value) = self.slots[hole].take().ok_or(IdError::Unknown)?;
        self.len -= 1;
        // Backward-shift: move later entries of the probe run into the hole
        // when their home position does not lie cyclically in (hole, j].
        let n = self.slots.len();
        let mut j = hole;
        loop {
            j = (j + 1) % n;
            let home = match &self.slots[j] {
                None => break,
                Some((k, _)) => self.home(k),
            };
            let in_range = if hole <= j { hole < home && home <= j } else { hole < home || home <= j };
            if !in_range {
                self.slots[hole] = self.slots[j].take();
                hole = j;
            }
        }
        Ok(value)
    }

    /// Every live id and its value (in storage order).
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, &V)> + '_ {
        self.slots.iter().filter_map(|s| s.as_ref().map(|(k, v)| (*k, v)))
    }

    /// Remove every entry, calling `f` on each (in storage order).
    pub fn drain(&mut self, mut f: impl FnMut(&'a str, V)) {
        for s in self.slots.iter_mut() {
            if let Some((k, v)) = s.take() {
                f(k, v);
            }
        }
        self.len = 0;
    }
}

/// Apply the live-id rules of `op` (found on `line`) to `table`, storing
/// `value` for an alloc. Returns the value of a freed id.
pub fn track<'a, V>(
    table: &mut IdTable<'_, 'a, V>,
    line: usize,
    op: &Op<'a>,
    value: V,
) -> Result<Option<V>, TraceError<'a>> {
    let err = |kind| TraceError { line, kind };
    match *op {
        Op::Alloc { id, .. } => match table.insert(id, value) {
            Ok(()) => Ok(None),
            Err(IdError::Duplicate) => Err(err(ErrorKind::DuplicateId(id))),
            Err(_) => Err(err(ErrorKind::TooManyLiveIds { capacity: table.capacity() })),
        },
        Op::Free { id } => match table.remove(id) {
            Ok(v) => Ok(Some(v)),
            Err(_) => Err(err(ErrorKind::UnknownId(id))),
        },
    }
}

/// What a whole-trace check found.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Summary {
    pub ops: u64,
    pub allocs: u64,
    pub frees: u64,
    /// Largest number of simultaneously live ids.
    pub max_live: usize,
    /// Ids still live at the end.
    pub live_at_end: usize,
}

/// Check syntax and live-id rules of the whole trace, using `storage` for
/// the live-id table (its capacity limits the live set).
pub fn validate<'a>(text: &'a str, storage: &mut [IdEntry<'a, ()>]) -> Result<Summary, TraceError<'a>> {
    let mut table = IdTable::new(storage);
    let mut s = Summary::default();
    for item in ops(text) {
        let (line, op) = item?;
        track(&mut table, line, &op, ())?;
        s.ops += 1;
        match op {
            Op::Alloc { .. } => s.allocs += 1,
            Op::Free { .. } => s.frees += 1,
        }
        s.max_live = s.max_live.max(table.len());
    }
    s.live_at_end = table.len();
    Ok(s)
}

#[cfg(test)]
mod tests {
    extern crate std;
    use super::*;
    use std::string::ToString;
    use std::vec::Vec;

    fn err(line: &str) -> ErrorKind<'_> {
        parse_line(line).unwrap_err()
    }

    #[test]
    fn parses_alloc_free_comments_blank() {
        let text =
            "# header\n\nalloc a cnode 5 0x400 # trailing\n  free a\nalloc b endpoint 0\nalloc c untyped 12 4096\n";
        let got: Vec<_> = ops(text).map(|r| r.unwrap()).collect();
        assert_eq!(
            got,
            [
                (3, Op::Alloc { id: "a", ty: ObjectType::CNode, size_bits: 5, addr: Some(0x400) }),
                (4, Op::Free { id: "a" }),
                (5, Op::Alloc { id: "b", ty: ObjectType::Endpoint, size_bits: 0, addr: None }),
                (6, Op::Alloc { id: "c", ty: ObjectType::Untyped, size_bits: 12, addr: Some(4096) }),
            ]
        );
    }

    #[test]
    fn every_type_name_parses() {
        for ty in ObjectType::ALL {
            let (min, _) = size_bits_range(ty);
            let line = std::format!("alloc x {} {}", ty.name(), min);
            match parse_line(&line) {
                Ok(Some(Op::Alloc { ty: t, .. })) => assert_eq!(t, ty),
                other => panic!("{line}: {other:?}"),
            }
        }
    }

    #[test]
    fn unknown_operation() {
        assert_eq!(err("allocate a tcb 0"), ErrorKind::UnknownOperation("allocate"));
    }

    #[test]
    fn unknown_type() {
        let e = err("alloc a frame_8k 0");
        assert_eq!(e, ErrorKind::UnknownType("frame_8k"));
        let msg = e.to_string();
        assert!(msg.contains("frame_8k") && msg.contains("frame_4k"), "{msg}");
    }

    #[test]
    fn bad_number() {
        assert_eq!(err("alloc a cnode x5"), ErrorKind::BadNumber { field: "size_bits", token: "x5" });
        assert_eq!(err("alloc a tcb 0 0xzz"), ErrorKind::BadNumber { field: "addr", token: "0xzz" });
        assert_eq!(err("alloc a tcb 0 0x"), ErrorKind::BadNumber { field: "addr", token: "0x" });
        assert_eq!(err("alloc a tcb 0 +4096"), ErrorKind::BadNumber { field: "addr", token: "+4096" });
        assert_eq!(
            err("alloc a tcb 0 0x10000000000000000"),
            ErrorKind::BadNumber { field: "addr", token: "0x10000000000000000" }
        );
    }

    #[test]
    fn missing_field() {
        assert_eq!(err("alloc"), ErrorKind::MissingField("id"));
        assert_eq!(err("alloc a"), ErrorKind::MissingField("type"));
        assert_eq!(err("alloc a tcb # comment"), ErrorKind::MissingField("size_bits"));
        assert_eq!(err("free"), ErrorKind::MissingField("id"));
    }

    #[test]
    fn extra_field() {
        assert_eq!(err("alloc a tcb 0 0x1000 now"), ErrorKind::ExtraField("now"));
        assert_eq!(err("free a b"), ErrorKind::ExtraField("b"));
    }

    #[test]
    fn size_bits_out_of_range() {
        assert_eq!(
            err("alloc a untyped 3"),
            ErrorKind::SizeBitsOutOfRange { ty: ObjectType::Untyped, size_bits: 3, min: 4, max: 47 }
        );
        assert_eq!(
            err("alloc a untyped 48"),
            ErrorKind::SizeBitsOutOfRange { ty: ObjectType::Untyped, size_bits: 48, min: 4, max: 47 }
        );
        assert_eq!(
            err("alloc a cnode 0"),
            ErrorKind::SizeBitsOutOfRange { ty: ObjectType::CNode, size_bits: 0, min: 1, max: 42 }
        );
        assert_eq!(
            err("alloc a tcb 11"),
            ErrorKind::SizeBitsOutOfRange { ty: ObjectType::Tcb, size_bits: 11, min: 0, max: 0 }
        );
        // Larger than u8 must not wrap around to an allowed value.
        assert_eq!(
            err("alloc a untyped 260"),
            ErrorKind::SizeBitsOutOfRange { ty: ObjectType::Untyped, size_bits: 260, min: 4, max: 47 }
        );
    }

    #[test]
    fn misaligned_address() {
        assert_eq!(err("alloc a frame_4k 0 0x1800"), ErrorKind::MisalignedAddress { addr: 0x1800, object_bits: 12 });
        // cnode radix 5 = 1 KiB objects.
        assert_eq!(err("alloc a cnode 5 0x200"), ErrorKind::MisalignedAddress { addr: 0x200, object_bits: 10 });
    }

    #[test]
    fn address_whose_object_ends_past_u64_is_refused() {
        let e = err("alloc a frame_4k 0 0xfffffffffffff000");
        assert_eq!(e, ErrorKind::AddressOverflow { addr: 0xffff_ffff_ffff_f000, object_bits: 12 });
        assert_eq!(e.to_string(), "object of 2^12 bytes at 0xfffffffffffff000 ends past the 64-bit address space");
        assert_eq!(
            err("alloc u untyped 47 0xffff800000000000"),
            ErrorKind::AddressOverflow { addr: 0xffff_8000_0000_0000, object_bits: 47 }
        );
        // The highest object that still ends inside the address space is fine.
        assert!(parse_line("alloc a frame_4k 0 0xffffffffffffe000").unwrap().is_some());
    }

    #[test]
    fn errors_name_the_line_and_stop() {
        let text = "alloc a tcb 0\n\n# x\nalloc b tcb zero\nalloc c tcb 0\n";
        let got: Vec<_> = ops(text).collect();
        assert_eq!(got.len(), 2);
        let e = got[1].unwrap_err();
        assert_eq!(e.line, 4);
        assert_eq!(e.to_string(), "line 4: <size_bits> `zero` is not a valid number");
    }

    #[test]
    fn duplicate_live_id() {
        let mut st = [None; 16];
        let e = validate("alloc a tcb 0\nalloc a endpoint 0\n", &mut st).unwrap_err();
        assert_eq!(e, TraceError { line: 2, kind: ErrorKind::DuplicateId("a") });
        // Reusing an id after it was freed is fine.
        let mut st = [None; 16];
        let s = validate("alloc a tcb 0\nfree a\nalloc a endpoint 0\n", &mut st).unwrap();
        assert_eq!((s.ops, s.allocs, s.frees, s.max_live, s.live_at_end), (3, 2, 1, 1, 1));
    }

    #[test]
    fn unknown_free_id() {
        let mut st = [None; 16];
        let e = validate("alloc a tcb 0\nfree a\nfree a\n", &mut st).unwrap_err();
        assert_eq!(e, TraceError { line: 3, kind: ErrorKind::UnknownId("a") });
        assert_eq!(e.to_string(), "line 3: free of id `a` that is not live");
    }

    #[test]
    fn live_table_capacity_is_an_error() {
        let mut st = [None; 8]; // capacity 7
        let text: std::string::String = (0..8).map(|i| std::format!("alloc o{i} endpoint 0\n")).collect();
        let e = validate(&text, &mut st).unwrap_err();
        assert_eq!(e, TraceError { line: 8, kind: ErrorKind::TooManyLiveIds { capacity: 7 } });
    }

    #[test]
    fn id_table_matches_a_reference_map_under_churn() {
        use std::collections::BTreeMap;
        let names: Vec<std::string::String> = (0..200).map(|i| std::format!("id{i}")).collect();
        let mut st: Vec<IdEntry<'_, usize>> = (0..64).map(|_| None).collect();
        let mut t = IdTable::new(&mut st);
        let mut reference = BTreeMap::new();
        let mut x: u64 = 1;
        for step in 0..20_000usize {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let name = names[(x % 200) as usize].as_str();
            if reference.contains_key(name) {
                assert_eq!(t.remove(name), Ok(reference.remove(name).unwrap()));
            } else if reference.len() < t.capacity() {
                t.insert(name, step).unwrap();
                reference.insert(name, step);
            } else {
                assert_eq!(t.insert(name, step), Err(IdError::Full));
            }
            assert_eq!(t.len(), reference.len());
        }
        for (k, v) in &reference {
            assert_eq!(t.get(k), Some(v));
        }
        assert_eq!(t.remove("nope"), Err(IdError::Unknown));
    }

    #[test]
    fn never_panics_on_garbage() {
        for line in [
            "\u{feff}alloc",
            "alloc \t a \t tcb \t 0",
            "free #",
            "# only",
            "   ",
            "alloc a cnode 99999999999999999999999",
        ] {
            let _ = parse_line(line);
        }
        assert!(parse_line("alloc \t a \t tcb \t 0").unwrap().is_some());
    }
}
