//! Scenario files (`run/scenarios/NAME.scenario`): what to boot and what the
//! serial output and exit status must show. One directive per line, read
//! at a glance, in the spirit of Genode's run scripts:
//!
//! ```text
//! # boot: core lists every untyped and exits cleanly.
//! ram      512M        # guest RAM (K, M or G suffix)
//! config   debug       # kernel configuration (platform/sel4-kernel-build/config/)
//! timeout  60          # seconds until QEMU is killed
//! image    core        # root task: a binary of a workspace package with feature root-task
//! expect   untypeds:   # serial text that must appear, in file order
//! expect-ram total RAM    50  # the same, holding only at the scenario's own `ram`
//! send     echo hi     # a line written to the guest's COM2 once every expect above it was seen
//! send-long 100K       # the same, a line of that many `x` (a flood)
//! screendump run/screens/x.png  # the VGA screen saved as PNG once every expect above was seen
//! reject   panicked    # serial text that must never appear (any number of lines)
//! exit     success     # core exits QEMU with success (or: exit 0x01, the value written to port 0xf4)
//! boot     iso-uefi    # optional: GRUB ISO from CD under iso-bios or iso-uefi (default: kernel, QEMU -kernel)
//! machine  q35         # optional: QEMU's machine type, pc (i440FX, default) or q35
//! features audit       # optional: more cargo features of the image's package
//! compare-traces traces   # optional: boot once per `*.trace` in run/<dir> and compare core's
//!                         # per-operation log with the host replay's
//! service  hello ram=8M caps=128 prio=90   # optional, repeatable: a service core starts
//! system   kv          # optional, instead of `service` lines: run/systems/kv.toml (`system`);
//!                      # `system NAME unchecked` hands core a description the run tool would
//!                      # refuse, to show core's own refusal at boot
//! requests misbehave   # optional: a request script for the requester (see `requests`)
//! mismatches 1         # optional: mismatches its requester must report (default 0)
//! bench    session     # optional: the run tool prints the boot's benchmark figures as ratios
//! ```
//!
//! `manual <why>` keeps a scenario out of `run test`. Lines starting with
//! `#` are comments; `expect`, `expect-ram`, `send` and `reject` take the rest of the line
//! literally. An `expect-ram` line names a figure of the scenario's machine size: a boot
//! with another `--ram` skips it (and says so), so an override never turns a correct run
//! into a failure.
//!
//! `service NAME [ram=SIZE] [caps=N] [prio=P] [stack=SIZE]` names a binary of a workspace
//! package with feature `service` and its quotas: RAM (`SIZE` in `sel4-core-sizes`' grammar, default
//! 4M), cap slots (default 256), priority (0 to 255, default 100) and the stack of its first
//! thread (a multiple of 4K, default 32K). Each setting at most once, in any order. Services
//! are started in file order (the first has index 0), as many as the file lists; the run tool
//! builds them and hands core their description (`sel4-core-system`) inside its image.

use std::fmt;
use std::path::{Path, PathBuf};

mod medium;
pub mod overrides;
pub mod requests;
pub mod service;
pub mod system;

pub use medium::{Firmware, Medium};
pub use service::Service;

/// Byte core writes to QEMU's isa-debug-exit port on success (QEMU then
/// exits with status 2 * 0x10 + 1 = 33).
pub const SUCCESS_EXIT_VALUE: u8 = 0x10;

