//! The request-script format: every verb and option parses as documented, every malformed line
//! is refused with its line number and what is wrong, and a whole script's summary says how
//! many requests it sends and how the requester must end.

use requester::{check, lines, number, parse_line, AllocOptions, End, Expect, FaultKind, Ref, Step, Word};
use sel4_core_protocol::{CacheAttr, ErrorCode, SessionKind};

fn one(text: &str) -> (Step<'_>, Option<Expect>) {
    parse_line(text).unwrap_or_else(|e| panic!("{text}: {e}")).expect("a request")
}

fn problem(text: &str) -> String {
    parse_line(text).map(|_| ()).unwrap_err().to_string()
}

#[test]
fn numbers_are_decimal_or_hex_and_sizes_take_suffixes() {
    assert_eq!(number("4096", false), Ok(4096));
    assert_eq!(number("0x1000", false), Ok(4096));
    assert_eq!(number("4K", true), Ok(4096));
    assert_eq!(number("2M", true), Ok(2 << 20));
    assert_eq!(number("0x10M", true), Ok(16 << 20));
    assert_eq!(number("1G", true), Ok(1 << 30));
    assert!(number("4K", false).is_err());
    assert!(number("0x", false).is_err());
    assert!(number("-1", false).is_err());
    assert!(number("99999999999999999999", false).is_err());
    assert!(number("17179869184G", true).is_err(), "2^64 overflows");
    assert!(number("0x1000_0000", false).is_err(), "no separators");
}

#[test]
fn every_verb_parses() {
    assert_eq!(
        one("open ram ram=4M caps=64 as s1"),
        (Step::Open { kind: SessionKind::Ram, ram: 4 << 20, caps: 64, name: "s1" }, None)
    );
    assert_eq!(one("close s1 => ok"), (Step::Close { session: Ref::Name("s1") }, Some(Expect::Ok)));
    let (_, e) = one("alloc s1 0 as d => InvalidArgument");
    assert_eq!(e, Some(Expect::Error(ErrorCode::InvalidArgument)));
    let (step, _) = one("alloc s1 12K range=0..4G align=16 cache=wc map=0x10000000 caps as d");
    assert_eq!(
        step,
        Step::Alloc {
            session: Ref::Name("s1"),
            size: 12 << 10,
            options: AllocOptions {
                range: Some((0, 4 << 30)),
                align_log2: 16,
                cache: CacheAttr::WriteCombining,
                map: Some(0x1000_0000),
                caps: true
            },
            name: "d"
        }
    );
    assert_eq!(one("free s1 d").0, Step::Free { session: Ref::Name("s1"), dataspace: Ref::Name("d") });
    assert_eq!(one("free 7 0x10003").0, Step::Free { session: Ref::Raw(7), dataspace: Ref::Raw(0x10003) });
    assert_eq!(one("touch d => fault"), (Step::Touch { dataspace: "d" }, Some(Expect::Fault)));
    assert_eq!(one("cnode c1 4 as n").0, Step::Cnode { session: Ref::Name("c1"), log2_slots: 4, name: "n" });
    assert_eq!(
        one("thread t1 prio=101 as th => Denied").0,
        Step::Thread { session: Ref::Name("t1"), prio: Some(101), name: "th" }
    );
    assert_eq!(one("thread t1 as th").0, Step::Thread { session: Ref::Name("t1"), prio: None, name: "th" });
    assert_eq!(one("start t1 th").0, Step::Start { session: Ref::Name("t1"), thread: Ref::Name("th") });
    assert_eq!(one("stop t1 th").0, Step::Stop { session: Ref::Name("t1"), thread: Ref::Name("th") });
    assert_eq!(one("destroy c1 n").0, Step::Destroy { session: Ref::Name("c1"), object: Ref::Name("n") });
    let (step, e) = one("raw 0 99 1 0x2 # comment => ok");
    assert_eq!(e, None, "a comment hides what follows it");
    match step {
        Step::Raw { first: Word::Value(0), label: 99, words, len: 2 } => {
            assert_eq!(words.values().collect::<Vec<_>>(), [1, 2])
        }
        s => panic!("{s:?}"),
    }
    match one("raw s1 7 16").0 {
        Step::Raw { first: Word::Name("s1"), label: 7, len: 1, .. } => {}
        s => panic!("{s:?}"),
    }
    match one("raw 0x0001000000010000 7 16").0 {
        Step::Raw { first: Word::Value(0x0001_0000_0001_0000), .. } => {}
        s => panic!("{s:?}"),
    }
    assert_eq!(one("fault ud").0, Step::Fault(FaultKind::Ud));
    assert_eq!(one("exit 3").0, Step::Exit(3));
    assert_eq!(one("close s => error").1, Some(Expect::AnyError));
    assert_eq!(one("close s => any").1, Some(Expect::Any));
    assert_eq!(parse_line("   # only a comment"), Ok(None));
    assert_eq!(parse_line(""), Ok(None));
}

