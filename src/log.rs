//! runc's nsexec log lines.
//!
//! One JSON object per `write(2)` on the log pipe, byte-for-byte as runc's
//! `write_log()` makes it (nsexec-protocol.md §5.1):
//!
//! ```text
//! {"level":"debug", "msg": "nsexec-1[4242]: ~> nsexec stage-1"}\n
//! ```
//!
//! Note the spacing: none after `"level":`, one after the comma and the colon.
//! The Go parent parses these lines and re-logs or collects them; runc's
//! integration tests grep the texts. A line stays under PIPE_BUF so that the
//! three stages writing to one pipe can never interleave.

use super::sys::RawFd;
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::c_char;

/// logrus levels, by number. The stage never emits `Panic`: the Go parent
/// would forward it with `logger.Log(PanicLevel)` and panic itself.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
#[repr(u8)]
pub enum Level {
    Panic = 0,
    Fatal = 1,
    Error = 2,
    Warning = 3,
    Info = 4,
    Debug = 5,
    Trace = 6,
}

impl Level {
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Panic => "panic",
            Level::Fatal => "fatal",
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Info => "info",
            Level::Debug => "debug",
            Level::Trace => "trace",
        }
    }
}

/// Default level when `_LIBCONTAINER_LOGLEVEL` is absent (C's default).
pub const DEFAULT_LEVEL: u8 = Level::Debug as u8;

/// Which stage is talking: `nsexec` during setup, `nsexec-N` after.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stage {
    Setup,
    Parent,
    Child,
    Init,
}

impl Stage {
    fn tag(self) -> &'static str {
        match self {
            Stage::Setup => "nsexec",
            Stage::Parent => "nsexec-0",
            Stage::Child => "nsexec-1",
            Stage::Init => "nsexec-2",
        }
    }
}

/// Where the stage's lines go. The fd is inherited from the parent and is not
/// ours: the Go init keeps using it after the stage returns, so it is never
/// closed here.
#[derive(Debug, Clone, Copy)]
pub struct Logger {
    fd: Option<RawFd>,
    level: u8,
    stage: Stage,
}

// PIPE_BUF: a write up to this size is atomic on a pipe.
const MAX_LINE: usize = 4096;

extern "C" {
    // csrc/escape.c: runc's escaper and ownership contract.
    fn escape_json_string(s: *mut c_char) -> *mut c_char;
}

/// JSON-escape `msg` with runc's rules (csrc/escape.c). A NUL ends the text,
/// as it does in C.
pub fn escape(msg: &[u8]) -> Vec<u8> {
    let end = msg.iter().position(|&b| b == 0).unwrap_or(msg.len());
    let c = CString::new(&msg[..end]).expect("NUL removed above");
    // SAFETY: escape_json_string takes a malloc'ed C string and returns a
    // malloc'ed one (maybe the same); we copy it out and free it once.
    unsafe {
        let n = c.as_bytes_with_nul().len();
        let p = libc::malloc(n) as *mut c_char;
        if p.is_null() {
            return Vec::new();
        }
        core::ptr::copy_nonoverlapping(c.as_ptr(), p, n);
        let out = escape_json_string(p);
        if out.is_null() {
            return Vec::new();
        }
        let v = core::ffi::CStr::from_ptr(out).to_bytes().to_vec();
        libc::free(out as *mut libc::c_void);
        v
    }
}

/// Build one log line (without writing it), never longer than PIPE_BUF.
pub fn format_line(level: Level, stage: Stage, pid: i32, msg: &str) -> Vec<u8> {
    let head = alloc::format!(
        "{{\"level\":\"{}\", \"msg\": \"{}[{}]: ",
        level.as_str(),
        stage.tag(),
        pid
    );
    let tail = "\"}\n";
    let budget = MAX_LINE - head.len() - tail.len();
    let mut raw = msg.as_bytes();
    let mut esc = escape(raw);
    // Shrink the raw text until its escaped form fits; cutting the raw text
    // (not the escaped one) can never split an escape sequence.
    while esc.len() > budget {
        let keep = raw.len() * budget / esc.len();
        raw = &raw[..keep.min(raw.len().saturating_sub(1))];
        esc = escape(raw);
    }
    let mut line = Vec::with_capacity(head.len() + esc.len() + tail.len());
    line.extend_from_slice(head.as_bytes());
    line.extend_from_slice(&esc);
    line.extend_from_slice(tail.as_bytes());
    line
}

impl Logger {
    pub fn new(fd: Option<RawFd>, level: u8) -> Logger {
        Logger {
            fd,
            level,
            stage: Stage::Setup,
        }
    }

