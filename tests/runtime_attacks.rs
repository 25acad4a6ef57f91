//! CVE attacks run from inside real containers against the runtime, each
//! also against runc 1.1.5 on the same bundles:
//! - CVE-2016-9962: a process exec'd into the container is held in its final
//!   execve by a seccomp agent (after it dropped to the container's uid and
//!   capabilities); the container's pid 1 ptraces it, reads its memory,
//!   environ, exe, cwd, root and fds. All refused, because the stage is
//!   non-dumpable; a dumpable control process with the same credentials
//!   lets every one through. Also a pod: B joins A's pid namespace and A
//!   goes for B's init while B's createContainer hook holds it.
//! - CVE-2019-5736: a `#!/proc/self/exe` entrypoint / exec'd program (the
//!   kernel would run the runtime binary as a container process), the
//!   waiting init's exe kept as an O_PATH fd and reopened for writing after
//!   `start`, and the exec'd process's exe. The host binary must not change.
//!
//! The attacker is `/payload serve:/mbox`, the pid 1 of container "A" (or a
//! process exec'd into it), fed commands through a bind-mounted mailbox.

#[path = "payload/bundle.rs"]
mod bundle;
mod common;

use bundle::*;
use libseccomp::{ScmpNotifReq, ScmpNotifResp, ScmpNotifRespFlags};
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc::{channel, Receiver, Sender};
use std::time::{Duration, Instant};

/// The runtime under test: nsrun or the reference runc.
#[derive(Clone, Copy, PartialEq)]
enum Rt {
    Nsrun,
    Runc,
}

impl Rt {
    fn bin(self) -> PathBuf {
        match self {
            Rt::Nsrun => common::nsrun_bin(),
            Rt::Runc => "/usr/sbin/runc".into(),
        }
    }
    fn root(self) -> PathBuf {
        match self {
            Rt::Nsrun => nsrun_root(),
            Rt::Runc => runc_root(),
        }
    }
    fn tag(self) -> &'static str {
        match self {
            Rt::Nsrun => "n",
            Rt::Runc => "r",
        }
    }
    /// Start `<rt> --root R args` with stdin a pipe we hold, output in files.
    fn spawn(self, dir: &Path, args: &[&str]) -> Child {
        Command::new(self.bin())
            .arg("--root")
            .arg(self.root())
            .args(args)
            .stdin(Stdio::piped())
            .stdout(std::fs::File::create(dir.join(".sout")).unwrap())
            .stderr(std::fs::File::create(dir.join(".serr")).unwrap())
            .spawn()
            .unwrap()
    }
    fn run(self, dir: &Path, args: &[&str]) -> (i32, String, String) {
        detached(self == Rt::Runc, dir, args)
    }
}

fn runtimes() -> Vec<Rt> {
    let mut v = vec![Rt::Nsrun];
    if !common::skip_unless(
        Path::new("/usr/sbin/runc").exists(),
        "runc not installed: attacks not run against it",
    ) {
        v.push(Rt::Runc);
    }
    v
}

fn sha256(p: &Path) -> String {
    let o = Command::new("sha256sum").arg(p).output().unwrap();
    String::from_utf8_lossy(&o.stdout)
        .split(' ')
        .next()
        .unwrap_or("")
        .to_string()
}

/// The attacker container "A" and its mailbox.
struct Attacker {
    rt: Rt,
    id: String,
    bundle: Bundle,
    mbox: PathBuf,
    pid: i32,
}

