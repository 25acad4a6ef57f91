//! A verified handle on procfs, for every write the runtime makes under /proc
//! (sysctls, LSM attrs, oom_score_adj).
//!
//! Why: a container image or a shared mount can put something else at /proc
//! or over a file below it, and a write through a plain path then lands on
//! whatever the attacker chose (CVE-2019-16884, CVE-2023-27561: a fake procfs
//! dodges the LSM label; CVE-2025-52881: writes redirected through mounts).
//! So the root is a fresh procfs instance when the kernel lets us make one,
//! every file is opened beneath it without following symlinks or crossing a
//! mount, and both the root and the file must be on procfs (fstatfs).

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use nix::errno::Errno;
use thiserror::Error;

use super::sys;

const PROC_SUPER_MAGIC: i64 = 0x9fa0;
/// The inode number of every procfs root directory.
const PROC_ROOT_INO: u64 = 1;

#[derive(Debug, Error)]
pub enum ProcfsError {
    #[error("{path} is not on procfs (fs type {magic:#x}): refusing to use it -- possible attack")]
    NotProcfs { path: String, magic: i64 },
    #[error("{path} is not the root of a procfs mount: refusing to use it -- possible attack")]
    NotProcRoot { path: String },
    #[error("{op} {path}: {}", super::errno::Go(*.errno as i32))]
    Sys {
        op: &'static str,
        path: String,
        errno: Errno,
    },
}

fn sys_err<'a>(op: &'static str, path: &'a str) -> impl FnOnce(Errno) -> ProcfsError + 'a {
    move |errno| ProcfsError::Sys {
        op,
        path: path.to_string(),
        errno,
    }
}

/// How the root was obtained (for logs and tests).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// fsopen("proc"): a new instance nobody else has touched.
    Fresh,
    /// open_tree(OPEN_TREE_CLONE): a private copy of the mounted /proc.
    Clone,
    /// The mounted /proc itself, after checks.
    Mounted,
}

/// A procfs root directory fd whose identity was verified.
#[derive(Debug)]
pub struct ProcRoot {
    fd: OwnedFd,
    source: Source,
}

impl ProcRoot {
    /// The safest procfs root the kernel allows here.
    pub fn open() -> Result<Self, ProcfsError> {
        if let Ok(fd) = sys::fsmount_proc() {
            return Self::verified(fd, Source::Fresh, "fsmount(proc)");
        }
        if let Ok(fd) = sys::open_tree_clone(c"/proc") {
            return Self::verified(fd, Source::Clone, "/proc");
        }
        Self::from_mounted(Path::new("/proc"))
    }

