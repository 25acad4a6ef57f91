//! The container lifecycle: create, start, run, exec, kill, delete, state,
//! list. Errors carry libcontainer's words; the CLI adds runc's prefixes.

pub mod cgroup;
pub mod clock;
pub mod signal;
pub mod state;
pub mod tty;

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use thiserror::Error;

use crate::hooks::{self, HookSet, Kind};
use crate::process::{self, LogSink, ProcessError, Spawn};
use crate::security::seccomp::SeccompPlan;
use crate::security::{notify, SecurityPlan};
use crate::spec::{self, SpecError};
pub use state::{Root, Saved, Status};

#[derive(Debug, Error)]
pub enum ContainerError {
    #[error("container does not exist")]
    NotExist,
    #[error("container with given ID already exists")]
    Exists,
    #[error("invalid container ID format")]
    BadId,
    #[error("container id cannot be empty")]
    EmptyId,
    #[error("container not running")]
    NotRunning,
    #[error("container not paused")]
    NotPaused,
    #[error("container with id {0} is not running")]
    EventsStopped(String),
    #[error("{0}")]
    Cgroup(#[from] crate::cgroups::Error),
    #[error("cannot start a container that has stopped")]
    StartStopped,
    #[error("cannot start an already running container")]
    StartRunning,
    #[error("cannot start a container in the {0} state")]
    StartState(&'static str),
    #[error("cannot delete container {0} that is not stopped: {1}")]
    NotStopped(String, &'static str),
    #[error("container init still running")]
    StillRunning,
    #[error("cannot exec in a stopped container")]
    ExecStopped,
    #[error("cannot exec in a paused container (use --ignore-paused to override)")]
    ExecPaused,
    #[error("process args cannot be empty")]
    ExecNoArgs,
    #[error("cannot allocate tty if runc will detach without setting console socket")]
    TtyNeedsSocket,
    #[error("cannot use console socket if runc will not detach or allocate tty")]
    SocketNeedsTty,
    #[error("{0}")]
    Spec(#[from] SpecError),
    #[error("{0}")]
    Process(#[from] ProcessError),
    #[error("{}: {}", .0, crate::errno::io(.1))]
    Io(String, std::io::Error),
    #[error("container {0} is still being created or deleted: gave up after {1}s")]
    Locked(String, u64),
    #[error("state file is corrupt: {0}")]
    Corrupt(String),
    #[error("{0}")]
    Usage(String),
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ContainerError {
    let w = what.into();
    move |e| ContainerError::Io(w, e)
}

/// Flags of create/run.
#[derive(Debug, Clone, Default)]
pub struct CreateOpts {
    /// Absolute bundle path.
    pub bundle: PathBuf,
    pub pid_file: Option<PathBuf>,
    pub console_socket: Option<PathBuf>,
    pub preserve_fds: u32,
    pub no_pivot: bool,
    /// Accepted; the session keyring is the security module's (it reads this).
    #[allow(dead_code)]
    pub no_new_keyring: bool,
    /// create always detaches; run only with -d.
    pub detach: bool,
    pub debug: bool,
    /// `--systemd-cgroup`.
    pub systemd_cgroup: bool,
}

/// Removes a half-made container (init, cgroup, state dir) unless disarmed.
struct Undo {
    dir: Option<PathBuf>,
    init: Option<process::Init>,
    cgroup: Option<Box<dyn crate::cgroups::Manager>>,
}

impl Drop for Undo {
    fn drop(&mut self) {
        if let Some(i) = &self.init {
            i.kill();
        }
        if let Some(m) = &self.cgroup {
            let _ = m.destroy();
        }
        if let Some(d) = &self.dir {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

/// `--preserve-fds N`: runc stats fds 3..3+N before it starts anything, so
/// a missing one is named instead of failing as a broken bootstrap pipe.
fn check_preserved(n: u32) -> Result<(), ContainerError> {
    for i in 0..n {
        let p = format!("/proc/self/fd/{}", 3 + i);
        if let Err(e) = std::fs::metadata(&p) {
            return Err(ContainerError::Usage(format!(
                "unable to stat preserved-fd {i} (of {n}): stat {p}: {}",
                crate::errno::io(&e)
            )));
        }
    }
    Ok(())
}

fn check_console(terminal: bool, socket: bool, detach: bool) -> Result<(), ContainerError> {
    if socket && (!terminal || !detach) {
        return Err(ContainerError::SocketNeedsTty);
    }
    if terminal && detach && !socket {
        return Err(ContainerError::TtyNeedsSocket);
    }
    Ok(())
}

/// A pty relayed by nsrun itself (foreground, terminal, no console socket).
pub type Relay = (tty::Terminal, OwnedFd);

/// Our terminal and our end of the internal console socket.
type PendingRelay = (tty::Terminal, UnixStream);

/// The console fd init gets, and for a foreground terminal our end of it.
/// Our own terminal is looked up first, so a missing one fails early.
fn console_for(
    terminal: bool,
    detach: bool,
    socket: &Option<PathBuf>,
) -> Result<(Option<OwnedFd>, Option<PendingRelay>), ContainerError> {
    if terminal && !detach && socket.is_none() {
        let term = tty::ours()?;
        let (init_end, ours) = tty::socket_pair()?;
        return Ok((Some(init_end), Some((term, ours))));
    }
    Ok((connect_console(socket)?, None))
}

fn connect_console(p: &Option<PathBuf>) -> Result<Option<OwnedFd>, ContainerError> {
    p.as_ref()
        .map(|p| {
            UnixStream::connect(p)
                .map(OwnedFd::from)
                .map_err(io(format!("dial console socket {}", p.display())))
        })
        .transpose()
}

/// runc's pid file: `.name` with O_EXCL, the pid without newline, rename.
pub fn write_pid_file(path: &Path, pid: i32) -> Result<(), ContainerError> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = path.with_file_name(format!(".{name}"));
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o666)
        .custom_flags(libc::O_SYNC)
        .open(&tmp)
        .map_err(io(format!("open {}", tmp.display())))?;
    f.write_all(pid.to_string().as_bytes())
        .map_err(io("write pid file"))?;
    drop(f);
    std::fs::rename(&tmp, path).map_err(io("rename pid file"))
}

/// runc 1.1.5's checks of a pre-existing cgroup (libcontainer
/// factory_linux.go Create): processes in it are only warned about; a
/// frozen one is refused, since init would hang in it forever.
fn check_existing_cgroup(
    mgr: &dyn crate::cgroups::Manager,
    sink: LogSink,
) -> Result<(), ContainerError> {
    use crate::cgroups::FreezerState;
    if mgr.exists() {
        // runc ignores a read racing with the cgroup's removal.
        let n = mgr.pids().map(|p| p.len()).unwrap_or(0);
        if n != 0 {
            sink(
                "warning",
                &format!("container's cgroup is not empty: {n} process(es) found"),
            );
            sink("warning", "DEPRECATED: running container in a non-empty cgroup won't be supported in runc 1.2; https://github.com/opencontainers/runc/issues/3132");
        }
    }
    match mgr.freezer_state() {
        Ok(FreezerState::Frozen) => Err(ContainerError::Usage(
            "container's cgroup unexpectedly frozen".into(),
        )),
        Ok(_) => Ok(()),
        Err(e) => Err(ContainerError::Usage(format!(
            "unable to get cgroup freezer state: {e}"
        ))),
    }
}

/// `create`: everything up to init blocked on the exec fifo. On error,
/// nothing is left: no process, no state dir, no fd.
/// Returns the saved state and, for a foreground terminal, what to relay.
pub fn create(
    root: &Root,
    id: &str,
    o: &CreateOpts,
    sink: LogSink,
) -> Result<(Saved, Option<Relay>), ContainerError> {
    state::validate_id(id)?;
    check_preserved(o.preserve_fds)?;
    let mut plan = spec::load(&o.bundle, o.no_pivot)?;
    check_console(
        plan.init.process.terminal,
        o.console_socket.is_some(),
        o.detach,
    )?;
    plan.init.security.new_keyring = !o.no_new_keyring;
    plan.init.id = id.to_string();
    for w in &plan.init.security.warnings {
        sink("warning", w);
    }
    let cg = cgroup::config(&plan, id, o.systemd_cgroup)?;
    let mgr = cgroup::manager(&cg)?;
    // runc's factory.Create order: an existing id first, then the cgroup
    // checks, all before anything is made (so a refused cgroup is left as
    // it was).
    if root.dir(id).exists() {
        return Err(ContainerError::Exists);
    }
    check_existing_cgroup(&*mgr, sink)?;
    root.ensure()?;
    let dir = root.dir(id);
    match std::fs::create_dir(&dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(ContainerError::Exists)
        }
        Err(e) => return Err(ContainerError::Io(format!("mkdir {}", dir.display()), e)),
    }
    // Held until create returns (a delete of this id waits for it). The fd
    // is CLOEXEC and not among the fds init gets.
    let _lock = root.lock(id)?;
    let mut undo = Undo {
        dir: Some(dir.clone()),
        init: None,
        cgroup: None,
    };
    let _ = std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o711));
    // Saved before the cgroup exists: `delete --force` after a crash finds it.
    cgroup::save(&dir, &cg)?;
    save_hooks(&dir, &plan.hooks)?;
    let mgr = &**undo.cgroup.insert(mgr);

    let fifo_path = dir.join(state::FIFO);
    nix::unistd::mkfifo(&fifo_path, nix::sys::stat::Mode::from_bits_truncate(0o622))
        .map_err(|e| ContainerError::Io("mkfifo exec.fifo".into(), e.into()))?;
    let _ = std::fs::set_permissions(&fifo_path, std::fs::Permissions::from_mode(0o622));
    let fifo: OwnedFd = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_PATH)
        .open(&fifo_path)
        .map_err(io("open exec fifo"))?
        .into();
    let (console, relay) = console_for(plan.init.process.terminal, o.detach, &o.console_socket)?;

    let mut extra = vec![fifo.as_fd()];
    if let Some(c) = &console {
        extra.push(c.as_fd());
    }
    let spawn = Spawn {
        bootstrap: process::create_bootstrap(&plan).map_err(ProcessError::from)?,
        extra,
        preserve: o.preserve_fds,
        loglevel: if o.debug { 5 } else { 4 },
        cwd: Some(&plan.rootfs),
        cgroup: Some(process::CgroupJoin {
            manager: mgr,
            create: true,
        }),
    };
    let init = process::spawn(spawn, sink)?;
    plan.init.fds.fifo = Some(init.extra_fds[0]);
    plan.init.fds.console = init.extra_fds.get(1).copied();
    plan.init.fds.preserve = o.preserve_fds;
    let pid = init.pid;
    let init = undo.init.insert(init);
    let cgroup_paths = mgr.paths();
    let saved = Saved {
        id: id.to_string(),
        init_pid: pid,
        init_start: state::proc_stat(pid).map(|(_, t)| t).unwrap_or(0),
        created: clock::rfc3339_nano(std::time::SystemTime::now()),
        oci_version: plan.oci_version.clone(),
        bundle: plan.bundle.clone(),
        rootfs: plan.rootfs.clone(),
        annotations: plan.annotations.iter().cloned().collect::<BTreeMap<_, _>>(),
        namespaces: plan.namespaces.clone(),
        oom_score_adj: plan.oom_score_adj,
        cgroup_paths,
    };
    plan.init.state = hook_state(&saved, "creating", 0);
    let seccomp = plan.init.security.seccomp.clone();
    // runc sets the limits at procHooks (before the hooks, so they can
    // rely on them), or once init is ready when no such event came.
    let mut limits_set = false;
    let set_limits = || {
        // runc fails it inside initProcess.start's sync loop, before procReady.
        mgr.set(&cg.resources).map_err(|e| {
            format!("unable to start container process: error during container init: error setting cgroup config for procHooks process: {e}")
        })
    };
    let mut on = |ev: process::Event| match ev {
        process::Event::ProcHooks => {
            set_limits()?;
            limits_set = true;
            let state = hook_state(&saved, "creating", pid);
            for kind in [Kind::Prestart, Kind::CreateRuntime] {
                hooks::run(plan.hooks.get(kind), state.as_bytes(), None).map_err(|e| {
                    format!("unable to start container process: error during container init: {e}")
                })?;
            }
            Ok(())
        }
        process::Event::SeccompFd(fd) => {
            send_listener(seccomp.as_ref(), &saved, "creating", pid, fd)
        }
    };
    init.run_plan(&plan.init, sink, &mut on)?;
    if !limits_set {
        set_limits().map_err(|e| ContainerError::Process(ProcessError::Init(e)))?;
    }
    let relay = match relay {
        Some((term, sock)) => Some((term, tty::recv_master(&sock)?)),
        None => None,
    };
    root.save(&saved)?;
    if let Some(p) = &o.pid_file {
        write_pid_file(p, pid)?;
    }
    undo.init = None;
    undo.cgroup = None;
    undo.dir = None;
    Ok((saved, relay))
}

/// The state hooks and seccomp agents get on stdin: runc's specs.State
/// (pid and annotations omitted when empty).
fn hook_state(s: &Saved, status: &str, pid: i32) -> String {
    let mut v = serde_json::json!({"ociVersion": s.oci_version, "id": s.id, "status": status, "bundle": s.bundle});
    if pid > 0 {
        v["pid"] = pid.into();
    }
    if !s.annotations.is_empty() {
        v["annotations"] = serde_json::to_value(&s.annotations).unwrap_or_default();
    }
    v.to_string()
}

/// runc's procSeccomp: hand the listener to linux.seccomp.listenerPath.
fn send_listener(
    sc: Option<&SeccompPlan>,
    s: &Saved,
    status: &str,
    pid: i32,
    fd: OwnedFd,
) -> Result<(), String> {
    let sc = sc.ok_or("seccomp fd without a seccomp profile")?;
    let path = sc
        .listener_path
        .as_deref()
        .filter(|p| !p.is_empty())
        .ok_or("listenerPath is not set")?;
    let state = hook_state(s, status, s.init_pid);
    let payload = notify::process_state(&sc.listener_metadata, pid, state.as_bytes())
        .map_err(|e| e.to_string())?;
    notify::send_to_agent(path, &payload, fd.as_fd()).map_err(|e| e.to_string())
}

/// The hooks start and delete run, saved at create beside state.json as
/// runc keeps its config in its state: an edit of config.json after create
/// changes nothing, and start and delete never parse the spec again. No
/// hooks, no file.
const HOOKS_FILE: &str = "hooks.bin";

fn save_hooks(dir: &Path, set: &HookSet) -> Result<(), ContainerError> {
    if set.hooks.iter().all(|(_, list)| list.is_empty()) {
        return Ok(());
    }
    state::save_bin(dir, HOOKS_FILE, "hooks", set)
}

/// As before this file existed (the spec was read again then), an unreadable
/// one means no hooks.
fn saved_hooks(root: &Root, s: &Saved) -> HookSet {
    state::load_bin(&root.dir(&s.id), HOOKS_FILE, "hooks")
        .ok()
        .flatten()
        .unwrap_or_default()
}

/// `start`: release init from the exec fifo.
pub fn start(root: &Root, id: &str) -> Result<(), ContainerError> {
    let s = root.load(id)?;
    let dir = root.dir(id);
    match s.status(&dir) {
        Status::Created => {}
        Status::Stopped => return Err(ContainerError::StartStopped),
        Status::Running => return Err(ContainerError::StartRunning),
        Status::Paused => return Err(ContainerError::StartState("paused")),
    }
    let fifo_path = dir.join(state::FIFO);
    // Non-blocking open plus a pidfd: a dead init can never hang `start`.
    // The pidfd comes first: opening the fifo lets init write its byte and
    // exec at once, and a short process can be gone (reaped by a subreaper
    // such as containerd's shim) before a later pidfd_open.
    let pidfd = process::sys::pidfd_open(s.init_pid).map_err(|_| ContainerError::StartStopped)?;
    let mut fifo = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(&fifo_path)
        .map_err(io("open exec fifo for reading"))?;
    // A damaged state dir can hold a regular file here: it polls readable
    // and reads 0 bytes forever. runc reads it to EOF and answers at once.
    use std::os::unix::fs::FileTypeExt;
    if !fifo
        .metadata()
        .map_err(io("stat exec fifo"))?
        .file_type()
        .is_fifo()
    {
        return Err(ContainerError::StartRunning);
    }
    let mut b = [0u8; 1];
    // A live init that never writes (stopped, stuck) must not hold `start`
    // forever: the same bound as the other waits on init (NSRUN_INIT_TIMEOUT).
    let bound = process::init_timeout();
    let end = bound.map(|b| std::time::Instant::now() + b);
    loop {
        let (dead, hup) = {
            let mut fds = [
                PollFd::new(fifo.as_fd(), PollFlags::POLLIN),
                PollFd::new(pidfd.as_fd(), PollFlags::POLLIN),
            ];
            match poll(&mut fds, process::poll_until(end)) {
                Err(nix::errno::Errno::EINTR) => continue,
                Err(e) => return Err(ContainerError::Io("poll exec fifo".into(), e.into())),
                Ok(0) => {
                    return Err(ContainerError::Usage(format!(
                        "timed out after {}s waiting for init (runc:[2:INIT]) on the exec fifo",
                        bound.map_or(0, |b| b.as_secs())
                    )))
                }
                Ok(_) => {}
            }
            (
                fds[1].revents().is_some_and(|r| !r.is_empty()),
                fds[0]
                    .revents()
                    .is_some_and(|r| r.contains(PollFlags::POLLHUP)),
            )
        };
        match fifo.read(&mut b) {
            Ok(1..) => break,
            Err(e) if e.kind() != std::io::ErrorKind::WouldBlock => {
                return Err(ContainerError::Io("read exec fifo".into(), e))
            }
            _ => {}
        }
        if dead || hup {
            return Err(ContainerError::StartRunning);
        }
    }
    let _ = std::fs::remove_file(&fifo_path);
    // runc: a failing poststart hook kills the container and fails start.
    let set = saved_hooks(root, &s);
    // runc 1.1 takes the hooks' state while the fifo still exists: "created".
    if let Err(e) = hooks::run(
        set.get(Kind::Poststart),
        hook_state(&s, "created", s.init_pid).as_bytes(),
        None,
    ) {
        let _ = kill_and_wait(&s);
        return Err(ContainerError::Usage(e.to_string()));
    }
    Ok(())
}

/// `run`: create + start, then (foreground) wait and forward signals.
/// Returns the exit code for the CLI.
pub fn run(
    root: &Root,
    id: &str,
    o: &CreateOpts,
    keep: bool,
    sink: LogSink,
) -> Result<i32, ContainerError> {
    let (s, relay) = create(root, id, o, sink)?;
    let set = (!o.detach).then(signal::block);
    if let Err(e) = start(root, id) {
        let _ = delete(root, id, true);
        return Err(e);
    }
    let Some(set) = set else { return Ok(0) };
    let code = match relay {
        Some((term, master)) => term.relay(master, s.init_pid, &set).unwrap_or(255),
        None => signal::forward_until_exit(s.init_pid, &set),
    };
    if !keep {
        let _ = delete(root, id, true);
    }
    Ok(code)
}

/// Kill init with SIGKILL and wait (up to 10 s) until it is gone.
fn kill_and_wait(s: &Saved) -> Result<(), ContainerError> {
    let Ok(pidfd) = process::sys::pidfd_open(s.init_pid) else {
        return Ok(());
    };
    if !s.init_alive() {
        return Ok(());
    }
    let _ = process::sys::pidfd_signal(pidfd.as_fd(), libc::SIGKILL);
    let mut fds = [PollFd::new(pidfd.as_fd(), PollFlags::POLLIN)];
    match poll(&mut fds, PollTimeout::from(10_000u16)) {
        Ok(n) if n > 0 => Ok(()),
        _ => Err(ContainerError::StillRunning),
    }
}

/// Remove what a container left: its cgroup and state dir (like runc, the
/// state goes even when the cgroup could not be removed; that error is kept).
fn destroy(root: &Root, id: &str, s: Option<&Saved>) -> Result<(), ContainerError> {
    let cg = cgroup::destroy(&root.dir(id), s);
    match std::fs::remove_dir_all(root.dir(id)) {
        // Already removed (by a racing delete): the container is gone, as asked.
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            return Err(ContainerError::Io("remove container state".into(), e))
        }
        _ => {}
    }
    cg
}

/// runc's destroy: remove everything, then the poststop hooks (their error is delete's).
fn destroy_with_hooks(root: &Root, s: &Saved) -> Result<(), ContainerError> {
    let set = saved_hooks(root, s);
    destroy(root, &s.id, Some(s))?;
    hooks::run(
        set.get(Kind::Poststop),
        hook_state(s, "stopped", 0).as_bytes(),
        None,
    )
    .map_err(|e| ContainerError::Usage(e.to_string()))
}

/// `delete [--force]`, per runc's table (runc-cli-contract.md §2.12).
pub fn delete(root: &Root, id: &str, force: bool) -> Result<(), ContainerError> {
    state::validate_id(id)?;
    let gone = || {
        if force {
            Ok(())
        } else {
            Err(ContainerError::NotExist)
        }
    };
    // Waits for a create still running, or another delete, to finish.
    let Some(_lock) = root.lock(id)? else {
        return gone();
    };
    let s = match root.load(id) {
        Ok(s) => s,
        Err(ContainerError::NotExist) => {
            // A create that died before state.json: its cgroup may exist.
            if root.dir(id).exists() {
                let _ = destroy(root, id, None);
            }
            return gone();
        }
        // A corrupt, unreadable or non-file state.json: what cgroup.bin
        // names is still removed (and so everything in that cgroup killed).
        Err(ContainerError::Corrupt(_) | ContainerError::Io(..)) if force => {
            return destroy(root, id, None)
        }
        Err(e) => return Err(e),
    };
    match s.status(&root.dir(id)) {
        Status::Stopped => {}
        Status::Created => kill_and_wait(&s)?,
        st @ (Status::Running | Status::Paused) => {
            if !force {
                return Err(ContainerError::NotStopped(id.to_string(), st.as_str()));
            }
            if st == Status::Paused {
                // A frozen (v1) init cannot die: kill everything, then thaw.
                if let Some(m) = cgroup::open(&root.dir(id))? {
                    let _ = cgroup::signal_all(&*m, libc::SIGKILL);
                }
            }
            kill_and_wait(&s)?;
        }
    }
    destroy_with_hooks(root, &s)
}

/// `kill <id> [signal]`; `--all` signals every process of the container.
pub fn kill(root: &Root, id: &str, sig: &str, all: bool) -> Result<(), ContainerError> {
    // runc looks the container up before it parses the signal.
    let s = root.load(id)?;
    let sig = signal::parse(sig).map_err(ContainerError::Usage)?;
    let stopped = s.status(&root.dir(id)) == Status::Stopped;
    if all {
        // runc 1.1.5 (linuxContainer.Signal): with --all the status only
        // matters when the cgroup is gone; a stopped container whose cgroup
        // still exists gets signalAllProcesses (a no-op on an empty one), so
        // `kill --all ID 0` after the exit succeeds.
        if let Some(m) = cgroup::open(&root.dir(id))? {
            if stopped && !m.exists() {
                return Ok(());
            }
            return cgroup::signal_all(&*m, sig);
        }
        if stopped {
            return Ok(());
        }
    } else if stopped {
        return Err(ContainerError::NotRunning);
    }
    // A pidfd pins the process: no signal can reach a recycled pid once the
    // start time was checked.
    let pidfd = process::sys::pidfd_open(s.init_pid).map_err(|_| ContainerError::NotRunning)?;
    if !s.init_alive() {
        return Err(ContainerError::NotRunning);
    }
    if all {
        // No cgroup config: the container's pid namespace names the same processes.
        for pid in pid_ns_members(s.init_pid) {
            if let Ok(fd) = process::sys::pidfd_open(pid) {
                let _ = process::sys::pidfd_signal(fd.as_fd(), sig);
            }
        }
    }
    process::sys::pidfd_signal(pidfd.as_fd(), sig).map_err(io("kill container"))
}

/// Host pids of the processes in `init`'s pid namespace, init excluded.
fn pid_ns_members(init: i32) -> Vec<i32> {
    let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/pid")).ok();
    let Some(want) = ns(&init.to_string()) else {
        return Vec::new();
    };
    std::fs::read_dir("/proc")
        .into_iter()
        .flatten()
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<i32>().ok()))
        .filter(|p| *p != init && ns(&p.to_string()).as_ref() == Some(&want))
        .collect()
}

