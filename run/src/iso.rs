//! `run iso`: a bootable PC image. A hybrid GRUB ISO (BIOS and UEFI, CD or
//! USB stick) holding the kernel and core, and scenario boots of it in QEMU
//! from `-cdrom` under SeaBIOS or OVMF (scenario line `boot iso-bios` or
//! `boot iso-uefi`).

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use clap::Args;

use crate::firmware;
use crate::qemu;
use crate::scenario::{self, Firmware, Scenario};
use crate::{boot, root_task, workspace};

/// Where the image puts the kernel and core (GRUB paths).
pub const KERNEL_PATH: &str = "/boot/kernel.elf";
pub const CORE_PATH: &str = "/boot/core";

/// GRUB modules installed on the image: what grub.cfg uses and what finds
/// it on a CD or USB stick (GRUB EFI's built-in configuration loads every
/// partition map module and complains about each one missing). Leaving out
/// the other ~240 modules, fonts, themes and locales, and compressing with
/// xz, shrinks the image about fourfold.
const GRUB_MODULES: &[&str] = &[
    "normal",
    "configfile",
    "multiboot2",
    "serial",
    "terminal",
    "iso9660",
    "fat",
    "search",
    "echo",
    "test",
    "halt",
    "reboot",
    "part_acorn",
    "part_amiga",
    "part_apple",
    "part_bsd",
    "part_dfly",
    "part_dvh",
    "part_gpt",
    "part_msdos",
    "part_plan",
    "part_sun",
    "part_sunpc",
];

/// GRUB's configuration: the serial port (COM1, 115200 8N1, where core
/// prints) and the screen both show GRUB; no menu delay; the kernel gets
/// core as module 0, the only one it loads. Multiboot2, not v1: only it
/// hands the kernel the ACPI RSDP, which UEFI firmware keeps out of the BIOS
/// area (kernel patch 0051).
pub fn grub_cfg() -> String {
    format!(
        "\
serial --unit=0 --speed=115200 --word=8 --parity=no --stop=1
terminal_input serial console
terminal_output serial console
set timeout=0
menuentry \"seL4 core\" {{
    multiboot2 {KERNEL_PATH}
    module2 {CORE_PATH} core
}}
"
    )
}

/// Writes the image tree (kernel, core, grub.cfg) into `staging`, emptied
/// first. The kernel ELF64 goes in as built (GRUB's multiboot2 loader takes
/// it; only QEMU's `-kernel` wants the 32-bit copy); core loses its debug
/// sections, which GRUB would load for nothing (the kernel loads segments).
fn stage(kernel_elf: &Path, root_task: &Path, staging: &Path) -> anyhow::Result<()> {
    if staging.exists() {
        std::fs::remove_dir_all(staging).map_err(|e| anyhow::anyhow!("cannot empty {}: {e}", staging.display()))?;
    }
    let grub = staging.join("boot").join("grub");
    std::fs::create_dir_all(&grub).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", grub.display()))?;
    let inside = |p: &str| staging.join(p.trim_start_matches('/'));
    std::fs::copy(kernel_elf, inside(KERNEL_PATH))
        .map_err(|e| anyhow::anyhow!("cannot copy kernel {}: {e}", kernel_elf.display()))?;
    let out = Command::new("objcopy")
        .arg("--strip-debug")
        .arg(root_task)
        .arg(inside(CORE_PATH))
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run objcopy: {e}"))?;
    anyhow::ensure!(
        out.status.success(),
        "objcopy --strip-debug {} failed: {}",
        root_task.display(),
        String::from_utf8_lossy(&out.stderr).trim()
    );
    std::fs::write(grub.join("grub.cfg"), grub_cfg())?;
    Ok(())
}

/// Builds a hybrid BIOS + UEFI ISO at `out` from the kernel ELF and core's
/// image with grub-mkrescue (installing GRUB and xorriso if missing), and
/// returns its size in bytes. The image boots from CD and, written to a USB
/// stick with `dd`, from the stick.
pub fn build(kernel_elf: &Path, root_task: &Path, out: &Path) -> anyhow::Result<u64> {
    firmware::ensure_iso_tools()?;
    let staging = out.with_extension("tree");
    stage(kernel_elf, root_task, &staging)?;
    if let Some(dir) = out.parent() {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("cannot create {}: {e}", dir.display()))?;
    }
    let result = Command::new("grub-mkrescue")
        .arg("--compress=xz")
        .args(["--locales=", "--fonts=", "--themes="])
        .arg(format!("--install-modules={}", GRUB_MODULES.join(" ")))
        .arg("-o")
        .arg(out)
        .arg(&staging)
        .output()
        .map_err(|e| anyhow::anyhow!("cannot run grub-mkrescue: {e}"))?;
    anyhow::ensure!(
        result.status.success(),
        "grub-mkrescue failed ({}):\n{}",
        result.status,
        String::from_utf8_lossy(&result.stderr).trim()
    );
    let size = std::fs::metadata(out).map_err(|e| anyhow::anyhow!("no ISO at {}: {e}", out.display()))?.len();
    Ok(size)
}

