//! Runs QEMU under an optional hard timeout, captures the serial console
//! with when each piece arrived, and decodes the isa-debug-exit status.
//! What the output should show is the verdict's business, not this one's.

use std::io::Read;
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Process group of the running QEMU, for the Ctrl-C handler (0: none).
static RUNNING_GROUP: AtomicI32 = AtomicI32::new(0);

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// QEMU exited by itself with this status.
    Exited(i32),
    /// QEMU was killed by a signal it did not get from us.
    Signalled(String),
    /// We killed it when this timeout passed.
    TimedOut(Duration),
}

pub struct Outcome {
    pub ending: Ending,
    /// Serial output (carriage returns dropped).
    pub log: String,
    /// For each piece of serial output: the log's length after it, and when it arrived.
    pub arrivals: Vec<(usize, Duration)>,
    /// QEMU's own messages (stderr).
    pub stderr: String,
    pub elapsed: Duration,
}

impl Outcome {
    /// When the first serial byte arrived.
    pub fn first_output(&self) -> Option<Duration> {
        self.arrivals.iter().find(|(len, _)| *len > 0).map(|(_, at)| *at)
    }

    /// When the log's first `len` bytes had all arrived.
    pub fn arrived_by(&self, len: usize) -> Option<Duration> {
        self.arrivals.iter().find(|(l, _)| *l >= len).map(|(_, at)| *at)
    }
}

/// Kills QEMU's process group when the user presses Ctrl-C, or the run tool gets SIGTERM (a
/// `timeout`, a service manager) or SIGHUP (its terminal closed): QEMU runs in a group of its
/// own so that a timeout can kill everything it started, so no signal to the run tool's group
/// reaches it (ctrlc's `termination` feature handles all three).
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

enum Event {
    Serial(Vec<u8>),
    SerialClosed,
    /// A line typed at the terminal, for COM2.
    Typed(String),
}

/// The guest's COM2, on the Unix socket QEMU listens on: lines a scenario sends, each once the
/// expectations before it have all been seen on the console (so a script runs the same on
/// every boot), or lines a person types; what the guest writes there is shown live and kept.
pub struct Com2 {
    /// COM2's socket, if the scenario sends lines or a person types.
    pub socket: Option<std::path::PathBuf>,
    /// QEMU's monitor socket, for screen dumps.
    pub monitor: Option<std::path::PathBuf>,
    /// `(n, file)`: the VGA screen saved as PNG to `file` once the first `n` of `expects` were seen.
    pub screendumps: Vec<(usize, std::path::PathBuf)>,
    /// `(n, text)`: `text` and a newline once the first `n` of `expects` were seen.
    pub sends: Vec<(usize, String)>,
    pub expects: Vec<String>,
    /// Lines typed at the terminal go to COM2 too.
    pub interactive: bool,
}

