//! The `service` line of a scenario: a service core starts from its boot image, with its
//! quotas (`service NAME [ram=SIZE] [caps=N] [prio=P] [stack=SIZE] [heap=SIZE]`).

use crate::scenario::parse_size;

/// A service of a scenario: binary `name` of the workspace package that has it, with its quotas.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Service {
    /// What core calls it (the binary's name, or a system description's instance name).
    pub name: String,
    /// The service binary to build.
    pub binary: String,
    /// RAM quota in bytes.
    pub ram: u64,
    /// Cap quota (capability slots).
    pub caps: u32,
    /// Priority of its first thread.
    pub prio: u8,
    /// Bytes of its first thread's stack.
    pub stack: u64,
    /// Bytes of dataspaces its heap may take from its budget.
    pub heap: u64,
    /// How often core restarts it after a fault (a system description's `restart`).
    pub restarts: u32,
    /// The devices it may drive (a system description's `ports`, `irqs` and `memory`).
    pub devices: sel4_core_system::Devices,
}

/// Quotas of a service whose line names none.
pub const DEFAULT_RAM: u64 = 4 << 20;
pub const DEFAULT_CAPS: u32 = 256;
pub const DEFAULT_PRIO: u8 = 100;
/// Core's default (`sel4_core::loader::DEFAULT_STACK`).
pub const DEFAULT_STACK: u64 = 32 << 10;

/// The heap of a service whose line names none: half its RAM budget (in whole pages).
pub fn default_heap(ram: u64) -> u64 {
    ram / 2 / 4096 * 4096
}

/// Settings a `service` line may give.
const KEYS: &[&str] = &["ram", "caps", "prio", "stack", "heap"];

impl Service {
    /// Parses the words after `service`: a binary name, then `KEY=VALUE` settings, each at
    /// most once.
    pub fn parse(value: &str) -> Result<Service, String> {
        let mut words = value.split_whitespace();
        let name = words.next().ok_or("service wants a binary name")?;
        if name.contains('=') {
            return Err(format!("service wants a binary name first, not the setting `{name}`"));
        }
        let mut s = Service {
            name: name.to_string(),
            binary: name.to_string(),
            ram: DEFAULT_RAM,
            caps: DEFAULT_CAPS,
            prio: DEFAULT_PRIO,
            stack: DEFAULT_STACK,
            heap: 0,
            restarts: 0,
            devices: Default::default(),
        };
        let mut heap = None;
        let mut given: Vec<&str> = Vec::new();
        for word in words {
            let (key, v) = word.split_once('=').ok_or_else(|| {
                format!(
                    "service `{name}`: `{word}` is no setting; settings are KEY=VALUE with KEY one of {}",
                    KEYS.join(", ")
                )
            })?;
            if !KEYS.contains(&key) {
                return Err(format!("service `{name}`: unknown setting `{key}`; settings: {}", KEYS.join(", ")));
            }
            if given.contains(&key) {
                return Err(format!("service `{name}`: `{key}` given twice"));
            }
            given.push(key);
            match key {
                "ram" => s.ram = parse_size(v).map_err(|e| format!("service `{name}`: ram: {e}"))?,
                "caps" => {
                    s.caps = v.parse().map_err(|_| {
                        format!("service `{name}`: caps wants a whole number up to {}, not `{v}`", u32::MAX)
                    })?
                }
                "stack" => {
                    s.stack = parse_size(v).map_err(|e| format!("service `{name}`: stack: {e}"))?;
                    if s.stack == 0 || !s.stack.is_multiple_of(4096) {
                        return Err(format!("service `{name}`: stack wants a positive multiple of 4K, not `{v}`"));
                    }
                }
                "heap" => {
                    let h = parse_size(v).map_err(|e| format!("service `{name}`: heap: {e}"))?;
                    if !h.is_multiple_of(4096) {
                        return Err(format!("service `{name}`: heap wants a multiple of 4K, not `{v}`"));
                    }
                    heap = Some(h);
                }
                _ => s.prio = v.parse().map_err(|_| format!("service `{name}`: prio wants 0 to 255, not `{v}`"))?,
            }
        }
        s.heap = heap.unwrap_or(default_heap(s.ram));
        if s.heap > s.ram {
            return Err(format!("service `{name}`: heap ({}) exceeds its RAM budget ({})", s.heap, s.ram));
        }
        Ok(s)
    }
}

