//! shell: an interactive shell on COM2. It reads lines from the serial driver (channel 0),
//! answers each there and logs it in core's log (`> LINE: ANSWER`), with the timer driver
//! (channel 1) for `sleep`, `crash timer` and `hang timer`, the screen driver (channel 2, if the system has
//! one) for `show`, and core's RAM sessions for `alloc`, `free` and `stat`. An unknown command or an over-long line gets one line saying so. `exit` ends it,
//! and the drivers with it.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::format;
use alloc::string::String;

use sel4_core_protocol::session::{AllocOptions, Dataspace};
use sel4_core_protocol::{CacheAttr, RamSession};
use sel4_runtime::channel::{self, Channel, ChannelError, Message, Shared};
use sel4_runtime::{declare_main, println, Core};
use shell::Command;

declare_main!(main);

/// Where `alloc` maps its dataspace: 14 TiB, between the channels' shared memory
/// (`abi::SHARED_BASE`, 8 TiB) and the runtime's heap (`abi::HEAP_BASE`, 16 TiB).
const ALLOC_VA: u64 = 0x0e00_0000_0000;

struct Shell {
    serial: Channel,
    page: Shared,
    timer: Channel,
    /// The screen driver and the channel's shared page, if the system has one.
    screen: Option<(Channel, Shared)>,
    ram: Option<(RamSession, Dataspace)>,
}

fn call(c: &Channel, (label, words, n): (u64, [u64; 4], usize)) -> Result<[u64; 3], ChannelError> {
    c.call(&Message::short(label, words, n)).map(|m| [m.word(0), m.word(1), m.word(2)])
}

impl Shell {
    fn say(&self, text: &str) {
        for chunk in text.as_bytes().chunks(self.page.len().saturating_sub(2).max(1)) {
            self.page.write(0, chunk);
            let _ = call(&self.serial, serial::Request::Write { len: chunk.len() as u64 }.encode());
        }
        self.page.write(0, b"\r\n");
        let _ = call(&self.serial, serial::Request::Write { len: 2 }.encode());
    }

    /// The next line and how many bytes past the driver's limit it had; waits for one.
    fn read(&self) -> Result<(String, u64), ChannelError> {
        loop {
            let [has, len, dropped] = call(&self.serial, serial::Request::Read.encode())?;
            if has == 1 {
                let mut bytes = alloc::vec![0u8; (len as usize).min(self.page.len())];
                self.page.read(0, &mut bytes);
                return Ok((String::from_utf8_lossy(&bytes).into_owned(), dropped));
            }
            while channel::wait() & (1 << self.serial.id()) == 0 {}
        }
    }

    fn sleep(&self, ms: u64) -> Result<String, ChannelError> {
        let ticks = timer::client::sleep(&self.timer, ms)?;
        Ok(format!("slept {ms} ms ({ticks} ticks of the timer)"))
    }

    fn alloc(&mut self, size: u64) -> String {
        if self.ram.is_some() {
            return "a dataspace is allocated already; free it first".into();
        }
        let t = &mut Core;
        // The quota: the dataspace, its records and its paging, generously.
        let quota = size + (64 << 10);
        let session = match RamSession::open(t, quota, 16 + (size >> 12) as u32) {
            Ok(s) => s,
            Err(e) => return format!("cannot open a RAM session of {quota} bytes: {e}"),
        };
        let options = AllocOptions { align_log2: 0, cache: CacheAttr::Cached, range: None };
        let ds = match session.alloc(t, size, options) {
            Ok(d) => d,
            Err(e) => {
                let _ = session.close(t);
                return format!("cannot allocate {size} bytes: {e}");
            }
        };
        let align = (1u64 << ds.frame_bits) - 1;
        let va = (ALLOC_VA + align) & !align | (ds.paddr & align);
        if let Err(e) = session.map(t, ds, va) {
            let _ = session.close(t);
            return format!("cannot map: {e}");
        }
        // SAFETY: core mapped `size` bytes at `va` writable for this service just now, and
        // nothing else of the program uses that range (`ALLOC_VA`).
        let touched = unsafe { sel4_runtime::memory::touch(va, size, 7) };
        let usage = session.usage(t).map(|u| format!("{} of {} bytes of its quota used", u.ram_used, u.ram_quota));
        self.ram = Some((session, ds));
        format!(
            "{size} bytes at physical {:#x}, mapped at {va:#x}, {}; {}",
            ds.paddr,
            if touched.is_ok() { "every page written and read back" } else { "a page read back wrong" },
            usage.unwrap_or_else(|e| format!("usage: {e}"))
        )
    }

