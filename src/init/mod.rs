//! `nsrun init`: runs in stage-2, inside the container's namespaces, after
//! nsexec returned. Reads its [`InitPlan`], builds the container world,
//! reports ready, waits on the exec fifo (create) and execs the process.

pub mod console;

use std::ffi::CString;
use std::io::Write;
use std::os::fd::{FromRawFd, OwnedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::errno::Errno;
use thiserror::Error;

use crate::codec;
use crate::errno::Go;
use crate::rootfs::{self, RootfsError};
use crate::spec::plan::{InitPlan, ProcessPlan, Report};

#[derive(Debug, Error)]
pub enum InitError {
    #[error("nsrun init must be started by nsrun")]
    NotInit,
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
    #[error("{0}")]
    Console(String),
    #[error("sethostname: {}", Go(*.0 as i32))]
    Hostname(nix::Error),
    #[error("setdomainname: {}", Go(*.0 as i32))]
    Domainname(nix::Error),
    #[error("{0}")]
    User(String),
    #[error("chdir to cwd ({:?}) set in config.json failed: {}", .0, Go(*.1 as i32))]
    Cwd(String, nix::Error),
    #[error("exec: {0:?}: {1}")]
    Lookup(String, String),
    /// A malformed process.env entry (runc's Go Setenv check); runc_words
    /// adds the "unable to start container process: " chain.
    #[error("{0}")]
    Env(String),
    #[error(transparent)]
    Security(#[from] crate::security::SecurityError),
    #[error(transparent)]
    Hook(#[from] crate::hooks::HookError),
    #[error("{0}")]
    Other(String),
}

fn env_fd(name: &str) -> Option<RawFd> {
    std::env::var(name).ok()?.parse().ok().filter(|fd| *fd >= 0)
}

/// Take ownership of an fd number our parent set up for us.
fn take_fd(fd: RawFd) -> OwnedFd {
    // SAFETY: the parent placed this fd in init for init's sole use
    // (process::spawn); nothing else in this process owns it.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    let _ = nix::fcntl::fcntl(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        nix::fcntl::FcntlArg::F_SETFD(nix::fcntl::FdFlag::FD_CLOEXEC),
    );
    fd
}

/// Entry point from main for `argv[1] == "init"`. Never returns.
pub fn run() -> ! {
    let (Some(sock_fd), log_fd) = (
        env_fd("_LIBCONTAINER_INITPIPE"),
        env_fd("_LIBCONTAINER_LOGPIPE"),
    ) else {
        eprintln!("{}", InitError::NotInit);
        std::process::exit(1);
    };
    let mut sock = UnixStream::from(take_fd(sock_fd));
    // init reports through the socket; the log pipe carries only runc's two
    // debug lines of its Go init, which users and runc's debug.bats look for.
    let mut log = log_fd.map(take_fd).map(std::fs::File::from);
    let debug = std::env::var("_LIBCONTAINER_LOGLEVEL").is_ok_and(|l| l.parse() == Ok(5u8));
    let mut log_debug = |msg: &str| {
        if let (true, Some(f)) = (debug, log.as_mut()) {
            let line = serde_json::json!({"level": "debug", "msg": msg});
            let _ = writeln!(f, "{line}");
        }
    };
    // runc's init.go, once nsexec returned.
    log_debug("child process in init()");
    let plan: InitPlan = match codec::recv(&mut sock) {
        Ok(p) => p,
        Err(e) => {
            let _ = codec::send(&mut sock, &Report::Failed(e.to_string()));
            std::process::exit(1);
        }
    };
    // The runtime's bind sources follow the plan, one per bind in order.
    let sources = match recv_mount_sources(&plan, &sock) {
        Ok(s) => s,
        Err(e) => {
            let _ = codec::send(&mut sock, &Report::Failed(e));
            std::process::exit(1);
        }
    };
    let mut past_ready = false;
    let ready = match prepare(&plan, &mut sock, sources, &mut past_ready) {
        Ok(r) => r,
        Err(e) => {
            let msg = runc_words(plan.rootfs.is_some(), past_ready, &e);
            let _ = codec::send(&mut sock, &Report::Failed(msg));
            std::process::exit(1);
        }
    };
    // runc's standard init right before it closes the pipe; its setns
    // init (exec) right before it closes the log pipe.
    log_debug(if plan.fds.fifo.is_some() {
        "init: closing the pipe to signal completion"
    } else {
        "setns_init: about to exec"
    });
    if codec::send(&mut sock, &Report::Ready).is_err() {
        std::process::exit(1);
    }
    drop(sock);
    drop(log);
    if let Some(fifo) = plan.fds.fifo {
        if let Err(e) = wait_for_start(fifo) {
            eprintln!("nsrun init: {e}");
            std::process::exit(1);
        }
        // runc: startContainer hooks run after the fifo opened, right before execve.
        if let Err(e) = run_in_container(&plan, crate::hooks::Kind::StartContainer, "created") {
            eprintln!("{e}");
            std::process::exit(1);
        }
    }
    let e = nix::unistd::execve(&ready.path, &ready.argv, &ready.envp).unwrap_err();
    eprintln!("nsrun init: exec {:?}: {e}", plan.process.args[0]);
    std::process::exit(255);
}

/// Block until `start` opens the fifo (runc: open `/proc/self/fd/N` O_WRONLY,
/// write one byte). The O_PATH fd came from the parent, so its readlink from
/// the host is `<root>/<id>/exec.fifo`, which containerd checks.
fn wait_for_start(fifo: RawFd) -> Result<(), String> {
    let path = format!("/proc/self/fd/{fifo}");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .open(&path)
        .map_err(|e| format!("open exec fifo {path}: {}", crate::errno::io(&e)))?;
    f.write_all(b"0")
        .map_err(|e| format!("write exec fifo {path}: {}", crate::errno::io(&e)))?;
    // A plain close(2), as runc's: no fcntl after the filter is loaded.
    let _ = nix::unistd::close(fifo);
    Ok(())
}

/// What execve needs, resolved before init reports ready.
struct Ready {
    path: CString,
    argv: Vec<CString>,
    envp: Vec<CString>,
}

/// createContainer/startContainer hooks, in init's namespaces, with the
/// state JSON carrying init's own pid (runc: unix.Getpid()).
fn run_in_container(
    plan: &InitPlan,
    kind: crate::hooks::Kind,
    status: &str,
) -> Result<(), InitError> {
    let hooks = plan.hooks.get(kind);
    if hooks.is_empty() {
        return Ok(());
    }
    let mut state: serde_json::Value = serde_json::from_str(&plan.state).unwrap_or_default();
    state["status"] = status.into();
    state["pid"] = std::process::id().into();
    crate::hooks::run(hooks, state.to_string().as_bytes(), None)?;
    Ok(())
}

/// runc's error chain for init: container.start wraps everything in
/// "unable to start container process: ", and initProcess.start adds
/// "error during container init: " to what init reported before procReady
/// (rootfs, console, hostname, sysctls, paths, nnp, rlimits). After it
/// (user, cwd, caps, seccomp, the executable) and for exec's setns init
/// there is no such middle part.
fn runc_words(create: bool, past_ready: bool, e: &InitError) -> String {
    let mid = if create && !past_ready {
        "error during container init: "
    } else {
        ""
    };
    format!("unable to start container process: {mid}{e}")
}

/// `plan.rootfs.mount_sources`: one fd per bind mount, aligned with the
/// mounts (None for the others). They are O_CLOEXEC and dropped once the
/// mounts are made, as runc closes its mountFds after prepareRootfs.
fn recv_mount_sources(
    plan: &InitPlan,
    sock: &UnixStream,
) -> Result<Vec<Option<std::os::fd::OwnedFd>>, String> {
    let Some(r) = plan.rootfs.as_ref().filter(|r| r.mount_sources) else {
        return Ok(vec![]);
    };
    r.mounts
        .iter()
        .map(|m| match m.kind {
            rootfs::MountKind::Bind => crate::process::fdpass::recv_fd(sock)
                .map(Some)
                .map_err(|e| format!("receive mount source {}: {e}", m.source)),
            _ => Ok(None),
        })
        .collect()
}

/// `past_ready` is set where runc's init sends procReady.
fn prepare(
    plan: &InitPlan,
    sock: &mut UnixStream,
    sources: Vec<Option<std::os::fd::OwnedFd>>,
    past_ready: &mut bool,
) -> Result<Ready, InitError> {
    let p = &plan.process;
    go_setenv(&p.env)?;
    let sec = &plan.security;
    let create = plan.rootfs.is_some();
    sec.join_keyring(&plan.id, create)?;
    // runc's order (standard_init_linux.go): rootfs (with the hooks before the
    // pivot), console, hostname, apparmor, sysctls, read-only and masked paths.
    if let Some(r) = &plan.rootfs {
        rootfs::mount_rootfs_with(r, None, &sources)?;
        drop(sources);
        if plan.proc_hooks {
            codec::send(sock, &Report::ProcHooks).map_err(|e| InitError::Other(e.to_string()))?;
            codec::recv::<(), _>(sock).map_err(|e| InitError::Other(e.to_string()))?;
        }
        run_in_container(plan, crate::hooks::Kind::CreateContainer, "creating")?;
        rootfs::enter_rootfs(r)?;
    }
    if p.terminal {
        let sock = plan
            .fds
            .console
            .ok_or_else(|| InitError::Console("no console socket".into()))?;
        console::setup(take_fd(sock), p.console_size, plan.rootfs.is_some())?;
    } else if let Some(sock) = plan.fds.console {
        drop(take_fd(sock));
    }
    if let Some(h) = &plan.hostname {
        nix::unistd::sethostname(h).map_err(InitError::Hostname)?;
    }
    if let Some(d) = &plan.domainname {
        set_domainname(d).map_err(InitError::Domainname)?;
    }
    if let Some(r) = &plan.rootfs {
        sec.apply_apparmor()?;
        sec.apply_sysctls()?;
        rootfs::finalize(r)?;
    }
    sec.apply_personality()?;
    sec.apply_scheduler()?;
    sec.apply_io_priority()?;
    sec.apply_no_new_privs()?;
    sec.apply_rlimits()?;
    // runc's syncParentReady: after the no_new_privs prctl, with the rlimits
    // set by its parent at procReady (<https://github.com/opencontainers/runc/blob/v1.1.5/libcontainer/standard_init_linux.go#L173>).
    *past_ready = true;
    sec.apply_selinux_label()?;
    // Only stdio and --preserve-fds cross the final execve (CVE-2024-21626):
    // runc's CloseExecFrom, a walk of /proc/self/fd, done before any filter
    // is loaded so a profile without close_range cannot break it. Every fd
    // init opens after this point is O_CLOEXEC (std, the kernel's listener).
    crate::process::sys::cloexec_walk_from(3 + plan.fds.preserve as i32)
        .map_err(|e| InitError::Other(format!("error closing exec fds: {}", walk_words(e))))?;
    // Everything init reads from files is read now, before a filter may
    // answer with ENOSYS/EPERM or hold an open in SCMP_ACT_NOTIFY while no
    // agent has the listener yet (a deadlock): cap_last_cap for the drop,
    // /proc/self/setgroups for the user switch, /etc/passwd for HOME.
    let last_cap = crate::security::caps::last_cap();
    let setgroups_allowed = std::fs::read_to_string("/proc/self/setgroups")
        .map(|s| s.trim() != "deny")
        .unwrap_or(true);
    // runc reads the user's HOME in setupUser, still as root (a passwd
    // the user cannot read still counts).
    let env = go_environ(&p.env, p.uid)?;
    // runc's finalizeNamespace: enter the cwd while still root with every
    // capability (a 0700 root-owned cwd works for any user), and once more
    // after the user switch only if that failed for lack of permission (a
    // cwd only the container user may enter, e.g. a rootless volume).
    let cwd = Path::new(&p.cwd);
    let chdir_again = match nix::unistd::chdir(cwd) {
        Ok(()) => false,
        Err(Errno::EACCES | Errno::EPERM) => true,
        Err(e) => return Err(InitError::Cwd(p.cwd.clone(), e)),
    };
    // Without no_new_privs loading a filter needs CAP_SYS_ADMIN: before the
    // drop. runc (standard_init_linux.go, setns_init_linux.go) hands the
    // listener over right after loading, before anything else is called.
    if sec.seccomp_before_caps() {
        send_listener(sock, sec.load_seccomp()?)?;
    }
    sec.finalize(last_cap, || {
        set_user(p, setgroups_allowed)?;
        if chdir_again {
            nix::unistd::chdir(cwd).map_err(|e| InitError::Cwd(p.cwd.clone(), e))?;
        }
        verify_cwd()
    })?;
    if !create {
        // runc's setns init applies the profile after the user switch.
        sec.apply_apparmor()?;
    }
    nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(
        p.umask.unwrap_or(0o022),
    ));
    let path = lookup(&p.args[0], &env)?;
    let cs = |s: &str| CString::new(s).map_err(|_| InitError::Other(format!("NUL byte in {s:?}")));
    let argv = p
        .args
        .iter()
        .map(|a| cs(a))
        .collect::<Result<Vec<_>, _>>()?;
    let envp = env.iter().map(|a| cs(a)).collect::<Result<Vec<_>, _>>()?;
    let set = nix::sys::signal::SigSet::empty();
    let _ =
        nix::sys::signal::sigprocmask(nix::sys::signal::SigmaskHow::SIG_SETMASK, Some(&set), None);
    // nsrun ignores SIGPIPE (src/main.rs), and an ignored signal stays
    // ignored across execve: the container's process starts with SIGPIPE
    // at its default, as under runc, whose Go runtime never sets SIG_IGN.
    // SAFETY: signal(2) with SIG_DFL installs no handler.
    unsafe { libc::signal(libc::SIGPIPE, libc::SIG_DFL) };
    // As close to execve as possible, but while the socket can still carry the listener.
    if !sec.seccomp_before_caps() {
        send_listener(sock, sec.load_seccomp()?)?;
    }
    Ok(Ready {
        path: cs(&path)?,
        argv,
        envp,
    })
}

/// runc's verifyCwd (CVE-2024-21626): a cwd outside the container's root
/// (reached through a leaked fd) makes getcwd(2) fail with ENOENT.
fn verify_cwd() -> Result<(), InitError> {
    match nix::unistd::getcwd() {
        Err(Errno::ENOENT) => Err(InitError::Other(
            "current working directory is outside of container mount namespace root -- possible container breakout detected".into(),
        )),
        Err(e) => Err(InitError::Other(format!(
            "failed to verify if current working directory is safe: {}",
            Go(e as i32)
        ))),
        Ok(wd) if !wd.is_absolute() => Err(InitError::Other(format!(
            "current working directory is not absolute -- possible container breakout detected: cwd is {:?}",
            wd.display().to_string()
        ))),
        Ok(_) => Ok(()),
    }
}

/// runc's syncParentSeccomp: send the SCMP_ACT_NOTIFY listener (if any) up,
/// wait until the runtime gave it to the agent, close it. Only write,
/// sendmsg, read and close: the filter is already loaded.
fn send_listener(sock: &mut UnixStream, listener: Option<OwnedFd>) -> Result<(), InitError> {
    let Some(fd) = listener else {
        return Ok(());
    };
    codec::send(sock, &Report::SeccompFd).map_err(|e| InitError::Other(e.to_string()))?;
    crate::process::fdpass::send_fd(sock, &fd)
        .map_err(|e| InitError::Other(format!("send seccomp fd: {e}")))?;
    codec::recv::<(), _>(sock)
        .map_err(|e| InitError::Other(format!("sync parent seccomp: {e}")))?;
    Ok(())
}

fn set_domainname(d: &str) -> nix::Result<()> {
    // SAFETY: pointer and length describe a valid byte buffer.
    let r = unsafe { libc::setdomainname(d.as_ptr().cast(), d.len()) };
    nix::errno::Errno::result(r).map(drop)
}

/// runc's fixStdioPermissions (init_linux.go setupUser): before the switch,
/// stdio is given to the container's uid (the gid is kept: the devpts
/// mount's gid=5 for a console), so a non-root process owns its terminal
/// and can reopen /dev/stdout. The container's /dev/null is skipped, and
/// EINVAL/EPERM/EROFS are ignored, as in runc. Unlike runc, regular files
/// and directories are never chowned: a stdio redirected to a host file
/// would otherwise hand that host file to a container-chosen uid.
fn fix_stdio_permissions(uid: u32) -> Result<(), InitError> {
    use nix::sys::stat::{fstat, stat, SFlag};
    let null = stat("/dev/null").map_err(|e| InitError::User(format!("stat /dev/null: {e}")))?;
    for fd in [0, 2, 1] {
        let st = fstat(fd).map_err(|e| InitError::User(format!("fstat fd {fd}: {e}")))?;
        let kind = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT;
        if st.st_rdev == null.st_rdev || kind == SFlag::S_IFREG || kind == SFlag::S_IFDIR {
            continue;
        }
        match nix::unistd::fchown(
            fd,
            Some(nix::unistd::Uid::from_raw(uid)),
            Some(nix::unistd::Gid::from_raw(st.st_gid)),
        ) {
            Ok(()) => {}
            Err(
                nix::errno::Errno::EINVAL | nix::errno::Errno::EPERM | nix::errno::Errno::EROFS,
            ) => {}
            Err(e) => return Err(InitError::User(format!("fchown fd {fd}: {e}"))),
        }
    }
    Ok(())
}

/// `setgroups_allowed`: /proc/self/setgroups is not "deny" (rootless user
/// namespaces deny it), read by the caller before any filter loads.
fn set_user(p: &ProcessPlan, setgroups_allowed: bool) -> Result<(), InitError> {
    use nix::unistd::{setgroups, setresgid, setresuid, Gid, Uid};
    fix_stdio_permissions(p.uid)?;
    if setgroups_allowed {
        let gids: Vec<Gid> = p
            .additional_gids
            .iter()
            .map(|g| Gid::from_raw(*g))
            .collect();
        setgroups(&gids).map_err(|e| InitError::User(format!("setgroups: {}", Go(e as i32))))?;
    } else if !p.additional_gids.is_empty() {
        return Err(InitError::User(
            "cannot set additional gids: setgroups is denied".into(),
        ));
    }
    let g = Gid::from_raw(p.gid);
    setresgid(g, g, g).map_err(|e| InitError::User(format!("setgid: {}", Go(e as i32))))?;
    let u = Uid::from_raw(p.uid);
    setresuid(u, u, u).map_err(|e| InitError::User(format!("setuid: {}", Go(e as i32))))?;
    Ok(())
}

/// runc's populateProcessEnvironment over a cleared environment: Go's
/// os.Setenv for each entry, in order. runc runs it first of all in its
/// init, so its errors come before any other and are pre-ready errors.
fn go_setenv(env: &[String]) -> Result<Vec<String>, InitError> {
    let mut out: Vec<String> = Vec::with_capacity(env.len() + 1);
    for pair in env {
        let Some((name, _)) = pair.split_once('=') else {
            return Err(InitError::Env(format!(
                "invalid environment variable: {pair:?}"
            )));
        };
        if name.is_empty() {
            return Err(InitError::Env(format!(
                "environment variable name can't be empty: {pair:?}"
            )));
        }
        set_env(&mut out, name, pair.clone());
    }
    Ok(out)
}

/// Go's Setenv on its env slice: replace in place, else append.
fn set_env(out: &mut Vec<String>, name: &str, kv: String) {
    match out.iter_mut().find(|e| e.split('=').next() == Some(name)) {
        Some(e) => *e = kv,
        None => out.push(kv),
    }
}

/// The environment runc's init execs with: os.Clearenv, then os.Setenv of
/// each entry (populateProcessEnvironment: a repeated name keeps its first
/// place and takes the last value; an entry without `=` or with an empty
/// name is refused), then HOME from the container's /etc/passwd entry of
/// `uid` ("/" without one) when HOME is unset or empty (finalizeNamespace
/// -> setupUser, user.GetExecUserPath's default).
fn go_environ(env: &[String], uid: u32) -> Result<Vec<String>, InitError> {
    let mut out = go_setenv(env)?;
    if !out.iter().any(|e| e.len() > 5 && e.starts_with("HOME=")) {
        let home = std::fs::read_to_string("/etc/passwd")
            .ok()
            .and_then(|s| {
                s.lines().find_map(|l| {
                    let f: Vec<&str> = l.split(':').collect();
                    (f.len() >= 6 && f[2].parse() == Ok(uid)).then(|| f[5].to_string())
                })
            })
            .unwrap_or_else(|| "/".into());
        set_env(&mut out, "HOME", format!("HOME={home}"));
    }
    Ok(out)
}

/// Go's exec.LookPath with the process's own PATH, and its error words.
fn lookup(arg0: &str, env: &[String]) -> Result<String, InitError> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| -> Result<(), String> {
        let m = std::fs::metadata(p)
            .map_err(|e| format!("stat {}: {}", p.display(), crate::errno::io(&e)))?;
        if m.is_dir() || m.permissions().mode() & 0o111 == 0 {
            // Go's findExecutable returns fs.ErrPermission as it is, with
            // no "stat <path>: " (a directory too, before Go 1.22's EISDIR).
            return Err("permission denied".into());
        }
        Ok(())
    };
    if arg0.contains('/') {
        return executable(Path::new(arg0))
            .map(|_| arg0.to_string())
            .map_err(|e| InitError::Lookup(arg0.into(), e));
    }
    let path = env
        .iter()
        .rev()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or("");
    for dir in path.split(':') {
        let dir = if dir.is_empty() { "." } else { dir };
        let cand = Path::new(dir).join(arg0);
        if executable(&cand).is_ok() {
            return Ok(cand.display().to_string());
        }
    }
    Err(InitError::Lookup(
        arg0.into(),
        "executable file not found in $PATH".into(),
    ))
}

