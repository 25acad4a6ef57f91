//! nsrun's cgroup commands on this host's real hierarchy (v1, v2 or hybrid),
//! next to runc where they agree: the limits land in runc's paths after
//! `run -d` and after `update`; pause/resume freeze and thaw; `ps` lists the
//! cgroup's pids; `events` reports stats that move and OOM kills; the
//! container sees its cgroup in /proc/self/cgroup; exec joins it; `kill
//! --all` reaches every member; nothing is left after delete, also after a
//! create that was SIGKILLed.

#[path = "payload/bundle.rs"]
mod bundle;
mod common;

use bundle::*;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CG: &str = "/sys/fs/cgroup";

#[derive(Clone, Copy, PartialEq, Debug)]
enum Rt {
    Nsrun,
    Runc,
}

/// The runtimes to test: nsrun always, runc when installed.
fn runtimes() -> Vec<Rt> {
    let mut v = vec![Rt::Nsrun];
    if !common::skip_unless(common::have("runc"), "runc not installed: nsrun only") {
        v.push(Rt::Runc);
    }
    v
}

fn cmd(rt: Rt) -> Command {
    let (bin, root) = match rt {
        Rt::Nsrun => (common::nsrun_bin(), nsrun_root()),
        Rt::Runc => ("runc".into(), runc_root()),
    };
    let mut c = Command::new(bin);
    c.arg("--root").arg(root).stdin(Stdio::null());
    c
}

/// Run with stdout/stderr in files (a detached container keeps them open).
fn call(rt: Rt, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let (o, e) = (dir.join(".out"), dir.join(".err"));
    let st = cmd(rt)
        .args(args)
        .stdout(File::create(&o).unwrap())
        .stderr(File::create(&e).unwrap())
        .status()
        .unwrap();
    (
        st.code().unwrap_or(-1),
        std::fs::read_to_string(o).unwrap(),
        std::fs::read_to_string(e).unwrap(),
    )
}

fn ok(rt: Rt, dir: &Path, args: &[&str]) -> String {
    let (c, o, e) = call(rt, dir, args);
    assert_eq!(c, 0, "{rt:?} {args:?}: {e}");
    o
}

/// The v1 hierarchies and the unified mount, as directories under /sys/fs/cgroup.
fn hierarchies() -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(CG)
        .unwrap()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| e.path())
        .collect();
    if v.is_empty() || Path::new(CG).join("cgroup.controllers").exists() {
        v = vec![PathBuf::from(CG)];
    }
    v
}

/// Every directory named by `rel` in any hierarchy.
fn leftovers(rel: &str) -> Vec<PathBuf> {
    hierarchies()
        .into_iter()
        .map(|h| h.join(rel.trim_start_matches('/')))
        .filter(|p| p.exists())
        .collect()
}

/// The container's cgroup directories, from the runtime's state.json
/// (`cgroup_paths`, keyed by controller, "" for the unified hierarchy).
type Paths = BTreeMap<String, PathBuf>;

fn cg_paths(rt: Rt, id: &str) -> Paths {
    let root = if rt == Rt::Nsrun {
        nsrun_root()
    } else {
        runc_root()
    };
    let v: Value =
        serde_json::from_slice(&std::fs::read(root.join(id).join("state.json")).unwrap()).unwrap();
    let p: Paths = serde_json::from_value(v["cgroup_paths"].clone()).unwrap();
    assert!(!p.is_empty(), "{rt:?}: no cgroup_paths");
    p
}

/// Which of the container's cgroup directories still exist.
fn left(p: &Paths) -> Vec<&PathBuf> {
    p.values().filter(|d| d.exists()).collect()
}

/// A controller file: v1 `<ctrl dir>/<v1>`, else the unified `<v2>`.
fn cgfile(p: &Paths, ctrl: &str, v1: &str, v2: &str) -> String {
    let cands = [
        p.get(ctrl).map(|d| d.join(v1)),
        p.get("").map(|d| d.join(v2)),
    ];
    for f in cands.into_iter().flatten() {
        if let Ok(s) = std::fs::read_to_string(&f) {
            return s.trim().to_string();
        }
    }
    panic!("no {ctrl} file in {p:?}");
}

fn v1_memory() -> bool {
    Path::new(CG).join("memory/memory.limit_in_bytes").exists()
}

/// A container id per runtime (both run side by side).
fn cid(rt: Rt, base: &str) -> String {
    format!("i2-{base}-{}", if rt == Rt::Nsrun { "n" } else { "r" })
}

/// A bundle for `id` in a scratch dir; `edit` adjusts the config.
fn bundle(id: &str, args: &[&str], edit: impl FnOnce(&mut Value)) -> Bundle {
    let mut c = base_config(args);
    edit(&mut c);
    Bundle::new(id, &c)
}

fn state(rt: Rt, dir: &Path, id: &str) -> Value {
    serde_json::from_str(&ok(rt, dir, &["state", id])).unwrap()
}

