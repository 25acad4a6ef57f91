//! runc's logging as clients parse it (logrus text or JSON; runc-cli-contract
//! §1.2/§1.3). One global sink, set once from the global flags.

use std::fs::File;
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::OnceLock;
use std::time::SystemTime;

use crate::container::clock;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Text,
    Json,
}

struct Logger {
    format: Format,
    file: Option<File>,
    debug: bool,
}

static LOGGER: OnceLock<Logger> = OnceLock::new();

/// Set up the sink. `path` empty: stderr.
pub fn init(path: &str, format: Format, debug: bool) -> std::io::Result<()> {
    let file = if path.is_empty() {
        None
    } else {
        Some(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o644)
                .custom_flags(libc::O_SYNC | libc::O_CLOEXEC)
                .open(path)?,
        )
    };
    let _ = LOGGER.set(Logger {
        format,
        file,
        debug,
    });
    Ok(())
}

/// Go's json.Marshal escapes HTML-sensitive characters; serde_json does not.
fn go_json_string(s: &str) -> String {
    let j = serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into());
    j.replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
        .replace('\u{2028}', "\\u2028")
        .replace('\u{2029}', "\\u2029")
}

/// logrus TextFormatter quoting: bare when only [A-Za-z0-9-._/@^+].
fn text_value(s: &str) -> String {
    let bare = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "-._/@^+".contains(c));
    if bare {
        s.to_string()
    } else {
        format!("{s:?}")
    }
}

/// One formatted line, newline included.
pub fn format_line(format: Format, level: &str, msg: &str, now: SystemTime) -> String {
    let time = clock::rfc3339(now);
    match format {
        Format::Json => format!(
            "{{\"level\":{},\"msg\":{},\"time\":{}}}\n",
            go_json_string(level),
            go_json_string(msg),
            go_json_string(&time)
        ),
        Format::Text => format!("time={:?} level={} msg={}\n", time, level, text_value(msg)),
    }
}

fn enabled(l: &Logger, level: &str) -> bool {
    l.debug || !matches!(level, "debug" | "trace")
}

fn write_sink(l: &Logger, line: &str) {
    match &l.file {
        Some(f) => {
            let _ = (&*f).write_all(line.as_bytes());
        }
        None => {
            let _ = std::io::stderr().write_all(line.as_bytes());
        }
    }
}

/// One line to stderr in `format`, for errors before (or about) the sink.
pub fn stderr_line(format: Format, level: &str, msg: &str) {
    let _ =
        std::io::stderr().write_all(format_line(format, level, msg, SystemTime::now()).as_bytes());
}

/// Log a line at `level` (debug lines only with --debug).
pub fn log(level: &str, msg: &str) {
    let Some(l) = LOGGER.get() else { return };
    if enabled(l, level) {
        write_sink(l, &format_line(l.format, level, msg, SystemTime::now()));
    }
}

/// A fatal error: the formatted line to the sink, and with `--log FILE`
/// also the bare text to stderr (what runc does; conmon shows stderr).
pub fn fatal(msg: &str) {
    match LOGGER.get() {
        Some(l) => {
            write_sink(l, &format_line(l.format, "error", msg, SystemTime::now()));
            if l.file.is_some() {
                eprintln!("{msg}");
            }
        }
        None => eprintln!("{msg}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    #[test]
    fn lines_match_logrus() {
        let t = UNIX_EPOCH + Duration::from_secs(1_795_884_809);
        assert_eq!(
            format_line(Format::Json, "error", "container does not exist", t),
            "{\"level\":\"error\",\"msg\":\"container does not exist\",\"time\":\"2026-11-28T16:53:29Z\"}\n"
        );
        assert_eq!(
            format_line(Format::Text, "error", "container does not exist", t),
            "time=\"2026-11-28T16:53:29Z\" level=error msg=\"container does not exist\"\n"
        );
        assert_eq!(
            format_line(Format::Text, "info", "ok", t),
            "time=\"2026-11-28T16:53:29Z\" level=info msg=ok\n"
        );
        assert!(format_line(Format::Json, "debug", "a => b & <c>", t)
            .contains("a =\\u003e b \\u0026 \\u003cc\\u003e"));
    }
}