/// `state <id>`: runc's indented JSON, no trailing newline.
pub fn state_json(root: &Root, id: &str) -> Result<String, ContainerError> {
    let s = root.load(id)?;
    let st = s.status(&root.dir(id));
    Ok(serde_json::to_string_pretty(&s.oci(st, String::new())).unwrap_or_default())
}

fn owner_name(uid: u32) -> String {
    std::fs::read_to_string("/etc/passwd")
        .ok()
        .and_then(|s| {
            s.lines().find_map(|l| {
                let f: Vec<&str> = l.split(':').collect();
                (f.len() > 2 && f[2].parse() == Ok(uid)).then(|| f[0].to_string())
            })
        })
        .unwrap_or_else(|| format!("#{uid}"))
}

/// One row of `list`: (state, status, owner).
pub fn list(
    root: &Root,
    warn: &mut dyn FnMut(String),
) -> Result<Vec<(Saved, Status, String)>, ContainerError> {
    let mut out = Vec::new();
    for id in root.ids()? {
        match root.load(&id) {
            Ok(s) => {
                let dir = root.dir(&id);
                let owner = std::fs::metadata(&dir)
                    .map(|m| owner_name(m.uid()))
                    .unwrap_or_default();
                let st = s.status(&dir);
                out.push((s, st, owner));
            }
            Err(e) => warn(format!("load container {id}: {e}")),
        }
    }
    Ok(out)
}

