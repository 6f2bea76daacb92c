//! core, the root task (freestanding binary, feature `root-task`): reports
//! what the kernel handed over at boot, mirrors every boot untyped in its
//! untyped pool and range allocators, extends its CSpace, and then runs the
//! scenario it was built for (env `CORE_RUN` at build time; the run tool
//! sets it from the scenario file): `demo` (default), `seed-gap`,
//! `placement`, `churn`, `scale` or `trace`.
#![no_std]
#![no_main]

#[path = "bin_audit.rs"]
mod audit;
#[path = "bin_cspace.rs"]
mod cspace;
#[path = "bin_device.rs"]
mod device;
#[path = "bin_kernel_check.rs"]
mod kernel_check;
#[path = "bin_kernel.rs"]
mod kernel_impl;
#[path = "bin_placement.rs"]
mod placement_run;
#[path = "bin_run.rs"]
mod run;
#[path = "bin_scale.rs"]
mod scale;
#[path = "bin_seed.rs"]
mod seed;
#[path = "bin_size.rs"]
mod size;
#[path = "bin_state.rs"]
mod state;
#[path = "bin_trace.rs"]
mod trace_run;

use sel4::BootInfo;
use sel4_root_task::{declare_main, println};

use run::{Runner, Stop};

declare_main!(main);

/// The scenario this image runs.
const RUN: &str = match option_env!("CORE_RUN") {
    Some(r) => r,
    None => "demo",
};

#[allow(dead_code)] // fields are read through Debug when main's error is reported
#[derive(Debug)]
enum Error {
    Check(kernel_check::CheckError),
    Setup(state::SetupError),
    CSpace(cspace::CSpaceError),
    Stop(Stop),
    UnknownRun(&'static str),
}

impl From<Stop> for Error {
    fn from(s: Stop) -> Self {
        Error::Stop(s)
    }
}

/// Second-level CNodes of 2^16 slots each run needs.
fn level2_for(run: &str) -> usize {
    match run {
        "scale" => 7,
        // The trace replay starts from the bare boot state, as the host replay does.
        "trace" => 0,
        _ => 1,
    }
}

fn main(bi: &BootInfo<'static>) -> Result<(), Error> {
    println!("core: seL4 root task, kernel config {}, run `{RUN}`", sel4_config::NAME);
    print_summary(bi);
    if RUN == "demo" {
        // Before core owns the untypeds: it borrows one small untyped and returns it empty.
        kernel_check::check_kernel_interface(bi).map_err(Error::Check)?;
        println!("kernel interface check: ok");
    }
    let t0 = run::rdtsc();
    let level2 = level2_for(RUN);
    let core = state::setup(bi, level2).map_err(|e| {
        match e {
            state::SetupError::Capacity { what, have, need } => println!(
                "error: core cannot mirror bootinfo: capacity of {what} is {have}, bootinfo needs {need} ({} short)",
                need.saturating_sub(have)
            ),
            ref e => println!("error: core cannot mirror bootinfo: {e:?}"),
        }
        Error::Setup(e)
    })?;
    state::print_untypeds(&core, bi);
    let mut runner = Runner::new(core)?;
    if level2 > 0 {
        let ext = cspace::extend(&mut runner.core, bi, level2).map_err(Error::CSpace)?;
        println!(
            "cspace: top CNode at {:#x}, {} second-level CNodes of 2^16 slots at {:x?}; {} cap slots managed",
            ext.top_cnode_paddr,
            ext.level2_paddrs.len(),
            &ext.level2_paddrs[..],
            runner.core.ours.placer.caps.capacity()
        );
    }
    let t1 = run::rdtsc();
    println!(
        "setup: {} cycles ({} us at {} MHz) from mirror to two-level CSpace",
        t1 - t0,
        (t1 - t0) / bi.tsc_mhz().max(1),
        bi.tsc_mhz()
    );
    match RUN {
        "demo" => {
            seed::seed_gap(&mut runner)?;
            device::vga(&mut runner)?;
        }
        "seed-gap" => seed::seed_gap(&mut runner)?,
        "churn" => scale::churn(&mut runner, bi)?,
        "scale" => scale::scale(&mut runner, bi)?,
        "trace" => trace_run::replay(&mut runner)?,
        "placement" => {
            placement_run::placement(&mut runner)?;
            device::vga(&mut runner)?;
            placement_run::errors(&mut runner)?;
        }
        other => return Err(Error::UnknownRun(other)),
    }
    if !matches!(RUN, "demo" | "seed-gap") {
        // The seed case dumps its map while its objects are live.
        run::dump_memory_map(&runner.core);
    }
    if let Some(a) = &runner.audit {
        println!(
            "audit: {} frame addresses and {} untyped watermarks checked against the kernel: all agree",
            a.frames_checked, a.watermarks_checked
        );
    }
    println!("core: done");
    Ok(())
}

fn print_summary(bi: &BootInfo) {
    let region = |r: sel4::SlotRegion| (r.start, r.end, r.len());
    println!("bootinfo: node {} of {}", bi.node_id(), bi.num_nodes());
    println!("  IPC buffer        {:#x}", bi.ipc_buffer());
    let (s, e, n) = region(bi.empty());
    println!("  empty slots       [{s:#x}, {e:#x}) {n} slots");
    let (s, e, n) = region(bi.untyped());
    println!("  untyped slots     [{s:#x}, {e:#x}) {n} untypeds");
    let (s, e, n) = region(bi.user_image_frames());
    println!("  image frames      [{s:#x}, {e:#x}) {n}");
    let (s, e, n) = region(bi.user_image_paging());
    println!("  image paging      [{s:#x}, {e:#x}) {n}");
    println!("  CNode size bits   {}", bi.init_thread_cnode_size_bits());
    println!("  TSC               {} MHz", bi.tsc_mhz());
}
