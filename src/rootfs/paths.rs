//! After the pivot: read-only tmpfs and /dev, read-only root, readonlyPaths and
//! maskedPaths.

use std::os::fd::{AsFd, OwnedFd};

use nix::errno::Errno;

use super::error::{Ctx, Result, RootfsError};
use super::mounts::set_readonly;
use super::options::MS_RDONLY;
use super::plan::{MountKind, RootfsPlan};
use super::secure::Root;
use super::sys::{self, RESOLVE_NO_SYMLINKS};

/// runc's finalizeRootfs part one: "ro" tmpfs and /dev mounts were mounted rw
/// so files could be created in them; make them read-only now.
pub fn remount_readonly_mounts(root: &Root, plan: &RootfsPlan) -> Result<()> {
    for m in plan
        .mounts
        .iter()
        .filter(|m| m.options.flags & MS_RDONLY != 0)
    {
        if m.kind == MountKind::Tmpfs || m.destination == "/dev" {
            let fd = root.resolve(&m.destination)?;
            set_readonly(fd.as_fd(), &m.destination)?;
        }
    }
    Ok(())
}

pub fn readonly_root(root: &Root) -> Result<()> {
    set_readonly(root.fd(), "/").ctx(|| "error setting rootfs as readonly".into())
}

/// Bind a path onto itself (recursively) read-only; a missing path is skipped.
/// The ro flag is set on the detached copy, so there is no read-write window.
pub fn readonly_path(root: &Root, p: &str) -> Result<()> {
    let fd = match root.resolve(p) {
        Ok(fd) => fd,
        Err(e) if e.errno() == Some(Errno::ENOENT) => return Ok(()),
        Err(e) => return Err(e),
    };
    let tree = sys::clone_tree(fd.as_fd(), true).map_err(|e| {
        RootfsError::mount("mount", p, p, (libc::MS_BIND | libc::MS_REC) as u64, "", e)
    })?;
    set_readonly(tree.as_fd(), p)?;
    sys::move_mount(tree.as_fd(), fd.as_fd()).map_err(|e| {
        RootfsError::mount("mount", p, p, (libc::MS_BIND | libc::MS_REC) as u64, "", e)
    })
}

/// The container's /dev/null, verified to be the null device (char 1:3).
/// CVE-2025-31133: a container that swaps /dev/null for a symlink (e.g. to
/// /proc/sys/kernel/core_pattern) would otherwise have that bound over its
/// masked paths, i.e. unmask them writable.
pub fn verified_dev_null(root: &Root) -> Result<OwnedFd> {
    let fd = root
        .open_in(
            "/dev/null",
            libc::O_PATH | libc::O_NOFOLLOW,
            RESOLVE_NO_SYMLINKS,
        )
        .map_err(|e| RootfsError::unsafe_("/dev/null", e.to_string()))?;
    let st = sys::fstat(fd.as_fd()).map_err(|e| RootfsError::path("fstat", "/dev/null", e))?;
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || st.st_rdev != sys::makedev(1, 3) {
        return Err(RootfsError::unsafe_(
            "/dev/null",
            "it is not the null device (char 1:3)",
        ));
    }
    Ok(fd)
}

/// runc's maskPath: /dev/null over files, a read-only tmpfs over directories.
/// The masked path itself must not be (or go through) a symlink.
pub fn mask_path(root: &Root, p: &str, dev_null: &OwnedFd) -> Result<()> {
    let target = match root.open_in(p, libc::O_PATH | libc::O_NOFOLLOW, RESOLVE_NO_SYMLINKS) {
        Ok(fd) => fd,
        Err(e) if e.errno() == Some(Errno::ENOENT) => return Ok(()),
        Err(e) if e.errno() == Some(Errno::ELOOP) => {
            return Err(RootfsError::unsafe_(
                format!("masked path {p}"),
                "it goes through a symlink",
            ))
        }
        Err(e) => return Err(e),
    };
    let st = sys::fstat(target.as_fd()).map_err(|e| RootfsError::path("fstat", p, e))?;
    match st.st_mode & libc::S_IFMT {
        libc::S_IFDIR => {
            sys::fchdir(target.as_fd()).map_err(|e| RootfsError::path("fchdir", p, e))?;
            let r = sys::mount(Some("tmpfs"), ".", Some("tmpfs"), MS_RDONLY, None)
                .map_err(|e| RootfsError::mount("mount", "tmpfs", p, MS_RDONLY, "", e));
            let _ = sys::chdir("/");
            r
        }
        libc::S_IFLNK => Err(RootfsError::unsafe_(
            format!("masked path {p}"),
            "it is a symlink",
        )),
        _ => {
            let tree = sys::clone_tree(dev_null.as_fd(), false).map_err(|e| {
                RootfsError::mount("mount", "/dev/null", p, libc::MS_BIND as u64, "", e)
            })?;
            sys::move_mount(tree.as_fd(), target.as_fd()).map_err(|e| {
                RootfsError::mount("mount", "/dev/null", p, libc::MS_BIND as u64, "", e)
            })
        }
    }
}
