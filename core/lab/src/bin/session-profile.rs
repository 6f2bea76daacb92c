//! session-profile: core's session logic on the host, over the kernel model, for callgrind
//! (`cargo run -p run -- profile`): one operation of a child's RAM session, `rounds` times in
//! the function `profiled`, which the profile collects alone. Operations: `usage`,
//! `alloc-free`, `alloc-caps-free`, `alloc-map-free` (4 KiB, as `session-bench` times them on
//! the real kernel). The session logic runs as in core; the kernel invocations are the
//! model's, which a profile lists apart by name (`sel4_kernel_model`).

use std::process::ExitCode;

use sel4_core::kernel::Slot;
use sel4_core::session::{Client, Sessions};
use sel4_core_lab::child_model::ModelPd;
use sel4_core_lab::rig::{Options, Rig};
use sel4_core_lab::trace::untypeds;
use sel4_core_protocol::answer::{Answer, OpenReply, RamAllocReply};
use sel4_core_protocol::{CacheAttr, Handle, Request, SessionKind};

const CNODE_BITS: u8 = 10;
/// Where the child's image's page table is (the model holds it as the child's own).
const OWN_TABLE: u64 = 0x3ff0_0000;
const VADDR: u64 = 0x1000_0000;
const CAP_SLOT: u64 = 32;

/// One operation, as its requests.
fn op(kind: &str, pd: &mut ModelPd<'_>, sessions: &mut Sessions, client: &Client, s: Handle) -> Result<(), String> {
    let mut serve = |r: Request| sessions.serve(pd, client, r).map_err(|e| format!("{r:?}: {e:?}"));
    match kind {
        "usage" => serve(Request::Usage { session: s }).map(drop),
        _ => {
            let alloc =
                Request::RamAlloc { session: s, size: 4096, align_log2: 12, cache: CacheAttr::Cached, range: None };
            let d = RamAllocReply::from_words(serve(alloc)?.as_slice()).ok_or("RamAlloc: no reply")?.dataspace;
            match kind {
                "alloc-free" => {}
                "alloc-caps-free" => drop(serve(Request::RamCaps { session: s, dataspace: d, first_slot: CAP_SLOT })?),
                "alloc-map-free" => drop(serve(Request::RamMap { session: s, dataspace: d, vaddr: VADDR })?),
                other => return Err(format!("unknown operation `{other}`")),
            }
            serve(Request::RamFree { session: s, dataspace: d }).map(drop)
        }
    }
}

/// The rounds the profile collects: nothing else runs inside this function.
#[inline(never)]
fn profiled(
    kind: &str,
    rounds: u64,
    pd: &mut ModelPd<'_>,
    sessions: &mut Sessions,
    client: &Client,
    s: Handle,
) -> Result<(), String> {
    for _ in 0..rounds {
        op(kind, pd, sessions, client, s)?;
    }
    Ok(())
}

fn run(kind: &str, rounds: u64) -> Result<(), String> {
    let boot: Vec<_> = untypeds::parse(sel4_core_lab::shipped::QEMU_512M_UNTYPEDS)
        .collect::<Result<_, _>>()
        .map_err(|e| e.to_string())?;
    let boot: Vec<_> = boot.into_iter().filter(|u| u.kernel_aligned()).collect();
    let opts = Options { object_slots: 1 << 14, range_blocks: 1 << 12, spare_slots: 1 << CNODE_BITS };
    let mut rig = Rig::new(&boot, opts)?;
    let cnode: Slot = rig.spare_slots();
    let (kernel, ours) = rig.ours()?;
    let mut pd = ModelPd::new(kernel, ours, cnode, CNODE_BITS, OWN_TABLE);
    let mut sessions = Sessions::default();
    let client = Client { cnode_bits: CNODE_BITS, prio: 100, ram_left: 1 << 30, caps_left: 1 << 20 };
    let open = Request::Open { kind: SessionKind::Ram, ram_quota: 16 << 20, cap_quota: 256 };
    let words = sessions.serve(&mut pd, &client, open).map_err(|e| format!("Open: {e:?}"))?;
    let s = OpenReply::from_words(words.as_slice()).ok_or("Open: no reply")?.session;
    // Warm: the first map places the page table, which stays with the session.
    op(kind, &mut pd, &mut sessions, &client, s)?;
    profiled(kind, rounds, &mut pd, &mut sessions, &client, s)
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(kind), Some(rounds)) = (args.first(), args.get(1).and_then(|r| r.parse().ok())) else {
        eprintln!("usage: session-profile usage|alloc-free|alloc-caps-free|alloc-map-free ROUNDS");
        return ExitCode::FAILURE;
    };
    match run(kind, rounds) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("session-profile: {e}");
            ExitCode::FAILURE
        }
    }
}
