//! Kernel tests of the nsexec stage, in both wire profiles.
//!
//! tests/host/host.c is a C program that includes include/nsexec.h and links
//! libnsexec.a (so this is also the C-consumer test). Each case re-executes
//! it with the init socket on fd 3 and a log pipe on fd 4, sends a bootstrap
//! message built with the crate's own encoder (or hand-made bad bytes), and
//! checks what the kernel shows: exit codes, the pid JSON, namespace inodes,
//! uid/gid maps, fds, process names, and the exact log lines.
//!
//! Cases: every case of runc's nsenter_test.go and of §7.3 of
//! nsexec-protocol.md, plus the hardening cases of issue #2.

mod common;

use common::Profile;
use nsexec::bootstrap::*;
use std::collections::HashMap;
use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

const PROFILES: [Profile; 2] = [Profile::Current, Profile::Runc11];

/// The host binary linked against one profile's libnsexec.a, built once.
fn host(p: Profile) -> PathBuf {
    static HOSTS: [OnceLock<PathBuf>; 2] = [OnceLock::new(), OnceLock::new()];
    HOSTS[p as usize]
        .get_or_init(|| {
            let lib = common::lib_dir(p);
            let out = common::root().join(format!("target/tests/host-{}", p.name()));
            std::fs::create_dir_all(out.parent().unwrap()).unwrap();
            let st = Command::new("cc")
                .args(["-O2", "-Wall", "-o"])
                .arg(&out)
                .arg(common::root().join("tests/host/host.c"))
                .arg("-I")
                .arg(common::root().join("include"))
                .arg("-L")
                .arg(&lib)
                .args([
                    "-lnsexec",
                    "-lgcc_s",
                    "-lutil",
                    "-lrt",
                    "-lpthread",
                    "-lm",
                    "-ldl",
                    "-lc",
                ])
                .status()
                .expect("cc");
            assert!(st.success(), "building the C host failed");
            out
        })
        .clone()
}

fn socketpair() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fds has room for two descriptors.
    assert_eq!(
        unsafe {
            libc::socketpair(
                libc::AF_UNIX,
                libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
                0,
                fds.as_mut_ptr(),
            )
        },
        0
    );
    // SAFETY: fresh fds.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

fn pipe() -> (OwnedFd, OwnedFd) {
    let mut fds = [0; 2];
    // SAFETY: fds has room for two descriptors.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: fresh fds.
    unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) }
}

/// Wait for readability up to `ms`.
fn readable(fd: RawFd, ms: i32) -> bool {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    // SAFETY: one pollfd.
    unsafe { libc::poll(&mut p, 1, ms) > 0 }
}

/// What one run of the host showed.
#[derive(Debug)]
struct Outcome {
    code: Option<i32>,
    leading: Option<u8>,
    pids: Option<(i32, i32)>,
    /// (wait status of stage-1, of stage-2)
    reaped: Option<(i32, i32)>,
    logs: Vec<String>,
    stdout: String,
    stderr: String,
}

impl Outcome {
    fn report(&self) -> HashMap<String, String> {
        self.stdout
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }
    fn has_log(&self, level: &str, needle: &str) -> bool {
        self.logs
            .iter()
            .any(|l| l.contains(&format!("\"level\":\"{level}\"")) && l.contains(needle))
    }
    fn ok(&self) {
        assert_eq!(self.code, Some(0), "stage-0 failed: {self:#?}");
        let (s1, s2) = self.reaped.expect("pids reaped");
        assert!(
            libc::WIFEXITED(s1) && libc::WEXITSTATUS(s1) == 0,
            "stage-1 status {s1}: {self:#?}"
        );
        assert!(
            libc::WIFEXITED(s2) && libc::WEXITSTATUS(s2) == 0,
            "stage-2 status {s2}: {self:#?}"
        );
        assert!(self.stdout.contains("main=reached"), "{self:#?}");
    }
    fn failed_with(&self, needle: &str) {
        assert_eq!(self.code, Some(1), "expected exit 1: {self:#?}");
        assert!(
            self.has_log("fatal", needle) || self.stderr.contains(&format!("FATAL: {needle}")),
            "no fatal `{needle}`: {self:#?}"
        );
        assert!(
            self.pids.is_none(),
            "no pid JSON expected on failure: {self:#?}"
        );
    }
}

#[derive(Default)]
struct Opts<'a> {
    env: Vec<(&'a str, String)>,
    no_initpipe: bool,
    no_logpipe: bool,
    /// Close our end after sending (for truncated messages).
    close_after_send: bool,
    /// Extra fds for the child: (target fd number, source).
    extra: Vec<(RawFd, RawFd)>,
    /// Run as this uid/gid (unprivileged cases).
    as_user: Option<u32>,
    args: Vec<&'a str>,
}