fn procs(p: &Paths) -> Vec<i32> {
    let f = p.get("pids").unwrap_or_else(|| &p[""]).join("cgroup.procs");
    let mut v: Vec<i32> = std::fs::read_to_string(f)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    v.sort();
    v
}

/// utime+stime of a pid, in ticks.
fn cpu_ticks(pid: i32) -> u64 {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let f: Vec<&str> = s.rsplit(')').next().unwrap().split_whitespace().collect();
    f[11].parse::<u64>().unwrap() + f[12].parse::<u64>().unwrap()
}

fn wait_until(what: &str, secs: u64, mut f: impl FnMut() -> bool) {
    let end = Instant::now() + Duration::from_secs(secs);
    while !f() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// `run -d`; the container is force-deleted when the guard drops.
fn run_d(rt: Rt, b: &Bundle, id: &str) -> (Cleanup, Paths) {
    let c = Cleanup(rt, id.to_string());
    ok(rt, &b.dir, &["run", "-d", "-b", path_str(&b.dir), id]);
    (c, cg_paths(rt, id))
}

/// `delete -f`, then none of the container's cgroup directories is left.
fn delete_clean(rt: Rt, b: &Bundle, id: &str, paths: &Paths) {
    ok(rt, &b.dir, &["delete", "-f", id]);
    assert_eq!(left(paths), Vec::<&PathBuf>::new(), "{rt:?}: cgroups left");
}

/// Deletes the container (force) when the test ends, pass or fail.
struct Cleanup(Rt, String);
impl Drop for Cleanup {
    fn drop(&mut self) {
        let _ = cmd(self.0).args(["delete", "-f", &self.1]).output();
    }
}

#[test]
fn limits_in_files_after_run_and_update_then_nothing_left() {
    for rt in runtimes() {
        let id = cid(rt, "lim");
        let b = bundle(&id, &["sleep", "1000"], |c| {
            c["linux"]["resources"]["memory"] = json!({"limit": 64 << 20, "reservation": 32 << 20});
            c["linux"]["resources"]["cpu"] =
                json!({"shares": 512, "quota": 50000, "period": 100000});
            c["linux"]["resources"]["pids"] = json!({"limit": 33});
        });
        let (_c, rel) = run_d(rt, &b, &id);
        // runc's default: <own cgroup>/<id> in every hierarchy.
        for (k, d) in &rel {
            assert!(d.ends_with(&id) && d.starts_with(CG), "{rt:?}: {k} {d:?}");
        }
        if v1_memory() {
            assert_eq!(
                cgfile(&rel, "memory", "memory.limit_in_bytes", ""),
                (64u64 << 20).to_string(),
                "{rt:?}"
            );
            assert_eq!(
                cgfile(&rel, "memory", "memory.soft_limit_in_bytes", ""),
                (32u64 << 20).to_string(),
                "{rt:?}"
            );
            assert_eq!(cgfile(&rel, "cpu", "cpu.shares", ""), "512", "{rt:?}");
            assert_eq!(
                cgfile(&rel, "cpu", "cpu.cfs_quota_us", ""),
                "50000",
                "{rt:?}"
            );
        } else {
            assert_eq!(
                cgfile(&rel, "memory", "", "memory.max"),
                (64u64 << 20).to_string(),
                "{rt:?}"
            );
            assert_eq!(cgfile(&rel, "cpu", "", "cpu.max"), "50000 100000", "{rt:?}");
        }
        assert_eq!(cgfile(&rel, "pids", "pids.max", "pids.max"), "33", "{rt:?}");
        // init is in the cgroup.
        let pid = state(rt, &b.dir, &id)["pid"].as_i64().unwrap() as i32;
        assert_eq!(procs(&rel), vec![pid], "{rt:?}");

        ok(
            rt,
            &b.dir,
            &[
                "update",
                "--memory",
                "128m",
                "--cpu-quota",
                "20000",
                "--pids-limit",
                "44",
                &id,
            ],
        );
        assert_eq!(cgfile(&rel, "pids", "pids.max", "pids.max"), "44", "{rt:?}");
        if v1_memory() {
            assert_eq!(
                cgfile(&rel, "memory", "memory.limit_in_bytes", ""),
                (128u64 << 20).to_string()
            );
            assert_eq!(cgfile(&rel, "cpu", "cpu.cfs_quota_us", ""), "20000");
        }
        // -r JSON, and the earlier update was saved: a pids-only change keeps memory.
        let r = b.dir.join("res.json");
        std::fs::write(&r, r#"{"pids": {"limit": 55}}"#).unwrap();
        ok(rt, &b.dir, &["update", "-r", path_str(&r), &id]);
        assert_eq!(cgfile(&rel, "pids", "pids.max", "pids.max"), "55", "{rt:?}");
        if v1_memory() {
            assert_eq!(
                cgfile(&rel, "memory", "memory.limit_in_bytes", ""),
                (128u64 << 20).to_string(),
                "{rt:?}"
            );
        }
        ok(rt, &b.dir, &["delete", "-f", &id]);
        assert_eq!(left(&rel), Vec::<&PathBuf>::new(), "{rt:?} left cgroups");
        assert!(!alive(pid));
    }
    assert_dev_null_intact();
}

// runc's update.bats sequence: a swap limit, then `--memory -1` alone. runc
// sends swap 0 and makes it unlimited too; keeping the old swap below an
// unlimited memory is EINVAL from the kernel.
#[test]
fn update_memory_unlimited_after_a_swap_limit_like_runc() {
    let memsw = Path::new(CG).join("memory/memory.memsw.limit_in_bytes");
    if common::skip_machine(
        memsw.exists(),
        "no v1 memory swap accounting (memory.memsw) on this host",
    ) {
        return;
    }
    for rt in runtimes() {
        let id = cid(rt, "swap");
        let b = bundle(&id, &["sleep", "1000"], |c| {
            c["linux"]["resources"]["memory"] = json!({"limit": 32 << 20});
        });
        let (_c, rel) = run_d(rt, &b, &id);
        ok(rt, &b.dir, &["update", "--memory", "50M", &id]);
        ok(rt, &b.dir, &["update", "--memory-swap", "-1", &id]);
        ok(rt, &b.dir, &["update", "--memory-swap", "96468992", &id]);
        ok(rt, &b.dir, &["update", "--memory", "-1", &id]);
        let unlimited = cgfile(&rel, "memory", "memory.limit_in_bytes", "");
        assert_eq!(
            cgfile(&rel, "memory", "memory.memsw.limit_in_bytes", ""),
            unlimited,
            "{rt:?}: swap must be unlimited too"
        );
        ok(rt, &b.dir, &["delete", "-f", &id]);
        assert_eq!(left(&rel), Vec::<&PathBuf>::new(), "{rt:?} left cgroups");
    }
}

#[test]
fn cgroup_paths_in_state_and_explicit_cgroups_path() {
    let id = "i2-paths";
    let b = bundle(id, &["sleep", "1000"], |c| {
        c["linux"]["cgroupsPath"] = json!("/i2-paths-cg")
    });
    let (_c, paths) = run_d(Rt::Nsrun, &b, id);
    for p in paths.values() {
        assert!(
            p.ends_with("i2-paths-cg") && p.starts_with(CG) && p.is_dir(),
            "{p:?}"
        );
    }
    if v1_memory() {
        assert_eq!(paths["memory"], Path::new(CG).join("memory/i2-paths-cg"));
    }
    delete_clean(Rt::Nsrun, &b, id, &paths);
    assert_eq!(leftovers("/i2-paths-cg"), Vec::<PathBuf>::new());
}

#[test]
fn pause_and_resume_freeze_and_thaw() {
    for rt in runtimes() {
        let id = cid(rt, "frz");
        let b = bundle(&id, &["sh", "-c", "while :; do :; done"], |_| {});
        let (_c, paths) = run_d(rt, &b, &id);
        let pid = state(rt, &b.dir, &id)["pid"].as_i64().unwrap() as i32;
        let (c, _, e_resume) = call(rt, &b.dir, &["resume", &id]);
        assert_eq!(c, 1, "{rt:?}");
        ok(rt, &b.dir, &["pause", &id]);
        assert_eq!(state(rt, &b.dir, &id)["status"], "paused", "{rt:?}");
        let listed = ok(rt, &b.dir, &["list", "-f", "json"]);
        assert!(
            listed.contains(&format!(
                "\"id\":\"{id}\",\"pid\":{pid},\"status\":\"paused\""
            )),
            "{rt:?}: {listed}"
        );
        if paths.contains_key("freezer") {
            assert_eq!(
                cgfile(&paths, "freezer", "freezer.state", ""),
                "FROZEN",
                "{rt:?}"
            );
        } else {
            assert_eq!(cgfile(&paths, "", "", "cgroup.freeze"), "1", "{rt:?}");
        }
        // A frozen busy loop burns no cpu.
        let t0 = cpu_ticks(pid);
        std::thread::sleep(Duration::from_millis(400));
        assert_eq!(cpu_ticks(pid), t0, "{rt:?}: a paused container ran");
        let (c, _, e_pause) = call(rt, &b.dir, &["pause", &id]);
        assert_eq!(c, 1, "{rt:?}");
        let (c, _, e) = call(rt, &b.dir, &["exec", &id, "true"]);
        assert_eq!(c, 255, "{rt:?}");
        assert!(
            e.contains(
                "exec failed: cannot exec in a paused container (use --ignore-paused to override)"
            ),
            "{rt:?}: {e}"
        );
        ok(rt, &b.dir, &["resume", &id]);
        assert_eq!(state(rt, &b.dir, &id)["status"], "running", "{rt:?}");
        let t1 = cpu_ticks(pid);
        std::thread::sleep(Duration::from_millis(400));
        assert!(
            cpu_ticks(pid) > t1,
            "{rt:?}: a resumed container did not run"
        );
        // runc's words for the wrong states.
        assert!(
            e_resume.contains("container not paused"),
            "{rt:?}: {e_resume}"
        );
        assert!(
            e_pause.contains("container not running"),
            "{rt:?}: {e_pause}"
        );
        // A paused container is force-deleted (a frozen init must be thawed to die).
        ok(rt, &b.dir, &["pause", &id]);
        ok(rt, &b.dir, &["delete", "-f", &id]);
        assert!(!alive(pid), "{rt:?}");
        assert_eq!(left(&paths), Vec::<&PathBuf>::new(), "{rt:?}");
    }
    assert_dev_null_intact();
}

#[test]
fn ps_lists_the_containers_pids_and_exec_joins() {
    for rt in runtimes() {
        let id = cid(rt, "ps");
        let b = bundle(&id, &["sh", "-c", "sleep 1000 & sleep 1000 & wait"], |_| {});
        let (_c, paths) = run_d(rt, &b, &id);
        wait_until("3 processes", 5, || procs(&paths).len() == 3);
        let mut got: Vec<i32> =
            serde_json::from_str(&ok(rt, &b.dir, &["ps", "--format", "json", &id])).unwrap();
        got.sort();
        assert_eq!(got, procs(&paths), "{rt:?}");
        // An exec'd process joins the cgroup.
        ok(rt, &b.dir, &["exec", "-d", &id, "sleep", "999"]);
        wait_until("exec in cgroup", 5, || procs(&paths).len() == 4);
        let got: Vec<i32> =
            serde_json::from_str(&ok(rt, &b.dir, &["ps", "-f", "json", &id])).unwrap();
        assert_eq!(got.len(), 4, "{rt:?}");
        // Table with ps(1) options passed through: the header and our rows only.
        let t = ok(rt, &b.dir, &["ps", &id, "-o", "pid,args"]);
        let rows: Vec<&str> = t.lines().collect();
        assert!(rows[0].trim_start().starts_with("PID"), "{rt:?}: {t}");
        assert_eq!(rows.len(), 5, "{rt:?}: {t}");
        assert_eq!(
            rows.iter().filter(|l| l.contains("sleep 999")).count(),
            1,
            "{rt:?}: {t}"
        );
        delete_clean(rt, &b, &id, &paths);
    }
    assert_dev_null_intact();
}

#[test]
fn events_stats_move_with_load() {
    for rt in runtimes() {
        let id = cid(rt, "ev");
        let b = bundle(&id, &["sh", "-c", "while :; do :; done"], |c| {
            c["linux"]["resources"]["pids"] = json!({"limit": 20});
        });
        let (_c, paths) = run_d(rt, &b, &id);
        let stats = |rt| -> Value {
            let v: Value =
                serde_json::from_str(&ok(rt, &b.dir, &["events", "--stats", &id])).unwrap();
            assert_eq!(v["type"], "stats");
            assert_eq!(v["id"], json!(id));
            v["data"].clone()
        };
        let a = stats(rt);
        std::thread::sleep(Duration::from_millis(300));
        let z = stats(rt);
        let cpu = |v: &Value| v["cpu"]["usage"]["total"].as_u64().unwrap();
        assert!(cpu(&z) > cpu(&a), "{rt:?}: cpu did not move: {a} {z}");
        assert!(
            z["memory"]["usage"]["usage"].as_u64().unwrap() > 0,
            "{rt:?}"
        );
        assert_eq!(z["pids"]["current"], 1, "{rt:?}");
        assert_eq!(z["pids"]["limit"], 20, "{rt:?}");
        // More processes: pids moves too.
        ok(rt, &b.dir, &["exec", "-d", &id, "sleep", "999"]);
        // pids.current counts tasks: runc's exec helper has threads for a moment.
        wait_until("2 pids", 10, || stats(rt)["pids"]["current"] == 2);
        // runc's words for a stopped container.
        ok(rt, &b.dir, &["kill", &id, "KILL"]);
        wait_until("stopped", 10, || {
            state(rt, &b.dir, &id)["status"] == "stopped"
        });
        let (c, _, e) = call(rt, &b.dir, &["events", "--stats", &id]);
        assert_eq!(c, 1, "{rt:?}");
        assert!(
            e.contains(&format!("container with id {id} is not running")),
            "{rt:?}: {e}"
        );
        delete_clean(rt, &b, &id, &paths);
    }
    assert_dev_null_intact();
}

#[test]
fn oom_inside_is_reported_by_events() {
    for rt in runtimes() {
        let id = cid(rt, "oom");
        let swap = Path::new(CG)
            .join("memory/memory.memsw.limit_in_bytes")
            .exists();
        // sh survives; each `tail /dev/zero` grows until the OOM killer takes it.
        let b = bundle(
            &id,
            &["sh", "-c", "while :; do sleep 1; tail /dev/zero; done"],
            |c| {
                let mut m = json!({"limit": 16 << 20});
                if swap {
                    m["swap"] = json!(16 << 20);
                }
                c["linux"]["resources"]["memory"] = m;
            },
        );
        let (_c, paths) = run_d(rt, &b, &id);
        let mut ev = cmd(rt)
            .args(["events", "--interval", "1s", &id])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let out = ev.stdout.take().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for l in BufReader::new(out).lines().map_while(Result::ok) {
                if tx.send(l).is_err() {
                    return;
                }
            }
        });
        let end = Instant::now() + Duration::from_secs(20);
        let mut seen = Vec::new();
        let found = loop {
            match rx.recv_timeout(end.saturating_duration_since(Instant::now())) {
                Ok(l) => {
                    let v: Value = serde_json::from_str(&l).unwrap();
                    if v["type"] == "oom" {
                        break Some(v);
                    }
                    seen.push(v["type"].to_string());
                }
                Err(_) => break None,
            }
        };
        let _ = ev.kill();
        let _ = ev.wait();
        let v = found.unwrap_or_else(|| panic!("{rt:?}: no oom event; saw {seen:?}"));
        assert_eq!(v["id"], json!(id));
        assert!(
            v.get("data").is_none() || v["data"].is_null(),
            "{rt:?}: {v}"
        );
        delete_clean(rt, &b, &id, &paths);
    }
    assert_dev_null_intact();
}

