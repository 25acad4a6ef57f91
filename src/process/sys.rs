//! Thin syscall wrappers for spawning `init`; each unsafe block is one call.

use std::ffi::CString;
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

/// The kernel's `struct clone_args` up to `cgroup` (CLONE_ARGS_SIZE_VER2,
/// Linux 5.7); libc's copy is not on every target.
#[repr(C)]
#[derive(Default)]
struct CloneArgs {
    flags: u64,
    pidfd: u64,
    child_tid: u64,
    parent_tid: u64,
    exit_signal: u64,
    stack: u64,
    stack_size: u64,
    tls: u64,
    set_tid: u64,
    set_tid_size: u64,
    cgroup: u64,
}

const CLONE_INTO_CGROUP: u64 = 0x2_0000_0000;

/// `clone3(CLONE_INTO_CGROUP)`: `fork()` with the child born in the cgroup2
/// directory `cgroup`. Returns 0 in the child. Same contract as `fork`.
pub fn clone3_into_cgroup(cgroup: BorrowedFd) -> io::Result<libc::pid_t> {
    let args = CloneArgs {
        flags: CLONE_INTO_CGROUP,
        exit_signal: libc::SIGCHLD as u64,
        cgroup: cgroup.as_raw_fd() as u64,
        ..Default::default()
    };
    // SAFETY: no CLONE_VM and no stack: the child runs on a private copy of
    // the address space like fork()'s. glibc's cached tid is stale in it
    // (only fork() refreshes it), which only pthread/raise consult; the
    // child makes raw syscalls only.
    let r = unsafe {
        libc::syscall(
            libc::SYS_clone3,
            &args as *const CloneArgs,
            std::mem::size_of::<CloneArgs>(),
        )
    };
    cvt(r).map(|r| r as libc::pid_t)
}

/// `execveat(fd, "", argv, envp, AT_EMPTY_PATH)`. Only returns on error.
/// `argv` / `envp` must end with a null pointer.
pub fn execveat_fd(
    fd: BorrowedFd,
    argv: &[*const libc::c_char],
    envp: &[*const libc::c_char],
) -> io::Error {
    debug_assert!(
        argv.last().is_some_and(|p| p.is_null()) && envp.last().is_some_and(|p| p.is_null())
    );
    // SAFETY: the arrays are null-terminated arrays of C strings the caller keeps alive.
    unsafe {
        libc::syscall(
            libc::SYS_execveat,
            fd.as_raw_fd(),
            c"".as_ptr(),
            argv.as_ptr(),
            envp.as_ptr(),
            libc::AT_EMPTY_PATH,
        )
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
    cvt(unsafe {
        libc::syscall(
            libc::SYS_close_range,
            first,
            u32::MAX,
            libc::CLOSE_RANGE_CLOEXEC,
        )
    })?;
    Ok(())
}

/// Where [`cloexec_walk_from`] failed: the step and its errno.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WalkError {
    Open(i32),
    Fstatfs(i32),
    NotProcfs,
    Readdir(i32),
}

const PROC_SUPER_MAGIC: i64 = 0x9fa0;

/// runc's `utils.CloseExecFrom` (libcontainer/utils/utils_unix.go): walk
/// `/proc/self/fd` (checked to be procfs, EnsureProcHandle) and set
/// FD_CLOEXEC on every fd from `first` up. Unlike `close_range` it needs
/// only open/fstatfs/getdents64/fcntl/close, which every seccomp profile
/// that lets runc start also allows; init calls it before any filter loads.
pub fn cloexec_walk_from(first: i32) -> Result<(), WalkError> {
    use nix::dir::Dir;
    use nix::fcntl::OFlag;
    let mut dir = Dir::open(
        "/proc/self/fd",
        OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC,
        nix::sys::stat::Mode::empty(),
    )
    .map_err(|e| WalkError::Open(e as i32))?;
    let own = dir.as_raw_fd();
    // SAFETY: statfs is plain old data, valid all-zero.
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: `own` is the open directory fd, st a valid out-buffer.
    if unsafe { libc::fstatfs(own, &mut st) } != 0 {
        return Err(WalkError::Fstatfs(
            io::Error::last_os_error().raw_os_error().unwrap_or(0),
        ));
    }
    if st.f_type as i64 != PROC_SUPER_MAGIC {
        return Err(WalkError::NotProcfs);
    }
    let mut fds = Vec::new();
    for ent in dir.iter() {
        let ent = ent.map_err(|e| WalkError::Readdir(e as i32))?;
        // Non-numeric names ("." and "..") are skipped, as runc does.
        if let Some(fd) = ent
            .file_name()
            .to_str()
            .ok()
            .and_then(|s| s.parse::<i32>().ok())
        {
            if fd >= first && fd != own {
                fds.push(fd);
            }
        }
    }
    drop(dir);
    for fd in fds {
        // SAFETY: fcntl on an fd number only changes its flags. runc's
        // unix.CloseOnExec ignores errors (an fd closed meanwhile is EBADF).
        unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    }
    Ok(())
}

pub fn exit_now(code: i32) -> ! {
    // SAFETY: _exit is always safe; no destructors run in a forked child.
    unsafe { libc::_exit(code) }
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
    cvt(unsafe {
        libc::syscall(
            libc::SYS_pidfd_send_signal,
            fd.as_raw_fd(),
            sig,
            std::ptr::null::<u8>(),
            0,
        )
    })?;
    Ok(())
}

/// Null-terminated pointer array over C strings the caller keeps alive.
pub fn ptrs(v: &[CString]) -> Vec<*const libc::c_char> {
    v.iter()
        .map(|s| s.as_ptr())
        .chain(std::iter::once(std::ptr::null()))
        .collect()
}
