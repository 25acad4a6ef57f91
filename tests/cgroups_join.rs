//! Joining a cgroup at birth (src/cgroups/join.rs, src/process/birth.rs) on
//! the real hierarchy: a child cloned with `fork_into` is already in the
//! container's cgroup, in every hierarchy, when it first looks, before the
//! parent does anything (CLONE_INTO_CGROUP for cgroup2, its own "0" write to
//! each v1 `tasks`); the fallback when clone3 refuses; a failed v1 join is
//! reported with the file's name. End to end: `nsrun exec`'s stage-0 is
//! born in the container's cgroup, and no pid is written to any cgroup file.

#[path = "../src/process/birth.rs"]
mod birth;
#[path = "payload/bundle.rs"]
mod bundle;
#[path = "../src/cgroups/mod.rs"]
mod cgroups;
mod cgroups_support;
mod common;
#[path = "../src/process/sys.rs"]
#[allow(dead_code)]
mod process_sys;
/// birth.rs names its syscall wrappers `crate::process::sys`, as in nsrun.
mod process {
    pub(crate) use super::process_sys as sys;
}

use std::io::Read;
use std::os::fd::{AsFd, AsRawFd};

use cgroups::join::{Join, Target};
use cgroups::probe::{self, Version};
use cgroups_support::*;

/// What `born_and_look` saw.
struct Look {
    born: birth::Born,
    /// The child's /proc/self/cgroup at its first look.
    first: String,
    /// Its /proc/PID/cgroup after `finish`.
    after: String,
    finish: Result<(), cgroups::Error>,
    status: i32,
}

/// Fork with `fork_into`; the child joins, then writes its /proc/self/cgroup
/// (read with raw syscalls) to a pipe and waits. The parent reads that
/// BEFORE `finish`, so only what the child did at birth counts; then it
/// reads the child's cgroup again after `finish`.
fn born_and_look(join: &Join) -> Look {
    // One at a time: a child that never execs keeps every fd of the test
    // binary, other tests' pipe ends included, until it exits.
    static ONE: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _g = ONE.lock().unwrap_or_else(|e| e.into_inner());
    let (r, w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let (go_r, go_w) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).unwrap();
    let report = birth::report_pipe(Some(join)).unwrap();
    let born = birth::fork_into(Some(join)).unwrap();
    if born.pid == 0 {
        birth::join_in_child(join, report.as_ref().map(|(_, w)| w.as_fd()));
        let mut buf = [0u8; 4096];
        // SAFETY: raw syscalls on stack buffers in the child.
        unsafe {
            let fd = libc::open(c"/proc/self/cgroup".as_ptr(), libc::O_RDONLY);
            let n = libc::read(fd, buf.as_mut_ptr().cast(), buf.len());
            libc::write(w.as_raw_fd(), buf.as_ptr().cast(), n.max(0) as usize);
            libc::close(w.as_raw_fd());
            libc::close(go_w.as_raw_fd());
            // What exec does to the CLOEXEC report pipe: tell `finish` we are past the join.
            if let Some((_, rw)) = &report {
                libc::close(rw.as_raw_fd());
            }
            libc::read(go_r.as_raw_fd(), buf.as_mut_ptr().cast(), 1);
            libc::_exit(0);
        }
    }
    drop((w, go_r));
    let mut first = String::new();
    std::fs::File::from(r).read_to_string(&mut first).unwrap();
    let finish = birth::finish(join, &born, report);
    let after = std::fs::read_to_string(format!("/proc/{}/cgroup", born.pid)).unwrap_or_default();
    drop(go_w);
    let mut status = 0;
    // SAFETY: reaping our own child.
    unsafe { libc::waitpid(born.pid, &mut status, 0) };
    Look {
        born,
        first,
        after,
        finish,
        status,
    }
}

/// The v1 pids hierarchy, or None after printing a SKIP.
fn v1_pids() -> Option<&'static probe::Hierarchy> {
    let h = probe::host()
        .unwrap()
        .hierarchies
        .iter()
        .find(|h| h.version == Version::V1 && h.has("pids"));
    if h.is_none() {
        common::skip_machine(false, "no v1 pids hierarchy");
    }
    h
}

/// The cgroup path per /proc/PID/cgroup key ("" for cgroup2).
fn by_key(text: &str) -> Vec<(String, String)> {
    text.lines()
        .filter_map(|l| {
            let mut f = l.splitn(3, ':');
            let (_, k, p) = (f.next()?, f.next()?, f.next()?);
            Some((k.to_string(), p.to_string()))
        })
        .collect()
}

#[test]
fn child_is_in_every_hierarchy_from_birth() {
    if !can_run() {
        return;
    }
    let host = probe::host().unwrap();
    let cg = Cg::new("join-birth", Default::default());
    let join = cg.mgr.join_plan(true).unwrap();
    let l = born_and_look(&join);
    l.finish.unwrap();
    assert_eq!(l.status, 0, "child failed: {}", l.first);
    let name = name("join-birth");
    let keys = by_key(&l.first);
    for h in &host.hierarchies {
        let want = h.key();
        let got = keys
            .iter()
            .find(|(k, _)| *k == want)
            .map(|(_, p)| p.as_str());
        assert_eq!(
            got,
            Some(name.as_str()),
            "hierarchy {want:?} at the child's first look:\n{}",
            l.first
        );
    }
    if host.hierarchies.iter().any(|h| h.version == Version::V2) {
        // Without CLONE_INTO_CGROUP the "0::" line above shows the test's
        // own cgroup: nobody wrote the child's pid before it looked.
        assert!(
            l.born.in_v2,
            "clone3(CLONE_INTO_CGROUP) was refused on this kernel"
        );
    } else {
        common::skip_machine(false, "no cgroup2 hierarchy: clone3 part not exercised");
    }
}

