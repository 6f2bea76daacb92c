//! The QEMU command line of the PC a scenario boots: TCG, serial on stdout,
//! isa-debug-exit at port 0xf4 (core's exit), no reboot; the kernel either
//! loaded by QEMU itself or by GRUB from a CD under a chosen firmware.

use std::path::Path;
use std::process::Command;

use crate::machine::{firmware, gdb};
use crate::scenario::Firmware;

/// The CPU of boots with QEMU's loader: the kernel configurations it boots
/// need HUGE_PAGE (1 GiB pages) and FSGSBASE_INST (the fsgsbase instructions).
pub const KERNEL_BOOT_CPU: &str = "qemu64,+fsgsbase,+pdpe1gb";

/// How the kernel gets into the machine.
pub enum Drive<'a> {
    /// QEMU's multiboot v1 loader: the 32-bit kernel copy with core as its module.
    Kernel { kernel32: &'a Path, root_task: &'a Path },
    /// A GRUB ISO in the CD drive, started by `firmware`; OVMF's writable
    /// variable store goes into `work_dir`.
    Cdrom { iso: &'a Path, firmware: Firmware, work_dir: &'a Path },
}

pub struct Pc<'a> {
    pub qemu: &'a Path,
    pub cpu: &'a str,
    pub ram_mib: u64,
    pub drive: Drive<'a>,
    /// Start halted, waiting for gdb on its stub.
    pub gdb: bool,
    /// Instruction counting (`-icount shift=0`): the virtual clock, and so the TSC, advances by
    /// one nanosecond per instruction executed, so timings are proportional to instructions
    /// and the same on every boot (caches and TLBs are not modelled).
    pub icount: bool,
    /// The guest's COM2 on a Unix socket at this path (QEMU listens; the run tool connects),
    /// for the lines a scenario sends and an interactive terminal.
    pub com2: Option<&'a Path>,
    /// QEMU's machine type (`pc`: i440FX, or `q35`).
    pub machine: &'a str,
    /// QEMU's monitor on a Unix socket at this path, for the screen dumps a scenario asks for.
    pub monitor: Option<&'a Path>,
}

/// The QEMU command line for `pc`.
pub fn command(pc: &Pc) -> anyhow::Result<Command> {
    let mut cmd = Command::new(pc.qemu);
    cmd.args(["-machine", &format!("{},accel=tcg", pc.machine)])
        .args(["-cpu", pc.cpu])
        .args(["-m", &format!("{}M", pc.ram_mib)])
        // Not -nographic: it already means `-serial mon:stdio` (so an added
        // `-serial stdio` is refused) and makes SeaBIOS print to the serial
        // port too, terminal resets included. This gives the kernel's and
        // core's output alone.
        .args(["-display", "none", "-serial", "stdio"])
        .arg("-no-reboot")
        .args(["-device", "isa-debug-exit,iobase=0xf4,iosize=0x04"]);
    match pc.monitor {
        // QEMU's monitor on a socket, for `screendump`.
        Some(socket) => cmd.args(["-monitor", &format!("unix:{},server=on,wait=off", socket.display())]),
        None => cmd.args(["-monitor", "none"]),
    };
    if let Some(socket) = pc.com2 {
        // The second `-serial` is COM2 (0x2f8, IRQ 3); COM1 stays the console on stdout.
        let chardev = format!("socket,id=com2,path={},server=on,wait=off", socket.display());
        cmd.args(["-chardev", &chardev, "-serial", "chardev:com2"]);
    }
    match &pc.drive {
        Drive::Kernel { kernel32, root_task } => {
            cmd.arg("-kernel").arg(kernel32).arg("-initrd").arg(root_task);
        }
        Drive::Cdrom { iso, firmware, work_dir } => {
            cmd.args(firmware::qemu_args(*firmware, work_dir)?).arg("-cdrom").arg(iso).args(["-boot", "d"]);
        }
    }
    if pc.gdb {
        cmd.args(gdb::QEMU_ARGS);
    }
    if pc.icount {
        // The RTC (core's interrupt watchdog ticks on it) on the virtual clock too, or its
        // interrupts would come by the host's time and move the counted figures.
        cmd.args(["-icount", "shift=0", "-rtc", "clock=vm"]);
    }
    Ok(cmd)
}

