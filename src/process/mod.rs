//! Spawning `nsrun init` through the nsexec stage, as runc's Go parent does:
//! exec our own (protected) binary with `_LIBCONTAINER_INITPIPE/LOGPIPE`,
//! send the bootstrap message, read `{"stage1_pid":..,"stage2_pid":..}`,
//! reap stage-0/1, then talk to stage-2 (our init) with the bincode codec.

pub mod birth;
pub mod exe;
pub mod fdpass;
pub mod sys;

use std::ffi::CString;
use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::net::UnixStream;
use std::path::Path;

use nix::sys::wait::{waitpid, WaitStatus};
use nix::unistd::Pid;
use thiserror::Error;

use crate::bootstrap::{self, MessageBuilder};
use crate::codec::{self, CodecError};
use crate::spec::plan::{InitPlan, Plan, Report};

#[derive(Debug, Error)]
pub enum ProcessError {
    #[error("protect the runtime binary: {}", crate::errno::io(.0))]
    Exe(std::io::Error),
    #[error("create init pipes: {}", crate::errno::io(.0))]
    Pipes(std::io::Error),
    #[error("start init: {}", crate::errno::io(.0))]
    Fork(std::io::Error),
    #[error("{0}")]
    Bootstrap(#[from] bootstrap::EncodeError),
    #[error("send bootstrap data: {}", crate::errno::io(.0))]
    SendBootstrap(std::io::Error),
    #[error("{msg}{}", fatal_suffix(.fatal))]
    Stage { msg: String, fatal: Vec<String> },
    #[error("{0}")]
    Codec(#[from] CodecError),
    #[error("unable to apply cgroup configuration: {0}")]
    Cgroup(crate::cgroups::Error),
    /// init's own error, in runc's words.
    #[error("{0}")]
    Init(String),
}

fn fatal_suffix(f: &[String]) -> String {
    if f.is_empty() {
        String::new()
    } else {
        format!("; runc init error(s): {}", f.join("; "))
    }
}

/// Where forwarded stage log lines go: `(level, msg)`.
pub type LogSink<'a> = &'a mut dyn FnMut(&str, &str);

/// What to start.
pub struct Spawn<'a> {
    pub bootstrap: Vec<u8>,
    /// Passed after the init socket and log pipe, in this order.
    pub extra: Vec<BorrowedFd<'a>>,
    /// `--preserve-fds`: fds 3..3+N are passed at the same numbers.
    pub preserve: u32,
    /// logrus level for the stage (4 info, 5 debug).
    pub loglevel: u8,
    /// Working directory of init (runc: the rootfs).
    pub cwd: Option<&'a Path>,
    /// The container's cgroup, which stage-0 is born in.
    pub cgroup: Option<CgroupJoin<'a>>,
}

/// Which cgroup stage-0 joins: `create` makes it first (create/run); exec
/// joins the existing one.
pub struct CgroupJoin<'a> {
    pub manager: &'a dyn crate::cgroups::Manager,
    pub create: bool,
}

/// What init asks of the runtime while it sets up.
pub enum Event {
    /// Run prestart + createRuntime now (mounts done, before the pivot).
    ProcHooks,
    /// The SCMP_ACT_NOTIFY listener, for linux.seccomp.listenerPath.
    SeccompFd(std::os::fd::OwnedFd),
}

/// A running stage-2 (the container's init, or the exec'd process) before it
/// was told its plan.
pub struct Init {
    pub pid: i32,
    /// The fd numbers `Spawn::extra` got in init.
    pub extra_fds: Vec<i32>,
    sock: UnixStream,
    log: File,
    fatal: Vec<String>,
}