fn run(p: Profile, msg: &[u8], o: Opts) -> Outcome {
    let (ours, theirs) = socketpair();
    let (log_r, log_w) = pipe();
    let mut cmd = Command::new(host(p));
    cmd.args(&o.args)
        .env_clear()
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if !o.no_initpipe {
        cmd.env("_LIBCONTAINER_INITPIPE", "3");
    }
    if !o.no_logpipe {
        cmd.env("_LIBCONTAINER_LOGPIPE", "4");
    }
    for (k, v) in &o.env {
        cmd.env(k, v);
    }
    let mut map = vec![(3, theirs.as_raw_fd()), (4, log_w.as_raw_fd())];
    map.extend(o.extra.iter().copied());
    let as_user = o.as_user;
    // SAFETY: only async-signal-safe calls between fork and exec.
    unsafe {
        cmd.pre_exec(move || {
            // Move sources out of the way first so a dup2 cannot clobber one.
            let mut moved = Vec::new();
            for (_, src) in &map {
                moved.push(libc::fcntl(*src, libc::F_DUPFD_CLOEXEC, 100));
            }
            for ((dst, _), src) in map.iter().zip(moved) {
                libc::dup2(src, *dst); // dup2 clears CLOEXEC on dst
            }
            // Like runc's CloseExecFrom(3): only the fds we pass reach the
            // host (whatever the test runner itself inherited).
            for fd in 3..1024 {
                if !map.iter().any(|(dst, _)| *dst == fd) {
                    libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC);
                }
            }
            if let Some(u) = as_user {
                libc::setgroups(0, std::ptr::null());
                libc::setgid(u);
                libc::setuid(u);
            }
            Ok(())
        });
    }
    let mut child = cmd.spawn().expect("spawn host");
    drop(theirs);
    drop(log_w);
    let fd = ours.as_raw_fd();
    let mut leading = None;
    if p == Profile::Runc11 && !o.no_initpipe && readable(fd, 10_000) {
        let mut b = [0u8; 1];
        // SAFETY: one byte into a local.
        if unsafe { libc::read(fd, b.as_mut_ptr().cast(), 1) } == 1 {
            leading = Some(b[0]);
        }
    }
    // SAFETY: writing a local buffer; MSG_NOSIGNAL: the host may be gone.
    unsafe { libc::send(fd, msg.as_ptr().cast(), msg.len(), libc::MSG_NOSIGNAL) };
    if o.close_after_send {
        // SAFETY: half-close our end so the host sees EOF.
        unsafe { libc::shutdown(fd, libc::SHUT_WR) };
    }
    // Stage-0 must end by itself: a hang is a failure, not a stuck suite.
    let deadline = Instant::now() + Duration::from_secs(20);
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("stage-0 hung (killed after 20 s)");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    // The pid JSON, if any, is already buffered in the socket.
    let mut pids = None;
    if readable(fd, 0) {
        let mut buf = [0u8; 256];
        // SAFETY: reading into a local buffer.
        let n = unsafe { libc::recv(fd, buf.as_mut_ptr().cast(), buf.len(), libc::MSG_DONTWAIT) };
        if n > 0 {
            let s = std::str::from_utf8(&buf[..n as usize]).unwrap().to_string();
            let re = s
                .strip_prefix("{\"stage1_pid\":")
                .and_then(|r| r.strip_suffix("}\n"));
            let (a, b) = re
                .and_then(|r| r.split_once(",\"stage2_pid\":"))
                .unwrap_or_else(|| panic!("bad pid JSON {s:?}"));
            pids = Some((a.parse().unwrap(), b.parse().unwrap()));
        }
    }
    // CLONE_PARENT makes both later stages our children: reap them.
    let reaped = pids.map(|(p1, p2)| {
        let mut s1 = 0;
        let mut s2 = 0;
        // SAFETY: waiting for our own children.
        unsafe {
            libc::waitpid(p1, &mut s1, 0);
            libc::waitpid(p2, &mut s2, 0);
        }
        (s1, s2)
    });
    drop(ours);
    let mut stdout = String::new();
    let mut stderr = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut stdout)
        .unwrap();
    child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .unwrap();
    let mut logs = String::new();
    std::fs::File::from(log_r)
        .read_to_string(&mut logs)
        .unwrap();
    Outcome {
        code: status.code(),
        leading,
        pids,
        reaped,
        logs: logs.lines().map(str::to_string).collect(),
        stdout,
        stderr,
    }
}

