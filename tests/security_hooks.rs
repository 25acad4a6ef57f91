//! Hooks run for real: state on stdin, argv/env, timeout kill, runc's error
//! wording, failure rules per kind, and joining namespaces.

mod common;
#[path = "../src/hooks/mod.rs"]
mod hooks;

use std::os::fd::AsRawFd;
use std::time::{Duration, Instant};

use hooks::{Hook, HookSet, Kind, NsTarget};

const STATE: &[u8] =
    br#"{"ociVersion":"1.0.2","id":"sec-hooks","status":"creating","pid":42,"bundle":"/tmp/b"}"#;

fn sh(script: &str) -> Hook {
    Hook {
        path: "/bin/sh".into(),
        args: vec!["sh".into(), "-c".into(), script.into()],
        env: None,
        timeout: None,
    }
}

#[test]
fn state_arrives_on_stdin() {
    let d = common::scratch("sec-hooks-stdin");
    let out = d.join("state");
    hooks::run(&[sh(&format!("cat > {}", out.display()))], STATE, None).unwrap();
    assert_eq!(std::fs::read(&out).unwrap(), STATE);
}

#[test]
fn argv_and_env_are_the_specs() {
    let d = common::scratch("sec-hooks-argv");
    let out = d.join("argv");
    let mut h = sh(&format!(
        r#"echo "$0|$1|$FOO|${{HOME-unset}}" > {}"#,
        out.display()
    ));
    h.args.extend(["first".into(), "second".into()]);
    h.env = Some(vec!["FOO=bar=baz".into()]);
    hooks::run(&[h], STATE, None).unwrap();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap().trim(),
        "first|second|bar=baz|unset"
    );
}

#[test]
fn a_hook_that_ignores_stdin_still_succeeds() {
    let big = vec![b' '; 1 << 20];
    hooks::run(&[sh("exit 0")], &big, None).unwrap();
}

#[test]
fn no_runtime_fd_reaches_a_hook() {
    // Hold one fd without CLOEXEC, as an inherited or leaked one would be.
    let held = std::fs::File::open("/proc/self/status").unwrap();
    let leaked = nix::unistd::dup(held.as_raw_fd()).unwrap();
    // The hook lists its fds and fails, so its stdout comes back to us.
    let e = hooks::run(&[sh("ls /proc/self/fd; exit 1")], STATE, None)
        .unwrap_err()
        .to_string();
    nix::unistd::close(leaked).unwrap();
    let list = e
        .split("stdout: ")
        .nth(1)
        .unwrap()
        .split(", stderr")
        .next()
        .unwrap();
    let fds: Vec<i32> = list
        .split_whitespace()
        .map(|s| s.parse().unwrap())
        .collect();
    // 0-2, plus ls's own directory fd.
    assert!(
        fds.iter().all(|&f| f <= 3) && !fds.contains(&leaked),
        "{fds:?} (leaked fd {leaked})"
    );
}

#[test]
fn timeout_kills_the_hook_with_runcs_message() {
    let d = common::scratch("sec-hooks-timeout");
    let pidfile = d.join("pid");
    let mut h = sh(&format!("echo $$ > {}; exec sleep 30", pidfile.display()));
    h.timeout = Some(1);
    let t = Instant::now();
    let e = hooks::run(&[h], STATE, None).unwrap_err();
    let took = t.elapsed();
    assert_eq!(
        e.to_string(),
        "error running hook #0: hook ran past specified timeout of 1.0s"
    );
    assert!(
        took >= Duration::from_secs(1) && took < Duration::from_secs(5),
        "{took:?}"
    );
    let pid = std::fs::read_to_string(&pidfile)
        .unwrap()
        .trim()
        .to_string();
    assert!(
        !std::path::Path::new(&format!("/proc/{pid}")).exists(),
        "hook {pid} still alive (or unreaped)"
    );
}

#[test]
fn failures_carry_exit_status_and_output() {
    let e = hooks::run(
        &[sh("true"), sh("echo out; echo err >&2; exit 3")],
        STATE,
        None,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "error running hook #1: error running hook: exit status 3, stdout: out\n, stderr: err\n"
    );
    let missing = Hook {
        path: "/nonexistent/sec-hook".into(),
        args: vec![],
        env: None,
        timeout: None,
    };
    let e = hooks::run(&[missing], STATE, None).unwrap_err();
    assert_eq!(
        e.to_string(),
        "error running hook #0: fork/exec /nonexistent/sec-hook: no such file or directory"
    );
    let e = hooks::run(&[sh("kill -9 $$")], STATE, None).unwrap_err();
    assert!(
        e.to_string().contains("error running hook: signal: killed"),
        "{e}"
    );
}

#[test]
fn every_kind_stops_at_its_first_failure_like_runc() {
    // runc 1.1's HookList.RunHooks: the first failing hook ends the list, for
    // every kind (poststart then kills the container, poststop fails delete).
    let d = common::scratch("sec-hooks-kinds");
    let marker = d.join("ran");
    let touch = sh(&format!("echo x >> {}", marker.display()));
    for kind in Kind::ALL {
        let _ = std::fs::remove_file(&marker);
        let set = HookSet {
            hooks: vec![(kind, vec![sh("exit 1"), touch.clone()])],
        };
        let r = hooks::run(set.get(kind), STATE, None);
        assert_eq!(
            r.unwrap_err().to_string(),
            "error running hook #0: error running hook: exit status 1, stdout: , stderr: "
        );
        assert!(!marker.exists(), "{kind:?}: a hook ran after a failure");
    }
}

#[test]
fn a_hook_can_run_in_given_namespaces() {
    if common::skip_unless(
        common::have("unshare"),
        "no unshare(1) to hold a network namespace",
    ) {
        return;
    }
    let d = common::scratch("sec-hooks-ns");
    let out = d.join("ns");
    let mut holder = std::process::Command::new("unshare")
        .args(["--net", "sleep", "30"])
        .spawn()
        .unwrap();
    let ns_path = format!("/proc/{}/ns/net", holder.id());
    // Wait for unshare to have exec'd into its new namespace.
    let mine = std::fs::read_link("/proc/self/ns/net").unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    while std::fs::read_link(&ns_path)
        .map(|l| l == mine)
        .unwrap_or(true)
        && Instant::now() < deadline
    {
        std::thread::sleep(Duration::from_millis(10));
    }
    let want = std::fs::read_link(&ns_path).unwrap();
    let fd = std::fs::File::open(&ns_path).unwrap();
    let target = NsTarget {
        fds: vec![fd.into()],
    };
    let r = hooks::run(
        &[sh(&format!(
            "readlink /proc/self/ns/net > {}",
            out.display()
        ))],
        STATE,
        Some(&target),
    );
    holder.kill().unwrap();
    holder.wait().unwrap();
    r.unwrap();
    let got = std::fs::read_to_string(&out).unwrap();
    assert_ne!(want, mine);
    assert_eq!(got.trim(), want.to_str().unwrap());
}
