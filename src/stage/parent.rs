//! Stage-0, `runc:[0:PARENT]` (§3.2): stays in the host context and serves
//! stage-1's requests (user maps, timens offsets or 1.1 mount sources), then
//! reports both pids to the runtime and releases stage-2.

#[cfg(not(feature = "runc-1-1"))]
use super::super::bootstrap::strip_nul;
use super::super::clone::clone_parent;
use super::super::idmap::{self, MapKind};
use super::super::log::{Logger, Stage};
use super::super::sync::*;
use super::super::sys::{self, Pid};
use super::{child, die, Ctx, Pipes, StageError};
use alloc::format;
#[cfg(not(feature = "runc-1-1"))]
use alloc::string::String;

/// Make the socketpairs, clone stage-1, and run stage-0. Returns only in
/// stage-2 (through stage-1's clone).
pub(crate) fn start(ctx: Ctx) {
    let pipes = match make_pipes() {
        Ok(p) => p,
        Err(e) => die(&ctx.log, e),
    };
    let log = ctx.log.for_stage(Stage::Parent);
    sys::set_name(c"runc:[0:PARENT]");
    log.debug("~> nsexec stage-0");
    log.debug("spawn stage-1");
    match clone_parent() {
        Err(e) => die(&log, StageError::sys("unable to spawn stage-1", e)),
        Ok(None) => child::run(
            Ctx {
                log: ctx.log.for_stage(Stage::Child),
                ..ctx
            },
            pipes,
        ),
        Ok(Some(p1)) => {
            let Pipes {
                child: (c0, c1),
                grandchild: (g0, g1),
            } = pipes;
            drop((c0, g0)); // the children's ends: EOF must reach us if they die
            let mut peers = Peers { p1, p2: 0 };
            let r = serve(
                &log,
                &ctx,
                &mut peers,
                SyncPipe::new(c1, "stage-1"),
                SyncPipe::new(g1, "child"),
            );
            match r {
                Ok(()) => sys::exit(0),
                Err(e) => {
                    // No half-made container: whatever we spawned dies with us.
                    sys::sane_kill(peers.p1, libc::SIGKILL);
                    sys::sane_kill(peers.p2, libc::SIGKILL);
                    die(&log, e)
                }
            }
        }
    }
}

fn make_pipes() -> Result<Pipes, StageError> {
    let child = sys::socketpair()
        .map_err(|e| StageError::sys("failed to setup sync pipe between parent and child", e))?;
    let grandchild = sys::socketpair().map_err(|e| {
        StageError::sys("failed to setup sync pipe between parent and grandchild", e)
    })?;
    Ok(Pipes { child, grandchild })
}

/// The pids stage-0 kills on failure (0 = unknown; sane_kill skips it).
struct Peers {
    p1: Pid,
    p2: Pid,
}

fn serve(
    log: &Logger,
    ctx: &Ctx,
    peers: &mut Peers,
    child: SyncPipe,
    grandchild: SyncPipe,
) -> Result<(), StageError> {
    let cfg = &ctx.cfg;
    let p1 = peers.p1;
    log.debug("-> stage-1 synchronisation loop");
    loop {
        match child.recv()? {
            SYNC_USERMAP_PLS => {
                log.debug("stage-1 requested userns mappings");
                // Only rootless with a single mapping may (and must) deny
                // setgroups, and it must come before gid_map.
                if cfg.rootless_euid && !cfg.setgroup {
                    idmap::deny_setgroups(p1)?;
                }
                idmap::update_map(
                    log,
                    MapKind::Uid,
                    p1,
                    cfg.uidmap.as_deref(),
                    cfg.uidmap_path.as_deref(),
                )?;
                idmap::update_map(
                    log,
                    MapKind::Gid,
                    p1,
                    cfg.gidmap.as_deref(),
                    cfg.gidmap_path.as_deref(),
                )?;
                child.send(SYNC_USERMAP_ACK, "SYNC_USERMAP_ACK")?;
            }
            SYNC_RECVPID_PLS => {
                log.debug("stage-1 requested pid to be forwarded");
                let p2 = child.recv_pid()?;
                peers.p2 = p2;
                child.send(SYNC_RECVPID_ACK, "SYNC_RECVPID_ACK")?;
                log.debug(&format!(
                    "forward stage-1 ({p1}) and stage-2 ({p2}) pids to runc"
                ));
                // Exactly this, and nothing else on the init socket: Go decodes
                // it with a fresh json.Decoder before sending its config.
                let json = format!("{{\"stage1_pid\":{p1},\"stage2_pid\":{p2}}}\n");
                match sys::write_full(ctx.initpipe, json.as_bytes()) {
                    Ok(n) if n == json.len() => {}
                    Ok(n) => {
                        return Err(StageError::plain(format!(
                            "failed to sync with runc: write(pid-JSON) (got {n} of {} bytes)",
                            json.len()
                        )))
                    }
                    Err(e) => {
                        return Err(StageError::sys(
                            "failed to sync with runc: write(pid-JSON)",
                            e,
                        ))
                    }
                }
            }
            #[cfg(feature = "runc-1-1")]
            SYNC_MOUNTSOURCES_PLS => {
                super::super::mountfds::send_mount_sources(
                    log,
                    child.raw(),
                    p1,
                    cfg.attr_27290.as_deref(),
                )?;
                child.send(SYNC_MOUNTSOURCES_ACK, "SYNC_MOUNTSOURCES_ACK")?;
            }
            #[cfg(not(feature = "runc-1-1"))]
            SYNC_TIMEOFFSETS_PLS => {
                log.debug("stage-1 requested timens offsets to be configured");
                if let Some(off) = cfg.attr_27290.as_deref() {
                    let text = String::from_utf8_lossy(strip_nul(off));
                    log.debug(&format!("update /proc/{p1}/timens_offsets to '{text}'"));
                    let path = sys::cstring(format!("/proc/{p1}/timens_offsets").as_bytes());
                    sys::write_file(&path, off).map_err(|e| {
                        StageError::sys(format!("failed to update /proc/{p1}/timens_offsets"), e)
                    })?;
                }
                child.send(SYNC_TIMEOFFSETS_ACK, "SYNC_TIMEOFFSETS_ACK")?;
            }
            SYNC_CHILD_FINISH => {
                log.debug("stage-1 complete");
                break;
            }
            other => return Err(SyncError::UnexpectedValue(other).into()),
        }
    }
    // Stage-1 has exited (or is about to); the runtime reaps it.
    peers.p1 = 0;
    log.debug("<- stage-1 synchronisation loop");
    drop(child);

    log.debug("-> stage-2 synchronisation loop");
    log.debug("signalling stage-2 to run");
    grandchild.send(SYNC_GRANDCHILD, "SYNC_GRANDCHILD")?;
    match grandchild.recv()? {
        SYNC_CHILD_FINISH => log.debug("stage-2 complete"),
        other => return Err(SyncError::UnexpectedValue(other).into()),
    }
    log.debug("<- stage-2 synchronisation loop");
    log.debug("<~ nsexec stage-0");
    Ok(())
}