/// /proc/self/cgroup, ids replaced by `ID`.
fn self_cgroup(rt: Rt, id: &str, cgroupns: bool) -> String {
    let b = bundle(id, &["cat", "/proc/self/cgroup"], |c| {
        if cgroupns {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .push(json!({"type": "cgroup"}));
        }
    });
    let o = ok(rt, &b.dir, &["run", "-b", path_str(&b.dir), id]);
    let mut lines: Vec<String> = o.replace(id, "ID").lines().map(String::from).collect();
    lines.sort();
    lines.join("\n")
}

#[test]
fn container_sees_its_cgroup_in_proc_self_cgroup() {
    let n = self_cgroup(Rt::Nsrun, "i2-self-n", false);
    // Every hierarchy names the container's cgroup.
    for l in n.lines() {
        assert!(l.ends_with("/ID"), "{n}");
    }
    assert!(n.lines().count() >= hierarchies().len().min(2), "{n}");
    let ns = self_cgroup(Rt::Nsrun, "i2-selfns-n", true);
    // A new cgroupns is rooted at the container's cgroup: stage-0 joined it
    // before the namespace was unshared.
    for l in ns.lines() {
        assert!(l.ends_with(":/"), "{ns}");
    }
    if common::have("runc") {
        assert_eq!(n, self_cgroup(Rt::Runc, "i2-self-r", false));
        assert_eq!(ns, self_cgroup(Rt::Runc, "i2-selfns-r", true));
    }
    assert_dev_null_intact();
}

