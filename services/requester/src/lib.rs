//! Request scripts: the text format the requester service executes, one request to core per
//! line, and its parser (`no_std`, no allocation: every name borrows the script's text). The
//! run tool parses a script on the host before it boots, to refuse a bad one with its line and
//! to know how the requester must end; the requester parses the same text again as it runs.
//!
//! The format (the README documents it for users):
//! - one request per line; `#` starts a comment; numbers are decimal or `0x` hex; sizes and
//!   addresses (`ram=`, an alloc's bytes, `range=`, `map=`) may end in `K`, `M` or `G`;
//! - `open ram|cnode|tcb ram=<bytes> caps=<n> as <name>`, `close <session>`;
//! - `alloc <session> <bytes> [range=<lo>..<hi>] [align=<log2>] [cache=cached|wc|uncached]
//!   [map=<vaddr>] [caps] as <name>`, `free <session> <name>`, `touch <name>`;
//! - `cnode <session> <log2 slots> as <name>`, `thread <session> [prio=<p>] as <name>`,
//!   `start|stop <session> <thread>`, `destroy <session> <name>`;
//! - `raw <session|0> <label> [<word>...]`: exactly this label and these words (the first is
//!   the session's handle, or any 64-bit number given instead);
//! - `fault vm|cap|syscall|div0|ud`, `exit <code>`: only as the last line;
//! - where a name is expected, a number is sent as the raw handle value (a forged handle);
//! - a request line may end in `=> ok`, `=> <ErrorName>`, `=> error` or `=> any`; a last
//!   `touch <name>` may end in `=> fault`.
#![no_std]

extern crate alloc;

use alloc::collections::BTreeSet;

use sel4_core_protocol::{CacheAttr, ErrorCode, SessionKind};

/// Message words a `raw` line may carry after its session word: the rest of the kernel's
/// longest message (`seL4_MsgMaxLength`).
pub const MAX_RAW_WORDS: usize = sel4_abi::message_info::MSG_MAX_LENGTH - 1;

/// A session or object a line names: a name bound by an earlier line, or a number sent as the
/// raw handle value.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Ref<'a> {
    Name(&'a str),
    Raw(u32),
}

/// The first word of a `raw` line: a session's name (its handle is sent) or any 64-bit number
/// (e.g. a session handle with an object handle in bits 32..64).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Word<'a> {
    Name(&'a str),
    Value(u64),
}

/// What a line expects of core's answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Expect {
    Ok,
    Error(ErrorCode),
    /// Any error.
    AnyError,
    /// Any reply.
    Any,
    /// The requester faults (a last `touch` only).
    Fault,
}

impl core::fmt::Display for Expect {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Expect::Ok => f.write_str("ok"),
            Expect::Error(e) => f.write_str(e.name()),
            Expect::AnyError => f.write_str("error"),
            Expect::Any => f.write_str("any"),
            Expect::Fault => f.write_str("fault"),
        }
    }
}

/// A fault on purpose.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum FaultKind {
    Vm,
    Cap,
    Syscall,
    Div0,
    Ud,
}

impl FaultKind {
    pub const ALL: [(FaultKind, &'static str); 5] = [
        (FaultKind::Vm, "vm"),
        (FaultKind::Cap, "cap"),
        (FaultKind::Syscall, "syscall"),
        (FaultKind::Div0, "div0"),
        (FaultKind::Ud, "ud"),
    ];

    /// How core's report of this fault begins (`child <name>: faulted: ...`).
    pub fn report(self) -> &'static str {
        match self {
            FaultKind::Vm => "VM fault",
            FaultKind::Cap => "cap fault",
            FaultKind::Syscall => "unknown syscall",
            FaultKind::Div0 => "user exception 0",
            FaultKind::Ud => "user exception 6",
        }
    }
}

/// An alloc line's options.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct AllocOptions {
    pub range: Option<(u64, u64)>,
    pub align_log2: u8,
    pub cache: CacheAttr,
    pub map: Option<u64>,
    pub caps: bool,
}