/// Flags of exec.
#[derive(Debug, Clone, Default)]
pub struct ExecOpts {
    pub process: Option<PathBuf>,
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: Option<String>,
    pub user: Option<String>,
    pub additional_gids: Vec<String>,
    pub tty: bool,
    pub detach: bool,
    pub console_socket: Option<PathBuf>,
    pub pid_file: Option<PathBuf>,
    pub preserve_fds: u32,
    pub debug: bool,
    /// `--ignore-paused`.
    pub ignore_paused: bool,
    /// `--process-label`, `--apparmor`, `--no-new-privs`, `--cap` (runc 1.1's
    /// exec.go getProcess; only without `--process`).
    pub process_label: Option<String>,
    pub apparmor: Option<String>,
    pub no_new_privs: bool,
    pub caps: Vec<String>,
    /// `--cgroup [<controller>:]<cgroup>`, repeatable (runc 1.1).
    pub sub_cgroups: Vec<String>,
}

/// runc 1.1.5's getSubCgroupPaths: `[<controller>[,<controller>...]:]<path>`;
/// a bare path (key "") only when it is the only --cgroup.
fn sub_cgroup_args(args: &[String]) -> Result<Option<BTreeMap<String, String>>, ContainerError> {
    if args.is_empty() {
        return Ok(None);
    }
    let mut paths = BTreeMap::new();
    for c in args {
        let cs: Vec<&str> = c.splitn(3, ':').collect();
        match cs.as_slice() {
            [p] => {
                if args.len() != 1 {
                    return Err(ContainerError::Usage(format!(
                        "invalid --cgroup argument: {c} (missing <controller>: prefix)"
                    )));
                }
                paths.insert(String::new(), p.to_string());
            }
            [ctrls, p] => {
                for ctrl in ctrls.split(',') {
                    paths.insert(ctrl.to_string(), p.to_string());
                }
            }
            _ => {
                return Err(ContainerError::Usage(format!(
                    "invalid --cgroup argument: {c}"
                )))
            }
        }
    }
    Ok(Some(paths))
}

