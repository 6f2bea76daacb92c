//! System descriptions: `run/systems/NAME.toml`, the typed file that says which services run
//! (a scenario names one with `system NAME` instead of listing `service` lines). Each
//! `[[service]]` table:
//!
//! ```toml
//! [[service]]
//! name = "kv"            # the instance: core's log calls it so; unique in the system
//! binary = "kv-server"   # the service binary to build (default: the name)
//! ram = "64M"            # RAM budget (default 4M)
//! caps = 256             # cap budget (default 256)
//! prio = 100             # priority of its first thread (default 100)
//! stack = "64K"          # its first thread's stack (default 32K)
//! heap = "32M"           # what its heap may take (default: half its RAM)
//! ```
//!
//! Sizes are strings in `sel4-core-sizes`' grammar. Unknown keys, duplicate names and values
//! that do not parse are errors naming the file, the line and the key. The run tool encodes
//! the services for core as it does `service` lines (`image::services`).

use std::path::{Path, PathBuf};

use anyhow::{anyhow, Context, Result};
use serde::Deserialize;
use toml::Spanned;

use crate::scenario::service::Service;
use crate::workspace;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    service: Vec<Entry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    name: Spanned<String>,
    binary: Option<Spanned<String>>,
    ram: Option<Spanned<String>>,
    caps: Option<Spanned<u32>>,
    prio: Option<Spanned<u8>>,
    stack: Option<Spanned<String>>,
    heap: Option<Spanned<String>>,
}

/// The file of system `name` (a file in `run/systems/` without `.toml`, or a path).
pub fn find(name: &str) -> Result<PathBuf> {
    let as_path = Path::new(name);
    if as_path.is_file() {
        return Ok(as_path.to_path_buf());
    }
    let dir = workspace::system_dir();
    let file = dir.join(format!("{}.toml", name.trim_end_matches(".toml")));
    if file.is_file() {
        return Ok(file);
    }
    anyhow::bail!("no system `{name}` in {}", dir.display())
}

/// The services of system file `path`.
pub fn load(path: &Path) -> Result<Vec<Service>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse(&path.display().to_string(), &text)
}