/// Bootstrap for create/run: new namespaces in the clone flags, joined ones
/// as paths, maps when the user namespace is new (nsexec-protocol.md §2.4).
pub fn create_bootstrap(plan: &Plan) -> Result<Vec<u8>, bootstrap::EncodeError> {
    let mut flags = 0u32;
    let mut paths = Vec::new();
    for ns in &plan.namespaces {
        match &ns.path {
            None => flags |= bootstrap::ns_flag(&ns.name).unwrap_or(0) as u32,
            Some(p) => paths.push((ns.name.clone(), p.display().to_string())),
        }
    }
    let mut m = MessageBuilder::new();
    m.int32(bootstrap::CLONE_FLAGS_ATTR, flags);
    if !paths.is_empty() {
        m.ns_paths(&paths)?;
    }
    let euid = nix::unistd::geteuid().as_raw();
    if plan.new_ns("user") {
        let text = |maps: &[crate::spec::IdMap]| {
            maps.iter()
                .map(|m| format!("{} {} {}\n", m.container, m.host, m.size))
                .collect::<String>()
        };
        if !plan.uid_mappings.is_empty() {
            m.bytes(bootstrap::UIDMAP_ATTR, text(&plan.uid_mappings).as_bytes())?;
        }
        if !plan.gid_mappings.is_empty() {
            m.bytes(bootstrap::GIDMAP_ATTR, text(&plan.gid_mappings).as_bytes())?;
            // runc: setgroups stays allowed unless the map is just our own gid.
            let egid = nix::unistd::getegid().as_raw();
            let own = plan.gid_mappings.len() == 1
                && plan.gid_mappings[0].container == 0
                && plan.gid_mappings[0].host == egid
                && plan.gid_mappings[0].size == 1;
            if !own {
                m.boolean(bootstrap::SETGROUP_ATTR, true);
            }
        }
    }
    if let Some(oom) = plan.oom_score_adj {
        m.bytes(bootstrap::OOM_SCORE_ADJ_ATTR, oom.to_string().as_bytes())?;
    }
    m.boolean(bootstrap::ROOTLESS_EUID_ATTR, euid != 0);
    if !crate::RUNC_1_1 && !plan.time_offsets.is_empty() {
        let t: String = plan
            .time_offsets
            .iter()
            .map(|(c, s, n)| format!("{c} {s} {n}\n"))
            .collect();
        m.bytes(bootstrap::TIMENSOFFSET_ATTR, t.as_bytes())?;
    }
    Ok(m.finish(1))
}

/// Bootstrap for exec: clone flags 0 and every namespace as a path.
pub fn exec_bootstrap(
    init_pid: i32,
    namespaces: &[crate::spec::Namespace],
    oom: Option<i32>,
) -> Result<Vec<u8>, bootstrap::EncodeError> {
    let paths: Vec<(String, String)> = namespaces
        .iter()
        .map(|ns| {
            let p = match &ns.path {
                Some(p) => p.display().to_string(),
                None => format!("/proc/{init_pid}/ns/{}", ns.name),
            };
            (ns.name.clone(), p)
        })
        .collect();
    let mut m = MessageBuilder::new();
    m.int32(bootstrap::CLONE_FLAGS_ATTR, 0);
    m.ns_paths(&paths)?;
    if let Some(oom) = oom {
        m.bytes(bootstrap::OOM_SCORE_ADJ_ATTR, oom.to_string().as_bytes())?;
    }
    m.boolean(
        bootstrap::ROOTLESS_EUID_ATTR,
        nix::unistd::geteuid().as_raw() != 0,
    );
    Ok(m.finish(1))
}

#[derive(serde::Deserialize)]
struct Pids {
    stage1_pid: i32,
    stage2_pid: i32,
}

#[derive(serde::Deserialize)]
struct StageLine {
    level: String,
    msg: String,
}

