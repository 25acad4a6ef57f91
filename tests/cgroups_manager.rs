//! The cgroup manager on this machine's real hierarchy (hybrid here): limits
//! in the files, update, freeze/thaw, pids, stats that move, OOM, and
//! nothing left behind, also after the owner was SIGKILLed.

#[path = "../src/cgroups/mod.rs"]
mod cgroups;
mod cgroups_support;
mod common;

use std::time::{Duration, Instant};

use cgroups::cli_args::{EventsArgs, PsArgs, UpdateArgs};
use cgroups::probe::{Layout, Version};
use cgroups::{commands, FreezerState};
use cgroups_support::*;

fn v1_dir(cg: &Cg, ctrl: &str) -> Option<std::path::PathBuf> {
    let host = cgroups::probe::host().unwrap();
    let p = cg.mgr.path(ctrl)?;
    host.hierarchies
        .iter()
        .find(|h| h.version == Version::V1 && h.has(ctrl) && p.starts_with(&h.mount))
        .map(|_| p)
}

/// The v1 files hold these numbers (checked where the controller is on v1).
fn expect_files(cg: &Cg, want: &[(&str, &str, u64)]) {
    for (ctrl, file, v) in want {
        if let Some(d) = v1_dir(cg, ctrl) {
            assert_eq!(read(&d, file), v.to_string(), "{}/{file}", d.display());
        }
    }
}

#[test]
fn limits_are_in_the_files_then_update_changes_them() {
    if !can_run() {
        return;
    }
    let r = serde_json::json!({
        "memory": {"limit": 64 << 20, "swap": 128 << 20, "reservation": 32 << 20},
        "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 16}
    });
    let (cg, mut p) = Cg::with_child("limits", r, SLEEPER);

    // The child is in the cgroup in every hierarchy, the unified one included.
    let own = std::fs::read_to_string(format!("/proc/{}/cgroup", p.pid())).unwrap();
    let nm = name("limits");
    for line in own.lines() {
        let path = line.splitn(3, ':').nth(2).unwrap();
        assert_eq!(path, nm, "{line} in\n{own}");
    }
    let host = cgroups::probe::host().unwrap();
    expect_files(
        &cg,
        &[
            ("memory", "memory.limit_in_bytes", 64 << 20),
            ("memory", "memory.memsw.limit_in_bytes", 128 << 20),
            ("memory", "memory.soft_limit_in_bytes", 32 << 20),
            ("cpu", "cpu.shares", 512),
            ("cpu", "cpu.cfs_quota_us", 20000),
            ("cpu", "cpu.cfs_period_us", 100000),
            ("cpuset", "cpuset.cpus", 0),
            ("pids", "pids.max", 16),
        ],
    );

    // update: memory down (limit first, then memsw), pids, cpu quota.
    let args = sample_update();
    let mut cfg = cg.cfg.clone();
    commands::update(cg.mgr.as_ref(), &mut cfg, &args, &mut std::io::empty()).unwrap();
    expect_files(
        &cg,
        &[
            ("memory", "memory.limit_in_bytes", 32 << 20),
            ("memory", "memory.memsw.limit_in_bytes", 48 << 20),
            ("pids", "pids.max", 8),
            ("cpu", "cpu.cfs_quota_us", 10000),
            ("cpu", "cpu.shares", 256),
        ],
    );
    // The saved config keeps what update did not touch.
    let m = cfg.resources.memory.as_ref().unwrap();
    assert_eq!(
        (m.limit, m.swap, m.reservation),
        (Some(32 << 20), Some(48 << 20), Some(32 << 20))
    );
    assert_eq!(cfg.resources.cpu.as_ref().unwrap().period, Some(100000));
    // Growing memory above the current memsw works too (memsw first).
    let grow = UpdateArgs {
        memory: Some("256m".into()),
        memory_swap: Some("512m".into()),
        id: "x".into(),
        ..Default::default()
    };
    commands::update(cg.mgr.as_ref(), &mut cfg, &grow, &mut std::io::empty()).unwrap();
    if host.layout != Layout::V2 {
        assert_eq!(
            read(&v1_dir(&cg, "memory").unwrap(), "memory.limit_in_bytes"),
            (256u64 << 20).to_string()
        );
    }
    // Bad input: a clear error, nothing changed.
    let bad = UpdateArgs {
        memory: Some("lots".into()),
        id: "x".into(),
        ..Default::default()
    };
    let e = commands::update(cg.mgr.as_ref(), &mut cfg, &bad, &mut std::io::empty()).unwrap_err();
    assert!(e.to_string().contains("invalid value for memory"), "{e}");

    let dirs = cg.dirs();
    assert!(dirs.iter().all(|d| d.exists()));
    cg.mgr.destroy().unwrap();
    assert!(
        p.wait_timeout(Duration::from_secs(5)).is_some(),
        "destroy kills what is left"
    );
    assert_eq!(nothing_left(&nm), Vec::<std::path::PathBuf>::new());
    // destroy twice is fine (delete --force after a delete).
    cg.mgr.destroy().unwrap();
    p.go_ignore();
}