/// The line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The services `text` (the contents of `file`) describes, in start order.
pub fn parse(file: &str, text: &str) -> Result<Vec<Service>> {
    // toml's message names the line, the column and the key.
    let parsed: File = toml::from_str(text).map_err(|e| anyhow!("{file}: {e}"))?;
    if parsed.service.is_empty() {
        anyhow::bail!("{file}: the system lists no `[[service]]`");
    }
    let mut services: Vec<Service> = Vec::new();
    for e in parsed.service {
        let at = |span: std::ops::Range<usize>| format!("{file}:{}", line_of(text, span.start));
        let name = e.name.get_ref().clone();
        if name.is_empty() || name.contains(char::is_whitespace) || name.contains('=') {
            anyhow::bail!("{}: key `name`: `{name}` is no service name (no spaces, no `=`)", at(e.name.span()));
        }
        if services.iter().any(|s| s.name == name) {
            anyhow::bail!("{}: key `name`: a service named `{name}` is described twice", at(e.name.span()));
        }
        // The settings as a `service` line has them: one set of rules and messages for both.
        let mut line = name.clone();
        let mut first_span = e.name.span();
        let mut setting = |key: &str, value: String, span: std::ops::Range<usize>| {
            line.push_str(&format!(" {key}={value}"));
            first_span = first_span.start.min(span.start)..first_span.end;
        };
        if let Some(v) = &e.ram {
            setting("ram", v.get_ref().clone(), v.span());
        }
        if let Some(v) = &e.caps {
            setting("caps", v.get_ref().to_string(), v.span());
        }
        if let Some(v) = &e.prio {
            setting("prio", v.get_ref().to_string(), v.span());
        }
        if let Some(v) = &e.stack {
            setting("stack", v.get_ref().clone(), v.span());
        }
        if let Some(v) = &e.heap {
            setting("heap", v.get_ref().clone(), v.span());
        }
        let mut s = Service::parse(&line).map_err(|m| {
            // The key the message names, for its line.
            let key = ["ram", "caps", "prio", "stack", "heap"].into_iter().find(|k| m.contains(&format!(": {k}")));
            let span = match key {
                Some("ram") => e.ram.as_ref().map(|v| v.span()),
                Some("caps") => e.caps.as_ref().map(|v| v.span()),
                Some("prio") => e.prio.as_ref().map(|v| v.span()),
                Some("stack") => e.stack.as_ref().map(|v| v.span()),
                Some("heap") => e.heap.as_ref().map(|v| v.span()),
                _ => None,
            };
            anyhow!("{}: {m}", at(span.unwrap_or_else(|| e.name.span())))
        })?;
        if let Some(b) = &e.binary {
            let binary = b.get_ref();
            if binary.is_empty() || binary.contains(char::is_whitespace) {
                anyhow::bail!("{}: key `binary`: `{binary}` is no binary name", at(b.span()));
            }
            s.binary = binary.clone();
        }
        services.push(s);
    }
    Ok(services)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = r#"
[[service]]
name = "kv"
binary = "hello"
ram = "64M"
caps = 128
prio = 90
stack = "64K"
heap = "32M"

[[service]]
name = "client"
binary = "hello"
"#;

    #[test]
    fn services_in_order_with_defaults() {
        let s = parse("s.toml", GOOD).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].name.as_str(), s[0].binary.as_str()), ("kv", "hello"));
        assert_eq!((s[0].ram, s[0].caps, s[0].prio, s[0].stack, s[0].heap), (64 << 20, 128, 90, 64 << 10, 32 << 20));
        assert_eq!((s[1].ram, s[1].caps, s[1].prio, s[1].stack, s[1].heap), (4 << 20, 256, 100, 32 << 10, 2 << 20));
        let one = parse("s.toml", "[[service]]\nname = \"hello\"\n").unwrap();
        assert_eq!(one[0].binary, "hello", "the binary defaults to the name");
    }

    fn error(text: &str) -> String {
        parse("s.toml", text).unwrap_err().to_string()
    }

    #[test]
    fn errors_name_file_line_and_key() {
        let e = error(&GOOD.replace("caps = 128", "capz = 128"));
        assert!(e.starts_with("s.toml: ") && e.contains("line 6") && e.contains("capz"), "{e}");
        let e = error(&GOOD.replace("name = \"client\"", "name = \"kv\""));
        assert_eq!(e, "s.toml:12: key `name`: a service named `kv` is described twice");
        let e = error(&GOOD.replace("ram = \"64M\"", "ram = \"lots\""));
        assert!(e.starts_with("s.toml:5: service `kv`: ram: "), "{e}");
        let e = error(&GOOD.replace("heap = \"32M\"", "heap = \"128M\""));
        assert!(e.starts_with("s.toml:9: service `kv`: heap (134217728) exceeds its RAM budget"), "{e}");
        let e = error(&GOOD.replace("prio = 90", "prio = 300"));
        assert!(e.starts_with("s.toml: ") && e.contains("line 7") && e.contains("prio"), "{e}");
        let e = error(&GOOD.replace("stack = \"64K\"", "stack = \"6K\""));
        assert!(e.starts_with("s.toml:8: service `kv`: stack wants a positive multiple of 4K"), "{e}");
        assert!(error("").contains("service"), "no services");
        assert!(error("[[service]]\nname = \"a b\"\n").starts_with("s.toml:2: key `name`"));
        assert!(error("[[service]]\nname = \"a\"\nbinary = \"\"\n").starts_with("s.toml:3: key `binary`"));
    }

    #[test]
    fn shipped_systems_parse() {
        let dir = workspace::system_dir();
        for f in std::fs::read_dir(&dir).unwrap() {
            let path = f.unwrap().path();
            load(&path).unwrap_or_else(|e| panic!("{e}"));
        }
    }
}
