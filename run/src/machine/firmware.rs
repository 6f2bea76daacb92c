//! PC firmware for QEMU boots from a CD image: the QEMU arguments selecting
//! SeaBIOS (QEMU's built-in BIOS) or OVMF (UEFI), and the Debian packages
//! that provide OVMF and the ISO tools.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::scenario::Firmware;

/// OVMF as Debian's `ovmf` package installs it: a read-only code image and
/// a template of the variable store that each boot gets a writable copy of.
const OVMF_CODE: &str = "/usr/share/OVMF/OVMF_CODE_4M.fd";
const OVMF_VARS: &str = "/usr/share/OVMF/OVMF_VARS_4M.fd";

/// Programs and files the ISO build and UEFI boots need, with the Debian
/// package providing each. grub-mkrescue needs both GRUB platforms to make
/// a hybrid image, xorriso to write it and mtools for its EFI partition.
const ISO_NEEDS: &[(&str, &str)] = &[
    ("grub-mkrescue", "grub-common"),
    ("xorriso", "xorriso"),
    ("mformat", "mtools"),
    ("/usr/lib/grub/i386-pc/multiboot.mod", "grub-pc-bin"),
    ("/usr/lib/grub/x86_64-efi/multiboot.mod", "grub-efi-amd64-bin"),
    (OVMF_CODE, "ovmf"),
    (OVMF_VARS, "ovmf"),
];

/// What of [`ISO_NEEDS`] is missing, as (what, package) pairs.
fn missing_iso_tools() -> Vec<(String, &'static str)> {
    ISO_NEEDS
        .iter()
        .filter(|(what, _)| {
            if what.starts_with('/') {
                !Path::new(what).is_file()
            } else {
                sel4_kernel_build::find_program(what).is_none()
            }
        })
        .map(|(what, pkg)| (what.to_string(), *pkg))
        .collect()
}

/// Makes sure GRUB (BIOS and EFI), xorriso, mtools and OVMF are installed,
/// installing the missing Debian packages with apt-get.
pub fn ensure_iso_tools() -> anyhow::Result<()> {
    sel4_kernel_build::ensure_installed(missing_iso_tools)?;
    Ok(())
}

/// QEMU arguments that start the machine with `firmware`. For UEFI a fresh
/// copy of OVMF's variable store is written into `work_dir`, so every boot
/// starts from the same state (and the template stays untouched).
pub fn qemu_args(firmware: Firmware, work_dir: &Path) -> anyhow::Result<Vec<OsString>> {
    match firmware {
        // SeaBIOS is QEMU's default firmware.
        Firmware::Bios => Ok(Vec::new()),
        Firmware::Uefi => {
            std::fs::create_dir_all(work_dir)
                .map_err(|e| anyhow::anyhow!("cannot create {}: {e}", work_dir.display()))?;
            let vars = work_dir.join("OVMF_VARS.fd");
            std::fs::copy(OVMF_VARS, &vars)
                .map_err(|e| anyhow::anyhow!("cannot copy {OVMF_VARS} to {}: {e}", vars.display()))?;
            Ok(pflash_args(Path::new(OVMF_CODE), &vars))
        }
    }
}

fn pflash_args(code: &Path, vars: &Path) -> Vec<OsString> {
    let drive = |extra: &str, unit: u32, file: &Path| {
        let mut s = OsString::from(format!("if=pflash,format=raw,unit={unit},{extra}file="));
        s.push(file);
        s
    };
    vec!["-drive".into(), drive("readonly=on,", 0, code), "-drive".into(), drive("", 1, vars)]
}

/// Where UEFI boots of scenario `name` keep their variable store copy.
pub fn work_dir(target: &Path, name: &str) -> PathBuf {
    target.join("firmware").join(name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bios_needs_no_arguments() {
        let dir = std::env::temp_dir().join(format!("firmware-test-{}", std::process::id()));
        assert!(qemu_args(Firmware::Bios, &dir).unwrap().is_empty());
        assert!(!dir.exists(), "a BIOS boot must not create files");
    }

    #[test]
    fn uefi_code_is_read_only_and_vars_writable() {
        let args = pflash_args(Path::new("/c/CODE.fd"), Path::new("/w/VARS.fd"));
        let args: Vec<String> = args.iter().map(|a| a.to_string_lossy().into_owned()).collect();
        assert_eq!(
            args,
            [
                "-drive",
                "if=pflash,format=raw,unit=0,readonly=on,file=/c/CODE.fd",
                "-drive",
                "if=pflash,format=raw,unit=1,file=/w/VARS.fd"
            ]
        );
    }
}
