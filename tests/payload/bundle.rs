//! Bundles for the runtime tests: one shared busybox + payload rootfs (built
//! once, never written by containers: the tests' roots are read-only), and a
//! fresh bundle dir per test holding a config.json derived from runc's
//! template. Runs nsrun and runc on the same bundle.
#![allow(dead_code)]

use super::common;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::Mutex;

static BUILD: Mutex<()> = Mutex::new(());

/// The shared rootfs: /bin/busybox + applet links, /payload.
pub fn rootfs() -> PathBuf {
    let _g = BUILD.lock().unwrap_or_else(|e| e.into_inner());
    let base = common::root().join("target/tests/rt-rootfs");
    let done = base.join(".done");
    // Rebuilt when the payload's source changed (a stamp of its text).
    let src = std::fs::read(common::root().join("tests/payload/payload.c")).unwrap();
    let stamp = format!(
        "{:x}",
        src.iter()
            .fold(0xcbf29ce484222325u64, |h, b| (h ^ *b as u64)
                .wrapping_mul(0x100000001b3))
    );
    if std::fs::read_to_string(&done).is_ok_and(|s| s == stamp) {
        return base.join("rootfs");
    }
    let _ = std::fs::remove_dir_all(&base);
    let r = base.join("rootfs");
    std::fs::create_dir_all(r.join("bin")).unwrap();
    for d in ["proc", "dev", "sys", "etc", "tmp"] {
        std::fs::create_dir_all(r.join(d)).unwrap();
    }
    std::fs::write(
        r.join("etc/passwd"),
        "root:x:0:0:root:/root:/bin/sh\nu1000:x:1000:1000::/home/u1000:/bin/sh\n",
    )
    .unwrap();
    std::fs::copy("/bin/busybox", r.join("bin/busybox")).unwrap();
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for a in String::from_utf8_lossy(&list.stdout).lines() {
        if a != "busybox" && !a.is_empty() {
            let _ = std::os::unix::fs::symlink("busybox", r.join("bin").join(a));
        }
    }
    let st = Command::new("gcc")
        .args(["-static", "-O2", "-Wall", "-o"])
        .arg(r.join("payload"))
        .arg(common::root().join("tests/payload/payload.c"))
        .status()
        .expect("gcc");
    assert!(st.success(), "building the payload failed");
    std::fs::write(&done, stamp).unwrap();
    r
}

/// runc's default config (the template nsrun's `spec` writes), made
/// non-interactive and pointed at the shared rootfs.
pub fn base_config(args: &[&str]) -> Value {
    let mut c: Value = serde_json::from_str(include_str!("../../src/spec/template.json")).unwrap();
    c["root"]["path"] = json!(rootfs());
    c["process"]["terminal"] = json!(false);
    c["process"]["args"] = json!(args);
    c
}

pub struct Bundle {
    pub dir: PathBuf,
}

impl Bundle {
    /// A bundle dir `target/tests/<name>` holding `config`. A container of
    /// the same id left by an earlier, interrupted run is removed first.
    pub fn new(name: &str, config: &Value) -> Bundle {
        let _ = nsrun(&["delete", "-f", name]);
        if common::have("runc") {
            let _ = runc(&["delete", "-f", name]);
        }
        let dir = common::scratch(name);
        std::fs::write(
            dir.join("config.json"),
            serde_json::to_vec_pretty(config).unwrap(),
        )
        .unwrap();
        Bundle { dir }
    }
}

pub fn nsrun_root() -> PathBuf {
    common::root().join("target/tests/rt-nsrun-root")
}

pub fn runc_root() -> PathBuf {
    common::root().join("target/tests/rt-runc-root")
}

/// `nsrun --root <ours> args...`, stdin closed.
pub fn nsrun(args: &[&str]) -> Output {
    Command::new(common::nsrun_bin())
        .arg("--root")
        .arg(nsrun_root())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

pub fn runc(args: &[&str]) -> Output {
    Command::new("runc")
        .arg("--root")
        .arg(runc_root())
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Run `prog --root R args` with stdout/stderr in files (a detached container
/// keeps them open, so pipes would never reach EOF). Returns (code, out, err).
pub fn detached(runc: bool, dir: &Path, args: &[&str]) -> (i32, String, String) {
    let (o, e) = (dir.join(".out"), dir.join(".err"));
    let (bin, root) = if runc {
        ("runc".into(), runc_root())
    } else {
        (common::nsrun_bin(), nsrun_root())
    };
    let st = Command::new(bin)
        .arg("--root")
        .arg(root)
        .args(args)
        .stdin(Stdio::null())
        .stdout(std::fs::File::create(&o).unwrap())
        .stderr(std::fs::File::create(&e).unwrap())
        .status()
        .unwrap();
    (
        st.code().unwrap_or(-1),
        std::fs::read_to_string(o).unwrap(),
        std::fs::read_to_string(e).unwrap(),
    )
}

pub fn out(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

pub fn err(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

pub fn code(o: &Output) -> i32 {
    o.status.code().unwrap_or(-1)
}

pub fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// The host /dev/null must stay root's (a runtime bug once chowned it).
pub fn assert_dev_null_intact() {
    assert_eq!(
        common::owner_uid(Path::new("/dev/null")),
        0,
        "host /dev/null changed owner"
    );
}

/// Is a pid alive (and not a zombie)?
pub fn alive(pid: i32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat"))
        .map(|s| {
            let st = s
                .rsplit(')')
                .next()
                .unwrap_or("")
                .trim_start()
                .chars()
                .next();
            !matches!(st, Some('Z') | Some('X'))
        })
        .unwrap_or(false)
}

/// Payload output lines starting with `key=`.
pub fn lines<'a>(s: &'a str, key: &str) -> Vec<&'a str> {
    let k = format!("{key}=");
    s.lines().filter(|l| l.starts_with(&k)).collect()
}