trait GoIgnore {
    fn go_ignore(&mut self);
}
impl GoIgnore for Proc {
    fn go_ignore(&mut self) {
        self.stdin.take();
    }
}

#[test]
fn limit_for_a_missing_controller_is_a_clear_error() {
    if !can_run() {
        return;
    }
    // A host with only the pids hierarchy mounted (the real one).
    let real = cgroups::probe::host().unwrap();
    let Some(pids) = real
        .hierarchies
        .iter()
        .find(|h| h.version == Version::V1 && h.has("pids"))
    else {
        common::skip_machine(false, "no v1 pids hierarchy");
        return;
    };
    let host: &'static cgroups::probe::Host = Box::leak(Box::new(cgroups::probe::Host {
        layout: Layout::V1,
        hierarchies: vec![pids.clone()],
    }));
    let r = resources(serde_json::json!({"memory": {"limit": 8 << 20}, "pids": {"limit": 4}}));
    let cfg = cgroups::CgroupConfig::new(Some(&name("missing")), "x", r.clone(), false).unwrap();
    let mgr = cgroups::fs::FsManager::new(host, &cfg, false).unwrap();
    let p = Proc::sh(SLEEPER);
    use cgroups::Manager;
    mgr.apply(p.pid()).unwrap();
    let e = mgr.set(&r).unwrap_err();
    assert_eq!(
        e.to_string(),
        "cannot set memory limit: container could not join or create cgroup"
    );
    mgr.destroy().unwrap();
    assert!(nothing_left(&name("missing")).is_empty());
    // Bad values never reach the kernel.
    assert!(cgroups::Resources::from_json_value(
        serde_json::json!({"memory": {"swappiness": 200}})
    )
    .is_err());
}

#[test]
fn hugetlb_on_the_v2_side_of_a_hybrid_host() {
    if !can_run() {
        return;
    }
    let host = cgroups::probe::host().unwrap();
    let on_v2 = host.layout == Layout::Hybrid && host.v2().is_some_and(|h| h.has("hugetlb"));
    if common::skip_machine(on_v2, "hugetlb is not on the v2 side of a hybrid host") {
        return;
    }
    let r = serde_json::json!({"hugepageLimits": [{"pageSize": "2MB", "limit": 4194304}]});
    let (cg, _p) = Cg::with_child("hugetlb", r, SLEEPER);
    let d = cg.mgr.path("hugetlb").unwrap();
    assert!(d.starts_with(&host.v2().unwrap().mount));
    assert_eq!(read(&d, "hugetlb.2MB.max"), "4194304");
    let s = cg.mgr.stats().unwrap();
    assert!(s.hugetlb.contains_key("2MB"), "{:?}", s.hugetlb);
}

#[test]
fn pause_and_resume_stop_and_restart_the_processes() {
    if !can_run() {
        return;
    }
    let (cg, mut p) = Cg::with_child("freeze", serde_json::json!({}), SPINNER);
    p.go();
    std::thread::sleep(Duration::from_millis(50));
    assert_eq!(cg.mgr.freezer_state().unwrap(), FreezerState::Thawed);
    commands::pause(cg.mgr.as_ref()).unwrap();
    assert_eq!(cg.mgr.freezer_state().unwrap(), FreezerState::Frozen);
    if let Some(d) = v1_dir(&cg, "freezer") {
        assert_eq!(read(&d, "freezer.state"), "FROZEN");
    }
    // A frozen spinner uses no CPU.
    let t0 = cg.mgr.stats().unwrap().cpu.usage.total;
    assert!(t0 > 0, "the spinner ran before the freeze");
    std::thread::sleep(Duration::from_millis(200));
    let t1 = cg.mgr.stats().unwrap().cpu.usage.total;
    assert_eq!(t0, t1, "cpu usage moved while frozen");
    assert_ne!(proc_state(p.pid()), "R");
    commands::resume(cg.mgr.as_ref()).unwrap();
    assert_eq!(cg.mgr.freezer_state().unwrap(), FreezerState::Thawed);
    std::thread::sleep(Duration::from_millis(200));
    let t2 = cg.mgr.stats().unwrap().cpu.usage.total;
    assert!(
        t2 > t1 + 20_000_000,
        "thawed spinner got no cpu: {t1} -> {t2}"
    );
}

