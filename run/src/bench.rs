//! Benchmarks a boot prints (`bench: <what> <cycles> cycles per <unit>`), set beside the floors
//! measured in the same run as ratios, each with its target and a printed verdict. Under TCG
//! only ratios mean anything; a missed target does not fail the boot, a missing figure does.

use anyhow::{anyhow, Result};

pub mod table;

/// The cycles a line `bench: <what> <cycles> cycles ...` of `log` gives.
pub fn figure(log: &str, what: &str) -> Option<u64> {
    let prefix = format!("bench: {what} ");
    log.lines().find_map(|l| l.split_once(&prefix).and_then(|(_, rest)| rest.split_whitespace().next()?.parse().ok()))
}

/// Core's own work on one request, as core printed it per label.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Work {
    /// From the decoded request to the answer.
    pub cycles: u64,
    /// Of which in kernel invocations, and how many.
    pub kernel: u64,
    pub invocations: f64,
    /// Of which in core's physical allocator (range allocator, untyped pool, cap space), without
    /// its kernel invocations.
    pub allocator: u64,
}

impl core::ops::Add for Work {
    type Output = Work;
    fn add(self, o: Work) -> Work {
        Work {
            cycles: self.cycles + o.cycles,
            kernel: self.kernel + o.kernel,
            invocations: self.invocations + o.invocations,
            allocator: self.allocator + o.allocator,
        }
    }
}

impl core::iter::Sum for Work {
    fn sum<I: Iterator<Item = Work>>(iter: I) -> Work {
        iter.fold(Work::default(), |a, b| a + b)
    }
}

/// Core's own work per request of a label, as core printed it for child `child` (`child <name>:
/// core's work per request: <Label> <n> x <cycles> cycles (kernel <cycles> in <n>
/// invocations; allocator <cycles>), ...`).
pub fn work(log: &str, child: &str, label: &str) -> Option<Work> {
    works(log, child).into_iter().find_map(|(l, w)| (l == label).then_some(w))
}

/// Every label core printed its work for, for child `child`, in the order printed.
fn works<'a>(log: &'a str, child: &str) -> Vec<(&'a str, Work)> {
    let prefix = format!("child {child}: core's work per request:");
    let Some(rest) = log.lines().find_map(|l| l.split_once(&prefix).map(|(_, r)| r)) else { return Vec::new() };
    rest.split(',')
        .filter_map(|entry| {
            let w: Vec<&str> = entry.split_whitespace().collect();
            match w.as_slice() {
                [l, _n, "x", cycles, "cycles", "(kernel", kernel, "in", invocations, "invocations;", "allocator", allocator] => {
                    Some((
                        *l,
                        Work {
                            cycles: cycles.parse().ok()?,
                            kernel: kernel.parse().ok()?,
                            invocations: invocations.parse().ok()?,
                            allocator: allocator.strip_suffix(')')?.parse().ok()?,
                        },
                    ))
                }
                _ => None,
            }
        })
        .collect()
}

/// One operation against its floor.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    pub what: &'static str,
    pub cycles: u64,
    /// Core's own work in it (decoding to answer, summed over its requests), if core said.
    pub core_work: Option<Work>,
    /// What the floor is made of, and its cycles.
    pub floor_is: String,
    pub floor: u64,
    /// The ratio it should stay at or below, if it has a target.
    pub target: Option<f64>,
}

impl Row {
    pub fn ratio(&self) -> f64 {
        self.cycles as f64 / self.floor.max(1) as f64
    }

    pub fn met(&self) -> Option<bool> {
        self.target.map(|t| self.ratio() <= t)
    }
}

/// What an operation's floor holds beside its IPC round trips: a kernel floor line core
/// printed in the same boot, and what it is made of.
type KernelFloor = Option<(&'static str, &'static str)>;