/// Start `nsrun init` and run the stage up to the hand-off to stage-2.
pub fn spawn(s: Spawn, sink: LogSink) -> Result<Init, ProcessError> {
    let (exe, how) = exe::protected_exe().map_err(ProcessError::Exe)?;
    sink("debug", &format!("init binary: {how:?}"));
    let (parent, child) = UnixStream::pair().map_err(ProcessError::Pipes)?;
    let (log_r, log_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC)
        .map_err(|e| ProcessError::Pipes(e.into()))?;

    let base = 3 + s.preserve as RawFd;
    let sources: Vec<RawFd> = [child.as_raw_fd(), log_w.as_raw_fd()]
        .into_iter()
        .chain(s.extra.iter().map(|f| f.as_raw_fd()))
        .collect();
    let targets: Vec<RawFd> = (0..sources.len() as RawFd).map(|i| base + i).collect();
    let extra_fds = targets[2..].to_vec();

    let argv0 = std::env::args_os()
        .next()
        .map(|a| a.into_encoded_bytes())
        .unwrap_or_else(|| b"nsrun".to_vec());
    let argv = [
        CString::new(argv0).unwrap_or_else(|_| c"nsrun".into()),
        c"init".into(),
    ];
    let envp = [
        CString::new(format!("_LIBCONTAINER_INITPIPE={}", targets[0])).unwrap(),
        CString::new(format!("_LIBCONTAINER_LOGPIPE={}", targets[1])).unwrap(),
        CString::new(format!("_LIBCONTAINER_LOGLEVEL={}", s.loglevel)).unwrap(),
    ];
    let cwd = s
        .cwd
        .map(|p| CString::new(p.as_os_str().as_encoded_bytes()).unwrap_or_default());
    let (argv_p, envp_p) = (sys::ptrs(&argv), sys::ptrs(&envp));
    let above = base + sources.len() as RawFd;

    // Stage-0 joins the cgroup before the bootstrap data is sent, so
    // stage-1/2 inherit it and a new cgroupns is rooted there (runc's order).
    let t = std::time::Instant::now();
    let join = s
        .cgroup
        .as_ref()
        .map(|c| c.manager.join_plan(c.create))
        .transpose()
        .map_err(ProcessError::Cgroup)?;
    let report = birth::report_pipe(join.as_ref()).map_err(ProcessError::Pipes)?;
    let born = birth::fork_into(join.as_ref()).map_err(ProcessError::Fork)?;
    let pid = born.pid;
    if pid == 0 {
        // Child: only async-signal-safe calls from here on.
        if let Some(j) = &join {
            birth::join_in_child(j, report.as_ref().map(|(_, w)| w.as_fd()));
        }
        // Every source fd (and the binary's) may sit on a target number:
        // move them up first.
        let exe_fd = sys::dup_above(exe.as_raw_fd(), above).unwrap_or_else(|_| sys::exit_now(127));
        let mut tmp = [0 as RawFd; 8];
        for (i, fd) in sources.iter().enumerate() {
            tmp[i] = sys::dup_above(*fd, above).unwrap_or_else(|_| sys::exit_now(127));
        }
        for fd in 3..base {
            if sys::dup_to(fd, fd).is_err() {
                sys::exit_now(127);
            }
        }
        for (i, t) in targets.iter().enumerate() {
            if sys::dup_to(tmp[i], *t).is_err() {
                sys::exit_now(127);
            }
        }
        if sys::cloexec_from(above as u32).is_err() {
            sys::exit_now(127);
        }
        if let Some(c) = &cwd {
            // SAFETY: chdir with a valid C string.
            if unsafe { libc::chdir(c.as_ptr()) } != 0 {
                sys::exit_now(127);
            }
        }
        // SAFETY: exe_fd is our own copy, alive until execveat.
        sys::execveat_fd(unsafe { BorrowedFd::borrow_raw(exe_fd) }, &argv_p, &envp_p);
        sys::exit_now(127);
    }
    drop(child);
    drop(log_w);
    drop(exe);
    nix::fcntl::fcntl(
        log_r.as_raw_fd(),
        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
    )
    .map_err(|e| ProcessError::Pipes(e.into()))?;
    let stage0 = pid;
    let mut init = Init {
        pid: 0,
        extra_fds,
        sock: parent,
        log: File::from(log_r),
        fatal: Vec::new(),
    };

    let r = place_in_cgroup(&born, join.as_ref(), report, s.cgroup.as_ref());
    if s.cgroup.is_some() {
        sink(
            "debug",
            &format!(
                "cgroup joined in {} us (clone3: {})",
                t.elapsed().as_micros(),
                born.in_v2
            ),
        );
    }
    let r = r.and_then(|_| init.handshake(stage0, &s.bootstrap, sink));
    if r.is_err() {
        // Never leave a half-made stage behind.
        let _ = nix::sys::signal::kill(Pid::from_raw(stage0), nix::sys::signal::Signal::SIGKILL);
        let _ = waitpid(Pid::from_raw(stage0), None);
    }
    r.map(|_| init)
}

/// The parent's part of stage-0's join (see `birth`).
fn place_in_cgroup(
    born: &birth::Born,
    join: Option<&crate::cgroups::join::Join>,
    report: Option<(std::os::fd::OwnedFd, std::os::fd::OwnedFd)>,
    cgroup: Option<&CgroupJoin>,
) -> Result<(), ProcessError> {
    let (Some(j), Some(c)) = (join, cgroup) else {
        return Ok(());
    };
    birth::finish(j, born, report).map_err(ProcessError::Cgroup)?;
    if j.apply_after {
        c.manager.apply(born.pid).map_err(ProcessError::Cgroup)?;
    }
    Ok(())
}