/// Directives a scenario may use.
const DIRECTIVES: &[&str] = &[
    "ram",
    "config",
    "timeout",
    "image",
    "expect",
    "expect-ram",
    "send",
    "send-long",
    "screendump",
    "reject",
    "exit",
    "manual",
    "boot",
    "machine",
    "features",
    "compare-traces",
    "service",
    "system",
    "requests",
    "mismatches",
    "bench",
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Scenario {
    pub name: String,
    /// Guest RAM in MiB.
    pub ram_mib: u64,
    pub config: String,
    pub timeout_secs: u64,
    /// Binary booted as the root task (of the workspace package that has it).
    pub image: String,
    /// Serial texts that must appear in this order.
    pub expect: Vec<String>,
    /// Lines written to the guest's COM2, each once the first `n` of [`Scenario::expect`] have
    /// been seen: `(n, text)`.
    pub send: Vec<(usize, String)>,
    /// PNG files (relative to the workspace) the VGA screen is saved to, each once the first
    /// `n` of [`Scenario::expect`] have been seen: `(n, file)`.
    pub screendump: Vec<(usize, String)>,
    /// Which of [`Scenario::expect`] hold only at the scenario's own RAM size (`expect-ram`).
    pub expect_at_ram: Vec<usize>,
    /// Serial texts that must never appear.
    pub reject: Vec<String>,
    /// Value core must write to the isa-debug-exit port.
    pub exit_value: u8,
    /// Why the scenario is left out of `run test`, if it is.
    pub manual: Option<String>,
    /// How the machine gets the kernel: directly or from a GRUB ISO.
    pub medium: Medium,
    /// QEMU's machine type: `pc` (i440FX, the default) or `q35`.
    pub machine: String,
    /// Extra cargo features of the image's package.
    pub features: Vec<String>,
    /// Folder (relative to the run tool's package) whose traces are replayed on the real kernel
    /// and on the host and compared.
    pub compare_traces: Option<String>,
    /// Services core starts, in start order.
    pub services: Vec<Service>,
    /// The system description the services come from (`run/systems/NAME.toml`), if the
    /// scenario names one instead of listing them.
    pub system: Option<String>,
    /// Whether the run tool skips its checks of the description that core makes too (device
    /// grants core refuses), so that core's refusal at boot shows.
    pub unchecked: bool,
    /// The channels between the services (from the system description).
    pub channels: Vec<sel4_core_system::Channel>,
    /// The request script of its requester, if it runs one.
    pub requests: Option<requests::Requests>,
    /// The benchmark whose figures the run tool prints after the boot (`run/src/bench.rs`).
    pub bench: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)
    }
}

impl std::error::Error for ParseError {}

/// Parses a size such as `512M`, `3G`, `64K` (binary units) or `4096` (bytes) into bytes.
pub fn parse_size(text: &str) -> Result<u64, String> {
    // The grammar every file of the system shares (`sel4-core-sizes`): a plain number is bytes.
    sel4_core_sizes::size(text.trim()).map_err(|e| match e {
        sel4_core_sizes::Error::TooLarge => format!("`{text}` is too large"),
        sel4_core_sizes::Error::UnknownUnit => format!("`{text}`: unknown unit (use K, M or G)"),
        sel4_core_sizes::Error::NotANumber => format!("`{text}` is not a size (e.g. 512M, 3G, 4096, 0x1000)"),
    })
}

/// Parses a RAM size such as `512M`, `3G` or `262144K` into MiB.
pub fn parse_ram(text: &str) -> Result<u64, String> {
    let bytes = parse_size(text)?;
    if !bytes.is_multiple_of(1 << 20) {
        return Err(format!("`{text}` is not a whole number of MiB"));
    }
    let mib = bytes >> 20;
    // The kernel needs a few MiB for itself and the root task.
    if mib < 64 {
        return Err(format!("`{text}` is too little RAM to boot (at least 64M)"));
    }
    Ok(mib)
}

fn parse_exit(text: &str) -> Result<u8, String> {
    if text == "success" {
        return Ok(SUCCESS_EXIT_VALUE);
    }
    let v = match text.strip_prefix("0x") {
        Some(h) => u8::from_str_radix(h, 16),
        None => text.parse(),
    };
    v.map_err(|_| format!("exit wants `success` or the byte core writes to port 0xf4 (e.g. 0x01), not `{text}`"))
}

