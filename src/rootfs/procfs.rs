//! Writes to procfs only through a verified procfs (CVE-2019-16884,
//! CVE-2025-52881): /proc must be the root of a real proc mount, the file is
//! reached without symlinks or mount crossings, and the opened fd itself must
//! be on procfs, so a bind-mount over /proc or one of its files cannot
//! redirect a sysctl or LSM-label write.

use std::io::Write;
use std::os::fd::{AsFd, OwnedFd};

use super::error::{Result, RootfsError};
use super::sys::{self, PROC_SUPER_MAGIC, RESOLVE_BENEATH, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS, RESOLVE_NO_XDEV};

/// procfs's root directory inode (PROC_ROOT_INO).
const PROC_ROOT_INO: u64 = 1;

#[derive(Debug)]
pub struct ProcFs {
    fd: OwnedFd,
}

fn check_proc(fd: &OwnedFd, what: &str) -> Result<()> {
    let fs = sys::fstatfs(fd.as_fd()).map_err(|e| RootfsError::path("statfs", what, e))?;
    if fs.f_type as i64 != PROC_SUPER_MAGIC {
        return Err(RootfsError::unsafe_(format!("procfs write to {what}"), "it is not on procfs"));
    }
    Ok(())
}

impl ProcFs {
    /// Open and verify `path` (normally "/proc") as a procfs root.
    pub fn open_at(path: &str) -> Result<ProcFs> {
        let fd = sys::openat2(None, path, libc::O_PATH | libc::O_DIRECTORY, 0, RESOLVE_NO_SYMLINKS)
            .map_err(|e| RootfsError::path("open", path, e))?;
        check_proc(&fd, path)?;
        let st = sys::fstat(fd.as_fd()).map_err(|e| RootfsError::path("fstat", path, e))?;
        if st.st_ino != PROC_ROOT_INO {
            return Err(RootfsError::unsafe_(format!("procfs {path}"), "it is not the root of a proc mount"));
        }
        Ok(ProcFs { fd })
    }

    pub fn open() -> Result<ProcFs> {
        ProcFs::open_at("/proc")
    }

    /// Write `value` to `rel` (e.g. "sys/kernel/shmmax") below the verified root.
    pub fn write(&self, rel: &str, value: &[u8]) -> Result<()> {
        let shown = format!("/proc/{rel}");
        let resolve = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_XDEV;
        let fd = sys::openat2(Some(self.fd.as_fd()), rel, libc::O_WRONLY | libc::O_NOFOLLOW, 0, resolve)
            .map_err(|e| RootfsError::path("open", &shown, e))?;
        check_proc(&fd, &shown)?;
        std::fs::File::from(fd).write_all(value).map_err(|e| {
            RootfsError::path("write", &shown, nix::errno::Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))
        })
    }
}

/// runc's writeSystemProperty: "net.ipv4.ip_forward" -> /proc/sys/net/ipv4/ip_forward.
pub fn sysctl_path(key: &str) -> String {
    format!("sys/{}", key.replace('.', "/"))
}

pub fn write_sysctl(key: &str, value: &str) -> Result<()> {
    ProcFs::open()?.write(&sysctl_path(key), value.as_bytes())
}

/// Write /proc/<pid>/attr/<name> (LSM labels) for this process.
pub fn write_attr(name: &str, value: &str) -> Result<()> {
    ProcFs::open()?.write(&format!("{}/attr/{name}", std::process::id()), value.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sysctl_keys_map_to_proc_sys() {
        assert_eq!(sysctl_path("net.ipv4.ip_forward"), "sys/net/ipv4/ip_forward");
        assert_eq!(sysctl_path("kernel/shmmax"), "sys/kernel/shmmax");
    }

    #[test]
    fn host_proc_verifies_and_fakes_do_not() {
        assert!(ProcFs::open().is_ok());
        // A subdirectory of procfs is procfs but not its root.
        assert!(ProcFs::open_at("/proc/sys").unwrap_err().to_string().contains("not the root of a proc mount"));
        assert!(ProcFs::open_at("/tmp").unwrap_err().to_string().contains("not on procfs"));
        // Symlinks (including /proc/self) are not walked.
        assert!(ProcFs::open().unwrap().write("self/attr/current", b"x").is_err());
    }
}
