//! runc 1.1's cloned-binary step (§6.1), against CVE-2019-5736: before any
//! pipe I/O, re-exec from a copy of ourselves that the container can never
//! write through `/proc/<pid>/exe`.
//!
//! runc 1.1 copies the whole binary into a sealed memfd on every start
//! (about 10 MiB for runc). We first try a zero-copy seal, as runc 1.2 later
//! did in Go: a private, read-only overlayfs made with fsopen()/fsmount() that
//! is never attached anywhere, with the binary's directory as its top lower
//! layer. An overlay without an upper layer cannot be written at all, and
//! unlike a read-only bind mount there is no mount flag to flip back. Only
//! where that is refused (rootless, no overlayfs) do we copy into a memfd.
//!
//! The re-exec'd process recognises itself (sealed memfd, or the marker env
//! plus a read-only mount), and a process that carries the marker but is
//! still not sealed fails instead of re-executing forever.

use super::exeseal;
use super::log::Logger;
use super::sys;
use super::sys::{Errno, Fd, RawFd};
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::CStr;

const MARKER: &CStr = c"_LIBCONTAINER_CLONED_BINARY";

#[derive(Debug)]
pub enum ClonedBinaryError {
    NoAccess(Errno),
    Loop,
    Cmdline(Errno),
    Memfd(Errno),
    Exec(Errno),
}

impl core::fmt::Display for ClonedBinaryError {
    #[allow(unused_variables)]
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoAccess(_0) => write!(
                f,
                "you have no read access to runc binary file: {}",
                _0.desc()
            ),
            Self::Loop => write!(
                f,
                "re-executed as a cloned binary, but /proc/self/exe is still not sealed"
            ),
            Self::Cmdline(_0) => write!(f, "reading /proc/self/cmdline: {}", _0.desc()),
            Self::Memfd(_0) => write!(f, "cloning the binary into a memfd: {}", _0.desc()),
            Self::Exec(_0) => write!(f, "fexecve of the cloned binary: {}", _0.desc()),
        }
    }
}

impl core::error::Error for ClonedBinaryError {}

/// Make sure we run from a sealed binary; may re-exec (same pid).
pub fn ensure(log: &Logger) -> Result<(), ClonedBinaryError> {
    let exe = sys::open(c"/proc/self/exe", libc::O_RDONLY).map_err(|e| {
        // runc prints this to stderr, whatever the log pipe.
        let _ = sys::write_full(2, b"you have no read access to runc binary file\n");
        ClonedBinaryError::NoAccess(e)
    })?;
    if is_cloned(exe.raw()) {
        return Ok(());
    }
    if sys::getenv(MARKER).is_some() {
        return Err(ClonedBinaryError::Loop);
    }
    let argv = cmdline()?;
    // runc 1.1 always passes its state dir; it makes a fine second layer.
    let dummy = match sys::getenv(c"_LIBCONTAINER_STATEDIR") {
        Some(d) if d.starts_with(b"/") => d,
        _ => b"/tmp",
    };
    let sealed =
        match exeseal::bind_seal(c"/proc/self/exe").or_else(|| exeseal::overlay_seal(dummy)) {
            Some(fd) => fd,
            None => exeseal::memfd_copy(exe.raw()).map_err(ClonedBinaryError::Memfd)?,
        };
    drop(exe);
    log.debug("re-executing from a sealed copy of the binary");
    // SAFETY: both strings are NUL-terminated; single-threaded, so changing
    // the environment cannot race.
    unsafe { libc::setenv(MARKER.as_ptr(), c"1".as_ptr(), 1) };
    Err(ClonedBinaryError::Exec(execveat_self(&sealed, &argv)))
}

/// runc 1.1's `is_self_cloned`, with the seal check as a mask (extra seals
/// such as F_SEAL_EXEC are fine).
fn is_cloned(fd: RawFd) -> bool {
    if let Some(sealed) = exeseal::is_sealed_memfd(fd) {
        return sealed;
    }
    if sys::getenv(MARKER).is_none() {
        return false;
    }
    // SAFETY: stat is plain data; zeroed is valid.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: out pointer to a local.
    let unlinked = unsafe { libc::fstat(fd, &mut st) } == 0 && st.st_nlink == 0;
    exeseal::on_read_only_mount(fd) || unlinked
}

fn cmdline() -> Result<Vec<CString>, ClonedBinaryError> {
    let fd =
        sys::open(c"/proc/self/cmdline", libc::O_RDONLY).map_err(ClonedBinaryError::Cmdline)?;
    let mut buf: Vec<u8> = Vec::new();
    let mut chunk = [0u8; 4096];
    loop {
        match sys::read_full(fd.raw(), &mut chunk).map_err(ClonedBinaryError::Cmdline)? {
            0 => break,
            n => buf.extend_from_slice(&chunk[..n]),
        }
    }
    let buf = buf.strip_suffix(&[0]).unwrap_or(&buf);
    Ok(buf.split(|&c| c == 0).map(sys::cstring).collect())
}

/// execveat(fd, "", argv, environ, AT_EMPTY_PATH). Returns only on error.
fn execveat_self(fd: &Fd, argv: &[CString]) -> Errno {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(core::ptr::null());
    extern "C" {
        static environ: *const *const libc::c_char;
    }
    // SAFETY: argv is NULL-terminated and outlives the call; environ is
    // libc's current environment.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.raw(),
            c"".as_ptr(),
            a.as_ptr(),
            environ,
            libc::AT_EMPTY_PATH,
        );
    }
    Errno::last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_memfd_counts_as_cloned() {
        let exe = sys::open(c"/proc/self/exe", libc::O_RDONLY).unwrap();
        assert!(!is_cloned(exe.raw()) || sys::getenv(MARKER).is_some());
        let mem = exeseal::memfd_copy(exe.raw()).unwrap();
        assert!(is_cloned(mem.raw()));
    }
}