/// A process in fresh net, uts and ipc namespaces to join; killed on drop.
struct Target(std::process::Child);
impl Target {
    fn new(flags: &str) -> Target {
        let c = Command::new("unshare")
            .arg(flags)
            .args(["sleep", "60"])
            .spawn()
            .expect("unshare");
        // Wait until unshare has exec'd sleep (its namespaces are final).
        let deadline = Instant::now() + Duration::from_secs(5);
        while std::fs::read_to_string(format!("/proc/{}/comm", c.id()))
            .map(|s| s.trim() != "sleep")
            .unwrap_or(true)
        {
            assert!(Instant::now() < deadline, "unshare did not start");
            std::thread::sleep(Duration::from_millis(2));
        }
        Target(c)
    }
    fn ns(&self, name: &str) -> String {
        format!("/proc/{}/ns/{name}", self.0.id())
    }
    fn inode(&self, name: &str) -> String {
        std::fs::read_link(self.ns(name))
            .unwrap()
            .to_string_lossy()
            .into_owned()
    }
}
impl Drop for Target {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn self_ns(name: &str) -> String {
    std::fs::read_link(format!("/proc/self/ns/{name}"))
        .unwrap()
        .to_string_lossy()
        .into_owned()
}

fn msg(build: impl FnOnce(&mut MessageBuilder)) -> Vec<u8> {
    let mut b = MessageBuilder::new();
    build(&mut b);
    b.finish(1)
}

fn host_pid_path() -> String {
    format!("/proc/{}/ns/pid", std::process::id())
}

// ---- runc's nsenter_test.go -------------------------------------------------

#[test]
fn nsenter_valid_paths() {
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(CLONE_FLAGS_ATTR, libc::CLONE_NEWNET as u32)
                .ns_paths(&[("pid", host_pid_path())])
                .unwrap();
        });
        let o = run(p, &m, Opts::default());
        o.ok();
        let (p1, p2) = o.pids.unwrap();
        assert!(p1 > 0 && p2 > 0 && p1 != p2);
        let r = o.report();
        // A new netns, our pid ns.
        assert_ne!(r["ns_net"], self_ns("net"));
        assert_eq!(r["ns_pid"], self_ns("pid"));
        assert_eq!(
            r["pid"],
            p2.to_string(),
            "stage2_pid is the host view of stage-2"
        );
        assert_eq!(
            o.leading,
            if p == Profile::Runc11 { Some(0) } else { None },
            "{p:?}"
        );
    }
}

#[test]
fn nsenter_invalid_paths() {
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(CLONE_FLAGS_ATTR, libc::CLONE_NEWNET as u32)
                .ns_paths(&[("pid", "/proc/-1/ns/pid")])
                .unwrap();
        });
        run(p, &m, Opts::default())
            .failed_with("failed to open /proc/-1/ns/pid: No such file or directory");
    }
}

#[test]
fn nsenter_incorrect_path_type() {
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(CLONE_FLAGS_ATTR, libc::CLONE_NEWNET as u32)
                .ns_paths(&[("net", host_pid_path())])
                .unwrap();
        });
        run(p, &m, Opts::default()).failed_with("failed to setns into net namespace");
    }
}

#[test]
fn nsenter_child_logging() {
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(CLONE_FLAGS_ATTR, libc::CLONE_NEWNET as u32)
                .ns_paths(&[("pid", host_pid_path())])
                .unwrap();
        });
        let o = run(p, &m, Opts::default());
        o.ok();
        assert!(o.logs.len() > 10, "{o:#?}");
        for l in &o.logs {
            // runc's exact shape, one object per line.
            let rest = l.strip_prefix("{\"level\":\"").expect(l);
            let (level, rest) = rest.split_once("\", \"msg\": \"").expect(l);
            assert!(["fatal", "warning", "debug"].contains(&level), "{l}");
            assert!(rest.ends_with("\"}"), "{l}");
            assert!(rest.starts_with("nsexec"), "{l}");
        }
        for needle in [
            "nsexec[",
            "=> nsexec container setup",
            "nsexec-0[",
            "~> nsexec stage-0",
            "nsexec-1[",
            "~> nsexec stage-1",
            "nsexec-2[",
            "~> nsexec stage-2",
            "forward stage-1 (",
            "<= nsexec container setup",
            "booting up go runtime ...",
        ] {
            assert!(o.has_log("debug", needle), "missing {needle}: {o:#?}");
        }
        let (p1, p2) = o.pids.unwrap();
        assert!(o.has_log(
            "debug",
            &format!("forward stage-1 ({p1}) and stage-2 ({p2}) pids to runc")
        ));
        assert!(o.has_log("debug", &format!("nsexec-2[{p2}]: ~> nsexec stage-2")));
        if p == Profile::Current {
            assert!(
                o.logs
                    .iter()
                    .any(|l| l.contains("nsexec[") && l.contains("affinity: 0x")),
                "{o:#?}"
            );
        }
    }
}

