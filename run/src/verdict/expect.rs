//! What the serial log must show: expected texts in order, each after the
//! end of the previous match.

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
}
