//! Boots a kernel and root task in QEMU (TCG) under a hard timeout, captures
//! the serial console, and decodes the isa-debug-exit status.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use crate::expect::Matcher;

/// The CPU the kernel configurations need: HUGE_PAGE needs 1 GiB pages,
/// FSGSBASE_INST the fsgsbase instructions.
const CPU: &str = "qemu64,+fsgsbase,+pdpe1gb";

/// Process group of the running QEMU, for the Ctrl-C handler (0: none).
static RUNNING_GROUP: AtomicI32 = AtomicI32::new(0);

pub struct Boot<'a> {
    pub qemu: &'a Path,
    pub kernel32: &'a Path,
    pub root_task: &'a Path,
    pub ram_mib: u64,
    pub timeout: Duration,
    /// Copy the serial output to stdout as it arrives.
    pub live: bool,
}

pub enum Ending {
    /// QEMU exited by itself with this status.
    Exited(i32),
    /// QEMU was killed by a signal it did not get from us.
    Signalled(String),
    /// We killed it at the timeout.
    TimedOut,
}

pub struct Outcome {
    pub ending: Ending,
    pub matcher: Matcher,
    /// QEMU's own messages (stderr).
    pub stderr: String,
    pub elapsed: Duration,
    /// When the first serial byte arrived.
    pub first_output: Option<Duration>,
}

/// Kills QEMU's process group when the user presses Ctrl-C (QEMU runs in a
/// group of its own so that a timeout can kill everything it started).
pub fn install_interrupt_handler() {
    let _ = ctrlc::set_handler(|| {
        let group = RUNNING_GROUP.load(Ordering::SeqCst);
        if group > 0 {
            kill_group(group);
        }
        std::process::exit(130);
    });
}

fn kill_group(group: i32) {
    // SAFETY: kill(2) with a negative pid signals that process group; no
    // memory is involved.
    unsafe {
        libc::kill(-group, libc::SIGKILL);
    }
}

/// The QEMU command line for a boot.
pub fn command(b: &Boot) -> Command {
    let mut cmd = Command::new(b.qemu);
    cmd.args(["-machine", "pc,accel=tcg"])
        .args(["-cpu", CPU])
        .args(["-m", &format!("{}M", b.ram_mib)])
        // Not -nographic: it already means `-serial mon:stdio` (so an added
        // `-serial stdio` is refused) and makes SeaBIOS print to the serial
        // port too, terminal resets included. This gives the kernel's and
        // core's output alone.
        .args(["-display", "none", "-serial", "stdio", "-monitor", "none"])
        .arg("-no-reboot")
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        .arg("-kernel")
        .arg(b.kernel32)
        .arg("-initrd")
        .arg(b.root_task);
    cmd
}

enum Event {
    Serial(Vec<u8>),
    SerialClosed,
}

/// Runs QEMU until it exits or the timeout passes, matching `expect` against
/// the serial output.
pub fn run(b: &Boot, expect: &[String]) -> anyhow::Result<Outcome> {
    run_command(command(b), b.timeout, b.live, expect)
}

