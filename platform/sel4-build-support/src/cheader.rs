//! Reads the constants of libsel4's C headers for one kernel configuration:
//! a small preprocessor (`#if`/`#ifdef`/`#ifndef`/`#elif`/`#else`/`#endif`,
//! object-like `#define`s) plus `enum { A = expr, B, ... }` numbering, which
//! is all the interface headers (`objecttype.h`, `constants.h`, `errors.h`,
//! `bootinfo_types.h`, `types.h`) and the kernel's `config.h` need; other
//! kernel headers yield the object-like macros whose values are integer
//! expressions (e.g. `PPTR_BASE`), and ignore the rest.

use crate::autoconf::{directive, eval, holds, split_word, strip_comments, Defines, ParseError, Value};

/// One integer constant found in a header, in the order found.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Constant {
    pub name: String,
    pub value: i128,
}

struct Branch {
    /// Lines in this group are kept.
    active: bool,
    /// Some earlier group of this `#if` chain was taken.
    taken: bool,
    /// The enclosing group is active.
    parent: bool,
}

/// What the preprocessor keeps of a file.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Preprocessed {
    /// The lines of active groups that are not directives, comments removed and
    /// continuation lines joined.
    pub code: String,
    /// Names of the active `#define`s, in the order found.
    pub defined: Vec<String>,
}

/// Runs the conditionals of `text` against `defs`, updating `defs` with its
/// active `#define`s and `#undef`s. Includes are not followed: callers scan
/// files in include order.
pub fn preprocess(text: &str, defs: &mut Defines) -> Result<Preprocessed, ParseError> {
    let text = strip_comments(&text.replace("\\\n", " "));
    let mut stack: Vec<Branch> = Vec::new();
    let mut out = Preprocessed::default();
    let active = |s: &Vec<Branch>| s.last().is_none_or(|b| b.active);
    for line in text.lines() {
        let Some(d) = directive(line) else {
            if active(&stack) {
                out.code.push_str(line);
                out.code.push('\n');
            }
            continue;
        };
        let (kw, rest) = split_word(d);
        let rest = rest.trim();
        let parent = active(&stack);
        match kw {
            "if" | "ifdef" | "ifndef" => {
                let cond = if !parent {
                    false
                } else {
                    match kw {
                        "ifdef" => defs.is_defined(rest),
                        "ifndef" => !defs.is_defined(rest),
                        _ => holds(rest, defs)?,
                    }
                };
                stack.push(Branch { active: parent && cond, taken: cond, parent });
            }
            "elif" => {
                let b = stack.last_mut().ok_or_else(|| ParseError("#elif without #if".into()))?;
                let cond = b.parent && !b.taken && holds(rest, defs)?;
                b.active = cond;
                b.taken |= cond;
            }
            "else" => {
                let b = stack.last_mut().ok_or_else(|| ParseError("#else without #if".into()))?;
                b.active = b.parent && !b.taken;
                b.taken = true;
            }
            "endif" => {
                stack.pop().ok_or_else(|| ParseError("#endif without #if".into()))?;
            }
            "define" if parent => {
                defs.define_line(rest)?;
                let (name, _) = split_word(rest);
                out.defined.push(name.to_string());
            }
            "undef" if parent => {
                defs.map.remove(rest);
            }
            // Includes are resolved by scanning the headers in include order.
            _ => {}
        }
    }
    if !stack.is_empty() {
        return Err(ParseError("unterminated #if".into()));
    }
    Ok(out)
}

/// Scans `text`, updating `defs` with its active `#define`s and enum
/// constants, and returns the integer constants it introduced.
pub fn scan(text: &str, defs: &mut Defines) -> Result<Vec<Constant>, ParseError> {
    let pre = preprocess(text, defs)?;
    let mut found = scan_enums(&pre.code, defs)?;
    // Macros are evaluated last: an alias such as `seL4_CapInitThreadPD`
    // may name an enum constant of the same file.
    for name in pre.defined {
        if matches!(defs.map.get(&name), Some(Value::Int(_) | Value::Expr(_))) {
            if let Some(value) = defs.int(&name) {
                found.push(Constant { name, value });
            }
        }
    }
    Ok(found)
}

/// Numbers the constants of every `enum { ... }` in preprocessed `code`.
fn scan_enums(code: &str, defs: &mut Defines) -> Result<Vec<Constant>, ParseError> {
    let mut found = Vec::new();
    let mut rest = code;
    while let Some(pos) = find_word(rest, "enum") {
        rest = &rest[pos + 4..];
        let Some(open) = rest.find(['{', ';']) else { break };
        if rest.as_bytes()[open] == b';' {
            // `enum x;` or a use of an enum type, not a definition.
            continue;
        }
        let close = rest[open..].find('}').ok_or_else(|| ParseError("unterminated enum".into()))? + open;
        let body = &rest[open + 1..close];
        rest = &rest[close + 1..];
        let mut next: i128 = 0;
        for entry in body.split(',') {
            let entry = entry.trim();
            if entry.is_empty() {
                continue;
            }
            let (name, value) = match entry.split_once('=') {
                Some((n, v)) => (n.trim(), Some(v.trim())),
                None => (entry, None),
            };
            // Macro entries such as SEL4_FORCE_LONG_ENUM(x) only widen the type.
            if name.contains('(') {
                continue;
            }
            if !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(ParseError(format!("bad enum entry `{entry}`")));
            }
            let v = match value {
                Some(expr) => eval(expr, defs)?,
                None => next,
            };
            defs.map.insert(name.to_string(), Value::Int(v));
            found.push(Constant { name: name.to_string(), value: v });
            next = v + 1;
        }
    }
    Ok(found)
}

/// Byte offset of `word` standing alone (not part of a longer identifier).
fn find_word(s: &str, word: &str) -> Option<usize> {
    let is_id = |c: u8| c.is_ascii_alphanumeric() || c == b'_';
    let b = s.as_bytes();
    let mut from = 0;
    while let Some(i) = s[from..].find(word).map(|i| i + from) {
        let before = i == 0 || !is_id(b[i - 1]);
        let after = b.get(i + word.len()).is_none_or(|c| !is_id(*c));
        if before && after {
            return Some(i);
        }
        from = i + word.len();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enums_follow_active_branches() {
        let mut d = Defines::parse_autoconf("#define CONFIG_A 1\n").unwrap();
        let c = scan(
            "typedef enum { X = 5, /* c */ Y,\n#ifdef CONFIG_A\n Z,\n#endif\n#ifdef CONFIG_B\n W,\n#else\n V,\n#endif\n N, SEL4_FORCE_LONG_ENUM(t) } t;\n#ifndef CONFIG_A\n#define Q 0xff\n#endif\n#define R (1 << 3)\n#define S (Y + 1)\n",
            &mut d,
        )
        .unwrap();
        let got: Vec<(String, i128)> = c.into_iter().map(|c| (c.name, c.value)).collect();
        let want = [("X", 5), ("Y", 6), ("Z", 7), ("V", 8), ("N", 9), ("R", 8), ("S", 7)];
        assert_eq!(got, want.iter().map(|(n, v)| (n.to_string(), *v)).collect::<Vec<_>>());
    }

    #[test]
    fn unbalanced_conditionals_are_errors() {
        let mut d = Defines::default();
        assert!(scan("#if 1\n", &mut d).is_err());
        assert!(scan("#endif\n", &mut d).is_err());
        assert!(scan("#else\n", &mut d).is_err());
    }
}