impl Scenario {
    /// Parses scenario text; `file` names it in error messages and its stem
    /// becomes the scenario's name.
    pub fn parse(file: &str, text: &str) -> Result<Scenario, ParseError> {
        let name =
            Path::new(file).file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| file.to_string());
        let mut ram = None;
        let mut config = None;
        let mut timeout = None;
        let mut image = None;
        let mut exit = None;
        let mut manual = None;
        let mut medium = None;
        let mut features: Option<Vec<String>> = None;
        let mut compare_traces = None;
        let mut expect = Vec::new();
        let mut send = Vec::new();
        let mut screendump = Vec::new();
        let mut machine: Option<String> = None;
        let mut expect_at_ram = Vec::new();
        let mut reject = Vec::new();
        let mut services = Vec::new();
        let mut system: Option<(String, usize)> = None;
        let mut unchecked = false;
        let mut script = None;
        let mut mismatches = None;
        let mut bench = None;
        for (i, raw) in text.lines().enumerate() {
            let line = i + 1;
            let err = |message: String| ParseError { file: file.to_string(), line, message };
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let (directive, rest) = match trimmed.split_once(char::is_whitespace) {
                Some((d, r)) => (d, r.trim()),
                None => (trimmed, ""),
            };
            // Trailing `# comments` are allowed except after `expect`, `send` and
            // `reject`, whose text is literal.
            let literal = matches!(directive, "expect" | "expect-ram" | "send" | "reject");
            let value = if literal { rest } else { rest.split('#').next().unwrap_or("").trim() };
            if value.is_empty() {
                return Err(err(format!("`{directive}` needs a value")));
            }
            let once = |already_set: bool| {
                if already_set {
                    Err(err(format!("`{directive}` given twice")))
                } else {
                    Ok(())
                }
            };
            match directive {
                "ram" => {
                    once(ram.is_some())?;
                    ram = Some(parse_ram(value).map_err(err)?);
                }
                "config" => {
                    once(config.is_some())?;
                    let known = sel4_kernel_build::config_names();
                    if !known.iter().any(|k| k == value) {
                        return Err(err(format!(
                            "unknown kernel configuration `{value}`; known: {}",
                            known.join(", ")
                        )));
                    }
                    config = Some(value.to_string());
                }
                "timeout" => {
                    once(timeout.is_some())?;
                    let secs: u64 = value
                        .parse()
                        .ok()
                        .filter(|s| *s > 0)
                        .ok_or_else(|| err(format!("timeout wants whole seconds > 0, not `{value}`")))?;
                    timeout = Some(secs);
                }
                "image" => {
                    once(image.is_some())?;
                    if value.contains(char::is_whitespace) {
                        return Err(err(format!("image wants one binary name, not `{value}`")));
                    }
                    image = Some(value.to_string());
                }
                "exit" => {
                    once(exit.is_some())?;
                    exit = Some(parse_exit(value).map_err(err)?);
                }
                "manual" => {
                    once(manual.is_some())?;
                    manual = Some(value.to_string());
                }
                "machine" => {
                    once(machine.is_some())?;
                    if !matches!(value, "pc" | "q35") {
                        return Err(err(format!("`machine` is `pc` or `q35`, not `{value}`")));
                    }
                    machine = Some(value.to_string());
                }
                "boot" => {
                    once(medium.is_some())?;
                    medium = Some(Medium::parse(value).map_err(err)?);
                }
                "features" => {
                    once(features.is_some())?;
                    features = Some(value.split_whitespace().map(str::to_string).collect());
                }
                "compare-traces" => {
                    once(compare_traces.is_some())?;
                    compare_traces = Some(value.to_string());
                }
                "service" => services.push(Service::parse(value).map_err(err)?),
                "system" => {
                    once(system.is_some())?;
                    match value.split_whitespace().collect::<Vec<_>>()[..] {
                        [name] => system = Some((name.to_string(), line)),
                        [name, "unchecked"] => {
                            system = Some((name.to_string(), line));
                            unchecked = true;
                        }
                        _ => return Err(err(format!("`system` wants `NAME` or `NAME unchecked`, not `{value}`"))),
                    }
                }
                "requests" => {
                    once(script.is_some())?;
                    script = Some(value.to_string());
                }
                "bench" => {
                    once(bench.is_some())?;
                    bench = Some(value.to_string());
                }
                "mismatches" => {
                    once(mismatches.is_some())?;
                    let n: u32 =
                        value.parse().map_err(|_| err(format!("mismatches wants a whole number, not `{value}`")))?;
                    mismatches = Some(n);
                }
                "expect" => expect.push(value.to_string()),
                "send" => send.push((expect.len(), value.to_string())),
                "screendump" => screendump.push((expect.len(), value.to_string())),
                "send-long" => {
                    let n = parse_size(value).map_err(|e| err(format!("`send-long`: {e}")))?;
                    send.push((expect.len(), "x".repeat(n as usize)));
                }
                "expect-ram" => {
                    expect_at_ram.push(expect.len());
                    expect.push(value.to_string());
                }
                "reject" => reject.push(value.to_string()),
                other => {
                    return Err(err(format!("unknown directive `{other}`; directives: {}", DIRECTIVES.join(", "))))
                }
            }
        }
        if let (Some((_, line)), false) = (&system, services.is_empty()) {
            return Err(ParseError {
                file: file.to_string(),
                line: *line,
                message: "a scenario names a `system` or lists `service` lines, not both".into(),
            });
        }
        let missing = |what: &str| ParseError {
            file: file.to_string(),
            line: text.lines().count().max(1),
            message: format!("no `{what}` line"),
        };
        Ok(Scenario {
            name,
            ram_mib: ram.ok_or_else(|| missing("ram"))?,
            config: config.ok_or_else(|| missing("config"))?,
            timeout_secs: timeout.ok_or_else(|| missing("timeout"))?,
            image: image.ok_or_else(|| missing("image"))?,
            exit_value: exit.ok_or_else(|| missing("exit"))?,
            expect,
            send,
            screendump,
            expect_at_ram,
            reject,
            manual,
            medium: medium.unwrap_or_default(),
            machine: machine.unwrap_or_else(|| "pc".into()),
            features: features.unwrap_or_default(),
            compare_traces,
            services,
            system: system.map(|(name, _)| name),
            unchecked,
            channels: Vec::new(),
            requests: match (script, mismatches) {
                (Some(script), m) => Some(requests::Requests { script, mismatches: m.unwrap_or(0) }),
                (None, Some(_)) => return Err(missing("requests")),
                (None, None) => None,
            },
            bench,
        })
    }

    /// Reads and parses a scenario file, and the system description it names.
    pub fn load(path: &Path) -> anyhow::Result<Scenario> {
        let text = std::fs::read_to_string(path).map_err(|e| anyhow::anyhow!("cannot read {}: {e}", path.display()))?;
        let mut s = Scenario::parse(&path.display().to_string(), &text)?;
        if let Some(name) = &s.system {
            let described = system::load(&system::find(name)?, !s.unchecked)?;
            (s.services, s.channels) = (described.services, described.channels);
        }
        Ok(s)
    }

    /// The QEMU exit status that means the scenario's exit happened.
    pub fn expected_status(&self) -> i32 {
        2 * self.exit_value as i32 + 1
    }
}

