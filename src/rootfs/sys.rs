//! Thin syscall wrappers for the rootfs module: fd-based mount API
//! (open_tree, move_mount, mount_setattr), openat2 and the classic calls.
//! Every wrapper returns `nix::Result`; every fd it opens is CLOEXEC and owned.

use std::ffi::CString;
use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};

use nix::errno::Errno;

// openat2(2) resolve flags (linux/openat2.h).
pub const RESOLVE_NO_MAGICLINKS: u64 = 0x02;
pub const RESOLVE_NO_SYMLINKS: u64 = 0x04;
pub const RESOLVE_BENEATH: u64 = 0x08;
pub const RESOLVE_IN_ROOT: u64 = 0x10;

// open_tree(2) / move_mount(2) / mount_setattr(2) (linux/mount.h).
const OPEN_TREE_CLONE: u32 = 1;
pub const AT_RECURSIVE: u32 = 0x8000;
const MOVE_MOUNT_F_EMPTY_PATH: u32 = 0x04;
const MOVE_MOUNT_T_EMPTY_PATH: u32 = 0x40;

pub const MOUNT_ATTR_RDONLY: u64 = 0x01;
pub const MOUNT_ATTR_NOSUID: u64 = 0x02;
pub const MOUNT_ATTR_NODEV: u64 = 0x04;
pub const MOUNT_ATTR_NOEXEC: u64 = 0x08;
pub const MOUNT_ATTR__ATIME: u64 = 0x70;
pub const MOUNT_ATTR_RELATIME: u64 = 0x00;
pub const MOUNT_ATTR_NOATIME: u64 = 0x10;
pub const MOUNT_ATTR_STRICTATIME: u64 = 0x20;
pub const MOUNT_ATTR_NODIRATIME: u64 = 0x80;
pub const MOUNT_ATTR_NOSYMFOLLOW: u64 = 0x0020_0000;

pub const PROC_SUPER_MAGIC: i64 = 0x9fa0;
pub const CGROUP2_SUPER_MAGIC: i64 = 0x6367_7270;

#[repr(C)]
struct OpenHow {
    flags: u64,
    mode: u64,
    resolve: u64,
}

/// struct mount_attr, MOUNT_ATTR_SIZE_VER0.
#[repr(C)]
#[derive(Default, Clone, Copy, Debug, PartialEq, Eq)]
pub struct MountAttr {
    pub attr_set: u64,
    pub attr_clr: u64,
    pub propagation: u64,
    pub userns_fd: u64,
}

fn cstr(s: &str) -> nix::Result<CString> {
    CString::new(s).map_err(|_| Errno::EINVAL)
}

fn fd_or_cwd(dir: Option<BorrowedFd<'_>>) -> RawFd {
    dir.map_or(libc::AT_FDCWD, |d| d.as_raw_fd())
}

/// openat2(2); `flags` gets O_CLOEXEC added.
pub fn openat2(
    dir: Option<BorrowedFd<'_>>,
    path: &str,
    flags: i32,
    mode: u32,
    resolve: u64,
) -> nix::Result<OwnedFd> {
    let p = cstr(path)?;
    let how = OpenHow {
        flags: (flags | libc::O_CLOEXEC) as u64,
        mode: mode as u64,
        resolve,
    };
    // SAFETY: p is NUL-terminated, how is a valid open_how of the size passed.
    let r = unsafe {
        libc::syscall(
            libc::SYS_openat2,
            fd_or_cwd(dir),
            p.as_ptr(),
            &how as *const OpenHow,
            std::mem::size_of::<OpenHow>(),
        )
    };
    // SAFETY: on success the kernel returned a fresh fd that nobody else owns.
    Errno::result(r).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// open_tree(fd, "", OPEN_TREE_CLONE|AT_EMPTY_PATH[|AT_RECURSIVE]): a detached copy of the mount at fd.
pub fn clone_tree(fd: BorrowedFd<'_>, recursive: bool) -> nix::Result<OwnedFd> {
    let mut flags = OPEN_TREE_CLONE | libc::O_CLOEXEC as u32 | libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: empty NUL-terminated path, valid fd, flags are plain bits.
    let r = unsafe { libc::syscall(libc::SYS_open_tree, fd.as_raw_fd(), c"".as_ptr(), flags) };
    // SAFETY: fresh fd from the kernel.
    Errno::result(r).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// move_mount(from, "", to, "", F_EMPTY_PATH|T_EMPTY_PATH): attach `from` on the inode `to` refers to.
pub fn move_mount(from: BorrowedFd<'_>, to: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: two valid fds and empty NUL-terminated paths.
    let r = unsafe {
        libc::syscall(
            libc::SYS_move_mount,
            from.as_raw_fd(),
            c"".as_ptr(),
            to.as_raw_fd(),
            c"".as_ptr(),
            MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH,
        )
    };
    Errno::result(r).map(drop)
}

/// mount_setattr(fd, "", AT_EMPTY_PATH[|AT_RECURSIVE], attr); fd must be a mount root.
pub fn mount_setattr(fd: BorrowedFd<'_>, recursive: bool, attr: &MountAttr) -> nix::Result<()> {
    let mut flags = libc::AT_EMPTY_PATH as u32;
    if recursive {
        flags |= AT_RECURSIVE;
    }
    // SAFETY: attr points to a mount_attr of the size passed; path is empty.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.as_raw_fd(),
            c"".as_ptr(),
            flags,
            attr as *const MountAttr,
            std::mem::size_of::<MountAttr>(),
        )
    };
    Errno::result(r).map(drop)
}

