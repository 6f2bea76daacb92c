//! The patched kernel tree: a copy of the pristine source with our patches
//! (`patches/*.patch`, applied in name order) on top, redone only when the
//! pristine tree or a patch changes.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cache::{self, Key};
use crate::{crate_dir, pristine_source_dir, Error};

/// Directory holding our kernel patches.
pub fn patch_dir() -> PathBuf {
    crate_dir().join("patches")
}

/// Our patches, in the order they are applied.
pub fn patches() -> Result<Vec<PathBuf>, Error> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(patch_dir())?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "patch"))
        .collect();
    out.sort();
    Ok(out)
}

/// A prepared tree and the key it was made from (later steps fold the key
/// into their own).
pub(crate) struct Prepared {
    pub dir: PathBuf,
    pub key: String,
}

/// Copies the pristine tree to `out_root/source` and applies our patches.
/// Cached: redone only when the pristine tree or a patch changed.
pub fn prepared_source(out_root: &Path) -> Result<PathBuf, Error> {
    let _lock = cache::lock_out_root(out_root)?;
    Ok(prepare_locked(out_root)?.dir)
}

/// [`prepared_source`] for callers that already hold the out-root lock.
pub(crate) fn prepare_locked(out_root: &Path) -> Result<Prepared, Error> {
    let pristine = pristine_source_dir()?;
    let patches = patches()?;
    let mut key = Key::new();
    key.text("prepared-source-v1").tree(&pristine)?;
    for p in &patches {
        let name = p.file_name().unwrap_or_default().to_string_lossy().into_owned();
        key.file(&name, p)?;
    }
    let key = key.hex();

    let dir = out_root.join("source");
    let stamp = out_root.join("source.stamp");
    if dir.is_dir() && cache::is_current(&stamp, &key) {
        return Ok(Prepared { dir, key });
    }

    crate::tools::ensure_patch_tool()?;
    eprintln!("sel4-kernel-build: preparing kernel source in {}", dir.display());
    let _ = std::fs::remove_file(&stamp);
    let tmp = out_root.join("source.tmp");
    cache::remove_dir(&tmp)?;
    cache::remove_dir(&dir)?;
    copy_tree(&pristine, &tmp)?;
    for p in &patches {
        apply_patch(&tmp, p)?;
    }
    std::fs::rename(&tmp, &dir)?;
    cache::record(&stamp, &key)?;
    Ok(Prepared { dir, key })
}

/// Copies the regular files below `from` to `to`, writable (the registry
/// copy may be read-only).
fn copy_tree(from: &Path, to: &Path) -> Result<(), Error> {
    use std::os::unix::fs::PermissionsExt;
    for rel in cache::files_below(from)? {
        let dst = to.join(&rel);
        if let Some(parent) = dst.parent() {
            std::fs::create_dir_all(parent)?;
        }
        std::fs::copy(from.join(&rel), &dst)?;
        let mut perm = std::fs::metadata(&dst)?.permissions();
        perm.set_mode(perm.mode() | 0o200);
        std::fs::set_permissions(&dst, perm)?;
    }
    Ok(())
}

fn apply_patch(tree: &Path, patch: &Path) -> Result<(), Error> {
    let out = Command::new("patch")
        .args(["-p1", "--forward", "--batch", "--no-backup-if-mismatch", "-i"])
        .arg(patch)
        .current_dir(tree)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| Error::Tool(format!("cannot run patch: {e}")))?;
    if !out.status.success() {
        return Err(Error::Tool(format!(
            "patch {} does not apply to the kernel source:\n{}{}",
            patch.display(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )));
    }
    Ok(())
}