/// One request of a script.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Step<'a> {
    Open {
        kind: SessionKind,
        ram: u64,
        caps: u32,
        name: &'a str,
    },
    Close {
        session: Ref<'a>,
    },
    Alloc {
        session: Ref<'a>,
        size: u64,
        options: AllocOptions,
        name: &'a str,
    },
    Free {
        session: Ref<'a>,
        dataspace: Ref<'a>,
    },
    Touch {
        dataspace: &'a str,
    },
    Cnode {
        session: Ref<'a>,
        log2_slots: u8,
        name: &'a str,
    },
    Thread {
        session: Ref<'a>,
        prio: Option<u8>,
        name: &'a str,
    },
    Start {
        session: Ref<'a>,
        thread: Ref<'a>,
    },
    Stop {
        session: Ref<'a>,
        thread: Ref<'a>,
    },
    Destroy {
        session: Ref<'a>,
        object: Ref<'a>,
    },
    /// `first` is a session's name (its handle is sent) or the whole first word.
    Raw {
        first: Word<'a>,
        label: u64,
        words: RawWords<'a>,
        len: usize,
    },
    Fault(FaultKind),
    Exit(u64),
}

/// The words of a `raw` line after its label, as written (checked to be numbers when the line
/// was parsed), read as numbers when the line is sent: a line borrows its text, never copies
/// up to [`MAX_RAW_WORDS`] words.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct RawWords<'a>(&'a str);

impl RawWords<'_> {
    /// The words' values, in order.
    pub fn values(&self) -> impl Iterator<Item = u64> + '_ {
        self.0.split_ascii_whitespace().map(|t| number(t, false).unwrap_or(0))
    }
}

impl<'a> Step<'a> {
    /// The verb the line starts with.
    pub fn verb(&self) -> &'static str {
        match self {
            Step::Open { .. } => "open",
            Step::Close { .. } => "close",
            Step::Alloc { .. } => "alloc",
            Step::Free { .. } => "free",
            Step::Touch { .. } => "touch",
            Step::Cnode { .. } => "cnode",
            Step::Thread { .. } => "thread",
            Step::Start { .. } => "start",
            Step::Stop { .. } => "stop",
            Step::Destroy { .. } => "destroy",
            Step::Raw { .. } => "raw",
            Step::Fault(_) => "fault",
            Step::Exit(_) => "exit",
        }
    }

    /// The name the line binds, if any.
    pub fn binds(&self) -> Option<&'a str> {
        match *self {
            Step::Open { name, .. }
            | Step::Alloc { name, .. }
            | Step::Cnode { name, .. }
            | Step::Thread { name, .. } => Some(name),
            _ => None,
        }
    }

    /// Names the line uses.
    pub fn uses(&self) -> [Option<Ref<'a>>; 2] {
        match *self {
            Step::Close { session } => [Some(session), None],
            Step::Raw { first: Word::Name(n), .. } => [Some(Ref::Name(n)), None],
            Step::Raw { first: Word::Value(_), .. } => [None, None],
            Step::Alloc { session, .. } | Step::Cnode { session, .. } | Step::Thread { session, .. } => {
                [Some(session), None]
            }
            Step::Free { session, dataspace: o }
            | Step::Start { session, thread: o }
            | Step::Stop { session, thread: o }
            | Step::Destroy { session, object: o } => [Some(session), Some(o)],
            Step::Touch { dataspace } => [Some(Ref::Name(dataspace)), None],
            Step::Open { .. } | Step::Fault(_) | Step::Exit(_) => [None, None],
        }
    }
}

/// A request line: its number (from 1), the request, and what it expects, if it says.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    pub number: u32,
    pub step: Step<'a>,
    pub expect: Option<Expect>,
}