/// mount(2) with optional source/fstype/data.
pub fn mount(
    source: Option<&str>,
    target: &str,
    fstype: Option<&str>,
    flags: u64,
    data: Option<&str>,
) -> nix::Result<()> {
    let src = source.map(cstr).transpose()?;
    let tgt = cstr(target)?;
    let fst = fstype.map(cstr).transpose()?;
    let dat = data.filter(|d| !d.is_empty()).map(cstr).transpose()?;
    let ptr = |c: &Option<CString>| c.as_ref().map_or(std::ptr::null(), |c| c.as_ptr());
    // SAFETY: every pointer is NULL or a NUL-terminated string alive for the call.
    let r = unsafe {
        libc::mount(
            ptr(&src),
            tgt.as_ptr(),
            ptr(&fst),
            flags as libc::c_ulong,
            ptr(&dat) as *const libc::c_void,
        )
    };
    Errno::result(r).map(drop)
}

pub fn umount2(target: &str, flags: i32) -> nix::Result<()> {
    let t = cstr(target)?;
    // SAFETY: NUL-terminated path.
    Errno::result(unsafe { libc::umount2(t.as_ptr(), flags) }).map(drop)
}

pub fn fchdir(fd: BorrowedFd<'_>) -> nix::Result<()> {
    // SAFETY: valid fd.
    Errno::result(unsafe { libc::fchdir(fd.as_raw_fd()) }).map(drop)
}

pub fn chdir(path: &str) -> nix::Result<()> {
    let p = cstr(path)?;
    // SAFETY: NUL-terminated path.
    Errno::result(unsafe { libc::chdir(p.as_ptr()) }).map(drop)
}

pub fn chroot(path: &str) -> nix::Result<()> {
    let p = cstr(path)?;
    // SAFETY: NUL-terminated path.
    Errno::result(unsafe { libc::chroot(p.as_ptr()) }).map(drop)
}

pub fn pivot_root(new: &str, old: &str) -> nix::Result<()> {
    let (n, o) = (cstr(new)?, cstr(old)?);
    // SAFETY: NUL-terminated paths; glibc has no wrapper, so raw syscall.
    Errno::result(unsafe { libc::syscall(libc::SYS_pivot_root, n.as_ptr(), o.as_ptr()) }).map(drop)
}

pub fn mkdirat(dir: BorrowedFd<'_>, name: &str, mode: u32) -> nix::Result<()> {
    let n = cstr(name)?;
    // SAFETY: valid fd, NUL-terminated name.
    Errno::result(unsafe { libc::mkdirat(dir.as_raw_fd(), n.as_ptr(), mode as libc::mode_t) })
        .map(drop)
}

pub fn mknodat(dir: BorrowedFd<'_>, name: &str, mode: u32, dev: u64) -> nix::Result<()> {
    let n = cstr(name)?;
    // SAFETY: valid fd, NUL-terminated name.
    Errno::result(unsafe {
        libc::mknodat(
            dir.as_raw_fd(),
            n.as_ptr(),
            mode as libc::mode_t,
            dev as libc::dev_t,
        )
    })
    .map(drop)
}