#[test]
fn kill_all_reaches_every_member_without_a_pid_namespace() {
    for rt in runtimes() {
        let id = cid(rt, "kall");
        // No pid namespace: killing init alone would leave the sleeps.
        let b = bundle(&id, &["sh", "-c", "sleep 1000 & sleep 1000 & wait"], |c| {
            c["linux"]["namespaces"]
                .as_array_mut()
                .unwrap()
                .retain(|n| n["type"] != "pid");
        });
        let (_c, paths) = run_d(rt, &b, &id);
        wait_until("3 processes", 5, || procs(&paths).len() == 3);
        let members = procs(&paths);
        ok(rt, &b.dir, &["kill", "--all", &id, "KILL"]);
        wait_until("members gone", 10, || members.iter().all(|p| !alive(*p)));
        ok(rt, &b.dir, &["delete", &id]);
        assert_eq!(left(&paths), Vec::<&PathBuf>::new(), "{rt:?}");
    }
    assert_dev_null_intact();
}

#[test]
fn killed_create_then_delete_force_leaves_nothing() {
    if common::skip_machine(
        Path::new(CG).join("freezer").is_dir(),
        "no v1 freezer to hold create",
    ) {
        return;
    }
    // stage-0 joins <frozen parent>/<id> and freezes there, so nsrun is
    // reliably mid-create (cgroup made, no state.json) when it is killed.
    let parent = "i2-kc-parent";
    let id = "i2-kc";
    let fz = Path::new(CG).join("freezer").join(parent);
    let _ = std::fs::create_dir(&fz);
    std::fs::write(fz.join("freezer.state"), "FROZEN").unwrap();
    let b = bundle(id, &["sleep", "1000"], |c| {
        c["linux"]["cgroupsPath"] = json!(format!("/{parent}/{id}"))
    });
    let rel = format!("{parent}/{id}");
    let mut child = cmd(Rt::Nsrun)
        .args(["create", "-b", path_str(&b.dir), id])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let procs_file = fz.join(id).join("cgroup.procs");
    wait_until("stage-0 in the cgroup", 10, || {
        std::fs::read_to_string(&procs_file).is_ok_and(|s| !s.trim().is_empty())
    });
    let stage0: Vec<i32> = std::fs::read_to_string(&procs_file)
        .unwrap()
        .lines()
        .filter_map(|l| l.parse().ok())
        .collect();
    child.kill().unwrap();
    child.wait().unwrap();
    std::fs::write(fz.join("freezer.state"), "THAWED").unwrap();
    assert!(nsrun_root().join(id).join("cgroup.bin").exists());
    assert!(!nsrun_root().join(id).join("state.json").exists());
    assert!(!leftovers(&rel).is_empty());
    let o = nsrun(&["delete", "--force", id]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    assert!(!nsrun_root().join(id).exists());
    assert_eq!(leftovers(&rel), Vec::<PathBuf>::new());
    wait_until("stage-0 gone", 5, || stage0.iter().all(|p| !alive(*p)));
    for h in hierarchies() {
        let _ = std::fs::remove_dir(h.join(parent));
    }
    assert_eq!(leftovers(parent), Vec::<PathBuf>::new());
    assert_dev_null_intact();
}

#[test]
fn systemd_cgroup_without_systemd_is_a_clear_error() {
    if common::skip_machine(
        !Path::new("/run/systemd/system").is_dir(),
        "systemd runs here",
    ) {
        return;
    }
    let id = "i2-sd";
    let b = bundle(id, &["true"], |_| {});
    for sub in ["create", "run"] {
        let o = Command::new(common::nsrun_bin())
            .arg("--root")
            .arg(nsrun_root())
            .args(["--systemd-cgroup", sub, "-b", path_str(&b.dir), id])
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert_eq!(code(&o), 1);
        assert!(
            err(&o).contains("systemd cgroup driver requested but systemd is not running"),
            "{}",
            err(&o)
        );
        assert!(!nsrun_root().join(id).exists());
        assert_eq!(leftovers(id), Vec::<PathBuf>::new());
        assert_eq!(
            leftovers("system.slice/runc-i2-sd.scope"),
            Vec::<PathBuf>::new()
        );
    }
}

/// issue 13: `update` takes a value starting with `-` for every flag, as
/// runc's Go flags do, and refuses what its parsers refuse, in its words:
/// `-1` means unlimited for the memory sizes, the cpu quotas and pids.
#[test]
fn update_negative_values_like_runc() {
    let accepted: &[&[&str]] = &[
        &["--memory-swap", "-1"],
        &["--memory", "-1"],
        &["--memory-reservation", "-1"],
        &["--cpu-quota", "-1"],
        &["--cpu-quota", "-1", "--cpu-period", "100000"],
        &["--pids-limit", "-1"],
    ];
    let refused: &[&[&str]] = &[
        &["--cpu-period", "-1"],
        &["--cpu-rt-period", "-1"],
        &["--cpu-share", "-5"],
        &["--memory", "-5"],
        &["--memory-swap", "-2"],
        &["--cpu-quota", "99999999999999999999"],
        &["--cpu-rt-runtime", "-x"],
    ];
    let mut seen = Vec::new();
    for rt in runtimes() {
        let id = cid(rt, "neg");
        let b = bundle(&id, &["sleep", "1000"], |c| {
            c["linux"]["resources"]["memory"] = json!({"limit": 64 << 20});
            c["linux"]["resources"]["cpu"] = json!({"quota": 50000, "period": 100000});
            c["linux"]["resources"]["pids"] = json!({"limit": 33});
        });
        let (_c, rel) = run_d(rt, &b, &id);
        let mut answers = Vec::new();
        for args in accepted {
            let mut a = vec!["update"];
            a.extend_from_slice(args);
            a.push(&id);
            let (c, _, e) = call(rt, &b.dir, &a);
            assert_eq!(c, 0, "{rt:?} {args:?}: {e}");
        }
        assert_eq!(
            cgfile(&rel, "pids", "pids.max", "pids.max"),
            "max",
            "{rt:?}"
        );
        if v1_memory() {
            assert_eq!(cgfile(&rel, "cpu", "cpu.cfs_quota_us", ""), "-1", "{rt:?}");
            assert_eq!(
                cgfile(&rel, "memory", "memory.limit_in_bytes", ""),
                "9223372036854771712",
                "{rt:?}"
            );
        } else {
            assert_eq!(cgfile(&rel, "cpu", "", "cpu.max"), "max 100000", "{rt:?}");
            assert_eq!(cgfile(&rel, "memory", "", "memory.max"), "max", "{rt:?}");
        }
        for args in refused {
            let mut a = vec!["update"];
            a.extend_from_slice(args);
            a.push(&id);
            let (c, _, e) = call(rt, &b.dir, &a);
            let words = e.split("msg=").nth(1).unwrap_or(&e).trim().to_string();
            answers.push(format!("{args:?} {c} {words}"));
        }
        // runc's logrus warning, a log line like the others.
        let (c, _, e) = call(rt, &b.dir, &["update", "--kernel-memory", "-1", &id]);
        answers.push(format!(
            "kernel-memory {c} {}",
            e.trim().split("level=").nth(1).unwrap_or(&e)
        ));
        delete_clean(rt, &b, &id, &rel);
        seen.push(answers);
    }
    let n = &seen[0];
    assert!(
        n.iter().any(|l| l.contains(
            r#"1 "invalid value for cpu-period: strconv.ParseUint: parsing \"-1\": invalid syntax""#
        )),
        "{n:#?}"
    );
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "nsrun vs runc");
    }
    assert_dev_null_intact();
}

