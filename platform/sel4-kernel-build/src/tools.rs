//! Finds the host tools the kernel build and QEMU runs need and installs the
//! missing ones with Debian's apt-get, never prompting (CI has no terminal).

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Error;

/// Python modules the kernel's generators import (`tools/bitfield_gen.py`
/// needs ply and six, the header generators tempita).
const PYTHON_MODULES: &[&str] = &["ply", "tempita", "six"];

/// Tools the kernel and libsel4 builds run, with the Debian package that
/// provides each.
const BUILD_PROGRAMS: &[(&str, &str)] = &[
    ("make", "make"),
    ("gcc", "gcc"),
    ("cpp", "cpp"),
    ("objcopy", "binutils"),
    ("ld", "binutils"),
    ("xmllint", "libxml2-utils"),
    ("patch", "patch"),
    ("bash", "bash"),
];

const PYTHON_PACKAGES: &[&str] = &["python3", "python3-ply", "python3-tempita", "python3-six"];

/// What the kernel build needs beyond `PATH`.
#[derive(Debug, Clone)]
pub struct BuildTools {
    /// A Python 3 interpreter that imports ply, tempita and six. Some kernel
    /// rules hard-code `python`, so builds put a folder on `PATH` where both
    /// `python` and `python3` name it (see [`BuildTools::path_with_python`]).
    pub python: PathBuf,
}

impl BuildTools {
    /// A `PATH` value with a folder under `out_root` first in which `python`
    /// and `python3` are this interpreter.
    pub fn path_with_python(&self, out_root: &Path) -> Result<OsString, Error> {
        let shim = out_root.join("python-shim");
        std::fs::create_dir_all(&shim)?;
        for name in ["python", "python3"] {
            let link = shim.join(name);
            let current = std::fs::read_link(&link).ok();
            if current.as_deref() != Some(self.python.as_path()) {
                let _ = std::fs::remove_file(&link);
                std::os::unix::fs::symlink(&self.python, &link)?;
            }
        }
        let mut dirs = vec![shim];
        if let Some(path) = std::env::var_os("PATH") {
            dirs.extend(std::env::split_paths(&path));
        }
        std::env::join_paths(dirs).map_err(|e| Error::Tool(format!("cannot build PATH: {e}")))
    }
}

/// Finds an executable named `name` on `PATH`.
pub fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(name)).find(|p| is_executable(p))
}

fn is_executable(p: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    p.metadata().map(|m| m.is_file() && m.permissions().mode() & 0o111 != 0).unwrap_or(false)
}

/// A Python 3 that imports all of [`PYTHON_MODULES`]: `python3` on `PATH`
/// first (which may be a version manager's shim), then the system one that
/// apt installs the modules for.
fn find_python() -> Option<PathBuf> {
    let check = format!(
        "import sys\nassert sys.version_info[0] == 3\nimport {}\nprint(sys.executable)",
        PYTHON_MODULES.join(", ")
    );
    let mut candidates: Vec<PathBuf> = Vec::new();
    if let Some(p) = find_program("python3") {
        candidates.push(p);
    }
    candidates.push(PathBuf::from("/usr/bin/python3"));
    for candidate in candidates {
        let out = Command::new(&candidate).arg("-c").arg(&check).stdin(Stdio::null()).stderr(Stdio::null()).output();
        if let Ok(out) = out {
            if out.status.success() {
                let exe = String::from_utf8_lossy(&out.stdout).trim().to_string();
                if !exe.is_empty() && Path::new(&exe).is_file() {
                    return Some(PathBuf::from(exe));
                }
            }
        }
    }
    None
}

