//! The v2 backend on a real cgroup2 hierarchy: the unified mount of this
//! hybrid host (or the root of a pure v2 one), driven as a pure v2 host:
//! the eBPF device filter loaded, attached and enforced, cgroup.freeze,
//! cgroup.kill on destroy, and clone3(CLONE_INTO_CGROUP) into join_plan's dir fd.

#[path = "../src/cgroups/mod.rs"]
mod cgroups;
mod cgroups_support;
mod common;
#[path = "../src/process/sys.rs"]
#[allow(dead_code)]
mod process_sys;

use std::time::Duration;

use cgroups::config::CgroupConfig;
use cgroups::fs::FsManager;
use cgroups::probe::{Host, Layout, Version};
use cgroups::{bpf, FreezerState, Manager};
use cgroups_support::*;

/// The host's cgroup2 hierarchy seen as a pure v2 host.
fn v2_host() -> Option<&'static Host> {
    let real = cgroups::probe::host().ok()?;
    let h = real.v2()?.clone();
    assert_eq!(h.version, Version::V2);
    Some(Box::leak(Box::new(Host {
        layout: Layout::V2,
        hierarchies: vec![h],
    })))
}

struct V2Cg(Box<dyn Manager>);
impl Drop for V2Cg {
    fn drop(&mut self) {
        let _ = self.0.destroy();
    }
}

fn v2_manager(tag: &str, r: serde_json::Value) -> Option<V2Cg> {
    if !can_run() {
        return None;
    }
    let Some(host) = v2_host() else {
        common::skip_machine(false, "no cgroup2 hierarchy mounted");
        return None;
    };
    let cfg = CgroupConfig::new(Some(&name(tag)), "x", resources(r), false).unwrap();
    Some(V2Cg(Box::new(FsManager::new(host, &cfg, false).unwrap())))
}

#[test]
fn device_filter_is_enforced_and_replaced() {
    let Some(cg) = v2_manager("bpf", serde_json::json!({})) else {
        return;
    };
    let mut p = Proc::sh(
        "while read x; do head -c 4 /dev/zero >/dev/null 2>&1 && echo zero-ok || echo zero-denied; \
         echo >/dev/null && echo null-ok || echo null-denied; done",
    );
    cg.0.apply(p.pid()).unwrap();
    p.go();
    assert_eq!((p.line(), p.line()), ("zero-ok".into(), "null-ok".into()));

    // Deny /dev/zero (c 1:5) only.
    let deny_zero = resources(
        serde_json::json!({"devices": [{"allow": false, "type": "c", "major": 1, "minor": 5, "access": "rwm"}]}),
    );
    cg.0.set(&deny_zero).unwrap();
    let dir = cg.0.path("").unwrap();
    let fd = cgroups::fs::open_dir(&dir).unwrap();
    use std::os::fd::AsFd;
    assert_eq!(bpf::attached(fd.as_fd()).unwrap().len(), 1);
    p.go();
    assert_eq!(
        (p.line(), p.line()),
        ("zero-denied".into(), "null-ok".into())
    );

    // runc's default allowlist: deny all, allow null and zero. Replaces the
    // first program rather than stacking a second one.
    let allowlist = resources(serde_json::json!({"devices": [
        {"allow": false, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
        {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rwm"}
    ]}));
    cg.0.set(&allowlist).unwrap();
    assert_eq!(bpf::attached(fd.as_fd()).unwrap().len(), 1);
    p.go();
    assert_eq!((p.line(), p.line()), ("zero-ok".into(), "null-ok".into()));
    cg.0.destroy().unwrap();
    assert!(!dir.exists());
}

#[test]
fn program_that_the_verifier_refuses_is_a_clear_error() {
    if !can_run() {
        return;
    }
    // A program that falls off the end without exit.
    let bad = vec![bpf::Insn {
        code: 0xb4,
        dst: 0,
        src: 0,
        off: 0,
        imm: 1,
    }];
    let e = bpf::load(&bad).unwrap_err().to_string();
    assert!(e.starts_with("bpf: load program"), "{e}");
}

#[test]
fn cgroup_freeze_and_kill() {
    let Some(cg) = v2_manager("freeze", serde_json::json!({})) else {
        return;
    };
    let mut p = Proc::sh(SPINNER);
    cg.0.apply(p.pid()).unwrap();
    p.go();
    cg.0.freeze(FreezerState::Frozen).unwrap();
    let dir = cg.0.path("").unwrap();
    assert!(read(&dir, "cgroup.events").contains("frozen 1"));
    assert_eq!(cg.0.freezer_state().unwrap(), FreezerState::Frozen);
    let t0 = cg.0.stats().unwrap().cpu.usage.total;
    assert!(t0 > 0, "the spinner ran before the freeze");
    std::thread::sleep(Duration::from_millis(200));
    assert_eq!(cg.0.stats().unwrap().cpu.usage.total, t0);
    cg.0.freeze(FreezerState::Thawed).unwrap();
    assert!(read(&dir, "cgroup.events").contains("frozen 0"));
    std::thread::sleep(Duration::from_millis(200));
    let t1 = cg.0.stats().unwrap().cpu.usage.total;
    assert!(
        t1 > t0 + 20_000_000,
        "thawed spinner got no cpu: {t0} -> {t1}, {}",
        read(&dir, "cpu.stat")
    );
    // destroy kills through cgroup.kill, even frozen.
    cg.0.freeze(FreezerState::Frozen).unwrap();
    cg.0.destroy().unwrap();
    assert!(p.wait_timeout(Duration::from_secs(5)).is_some());
    assert!(!dir.exists());
}

#[test]
fn clone_into_cgroup_with_the_join_plan() {
    let Some(cg) = v2_manager("clone3", serde_json::json!({})) else {
        return;
    };
    // join_plan(create) makes the cgroup and hands out its dir fd.
    let join = cg.0.join_plan(true).unwrap();
    assert!(
        join.v1_tasks.is_empty(),
        "a pure v2 host has no v1 tasks files"
    );
    let fd = join.v2_fd().expect("a cgroup2 dir fd");
    let pid = match process_sys::clone3_into_cgroup(fd) {
        // SAFETY: the child only calls async-signal-safe pause() and _exit().
        Ok(0) => unsafe {
            libc::pause();
            libc::_exit(0)
        },
        Ok(p) => p,
        Err(e) if e.raw_os_error() == Some(libc::ENOSYS) => {
            common::skip_machine(false, &format!("clone3 not available: {e}"));
            return;
        }
        Err(e) => panic!("clone3: {e}"),
    };
    let own = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    // SAFETY: kill/waitpid on our own child.
    unsafe {
        libc::kill(pid, libc::SIGKILL);
        libc::waitpid(pid, std::ptr::null_mut(), 0);
    }
    assert!(
        own.lines().any(|l| l == format!("0::{}", name("clone3"))),
        "{own}"
    );
}
