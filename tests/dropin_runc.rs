//! Issue #3: Debian's runc 1.1.5 rebuilt with libnsexec.a (runc-1-1 profile)
//! in place of its nsexec C code (tests/dropin/build-runc.sh), compared with
//! the stock /usr/sbin/runc on the same busybox bundles. Every scenario runs
//! both binaries, each with its own --root, and compares what the container
//! printed and how it exited.

mod common;

use common::{have, lib_dir, owner_uid, root, scratch, skip_unless, Profile};
use serde_json::{json, Value};
use std::fs;
use std::os::unix::fs::{symlink, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::time::SystemTime;

const STOCK: &str = "/usr/sbin/runc";
const GOCODE_RUNC: &str = "/usr/share/gocode/src/github.com/opencontainers/runc";

/// The rebuilt runc, built once per test binary (and only when the archive
/// or the build script is newer than it). `NSEXEC_DROPIN_RUNC=<binary>` uses
/// a prebuilt one instead (e.g. runc built on runc's own C, to check this
/// harness).
fn rebuilt_runc() -> &'static Path {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        if let Some(bin) = std::env::var_os("NSEXEC_DROPIN_RUNC") {
            return PathBuf::from(bin);
        }
        let libdir = lib_dir(Profile::Runc11);
        let script = root().join("tests/dropin/build-runc.sh");
        let out = root().join("target/dropin/runc-nsexec");
        let mtime = |p: &Path| fs::metadata(p).and_then(|m| m.modified()).ok();
        let built = mtime(&out).unwrap_or(SystemTime::UNIX_EPOCH);
        let newest_input = [libdir.join("libnsexec.a"), script.clone()]
            .iter()
            .filter_map(|p| mtime(p))
            .max()
            .unwrap();
        if built <= newest_input {
            fs::create_dir_all(out.parent().unwrap()).unwrap();
            let o = Command::new(&script)
                .arg(&libdir)
                .arg(&out)
                .env("GOCACHE", root().join("target/go-cache"))
                .output()
                .expect("build-runc.sh");
            assert!(
                o.status.success(),
                "build-runc.sh failed:\n{}{}",
                String::from_utf8_lossy(&o.stdout),
                String::from_utf8_lossy(&o.stderr)
            );
        }
        // The stage really is Rust's: symbols of crate `nsexec` (mangled
        // `_ZN6nsexec...` or `_R...6nsexec...`), which runc's C has none of.
        let bytes = fs::read(&out).unwrap();
        assert!(
            bytes.windows(7).any(|w| w == b"6nsexec"),
            "{} does not contain libnsexec",
            out.display()
        );
        out
    })
}

fn prerequisites() -> bool {
    !(skip_unless(have("go"), "go not installed")
        || skip_unless(
            Path::new(STOCK).exists(),
            "no /usr/sbin/runc to compare with",
        )
        || skip_unless(
            Path::new(GOCODE_RUNC).is_dir(),
            "runc 1.1.5 Go source not installed",
        )
        || skip_unless(
            Path::new("/bin/busybox").exists(),
            "busybox-static not installed",
        )
        || skip_unless(nix::unistd::geteuid().is_root(), "needs root"))
}

/// What a runc command left behind.
#[derive(Debug, PartialEq)]
struct Outcome {
    code: Option<i32>,
    stdout: String,
}

/// One runc binary with its own --root; deletes its containers on drop.
struct Runc {
    bin: PathBuf,
    state: PathBuf,
    tag: &'static str,
    ids: Vec<String>,
}

impl Runc {
    fn new(bin: &Path, dir: &Path, tag: &'static str) -> Runc {
        Runc {
            bin: bin.to_path_buf(),
            state: dir.join(format!("root-{tag}")),
            tag,
            ids: Vec::new(),
        }
    }

    fn id(&mut self, scenario: &str) -> String {
        let id = format!("go-dropin-{scenario}-{}-{}", self.tag, std::process::id());
        self.ids.push(id.clone());
        id
    }

    /// `timeout` so that a hung stage fails the test instead of hanging it.
    fn cmd(&self, global: &[&str]) -> Command {
        let mut c = Command::new("timeout");
        c.args(["-k", "5", "60"])
            .arg(&self.bin)
            .arg("--root")
            .arg(&self.state)
            .args(global);
        c
    }

    fn outcome(&self, c: &mut Command) -> Outcome {
        let o = c.stdin(Stdio::null()).output().expect("spawning runc");
        if !o.stderr.is_empty() {
            eprintln!(
                "[{}] stderr: {}",
                self.tag,
                String::from_utf8_lossy(&o.stderr)
            );
        }
        Outcome {
            code: o.status.code(),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        }
    }

    fn run(&mut self, bundle: &Path, scenario: &str, global: &[&str]) -> Outcome {
        let id = self.id(scenario);
        let mut c = self.cmd(global);
        c.args(["run", "--bundle"]).arg(bundle).arg(id);
        self.outcome(&mut c)
    }
}

