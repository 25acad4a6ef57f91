//! runc 1.1's bind-mount sources (§3.8): with a user and a mount namespace,
//! stage-2 may no longer be able to see the host paths it must bind, so
//! stage-0 opens them (as O_PATH fds) from inside the container's mount
//! namespace and passes them to stage-1, which puts each one at the fd number
//! the runtime reserved for it in `_LIBCONTAINER_MOUNT_FDS`.

use super::log::Logger;
use super::stage::StageError;
use super::sys::{self, Pid, RawFd, Received};
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

/// Stage-0: send one O_PATH fd per non-empty source, in order.
pub fn send_mount_sources(
    log: &Logger,
    sock: &sys::Fd,
    p1: Pid,
    sources: Option<&[u8]>,
) -> Result<(), StageError> {
    let host = sys::open(c"/proc/self/ns/mnt", libc::O_RDONLY)
        .map_err(|e| StageError::sys("failed to get current mount namespace", e))?;
    let path = sys::cstring(format!("/proc/{p1}/ns/mnt").as_bytes());
    let container = sys::open(&path, libc::O_RDONLY)
        .map_err(|e| StageError::sys("failed to get container mount namespace", e))?;
    sys::setns(container.raw(), libc::CLONE_NEWNS)
        .map_err(|e| StageError::sys("failed to setns to container mntns", e))?;
    let sent = send_all(log, sock, sources.unwrap_or_default());
    // Back to the host before anything else: stage-0 stays in the host
    // context (§9, invariant 4), even when a send failed.
    sys::setns(host.raw(), libc::CLONE_NEWNS)
        .map_err(|e| StageError::sys("failed to setns to host mntns", e))?;
    sent
}

fn send_all(log: &Logger, sock: &sys::Fd, sources: &[u8]) -> Result<(), StageError> {
    for src in sources.split(|&c| c == 0).filter(|s| !s.is_empty()) {
        let shown = String::from_utf8_lossy(src);
        log.debug(&format!("send mount source {shown}"));
        let fd = sys::open(&sys::cstring(src), libc::O_PATH)
            .map_err(|e| StageError::sys(format!("failed to open mount source {shown}"), e))?;
        sys::send_fd(sock.raw(), fd.raw()).map_err(|e| {
            StageError::sys(
                format!(
                    "failed to send fd {} via unix socket {}",
                    fd.raw(),
                    sock.raw()
                ),
                e,
            )
        })?;
    }
    Ok(())
}

/// Parse `_LIBCONTAINER_MOUNT_FDS`, e.g. `[6,-1,7]`, into the wanted fd
/// numbers (the -1 entries are skipped).
pub fn parse_mount_fds(v: Option<&[u8]>) -> Result<Vec<RawFd>, StageError> {
    const E: &str = "malformed _LIBCONTAINER_MOUNT_FDS env var";
    // runc's C dereferences NULL here; an unset variable is an error.
    let v = v.ok_or_else(|| StageError::plain(format!("{E}: missing '['")))?;
    let s = core::str::from_utf8(v).map_err(|_| StageError::plain(format!("{E}: not a number")))?;
    let s = s
        .strip_prefix('[')
        .ok_or_else(|| StageError::plain(format!("{E}: missing '['")))?;
    let body = s
        .strip_suffix(']')
        .ok_or_else(|| StageError::plain(format!("{E}: missing ]")))?;
    let mut out = Vec::new();
    if body.trim().is_empty() {
        return Ok(out);
    }
    for tok in body.split(',') {
        let n: i64 = tok
            .trim()
            .parse()
            .map_err(|_| StageError::plain(format!("{E}: not a number")))?;
        if n == -1 {
            continue;
        }
        if n < 0 || n > i32::MAX as i64 {
            return Err(StageError::plain(format!("{E}: fds out of range")));
        }
        out.push(n as RawFd);
    }
    Ok(out)
}

/// Stage-1: receive each fd and install it, CLOEXEC, at its reserved number
/// (replacing the placeholder atomically with dup3).
pub fn receive_mount_sources(sock: &sys::Fd) -> Result<(), StageError> {
    let wanted = parse_mount_fds(sys::getenv(c"_LIBCONTAINER_MOUNT_FDS"))?;
    let s = sock.raw();
    for target in wanted {
        let fd = match sys::recv_fd(s)
            .map_err(|e| StageError::sys(format!("failed to receive fd from unix socket {s}"), e))?
        {
            Received::Fd(fd) => fd,
            Received::Truncated => {
                return Err(StageError::plain(format!(
                    "received truncated control message from unix socket {s}"
                )))
            }
            Received::NoControl => {
                return Err(StageError::plain(format!(
                    "received message from unix socket {s} without control message"
                )))
            }
            Received::NotRights => {
                return Err(StageError::plain(format!(
                    "received unknown control message from unix socket {s}"
                )))
            }
            Received::Malformed => {
                return Err(StageError::plain(format!(
                    "received a malformed fd message from unix socket {s}"
                )))
            }
        };
        // SAFETY: dup3 onto a number the runtime reserved for this purpose;
        // the placeholder there is replaced atomically.
        if unsafe { libc::dup3(fd.raw(), target, libc::O_CLOEXEC) } < 0 {
            return Err(StageError::sys(
                format!("cannot dup3 fd {} to {target}", fd.raw()),
                sys::Errno::last(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mount_fds_env() {
        assert_eq!(parse_mount_fds(Some(b"[6,-1,7]")).unwrap(), vec![6, 7]);
        assert_eq!(parse_mount_fds(Some(b"[]")).unwrap(), Vec::<RawFd>::new());
        for (bad, why) in [
            (&b"6,7]"[..], "missing '['"),
            (b"[6,7", "missing ]"),
            (b"[6,x]", "not a number"),
            (b"[-5]", "fds out of range"),
            (b"[99999999999]", "fds out of range"),
        ] {
            let e = parse_mount_fds(Some(bad)).unwrap_err().to_string();
            assert!(e.ends_with(why), "{e}");
        }
        assert!(parse_mount_fds(None).is_err());
    }
}
