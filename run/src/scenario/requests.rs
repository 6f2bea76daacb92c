//! Request scripts in scenarios (`requests NAME`, `mismatches N`): the script (a file
//! `run/requests/NAME.requests`, or a path) is checked on the host, embedded in the
//! `requester` service's image (env `REQUESTS` of its build), and what it says decides what the
//! boot must show, added to the scenario's own expectations: the requester's last line
//! `requests: <n> done, <m> mismatches` (`m` is the scenario's `mismatches`, default 0; with 0,
//! any `MISMATCH` fails the boot), then core's summary in start order: the requester exited
//! with the script's code or faulted with the kind it asks for, a `bystander` exited with 0,
//! each with `leaked 0 bytes`, and `core: done`.

use std::path::{Path, PathBuf};

use anyhow::{anyhow, bail, Context, Result};
use requester::{check, End};

use crate::scenario::Scenario;
use crate::workspace;

/// The service that executes a script, and the variable its build embeds it from.
pub const REQUESTER: &str = "requester";
pub const VARIABLE: &str = "REQUESTS";
/// The well-behaved service beside it.
pub const BYSTANDER: &str = "bystander";

/// A scenario's request script.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Requests {
    /// As the scenario or `--requests` names it.
    pub script: String,
    /// Mismatches the requester must report (a test of the test expects some).
    pub mismatches: u32,
}

/// The folder of shipped scripts.
pub fn dir() -> PathBuf {
    workspace::root().join("run").join("requests")
}

/// The script file `name` names: a path, or a file in [`dir`] without `.requests`.
pub fn find(name: &str) -> Result<PathBuf> {
    let as_path = Path::new(name);
    if as_path.is_file() {
        return Ok(as_path.canonicalize()?);
    }
    let file = dir().join(format!("{}.requests", name.trim_end_matches(".requests")));
    if file.is_file() {
        return Ok(file);
    }
    let mut names: Vec<String> = std::fs::read_dir(dir())
        .map(|d| d.flatten().filter_map(|e| e.path().file_stem().map(|s| s.to_string_lossy().into_owned())).collect())
        .unwrap_or_default();
    names.sort();
    bail!("no request script `{name}` (a path, or one of {} in {})", names.join(", "), dir().display())
}

/// The variables the build of service `name` of `s` gets: the script, for the requester.
pub fn build_env(s: &Scenario, name: &str) -> Result<Vec<(&'static str, std::ffi::OsString)>> {
    match (&s.requests, name) {
        (Some(r), REQUESTER) => Ok(vec![(VARIABLE, find(&r.script)?.into_os_string())]),
        _ => Ok(Vec::new()),
    }
}

/// `s` with what its script says added (unchanged without a script).
pub fn expanded(s: &Scenario) -> Result<Scenario> {
    let Some(r) = &s.requests else { return Ok(s.clone()) };
    let path = find(&r.script)?;
    let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let summary = check(&text).map_err(|e| anyhow!("{}: {e}", path.display()))?;
    let position = |name: &str| s.services.iter().position(|x| x.name == name);
    let Some(requester) = position(REQUESTER) else {
        bail!("scenario `{}` has a request script but no `service {REQUESTER}`", s.name)
    };
    let mut out = s.clone();
    out.expect.push(format!("requests: {} done, {} mismatches", summary.requests, r.mismatches));
    if r.mismatches == 0 {
        out.reject.push("MISMATCH".into());
    }
    let mut ends: Vec<(usize, Vec<String>)> = vec![(
        requester,
        match summary.end {
            End::Exit(code) => {
                vec![format!("summary: child {requester} {REQUESTER}: exited with code {code}, leaked 0 bytes")]
            }
            End::Fault(kind) => vec![
                format!("summary: child {requester} {REQUESTER}: faulted: {}", kind.report()),
                ", leaked 0 bytes".into(),
            ],
        },
    )];
    if let Some(b) = position(BYSTANDER) {
        ends.push((b, vec![format!("summary: child {b} {BYSTANDER}: exited with code 0, leaked 0 bytes")]));
    }
    ends.sort();
    out.expect.extend(ends.into_iter().flat_map(|(_, e)| e));
    out.expect.push("core: done".into());
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scenario(extra: &str) -> Scenario {
        let text = format!(
            "ram 512M\nconfig debug\ntimeout 60\nimage core\nservice bystander\nservice requester\nexit success\n{extra}"
        );
        Scenario::parse("t.scenario", &text).unwrap()
    }

    fn script(text: &str) -> String {
        let dir = workspace::target_dir().join("requests-tests");
        std::fs::create_dir_all(&dir).unwrap();
        let n = text.len() + text.bytes().map(|b| b as usize).sum::<usize>();
        let path = dir.join(format!("s{n}.requests"));
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    }

    #[test]
    fn a_script_decides_how_the_requester_ends() {
        let s = scenario(&format!("requests {}", script("open ram ram=1M caps=8 as s\nclose s => ok\n")));
        let e = expanded(&s).unwrap();
        assert_eq!(
            &e.expect[e.expect.len() - 4..],
            &[
                "requests: 2 done, 0 mismatches".to_string(),
                "summary: child 0 bystander: exited with code 0, leaked 0 bytes".into(),
                "summary: child 1 requester: exited with code 0, leaked 0 bytes".into(),
                "core: done".into(),
            ]
        );
        assert!(e.reject.contains(&"MISMATCH".to_string()));
        let s = scenario(&format!("requests {}\nmismatches 1", script("open ram ram=1M caps=8 as s\nfault cap\n")));
        let e = expanded(&s).unwrap();
        assert!(e.expect.contains(&"requests: 1 done, 1 mismatches".to_string()));
        assert!(e.expect.contains(&"summary: child 1 requester: faulted: cap fault".to_string()));
        assert!(!e.reject.contains(&"MISMATCH".to_string()));
    }

    #[test]
    fn a_bad_script_or_a_missing_requester_is_an_error() {
        let s = scenario(&format!("requests {}", script("free s d\n")));
        let e = expanded(&s).unwrap_err().to_string();
        assert!(e.ends_with("line 1: `s` names nothing an earlier line made"), "{e}");
        assert!(find("no-such-script").unwrap_err().to_string().contains("misbehave"));
        let mut s = scenario(&format!("requests {}", script("exit 0\n")));
        s.services.retain(|x| x.name != REQUESTER);
        assert!(expanded(&s).unwrap_err().to_string().contains("no `service requester`"));
    }

    #[test]
    fn the_shipped_scripts_check() {
        for name in ["misbehave", "quota", "soak"] {
            let text = std::fs::read_to_string(find(name).unwrap()).unwrap();
            check(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        }
    }
}