// ---- §7.3 and hardening -----------------------------------------------------

#[test]
fn inert_without_initpipe() {
    for p in PROFILES {
        let o = run(
            p,
            b"",
            Opts {
                no_initpipe: true,
                ..Default::default()
            },
        );
        assert_eq!(o.code, Some(0), "{o:#?}");
        assert!(o.logs.is_empty(), "touched the log pipe: {o:#?}");
        let r = o.report();
        assert!(r["comm"].starts_with("host-"), "{r:?}");
        assert_eq!(r["cloned_env"], "", "no re-exec without INITPIPE");
        assert_eq!(o.leading, None);
    }
}

#[test]
fn garbage_env_is_fatal() {
    for p in PROFILES {
        let o = run(
            p,
            b"",
            Opts {
                no_logpipe: true,
                env: vec![("_LIBCONTAINER_INITPIPE", "abc".into())],
                no_initpipe: true,
                ..Default::default()
            },
        );
        assert_eq!(o.code, Some(1));
        assert!(
            o.stderr
                .contains("FATAL: unable to parse _LIBCONTAINER_INITPIPE=abc"),
            "{o:#?}"
        );
        let o = run(
            p,
            b"",
            Opts {
                env: vec![("_LIBCONTAINER_LOGPIPE", "-4".into())],
                no_logpipe: true,
                ..Default::default()
            },
        );
        assert_eq!(o.code, Some(1));
        assert!(
            o.stderr
                .contains("FATAL: bad value for _LIBCONTAINER_LOGPIPE=-4 (-4)"),
            "{o:#?}"
        );
    }
}

/// A netlink header claiming `len` bytes of type `ty`.
fn hdr(len: u32, ty: u16) -> Vec<u8> {
    let mut h = Vec::new();
    h.extend_from_slice(&len.to_ne_bytes());
    h.extend_from_slice(&ty.to_ne_bytes());
    h.extend_from_slice(&1u16.to_ne_bytes());
    h.extend_from_slice(&[1, 0, 0, 0, 0, 0, 0, 0]);
    h
}

#[test]
fn malformed_messages_fail_cleanly() {
    let good_flags = |b: &mut MessageBuilder| {
        b.int32(CLONE_FLAGS_ATTR, 0);
    };
    let with_payload = |p: &[u8]| {
        let mut m = hdr(16 + p.len() as u32, INIT_MSG);
        m.extend_from_slice(p);
        m
    };
    let cases: Vec<(&str, Vec<u8>, bool, &str)> = vec![
        (
            "wrong type",
            MessageBuilder::new()
                .int32(CLONE_FLAGS_ATTR, 0)
                .finish_typed(7, 1),
            false,
            "unexpected msg type 7",
        ),
        (
            "NLMSG_ERROR",
            MessageBuilder::new().finish_typed(2, 1),
            false,
            "failed to read netlink message",
        ),
        (
            "unknown attribute",
            msg(|b| {
                b.int32(27299, 0);
            }),
            false,
            "unknown netlink message type 27299",
        ),
        (
            "nlmsg_len < 16",
            hdr(8, INIT_MSG),
            false,
            "invalid netlink header length 8",
        ),
        (
            "truncated payload",
            {
                let mut m = hdr(100, INIT_MSG);
                m.extend_from_slice(&[8, 0, 0x91, 0x6a, 0, 0, 0, 0]);
                m
            },
            true,
            "failed to read netlink payload, 8 != 84",
        ),
        (
            "short header",
            vec![1, 2, 3],
            true,
            "invalid netlink header length 3",
        ),
        (
            "nla_len 0",
            with_payload(&[0, 0, 0x91, 0x6a]),
            false,
            "invalid netlink attribute length 0 (type 27281)",
        ),
        (
            "nla_len 2",
            with_payload(&[2, 0, 0x91, 0x6a]),
            false,
            "invalid netlink attribute length 2",
        ),
        (
            "attribute overrun",
            with_payload(&[40, 0, 0x92, 0x6a, b'p', 0, 0, 0]),
            false,
            "netlink attribute 27282 runs past the end",
        ),
        (
            "short int",
            with_payload(&[6, 0, 0x91, 0x6a, 1, 0, 0, 0]),
            false,
            "netlink attribute 27281 has a 2-byte payload, need 4",
        ),
        (
            "short bool",
            with_payload(&[4, 0, 0x97, 0x6a]),
            false,
            "netlink attribute 27287 has a 0-byte payload, need 1",
        ),
        (
            "string without NUL",
            msg(|b| {
                good_flags(b);
                b.raw(NS_PATHS_ATTR, b"pid:/proc/1/ns/pid").unwrap();
            }),
            false,
            "netlink attribute 27282 is not NUL-terminated",
        ),
        (
            "empty ns paths",
            msg(|b| {
                good_flags(b);
                b.bytes(NS_PATHS_ATTR, b"").unwrap();
            }),
            false,
            "ns paths are empty",
        ),
        (
            "only commas",
            msg(|b| {
                good_flags(b);
                b.bytes(NS_PATHS_ATTR, b",,").unwrap();
            }),
            false,
            "ns paths are empty",
        ),
        (
            "no colon",
            msg(|b| {
                good_flags(b);
                b.bytes(NS_PATHS_ATTR, b"pid").unwrap();
            }),
            false,
            "failed to parse pid",
        ),
    ];
    for p in PROFILES {
        for (name, m, close, want) in &cases {
            let o = run(
                p,
                m,
                Opts {
                    close_after_send: *close,
                    ..Default::default()
                },
            );
            assert_eq!(o.code, Some(1), "{p:?} {name}: {o:#?}");
            assert!(
                o.has_log("fatal", want),
                "{p:?} {name}: want `{want}`: {:#?}",
                o.logs
            );
            assert!(o.pids.is_none(), "{name}");
        }
    }
}

