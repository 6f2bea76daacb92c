//! channel-abuser: a hostile client of the kv server (channel 0) and of `mute` (channel 1), in
//! the `channels-hostile` scenario, beside a well-behaved client of the same server. Each step
//! prints what it tried and what happened; a step that goes otherwise than the runtime and the
//! kernel promise ends the service with an error:
//! 1. garbage on the call channel (unknown labels, wrong word counts, a length beyond the
//!    kernel's limit): `BadRequest` each time, and the server still answers a good request;
//! 2. a message sent without waiting for the reply (seL4 Send on the call cap): the server is
//!    not held, the next call is served;
//! 3. a channel id it was not given: core refuses to describe it, and a signal on its slot
//!    reaches nobody;
//! 4. forged identities: minting core's endpoint, or the server's, with another badge, which
//!    the kernel refuses (a badged cap's badge cannot change);
//! 5. signals: one at a time, each followed by a call, wake the server exactly once each (none
//!    lost); a flood of 10,000 wakes it at most as often, and at least once (no queue grows);
//! 6. a call to a server that never answers, from a thread of its own: that thread waits while
//!    the main thread goes on; when the server ends for good (the main thread signals it to),
//!    the waiting call returns `Gone`;
//! 7. a raw call on the slot of a channel it was not given: the kernel finds no cap there and
//!    answers with its error, as for any invocation of an empty slot.
#![no_std]
#![no_main]

use core::sync::atomic::{AtomicBool, Ordering};

use kv::Request;
use sel4::{syscalls, CPtr, Cap, CapRights, MessageInfo};
use sel4_core_protocol::{abi, TcbSession};
use sel4_runtime::channel::{Channel, ChannelError, Message};
use sel4_runtime::{declare_main, println, thread, Core};

declare_main!(main);

const FLOOD: u64 = 10_000;
/// The label of the runtime's `BadRequest` answer, as a raw call sees it.
const BAD_REQUEST: u64 = 0x101;

fn call(kv: &Channel, r: Request) -> Result<[u64; 4], ChannelError> {
    let (label, words, n) = r.encode();
    kv.call(&Message::short(label, words, n)).map(|m| [m.word(0), m.word(1), m.word(2), m.word(3)])
}