/// QEMU's `-cpu` for a kernel configuration (its autoconf.h text): the
/// baseline qemu64 plus the features the configuration requires, so a
/// configuration that needs none proves it boots without them.
pub fn cpu_for(autoconf: &str) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    fn args(cmd: &Command) -> Vec<String> {
        cmd.get_args().map(|a| a.to_string_lossy().into_owned()).collect()
    }

    #[test]
    fn kernel_boot_hands_core_to_the_kernel_as_its_module() {
        let pc = Pc {
            qemu: Path::new("qemu"),
            cpu: KERNEL_BOOT_CPU,
            ram_mib: 512,
            drive: Drive::Kernel { kernel32: Path::new("k32.elf"), root_task: Path::new("core") },
            gdb: false,
            icount: false,
            com2: None,
            machine: "pc",
            monitor: None,
        };
        let a = args(&command(&pc).unwrap()).join(" ");
        assert!(a.contains("-cpu qemu64,+fsgsbase,+pdpe1gb -m 512M"), "{a}");
        assert!(a.contains("-serial stdio") && a.contains("isa-debug-exit,iobase=0xf4"), "{a}");
        assert!(a.ends_with("-kernel k32.elf -initrd core"), "{a}");
        assert!(!a.contains("-icount"), "{a}");
        let halted = args(&command(&Pc { gdb: true, ..pc }).unwrap()).join(" ");
        assert!(halted.ends_with("-initrd core -s -S"), "{halted}");
        let drive = Drive::Kernel { kernel32: Path::new("k32.elf"), root_task: Path::new("core") };
        let counted = Pc {
            qemu: Path::new("qemu"),
            cpu: "qemu64",
            ram_mib: 512,
            drive,
            gdb: false,
            icount: true,
            com2: None,
            machine: "pc",
            monitor: None,
        };
        let counted = args(&command(&counted).unwrap()).join(" ");
        assert!(counted.ends_with("-initrd core -icount shift=0 -rtc clock=vm"), "{counted}");
    }

    #[test]
    fn bios_boot_from_the_cd_drive() {
        let work = std::env::temp_dir().join(format!("pc-test-{}", std::process::id()));
        let pc = Pc {
            qemu: Path::new("qemu"),
            cpu: "qemu64",
            ram_mib: 256,
            drive: Drive::Cdrom { iso: Path::new("core.iso"), firmware: Firmware::Bios, work_dir: &work },
            gdb: false,
            icount: false,
            com2: None,
            machine: "pc",
            monitor: None,
        };
        let a = args(&command(&pc).unwrap()).join(" ");
        assert!(a.ends_with("-cdrom core.iso -boot d"), "{a}");
        assert!(!a.contains("pflash") && !a.contains("-kernel"), "{a}");
    }

    #[test]
    fn cpu_follows_configuration() {
        assert_eq!(cpu_for("#define CONFIG_XAPIC 1\n#define CONFIG_FSGSBASE_MSR 1\n"), "qemu64");
        assert_eq!(
            cpu_for("#define CONFIG_HUGE_PAGE 1\n#define CONFIG_FSGSBASE_INST 1\n"),
            "qemu64,+pdpe1gb,+fsgsbase"
        );
        assert_eq!(cpu_for("#define CONFIG_HUGE_PAGE 0\n/* #define CONFIG_FSGSBASE_INST 1 */\n"), "qemu64");
        assert_eq!(cpu_for("#define CONFIG_HUGE_PAGE_X 1\n"), "qemu64");
    }

    #[test]
    fn shipped_configurations_get_the_cpu_they_need() {
        let cpu =
            |name: &str| cpu_for(&std::fs::read_to_string(sel4_kernel_build::config_header(name).unwrap()).unwrap());
        assert_eq!(cpu("pc-release"), "qemu64", "pc-release must not need optional CPU features");
        assert_eq!(cpu("release"), "qemu64,+pdpe1gb,+fsgsbase");
    }
}