/// runc 1.1.5's newSetnsProcess: the state's cgroup paths with the
/// sub-paths joined (Go's path.Join, which cleans); a bare path applies to
/// every hierarchy, a controller not in the state is refused.
fn sub_cgroup_paths(
    state: &BTreeMap<String, PathBuf>,
    sub: &BTreeMap<String, String>,
) -> Result<BTreeMap<String, PathBuf>, ContainerError> {
    let join = |base: &Path, add: &str| -> Result<PathBuf, ContainerError> {
        let base_s = base.to_string_lossy();
        let joined = crate::cgroups::config::clean_path(&format!("{base_s}/{add}"));
        // Stricter than runc's plain string prefix, for a security reason:
        // "../<container>2" would pass it and run the process in a sibling
        // cgroup, out of the container's limits. A sub-path stays below.
        let below = joined == base_s || joined.starts_with(&format!("{base_s}/"));
        if !below {
            return Err(ContainerError::Usage(format!(
                "unable to create new parent process: {add} is not a sub cgroup path"
            )));
        }
        Ok(PathBuf::from(joined))
    };
    let mut out = state.clone();
    if let Some(add) = sub.get("") {
        for (k, base) in state {
            out.insert(k.clone(), join(base, add)?);
        }
        return Ok(out);
    }
    for (ctrl, add) in sub {
        let Some(base) = state.get(ctrl) else {
            return Err(ContainerError::Usage(format!(
                "unable to create new parent process: unknown controller {ctrl} in SubCgroupPaths"
            )));
        };
        out.insert(ctrl.clone(), join(base, add)?);
    }
    Ok(out)
}

