//! Command-line mistakes in runc's words: urfave/cli prints "Incorrect
//! Usage" and the command's help on stdout, logs the reason through logrus
//! on stderr, and exits 1 (3 for an unknown command). containerd and podman
//! read that log line, so clap's own error text never reaches them.

use clap::error::{ContextKind, ContextValue, ErrorKind};

use super::log;

/// Commands whose argument check is runc's `minArgs` (the rest are `exactArgs`).
const MIN_ARGS: &[&str] = &["kill", "exec", "ps"];

/// What runc logs and how it exits for a clap parse error, or None when the
/// "error" is a help or version display (exit 0).
pub fn words(e: &clap::Error, argv: &[String], commands: &[String]) -> Option<(String, i32)> {
    let arg = || match e.get(ContextKind::InvalidArg) {
        Some(ContextValue::String(s)) => go_flag(s),
        _ => String::new(),
    };
    let value = || match e.get(ContextKind::InvalidValue) {
        Some(ContextValue::String(s)) => s.clone(),
        _ => String::new(),
    };
    let cmd = argv
        .iter()
        .skip(1)
        .find(|a| commands.iter().any(|c| c == *a))
        .cloned();
    Some(match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => return None,
        ErrorKind::InvalidSubcommand => {
            let name = match e.get(ContextKind::InvalidSubcommand) {
                Some(ContextValue::String(s)) => s.clone(),
                _ => String::new(),
            };
            // urfave/cli's own message, trailing newline included.
            (format!("No help topic for '{name}'\n"), 3)
        }
        ErrorKind::UnknownArgument => match &cmd {
            // A stray positional argument: runc's argument-count check.
            Some(c) if !arg().starts_with('-') => (count_words(c), 1),
            _ => (format!("flag provided but not defined: {}", arg()), 1),
        },
        ErrorKind::InvalidValue if value().is_empty() => {
            // Named as typed (`-b`, not `-bundle`): the flag is the last word.
            let typed = argv.last().filter(|a| a.starts_with('-'));
            let flag = typed.map_or_else(arg, |a| go_flag(a));
            (format!("flag needs an argument: {flag}"), 1)
        }
        ErrorKind::InvalidValue | ErrorKind::ValueValidation => (
            format!(
                "invalid value {:?} for flag {}: parse error",
                value(),
                arg()
            ),
            1,
        ),
        ErrorKind::MissingRequiredArgument
        | ErrorKind::TooManyValues
        | ErrorKind::WrongNumberOfValues => match &cmd {
            Some(c) => (count_words(c), 1),
            None => (first_line(e), 1),
        },
        _ => (first_line(e), 1),
    })
}

/// `--preserve-fds <PRESERVE_FDS>` as Go's flag package names it: `-preserve-fds`.
fn go_flag(s: &str) -> String {
    let name = s.split([' ', '=']).next().unwrap_or(s);
    format!("-{}", name.trim_start_matches('-'))
}

fn count_words(cmd: &str) -> String {
    let how = if MIN_ARGS.contains(&cmd) {
        "a minimum of"
    } else {
        "exactly"
    };
    format!("runc: {cmd:?} requires {how} 1 argument(s)")
}

fn first_line(e: &clap::Error) -> String {
    let s = e.to_string();
    let l = s.lines().next().unwrap_or("");
    l.trim_start_matches("error: ").to_string()
}

/// The log format named on the command line, for errors that come before
/// the flags are parsed.
pub fn early_format(argv: &[String]) -> log::Format {
    let mut it = argv.iter();
    while let Some(a) = it.next() {
        let v = match a.strip_prefix("--log-format") {
            Some("") => it.next().map(String::as_str),
            Some(rest) => rest.strip_prefix('='),
            None => None,
        };
        if v == Some("json") {
            return log::Format::Json;
        }
    }
    log::Format::Text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_are_named_as_go_names_them() {
        assert_eq!(go_flag("--preserve-fds <PRESERVE_FDS>"), "-preserve-fds");
        assert_eq!(go_flag("--bogus"), "-bogus");
        assert_eq!(go_flag("-b"), "-b");
        assert_eq!(go_flag("--x=1"), "-x");
    }

    #[test]
    fn count_checks_use_runc_words() {
        assert_eq!(
            count_words("create"),
            "runc: \"create\" requires exactly 1 argument(s)"
        );
        assert_eq!(
            count_words("kill"),
            "runc: \"kill\" requires a minimum of 1 argument(s)"
        );
    }

    #[test]
    fn log_format_is_found_before_parsing() {
        let a = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(
            early_format(&a(&["nsrun", "--log-format", "json", "x"])),
            log::Format::Json
        );
        assert_eq!(
            early_format(&a(&["nsrun", "--log-format=json"])),
            log::Format::Json
        );
        assert_eq!(early_format(&a(&["nsrun", "list"])), log::Format::Text);
    }
}
