//! Each security setting applied in a forked child and read back from the
//! kernel (/proc/self/status, getrlimit, /proc/keys, sysctl files, ...).
//!
//! The security module lives in the nsrun binary, so it is compiled into
//! this test directly.

mod common;
#[path = "../src/security/mod.rs"]
mod security;

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixListener;

use nix::sched::{unshare, CloneFlags};
use oci_spec::runtime::Spec;
use security::SecurityPlan;

/// Run `f` in a forked child; whatever it returns (or its panic) comes back
/// as text. The child only ever runs `f`, then _exit()s.
fn in_child(f: impl FnOnce(i32) -> Result<String, String>) -> Result<String, String> {
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    // SAFETY: the child runs only `f` and _exit; it never returns into the
    // test harness, and prints nothing through std's locked stdout.
    match unsafe { nix::unistd::fork() }.unwrap() {
        nix::unistd::ForkResult::Child => {
            drop(r);
            let raw = w.as_raw_fd();
            let res = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| f(raw)));
            let text = match res {
                Ok(Ok(s)) => format!("OK {s}"),
                Ok(Err(s)) => format!("ERR {s}"),
                Err(_) => "ERR panic".to_string(),
            };
            let _ = nix::unistd::write(&w, text.as_bytes());
            // SAFETY: plain process exit without running the harness's atexit.
            unsafe { libc::_exit(0) };
        }
        nix::unistd::ForkResult::Parent { child } => {
            drop(w);
            let mut s = String::new();
            std::fs::File::from(r).read_to_string(&mut s).unwrap();
            nix::sys::wait::waitpid(child, None).unwrap();
            if let Some(ok) = s.strip_prefix("OK ") {
                Ok(ok.to_string())
            } else if let Some(e) = s.strip_prefix("ERR ") {
                Err(e.to_string())
            } else {
                Err(format!("child said {s:?}"))
            }
        }
    }
}

fn plan(json: &str) -> SecurityPlan {
    let spec: Spec = serde_json::from_str(json).unwrap_or_else(|e| panic!("{e}: {json}"));
    SecurityPlan::from_spec(&spec, false).unwrap_or_else(|e| panic!("{e}"))
}

fn spec_with(process_extra: &str, linux: &str) -> String {
    format!(
        r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},
        "process":{{"cwd":"/","args":["sh"],"user":{{"uid":0,"gid":0}}{process_extra}}},
        "linux":{{{linux}}}}}"#
    )
}

fn status_line(key: &str) -> String {
    let s = std::fs::read_to_string("/proc/thread-self/status").unwrap();
    s.lines()
        .find(|l| l.starts_with(&format!("{key}:")))
        .unwrap_or("")
        .split_whitespace()
        .nth(1)
        .unwrap_or("")
        .to_string()
}

fn e<T: std::fmt::Display>(x: T) -> String {
    x.to_string()
}

#[test]
fn capabilities_all_five_sets_after_a_user_switch() {
    let p = plan(&spec_with(
        r#","capabilities":{"bounding":["CAP_CHOWN","CAP_NET_BIND_SERVICE"],
            "effective":["CAP_CHOWN","CAP_NET_BIND_SERVICE"],"permitted":["CAP_CHOWN","CAP_NET_BIND_SERVICE"],
            "inheritable":["CAP_NET_BIND_SERVICE"],"ambient":["CAP_NET_BIND_SERVICE"]}"#,
        "",
    ));
    let out = in_child(|_| {
        p.finalize(
            security::caps::last_cap(),
            || -> Result<(), security::SecurityError> {
                nix::unistd::setresgid(1000.into(), 1000.into(), 1000.into()).unwrap();
                nix::unistd::setresuid(1000.into(), 1000.into(), 1000.into()).unwrap();
                Ok(())
            },
        )
        .map_err(e)?;
        Ok(["CapInh", "CapPrm", "CapEff", "CapBnd", "CapAmb", "Uid"]
            .map(status_line)
            .join(" "))
    })
    .unwrap();
    assert_eq!(
        out,
        "0000000000000400 0000000000000401 0000000000000401 0000000000000401 0000000000000400 1000"
    );
}