// A parent that sends part of the message and then stalls with the socket
// open: runc's C blocks in read forever (runc#4228); the stage gives up at
// its bound and says how far the message got.
#[test]
fn stalled_parent_times_out_naming_the_wait() {
    for p in PROFILES {
        for (name, m, want) in [
            ("mid-header", vec![100u8, 0, 0], "(got 3 of 16 bytes)"),
            (
                "mid-payload",
                {
                    let mut m = hdr(100, INIT_MSG);
                    m.extend_from_slice(&[8, 0, 0x91, 0x6a, 0, 0, 0, 0]);
                    m
                },
                "(got 24 of 100 bytes)",
            ),
        ] {
            let t = Instant::now();
            let o = run(
                p,
                &m,
                Opts {
                    env: vec![("_NSEXEC_BOOTSTRAP_TIMEOUT", "1".into())],
                    ..Default::default()
                },
            );
            assert_eq!(o.code, Some(1), "{p:?} {name}: {o:#?}");
            let w = format!("timed out after 1s waiting for bootstrap data {want}");
            assert!(
                o.has_log("fatal", &w),
                "{p:?} {name}: want `{w}`: {:#?}",
                o.logs
            );
            assert!(
                t.elapsed() < Duration::from_secs(10),
                "{name}: {:?}",
                t.elapsed()
            );
        }
    }
}

#[test]
fn userns_rootless_single_mapping() {
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(
                CLONE_FLAGS_ATTR,
                (libc::CLONE_NEWUSER | libc::CLONE_NEWNS) as u32,
            )
            .bytes(UIDMAP_ATTR, b"0 0 1\n")
            .unwrap()
            .bytes(GIDMAP_ATTR, b"0 0 1\n")
            .unwrap()
            .boolean(ROOTLESS_EUID_ATTR, true);
        });
        let o = run(p, &m, Opts::default());
        o.ok();
        let r = o.report();
        assert_eq!(
            r["uid_map"].split_whitespace().collect::<Vec<_>>(),
            ["0", "0", "1|"]
        );
        assert_eq!(
            r["gid_map"].split_whitespace().collect::<Vec<_>>(),
            ["0", "0", "1|"]
        );
        assert_eq!(r["setgroups"], "deny|");
        assert_eq!(r["uid"], "0");
        assert_ne!(r["ns_user"], self_ns("user"));
        assert!(
            o.has_log("debug", "update /proc/") && o.has_log("debug", "/uid_map to '0 0 1\\n'"),
            "{:#?}",
            o.logs
        );
    }
}

#[test]
fn userns_root_with_ranges_and_setgroups() {
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(
                CLONE_FLAGS_ATTR,
                (libc::CLONE_NEWUSER | libc::CLONE_NEWNS | libc::CLONE_NEWUTS) as u32,
            )
            .bytes(UIDMAP_ATTR, b"0 100000 65536\n")
            .unwrap()
            .bytes(GIDMAP_ATTR, b"0 100000 65536\n")
            .unwrap()
            .boolean(SETGROUP_ATTR, true)
            .boolean(ROOTLESS_EUID_ATTR, false);
        });
        let o = run(p, &m, Opts::default());
        o.ok();
        let r = o.report();
        assert_eq!(
            r["uid_map"].split_whitespace().collect::<Vec<_>>(),
            ["0", "100000", "65536|"]
        );
        assert_eq!(r["setgroups"], "allow|");
        assert_eq!(r["groups"], "0", "supplementary groups dropped");
        assert_eq!((r["uid"].as_str(), r["gid"].as_str()), ("0", "0"));
        // setresuid to a uid mapped elsewhere resets dumpable (commit_creds),
        // so no dumpable check here; see new_pid_namespace_reports_host_pid.
    }
}