/// How long the runtime waits on the stage and on init for each step of a
/// start (the stage's pid report, each of init's messages) unless
/// NSRUN_INIT_TIMEOUT (seconds, 0 = forever) says otherwise. A healthy start
/// takes milliseconds, and about a second on a loaded 2-core machine: the
/// bound only trips on a stuck peer (runc#4228, runc#3904: `runc init`
/// stuck in a stage, forever), and then the error names what was awaited.
const INIT_TIMEOUT_S: u64 = 60;

pub fn init_timeout() -> Option<std::time::Duration> {
    let s = std::env::var("NSRUN_INIT_TIMEOUT")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(INIT_TIMEOUT_S);
    (s > 0).then(|| std::time::Duration::from_secs(s))
}

/// poll(2)'s timeout for a wait that must end at `end` (None: no end).
pub fn poll_until(end: Option<std::time::Instant>) -> nix::poll::PollTimeout {
    use nix::poll::PollTimeout;
    match end {
        None => PollTimeout::NONE,
        Some(e) => {
            let left = e.saturating_duration_since(std::time::Instant::now());
            PollTimeout::try_from(left.as_millis().min(i32::MAX as u128) as i32)
                .unwrap_or(PollTimeout::MAX)
        }
    }
}

/// Wait until `sock` has something to read (or hung up), at most `bound`.
fn await_peer(
    sock: &UnixStream,
    bound: Option<std::time::Duration>,
    what: &str,
) -> Result<(), ProcessError> {
    use nix::poll::{poll, PollFd, PollFlags};
    let Some(b) = bound else { return Ok(()) };
    let end = std::time::Instant::now() + b;
    loop {
        let mut fds = [PollFd::new(sock.as_fd(), PollFlags::POLLIN)];
        match poll(&mut fds, poll_until(Some(end))) {
            Ok(0) => {
                return Err(ProcessError::Stage {
                    msg: format!("timed out after {}s waiting for {what}", b.as_secs()),
                    fatal: Vec::new(),
                })
            }
            Ok(_) => return Ok(()),
            Err(nix::errno::Errno::EINTR) => continue,
            Err(e) => return Err(ProcessError::Init(format!("poll init socket: {e}"))),
        }
    }
}

/// O_PATH fds of the bind sources, opened in `pid`'s mount namespace with
/// the runtime's credentials, as runc's stage-0 does: it joins the
/// container's mount namespace (its copy of the host's mounts, so the fds
/// are of mounts init may clone, with their locks) and opens each source
/// there, before the container's root, a mapped uid, would be refused a
/// 0700 host directory. A thread of its own with an unshared fs_struct does
/// the setns: the runtime's other threads and cwd stay where they are.
fn open_mount_sources<'a>(
    pid: i32,
    sources: impl Iterator<Item = &'a str>,
) -> Result<Vec<std::os::fd::OwnedFd>, ProcessError> {
    use nix::sched::{setns, unshare, CloneFlags};
    use std::os::unix::fs::OpenOptionsExt;
    let sources: Vec<&str> = sources.collect();
    let fail = |m: String| ProcessError::Init(format!("unable to start container process: {m}"));
    std::thread::scope(|t| {
        t.spawn(|| {
            unshare(CloneFlags::CLONE_FS)
                .map_err(|e| fail(format!("failed to unshare fs: {}", e.desc())))?;
            let ns = File::open(format!("/proc/{pid}/ns/mnt")).map_err(|e| {
                fail(format!(
                    "failed to get container mount namespace: {}",
                    os_desc(&e)
                ))
            })?;
            setns(&ns, CloneFlags::CLONE_NEWNS)
                .map_err(|e| fail(format!("failed to setns to container mntns: {}", e.desc())))?;
            sources
                .iter()
                .map(|src| {
                    std::fs::OpenOptions::new()
                        .read(true)
                        .custom_flags(libc::O_PATH | libc::O_CLOEXEC)
                        .open(src)
                        .map(std::os::fd::OwnedFd::from)
                        .map_err(|e| {
                            fail(format!(
                                "failed to open mount source {src}: {}",
                                os_desc(&e)
                            ))
                        })
                })
                .collect()
        })
        .join()
        .unwrap_or_else(|_| Err(fail("mount sources: thread panicked".into())))
    })
}

