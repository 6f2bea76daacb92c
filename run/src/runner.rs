//! Runs a scenario: builds what it names, boots it (by QEMU's loader or
//! from a GRUB ISO; once per trace when it compares traces), judges each
//! boot and prints the report. Errors are problems before a boot (builds,
//! QEMU missing); a boot that goes wrong is a failed verdict.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context, Result};

use crate::agree::{self, Agreement};
use crate::bench;
use crate::image::{kernel, root_task, services};
use crate::machine::pc::{self, Drive, Pc};
use crate::machine::qemu::{self, Outcome};
use crate::machine::{firmware, gdb, iso};
use crate::scenario::{requests, Medium, Scenario};
use crate::verdict::{render, Verdict};
use crate::workspace;

/// How to run a scenario.
#[derive(Debug, Clone, Copy, Default)]
pub struct Options<'a> {
    /// Show the serial console live.
    pub live: bool,
    /// Boot this prebuilt root-task ELF instead of building the scenario's image.
    pub root_task: Option<&'a Path>,
    /// Compare this trace instead of the scenario's `compare-traces` folder.
    pub trace: Option<&'a Path>,
    /// Start QEMU halted for gdb, print the gdb command line, and wait for
    /// QEMU without a timeout (the serial console is shown live).
    pub gdb: bool,
    /// Count instructions (`-icount shift=0`): timings proportional to instructions, the same
    /// on every boot.
    pub icount: bool,
    /// Lines typed at the terminal go to the guest's COM2; no timeout.
    pub interactive: bool,
}

/// Runs scenario `s` and says whether every boot passed.
pub fn run(s: &Scenario, o: &Options) -> Result<bool> {
    if o.trace.is_some() || s.compare_traces.is_some() {
        anyhow::ensure!(o.root_task.is_none(), "--root-task and a trace comparison exclude each other");
        anyhow::ensure!(
            !o.gdb || o.trace.is_some(),
            "scenario `{}` boots once per trace; choose the one to debug with --trace FILE",
            s.name
        );
        return compare_traces(s, o.trace, o.live, o.gdb);
    }
    let booted = boot(
        s,
        &Boot {
            live: o.live,
            root_task: o.root_task,
            gdb: o.gdb,
            icount: o.icount,
            interactive: o.interactive,
            ..Boot::default()
        },
    )?;
    if o.interactive {
        // A person typed: the scenario's expectations were not what they followed.
        return Ok(true);
    }
    if let Some(kind) = &s.bench {
        if let Err(e) = bench::report(kind, &booted.outcome.log) {
            println!("FAIL {}: {e:#}", booted.label);
            return Ok(false);
        }
    }
    Ok(booted.verdict.passed())
}

/// One boot of a scenario.
#[derive(Debug, Clone, Copy, Default)]
pub struct Boot<'a> {
    pub live: bool,
    /// Boot this prebuilt root-task ELF instead of building the scenario's image.
    pub root_task: Option<&'a Path>,
    /// Embed this trace in core's image.
    pub trace: Option<&'a Path>,
    /// Words after the scenario's name in the report's label (e.g. the trace).
    pub tag: Option<&'a str>,
    /// Words inside the label's parentheses (e.g. a feature added).
    pub note: Option<&'a str>,
    /// Halt for gdb and wait without a timeout (see [`Options::gdb`]).
    pub gdb: bool,
    /// Count instructions (see [`Options::icount`]).
    pub icount: bool,
    /// Lines typed at the terminal go to the guest's COM2 (see [`Options::interactive`]).
    pub interactive: bool,
}

/// A finished boot, judged and reported.
pub struct Booted {
    pub label: String,
    pub verdict: Verdict,
    pub outcome: Outcome,
}

