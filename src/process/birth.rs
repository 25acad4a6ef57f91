//! Stage-0's birth inside the container's cgroup (the "why" is in
//! `cgroups::join`): cloned into the cgroup2 directory where the kernel
//! allows it, joining each v1 hierarchy itself by writing "0" to `tasks`
//! before it execs, and the parent finishing what the child could not do.

use std::io::{self, Read};
use std::os::fd::{AsRawFd, BorrowedFd, OwnedFd};

use crate::cgroups::join::{ignorable_errno, Join};
use crate::cgroups::Error;

use crate::process::sys;

/// The child of `fork_into`.
pub struct Born {
    /// 0 in the child.
    pub pid: libc::pid_t,
    /// The child was born in `join.v2` (clone3 worked).
    pub in_v2: bool,
}

/// Where the child reports a failed join: `(index into v1_tasks, errno)`.
/// Only when there are v1 hierarchies to join.
pub fn report_pipe(join: Option<&Join>) -> io::Result<Option<(OwnedFd, OwnedFd)>> {
    match join {
        Some(j) if !j.v1_tasks.is_empty() => {
            let (r, w) =
                nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).map_err(io::Error::from)?;
            Ok(Some((r, w)))
        }
        _ => Ok(None),
    }
}

/// `fork()`, or `clone3(CLONE_INTO_CGROUP)` when the join has a cgroup2
/// directory. Any refusal of clone3 falls back to fork, the parent then
/// writes `cgroup.procs` (`finish`): ENOSYS/E2BIG before Linux 5.7, EBUSY
/// when the cgroup has controllers enabled for its children (no internal
/// processes), EOPNOTSUPP for a threaded or domain-invalid cgroup, and
/// EPERM/EACCES, for which the write then gives the real error.
pub fn fork_into(join: Option<&Join>) -> io::Result<Born> {
    if let Some(fd) = join.and_then(Join::v2_fd) {
        if let Ok(pid) = sys::clone3_into_cgroup(fd) {
            return Ok(Born { pid, in_v2: true });
        }
    }
    sys::fork().map(|pid| Born { pid, in_v2: false })
}

/// In the child, first thing (the fds may be renumbered after): join every
/// v1 hierarchy by writing "0" (this thread) to its `tasks`, which the
/// kernel does without `cgroup_threadgroup_rwsem`. A single-threaded child
/// moves whole. On failure, report and exit. Async-signal-safe.
pub fn join_in_child(join: &Join, report: Option<BorrowedFd>) {
    for (i, t) in join.v1_tasks.iter().enumerate() {
        // SAFETY: write(2) of a static byte to an fd the parent opened.
        let r = unsafe { libc::write(t.fd.as_raw_fd(), b"0".as_ptr().cast(), 1) };
        if r == 1 {
            continue;
        }
        let errno = io::Error::last_os_error()
            .raw_os_error()
            .unwrap_or(libc::EIO);
        if join.best_effort && ignorable_errno(errno) {
            continue;
        }
        if let Some(w) = report {
            let mut msg = [0u8; 8];
            msg[..4].copy_from_slice(&(i as u32).to_ne_bytes());
            msg[4..].copy_from_slice(&errno.to_ne_bytes());
            // SAFETY: write(2) of a stack buffer.
            unsafe { libc::write(w.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
        }
        sys::exit_now(127);
    }
}

/// In the parent: wait until the child has exec'd (the report pipe closes)
/// or reported a failed v1 join, then move it into the cgroup2 directory if
/// it was not born there.
pub fn finish(join: &Join, born: &Born, report: Option<(OwnedFd, OwnedFd)>) -> Result<(), Error> {
    if let Some((r, w)) = report {
        drop(w);
        let mut msg = [0u8; 8];
        let mut f = std::fs::File::from(r);
        let mut got = 0;
        while got < msg.len() {
            match f.read(&mut msg[got..]) {
                Ok(0) => break,
                Ok(n) => got += n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => break,
            }
        }
        if got == msg.len() {
            let idx = u32::from_ne_bytes(msg[..4].try_into().unwrap_or_default()) as usize;
            let errno = i32::from_ne_bytes(msg[4..].try_into().unwrap_or_default());
            return Err(join.child_error(idx, errno));
        }
    }
    if !born.in_v2 {
        join.write_v2(born.pid)?;
    }
    Ok(())
}