impl Attacker {
    /// Start A; `edit` may change its config first.
    fn start(rt: Rt, name: &str, edit: &dyn Fn(&mut Value)) -> Attacker {
        let id = format!("atk-{name}-{}", rt.tag());
        let mbox = common::scratch(&format!("{id}-mbox"));
        let evil = mbox.join("evil");
        std::fs::write(&evil, "#!/proc/self/exe\n").unwrap();
        std::fs::set_permissions(&evil, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        let mut c = base_config(&["/payload", "serve:/mbox"]);
        let m = c["mounts"].as_array_mut().unwrap();
        m.push(json!({"destination": "/mbox", "type": "bind", "source": mbox, "options": ["rbind", "rw"]}));
        m.push(json!({"destination": "/evil", "type": "bind", "source": evil, "options": ["bind", "ro"]}));
        edit(&mut c);
        let bundle = Bundle::new(&id, &c);
        let (rc, _, e) = rt.run(
            &bundle.dir,
            &["run", "-d", "-b", path_str(&bundle.dir), &id],
        );
        assert_eq!(rc, 0, "start attacker: {e}");
        let pid = state_pid(rt, &bundle.dir, &id);
        Attacker {
            rt,
            id,
            bundle,
            mbox,
            pid,
        }
    }

    /// Send one command to the attacker, wait for its answer.
    fn ask(&self, cmd: &str) -> String {
        let (tmp, out) = (self.mbox.join("cmd.tmp"), self.mbox.join("out"));
        let _ = std::fs::remove_file(&out);
        std::fs::write(&tmp, format!("{cmd}\n")).unwrap();
        std::fs::rename(&tmp, self.mbox.join("cmd")).unwrap();
        let t = Instant::now();
        while t.elapsed() < Duration::from_secs(20) {
            if let Ok(s) = std::fs::read_to_string(&out) {
                let _ = std::fs::remove_file(&out);
                return s;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        panic!("attacker did not answer {cmd:?}");
    }

    /// A namespace spec list joining A's pid namespace (a pod's sandbox).
    fn pod_config(&self, args: &[&str]) -> Value {
        let mut c = base_config(args);
        for ns in c["linux"]["namespaces"].as_array_mut().unwrap() {
            if ns["type"] == "pid" {
                ns["path"] = json!(format!("/proc/{}/ns/pid", self.pid));
            }
        }
        c
    }
}

impl Drop for Attacker {
    fn drop(&mut self) {
        let _ = std::fs::write(self.mbox.join("cmd"), "quit\n");
        let _ = self.rt.run(&self.bundle.dir, &["delete", "-f", &self.id]);
    }
}

fn state_pid(rt: Rt, dir: &Path, id: &str) -> i32 {
    let (rc, o, e) = rt.run(dir, &["state", id]);
    assert_eq!(rc, 0, "state {id}: {e}");
    serde_json::from_str::<Value>(&o).unwrap()["pid"]
        .as_i64()
        .unwrap() as i32
}

/// The pid a host process has in the innermost pid namespace it is in.
fn inner_pid(host: i32) -> i32 {
    let s = std::fs::read_to_string(format!("/proc/{host}/status")).unwrap();
    let l = s.lines().find(|l| l.starts_with("NSpid:")).unwrap();
    l.split_whitespace().last().unwrap().parse().unwrap()
}

fn wait_file(p: &Path) -> String {
    let t = Instant::now();
    while t.elapsed() < Duration::from_secs(20) {
        if let Ok(s) = std::fs::read_to_string(p) {
            if serde_json::from_str::<Value>(&s).is_ok() {
                return s;
            }
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("{} never appeared", p.display());
}

/// `key=value` lines of an answer, without the values (for comparing runc).
fn keys(s: &str) -> Vec<String> {
    s.lines()
        .map(|l| l.split('=').next().unwrap_or("").to_string())
        .collect()
}

/// A seccomp agent at `sock` (linux.seccomp.listenerPath). It lets every
/// notified syscall go on, except the first one of the `hold`-th filter it
/// is sent (0-based): that one's pid goes out on the first channel, and the
/// syscall waits until the second channel says go.
fn agent(sock: &Path, hold: usize) -> (Receiver<u32>, Sender<()>) {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    use std::os::fd::AsRawFd;
    let _ = std::fs::remove_file(sock);
    let l = std::os::unix::net::UnixListener::bind(sock).unwrap();
    let (held_tx, held_rx) = channel();
    let (go_tx, go_rx) = channel::<()>();
    let mut go_rx = Some(go_rx);
    std::thread::spawn(move || {
        for n in 0.. {
            let Ok((s, _)) = l.accept() else { return };
            let mut buf = vec![0u8; 8192];
            let mut iov = [std::io::IoSliceMut::new(&mut buf)];
            let mut space = nix::cmsg_space!([std::os::fd::RawFd; 4]);
            let Ok(m) = recvmsg::<()>(
                s.as_raw_fd(),
                &mut iov,
                Some(&mut space),
                MsgFlags::MSG_CMSG_CLOEXEC,
            ) else {
                return;
            };
            let fd = m.cmsgs().unwrap().find_map(|c| match c {
                ControlMessageOwned::ScmRights(f) => f.first().copied(),
                _ => None,
            });
            let Some(fd) = fd else { continue };
            let held_tx = held_tx.clone();
            let wait = if n == hold { go_rx.take() } else { None };
            std::thread::spawn(move || {
                let mut wait = wait;
                while let Ok(req) = ScmpNotifReq::receive(fd) {
                    if let Some(w) = wait.take() {
                        let _ = held_tx.send(req.pid);
                        let _ = w.recv();
                    }
                    let _ = ScmpNotifResp::new_continue(req.id, ScmpNotifRespFlags::empty())
                        .respond(fd);
                }
            });
        }
    });
    (held_rx, go_tx)
}

/// CVE-2016-9962: a process exec'd into A (`exec` joins A's namespaces) is
/// stopped in its final execve (a seccomp agent holds the syscall): it has
/// dropped to the process's capabilities and uid, so only its being
/// non-dumpable keeps A's pid 1 (same uid, same capabilities) out. Returns
/// the probe of that process and of a control (an exec'd `sleep`: dumpable,
/// same credentials).
fn ptrace_exec_process(rt: Rt) -> (String, String) {
    let sock = common::scratch(&format!("atk-9962-{}-agent", rt.tag())).join("agent.sock");
    let (held, go) = agent(&sock, 1);
    let a = Attacker::start(rt, "9962", &|c| {
        c["linux"]["seccomp"] = json!({"defaultAction": "SCMP_ACT_ALLOW", "listenerPath": sock,
            "syscalls": [{"names": ["execve", "execveat"], "action": "SCMP_ACT_NOTIFY"}]});
    });
    let mut exec = rt.spawn(&a.bundle.dir, &["exec", &a.id, "/payload", "exit:0"]);
    let tid = held
        .recv_timeout(Duration::from_secs(20))
        .expect("the exec'd process never reached execve");
    let st = std::fs::read_to_string(format!("/proc/{tid}/status")).unwrap();
    let tgid: i32 = st
        .lines()
        .find_map(|l| l.strip_prefix("Tgid:"))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let inner = inner_pid(tgid);
    let probe = a.ask(&format!("probe {inner}"));
    // CVE-2019-5736 during exec: not even an O_PATH fd of its binary.
    let grab = a.ask(&format!("grab {inner}"));
    assert!(
        grab.contains("grab.opath=Permission denied\n"),
        "the exec'd runtime's exe was reachable: {grab}"
    );
    go.send(()).unwrap();
    drop(exec.stdin.take());
    let st = exec.wait().unwrap();
    assert!(
        st.success(),
        "exec: {}",
        std::fs::read_to_string(a.bundle.dir.join(".serr")).unwrap_or_default()
    );

    let pidf = a.mbox.join("ctl.pid");
    let (rc, _, e) = rt.run(
        &a.bundle.dir,
        &[
            "exec",
            "-d",
            "--pid-file",
            path_str(&pidf),
            &a.id,
            "sleep",
            "60",
        ],
    );
    assert_eq!(rc, 0, "exec control: {e}");
    let ctl: i32 = std::fs::read_to_string(&pidf)
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    let control = a.ask(&format!("probe {}", inner_pid(ctl)));
    (probe, control)
}

/// Every way into the exec'd process is refused, while the same ways into a
/// dumpable process with the same uid and capabilities work: the refusal is
/// the non-dumpable stage, not a lack of privilege. Checked by removing the
/// `set_dumpable(false)` in src/stage/mod.rs: every probe line read "ok".
#[test]
fn cve_2016_9962_exec_process_cannot_be_ptraced() {
    let mut seen = vec![];
    for rt in runtimes() {
        let (probe, control) = ptrace_exec_process(rt);
        let who = rt.tag();
        assert_eq!(keys(&probe).len(), 10, "{who}: {probe}");
        for l in probe.lines() {
            assert!(
                !l.ends_with("=ok"),
                "{who}: the exec'd process let a container process in: {l}\n{probe}"
            );
        }
        for k in [
            "attach", "seize", "vmread", "mem", "environ", "exe", "cwd", "root", "fdlink",
        ] {
            assert!(
                control.contains(&format!("probe.{k}=ok\n")),
                "{who}: control {k} failed, the test proves nothing: {control}"
            );
        }
        seen.push(probe);
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "nsrun and runc refuse differently");
    }
    assert_dev_null_intact();
}

/// CVE-2016-9962 in a pod: B joins A's pid namespace and stalls in its
/// createContainer hook (init waits for it, in B's namespaces, before
/// pivot_root). A's pid 1 goes for B's init. Here init still holds all of
/// root's capabilities, so the kernel refuses a less privileged tracer
/// whether init is dumpable or not (removing the guard changes nothing);
/// what this shows is that no setup step opens a way in.
#[test]
fn cve_2016_9962_pod_init_cannot_be_ptraced() {
    let mut seen = vec![];
    for rt in runtimes() {
        let a = Attacker::start(rt, "9962pod", &|_| {});
        let fifo = a.mbox.join("release");
        nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).unwrap();
        let bstate = a.mbox.join("b-state.json");
        let mut c = a.pod_config(&["true"]);
        let hook = format!(
            "cat > {}; cat {} >/dev/null",
            bstate.display(),
            fifo.display()
        );
        c["hooks"] = json!({"createContainer": [{"path": "/bin/sh", "args": ["sh", "-c", hook], "timeout": 60}]});
        let bid = format!("atk-9962b-{}", rt.tag());
        let b = Bundle::new(&bid, &c);
        let mut create = rt.spawn(&b.dir, &["create", "-b", path_str(&b.dir), &bid]);
        // createContainer's state pid is init's getpid(): its pid in A's namespace.
        let st: Value = serde_json::from_str(&wait_file(&bstate)).unwrap();
        let probe = a.ask(&format!("probe {}", st["pid"].as_i64().unwrap()));
        drop(std::fs::OpenOptions::new().write(true).open(&fifo).unwrap());
        drop(create.stdin.take());
        let ok = create.wait().unwrap().success();
        let _ = rt.run(&b.dir, &["delete", "-f", &bid]);
        assert!(
            ok,
            "create B: {}",
            std::fs::read_to_string(b.dir.join(".serr")).unwrap_or_default()
        );
        assert_eq!(keys(&probe).len(), 10, "{probe}");
        assert!(!probe.contains("=ok"), "B's init let A in: {probe}");
        seen.push(probe);
    }
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "nsrun and runc refuse differently");
    }
    assert_dev_null_intact();
}

/// The host pid of a process in `ns` (a pid namespace link) that runs as
/// `/proc/self/exe`, if one exists now.
fn self_exe_process(ns: &Path) -> Option<i32> {
    let want = std::fs::read_link(ns).ok()?;
    std::fs::read_dir("/proc").ok()?.flatten().find_map(|e| {
        let pid: i32 = e.file_name().to_str()?.parse().ok()?;
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
        let ours = cmd.starts_with(b"/proc/self/exe\0")
            && std::fs::read_link(format!("/proc/{pid}/ns/pid")).ok()? == want;
        ours.then_some(pid)
    })
}

/// What became of a container program that is a `#!/proc/self/exe` script.
enum SelfExe {
    /// The runtime refused to exec it; its stderr.
    Refused(String),
    /// The runtime binary ran in the container; the attacker's answers.
    Attacked(String),
}

/// Append through the runtime binary a container runs via `#!/proc/self/exe`.
/// `start` starts it, stalled: the attacker-controlled env points the nsexec
/// stage at stdin, which we hold open.
fn self_exe_attack(a: &Attacker, errf: &Path, start: &dyn Fn() -> Child) -> SelfExe {
    let ns = PathBuf::from(format!("/proc/{}/ns/pid", a.pid));
    let mut p = start();
    let t = Instant::now();
    while self_exe_process(&ns).is_none() {
        if p.try_wait().unwrap().is_some() || t.elapsed() > Duration::from_secs(20) {
            let _ = p.kill();
            let _ = p.wait();
            return SelfExe::Refused(std::fs::read_to_string(errf).unwrap_or_default());
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    let grab = a.ask("grab");
    drop(p.stdin.take());
    let _ = p.wait();
    let later = a.ask("write");
    SelfExe::Attacked(format!("{grab}{later}"))
}

/// On this machine (Linux 6.18) the kernel itself refuses, for both
/// runtimes, to exec a file reached through /proc/self/exe when that file
/// lies outside the caller's mount namespace (runc's sealed copy, nsrun's
/// detached read-only bind): the script's interpreter is "not found". On a
/// kernel that runs it, the attacker gets its O_PATH fd and must not write.
fn assert_refused(rt: Rt, how: &str, r: SelfExe) {
    match r {
        SelfExe::Refused(e) => {
            assert!(
                e.contains("/evil") && e.to_lowercase().contains("no such file or directory"),
                "{how}: {e}"
            );
            eprintln!(
                "NOTE: {how}: the kernel refused the #!/proc/self/exe script: {}",
                e.trim()
            );
        }
        SelfExe::Attacked(o) => {
            assert!(
                o.contains("grab.opath=ok\n")
                    && o.contains("now.open=")
                    && o.contains("later.open="),
                "{how}: {o}"
            );
            assert!(
                !o.contains(".write=ok"),
                "{how}: wrote into the runtime binary ({}): {o}",
                rt.bin().display()
            );
        }
    }
}

const STALL: [&str; 2] = ["_LIBCONTAINER_INITPIPE=0", "_LIBCONTAINER_LOGPIPE=2"];

/// CVE-2019-5736 during exec and during run. Checked by making
/// `process::exe::protected_exe` return the plain /proc/self/exe: the
/// "later" append then succeeded and the sha256 check failed.
#[test]
fn cve_2019_5736_self_exe_script_cannot_write_runtime() {
    for rt in runtimes() {
        let bin = rt.bin();
        let before = sha256(&bin);
        let a = Attacker::start(rt, "5736", &|_| {});

        let exec = a.bundle.dir.clone();
        let o = self_exe_attack(&a, &exec.join(".serr"), &|| {
            rt.spawn(
                &exec,
                &["exec", "-e", STALL[0], "-e", STALL[1], &a.id, "/evil"],
            )
        });
        assert_refused(rt, "exec", o);

        let bid = format!("atk-5736b-{}", rt.tag());
        let mut c = a.pod_config(&["/evil"]);
        let env = c["process"]["env"].as_array_mut().unwrap();
        env.extend(STALL.iter().map(|s| json!(s)));
        c["mounts"].as_array_mut().unwrap().push(json!({"destination": "/evil", "type": "bind", "source": a.mbox.join("evil"), "options": ["bind", "ro"]}));
        let b = Bundle::new(&bid, &c);
        let o = self_exe_attack(&a, &b.dir.join(".serr"), &|| {
            rt.spawn(&b.dir, &["run", "-b", path_str(&b.dir), &bid])
        });
        let _ = rt.run(&b.dir, &["delete", "-f", &bid]);
        assert_refused(rt, "run", o);

        drop(a);
        assert_eq!(sha256(&bin), before, "{} changed", bin.display());
    }
    assert_dev_null_intact();
}

/// CVE-2019-5736 through the waiting init: in a container without its own
/// pid namespace, a process exec'd into the created container keeps an
/// O_PATH fd of init's exe (init is dumpable there, in runc too), tries to
/// append now (the binary runs: ETXTBSY at best), then again after `start`
/// made init exec the entrypoint, when no process runs that binary file any
/// more. Checked by making `process::exe::protected_exe` return the plain
/// /proc/self/exe: "later" then opened target/release/nsrun for writing.
fn waiting_init_attack(rt: Rt) -> String {
    let id = format!("atk-wait-{}", rt.tag());
    let mbox = common::scratch(&format!("{id}-mbox"));
    let mut c = base_config(&["true"]);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "pid");
    c["mounts"].as_array_mut().unwrap().push(
        json!({"destination": "/mbox", "type": "bind", "source": mbox, "options": ["rbind", "rw"]}),
    );
    let bundle = Bundle::new(&id, &c);
    let (rc, _, e) = rt.run(&bundle.dir, &["create", "-b", path_str(&bundle.dir), &id]);
    assert_eq!(rc, 0, "create: {e}");
    let init = state_pid(rt, &bundle.dir, &id);
    let (rc, _, e) = rt.run(&bundle.dir, &["exec", "-d", &id, "/payload", "serve:/mbox"]);
    assert_eq!(rc, 0, "exec attacker: {e}");
    let a = Attacker {
        rt,
        id: id.clone(),
        bundle,
        mbox,
        pid: init,
    };
    let grab = a.ask(&format!("grab {init}"));
    let (rc, _, e) = rt.run(&a.bundle.dir, &["start", &id]);
    assert_eq!(rc, 0, "start: {e}");
    let t = Instant::now();
    while alive(init) && t.elapsed() < Duration::from_secs(10) {
        std::thread::sleep(Duration::from_millis(5));
    }
    format!("{grab}{}", a.ask("write"))
}

#[test]
fn cve_2019_5736_waiting_init_binary_cannot_be_written() {
    for rt in runtimes() {
        let bin = rt.bin();
        let before = sha256(&bin);
        let o = waiting_init_attack(rt);
        assert!(
            o.contains("grab.opath=ok\n") && o.contains("now.open=") && o.contains("later.open="),
            "{o}"
        );
        assert!(
            !o.contains(".open=ok"),
            "the runtime binary was opened for writing ({}): {o}",
            bin.display()
        );
        // Still busy after 5 s of retries would prove nothing.
        assert!(!o.contains("later.open=Text file busy"), "{o}");
        assert_eq!(sha256(&bin), before, "{} changed", bin.display());
    }
    assert_dev_null_intact();
}