/// QEMU's `-cpu` for a kernel configuration (its autoconf.h text): the
/// baseline qemu64 plus the features the configuration requires, so a
/// configuration that needs none proves it boots without them.
pub fn qemu_cpu(autoconf: &str) -> String {
    let defined = |name: &str| {
        autoconf.lines().any(|l| {
            let mut w = l.split_whitespace();
            w.next() == Some("#define") && w.next() == Some(name) && w.next() != Some("0")
        })
    };
    let mut cpu = String::from("qemu64");
    // The kernel halts at boot without them (src/arch/x86/64/head.S:
    // huge_page_check, fsgsbase_enable).
    if defined("CONFIG_HUGE_PAGE") {
        cpu.push_str(",+pdpe1gb");
    }
    if defined("CONFIG_FSGSBASE_INST") {
        cpu.push_str(",+fsgsbase");
    }
    cpu
}

/// What a boot from the ISO needs.
pub struct IsoBoot<'a> {
    pub qemu: &'a Path,
    pub iso: &'a Path,
    pub firmware: Firmware,
    pub cpu: &'a str,
    pub ram_mib: u64,
    /// Where OVMF's writable variable store goes.
    pub work_dir: &'a Path,
}

/// The QEMU command line booting the ISO from the CD drive: serial on
/// stdout, isa-debug-exit at port 0xf4 (core's exit), no reboot.
pub fn command(b: &IsoBoot) -> anyhow::Result<Command> {
    let mut cmd = Command::new(b.qemu);
    cmd.args(["-machine", "pc,accel=tcg"])
        .args(["-cpu", b.cpu])
        .args(["-m", &format!("{}M", b.ram_mib)])
        .args(["-display", "none", "-serial", "stdio", "-monitor", "none"])
        .arg("-no-reboot")
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"])
        .args(firmware::qemu_args(b.firmware, b.work_dir)?)
        .arg("-cdrom")
        .arg(b.iso)
        .args(["-boot", "d"]);
    Ok(cmd)
}

/// Where scenario `name`'s ISO is built.
fn scenario_iso(name: &str) -> PathBuf {
    workspace::target_dir().join("iso").join(format!("{name}.iso"))
}

/// Builds kernel, core and the ISO of scenario `s`, boots it under
/// `firmware`, and checks serial output and exit status like every other
/// scenario (one PASS/FAIL line). Returns whether it passed.
pub fn run_scenario(s: &Scenario, firmware: Firmware, live: bool, prebuilt: Option<&Path>) -> anyhow::Result<bool> {
    let kernel = sel4_kernel_build::build_kernel(&s.config, &workspace::sel4_out_root())?;
    let root_task = root_task::prebuilt_or_build(s, prebuilt, None)?;
    let iso = scenario_iso(&s.name);
    let size = build(&kernel.kernel_elf, &root_task, &iso)?;
    eprintln!("run: {} is {:.1} MiB", iso.display(), size as f64 / (1 << 20) as f64);
    let autoconf = std::fs::read_to_string(sel4_kernel_build::config_header(&s.config)?)?;
    let cpu = qemu_cpu(&autoconf);
    let qemu = sel4_kernel_build::ensure_qemu()?;
    let work_dir = firmware::work_dir(&workspace::target_dir(), &s.name);
    let cmd =
        command(&IsoBoot { qemu: &qemu, iso: &iso, firmware, cpu: &cpu, ram_mib: s.ram_mib, work_dir: &work_dir })?;
    let label = format!("{} ({}, {} MiB, {firmware} from ISO)", s.name, s.config, s.ram_mib);
    eprintln!("run: booting {label}, cpu {cpu}, timeout {} s", s.timeout_secs);
    let out = qemu::run_command(cmd, Duration::from_secs(s.timeout_secs), live, &s.expect)?;
    Ok(boot::report(s, &label, live, &out))
}

