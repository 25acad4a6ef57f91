//! Stage-2, `runc:[2:INIT]` (§3.4): waits for stage-0's go, becomes a
//! session leader and root in its namespaces, and returns into the host
//! program (the runtime's init), with every fd of ours closed.

use super::super::sync::*;
use super::super::sys;
use super::super::sys::Fd;
use super::{die, Ctx, StageError};

/// Run stage-2; returns on success, exits 1 on failure.
pub(crate) fn run(ctx: Ctx, g0: Fd) {
    let log = ctx.log;
    sys::set_name(c"runc:[2:INIT]");
    log.debug("~> nsexec stage-2");
    let sync = SyncPipe::new(g0, "parent");
    if let Err(e) = body(&ctx, &sync) {
        die(&log, e);
    }
    drop(sync);
    log.debug("<= nsexec container setup");
    log.debug("booting up go runtime ...");
}

fn body(ctx: &Ctx, sync: &SyncPipe) -> Result<(), StageError> {
    // Stage-0 sends this only once it is done with stage-1, so by now the
    // pid JSON is on its way to the runtime.
    sync.expect(SYNC_GRANDCHILD, "SYNC_GRANDCHILD")?;

    // A new session without a controlling tty; the runtime sets up the
    // console later.
    sys::setsid().map_err(|e| StageError::sys("setsid failed", e))?;
    sys::setuid(0).map_err(|e| StageError::sys("setuid failed", e))?;
    sys::setgid(0).map_err(|e| StageError::sys("setgid failed", e))?;
    // Drop the host's supplementary groups, unless rootless (where
    // setgroups may be denied and there is nothing to drop).
    if !ctx.cfg.rootless_euid && ctx.cfg.setgroup {
        sys::setgroups_empty().map_err(|e| StageError::sys("setgroups failed", e))?;
    }
    #[cfg(feature = "runc-1-1")]
    if ctx.cfg.clone_flags as i32 & libc::CLONE_NEWCGROUP != 0 {
        // 1.1 creates the cgroupns last, once stage-0 was moved into the
        // container's cgroup by the runtime, so the namespace root is right.
        super::child::try_unshare(&ctx.log, libc::CLONE_NEWCGROUP, "cgroup namespace")?;
    }
    ctx.log.debug("signal completion to stage-0");
    sync.send(SYNC_CHILD_FINISH, "SYNC_CHILD_FINISH")?;
    Ok(())
}