pub fn symlinkat(target: &str, dir: BorrowedFd<'_>, name: &str) -> nix::Result<()> {
    let (t, n) = (cstr(target)?, cstr(name)?);
    // SAFETY: valid fd, NUL-terminated strings.
    Errno::result(unsafe { libc::symlinkat(t.as_ptr(), dir.as_raw_fd(), n.as_ptr()) }).map(drop)
}

pub fn unlinkat(dir: BorrowedFd<'_>, name: &str, flags: i32) -> nix::Result<()> {
    let n = cstr(name)?;
    // SAFETY: valid fd, NUL-terminated name.
    Errno::result(unsafe { libc::unlinkat(dir.as_raw_fd(), n.as_ptr(), flags) }).map(drop)
}

/// fchownat(fd, "", uid, gid, AT_EMPTY_PATH): chown exactly the inode fd refers to.
pub fn fchown_fd(fd: BorrowedFd<'_>, uid: u32, gid: u32) -> nix::Result<()> {
    // SAFETY: valid fd, empty path with AT_EMPTY_PATH.
    Errno::result(unsafe {
        libc::fchownat(fd.as_raw_fd(), c"".as_ptr(), uid, gid, libc::AT_EMPTY_PATH)
    })
    .map(drop)
}

/// fstat of the inode fd refers to (works on O_PATH fds).
pub fn fstat(fd: BorrowedFd<'_>) -> nix::Result<libc::stat> {
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: st is a valid out-pointer; AT_EMPTY_PATH stats fd itself.
    let r = unsafe {
        libc::fstatat(
            fd.as_raw_fd(),
            c"".as_ptr(),
            st.as_mut_ptr(),
            libc::AT_EMPTY_PATH | libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    // SAFETY: initialised by a successful fstatat.
    Errno::result(r).map(|_| unsafe { st.assume_init() })
}

/// fstatfs: filesystem magic and per-mount flags (f_flags has ST_* bits).
pub fn fstatfs(fd: BorrowedFd<'_>) -> nix::Result<libc::statfs> {
    let mut st = std::mem::MaybeUninit::<libc::statfs>::uninit();
    // SAFETY: valid out-pointer and fd.
    let r = unsafe { libc::fstatfs(fd.as_raw_fd(), st.as_mut_ptr()) };
    // SAFETY: initialised on success.
    Errno::result(r).map(|_| unsafe { st.assume_init() })
}

pub fn umask(mask: u32) -> u32 {
    // SAFETY: umask cannot fail.
    unsafe { libc::umask(mask as libc::mode_t) as u32 }
}

pub fn dup3(old: BorrowedFd<'_>, new: RawFd) -> nix::Result<()> {
    // SAFETY: dup3 onto a stdio number; the old fd there is replaced atomically.
    Errno::result(unsafe { libc::dup3(old.as_raw_fd(), new, 0) }).map(drop)
}

/// fstat of a raw stdio fd number (0..2), which this process does not own.
pub fn fstat_stdio(fd: RawFd) -> nix::Result<libc::stat> {
    // SAFETY: stdio fds are open for the process's lifetime or EBADF is returned.
    fstat(unsafe { BorrowedFd::borrow_raw(fd) })
}

/// The path the kernel shows for fd (readlink /proc/self/fd/N).
pub fn fd_path(fd: BorrowedFd<'_>) -> nix::Result<String> {
    let p = std::fs::read_link(format!("/proc/self/fd/{}", fd.as_raw_fd()))
        .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(0)))?;
    Ok(p.to_string_lossy().into_owned())
}

pub fn makedev(major: u64, minor: u64) -> u64 {
    libc::makedev(major as u32, minor as u32)
}

pub fn strerror(e: Errno) -> String {
    // Go's (and so runc's) words: "no such file or directory".
    super::errno::text(e as i32)
}

pub fn fchmod(fd: BorrowedFd<'_>, mode: u32) -> nix::Result<()> {
    // SAFETY: valid fd opened for reading (not O_PATH).
    Errno::result(unsafe { libc::fchmod(fd.as_raw_fd(), mode as libc::mode_t) }).map(drop)
}