/// runc's setnsProcess.start: write the pid to each path's cgroup.procs
/// (cgroups.WriteCgroupProc: EINVAL, a task still being born, is retried),
/// in a fixed order; a rootless runtime ignores failures, as runc's
/// rootlessCgroups does.
fn enter_cgroups(paths: &BTreeMap<String, PathBuf>, pid: i32) -> Result<(), ContainerError> {
    use std::io::Write;
    let words = |e: &std::io::Error| match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_lowercase(),
        None => e.to_string(),
    };
    let rootless = !nix::unistd::geteuid().is_root();
    let fail = |m: String| {
        ContainerError::Process(ProcessError::Init(format!(
            "unable to start container process: error adding pid {pid} to cgroups: failed to write {pid}: {m}"
        )))
    };
    for dir in paths.values() {
        let file = dir.join("cgroup.procs");
        let mut f = match std::fs::OpenOptions::new().write(true).open(&file) {
            Ok(f) => f,
            Err(_) if rootless => continue,
            Err(e) => return Err(fail(format!("openat2 {}: {}", file.display(), words(&e)))),
        };
        let mut tries = 0;
        loop {
            match f.write_all(pid.to_string().as_bytes()) {
                Ok(()) => break,
                Err(e) if e.raw_os_error() == Some(libc::EINVAL) && tries < 4 => {
                    tries += 1;
                    std::thread::sleep(std::time::Duration::from_millis(30));
                }
                Err(_) if rootless => break,
                Err(e) => return Err(fail(format!("write {}: {}", file.display(), words(&e)))),
            }
        }
    }
    Ok(())
}

