//! Runs a build command with its output going to a log file, and reports
//! the log's tail when the command fails.

use std::path::Path;
use std::process::{Command, Stdio};

use crate::Error;

/// Lines of the log shown in the error when a command fails.
const TAIL_LINES: usize = 40;

/// Runs `cmd` (described as `what`) with stdout and stderr appended to `log`.
pub fn run(what: &str, cmd: &mut Command, log: &Path) -> Result<(), Error> {
    let file = std::fs::OpenOptions::new().create(true).append(true).open(log)?;
    let status = cmd
        .stdin(Stdio::null())
        .stdout(file.try_clone()?)
        .stderr(file)
        .status()
        .map_err(|e| Error::Tool(format!("{what}: cannot start {:?}: {e}", cmd.get_program())))?;
    if status.success() {
        return Ok(());
    }
    Err(Error::Tool(format!("{what} failed ({status}); last lines of {}:\n{}", log.display(), tail(log, TAIL_LINES))))
}

/// The last `n` lines of a text file (lossy UTF-8), or a note why not.
pub fn tail(path: &Path, n: usize) -> String {
    match std::fs::read(path) {
        Ok(bytes) => {
            let text = String::from_utf8_lossy(&bytes);
            let lines: Vec<&str> = text.lines().collect();
            lines[lines.len().saturating_sub(n)..].join("\n")
        }
        Err(e) => format!("(cannot read log: {e})"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!("sel4-kernel-build-logged-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn failure_reports_the_log_tail() {
        let dir = scratch("fail");
        let log = dir.join("build.log");
        let mut cmd = Command::new("sh");
        cmd.args(["-c", "for i in $(seq 1 100); do echo line$i; done; echo broken >&2; exit 3"]);
        let msg = run("demo step", &mut cmd, &log).unwrap_err().to_string();
        assert!(msg.starts_with("demo step failed"), "{msg}");
        assert!(msg.contains("line100") && msg.contains("broken"), "{msg}");
        assert!(!msg.contains("line1\n"), "only the tail belongs in the message: {msg}");
        assert_eq!(tail(&log, 1), "broken");
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn success_keeps_output_in_the_log() {
        let dir = scratch("ok");
        let log = dir.join("build.log");
        run("echo", Command::new("sh").args(["-c", "echo hello"]), &log).unwrap();
        assert_eq!(std::fs::read_to_string(&log).unwrap(), "hello\n");
        let missing = run("nothing", &mut Command::new("/nonexistent/tool"), &log).unwrap_err();
        assert!(missing.to_string().contains("cannot start"), "{missing}");
        std::fs::remove_dir_all(dir).unwrap();
    }
}