/// The system description of `services`, each with its ELF, in start order, and `channels`.
pub fn encode<'a>(
    services: impl IntoIterator<Item = (&'a Service, &'a [u8])>,
    channels: &[sel4_core_system::Channel],
) -> anyhow::Result<Vec<u8>> {
    let mut system = sel4_core_system::System { channels: channels.to_vec(), ..Default::default() };
    for (s, elf) in services {
        let entry = sel4_core_system::Service {
            name: &s.name,
            ram: s.ram,
            caps: s.caps,
            prio: s.prio,
            stack: s.stack,
            heap: s.heap,
            restarts: s.restarts,
            devices: s.devices.clone(),
            elf,
        };
        system.services.push(entry);
    }
    Ok(system.encode()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_settings_in_any_order() {
        let s = Service::parse("hello").unwrap();
        assert_eq!(
            s,
            Service {
                name: "hello".into(),
                binary: "hello".into(),
                ram: 4 << 20,
                caps: 256,
                prio: 100,
                stack: 32 << 10,
                heap: 2 << 20,
                restarts: 0,
                devices: Default::default()
            }
        );
        let s = Service::parse("timer prio=255 ram=64K caps=0 stack=1M").unwrap();
        assert_eq!(
            s,
            Service {
                name: "timer".into(),
                binary: "timer".into(),
                ram: 64 << 10,
                caps: 0,
                prio: 255,
                stack: 1 << 20,
                heap: 32 << 10,
                restarts: 0,
                devices: Default::default()
            }
        );
        assert_eq!(Service::parse("kv ram=64M heap=60M").unwrap().heap, 60 << 20);
        assert_eq!(Service::parse("kv ram=64M heap=0K").unwrap().heap, 0);
        assert_eq!(Service::parse("x ram=2G").unwrap().ram, 2 << 30);
        assert_eq!(Service::parse("x ram=3M").unwrap().ram, 3 << 20);
    }

    #[test]
    fn bad_settings_say_what_is_wrong() {
        let e = |text: &str| Service::parse(text).unwrap_err();
        assert!(e("ram=4M").contains("binary name first"), "{}", e("ram=4M"));
        assert!(e("hello size=4K").contains("unknown setting `size`; settings: ram, caps, prio, stack, heap"));
        assert!(e("hello ram=1M heap=2M").contains("heap (2097152) exceeds its RAM budget (1048576)"));
        assert!(e("hello heap=5000").contains("heap wants a multiple of 4K, not `5000`"));
        assert!(e("hello stack=6K").contains("stack wants a positive multiple of 4K, not `6K`"));
        assert!(e("hello stack=0K").contains("stack wants a positive multiple of 4K"));
        assert!(e("hello ram=4M ram=8M").contains("`ram` given twice"));
        assert!(e("hello prio=256").contains("prio wants 0 to 255, not `256`"));
        assert!(e("hello prio=-1").contains("prio wants 0 to 255"));
        assert!(e("hello caps=many").contains("caps wants a whole number"));
        assert!(e("hello caps=4294967296").contains("caps wants"));
        // One grammar with request scripts: `ram=4` is 4 bytes, as there.
        assert_eq!(Service::parse("hello ram=4").unwrap().ram, 4);
        assert!(e("hello ram=4T").contains("unknown unit"));
        assert!(e("hello ram=").contains("ram: "));
        assert!(e("hello ram=99999999999G").contains("too large"));
        assert!(e("hello fast").contains("`fast` is no setting"));
    }
}