fn atoi(what: &str, v: &str) -> Result<u32, ContainerError> {
    v.parse::<u32>().map_err(|_| {
        ContainerError::Usage(format!(
            "parsing {v} as int for {what} failed: strconv.Atoi: parsing {v:?}: invalid syntax"
        ))
    })
}

/// The process of an exec: `--process` JSON, or config.json's with the CLI overrides.
fn exec_process(
    s: &Saved,
    o: &ExecOpts,
    sink: LogSink,
) -> Result<oci_spec::runtime::Process, ContainerError> {
    if let Some(p) = &o.process {
        let data = std::fs::read(p).map_err(io(format!("open {}", p.display())))?;
        let bad =
            |e: serde_json::Error| ContainerError::Usage(format!("parsing {}: {e}", p.display()));
        let mut v: serde_json::Value = serde_json::from_slice(&data).map_err(bad)?;
        // runc decodes into Go's specs.Process, where a missing field is its
        // zero value: no `user` is uid 0, gid 0, and no `cwd` is "" (refused
        // by validateProcessSpec as "Cwd property must not be empty").
        // oci-spec requires both, so they are filled in first.
        if let Some(o) = v.as_object_mut() {
            o.entry("user").or_insert_with(|| serde_json::json!({}));
            o.entry("cwd").or_insert_with(|| "".into());
        }
        let proc: oci_spec::runtime::Process = serde_json::from_value(v).map_err(bad)?;
        return Ok(proc);
    }
    if o.args.is_empty() {
        return Err(ContainerError::ExecNoArgs);
    }
    let spec = spec::read(&s.bundle)?;
    let mut proc = spec.process().clone().ok_or(SpecError::NoProcess)?;
    proc.set_args(Some(o.args.clone()));
    proc.set_terminal(Some(o.tty));
    let mut env = proc.env().clone().unwrap_or_default();
    env.extend(o.env.iter().cloned());
    proc.set_env(Some(env));
    if let Some(c) = o.cwd.as_deref().filter(|c| !c.is_empty()) {
        proc.set_cwd(c.into());
    }
    if let Some(a) = o.apparmor.as_deref().filter(|a| !a.is_empty()) {
        proc.set_apparmor_profile(Some(a.to_string()));
    }
    if let Some(l) = o.process_label.as_deref().filter(|l| !l.is_empty()) {
        proc.set_selinux_label(Some(l.to_string()));
    }
    add_caps(&mut proc, &o.caps, sink);
    if o.no_new_privs {
        proc.set_no_new_privileges(Some(true));
    }
    let mut user = proc.user().clone();
    if let Some(u) = &o.user {
        let (uid, gid) = match u.split_once(':') {
            Some((u, g)) => (u, Some(g)),
            None => (u.as_str(), None),
        };
        user.set_uid(atoi("uid", uid)?);
        if let Some(g) = gid {
            user.set_gid(atoi("gid", g)?);
        }
    }
    if !o.additional_gids.is_empty() {
        let mut gids = Vec::new();
        for g in &o.additional_gids {
            gids.push(g.parse::<u32>().map_err(|_| {
                ContainerError::Usage(format!("additional-gids must be a positive number {g}"))
            })?);
        }
        user.set_additional_gids(Some(gids));
    }
    proc.set_user(user);
    Ok(proc)
}