/// readlinkat(dir, name): the target of a symlink (EINVAL if not one).
pub fn readlinkat(dir: BorrowedFd<'_>, name: &str) -> nix::Result<String> {
    let n = cstr(name)?;
    let mut buf = vec![0u8; libc::PATH_MAX as usize];
    // SAFETY: buf is writable for its length; the kernel does not NUL-terminate.
    let r = unsafe {
        libc::readlinkat(
            dir.as_raw_fd(),
            n.as_ptr(),
            buf.as_mut_ptr().cast(),
            buf.len(),
        )
    };
    let len = Errno::result(r)? as usize;
    buf.truncate(len);
    String::from_utf8(buf).map_err(|_| Errno::EINVAL)
}

const FSOPEN_CLOEXEC: u32 = 1;
const FSCONFIG_SET_FLAG: u32 = 0;
const FSCONFIG_SET_STRING: u32 = 1;
const FSCONFIG_CMD_CREATE: u32 = 6;
const FSMOUNT_CLOEXEC: u32 = 1;

/// fsopen + fsconfig (one call per data word) + create + fsmount: a new
/// filesystem as a detached mount, attached later with move_mount.
pub fn new_fs(fstype: &str, data: &[String], attr_flags: u64) -> nix::Result<OwnedFd> {
    let t = cstr(fstype)?;
    // SAFETY: NUL-terminated fs name.
    let r = unsafe { libc::syscall(libc::SYS_fsopen, t.as_ptr(), FSOPEN_CLOEXEC) };
    // SAFETY: fresh fd from the kernel.
    let fsfd = Errno::result(r).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })?;
    for word in data {
        let (k, v) = match word.split_once('=') {
            Some((k, v)) => (cstr(k)?, Some(cstr(v)?)),
            None => (cstr(word)?, None),
        };
        let (cmd, vp) = match &v {
            Some(v) => (FSCONFIG_SET_STRING, v.as_ptr()),
            None => (FSCONFIG_SET_FLAG, std::ptr::null()),
        };
        // SAFETY: valid fs context fd, NUL-terminated key and value (or NULL for a flag).
        let r =
            unsafe { libc::syscall(libc::SYS_fsconfig, fsfd.as_raw_fd(), cmd, k.as_ptr(), vp, 0) };
        Errno::result(r)?;
    }
    // SAFETY: no pointers for CMD_CREATE.
    Errno::result(unsafe {
        libc::syscall(
            libc::SYS_fsconfig,
            fsfd.as_raw_fd(),
            FSCONFIG_CMD_CREATE,
            0,
            0,
            0,
        )
    })?;
    // SAFETY: valid configured fs context.
    let r = unsafe {
        libc::syscall(
            libc::SYS_fsmount,
            fsfd.as_raw_fd(),
            FSMOUNT_CLOEXEC,
            attr_flags,
        )
    };
    // SAFETY: fresh fd from the kernel.
    Errno::result(r).map(|fd| unsafe { OwnedFd::from_raw_fd(fd as RawFd) })
}

/// fstatat(dir, name, AT_SYMLINK_NOFOLLOW).
pub fn lstatat(dir: BorrowedFd<'_>, name: &str) -> nix::Result<libc::stat> {
    let n = cstr(name)?;
    let mut st = std::mem::MaybeUninit::<libc::stat>::uninit();
    // SAFETY: valid out-pointer, fd and NUL-terminated name.
    let r = unsafe {
        libc::fstatat(
            dir.as_raw_fd(),
            n.as_ptr(),
            st.as_mut_ptr(),
            libc::AT_SYMLINK_NOFOLLOW,
        )
    };
    // SAFETY: initialised on success.
    Errno::result(r).map(|_| unsafe { st.assume_init() })
}

/// fchownat(dir, name, uid, gid, AT_SYMLINK_NOFOLLOW): never follows a link out.
pub fn lchownat(dir: BorrowedFd<'_>, name: &str, uid: u32, gid: u32) -> nix::Result<()> {
    let n = cstr(name)?;
    // SAFETY: valid fd and NUL-terminated name.
    Errno::result(unsafe {
        libc::fchownat(
            dir.as_raw_fd(),
            n.as_ptr(),
            uid,
            gid,
            libc::AT_SYMLINK_NOFOLLOW,
        )
    })
    .map(drop)
}
