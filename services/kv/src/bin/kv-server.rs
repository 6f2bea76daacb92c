//! kv-server: a key-value store on the service's heap (a `BTreeMap` per client channel), served
//! over every call channel the system description gives it, values through each channel's
//! shared dataspace (`kv::Request`). It counts the signals each channel brings, and ends once
//! every client said `Bye`. Asked to crash, it takes a page fault; core restarts it (its
//! `restart` policy) with none of its keys.
#![no_std]
#![no_main]

extern crate alloc;

use alloc::collections::BTreeMap;
use alloc::vec::Vec;

use kv::{Refusal, Request};
use sel4_runtime::channel::{self, Channel, Handler, Message, Shared};
use sel4_runtime::{declare_main, println, restarts};

declare_main!(main);

/// What the server keeps for one client channel.
struct Client {
    shared: Option<Shared>,
    keys: BTreeMap<u64, Vec<u8>>,
    signals: u64,
    gone: bool,
}

struct Server {
    clients: BTreeMap<u8, Client>,
    generation: u64,
    served: u64,
}

impl Server {
    fn serve(&mut self, channel: u8, request: Request) -> Result<Message, Option<u64>> {
        let g = self.generation;
        let c = self.clients.get_mut(&channel).ok_or(None)?;
        let page = c.shared.map_or(0, |s| s.len());
        Ok(match request {
            Request::Put { key, len } => {
                let shared = c.shared.filter(|_| len as usize <= page).ok_or(Some(Refusal::TooLong as u64))?;
                let mut value = alloc::vec![0u8; len as usize];
                shared.read(0, &mut value);
                let replaced = c.keys.insert(key, value).is_some();
                Message::short(0, [g, replaced as u64, 0, 0], 2)
            }
            Request::Get { key } => match c.keys.get(&key) {
                Some(v) => {
                    // Every value came in through this channel's dataspace, so it fits.
                    c.shared.map(|s| s.write(0, v));
                    Message::short(0, [g, 1, v.len() as u64, 0], 3)
                }
                None => Message::short(0, [g, 0, 0, 0], 3),
            },
            Request::Delete { key } => Message::short(0, [g, c.keys.remove(&key).is_some() as u64, 0, 0], 2),
            Request::Crash { generation } if generation == g => {
                println!("kv-server: asked to crash in generation {g}, with {} calls served", self.served);
                // SAFETY: none needed: this is the fault the request asks for. The address lies
                // in the first page, which the loader never maps, so the write faults and
                // never completes.
                unsafe { core::ptr::write_volatile(core::ptr::without_provenance_mut::<u64>(0x10), g) };
                unreachable!("the write above faults")
            }
            Request::Crash { .. } => return Err(Some(Refusal::Stale as u64)),
            Request::Bye => {
                c.gone = true;
                Message::short(0, [g, 0, 0, 0], 1)
            }
            Request::Signals => Message::short(0, [g, c.signals, 0, 0], 2),
        })
    }
}

impl Handler for Server {
    fn notified(&mut self, channel: u8) {
        if let Some(c) = self.clients.get_mut(&channel) {
            c.signals += 1;
        }
    }

    fn called(&mut self, channel: u8, message: &Message) -> Result<Message, Option<u64>> {
        self.served += 1;
        let words = message.short_words().ok_or(None)?;
        let request = Request::decode(message.label, words).ok_or(None)?;
        self.serve(channel, request)
    }

    fn done(&self) -> bool {
        self.clients.values().all(|c| c.gone)
    }
}

fn main(_index: usize) -> Result<(), &'static str> {
    let mut clients = BTreeMap::new();
    for c in Channel::all().into_iter().filter(Channel::serves) {
        clients.insert(c.id(), Client { shared: c.shared(), keys: BTreeMap::new(), signals: 0, gone: false });
    }
    if clients.is_empty() {
        return Err("no client channels in the system description");
    }
    let generation = restarts();
    println!("kv-server: generation {generation}, serving {} client channels", clients.len());
    let mut server = Server { clients, generation, served: 0 };
    channel::serve(&mut server);
    let keys: usize = server.clients.values().map(|c| c.keys.len()).sum();
    println!("kv-server: every client said bye after {} calls; {keys} keys left", server.served);
    Ok(())
}
