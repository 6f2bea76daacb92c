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
//! restart = "on-fault"   # or "never" (the default): started again after a fault
//! restarts = 3           # at most this often (default 3 with "on-fault")
//! ports = ["0x40-0x43"]  # I/O ports it may use (a port or a range)
//! irqs = [{ id = 1, pin = 2 }]   # IOAPIC input signalled as channel id 1 (ioapic = 0,
//!                        # trigger = "edge" | "level", polarity = "high" | "low": ISA defaults;
//!                        # ack_within_ms = 500: acked later, core takes the driver for hung)
//! memory = [{ paddr = 0xb8000, size = "4K", cache = "uncached" }]   # device memory (`at` optional)
//!
//! [[channel]]
//! client = { service = "client-a", id = 0 }   # the end that calls, and its id there
//! server = { service = "kv", id = 0 }         # the end that serves, and its id there
//! call = true            # the client calls the server (default true)
//! notify = true          # each end may signal the other (default true)
//! shared = { size = "4K", paid_by = "client-a", client_at = 0x0800_0000_0000, server_at = 0x0800_4000_0000 }
//! ```
//!
//! Sizes are strings in `sel4-core-sizes`' grammar. Unknown keys, duplicate names, a channel
//! end naming a missing service or an id taken twice, and values that do not parse are errors
//! naming the file, the line and the key. A shared dataspace without an address goes at
//! `abi::SHARED_BASE` and up in that service, each at a multiple of `abi::SHARED_ALIGN`. The
//! run tool encodes the services for core as it does `service` lines, with the channels
//! (`image::services`).

use std::path::{Path, PathBuf};

/// How long a driver may take to ack an interrupt when its grant does not say.
const ACK_WITHIN_MS: u32 = 500;

use anyhow::{anyhow, Context, Result};
use serde::Deserialize;
use toml::Spanned;

use sel4_core_protocol::abi;
use sel4_core_protocol::CacheAttr;
use sel4_core_system::{Channel, DeviceMemory, Devices, End, Irq, Ports, Shared, Side};

