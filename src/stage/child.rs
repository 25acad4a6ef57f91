//! Stage-1, `runc:[1:CHILD]` (§3.3): joins the given namespaces, creates
//! the user namespace (stage-0 maps it), unshares the rest, and clones
//! stage-2 into them. setns/unshare happen here and not in stage-0 so that the
//! pid stage-1's clone returns is still meaningful to the runtime: stage-1's
//! own pid namespace never changes.

use super::super::clone::clone_parent;
use super::super::log::{Logger, Stage};
use super::super::sync::*;
use super::super::sys::{self, Pid};
use super::{die, init, join::join_namespaces, Ctx, Pipes, StageError};
use alloc::format;

/// Run stage-1. Returns only in stage-2.
pub(crate) fn run(ctx: Ctx, pipes: Pipes) {
    let Pipes {
        child: (c0, c1),
        grandchild: (g0, g1),
    } = pipes;
    drop((c1, g1)); // stage-0's ends
    let sync = SyncPipe::new(c0, "parent");
    let log = ctx.log;
    sys::set_name(c"runc:[1:CHILD]");
    log.debug("~> nsexec stage-1");

    let mut p2: Pid = 0;
    match body(&ctx, &sync, g0, &mut p2) {
        Ok(Role::Stage2) => {}
        Ok(Role::Stage1Done) => sys::exit(0),
        Err(e) => {
            sys::sane_kill(p2, libc::SIGKILL);
            die(&log, e)
        }
    }
}

enum Role {
    Stage1Done,
    Stage2,
}

fn body(
    ctx: &Ctx,
    sync: &SyncPipe,
    g0: super::super::sys::Fd,
    p2_out: &mut Pid,
) -> Result<Role, StageError> {
    let log = &ctx.log;
    let cfg = &ctx.cfg;
    let mut flags = cfg.clone_flags as i32;

    if let Some(list) = cfg.ns_path_list() {
        join_namespaces(log, &list?)?;
    }

    if flags & libc::CLONE_NEWUSER != 0 {
        try_unshare(log, libc::CLONE_NEWUSER, "user namespace")?;
        flags &= !libc::CLONE_NEWUSER;
        let joined = cfg.ns_paths.is_some();
        // Stage-0 writes our /proc/<pid>/{uid,gid}_map: only possible while
        // we are dumpable. We were made non-dumpable only if joining.
        if joined {
            log.debug("temporarily set process as dumpable");
            sys::set_dumpable(true)
                .map_err(|e| StageError::sys("failed to temporarily set process as dumpable", e))?;
        }
        if super::super::RUNC_1_1 {
            log.debug("request stage-0 to map user namespace");
        }
        sync.send(SYNC_USERMAP_PLS, "SYNC_USERMAP_PLS")?;
        log.debug(if super::super::RUNC_1_1 {
            "request stage-0 to map user namespace"
        } else {
            "waiting stage-0 to complete the mapping of user namespace"
        });
        sync.expect(SYNC_USERMAP_ACK, "SYNC_USERMAP_ACK")?;
        if joined {
            log.debug("re-set process as non-dumpable");
            sys::set_dumpable(false)
                .map_err(|e| StageError::sys("failed to re-set process as non-dumpable", e))?;
        }
        // Become root in the new namespace; the gid follows in stage-2.
        sys::setresuid(0, 0, 0)
            .map_err(|e| StageError::sys("failed to become root in user namespace", e))?;
    }

    #[cfg(feature = "runc-1-1")]
    {
        // 1.1 unshares the cgroupns in stage-2, once the cgroup is joined.
        try_unshare(
            log,
            flags & !libc::CLONE_NEWCGROUP,
            "remaining namespaces (except cgroupns)",
        )?;
        if cfg.attr_27290.is_some() {
            sync.send(SYNC_MOUNTSOURCES_PLS, "SYNC_MOUNTSOURCES_PLS")?;
            super::super::mountfds::receive_mount_sources(sync.raw())?;
            sync.expect(SYNC_MOUNTSOURCES_ACK, "SYNC_MOUNTSOURCES_ACK")?;
        }
    }
    #[cfg(not(feature = "runc-1-1"))]
    {
        // Includes CLONE_NEWTIME, which only affects children: the offsets
        // must be written now, before stage-2 enters the namespace.
        try_unshare(log, flags, "remaining namespaces")?;
        if cfg.attr_27290.is_some() {
            log.debug("request stage-0 to write timens offsets");
            sync.send(SYNC_TIMEOFFSETS_PLS, "SYNC_TIMEOFFSETS_PLS")?;
            sync.expect(SYNC_TIMEOFFSETS_ACK, "SYNC_TIMEOFFSETS_ACK")?;
        }
    }

    log.debug("spawn stage-2");
    let p2 = match clone_parent() {
        Err(e) => return Err(StageError::sys("unable to spawn stage-2", e)),
        Ok(None) => {
            init::run(
                Ctx {
                    log: log.for_stage(Stage::Init),
                    cfg: ctx.cfg.clone(),
                    initpipe: ctx.initpipe,
                },
                g0,
            );
            return Ok(Role::Stage2);
        }
        Ok(Some(p2)) => p2,
    };
    *p2_out = p2;
    drop(g0);

    log.debug(&format!("request stage-0 to forward stage-2 pid ({p2})"));
    sync.send(SYNC_RECVPID_PLS, "SYNC_RECVPID_PLS")?;
    sync.send_pid(p2)?;
    sync.expect(SYNC_RECVPID_ACK, "SYNC_RECVPID_ACK")?;

    log.debug("signal completion to stage-0");
    sync.send(SYNC_CHILD_FINISH, "SYNC_CHILD_FINISH")?;
    log.debug("<~ nsexec stage-1");
    Ok(Role::Stage1Done)
}

/// unshare(2), retried on EINVAL only: kernels before 4.3 could fail it
/// while another process read our /proc/<pid>/status or maps.
pub(crate) fn try_unshare(log: &Logger, flags: i32, what: &str) -> Result<(), StageError> {
    log.debug(&format!("unshare {what}"));
    let mut last = super::super::sys::Errno(0);
    for _ in 0..5 {
        match sys::unshare(flags) {
            Ok(()) => return Ok(()),
            Err(e) if e == super::super::sys::Errno::EINVAL => last = e,
            Err(e) => {
                last = e;
                break;
            }
        }
    }
    Err(StageError::sys(format!("failed to unshare {what}"), last))
}
