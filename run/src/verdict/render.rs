//! The report of a verdict: one PASS line with the timing, or the serial
//! log (unless it was shown live), QEMU's messages, a FAIL line and one
//! line per problem.

use std::fmt::Write as _;

use crate::machine::qemu::{self, Ending, Outcome};
use crate::verdict::Verdict;

/// What went wrong, one sentence each; empty when the verdict passed.
pub fn problems(v: &Verdict) -> Vec<String> {
    let mut problems = Vec::new();
    if let Some(p) = v.missing() {
        problems.push(format!("serial output never showed `{p}` (after the earlier expected lines)"));
    }
    for r in &v.rejected {
        problems.push(format!("serial line {} shows rejected `{}`: {}", r.line, r.text, r.shown.trim()));
    }
    match &v.exit.ending {
        Ending::Exited(code) if *code == v.exit.status => {}
        Ending::Exited(code) => problems.push(format!(
            "expected exit status {} (value {:#04x} at port 0xf4), got {}",
            v.exit.status,
            v.exit.value,
            qemu::describe_status(*code)
        )),
        Ending::Signalled(how) => problems.push(format!("QEMU ended by {how}")),
        Ending::TimedOut(t) => problems.push(format!("timed out after {} s; QEMU killed", t.as_secs())),
    }
    problems
}

fn timing(v: &Verdict) -> String {
    let total = v.elapsed.as_secs_f64();
    match (v.first_output, v.first_expected()) {
        (Some(first), Some(m)) => format!(
            "{total:.2} s, first serial output after {:.2} s, first expected line after {:.2} s",
            first.as_secs_f64(),
            m.as_secs_f64()
        ),
        (Some(first), None) => format!("{total:.2} s, first serial output after {:.2} s", first.as_secs_f64()),
        _ => format!("{total:.2} s, no serial output"),
    }
}

/// The report of boot `label` of scenario `name`; the serial log is left
/// out when it was shown `live`.
pub fn report(v: &Verdict, name: &str, label: &str, out: &Outcome, live: bool) -> String {
    let problems = problems(v);
    let mut text = String::new();
    if problems.is_empty() {
        let _ = writeln!(text, "PASS {label}: {}", timing(v));
        return text;
    }
    if !live {
        let _ = writeln!(text, "---- serial log of {name} ----");
        let _ = writeln!(text, "{}", out.log.trim_end());
        let _ = writeln!(text, "---- end of serial log ----");
    }
    if !out.stderr.trim().is_empty() {
        let _ = writeln!(text, "QEMU said: {}", out.stderr.trim_end());
    }
    let _ = writeln!(text, "FAIL {label}: {}", timing(v));
    for p in problems {
        let _ = writeln!(text, "  {p}");
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verdict::tests::{outcome, scenario};

    #[test]
    fn a_pass_is_one_line() {
        let out = outcome("alpha beta\n", Ending::Exited(33));
        let v = Verdict::judge(&scenario(""), &out);
        let r = report(&v, "t", "t (debug, 512 MiB)", &out, false);
        assert_eq!(r.lines().count(), 1, "{r}");
        assert!(r.starts_with("PASS t (debug, 512 MiB): 0.03 s, first serial output after 0.01 s"), "{r}");
    }

    #[test]
    fn a_failure_shows_the_log_and_each_problem() {
        let out = outcome("alpha\n", Ending::Exited(3));
        let v = Verdict::judge(&scenario(""), &out);
        let r = report(&v, "t", "t (debug, 512 MiB)", &out, false);
        assert!(r.contains("---- serial log of t ----\nalpha\n---- end of serial log ----\n"), "{r}");
        assert!(r.contains("FAIL t (debug, 512 MiB): "), "{r}");
        assert!(r.contains("  serial output never showed `beta`"), "{r}");
        assert!(r.contains("  expected exit status 33 (value 0x10 at port 0xf4), got QEMU exit status 3"), "{r}");
        let live = report(&v, "t", "t", &out, true);
        assert!(!live.contains("serial log"), "{live}");
    }

    #[test]
    fn a_rejected_text_is_reported_with_its_line() {
        let out = outcome("alpha\nerror: lost\nbeta\n", Ending::Exited(33));
        let v = Verdict::judge(&scenario("reject error:\n"), &out);
        let r = report(&v, "t", "t (debug, 512 MiB)", &out, true);
        assert!(r.contains("FAIL t (debug, 512 MiB): "), "{r}");
        assert!(r.contains("  serial line 2 shows rejected `error:`: error: lost\n"), "{r}");
    }
}