/// `exec --cap`: runc 1.1.5 appends each name to the bounding, effective,
/// permitted and ambient sets (not the inheritable one). A name runc's
/// capability table does not know (it wants the exact `CAP_X` spelling) is
/// left out with runc's warning instead of failing the exec.
fn add_caps(proc: &mut oci_spec::runtime::Process, names: &[String], sink: LogSink) {
    use oci_spec::runtime::{Capability, LinuxCapabilities};
    if names.is_empty() {
        return;
    }
    let mut unknown = Vec::new();
    let mut known: Vec<Capability> = Vec::new();
    for n in names {
        let exact = n.starts_with("CAP_") && *n == n.to_ascii_uppercase();
        match serde_json::from_value::<Capability>(n.as_str().into()) {
            Ok(c) if exact => known.push(c),
            _ => unknown.push(n.as_str()),
        }
    }
    if !unknown.is_empty() {
        sink(
            "warning",
            &format!(
                "ignoring unknown or unavailable capabilities: [{}]",
                unknown.join(" ")
            ),
        );
    }
    // No capabilities at all: empty sets (oci-spec's Default is not empty).
    let mut c = proc.capabilities().clone().unwrap_or_else(|| {
        serde_json::from_value::<LinuxCapabilities>(serde_json::json!({})).unwrap_or_default()
    });
    let add = |set: &Option<oci_spec::runtime::Capabilities>| {
        let mut v = set.clone().unwrap_or_default();
        v.extend(known.iter().copied());
        Some(v)
    };
    let (b, e, p, a) = (
        add(c.bounding()),
        add(c.effective()),
        add(c.permitted()),
        add(c.ambient()),
    );
    c.set_bounding(b);
    c.set_effective(e);
    c.set_permitted(p);
    c.set_ambient(a);
    proc.set_capabilities(Some(c));
}

