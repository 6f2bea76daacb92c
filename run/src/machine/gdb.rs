//! Debugging a boot with gdb: QEMU starts halted with its gdb stub, and
//! one gdb command line loads the kernel's and the root task's symbols and
//! connects to it.

use std::path::Path;

use anyhow::{anyhow, Result};

/// The TCP port of QEMU's gdb stub (`-s` is `-gdb tcp::1234`).
pub const PORT: u16 = 1234;

/// QEMU arguments: the gdb stub on [`PORT`], and the CPU halted until gdb
/// says `continue`.
pub const QEMU_ARGS: [&str; 2] = ["-s", "-S"];

/// The shell command line that starts gdb with the symbols of `kernel_elf`
/// (the 64-bit kernel image: its symbols are the running kernel's), of
/// `root_task` and of each of `services` (all linked at the addresses they run
/// at, so no offset; services share theirs, each in its own address space, so
/// gdb's first match for an address is the first service's), attached to the
/// halted machine.
pub fn command_line(kernel_elf: &Path, root_task: &Path, services: &[&Path]) -> Result<String> {
    let mut words: Vec<String> = ["gdb", "-q", "-ex", "set confirm off", utf8(kernel_elf)?].map(String::from).to_vec();
    for elf in std::iter::once(root_task).chain(services.iter().copied()) {
        words.push("-ex".into());
        words.push(format!("add-symbol-file {}", gdb_word(utf8(elf)?)));
    }
    words.push("-ex".into());
    words.push(format!("target remote :{PORT}"));
    Ok(words.iter().map(|w| shell_word(w)).collect::<Vec<_>>().join(" "))
}

fn utf8(p: &Path) -> Result<&str> {
    p.to_str().ok_or_else(|| anyhow!("{} is no UTF-8 path gdb can be given", p.display()))
}

/// `text` as one word of a POSIX shell command line: as it is when it has
/// no character the shell treats specially, else in single quotes.
fn shell_word(text: &str) -> String {
    let plain = |c: char| c.is_ascii_alphanumeric() || "_-+=:,./@%".contains(c);
    if !text.is_empty() && text.chars().all(plain) {
        return text.to_string();
    }
    format!("'{}'", text.replace('\'', r"'\''"))
}

/// `text` as one word of a gdb command's arguments (gdb splits them at
/// white space and takes a backslash to escape the next character).
fn gdb_word(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_whitespace() || matches!(c, '\\' | '"' | '\'') {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_loads_both_symbol_files_and_connects() {
        let line = command_line(Path::new("/k/kernel.elf"), Path::new("/r/core-default"), &[]).unwrap();
        assert_eq!(
            line,
            "gdb -q -ex 'set confirm off' /k/kernel.elf -ex 'add-symbol-file /r/core-default' -ex 'target remote :1234'"
        );
        let line = command_line(Path::new("/k/kernel.elf"), Path::new("/r/core"), &[Path::new("/s/hello")]).unwrap();
        assert!(
            line.ends_with("-ex 'add-symbol-file /r/core' -ex 'add-symbol-file /s/hello' -ex 'target remote :1234'")
        );
    }

    #[test]
    fn odd_paths_stay_one_word() {
        let line = command_line(Path::new("/a b/kernel.elf"), Path::new("/c d/it's"), &[]).unwrap();
        assert!(line.contains(" '/a b/kernel.elf' "), "{line}");
        assert!(line.contains(r" 'add-symbol-file /c\ d/it\'\''s' "), "{line}");
        assert_eq!(shell_word(""), "''");
        assert_eq!(shell_word("a;b"), "'a;b'");
    }
}