/// Builds kernel and root task, boots scenario `s` once, judges the boot
/// and prints its report.
pub fn boot(s: &Scenario, b: &Boot) -> Result<Booted> {
    // What a request script adds to the scenario's expectations.
    let s = &requests::expanded(s)?;
    let kernel = kernel::build(&s.config)?;
    let root_task = root_task::prebuilt_or_build(s, b.root_task, b.trace)?;
    let qemu = sel4_kernel_build::ensure_qemu()?;
    let mut notes = vec![s.config.clone(), format!("{} MiB", s.ram_mib)];
    if s.machine != "pc" {
        notes.push(s.machine.clone());
    }
    if b.icount {
        notes.push("icount".into());
    }
    notes.extend(b.note.map(str::to_string));
    // Under gdb, or typing, the user decides when the run ends (Ctrl-C).
    let timeout = (!b.gdb && !b.interactive).then(|| Duration::from_secs(s.timeout_secs));
    let live = b.live || b.gdb;
    let until = match timeout {
        Some(t) => format!("timeout {} s", t.as_secs()),
        None => "no timeout".to_string(),
    };
    // COM2 on a socket when the scenario sends lines or a person types them.
    let socket = workspace::target_dir().join("tmp").join(format!("com2-{}-{}.sock", s.name, std::process::id()));
    let wants_com2 = !s.send.is_empty() || b.interactive;
    let com2 = wants_com2.then_some(socket.as_path());
    let monitor_socket = socket.with_extension("monitor");
    let monitor = (!s.screendump.is_empty()).then_some(monitor_socket.as_path());
    let (label, cmd) = match s.medium {
        Medium::Kernel => {
            let label = label(s, b.tag, &notes);
            eprintln!("run: booting {label}, {until}");
            let drive = Drive::Kernel { kernel32: &kernel.kernel32_elf, root_task: &root_task };
            let pc = Pc {
                qemu: &qemu,
                cpu: pc::KERNEL_BOOT_CPU,
                ram_mib: s.ram_mib,
                drive,
                gdb: b.gdb,
                icount: b.icount,
                com2,
                machine: &s.machine,
                monitor,
            };
            (label, pc::command(&pc)?)
        }
        Medium::Iso(firmware) => {
            let iso = workspace::target_dir().join("iso").join(format!("{}.iso", s.name));
            let size = iso::build(&kernel.kernel_elf, &root_task, &iso)?;
            eprintln!("run: {} is {:.1} MiB", iso.display(), size as f64 / (1 << 20) as f64);
            let autoconf = std::fs::read_to_string(sel4_kernel_build::config_header(&s.config)?)?;
            let cpu = pc::cpu_for(&autoconf);
            let work_dir = firmware::work_dir(&workspace::target_dir(), &s.name);
            notes.push(format!("{firmware} from ISO"));
            let label = label(s, b.tag, &notes);
            eprintln!("run: booting {label}, cpu {cpu}, {until}");
            let drive = Drive::Cdrom { iso: &iso, firmware, work_dir: &work_dir };
            let pc = Pc {
                qemu: &qemu,
                cpu: &cpu,
                ram_mib: s.ram_mib,
                drive,
                gdb: b.gdb,
                icount: b.icount,
                com2,
                machine: &s.machine,
                monitor,
            };
            (label, pc::command(&pc)?)
        }
    };
    if b.gdb {
        eprintln!("run: QEMU waits for gdb on port {}; attach with (Ctrl-C here ends QEMU):", gdb::PORT);
        // The services' ELFs with their debug information (core's image holds stripped copies).
        let mut services = Vec::new();
        for name in s.services.iter().map(|x| x.name.as_str()) {
            let elf = services::build(s, name)?;
            if !services.contains(&elf) {
                services.push(elf);
            }
        }
        let services: Vec<&Path> = services.iter().map(PathBuf::as_path).collect();
        println!("{}", gdb::command_line(&kernel.kernel_elf, &root_task, &services)?);
    }
    let dumps: Vec<(usize, PathBuf)> = s.screendump.iter().map(|(n, f)| (*n, workspace::root().join(f))).collect();
    let feed = (com2.is_some() || monitor.is_some()).then(|| qemu::Com2 {
        socket: com2.map(Path::to_path_buf),
        monitor: monitor.map(Path::to_path_buf),
        screendumps: dumps.clone(),
        // A person typing replaces the scenario's lines.
        sends: if b.interactive { Vec::new() } else { s.send.clone() },
        expects: s.expect.clone(),
        interactive: b.interactive,
    });
    if let Some(dir) = socket.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let outcome = qemu::run(cmd, timeout, live || b.interactive, feed);
    let _ = std::fs::remove_file(&socket);
    let _ = std::fs::remove_file(&monitor_socket);
    let outcome = outcome?;
    let verdict = Verdict::judge(s, &outcome);
    print!("{}", render::report(&verdict, &s.name, &label, &outcome, live));
    Ok(Booted { label, verdict, outcome })
}

/// `NAME[ TAG] (NOTE, NOTE, ...)`, how reports name a boot.
fn label(s: &Scenario, tag: Option<&str>, notes: &[String]) -> String {
    let tag = tag.map(|t| format!(" {t}")).unwrap_or_default();
    format!("{}{tag} ({})", s.name, notes.join(", "))
}

/// Boots `s` once per trace (`given`, else its `compare-traces` folder) and
/// compares core's log with the host model's: one more PASS/FAIL line per
/// trace. Says whether every boot and every comparison passed.
fn compare_traces(s: &Scenario, given: Option<&Path>, live: bool, gdb: bool) -> Result<bool> {
    let mut all = true;
    for trace in agree::traces(s, given)? {
        let text = std::fs::read_to_string(&trace).with_context(|| format!("cannot read {}", trace.display()))?;
        let stem = stem(&trace);
        let booted = boot(s, &Boot { live, trace: Some(&trace), tag: Some(&stem), gdb, ..Boot::default() })?;
        let label = &booted.label;
        match agree::check(&booted.outcome.log, &text) {
            Ok(Agreement::Agree { operations }) => {
                println!("PASS {label}: kernel and host model agree on all {operations} operations and the summary")
            }
            Ok(Agreement::Disagree(d)) => {
                all = false;
                println!("FAIL {label}: kernel and host model disagree: {d}");
            }
            Err(e) => {
                all = false;
                println!("FAIL {label}: cannot compare: {e:#}");
            }
        }
        all &= booted.verdict.passed();
    }
    Ok(all)
}

fn stem(path: &Path) -> String {
    path.file_stem().map(|x| x.to_string_lossy().into_owned()).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_name_scenario_tag_and_notes() {
        let s = crate::scenario::overrides::load("boot", &Default::default()).unwrap();
        let notes = ["debug".to_string(), "512 MiB".to_string()];
        assert_eq!(label(&s, None, &notes), "boot (debug, 512 MiB)");
        assert_eq!(label(&s, Some("churn"), &notes), "boot churn (debug, 512 MiB)");
        assert_eq!(stem(Path::new("a/churn.trace")), "churn");
    }
}