fn check(ok: bool, what: &'static str) -> Result<(), &'static str> {
    if ok {
        Ok(())
    } else {
        println!("channel-abuser: FAILED: {what}");
        Err(what)
    }
}

fn main(_index: usize) -> Result<(), &'static str> {
    let kv = Channel::open(0).map_err(|_| "no channel 0 to the kv server")?;
    let mute = Channel::open(1).map_err(|_| "no channel 1 to mute")?;

    // 1. Garbage.
    let garbage = [(999, &[][..]), (1, &[][..]), (2, &[1, 2, 3][..]), (0, &[7][..]), (u64::MAX >> 12, &[1][..])];
    for (label, words) in garbage {
        let r = kv.call(&Message::new(label, words));
        check(r == Err(ChannelError::BadRequest), "garbage got an answer other than BadRequest")?;
    }
    let long: [u64; 120] = core::array::from_fn(|i| i as u64);
    check(kv.call(&Message::new(1, &long)) == Err(ChannelError::BadRequest), "a 120-word message was not refused")?;
    // A length field beyond `seL4_MsgMaxLength`: the kernel cuts it to the limit.
    let r = syscalls::call(CPtr::from_bits(abi::call_slot(0)), MessageInfo::new(1, 0, 0, 127), [0; 4]);
    check(r.info.label() == BAD_REQUEST, "a length beyond the kernel's limit was not refused")?;
    let [_, found, ..] = call(&kv, Request::Get { key: 1 }).map_err(|_| "a good request after garbage failed")?;
    check(found == 0, "the server found a key nobody stored")?;
    println!("channel-abuser: garbage labels and lengths: BadRequest each time; the server still serves");

    // 2. Send without waiting.
    let (label, words, n) = Request::Signals.encode();
    syscalls::send(CPtr::from_bits(abi::call_slot(0)), MessageInfo::new(label, 0, 0, n), words);
    call(&kv, Request::Signals).map_err(|_| "a call after a send without wait failed")?;
    println!("channel-abuser: a message sent without waiting for its reply did not hold the server");

    // 3. A channel id it was not given.
    check(Channel::open(9).err() == Some(ChannelError::NotGiven), "core described channel 9")?;
    syscalls::nb_send(CPtr::from_bits(abi::notify_slot(9)), MessageInfo::new(0, 0, 0, 0), [0; 4]);
    println!("channel-abuser: channel 9 was not given: core refuses it, and its slot holds no cap");

    // 4. Forged badges.
    let cnode = Cap::<sel4::cap_type::CNode>::from_bits(abi::CNODE);
    let spare = |slot: u64| cnode.relative_bits_with_depth(slot, 64);
    let free = abi::call_slot(abi::CHANNEL_IDS) + 1;
    let core_ep = spare(abi::ENDPOINT);
    let e = spare(free).mint(&core_ep, CapRights::all(), 0).err();
    check(e.is_some(), "core's endpoint was minted with another badge")?;
    let kv_ep = spare(abi::call_slot(0));
    let e2 = spare(free).mint(&kv_ep, CapRights::all(), abi::CALL_BADGE | 1).err();
    check(e2.is_some(), "the server's endpoint was minted with another client's badge")?;
    println!(
        "channel-abuser: minting core's endpoint with another badge: {:?}; the server's with another client's: {:?}",
        e.unwrap(),
        e2.unwrap()
    );

    // 5. Signals.
    let [_, mut seen, ..] = call(&kv, Request::Signals).map_err(|_| "Signals failed")?;
    for _ in 0..100 {
        kv.notify().map_err(|_| "no notify on channel 0")?;
        let [_, now, ..] = call(&kv, Request::Signals).map_err(|_| "Signals failed")?;
        check(now == seen + 1, "a signal followed by a call did not wake the server exactly once")?;
        seen = now;
    }
    for _ in 0..FLOOD {
        kv.notify().map_err(|_| "no notify on channel 0")?;
    }
    let [_, after, ..] = call(&kv, Request::Signals).map_err(|_| "Signals failed")?;
    let woke = after - seen;
    check((1..=FLOOD).contains(&woke), "a flood of signals woke the server never, or more often than sent")?;
    println!("channel-abuser: 100 signals each followed by a call woke the server 100 times; a flood of {FLOOD} woke it {woke} times");

    // 6. A server that never answers.
    let tcb = TcbSession::open(&mut Core, 64 << 10, 8).map_err(|_| "no TCB session")?;
    static GONE: AtomicBool = AtomicBool::new(false);
    let waiting = thread::spawn(tcb, 100, move || match mute.call(&Message::short(1, [0; 4], 0)) {
        Err(ChannelError::Gone) => GONE.store(true, Ordering::Release),
        other => println!("channel-abuser: FAILED: the call to mute returned {other:?}"),
    })
    .map_err(|_| "could not start a thread")?;
    for _ in 0..100 {
        syscalls::yield_now();
    }
    check(!waiting.is_finished(), "the call to a server that never answers returned")?;
    println!("channel-abuser: a thread waits on a server that never answers; the main thread goes on");
    mute.notify().map_err(|_| "no notify on channel 1")?;
    waiting.join().map_err(|_| "could not join the waiting thread")?;
    check(GONE.load(Ordering::Acquire), "the waiting call did not return Gone")?;
    println!("channel-abuser: mute ended for good: the call that waited on it returned Gone");
    call(&kv, Request::Bye).map_err(|_| "Bye failed")?;

    // 7. A raw call on a slot it was not given.
    let r = syscalls::call(CPtr::from_bits(abi::call_slot(9)), MessageInfo::new(0, 0, 0, 0), [0; 4]);
    let e = sel4::Error::decode(r.info.label(), |i| r.mrs.get(i).copied().unwrap_or(0));
    check(e.is_some(), "a raw call on an empty slot reached something")?;
    println!("channel-abuser: a raw call on channel 9's slot: the kernel answers {:?}", e.unwrap());
    println!("channel-abuser: all checks held");
    Ok(())
}
