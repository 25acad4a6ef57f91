//! Thin syscall wrappers for the security settings. Every `unsafe` of the
//! security module lives here; each function does one syscall and returns
//! `nix::Result`.

use std::ffi::CStr;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use nix::errno::Errno;

// Kernel constants the libc crate does not export for every target.
const FSOPEN_CLOEXEC: libc::c_uint = 0x1;
const FSMOUNT_CLOEXEC: libc::c_uint = 0x1;
const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
const OPEN_TREE_CLONE: libc::c_uint = 0x1;
const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
const KEYCTL_JOIN_SESSION_KEYRING: libc::c_int = 1;
const KEYCTL_SETPERM: libc::c_int = 5;
const KEYCTL_DESCRIBE: libc::c_int = 6;
const IOPRIO_WHO_PROCESS: libc::c_int = 1;

fn ret_fd(r: libc::c_long) -> nix::Result<OwnedFd> {
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: the kernel just returned this fd to us and nobody else owns it.
    Ok(unsafe { OwnedFd::from_raw_fd(r as i32) })
}

/// openat2(2) with the given resolve flags; always O_CLOEXEC.
pub fn openat2(dir: BorrowedFd<'_>, path: &CStr, flags: i32, resolve: u64) -> nix::Result<OwnedFd> {
    let mut how: libc::open_how = unsafe { std::mem::zeroed() };
    how.flags = (flags | libc::O_CLOEXEC) as u64;
    how.resolve = resolve;
    // SAFETY: path is NUL-terminated, `how` is a valid open_how of the size we pass.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            dir.as_raw_fd(),
            path.as_ptr(),
            &how as *const libc::open_how,
            std::mem::size_of::<libc::open_how>(),
        )
    };
    ret_fd(r)
}

/// A detached, brand-new procfs instance: fsopen("proc") + fsmount.
pub fn fsmount_proc() -> nix::Result<OwnedFd> {
    // SAFETY: "proc" is a valid NUL-terminated fs name.
    let fs = ret_fd(unsafe { libc::syscall(libc::SYS_fsopen, c"proc".as_ptr(), FSOPEN_CLOEXEC) })?;
    // SAFETY: CMD_CREATE takes no key/value; fs is a live fs context fd.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fs.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            std::ptr::null::<libc::c_char>(),
            std::ptr::null::<libc::c_void>(),
            0,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: fs is a created fs context; flags are valid.
    ret_fd(unsafe { libc::syscall(libc::SYS_fsmount, fs.as_raw_fd(), FSMOUNT_CLOEXEC, 0) })
}

/// open_tree(path, OPEN_TREE_CLONE): a private, non-recursive copy of a mount
/// (so nothing mounted on top of its subdirectories comes along).
pub fn open_tree_clone(path: &CStr) -> nix::Result<OwnedFd> {
    // SAFETY: path is NUL-terminated; flags are valid.
    ret_fd(unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            path.as_ptr(),
            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC,
        )
    })
}

/// fstatfs(2) f_type.
pub fn fs_magic(fd: BorrowedFd<'_>) -> nix::Result<i64> {
    let mut st: libc::statfs = unsafe { std::mem::zeroed() };
    // SAFETY: fd is open, st is a valid out-buffer.
    Errno::result(unsafe { libc::fstatfs(fd.as_raw_fd(), &mut st) })?;
    Ok(st.f_type as i64)
}

/// readlinkat(2) relative to a directory fd.
pub fn readlinkat(dir: BorrowedFd<'_>, path: &CStr) -> nix::Result<String> {
    let mut buf = [0u8; 256];
    // SAFETY: buf is writable for its length; path is NUL-terminated.
    let n = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            path.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let n = Errno::result(n)? as usize;
    Ok(String::from_utf8_lossy(&buf[..n]).into_owned())
}

/// keyctl(KEYCTL_JOIN_SESSION_KEYRING, name): returns the keyring serial.
pub fn keyctl_join_session(name: &CStr) -> nix::Result<i32> {
    // SAFETY: name is NUL-terminated.
    let r = unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_JOIN_SESSION_KEYRING, name.as_ptr()) };
    Errno::result(r).map(|r| r as i32)
}

/// keyctl(KEYCTL_DESCRIBE, id): "type;uid;gid;perm;description".
pub fn keyctl_describe(id: i32) -> nix::Result<String> {
    let mut buf = vec![0u8; 512];
    // SAFETY: buf is writable for its length.
    let r = unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_DESCRIBE,
            id,
            buf.as_mut_ptr(),
            buf.len(),
        )
    };
    let n = Errno::result(r)? as usize;
    buf.truncate(n.min(buf.len()));
    while buf.last() == Some(&0) {
        buf.pop();
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// keyctl(KEYCTL_SETPERM, id, perm).
pub fn keyctl_setperm(id: i32, perm: u32) -> nix::Result<()> {
    // SAFETY: plain integer arguments.
    Errno::result(unsafe { libc::syscall(libc::SYS_keyctl, KEYCTL_SETPERM, id, perm) }).map(drop)
}

/// prctl(option, arg2, 0, 0, 0).
pub fn prctl(option: libc::c_int, arg2: libc::c_ulong) -> nix::Result<libc::c_int> {
    // SAFETY: the options we pass take integer arguments only.
    Errno::result(unsafe {
        libc::prctl(
            option,
            arg2,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
            0 as libc::c_ulong,
        )
    })
}

/// personality(2); returns the previous persona.
pub fn personality(persona: libc::c_ulong) -> nix::Result<libc::c_int> {
    // SAFETY: integer argument.
    Errno::result(unsafe { libc::personality(persona) })
}

/// setrlimit(2) for the calling process.
pub fn setrlimit(resource: u32, soft: u64, hard: u64) -> nix::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: lim is a valid rlimit.
    Errno::result(unsafe { libc::setrlimit(resource as _, &lim) }).map(drop)
}