/// All scenario files in `dir`, sorted by name.
pub fn list(dir: &Path) -> anyhow::Result<Vec<PathBuf>> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| anyhow::anyhow!("cannot list {}: {e}", dir.display()))?
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "scenario"))
        .collect();
    out.sort();
    Ok(out)
}

/// Finds scenario `name` (a name in `dir`, or a path to a file); an unknown
/// name lists the available ones.
pub fn find(dir: &Path, name: &str) -> anyhow::Result<PathBuf> {
    let as_path = Path::new(name);
    if as_path.is_file() {
        return Ok(as_path.to_path_buf());
    }
    let file = dir.join(format!("{}.scenario", name.trim_end_matches(".scenario")));
    if file.is_file() {
        return Ok(file);
    }
    let names: Vec<String> =
        list(dir)?.iter().filter_map(|p| p.file_stem().map(|s| s.to_string_lossy().into_owned())).collect();
    anyhow::bail!("no scenario `{name}` in {}; available: {}", dir.display(), names.join(", "))
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "\
# boot: a comment
ram 512M
config debug   # trailing comment
timeout 60
image core
expect Untypeds: # this stays part of the text
expect total
exit success
";

    #[test]
    fn parses_every_directive() {
        let s = Scenario::parse("x/boot.scenario", GOOD).unwrap();
        assert_eq!(s.name, "boot");
        assert_eq!(s.ram_mib, 512);
        assert_eq!(s.config, "debug");
        assert_eq!(s.timeout_secs, 60);
        assert_eq!(s.image, "core");
        assert_eq!(s.expect, vec!["Untypeds: # this stays part of the text", "total"]);
        assert_eq!(s.exit_value, 0x10);
        assert_eq!(s.expected_status(), 33);
        assert_eq!(s.manual, None);
        assert!(s.reject.is_empty());
    }

    #[test]
    fn rejected_texts_are_literal_and_many() {
        let s = Scenario::parse("r.scenario", &format!("{GOOD}reject panicked\nreject error: # as printed\n")).unwrap();
        assert_eq!(s.reject, vec!["panicked", "error: # as printed"]);
        let e = error_of(&format!("{GOOD}reject\n"));
        assert!(e.contains(":9: `reject` needs a value"), "{e}");
        let e = error_of(&format!("{GOOD}reject   \n"));
        assert!(e.contains(":9: `reject` needs a value"), "{e}");
    }

    #[test]
    fn run_features_and_trace_comparison() {
        let s = Scenario::parse("p.scenario", GOOD).unwrap();
        assert_eq!((s.features.len(), s.compare_traces), (0, None));
        let text = GOOD.replace("image core", "image core\nfeatures audit extra\ncompare-traces traces");
        let s = Scenario::parse("p.scenario", &text).unwrap();
        assert_eq!(s.features, vec!["audit", "extra"]);
        assert_eq!(s.compare_traces.as_deref(), Some("traces"));
        assert!(error_of(&text.replace("image core", "image core\nrun churn")).contains("run"));
        assert!(error_of(&format!("{text}features more\n")).contains("`features` given twice"));
    }

    #[test]
    fn a_system_instead_of_services() {
        let s = Scenario::parse("s.scenario", &format!("{GOOD}system known-answers\n")).unwrap();
        assert_eq!((s.system.as_deref(), s.services.len()), (Some("known-answers"), 0));
        let e = error_of(&format!("{GOOD}system kv\nservice hello\n"));
        assert!(e.starts_with("f.scenario:9: a scenario names a `system` or lists `service` lines, not both"), "{e}");
        let s = Scenario::parse("s.scenario", &format!("{GOOD}system overlap unchecked\n")).unwrap();
        assert_eq!((s.system.as_deref(), s.unchecked), (Some("overlap"), true));
        let e = error_of(&format!("{GOOD}system kv loosely\n"));
        assert!(e.contains("`system` wants `NAME` or `NAME unchecked`"), "{e}");
        let e = error_of(&format!("{GOOD}system kv\nsystem kv\n"));
        assert!(e.contains("`system` given twice"), "{e}");
        let loaded = Scenario::load(&find(&crate::workspace::scenario_dir(), "known-answers").unwrap()).unwrap();
        assert_eq!((loaded.services[0].name.as_str(), loaded.services[0].stack), ("known-answers", 256 << 10));
    }

    #[test]
    fn manual_and_failure_exit() {
        let text = GOOD.replace("exit success", "exit 0x01\nmanual needs a person");
        let s = Scenario::parse("m.scenario", &text).unwrap();
        assert_eq!(s.expected_status(), 3);
        assert_eq!(s.manual.as_deref(), Some("needs a person"));
    }

    fn error_of(text: &str) -> String {
        Scenario::parse("f.scenario", text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_and_line() {
        let e = error_of(&GOOD.replace("timeout 60", "timeout soon"));
        assert!(e.starts_with("f.scenario:4: "), "{e}");
        let e = error_of(&GOOD.replace("ram 512M", "rma 512M"));
        assert!(e.starts_with("f.scenario:2: unknown directive `rma`"), "{e}");
        assert!(e.contains("expect"), "{e}");
        let e = error_of(&format!("{GOOD}ram 1G\n"));
        assert!(e.contains(":9: `ram` given twice"), "{e}");
        let e = error_of(&GOOD.replace("config debug", "config fancy"));
        assert!(e.contains(":3: unknown kernel configuration `fancy`"), "{e}");
        assert!(e.contains("release"), "{e}");
        let e = error_of(&GOOD.replace("exit success", "exit maybe"));
        assert!(e.contains(":8: exit wants"), "{e}");
        let e = error_of(&GOOD.replace("expect total", "expect"));
        assert!(e.contains(":7: `expect` needs a value"), "{e}");
        let e = error_of(&GOOD.replace("image core\n", ""));
        assert!(e.contains("no `image` line"), "{e}");
    }

    #[test]
    fn services_in_file_order_with_their_quotas() {
        assert!(Scenario::parse("p.scenario", GOOD).unwrap().services.is_empty());
        let text =
            format!("{GOOD}service hello\nservice timer ram=1G caps=8 prio=200 # a comment\nservice hello prio=7\n");
        let s = Scenario::parse("p.scenario", &text).unwrap();
        let quotas: Vec<_> = s.services.iter().map(|x| (x.name.as_str(), x.ram, x.caps, x.prio)).collect();
        assert_eq!(quotas, [("hello", 4 << 20, 256, 100), ("timer", 1 << 30, 8, 200), ("hello", 4 << 20, 256, 7)]);
    }

    #[test]
    fn service_errors_name_file_and_line() {
        let e = error_of(&format!("{GOOD}service hello prio=300\n"));
        assert!(e.starts_with("f.scenario:9: service `hello`: prio wants 0 to 255, not `300`"), "{e}");
        let e = error_of(&format!("{GOOD}service hello\nservice hello caps=1 caps=2\n"));
        assert!(e.starts_with("f.scenario:10: service `hello`: `caps` given twice"), "{e}");
        let e = error_of(&format!("{GOOD}service hello heap=8M\n"));
        assert!(e.starts_with("f.scenario:9: service `hello`: heap (8388608) exceeds its RAM budget"), "{e}");
        let e = error_of(&format!("{GOOD}service hello ram=lots\n"));
        assert!(e.starts_with("f.scenario:9: service `hello`: ram: "), "{e}");
        let e = error_of(&format!("{GOOD}service\n"));
        assert!(e.starts_with("f.scenario:9: `service` needs a value"), "{e}");
        let many = "service hello\n".repeat(300);
        assert_eq!(Scenario::parse("f.scenario", &format!("{GOOD}{many}")).unwrap().services.len(), 300);
    }

    #[test]
    fn sizes_in_bytes() {
        assert_eq!(parse_size("64K"), Ok(64 << 10));
        assert_eq!(parse_size("4m"), Ok(4 << 20));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert!(parse_size("17179869184G").unwrap_err().contains("too large"));
        // One grammar with request scripts: a plain number is bytes.
        assert_eq!(parse_size("4096"), Ok(4096));
        assert_eq!(parse_size("0x1000"), Ok(4096));
    }

    #[test]
    fn ram_sizes() {
        assert_eq!(parse_ram("512M"), Ok(512));
        assert_eq!(parse_ram("3G"), Ok(3072));
        assert_eq!(parse_ram("262144K"), Ok(256));
        assert!(parse_ram("512").unwrap_err().contains("not a whole number of MiB"));
        assert!(parse_ram("1000K").is_err());
        assert!(parse_ram("12M").unwrap_err().contains("too little"));
        assert!(parse_ram("5T").unwrap_err().contains("unknown unit"));
        assert!(parse_ram("M").is_err());
    }

    #[test]
    fn repository_scenarios_parse() {
        let dir = crate::workspace::scenario_dir();
        let files = list(&dir).unwrap();
        assert!(!files.is_empty());
        for f in files {
            let s = Scenario::load(&f).unwrap();
            // A panic must fail every scenario, whatever else it checks.
            assert!(s.reject.iter().any(|r| r == "panicked"), "{} lacks `reject panicked`", f.display());
        }
    }

    #[test]
    fn unknown_scenario_lists_available() {
        let e = find(&crate::workspace::scenario_dir(), "no-such").unwrap_err().to_string();
        assert!(e.contains("available:") && e.contains("boot"), "{e}");
    }

    fn load(name: &str) -> Scenario {
        Scenario::load(&find(&crate::workspace::scenario_dir(), name).unwrap()).unwrap()
    }

    #[test]
    fn iso_scenarios_check_the_demo_patterns_on_the_pc_kernel() {
        let demo = load("demo");
        for (name, firmware) in [("iso-bios", Firmware::Bios), ("iso-uefi", Firmware::Uefi)] {
            let s = load(name);
            assert_eq!(s.medium, Medium::Iso(firmware), "{name}");
            assert_eq!(s.config, "pc-release", "{name}");
            assert_eq!(s.expect, demo.expect, "{name} must expect what the demo shows");
            assert_eq!(s.exit_value, demo.exit_value, "{name}");
            assert!(s.manual.is_none(), "{name} must run in `run test`");
        }
    }
}
