//! The stage machine (§3): entry, environment, set-up, and the three stages.
//!
//! ```text
//! runtime ─exec─> stage-0 runc:[0:PARENT] ─clone(CLONE_PARENT)─> stage-1 runc:[1:CHILD]
//!                                          stage-1 ─clone(CLONE_PARENT)─> stage-2 runc:[2:INIT]
//! ```
//! Stage-0 and stage-1 always exit; only stage-2 returns from [`nsexec`],
//! into the host program, inside the container's namespaces.

mod child;
mod error;
mod init;
mod join;
mod parent;

use super::bootstrap::{Bootstrap, Header, NLMSG_HDRLEN};
#[cfg(not(feature = "runc-1-1"))]
use super::log::Level;
use super::log::{Logger, DEFAULT_LEVEL};
use super::sys;
use super::sys::{Fd, RawFd};
use alloc::format;
use alloc::string::String;
use alloc::vec;
use core::sync::atomic::{AtomicBool, Ordering};
pub use error::StageError;

/// Set on first entry. Clones inherit it, so a host constructor calling
/// `nsexec()` after our own `.init_array` entry (or the other way round) is a
/// no-op in every stage. A re-exec (1.1's cloned binary) starts afresh.
static ENTERED: AtomicBool = AtomicBool::new(false);

/// The C entry point. Inert unless `_LIBCONTAINER_INITPIPE` is set. Never
/// unwinds into C or Go: a panic is a FATAL line and exit(1).
#[no_mangle]
pub extern "C" fn nsexec() {
    if ENTERED.swap(true, Ordering::SeqCst) {
        return;
    }
    // With panic=abort (release) a panic ends in src/rt.rs's handler, or
    // in the host's hook for nsrun: never an unwind into C or Go. In
    // unwinding builds (tests) catch it here.
    #[cfg(panic = "abort")]
    run();
    #[cfg(not(panic = "abort"))]
    if std::panic::catch_unwind(run).is_err() {
        fatal_from_env("nsexec panicked");
        sys::exit(1);
    }
}

/// Log a fatal line with the logger the environment describes (for panics,
/// where no stage context is at hand).
pub fn fatal_from_env(msg: &str) {
    let log = logger_from_env().unwrap_or_else(|_| Logger::new(None, DEFAULT_LEVEL));
    log.fatal(msg);
}

/// Everything a stage needs, copied into each clone.
pub(crate) struct Ctx {
    pub log: Logger,
    pub cfg: Bootstrap,
    /// The init socket: inherited from the runtime, never closed by us.
    pub initpipe: RawFd,
}

/// The two stage socketpairs: `.0` is the child's end, `.1` stage-0's.
pub(crate) struct Pipes {
    pub child: (Fd, Fd),
    pub grandchild: (Fd, Fd),
}

/// Log a fatal error and exit 1: the end of every failed stage.
pub(crate) fn die(log: &Logger, e: StageError) -> ! {
    log.fatal(&format!("{e}"));
    sys::exit(1)
}

fn run() {
    let log = match logger_from_env() {
        Ok(l) => l,
        Err(e) => die(&Logger::new(None, DEFAULT_LEVEL), e),
    };
    let initpipe = match env_fd(c"_LIBCONTAINER_INITPIPE") {
        Ok(None) => return, // not a runtime init: touch nothing
        Ok(Some(fd)) => fd,
        Err(e) => die(&log, e),
    };
    let ctx = match setup(log, initpipe) {
        Ok(ctx) => ctx,
        Err(e) => die(&log, e),
    };
    // Returns only in stage-2.
    parent::start(ctx);
}

/// `_LIBCONTAINER_LOGPIPE` then, if it was valid, `_LIBCONTAINER_LOGLEVEL`.
fn logger_from_env() -> Result<Logger, StageError> {
    let fd = env_fd(c"_LIBCONTAINER_LOGPIPE")?;
    let level = match fd {
        Some(_) => env_int(c"_LIBCONTAINER_LOGLEVEL")?.map(|l| l.min(255) as u8),
        None => None,
    };
    Ok(Logger::new(fd, level.unwrap_or(DEFAULT_LEVEL)))
}

fn env_fd(name: &core::ffi::CStr) -> Result<Option<RawFd>, StageError> {
    env_int(name)
}

/// runc's `getenv_int`: unset or empty is absent; junk or a negative value
/// is fatal ("unable to parse", "bad value for"). The value is truncated to
/// an int, as C does.
fn env_int(name: &core::ffi::CStr) -> Result<Option<i32>, StageError> {
    let Some(val) = sys::getenv(name).filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let name = name.to_string_lossy();
    let text = String::from_utf8_lossy(val);
    let n: i64 = parse_c_long(val)
        .ok_or_else(|| StageError::plain(format!("unable to parse {name}={text}")))?;
    let n = n as i32;
    if n < 0 {
        return Err(StageError::plain(format!(
            "bad value for {name}={text} ({n})"
        )));
    }
    Ok(Some(n))
}

