//! screen: a driver outside core for the VGA text screen: the text buffer at 0xb8000, device
//! memory its description grants it alone (mapped uncached), where it shows each line its
//! client sends on the next row, scrolling when full. It clears the screen when it starts and
//! ends when its client says `Bye`.
#![no_std]
#![no_main]

extern crate alloc;

use screen::{Request, COLUMNS, ROWS};
use sel4_runtime::channel::{self, Channel, Handler, Message, Shared};
use sel4_runtime::device::DeviceMemory;
use sel4_runtime::{declare_main, println};

declare_main!(main);

struct Screen {
    vga: DeviceMemory,
    shared: Shared,
    row: usize,
    shown: u64,
    done: bool,
}

impl Screen {
    fn put(&self, row: usize, col: usize, word: u16) {
        self.vga.write16(((row * COLUMNS + col) * 2) as u64, word);
    }

    fn show(&mut self, text: &[u8]) -> usize {
        let (row, scroll) = screen::next_row(self.row);
        if scroll {
            for r in 1..ROWS {
                for c in 0..COLUMNS {
                    let w = self.vga.read16(((r * COLUMNS + c) * 2) as u64).unwrap_or(0);
                    self.put(r - 1, c, w);
                }
            }
        }
        for c in 0..COLUMNS {
            self.put(row, c, screen::cell(*text.get(c).unwrap_or(&b' ')));
        }
        self.row = row + 1;
        self.shown += 1;
        row
    }
}

impl Handler for Screen {
    fn called(&mut self, _channel: u8, message: &Message) -> Result<Message, Option<u64>> {
        let words = message.short_words().ok_or(None)?;
        match Request::decode(message.label, words).ok_or(None)? {
            Request::Show { len } => {
                let mut text = alloc::vec![0u8; (len as usize).min(self.shared.len()).min(COLUMNS)];
                self.shared.read(0, &mut text);
                let row = self.show(&text);
                Ok(Message::short(0, [row as u64, 0, 0, 0], 1))
            }
            Request::Bye => {
                self.done = true;
                Ok(Message::short(0, [0; 4], 0))
            }
        }
    }

    fn done(&self) -> bool {
        self.done
    }
}

fn main(_index: usize) -> Result<(), &'static str> {
    let vga = DeviceMemory::open(0).map_err(|_| "no device memory granted")?;
    let client = Channel::all().into_iter().find(Channel::serves).ok_or("no client channel")?;
    let shared = client.shared().ok_or("the client channel has no shared page")?;
    let mut s = Screen { vga, shared, row: 0, shown: 0, done: false };
    for r in 0..ROWS {
        for c in 0..COLUMNS {
            s.put(r, c, screen::cell(b' '));
        }
    }
    // What the screen holds, read back: the driver's writes reached the device memory.
    let first = s.vga.read16(0);
    println!(
        "screen: VGA text buffer at physical {:#x} ({} bytes) mapped at {:#x}, cleared (read back {:#06x})",
        s.vga.paddr,
        s.vga.size,
        s.vga.address(),
        first.unwrap_or(0)
    );
    channel::serve(&mut s);
    println!("screen: showed {} lines", s.shown);
    Ok(())
}
