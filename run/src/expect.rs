//! Ordered matching of expected texts against serial output that arrives in
//! chunks: each text must appear after the end of the previous match.

use std::time::Duration;

pub struct Matcher {
    patterns: Vec<String>,
    next: usize,
    /// Serial output so far (carriage returns dropped).
    log: String,
    /// Where the search for the next pattern starts in `log`.
    from: usize,
    /// When each matched pattern appeared, relative to the start.
    pub matched_at: Vec<Duration>,
}

impl Matcher {
    pub fn new(patterns: &[String]) -> Self {
        Matcher { patterns: patterns.to_vec(), next: 0, log: String::new(), from: 0, matched_at: Vec::new() }
    }

    /// Adds output seen at time `at` and advances over every pattern it
    /// completes.
    pub fn feed(&mut self, text: &str, at: Duration) {
        self.log.extend(text.chars().filter(|&c| c != '\r'));
        while let Some(pattern) = self.patterns.get(self.next) {
            match self.log[self.from..].find(pattern.as_str()) {
                Some(pos) => {
                    self.from += pos + pattern.len();
                    self.next += 1;
                    self.matched_at.push(at);
                }
                None => break,
            }
        }
    }

    pub fn all_matched(&self) -> bool {
        self.next == self.patterns.len()
    }

    /// The first pattern not seen yet.
    pub fn pending(&self) -> Option<&str> {
        self.patterns.get(self.next).map(String::as_str)
    }

    pub fn log(&self) -> &str {
        &self.log
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn pats(p: &[&str]) -> Vec<String> {
        p.iter().map(|s| s.to_string()).collect()
    }

    #[test]
    fn matches_in_order_across_chunks() {
        let mut m = Matcher::new(&pats(&["alpha", "beta"]));
        m.feed("xx al", Duration::from_millis(1));
        assert_eq!(m.pending(), Some("alpha"));
        m.feed("pha be", Duration::from_millis(2));
        assert_eq!(m.pending(), Some("beta"));
        m.feed("ta\r\n", Duration::from_millis(3));
        assert!(m.all_matched());
        assert_eq!(m.matched_at, vec![Duration::from_millis(2), Duration::from_millis(3)]);
        assert_eq!(m.log(), "xx alpha beta\n");
    }

    #[test]
    fn order_matters() {
        let mut m = Matcher::new(&pats(&["second", "first"]));
        m.feed("first second", Duration::ZERO);
        assert_eq!(m.pending(), Some("first"));
        assert!(!m.all_matched());
    }

    #[test]
    fn one_occurrence_serves_one_pattern() {
        let mut m = Matcher::new(&pats(&["ok", "ok"]));
        m.feed("ok", Duration::ZERO);
        assert!(!m.all_matched());
        m.feed(" ok", Duration::ZERO);
        assert!(m.all_matched());
    }
}