/// strtol(…, 10) accepting what C accepts for a whole-string parse: leading
/// white space and a sign. Overflow saturates like strtol.
fn parse_c_long(v: &[u8]) -> Option<i64> {
    let s = core::str::from_utf8(v).ok()?.trim_start();
    let (neg, digits) = match s.as_bytes().first()? {
        b'-' => (true, &s[1..]),
        b'+' => (false, &s[1..]),
        _ => (false, s),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mag = digits.parse::<i64>().unwrap_or(i64::MAX);
    Some(if neg { -mag } else { mag })
}

/// Everything between the environment and the first clone (§1.3, §3.1).
fn setup(log: Logger, initpipe: RawFd) -> Result<Ctx, StageError> {
    #[cfg(feature = "runc-1-1")]
    {
        // Before any pipe I/O or namespace work (CVE-2019-5736).
        super::cloned_binary::ensure(&log)
            .map_err(|e| StageError::with_source("could not ensure we are a cloned binary", e))?;
        // 1.1's Go initWaiter reads this byte before it sends the bootstrap.
        if sys::write_full(initpipe, &[0]) != Ok(1) {
            return Err(StageError::last_os(
                "could not inform the parent we are past initial setup",
            ));
        }
    }
    log.debug("=> nsexec container setup");
    #[cfg(not(feature = "runc-1-1"))]
    if log.enabled(Level::Debug) {
        match sys::affinity_mask() {
            Ok(mask) => log.debug(&format!("affinity: {mask:#x}")),
            Err(e) => log.warn(&format!("sched_getaffinity: {}", e.desc())),
        }
    }
    let cfg = read_bootstrap(initpipe)?;

    if let Some(oom) = cfg.oom_score_adj.as_deref() {
        // Before going non-dumpable: after it, /proc/self/* is root-owned and a
        // rootless runtime could no longer write it. Children inherit it.
        let text = String::from_utf8_lossy(super::bootstrap::strip_nul(oom));
        log.debug(&format!("update /proc/self/oom_score_adj to '{text}'"));
        sys::write_file(c"/proc/self/oom_score_adj", oom)
            .map_err(|e| StageError::sys("failed to update /proc/self/oom_score_adj", e))?;
    }
    if cfg.ns_paths.is_some() {
        // CVE-2016-9962: a process in a namespace we join must not be able to
        // ptrace us and steal host fds. Creating fresh namespaces only does
        // not need it, and rootless setups break with it.
        log.debug("set process as non-dumpable");
        sys::set_dumpable(false)
            .map_err(|e| StageError::sys("failed to set process as non-dumpable", e))?;
    }
    Ok(Ctx { log, cfg, initpipe })
}

/// How long stage-0 waits for its bootstrap message, unless
/// `_NSEXEC_BOOTSTRAP_TIMEOUT` (seconds, 0 = forever) says otherwise. A
/// healthy parent sends it at once (runc: right after start); a parent that
/// stalls mid-message left runc's C, and us, blocked in read forever
/// (runc#4228, runc#3904). Far above any start under load.
const BOOTSTRAP_TIMEOUT_S: i32 = 60;

/// Reads into `buf` from offset `*got` until full, EOF, an error, or the
/// deadline (then the error says how far the message got).
fn read_until(
    fd: RawFd,
    buf: &mut [u8],
    got: &mut usize,
    deadline: Option<(u64, i32)>,
    total: usize,
    done_before: usize,
) -> Result<(), StageError> {
    while *got < buf.len() {
        if let Some((end, secs)) = deadline {
            let left = end.saturating_sub(sys::monotonic_ms());
            let ready = left > 0
                && sys::poll_in(fd, left.min(i32::MAX as u64) as i32)
                    .map_err(|e| StageError::sys("failed to poll the init pipe", e))?;
            if !ready {
                return Err(StageError::plain(format!(
                    "timed out after {secs}s waiting for bootstrap data (got {} of {total} bytes)",
                    done_before + *got
                )));
            }
        }
        let n = sys::read_full_once(fd, &mut buf[*got..])
            .map_err(|e| StageError::sys("failed to read netlink message", e))?;
        if n == 0 {
            break;
        }
        *got += n;
    }
    Ok(())
}

/// Read and parse the netlink message from the init socket.
fn read_bootstrap(fd: RawFd) -> Result<Bootstrap, StageError> {
    let secs = env_int(c"_NSEXEC_BOOTSTRAP_TIMEOUT")?.unwrap_or(BOOTSTRAP_TIMEOUT_S);
    let deadline = (secs > 0).then(|| (sys::monotonic_ms() + secs as u64 * 1000, secs));
    let mut hdr = [0u8; NLMSG_HDRLEN];
    let mut n = 0;
    read_until(fd, &mut hdr, &mut n, deadline, NLMSG_HDRLEN, 0).map_err(|e| match e {
        StageError::Sys { errno, .. } => StageError::sys("failed to read netlink header", errno),
        e => e,
    })?;
    if n != NLMSG_HDRLEN {
        return Err(StageError::plain(format!(
            "invalid netlink header length {n}"
        )));
    }
    let (_, size) = Header::parse(&hdr)?;
    let mut payload = vec![0u8; size];
    let mut n = 0;
    read_until(
        fd,
        &mut payload,
        &mut n,
        deadline,
        NLMSG_HDRLEN + size,
        NLMSG_HDRLEN,
    )
    .map_err(|e| match e {
        StageError::Sys { errno, .. } => StageError::sys("failed to read netlink payload", errno),
        e => e,
    })?;
    if n != size {
        return Err(StageError::plain(format!(
            "failed to read netlink payload, {n} != {size}"
        )));
    }
    Ok(Bootstrap::parse(&payload)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn c_long_parsing() {
        assert_eq!(parse_c_long(b"3"), Some(3));
        assert_eq!(parse_c_long(b" -1"), Some(-1));
        assert_eq!(parse_c_long(b"+7"), Some(7));
        assert_eq!(parse_c_long(b"abc"), None);
        assert_eq!(parse_c_long(b"3x"), None);
        assert_eq!(parse_c_long(b"-"), None);
        assert_eq!(parse_c_long(b"99999999999999999999"), Some(i64::MAX));
    }
}
