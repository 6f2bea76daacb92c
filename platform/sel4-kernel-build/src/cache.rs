//! Content hashes and stamp files that decide whether a cached step (source
//! copy, libsel4 headers, kernel build) must be redone, and the lock that
//! keeps concurrent builds (e.g. two build scripts) from sharing a step.

use std::path::{Path, PathBuf};

use xxhash_rust::xxh3::Xxh3;

use crate::Error;

/// Accumulates everything a cached step depends on: file contents, whole
/// trees and plain strings (flags, versions). Names are hashed along with
/// contents so that a renamed or reordered input changes the key too.
pub struct Key(Xxh3);

impl Default for Key {
    fn default() -> Self {
        Self::new()
    }
}

impl Key {
    pub fn new() -> Self {
        Key(Xxh3::new())
    }

    fn field(&mut self, bytes: &[u8]) {
        // Length prefix keeps ("ab","c") and ("a","bc") apart.
        self.0.update(&(bytes.len() as u64).to_le_bytes());
        self.0.update(bytes);
    }

    pub fn text(&mut self, s: &str) -> &mut Self {
        self.field(s.as_bytes());
        self
    }

    /// Hashes a file's name (as given by `label`) and contents.
    pub fn file(&mut self, label: &str, path: &Path) -> Result<&mut Self, Error> {
        let data = std::fs::read(path).map_err(|e| Error::Missing(format!("cannot read {}: {e}", path.display())))?;
        self.field(label.as_bytes());
        self.field(&data);
        Ok(self)
    }

    /// Hashes every regular file below `root` (relative path and contents) in
    /// a fixed order.
    pub fn tree(&mut self, root: &Path) -> Result<&mut Self, Error> {
        for rel in files_below(root)? {
            let label = rel.to_string_lossy().into_owned();
            self.file(&label, &root.join(&rel))?;
        }
        Ok(self)
    }

    pub fn hex(&self) -> String {
        format!("{:032x}", self.0.digest128())
    }
}

/// Relative paths of all regular files below `root`, sorted.
pub fn files_below(root: &Path) -> Result<Vec<PathBuf>, Error> {
    let mut out = Vec::new();
    let mut pending = vec![PathBuf::new()];
    while let Some(rel) = pending.pop() {
        for entry in std::fs::read_dir(root.join(&rel))? {
            let entry = entry?;
            let kind = entry.file_type()?;
            let child = rel.join(entry.file_name());
            if kind.is_dir() {
                pending.push(child);
            } else if kind.is_file() {
                out.push(child);
            }
        }
    }
    out.sort();
    Ok(out)
}

/// True when `stamp` exists and records exactly `key`.
pub fn is_current(stamp: &Path, key: &str) -> bool {
    std::fs::read_to_string(stamp).map(|s| s.trim() == key).unwrap_or(false)
}

/// Records `key` in `stamp`; written last, after the step succeeded.
pub fn record(stamp: &Path, key: &str) -> Result<(), Error> {
    std::fs::write(stamp, format!("{key}\n"))?;
    Ok(())
}

/// Removes `dir` and everything below it, if it exists.
pub fn remove_dir(dir: &Path) -> Result<(), Error> {
    match std::fs::remove_dir_all(dir) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(Error::Tool(format!("cannot remove {}: {e}", dir.display()))),
    }
}

/// Holds an exclusive lock on `out_root/lock` until dropped; steps that
/// write below `out_root` take it so parallel callers wait for each other.
pub struct OutRootLock(#[allow(dead_code)] std::fs::File);

pub fn lock_out_root(out_root: &Path) -> Result<OutRootLock, Error> {
    std::fs::create_dir_all(out_root)?;
    let file = std::fs::OpenOptions::new().create(true).truncate(false).write(true).open(out_root.join("lock"))?;
    file.lock()?;
    Ok(OutRootLock(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("sel4-kernel-build-cache-{}-{name}", std::process::id()));
        remove_dir(&dir).unwrap();
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn keys_follow_contents_and_names() {
        let dir = scratch("keys");
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("a"), "one").unwrap();
        std::fs::write(dir.join("sub/b"), "two").unwrap();
        let k1 = Key::new().tree(&dir).unwrap().hex();
        assert_eq!(k1, Key::new().tree(&dir).unwrap().hex(), "same tree, same key");
        std::fs::write(dir.join("sub/b"), "two!").unwrap();
        let k2 = Key::new().tree(&dir).unwrap().hex();
        assert_ne!(k1, k2, "changed contents");
        std::fs::rename(dir.join("a"), dir.join("c")).unwrap();
        assert_ne!(k2, Key::new().tree(&dir).unwrap().hex(), "renamed file");
        assert_ne!(Key::new().text("ab").text("c").hex(), Key::new().text("a").text("bc").hex());
        assert_eq!(files_below(&dir).unwrap(), vec![PathBuf::from("c"), PathBuf::from("sub/b")]);
        remove_dir(&dir).unwrap();
    }

    #[test]
    fn stamps() {
        let dir = scratch("stamps");
        let stamp = dir.join("stamp");
        assert!(!is_current(&stamp, "k"));
        record(&stamp, "k").unwrap();
        assert!(is_current(&stamp, "k"));
        assert!(!is_current(&stamp, "other"));
        remove_dir(&dir).unwrap();
        remove_dir(&dir).unwrap();
    }
}