#[derive(Args, Debug)]
pub struct IsoArgs {
    /// Scenario whose kernel configuration and root task go on the image.
    #[arg(default_value = "iso-bios")]
    pub scenario: String,
    /// Where to write the ISO (default: <target>/iso/core.iso).
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Kernel configuration, overriding the scenario's.
    #[arg(long)]
    pub config: Option<String>,
}

pub fn run(args: &IsoArgs) -> anyhow::Result<()> {
    let mut s = Scenario::load(&scenario::find(&workspace::scenario_dir(), &args.scenario)?)?;
    if let Some(config) = &args.config {
        sel4_kernel_build::config_header(config)?;
        s.config = config.clone();
    }
    let kernel = sel4_kernel_build::build_kernel(&s.config, &workspace::sel4_out_root())?;
    let root_task = root_task::build_scenario(&s, None)?;
    let out = args.output.clone().unwrap_or_else(|| workspace::target_dir().join("iso").join("core.iso"));
    let size = build(&kernel.kernel_elf, &root_task, &out)?;
    println!("ISO ready: {} ({size} bytes, {:.1} MiB)", out.display(), size as f64 / (1 << 20) as f64);
    println!("  kernel `{}`, root task `{}`; boots with BIOS and UEFI, serial COM1 115200 8N1", s.config, s.image);
    println!("  USB stick: dd if={} of=/dev/sdX bs=4M status=progress oflag=sync", out.display());
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grub_cfg_boots_kernel_with_core_as_module_zero() {
        let cfg = grub_cfg();
        assert!(cfg.contains("set timeout=0\n"));
        assert!(cfg.contains("serial --unit=0 --speed=115200"));
        assert!(cfg.contains("terminal_output serial console"));
        assert!(cfg.contains("terminal_input serial console"));
        let multiboot = cfg.find("multiboot2 /boot/kernel.elf").unwrap();
        let module = cfg.find("module2 /boot/core core").unwrap();
        assert!(multiboot < module);
        assert_eq!(cfg.matches("module2 ").count(), 1, "the kernel loads only module 0");
    }

    #[test]
    fn cpu_follows_configuration() {
        assert_eq!(qemu_cpu("#define CONFIG_XAPIC 1\n#define CONFIG_FSGSBASE_MSR 1\n"), "qemu64");
        assert_eq!(
            qemu_cpu("#define CONFIG_HUGE_PAGE 1\n#define CONFIG_FSGSBASE_INST 1\n"),
            "qemu64,+pdpe1gb,+fsgsbase"
        );
        assert_eq!(qemu_cpu("#define CONFIG_HUGE_PAGE 0\n/* #define CONFIG_FSGSBASE_INST 1 */\n"), "qemu64");
        assert_eq!(qemu_cpu("#define CONFIG_HUGE_PAGE_X 1\n"), "qemu64");
    }

    #[test]
    fn shipped_configurations_get_the_cpu_they_need() {
        let cpu =
            |name: &str| qemu_cpu(&std::fs::read_to_string(sel4_kernel_build::config_header(name).unwrap()).unwrap());
        assert_eq!(cpu("pc-release"), "qemu64", "pc-release must not need optional CPU features");
        assert_eq!(cpu("release"), "qemu64,+pdpe1gb,+fsgsbase");
    }

    #[test]
    fn stage_lays_out_the_image_tree() {
        let dir = std::env::temp_dir().join(format!("iso-stage-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        // Any ELF serves as core here: objcopy must keep it an ELF.
        let elf = std::env::current_exe().unwrap();
        let kernel = dir.join("kernel.elf");
        std::fs::write(&kernel, b"kernel bytes").unwrap();
        let staging = dir.join("tree");
        std::fs::create_dir_all(staging.join("stale")).unwrap();
        stage(&kernel, &elf, &staging).unwrap();
        assert!(!staging.join("stale").exists(), "staging is emptied first");
        assert_eq!(std::fs::read(staging.join("boot/kernel.elf")).unwrap(), b"kernel bytes");
        assert_eq!(std::fs::read_to_string(staging.join("boot/grub/grub.cfg")).unwrap(), grub_cfg());
        let core = std::fs::read(staging.join("boot/core")).unwrap();
        assert_eq!(&core[..4], b"\x7fELF");
        assert!(core.len() as u64 <= std::fs::metadata(&elf).unwrap().len());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
