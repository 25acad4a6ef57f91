//! `nsrun exec` against the real kernel: the new process joins every
//! namespace of the container's init, gets the CLI overrides, exits with its
//! own status, and runc agrees on the same running container.

#[path = "payload/bundle.rs"]
mod bundle;
mod common;

use bundle::*;
use serde_json::json;
use std::fs::File;
use std::process::{Command, Stdio};

/// Start `id` detached (`run -d`) with a sleeping payload; returns its pid.
fn start_sleeper(runc: bool, b: &Bundle, id: &str) -> i32 {
    let (bin, root) = if runc {
        ("runc".into(), runc_root())
    } else {
        (common::nsrun_bin(), nsrun_root())
    };
    let pidf = b.dir.join(format!("{id}-{runc}.pid"));
    let st = Command::new(bin)
        .arg("--root")
        .arg(root)
        .args([
            "run",
            "-d",
            "-b",
            path_str(&b.dir),
            "--pid-file",
            path_str(&pidf),
            id,
        ])
        .stdin(Stdio::null())
        .stdout(File::create(b.dir.join("run.out")).unwrap())
        .stderr(File::create(b.dir.join("run.err")).unwrap())
        .status()
        .unwrap();
    assert!(
        st.success(),
        "run -d: {}",
        std::fs::read_to_string(b.dir.join("run.err")).unwrap()
    );
    std::fs::read_to_string(pidf).unwrap().parse().unwrap()
}

fn exec(runc: bool, args: &[&str]) -> std::process::Output {
    if runc {
        bundle::runc(args)
    } else {
        nsrun(args)
    }
}

fn ns_of(pid: i32) -> Vec<String> {
    let mut v: Vec<String> = ["ipc", "mnt", "net", "pid", "uts"]
        .iter()
        .map(|n| {
            let t = std::fs::read_link(format!("/proc/{pid}/ns/{n}")).unwrap();
            let t = t.to_string_lossy();
            let ino = t.split(['[', ']']).nth(1).unwrap().to_string();
            format!("ns.{n}={ino}")
        })
        .collect();
    v.sort();
    v
}

#[test]
fn exec_joins_init_namespaces_and_passes_exit_codes() {
    let b = Bundle::new("rt-exec", &base_config(&["/payload", "sleep:60"]));
    for runc in [false, true] {
        if runc && common::skip_unless(common::have("runc"), "runc not installed") {
            continue;
        }
        let pid = start_sleeper(runc, &b, "rt-exec");
        let o = exec(runc, &["exec", "rt-exec", "/payload", "ns", "pid"]);
        assert_eq!(code(&o), 0, "exec ({runc}): {}", err(&o));
        let text = out(&o);
        for want in ns_of(pid) {
            assert!(
                text.lines().any(|l| l == want),
                "exec ({runc}) not in init's {want}: {text}"
            );
        }
        assert!(
            !text.contains("pid=1\n"),
            "exec'd process must not be the container's pid 1"
        );
        let o = exec(runc, &["exec", "rt-exec", "/payload", "exit:7"]);
        assert_eq!(code(&o), 7, "exec exit code ({runc}): {}", err(&o));
        let o = exec(runc, &["exec", "rt-exec", "/nonexist"]);
        assert_eq!(code(&o), 255);
        assert!(err(&o).contains("no such file or directory"), "{}", err(&o));
        assert_eq!(code(&exec(runc, &["delete", "-f", "rt-exec"])), 0);
        let o = exec(runc, &["exec", "rt-exec", "/payload"]);
        assert_eq!(code(&o), 255);
        assert!(err(&o).contains("container does not exist"), "{}", err(&o));
    }
    assert_dev_null_intact();
}

