//! Entering the rootfs: root propagation and the rootfs self-bind before the
//! mounts, then pivot_root (or, with --no-pivot, MS_MOVE + chroot).

use std::os::fd::AsFd;

use nix::errno::Errno;

use super::error::{Result, RootfsError};
use super::mountinfo;
use super::options::{MS_BIND, MS_MOVE, MS_PRIVATE, MS_REC, MS_SLAVE};
use super::plan::RootfsPlan;
use super::sys;

/// runc's prepareRoot: "/" rslave (or rootfsPropagation), the rootfs's parent
/// mount private if shared, then bind the rootfs onto itself so it is a mount.
pub fn prepare_root(plan: &RootfsPlan) -> Result<()> {
    let flags = if plan.root_propagation != 0 {
        plan.root_propagation
    } else {
        MS_SLAVE | MS_REC
    };
    sys::mount(None, "/", None, flags, None)
        .map_err(|e| RootfsError::mount("mount", "", "/", flags, "", e))?;

    // pivot_root refuses a shared parent (IS_SHARED(new_mnt->mnt_parent)), and
    // a shared parent would propagate our bind back to the host.
    let mounts = mountinfo::read_self();
    let parent = mountinfo::parent_mount(&mounts, &plan.rootfs).ok_or_else(|| {
        RootfsError::InvalidRootfs(format!("could not find parent mount of {}", plan.rootfs))
    })?;
    if parent.optional.split(' ').any(|o| o.starts_with("shared:")) {
        sys::mount(None, &parent.mountpoint, None, MS_PRIVATE, None)
            .map_err(|e| RootfsError::mount("mount", "", &parent.mountpoint, MS_PRIVATE, "", e))?;
    }
    sys::mount(
        Some(&plan.rootfs),
        &plan.rootfs,
        Some("bind"),
        MS_BIND | MS_REC,
        None,
    )
    .map_err(|e| RootfsError::mount("mount", &plan.rootfs, &plan.rootfs, MS_BIND | MS_REC, "", e))
}

/// pivot_root(".", ".") with the rootfs as cwd, then lazily detach the old
/// root that is stacked under it (the LXC trick runc uses: no put_old dir).
pub fn pivot_root(rootfs: &str) -> Result<()> {
    let open_dir = |p: &str| {
        sys::openat2(None, p, libc::O_DIRECTORY | libc::O_RDONLY, 0, 0)
            .map_err(|e| RootfsError::path("open", p, e))
    };
    let old = open_dir("/")?;
    let new = open_dir(rootfs)?;
    sys::fchdir(new.as_fd()).map_err(|e| RootfsError::path("fchdir", rootfs, e))?;
    sys::pivot_root(".", ".").map_err(|e| RootfsError::path("pivot_root", ".", e))?;
    // The kernel leaves cwd on the old root, but does not promise it: go there explicitly.
    sys::fchdir(old.as_fd()).map_err(|e| RootfsError::path("fchdir", "/", e))?;
    // rslave (not rprivate) so our unmount never reaches the host, without the
    // mount-reference races rprivate causes (runc's comment on devicemapper).
    sys::mount(None, ".", None, MS_SLAVE | MS_REC, None)
        .map_err(|e| RootfsError::mount("mount", "", ".", MS_SLAVE | MS_REC, "", e))?;
    sys::umount2(".", libc::MNT_DETACH)
        .map_err(|e| RootfsError::mount("unmount", "", ".", 0, "", e))?;
    sys::chdir("/").map_err(|e| RootfsError::path("chdir", "/", e))
}

/// --no-pivot: hide every full procfs/sysfs mount outside the rootfs (else the
/// kernel lets the container mount a fresh proc/sysfs, as they are "fully
/// visible"), move the rootfs over "/", chroot.
pub fn move_root(rootfs: &str) -> Result<()> {
    for mi in mountinfo::read_self() {
        if mi.root != "/"
            || (mi.fstype != "proc" && mi.fstype != "sysfs")
            || mountinfo::is_under(&mi.mountpoint, rootfs)
        {
            continue;
        }
        let p = mi.mountpoint.as_str();
        match sys::mount(None, p, None, MS_SLAVE | MS_REC, None) {
            Ok(()) => {}
            Err(Errno::ENOENT) => continue, // a parent is already gone
            Err(e) => return Err(RootfsError::mount("mount", "", p, MS_SLAVE | MS_REC, "", e)),
        }
        match sys::umount2(p, libc::MNT_DETACH) {
            Ok(()) => {}
            Err(Errno::EINVAL | Errno::EPERM) => {
                // Not allowed to unmount (userns): cover it instead.
                sys::mount(Some("tmpfs"), p, Some("tmpfs"), 0, None)
                    .map_err(|e| RootfsError::mount("mount", "tmpfs", p, 0, "", e))?;
            }
            Err(e) => return Err(RootfsError::mount("unmount", "", p, 0, "", e)),
        }
    }
    sys::chdir(rootfs).map_err(|e| RootfsError::path("chdir", rootfs, e))?;
    sys::mount(Some(rootfs), "/", None, MS_MOVE, None)
        .map_err(|e| RootfsError::mount("mount", rootfs, "/", MS_MOVE, "", e))?;
    sys::chroot(".").map_err(|e| RootfsError::path("chroot", ".", e))?;
    sys::chdir("/").map_err(|e| RootfsError::path("chdir", "/", e))
}

/// runc's chroot() (rootfs_linux.go), for a container without a mount
/// namespace: the rootfs is the cwd (mount_rootfs left it there).
pub fn chroot_root(rootfs: &str) -> Result<()> {
    sys::chdir(rootfs).map_err(|e| RootfsError::path("chdir", rootfs, e))?;
    sys::chroot(".").map_err(|e| RootfsError::path("chroot", ".", e))?;
    sys::chdir("/").map_err(|e| RootfsError::path("chdir", "/", e))
}