#[test]
fn malformed_lines_say_what_is_wrong() {
    assert!(problem("opne ram ram=1M caps=1 as s").starts_with("unknown request `opne`"));
    assert_eq!(problem("open ram ram=1M caps=1"), "missing `as <name>`");
    assert_eq!(problem("open ram ram=1M caps=1 as"), "missing a name after `as`");
    assert_eq!(problem("open disk ram=1M caps=1 as s"), "unknown session kind `disk` (ram, cnode, tcb)");
    assert_eq!(problem("open ram caps=1 as s"), "missing ram=<bytes>");
    assert_eq!(problem("open ram ram=1M caps=1 size=2 as s"), "unknown option `size=2`");
    assert_eq!(problem("open ram ram=1M caps=0x100000000 as s"), "`0x100000000` is out of range for caps (32 bits)");
    assert_eq!(problem("alloc s 4K cache=fast as d"), "unknown option `cache=fast`");
    assert_eq!(problem("alloc s 4K range=1 as d"), "unknown option `range=1`");
    assert_eq!(problem("alloc s 4K align=300 as d"), "`300` is out of range for align (log2, 8 bits)");
    assert_eq!(problem("close s t"), "unexpected `t`");
    assert_eq!(problem("touch 5"), "`5` is not a name");
    assert!(problem("close s => Nope").starts_with("unknown expectation `Nope`"));
    assert_eq!(problem("close s => ok ok"), "unexpected `ok`");
    assert_eq!(problem("close s => fault"), "`=> fault` is only for a last `touch`");
    assert_eq!(problem("fault hard"), "unknown fault `hard` (vm, cap, syscall, div0, ud)");
    let longest = format!("raw 0 1{}", " 7".repeat(119));
    assert!(matches!(parse_line(&longest), Ok(Some((Step::Raw { len: 119, .. }, None)))));
    assert!(matches!(parse_line(&format!("{longest} => InvalidRequest")), Ok(Some((Step::Raw { len: 119, .. }, _)))));
    assert_eq!(problem(&format!("{longest} 7")), "more than 119 words after the session");
    assert_eq!(problem("=> ok"), "missing a request before `=>`");
    assert_eq!(problem("alloc s 4K map=0x1000 map=0x2000 as d"), "`map` given twice");
    assert_eq!(problem("alloc s 4K caps caps as d"), "`caps` given twice");
    assert_eq!(problem("raw 0 0x10000000000002"), "`0x10000000000002` is out of range for a label (52 bits)");
    assert_eq!(problem("exit 0 => ok"), "`exit` takes no expectation");
    assert_eq!(problem("fault vm => ok"), "`fault` takes no expectation");
}

#[test]
fn a_script_is_checked_whole() {
    let s =
        "# a script\nopen ram ram=1M caps=8 as s\nalloc s 4K map=0x10000000 as d => ok\nfree s d\ntouch d => fault\n";
    let summary = check(s).unwrap();
    assert_eq!((summary.requests, summary.end), (3, End::Fault(FaultKind::Vm)));
    let s = "open ram ram=1M caps=8 as s\nclose s\nexit 4\n";
    assert_eq!(check(s).map(|s| (s.requests, s.end)), Ok((3, End::Exit(4))));
    assert_eq!(check("open ram ram=1M caps=8 as s\nfault div0\n").map(|s| s.end), Ok(End::Fault(FaultKind::Div0)));
    let e = check("open ram ram=1M caps=8 as s\nfree s d\n").unwrap_err();
    assert_eq!(e.to_string(), "line 2: `d` names nothing an earlier line made");
    let e = check("exit 0\nclose 1\n").unwrap_err();
    assert_eq!(e.to_string(), "line 2: `exit` may only be the last line");
    let e = check("open ram ram=1M caps=8 as s\nalloc s 4K as d\ntouch d => fault\nclose s\n").unwrap_err();
    assert_eq!(e.to_string(), "line 4: `=> fault` may only be the last line");
    // As many names as a script binds.
    let many: String = (0..10_000).map(|i| format!("open ram ram=1M caps=8 as s{i}\n")).collect();
    assert_eq!(check(&many).map(|s| s.requests), Ok(10_000));
    // Numbers stand for forged handles anywhere a name is expected.
    assert!(check("close 0x10000\nfree 1 2\ndestroy 3 4\nraw 5 99\n").is_ok());
}

#[test]
fn lines_carry_their_numbers() {
    let numbers: Vec<u32> = lines("\n# c\nclose 1\n\nclose 2\n").map(|l| l.unwrap().number).collect();
    assert_eq!(numbers, vec![3, 5]);
}
