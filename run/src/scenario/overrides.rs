//! Command-line overrides of a scenario's settings (`--ram`, `--config`,
//! `--timeout`, `--requests`, `--features`), applied when a verb loads a scenario by name.

use crate::scenario::{find, parse_ram, Scenario};
use crate::workspace;

/// Longest `--timeout` accepted: a day; a deadline far beyond that would
/// overflow `Instant` arithmetic.
pub const MAX_TIMEOUT_SECS: u64 = 24 * 60 * 60;

#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Guest RAM such as `512M` or `3G`.
    pub ram: Option<String>,
    /// Kernel configuration.
    pub config: Option<String>,
    /// Seconds until QEMU is killed.
    pub timeout: Option<u64>,
    /// The requester's script (a file in `run/requests/` without `.requests`, or a path).
    pub requests: Option<String>,
    /// More cargo features of the image's package (such as `work-clock`), added to the
    /// scenario's.
    pub features: Vec<String>,
}

/// Loads scenario `name` (a file in the scenario folder without
/// `.scenario`, or a path) and applies `o`.
pub fn load(name: &str, o: &Overrides) -> anyhow::Result<Scenario> {
    let mut s = Scenario::load(&find(&workspace::scenario_dir(), name)?)?;
    apply(&mut s, o)?;
    Ok(s)
}

fn apply(s: &mut Scenario, o: &Overrides) -> anyhow::Result<()> {
    if let Some(ram) = &o.ram {
        let mib = parse_ram(ram).map_err(|e| anyhow::anyhow!("--ram: {e}"))?;
        if mib != s.ram_mib {
            // Expectations that name figures of the scenario's own machine size do not hold
            // on another: skipped, each said.
            for &i in s.expect_at_ram.iter().rev() {
                let text = s.expect.remove(i);
                eprintln!("run: --ram {ram}: skipping `expect-ram {text}` (holds at {} MiB only)", s.ram_mib);
            }
            s.expect_at_ram.clear();
        }
        s.ram_mib = mib;
    }
    if let Some(config) = &o.config {
        sel4_kernel_build::config_header(config)?;
        s.config = config.clone();
    }
    if let Some(t) = o.timeout {
        anyhow::ensure!(
            (1..=MAX_TIMEOUT_SECS).contains(&t),
            "--timeout must be between 1 second and {MAX_TIMEOUT_SECS} seconds"
        );
        s.timeout_secs = t;
    }
    for f in &o.features {
        if !s.features.contains(f) {
            s.features.push(f.clone());
        }
    }
    if let Some(script) = &o.requests {
        match &mut s.requests {
            Some(r) => r.script = script.clone(),
            None => anyhow::bail!("--requests: scenario `{}` runs no request script (no `requests` line)", s.name),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overrides_replace_the_scenario_settings() {
        let s = load(
            "boot",
            &Overrides {
                ram: Some("1G".into()),
                config: Some("release".into()),
                timeout: Some(5),
                ..Overrides::default()
            },
        )
        .unwrap();
        assert_eq!((s.ram_mib, s.config.as_str(), s.timeout_secs), (1024, "release", 5));
        let plain = load("boot", &Overrides::default()).unwrap();
        assert_eq!(plain.ram_mib, 512);
        let timed = load("session-bench", &Overrides { features: vec!["work-clock".into()], ..Overrides::default() });
        assert_eq!(timed.unwrap().features, ["work-clock"]);
    }

    #[test]
    fn another_ram_size_skips_the_expectations_of_the_scenarios_own() {
        let demo = load("demo", &Overrides::default()).unwrap();
        assert!(!demo.expect_at_ram.is_empty(), "the demo names its RAM total");
        let big = load("demo", &Overrides { ram: Some("16G".into()), ..Overrides::default() }).unwrap();
        assert_eq!(big.expect.len(), demo.expect.len() - demo.expect_at_ram.len());
        assert!(big.expect.iter().all(|e| !e.starts_with("total RAM    50")));
        let same = load("demo", &Overrides { ram: Some("512M".into()), ..Overrides::default() }).unwrap();
        assert_eq!(same.expect, demo.expect);
    }

    #[test]
    fn bad_overrides_are_errors() {
        let e = load("boot", &Overrides { ram: Some("lots".into()), ..Overrides::default() }).unwrap_err();
        assert!(e.to_string().starts_with("--ram: "), "{e}");
        assert!(load("boot", &Overrides { config: Some("fancy".into()), ..Overrides::default() }).is_err());
        assert!(load("boot", &Overrides { timeout: Some(0), ..Overrides::default() }).is_err());
    }
}