impl Drop for Runc {
    fn drop(&mut self) {
        for id in &self.ids {
            let _ = Command::new(&self.bin)
                .arg("--root")
                .arg(&self.state)
                .args(["delete", "-f", id])
                .stderr(Stdio::null())
                .status();
        }
        let _ = fs::remove_dir_all(&self.state);
    }
}

/// A busybox rootfs, shared read-only by every bundle of a test.
fn make_rootfs(dir: &Path) -> PathBuf {
    let rootfs = dir.join("rootfs");
    for d in ["bin", "proc", "sys", "dev", "tmp", "data"] {
        fs::create_dir_all(rootfs.join(d)).unwrap();
    }
    fs::copy("/bin/busybox", rootfs.join("bin/busybox")).unwrap();
    let list = Command::new("/bin/busybox").arg("--list").output().unwrap();
    for applet in String::from_utf8_lossy(&list.stdout).split_whitespace() {
        if applet != "busybox" {
            symlink("busybox", rootfs.join("bin").join(applet)).unwrap();
        }
    }
    rootfs
}

/// `runc spec` in `dir/name`, pointed at `rootfs`, running `args`, then
/// `tweak`ed.
fn make_bundle(
    dir: &Path,
    name: &str,
    rootfs: &Path,
    args: &[&str],
    tweak: impl FnOnce(&mut Value),
) -> PathBuf {
    let b = dir.join(name);
    fs::create_dir_all(&b).unwrap();
    let st = Command::new(STOCK)
        .arg("spec")
        .arg("--bundle")
        .arg(&b)
        .status()
        .unwrap();
    assert!(st.success(), "runc spec");
    let path = b.join("config.json");
    let mut c: Value = serde_json::from_str(&fs::read_to_string(&path).unwrap()).unwrap();
    c["root"]["path"] = json!(rootfs);
    c["process"]["terminal"] = json!(false);
    c["process"]["args"] = json!(args);
    tweak(&mut c);
    fs::write(&path, serde_json::to_string_pretty(&c).unwrap()).unwrap();
    b
}

fn add_namespace(c: &mut Value, ns: &str) {
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .push(json!({ "type": ns }));
}

fn user_namespace(c: &mut Value) {
    add_namespace(c, "user");
    let map = json!([{ "containerID": 0, "hostID": 100000, "size": 65536 }]);
    c["linux"]["uidMappings"] = map.clone();
    c["linux"]["gidMappings"] = map;
}

/// Stock and rebuilt runc for one test, in `scratch(name)`.
fn pair(dir: &Path) -> (Runc, Runc) {
    (
        Runc::new(Path::new(STOCK), dir, "stock"),
        Runc::new(rebuilt_runc(), dir, "nsexec"),
    )
}

fn assert_dev_null_root_owned() {
    assert_eq!(
        owner_uid(Path::new("/dev/null")),
        0,
        "host /dev/null is no longer root's"
    );
}

/// A scratch dir holding a busybox bundle running `args`; (dir, bundle).
fn fixture(name: &str, args: &[&str], tweak: impl FnOnce(&mut Value)) -> (PathBuf, PathBuf) {
    let dir = scratch(&format!("go-dropin-{name}"));
    let rootfs = make_rootfs(&dir);
    let bundle = make_bundle(&dir, "bundle", &rootfs, args, tweak);
    (dir, bundle)
}

/// Run one bundle with both binaries and require the same outcome.
fn compare_run(name: &str, args: &[&str], tweak: impl FnOnce(&mut Value)) -> Outcome {
    let (dir, bundle) = fixture(name, args, tweak);
    let (mut stock, mut ours) = pair(&dir);
    let want = stock.run(&bundle, name, &[]);
    let got = ours.run(&bundle, name, &[]);
    drop((stock, ours));
    assert_dev_null_root_owned();
    assert_eq!(got, want, "rebuilt runc differs from stock runc");
    got
}

#[test]
fn run_matches_stock() {
    if !prerequisites() {
        return;
    }
    let o = compare_run(
        "run",
        &["sh", "-c", "echo hello from $(hostname); exit 3"],
        |_| {},
    );
    assert_eq!(
        o,
        Outcome {
            code: Some(3),
            stdout: "hello from runc\n".into()
        }
    );
}

#[test]
fn user_namespace_matches_stock() {
    if !prerequisites() {
        return;
    }
    let args = [
        "sh",
        "-c",
        "id -u; cat /proc/self/uid_map /proc/self/gid_map",
    ];
    let o = compare_run("userns", &args, user_namespace);
    assert_eq!(o.code, Some(0));
    let lines: Vec<String> = o
        .stdout
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    assert_eq!(lines, ["0", "0 100000 65536", "0 100000 65536"], "{o:?}");
}

