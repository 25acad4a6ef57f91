//! Sealing our own binary against CVE-2019-5736: the container must never
//! be able to write the runtime binary through `/proc/<pid>/exe`.
//!
//! Three ways, cheapest first, all but the last zero-copy:
//! 1. [`bind_seal`]: a detached read-only bind mount of the binary alone
//!    (open_tree + mount_setattr), about 20 µs to make;
//! 2. [`overlay_seal`]: a detached read-only lower-only overlayfs over the
//!    binary's directory (runc 1.2's choice), about 150 µs, up to a few ms;
//! 3. [`memfd_copy`]: a sealed memfd copy (runc 1.1's), about 3 ms for a
//!    10 MiB binary. The only one open to an unprivileged runtime.
//!
//! Used by the runc 1.1 profile's cloned-binary step and by nsrun itself.

use super::sys::{self, Errno, Fd, RawFd};
use alloc::vec::Vec;

/// F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE
pub const BASE_SEALS: libc::c_int = 0x0f;
const F_SEAL_EXEC: libc::c_int = 0x20;
const MFD_EXEC: libc::c_uint = 0x10;

/// Whether `fd` is a memfd carrying at least the base seals.
pub fn is_sealed_memfd(fd: RawFd) -> Option<bool> {
    // SAFETY: plain fcntl on an fd number.
    let seals = unsafe { libc::fcntl(fd, libc::F_GET_SEALS) };
    (seals >= 0).then_some(seals & BASE_SEALS == BASE_SEALS)
}

/// Whether the file behind `fd` sits on a read-only mount.
pub fn on_read_only_mount(fd: RawFd) -> bool {
    // SAFETY: statvfs is plain data; zeroed is valid.
    let mut fs: libc::statvfs = unsafe { core::mem::zeroed() };
    // SAFETY: out pointer to a local.
    unsafe { libc::fstatvfs(fd, &mut fs) == 0 && fs.f_flag & libc::ST_RDONLY != 0 }
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
pub fn overlay_seal(dummy_lower: &[u8]) -> Option<Fd> {
    let mut link = [0u8; libc::PATH_MAX as usize];
    // SAFETY: buffer and its length.
    let n = unsafe {
        libc::readlink(
            c"/proc/self/exe".as_ptr(),
            link.as_mut_ptr().cast(),
            link.len(),
        )
    };
    if n <= 0 || n as usize >= link.len() {
        return None;
    }
    let path = &link[..n as usize];
    let slash = path.iter().rposition(|&c| c == b'/')?;
    let (dir, name) = (&path[..slash.max(1)], &path[slash + 1..]);
    // Lower-only overlays need two layers; the second one only has to exist
    // and not overlap the first (a state directory, as runc uses).
    let mut lower = escape_lowerdir(dir);
    lower.push(b':');
    lower.extend(escape_lowerdir(dummy_lower));

    // SAFETY: raw fs-context syscalls with NUL-terminated strings; every fd
    // they return is wrapped at once.
    unsafe {
        let ctx = libc::syscall(
            libc::SYS_fsopen,
            c"overlay".as_ptr(),
            1, /* FSOPEN_CLOEXEC */
        );
        if ctx < 0 {
            return None;
        }
        let ctx = Fd::from_raw(ctx as RawFd);
        let lower = sys::cstring(&lower);
        const FSCONFIG_SET_STRING: libc::c_uint = 1;
        const FSCONFIG_CMD_CREATE: libc::c_uint = 6;
        if libc::syscall(
            libc::SYS_fsconfig,
            ctx.raw(),
            FSCONFIG_SET_STRING,
            c"lowerdir".as_ptr(),
            lower.as_ptr(),
            0,
        ) < 0
            || libc::syscall(
                libc::SYS_fsconfig,
                ctx.raw(),
                FSCONFIG_CMD_CREATE,
                0usize,
                0usize,
                0,
            ) < 0
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
        let fd = libc::openat(
            mnt.raw(),
            name.as_ptr(),
            libc::O_PATH | libc::O_NOFOLLOW | libc::O_CLOEXEC,
        );
        if fd < 0 {
            return None;
        }
        Some(Fd::from_raw(fd))
    }
}

/// The zero-copy seal: the binary alone, as a detached read-only bind
/// mount (open_tree + mount_setattr), returned as the tree fd to exec.
///
/// Safe the way runc 1.1.0–1.1.14's bindfd was: the mount is never attached
/// to any namespace; once this fd is closed (at exec, it is CLOEXEC) the
/// kernel dissolves its anonymous namespace, after which mount_setattr can
/// no longer touch it (EINVAL), so the read-only flag stays. Unlike bindfd
/// it never mounts in the host namespace (no namespace_sem storm, the
/// reason runc 1.1.15 dropped bindfd) and costs no superblock (unlike the
/// overlay).
pub fn bind_seal(path: &core::ffi::CStr) -> Option<Fd> {
    const OPEN_TREE_CLONE: libc::c_uint = 1;
    const OPEN_TREE_CLOEXEC: libc::c_uint = libc::O_CLOEXEC as libc::c_uint;
    const MOUNT_ATTR_RDONLY: u64 = 0x1;
    const MOUNT_ATTR_NOSUID: u64 = 0x2;
    const MOUNT_ATTR_NODEV: u64 = 0x4;
    #[repr(C)]
    struct MountAttr {
        attr_set: u64,
        attr_clr: u64,
        propagation: u64,
        userns_fd: u64,
    }
    // SAFETY: open_tree with a NUL-terminated path; the fd is wrapped at once.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_tree,
            libc::AT_FDCWD,
            path.as_ptr(),
            OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC,
        )
    };
    if fd < 0 {
        return None;
    }
    // SAFETY: a fresh fd.
    let fd = unsafe { Fd::from_raw(fd as RawFd) };
    let attr = MountAttr {
        attr_set: MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
        attr_clr: 0,
        propagation: 0,
        userns_fd: 0,
    };
    // SAFETY: mount_setattr on our detached tree with a properly sized attr.
    let r = unsafe {
        libc::syscall(
            libc::SYS_mount_setattr,
            fd.raw(),
            c"".as_ptr(),
            libc::AT_EMPTY_PATH,
            &attr as *const MountAttr,
            core::mem::size_of::<MountAttr>(),
        )
    };
    (r == 0).then_some(fd)
}

