//! The container's cgroup as the lifecycle sees it. The config is saved
//! beside state.json (`cgroup.bin`, bincode through `codec`) before anything
//! is created, so every later command, and a `delete --force` after a
//! crashed create, rebuilds the same manager from it. Also the bodies of
//! pause, resume, update, events and ps with runc's state checks.

use std::io::{Read, Write};
use std::os::fd::AsFd;
use std::path::Path;

use crate::cgroups::cli_args::{EventsArgs, PsArgs, UpdateArgs};
use crate::cgroups::{self, commands, CgroupConfig, FreezerState, Manager};
use crate::process;
use crate::spec::Plan;

use super::{ContainerError, Root, Status};

pub const CONFIG_FILE: &str = "cgroup.bin";

/// runc's "rootless cgroups": a non-root runtime may lack cgroup permissions.
pub fn rootless() -> bool {
    !nix::unistd::geteuid().is_root()
}

/// The cgroup config of a new container (validated: a bad one fails create
/// before anything exists).
pub fn config(plan: &Plan, id: &str, systemd: bool) -> Result<CgroupConfig, cgroups::Error> {
    CgroupConfig::from_linux(
        plan.cgroups_path.as_deref(),
        plan.resources.as_ref(),
        &plan.device_paths,
        id,
        systemd,
    )
}

pub fn manager(cfg: &CgroupConfig) -> Result<Box<dyn Manager>, cgroups::Error> {
    cgroups::manager(cfg, rootless())
}

/// Atomic write of `cgroup.bin` in the container's state dir.
pub fn save(dir: &Path, cfg: &CgroupConfig) -> Result<(), ContainerError> {
    super::state::save_bin(dir, CONFIG_FILE, "cgroup config", cfg)
}

/// The saved config; None when the state dir has none (nothing was made).
pub fn load(dir: &Path) -> Result<Option<CgroupConfig>, ContainerError> {
    super::state::load_bin(dir, CONFIG_FILE, "cgroup config")
}

/// The manager of an existing container.
pub fn open(dir: &Path) -> Result<Option<Box<dyn Manager>>, ContainerError> {
    match load(dir)? {
        Some(cfg) => Ok(Some(manager(&cfg)?)),
        None => Ok(None),
    }
}

fn require(dir: &Path) -> Result<(CgroupConfig, Box<dyn Manager>), ContainerError> {
    let cfg = load(dir)?.ok_or_else(|| ContainerError::Corrupt("no cgroup config".into()))?;
    let m = manager(&cfg)?;
    Ok((cfg, m))
}

/// Remove the container's cgroup (killing what is left in it), if one was
/// configured. Safe to repeat and after a crash.
/// When cgroup.bin is missing or corrupt, the paths that state.json (`s`)
/// recorded are removed instead, so a damaged state dir leaks no cgroup.
pub fn destroy(dir: &Path, s: Option<&super::Saved>) -> Result<(), ContainerError> {
    let saved = || s.map(|s| s.cgroup_paths.values().cloned().collect::<Vec<_>>());
    match open(dir) {
        Ok(Some(m)) => Ok(m.destroy()?),
        Ok(None) => match saved() {
            Some(p) => Ok(cgroups::fs::destroy_paths(&p)?),
            None => Ok(()),
        },
        Err(e) => match saved() {
            Some(p) => {
                cgroups::fs::destroy_paths(&p)?;
                Ok(())
            }
            None => Err(e),
        },
    }
}

/// Is the container's freezer frozen? (libcontainer's isPaused)
pub fn paused(dir: &Path) -> bool {
    matches!(open(dir), Ok(Some(m)) if matches!(m.freezer_state(), Ok(FreezerState::Frozen)))
}

/// `kill --all`, as runc 1.1.5's signalAllProcesses: freeze, signal every
/// pid of the cgroup, thaw. A paused container stays paused unless the
/// signal is SIGKILL (a v1-frozen task cannot die until thawed).
pub fn signal_all(m: &dyn Manager, sig: i32) -> Result<(), ContainerError> {
    let was_frozen = matches!(m.freezer_state(), Ok(FreezerState::Frozen));
    let _ = m.freeze(FreezerState::Frozen);
    let pids = m.pids();
    for pid in pids.as_deref().unwrap_or_default() {
        // A pidfd pins the process between lookup and signal.
        if let Ok(fd) = process::sys::pidfd_open(*pid) {
            let _ = process::sys::pidfd_signal(fd.as_fd(), sig);
        }
    }
    if !was_frozen || sig == libc::SIGKILL {
        let _ = m.freeze(FreezerState::Thawed);
    }
    pids.map(|_| ()).map_err(Into::into)
}

/// `pause`: runc freezes created and running containers only.
pub fn pause(root: &Root, id: &str) -> Result<(), ContainerError> {
    let s = root.load(id)?;
    let dir = root.dir(id);
    match s.status(&dir) {
        Status::Running | Status::Created => Ok(commands::pause(&*require(&dir)?.1)?),
        _ => Err(ContainerError::NotRunning),
    }
}

/// `resume`: only a paused container.
pub fn resume(root: &Root, id: &str) -> Result<(), ContainerError> {
    let s = root.load(id)?;
    let dir = root.dir(id);
    if s.status(&dir) != Status::Paused {
        return Err(ContainerError::NotPaused);
    }
    Ok(commands::resume(&*require(&dir)?.1)?)
}

/// `update`: write the new limits, then save them for later commands.
pub fn update(
    root: &Root,
    id: &str,
    args: &UpdateArgs,
    stdin: &mut dyn Read,
) -> Result<(), ContainerError> {
    let s = root.load(id)?;
    let dir = root.dir(id);
    if s.status(&dir) == Status::Stopped {
        return Err(ContainerError::NotRunning);
    }
    let (mut cfg, m) = require(&dir)?;
    for w in commands::update(&*m, &mut cfg, args, stdin)? {
        crate::cli::log::log("warning", &w);
    }
    save(&dir, &cfg)
}

/// `events`: stats once or as a stream, with OOM notifications.
pub fn events(root: &Root, args: &EventsArgs, out: &mut dyn Write) -> Result<(), ContainerError> {
    let s = root.load(&args.id)?;
    let dir = root.dir(&args.id);
    if s.status(&dir) == Status::Stopped {
        return Err(ContainerError::EventsStopped(args.id.clone()));
    }
    Ok(commands::events(&*require(&dir)?.1, &args.id, args, out)?)
}

/// `ps`: the cgroup's pids, as json or filtered ps(1) output.
pub fn ps(root: &Root, args: &PsArgs, out: &mut dyn Write) -> Result<(), ContainerError> {
    root.load(&args.id)?;
    Ok(commands::ps(&*require(&root.dir(&args.id))?.1, args, out)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_the_state_dir() {
        let dir = std::env::temp_dir().join(format!("i2-cgsave-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(load(&dir).unwrap(), None);
        let cfg = CgroupConfig::new(Some("/i2/x"), "x", Default::default(), false).unwrap();
        save(&dir, &cfg).unwrap();
        assert_eq!(load(&dir).unwrap(), Some(cfg));
        std::fs::write(dir.join(CONFIG_FILE), b"junk").unwrap();
        assert!(matches!(load(&dir), Err(ContainerError::Corrupt(_))));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