use crate::scenario::service::Service;
use crate::workspace;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    service: Vec<Entry>,
    #[serde(default)]
    channel: Vec<ChannelEntry>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ChannelEntry {
    client: Spanned<EndEntry>,
    server: Spanned<EndEntry>,
    call: Option<bool>,
    notify: Option<bool>,
    shared: Option<Spanned<SharedEntry>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EndEntry {
    service: String,
    id: u8,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct SharedEntry {
    size: String,
    paid_by: String,
    client_at: Option<u64>,
    server_at: Option<u64>,
}

/// What a system file describes: its services in start order and the channels between them.
#[derive(Debug, Clone, Default)]
pub struct Described {
    pub services: Vec<Service>,
    pub channels: Vec<Channel>,
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
    restart: Option<Spanned<String>>,
    restarts: Option<Spanned<u32>>,
    ports: Option<Spanned<Vec<String>>>,
    irqs: Option<Spanned<Vec<IrqEntry>>>,
    memory: Option<Spanned<Vec<MemoryEntry>>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct IrqEntry {
    id: u8,
    pin: u8,
    ioapic: Option<u8>,
    trigger: Option<String>,
    polarity: Option<String>,
    ack_within_ms: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct MemoryEntry {
    paddr: u64,
    size: String,
    at: Option<u64>,
    cache: Option<String>,
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

/// The services and channels of system file `path`; with `check`, refused where core would
/// refuse it at boot (device grants), else left for core to refuse.
pub fn load(path: &Path, check: bool) -> Result<Described> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    parse_checked(&path.display().to_string(), &text, check)
}

/// The line of byte `offset` in `text`.
fn line_of(text: &str, offset: usize) -> usize {
    text[..offset.min(text.len())].matches('\n').count() + 1
}

/// The services `text` (the contents of `file`) describes, in start order, and its channels.
#[cfg(test)]
fn parse(file: &str, text: &str) -> Result<Described> {
    parse_checked(file, text, true)
}

/// As [`parse`], with the checks core makes too only when `check` says so.
fn parse_checked(file: &str, text: &str, check: bool) -> Result<Described> {
    // toml's message names the line, the column and the key.
    let parsed: File = toml::from_str(text).map_err(|e| anyhow!("{file}: {e}"))?;
    if parsed.service.is_empty() {
        anyhow::bail!("{file}: the system lists no `[[service]]`");
    }
    let mut services: Vec<Service> = Vec::new();
    // Where each service's device keys are, for the checks that span services.
    let mut parsed_spans: Vec<std::ops::Range<usize>> = Vec::new();
    for e in parsed.service {
        let device_span = [
            e.ports.as_ref().map(|v| v.span()),
            e.irqs.as_ref().map(|v| v.span()),
            e.memory.as_ref().map(|v| v.span()),
        ]
        .into_iter()
        .flatten()
        .next()
        .unwrap_or_else(|| e.name.span());
        parsed_spans.push(device_span);
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
        s.restarts = match (&e.restart, &e.restarts) {
            (None, None) => 0,
            (Some(r), limit) if r.get_ref() == "on-fault" => match limit {
                Some(n) if *n.get_ref() == 0 => {
                    anyhow::bail!("{}: key `restarts`: 0 restarts is `restart = \"never\"`", at(n.span()))
                }
                Some(n) => *n.get_ref(),
                None => DEFAULT_RESTARTS,
            },
            (Some(r), None) if r.get_ref() == "never" => 0,
            (Some(r), Some(n)) if r.get_ref() == "never" => {
                anyhow::bail!("{}: key `restarts`: a limit wants `restart = \"on-fault\"`", at(n.span()))
            }
            (Some(r), _) => anyhow::bail!(
                "{}: key `restart`: `{}` is no restart policy (\"never\" or \"on-fault\")",
                at(r.span()),
                r.get_ref()
            ),
            (None, Some(n)) => {
                anyhow::bail!("{}: key `restarts`: a limit wants `restart = \"on-fault\"`", at(n.span()))
            }
        };
        s.devices = devices(&at, &e)?;
        services.push(s);
    }
    let channels = channels(file, text, &services, parsed.channel)?;
    if check {
        check_with_core(file, text, &services, &channels, &parsed_spans)?;
    }
    Ok(Described { services, channels })
}

/// The devices entry `e` grants; `at` names a line of the file.
fn devices(at: &dyn Fn(std::ops::Range<usize>) -> String, e: &Entry) -> Result<Devices> {
    let mut d = Devices::default();
    if let Some(ports) = &e.ports {
        for p in ports.get_ref() {
            let bad = || {
                anyhow!("{}: key `ports`: `{p}` is no port or range of ports (`0x40` or `0x40-0x43`)", at(ports.span()))
            };
            let (first, last) = p.split_once('-').unwrap_or((p, p));
            let port = |t: &str| crate::scenario::parse_size(t.trim()).ok().and_then(|n| u16::try_from(n).ok());
            let (first, last) = (port(first).ok_or_else(bad)?, port(last).ok_or_else(bad)?);
            if first > last {
                return Err(bad());
            }
            d.ports.push(Ports { first, last });
        }
    }
    if let Some(irqs) = &e.irqs {
        for i in irqs.get_ref() {
            let here = at(irqs.span());
            // ISA interrupts are edge-triggered and active high; PCI ones level and low.
            let level = match i.trigger.as_deref() {
                None | Some("edge") => false,
                Some("level") => true,
                Some(t) => anyhow::bail!("{here}: key `irqs`: trigger `{t}` is neither \"edge\" nor \"level\""),
            };
            let active_low = match i.polarity.as_deref() {
                None | Some("high") => false,
                Some("low") => true,
                Some(p) => anyhow::bail!("{here}: key `irqs`: polarity `{p}` is neither \"high\" nor \"low\""),
            };
            if i.id as u64 >= abi::CHANNEL_IDS {
                anyhow::bail!(
                    "{here}: key `irqs`: id {} is beyond the channel ids (0 to {})",
                    i.id,
                    abi::CHANNEL_IDS - 1
                );
            }
            let ack_within_ms = i.ack_within_ms.unwrap_or(ACK_WITHIN_MS);
            d.irqs.push(Irq { id: i.id, ioapic: i.ioapic.unwrap_or(0), pin: i.pin, level, active_low, ack_within_ms });
        }
    }
    if let Some(memory) = &e.memory {
        let mut next = abi::DEVICE_BASE;
        for m in memory.get_ref() {
            let here = at(memory.span());
            let size = crate::scenario::parse_size(&m.size)
                .map_err(|e| anyhow!("{here}: key `memory`: size `{}`: {e}", m.size))?;
            let cache = match m.cache.as_deref() {
                None | Some("uncached") => CacheAttr::Uncached,
                Some("write-combining") => CacheAttr::WriteCombining,
                Some("cached") => CacheAttr::Cached,
                Some(c) => anyhow::bail!(
                    "{here}: key `memory`: cache `{c}` is none of \"uncached\", \"write-combining\", \"cached\""
                ),
            };
            if size == 0 || !size.is_multiple_of(4096) || !m.paddr.is_multiple_of(4096) {
                anyhow::bail!("{here}: key `memory`: {} bytes at {:#x} is no whole pages", size, m.paddr);
            }
            let at_va = m.at.unwrap_or(next);
            next = (at_va + size).div_ceil(abi::SHARED_ALIGN) * abi::SHARED_ALIGN;
            d.memory.push(DeviceMemory { paddr: m.paddr, size, at: at_va, cache: cache as u8 });
        }
    }
    Ok(d)
}

/// Grants core would refuse (overlaps between services, an IRQ id a channel has): core's own
/// check of the description (`sel4_core_system`), named by the line of the service's devices.
fn check_with_core(
    file: &str,
    text: &str,
    services: &[Service],
    channels: &[Channel],
    spans: &[std::ops::Range<usize>],
) -> Result<()> {
    let blob = crate::scenario::service::encode(services.iter().map(|s| (s, &[][..])), channels)?;
    match sel4_core_system::System::decode(&blob) {
        Err(sel4_core_system::DecodeError::Device { service, other, why, .. }) => {
            let line = line_of(text, spans[service].start);
            match other.map(|(o, _)| o) {
                Some(o) => anyhow::bail!(
                    "{file}:{line}: services `{}` and `{}` (line {}): {why}",
                    services[service].name,
                    services[o].name,
                    line_of(text, spans[o].start)
                ),
                None => anyhow::bail!("{file}:{line}: service `{}`: {why}", services[service].name),
            }
        }
        Err(e) => anyhow::bail!("{file}: {e}"),
        Ok(_) => Ok(()),
    }
}

/// Restarts a service with `restart = "on-fault"` gets when it names no limit.
pub const DEFAULT_RESTARTS: u32 = 3;

/// The channels of the file, checked against its services; shared memory without an address
/// placed (module documentation).
fn channels(file: &str, text: &str, services: &[Service], entries: Vec<ChannelEntry>) -> Result<Vec<Channel>> {
    let at = |span: std::ops::Range<usize>| format!("{file}:{}", line_of(text, span.start));
    let index = |name: &str| services.iter().position(|s| s.name == name);
    // Where each service's next shared dataspace without an address goes.
    let mut next_shared = vec![abi::SHARED_BASE; services.len()];
    let mut out: Vec<Channel> = Vec::new();
    for c in entries {
        let end = |e: &Spanned<EndEntry>, key: &str| -> Result<End> {
            let Some(service) = index(&e.get_ref().service) else {
                anyhow::bail!("{}: key `{key}`: no service named `{}` in the system", at(e.span()), e.get_ref().service)
            };
            let id = e.get_ref().id;
            if id as u64 >= abi::CHANNEL_IDS {
                anyhow::bail!(
                    "{}: key `{key}`: id {id} is beyond the channel ids (0 to {})",
                    at(e.span()),
                    abi::CHANNEL_IDS - 1
                )
            }
            let taken = out.iter().any(|o| o.end_of(service as u32, id).is_some());
            if taken {
                anyhow::bail!(
                    "{}: key `{key}`: service `{}` has a channel with id {id} already",
                    at(e.span()),
                    e.get_ref().service
                )
            }
            Ok(End { service: service as u32, id })
        };
        let client = end(&c.client, "client")?;
        let server = end(&c.server, "server")?;
        if client.service == server.service {
            anyhow::bail!("{}: key `server`: a channel's ends are two different services", at(c.server.span()));
        }
        let (call, notify) = (c.call.unwrap_or(true), c.notify.unwrap_or(true));
        let shared = match &c.shared {
            None => None,
            Some(sh) => {
                let here = at(sh.span());
                let e = sh.get_ref();
                let size = crate::scenario::parse_size(&e.size)
                    .map_err(|m| anyhow!("{here}: key `shared`: size `{}`: {m}", e.size))?;
                if size == 0 || !size.is_multiple_of(4096) {
                    anyhow::bail!("{here}: key `shared`: size wants a positive multiple of 4K, not `{}`", e.size);
                }
                let payer = if e.paid_by == services[client.service as usize].name {
                    Side::Client
                } else if e.paid_by == services[server.service as usize].name {
                    Side::Server
                } else {
                    anyhow::bail!("{here}: key `shared`: paid_by `{}` is neither end of the channel", e.paid_by)
                };
                let mut place = |given: Option<u64>, service: u32, key: &str| -> Result<u64> {
                    match given {
                        Some(a) if !a.is_multiple_of(4096) || a.checked_add(size).is_none_or(|end| end > 1 << 47) => {
                            anyhow::bail!(
                                "{here}: key `shared`: {key} {a:#x} is no page-aligned address that fits below 2^47"
                            )
                        }
                        Some(a) => Ok(a),
                        None => {
                            let next = &mut next_shared[service as usize];
                            let a = *next;
                            *next = (a + size).div_ceil(abi::SHARED_ALIGN) * abi::SHARED_ALIGN;
                            Ok(a)
                        }
                    }
                };
                let client_at = place(e.client_at, client.service, "client_at")?;
                let server_at = place(e.server_at, server.service, "server_at")?;
                Some(Shared { size, payer, client_at, server_at })
            }
        };
        if !call && !notify && shared.is_none() {
            anyhow::bail!("{}: the channel has neither call, notify nor shared memory", at(c.client.span()));
        }
        out.push(Channel { client, server, call, notify, shared });
    }
    Ok(out)
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
        let s = parse("s.toml", GOOD).unwrap().services;
        assert_eq!(s.len(), 2);
        assert_eq!((s[0].name.as_str(), s[0].binary.as_str()), ("kv", "hello"));
        assert_eq!((s[0].ram, s[0].caps, s[0].prio, s[0].stack, s[0].heap), (64 << 20, 128, 90, 64 << 10, 32 << 20));
        assert_eq!((s[1].ram, s[1].caps, s[1].prio, s[1].stack, s[1].heap), (4 << 20, 256, 100, 32 << 10, 2 << 20));
        let one = parse("s.toml", "[[service]]\nname = \"hello\"\n").unwrap().services;
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

    const CHANNELS: &str = r#"
[[channel]]
client = { service = "client", id = 3 }
server = { service = "kv", id = 0 }
shared = { size = "8K", paid_by = "client" }

[[channel]]
client = { service = "client", id = 4 }
server = { service = "kv", id = 1 }
call = false
shared = { size = "4K", paid_by = "kv", server_at = 0x1000_0000 }
"#;

    #[test]
    fn channels_and_restart() {
        let text = format!("{}restart = \"on-fault\"\n{CHANNELS}", GOOD);
        let d = parse("s.toml", &text).unwrap();
        assert_eq!((d.services[0].restarts, d.services[1].restarts), (0, DEFAULT_RESTARTS));
        assert_eq!(d.channels.len(), 2);
        let (a, b) = (d.channels[0], d.channels[1]);
        assert_eq!((a.client, a.server), (End { service: 1, id: 3 }, End { service: 0, id: 0 }));
        assert!(a.call && a.notify && !b.call && b.notify);
        let sa = a.shared.unwrap();
        assert_eq!(
            (sa.size, sa.payer, sa.client_at, sa.server_at),
            (8192, Side::Client, abi::SHARED_BASE, abi::SHARED_BASE)
        );
        let sb = b.shared.unwrap();
        assert_eq!(
            (sb.payer, sb.client_at, sb.server_at),
            (Side::Server, abi::SHARED_BASE + abi::SHARED_ALIGN, 0x1000_0000)
        );
        let limited = GOOD.replace("heap = \"32M\"", "heap = \"32M\"\nrestart = \"on-fault\"\nrestarts = 7");
        assert_eq!(parse("s.toml", &limited).unwrap().services[0].restarts, 7);
    }

    #[test]
    fn channel_errors_name_file_line_and_key() {
        let with = |text: &str| error(&format!("{GOOD}{text}"));
        let e = with(&CHANNELS.replace("service = \"client\", id = 3", "service = \"nobody\", id = 3"));
        assert_eq!(e, "s.toml:16: key `client`: no service named `nobody` in the system");
        let e = with(&CHANNELS.replace("id = 4", "id = 3"));
        assert_eq!(e, "s.toml:21: key `client`: service `client` has a channel with id 3 already");
        let e = with(&CHANNELS.replace("id = 4", &format!("id = {}", abi::CHANNEL_IDS)));
        assert!(e.starts_with(&format!("s.toml:21: key `client`: id {} is beyond", abi::CHANNEL_IDS)), "{e}");
        let e = with(&CHANNELS.replace("size = \"8K\"", "size = \"8X\""));
        assert!(e.starts_with("s.toml:18: key `shared`: size `8X`"), "{e}");
        let e = with(&CHANNELS.replace("size = \"8K\"", "size = \"100\""));
        assert!(e.starts_with("s.toml:18: key `shared`: size wants"), "{e}");
        let e = with(&CHANNELS.replace("paid_by = \"client\"", "paid_by = \"third\""));
        assert!(e.starts_with("s.toml:18: key `shared`: paid_by `third`"), "{e}");
        let e = with(&CHANNELS.replace("server_at = 0x1000_0000", "server_at = 0x1000_0001"));
        assert!(e.starts_with("s.toml:24: key `shared`: server_at"), "{e}");
        let e = with(&CHANNELS.replace("service = \"kv\", id = 0", "service = \"client\", id = 0"));
        assert!(e.starts_with("s.toml:17: key `server`: a channel's ends"), "{e}");
        let e = with(&CHANNELS.replace("call = false", "call = false\nnotify = false\nmood = 1"));
        assert!(e.contains("mood"), "{e}");
        let e = with("[[channel]]\nclient = { service = \"client\", id = 1 }\nserver = { service = \"kv\", id = 1 }\ncall = false\nnotify = false\n");
        assert!(e.starts_with("s.toml:15: the channel has neither"), "{e}");
        let e = error(&GOOD.replace("heap = \"32M\"", "heap = \"32M\"\nrestart = \"sometimes\""));
        assert!(e.starts_with("s.toml:10: key `restart`: `sometimes`"), "{e}");
        let e = error(&GOOD.replace("heap = \"32M\"", "heap = \"32M\"\nrestarts = 2"));
        assert!(e.starts_with("s.toml:10: key `restarts`: a limit wants"), "{e}");
    }

    const DRIVERS: &str = r#"
[[service]]
name = "timer"
ports = ["0x40-0x43"]
irqs = [{ id = 1, pin = 2 }]

[[service]]
name = "screen"
memory = [{ paddr = 0xb8000, size = "4K" }]
ports = ["0x3d4-0x3d5", "0x60"]
irqs = [{ id = 2, pin = 12, trigger = "level", polarity = "low" }]
"#;

    #[test]
    fn device_grants() {
        let d = parse("s.toml", DRIVERS).unwrap().services;
        assert_eq!(d[0].devices.ports, [Ports { first: 0x40, last: 0x43 }]);
        assert_eq!(
            d[0].devices.irqs,
            [Irq { id: 1, ioapic: 0, pin: 2, level: false, active_low: false, ack_within_ms: 500 }]
        );
        assert_eq!(d[1].devices.ports[1], Ports { first: 0x60, last: 0x60 });
        assert_eq!(
            d[1].devices.irqs[0],
            Irq { id: 2, ioapic: 0, pin: 12, level: true, active_low: true, ack_within_ms: 500 }
        );
        let m = d[1].devices.memory[0];
        assert_eq!((m.paddr, m.size, m.at, m.cache), (0xb8000, 4096, abi::DEVICE_BASE, CacheAttr::Uncached as u8));
        let e = error(&DRIVERS.replace("\"0x60\"", "\"0x42\""));
        assert_eq!(e, "s.toml:4: services `timer` and `screen` (line 10): an I/O port range overlaps another grant's");
        let e = error(&DRIVERS.replace("pin = 12", "pin = 2"));
        assert_eq!(e, "s.toml:4: services `timer` and `screen` (line 10): an interrupt pin is granted twice");
        let e = error(&DRIVERS.replace("\"0x60\"", "\"0x60\", \"0x3d5\""));
        assert_eq!(e, "s.toml:10: service `screen`: an I/O port range overlaps another grant's");
        let e = error(&DRIVERS.replace("pin = 12", "pin = 8"));
        assert!(e.starts_with("s.toml:10: service `screen`: IOAPIC pin 8 (the RTC's interrupt) is core's"), "{e}");
        let e = error(&DRIVERS.replace("\"0x60\"", "\"0x70\""));
        assert!(e.contains("0x70-0x71 (the RTC) are core's"), "{e}");
        let e = error(&DRIVERS.replace("pin = 12,", "pin = 12, ack_within_ms = 0,"));
        assert!(e.contains("within at least 1 ms"), "{e}");
        let e = error(&DRIVERS.replace("\"0x60\"", "\"0x60-0x5f\""));
        assert!(e.starts_with("s.toml:10: key `ports`: `0x60-0x5f`"), "{e}");
        let e = error(&DRIVERS.replace("\"level\"", "\"sideways\""));
        assert!(e.starts_with("s.toml:11: key `irqs`: trigger `sideways`"), "{e}");
        let e = error(&DRIVERS.replace("size = \"4K\"", "size = \"5000\""));
        assert!(e.starts_with("s.toml:9: key `memory`"), "{e}");
    }

    /// Every shipped system passes the run tool's checks, except those a scenario hands core
    /// `unchecked`: the run tool refuses them, and only its checks core makes too.
    #[test]
    fn shipped_systems_parse() {
        let scenarios = crate::scenario::list(&workspace::scenario_dir()).unwrap();
        let unchecked: Vec<String> = scenarios
            .iter()
            .map(|p| crate::scenario::Scenario::parse("s", &std::fs::read_to_string(p).unwrap()).unwrap())
            .filter(|s| s.unchecked)
            .filter_map(|s| s.system)
            .collect();
        let dir = workspace::system_dir();
        for f in std::fs::read_dir(&dir).unwrap() {
            let path = f.unwrap().path();
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            if unchecked.contains(&name) {
                let e = load(&path, true).err().unwrap_or_else(|| panic!("{name} passes the run tool's checks"));
                assert!(e.to_string().contains("grant"), "{e}");
                load(&path, false).unwrap_or_else(|e| panic!("{e}"));
            } else {
                load(&path, true).unwrap_or_else(|e| panic!("{e}"));
            }
        }
    }
}
