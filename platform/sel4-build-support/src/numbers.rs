//! Computes every kernel number for one configuration from the kernel
//! source: invocation labels from the interface XML (as
//! `libsel4/tools/invocation_header_gen.py` numbers them), syscall numbers
//! from `syscall.xml` (as `libsel4/tools/syscall_header_gen.py` does), the
//! integer constants of the interface headers, the layout of the bitfield
//! words the interface uses, and the few numbers of the kernel's own headers
//! whose effects userland sees.

use crate::autoconf::{holds, Defines};
use crate::bitfield::{self, Block};
use crate::cheader::{self, Constant};
use std::path::Path;

/// Interface files in the order the kernel numbers their methods
/// (`libsel4/Makefile`: generic, then sel4_arch, then arch), with the C
/// name of the count that follows each.
pub const INTERFACES: [(&str, &str); 3] = [
    ("libsel4/include/interfaces/sel4.xml", "nInvocationLabels"),
    ("libsel4/sel4_arch_include/x86_64/interfaces/sel4arch.xml", "nSeL4ArchInvocationLabels"),
    ("libsel4/arch_include/x86/interfaces/sel4arch.xml", "nArchInvocationLabels"),
];

/// Headers with integer constants, in include order (later ones use
/// earlier ones' values, e.g. `seL4_NonArchObjectTypeCount`).
pub const HEADERS: [&str; 11] = [
    "libsel4/include/sel4/constants.h",
    "libsel4/sel4_arch_include/x86_64/sel4/sel4_arch/constants.h",
    "libsel4/sel4_plat_include/pc99/sel4/plat/api/constants.h",
    "libsel4/include/sel4/objecttype.h",
    "libsel4/sel4_arch_include/x86_64/sel4/sel4_arch/objecttype.h",
    "libsel4/arch_include/x86/sel4/arch/objecttype.h",
    "libsel4/include/sel4/errors.h",
    "libsel4/include/sel4/bootinfo_types.h",
    "libsel4/arch_include/x86/sel4/arch/types.h",
    "libsel4/include/sel4/shared_types.h",
    "libsel4/include/sel4/types.h",
];

/// One-word bitfield blocks (file, block): the message info, rights and
/// priority words of libsel4's shared types, and the CNode cap data word as
/// the kernel decodes it (`src/object/objecttype.c:updateCapData` reads it as
/// `cnode_capdata`; libsel4's own `seL4_CapData_Guard` puts the same fields
/// at the same offsets).
/// The kernel's fault types (the label of a fault message), from this tagged union.
pub const FAULT_TAGS: (&str, &str) = ("libsel4/arch_include/x86/sel4/arch/shared_types.bf", "seL4_Fault");

pub const BITFIELDS: [(&str, &str); 5] = [
    ("libsel4/include/sel4/shared_types_64.bf", "seL4_MessageInfo"),
    ("libsel4/include/sel4/shared_types_64.bf", "seL4_CapRights"),
    ("libsel4/include/sel4/shared_types_64.bf", "seL4_PrioProps"),
    ("include/object/structures_64.bf", "cnode_capdata"),
    ("include/arch/x86/arch/64/mode/object/structures.bf", "io_port_capdata"),
];

/// Numbers of the kernel's own headers (not libsel4's interface) that
/// userland sees the effects of, with the header that defines them:
/// configuration values with the kernel's fallback when `autoconf.h` leaves
/// them out (`include/config.h`), and the base of the kernel's window onto
/// physical memory.
pub const KERNEL_CONSTANTS: [(&str, &[&str]); 2] = [
    ("include/config.h", &["CONFIG_RETYPE_FAN_OUT_LIMIT", "CONFIG_RESET_CHUNK_BITS"]),
    ("include/plat/pc99/plat/64/plat_mode/machine/hardware.h", &["PPTR_BASE"]),
];

pub const SYSCALL_XML: &str = "include/api/syscall.xml";