/// Why a line is not a request.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Problem<'a> {
    UnknownVerb(&'a str),
    Missing(&'static str),
    Extra(&'a str),
    Number(&'a str),
    /// A value out of the range its field takes.
    Range(&'a str, &'static str),
    UnknownKind(&'a str),
    UnknownOption(&'a str),
    UnknownError(&'a str),
    UnknownFault(&'a str),
    /// A name starts with a letter or `_` and holds letters, digits, `_`, `-` and `.`.
    BadName(&'a str),
    /// An option given twice on one line.
    Twice(&'a str),
    /// `exit` and `fault` lines take no expectation (they end the requester).
    NoExpectation(&'static str),
    /// A name no earlier line bound.
    Unbound(&'a str),
    /// `fault` and `exit` end a script; `=> fault` only on a last `touch`.
    NotLast(&'static str),
    FaultExpected,
    TooManyWords,
}

impl core::fmt::Display for Problem<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match *self {
            Problem::UnknownVerb(v) => write!(
                f,
                "unknown request `{v}` (open, close, alloc, free, touch, cnode, thread, start, stop, destroy, raw, fault, exit)"
            ),
            Problem::Missing(what) => write!(f, "missing {what}"),
            Problem::Extra(t) => write!(f, "unexpected `{t}`"),
            Problem::Number(t) => write!(f, "`{t}` is not a number (decimal or 0x hex; sizes may end in K, M or G)"),
            Problem::Range(t, what) => write!(f, "`{t}` is out of range for {what}"),
            Problem::UnknownKind(t) => write!(f, "unknown session kind `{t}` (ram, cnode, tcb)"),
            Problem::UnknownOption(t) => write!(f, "unknown option `{t}`"),
            Problem::UnknownError(t) => {
                write!(f, "unknown expectation `{t}` (ok, error, any, fault or an error name:")?;
                for e in ErrorCode::ALL {
                    write!(f, " {}", e.name())?;
                }
                f.write_str(")")
            }
            Problem::UnknownFault(t) => write!(f, "unknown fault `{t}` (vm, cap, syscall, div0, ud)"),
            Problem::BadName(t) => write!(f, "`{t}` is not a name"),
            Problem::Twice(t) => write!(f, "`{t}` given twice"),
            Problem::NoExpectation(what) => write!(f, "`{what}` takes no expectation"),
            Problem::Unbound(t) => write!(f, "`{t}` names nothing an earlier line made"),
            Problem::NotLast(what) => write!(f, "`{what}` may only be the last line"),
            Problem::FaultExpected => f.write_str("`=> fault` is only for a last `touch`"),
            Problem::TooManyWords => write!(f, "more than {MAX_RAW_WORDS} words after the session"),
        }
    }
}

/// A problem at a line.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ScriptError<'a> {
    pub line: u32,
    pub problem: Problem<'a>,
}

impl core::fmt::Display for ScriptError<'_> {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        write!(f, "line {}: {}", self.line, self.problem)
    }
}

/// A number: decimal or `0x` hex, with a `K`, `M` or `G` suffix if `size`.
pub fn number(t: &str, size: bool) -> Result<u64, Problem<'_>> {
    // The grammar every file of the system shares (`sel4-core-sizes`).
    let v = if size { sel4_core_sizes::size(t) } else { sel4_core_sizes::number(t) };
    v.map_err(|e| match e {
        sel4_core_sizes::Error::TooLarge => Problem::Range(t, "a 64-bit number"),
        _ => Problem::Number(t),
    })
}

fn small<'a, T: TryFrom<u64>>(t: &'a str, what: &'static str) -> Result<T, Problem<'a>> {
    T::try_from(number(t, false)?).map_err(|_| Problem::Range(t, what))
}

fn is_name(t: &str) -> bool {
    t.bytes().next().is_some_and(|b| b.is_ascii_alphabetic() || b == b'_')
        && t.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || b == b'.')
}

fn name(t: &str) -> Result<&str, Problem<'_>> {
    if is_name(t) {
        Ok(t)
    } else {
        Err(Problem::BadName(t))
    }
}

/// A name, or a number sent as a raw handle.
fn reference(t: &str) -> Result<Ref<'_>, Problem<'_>> {
    if is_name(t) {
        Ok(Ref::Name(t))
    } else {
        small(t, "a handle (32 bits)").map(Ref::Raw)
    }
}

/// `... as <name>` at the end of `words`: the name, and the words before.
fn bound<'a, 'w>(words: &'w [&'a str]) -> Result<(&'w [&'a str], &'a str), Problem<'a>> {
    match words {
        [rest @ .., "as", n] => Ok((rest, name(n)?)),
        [.., last] if *last == "as" => Err(Problem::Missing("a name after `as`")),
        _ => Err(Problem::Missing("`as <name>`")),
    }
}

fn expect(t: &str) -> Result<Expect, Problem<'_>> {
    match t {
        "ok" => Ok(Expect::Ok),
        "error" => Ok(Expect::AnyError),
        "any" => Ok(Expect::Any),
        "fault" => Ok(Expect::Fault),
        _ => ErrorCode::ALL.into_iter().find(|e| e.name() == t).map(Expect::Error).ok_or(Problem::UnknownError(t)),
    }
}

/// Words of a line, at most this many: a `raw` line with its longest message and an
/// expectation.
const MAX_LINE_WORDS: usize = MAX_RAW_WORDS + 5;

/// The request on one line (`None` for a blank or comment line).
pub fn parse_line(text: &str) -> Result<Option<(Step<'_>, Option<Expect>)>, Problem<'_>> {
    let text = text.split('#').next().unwrap_or("");
    let (request, expectation) = match text.split_once("=>") {
        Some((r, e)) => {
            let mut e = e.split_ascii_whitespace();
            let x = expect(e.next().ok_or(Problem::Missing("an expectation after `=>`"))?)?;
            if let Some(extra) = e.next() {
                return Err(Problem::Extra(extra));
            }
            (r, Some(x))
        }
        None => (text, None),
    };
    let mut words = [""; MAX_LINE_WORDS];
    let mut n = 0;
    for w in request.split_ascii_whitespace() {
        if n == MAX_LINE_WORDS {
            return Err(Problem::Extra(w));
        }
        words[n] = w;
        n += 1;
    }
    let Some((&verb, args)) = words[..n].split_first() else {
        return match expectation {
            Some(_) => Err(Problem::Missing("a request before `=>`")),
            None => Ok(None),
        };
    };
    let arg = |i: usize, what: &'static str| args.get(i).copied().ok_or(Problem::Missing(what));
    let exactly = |k: usize| match args.get(k) {
        Some(extra) => Err(Problem::Extra(extra)),
        None => Ok(()),
    };
    let step = match verb {
        "open" => {
            let (rest, name) = bound(args)?;
            let kind = match *rest.first().ok_or(Problem::Missing("a session kind"))? {
                "ram" => SessionKind::Ram,
                "cnode" => SessionKind::Cnode,
                "tcb" => SessionKind::Tcb,
                k => return Err(Problem::UnknownKind(k)),
            };
            let (mut ram, mut caps) = (None, None);
            for &o in &rest[1..] {
                match o.split_once('=') {
                    Some(("ram", v)) if ram.is_none() => ram = Some(number(v, true)?),
                    Some(("caps", v)) if caps.is_none() => caps = Some(small(v, "caps (32 bits)")?),
                    _ => return Err(Problem::UnknownOption(o)),
                }
            }
            let ram = ram.ok_or(Problem::Missing("ram=<bytes>"))?;
            let caps = caps.ok_or(Problem::Missing("caps=<n>"))?;
            Step::Open { kind, ram, caps, name }
        }
        "close" => {
            exactly(1)?;
            Step::Close { session: reference(arg(0, "a session")?)? }
        }
        "alloc" => {
            let (rest, name) = bound(args)?;
            let session = reference(rest.first().ok_or(Problem::Missing("a session"))?)?;
            let size = number(rest.get(1).ok_or(Problem::Missing("a size in bytes"))?, true)?;
            let mut o = AllocOptions::default();
            let mut seen: [&str; 6] = [""; 6];
            for (i, &opt) in rest[2..].iter().enumerate() {
                let key = opt.split_once('=').map_or(opt, |(k, _)| k);
                if seen.contains(&key) {
                    return Err(Problem::Twice(key));
                }
                if let Some(slot) = seen.get_mut(i) {
                    *slot = key;
                }
                match opt.split_once('=') {
                    Some(("range", v)) => {
                        let (lo, hi) = v.split_once("..").ok_or(Problem::UnknownOption(opt))?;
                        o.range = Some((number(lo, true)?, number(hi, true)?));
                    }
                    Some(("align", v)) => o.align_log2 = small(v, "align (log2, 8 bits)")?,
                    Some(("cache", "cached")) => o.cache = CacheAttr::Cached,
                    Some(("cache", "wc")) => o.cache = CacheAttr::WriteCombining,
                    Some(("cache", "uncached")) => o.cache = CacheAttr::Uncached,
                    Some(("map", v)) => o.map = Some(number(v, true)?),
                    None if opt == "caps" => o.caps = true,
                    _ => return Err(Problem::UnknownOption(opt)),
                }
            }
            Step::Alloc { session, size, options: o, name }
        }
        "free" | "start" | "stop" | "destroy" => {
            exactly(2)?;
            let session = reference(arg(0, "a session")?)?;
            let object = reference(arg(1, "an object")?)?;
            match verb {
                "free" => Step::Free { session, dataspace: object },
                "start" => Step::Start { session, thread: object },
                "stop" => Step::Stop { session, thread: object },
                _ => Step::Destroy { session, object },
            }
        }
        "touch" => {
            exactly(1)?;
            Step::Touch { dataspace: name(arg(0, "a dataspace")?)? }
        }
        "cnode" => {
            let (rest, name) = bound(args)?;
            let session = reference(rest.first().ok_or(Problem::Missing("a session"))?)?;
            let bits = rest.get(1).ok_or(Problem::Missing("log2 of the slots"))?;
            if let Some(extra) = rest.get(2) {
                return Err(Problem::Extra(extra));
            }
            Step::Cnode { session, log2_slots: small(bits, "log2 slots (8 bits)")?, name }
        }
        "thread" => {
            let (rest, name) = bound(args)?;
            let session = reference(rest.first().ok_or(Problem::Missing("a session"))?)?;
            let prio = match rest.get(1) {
                None => None,
                Some(p) => match p.split_once('=') {
                    Some(("prio", v)) => Some(small(v, "a priority (0 to 255)")?),
                    _ => return Err(Problem::UnknownOption(p)),
                },
            };
            if let Some(extra) = rest.get(2) {
                return Err(Problem::Extra(extra));
            }
            Step::Thread { session, prio, name }
        }
        "raw" => {
            let t = arg(0, "a session or a number")?;
            let first = if is_name(t) { Word::Name(t) } else { Word::Value(number(t, false)?) };
            let l = arg(1, "a label")?;
            // A message info holds 52 bits of label (`seL4_MessageInfo`); more would be cut.
            let label =
                Some(number(l, false)?).filter(|&v| v >> 52 == 0).ok_or(Problem::Range(l, "a label (52 bits)"))?;
            let rest = &args[2..];
            if rest.len() > MAX_RAW_WORDS {
                return Err(Problem::TooManyWords);
            }
            for t in rest {
                number(t, false)?;
            }
            // The words' span of the line's text: from the first's start to the last's end.
            let span = match (rest.first(), rest.last()) {
                (Some(a), Some(z)) => {
                    let at = |w: &str| w.as_ptr() as usize - request.as_ptr() as usize;
                    &request[at(a)..at(z) + z.len()]
                }
                _ => "",
            };
            Step::Raw { first, label, words: RawWords(span), len: rest.len() }
        }
        "fault" => {
            exactly(1)?;
            let k = arg(0, "a fault kind")?;
            Step::Fault(
                FaultKind::ALL.into_iter().find(|(_, n)| *n == k).map(|(f, _)| f).ok_or(Problem::UnknownFault(k))?,
            )
        }
        "exit" => {
            exactly(1)?;
            Step::Exit(number(arg(0, "an exit code")?, false)?)
        }
        v => return Err(Problem::UnknownVerb(v)),
    };
    if expectation == Some(Expect::Fault) && !matches!(step, Step::Touch { .. }) {
        return Err(Problem::FaultExpected);
    }
    if let (Step::Exit(_) | Step::Fault(_), Some(_)) = (step, expectation) {
        return Err(Problem::NoExpectation(step.verb()));
    }
    Ok(Some((step, expectation)))
}

/// The request lines of a script, in order, each checked: `fault`, `exit` and `=> fault` only
/// last, and every name bound by an earlier line (names to remember: at most `N`).
pub struct Lines<'a> {
    lines: core::iter::Enumerate<core::str::Lines<'a>>,
    /// The line that must be the last request, once seen.
    ended: Option<(u32, &'static str)>,
}

/// The lines of `script`.
pub fn lines(script: &str) -> Lines<'_> {
    Lines { lines: script.lines().enumerate(), ended: None }
}

impl<'a> Iterator for Lines<'a> {
    type Item = Result<Line<'a>, ScriptError<'a>>;

    fn next(&mut self) -> Option<Self::Item> {
        for (i, text) in self.lines.by_ref() {
            let number = i as u32 + 1;
            let err = |problem| Some(Err(ScriptError { line: number, problem }));
            let (step, expect) = match parse_line(text) {
                Ok(None) => continue,
                Ok(Some(s)) => s,
                Err(problem) => return err(problem),
            };
            if let Some((_, what)) = self.ended {
                return err(Problem::NotLast(what));
            }
            self.ended = match (step, expect) {
                (Step::Fault(_), _) => Some((number, "fault")),
                (Step::Exit(_), _) => Some((number, "exit")),
                (_, Some(Expect::Fault)) => Some((number, "=> fault")),
                _ => None,
            };
            return Some(Ok(Line { number, step, expect }));
        }
        None
    }
}

/// What a whole script does, checked: its number of request lines and how it ends.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Summary {
    /// Request lines the requester counts as done before its end (a last `fault` or
    /// `touch => fault` line is not counted; an `exit` is).
    pub requests: u32,
    pub end: End,
}

/// How the requester must end.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum End {
    /// Exits with this code (0 when the script does not say).
    Exit(u64),
    /// Faults with this kind (a last `touch => fault` is a VM fault).
    Fault(FaultKind),
}

/// Checks every line of `script` and every name it uses (each bound by an earlier line).
pub fn check(script: &str) -> Result<Summary, ScriptError<'_>> {
    let mut summary = Summary { requests: 0, end: End::Exit(0) };
    let mut names: BTreeSet<&str> = BTreeSet::new();
    for line in lines(script) {
        let line = line?;
        for r in line.step.uses().into_iter().flatten() {
            if let Ref::Name(n) = r {
                if !names.contains(n) {
                    return Err(ScriptError { line: line.number, problem: Problem::Unbound(n) });
                }
            }
        }
        if let Some(n) = line.step.binds() {
            names.insert(n);
        }
        match (line.step, line.expect) {
            (Step::Fault(k), _) => summary.end = End::Fault(k),
            (_, Some(Expect::Fault)) => summary.end = End::Fault(FaultKind::Vm),
            (Step::Exit(code), _) => {
                summary.end = End::Exit(code);
                summary.requests += 1;
            }
            _ => summary.requests += 1,
        }
    }
    Ok(summary)
}