#[test]
fn exec_overrides_match_runc() {
    let b = Bundle::new("rt-exec-ovr", &base_config(&["/payload", "sleep:60"]));
    let args = [
        "exec",
        "--user",
        "1000:1000",
        "--additional-gids",
        "10",
        "--additional-gids",
        "20",
        "--cwd",
        "/tmp",
        "--env",
        "FOO=bar",
        "rt-exec-ovr",
        "/payload",
        "id",
        "cwd",
        "env",
        "umask",
        "fds",
    ];
    let mut outputs = Vec::new();
    for runc in [false, true] {
        if runc && common::skip_unless(common::have("runc"), "runc not installed") {
            continue;
        }
        start_sleeper(runc, &b, "rt-exec-ovr");
        let o = exec(runc, &args);
        assert_eq!(code(&o), 0, "exec ({runc}): {}", err(&o));
        let text = out(&o);
        assert!(
            text.contains("uid=1000\ngid=1000\ngroups=10,20\ncwd=/tmp\n"),
            "{text}"
        );
        assert!(text.contains("env=FOO=bar\n"), "{text}");
        outputs.push(text);
        // Bad --user words and the relative cwd check.
        let o = exec(runc, &["exec", "--user", "x:1", "rt-exec-ovr", "/payload"]);
        assert_eq!(code(&o), 255);
        assert!(
            err(&o).contains("parsing x as int for uid failed"),
            "{}",
            err(&o)
        );
        let o = exec(runc, &["exec", "--cwd", "rel", "rt-exec-ovr", "/payload"]);
        assert_eq!(code(&o), 255);
        assert!(
            err(&o).contains("Cwd must be an absolute path"),
            "{}",
            err(&o)
        );
        assert_eq!(code(&exec(runc, &["delete", "-f", "rt-exec-ovr"])), 0);
    }
    if outputs.len() == 2 {
        assert_eq!(
            outputs[0], outputs[1],
            "exec output differs between nsrun and runc"
        );
    }
}

