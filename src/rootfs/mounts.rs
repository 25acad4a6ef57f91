//! The spec's mounts, each done on an fd resolved inside the rootfs.
//!
//! Binds: open_tree(OPEN_TREE_CLONE) of the host source, mount_setattr on the
//! detached copy (so a "ro" bind is never visible read-write), then
//! move_mount onto the O_PATH fd of the target. Filesystems: fchdir to the
//! target's O_PATH fd and mount on "." — the kernel never walks a container
//! path, so a symlink swapped in after resolution changes nothing.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use super::error::{Ctx, Result, RootfsError};
use super::options::{MS_RDONLY, MS_REC};
use super::plan::{check_proc_dest, MountKind, MountPlan, RootfsPlan};
use super::secure::Root;
use super::sys::{self, MountAttr, PROC_SUPER_MAGIC, RESOLVE_NO_SYMLINKS};
use super::{cgroup, copyup};

pub fn mount_all(root: &Root, plan: &RootfsPlan, sources: &[Option<OwnedFd>]) -> Result<()> {
    for (i, m) in plan.mounts.iter().enumerate() {
        let src = sources.get(i).and_then(|s| s.as_ref()).map(|s| s.as_fd());
        mount_one(root, plan, m, src).ctx(|| {
            format!(
                "error mounting {:?} to rootfs at {:?}",
                m.source, m.destination
            )
        })?;
    }
    Ok(())
}

pub fn mount_one(
    root: &Root,
    plan: &RootfsPlan,
    m: &MountPlan,
    src: Option<BorrowedFd<'_>>,
) -> Result<()> {
    match &m.kind {
        MountKind::Bind => bind(root, m, src),
        MountKind::Cgroup => cgroup::mount(root, plan, m),
        MountKind::Proc | MountKind::Sysfs => {
            // runc: procfs and sysfs go on an ordinary directory, never through a symlink.
            let dir = libc::O_PATH | libc::O_DIRECTORY;
            let target = match root.open_in(&m.destination, dir, RESOLVE_NO_SYMLINKS) {
                Ok(fd) => fd,
                Err(e) if e.errno() == Some(Errno::ENOENT) => {
                    root.mkdir_all(&m.destination, 0o755)?;
                    root.open_in(&m.destination, dir, RESOLVE_NO_SYMLINKS)
                        .map_err(|_| RootfsError::NotOrdinaryDir(m.kind.fstype().into()))?
                }
                Err(e) if matches!(e.errno(), Some(Errno::ENOTDIR | Errno::ELOOP)) => {
                    return Err(RootfsError::NotOrdinaryDir(m.kind.fstype().into()))
                }
                Err(e) => return Err(e),
            };
            fs_mount(root, target, m, false)
        }
        _ => {
            let (target, existed) = root.mkdir_all_existed(&m.destination, 0o755)?;
            let dest = root.container_path(target.as_fd())?;
            not_over_root(&dest, m)?;
            check_proc_dest(&dest, &m.kind)?;
            fs_mount(root, target, m, existed)
        }
    }
}

/// Stricter than runc 1.1.5 (which fails later, naming a path the mount hid),
/// for a security reason: a mount whose destination resolves to "/" (a
/// symlink to / in the image) would cover the rootfs itself, and every later
/// step (devices, /proc, masks, the exec) would then work on the mount's
/// source, a host directory. A spec that asks for "/" itself is refused too.
fn not_over_root(dest: &str, m: &MountPlan) -> Result<()> {
    if dest == "/" {
        return Err(RootfsError::OverRoot(m.destination.clone()));
    }
    Ok(())
}

