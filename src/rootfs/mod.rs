//! The container's root filesystem: spec mounts, /dev, pivot_root, masked and
//! read-only paths — runc 1.1's rootfs_linux.go, with every container path
//! resolved inside the rootfs by the kernel (openat2 RESOLVE_IN_ROOT) and
//! every mount done on an fd, never on a re-walked path.
//!
//! Use (init runs in the container's new mount namespace):
//! ```ignore
//! let plan = rootfs::RootfsPlan::from_spec(&spec, bundle, no_pivot)?; // parent
//! rootfs::prepare(&plan, console_slave)?;   // init: mounts, /dev, console, pivot
//! /* hostname, sysctls via security::SecurityPlan::apply_sysctls */
//! rootfs::finalize(&plan)?;                 // ro mounts, ro root, readonly + masked paths
//! ```
//! `prepare` = `mount_rootfs` + `enter_rootfs`; call those two instead when
//! createContainer hooks must run in between (runc runs them there).

// MS_* are c_ulong: the u64 casts are no-ops on x86_64 only.
#![allow(clippy::unnecessary_cast)]

// Go's errno words (src/errno.rs), shared by source with every module.
mod cgroup;
mod copyup;
mod dev;
#[path = "../errno.rs"]
mod errno;
mod error;
mod jail;
mod mountinfo;
mod mounts;
mod options;
mod paths;
mod plan;
mod secure;
mod sys;

use std::os::fd::{BorrowedFd, OwnedFd};

pub use error::{Result, RootfsError};
// For `features` (the rootfs test binary includes this module without it).
#[allow(unused_imports)]
pub use options::option_words;
pub use plan::RootfsPlan;
// For the runtime's mount sources (the rootfs test binary does not use it).
#[allow(unused_imports)]
pub use plan::MountKind;

use error::Ctx;
use secure::Root;

/// Everything before the pivot: propagation, the rootfs self-bind, every spec
/// mount, /dev (devices, ptmx, symlinks) and, given a pty slave, /dev/console.
pub fn mount_rootfs(plan: &RootfsPlan, console: Option<BorrowedFd<'_>>) -> Result<()> {
    mount_rootfs_with(plan, console, &[])
}

/// `mount_rootfs` with the runtime's mount sources (`plan.mount_sources`):
/// `sources[i]` is the O_PATH fd of `plan.mounts[i]`'s bind source, or None
/// (not a bind, or none sent); a bind without one opens its source itself.
pub fn mount_rootfs_with(
    plan: &RootfsPlan,
    console: Option<BorrowedFd<'_>>,
    sources: &[Option<OwnedFd>],
) -> Result<()> {
    // Without a mount namespace "/" is the runtime's (the host's): runc would
    // make it rslave (turning every shared host mount into a slave, for all
    // of the host) and leave a self-bind of the rootfs there. Both only serve
    // pivot_root, and chroot (enter_rootfs) needs neither, so nsrun skips them.
    if plan.mount_ns {
        jail::prepare_root(plan).ctx(|| "error preparing rootfs".into())?;
    }
    let root = Root::open(&plan.rootfs)?;
    mounts::mount_all(&root, plan, sources)?;
    if plan.setup_dev {
        dev::create_devices(&root, plan).ctx(|| "error creating device nodes".into())?;
        dev::setup_ptmx(&root).ctx(|| "error setting up ptmx".into())?;
        dev::setup_dev_symlinks(&root).ctx(|| "error setting up /dev symlinks".into())?;
    }
    if let Some(slave) = console {
        dev::mount_console(&root, slave)?;
    }
    // Mounts were made by fchdir into their targets; hooks and the pivot expect the rootfs as cwd.
    sys::chdir(&plan.rootfs).map_err(|e| RootfsError::path("chdir", &plan.rootfs, e))
}

/// pivot_root (or MS_MOVE + chroot with no_pivot), re-point stdio at the
/// container's /dev/null, create process.cwd.
pub fn enter_rootfs(plan: &RootfsPlan) -> Result<()> {
    let jailed = if !plan.mount_ns {
        // runc's chroot(): the runtime's mount namespace cannot be pivoted.
        jail::chroot_root(&plan.rootfs)
    } else if plan.no_pivot {
        jail::move_root(&plan.rootfs)
    } else {
        jail::pivot_root(&plan.rootfs)
    };
    jailed.ctx(|| "error jailing process inside rootfs".into())?;
    if !plan.mount_ns {
        // rootfsPropagation would change the host's "/": not applied (see mount_rootfs).
        return enter_done(plan);
    }
    // rootfsPropagation is applied to the new "/" only now: applied before the
    // pivot a shared root would leak our mounts to the host (runc >= 1.1.6).
    // [r]private needs nothing more, the rootfs's parent was made private.
    let prop = plan.root_propagation;
    if prop != 0 && prop & options::MS_PRIVATE == 0 {
        sys::mount(None, "/", None, prop, None)
            .map_err(|e| RootfsError::mount("mount", "", "/", prop, "", e))
            .ctx(|| "unable to apply root propagation flags".into())?;
    }
    enter_done(plan)
}

/// After the jail: stdio onto the container's /dev/null, create process.cwd.
fn enter_done(plan: &RootfsPlan) -> Result<()> {
    if plan.setup_dev {
        dev::reopen_dev_null().ctx(|| "error reopening /dev/null inside container".into())?;
    }
    if let Some(cwd) = &plan.cwd {
        Root::open("/")?.mkdir_all(cwd, 0o755)?;
    }
    Ok(())
}

pub fn prepare(plan: &RootfsPlan, console: Option<BorrowedFd<'_>>) -> Result<()> {
    mount_rootfs(plan, console)?;
    enter_rootfs(plan)
}

/// After the pivot (runc's order: console, hostname, sysctls, then this):
/// "ro" tmpfs and /dev, read-only root, readonlyPaths, maskedPaths, umask 022.
pub fn finalize(plan: &RootfsPlan) -> Result<()> {
    // runc: finalizeRootfs only with a mount namespace (the spec checks
    // refused what it would have applied).
    if !plan.mount_ns {
        return Ok(());
    }
    let root = Root::open("/")?;
    paths::remount_readonly_mounts(&root, plan)?;
    if plan.readonly {
        paths::readonly_root(&root)?;
    }
    for p in &plan.readonly_paths {
        paths::readonly_path(&root, p).ctx(|| format!("can't make {p:?} read-only"))?;
    }
    if !plan.masked_paths.is_empty() {
        let dev_null = paths::verified_dev_null(&root).ctx(|| "can't mask paths".into())?;
        for p in &plan.masked_paths {
            paths::mask_path(&root, p, &dev_null).ctx(|| format!("can't mask path {p}"))?;
        }
    }
    Ok(())
}

/// Bind a pty slave on /dev/console after the pivot (runc creates the pty
/// inside the container, between `prepare` and `finalize`).
pub fn mount_console(slave: BorrowedFd<'_>) -> Result<()> {
    dev::mount_console(&Root::open("/")?, slave)
}