    fn run(&mut self, command: Command) -> Result<(String, bool), ChannelError> {
        Ok((
            match command {
                Command::Empty => String::new(),
                Command::Help => shell::HELP.into(),
                Command::Echo(text) => text.into(),
                Command::Show(text) => match &self.screen {
                    Some((screen, page)) => {
                        let bytes = &text.as_bytes()[..text.len().min(page.len())];
                        page.write(0, bytes);
                        let [row, _, _] = call(screen, screen::Request::Show { len: bytes.len() as u64 }.encode())?;
                        format!("shown on row {row} of the screen")
                    }
                    None => "no screen driver in this system".into(),
                },
                Command::Sleep(ms) => self.sleep(ms)?,
                Command::Alloc(size) => self.alloc(size),
                Command::Free => match self.ram.take() {
                    Some((session, ds)) => {
                        let t = &mut Core;
                        let freed = session.free(t, ds).and_then(|_| session.close(t));
                        match freed {
                            Ok(()) => format!("freed {} bytes at physical {:#x}; session closed", ds.size, ds.paddr),
                            Err(e) => format!("free failed: {e}"),
                        }
                    }
                    None => "nothing allocated".into(),
                },
                Command::Stat => match &self.ram {
                    Some((session, ds)) => match session.usage(&mut Core) {
                        Ok(u) => format!(
                            "one RAM session: quota {} bytes, {} used, {} cap slots of {}; a dataspace of {} bytes at {:#x}",
                            u.ram_quota, u.ram_used, u.caps_used, u.cap_quota, ds.size, ds.paddr
                        ),
                        Err(e) => format!("usage: {e}"),
                    },
                    None => "no sessions open".into(),
                },
                Command::CrashTimer => match call(&self.timer, timer::Request::CrashInIrq.encode()) {
                    Ok(_) => "the timer faults in its interrupt handler at its next tick".into(),
                    Err(e) => format!("the timer answered: {e}"),
                },
                Command::HangTimer => match call(&self.timer, timer::Request::StopAcking.encode()) {
                    Ok(_) => "the timer acks no more interrupts: core's watchdog restarts it".into(),
                    Err(e) => format!("the timer answered: {e}"),
                },
                Command::Exit => return Ok(("bye".into(), true)),
                Command::Bad(word, why) => format!("`{word}` {why}"),
            },
            false,
        ))
    }
}

fn main(_index: usize) -> Result<(), &'static str> {
    let serial = Channel::open(0).map_err(|_| "no channel 0 to the serial driver")?;
    let page = serial.shared().ok_or("the serial channel has no shared page")?;
    let timer = Channel::open(1).map_err(|_| "no channel 1 to the timer")?;
    let screen = Channel::open(2).ok().and_then(|c| Some((c, c.shared()?)));
    let mut sh = Shell { serial, page, timer, screen, ram: None };
    sh.say("shell: ready; type help");
    if let Some((screen, page)) = &sh.screen {
        let banner = b"shell: ready; type help on COM2";
        page.write(0, banner);
        call(screen, screen::Request::Show { len: banner.len() as u64 }.encode()).map_err(|_| "the screen failed")?;
    }
    println!("shell: ready");
    loop {
        let (line, dropped) = sh.read().map_err(|_| "the serial driver failed")?;
        let (answer, exit) = if dropped > 0 {
            (format!("line too long ({} bytes), ignored", line.len() as u64 + dropped), false)
        } else {
            sh.run(shell::parse(&line)).map_err(|_| "a driver failed")?
        };
        if dropped > 0 {
            println!("> ({} bytes): {answer}", line.len() as u64 + dropped);
        } else {
            println!("> {line}: {answer}");
        }
        sh.say(&answer);
        if exit {
            break;
        }
    }
    let _ = call(&sh.timer, timer::Request::Bye.encode());
    if let Some((screen, _)) = &sh.screen {
        let _ = call(screen, screen::Request::Bye.encode());
    }
    let _ = call(&sh.serial, serial::Request::Bye.encode());
    Ok(())
}