/// Mount a filesystem on `target` (an O_PATH dir fd inside root).
fn fs_mount(root: &Root, target: OwnedFd, m: &MountPlan, keep_mode: bool) -> Result<()> {
    let mut flags = m.options.flags;
    // runc delays "ro" on tmpfs and /dev: files are created there first; finalize() remounts.
    if m.kind == MountKind::Tmpfs || m.destination == "/dev" {
        flags &= !MS_RDONLY;
    }
    let mode = if keep_mode && m.kind == MountKind::Tmpfs {
        sys::fstat(target.as_fd())
            .ok()
            .map(|st| st.st_mode & 0o7777)
    } else {
        None
    };
    let fstype = m.kind.fstype();
    let source = if m.source.is_empty() {
        fstype
    } else {
        m.source.as_str()
    };
    let data = m.options.data_string();
    let shown = root.display(&m.destination);
    let new = if m.options.copyup {
        let covered = root.open_in(&m.destination, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        let mnt = copyup::tmpfs_copy(covered.as_fd(), source, &m.options, &shown)?;
        sys::move_mount(mnt.as_fd(), target.as_fd())
            .map_err(|e| RootfsError::mount("mount", source, &shown, flags, &data, e))?;
        mnt
    } else {
        sys::fchdir(target.as_fd()).map_err(|e| RootfsError::path("fchdir", &shown, e))?;
        sys::mount(Some(source), ".", Some(fstype), flags, Some(&data))
            .map_err(|e| RootfsError::mount("mount", source, &shown, flags, &data, e))?;
        // The new mount's root, reached through the same contained resolution.
        root.open_in(&m.destination, libc::O_PATH | libc::O_DIRECTORY, 0)?
    };
    if let Some(mode) = mode {
        // runc chmods a tmpfs to the mode of the directory it covers.
        let dir = root.open_in(&m.destination, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
        sys::fchmod(dir.as_fd(), mode)
            .map_err(|e| RootfsError::path("chmod", root.display(&m.destination), e))?;
    }
    after_mount(root, new.as_fd(), m)
}

/// Bind-mount a host path (m.source) onto m.destination inside root; `given`
/// is the runtime's O_PATH fd of the source (runc's mount source fd, opened
/// in our mount namespace before the user namespace could hide it).
pub fn bind(root: &Root, m: &MountPlan, given: Option<BorrowedFd<'_>>) -> Result<()> {
    let opened;
    let src = match given {
        Some(fd) => fd,
        None => {
            opened = sys::openat2(None, &m.source, libc::O_PATH, 0, 0)
                .map_err(|e| RootfsError::path("stat", &m.source, e))?;
            opened.as_fd()
        }
    };
    let st = sys::fstat(src).map_err(|e| RootfsError::path("stat", &m.source, e))?;
    let is_dir = st.st_mode & libc::S_IFMT == libc::S_IFDIR;
    let target = root.create(&m.destination, is_dir)?;
    let dest = root.container_path(target.as_fd())?;
    not_over_root(&dest, m)?;
    if dest == "/proc" {
        let fs = sys::fstatfs(src).map_err(|e| RootfsError::path("statfs", &m.source, e))?;
        if fs.f_type as i64 != PROC_SUPER_MAGIC {
            return Err(RootfsError::NotProc(root.display(&dest)));
        }
    } else {
        check_proc_dest(&dest, &MountKind::Bind)
            .map_err(|_| RootfsError::InsideProc(root.display(&dest)))?;
    }
    bind_fd(root, src, target.as_fd(), m)
}

/// The fd half of a bind: clone `src`, set attributes on the detached copy, attach on `target`.
pub fn bind_fd(
    root: &Root,
    src: BorrowedFd<'_>,
    target: BorrowedFd<'_>,
    m: &MountPlan,
) -> Result<()> {
    let shown = root.display(&m.destination);
    // runc hands a bind's data ("mode=755") to mount(2), which ignores it,
    // and names it in the error; the fd API takes none.
    let data = m.options.data_string();
    let rec = m.options.is_recursive_bind();
    let tree = sys::clone_tree(src, rec)
        .map_err(|e| RootfsError::mount("mount", &m.source, &shown, m.options.flags, &data, e))?;
    if m.options.needs_remount() {
        sys::mount_setattr(tree.as_fd(), false, &m.options.bind_attr()).map_err(|e| {
            RootfsError::mount("remount", &m.source, &shown, m.options.flags, "", e)
        })?;
    }
    sys::move_mount(tree.as_fd(), target)
        .map_err(|e| RootfsError::mount("mount", &m.source, &shown, m.options.flags, &data, e))?;
    after_mount(root, tree.as_fd(), m)
}

/// Propagation words, then recursive attributes, on the mount `fd` is the root of.
fn after_mount(root: &Root, fd: BorrowedFd<'_>, m: &MountPlan) -> Result<()> {
    for &p in &m.options.propagation {
        let attr = MountAttr {
            propagation: p & !MS_REC,
            ..Default::default()
        };
        sys::mount_setattr(fd, p & MS_REC != 0, &attr)
            .map_err(|e| RootfsError::mount("mount", "", &root.display(&m.destination), p, "", e))
            .ctx(|| "change mount propagation".into())?;
    }
    if let Some(attr) = m.options.rec_attr() {
        sys::mount_setattr(fd, true, &attr).map_err(|e| {
            RootfsError::mount(
                "mount_setattr",
                "",
                &root.display(&m.destination),
                attr.attr_set,
                "",
                e,
            )
        })?;
    }
    Ok(())
}

/// Make the mount whose root `fd` is read-only (top mount only, like runc's remount).
pub fn set_readonly(fd: BorrowedFd<'_>, shown: &str) -> Result<()> {
    let attr = MountAttr {
        attr_set: sys::MOUNT_ATTR_RDONLY,
        ..Default::default()
    };
    sys::mount_setattr(fd, false, &attr)
        .map_err(|e| RootfsError::mount("remount", "", shown, MS_RDONLY, "", e))
}
