//! runc 1.1's bind-mount sources (§3.8): with a user and a mount namespace,
//! stage-2 may no longer be able to see the host paths it must bind, so
//! stage-0 opens them (as O_PATH fds) from inside the container's mount
//! namespace and passes them to stage-1, which puts each one at the fd number
//! the runtime reserved for it in `_LIBCONTAINER_MOUNT_FDS`.

use crate::log::Logger;
use crate::stage::StageError;
use crate::sys::{self, Pid};
use nix::sys::socket::{recvmsg, sendmsg, ControlMessage, ControlMessageOwned, MsgFlags};
use std::io::{IoSlice, IoSliceMut};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

/// Stage-0: send one O_PATH fd per non-empty source, in order.
pub fn send_mount_sources(log: &Logger, sock: &OwnedFd, p1: Pid, sources: Option<&[u8]>) -> Result<(), StageError> {
    let host = sys::open(c"/proc/self/ns/mnt", libc::O_RDONLY)
        .map_err(|e| StageError::sys("failed to get current mount namespace", e))?;
    let path = sys::cstring(format!("/proc/{p1}/ns/mnt").as_bytes());
    let container =
        sys::open(&path, libc::O_RDONLY).map_err(|e| StageError::sys("failed to get container mount namespace", e))?;
    sys::setns(container.as_raw_fd(), libc::CLONE_NEWNS)
        .map_err(|e| StageError::sys("failed to setns to container mntns", e))?;
    let sent = send_all(log, sock, sources.unwrap_or_default());
    // Back to the host before anything else: stage-0 stays in the host
    // context (§9, invariant 4), even when a send failed.
    sys::setns(host.as_raw_fd(), libc::CLONE_NEWNS).map_err(|e| StageError::sys("failed to setns to host mntns", e))?;
    sent
}

fn send_all(log: &Logger, sock: &OwnedFd, sources: &[u8]) -> Result<(), StageError> {
    for src in sources.split(|&c| c == 0).filter(|s| !s.is_empty()) {
        let shown = String::from_utf8_lossy(src);
        log.debug(&format!("send mount source {shown}"));
        let fd = sys::open(&sys::cstring(src), libc::O_PATH)
            .map_err(|e| StageError::sys(format!("failed to open mount source {shown}"), e))?;
        let fds = [fd.as_raw_fd()];
        let iov = [IoSlice::new(&[0u8])];
        sendmsg::<()>(sock.as_raw_fd(), &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None).map_err(
            |e| StageError::sys(format!("failed to send fd {} via unix socket {}", fds[0], sock.as_raw_fd()), e),
        )?;
    }
    Ok(())
}

/// Parse `_LIBCONTAINER_MOUNT_FDS`, e.g. `[6,-1,7]`, into the wanted fd
/// numbers (the -1 entries are skipped).
pub fn parse_mount_fds(v: Option<&[u8]>) -> Result<Vec<RawFd>, StageError> {
    const E: &str = "malformed _LIBCONTAINER_MOUNT_FDS env var";
    // runc's C dereferences NULL here; an unset variable is an error.
    let v = v.ok_or_else(|| StageError::plain(format!("{E}: missing '['")))?;
    let s = std::str::from_utf8(v).map_err(|_| StageError::plain(format!("{E}: not a number")))?;
    let s = s.strip_prefix('[').ok_or_else(|| StageError::plain(format!("{E}: missing '['")))?;
    let body = s.strip_suffix(']').ok_or_else(|| StageError::plain(format!("{E}: missing ]")))?;
    let mut out = Vec::new();
    if body.trim().is_empty() {
        return Ok(out);
    }
    for tok in body.split(',') {
        let n: i64 = tok.trim().parse().map_err(|_| StageError::plain(format!("{E}: not a number")))?;
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
pub fn receive_mount_sources(sock: &OwnedFd) -> Result<(), StageError> {
    let wanted = parse_mount_fds(sys::getenv(c"_LIBCONTAINER_MOUNT_FDS"))?;
    let s = sock.as_raw_fd();
    for target in wanted {
        let mut byte = [0u8; 1];
        let mut iov = [IoSliceMut::new(&mut byte)];
        let mut space = nix::cmsg_space!([RawFd; 1]);
        let msg = recvmsg::<()>(s, &mut iov, Some(&mut space), MsgFlags::MSG_CMSG_CLOEXEC)
            .map_err(|e| StageError::sys(format!("failed to receive fd from unix socket {s}"), e))?;
        if msg.flags.contains(MsgFlags::MSG_CTRUNC) {
            return Err(StageError::plain(format!("received truncated control message from unix socket {s}")));
        }
        let mut got: Option<OwnedFd> = None;
        for c in msg.cmsgs().map_err(|e| StageError::sys("failed to receive fd", e))? {
            match c {
                ControlMessageOwned::ScmRights(fds) if fds.len() == 1 && got.is_none() => {
                    // SAFETY: the kernel just installed this fd for us.
                    got = Some(unsafe { OwnedFd::from_raw_fd(fds[0]) });
                }
                ControlMessageOwned::ScmRights(fds) => {
                    for fd in fds {
                        // SAFETY: fds installed for us; close the extras.
                        drop(unsafe { OwnedFd::from_raw_fd(fd) });
                    }
                    return Err(StageError::plain(format!(
                        "received control message from unix socket {s} with too many fds"
                    )));
                }
                _ => {
                    return Err(StageError::plain(format!("received unknown control message from unix socket {s}")))
                }
            }
        }
        let fd = got.ok_or_else(|| {
            StageError::plain(format!("received message from unix socket {s} without control message"))
        })?;
        if msg.bytes != 1 {
            return Err(StageError::plain(format!("received {} bytes with a mount fd, expected 1", msg.bytes)));
        }
        // SAFETY: dup3 onto a number the runtime reserved for this purpose.
        if unsafe { libc::dup3(fd.as_raw_fd(), target, libc::O_CLOEXEC) } < 0 {
            return Err(StageError::last_os(format!("cannot dup3 fd {} to {target}", fd.as_raw_fd())));
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
