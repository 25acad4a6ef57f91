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
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};

use crate::libnsexec::exeseal;
use crate::libnsexec::sys::Fd;

const SELF_EXE: &CStr = c"/proc/self/exe";

/// How the binary was protected (tests and --debug report it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Protection {
    AlreadyReadOnly,
    SealedMemfd,
    DetachedReadOnlyMount,
    MemfdCopy,
}

fn owned(fd: Fd) -> OwnedFd {
    // SAFETY: into_raw hands over an open fd that nobody else owns.
    unsafe { OwnedFd::from_raw_fd(fd.into_raw()) }
}

/// An fd to exec `init` from, and how it is protected (the ways and their
/// costs: src/exeseal.rs).
pub fn protected_exe() -> std::io::Result<(OwnedFd, Protection)> {
    let me = File::open("/proc/self/exe")?;
    if exeseal::on_read_only_mount(me.as_raw_fd()) {
        return Ok((me.into(), Protection::AlreadyReadOnly));
    }
    if exeseal::is_sealed_memfd(me.as_raw_fd()) == Some(true) {
        return Ok((me.into(), Protection::SealedMemfd));
    }
    if let Some(tree) = exeseal::bind_seal(SELF_EXE) {
        return Ok((owned(tree), Protection::DetachedReadOnlyMount));
    }
    let copy =
        exeseal::memfd_copy(me.as_raw_fd()).map_err(|e| std::io::Error::from_raw_os_error(e.0))?;
    Ok((owned(copy), Protection::MemfdCopy))
}
