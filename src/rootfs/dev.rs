//! /dev: device nodes (mknod, or a bind of the host node in a user namespace),
//! the /dev/ptmx and /proc symlinks, /dev/console, and re-opening /dev/null.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use super::error::{Result, RootfsError};
use super::plan::{DeviceKind, DevicePlan, RootfsPlan};
use super::secure::{split_last, Root};
use super::sys::{self, RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS};

fn file_type(k: DeviceKind) -> u32 {
    match k {
        DeviceKind::Char => libc::S_IFCHR,
        DeviceKind::Block => libc::S_IFBLK,
        DeviceKind::Fifo => libc::S_IFIFO,
    }
}

/// Whether `st` is the device `d` describes (type, and number for char/block).
fn is_device(st: &libc::stat, d: &DevicePlan) -> bool {
    st.st_mode & libc::S_IFMT == file_type(d.kind)
        && (d.kind == DeviceKind::Fifo || st.st_rdev == sys::makedev(d.major, d.minor))
}

pub fn create_devices(root: &Root, plan: &RootfsPlan) -> Result<()> {
    // mknod modes are taken as given, as runc does with umask(0).
    let old = sys::umask(0);
    let r = plan
        .devices
        .iter()
        .filter(|d| d.path != "/dev/ptmx") // setup_ptmx makes it a symlink
        .try_for_each(|d| create_device(root, d, plan.user_ns));
    sys::umask(old);
    r
}

fn create_device(root: &Root, d: &DevicePlan, bind: bool) -> Result<()> {
    if bind {
        // A user namespace may not mknod: bind the host's node instead.
        return bind_device(root, d);
    }
    let (parent, name) = split_last(&d.path);
    let pfd = root.mkdir_all(parent, 0o755)?;
    match sys::mknodat(
        pfd.as_fd(),
        name,
        file_type(d.kind) | d.mode,
        sys::makedev(d.major, d.minor),
    ) {
        Ok(()) => {}
        Err(Errno::EEXIST) => return Ok(()),
        Err(Errno::EPERM) => return bind_device(root, d),
        Err(e) => return Err(RootfsError::path("mknod", root.display(&d.path), e)),
    }
    // chown exactly the node just made: opened without following anything, checked, then fchownat(fd).
    let node = sys::openat2(
        Some(pfd.as_fd()),
        name,
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
    )
    .map_err(|e| RootfsError::path("open", root.display(&d.path), e))?;
    let st = sys::fstat(node.as_fd())
        .map_err(|e| RootfsError::path("stat", root.display(&d.path), e))?;
    if !is_device(&st, d) {
        return Err(RootfsError::unsafe_(
            root.display(&d.path),
            "replaced while it was being created",
        ));
    }
    if (d.uid, d.gid) != (st.st_uid, st.st_gid) {
        sys::fchown_fd(node.as_fd(), d.uid, d.gid)
            .map_err(|e| RootfsError::path("chown", root.display(&d.path), e))?;
    }
    Ok(())
}

fn bind_device(root: &Root, d: &DevicePlan) -> Result<()> {
    let src = sys::openat2(None, &d.path, libc::O_PATH, 0, 0)
        .map_err(|e| RootfsError::path("stat", &d.path, e))?;
    let st = sys::fstat(src.as_fd()).map_err(|e| RootfsError::path("stat", &d.path, e))?;
    if !is_device(&st, d) {
        return Err(RootfsError::unsafe_(
            format!("device {}", d.path),
            "the host node is not the device the spec asks for",
        ));
    }
    let target = root.create(&d.path, false)?;
    bind_node(root, src.as_fd(), target.as_fd(), &d.path)
}

fn bind_node(root: &Root, src: BorrowedFd<'_>, target: BorrowedFd<'_>, path: &str) -> Result<()> {
    let shown = root.display(path);
    let tree = sys::clone_tree(src, false)
        .map_err(|e| RootfsError::mount("mount", path, &shown, libc::MS_BIND as u64, "", e))?;
    sys::move_mount(tree.as_fd(), target)
        .map_err(|e| RootfsError::mount("mount", path, &shown, libc::MS_BIND as u64, "", e))
}

fn dev_dir(root: &Root) -> Result<OwnedFd> {
    root.open_in(
        "/dev",
        libc::O_PATH | libc::O_DIRECTORY,
        RESOLVE_NO_SYMLINKS,
    )
}

