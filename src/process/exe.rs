//! The binary `init` runs from, protected against CVE-2019-5736.
//!
//! A container process could open `/proc/<init>/exe` for writing and
//! overwrite the host's nsrun. runc 1.1 copies itself into a sealed memfd on
//! every start (~1 ms and several MiB of page cache per container). We avoid
//! the copy: `open_tree(OPEN_TREE_CLONE)` gives a detached bind mount of the
//! binary file, `mount_setattr` makes that mount read-only, and `execveat`
//! runs it. `/proc/<init>/exe` then names a file on a read-only mount nobody
//! else can reach, so a write fails with EROFS, and no byte is copied.
//! Where that is refused (no CAP_SYS_ADMIN, e.g. rootless) we fall back to a
//! sealed memfd copy. When the binary already sits on a read-only mount or
//! is itself a sealed memfd, it is exec'd as is.

use std::ffi::CStr;
use std::fs::File;
use std::os::fd::{AsFd, AsRawFd, OwnedFd};

use super::sys;

const SELF_EXE: &CStr = c"/proc/self/exe";

/// How the binary was protected (tests and --debug report it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    AlreadyReadOnly,
    SealedMemfd,
    DetachedReadOnlyMount,
    MemfdCopy,
}

fn is_ro_mount(f: &File) -> bool {
    nix::sys::statvfs::fstatvfs(f.as_fd())
        .map(|s| s.flags().contains(nix::sys::statvfs::FsFlags::ST_RDONLY))
        .unwrap_or(false)
}

fn is_sealed(f: &File) -> bool {
    let want = libc::F_SEAL_WRITE | libc::F_SEAL_GROW | libc::F_SEAL_SHRINK;
    nix::fcntl::fcntl(f.as_raw_fd(), nix::fcntl::FcntlArg::F_GET_SEALS).is_ok_and(|s| s & want == want)
}

/// An fd to exec `init` from, and how it is protected.
pub fn protected_exe() -> std::io::Result<(OwnedFd, Protection)> {
    let me = File::open("/proc/self/exe")?;
    if is_ro_mount(&me) {
        return Ok((me.into(), Protection::AlreadyReadOnly));
    }
    if is_sealed(&me) {
        return Ok((me.into(), Protection::SealedMemfd));
    }
    if let Ok(tree) = sys::open_tree_clone(SELF_EXE) {
        let flags = sys::MOUNT_ATTR_RDONLY | sys::MOUNT_ATTR_NOSUID | sys::MOUNT_ATTR_NODEV;
        if sys::mount_setattr_fd(tree.as_fd(), flags).is_ok() {
            return Ok((tree, Protection::DetachedReadOnlyMount));
        }
    }
    Ok((memfd_copy(me)?, Protection::MemfdCopy))
}

fn memfd_copy(mut me: File) -> std::io::Result<OwnedFd> {
    let fd = sys::memfd(c"nsrun")?;
    let mut out = File::from(fd);
    std::io::copy(&mut me, &mut out)?;
    let seals = libc::F_SEAL_SEAL | libc::F_SEAL_SHRINK | libc::F_SEAL_GROW | libc::F_SEAL_WRITE;
    nix::fcntl::fcntl(out.as_raw_fd(), nix::fcntl::FcntlArg::F_ADD_SEALS(nix::fcntl::SealFlag::from_bits_retain(seals)))?;
    Ok(out.into())
}
