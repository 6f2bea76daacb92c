//! Field layout of one-word blocks in the kernel's bitfield files (`*.bf`, the
//! input of `tools/bitfield_gen.py`): `block name { field a 20 padding 12 ... }`
//! lists fields from the most significant bit down, so a field's offset is the
//! width of everything listed after it.

use crate::autoconf::{Defines, ParseError};
use crate::cheader::preprocess;

/// A field of a block: bits `offset .. offset + bits` of the word.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Field {
    pub name: String,
    pub offset: u32,
    pub bits: u32,
}

/// A one-word block and its fields, most significant first.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Block {
    pub name: String,
    pub fields: Vec<Field>,
}

impl Block {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Removes `--` comments (the `.bf` comment syntax) to the end of each line.
fn strip_bf_comments(text: &str) -> String {
    text.lines().map(|l| l.split_once("--").map_or(l, |(code, _)| code)).collect::<Vec<_>>().join("\n")
}

/// Reads block `name` of the bitfield file `text`, after running its
/// conditionals against `config`. `word_bits` is the word size in force when
/// the file sets none with a `base` line (files such as
/// `include/object/structures_64.bf` inherit it from the file including them).
pub fn read_block(text: &str, name: &str, config: &Defines, word_bits: u32) -> Result<Block, ParseError> {
    let mut defs = config.clone();
    let code = preprocess(&strip_bf_comments(text), &mut defs)?.code;
    let toks: Vec<&str> = code.split(|c: char| c.is_whitespace() || matches!(c, '(' | ')' | ',')).collect();
    let toks: Vec<&str> = toks.into_iter().filter(|t| !t.is_empty()).collect();
    // `{` and `}` may touch names; split them off.
    let mut words: Vec<String> = Vec::new();
    for t in toks {
        let mut rest = t;
        while let Some(i) = rest.find(['{', '}']) {
            if i > 0 {
                words.push(rest[..i].to_string());
            }
            words.push(rest[i..i + 1].to_string());
            rest = &rest[i + 1..];
        }
        if !rest.is_empty() {
            words.push(rest.to_string());
        }
    }

    let mut base = word_bits;
    let mut i = 0;
    while i < words.len() {
        match words[i].as_str() {
            "base" => {
                let w = words.get(i + 1).ok_or_else(|| ParseError("`base` without a size".into()))?;
                base = w.parse().map_err(|_| ParseError(format!("bad base `{w}`")))?;
                i += 2;
            }
            kw @ ("block" | "tagged_union") => {
                let open =
                    words[i..].iter().position(|w| w == "{").ok_or_else(|| ParseError(format!("{kw}: no `{{`")))?;
                if kw == "block" && words.get(i + 1).map(String::as_str) == Some(name) {
                    return parse_body(name, &words[i + open + 1..], base);
                }
                // Another definition: skip its body, whose words are names, not directives.
                let close = words[i + open..]
                    .iter()
                    .position(|w| w == "}")
                    .ok_or_else(|| ParseError(format!("{kw}: no `}}`")))?;
                i += open + close + 1;
            }
            _ => i += 1,
        }
    }
    Err(ParseError(format!("no block `{name}`")))
}

/// The tags of tagged union `name` of the bitfield file `text` (`tag NAME VALUE` lines), after
/// running its conditionals against `config`, in file order.
pub fn read_tags(text: &str, name: &str, config: &Defines) -> Result<Vec<(String, u64)>, ParseError> {
    let mut defs = config.clone();
    let code = preprocess(&strip_bf_comments(text), &mut defs)?.code;
    let words: Vec<&str> =
        code.split(|c: char| c.is_whitespace() || matches!(c, '{' | '}')).filter(|w| !w.is_empty()).collect();
    let start = words
        .windows(2)
        .position(|w| w[0] == "tagged_union" && w[1] == name)
        .ok_or_else(|| ParseError(format!("no tagged_union `{name}`")))?;
    let mut tags = Vec::new();
    let mut i = start + 3; // `tagged_union`, the name, the tag field's name
    while words.get(i) == Some(&"tag") {
        let (tag, value) = match (words.get(i + 1), words.get(i + 2)) {
            (Some(t), Some(v)) => (t, v),
            _ => return Err(ParseError(format!("tagged_union {name}: incomplete tag"))),
        };
        let v = value.parse().map_err(|_| ParseError(format!("tagged_union {name}: bad tag value `{value}`")))?;
        tags.push((tag.to_string(), v));
        i += 3;
    }
    if tags.is_empty() {
        return Err(ParseError(format!("tagged_union {name}: no tags")));
    }
    Ok(tags)
}

fn parse_body(name: &str, words: &[String], base: u32) -> Result<Block, ParseError> {
    let err = |m: String| ParseError(format!("block {name}: {m}"));
    let number = |w: Option<&String>| -> Result<u32, ParseError> {
        let w = w.ok_or_else(|| err("missing width".into()))?;
        w.parse().map_err(|_| err(format!("bad width `{w}`")))
    };
    // (name or None for padding, width), most significant first.
    let mut items: Vec<(Option<String>, u32)> = Vec::new();
    let mut i = 0;
    loop {
        match words.get(i).map(String::as_str) {
            Some("}") => break,
            Some("padding") => {
                items.push((None, number(words.get(i + 1))?));
                i += 2;
            }
            Some("field") => {
                let f = words.get(i + 1).ok_or_else(|| err("field without a name".into()))?;
                items.push((Some(f.clone()), number(words.get(i + 2))?));
                i += 3;
            }
            // `field_high` stores the top bits of a value; no block read here has one.
            Some(w) => return Err(err(format!("unsupported `{w}`"))),
            None => return Err(err("no closing `}`".into())),
        }
    }
    let total: u32 = items.iter().map(|(_, b)| b).sum();
    if total != base {
        return Err(err(format!("{total} bits, not one {base}-bit word")));
    }
    let mut offset = total;
    let mut fields = Vec::new();
    for (n, bits) in items {
        offset -= bits;
        if let Some(n) = n {
            fields.push(Field { name: n, offset, bits });
        }
    }
    Ok(Block { name: name.to_string(), fields })
}

#[cfg(test)]
mod tests {
    use super::*;