#[test]
fn oom_score_adj_applied() {
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(CLONE_FLAGS_ATTR, 0)
                .bytes(OOM_SCORE_ADJ_ATTR, b"321")
                .unwrap();
        });
        let o = run(p, &m, Opts::default());
        o.ok();
        assert_eq!(o.report()["oom_score_adj"], "321|");
        assert!(o.has_log("debug", "update /proc/self/oom_score_adj to '321'"));
    }
}

#[test]
fn negative_oom_without_cap_sys_resource_is_reported() {
    // This machine lacks CAP_SYS_RESOURCE: lowering the score must fail
    // cleanly with runc's words, not half-start.
    let m = msg(|b| {
        b.int32(CLONE_FLAGS_ATTR, 0)
            .bytes(OOM_SCORE_ADJ_ATTR, b"-999")
            .unwrap();
    });
    let o = run(Profile::Current, &m, Opts::default());
    if o.code == Some(0) {
        common::skip_machine(
            false,
            "this machine has CAP_SYS_RESOURCE; a negative oom_score_adj succeeds",
        );
        o.ok();
        return;
    }
    o.failed_with("failed to update /proc/self/oom_score_adj");
}

#[test]
fn timens_offsets_shift_monotonic() {
    if common::skip_machine(
        std::path::Path::new("/proc/self/ns/time").exists(),
        "no time namespaces in this kernel",
    ) {
        return;
    }
    let m = msg(|b| {
        b.int32(CLONE_FLAGS_ATTR, CLONE_NEWTIME as u32)
            .bytes(TIMENSOFFSET_ATTR, b"monotonic 86400 0\n")
            .unwrap();
    });
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: out pointer to a local.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    let o = run(Profile::Current, &m, Opts::default());
    o.ok();
    let r = o.report();
    let inside: i64 = r["monotonic"].parse().unwrap();
    let shift = inside - ts.tv_sec;
    assert!(
        (86400..86400 + 30).contains(&shift),
        "monotonic shifted by {shift}"
    );
    assert_ne!(r["ns_time"], self_ns("time"));
    assert!(
        o.has_log("debug", "timens_offsets to 'monotonic 86400 0\\n'"),
        "{:#?}",
        o.logs
    );
}

#[test]
fn new_pid_namespace_reports_host_pid() {
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(
                CLONE_FLAGS_ATTR,
                (libc::CLONE_NEWPID | libc::CLONE_NEWNS) as u32,
            );
        });
        let o = run(p, &m, Opts::default());
        o.ok();
        let r = o.report();
        assert_eq!(r["pid"], "1");
        let (_, p2) = o.pids.unwrap();
        assert!(p2 > 1, "stage2_pid must be the host's view");
        assert_eq!(r["ppid"], "0", "the parent is outside the pid namespace");
        assert_eq!(
            r["dumpable"], "1",
            "nothing joined: stays dumpable (rootless needs it)"
        );
    }
}

#[test]
fn joins_three_namespaces_of_a_target() {
    let t = Target::new("-nui");
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(CLONE_FLAGS_ATTR, 0)
                .ns_paths(&[
                    ("ipc", t.ns("ipc")),
                    ("uts", t.ns("uts")),
                    ("net", t.ns("net")),
                ])
                .unwrap();
        });
        let o = run(p, &m, Opts::default());
        o.ok();
        let r = o.report();
        for ns in ["ipc", "uts", "net"] {
            assert_eq!(r[&format!("ns_{ns}")], t.inode(ns), "{p:?} {ns}");
        }
        assert_eq!(r["ns_mnt"], self_ns("mnt"));
        // CVE-2016-9962: joining makes the process non-dumpable.
        assert_eq!(r["dumpable"], "0");
        assert_eq!(r["comm"], "runc:[2:INIT]|");
        assert_eq!(r["sid_is_self"], "1");
        assert_eq!(
            r["tid_coherent"], "1",
            "glibc's cached tid is stale in stage-2"
        );
        let hex = format!(
            "setns({:#x}) into net namespace (with path {})",
            libc::CLONE_NEWNET,
            t.ns("net")
        );
        assert!(o.has_log("debug", &hex), "{:#?}", o.logs);
    }
}

#[test]
fn unknown_namespace_type() {
    let t = Target::new("-n");
    let m = msg(|b| {
        b.int32(CLONE_FLAGS_ATTR, 0)
            .ns_paths(&[("bogus", t.ns("net"))])
            .unwrap();
    });
    // runc >= 1.3 refuses the name; 1.1 joins with nstype 0.
    run(Profile::Current, &m, Opts::default()).failed_with("unknown namespace type bogus");
    let o = run(Profile::Runc11, &m, Opts::default());
    o.ok();
    assert_eq!(o.report()["ns_net"], t.inode("net"));
}

