//! channel-pong: the server end of the channel benchmark. Phase 1 (the call floor): a raw
//! `seL4_ReplyRecv` loop on its endpoint, answering `WARM + ROUNDS` calls with one word.
//! Phase 2 (the signal floor): `WARM + ROUNDS` times a raw wait on its notification and a raw
//! signal back. Phase 3: the runtime's `channel::serve`, answering calls with one word and
//! signals with a signal back, until the `STOP` call.
#![no_std]
#![no_main]

use channel_bench::{ROUNDS, STOP, WARM};
use sel4::{syscalls, CPtr, MessageInfo};
use sel4_core_protocol::abi;
use sel4_runtime::channel::{self, Channel, Handler, Message};
use sel4_runtime::declare_main;

declare_main!(main);

struct Pong {
    channel: Channel,
    stopped: bool,
}

impl Handler for Pong {
    fn notified(&mut self, _channel: u8) {
        let _ = self.channel.notify();
    }

    #[inline]
    fn called(&mut self, _channel: u8, message: &Message) -> Result<Message, Option<u64>> {
        self.stopped = message.label == STOP;
        Ok(Message::short(0, [message.word(0) + 1, 0, 0, 0], 1))
    }

    fn done(&self) -> bool {
        self.stopped
    }
}

fn main(_index: usize) -> Result<(), &'static str> {
    let channel = Channel::open(0).map_err(|_| "no channel 0")?;
    let ep = CPtr::from_bits(abi::RECEIVE_ENDPOINT);
    let mut m = syscalls::recv(ep);
    for _ in 1..WARM + ROUNDS {
        m = syscalls::reply_recv(ep, MessageInfo::new(0, 0, 0, 1), [m.mrs[0] + 1, 0, 0, 0]);
    }
    syscalls::reply(MessageInfo::new(0, 0, 0, 1), [m.mrs[0] + 1, 0, 0, 0]);
    let (own, peer) = (CPtr::from_bits(abi::NOTIFICATION), CPtr::from_bits(abi::notify_slot(0)));
    for _ in 0..WARM + ROUNDS {
        syscalls::recv(own);
        syscalls::nb_send(peer, MessageInfo::new(0, 0, 0, 0), [0; 4]);
    }
    channel::serve(&mut Pong { channel, stopped: false });
    Ok(())
}
