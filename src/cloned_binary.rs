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

use super::log::Logger;
use super::sys;
use super::sys::{Errno, Fd, RawFd};
use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::CStr;

const MARKER: &CStr = c"_LIBCONTAINER_CLONED_BINARY";
// F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE
const BASE_SEALS: libc::c_int = 0x0f;
const F_SEAL_EXEC: libc::c_int = 0x20;
const MFD_EXEC: libc::c_uint = 0x10;

#[derive(Debug)]
pub enum ClonedBinaryError {
    NoAccess(Errno),
    Loop,
    Cmdline(Errno),
    Memfd(Errno),
    Seal(Errno),
    Exec(Errno),
}

impl core::fmt::Display for ClonedBinaryError {
    #[allow(unused_variables)]
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::NoAccess(_0) => write!(f, "you have no read access to runc binary file: {}", _0.desc()),
            Self::Loop => write!(f, "re-executed as a cloned binary, but /proc/self/exe is still not sealed"),
            Self::Cmdline(_0) => write!(f, "reading /proc/self/cmdline: {}", _0.desc()),
            Self::Memfd(_0) => write!(f, "cloning the binary into a memfd: {}", _0.desc()),
            Self::Seal(_0) => write!(f, "sealing the memfd: {}", _0.desc()),
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
    let sealed = match overlay_seal() {
        Some(fd) => fd,
        None => memfd_copy(&exe)?,
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
    // SAFETY: plain fcntl on an fd we own.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    if seals >= 0 {
        return seals & BASE_SEALS == BASE_SEALS;
    }
    if sys::getenv(MARKER).is_none() {
        return false;
    }
    // SAFETY: statvfs/stat are plain data; zeroed values are valid.
    let mut fs: libc::statvfs = unsafe { core::mem::zeroed() };
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: out pointers to locals of the right type.
    let ro = unsafe { libc::fstatvfs(fd, &mut fs) } == 0 && fs.f_flag & libc::ST_RDONLY != 0;
    // SAFETY: as above.
    let unlinked = unsafe { libc::fstat(fd, &mut st) } == 0 && st.st_nlink == 0;
    ro || unlinked
}