#[test]
fn ps_lists_the_cgroup_pids() {
    if !can_run() {
        return;
    }
    let script = "read x; sleep 1000 & sleep 1000 & echo started; wait";
    let (cg, mut p) = Cg::with_child("ps", serde_json::json!({}), script);
    p.go();
    assert_eq!(p.line(), "started");
    // The forked shells exec sleep a moment later.
    let end = Instant::now() + Duration::from_secs(5);
    let comm = |q: &i32| std::fs::read_to_string(format!("/proc/{q}/comm")).unwrap_or_default();
    while cg
        .mgr
        .pids()
        .unwrap()
        .iter()
        .filter(|q| comm(q).trim() == "sleep")
        .count()
        < 2
        && Instant::now() < end
    {
        std::thread::sleep(Duration::from_millis(5));
    }
    let pids = cg.mgr.pids().unwrap();
    assert_eq!(pids.len(), 3, "{pids:?}");
    assert!(pids.contains(&p.pid()));
    for q in &pids {
        let cgf = std::fs::read_to_string(format!("/proc/{q}/cgroup")).unwrap();
        assert!(cgf.contains(&name("ps")));
    }
    let ps = |format: &str, ps_args: &[&str]| -> cgroups::Result<String> {
        let args = PsArgs {
            format: format.into(),
            id: "x".into(),
            ps_args: ps_args.iter().map(|a| a.to_string()).collect(),
        };
        let mut out = Vec::new();
        commands::ps(cg.mgr.as_ref(), &args, &mut out)?;
        Ok(String::from_utf8(out).unwrap())
    };
    let got: Vec<i32> = serde_json::from_str(&ps("json", &[]).unwrap()).unwrap();
    assert_eq!(got, pids);
    let t = ps("table", &[]).unwrap();
    assert!(t.lines().next().unwrap().contains("PID"));
    assert_eq!(t.lines().count(), 4, "{t}");
    let sleeps = t.lines().filter(|l| l.ends_with(" sleep 1000")).count();
    assert_eq!(sleeps, 2, "{t}");
    assert_eq!(ps("table", &["-o", "pid,comm"]).unwrap().lines().count(), 4);
    let e = ps("yaml", &[]).unwrap_err();
    assert_eq!(e.to_string(), "invalid format option");
}

#[test]
fn stats_move_with_load() {
    if !can_run() {
        return;
    }
    let cg = Cg::new(
        "stats",
        resources(serde_json::json!({"pids": {"limit": 50}, "memory": {"limit": 256 << 20}})),
    );
    let mut spin = Proc::sh(SPINNER);
    let mut mem = Proc::sh(
        "read x; exec perl -e '$x = \"a\" x (48 << 20); print \"allocated\\n\"; $|=1; sleep 1000'",
    );
    cg.mgr.apply(spin.pid()).unwrap();
    cg.mgr.apply(mem.pid()).unwrap();
    cg.mgr.set(&cg.cfg.resources).unwrap();
    let s0 = cg.mgr.stats().unwrap();
    spin.go();
    mem.go();
    assert_eq!(mem.line(), "allocated");
    std::thread::sleep(Duration::from_millis(300));
    let s1 = cg.mgr.stats().unwrap();
    assert!(
        s1.cpu.usage.total > s0.cpu.usage.total + 100_000_000,
        "cpu {} -> {}",
        s0.cpu.usage.total,
        s1.cpu.usage.total
    );
    assert!(s1.cpu.usage.user + s1.cpu.usage.kernel > 0);
    assert!(
        s1.memory.usage.usage > s0.memory.usage.usage + (40 << 20),
        "mem {} -> {}",
        s0.memory.usage.usage,
        s1.memory.usage.usage
    );
    assert_eq!(s1.memory.usage.limit, 256 << 20);
    assert_eq!(s1.pids.current, 2);
    assert_eq!(s1.pids.limit, 50);
    // The JSON line is runc's shape.
    let mut out = Vec::new();
    commands::events(
        cg.mgr.as_ref(),
        "ctr",
        &EventsArgs {
            interval: Duration::from_secs(5),
            stats: true,
            id: "ctr".into(),
        },
        &mut out,
    )
    .unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert_eq!(v["type"], "stats");
    assert_eq!(v["id"], "ctr");
    assert!(v["data"]["cpu"]["usage"]["total"].as_u64().unwrap() > 0);
    assert!(v["data"]["memory"]["usage"]["usage"].as_u64().unwrap() > 40 << 20);
    assert_eq!(v["data"]["pids"]["current"], 2);
    assert!(!v["data"]["memory"]["raw"].as_object().unwrap().is_empty());
}

