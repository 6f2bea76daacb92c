//! How a scenario's machine gets the kernel (`boot` line): loaded by QEMU
//! itself, or by GRUB from an ISO on a CD drive under one of the firmwares.

use std::fmt;

/// How a scenario's machine gets the kernel (`boot` line of a scenario).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Medium {
    /// QEMU loads kernel and core itself (`-kernel`, `-initrd`).
    #[default]
    Kernel,
    /// GRUB from an ISO on a CD drive, started by this firmware.
    Iso(Firmware),
}

impl Medium {
    /// Parses `kernel`, `iso-bios` or `iso-uefi`.
    pub fn parse(text: &str) -> Result<Medium, String> {
        if text == "kernel" {
            return Ok(Medium::Kernel);
        }
        text.strip_prefix("iso-")
            .and_then(|f| Firmware::parse(f).ok())
            .map(Medium::Iso)
            .ok_or_else(|| format!("boot wants `kernel`, `iso-bios` or `iso-uefi`, not `{text}`"))
    }
}

/// Firmware the machine starts with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Firmware {
    /// SeaBIOS, QEMU's default: GRUB's i386-pc El Torito image boots.
    Bios,
    /// OVMF: GRUB's x86_64-efi image (`EFI/BOOT/BOOTX64.EFI`) boots.
    Uefi,
}

impl Firmware {
    pub const ALL: [Firmware; 2] = [Firmware::Bios, Firmware::Uefi];

    pub fn name(self) -> &'static str {
        match self {
            Firmware::Bios => "bios",
            Firmware::Uefi => "uefi",
        }
    }

    pub fn parse(text: &str) -> Result<Firmware, String> {
        Firmware::ALL
            .into_iter()
            .find(|f| f.name() == text)
            .ok_or_else(|| format!("unknown firmware `{text}`; known: bios, uefi"))
    }
}

impl fmt::Display for Firmware {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media() {
        assert_eq!(Medium::parse("kernel"), Ok(Medium::Kernel));
        assert_eq!(Medium::parse("iso-bios"), Ok(Medium::Iso(Firmware::Bios)));
        assert_eq!(Medium::parse("iso-uefi"), Ok(Medium::Iso(Firmware::Uefi)));
        assert!(Medium::parse("iso").unwrap_err().contains("iso-uefi"));
        assert!(Medium::parse("uefi").is_err());
    }

    #[test]
    fn firmware_names_round_trip() {
        for f in Firmware::ALL {
            assert_eq!(Firmware::parse(f.name()), Ok(f));
        }
        assert!(Firmware::parse("coreboot").unwrap_err().contains("bios, uefi"));
    }
}