fn cmdline() -> Result<Vec<CString>, ClonedBinaryError> {
    let fd = sys::open(c"/proc/self/cmdline", libc::O_RDONLY).map_err(ClonedBinaryError::Cmdline)?;
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

/// Escape `\` and `:` for an overlayfs lowerdir list.
fn escape_lowerdir(p: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(p.len());
    for &c in p {
        if c == b'\\' || c == b':' {
            out.push(b'\\');
        }
        out.push(c);
    }
    out
}

/// The zero-copy seal: an O_PATH fd of our binary inside a detached,
/// read-only, lower-only overlayfs. None if any step is refused.
fn overlay_seal() -> Option<Fd> {
    let mut link = [0u8; libc::PATH_MAX as usize];
    // SAFETY: buffer and its length.
    let n = unsafe { libc::readlink(c"/proc/self/exe".as_ptr(), link.as_mut_ptr().cast(), link.len()) };
    if n <= 0 || n as usize >= link.len() {
        return None;
    }
    let path = &link[..n as usize];
    let slash = path.iter().rposition(|&c| c == b'/')?;
    let (dir, name) = (&path[..slash.max(1)], &path[slash + 1..]);
    // Lower-only overlays need two layers; the second one only has to exist
    // and not overlap the first. runc 1.1 always passes its state dir.
    let dummy = match sys::getenv(c"_LIBCONTAINER_STATEDIR") {
        Some(d) if d.starts_with(b"/") => d.to_vec(),
        _ => b"/tmp".to_vec(),
    };
    let mut lower = escape_lowerdir(dir);
    lower.push(b':');
    lower.extend(escape_lowerdir(&dummy));

    // SAFETY: raw fs-context syscalls with NUL-terminated strings; every fd
    // they return is wrapped at once.
    unsafe {
        let ctx = libc::syscall(libc::SYS_fsopen, c"overlay".as_ptr(), 1 /* FSOPEN_CLOEXEC */);
        if ctx < 0 {
            return None;
        }
        let ctx = Fd::from_raw(ctx as RawFd);
        let lower = sys::cstring(&lower);
        const FSCONFIG_SET_STRING: libc::c_uint = 1;
        const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
        if libc::syscall(libc::SYS_fsconfig, ctx.raw(), FSCONFIG_SET_STRING, c"lowerdir".as_ptr(), lower.as_ptr(), 0) < 0
            || libc::syscall(libc::SYS_fsconfig, ctx.raw(), FSCONFIG_CMD_CREATE, 0usize, 0usize, 0) < 0
        {
            return None;
        }
        const FSMOUNT_CLOEXEC: libc::c_uint = 1;
        const MOUNT_ATTR_RDONLY: libc::c_uint = 0x1;
        const MOUNT_ATTR_NOSUID: libc::c_uint = 0x2;
        const MOUNT_ATTR_NODEV: libc::c_uint = 0x4;
        let mnt = libc::syscall(
            libc::SYS_fsmount,
            ctx.raw(),
            FSMOUNT_CLOEXEC,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        );
        if mnt < 0 {
            return None;
        }
        let mnt = Fd::from_raw(mnt as RawFd);
        let name = sys::cstring(name);
        let fd = libc::openat(mnt.raw(), name.as_ptr(), libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC);
        if fd < 0 {
            return None;
        }
        Some(Fd::from_raw(fd))
    }
}

/// runc 1.1's copy: the binary in a memfd, sealed against any change.
fn memfd_copy(exe: &Fd) -> Result<Fd, ClonedBinaryError> {
    let name = c"runc_cloned:/proc/self/exe";
    let base = libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING;
    // SAFETY: memfd_create with a NUL-terminated name. MFD_EXEC (6.3+) keeps
    // vm.memfd_noexec from refusing the exec; older kernels say EINVAL.
    let mut fd = unsafe { libc::memfd_create(name.as_ptr(), base | MFD_EXEC) };
    if fd < 0 {
        // SAFETY: as above.
        fd = unsafe { libc::memfd_create(name.as_ptr(), base) };
    }
    if fd < 0 {
        return Err(ClonedBinaryError::Memfd(Errno::last()));
    }
    // SAFETY: a fresh fd.
    let mem = unsafe { Fd::from_raw(fd) };
    // SAFETY: stat is plain data.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: out pointer to a local.
    if unsafe { libc::fstat(exe.raw(), &mut st) } < 0 {
        return Err(ClonedBinaryError::Memfd(Errno::last()));
    }
    let mut left = st.st_size as usize;
    while left > 0 {
        // SAFETY: in-kernel copy between two fds we own; NULL offset uses
        // and advances the file position.
        let n = unsafe { libc::sendfile(mem.raw(), exe.raw(), core::ptr::null_mut(), left) };
        match n {
            n if n > 0 => left -= n as usize,
            0 => return Err(ClonedBinaryError::Memfd(Errno::EIO)), // file shrank
            _ if Errno::last() == Errno::EINTR => continue,
            _ => return Err(ClonedBinaryError::Memfd(Errno::last())),
        }
    }
    // SAFETY: plain fcntl on our memfd; F_SEAL_EXEC is optional (6.3+).
    unsafe {
        if libc::fcntl(mem.raw(), libc::F_ADD_SEALS, BASE_SEALS | F_SEAL_EXEC) < 0
            && libc::fcntl(mem.raw(), libc::F_ADD_SEALS, BASE_SEALS) < 0
        {
            return Err(ClonedBinaryError::Seal(Errno::last()));
        }
    }
    Ok(mem)
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
        libc::syscall(libc::SYS_execveat, fd.raw(), c"".as_ptr(), a.as_ptr(), environ, libc::AT_EMPTY_PATH);
    }
    Errno::last()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lowerdir_escaping() {
        assert_eq!(escape_lowerdir(b"/a:b\\c"), b"/a\\:b\\\\c");
    }

    #[test]
    fn memfd_copy_is_sealed_and_equal() {
        let exe = sys::open(c"/proc/self/exe", libc::O_RDONLY).unwrap();
        let mem = memfd_copy(&exe).unwrap();
        assert!(is_cloned(mem.raw()));
        let a = std::fs::read("/proc/self/exe").unwrap();
        let b = std::fs::read(format!("/proc/self/fd/{}", mem.raw())).unwrap();
        assert!(a == b, "copy differs");
        // A write must fail: F_SEAL_WRITE.
        // SAFETY: writing a local buffer to our fd.
        let r = unsafe { libc::pwrite(mem.raw(), b"x".as_ptr().cast(), 1, 0) };
        assert_eq!(r, -1);
    }

    #[test]
    fn overlay_seal_is_read_only() {
        let Some(fd) = overlay_seal() else {
            eprintln!("SKIP: overlayfs via fsopen is not available here");
            return;
        };
        let path = format!("/proc/self/fd/{}", fd.raw());
        let e = std::fs::OpenOptions::new().write(true).open(&path).unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS), "{e}");
        assert_eq!(std::fs::read(&path).unwrap(), std::fs::read("/proc/self/exe").unwrap());
    }
}
