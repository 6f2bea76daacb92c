//! The format and lint checks CI makes, `cargo fmt --all --check`,
//! `cargo clippy --workspace --all-targets -- -D warnings` and clippy of the
//! freestanding binaries for their target, each one test:
//! PASS, or FAIL with the tool's output. A missing rustfmt or clippy is
//! installed with rustup when it can be.

use std::ffi::OsString;
use std::process::{Command, Stdio};

use crate::workspace;

/// One check: `cargo <subcommand> <args>`, from toolchain component `component`.
pub struct Lint {
    pub subcommand: &'static str,
    pub args: &'static [&'static str],
    pub component: &'static str,
}

pub const FMT: Lint = Lint { subcommand: "fmt", args: &["--all", "--check"], component: "rustfmt" };
pub const CLIPPY: Lint =
    Lint { subcommand: "clippy", args: &["--workspace", "--all-targets", "--", "-D", "warnings"], component: "clippy" };
/// The freestanding code a host build leaves out (root tasks, their audit, services), linted
/// for the target they are built for.
pub const CLIPPY_FREESTANDING: Lint = Lint {
    subcommand: "clippy",
    args: &[
        "-p",
        "sel4-core",
        "-p",
        "sel4-core-selftest",
        "-p",
        "hello",
        "-p",
        "fault",
        "-p",
        "ram-demo",
        "-p",
        "cnode-demo",
        "-p",
        "bystander",
        "-p",
        "session-check",
        "-p",
        "requester",
        "-p",
        "bench",
        "-p",
        "big-image",
        "-p",
        "known-answers",
        "-p",
        "heap-check",
        "-p",
        "kv",
        "-p",
        "channel-check",
        "-p",
        "channel-bench",
        "-p",
        "timer",
        "-p",
        "serial",
        "-p",
        "shell",
        "-p",
        "screen",
        "--lib",
        "--bins",
        "--features",
        "sel4-core/root-task,sel4-core-selftest/audit,sel4-core-selftest/memory-map,hello/service,fault/service,ram-demo/service,cnode-demo/service,bystander/service,session-check/service,requester/service,bench/service,big-image/service,known-answers/service,heap-check/service,kv/service,channel-check/service,channel-bench/service,timer/service,serial/service,shell/service,screen/service",
        "--target",
        "x86_64-unknown-linux-gnu",
        "--",
        "-D",
        "warnings",
    ],
    component: "clippy",
};

impl Lint {
    /// The command as the report shows it.
    pub fn shown(&self) -> String {
        format!("cargo {} {}", self.subcommand, self.args.join(" "))
    }
}

/// The programs a check runs.
pub struct Tools {
    pub cargo: OsString,
    pub rustup: OsString,
}

impl Tools {
    pub fn from_env() -> Tools {
        Tools { cargo: workspace::cargo(), rustup: "rustup".into() }
    }
}

/// Runs `lint` in the workspace and prints one PASS or FAIL line (after the
/// tool's output on failure). Returns whether it passed.
pub fn check(lint: &Lint, tools: &Tools) -> bool {
    let shown = lint.shown();
    eprintln!("run: {shown}");
    if let Err(e) = ensure_component(lint, tools) {
        println!("FAIL {shown}: {e}");
        return false;
    }
    let out = Command::new(&tools.cargo)
        .current_dir(workspace::root())
        .arg(lint.subcommand)
        .args(lint.args)
        .stdin(Stdio::null())
        .output();
    match out {
        Ok(out) if out.status.success() => {
            println!("PASS {shown}");
            true
        }
        Ok(out) => {
            print!("{}", String::from_utf8_lossy(&out.stdout));
            print!("{}", String::from_utf8_lossy(&out.stderr));
            println!("FAIL {shown} ({})", out.status);
            false
        }
        Err(e) => {
            println!("FAIL {shown}: cannot run cargo: {e}");
            false
        }
    }
}

/// Whether `cargo <subcommand>` runs at all.
fn installed(lint: &Lint, tools: &Tools) -> bool {
    Command::new(&tools.cargo)
        .args([lint.subcommand, "--version"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Makes sure `cargo <subcommand>` is there, adding its toolchain component
/// with rustup if it is not.
fn ensure_component(lint: &Lint, tools: &Tools) -> Result<(), String> {
    if installed(lint, tools) {
        return Ok(());
    }
    let (sub, component) = (lint.subcommand, lint.component);
    eprintln!("run: `cargo {sub}` is missing; rustup component add {component}");
    let added = Command::new(&tools.rustup).args(["component", "add", component]).stdin(Stdio::null()).status();
    let why = match added {
        Ok(s) if s.success() && installed(lint, tools) => return Ok(()),
        Ok(s) if s.success() => {
            format!("`rustup component add {component}` succeeded but `cargo {sub}` still does not run")
        }
        Ok(s) => format!("`rustup component add {component}` failed ({s})"),
        Err(e) => format!("rustup cannot be run ({e})"),
    };
    Err(format!("`cargo {sub}` is not installed and {why}; install the {component} component of the Rust toolchain"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A freestanding package added to the workspace is linted for the target it is built for.
    #[test]
    fn every_freestanding_package_is_linted() {
        use crate::image::packages::{packages_of, Kind};
        let args = CLIPPY_FREESTANDING.args;
        let features = args[args.iter().position(|a| *a == "--features").unwrap() + 1];
        for kind in [Kind::Service, Kind::RootTask] {
            for p in packages_of(kind).unwrap() {
                assert!(args.windows(2).any(|w| w[0] == "-p" && w[1] == p), "{p} is not linted");
                // Its kind's feature, or one that implies it (`sel4-core-selftest/audit`).
                let of_package = format!("{p}/");
                assert!(features.split(',').any(|f| f.starts_with(&of_package)), "no feature of {p} is enabled");
            }
        }
    }

    #[test]
    fn commands_as_ci_runs_them() {
        assert_eq!(FMT.shown(), "cargo fmt --all --check");
        assert_eq!(CLIPPY.shown(), "cargo clippy --workspace --all-targets -- -D warnings");
    }

    #[test]
    fn a_missing_tool_that_cannot_be_added_fails_with_the_reason() {
        let failing = Tools { cargo: "false".into(), rustup: "false".into() };
        let e = ensure_component(&FMT, &failing).unwrap_err();
        assert!(e.starts_with("`cargo fmt` is not installed and `rustup component add rustfmt` failed"), "{e}");
        let no_rustup = Tools { cargo: "false".into(), rustup: "/nonexistent/rustup".into() };
        let e = ensure_component(&CLIPPY, &no_rustup).unwrap_err();
        assert!(
            e.contains("rustup cannot be run") && e.ends_with("install the clippy component of the Rust toolchain")
        );
        assert!(!check(&FMT, &failing));
    }

    #[test]
    fn an_installed_tool_needs_nothing() {
        let ok = Tools { cargo: "true".into(), rustup: "false".into() };
        assert_eq!(ensure_component(&CLIPPY, &ok), Ok(()));
    }
}