/// Lists what is missing for the kernel build as (what, package) pairs.
fn missing_build_tools() -> Vec<(String, &'static str)> {
    let mut missing: Vec<(String, &'static str)> = BUILD_PROGRAMS
        .iter()
        .filter(|(prog, _)| find_program(prog).is_none())
        .map(|(prog, pkg)| (format!("program `{prog}`"), *pkg))
        .collect();
    if find_python().is_none() {
        for pkg in PYTHON_PACKAGES {
            missing.push((format!("Python 3 with modules {}", PYTHON_MODULES.join(", ")), pkg));
        }
    }
    missing
}

/// Makes sure everything the kernel and libsel4 builds run is installed,
/// installing missing Debian packages with apt-get.
pub fn ensure_build_tools() -> Result<BuildTools, Error> {
    ensure(missing_build_tools)?;
    let python = find_python().ok_or_else(|| {
        Error::Missing(format!(
            "no Python 3 with modules {} found (tried python3 on PATH and /usr/bin/python3)",
            PYTHON_MODULES.join(", ")
        ))
    })?;
    Ok(BuildTools { python })
}

/// Makes sure GNU `patch` is installed (preparing the source needs only it).
pub fn ensure_patch_tool() -> Result<(), Error> {
    ensure(|| match find_program("patch") {
        Some(_) => Vec::new(),
        None => vec![("program `patch`".to_string(), "patch")],
    })
}

/// Makes sure `qemu-system-x86_64` is installed and returns its path.
pub fn ensure_qemu() -> Result<PathBuf, Error> {
    const QEMU: &str = "qemu-system-x86_64";
    ensure(|| match find_program(QEMU) {
        Some(_) => Vec::new(),
        None => vec![(format!("program `{QEMU}`"), "qemu-system-x86")],
    })?;
    find_program(QEMU).ok_or_else(|| Error::Missing(format!("program `{QEMU}` not found on PATH")))
}

/// Runs `missing`, installs the packages it names, and checks again. Public
/// for host tools with needs of their own (`missing` returns (what, Debian
/// package) pairs).
pub fn ensure_installed(missing: impl Fn() -> Vec<(String, &'static str)>) -> Result<(), Error> {
    ensure(missing)
}

fn ensure(missing: impl Fn() -> Vec<(String, &'static str)>) -> Result<(), Error> {
    let before = missing();
    if before.is_empty() {
        return Ok(());
    }
    let mut packages: Vec<&str> = before.iter().map(|(_, p)| *p).collect();
    packages.sort();
    packages.dedup();
    let what: Vec<String> = before.iter().map(|(w, _)| w.clone()).collect();
    eprintln!(
        "sel4-kernel-build: missing {}; installing Debian packages: {}",
        dedup(&what).join(", "),
        packages.join(" ")
    );
    let installed = apt_install(&packages);
    let after = missing();
    if after.is_empty() {
        return Ok(());
    }
    let what: Vec<String> = after.iter().map(|(w, p)| format!("{w} (Debian package {p})")).collect();
    let why = match installed {
        Ok(()) => "apt-get succeeded but they are still missing".to_string(),
        Err(e) => e,
    };
    Err(Error::Missing(format!("missing {}: {why}; install them and retry", dedup(&what).join(", "))))
}

fn dedup(items: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for i in items {
        if !out.contains(i) {
            out.push(i.clone());
        }
    }
    out
}

fn is_root() -> bool {
    // Linux only, like the rest of the build: the effective uid is the
    // second field of the `Uid:` line.
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines().find(|l| l.starts_with("Uid:")).and_then(|l| l.split_whitespace().nth(2).map(|u| u == "0"))
        })
        .unwrap_or(false)
}

/// `apt-get update` then `apt-get install -y` (as root, or through
/// non-interactive sudo), output shown as it comes.
fn apt_install(packages: &[&str]) -> Result<(), String> {
    if find_program("apt-get").is_none() {
        return Err("apt-get is not available (not a Debian system?)".into());
    }
    let prefix: Vec<&str> = if is_root() {
        vec![]
    } else if find_program("sudo").is_some() {
        vec!["sudo", "-n"]
    } else {
        return Err("installing needs root (apt-get) and sudo is not available".into());
    };
    let run = |args: &[&str]| -> Result<(), String> {
        let mut all: Vec<&str> = prefix.clone();
        all.extend_from_slice(args);
        eprintln!("sel4-kernel-build: running {}", all.join(" "));
        let status = Command::new(all[0])
            .args(&all[1..])
            .env("DEBIAN_FRONTEND", "noninteractive")
            .stdin(Stdio::null())
            // Progress goes to stderr so it stays visible when stdout is captured.
            .stdout(std::io::stderr())
            .status()
            .map_err(|e| format!("cannot run {}: {e}", all[0]))?;
        if status.success() {
            Ok(())
        } else {
            Err(format!("`{}` failed ({status})", all.join(" ")))
        }
    };
    run(&["apt-get", "update"])?;
    let mut install = vec!["apt-get", "install", "-y", "--no-install-recommends"];
    install.extend_from_slice(packages);
    run(&install)
}