/// (operation, requests it makes, kernel floor, target, request labels)
type Op = (&'static str, u64, KernelFloor, Option<f64>, &'static [&'static str]);

/// The operations of `session-bench` (its `bench: session <op>` lines).
const OPS: [Op; 7] = [
    ("null", 1, None, Some(1.1), &["Usage"]),
    ("alloc+free", 2, Some(("kernel floor", "retype/revoke")), Some(1.3), &["RamAlloc", "RamFree"]),
    (
        "alloc+caps+free",
        3,
        Some(("kernel floor caps", "retype/copy/revoke")),
        Some(1.5),
        &["RamAlloc", "RamCaps", "RamFree"],
    ),
    (
        "alloc+map+free",
        3,
        Some(("kernel floor map 4K", "retype/map/revoke")),
        Some(1.5),
        &["RamAlloc", "RamMap", "RamFree"],
    ),
    ("open+close", 2, None, None, &["Open", "Close"]),
    ("cnode create+destroy", 2, None, None, &["CnodeCreate", "CnodeDestroy"]),
    (
        "tcb create+setup+start+stop+destroy",
        5,
        None,
        None,
        &["TcbCreate", "TcbSetup", "TcbStart", "TcbStop", "TcbDestroy"],
    ),
];

/// The session benchmark of `log` (`session-bench` scenario): each operation against
/// `n` IPC round trips (one per request it makes) plus the kernel invocations core measured for
/// it straight through the kernel in the same boot. Core's own work per operation is there
/// where core printed it (feature `work-clock`).
pub fn session(log: &str) -> Result<Vec<Row>> {
    let get = |what: &str| figure(log, what).ok_or_else(|| anyhow!("the boot printed no `bench: {what}` figure"));
    let ipc = get("ipc floor")?;
    let trips_text = |trips: u64| {
        if trips == 1 {
            "1 IPC round trip".to_string()
        } else {
            format!("{trips} IPC round trips")
        }
    };
    let mut rows: Vec<Row> = OPS
        .into_iter()
        .map(|(what, trips, kernel, target, labels)| {
            let cycles = get(&format!("session {what}"))?;
            let core_work = labels.iter().map(|l| work(log, "session-bench", l)).sum::<Option<Work>>();
            let (floor, floor_is) = match kernel {
                Some((line, made_of)) => (trips * ipc + get(line)?, format!("{} + {made_of}", trips_text(trips))),
                None => (trips * ipc, trips_text(trips)),
            };
            Ok(Row { what, cycles, core_work, floor_is, floor, target })
        })
        .collect::<Result<_>>()?;
    // Dataspaces of each size allocated, mapped and freed: against three IPC round trips and
    // the retypes, maps and revokes the kernel needs for their frames (measured by core in the
    // same boot, straight through the kernel).
    for sized in sized(log)? {
        rows.push(Row {
            what: sized.what,
            cycles: sized.cycles,
            core_work: None,
            floor_is: format!("3 IPC round trips + {} retypes, maps and revokes", sized.invocations),
            floor: 3 * ipc + sized.kernel,
            target: None,
        });
    }
    Ok(rows)
}

/// A dataspace size's allocate, map and free, as `size-bench` timed it, and the kernel's part.
#[derive(Debug, Clone, PartialEq)]
pub struct Sized {
    pub what: &'static str,
    /// The operation, as the client saw it.
    pub cycles: u64,
    /// The kernel's retypes, maps and revokes for its frames, straight through the kernel.
    pub kernel: u64,
    pub invocations: u64,
    pub frames: u64,
    /// Three IPC round trips.
    pub ipc: u64,
}

impl Sized {
    /// What is neither the IPC nor the kernel's: core's own work (and the client's loop).
    pub fn core_work(&self) -> u64 {
        self.cycles.saturating_sub(self.ipc + self.kernel)
    }

    pub fn per_frame(&self, cycles: u64) -> u64 {
        cycles / self.frames.max(1)
    }
}

/// Every size `size-bench` maps, from `log`; an error if a figure is missing.
pub fn sized(log: &str) -> Result<Vec<Sized>> {
    let get = |what: &str| figure(log, what).ok_or_else(|| anyhow!("the boot printed no `bench: {what}` figure"));
    let ipc = get("ipc floor")?;
    SIZES
        .iter()
        .zip(SIZE_ROWS)
        .map(|(size, what)| {
            let line = format!("kernel floor map {size}");
            let kernel = get(&line)?;
            let (invocations, frames) =
                counts(log, &line).ok_or_else(|| anyhow!("`bench: {line}` gives no invocation and frame counts"))?;
            Ok(Sized {
                what,
                cycles: get(&format!("session alloc+map+free {size}"))?,
                kernel,
                invocations,
                frames,
                ipc: 3 * ipc,
            })
        })
        .collect()
}

/// Core's own work per request kind (without the kernel's) against the kernel work it causes:
/// (label, own cycles, kernel cycles, invocations), for every kind `session-bench`'s child made
/// as core printed it.
pub fn kinds(log: &str) -> Vec<(String, u64, u64, f64)> {
    works(log, "session-bench")
        .into_iter()
        .map(|(label, w)| (label.to_string(), w.cycles.saturating_sub(w.kernel), w.kernel, w.invocations))
        .collect()
}

/// A log line of 80 bytes as the session bench timed it, through the log buffer and as inline
/// requests, with core's own printing of such a line and the IPC floor of the same boot.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogLine {
    pub buffered: u64,
    pub inline: u64,
    pub print: u64,
    pub ipc: u64,
}

impl LogLine {
    /// A way's cost less core's printing, in IPC round trips.
    pub fn round_trips(&self, cycles: u64) -> f64 {
        cycles.saturating_sub(self.print) as f64 / self.ipc.max(1) as f64
    }
}

/// The log line figures of `log`; an error if one is missing.
pub fn log_line(log: &str) -> Result<LogLine> {
    let get = |what: &str| figure(log, what).ok_or_else(|| anyhow!("the boot printed no `bench: {what}` figure"));
    Ok(LogLine {
        buffered: get("session log line 80")?,
        inline: get("session log line 80 inline")?,
        print: get("print floor")?,
        ipc: get("ipc floor")?,
    })
}

/// Cycles a request that makes no kernel invocation may cost core.
pub const NO_KERNEL_TARGET: u64 = 300;

/// The sizes the session bench maps (`bench::SIZES` of the service), and their rows' names.
const SIZES: [&str; 4] = ["4K", "1M", "3M", "64M"];
const SIZE_ROWS: [&str; 4] =
    ["alloc+map+free of 4 KiB", "alloc+map+free of 1 MiB", "alloc+map+free of 3 MiB", "alloc+map+free of 64 MiB"];

/// Core's bytes per MiB of a dataspace of each size the session bench maps (what it is
/// charged beside the frames), as the bench service printed them.
pub fn bytes_per_mib(log: &str) -> Vec<(&'static str, u64)> {
    SIZES
        .iter()
        .zip(SIZE_ROWS)
        .filter_map(|(size, row)| {
            Some((&row["alloc+map+free of ".len()..], figure(log, &format!("session bytes per MiB {size}"))?))
        })
        .collect()
}

/// Whether two boots printed the same benchmark figures (every `bench: ` line): how many, or
/// the first that differs.
pub fn determinism(a: &str, b: &str) -> Result<usize, String> {
    let lines = |log: &str| -> Vec<String> {
        log.lines().filter_map(|l| l.split_once("bench: ").map(|(_, rest)| rest.to_string())).collect()
    };
    let (a, b) = (lines(a), lines(b));
    if let Some((x, y)) = a.iter().zip(&b).find(|(x, y)| x != y) {
        return Err(format!("`{x}` against `{y}`"));
    }
    if a.len() != b.len() {
        return Err(format!("{} figures against {}", a.len(), b.len()));
    }
    Ok(a.len())
}

/// The invocation and frame counts of a line `bench: <what> <cycles> cycles ... (<n>
/// invocations, <n> frames)`.
fn counts(log: &str, what: &str) -> Option<(u64, u64)> {
    let prefix = format!("bench: {what} ");
    log.lines().find_map(|l| {
        let rest = l.split_once(&prefix)?.1;
        let (invocations, frames) = rest.rsplit_once('(')?.1.strip_suffix(" frames)")?.split_once(" invocations, ")?;
        Some((invocations.parse().ok()?, frames.parse().ok()?))
    })
}

/// The table `run` prints.
pub fn render(ipc: u64, kernel: u64, rows: &[Row]) -> String {
    let mut s = format!(
        "bench: session round trips against their floors (TSC cycles: instructions under icount, host time under plain TCG)\n\
         bench:   floors: IPC round trip {ipc}, retype + revoke of a 4 KiB frame {kernel}\n"
    );
    for r in rows {
        let verdict = match (r.target, r.met()) {
            (Some(t), Some(true)) => format!("target <= {t}: met"),
            (Some(t), _) => format!("target <= {t}: MISSED"),
            (None, _) => "no target".to_string(),
        };
        s += &format!(
            "bench:   {:<16} {:>9} cycles, floor {:>9} ({}), ratio {:.2}, {verdict}\n",
            r.what,
            r.cycles,
            r.floor,
            r.floor_is,
            r.ratio()
        );
        if let Some(w) = r.core_work {
            let share = |c: u64| c as f64 * 100.0 / r.cycles.max(1) as f64;
            let logic = w.cycles.saturating_sub(w.kernel + w.allocator);
            let rest = r.cycles.saturating_sub(w.cycles);
            s += &format!(
                "bench:   {:<16} made of: IPC and kernel entry {rest} ({:.0}%), core's kernel invocations {} ({:.0}%, {:.2} of them), core's allocator {} ({:.0}%), core's session logic {logic} ({:.0}%)\n",
                "",
                share(rest),
                w.kernel,
                share(w.kernel),
                w.invocations,
                w.allocator,
                share(w.allocator),
                share(logic)
            );
        }
    }
    s
}

/// What measuring costs: each operation in a boot where core timed its work (`timed`) less the
/// same operation in a boot where it did not (`plain`).
pub fn measuring_cost(plain: &[Row], timed: &[Row]) -> String {
    let parts: Vec<String> = plain
        .iter()
        .zip(timed)
        .filter(|(p, t)| p.what == t.what && t.core_work.is_some())
        .map(|(p, t)| {
            let extra = t.cycles as i64 - p.cycles as i64;
            format!("{} {extra:+} ({:+.1}%)", p.what, extra as f64 * 100.0 / p.cycles.max(1) as f64)
        })
        .collect();
    format!(
        "bench:   the cost of measuring (core timing its work, feature `work-clock`; the figures above include it, the table's do not): {}\n",
        parts.join(", ")
    )
}

/// Prints the benchmark `kind` of `log`; an error if a figure is missing.
pub fn report(kind: &str, log: &str) -> Result<()> {
    match kind {
        "session" => {
            let rows = session(log)?;
            let (ipc, kernel) = (figure(log, "ipc floor").unwrap_or(0), figure(log, "kernel floor").unwrap_or(0));
            print!("{}", render(ipc, kernel, &rows));
            Ok(())
        }
        other => Err(anyhow!("unknown benchmark `{other}` (known: session)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOG: &str = "core: x\nbench: ipc floor 1000 cycles per round trip\nbench: kernel floor 500 cycles per retype + revoke\n\
        bench: kernel floor caps 700 cycles per retype + copy + revoke\n\
        [session-bench] bench: session null 1050 cycles per op\n[session-bench] bench: session alloc+free 3000 cycles per op\n\
        [session-bench] bench: session alloc+caps+free 4000 cycles per op\n[session-bench] bench: session alloc+map+free 4200 cycles per op\n\
        [session-bench] bench: session open+close 2500 cycles per op\n[session-bench] bench: session cnode create+destroy 5000 cycles per op\n\
        [session-bench] bench: session tcb create+setup+start+stop+destroy 9000 cycles per op\n\
        child session-bench: core's work per request: Open 1 x 900 cycles (kernel 0 in 0.00 invocations; allocator 0), Usage 4000 x 100 cycles (kernel 0 in 0.00 invocations; allocator 0), \
        RamAlloc 12000 x 700 cycles (kernel 250 in 1.50 invocations; allocator 200), RamFree 12000 x 300 cycles (kernel 150 in 1.00 invocations; allocator 0), \
        RamCaps 4000 x 200 cycles (kernel 100 in 1.00 invocations; allocator 0), RamMap 4000 x 400 cycles (kernel 200 in 2.00 invocations; allocator 0)\n\
        bench: kernel floor map 4K 900 cycles per retype + map + revoke (3 invocations, 1 frames)\n\
        bench: kernel floor map 1M 90000 cycles per retype + map + revoke (258 invocations, 256 frames)\n\
        bench: kernel floor map 3M 100000 cycles per retype + map + revoke (261 invocations, 257 frames)\n\
        bench: kernel floor map 64M 200000 cycles per retype + map + revoke (34 invocations, 32 frames)\n\
        [session-bench] bench: session alloc+map+free 4K 4500 cycles per op\n\
        [session-bench] bench: session alloc+map+free 1M 186000 cycles per op\n\
        [session-bench] bench: session alloc+map+free 3M 206000 cycles per op\n\
        [session-bench] bench: session alloc+map+free 64M 406000 cycles per op\n";

    #[test]
    fn ratios_and_verdicts() {
        let rows = session(LOG).unwrap();
        assert_eq!(rows[0].floor, 1000);
        assert_eq!(rows[0].met(), Some(true));
        assert_eq!(rows[1].floor, 2500);
        assert!((rows[1].ratio() - 1.2).abs() < 1e-9);
        assert_eq!(rows[2].floor, 3700);
        assert_eq!(rows[2].floor_is, "3 IPC round trips + retype/copy/revoke");
        assert_eq!((rows[3].floor, rows[3].target), (3900, Some(1.5)));
        assert_eq!((rows[6].what, rows[6].floor, rows[6].cycles), ("tcb create+setup+start+stop+destroy", 5000, 9000));
        let text = render(1000, 500, &rows);
        assert!(text.contains("alloc+free"), "{text}");
        assert!(text.contains("ratio 1.20, target <= 1.3: met"), "{text}");
        assert_eq!(work(LOG, "session-bench", "RamFree").map(|w| w.cycles), Some(300));
        assert_eq!(work(LOG, "session-bench", "Close"), None);
        assert_eq!(rows[0].core_work, Some(Work { cycles: 100, kernel: 0, invocations: 0.0, allocator: 0 }));
        assert_eq!(rows[1].core_work, Some(Work { cycles: 1000, kernel: 400, invocations: 2.5, allocator: 200 }));
        assert_eq!(rows[3].core_work.map(|w| (w.cycles, w.kernel)), Some((1400, 600)));
        assert!(
            text.contains("made of: IPC and kernel entry 2000 (67%), core's kernel invocations 400 (13%, 2.50 of them), core's allocator 200 (7%), core's session logic 400 (13%)"),
            "{text}"
        );
        assert_eq!(rows.len(), 11);
        assert_eq!((rows[7].what, rows[7].floor, rows[7].cycles), ("alloc+map+free of 4 KiB", 3900, 4500));
        let log = format!("{LOG}[session-bench] bench: session bytes per MiB 64M 8 bytes of core's per MiB mapped\n");
        assert_eq!(bytes_per_mib(&log), [("64 MiB", 8)]);
        assert_eq!(rows[8].floor_is, "3 IPC round trips + 258 retypes, maps and revokes");
        assert!((rows[10].ratio() - 2.0).abs() < 1e-9);
        let slow = LOG.replace("null 1050", "null 1200");
        assert_eq!(session(&slow).unwrap()[0].met(), Some(false));
        assert!(render(1000, 500, &session(&slow).unwrap()).contains("target <= 1.1: MISSED"));
    }

    #[test]
    fn per_kind_and_per_frame() {
        let k = kinds(LOG);
        assert_eq!(k.len(), 6);
        assert_eq!(k[0], ("Open".to_string(), 900, 0, 0.0));
        assert_eq!(k[2], ("RamAlloc".to_string(), 450, 250, 1.5));
        assert!(kinds(&LOG.replace("child session-bench:", "child other:")).is_empty());
        let s = sized(LOG).unwrap();
        // 1 MiB: 186000 - 3 x 1000 - 90000 = 93000 of core's over 256 frames.
        assert_eq!((s[1].frames, s[1].core_work()), (256, 93000));
        assert_eq!((s[1].per_frame(s[1].core_work()), s[1].per_frame(s[1].kernel)), (363, 351));
        assert!(sized(&LOG.replace(", 32 frames", "")).is_err());
    }

    #[test]
    fn log_lines_in_round_trips() {
        let log = format!(
            "{LOG}bench: print floor 5000 cycles per line of 80 bytes\n\
             [session-bench] bench: session log line 80 6500 cycles per op\n\
             [session-bench] bench: session log line 80 inline 9000 cycles per op\n"
        );
        let l = log_line(&log).unwrap();
        assert_eq!((l.buffered, l.inline, l.print, l.ipc), (6500, 9000, 5000, 1000));
        assert!((l.round_trips(l.buffered) - 1.5).abs() < 1e-9);
        assert!((l.round_trips(l.inline) - 4.0).abs() < 1e-9);
        assert!(log_line(LOG).is_err());
    }

    #[test]
    fn what_measuring_costs() {
        let plain = session(LOG).unwrap();
        let timed = session(&LOG.replace("null 1050", "null 1100")).unwrap();
        let text = measuring_cost(&plain, &timed);
        assert!(text.contains("null +50 (+4.8%)"), "{text}");
        assert!(text.contains("alloc+free +0 (+0.0%)"), "{text}");
        // Only operations core timed.
        assert!(!text.contains("of 64 MiB"), "{text}");
    }

    #[test]
    fn two_boots_agree_or_say_where_not() {
        assert_eq!(determinism(LOG, LOG), Ok(LOG.lines().filter(|l| l.contains("bench: ")).count()));
        let other = LOG.replace("null 1050", "null 1051");
        assert_eq!(
            determinism(LOG, &other),
            Err("`session null 1050 cycles per op` against `session null 1051 cycles per op`".into())
        );
    }

    #[test]
    fn a_missing_figure_is_an_error() {
        let e = session(&LOG.replace("kernel floor", "kernel flor")).unwrap_err().to_string();
        assert_eq!(e, "the boot printed no `bench: kernel floor` figure");
        let e = session(&LOG.replace("map 64M", "map 64G")).unwrap_err().to_string();
        assert_eq!(e, "the boot printed no `bench: kernel floor map 64M` figure");
        assert!(report("speed", LOG).is_err());
    }
}
