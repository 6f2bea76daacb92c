//! Reads a kernel `autoconf.h` (`#define CONFIG_X v` lines) and evaluates the
//! preprocessor conditions the kernel's interface files use
//! (`defined(CONFIG_X)`, `CONFIG_MAX_NUM_NODES > 1`, `&&`, `||`, `!`, ...).

use std::collections::BTreeMap;
use std::fmt;

/// Value of one `#define`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Value {
    /// `#define X` with no value.
    Empty,
    Int(i128),
    /// A quoted C string, without the quotes (escapes kept as written).
    Str(String),
    /// An expression, evaluated when used (C macros are expanded lazily,
    /// so it may name constants defined later).
    Expr(String),
    /// A function-like macro, never evaluated.
    Function(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError(pub String);

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Macro table: every name defined so far and its value.
#[derive(Clone, Debug, Default)]
pub struct Defines {
    pub map: BTreeMap<String, Value>,
}

/// Parses a C integer literal (decimal, hex, octal; `u`/`l` suffixes allowed).
pub fn parse_int(s: &str) -> Option<i128> {
    let t = s.trim().trim_end_matches(['u', 'U', 'l', 'L']);
    if t.is_empty() {
        return None;
    }
    if let Some(h) = t.strip_prefix("0x").or_else(|| t.strip_prefix("0X")) {
        return i128::from_str_radix(h, 16).ok();
    }
    if t.len() > 1 && t.starts_with('0') {
        return i128::from_str_radix(&t[1..], 8).ok();
    }
    t.parse::<i128>().ok()
}

impl Defines {
    /// Parses the `#define` lines of an `autoconf.h`. Other lines must be
    /// blank, comments or include guards; anything else is an error, so a
    /// malformed config is noticed rather than half-read.
    pub fn parse_autoconf(text: &str) -> Result<Defines, ParseError> {
        let mut d = Defines::default();
        let text = strip_comments(text);
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() {
                continue;
            }
            let Some(rest) = directive(line) else {
                return Err(ParseError(format!("line {}: not a preprocessor line: {line}", n + 1)));
            };
            let (kw, args) = split_word(rest);
            match kw {
                "define" => d.define_line(args).map_err(|e| ParseError(format!("line {}: {}", n + 1, e.0)))?,
                // Include guards around the defines.
                "ifndef" | "endif" | "pragma" => {}
                _ => return Err(ParseError(format!("line {}: unexpected directive #{kw}", n + 1))),
            }
        }
        Ok(d)
    }

    /// Records `NAME [value]` (the text after `#define`). Function-like macros
    /// are kept as `Function` and never evaluated.
    pub fn define_line(&mut self, args: &str) -> Result<(), ParseError> {
        let (name, value) = split_word(args);
        if name.is_empty()
            || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '(' || c == ')' || c == ',')
        {
            return Err(ParseError(format!("bad macro name in `#define {args}`")));
        }
        if let Some(fname) = name.split('(').next().filter(|_| name.contains('(')) {
            self.map.insert(fname.to_string(), Value::Function(args.to_string()));
            return Ok(());
        }
        let value = value.trim();
        let v = if value.is_empty() {
            Value::Empty
        } else if let Some(i) = parse_int(value) {
            Value::Int(i)
        } else if value.len() >= 2 && value.starts_with('"') && value.ends_with('"') {
            Value::Str(value[1..value.len() - 1].to_string())
        } else {
            Value::Expr(value.to_string())
        };
        self.map.insert(name.to_string(), v);
        Ok(())
    }

    pub fn is_defined(&self, name: &str) -> bool {
        self.map.contains_key(name)
    }

    /// Integer value of a macro, as the preprocessor sees it in `#if`
    /// (expressions are evaluated now, against the current definitions).
    pub fn int(&self, name: &str) -> Option<i128> {
        self.int_at(name, 0).ok().flatten()
    }

    fn int_at(&self, name: &str, depth: usize) -> Result<Option<i128>, ParseError> {
        Ok(match self.map.get(name) {
            Some(Value::Int(i)) => Some(*i),
            Some(Value::Empty) => Some(0),
            Some(Value::Expr(e)) => Some(eval_at(e, self, depth + 1)?),
            _ => None,
        })
    }
}

/// `#foo ...` -> `Some("foo ...")`.
pub fn directive(line: &str) -> Option<&str> {
    line.trim_start().strip_prefix('#').map(|r| r.trim_start())
}