#[test]
fn oom_is_reported() {
    if !can_run() {
        return;
    }
    let r = serde_json::json!({"memory": {"limit": 8 << 20, "swap": 8 << 20}});
    let script = "read x; exec perl -e '$x = \"a\" x (64 << 20); sleep 1000'";
    let (cg, mut p) = Cg::with_child("oom", r, script);
    let (t, rx) = events_thread(&cg, Duration::from_secs(60));
    std::thread::sleep(Duration::from_millis(200)); // the watcher is registered
    p.go();
    let st = p
        .wait_timeout(Duration::from_secs(10))
        .expect("the allocating child was not OOM-killed");
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(st.signal(), Some(libc::SIGKILL), "{st:?}");
    let line = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("no oom event");
    assert_eq!(
        String::from_utf8(line).unwrap(),
        "{\"type\":\"oom\",\"id\":\"ctr\"}\n"
    );
    destroy_ends_events(&cg, t);
}

/// `events` on `cg`'s saved config in a thread, as `nsrun events` runs it;
/// its output lines come out of the receiver.
fn events_thread(
    cg: &Cg,
    interval: Duration,
) -> (
    std::thread::JoinHandle<cgroups::Result<()>>,
    std::sync::mpsc::Receiver<Vec<u8>>,
) {
    let (tx, rx) = std::sync::mpsc::channel::<Vec<u8>>();
    let cfg = cg.cfg.clone();
    let t = std::thread::spawn(move || {
        let mgr = cgroups::manager(&cfg, false).unwrap();
        let args = EventsArgs {
            interval,
            stats: false,
            id: "ctr".into(),
        };
        commands::events(mgr.as_ref(), "ctr", &args, &mut ChanWriter(tx))
    });
    (t, rx)
}

/// The stream ends when the cgroup goes away.
fn destroy_ends_events(cg: &Cg, t: std::thread::JoinHandle<cgroups::Result<()>>) {
    cg.mgr.destroy().unwrap();
    let end = Instant::now() + Duration::from_secs(5);
    while !t.is_finished() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert!(t.is_finished(), "events did not stop after destroy");
    t.join().unwrap().unwrap();
}