pub fn setup_ptmx(root: &Root) -> Result<()> {
    let dev = dev_dir(root)?;
    match sys::unlinkat(dev.as_fd(), "ptmx", 0) {
        Ok(()) | Err(Errno::ENOENT) => {}
        Err(e) => return Err(RootfsError::path("remove", root.display("/dev/ptmx"), e)),
    }
    sys::symlinkat("pts/ptmx", dev.as_fd(), "ptmx")
        .map_err(|e| RootfsError::path("symlink", root.display("/dev/ptmx"), e))
}

pub fn setup_dev_symlinks(root: &Root) -> Result<()> {
    let mut links = vec![
        ("/proc/self/fd", "fd"),
        ("/proc/self/fd/0", "stdin"),
        ("/proc/self/fd/1", "stdout"),
        ("/proc/self/fd/2", "stderr"),
    ];
    // kcore may be compiled out (CONFIG_PROC_KCORE): link it only if the host has it.
    if std::path::Path::new("/proc/kcore").exists() {
        links.push(("/proc/kcore", "core"));
    }
    let dev = dev_dir(root)?;
    for (src, name) in links {
        match sys::symlinkat(src, dev.as_fd(), name) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => {
                return Err(RootfsError::path(
                    "symlink",
                    root.display(&format!("/dev/{name}")),
                    e,
                ))
            }
        }
    }
    Ok(())
}

/// Bind the pty slave `slave` onto /dev/console inside root.
/// CVE-2025-52565: the target is opened without following any symlink, checked
/// to be a plain file or char device, and mounted on by fd; the source must be
/// a pty slave (unix98 majors 136-143).
pub fn mount_console(root: &Root, slave: BorrowedFd<'_>) -> Result<()> {
    let st = sys::fstat(slave).map_err(|e| RootfsError::path("fstat", "console", e))?;
    let major = libc::major(st.st_rdev);
    if st.st_mode & libc::S_IFMT != libc::S_IFCHR || !(136..=143).contains(&major) {
        return Err(RootfsError::unsafe_(
            "console",
            "the console fd is not a pty slave",
        ));
    }
    let dev = dev_dir(root)?;
    let old = sys::umask(0);
    let created = sys::openat2(
        Some(dev.as_fd()),
        "console",
        libc::O_RDONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOCTTY | libc::O_NOFOLLOW,
        0o666,
        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
    );
    sys::umask(old);
    match created {
        Ok(_) | Err(Errno::EEXIST) => {}
        Err(Errno::ELOOP) => return Err(RootfsError::unsafe_("/dev/console", "it is a symlink")),
        Err(e) => return Err(RootfsError::path("open", root.display("/dev/console"), e)),
    }
    let target = sys::openat2(
        Some(dev.as_fd()),
        "console",
        libc::O_PATH | libc::O_NOFOLLOW,
        0,
        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
    )
    .map_err(|e| RootfsError::path("open", root.display("/dev/console"), e))?;
    let t = sys::fstat(target.as_fd())
        .map_err(|e| RootfsError::path("stat", root.display("/dev/console"), e))?;
    match t.st_mode & libc::S_IFMT {
        libc::S_IFREG | libc::S_IFCHR => {}
        libc::S_IFLNK => return Err(RootfsError::unsafe_("/dev/console", "it is a symlink")),
        _ => {
            return Err(RootfsError::unsafe_(
                "/dev/console",
                "it is not a regular file or a char device",
            ))
        }
    }
    bind_node(root, slave, target.as_fd(), "/dev/console")
}

/// After the pivot: stdio fds that point at the host's /dev/null are re-pointed
/// at the container's (runc's reOpenDevNull).
pub fn reopen_dev_null() -> Result<()> {
    let null = sys::openat2(None, "/dev/null", libc::O_RDWR, 0, 0)
        .map_err(|e| RootfsError::path("open", "/dev/null", e))?;
    let ns = sys::fstat(null.as_fd()).map_err(|e| RootfsError::path("fstat", "/dev/null", e))?;
    for fd in 0..3 {
        let st =
            sys::fstat_stdio(fd).map_err(|e| RootfsError::path("fstat", format!("fd {fd}"), e))?;
        if st.st_mode & libc::S_IFMT == libc::S_IFCHR && st.st_rdev == ns.st_rdev {
            sys::dup3(null.as_fd(), fd)
                .map_err(|e| RootfsError::path("dup3", format!("fd {fd}"), e))?;
        }
    }
    Ok(())
}