#[test]
fn log_level_filters_debug() {
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(CLONE_FLAGS_ATTR, 0);
        });
        let o = run(
            p,
            &m,
            Opts {
                env: vec![("_LIBCONTAINER_LOGLEVEL", "4".into())],
                ..Default::default()
            },
        );
        o.ok();
        assert!(o.logs.is_empty(), "{:#?}", o.logs);
        // ...but a fatal line still comes through at level 4.
        let m = msg(|b| {
            b.int32(27299, 0);
        });
        let o = run(
            p,
            &m,
            Opts {
                env: vec![("_LIBCONTAINER_LOGLEVEL", "4".into())],
                ..Default::default()
            },
        );
        assert_eq!(o.logs.len(), 1, "{:#?}", o.logs);
    }
}

#[test]
fn no_fd_leaks_into_stage2() {
    let t = Target::new("-nu");
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(
                CLONE_FLAGS_ATTR,
                (libc::CLONE_NEWIPC | libc::CLONE_NEWUSER) as u32,
            )
            .ns_paths(&[("net", t.ns("net")), ("uts", t.ns("uts"))])
            .unwrap()
            .bytes(UIDMAP_ATTR, b"0 0 1\n")
            .unwrap()
            .bytes(GIDMAP_ATTR, b"0 0 1\n")
            .unwrap();
        });
        let o = run(p, &m, Opts::default());
        o.ok();
        let r = o.report();
        assert_eq!(
            r["fds"], "0,1,2,3,4,",
            "{p:?}: stage-2 must hold only what it inherited"
        );
        // The inherited ones are untouched (the runtime decides about them).
        assert!(r["fd3"].starts_with("socket:"));
        assert!(r["fd4"].starts_with("pipe:"));
    }
}