/// runc 1.1 sends bind-mount sources as fds (attr 27290,
/// _LIBCONTAINER_MOUNT_FDS) when there is a user and a mount namespace. The
/// source's parent is 0700 host-root, which the container's root (host uid
/// 100000) cannot search: the mount only works through those fds.
#[test]
fn bind_mount_in_user_namespace_matches_stock() {
    if !prerequisites() {
        return;
    }
    let dir = scratch("go-dropin-mountsrc-data");
    let data = dir.join("private/data");
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("f"), "bound-ok\n").unwrap();
    fs::set_permissions(dir.join("private"), fs::Permissions::from_mode(0o700)).unwrap();
    let o = compare_run("mountsrc", &["cat", "/data/f"], |c| {
        user_namespace(c);
        c["mounts"].as_array_mut().unwrap().push(json!({
            "destination": "/data", "type": "bind", "source": data, "options": ["rbind", "ro"]
        }));
    });
    assert_eq!(
        o,
        Outcome {
            code: Some(0),
            stdout: "bound-ok\n".into()
        }
    );
}

#[test]
fn cgroup_namespace_matches_stock() {
    if !prerequisites() {
        return;
    }
    let o = compare_run("cgroupns", &["cat", "/proc/self/cgroup"], |c| {
        add_namespace(c, "cgroup")
    });
    assert_eq!(o.code, Some(0));
    assert!(o.stdout.lines().any(|l| l.starts_with("0::")), "{o:?}");
    for l in o.stdout.lines() {
        assert!(
            l.ends_with(":/"),
            "cgroup not rooted at the namespace: {l:?} in {o:?}"
        );
    }
}

#[test]
fn exec_into_detached_matches_stock() {
    if !prerequisites() {
        return;
    }
    let (dir, bundle) = fixture("exec", &["sleep", "300"], |_| {});
    let (mut stock, mut ours) = pair(&dir);
    let mut outcomes = Vec::new();
    for r in [&mut stock, &mut ours] {
        let id = r.id("exec");
        // Detached: the container keeps runc's stdio, so give it none.
        let st = r
            .cmd(&[])
            .args(["run", "-d", "--bundle"])
            .arg(&bundle)
            .arg(&id)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .status()
            .unwrap();
        assert!(st.success(), "[{}] run -d failed", r.tag);
        let mut c = r.cmd(&[]);
        c.args([
            "exec",
            &id,
            "sh",
            "-c",
            "echo exec-ok; cat /proc/1/cmdline | tr '\\0' ' '; exit 5",
        ]);
        outcomes.push(r.outcome(&mut c));
    }
    drop((stock, ours));
    assert_dev_null_root_owned();
    assert_eq!(
        outcomes[1], outcomes[0],
        "rebuilt runc differs from stock runc"
    );
    assert_eq!(
        outcomes[1],
        Outcome {
            code: Some(5),
            stdout: "exec-ok\nsleep 300 ".into()
        }
    );
}

/// runc forwards the stage's log pipe into its own log with --debug.
#[test]
fn debug_log_has_nsexec_lines() {
    if !prerequisites() {
        return;
    }
    let (dir, bundle) = fixture("debug", &["true"], |_| {});
    let (mut stock, mut ours) = pair(&dir);
    let mut logs = Vec::new();
    for r in [&mut stock, &mut ours] {
        let log = dir.join(format!("{}.log", r.tag));
        let o = r.run(
            &bundle,
            "debug",
            &["--debug", "--log", log.to_str().unwrap()],
        );
        assert_eq!(o.code, Some(0), "[{}] {o:?}", r.tag);
        logs.push(nsexec_messages(&fs::read_to_string(&log).unwrap()));
    }
    drop((stock, ours));
    assert_dev_null_root_owned();
    eprintln!(
        "stock nsexec lines: {:#?}\nrebuilt nsexec lines: {:#?}",
        logs[0], logs[1]
    );
    let ours = &logs[1];
    assert!(
        ours.iter()
            .any(|m| m == "nsexec: => nsexec container setup"),
        "{ours:#?}"
    );
    for stage in ["nsexec-0:", "nsexec-1:", "nsexec-2:"] {
        assert!(
            ours.iter().any(|m| m.starts_with(stage)),
            "no {stage} line: {ours:#?}"
        );
    }
    // Every line runc's C logs, ours logs too (the stages interleave freely,
    // and ours may say more, e.g. about the sealed re-exec).
    let mut unmatched = ours.clone();
    for m in &logs[0] {
        let Some(i) = unmatched.iter().position(|o| o == m) else {
            panic!("stock line {m:?} missing from the rebuilt runc's log: {ours:#?}");
        };
        unmatched.remove(i);
    }
}

/// `msg="nsexec-N[pid]: text"` lines of a runc log, as "nsexec-N: text"
/// with numbers (pids) replaced by `N`.
fn nsexec_messages(log: &str) -> Vec<String> {
    log.lines()
        .filter_map(|l| l.split_once("msg=\"")?.1.split_once('"').map(|(m, _)| m))
        .filter(|m| m.starts_with("nsexec"))
        .filter_map(|m| {
            let (tag, rest) = m.split_once('[')?;
            let (pid, text) = rest.split_once("]: ")?;
            pid.parse::<u32>().ok()?;
            Some(format!("{tag}: {}", digits_to_n(text)))
        })
        .collect()
}

fn digits_to_n(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if !c.is_ascii_digit() {
            out.push(c);
        } else if !out.ends_with('N') {
            out.push('N');
        }
    }
    out
}