/// C's strerror text of an io error (runc's nsexec bail words).
fn os_desc(e: &std::io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

fn read_line(sock: &mut UnixStream) -> std::io::Result<Vec<u8>> {
    use nix::sys::socket::{recv, MsgFlags};
    let mut line = Vec::with_capacity(64);
    let mut buf = [0u8; 256];
    // Nothing may be consumed past the newline (it is all the stage writes,
    // but the next bytes on this socket belong to init): peek at what has
    // arrived, then take exactly up to the newline. Two syscalls for the
    // pid line instead of one per byte.
    while line.len() < buf.len() {
        let want = buf.len() - line.len();
        let n = loop {
            match recv(sock.as_raw_fd(), &mut buf[..want], MsgFlags::MSG_PEEK) {
                Err(nix::errno::Errno::EINTR) => continue,
                r => break r.map_err(std::io::Error::from)?,
            }
        };
        if n == 0 {
            break;
        }
        let take = buf[..n]
            .iter()
            .position(|&c| c == b'\n')
            .map_or(n, |i| i + 1);
        sock.read_exact(&mut buf[..take])?;
        if buf[take - 1] == b'\n' {
            line.extend_from_slice(&buf[..take - 1]);
            return Ok(line);
        }
        line.extend_from_slice(&buf[..take]);
    }
    Err(std::io::ErrorKind::UnexpectedEof.into())
}

impl Init {
    fn handshake(&mut self, stage0: i32, boot: &[u8], sink: LogSink) -> Result<(), ProcessError> {
        self.sock
            .write_all(boot)
            .map_err(ProcessError::SendBootstrap)?;
        if let Err(e) = await_peer(
            &self.sock,
            init_timeout(),
            "the child pids from nsexec (runc:[0:PARENT], runc:[1:CHILD])",
        ) {
            // The caller kills and reaps stage-0; what it logged explains where it stood.
            self.forward_logs(sink);
            return Err(e);
        }
        let line = read_line(&mut self.sock);
        let st = waitpid(Pid::from_raw(stage0), None);
        self.forward_logs(sink);
        let line = line
            .map_err(|e| self.stage_err(format!("can't get final child's PID from pipe: {e}")))?;
        let pids: Pids = serde_json::from_slice(&line)
            .map_err(|e| self.stage_err(format!("can't get final child's PID from pipe: {e}")))?;
        match st {
            Ok(WaitStatus::Exited(_, 0)) => {}
            Ok(WaitStatus::Exited(_, c)) => {
                return Err(self.stage_err(format!(
                    "error waiting for our first child to exit: exit status {c}"
                )))
            }
            other => {
                return Err(self.stage_err(format!(
                    "error waiting for our first child to exit: {other:?}"
                )))
            }
        }
        let _ = waitpid(Pid::from_raw(pids.stage1_pid), None);
        self.pid = pids.stage2_pid;
        Ok(())
    }

    fn stage_err(&mut self, msg: String) -> ProcessError {
        ProcessError::Stage {
            msg,
            fatal: std::mem::take(&mut self.fatal),
        }
    }

    /// Forward what the stage logged so far; FATAL lines are kept for the error.
    fn forward_logs(&mut self, sink: LogSink) {
        let mut buf = Vec::new();
        let mut chunk = [0u8; 4096];
        while let Ok(n) = self.log.read(&mut chunk) {
            if n == 0 {
                break;
            }
            buf.extend_from_slice(&chunk[..n]);
        }
        for l in buf.split(|&c| c == b'\n').filter(|l| !l.is_empty()) {
            match serde_json::from_slice::<StageLine>(l) {
                Ok(s) if s.level == "fatal" || s.level == "panic" => self.fatal.push(s.msg),
                Ok(s) => sink(&s.level, &s.msg),
                Err(_) => sink("warning", &String::from_utf8_lossy(l)),
            }
        }
    }

    /// Send init its plan, then wait until it reports ready or failed.
    /// `on` serves init's requests on the way (hooks, a seccomp fd); its
    /// error fails the whole setup.
    pub fn run_plan(
        &mut self,
        plan: &InitPlan,
        sink: LogSink,
        on: &mut dyn FnMut(Event) -> Result<(), String>,
    ) -> Result<(), ProcessError> {
        // runc 1.1.5's mount sources (nsexec.c send_mountsources): opened
        // before init sees its plan, so before any of its mounts.
        let sources = match &plan.rootfs {
            Some(r) if r.mount_sources => open_mount_sources(
                self.pid,
                r.mounts
                    .iter()
                    .filter(|m| m.kind == crate::rootfs::MountKind::Bind)
                    .map(|m| m.source.as_str()),
            )?,
            _ => vec![],
        };
        codec::send(&mut self.sock, plan)?;
        for fd in &sources {
            fdpass::send_fd(&self.sock, fd)
                .map_err(|e| ProcessError::Init(format!("send mount source: {e}")))?;
        }
        drop(sources);
        let bound = init_timeout();
        loop {
            await_peer(&self.sock, bound, "init (runc:[2:INIT]) to report")?;
            let report = codec::recv::<Report, _>(&mut self.sock);
            self.forward_logs(sink);
            match report? {
                Report::Ready => return Ok(()),
                Report::Failed(m) => return Err(ProcessError::Init(m)),
                Report::ProcHooks => {
                    on(Event::ProcHooks).map_err(ProcessError::Init)?;
                    codec::send(&mut self.sock, &())?;
                }
                Report::SeccompFd => {
                    let fd = fdpass::recv_fd(&self.sock)
                        .map_err(|e| ProcessError::Init(format!("receive seccomp fd: {e}")))?;
                    on(Event::SeccompFd(fd)).map_err(ProcessError::Init)?;
                    // runc's procSeccompDone: the agent has the listener.
                    codec::send(&mut self.sock, &())?;
                }
            }
        }
    }

    /// SIGKILL the init and reap it (it is our child through CLONE_PARENT).
    pub fn kill(&self) {
        if self.pid > 0 {
            let _ =
                nix::sys::signal::kill(Pid::from_raw(self.pid), nix::sys::signal::Signal::SIGKILL);
            let _ = waitpid(Pid::from_raw(self.pid), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bootstrap::{Bootstrap, Header};
    use crate::spec::{IdMap, InitPlan, Namespace};

    fn parse(msg: &[u8]) -> Bootstrap {
        let (_, n) = Header::parse(msg[..16].try_into().unwrap()).unwrap();
        Bootstrap::parse(&msg[16..16 + n]).unwrap()
    }

    fn plan(ns: &[(&str, Option<&str>)]) -> Plan {
        Plan {
            oci_version: "1.0.2".into(),
            bundle: "/b".into(),
            rootfs: "/b/rootfs".into(),
            annotations: vec![],
            namespaces: ns
                .iter()
                .map(|(n, p)| Namespace {
                    name: n.to_string(),
                    path: p.map(Into::into),
                })
                .collect(),
            uid_mappings: vec![IdMap {
                container: 0,
                host: 100000,
                size: 65536,
            }],
            gid_mappings: vec![IdMap {
                container: 0,
                host: 100000,
                size: 65536,
            }],
            oom_score_adj: Some(-5),
            time_offsets: vec![],
            cgroups_path: None,
            resources: None,
            device_paths: vec![],
            hooks: Default::default(),
            init: InitPlan::default(),
        }
    }

    #[test]
    fn create_message_splits_new_and_joined() {
        let p = plan(&[
            ("user", None),
            ("net", Some("/proc/1/ns/net")),
            ("pid", None),
            ("mnt", None),
        ]);
        let b = parse(&create_bootstrap(&p).unwrap());
        assert_eq!(
            b.clone_flags,
            (libc::CLONE_NEWUSER | libc::CLONE_NEWPID | libc::CLONE_NEWNS) as u32
        );
        assert_eq!(b.ns_paths.as_deref(), Some(&b"net:/proc/1/ns/net\0"[..]));
        assert_eq!(b.uidmap.as_deref(), Some(&b"0 100000 65536\n\0"[..]));
        assert!(b.setgroup);
        assert_eq!(b.oom_score_adj.as_deref(), Some(&b"-5\0"[..]));
    }

    #[test]
    fn no_maps_when_user_ns_is_joined_or_absent() {
        let p = plan(&[("user", Some("/proc/9/ns/user")), ("mnt", None)]);
        let b = parse(&create_bootstrap(&p).unwrap());
        assert!(b.uidmap.is_none() && b.gidmap.is_none() && !b.setgroup);
        assert_eq!(b.clone_flags, libc::CLONE_NEWNS as u32);
    }

    #[test]
    fn exec_message_joins_everything() {
        let ns = plan(&[
            ("ipc", None),
            ("net", Some("/var/run/netns/x")),
            ("mnt", None),
        ])
        .namespaces;
        let b = parse(&exec_bootstrap(42, &ns, None).unwrap());
        assert_eq!(b.clone_flags, 0);
        assert_eq!(
            b.ns_paths.as_deref(),
            Some(&b"ipc:/proc/42/ns/ipc,net:/var/run/netns/x,mnt:/proc/42/ns/mnt\0"[..])
        );
        assert!(b.oom_score_adj.is_none());
    }
}
