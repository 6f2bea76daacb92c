//! The example system's client (`kv-client` and `kv-client-steady`): stores `KEYS` keys in
//! the kv server through its call channel (values of up to a page through the channel's shared
//! dataspace), optionally asks the server to crash half way (if it is still at generation 0),
//! rewrites a third of the keys, deletes a quarter, and reads every key back, checking each
//! value byte for byte and each deleted key gone. It keeps what it stored (the key and the
//! round its value came from), so when the server restarts, which it learns either from a call
//! answered `Restarted` or from a reply of a new generation, it stores everything again and
//! goes on.

use alloc::collections::BTreeMap;
use alloc::vec;

use crate::Request;
use sel4_runtime::channel::{Channel, ChannelError, Message, Shared};
use sel4_runtime::println;

/// Keys each client stores.
pub const KEYS: u64 = 2000;

struct Client {
    channel: Channel,
    shared: Shared,
    /// What this client stored: each key and the round its value came from.
    stored: BTreeMap<u64, u64>,
    generation: Option<u64>,
    saw_restarted: u32,
    saw_fresh: u32,
    restored: u64,
    buf: vec::Vec<u8>,
}

impl Client {
    /// Sends `request` once. `None` when the server restarted meanwhile: it learnt so from a
    /// `Restarted` answer or a reply of a new generation, and has stored every key again; the
    /// caller sends the request again (or, for a crash, is done).
    fn attempt(&mut self, request: Request) -> Result<Option<[u64; 3]>, ChannelError> {
        let (label, words, n) = request.encode();
        match self.channel.call(&Message::short(label, words, n)) {
            Ok(reply) => {
                let g = reply.word(0);
                if self.generation.is_some_and(|old| old != g) {
                    self.saw_fresh += 1;
                    self.generation = Some(g);
                    self.restore()?;
                    return Ok(None);
                }
                self.generation = Some(g);
                Ok(Some([reply.word(1), reply.word(2), reply.word(3)]))
            }
            Err(ChannelError::Restarted) => {
                self.saw_restarted += 1;
                // A new server answered: learn its generation, then store everything again.
                let (label, words, n) = Request::Signals.encode();
                let reply = self.channel.call(&Message::short(label, words, n))?;
                self.generation = Some(reply.word(0));
                self.restore()?;
                Ok(None)
            }
            Err(e) => Err(e),
        }
    }

    /// Sends `request` until a server that did not restart meanwhile answered it.
    fn call(&mut self, request: Request) -> Result<[u64; 3], ChannelError> {
        loop {
            if let Some(words) = self.attempt(request)? {
                return Ok(words);
            }
        }
    }

    fn restarts(&self) -> u32 {
        self.saw_restarted + self.saw_fresh
    }

    /// Stores the value of `key` in `round`; whether it replaced one (`None` when the server
    /// restarted meanwhile, which makes the answer meaningless).
    fn put(&mut self, key: u64, round: u64) -> Result<Option<bool>, ChannelError> {
        let before = self.restarts();
        loop {
            let len = crate::value(key, round, self.shared.len(), &mut self.buf);
            self.shared.write(0, &self.buf[..len]);
            if let Some([replaced, ..]) = self.attempt(Request::Put { key, len: len as u64 })? {
                self.stored.insert(key, round);
                return Ok((self.restarts() == before).then_some(replaced == 1));
            }
        }
    }

    /// Stores every key again, in a fresh server.
    fn restore(&mut self) -> Result<(), ChannelError> {
        let keys: vec::Vec<(u64, u64)> = self.stored.iter().map(|(&k, &r)| (k, r)).collect();
        for (key, round) in keys {
            let len = crate::value(key, round, self.shared.len(), &mut self.buf);
            self.shared.write(0, &self.buf[..len]);
            let (label, words, n) = Request::Put { key, len: len as u64 }.encode();
            let reply = self.channel.call(&Message::short(label, words, n))?;
            self.generation = Some(reply.word(0));
            self.restored += 1;
        }
        Ok(())
    }
}

/// Runs the client: stores, rewrites, deletes and reads back every key; with `crash`, asks the
/// server to crash half way (if it is still at generation 0).
pub fn run(crash: bool) -> Result<(), &'static str> {
    let channel = Channel::all().into_iter().find(Channel::calls).ok_or("no call channel in the system description")?;
    let shared = channel.shared().ok_or("the call channel has no shared memory")?;
    let mut c = Client {
        channel,
        shared,
        stored: BTreeMap::new(),
        generation: None,
        saw_restarted: 0,
        saw_fresh: 0,
        restored: 0,
        buf: vec![0; shared.len()],
    };
    let fail = |e: ChannelError| {
        println!("kv-client: a call failed: {e}");
        "a call to the server failed"
    };
    for key in 0..KEYS {
        if c.put(key, 0).map_err(fail)? == Some(true) {
            return Err("a new key replaced a value");
        }
        if crash && key == KEYS / 2 && c.generation == Some(0) {
            // Answered `Restarted` (this client's call held), or refused as stale (the other
            // client's crash came first): either way the server restarted once.
            match c.attempt(Request::Crash { generation: 0 }) {
                Ok(_) | Err(ChannelError::Refused(_)) => {}
                Err(e) => return Err(fail(e)),
            }
        }
    }
    let mut rewritten = 0;
    for key in (0..KEYS).step_by(3) {
        if c.put(key, 1).map_err(fail)? == Some(false) {
            return Err("a rewritten key had no value");
        }
        rewritten += 1;
    }
    let mut deleted = 0;
    for key in (0..KEYS).step_by(4) {
        let [found, ..] = c.call(Request::Delete { key }).map_err(fail)?;
        if found != 1 {
            return Err("a deleted key was not there");
        }
        c.stored.remove(&key);
        deleted += 1;
    }
    let mut expect = vec![0u8; shared.len()];
    let mut got = vec![0u8; shared.len()];
    for key in 0..KEYS {
        let [found, len, _] = c.call(Request::Get { key }).map_err(fail)?;
        match c.stored.get(&key) {
            None if found == 0 => {}
            None => return Err("a deleted key is still there"),
            Some(&round) => {
                let n = crate::value(key, round, shared.len(), &mut expect);
                if found != 1 || len as usize != n {
                    println!("kv-client: key {key}: found {found}, {len} bytes, expected {n}");
                    return Err("a key read back wrong");
                }
                shared.read(0, &mut got[..n]);
                if got[..n] != expect[..n] {
                    return Err("a value read back different");
                }
            }
        }
    }
    c.call(Request::Bye).map_err(fail)?;
    println!("kv-client: {KEYS} keys stored, {rewritten} rewritten, {deleted} deleted, all read back and checked");
    println!(
        "kv-client: server generation {}: saw `Restarted` {} times, a fresh server {} times; stored {} keys again",
        c.generation.unwrap_or(0),
        c.saw_restarted,
        c.saw_fresh,
        c.restored
    );
    Ok(())
}