/// issue 13 (runc's cgroups.bats "should refuse pre-existing frozen
/// cgroup"): `run` and `create` into a frozen cgroup fail at once with
/// runc's words, leave the cgroup as it was (still frozen, nothing created
/// beside it) and leave no container; a non-empty one is only warned about.
#[test]
fn frozen_or_busy_existing_cgroup_like_runc() {
    let rel = "i2-frozen-cg";
    let v1 = Path::new(CG).join("freezer").is_dir();
    let (dir, file, frozen) = if v1 {
        (
            Path::new(CG).join("freezer").join(rel),
            "freezer.state",
            "FROZEN",
        )
    } else {
        (Path::new(CG).join(rel), "cgroup.freeze", "1")
    };
    let _ = std::fs::remove_dir(&dir);
    for rt in runtimes() {
        let id = cid(rt, "frozen");
        let b = bundle(&id, &["sleep", "1000"], |c| {
            c["linux"]["cgroupsPath"] = json!(format!("/{rel}"))
        });
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(file), frozen).unwrap();
        for (verb, extra) in [("run", &["-d"][..]), ("create", &[][..])] {
            let mut a = vec![verb];
            a.extend_from_slice(extra);
            a.extend_from_slice(&["-b", path_str(&b.dir), &id]);
            let start = Instant::now();
            let (c, _, e) = call(rt, &b.dir, &a);
            assert!(
                start.elapsed() < Duration::from_secs(5),
                "{rt:?} {verb} hung"
            );
            assert_eq!(c, 1, "{rt:?} {verb}: {e}");
            assert!(
                e.contains(&format!(
                    "msg=\"runc {verb} failed: container's cgroup unexpectedly frozen\""
                )),
                "{rt:?} {verb}: {e}"
            );
            let root = if rt == Rt::Nsrun {
                nsrun_root()
            } else {
                runc_root()
            };
            assert!(!root.join(&id).exists(), "{rt:?} {verb}: state left");
            assert_eq!(
                std::fs::read_to_string(dir.join(file)).unwrap().trim(),
                frozen,
                "{rt:?} {verb}: the cgroup was thawed"
            );
            assert_eq!(leftovers(rel), vec![dir.clone()], "{rt:?} {verb}");
            assert_eq!(
                procs(&Paths::from([("pids".into(), dir.clone())])),
                Vec::<i32>::new()
            );
        }
        std::fs::write(dir.join(file), if v1 { "THAWED" } else { "0" }).unwrap();
        std::fs::remove_dir(&dir).unwrap();

        // A second container in the cgroup of a running one: a warning.
        let id2 = format!("{id}-2");
        let (_c, paths) = run_d(rt, &b, &id);
        let _c2 = Cleanup(rt, id2.clone());
        let (c, _, e) = call(rt, &b.dir, &["create", "-b", path_str(&b.dir), &id2]);
        assert_eq!(c, 0, "{rt:?}: {e}");
        assert!(
            e.contains(
                "level=warning msg=\"container's cgroup is not empty: 1 process(es) found\""
            ),
            "{rt:?}: {e}"
        );
        let _ = call(rt, &b.dir, &["delete", "-f", &id2]);
        delete_clean(rt, &b, &id, &paths);
    }
    assert_eq!(leftovers(rel), Vec::<PathBuf>::new());
    assert_dev_null_intact();
}