    /// The same sink, speaking for another stage (after a clone).
    pub fn for_stage(self, stage: Stage) -> Logger {
        Logger { stage, ..self }
    }

    pub fn stage(&self) -> Stage {
        self.stage
    }

    pub fn fd(&self) -> Option<RawFd> {
        self.fd
    }

    pub fn enabled(&self, level: Level) -> bool {
        self.fd.is_some() && (level as u8) <= self.level
    }

    /// Best effort, like runc: a failed or short write is ignored.
    pub fn log(&self, level: Level, msg: &str) {
        let Some(fd) = self.fd else { return };
        if (level as u8) > self.level {
            return;
        }
        // SAFETY: getpid has no preconditions.
        let pid = unsafe { libc::getpid() };
        let line = format_line(level, self.stage, pid, msg);
        // SAFETY: writing an owned buffer to an inherited fd number.
        let _ = unsafe { libc::write(fd, line.as_ptr().cast(), line.len()) };
    }

    pub fn debug(&self, msg: &str) {
        self.log(Level::Debug, msg)
    }

    pub fn warn(&self, msg: &str) {
        self.log(Level::Warning, msg)
    }

    /// A fatal message: to the log pipe as a FATAL line, or, without a pipe,
    /// `FATAL: <msg>` on stderr, exactly where runc's `bail()` puts it.
    pub fn fatal(&self, msg: &str) {
        if self.fd.is_some() {
            self.log(Level::Fatal, msg);
        } else {
            let line = alloc::format!("FATAL: {msg}\n");
            // SAFETY: writing an owned buffer to stderr.
            let _ = unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn line_shape_is_runcs() {
        let l = format_line(Level::Debug, Stage::Child, 42, "~> nsexec stage-1");
        assert_eq!(
            l,
            b"{\"level\":\"debug\", \"msg\": \"nsexec-1[42]: ~> nsexec stage-1\"}\n"
        );
        let l = format_line(Level::Fatal, Stage::Setup, 7, "a\"b");
        assert_eq!(
            l,
            b"{\"level\":\"fatal\", \"msg\": \"nsexec[7]: a\\\"b\"}\n"
        );
    }

    #[test]
    fn escape_vectors_from_runc() {
        // runc's libcontainer/nsenter/test/escape.go vectors (§6.3).
        let cases: &[(&[u8], &[u8])] = &[
            (b"", b""),
            (b"abcdef", b"abcdef"),
            (b"\\\\\\\\\\\\", b"\\\\\\\\\\\\\\\\\\\\\\\\"),
            (b"with\"quote", b"with\\\"quote"),
            (b"\n\r\x08\t\x0c\\", b"\\n\\r\\b\\t\\f\\\\"),
            (b"\x07", b"\\u0007"),
            (b"\x0f \x10 \x1f", b"\\u000f \\u0010 \\u001f"),
            (b"\x1b", b"\\u001b"),
            (b"<->", b"<->"),
            (b"\x7e\x7f\x80", b"~\\u007f\x80"),
            (b"\x00", b""),
            (b"a\x7fxc", b"a\\u007fxc"),
            (b"a\x1bxc", b"a\\u001bxc"),
            (b"a\nxc", b"a\\nxc"),
            (b"a\\xc", b"a\\\\xc"),
            ("Barney B\u{e4}r".as_bytes(), "Barney B\u{e4}r".as_bytes()),
        ];
        for (i, o) in cases {
            assert_eq!(escape(i), *o, "input {:?}", i);
        }
    }

    #[test]
    fn long_lines_stay_under_pipe_buf() {
        let msg = "\x01".repeat(10_000);
        let l = format_line(Level::Fatal, Stage::Parent, 1, &msg);
        assert!(l.len() <= MAX_LINE, "{}", l.len());
        assert!(l.ends_with(b"\"}\n"));
        let msg = "x".repeat(10_000);
        assert!(format_line(Level::Fatal, Stage::Parent, 1, &msg).len() <= MAX_LINE);
    }

    #[test]
    fn level_filter() {
        let (r, w) = super::super::sys::socketpair().unwrap();
        let lg = Logger::new(Some(w.raw()), Level::Info as u8);
        lg.debug("hidden");
        lg.warn("shown");
        drop(w);
        let mut buf = [0u8; 256];
        let n = super::super::sys::read_full(r.raw(), &mut buf).unwrap();
        let s = std::str::from_utf8(&buf[..n]).unwrap();
        assert!(s.starts_with("{\"level\":\"warning\""), "{s}");
        assert!(!s.contains("hidden"));
    }
}
