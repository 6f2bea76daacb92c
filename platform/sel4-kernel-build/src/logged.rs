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
    Err(Error::Tool(format!(
        "{what} failed ({status}); last lines of {}:\n{}",
        log.display(),
        tail(log, TAIL_LINES)
    )))
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