/// runc 1.1.5 refuses linux.resources.unified unless the host is pure
/// cgroup v2 (hybrid included: its v1 managers never write the unified
/// side), before anything is made, with the validator's words.
#[test]
fn unified_resources_need_a_pure_v2_host_like_runc() {
    let v2 = Path::new(CG).join("cgroup.controllers").exists();
    if common::skip_machine(!v2, "this host is pure cgroup v2: unified is allowed") {
        return;
    }
    for rt in runtimes() {
        let id = cid(rt, "unif");
        let b = bundle(&id, &["true"], |c| {
            c["linux"]["resources"]["unified"] = json!({"memory.min": "131072"});
        });
        let (code, _, e) = call(rt, &b.dir, &["run", "-b", path_str(&b.dir), &id]);
        assert_eq!(code, 1, "{rt:?}: {e}");
        assert!(
            e.contains("invalid configuration: cannot use unified on cgroup v1"),
            "{rt:?}: {e}"
        );
        assert_eq!(leftovers(&id), Vec::<PathBuf>::new(), "{rt:?}");
    }
}

/// Device rules as runc's specconv and emulator take them: access letters
/// other than r/w/m are ignored (update.bats denies /dev/kmsg with "rwa"),
/// a missing access is refused in runc's words. Same answers as runc.
#[test]
fn device_access_letters_like_runc() {
    let mut seen = Vec::new();
    for rt in runtimes() {
        let id = cid(rt, "devacc");
        let b = bundle(
            &id,
            &["sh", "-c", "head -c 1 /dev/kmsg >/dev/null 2>&1; echo kmsg=$?; echo x >/dev/null && echo null-ok"],
            |c| {
                c["linux"]["resources"]["devices"] = json!([
                    {"allow": false, "access": "rwm"},
                    {"allow": true, "type": "c", "major": 1, "minor": 11, "access": "rwa"},
                    {"allow": false, "type": "c", "major": 1, "minor": 11, "access": "rwa"}
                ]);
                c["linux"]["devices"] = json!([{"path": "/dev/kmsg", "type": "c", "major": 1, "minor": 11}]);
                let caps = c["process"]["capabilities"].as_object_mut().unwrap();
                for set in caps.values_mut() {
                    set.as_array_mut().unwrap().push(json!("CAP_SYSLOG"));
                }
            },
        );
        let (code, o, e) = call(rt, &b.dir, &["run", "-b", path_str(&b.dir), &id]);
        assert_eq!(code, 0, "{rt:?}: {e}");
        let b = bundle(&id, &["true"], |c| {
            c["linux"]["resources"]["devices"] = json!([
                {"allow": false, "access": "rwm"},
                {"allow": true, "type": "c", "major": 1, "minor": 11}
            ]);
        });
        let (code, _, e) = call(rt, &b.dir, &["run", "-b", path_str(&b.dir), &id]);
        assert_eq!(code, 1, "{rt:?}: {e}");
        assert!(
            e.contains("device access at 1 field cannot be empty"),
            "{rt:?}: {e}"
        );
        seen.push(o);
    }
    assert_eq!(seen[0], "kmsg=1\nnull-ok\n");
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "nsrun and runc differ");
    }
}