#[test]
fn mapping_tool_fallback_argv_and_signal_death() {
    // Unprivileged (nobody): a multi-range map is refused with EPERM, so the
    // stage must run the tool the parent named, with [tool, pid, tokens...]
    // and an empty environment; a tool killed by a signal is a failure.
    let dir = common::scratch("stage-maptool");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    let out = dir.join("argv");
    let tool = dir.join("newuidmap");
    std::fs::write(
        &tool,
        format!(
            "#!/bin/sh\necho \"$# $@ HOME=$HOME\" > {}\nkill -9 $$\n",
            out.display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&tool, std::fs::Permissions::from_mode(0o755)).unwrap();
    for p in PROFILES {
        let _ = std::fs::remove_file(&out);
        let m = msg(|b| {
            b.int32(CLONE_FLAGS_ATTR, libc::CLONE_NEWUSER as u32)
                .bytes(UIDMAPPATH_ATTR, tool.to_str().unwrap().as_bytes())
                .unwrap()
                .bytes(UIDMAP_ATTR, b"0 65534 1\n1 100000 10\n")
                .unwrap()
                .boolean(ROOTLESS_EUID_ATTR, true);
        });
        let o = run(
            p,
            &m,
            Opts {
                as_user: Some(65534),
                ..Default::default()
            },
        );
        if o.has_log("fatal", "you have no read access") || o.stderr.contains("Permission denied") {
            common::skip_machine(false, "nobody cannot execute the host binary here");
            return;
        }
        assert!(
            o.has_log("debug", "/uid_map got -EPERM (trying "),
            "{p:?}: {:#?}",
            o.logs
        );
        o.failed_with("failed to use newuid map on ");
        assert!(o.has_log("fatal", "killed by signal 9"), "{:#?}", o.logs);
        let argv = std::fs::read_to_string(&out).expect("tool ran");
        let toks: Vec<&str> = argv.split_whitespace().collect();
        // $# = pid + 6 tokens; then pid, the tokens, and an empty HOME.
        assert_eq!(toks[0], "7", "{argv}");
        assert_eq!(
            &toks[2..8],
            ["0", "65534", "1", "1", "100000", "10"],
            "{argv}"
        );
        assert_eq!(toks[8], "HOME=", "the tool must get an empty environment");
    }
}

#[test]
fn mapping_tool_missing() {
    let m = msg(|b| {
        b.int32(CLONE_FLAGS_ATTR, libc::CLONE_NEWUSER as u32)
            .bytes(UIDMAP_ATTR, b"0 65534 1\n1 100000 10\n")
            .unwrap()
            .boolean(ROOTLESS_EUID_ATTR, true);
    });
    let o = run(
        Profile::Current,
        &m,
        Opts {
            as_user: Some(65534),
            ..Default::default()
        },
    );
    o.failed_with("mapping tool not present");
}

#[test]
fn cgroup_namespace_is_new() {
    for p in PROFILES {
        let m = msg(|b| {
            b.int32(CLONE_FLAGS_ATTR, libc::CLONE_NEWCGROUP as u32);
        });
        let o = run(p, &m, Opts::default());
        o.ok();
        assert_ne!(o.report()["ns_cgroup"], self_ns("cgroup"));
        let want = if p == Profile::Runc11 {
            "unshare cgroup namespace"
        } else {
            "unshare remaining namespaces"
        };
        assert!(o.has_log("debug", want), "{:#?}", o.logs);
    }
}

#[test]
fn runc11_cloned_binary_and_mount_sources() {
    // 1.1: the host re-execs itself from a sealed copy before any I/O, and
    // stage-0 passes bind sources from the container mntns into the fd slots
    // named by _LIBCONTAINER_MOUNT_FDS.
    let src = common::scratch("stage-mountsrc");
    let (ph_a, ph_b) = socketpair(); // placeholder, as runc dups the init socket
    let m = msg(|b| {
        let mut sources = Vec::new();
        sources.extend_from_slice(src.to_str().unwrap().as_bytes());
        sources.push(0);
        sources.push(0); // a non-bind mount: empty entry
        b.int32(
            CLONE_FLAGS_ATTR,
            (libc::CLONE_NEWUSER | libc::CLONE_NEWNS) as u32,
        )
        .bytes(UIDMAP_ATTR, b"0 0 1\n")
        .unwrap()
        .bytes(GIDMAP_ATTR, b"0 0 1\n")
        .unwrap()
        .bytes(MOUNT_SOURCES_ATTR, &sources)
        .unwrap();
    });
    let o = run(
        Profile::Runc11,
        &m,
        Opts {
            env: vec![
                ("_LIBCONTAINER_MOUNT_FDS", "[5,-1]".into()),
                ("_LIBCONTAINER_STATEDIR", "/run".into()),
            ],
            extra: vec![(5, ph_a.as_raw_fd())],
            ..Default::default()
        },
    );
    drop((ph_a, ph_b));
    o.ok();
    let r = o.report();
    assert_eq!(r["fd5"], src.to_str().unwrap(), "{o:#?}");
    assert_eq!(r["fd5_cloexec"], "1");
    assert_eq!(r["cloned_env"], "1");
    // Zero-copy seals (a detached bind of the file shows as "/", an overlay
    // as "/host-runc-1-1"), else runc 1.1's memfd.
    let exe = &r["exe"];
    assert!(
        exe == "/" || exe.starts_with("/memfd:runc_cloned") || exe == "/host-runc-1-1",
        "{exe}"
    );
    // The re-exec'd binary must not be writable through /proc/<pid>/exe:
    // checked on a live process in overlay_or_memfd_exe_is_not_writable.
}

#[test]
fn overlay_or_memfd_exe_is_not_writable() {
    // CVE-2019-5736: while stage-2 runs, /proc/<pid>/exe must refuse writes.
    // The host waits on stdin... keep it simple: the 1.1 host is re-exec'd
    // before anything, so /proc/<stage-0>/exe of a host blocked in reading
    // the bootstrap message is the sealed copy.
    let (ours, theirs) = socketpair();
    let mut c = Command::new(host(Profile::Runc11));
    c.env_clear()
        .env("_LIBCONTAINER_INITPIPE", "3")
        .env("_LIBCONTAINER_STATEDIR", "/run");
    let fd = theirs.as_raw_fd();
    // SAFETY: async-signal-safe dup2 only.
    unsafe {
        c.pre_exec(move || {
            libc::dup2(fd, 3);
            Ok(())
        });
    }
    let mut child = c.spawn().unwrap();
    drop(theirs);
    assert!(readable(ours.as_raw_fd(), 10_000), "no leading byte");
    // It has re-exec'd (the byte comes after the cloned-binary step).
    let exe = format!("/proc/{}/exe", child.id());
    let e = std::fs::OpenOptions::new()
        .write(true)
        .open(&exe)
        .unwrap_err();
    assert!(
        [libc::EROFS, libc::EPERM, libc::ETXTBSY, libc::EACCES]
            .contains(&e.raw_os_error().unwrap_or(0)),
        "{e}"
    );
    let target = std::fs::read_link(&exe).unwrap();
    assert_ne!(
        target,
        host(Profile::Runc11),
        "still running from the host binary"
    );
    let _ = child.kill();
    let _ = child.wait();
    assert_eq!(common::owner_uid(std::path::Path::new("/dev/null")), 0);
}