/// Runs a QEMU command line that puts the serial port on stdout until QEMU
/// exits or `timeout` (if any) passes; with `live` the serial output is
/// copied to stdout as it arrives.
pub fn run(mut cmd: Command, timeout: Option<Duration>, live: bool, com2: Option<Com2>) -> anyhow::Result<Outcome> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped()).process_group(0);
    let start = Instant::now();
    let program = Path::new(cmd.get_program()).to_path_buf();
    let mut child = cmd.spawn().map_err(|e| anyhow::anyhow!("cannot start {}: {e}", program.display()))?;
    let group = child.id() as i32;
    RUNNING_GROUP.store(group, Ordering::SeqCst);

    let (tx, rx) = mpsc::channel();
    let typed_tx = tx.clone();
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

    if com2.as_ref().is_some_and(|c| c.interactive) {
        let tx = typed_tx;
        std::thread::spawn(move || {
            for line in std::io::stdin().lines() {
                let Ok(line) = line else { break };
                if tx.send(Event::Typed(line)).is_err() {
                    return;
                }
            }
        });
    }
    let mut port = com2.map(|c| Port {
        c,
        stream: None,
        monitor: None,
        dumped: 0,
        sent: 0,
        typed: Vec::new(),
        output: String::new(),
        shown: 0,
    });
    let mut log = String::new();
    let mut arrivals = Vec::new();
    let mut pending_utf8: Vec<u8> = Vec::new();
    let deadline = timeout.map(|t| start + t);
    let mut timed_out = false;
    let mut serial_open = true;
    loop {
        let now = Instant::now();
        if deadline.is_some_and(|d| now >= d) {
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
        if let Some(p) = port.as_mut() {
            p.feed(&log, live);
        }
        // With COM2 to feed, look again every few milliseconds (QEMU's socket, its output).
        let tick = port.as_ref().map(|_| Duration::from_millis(20));
        let event = match (deadline, tick) {
            (Some(d), Some(t)) => rx.recv_timeout((d - now).min(t)),
            (Some(d), None) => rx.recv_timeout(d - now),
            (None, Some(t)) => rx.recv_timeout(t),
            (None, None) => rx.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
        };
        match event {
            Ok(Event::Serial(bytes)) => {
                let at = start.elapsed();
                if live {
                    use std::io::Write;
                    let mut out = std::io::stdout().lock();
                    let _ = out.write_all(&bytes);
                    let _ = out.flush();
                    if let Some(&last) = bytes.last() {
                        let mut mid = CONSOLE_MID_LINE.lock().unwrap_or_else(|e| e.into_inner());
                        *mid =
                            if matches!(last, b'\n' | b'\r') { None } else { Some(mid.unwrap_or_else(Instant::now)) };
                    }
                }
                pending_utf8.extend_from_slice(&bytes);
                append(&mut log, &take_utf8(&mut pending_utf8));
                arrivals.push((log.len(), at));
            }
            Ok(Event::Typed(line)) => {
                if let Some(p) = port.as_mut() {
                    p.typed.push(line);
                }
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
        append(&mut log, &String::from_utf8_lossy(&pending_utf8));
        arrivals.push((log.len(), start.elapsed()));
    }
    let elapsed = start.elapsed();
    let stderr = stderr_reader.join().unwrap_or_default();
    let ending = if let (true, Some(t)) = (timed_out, timeout) {
        Ending::TimedOut(t)
    } else if let Some(code) = status.code() {
        Ending::Exited(code)
    } else {
        Ending::Signalled(format!("{status}"))
    };
    Ok(Outcome { ending, log, arrivals, stderr, elapsed })
}

/// COM2 while QEMU runs: the socket once QEMU has made it, what is left to send.
struct Port {
    c: Com2,
    stream: Option<std::os::unix::net::UnixStream>,
    monitor: Option<std::os::unix::net::UnixStream>,
    /// Screen dumps taken so far.
    dumped: usize,
    /// Scenario lines sent so far.
    sent: usize,
    /// Typed lines not sent yet.
    typed: Vec<String>,
    /// What the guest wrote to COM2.
    output: String,
    /// COM2's output shown live up to here (whole lines are shown, each marked as COM2's).
    shown: usize,
}

/// When the console's live output stopped in the middle of a line (none: at a line's end).
static CONSOLE_MID_LINE: std::sync::Mutex<Option<Instant>> = std::sync::Mutex::new(None);

/// How long COM2's lines wait for the console to finish its line before they cut in.
const MID_LINE_WAIT: Duration = Duration::from_millis(300);

/// Shows COM2's whole lines not shown yet, each as `COM2| LINE`, between the console's lines:
/// while the console is in the middle of a line they wait, for [`MID_LINE_WAIT`] at most.
fn show_com2(output: &str, shown: &mut usize) {
    use std::io::Write;
    let Some(end) = output[*shown..].rfind('\n').map(|i| *shown + i + 1) else { return };
    let mut mid = CONSOLE_MID_LINE.lock().unwrap_or_else(|e| e.into_inner());
    if mid.is_some_and(|since| since.elapsed() < MID_LINE_WAIT) {
        return;
    }
    let mut out = std::io::stdout().lock();
    if mid.take().is_some() {
        let _ = out.write_all(b"\n");
    }
    for line in output[*shown..end].lines() {
        let _ = writeln!(out, "COM2| {}", line.trim_end_matches('\r'));
    }
    let _ = out.flush();
    *shown = end;
}

impl Port {
    /// Connects when QEMU's socket is there, sends every line now due, and shows what the
    /// guest wrote.
    fn feed(&mut self, log: &str, live: bool) {
        use std::io::{Read, Write};
        let seen = crate::verdict::expect::match_in_order(log, &self.c.expects).len();
        self.dump(seen);
        let Some(socket) = &self.c.socket else { return };
        if self.stream.is_none() {
            match std::os::unix::net::UnixStream::connect(socket) {
                Ok(s) => {
                    let _ = s.set_nonblocking(true);
                    self.stream = Some(s);
                }
                Err(_) => return,
            }
        }
        let Some(stream) = self.stream.as_mut() else { return };
        let mut buf = [0u8; 4096];
        while let Ok(n) = stream.read(&mut buf) {
            if n == 0 {
                break;
            }
            let text = String::from_utf8_lossy(&buf[..n]);
            self.output.push_str(&text);
        }
        if live {
            show_com2(&self.output, &mut self.shown);
        }
        let mut due: Vec<String> = Vec::new();
        while let Some((after, text)) = self.c.sends.get(self.sent) {
            if *after > seen {
                break;
            }
            due.push(text.clone());
            self.sent += 1;
        }
        due.append(&mut self.typed);
        for line in due {
            // Blocking for the write: a line is small, and QEMU reads its socket promptly.
            let _ = stream.set_nonblocking(false);
            let _ = stream.write_all(format!("{line}\n").as_bytes());
            let _ = stream.set_nonblocking(true);
        }
    }
}

impl Port {
    /// Asks QEMU's monitor for each screen dump now due (`screendump FILE -f png`).
    fn dump(&mut self, seen: usize) {
        use std::io::Write;
        let Some(socket) = &self.c.monitor else { return };
        if self.monitor.is_none() {
            match std::os::unix::net::UnixStream::connect(socket) {
                Ok(s) => self.monitor = Some(s),
                Err(_) => return,
            }
        }
        let Some(m) = self.monitor.as_mut() else { return };
        while let Some((after, file)) = self.c.screendumps.get(self.dumped) {
            if *after > seen {
                break;
            }
            if let Some(dir) = file.parent() {
                let _ = std::fs::create_dir_all(dir);
            }
            let _ = m.write_all(format!("screendump {} -f png\n", file.display()).as_bytes());
            self.dumped += 1;
        }
    }
}

/// Adds serial text to the log; carriage returns are dropped so that
/// lines compare alike whatever the guest's line ends are.
fn append(log: &mut String, text: &str) {
    log.extend(text.chars().filter(|&c| c != '\r'));
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
    fn arrival_times_of_log_positions() {
        let out = Outcome {
            ending: Ending::Exited(33),
            log: "abcdef".into(),
            arrivals: vec![(0, Duration::from_millis(1)), (2, Duration::from_millis(2)), (6, Duration::from_millis(3))],
            stderr: String::new(),
            elapsed: Duration::from_millis(4),
        };
        assert_eq!(out.first_output(), Some(Duration::from_millis(2)));
        assert_eq!(out.arrived_by(2), Some(Duration::from_millis(2)));
        assert_eq!(out.arrived_by(3), Some(Duration::from_millis(3)));
        assert_eq!(out.arrived_by(7), None);
    }

    #[test]
    fn carriage_returns_are_dropped() {
        let mut log = String::new();
        append(&mut log, "a\r\nb");
        assert_eq!(log, "a\nb");
    }

    #[test]
    fn status_descriptions() {
        assert!(describe_status(33).contains("0x10"));
        assert!(describe_status(3).contains("0x01"));
        assert!(describe_status(0).contains("not through port 0xf4"));
    }
}