#[test]
fn capabilities_absent_means_none_at_all() {
    let p = plan(&spec_with("", ""));
    let out = in_child(|_| {
        p.finalize(security::caps::last_cap(), || {
            Ok::<_, security::SecurityError>(())
        })
        .map_err(e)?;
        Ok(["CapPrm", "CapEff", "CapBnd", "CapAmb"]
            .map(status_line)
            .join(" "))
    })
    .unwrap();
    assert_eq!(out, ["0000000000000000"; 4].join(" "));
}

#[test]
fn no_new_privileges() {
    let on = plan(&spec_with(r#","noNewPrivileges":true"#, ""));
    let off = plan(&spec_with(r#","noNewPrivileges":false"#, ""));
    let read = |p: &SecurityPlan| {
        in_child(|_| {
            p.apply_no_new_privs()
                .map_err(e)
                .map(|()| status_line("NoNewPrivs"))
        })
    };
    assert_eq!(read(&on).unwrap(), "1");
    assert_eq!(read(&off).unwrap(), "0");
}

#[test]
fn rlimits_on_self_and_by_prlimit() {
    let p = plan(&spec_with(
        r#","rlimits":[{"type":"RLIMIT_NOFILE","soft":100,"hard":200},{"type":"RLIMIT_CORE","soft":0,"hard":0}]"#,
        "",
    ));
    let out = in_child(|_| {
        p.apply_rlimits().map_err(e)?;
        let (s, h) = nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE)
            .map_err(e)?;
        Ok(format!("{s} {h}"))
    });
    assert_eq!(out.unwrap(), "100 200");

    // As the runtime does it: prlimit on another pid.
    let mut child = std::process::Command::new("sleep")
        .arg("10")
        .spawn()
        .unwrap();
    p.apply_rlimits_to(child.id() as i32).unwrap();
    let limits = std::fs::read_to_string(format!("/proc/{}/limits", child.id())).unwrap();
    child.kill().unwrap();
    child.wait().unwrap();
    let line = limits
        .lines()
        .find(|l| l.starts_with("Max open files"))
        .unwrap()
        .to_string();
    assert_eq!(
        line.split_whitespace().collect::<Vec<_>>()[3..5],
        ["100", "200"],
        "{line}"
    );
}

#[test]
fn rlimit_above_the_hard_limit_is_refused_by_the_kernel() {
    // The hard nofile limit here is 20000 and we lack CAP_SYS_RESOURCE.
    let (_, hard) =
        nix::sys::resource::getrlimit(nix::sys::resource::Resource::RLIMIT_NOFILE).unwrap();
    let have = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap();
    if common::skip_machine(
        !have && hard < u64::MAX / 2,
        "we hold CAP_SYS_RESOURCE; raising limits would succeed",
    ) {
        return;
    }
    let p = plan(&spec_with(
        &format!(
            r#","rlimits":[{{"type":"RLIMIT_NOFILE","soft":10,"hard":{}}}]"#,
            hard + 1
        ),
        "",
    ));
    let out = in_child(|_| p.apply_rlimits().map_err(e).map(|()| String::new()));
    assert_eq!(
        out.unwrap_err(),
        "error setting rlimit type RLIMIT_NOFILE: operation not permitted"
    );
}

#[test]
fn oom_score_adj() {
    let p = plan(&spec_with(r#","oomScoreAdj":500"#, ""));
    let out = in_child(|_| {
        p.apply_oom_score_adj().map_err(e)?;
        std::fs::read_to_string("/proc/self/oom_score_adj").map_err(e)
    });
    assert_eq!(out.unwrap().trim(), "500");
    // Lowering it needs CAP_SYS_RESOURCE, which this machine does not give.
    let have = caps::has_cap(
        None,
        caps::CapSet::Effective,
        caps::Capability::CAP_SYS_RESOURCE,
    )
    .unwrap();
    if common::skip_machine(
        !have,
        "we hold CAP_SYS_RESOURCE: a negative oomScoreAdj would work",
    ) {
        return;
    }
    let neg = plan(&spec_with(r#","oomScoreAdj":-500"#, ""));
    let out = in_child(|_| neg.apply_oom_score_adj().map_err(e).map(|()| String::new()));
    assert!(out.unwrap_err().contains("permission denied"));
}

#[test]
fn personality_linux32() {
    let p = plan(&spec_with("", r#""personality":{"domain":"LINUX32"}"#));
    let out = in_child(|_| {
        p.apply_personality().map_err(e)?;
        std::fs::read_to_string("/proc/self/personality").map_err(e)
    });
    assert_eq!(out.unwrap().trim(), "00000008");
}

#[test]
fn scheduler_and_io_priority() {
    let p = plan(&spec_with(
        r#","scheduler":{"policy":"SCHED_BATCH","nice":7},"ioPriority":{"class":"IOPRIO_CLASS_IDLE","priority":0}"#,
        "",
    ));
    let out = in_child(|_| {
        p.apply_scheduler().map_err(e)?;
        p.apply_io_priority().map_err(e)?;
        // SAFETY (test): plain queries of the calling process.
        let (pol, nice, io) = unsafe {
            (
                libc::sched_getscheduler(0),
                libc::getpriority(libc::PRIO_PROCESS, 0),
                libc::syscall(libc::SYS_ioprio_get, 1, 0),
            )
        };
        Ok(format!("{pol} {nice} {io:#x}"))
    });
    assert_eq!(
        out.unwrap(),
        format!("{} 7 {:#x}", libc::SCHED_BATCH, 3 << 13)
    );
}

fn seccomp_spec(seccomp: &str) -> SecurityPlan {
    plan(&spec_with(
        r#","noNewPrivileges":true"#,
        &format!(r#""seccomp":{seccomp}"#),
    ))
}

/// mkdir via the raw syscall (glibc may use mkdirat); returns errno or 0.
fn raw_mkdir(path: &std::ffi::CStr, mode: u32) -> i32 {
    // SAFETY (test): a plain syscall with a valid path.
    let r = unsafe { libc::syscall(libc::SYS_mkdir, path.as_ptr(), mode) };
    if r == 0 {
        0
    } else {
        nix::errno::Errno::last_raw()
    }
}

#[test]
fn seccomp_errno_rules_and_args() {
    let dir = common::scratch("sec-seccomp-args");
    let p = seccomp_spec(
        r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[
            {"names":["rmdir"],"action":"SCMP_ACT_ERRNO"},
            {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":18,
             "args":[{"index":1,"value":448,"op":"SCMP_CMP_EQ"}]},
            {"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":22,
             "args":[{"index":1,"value":3584,"valueTwo":512,"op":"SCMP_CMP_MASKED_EQ"}]}]}"#,
    );
    let c = |n: &str| std::ffi::CString::new(dir.join(n).to_str().unwrap()).unwrap();
    let (a, b, ok) = (c("mode700"), c("sticky"), c("plain"));
    let out = in_child(|_| {
        p.apply_no_new_privs().map_err(e)?;
        if p.load_seccomp().map_err(e)?.is_some() {
            return Err("unexpected notify fd".into());
        }
        // SAFETY (test): rmdir of a path we just created.
        let rm = unsafe { libc::syscall(libc::SYS_rmdir, ok.as_ptr()) };
        let rm = if rm == 0 {
            0
        } else {
            nix::errno::Errno::last_raw()
        };
        let m = [
            raw_mkdir(&a, 0o700),
            raw_mkdir(&b, 0o1755),
            raw_mkdir(&ok, 0o755),
        ];
        // SAFETY (test): as above.
        let rm2 = if unsafe { libc::syscall(libc::SYS_rmdir, ok.as_ptr()) } == 0 {
            0
        } else {
            nix::errno::Errno::last_raw()
        };
        Ok(format!(
            "{} {} {rm} {:?} {rm2}",
            status_line("NoNewPrivs"),
            status_line("Seccomp"),
            m
        ))
    });
    // rmdir of a missing dir would be ENOENT: EPERM proves the rule ran first.
    assert_eq!(
        out.unwrap(),
        format!("1 2 {} [18, 22, 0] {}", libc::EPERM, libc::EPERM)
    );
    assert!(!dir.join("mode700").exists() && !dir.join("sticky").exists());
    assert!(
        dir.join("plain").is_dir(),
        "a mkdir no rule matches goes through"
    );
}

#[test]
fn seccomp_default_errno_ret() {
    let dir = common::scratch("sec-seccomp-default");
    // Everything but what the child needs after the load fails with ENOTSUP.
    let p = seccomp_spec(
        r#"{"defaultAction":"SCMP_ACT_ERRNO","defaultErrnoRet":95,"syscalls":[
            {"names":["write","exit_group","exit","rt_sigreturn"],"action":"SCMP_ACT_ALLOW"}]}"#,
    );
    let path = std::ffi::CString::new(dir.join("y").to_str().unwrap()).unwrap();
    let out = in_child(|w| {
        p.apply_no_new_privs().map_err(e)?;
        p.load_seccomp().map_err(e)?;
        // No allocation from here on: only write(2) and exit are allowed.
        let m = raw_mkdir(&path, 0o755);
        let msg: &[u8] = if m == libc::ENOTSUP {
            b"OK enotsup"
        } else {
            b"ERR other errno"
        };
        // SAFETY (test): writing a static buffer to our pipe, then exiting.
        unsafe {
            libc::write(w, msg.as_ptr().cast(), msg.len());
            libc::_exit(0);
        }
    });
    assert_eq!(out.unwrap(), "enotsup");
    assert!(!dir.join("y").exists());
}

#[test]
fn seccomp_tsync_flag_reaches_other_threads() {
    let run = |flags: &str| {
        let p = seccomp_spec(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","flags":[{flags}],"syscalls":[{{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}}]}}"#
        ));
        in_child(|_| {
            let (tx, rx) = std::sync::mpsc::channel::<()>();
            let (tx2, rx2) = std::sync::mpsc::channel();
            let t = std::thread::spawn(move || {
                rx.recv().unwrap();
                tx2.send(status_line("Seccomp")).unwrap();
            });
            p.apply_no_new_privs().map_err(e)?;
            p.load_seccomp().map_err(e)?;
            tx.send(()).unwrap();
            let other = rx2.recv().map_err(e)?;
            t.join().unwrap();
            Ok(other)
        })
        .unwrap()
    };
    assert_eq!(run(r#""SECCOMP_FILTER_FLAG_TSYNC""#), "2");
    assert_eq!(run(""), "0");
    // The other flags are accepted by this kernel and libseccomp.
    assert_eq!(
        run(r#""SECCOMP_FILTER_FLAG_LOG","SECCOMP_FILTER_FLAG_SPEC_ALLOW""#),
        "0"
    );
}

#[test]
fn seccomp_notify_sends_the_fd_and_metadata_to_the_agent() {
    use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags, ScmpSyscall};
    let dir = common::scratch("sec-seccomp-notify");
    let sock = dir.join("agent.sock");
    let listener = UnixListener::bind(&sock).unwrap();
    let p = seccomp_spec(&format!(
        r#"{{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"{}","listenerMetadata":"sec-meta",
            "syscalls":[{{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}}]}}"#,
        sock.display()
    ));
    let path = std::ffi::CString::new(dir.join("z").to_str().unwrap()).unwrap();
    let agent = std::thread::spawn(move || {
        let (conn, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 4096];
        let mut cbuf = nix::cmsg_space!([i32; 1]);
        let mut iov = [std::io::IoSliceMut::new(&mut buf)];
        let msg = nix::sys::socket::recvmsg::<()>(
            conn.as_raw_fd(),
            &mut iov,
            Some(&mut cbuf),
            nix::sys::socket::MsgFlags::MSG_CMSG_CLOEXEC,
        )
        .unwrap();
        let n = msg.bytes;
        let mut fd = None;
        for c in msg.cmsgs().unwrap() {
            if let nix::sys::socket::ControlMessageOwned::ScmRights(v) = c {
                // SAFETY (test): the fd was just received and is ours alone.
                fd = Some(unsafe { OwnedFd::from_raw_fd(v[0]) });
            }
        }
        let json: serde_json::Value = serde_json::from_slice(&buf[..n]).unwrap();
        let fd = fd.expect("no fd in the message");
        let req = ScmpNotifReq::receive(fd.as_raw_fd()).unwrap();
        let name = req.data.syscall;
        ScmpNotifResp::new_error(req.id, -libc::EXDEV, ScmpNotifRespFlags::empty())
            .respond(fd.as_raw_fd())
            .unwrap();
        (json, name, req.pid)
    });
    let out = in_child(|_| {
        p.apply_no_new_privs().map_err(e)?;
        let fd = p.load_seccomp().map_err(e)?.ok_or("no notify fd")?;
        let sc = p.seccomp.as_ref().unwrap();
        let state = br#"{"ociVersion":"1.0.2","id":"sec-notify","status":"creating","pid":1,"bundle":"/b"}"#;
        let payload = security::notify::process_state(&sc.listener_metadata, std::process::id() as i32, state).map_err(e)?;
        security::notify::send_to_agent(sc.listener_path.as_deref().unwrap(), &payload, fd.as_fd()).map_err(e)?;
        Ok(format!("{} {}", std::process::id(), raw_mkdir(&path, 0o755)))
    })
    .unwrap();
    let (json, syscall, pid) = agent.join().unwrap();
    let (child_pid, errno) = out.split_once(' ').unwrap();
    assert_eq!(
        errno,
        libc::EXDEV.to_string(),
        "the agent's answer reaches the caller"
    );
    assert_eq!(pid.to_string(), child_pid);
    assert_eq!(syscall, ScmpSyscall::from_name("mkdir").unwrap());
    assert_eq!(json["metadata"], "sec-meta");
    assert_eq!(json["fds"][0], "seccompFd");
    assert_eq!(json["pid"].to_string(), child_pid);
    assert_eq!(json["state"]["id"], "sec-notify");
    assert!(!dir.join("z").exists());
}

fn keys_line(name: &str) -> Option<String> {
    std::fs::read_to_string("/proc/keys")
        .ok()?
        .lines()
        .find(|l| l.ends_with(&format!("{name}: empty")))
        .map(str::to_string)
}

/// Serial of the calling process's session keyring (without creating one).
fn session_serial() -> i64 {
    const KEYCTL_GET_KEYRING_ID: i64 = 0;
    const KEY_SPEC_SESSION_KEYRING: i64 = -3;
    // SAFETY (test): a query with integer arguments.
    unsafe {
        libc::syscall(
            libc::SYS_keyctl,
            KEYCTL_GET_KEYRING_ID,
            KEY_SPEC_SESSION_KEYRING,
            0,
        )
    }
}

#[test]
fn session_keyring() {
    let id = format!("sec-kr-{}", std::process::id());
    let p = plan(&spec_with("", ""));
    let name = format!("_ses.{id}");
    let out = in_child(|_| {
        let serial = p
            .join_keyring(&id, true)
            .map_err(e)?
            .ok_or("keyrings unavailable")?;
        let line = keys_line(&name).ok_or("keyring not in /proc/keys")?;
        Ok(format!("{serial:x} {:x} {line}", session_serial()))
    });
    let out = match out {
        Err(e) if e == "keyrings unavailable" => {
            common::skip_machine(false, "the kernel refuses keyrings (ENOSYS/EACCES)");
            return;
        }
        o => o.unwrap(),
    };
    let f: Vec<&str> = out.split_whitespace().collect();
    assert_eq!(
        f[0], f[1],
        "the child's session keyring is the new one: {out}"
    );
    assert_eq!(
        f[0],
        f[2].trim_start_matches('0'),
        "serial matches /proc/keys: {out}"
    );
    let perm = u32::from_str_radix(f[6], 16).unwrap();
    assert_ne!(
        perm & 0x0008_0000,
        0,
        "user search permission was added: {out}"
    );
    assert_ne!(
        format!("{:x}", session_serial()),
        f[0],
        "the runtime's own session is untouched"
    );

    let mut no = p.clone();
    no.new_keyring = false;
    let parent = session_serial();
    let out = in_child(|_| {
        Ok(format!(
            "{:?} {}",
            no.join_keyring(&id, true).map_err(e)?,
            session_serial()
        ))
    });
    assert_eq!(
        out.unwrap(),
        format!("None {parent}"),
        "--no-new-keyring keeps the inherited session keyring"
    );
}

fn read_sysctl(path: &str) -> String {
    std::fs::read_to_string(path).unwrap().trim().to_string()
}

#[test]
fn sysctls_in_new_net_and_ipc_namespaces() {
    let p = plan(&spec_with(
        "",
        r#""namespaces":[{"type":"network"},{"type":"ipc"}],
            "sysctl":{"net.ipv4.ip_forward":"1","kernel/shmmni":"1234","net/ipv4/conf/lo/forwarding":"1"}"#,
    ));
    let host = (
        read_sysctl("/proc/sys/net/ipv4/ip_forward"),
        read_sysctl("/proc/sys/kernel/shmmni"),
    );
    let out = in_child(|_| {
        unshare(CloneFlags::CLONE_NEWNET | CloneFlags::CLONE_NEWIPC).map_err(e)?;
        p.apply_sysctls().map_err(e)?;
        Ok([
            "net/ipv4/ip_forward",
            "kernel/shmmni",
            "net/ipv4/conf/lo/forwarding",
        ]
        .map(|k| read_sysctl(&format!("/proc/sys/{k}")))
        .join(" "))
    });
    assert_eq!(out.unwrap(), "1 1234 1");
    assert_eq!(
        (
            read_sysctl("/proc/sys/net/ipv4/ip_forward"),
            read_sysctl("/proc/sys/kernel/shmmni")
        ),
        host
    );
}

/// New private mount namespace for a child.
fn private_mount_ns() -> Result<(), String> {
    use nix::mount::{mount, MsFlags};
    unshare(CloneFlags::CLONE_NEWNS).map_err(e)?;
    mount(
        None::<&str>,
        "/",
        None::<&str>,
        MsFlags::MS_REC | MsFlags::MS_PRIVATE,
        None::<&str>,
    )
    .map_err(e)
}

#[test]
fn sysctl_write_is_not_redirected_by_a_mount_over_proc_sys() {
    // CVE-2025-52881 class: a file bind-mounted over a /proc/sys entry.
    use nix::mount::{mount, MsFlags};
    let dir = common::scratch("sec-sysctl-redirect");
    let decoy = dir.join("decoy");
    std::fs::write(&decoy, "decoy").unwrap();
    let p = plan(&spec_with(
        "",
        r#""namespaces":[{"type":"network"}],"sysctl":{"net.ipv4.ip_forward":"1"}"#,
    ));
    let out = in_child(|_| {
        private_mount_ns()?;
        unshare(CloneFlags::CLONE_NEWNET).map_err(e)?;
        mount(
            Some(&decoy),
            "/proc/sys/net/ipv4/ip_forward",
            None::<&str>,
            MsFlags::MS_BIND,
            None::<&str>,
        )
        .map_err(e)?;
        // The mounted /proc, if we were to use it, must refuse the crossing.
        let mounted = security::ProcRoot::from_mounted("/proc".as_ref()).map_err(e)?;
        let refused = mounted.write("sys/net/ipv4/ip_forward", b"1").is_err();
        // The plan's write goes to the real file, not the decoy.
        p.apply_sysctls().map_err(e)?;
        Ok(format!("{refused}"))
    });
    assert_eq!(out.unwrap(), "true");
    assert_eq!(std::fs::read_to_string(&decoy).unwrap(), "decoy");
}

#[test]
fn lsm_write_refuses_a_fake_procfs() {
    // CVE-2019-16884 / CVE-2023-27561: a tmpfs with the attr files mounted at /proc.
    use nix::mount::{mount, MsFlags};
    let out = in_child(|_| {
        private_mount_ns()?;
        mount(
            Some("tmpfs"),
            "/proc",
            Some("tmpfs"),
            MsFlags::empty(),
            None::<&str>,
        )
        .map_err(e)?;
        let me = std::process::id();
        let attr = format!("/proc/{me}/attr/apparmor");
        std::fs::create_dir_all(&attr).map_err(e)?;
        std::fs::write(format!("{attr}/exec"), "").map_err(e)?;
        std::os::unix::fs::symlink(me.to_string(), "/proc/self").map_err(e)?;
        let direct = security::ProcRoot::from_mounted("/proc".as_ref())
            .map(|_| ())
            .map_err(e);
        let root = security::ProcRoot::open().map_err(e)?;
        let write = security::lsm::write_apparmor(&root, "nsrun-fake").map_err(e);
        let fake = std::fs::read_to_string(format!("{attr}/exec")).map_err(e)?;
        Ok(format!("{direct:?}|{:?}|{write:?}|{fake:?}", root.source()))
    })
    .unwrap();
    let parts: Vec<&str> = out.split('|').collect();
    assert!(parts[0].contains("is not on procfs"), "{out}");
    assert_ne!(parts[1], "Mounted", "{out}");
    assert!(
        parts[2].starts_with("Err("),
        "with no LSM the real attr write fails: {out}"
    );
    assert_eq!(
        parts[3], "\"\"",
        "the fake attr file was not written: {out}"
    );
}

/// i386 mkdir(path, 0755) through `int 0x80`; returns the raw result
/// (-errno on failure). The path must live below 4 GiB for a 32-bit pointer.
#[cfg(target_arch = "x86_64")]
fn mkdir_i386(path: &std::ffi::CStr) -> i64 {
    const NR_MKDIR_I386: u32 = 39;
    let bytes = path.to_bytes_with_nul();
    // SAFETY (test): a fresh private mapping below 4 GiB, written then used
    // as the 32-bit syscall's argument; `int 0x80` clobbers only eax.
    unsafe {
        let p = libc::mmap(
            std::ptr::null_mut(),
            4096,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_PRIVATE | libc::MAP_ANONYMOUS | libc::MAP_32BIT,
            -1,
            0,
        );
        assert_ne!(p, libc::MAP_FAILED);
        std::ptr::copy_nonoverlapping(bytes.as_ptr(), p.cast::<u8>(), bytes.len());
        let mut ret: u32 = NR_MKDIR_I386;
        // rbx belongs to LLVM: swap the argument in and out around the trap.
        std::arch::asm!("xchg {a}, rbx", "int 0x80", "xchg {a}, rbx",
            a = inout(reg) p as u64 => _, inout("eax") ret, in("ecx") 0o755u32,
            out("r8") _, out("r9") _, out("r10") _, out("r11") _);
        ret as i32 as i64
    }
}

#[cfg(target_arch = "x86_64")]
#[test]
fn seccomp_architectures_cover_the_32bit_abi() {
    let dir = common::scratch("sec-seccomp-arch");
    let run = |archs: &str, name: &str| {
        let p = seccomp_spec(&format!(
            r#"{{"defaultAction":"SCMP_ACT_ALLOW","architectures":[{archs}],
                "syscalls":[{{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","errnoRet":1}}]}}"#
        ));
        let path = std::ffi::CString::new(dir.join(name).to_str().unwrap()).unwrap();
        in_child(|_| {
            p.apply_no_new_privs().map_err(e)?;
            p.load_seccomp().map_err(e)?;
            Ok(mkdir_i386(&path).to_string())
        })
    };
    // Without a filter the 32-bit ABI works here (else there is nothing to test).
    let probe = std::ffi::CString::new(dir.join("probe").to_str().unwrap()).unwrap();
    if common::skip_machine(
        in_child(|_| Ok(mkdir_i386(&probe).to_string())) == Ok("0".into()),
        "no ia32 emulation",
    ) {
        return;
    }
    // Listed: the i386 mkdir hits the rule.
    assert_eq!(
        run(r#""SCMP_ARCH_X86_64","SCMP_ARCH_X86""#, "a").unwrap(),
        "-1"
    );
    assert!(!dir.join("a").exists());
    // Not listed: a foreign-arch syscall gets libseccomp's bad-arch action
    // (the thread is killed), it never runs unfiltered.
    let r = run(r#""SCMP_ARCH_X86_64""#, "b");
    assert_eq!(r, Err("child said \"\"".to_string()));
    assert!(!dir.join("b").exists());
}

#[test]
fn seccomp_without_no_new_privs_must_load_before_caps_drop() {
    // Why init loads it before finalize() when noNewPrivileges is false.
    let p = plan(&spec_with(
        r#","noNewPrivileges":false,"capabilities":{"bounding":["CAP_SYS_ADMIN"],"effective":["CAP_SYS_ADMIN"],"permitted":["CAP_SYS_ADMIN"]}"#,
        r#""seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}"#,
    ));
    assert!(p.seccomp_before_caps());
    let early = in_child(|_| {
        p.load_seccomp().map_err(e)?;
        p.finalize(security::caps::last_cap(), || {
            Ok::<_, security::SecurityError>(())
        })
        .map_err(e)?;
        Ok(format!(
            "{} {}",
            status_line("Seccomp"),
            status_line("NoNewPrivs")
        ))
    });
    assert_eq!(early.unwrap(), "2 0");
    let mut none = p.clone();
    none.capabilities = Default::default();
    let late = in_child(|_| {
        none.finalize(security::caps::last_cap(), || {
            Ok::<_, security::SecurityError>(())
        })
        .map_err(e)?;
        none.load_seccomp().map(|_| String::new()).map_err(e)
    });
    assert!(late
        .unwrap_err()
        .starts_with("error loading seccomp filter into kernel"));
}

/// The containers-common default profile (what podman uses), reduced to the
/// OCI form: entries gated on capabilities or arches are left out.
fn podman_default_seccomp() -> Option<String> {
    let raw = std::fs::read_to_string("/usr/share/containers/seccomp.json").ok()?;
    let v: serde_json::Value = serde_json::from_str(&raw).ok()?;
    let unconditional = |s: &serde_json::Value| {
        ["includes", "excludes"]
            .iter()
            .all(|k| s[k].as_object().map(|o| o.is_empty()).unwrap_or(true))
    };
    let syscalls: Vec<serde_json::Value> = v["syscalls"]
        .as_array()?
        .iter()
        .filter(|s| unconditional(s))
        .map(|s| {
            let mut o = serde_json::json!({"names": s["names"], "action": s["action"]});
            for k in ["args", "errnoRet"] {
                if !s[k].is_null() {
                    o[k] = s[k].clone();
                }
            }
            o
        })
        .collect();
    let oci = serde_json::json!({
        "defaultAction": v["defaultAction"],
        "defaultErrnoRet": v["defaultErrnoRet"],
        "architectures": ["SCMP_ARCH_X86_64", "SCMP_ARCH_X86", "SCMP_ARCH_X32"],
        "syscalls": syscalls,
    });
    Some(oci.to_string())
}

#[test]
fn a_real_default_profile_loads_and_filters() {
    let Some(profile) = podman_default_seccomp() else {
        common::skip_unless(false, "no /usr/share/containers/seccomp.json");
        return;
    };
    let p = seccomp_spec(&profile);
    let out = in_child(|_| {
        p.apply_no_new_privs().map_err(e)?;
        p.load_seccomp().map_err(e)?;
        let errno = |r: i64| {
            if r == 0 {
                0
            } else {
                nix::errno::Errno::last_raw()
            }
        };
        // SAFETY (test): kexec_load / add_key with null arguments; the filter answers first.
        let kexec = errno(unsafe { libc::syscall(libc::SYS_kexec_load, 0, 0, 0, 0) });
        let add_key = errno(unsafe { libc::syscall(libc::SYS_add_key, 0, 0, 0, 0, 0) });
        Ok(format!(
            "{} {kexec} {add_key} {}",
            status_line("Seccomp"),
            std::process::id() > 0
        ))
    });
    // kexec_load: the profile's explicit EPERM rule; add_key: not in the
    // profile at all, so defaultErrnoRet 38 (ENOSYS).
    assert_eq!(
        out.unwrap(),
        format!("2 {} {} true", libc::EPERM, libc::ENOSYS)
    );
}

/// Costs of the steps init takes (printed; run with --ignored --nocapture).
#[test]
#[ignore]
fn measure_costs() {
    use std::time::Instant;
    let n = 200u32;
    let time = |what: &str, f: &mut dyn FnMut()| {
        let t = Instant::now();
        for _ in 0..n {
            f();
        }
        eprintln!("{what}: {:?} per call", t.elapsed() / n);
    };
    let profile = podman_default_seccomp().expect("profile");
    let json = spec_with(
        r#","noNewPrivileges":true"#,
        &format!(r#""seccomp":{profile}"#),
    );
    let spec: Spec = serde_json::from_str(&json).unwrap();
    time("from_spec (podman default seccomp)", &mut || {
        drop(SecurityPlan::from_spec(&spec, false).unwrap())
    });
    let p = SecurityPlan::from_spec(&spec, false).unwrap();
    let sc = p.seccomp.clone().unwrap();
    time("seccomp build (no load), 3 arches", &mut || {
        drop(security::seccomp::build(&sc).unwrap())
    });
    let mut native = sc.clone();
    native.architectures.clear();
    time("seccomp build (no load), native only", &mut || {
        drop(security::seccomp::build(&native).unwrap())
    });
    let cfg = bincode::config::standard();
    let bytes = bincode::encode_to_vec(&p, cfg).unwrap();
    eprintln!("plan size (bincode): {} bytes", bytes.len());
    time("procfs root (fsmount)", &mut || {
        drop(security::ProcRoot::open().unwrap())
    });
    time("procfs root (mounted /proc, checked)", &mut || {
        drop(security::ProcRoot::from_mounted("/proc".as_ref()).unwrap())
    });
    time("spawn /bin/true (a hook's floor)", &mut || {
        std::process::Command::new("/bin/true")
            .status()
            .map(drop)
            .unwrap()
    });
}