#[test]
fn exec_detached_with_process_json_and_pid_file() {
    let b = Bundle::new("rt-exec-d", &base_config(&["/payload", "sleep:60"]));
    start_sleeper(false, &b, "rt-exec-d");
    let p = b.dir.join("process.json");
    let proc = json!({"args": ["/payload", "sleep:30"], "cwd": "/", "user": {"uid": 0, "gid": 0}, "env": ["A=1"]});
    std::fs::write(&p, proc.to_string()).unwrap();
    let pidf = b.dir.join("exec.pid");
    let st = Command::new(common::nsrun_bin())
        .arg("--root")
        .arg(nsrun_root())
        .args([
            "exec",
            "-d",
            "--pid-file",
            path_str(&pidf),
            "--process",
            path_str(&p),
            "rt-exec-d",
        ])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(File::create(b.dir.join("exec.err")).unwrap())
        .status()
        .unwrap();
    assert!(
        st.success(),
        "{}",
        std::fs::read_to_string(b.dir.join("exec.err")).unwrap()
    );
    let text = std::fs::read_to_string(&pidf).unwrap();
    assert!(!text.ends_with('\n'));
    let pid: i32 = text.parse().unwrap();
    assert!(alive(pid), "exec -d process {pid} is not running");
    let env = std::fs::read(format!("/proc/{pid}/environ")).unwrap();
    let env: Vec<&[u8]> = env.split(|c| *c == 0).collect();
    assert!(env.contains(&&b"A=1"[..]));
    assert!(
        !env.iter().any(|e| e.starts_with(b"_LIBCONTAINER")),
        "internal env leaked into the process"
    );
    let init: i32 = std::fs::read_to_string(b.dir.join("rt-exec-d-false.pid"))
        .unwrap()
        .parse()
        .unwrap();
    // SIGTERM reaches init only (which, as pid 1 without a handler, ignores it);
    // with --all it reaches the exec'd process too.
    assert_eq!(code(&nsrun(&["kill", "rt-exec-d", "TERM"])), 0);
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(alive(pid), "kill without --all reached a non-init process");
    assert_eq!(code(&nsrun(&["kill", "--all", "rt-exec-d", "TERM"])), 0);
    for _ in 0..100 {
        if !alive(pid) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!alive(pid), "kill --all missed the exec'd process");
    assert!(alive(init), "init must survive SIGTERM");
    let o = nsrun(&["delete", "-f", "rt-exec-d"]);
    assert_eq!(code(&o), 0, "{}", err(&o));
    // The pid namespace died with init, and with it the exec'd process.
    for _ in 0..100 {
        if !alive(pid) {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    assert!(!alive(pid));
}

/// issue 13: a process.json without `user` runs as 0:0 (Go's zero value in
/// runc), one without `cwd` fails with runc's words.
#[test]
fn exec_process_json_without_user_like_runc() {
    let b = Bundle::new("rt-exec-nouser", &base_config(&["/payload", "sleep:60"]));
    let p = b.dir.join("process.json");
    let nocwd = b.dir.join("process-nocwd.json");
    std::fs::write(
        &p,
        json!({"args": ["/payload", "id", "cwd"], "cwd": "/tmp"}).to_string(),
    )
    .unwrap();
    std::fs::write(&nocwd, json!({"args": ["/payload", "id"]}).to_string()).unwrap();
    let mut outputs = Vec::new();
    for runc in [false, true] {
        if runc && common::skip_unless(common::have("runc"), "runc not installed") {
            continue;
        }
        start_sleeper(runc, &b, "rt-exec-nouser");
        let o = exec(runc, &["exec", "--process", path_str(&p), "rt-exec-nouser"]);
        assert_eq!(code(&o), 0, "exec ({runc}): {}", err(&o));
        assert!(out(&o).contains("uid=0\ngid=0\n"), "{}", out(&o));
        outputs.push(out(&o));
        let o = exec(
            runc,
            &["exec", "--process", path_str(&nocwd), "rt-exec-nouser"],
        );
        assert_eq!(code(&o), 255, "exec ({runc}): {}", err(&o));
        assert!(
            err(&o).contains("exec failed: Cwd property must not be empty"),
            "{runc}: {}",
            err(&o)
        );
        assert_eq!(code(&exec(runc, &["delete", "-f", "rt-exec-nouser"])), 0);
    }
    if outputs.len() == 2 {
        assert_eq!(outputs[0], outputs[1]);
    }
    assert_dev_null_intact();
}

/// issue 13: runc 1.1's exec flags `--cap` (bounding, effective, permitted
/// and ambient; an unknown name is a warning), `--no-new-privs` and
/// `--process-label` (refused without SELinux), like runc.
#[test]
fn exec_cap_no_new_privs_and_label_flags_like_runc() {
    let mut cfg = base_config(&["/payload", "sleep:60"]);
    cfg["process"]["noNewPrivileges"] = json!(false);
    let b = Bundle::new("rt-exec-flags", &cfg);
    let status = ["/bin/grep", "-E", "^(Cap|NoNewPrivs)", "/proc/self/status"];
    let cases: &[&[&str]] = &[
        &[],
        &["--no-new-privs"],
        &["--cap", "CAP_SYS_ADMIN", "--cap", "CAP_NET_RAW"],
        &["--cap", "CAP_BOGUS", "--cap", "sys_admin"],
        &["--process-label", "system_u:system_r:container_t:s0"],
    ];
    let mut answers: Vec<Vec<String>> = Vec::new();
    for runc in [false, true] {
        if runc && common::skip_unless(common::have("runc"), "runc not installed") {
            continue;
        }
        start_sleeper(runc, &b, "rt-exec-flags");
        let mut mine = Vec::new();
        for flags in cases {
            let mut a = vec!["exec"];
            a.extend_from_slice(flags);
            a.push("rt-exec-flags");
            a.extend_from_slice(&status);
            let o = exec(runc, &a);
            let e = err(&o);
            let words: Vec<&str> = e.lines().filter_map(|l| l.split("level=").nth(1)).collect();
            mine.push(format!("{flags:?} {} {}{words:?}", code(&o), out(&o)));
        }
        assert_eq!(code(&exec(runc, &["delete", "-f", "rt-exec-flags"])), 0);
        answers.push(mine);
    }
    let n = &answers[0];
    assert!(n[0].contains("NoNewPrivs:\t0"), "{}", n[0]);
    assert!(n[1].contains("NoNewPrivs:\t1"), "{}", n[1]);
    // CAP_SYS_ADMIN (21) and CAP_NET_RAW (13) join the template's three.
    assert!(n[2].contains("CapBnd:\t0000000020202420"), "{}", n[2]);
    assert!(n[2].contains("CapEff:\t0000000020202420"), "{}", n[2]);
    assert!(
        n[3].contains("warning msg=\\\"ignoring unknown or unavailable capabilities: [CAP_BOGUS sys_admin]\\\""),
        "{}",
        n[3]
    );
    assert!(
        n[4].contains(" 255 ")
            && n[4].contains("selinux label is specified in config, but selinux is disabled"),
        "{}",
        n[4]
    );
    if answers.len() == 2 {
        assert_eq!(answers[0], answers[1], "nsrun vs runc");
    }
    assert_dev_null_intact();
}