struct ChanWriter(std::sync::mpsc::Sender<Vec<u8>>);
impl std::io::Write for ChanWriter {
    fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
        let _ = self.0.send(b.to_vec());
        Ok(b.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Role of this binary when re-executed as the "owner" of a cgroup (a
/// stand-in for a `create` that gets SIGKILLed): it creates the cgroup, puts
/// a sleeper and itself in it, says "ready" and waits to be killed.
#[test]
#[allow(clippy::zombie_processes)] // the owner is SIGKILLed with its child still running
fn owner_role() {
    let Ok(tag) = std::env::var("NSRUN_CGTEST_OWNER") else {
        return;
    };
    let r = resources(serde_json::json!({"pids": {"limit": 10}}));
    let cfg = cgroups::CgroupConfig::new(Some(&tag), "x", r.clone(), false).unwrap();
    let mgr = cgroups::manager(&cfg, false).unwrap();
    let child = std::process::Command::new("sleep")
        .arg("1000")
        .spawn()
        .unwrap();
    mgr.apply(child.id() as i32).unwrap();
    mgr.apply(std::process::id() as i32).unwrap();
    mgr.set(&r).unwrap();
    println!("ready {}", child.id());
    std::thread::sleep(Duration::from_secs(1000));
}

#[test]
fn destroy_from_the_config_after_the_owner_was_killed() {
    if !can_run() {
        return;
    }
    let tag = name("owner");
    let owner = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "owner_role", "--nocapture", "--test-threads=1"])
        .env("NSRUN_CGTEST_OWNER", &tag)
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let mut owner = Proc {
        child: owner,
        stdin: None,
        stdout: None,
    };
    let mut out = std::io::BufReader::new(owner.child.stdout.take().unwrap());
    let mut line = String::new();
    use std::io::BufRead;
    // libtest may print "test owner_role ... " on the same line first.
    while !line.contains("ready ") {
        line.clear();
        if out.read_line(&mut line).unwrap() == 0 {
            panic!("owner died before it was ready");
        }
    }
    let sleeper: i32 = line.split("ready ").nth(1).unwrap().trim().parse().unwrap();
    owner.child.kill().unwrap();
    owner.child.wait().unwrap();
    // The sleeper is still there, in the cgroup, with nobody owning it.
    assert!(std::path::Path::new(&format!("/proc/{sleeper}")).exists());
    assert!(!nothing_left(&tag).is_empty());
    // delete --force: a new process, the saved config alone.
    let cfg = cgroups::CgroupConfig::new(
        Some(&tag),
        "x",
        resources(serde_json::json!({"pids": {"limit": 10}})),
        false,
    )
    .unwrap();
    let saved = bincode::encode_to_vec(&cfg, bincode::config::standard()).unwrap();
    let (cfg, _): (cgroups::CgroupConfig, _) =
        bincode::decode_from_slice(&saved, bincode::config::standard()).unwrap();
    let mgr = cgroups::manager(&cfg, false).unwrap();
    assert_eq!(mgr.pids().unwrap(), vec![sleeper]);
    mgr.destroy().unwrap();
    assert_eq!(nothing_left(&tag), Vec::<std::path::PathBuf>::new());
    let st = proc_state(sleeper);
    assert!(st.is_empty() || st == "Z", "sleeper survived: {st}");
}

#[test]
fn systemd_driver_without_systemd_is_a_clear_error() {
    if common::skip_machine(!cgroups::systemd::running(), "systemd is running here") {
        return;
    }
    let cfg =
        cgroups::CgroupConfig::new(None, "ctr", resources(serde_json::json!({})), true).unwrap();
    let e = cgroups::manager(&cfg, false).err().expect("must fail");
    assert_eq!(
        e.to_string(),
        "systemd cgroup driver requested but systemd is not running"
    );
}

#[test]
fn relative_path_is_under_our_own_cgroup() {
    if !can_run() {
        return;
    }
    let rel = format!("nsrun-cgtest-{}-rel", std::process::id());
    let cfg = cgroups::CgroupConfig::new(Some(&rel), "x", resources(serde_json::json!({})), false)
        .unwrap();
    let mgr = cgroups::manager(&cfg, false).unwrap();
    let own = std::fs::read_to_string("/proc/self/cgroup").unwrap();
    let mem_parent = own
        .lines()
        .find_map(|l| l.split_once(":memory:").map(|x| x.1.to_owned()));
    if let (Some(parent), Some(d)) = (mem_parent, mgr.path("memory")) {
        assert!(
            d.ends_with(
                format!("{}/{rel}", parent.trim_start_matches('/')).trim_start_matches('/')
            ),
            "{}",
            d.display()
        );
    }
    let p = Proc::sh(SLEEPER);
    mgr.apply(p.pid()).unwrap();
    assert_eq!(mgr.pids().unwrap(), vec![p.pid()]);
    mgr.destroy().unwrap();
    assert!(mgr.paths().values().all(|d| !d.exists()));
}

#[test]
fn events_stream_stats_every_interval_until_the_cgroup_goes() {
    if !can_run() {
        return;
    }
    let (cg, p) = Cg::with_child("events", serde_json::json!({"pids": {"limit": 5}}), SLEEPER);
    let (t, rx) = events_thread(&cg, Duration::from_millis(100));
    std::thread::sleep(Duration::from_millis(450));
    destroy_ends_events(&cg, t);
    let lines: Vec<serde_json::Value> = rx
        .try_iter()
        .map(|l| serde_json::from_slice(&l).unwrap())
        .collect();
    assert!(
        lines.len() >= 2,
        "{} stats lines in 450 ms at 100 ms",
        lines.len()
    );
    for l in &lines {
        assert_eq!(l["type"], "stats");
        assert_eq!(l["data"]["pids"]["limit"], 5);
    }
    drop(p);
}