/// Splits off the first whitespace-separated word.
pub fn split_word(s: &str) -> (&str, &str) {
    let s = s.trim_start();
    match s.find(|c: char| c.is_whitespace()) {
        Some(i) => (&s[..i], &s[i..]),
        None => (s, ""),
    }
}

/// Removes `/* */` and `//` comments (keeping line breaks), respecting strings.
pub fn strip_comments(text: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let mut in_str = false;
    while i < b.len() {
        let c = b[i];
        if in_str {
            out.push(c as char);
            if c == b'\\' && i + 1 < b.len() {
                out.push(b[i + 1] as char);
                i += 2;
                continue;
            }
            if c == b'"' {
                in_str = false;
            }
            i += 1;
        } else if c == b'"' {
            in_str = true;
            out.push('"');
            i += 1;
        } else if c == b'/' && b.get(i + 1) == Some(&b'*') {
            i += 2;
            while i < b.len() && !(b[i] == b'*' && b.get(i + 1) == Some(&b'/')) {
                if b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            i += 2;
            out.push(' ');
        } else if c == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else {
            out.push(c as char);
            i += 1;
        }
    }
    out
}

#[derive(Clone, Debug, PartialEq)]
enum Tok {
    Num(i128),
    Ident(String),
    Op(&'static str),
}

const OPS: [&str; 21] =
    ["&&", "||", "==", "!=", "<=", ">=", "<<", ">>", "!", "<", ">", "(", ")", "+", "-", "*", "/", "%", "&", "|", "~"];

fn tokenize(s: &str) -> Result<Vec<Tok>, ParseError> {
    let mut toks = Vec::new();
    let b = s.as_bytes();
    let mut i = 0;
    'outer: while i < b.len() {
        let c = b[i] as char;
        if c.is_whitespace() {
            i += 1;
            continue;
        }
        if c.is_ascii_digit() {
            let st = i;
            while i < b.len() && (b[i] as char).is_ascii_alphanumeric() {
                i += 1;
            }
            let lit = &s[st..i];
            toks.push(Tok::Num(parse_int(lit).ok_or_else(|| ParseError(format!("bad number `{lit}` in `{s}`")))?));
            continue;
        }
        if c.is_ascii_alphabetic() || c == '_' {
            let st = i;
            while i < b.len() && ((b[i] as char).is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            toks.push(Tok::Ident(s[st..i].to_string()));
            continue;
        }
        for op in OPS {
            if s[i..].starts_with(op) {
                toks.push(Tok::Op(op));
                i += op.len();
                continue 'outer;
            }
        }
        return Err(ParseError(format!("unexpected `{c}` in `{s}`")));
    }
    Ok(toks)
}

/// Evaluates a preprocessor condition against `defs` with C semantics:
/// undefined identifiers are 0, `defined X` / `defined(X)` test presence.
pub fn eval(expr: &str, defs: &Defines) -> Result<i128, ParseError> {
    eval_at(expr, defs, 0)
}

/// Macro expansions nested deeper than this are taken as a cycle.
const MAX_EXPANSION_DEPTH: usize = 32;

fn eval_at(expr: &str, defs: &Defines, depth: usize) -> Result<i128, ParseError> {
    if depth > MAX_EXPANSION_DEPTH {
        return Err(ParseError(format!("macro expansion too deep (a cycle?) at `{expr}`")));
    }
    let toks = tokenize(expr)?;
    let mut p = Parser { toks: &toks, pos: 0, defs, src: expr, depth };
    let v = p.binary(0)?;
    if p.pos != toks.len() {
        return Err(ParseError(format!("trailing tokens in `{expr}`")));
    }
    Ok(v)
}

/// `eval(..) != 0`.
pub fn holds(expr: &str, defs: &Defines) -> Result<bool, ParseError> {
    Ok(eval(expr, defs)? != 0)
}

struct Parser<'a> {
    toks: &'a [Tok],
    pos: usize,
    defs: &'a Defines,
    src: &'a str,
    depth: usize,
}

/// Binary operators by precedence level (lowest first), as in C.
const LEVELS: [&[&str]; 9] = [
    &["||"],
    &["&&"],
    &["|"],
    &["&"],
    &["==", "!="],
    &["<", ">", "<=", ">="],
    &["<<", ">>"],
    &["+", "-"],
    &["*", "/", "%"],
];

impl Parser<'_> {
    fn err(&self, m: &str) -> ParseError {
        ParseError(format!("{m} in `{}`", self.src))
    }

    fn peek_op(&self) -> Option<&'static str> {
        match self.toks.get(self.pos) {
            Some(Tok::Op(o)) => Some(o),
            _ => None,
        }
    }

    fn binary(&mut self, level: usize) -> Result<i128, ParseError> {
        if level == LEVELS.len() {
            return self.unary();
        }
        let mut lhs = self.binary(level + 1)?;
        while let Some(op) = self.peek_op().filter(|o| LEVELS[level].contains(o)) {
            self.pos += 1;
            let rhs = self.binary(level + 1)?;
            lhs = match op {
                "||" => ((lhs != 0) || (rhs != 0)) as i128,
                "&&" => ((lhs != 0) && (rhs != 0)) as i128,
                "|" => lhs | rhs,
                "&" => lhs & rhs,
                "==" => (lhs == rhs) as i128,
                "!=" => (lhs != rhs) as i128,
                "<" => (lhs < rhs) as i128,
                ">" => (lhs > rhs) as i128,
                "<=" => (lhs <= rhs) as i128,
                ">=" => (lhs >= rhs) as i128,
                "<<" => lhs.checked_shl(rhs as u32).ok_or_else(|| self.err("shift overflow"))?,
                ">>" => lhs.checked_shr(rhs as u32).ok_or_else(|| self.err("shift overflow"))?,
                "+" => lhs + rhs,
                "-" => lhs - rhs,
                "*" => lhs * rhs,
                "/" => lhs.checked_div(rhs).ok_or_else(|| self.err("division by zero"))?,
                "%" => lhs.checked_rem(rhs).ok_or_else(|| self.err("division by zero"))?,
                _ => unreachable!(),
            };
        }
        Ok(lhs)
    }

    fn unary(&mut self) -> Result<i128, ParseError> {
        match self.toks.get(self.pos).cloned() {
            Some(Tok::Op("!")) => {
                self.pos += 1;
                Ok((self.unary()? == 0) as i128)
            }
            Some(Tok::Op("-")) => {
                self.pos += 1;
                Ok(-self.unary()?)
            }
            Some(Tok::Op("~")) => {
                self.pos += 1;
                Ok(!self.unary()?)
            }
            Some(Tok::Op("(")) => {
                self.pos += 1;
                let v = self.binary(0)?;
                if self.peek_op() != Some(")") {
                    return Err(self.err("missing `)`"));
                }
                self.pos += 1;
                Ok(v)
            }
            Some(Tok::Num(n)) => {
                self.pos += 1;
                Ok(n)
            }
            Some(Tok::Ident(id)) if id == "defined" => {
                self.pos += 1;
                let paren = self.peek_op() == Some("(");
                if paren {
                    self.pos += 1;
                }
                let Some(Tok::Ident(name)) = self.toks.get(self.pos).cloned() else {
                    return Err(self.err("`defined` without a name"));
                };
                self.pos += 1;
                if paren {
                    if self.peek_op() != Some(")") {
                        return Err(self.err("missing `)` after defined("));
                    }
                    self.pos += 1;
                }
                Ok(self.defs.is_defined(&name) as i128)
            }
            Some(Tok::Ident(id)) => {
                self.pos += 1;
                match self.defs.map.get(&id) {
                    None => Ok(0),
                    Some(_) => {
                        self.defs.int_at(&id, self.depth)?.ok_or_else(|| self.err(&format!("`{id}` is not an integer")))
                    }
                }
            }
            _ => Err(self.err("expected a value")),
        }
    }
}

