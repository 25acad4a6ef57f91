//! Helpers shared by the tests/cgroups_*.rs binaries: unique cgroup names,
//! children that are killed and reaped on drop, and a manager guard that
//! destroys its cgroup even when a test fails.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Write};
use std::path::PathBuf;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::time::{Duration, Instant};

use crate::cgroups::{self, CgroupConfig, Manager, Resources};

/// "/nsrun-cgtest-<pid>-<tag>": unique per test process and test.
pub fn name(tag: &str) -> String {
    format!("/nsrun-cgtest-{}-{tag}", std::process::id())
}

/// Whether the test can touch the real hierarchy at all.
pub fn can_run() -> bool {
    // SAFETY: geteuid has no side effects.
    let root = unsafe { libc::geteuid() } == 0;
    !crate::common::skip_unless(
        root && cgroups::probe::host().is_ok(),
        "needs root and a mounted cgroup hierarchy",
    )
}

pub fn resources(v: serde_json::Value) -> Resources {
    Resources::from_json_value(v).expect("resources")
}

/// A manager whose cgroup is destroyed on drop.
pub struct Cg {
    pub cfg: CgroupConfig,
    pub mgr: Box<dyn Manager>,
}

impl Cg {
    pub fn new(tag: &str, r: Resources) -> Cg {
        let cfg = CgroupConfig::new(Some(&name(tag)), "unused", r, false).expect("config");
        let mgr = cgroups::manager(&cfg, false).expect("manager");
        Cg { cfg, mgr }
    }

    /// A cgroup with its resources set, holding a new `sh -c script` child.
    pub fn with_child(tag: &str, r: serde_json::Value, script: &str) -> (Cg, Proc) {
        let cg = Cg::new(tag, resources(r));
        let p = Proc::sh(script);
        cg.mgr.apply(p.pid()).expect("apply");
        cg.mgr.set(&cg.cfg.resources).expect("set");
        (cg, p)
    }

    /// Every directory this cgroup has (or had) on the host.
    pub fn dirs(&self) -> Vec<PathBuf> {
        self.mgr.paths().into_values().collect()
    }
}

impl Drop for Cg {
    fn drop(&mut self) {
        let _ = self.mgr.destroy();
    }
}

/// Children for `Proc::sh`: they wait for `go()` first.
pub const SLEEPER: &str = "read x; exec sleep 1000";
pub const SPINNER: &str = "read x; while :; do :; done";

/// The update both the manager test and the runc comparison run (runc's
/// flags: --memory 32m --memory-swap 48m --pids-limit 8 --cpu-quota 10000
/// --cpu-share 256).
pub fn sample_update() -> crate::cgroups::cli_args::UpdateArgs {
    crate::cgroups::cli_args::UpdateArgs {
        memory: Some("32m".into()),
        memory_swap: Some("48m".into()),
        pids_limit: Some(8),
        cpu_quota: Some("10000".into()),
        cpu_share: Some("256".into()),
        id: "x".into(),
        ..Default::default()
    }
}

/// A child process, SIGKILLed and reaped on drop. Its stdin is a pipe: the
/// `sh -c 'read x; ...'` children wait for a line before doing their work,
/// so the test can put them in a cgroup first.
pub struct Proc {
    pub child: Child,
    pub stdin: Option<ChildStdin>,
    pub stdout: Option<BufReader<ChildStdout>>,
}

impl Proc {
    pub fn sh(script: &str) -> Proc {
        let mut child = Command::new("sh")
            .args(["-c", script])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn sh");
        let stdin = child.stdin.take();
        let stdout = child.stdout.take().map(BufReader::new);
        Proc {
            child,
            stdin,
            stdout,
        }
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Release a child blocked in `read x`.
    pub fn go(&mut self) {
        let s = self.stdin.as_mut().expect("stdin");
        s.write_all(b"go\n")
            .and_then(|_| s.flush())
            .expect("write to child");
    }

    pub fn line(&mut self) -> String {
        let mut l = String::new();
        self.stdout
            .as_mut()
            .expect("stdout")
            .read_line(&mut l)
            .expect("read child");
        l.trim().to_owned()
    }

    /// Wait up to `t` for the child to exit; its wait status if it did.
    pub fn wait_timeout(&mut self, t: Duration) -> Option<std::process::ExitStatus> {
        let end = Instant::now() + t;
        while Instant::now() < end {
            if let Ok(Some(st)) = self.child.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn read(p: &std::path::Path, f: &str) -> String {
    std::fs::read_to_string(p.join(f))
        .unwrap_or_else(|e| panic!("read {}/{f}: {e}", p.display()))
        .trim()
        .to_owned()
}

/// The process state letter from /proc/PID/status ("S", "R", "D", ...).
pub fn proc_state(pid: i32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.strip_prefix("State:")
                .map(|s| s.trim().chars().next().unwrap_or('?').to_string())
        })
        .unwrap_or_default()
}

/// Whether no directory named like `name` is left in any hierarchy.
pub fn nothing_left(name: &str) -> Vec<PathBuf> {
    let host = cgroups::probe::host().expect("host");
    host.hierarchies
        .iter()
        .map(|h| h.mount.join(name.trim_start_matches('/')))
        .filter(|p| p.exists())
        .collect()
}