/// The fallback: a copy of the binary in a memfd, sealed against any
/// change (runc 1.1's way; costs a copy of the whole binary).
pub fn memfd_copy(exe: RawFd) -> Result<Fd, Errno> {
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
        return Err(Errno::last());
    }
    // SAFETY: a fresh fd.
    let mem = unsafe { Fd::from_raw(fd) };
    // SAFETY: stat is plain data.
    let mut st: libc::stat = unsafe { core::mem::zeroed() };
    // SAFETY: out pointer to a local.
    if unsafe { libc::fstat(exe, &mut st) } < 0 {
        return Err(Errno::last());
    }
    let size = st.st_size as usize;
    let mut off: libc::off_t = 0;
    while (off as usize) < size {
        // SAFETY: in-kernel copy between two fds we own, from an explicit
        // offset (the fd's own position is left alone).
        let n = unsafe { libc::sendfile(mem.raw(), exe, &mut off, size - off as usize) };
        match n {
            n if n > 0 => {}
            0 => return Err(Errno::EIO), // the file shrank under us
            _ if Errno::last() == Errno::EINTR => continue,
            _ => return Err(Errno::last()),
        }
    }
    // SAFETY: plain fcntl on our memfd; F_SEAL_EXEC is optional (6.3+).
    unsafe {
        if libc::fcntl(mem.raw(), libc::F_ADD_SEALS, BASE_SEALS | F_SEAL_EXEC) < 0
            && libc::fcntl(mem.raw(), libc::F_ADD_SEALS, BASE_SEALS) < 0
        {
            return Err(Errno::last());
        }
    }
    Ok(mem)
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
        let mem = memfd_copy(exe.raw()).unwrap();
        assert_eq!(is_sealed_memfd(mem.raw()), Some(true));
        let a = std::fs::read("/proc/self/exe").unwrap();
        let b = std::fs::read(format!("/proc/self/fd/{}", mem.raw())).unwrap();
        assert!(a == b, "copy differs");
        // SAFETY: writing a local buffer to our fd; F_SEAL_WRITE refuses it.
        let r = unsafe { libc::pwrite(mem.raw(), b"x".as_ptr().cast(), 1, 0) };
        assert_eq!(r, -1);
    }

    #[test]
    fn bind_seal_is_read_only_and_frozen() {
        // A file nobody executes: a running binary would say ETXTBSY first.
        let file = std::env::temp_dir().join(format!("exeseal-bind-{}", std::process::id()));
        std::fs::write(&file, b"#!/bin/true\n").unwrap();
        let c = std::ffi::CString::new(file.to_str().unwrap()).unwrap();
        let sealed = bind_seal(&c);
        let _ = std::fs::remove_file(&file);
        let Some(fd) = sealed else {
            eprintln!("SKIP: open_tree/mount_setattr are refused here");
            return;
        };
        let path = format!("/proc/self/fd/{}", fd.raw());
        let e = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS), "{e}");
        assert!(on_read_only_mount(fd.raw()));
        // Once the tree fd is gone the mount is dissolved: a process holding
        // only an O_PATH handle (what a container gets from /proc/<pid>/exe)
        // can no longer clear the read-only flag.
        let handle = std::fs::File::open(&path).unwrap();
        drop(fd);
        #[repr(C)]
        struct MountAttr(u64, u64, u64, u64);
        let attr = MountAttr(0, 1 /* clear MOUNT_ATTR_RDONLY */, 0, 0);
        use std::os::fd::AsRawFd;
        // SAFETY: mount_setattr with a sized attr on our own fd.
        let r = unsafe {
            libc::syscall(
                libc::SYS_mount_setattr,
                handle.as_raw_fd(),
                c"".as_ptr(),
                libc::AT_EMPTY_PATH,
                &attr,
                32usize,
            )
        };
        assert_eq!(
            r, -1,
            "the read-only flag of a dissolved mount could be cleared"
        );
        assert!(on_read_only_mount(handle.as_raw_fd()));
    }

    #[test]
    fn overlay_seal_is_read_only() {
        let dummy = std::env::temp_dir().join(format!("exeseal-{}", std::process::id()));
        std::fs::create_dir_all(&dummy).unwrap();
        let Some(fd) = overlay_seal(dummy.to_str().unwrap().as_bytes()) else {
            eprintln!("SKIP: overlayfs via fsopen is not available here");
            return;
        };
        let path = format!("/proc/self/fd/{}", fd.raw());
        let e = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .unwrap_err();
        assert_eq!(e.raw_os_error(), Some(libc::EROFS), "{e}");
        assert_eq!(
            std::fs::read(&path).unwrap(),
            std::fs::read("/proc/self/exe").unwrap()
        );
        assert!(on_read_only_mount(fd.raw()));
        drop(fd);
        let _ = std::fs::remove_dir(&dummy);
    }
}