pub struct Numbers {
    /// Method id and label, `InvalidInvocation` = 0 first.
    pub labels: Vec<(String, u64)>,
    /// C name of each label count and its value.
    pub counts: Vec<(&'static str, u64)>,
    /// Syscall name (without `seL4_Sys`) and number, for those compiled in.
    pub syscalls: Vec<(String, i64)>,
    /// Header constants, each name once (the last definition wins, as in C).
    pub constants: Vec<Constant>,
    /// The blocks of [`BITFIELDS`], in that order.
    pub bitfields: Vec<Block>,
    /// The tags of [`FAULT_TAGS`]: each fault type and its number.
    pub fault_tags: Vec<(String, u64)>,
    /// The constants of [`KERNEL_CONSTANTS`], in that order (not in libsel4's
    /// headers, so not among [`Numbers::c_names`]).
    pub kernel: Vec<Constant>,
}

impl Numbers {
    /// Every number under its C name.
    pub fn c_names(&self) -> Vec<(String, i128)> {
        let mut v: Vec<(String, i128)> = self.labels.iter().map(|(n, l)| (n.clone(), *l as i128)).collect();
        v.extend(self.counts.iter().map(|(n, c)| (n.to_string(), *c as i128)));
        v.extend(self.syscalls.iter().map(|(n, s)| (format!("seL4_Sys{n}"), *s as i128)));
        v.extend(self.constants.iter().map(|c| (c.name.clone(), c.value)));
        v
    }
}

fn read(path: &Path) -> Result<String, String> {
    std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Numbers of the kernel tree `tree` under configuration `config`;
/// `on_read` sees every file read (for rerun-if-changed).
pub fn generate(tree: &Path, config: &Defines, on_read: &mut dyn FnMut(&Path)) -> Result<Numbers, String> {
    let mut labels: Vec<(String, u64)> = vec![("InvalidInvocation".into(), 0)];
    let mut counts = Vec::new();
    for (file, count_name) in INTERFACES {
        let path = tree.join(file);
        on_read(&path);
        let text = read(&path)?;
        let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{file}: {e}"))?;
        for m in doc.descendants().filter(|n| n.has_tag_name("method")) {
            let id = m.attribute("id").ok_or_else(|| format!("{file}: method without id"))?;
            // A method whose condition is false takes no number.
            if let Some(cond) = m.attribute("condition") {
                if !holds(cond, config).map_err(|e| format!("{file}: {id}: {e}"))? {
                    continue;
                }
            }
            let n = labels.len() as u64;
            labels.push((id.to_string(), n));
        }
        counts.push((count_name, labels.len() as u64));
    }

    // -1 downwards, counting every entry, keeping those whose condition holds.
    let path = tree.join(SYSCALL_XML);
    on_read(&path);
    let text = read(&path)?;
    let doc = roxmltree::Document::parse(&text).map_err(|e| format!("{SYSCALL_XML}: {e}"))?;
    let mut syscalls = Vec::new();
    let mut number: i64 = -1;
    for s in doc.descendants().filter(|n| n.has_tag_name("syscall")) {
        let name = s.attribute("name").ok_or_else(|| format!("{SYSCALL_XML}: syscall without name"))?;
        let on = match s.parent_element().and_then(|p| p.attribute("condition")) {
            Some(c) => holds(c, config).map_err(|e| format!("{SYSCALL_XML}: {name}: {e}"))?,
            None => true,
        };
        if on {
            syscalls.push((name.to_string(), number));
        }
        number -= 1;
    }

    let mut defs = config.clone();
    let mut all = Vec::new();
    for h in HEADERS {
        let path = tree.join(h);
        on_read(&path);
        all.extend(cheader::scan(&read(&path)?, &mut defs).map_err(|e| format!("{h}: {e}"))?);
    }
    let mut constants: Vec<Constant> = Vec::new();
    for c in all {
        match constants.iter_mut().find(|k| k.name == c.name) {
            Some(k) => k.value = c.value,
            None => constants.push(c),
        }
    }

    let word_bits =
        constants.iter().find(|c| c.name == "seL4_WordBits").ok_or("no seL4_WordBits in the interface headers")?.value;
    let mut bitfields = Vec::new();
    for (file, block) in BITFIELDS {
        let path = tree.join(file);
        on_read(&path);
        bitfields.push(
            bitfield::read_block(&read(&path)?, block, config, word_bits as u32).map_err(|e| format!("{file}: {e}"))?,
        );
    }

    let mut kernel = Vec::new();
    for (file, names) in KERNEL_CONSTANTS {
        let path = tree.join(file);
        on_read(&path);
        let mut defs = config.clone();
        cheader::scan(&read(&path)?, &mut defs).map_err(|e| format!("{file}: {e}"))?;
        for name in names {
            let value = defs.int(name).ok_or_else(|| format!("{file}: no integer `{name}`"))?;
            kernel.push(Constant { name: name.to_string(), value });
        }
    }
    let (file, union) = FAULT_TAGS;
    let path = tree.join(file);
    on_read(&path);
    let fault_tags = bitfield::read_tags(&read(&path)?, union, config).map_err(|e| format!("{file}: {e}"))?;
    Ok(Numbers { labels, counts, syscalls, constants, bitfields, fault_tags, kernel })
}