/// runc 1.1's `exec --cgroup [<controller>:]<path>` (exec.bats "sub-cgroups
/// [v1]"): refusals in runc's words, and the process in the sub-cgroups
/// asked for, the rest in the container's; same lines as runc.
#[test]
fn exec_into_sub_cgroups_like_runc() {
    if common::skip_machine(v1_memory(), "no cgroup v1 memory hierarchy here") {
        return;
    }
    let msg = |e: &str| {
        e.split("msg=")
            .nth(1)
            .unwrap_or(e)
            .trim()
            .trim_matches('"')
            .to_string()
    };
    let mut seen = Vec::new();
    for rt in runtimes() {
        let id = cid(rt, "subcg");
        let b = bundle(&id, &["sleep", "1000"], |_| {});
        let (_c, paths) = run_d(rt, &b, &id);
        let mut answers = Vec::new();
        for args in [
            &["--cgroup", ".."][..],
            &["--cgroup", "nonexistent"],
            &["--cgroup", "cpu:nonexistent"],
            &["--cgroup", "whaaat:/"],
            &["--cgroup", "a:b:c"],
            &["--cgroup", "x", "--cgroup", "cpu:y"],
        ] {
            let mut a = vec!["exec"];
            a.extend_from_slice(args);
            a.extend_from_slice(&[&id, "true"]);
            let (code, _, e) = call(rt, &b.dir, &a);
            assert_eq!(code, 255, "{rt:?} {args:?}: {e}");
            // The pid and the hierarchy runc's map order picked differ.
            let m = msg(&e);
            let m = if m.contains(" adding pid ") {
                assert!(
                    m.contains("/nonexistent/cgroup.procs: no such file "),
                    "{rt:?}: {m}"
                );
                "adding pid".to_string()
            } else {
                m
            };
            answers.push(m);
        }
        assert_eq!(
            answers[0],
            "exec failed: unable to create new parent process: .. is not a sub cgroup path"
        );
        for d in [&paths["memory"], &paths["cpu"], &paths["cpuacct"]] {
            std::fs::create_dir_all(d.join("sub")).unwrap();
        }
        let o = ok(
            rt,
            &b.dir,
            &[
                "exec",
                "--cgroup",
                "memory:sub",
                "--cgroup",
                "cpu,cpuacct:sub",
                &id,
                "cat",
                "/proc/self/cgroup",
            ],
        );
        let top = ok(
            rt,
            &b.dir,
            &["exec", "--cgroup", "/", &id, "cat", "/proc/self/cgroup"],
        );
        answers.push(o.replace(&id, "ID"));
        answers.push(top.replace(&id, "ID"));
        if rt == Rt::Nsrun {
            // Stricter than runc's string prefix: no sibling cgroup.
            let (code, _, e) = call(
                rt,
                &b.dir,
                &["exec", "--cgroup", &format!("../{id}2"), &id, "true"],
            );
            assert_eq!(code, 255, "{e}");
            assert!(e.contains("is not a sub cgroup path"), "{e}");
        }
        delete_clean(rt, &b, &id, &paths);
        seen.push(answers);
    }
    let n = &seen[0];
    assert!(
        n[6].contains(":memory:") && n[6].contains("/ID/sub\n"),
        "{}",
        n[6]
    );
    assert!(!n[7].contains("/sub"), "{}", n[7]);
    if seen.len() == 2 {
        assert_eq!(seen[0], seen[1], "nsrun and runc differ");
    }
}
