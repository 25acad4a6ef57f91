//! runc 1.1.5 as the reference, on a busybox container: our manager reads
//! and drives runc's cgroup, and the same update on our own cgroup writes
//! the same files as `runc update`.

#[path = "../src/cgroups/mod.rs"]
mod cgroups;
mod cgroups_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use cgroups::probe::Version;
use cgroups::{commands, CgroupConfig, FreezerState};
use cgroups_support::*;

struct Runc {
    root: PathBuf,
    bundle: PathBuf,
    id: String,
}

impl Runc {
    fn cmd(&self, args: &[&str]) -> std::process::Output {
        Command::new("runc")
            .arg("--root")
            .arg(&self.root)
            .args(args)
            .stdin(Stdio::null())
            .output()
            .expect("runc")
    }
    fn ok(&self, args: &[&str]) -> String {
        let o = self.cmd(args);
        assert!(
            o.status.success(),
            "runc {args:?}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        String::from_utf8(o.stdout).unwrap()
    }
}

impl Drop for Runc {
    fn drop(&mut self) {
        let _ = self.cmd(&["delete", "-f", &self.id]);
    }
}

/// A busybox bundle whose config runs `sleep 1000` in cgroup `cg_path`.
fn busybox_bundle(dir: &Path, cg_path: &str, resources: serde_json::Value) {
    let rootfs = dir.join("rootfs");
    std::fs::create_dir_all(rootfs.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    for app in ["sh", "sleep"] {
        std::os::unix::fs::symlink("busybox", rootfs.join("bin").join(app)).unwrap();
    }
    let o = Command::new("runc")
        .arg("spec")
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(
        o.status.success(),
        "runc spec: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    let mut spec: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.join("config.json")).unwrap()).unwrap();
    spec["process"]["args"] = serde_json::json!(["sleep", "1000"]);
    spec["process"]["terminal"] = false.into();
    spec["linux"]["cgroupsPath"] = cg_path.into();
    for (k, v) in resources.as_object().unwrap() {
        spec["linux"]["resources"][k] = v.clone();
    }
    std::fs::write(
        dir.join("config.json"),
        serde_json::to_vec_pretty(&spec).unwrap(),
    )
    .unwrap();
}

fn v1(ctrl: &str, cg_path: &str) -> Option<PathBuf> {
    let host = cgroups::probe::host().ok()?;
    let h = host
        .hierarchies
        .iter()
        .find(|h| h.version == Version::V1 && h.has(ctrl))?;
    Some(h.mount.join(cg_path.trim_start_matches('/')))
}

const FILES: &[(&str, &str)] = &[
    ("memory", "memory.limit_in_bytes"),
    ("memory", "memory.memsw.limit_in_bytes"),
    ("memory", "memory.soft_limit_in_bytes"),
    ("cpu", "cpu.shares"),
    ("cpu", "cpu.cfs_quota_us"),
    ("cpu", "cpu.cfs_period_us"),
    ("pids", "pids.max"),
    ("cpuset", "cpuset.cpus"),
];

fn snapshot(cg_path: &str) -> Vec<(String, String)> {
    FILES
        .iter()
        .filter_map(|(c, f)| Some((f.to_string(), read(&v1(c, cg_path)?, f))))
        .collect()
}

#[test]
fn same_files_states_pids_and_stats_as_runc() {
    if !can_run()
        || common::skip_unless(
            common::have("runc") && Path::new("/bin/busybox").exists(),
            "needs runc and /bin/busybox",
        )
    {
        return;
    }
    let host = cgroups::probe::host().unwrap();
    if common::skip_machine(
        host.hierarchies
            .iter()
            .any(|h| h.version == Version::V1 && h.has("memory")),
        "compares v1 files",
    ) {
        return;
    }
    let dir = common::scratch(&format!("cgroups-runc-{}", std::process::id()));
    let resources = serde_json::json!({
        "memory": {"limit": 64 << 20, "swap": 128 << 20, "reservation": 32 << 20},
        "cpu": {"shares": 512, "quota": 20000, "period": 100000, "cpus": "0"},
        "pids": {"limit": 16}
    });
    let runc_path = name("runc");
    busybox_bundle(&dir, &runc_path, resources.clone());
    let runc = Runc {
        root: dir.join("state"),
        bundle: dir.clone(),
        id: format!("nsrun-cgtest-{}", std::process::id()),
    };
    // The detached container inherits runc's stdio: a file, not a pipe
    // that would stay open as long as the container runs.
    let log = dir.join("run.err");
    let st = Command::new("runc")
        .arg("--root")
        .arg(&runc.root)
        .args(["run", "-d", "-b"])
        .arg(&runc.bundle)
        .arg(&runc.id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .status()
        .unwrap();
    assert!(
        st.success(),
        "runc run: {}",
        std::fs::read_to_string(&log).unwrap_or_default()
    );

    // Ours, same resources, on a forked sleeper.
    let (ours, _p) = Cg::with_child("ours", resources.clone(), SLEEPER);
    assert_eq!(
        snapshot(&name("ours")),
        snapshot(&runc_path),
        "files after create"
    );

    // The same update on both.
    let flags = [
        "--memory",
        "32m",
        "--memory-swap",
        "48m",
        "--pids-limit",
        "8",
        "--cpu-quota",
        "10000",
        "--cpu-share",
        "256",
    ];
    runc.ok(&[&["update"][..], &flags[..], &[runc.id.as_str()][..]].concat());
    let args = sample_update();
    let mut cfg = ours.cfg.clone();
    commands::update(ours.mgr.as_ref(), &mut cfg, &args, &mut std::io::empty()).unwrap();
    assert_eq!(
        snapshot(&name("ours")),
        snapshot(&runc_path),
        "files after update"
    );

    // Our manager on runc's cgroup: the pids runc ps reports.
    let theirs_cfg =
        CgroupConfig::new(Some(&runc_path), &runc.id, Default::default(), false).unwrap();
    let theirs = cgroups::manager(&theirs_cfg, false).unwrap();
    let runc_pids: Vec<i32> =
        serde_json::from_str(&runc.ok(&["ps", "-f", "json", &runc.id])).unwrap();
    assert_eq!(theirs.pids().unwrap(), runc_pids);

    // runc pause is what our freezer sees, and our pause is what runc sees.
    runc.ok(&["pause", &runc.id]);
    assert_eq!(theirs.freezer_state().unwrap(), FreezerState::Frozen);
    runc.ok(&["resume", &runc.id]);
    assert_eq!(theirs.freezer_state().unwrap(), FreezerState::Thawed);
    commands::pause(theirs.as_ref()).unwrap();
    let st: serde_json::Value = serde_json::from_str(&runc.ok(&["state", &runc.id])).unwrap();
    assert_eq!(st["status"], "paused");
    commands::resume(theirs.as_ref()).unwrap();
    let st: serde_json::Value = serde_json::from_str(&runc.ok(&["state", &runc.id])).unwrap();
    assert_eq!(st["status"], "running");

    // events --stats: same shape, same limits and pid counts.
    let theirs_ev: serde_json::Value =
        serde_json::from_str(&runc.ok(&["events", "--stats", &runc.id])).unwrap();
    let mut out = Vec::new();
    let args = cgroups::cli_args::EventsArgs {
        interval: std::time::Duration::from_secs(5),
        stats: true,
        id: runc.id.clone(),
    };
    commands::events(theirs.as_ref(), &runc.id, &args, &mut out).unwrap();
    let ours_ev: serde_json::Value = serde_json::from_slice(&out).unwrap();
    let keys = |v: &serde_json::Value| {
        v.as_object()
            .map(|o| o.keys().cloned().collect::<Vec<_>>())
            .unwrap_or_default()
    };
    assert_eq!(keys(&ours_ev), keys(&theirs_ev));
    assert_eq!(keys(&ours_ev["data"]), keys(&theirs_ev["data"]));
    for k in ["usage", "swap", "kernel", "kernelTCP"] {
        assert!(
            theirs_ev["data"]["memory"].get(k).is_some()
                == ours_ev["data"]["memory"].get(k).is_some(),
            "memory.{k}"
        );
    }
    assert_eq!(
        keys(&ours_ev["data"]["cpuset"]),
        keys(&theirs_ev["data"]["cpuset"])
    );
    assert_eq!(
        ours_ev["data"]["memory"]["usage"]["limit"],
        theirs_ev["data"]["memory"]["usage"]["limit"]
    );
    assert_eq!(
        ours_ev["data"]["memory"]["swap"]["limit"],
        theirs_ev["data"]["memory"]["swap"]["limit"]
    );
    assert_eq!(ours_ev["data"]["pids"], theirs_ev["data"]["pids"]);
    assert_eq!(
        keys(&ours_ev["data"]["memory"]["raw"]),
        keys(&theirs_ev["data"]["memory"]["raw"])
    );

    // runc delete removes its cgroup; ours removes ours.
    runc.ok(&["delete", "-f", &runc.id]);
    ours.mgr.destroy().unwrap();
    assert!(nothing_left(&runc_path).is_empty());
    assert!(nothing_left(&name("ours")).is_empty());
    assert_eq!(
        common::owner_uid(Path::new("/dev/null")),
        0,
        "/dev/null must stay root's"
    );
}
