//! What the serial log must and must not show: expected texts in order
//! (each after the end of the previous match) and rejected texts anywhere.

/// Where each pattern's match ends in `log`, searching each one after the
/// end of the previous match; stops at the first pattern not found, so the
/// result is shorter than `patterns` exactly when one is missing.
pub fn match_in_order(log: &str, patterns: &[String]) -> Vec<usize> {
    let mut ends = Vec::new();
    let mut from = 0;
    for pattern in patterns {
        match log[from..].find(pattern.as_str()) {
            Some(pos) => {
                from += pos + pattern.len();
                ends.push(from);
            }
            None => break,
        }
    }
    ends
}

/// A rejected text the log shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rejected {
    pub text: String,
    /// The first log line holding it (1-based) and that line.
    pub line: usize,
    pub shown: String,
}

/// Each of `texts` that appears in `log`, with the first line holding it.
pub fn rejected(log: &str, texts: &[String]) -> Vec<Rejected> {
    texts
        .iter()
        .filter_map(|text| {
            log.lines().enumerate().find(|(_, l)| l.contains(text.as_str())).map(|(i, l)| Rejected {
                text: text.clone(),
                line: i + 1,
                shown: l.to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn matches_in_order() {
        assert_eq!(match_in_order("xx alpha beta\n", &pats(&["alpha", "beta"])), [8, 13]);
    }

    #[test]
    fn order_matters() {
        assert_eq!(match_in_order("first second", &pats(&["second", "first"])), [12]);
    }

    #[test]
    fn one_occurrence_serves_one_pattern() {
        assert_eq!(match_in_order("ok", &pats(&["ok", "ok"])).len(), 1);
        assert_eq!(match_in_order("ok ok", &pats(&["ok", "ok"])).len(), 2);
    }

    #[test]
    fn rejected_texts_name_their_first_line() {
        let log = "core: start\nerror: one\npanicked here\nerror: two\n";
        let r = rejected(log, &pats(&["panicked", "error:", "absent"]));
        assert_eq!(
            r,
            [
                Rejected { text: "panicked".into(), line: 3, shown: "panicked here".into() },
                Rejected { text: "error:".into(), line: 2, shown: "error: one".into() },
            ]
        );
        assert!(rejected(log, &[]).is_empty());
    }
}
