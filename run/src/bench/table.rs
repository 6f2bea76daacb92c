//! The benchmark table (`run bench`): every figure of core's speed beside its floor, its ratio,
//! its target and verdict, and the command that measures it. The figures come from the logs of
//! the boots and from the range allocator benchmark's summary; each parser here names the line
//! it reads.

use std::fmt::Write;

/// One row of the table.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub what: String,
    pub value: String,
    /// What the figure is compared with, and its value.
    pub floor: String,
    pub ratio: Option<f64>,
    /// The target, and whether the figure meets it.
    pub target: Option<(String, bool)>,
    pub command: String,
}

/// The table as Markdown.
pub fn render(figures: &[Figure]) -> String {
    let mut s = String::from("| figure | value | floor | ratio | target | command |\n|---|---|---|---|---|---|\n");
    for f in figures {
        let ratio = f.ratio.map_or("–".to_string(), ratio);
        let target = match &f.target {
            Some((t, true)) => format!("{t}: met"),
            Some((t, false)) => format!("{t}: **missed**"),
            None => "–".to_string(),
        };
        let _ = writeln!(s, "| {} | {} | {} | {ratio} | {target} | `{}` |", f.what, f.value, f.floor, f.command);
    }
    s
}

/// A ratio: two decimals, or a whole number with separators from 100 on.
pub fn ratio(r: f64) -> String {
    if r >= 100.0 {
        grouped(r.round() as u64)
    } else {
        format!("{r:.2}")
    }
}

/// Digits with thousands separators.
pub fn grouped(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Core's setup time from `setup: <cycles> cycles (...); <n> x seL4_Yield (<cycles> cycles)`:
/// (cycles, one `seL4_Yield`'s cycles).
pub fn setup(log: &str) -> Option<(u64, u64)> {
    let line = log.lines().find_map(|l| l.split_once("setup: ").map(|(_, r)| r))?;
    let cycles = line.split_whitespace().next()?.parse().ok()?;
    let (_, tail) = line.split_once("x seL4_Yield (")?;
    let floor = tail.split_whitespace().next()?.parse().ok()?;
    Some((cycles, floor))
}

/// Each child's load time from `child <name>: started ... <bytes> bytes of ELF (<n> cycles per
/// KiB)`: (name, bytes, cycles per KiB), in start order.
pub fn loads(log: &str) -> Vec<(String, u64, u64)> {
    log.lines()
        .filter_map(|l| {
            let (_, rest) = l.split_once("child ")?;
            let (name, rest) = rest.split_once(": started ")?;
            let (before, after) = rest.split_once(" bytes of ELF (")?;
            let bytes = before.rsplit(' ').next()?.parse().ok()?;
            let per_kib = after.split_whitespace().next()?.parse().ok()?;
            Some((name.to_string(), bytes, per_kib))
        })
        .collect()
}

/// The scale test's `scale: metadata per live object: <n> bytes (<parts>); target <= <t>: ...`:
/// (bytes, what they are made of, target).
pub fn metadata(log: &str) -> Option<(u64, String, u64)> {
    let line = log.lines().find_map(|l| l.split_once("scale: metadata per live object: ").map(|(_, r)| r))?;
    let (bytes, rest) = line.split_once(" bytes (")?;
    let (parts, rest) = rest.split_once("); target <= ")?;
    let target = rest.split(':').next()?.trim().parse().ok()?;
    Some((bytes.parse().ok()?, parts.to_string(), target))
}

/// The range allocator benchmark's summary of the plain churn: the sizes (live ranges) and,
/// per allocator, ns/op at each.
#[derive(Debug, Clone, PartialEq)]
pub struct Churn {
    pub sizes: Vec<u64>,
    pub rows: Vec<(String, Vec<f64>)>,
}

impl Churn {
    pub fn ns(&self, allocator: &str, size: u64) -> Option<f64> {
        let i = self.sizes.iter().position(|&s| s == size)?;
        self.rows.iter().find(|(name, _)| name == allocator).map(|(_, v)| v[i])
    }
}

/// Reads `summary, plain churn: ...`, its header `allocator <size>... <large>/<small>` and one
/// line per allocator (name in 24 columns, then ns/op per size and the growth).
pub fn churn(out: &str) -> Option<Churn> {
    let mut lines = out.lines().skip_while(|l| !l.starts_with("summary, plain churn"));
    lines.next()?;
    let header = lines.next()?;
    let sizes: Vec<u64> = header.split_whitespace().skip(1).filter_map(|w| w.parse().ok()).collect();
    let mut rows = Vec::new();
    for l in lines.take_while(|l| !l.starts_with("target") && !l.trim().is_empty()) {
        let (name, values) = l.split_at(l.len().min(24));
        let values: Vec<f64> = values.split_whitespace().take(sizes.len()).filter_map(|v| v.parse().ok()).collect();
        if values.len() == sizes.len() {
            rows.push((name.trim().to_string(), values));
        }
    }
    (!sizes.is_empty() && !rows.is_empty()).then_some(Churn { sizes, rows })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_what_the_boots_print() {
        let log = "core: setup: 192600000 cycles (64200 us at 3000 MHz) from core's first step to ready; 52893 x seL4_Yield (3641 cycles)\n\
                   core: child hello: started (priority 100) in 2120000 cycles, 24448 bytes of ELF (88626 cycles per KiB); charged 1\n\
                   scale: metadata per live object: 150 bytes (1 pool nodes of 40 B, 2 cap slots of 12 B); target <= 64: MISSED\n";
        assert_eq!(setup(log), Some((192_600_000, 3641)));
        assert_eq!(loads(log), vec![("hello".to_string(), 24448, 88626)]);
        assert_eq!(metadata(log), Some((150, "1 pool nodes of 40 B, 2 cap slots of 12 B".to_string(), 64)));
        assert_eq!(setup("setup: none"), None);
        assert_eq!(metadata("scale: metadata per live object: many bytes"), None);
    }

    #[test]
    fn reads_the_range_allocator_summary() {
        let out = "noise\nsummary, plain churn: ns/op by live ranges (lower is better)\n\
                   allocator                      1000    1000000 1000000/1000\n\
                   avl (ours)                    198.8      925.1         4.65\n\
                   range-alloc                   137.9      454.5         3.30\n\
                   target: growth\n";
        let c = churn(out).unwrap();
        assert_eq!(c.sizes, vec![1000, 1_000_000]);
        assert_eq!(c.ns("avl (ours)", 1_000_000), Some(925.1));
        assert_eq!(c.ns("range-alloc", 1000), Some(137.9));
        assert_eq!(c.ns("range-alloc", 10), None);
        assert_eq!(churn("no summary"), None);
    }

    fn t_figure() -> Figure {
        Figure {
            what: "x".into(),
            value: grouped(1234567),
            floor: "y".into(),
            ratio: Some(1.5),
            target: Some(("<= 1.3".into(), false)),
            command: "c".into(),
        }
    }

    #[test]
    fn renders_verdicts() {
        let f = t_figure();
        let t = render(&[f]);
        assert!(t.contains("| x | 1,234,567 | y | 1.50 | <= 1.3: **missed** | `c` |"), "{t}");
        let big = Figure { ratio: Some(34712.4), target: None, ..t_figure() };
        assert!(render(&[big]).contains("| 34,712 | – |"));
        assert_eq!(grouped(999), "999");
        assert_eq!(grouped(1000), "1,000");
    }
}