/// [`run`] for any QEMU command line that puts the serial port on stdout
/// (e.g. a boot from an ISO).
pub fn run_command(mut cmd: Command, timeout: Duration, live: bool, expect: &[String]) -> anyhow::Result<Outcome> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let start = Instant::now();
    let program = Path::new(cmd.get_program()).to_path_buf();
    let mut child = cmd.spawn().map_err(|e| anyhow::anyhow!("cannot start {}: {e}", program.display()))?;
    let group = child.id() as i32;
    RUNNING_GROUP.store(group, Ordering::SeqCst);

    let (tx, rx) = mpsc::channel();
    let mut stdout = child.stdout.take().expect("piped stdout");
    std::thread::spawn(move || {
        let mut buf = [0u8; 4096];
        loop {
            match stdout.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if tx.send(Event::Serial(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
            }
        }
        let _ = tx.send(Event::SerialClosed);
    });
    let mut stderr_pipe = child.stderr.take().expect("piped stderr");
    let stderr_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = stderr_pipe.read_to_string(&mut s);
        s
    });

    let mut matcher = Matcher::new(expect);
    let mut first_output = None;
    let mut pending_utf8: Vec<u8> = Vec::new();
    let deadline = start + timeout;
    let mut timed_out = false;
    let mut serial_open = true;
    loop {
        let now = Instant::now();
        if now >= deadline {
            timed_out = true;
            break;
        }
        if !serial_open {
            // Serial closed: QEMU is exiting; wait for it within the deadline.
            if child.try_wait()?.is_some() {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
            continue;
        }
        match rx.recv_timeout(deadline - now) {
            Ok(Event::Serial(bytes)) => {
                let at = start.elapsed();
                first_output.get_or_insert(at);
                if live {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&bytes);
                    let _ = out.flush();
                }
                pending_utf8.extend_from_slice(&bytes);
                let text = take_utf8(&mut pending_utf8);
                matcher.feed(&text, at);
            }
            Ok(Event::SerialClosed) | Err(mpsc::RecvTimeoutError::Disconnected) => serial_open = false,
            Err(mpsc::RecvTimeoutError::Timeout) => {}
        }
    }
    if timed_out {
        kill_group(group);
    }
    let status = child.wait()?;
    RUNNING_GROUP.store(0, Ordering::SeqCst);
    // Whatever arrived before the end still counts.
    while let Ok(Event::Serial(bytes)) = rx.try_recv() {
        pending_utf8.extend_from_slice(&bytes);
    }
    if !pending_utf8.is_empty() {
        let rest = String::from_utf8_lossy(&pending_utf8).into_owned();
        matcher.feed(&rest, start.elapsed());
    }
    let elapsed = start.elapsed();
    let stderr = stderr_reader.join().unwrap_or_default();
    let ending = if timed_out {
        Ending::TimedOut
    } else if let Some(code) = status.code() {
        Ending::Exited(code)
    } else {
        Ending::Signalled(format!("{status}"))
    };
    Ok(Outcome { ending, matcher, stderr, elapsed, first_output })
}

/// Takes the longest valid UTF-8 prefix out of `buf` (invalid bytes become
/// U+FFFD); an incomplete sequence at the end waits for more bytes.
fn take_utf8(buf: &mut Vec<u8>) -> String {
    match std::str::from_utf8(buf) {
        Ok(s) => {
            let s = s.to_string();
            buf.clear();
            s
        }
        Err(e) if e.error_len().is_none() => {
            let valid = e.valid_up_to();
            let s = String::from_utf8_lossy(&buf[..valid]).into_owned();
            buf.drain(..valid);
            s
        }
        Err(_) => {
            let s = String::from_utf8_lossy(buf).into_owned();
            buf.clear();
            s
        }
    }
}

/// Explains a QEMU exit status in terms of the isa-debug-exit port.
pub fn describe_status(code: i32) -> String {
    if code % 2 == 1 {
        format!("QEMU exit status {code}: core wrote {:#04x} to port 0xf4", (code - 1) / 2)
    } else {
        format!("QEMU exit status {code}: not through port 0xf4 (reset, shutdown or QEMU error)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utf8_split_across_chunks_is_kept() {
        let mut buf = "ä".as_bytes()[..1].to_vec();
        assert_eq!(take_utf8(&mut buf), "");
        buf.extend_from_slice(&"ä".as_bytes()[1..]);
        assert_eq!(take_utf8(&mut buf), "ä");
        assert!(buf.is_empty());
        let mut bad = vec![b'a', 0xff, b'b'];
        assert_eq!(take_utf8(&mut bad), "a\u{fffd}b");
    }

    #[test]
    fn status_descriptions() {
        assert!(describe_status(33).contains("0x10"));
        assert!(describe_status(3).contains("0x01"));
        assert!(describe_status(0).contains("not through port 0xf4"));
    }
}
