//! Whether a boot did what its scenario says, as data: which expected texts
//! appeared and when, which rejected texts appeared and where, how QEMU
//! ended against the exit the scenario wants, and the timing. [`render`] turns a verdict into the PASS/FAIL report.

use std::time::Duration;

use crate::machine::qemu::{Ending, Outcome};
use crate::scenario::Scenario;

pub mod expect;
pub mod render;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// Each expected text in scenario order, with when it appeared; `None`
    /// from the first one missing on (the later ones were not looked for).
    pub expects: Vec<(String, Option<Duration>)>,
    /// Rejected texts the output showed.
    pub rejected: Vec<expect::Rejected>,
    pub exit: Exit,
    /// From QEMU's start to its end.
    pub elapsed: Duration,
    /// When the first serial output arrived.
    pub first_output: Option<Duration>,
}

/// The exit the scenario wants and how QEMU ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Exit {
    /// The byte core must write to port 0xf4.
    pub value: u8,
    /// QEMU's exit status for that byte.
    pub status: i32,
    pub ending: Ending,
}

impl Exit {
    pub fn held(&self) -> bool {
        self.ending == Ending::Exited(self.status)
    }
}

impl Verdict {
    /// Judges a finished boot of scenario `s`.
    pub fn judge(s: &Scenario, out: &Outcome) -> Verdict {
        let ends = expect::match_in_order(&out.log, &s.expect);
        let expects = s
            .expect
            .iter()
            .enumerate()
            .map(|(i, text)| (text.clone(), ends.get(i).and_then(|&end| out.arrived_by(end))))
            .collect();
        Verdict {
            expects,
            rejected: expect::rejected(&out.log, &s.reject),
            exit: Exit { value: s.exit_value, status: s.expected_status(), ending: out.ending.clone() },
            elapsed: out.elapsed,
            first_output: out.first_output(),
        }
    }

    /// The first expected text the output never showed.
    pub fn missing(&self) -> Option<&str> {
        self.expects.iter().find(|(_, at)| at.is_none()).map(|(text, _)| text.as_str())
    }

    /// When the first expected text appeared.
    pub fn first_expected(&self) -> Option<Duration> {
        self.expects.first().and_then(|(_, at)| *at)
    }

    pub fn passed(&self) -> bool {
        self.missing().is_none() && self.rejected.is_empty() && self.exit.held()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn scenario(extra: &str) -> Scenario {
        let text =
            format!("ram 512M\nconfig debug\ntimeout 60\nimage core\nexpect alpha\nexpect beta\nexit success\n{extra}");
        Scenario::parse("t.scenario", &text).unwrap()
    }

    pub(crate) fn outcome(log: &str, ending: Ending) -> Outcome {
        Outcome {
            ending,
            log: log.to_string(),
            arrivals: vec![(log.len() / 2, Duration::from_millis(10)), (log.len(), Duration::from_millis(20))],
            stderr: String::new(),
            elapsed: Duration::from_millis(30),
        }
    }

    #[test]
    fn expected_lines_and_clean_exit_pass() {
        let v = Verdict::judge(&scenario(""), &outcome("alpha\nbeta\n", Ending::Exited(33)));
        assert!(v.passed());
        assert_eq!(v.expects[0], ("alpha".to_string(), Some(Duration::from_millis(10))));
        assert_eq!(v.expects[1], ("beta".to_string(), Some(Duration::from_millis(20))));
        assert_eq!(v.first_output, Some(Duration::from_millis(10)));
    }

    #[test]
    fn a_missing_line_or_a_wrong_exit_fails() {
        let v = Verdict::judge(&scenario(""), &outcome("beta alpha\n", Ending::Exited(33)));
        assert_eq!(v.missing(), Some("beta"));
        assert!(!v.passed());
        let v = Verdict::judge(&scenario(""), &outcome("alpha beta\n", Ending::Exited(3)));
        assert!(v.missing().is_none() && !v.exit.held() && !v.passed());
        let v = Verdict::judge(&scenario(""), &outcome("alpha beta\n", Ending::TimedOut(Duration::from_secs(60))));
        assert!(!v.passed());
    }

    #[test]
    fn a_rejected_text_fails_an_otherwise_good_boot() {
        let s = scenario("reject panicked\nreject error:\n");
        let good = Verdict::judge(&s, &outcome("alpha\nbeta\n", Ending::Exited(33)));
        assert!(good.passed() && good.rejected.is_empty());
        let v = Verdict::judge(&s, &outcome("alpha\nsomething panicked at x\nbeta\n", Ending::Exited(33)));
        assert!(v.missing().is_none() && v.exit.held());
        assert!(!v.passed());
        assert_eq!(v.rejected.len(), 1);
        assert_eq!((v.rejected[0].line, v.rejected[0].shown.as_str()), (2, "something panicked at x"));
    }
}
