//! A bootable PC image: a hybrid GRUB ISO (BIOS and UEFI, CD or USB stick)
//! holding the kernel and core.

use std::path::Path;
use std::process::Command;

use crate::machine::firmware;

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