    const TEXT: &str = "-- a comment with \"quotes\" and /* a slash-star\nbase 64\n\nblock other {\n    field base 12\n    padding 52\n}\n\nblock b(a, c) {\n    padding 32\n    field a 20 -- label\n#ifdef CONFIG_X\n    field c 12\n#else\n    field c 10\n    padding 2\n#endif\n}\n";

    #[test]
    fn tags_follow_the_conditionals() {
        let text =
            "tagged_union u uType {\n    -- c\n    tag A 0\n#ifdef CONFIG_X\n    tag X 4\n#endif\n    tag B 5\n}\n";
        let none = Defines::parse_autoconf("").unwrap();
        assert_eq!(read_tags(text, "u", &none).unwrap(), [("A".into(), 0), ("B".into(), 5)]);
        let x = Defines::parse_autoconf("#define CONFIG_X 1\n").unwrap();
        assert_eq!(read_tags(text, "u", &x).unwrap(), [("A".into(), 0), ("X".into(), 4), ("B".into(), 5)]);
        assert!(read_tags(text, "v", &none).is_err());
        assert!(read_tags("tagged_union u t { tag A x }", "u", &none).is_err());
    }

    #[test]
    fn offsets_count_from_the_bottom() {
        let b = read_block(TEXT, "b", &Defines::default(), 32).unwrap();
        assert_eq!(
            b.fields,
            vec![Field { name: "a".into(), offset: 12, bits: 20 }, Field { name: "c".into(), offset: 2, bits: 10 }]
        );
        let on = Defines::parse_autoconf("#define CONFIG_X 1\n").unwrap();
        assert_eq!(read_block(TEXT, "b", &on, 32).unwrap().field("c").unwrap().offset, 0);
    }

    #[test]
    fn malformed_blocks_are_errors() {
        let d = Defines::default();
        assert!(read_block(TEXT, "missing", &d, 64).is_err());
        assert!(read_block("block b {\n field a 3\n}\n", "b", &d, 64).is_err(), "not one word");
        assert!(read_block("block b {\n field_high a 64\n}\n", "b", &d, 64).is_err());
        assert!(read_block("block b {\n field a 64\n", "b", &d, 64).is_err());
        // Without a `base` line the caller's word size counts.
        assert!(read_block("block b {\n field a 32\n}\n", "b", &d, 32).is_ok());
    }
}