/// runc's words for a failed /proc/self/fd walk (utils.fdRangeFrom).
fn walk_words(e: crate::process::sys::WalkError) -> String {
    use crate::process::sys::WalkError;
    let go = crate::errno::text;
    match e {
        WalkError::Open(n) => format!("open /proc/self/fd: {}", go(n)),
        WalkError::Fstatfs(n) => format!("ensure /proc/self/fd is on procfs: {}", go(n)),
        WalkError::NotProcfs => "/proc/self/fd is not on procfs".into(),
        WalkError::Readdir(n) => format!("readdirent /proc/self/fd: {}", go(n)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookup_words_match_go() {
        let env = vec!["PATH=/nonexistent:/bin".to_string()];
        assert_eq!(lookup("sh", &env).unwrap(), "/bin/sh");
        // As the parent shows it: after runc's procReady point.
        let shown = |a: &str| runc_words(true, true, &lookup(a, &env).unwrap_err());
        assert_eq!(
            shown("/nonexist"),
            "unable to start container process: exec: \"/nonexist\": stat /nonexist: no such file or directory"
        );
        assert_eq!(
            shown("nope-nope"),
            "unable to start container process: exec: \"nope-nope\": executable file not found in $PATH"
        );
        // Not executable, and a directory: fs.ErrPermission with no stat words.
        for p in ["/etc/passwd", "/etc"] {
            assert_eq!(
                shown(p),
                format!("unable to start container process: exec: {p:?}: permission denied")
            );
        }
    }

    #[test]
    fn environ_follows_go_setenv() {
        let v = |a: &[&str]| a.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(go_environ(&v(&["HOME=/x"]), 0).unwrap(), v(&["HOME=/x"]));
        assert!(go_environ(&[], 4242)
            .unwrap()
            .iter()
            .any(|e| e.starts_with("HOME=")));
        // Repeats: first place, last value; an empty HOME is replaced in place.
        let e = go_environ(&v(&["A=1", "HOME=", "A=2", "B=3"]), 4242).unwrap();
        assert_eq!(e[0], "A=2");
        assert!(e[1].starts_with("HOME=") && e[1].len() > 5, "{e:?}");
        assert_eq!(e[2], "B=3");
        assert_eq!(
            go_environ(&v(&["A=1", "FOO"]), 0).unwrap_err().to_string(),
            // runc_words adds "unable to start container process: error during container init: ".
            "invalid environment variable: \"FOO\""
        );
        assert_eq!(
            go_environ(&v(&["=x"]), 0).unwrap_err().to_string(),
            "environment variable name can't be empty: \"=x\""
        );
    }
}