/// prlimit(2) on another process (how runc sets them: from the parent).
pub fn prlimit(pid: i32, resource: u32, soft: u64, hard: u64) -> nix::Result<()> {
    let lim = libc::rlimit {
        rlim_cur: soft,
        rlim_max: hard,
    };
    // SAFETY: lim is valid; old limit out-pointer is null.
    Errno::result(unsafe { libc::prlimit(pid, resource as _, &lim, std::ptr::null_mut()) })
        .map(drop)
}

/// struct sched_attr (SCHED_ATTR_SIZE_VER0, 48 bytes); also the plan's
/// form of process.scheduler, so it travels to init as the kernel wants it.
#[repr(C)]
#[derive(Clone, Debug, Default, PartialEq, Eq, bincode::Encode, bincode::Decode)]
pub struct SchedAttr {
    pub size: u32,
    pub policy: u32,
    pub flags: u64,
    pub nice: i32,
    pub priority: u32,
    pub runtime: u64,
    pub deadline: u64,
    pub period: u64,
}

/// sched_setattr(0, attr, 0) on the calling thread.
pub fn sched_setattr(attr: &SchedAttr) -> nix::Result<()> {
    let mut a = attr.clone();
    a.size = std::mem::size_of::<SchedAttr>() as u32;
    // SAFETY: `a` is a valid sched_attr of the size it claims.
    Errno::result(unsafe { libc::syscall(libc::SYS_sched_setattr, 0, &mut a as *mut SchedAttr, 0) })
        .map(drop)
}

/// ioprio_set(IOPRIO_WHO_PROCESS, 0, prio) on the calling process.
pub fn ioprio_set(prio: i32) -> nix::Result<()> {
    // SAFETY: integer arguments.
    Errno::result(unsafe { libc::syscall(libc::SYS_ioprio_set, IOPRIO_WHO_PROCESS, 0, prio) })
        .map(drop)
}

/// seccomp(SECCOMP_SET_MODE_FILTER, flags, prog), or prctl(PR_SET_SECCOMP)
/// without flags, as runc's sysSeccompSetFilter. With
/// SECCOMP_FILTER_FLAG_NEW_LISTENER the kernel returns the listener fd
/// (O_CLOEXEC), which we then own.
pub fn seccomp_set_filter(flags: u32, prog: &[libc::sock_filter]) -> nix::Result<Option<OwnedFd>> {
    const SECCOMP_SET_MODE_FILTER: libc::c_uint = 1;
    const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 1 << 3;
    let len = u16::try_from(prog.len()).map_err(|_| Errno::EINVAL)?;
    let fprog = libc::sock_fprog {
        len,
        filter: prog.as_ptr() as *mut libc::sock_filter,
    };
    if flags == 0 {
        // SAFETY: fprog points at `len` valid instructions that outlive the
        // call; the kernel copies them.
        let r = unsafe {
            libc::prctl(
                libc::PR_SET_SECCOMP,
                libc::SECCOMP_MODE_FILTER,
                &fprog as *const libc::sock_fprog,
            )
        };
        return Errno::result(r).map(|_| None);
    }
    // SAFETY: as above; flags are plain bits.
    let r = unsafe {
        libc::syscall(
            libc::SYS_seccomp,
            SECCOMP_SET_MODE_FILTER,
            flags as libc::c_uint,
            &fprog as *const libc::sock_fprog,
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    if flags & SECCOMP_FILTER_FLAG_NEW_LISTENER != 0 {
        return ret_fd(r).map(Some);
    }
    if r != 0 {
        // TSYNC without ESRCH: the id of a thread that could not sync.
        return Err(Errno::ESRCH);
    }
    Ok(None)
}

/// memfd_create(name, MFD_CLOEXEC): scratch memory with an fd.
pub fn memfd(name: &CStr) -> nix::Result<OwnedFd> {
    // SAFETY: name is NUL-terminated; flags are valid.
    ret_fd(unsafe { libc::memfd_create(name.as_ptr(), libc::MFD_CLOEXEC) } as libc::c_long)
}

#[repr(C)]
struct CapHeader {
    version: u32,
    pid: i32,
}

#[repr(C)]
#[derive(Clone, Copy, Default)]
struct CapData {
    effective: u32,
    permitted: u32,
    inheritable: u32,
}

/// capset(2), version 3, all three sets of the calling thread in one call
/// (one call, because setting them one by one trips the kernel's subset
/// checks half way).
pub fn capset(effective: u64, permitted: u64, inheritable: u64) -> nix::Result<()> {
    const LINUX_CAPABILITY_VERSION_3: u32 = 0x2008_0522;
    let mut hdr = CapHeader {
        version: LINUX_CAPABILITY_VERSION_3,
        pid: 0,
    };
    let data = [
        CapData {
            effective: effective as u32,
            permitted: permitted as u32,
            inheritable: inheritable as u32,
        },
        CapData {
            effective: (effective >> 32) as u32,
            permitted: (permitted >> 32) as u32,
            inheritable: (inheritable >> 32) as u32,
        },
    ];
    // SAFETY: header and the two data words are valid for a v3 capset.
    Errno::result(unsafe {
        libc::syscall(libc::SYS_capset, &mut hdr as *mut CapHeader, data.as_ptr())
    })
    .map(drop)
}