#[test]
fn clone3_refused_falls_back_to_the_write() {
    if !can_run() {
        return;
    }
    // A v1 directory as the "cgroup2" target: the kernel refuses
    // CLONE_INTO_CGROUP (EBADF, not on the default hierarchy), so the child
    // is forked where it is and the parent writes cgroup.procs, which a v1
    // directory has too.
    let Some(h) = v1_pids() else { return };
    let cg = Cg::new("join-fallback", Default::default());
    cg.mgr.join_plan(true).unwrap();
    let dir = cg.mgr.path("pids").unwrap();
    assert!(dir.starts_with(&h.mount));
    let join = Join {
        v2: Some(Target::dir(&dir).unwrap()),
        ..Default::default()
    };
    let l = born_and_look(&join);
    l.finish.unwrap();
    assert_eq!(l.status, 0);
    assert!(!l.born.in_v2);
    let pids = |t: &str| {
        by_key(t)
            .into_iter()
            .find(|(k, _)| k == "pids")
            .map(|(_, p)| p)
    };
    assert_ne!(
        pids(&l.first),
        Some(name("join-fallback")),
        "born in the v1 cgroup without anyone moving it?"
    );
    assert_eq!(
        pids(&l.after),
        Some(name("join-fallback")),
        "the fallback write did not move the child"
    );
}

#[test]
fn failed_v1_join_is_reported_with_the_file() {
    if !can_run() {
        return;
    }
    let Some(h) = v1_pids() else { return };
    // An open `tasks` of a cgroup removed since: the write fails (ENODEV).
    let dir = h.mount.join(name("join-gone").trim_start_matches('/'));
    std::fs::create_dir(&dir).unwrap();
    let t = Target::tasks(&dir).unwrap();
    std::fs::remove_dir(&dir).unwrap();
    let join = Join {
        v1_tasks: vec![t],
        ..Default::default()
    };
    let l = born_and_look(&join);
    assert!(
        l.first.is_empty(),
        "the child went on after a failed join: {}",
        l.first
    );
    assert_eq!(libc::WEXITSTATUS(l.status), 127);
    let e = l.finish.unwrap_err().to_string();
    assert!(
        e.starts_with(&format!("write {}: ", dir.join("tasks").display())),
        "{e}"
    );
}

#[test]
fn exec_stage0_is_born_in_the_container_cgroup() {
    if !can_run() || common::skip_unless(common::have("strace"), "strace not installed") {
        return;
    }
    let id = format!("cg2-join-e2e-{}", std::process::id());
    let mut c = bundle::base_config(&["sleep", "999"]);
    c["linux"]["cgroupsPath"] = serde_json::json!(format!("/{id}"));
    let b = bundle::Bundle::new(&id, &c);
    let (code, _, e) = bundle::detached(
        false,
        &b.dir,
        &["run", "-d", "-b", bundle::path_str(&b.dir), &id],
    );
    assert_eq!(code, 0, "{e}");
    let trace = b.dir.join("strace.txt");
    let out = std::process::Command::new("strace")
        .args([
            "-f",
            "-qq",
            "-s",
            "64",
            "-e",
            "trace=clone3,openat,write",
            "-o",
        ])
        .arg(&trace)
        .arg(common::nsrun_bin())
        .arg("--root")
        .arg(bundle::nsrun_root())
        .args([
            "exec",
            &id,
            "sh",
            "-c",
            "cat /proc/self/cgroup; echo --; cat /proc/1/cgroup",
        ])
        .stdin(std::process::Stdio::null())
        .output()
        .unwrap();
    let _ = bundle::nsrun(&["delete", "-f", &id]);
    bundle::assert_dev_null_intact();
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(
        out.status.success(),
        "exec: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    // The exec'd process is where the container's init is, in every hierarchy.
    let (mine, init) = text.split_once("--\n").expect("two listings");
    assert_eq!(by_key(mine), by_key(init), "{text}");
    assert!(!by_key(mine).is_empty());

    let t = std::fs::read_to_string(&trace).unwrap();
    let host = probe::host().unwrap();
    let v1 = host
        .hierarchies
        .iter()
        .filter(|h| h.version == Version::V1)
        .count();
    if host.hierarchies.iter().any(|h| h.version == Version::V2) {
        let born = t
            .lines()
            .find(|l| l.contains("clone3(") && l.contains("CLONE_INTO_CGROUP"));
        let pid = born
            .and_then(|l| l.rsplit("= ").next())
            .and_then(|p| p.trim().parse::<i32>().ok());
        assert!(
            pid.is_some_and(|p| p > 0),
            "no clone3(CLONE_INTO_CGROUP) for stage-0:\n{t}"
        );
        // The child wrote "0" to each v1 `tasks` itself.
        let child = pid.unwrap().to_string();
        let zeros = t
            .lines()
            .filter(|l| {
                l.starts_with(&format!("{child} "))
                    && l.contains("write(")
                    && l.contains(", \"0\", 1)")
                    && l.ends_with("= 1")
            })
            .count();
        assert_eq!(zeros, v1, "v1 self-joins by stage-0:\n{t}");
    }
    // Nobody opened a cgroup.procs or tasks file to write a pid into it
    // (the `tasks` files stage-0 writes "0" to are opened by the runtime,
    // and only "0" is ever written to them).
    let procs_w = t
        .lines()
        .filter(|l| {
            l.contains("openat(") && l.contains("/cgroup.procs\"") && l.contains("O_WRONLY")
        })
        .count();
    assert_eq!(procs_w, 0, "cgroup.procs opened for writing:\n{t}");
}