/// The exec'd process's security: its own caps/rlimits/NNP, the container's
/// seccomp profile and LSM setup.
fn exec_security(
    s: &Saved,
    proc: &oci_spec::runtime::Process,
) -> Result<SecurityPlan, ContainerError> {
    let mut sp = spec::read(&s.bundle)?;
    sp.set_process(Some(proc.clone()));
    Ok(SecurityPlan::from_spec(&sp, false).map_err(SpecError::from)?)
}

/// `exec`: a new process in a running container. Returns the exit code.
pub fn exec(root: &Root, id: &str, o: &ExecOpts, sink: LogSink) -> Result<i32, ContainerError> {
    let s = root.load(id)?;
    check_preserved(o.preserve_fds)?;
    match s.status(&root.dir(id)) {
        Status::Stopped => return Err(ContainerError::ExecStopped),
        Status::Paused if !o.ignore_paused => return Err(ContainerError::ExecPaused),
        _ => {}
    }
    let proc = exec_process(&s, o, sink)?;
    let sub = sub_cgroup_args(&o.sub_cgroups)?;
    let process = spec::process_plan(Some(&proc))?;
    let security = exec_security(&s, &proc)?;
    check_console(process.terminal, o.console_socket.is_some(), o.detach)?;
    let (console, relay) = console_for(process.terminal, o.detach, &o.console_socket)?;
    let extra: Vec<_> = console.iter().map(|c| c.as_fd()).collect();
    // Unlike runc 1.1 (cgroups.EnterPid of the last stage), stage-0 is born
    // in the cgroup, as for create: no pid write on the way (see cgroups::join).
    let cg = cgroup::open(&root.dir(id))?;
    // With --cgroup, runc's way: the sub-cgroups are computed from the
    // state's paths, and the process is moved there once it exists.
    let sub_paths = sub
        .map(|a| sub_cgroup_paths(&s.cgroup_paths, &a))
        .transpose()?;
    let spawn = Spawn {
        bootstrap: process::exec_bootstrap(s.init_pid, &s.namespaces, s.oom_score_adj)
            .map_err(ProcessError::from)?,
        extra,
        preserve: o.preserve_fds,
        loglevel: if o.debug { 5 } else { 4 },
        cwd: None,
        cgroup: cg
            .as_deref()
            .filter(|_| sub_paths.is_none())
            .map(|m| process::CgroupJoin {
                manager: m,
                create: false,
            }),
    };
    let mut init = process::spawn(spawn, sink)?;
    if let Some(paths) = &sub_paths {
        if let Err(e) = enter_cgroups(paths, init.pid) {
            init.kill();
            return Err(e);
        }
    }
    let plan = spec::InitPlan {
        process,
        rootfs: None,
        hostname: None,
        domainname: None,
        fds: spec::InitFds {
            fifo: None,
            console: init.extra_fds.first().copied(),
            preserve: o.preserve_fds,
        },
        id: id.to_string(),
        security,
        ..Default::default()
    };
    let set = (!o.detach).then(signal::block);
    let pid = init.pid;
    let mut on = |ev: process::Event| match ev {
        process::Event::ProcHooks => Err("unexpected procHooks in setns".to_string()),
        process::Event::SeccompFd(fd) => {
            send_listener(plan.security.seccomp.as_ref(), &s, "running", pid, fd)
        }
    };
    if let Err(e) = init.run_plan(&plan, sink, &mut on) {
        init.kill();
        return Err(e.into());
    }
    let relay = match relay
        .map(|(term, sock)| tty::recv_master(&sock).map(|m| (term, m)))
        .transpose()
    {
        Ok(r) => r,
        Err(e) => {
            init.kill();
            return Err(e);
        }
    };
    if let Some(p) = &o.pid_file {
        if let Err(e) = write_pid_file(p, init.pid) {
            init.kill();
            return Err(e);
        }
    }
    match (set, relay) {
        (None, _) => Ok(0),
        (Some(set), Some((term, master))) => term.relay(master, init.pid, &set),
        (Some(set), None) => Ok(signal::forward_until_exit(init.pid, &set)),
    }
}
