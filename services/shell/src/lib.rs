//! shell: the commands of the interactive shell and their parser, plain `no_std` Rust tested
//! on the host (the service is `src/bin/shell.rs`).
#![no_std]

/// What a line asks.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Command<'a> {
    Help,
    Echo(&'a str),
    Sleep(u64),
    Alloc(u64),
    Free,
    Stat,
    Show(&'a str),
    CrashTimer,
    HangTimer,
    Exit,
    Empty,
    /// A command that does not parse: the line's first word, and why.
    Bad(&'a str, &'static str),
}

/// The commands, as `help` lists them.
pub const HELP: &str =
    "commands: help, echo TEXT, sleep MS, alloc SIZE (e.g. 64K), free, stat, show TEXT, crash timer, hang timer, exit";

/// A size: a number with an optional K, M or G.
fn size(text: &str) -> Option<u64> {
    let (digits, shift) = match text.as_bytes().last()? {
        b'K' | b'k' => (&text[..text.len() - 1], 10),
        b'M' | b'm' => (&text[..text.len() - 1], 20),
        b'G' | b'g' => (&text[..text.len() - 1], 30),
        _ => (text, 0),
    };
    digits.parse::<u64>().ok()?.checked_mul(1 << shift)
}

/// The command `line` is.
pub fn parse(line: &str) -> Command<'_> {
    let line = line.trim();
    let (word, rest) = line.split_once(' ').map(|(w, r)| (w, r.trim())).unwrap_or((line, ""));
    match (word, rest) {
        ("", _) => Command::Empty,
        ("help", "") => Command::Help,
        ("echo", text) => Command::Echo(text),
        ("show", text) => Command::Show(text),
        ("sleep", ms) => ms.parse().map(Command::Sleep).unwrap_or(Command::Bad(word, "wants milliseconds")),
        ("alloc", s) => match size(s) {
            Some(n) if n > 0 && n % 4096 == 0 => Command::Alloc(n),
            _ => Command::Bad(word, "wants a size, a multiple of 4K"),
        },
        ("free", "") => Command::Free,
        ("stat", "") => Command::Stat,
        ("crash", "timer") => Command::CrashTimer,
        ("hang", "timer") => Command::HangTimer,
        ("exit", "") => Command::Exit,
        _ => Command::Bad(word, "is no command (try help)"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn commands_parse() {
        assert_eq!(parse("help"), Command::Help);
        assert_eq!(parse("  echo  hello world "), Command::Echo("hello world"));
        assert_eq!(parse("sleep 20"), Command::Sleep(20));
        assert_eq!(parse("alloc 64K"), Command::Alloc(64 << 10));
        assert_eq!(parse("alloc 1M"), Command::Alloc(1 << 20));
        assert_eq!(parse("crash timer"), Command::CrashTimer);
        assert_eq!(parse("hang timer"), Command::HangTimer);
        assert_eq!(parse(""), Command::Empty);
        assert_eq!(parse("sleep soon"), Command::Bad("sleep", "wants milliseconds"));
        assert_eq!(parse("alloc 100"), Command::Bad("alloc", "wants a size, a multiple of 4K"));
        assert_eq!(parse("alloc 99999999999999999999G"), Command::Bad("alloc", "wants a size, a multiple of 4K"));
        assert_eq!(parse("rm -rf /"), Command::Bad("rm", "is no command (try help)"));
        assert_eq!(parse("crash core"), Command::Bad("crash", "is no command (try help)"));
    }
}