    /// Use an already-mounted procfs at `path`, refusing anything that is not
    /// the root of a real procfs (a tmpfs or bind mount at /proc, say).
    pub fn from_mounted(path: &Path) -> Result<Self, ProcfsError> {
        let p = path.display().to_string();
        // std opens with O_CLOEXEC; O_PATH so nothing on the path is triggered.
        let f = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_PATH | libc::O_DIRECTORY)
            .open(path)
            .map_err(|e| ProcfsError::Sys {
                op: "open",
                path: p.clone(),
                errno: io_errno(&e),
            })?;
        let fd: OwnedFd = f.into();
        Self::verified(fd, Source::Mounted, &p)
    }

    fn verified(fd: OwnedFd, source: Source, what: &str) -> Result<Self, ProcfsError> {
        let magic = sys::fs_magic(fd.as_fd()).map_err(sys_err("fstatfs", what))?;
        if magic != PROC_SUPER_MAGIC {
            return Err(ProcfsError::NotProcfs {
                path: what.to_string(),
                magic,
            });
        }
        let st = nix::sys::stat::fstat(fd.as_raw_fd()).map_err(sys_err("fstat", what))?;
        if st.st_ino != PROC_ROOT_INO {
            return Err(ProcfsError::NotProcRoot {
                path: what.to_string(),
            });
        }
        Ok(ProcRoot { fd, source })
    }

    pub fn source(&self) -> Source {
        self.source
    }

    /// Open `sub` (relative, e.g. "sys/net/ipv4/ip_forward") beneath the
    /// root: no symlinks, no magic links, no mount crossings, and the result
    /// must still be on procfs.
    pub fn open_file(&self, sub: &str, flags: i32) -> Result<OwnedFd, ProcfsError> {
        let shown = format!("/proc/{sub}");
        let c = CString::new(sub).map_err(|_| sys_err("open", &shown)(Errno::EINVAL))?;
        let resolve = libc::RESOLVE_BENEATH
            | libc::RESOLVE_NO_SYMLINKS
            | libc::RESOLVE_NO_MAGICLINKS
            | libc::RESOLVE_NO_XDEV;
        let fd =
            sys::openat2(self.fd.as_fd(), &c, flags, resolve).map_err(sys_err("open", &shown))?;
        let magic = sys::fs_magic(fd.as_fd()).map_err(sys_err("fstatfs", &shown))?;
        if magic != PROC_SUPER_MAGIC {
            return Err(ProcfsError::NotProcfs { path: shown, magic });
        }
        Ok(fd)
    }

    /// Write `data` to `sub` in one write(2), as procfs files expect.
    pub fn write(&self, sub: &str, data: &[u8]) -> Result<(), ProcfsError> {
        let fd = self.open_file(sub, libc::O_WRONLY)?;
        let mut f = std::fs::File::from(fd);
        f.write_all(data).map_err(|e| ProcfsError::Sys {
            op: "write",
            path: format!("/proc/{sub}"),
            errno: io_errno(&e),
        })
    }

    /// "<pid>/task/<tid>" of the calling thread in this procfs's pid
    /// namespace. thread-self is a symlink, which open_file refuses to follow,
    /// so it is read once here and must have the plain form.
    pub fn thread_self(&self) -> Result<String, ProcfsError> {
        self.link("thread-self", 3)
    }

    /// "<pid>" of the calling process, from the "self" symlink likewise.
    pub fn self_dir(&self) -> Result<String, ProcfsError> {
        self.link("self", 1)
    }

    fn link(&self, name: &str, parts: usize) -> Result<String, ProcfsError> {
        let shown = format!("/proc/{name}");
        let c = CString::new(name).map_err(|_| sys_err("readlink", &shown)(Errno::EINVAL))?;
        let target = sys::readlinkat(self.fd.as_fd(), &c).map_err(sys_err("readlink", &shown))?;
        let p: Vec<&str> = target.split('/').collect();
        let num = |s: &str| !s.is_empty() && s.bytes().all(|b| b.is_ascii_digit());
        let ok = p.len() == parts && num(p[0]) && (parts == 1 || (p[1] == "task" && num(p[2])));
        if !ok {
            return Err(ProcfsError::NotProcRoot {
                path: format!("{shown} -> {target}"),
            });
        }
        Ok(target)
    }
}

fn io_errno(e: &std::io::Error) -> Errno {
    Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mounted_proc_is_accepted() {
        let p = ProcRoot::from_mounted(Path::new("/proc")).unwrap();
        assert_eq!(p.source(), Source::Mounted);
        let fd = p.open_file("sys/kernel/ostype", libc::O_RDONLY).unwrap();
        let s = std::io::read_to_string(std::fs::File::from(fd)).unwrap();
        assert_eq!(s.trim(), "Linux");
    }

    #[test]
    fn a_directory_that_is_not_procfs_is_refused() {
        let e = ProcRoot::from_mounted(Path::new("/")).unwrap_err();
        assert!(matches!(e, ProcfsError::NotProcfs { .. }), "{e}");
        assert!(e.to_string().contains("is not on procfs"), "{e}");
    }

    #[test]
    fn a_procfs_subdirectory_is_not_a_root() {
        // A bind mount of /proc/<pid> over /proc looks like procfs by magic.
        let e = ProcRoot::from_mounted(Path::new("/proc/self/")).unwrap_err();
        assert!(matches!(e, ProcfsError::NotProcRoot { .. }), "{e}");
    }

    #[test]
    fn symlinks_and_escapes_are_not_followed() {
        let p = ProcRoot::open().unwrap();
        // /proc/self is a symlink; /proc/mounts too.
        assert!(p.open_file("self/status", libc::O_RDONLY).is_err());
        assert!(p.open_file("../etc/passwd", libc::O_RDONLY).is_err());
        let ts = p.thread_self().unwrap();
        assert!(p.open_file(&format!("{ts}/status"), libc::O_RDONLY).is_ok());
    }
}
