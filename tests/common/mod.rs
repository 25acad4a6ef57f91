//! Shared helpers for the kernel tests in tests/*.rs.
//!
//! Artifacts are built by `tests/run.sh` before `cargo test` runs; if one is
//! missing (a test run by hand), it is built here, once, under a lock.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

static BUILD_LOCK: Mutex<()> = Mutex::new(());

/// Repository root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Which wire profile a library build speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Profile {
    /// runc >= 1.4 (default features)
    Current,
    /// runc 1.1.x (`--features runc-1-1`)
    Runc11,
}

impl Profile {
    pub fn name(self) -> &'static str {
        match self {
            Profile::Current => "current",
            Profile::Runc11 => "runc-1-1",
        }
    }
}

/// The release directory cargo builds into: target/<host triple>/release
/// (.cargo/config.toml names the target so the static flags stay off
/// build scripts), found from this test binary's own path (…/release/deps/).
fn release_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("current_exe");
    exe.parent()
        .and_then(|d| d.parent())
        .expect("release dir")
        .to_path_buf()
}

/// The same release directory under another --target-dir.
fn release_dir_in(target_dir: &Path) -> PathBuf {
    let rel = release_dir();
    let parent = rel.parent().expect("target dir");
    match parent.file_name() {
        // No target named (a plain target/release layout).
        _ if parent == root().join("target") => target_dir.join("release"),
        Some(triple) => target_dir.join(triple).join("release"),
        None => target_dir.join("release"),
    }
}

/// Directory holding `libnsexec.a` for a profile, building it if needed.
/// Current: target/<triple>/release. 1.1: target/runc-1-1/<triple>/release.
pub fn lib_dir(p: Profile) -> PathBuf {
    let _g = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let dir = match p {
        Profile::Current => release_dir(),
        Profile::Runc11 => release_dir_in(&root().join("target/runc-1-1")),
    };
    if !dir.join("libnsexec.a").exists() {
        let mut c = Command::new(env!("CARGO"));
        c.current_dir(root()).args(["build", "--release", "--lib"]);
        if p == Profile::Runc11 {
            c.args([
                "--no-default-features",
                "--features",
                "runc-1-1",
                "--target-dir",
            ])
            .arg(root().join("target/runc-1-1"));
        }
        let st = c.status().expect("cargo build");
        assert!(st.success(), "building libnsexec.a ({}) failed", p.name());
    }
    dir
}

/// The shipped nsrun binary (`cargo build --release`: target/<triple>/release/nsrun),
/// building it if needed.
pub fn nsrun_bin() -> PathBuf {
    let _g = BUILD_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let bin = release_dir().join("nsrun");
    if !bin.exists() {
        let st = Command::new(env!("CARGO"))
            .current_dir(root())
            .args(["build", "--release", "--bin", "nsrun"])
            .status()
            .expect("cargo build");
        assert!(st.success(), "building nsrun failed");
    }
    bin
}

/// A scratch directory under target/tests/<name>, emptied first.
pub fn scratch(name: &str) -> PathBuf {
    let d = root().join("target/tests").join(name);
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Print a skip line the CI log shows, and return true, when `cond` is false.
///
/// This is the skip for a missing prerequisite (a tool, a package, root):
/// with `NSRUN_TEST_STRICT=1` (CI sets it) it fails the test instead, since
/// `.ci/run` installs everything and a green skip would hide a missing step.
pub fn skip_unless(cond: bool, why: &str) -> bool {
    if !cond {
        assert!(
            !strict(),
            "NSRUN_TEST_STRICT=1 and a prerequisite is missing: {why}"
        );
        eprintln!("SKIP: {why}");
    }
    !cond
}

/// Like [`skip_unless`], for what this machine cannot do (a kernel feature,
/// a capability it does not hold, a cgroup layout): a skip also in strict
/// mode, with its reason printed.
pub fn skip_machine(cond: bool, why: &str) -> bool {
    if !cond {
        eprintln!("SKIP (this machine cannot): {why}");
    }
    !cond
}

/// Whether missing prerequisites fail instead of skipping (`NSRUN_TEST_STRICT=1`).
pub fn strict() -> bool {
    std::env::var_os("NSRUN_TEST_STRICT").is_some_and(|v| v == "1")
}

/// Whether a program is on PATH.
pub fn have(prog: &str) -> bool {
    Command::new("sh")
        .args(["-c", &format!("command -v {prog} >/dev/null")])
        .status()
        .map(|s| s.success())
        .unwrap_or(false)
}

/// Owner uid of a path (used to check the host /dev/null stays root's).
pub fn owner_uid(p: &Path) -> u32 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).map(|m| m.uid()).unwrap_or(u32::MAX)
}

/// The private directory tests/peers/install.sh fills with today's peers
/// from Debian sid (default /opt/nsrun-peers, as in the script).
pub fn peers_dir() -> PathBuf {
    std::env::var_os("NSRUN_PEERS_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/opt/nsrun-peers"))
}

/// One `NAME=value` line of the peers' env file, if installed.
fn peer(name: &str) -> Option<PathBuf> {
    let env = std::fs::read_to_string(peers_dir().join("env")).ok()?;
    let v = env
        .lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix('='))?;
    let p = PathBuf::from(v);
    p.exists().then_some(p)
}

/// runc 1.3.6 (sid's binary, patched to sid's glibc), the reference for the
/// behaviour nsrun follows from runc 1.3+. None until tests/peers/install.sh
/// ran; a test then skips with `skip_unless(runc_1_3_6().is_some(), ..)`.
pub fn runc_1_3_6() -> Option<PathBuf> {
    peer("NSRUN_PEER_RUNC")
}

/// crun 1.28 (sid), a bench peer.
pub fn crun_1_28() -> Option<PathBuf> {
    peer("NSRUN_PEER_CRUN")
}

/// Directory with containerd 2.1's static binaries (containerd, ctr,
/// containerd-shim-runc-v2).
pub fn containerd_2_1_bin() -> Option<PathBuf> {
    peer("NSRUN_PEER_CONTAINERD_BIN")
}

/// runc 1.3.6's unpacked source package (tests/integration/*.bats).
pub fn runc_1_3_6_src() -> Option<PathBuf> {
    peer("NSRUN_PEER_RUNC_SRC")
}

/// Directory with Docker 28's dockerd and docker (sid) and links to
/// containerd 2.1 and its shim: a PATH head for dockerd.
pub fn docker_28_bin() -> Option<PathBuf> {
    peer("NSRUN_PEER_DOCKER_BIN")
}
