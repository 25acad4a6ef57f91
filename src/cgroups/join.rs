//! Joining a cgroup at birth: what a freshly forked, single-threaded child
//! needs to be in the container's cgroup before it execs, without the
//! runtime writing its pid anywhere.
//!
//! Why not write the pid to `cgroup.procs` like runc: on v1 and v2 a write
//! naming a pid takes `cgroup_threadgroup_rwsem` for writing, and the first
//! such write after a quiet period waits for an RCU grace period (~8 ms
//! here). The kernel skips that lock only when a task moves *itself* as a
//! single thread (`cgroup_procs_write_start`: `pid || threadgroup`), i.e.
//! writes "0" to a v1 `tasks` file, and for a process born in place with
//! `clone3(CLONE_INTO_CGROUP)`, which v2 alone offers. So:
//!  * v2 (and the unified side of a hybrid host): the child is cloned into
//!    the cgroup (`v2`); if the kernel refuses, the parent writes
//!    `cgroup.procs` after all (`Join::write_v2`);
//!  * v1: the child writes "0" to each hierarchy's `tasks` (`v1_tasks`),
//!    opened by the parent beforehand: the child only does write(2).

use std::fs::OpenOptions;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use super::files::{self, io_err};
use super::{Error, Result};

/// One cgroup file or directory, open, with its path for errors.
#[derive(Debug)]
pub struct Target {
    pub fd: OwnedFd,
    pub path: PathBuf,
}

impl Target {
    /// The container's cgroup2 directory, for `CLONE_INTO_CGROUP`.
    pub fn dir(dir: &Path) -> Result<Target> {
        Ok(Target {
            fd: super::fs::open_dir(dir)?,
            path: dir.to_owned(),
        })
    }

    /// A v1 cgroup's `tasks` file, open for writing (CLOEXEC: the exec'd
    /// child does not keep it).
    pub fn tasks(dir: &Path) -> Result<Target> {
        let path = dir.join("tasks");
        let f = OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| io_err("open", &path, e))?;
        Ok(Target { fd: f.into(), path })
    }
}

/// Everything a child needs to join the container's cgroup on its own.
#[derive(Debug, Default)]
pub struct Join {
    /// The cgroup2 directory: clone the child into it.
    pub v2: Option<Target>,
    /// One `tasks` file per v1 hierarchy: the child writes "0" to each.
    pub v1_tasks: Vec<Target>,
    /// runc's rootless rule: without an explicit cgroupsPath a rootless
    /// runtime may fail to join; limits then fail later.
    pub best_effort: bool,
    /// The driver cannot join at birth (systemd): the runtime must call
    /// `Manager::apply(pid)` once the child exists.
    pub apply_after: bool,
}

/// errno values a best-effort join ignores.
pub fn ignorable_errno(e: i32) -> bool {
    matches!(e, libc::EPERM | libc::EACCES | libc::EROFS)
}

impl Join {
    /// The dir fd to pass as `clone_args.cgroup`, if any.
    pub fn v2_fd(&self) -> Option<BorrowedFd<'_>> {
        self.v2.as_ref().map(|t| t.fd.as_fd())
    }

    /// The parent's fallback when the child was not cloned into the v2
    /// cgroup: write its pid to `cgroup.procs`.
    pub fn write_v2(&self, pid: i32) -> Result<()> {
        let Some(t) = &self.v2 else { return Ok(()) };
        match files::write(&t.path, "cgroup.procs", &pid.to_string()) {
            Err(e)
                if self.best_effort
                    && e.os_error()
                        .and_then(|s| s.raw_os_error())
                        .is_some_and(ignorable_errno) =>
            {
                Ok(())
            }
            r => r,
        }
    }

    /// The error for the child's failed write of "0" to `v1_tasks[idx]`.
    pub fn child_error(&self, idx: usize, errno: i32) -> Error {
        let path = self
            .v1_tasks
            .get(idx)
            .map_or_else(PathBuf::new, |t| t.path.clone());
        io_err("write", &path, std::io::Error::from_raw_os_error(errno))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn child_error_names_the_file() {
        let j = Join {
            v1_tasks: vec![Target {
                fd: std::fs::File::open("/dev/null").unwrap().into(),
                path: "/sys/fs/cgroup/cpu/c/tasks".into(),
            }],
            ..Default::default()
        };
        let e = j.child_error(0, libc::ENOSPC).to_string();
        assert!(e.starts_with("write /sys/fs/cgroup/cpu/c/tasks: "), "{e}");
        assert!(e.ends_with(": no space left on device"), "{e}");
    }

    #[test]
    fn without_v2_the_fallback_writes_nothing() {
        assert!(Join::default().write_v2(1).is_ok());
        assert!(Join::default().v2_fd().is_none());
    }
}
