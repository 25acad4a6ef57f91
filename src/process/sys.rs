//! Thin syscall wrappers for spawning `init`; each unsafe block is one call.

use std::ffi::{CStr, CString};
use std::io;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

fn cvt(r: libc::c_long) -> io::Result<libc::c_long> {
    if r < 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

/// `fork()`. Returns 0 in the child.
///
/// The caller must only make async-signal-safe calls in the child; nsrun is
/// single-threaded (no threads anywhere in the runtime), so this holds.
pub fn fork() -> io::Result<libc::pid_t> {
    // SAFETY: plain fork in a single-threaded process; see the doc comment.
    let r = unsafe { libc::fork() };
    cvt(r as libc::c_long).map(|r| r as libc::pid_t)
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`. Only returns on error.
/// `argv` / `envp` must end with a null pointer.
pub fn execveat_fd(fd: BorrowedFd, argv: &[*const libc::c_char], envp: &[*const libc::c_char]) -> io::Error {
    debug_assert!(argv.last().is_some_and(|p| p.is_null()) && envp.last().is_some_and(|p| p.is_null()));
    // SAFETY: the arrays are null-terminated arrays of C strings the caller keeps alive.
    unsafe {
        libc::syscall(libc::SYS_execveat, fd.as_raw_fd(), c"".as_ptr(), argv.as_ptr(), envp.as_ptr(), libc::AT_EMPTY_PATH)
    };
    io::Error::last_os_error()
}

/// `dup2`, clearing CLOEXEC also when `from == to`.
pub fn dup_to(from: RawFd, to: RawFd) -> io::Result<()> {
    if from == to {
        // SAFETY: fcntl on an fd number; errors are reported.
        cvt(unsafe { libc::fcntl(from, libc::F_SETFD, 0) } as libc::c_long)?;
    } else {
        // SAFETY: dup2 on fd numbers; errors are reported.
        cvt(unsafe { libc::dup2(from, to) } as libc::c_long)?;
    }
    Ok(())
}

/// `fcntl(F_DUPFD_CLOEXEC, min)`: a raw copy at or above `min`, for the child only.
pub fn dup_above(fd: RawFd, min: RawFd) -> io::Result<RawFd> {
    // SAFETY: fcntl on an fd number; errors are reported.
    cvt(unsafe { libc::fcntl(fd, libc::F_DUPFD_CLOEXEC, min) } as libc::c_long).map(|r| r as RawFd)
}

/// Mark every fd from `first` up as close-on-exec (`close_range` CLOEXEC).
pub fn cloexec_from(first: u32) -> io::Result<()> {
    // SAFETY: close_range only changes fd flags.
    cvt(unsafe { libc::syscall(libc::SYS_close_range, first, u32::MAX, libc::CLOSE_RANGE_CLOEXEC) })?;
    Ok(())
}

pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is always safe; no destructors run in a forked child.
    unsafe { libc::_exit(code) }
}

const OPEN_TREE_CLONE: libc::c_uint = 1;
const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
pub const MOUNT_ATTR_RDONLY: u64 = 0x1;
pub const MOUNT_ATTR_NOSUID: u64 = 0x2;
pub const MOUNT_ATTR_NODEV: u64 = 0x4;

/// `open_tree(AT_FDCWD, path, OPEN_TREE_CLONE|OPEN_TREE_CLOEXEC)`: a detached
/// bind mount of `path` (a file works too).
pub fn open_tree_clone(path: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: path is a valid C string; the result is a new fd we own.
    let fd = cvt(unsafe {
        libc::syscall(libc::SYS_open_tree, libc::AT_FDCWD, path.as_ptr(), OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC)
    })?;
    // SAFETY: fd is a fresh descriptor returned by the kernel.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

#[repr(C)]
struct MountAttr {
    attr_set: u64,
    attr_clr: u64,
    propagation: u64,
    userns_fd: u64,
}

/// `mount_setattr(fd, "", AT_EMPTY_PATH, {attr_set})`.
pub fn mount_setattr_fd(fd: BorrowedFd, set: u64) -> io::Result<()> {
    let attr = MountAttr { attr_set: set, attr_clr: 0, propagation: 0, userns_fd: 0 };
    // SAFETY: attr is a valid struct of the size passed.
    cvt(unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    })?;
    Ok(())
}

/// `memfd_create(name, MFD_CLOEXEC|MFD_ALLOW_SEALING)`.
pub fn memfd(name: &CStr) -> io::Result<OwnedFd> {
    // SAFETY: name is a valid C string; the result is a new fd we own.
    let fd = cvt(unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC | libc::MFD_ALLOW_SEALING) } as libc::c_long)?;
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `pidfd_open(pid, 0)`, CLOEXEC by definition.
pub fn pidfd_open(pid: libc::pid_t) -> io::Result<OwnedFd> {
    // SAFETY: no pointers involved.
    let fd = cvt(unsafe { libc::syscall(libc::SYS_pidfd_open, pid, 0) })?;
    // SAFETY: fresh descriptor.
    Ok(unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// `pidfd_send_signal(fd, sig, NULL, 0)`.
pub fn pidfd_signal(fd: BorrowedFd, sig: i32) -> io::Result<()> {
    // SAFETY: null siginfo is allowed.
    cvt(unsafe { libc::syscall(libc::SYS_pidfd_send_signal, fd.as_raw_fd(), sig, std::ptr::null::<u8>(), 0) })?;
    Ok(())
}

/// Null-terminated pointer array over C strings the caller keeps alive.
pub fn ptrs(v: &[CString]) -> Vec<*const libc::c_char> {
    v.iter().map(|s| s.as_ptr()).chain(std::iter::once(std::ptr::null())).collect()
}