/// Declared type of a kernel option.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OptionType {
    Bool,
    Int,
    Hex,
    Str,
}

/// Reads the option types declared in a Kconfig file (`config NAME` followed
/// by a `bool`/`int`/`hex`/`string` line). Options without a type are skipped.
pub fn kconfig_types(text: &str) -> BTreeMap<String, OptionType> {
    let mut out = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        let (kw, rest) = split_word(line);
        match kw {
            "config" | "menuconfig" => current = Some(rest.trim().to_string()),
            "bool" | "int" | "hex" | "string" | "tristate" => {
                if let Some(name) = current.take() {
                    let t = match kw {
                        "int" => OptionType::Int,
                        "hex" => OptionType::Hex,
                        "string" => OptionType::Str,
                        _ => OptionType::Bool,
                    };
                    out.insert(name, t);
                }
            }
            "choice" | "endchoice" | "menu" | "endmenu" | "if" | "endif" | "source" | "comment" => current = None,
            _ => {}
        }
    }
    out
}

/// Type of option `name` (without `CONFIG_`) holding `value`: the Kconfig
/// declaration wins; options Kconfig does not know (userland ones) are
/// booleans when they are defined to nothing or to 1.
pub fn option_type(name: &str, value: &Value, kconfig: &BTreeMap<String, OptionType>) -> OptionType {
    if let Some(t) = kconfig.get(name) {
        return *t;
    }
    match value {
        Value::Empty | Value::Int(1) => OptionType::Bool,
        Value::Int(_) => OptionType::Int,
        _ => OptionType::Str,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn defs(text: &str) -> Defines {
        Defines::parse_autoconf(text).unwrap()
    }

    #[test]
    fn parses_defines_of_every_shape() {
        let d = defs("/* c */\n#define AUTOCONF_INCLUDED\n#define CONFIG_A 1\n#define CONFIG_B 0x10\n#define CONFIG_S \"x y\"\n#define CONFIG_E\n");
        assert_eq!(d.map["AUTOCONF_INCLUDED"], Value::Empty);
        assert_eq!(d.map["CONFIG_A"], Value::Int(1));
        assert_eq!(d.map["CONFIG_B"], Value::Int(16));
        assert_eq!(d.map["CONFIG_S"], Value::Str("x y".into()));
        assert_eq!(d.map["CONFIG_E"], Value::Empty);
    }

    #[test]
    fn rejects_garbage_lines() {
        assert!(Defines::parse_autoconf("#define CONFIG_A 1\nint x;\n").is_err());
        assert!(Defines::parse_autoconf("#include <foo.h>\n").is_err());
    }

    #[test]
    fn evaluates_conditions_like_the_preprocessor() {
        let d = defs("#define CONFIG_MAX_NUM_NODES 1\n#define CONFIG_VTX 1\n#define CONFIG_E\n");
        assert!(!holds("CONFIG_MAX_NUM_NODES > 1", &d).unwrap());
        assert!(holds("CONFIG_MAX_NUM_NODES >= 1", &d).unwrap());
        assert!(holds("defined(CONFIG_VTX)", &d).unwrap());
        assert!(holds("defined CONFIG_E", &d).unwrap());
        assert!(!holds("defined(CONFIG_HARDWARE_DEBUG_API)", &d).unwrap());
        assert!(holds("!defined(CONFIG_X) && (CONFIG_VTX || CONFIG_Y)", &d).unwrap());
        assert!(!holds("defined(CONFIG_X) || CONFIG_UNDEFINED", &d).unwrap());
        assert_eq!(eval("1 + 2 * 3 - (4 << 1)", &d).unwrap(), -1);
        assert_eq!(eval("-1", &d).unwrap(), -1);
    }

    #[test]
    fn macros_expand_lazily_and_cycles_are_errors() {
        let mut d = Defines::default();
        d.define_line("ALIAS (LATER + 1)").unwrap();
        assert_eq!(d.int("ALIAS"), Some(1));
        d.define_line("LATER 41").unwrap();
        assert_eq!(d.int("ALIAS"), Some(42));
        d.define_line("A B").unwrap();
        d.define_line("B A").unwrap();
        assert!(eval("A", &d).is_err());
        d.define_line("F(x) (x)").unwrap();
        assert_eq!(d.map["F"], Value::Function("F(x) (x)".into()));
    }

    #[test]
    fn malformed_conditions_are_errors() {
        let d = Defines::default();
        for bad in ["(1", "1 +", "defined(", "defined(X", "1 $ 2", "1 2", "1 / 0"] {
            assert!(eval(bad, &d).is_err(), "{bad}");
        }
    }

    #[test]
    fn kconfig_types_are_read() {
        let k = kconfig_types(
            "config A\n    bool \"x\"\n    default y\nconfig N\n  int\nchoice\n  prompt \"p\"\nconfig S\n string\n",
        );
        assert_eq!(k["A"], OptionType::Bool);
        assert_eq!(k["N"], OptionType::Int);
        assert_eq!(k["S"], OptionType::Str);
        assert_eq!(option_type("N", &Value::Int(1), &k), OptionType::Int);
        assert_eq!(option_type("U", &Value::Int(1), &k), OptionType::Bool);
        assert_eq!(option_type("U", &Value::Int(7), &k), OptionType::Int);
    }
}
