//! Helpers shared by tests/clients_podman.rs, tests/clients_containerd.rs and
//! tests/clients_docker.rs:
//! the two runtimes under comparison, a busybox-static rootfs, commands with a
//! timeout (optionally under a pty), and the cleanup of what the clients leave
//! on the host (cgroups, mounts, directories they hard-code).
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use crate::common;

/// The project's mountinfo and /proc/<pid>/cgroup parsers.
#[path = "../../src/rootfs/mountinfo.rs"]
mod mountinfo;

/// A runtime the clients are pointed at.
#[derive(Clone, Debug)]
pub struct Runtime {
    /// "nsrun" or "runc": used in names, so each runtime gets its own ids.
    pub name: &'static str,
    pub path: PathBuf,
}

impl Runtime {
    /// Where the runtime keeps container state when no `--root` is given.
    pub fn default_root(&self) -> &'static str {
        if self.name == "nsrun" {
            "/run/nsrun"
        } else {
            "/run/runc"
        }
    }
}

/// nsrun, then runc as the reference when it is installed.
pub fn runtimes() -> Vec<Runtime> {
    let mut v = vec![Runtime {
        name: "nsrun",
        path: common::nsrun_bin(),
    }];
    let runc = PathBuf::from("/usr/sbin/runc");
    if !common::skip_unless(
        runc.exists(),
        "/usr/sbin/runc not installed: no reference run",
    ) {
        v.push(Runtime {
            name: "runc",
            path: runc,
        });
    }
    v
}

/// Whether the machine can run client tests at all: root and every program.
pub fn can_run(progs: &[&str]) -> bool {
    // SAFETY: geteuid has no side effects.
    if common::skip_unless(unsafe { libc::geteuid() } == 0, "client tests need root") {
        return false;
    }
    progs
        .iter()
        .all(|p| !common::skip_unless(common::have(p), &format!("{p} not installed")))
}

/// What a client command did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Out {
    /// Panic with the whole output unless the command succeeded.
    pub fn ok(self) -> Out {
        assert_eq!(self.code, 0, "command failed: {self:?}");
        self
    }
}

/// Longest any single client command may take before it is killed.
const TIMEOUT_SECS: &str = "60";

/// Run `prog args` with stdin `input` (or /dev/null), under `timeout` so a hung
/// client fails the test instead of hanging it.
pub fn run(prog: &str, args: &[String], envs: &[(&str, &Path)], input: Option<&str>) -> Out {
    let mut c = Command::new("timeout");
    c.args(["-k", "5", TIMEOUT_SECS, prog]).args(args);
    for (k, v) in envs {
        c.env(k, v);
    }
    c.stdin(if input.is_some() {
        Stdio::piped()
    } else {
        Stdio::null()
    })
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    let mut child = c.spawn().unwrap_or_else(|e| panic!("spawn {prog}: {e}"));
    if let Some(s) = input {
        use std::io::Write;
        let mut stdin = child.stdin.take().unwrap();
        stdin.write_all(s.as_bytes()).unwrap();
    }
    let o = child.wait_with_output().unwrap();
    Out {
        code: o.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
    }
}

/// Run `prog args` on the slave side of a fresh pty (util-linux `script`), the
/// way a user's terminal would; returns the pty's output with CR and NUL removed
/// (and the "^@" the line discipline echoes for a NUL some clients write),
/// and the command's exit code.
pub fn run_tty(prog: &str, args: &[String], envs: &[(&str, &Path)]) -> Out {
    let line = std::iter::once(prog.to_string())
        .chain(args.iter().cloned())
        .map(|a| shell_quote(&a))
        .collect::<Vec<_>>()
        .join(" ");
    let o = run(
        "script",
        &["-qec".into(), line, "/dev/null".into()],
        envs,
        None,
    );
    Out {
        stdout: o.stdout.replace(['\r', '\0'], "").replace("^@", ""),
        ..o
    }
}

/// Quote one word for `sh`.
pub fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// Strings from `&str`s, for argument lists.
pub fn args(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

/// How a busybox rootfs names its applets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Applets {
    /// `bin/sh -> busybox` and so on.
    Symlinks,
    /// Hard links to bin/busybox: a tarball then holds one copy and no
    /// links for a client to resolve (what `docker import` of a
    /// busybox-static tree gets).
    Hardlinks,
}

/// A busybox-static rootfs at `dir`: /bin/busybox with its applets as
/// symlinks, root in /etc/passwd and /etc/group, empty mount points.
pub fn busybox_rootfs(dir: &Path) {
    busybox_rootfs_with(dir, Applets::Symlinks)
}

/// [`busybox_rootfs`], with the applets linked as `applets` says.
pub fn busybox_rootfs_with(dir: &Path, applets: Applets) {
    for d in ["bin", "etc", "proc", "sys", "dev", "tmp", "root"] {
        std::fs::create_dir_all(dir.join(d)).unwrap();
    }
    std::fs::copy("/bin/busybox", dir.join("bin/busybox")).expect("copy /bin/busybox");
    // The applet links, made here rather than by `busybox --install -s` in a
    // chroot (which failed now and then under parallel tests, silently).
    let out = Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .expect("busybox --list");
    assert!(out.status.success(), "busybox --list failed");
    for applet in String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|a| !a.is_empty() && *a != "busybox")
    {
        let link = dir.join("bin").join(applet);
        let made = match applets {
            Applets::Symlinks => std::os::unix::fs::symlink("busybox", &link),
            Applets::Hardlinks => std::fs::hard_link(dir.join("bin/busybox"), &link),
        };
        if let Err(e) = made {
            assert_eq!(
                e.kind(),
                std::io::ErrorKind::AlreadyExists,
                "link {}: {e}",
                link.display()
            );
        }
    }
    std::fs::write(dir.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    std::fs::write(dir.join("etc/group"), "root:x:0:\n").unwrap();
}

/// `tar -C dir -cf out .` with numeric owners (a layer or an import tarball).
pub fn tar_dir(dir: &Path, out: &Path) {
    let st = Command::new("tar")
        .arg("-C")
        .arg(dir)
        .args(["--numeric-owner", "-cf"])
        .arg(out)
        .arg(".")
        .status()
        .unwrap();
    assert!(st.success(), "tar {}", dir.display());
}

/// The cgroup hierarchies really mounted under /sys/fs/cgroup (v1
/// controllers, name=systemd, the unified one), from mountinfo. A plain
/// directory there is not one: some hosts (the CI machine among them) keep
/// empty mount points for controllers they do not mount, and a client such as
/// podman then writes its "cgroup" files into the tmpfs.
pub fn cgroup_mounts() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default();
    let mut v: Vec<PathBuf> = text
        .lines()
        .filter_map(|l| {
            let (pre, post) = l.split_once(" - ")?;
            let fstype = post.split(' ').next()?;
            let mnt = pre.split(' ').nth(4)?;
            (matches!(fstype, "cgroup" | "cgroup2") && mnt.starts_with("/sys/fs/cgroup/"))
                .then(|| PathBuf::from(mnt))
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

/// Every cgroup directory named `rel` (e.g. "/nsrun-podman-1-x") under each
/// mounted hierarchy.
pub fn cgroup_dirs(rel: &str) -> Vec<PathBuf> {
    let rel = rel.trim_start_matches('/');
    cgroup_mounts()
        .into_iter()
        .map(|m| m.join(rel))
        .filter(|p| p.is_dir())
        .collect()
}

/// Directories named `rel` that a client made under /sys/fs/cgroup outside
/// any cgroup mount (see `cgroup_mounts`): plain tmpfs files, not cgroups.
fn stray_cgroup_dirs(rel: &str) -> Vec<PathBuf> {
    let rel = rel.trim_start_matches('/');
    let mounts = cgroup_mounts();
    let Ok(rd) = std::fs::read_dir("/sys/fs/cgroup") else {
        return vec![];
    };
    rd.flatten()
        .map(|e| e.path())
        .filter(|p| !mounts.contains(p) && !p.is_symlink())
        .map(|p| p.join(rel))
        .filter(|p| p.is_dir())
        .collect()
}

/// SIGKILL whatever is left in the cgroup trees named `rel` (they are unique to
/// one test, so everything in them is ours), then remove them leaf first.
pub fn remove_cgroups(rel: &str) {
    for stray in stray_cgroup_dirs(rel) {
        let _ = std::fs::remove_dir_all(stray);
    }
    for top in cgroup_dirs(rel) {
        let mut dirs = vec![];
        collect_dirs(&top, &mut dirs);
        // Children before parents: rmdir needs an empty directory.
        dirs.reverse();
        for d in dirs {
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                for pid in std::fs::read_to_string(d.join("cgroup.procs"))
                    .unwrap_or_default()
                    .lines()
                {
                    if let Ok(pid) = pid.trim().parse::<i32>() {
                        // SAFETY: plain kill(2) of a pid read from our own cgroup.
                        unsafe { libc::kill(pid, libc::SIGKILL) };
                    }
                }
                // A frozen cgroup keeps its killed tasks alive: thaw it (v1
                // freezer). Never create the file: that would make rmdir fail.
                if let Ok(mut f) = std::fs::OpenOptions::new()
                    .write(true)
                    .open(d.join("freezer.state"))
                {
                    let _ = std::io::Write::write_all(&mut f, b"THAWED");
                }
                if std::fs::remove_dir(&d).is_ok() || !d.exists() || Instant::now() > deadline {
                    break;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
}

fn collect_dirs(d: &Path, out: &mut Vec<PathBuf>) {
    out.push(d.to_path_buf());
    if let Ok(rd) = std::fs::read_dir(d) {
        for e in rd.flatten() {
            if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                collect_dirs(&e.path(), out);
            }
        }
    }
}

/// Mount points at or under `dir`, deepest last.
pub fn mounts_under(dir: &Path) -> Vec<PathBuf> {
    mountinfo::read_self()
        .into_iter()
        .map(|m| PathBuf::from(m.mountpoint))
        .filter(|m| m.starts_with(dir))
        .collect()
}

/// Host path of process `pid`'s cgroup in v1 `controller`, from
/// /proc/<pid>/cgroup (where the process really is, not what a client says).
pub fn host_cgroup(pid: &str, controller: &str) -> (String, PathBuf) {
    let text = std::fs::read_to_string(format!("/proc/{pid}/cgroup")).unwrap();
    let rel = mountinfo::parse_cgroup_file(&text)
        .into_iter()
        .find_map(|(ctrls, path)| ctrls.iter().any(|c| c == controller).then_some(path))
        .unwrap_or_else(|| panic!("no {controller} line in {text}"));
    let host = Path::new("/sys/fs/cgroup")
        .join(controller)
        .join(rel.trim_start_matches('/'));
    (rel, host)
}

/// A scenario's record: (step, outcome) pairs.
pub type Transcript = Vec<(&'static str, String)>;

/// nsrun's transcript (first) must equal every reference runtime's, step by step.
pub fn assert_same_transcripts(client: &str, runs: &[(&str, Transcript)]) {
    let (ours_name, ours) = &runs[0];
    for (name, theirs) in &runs[1..] {
        for (a, b) in ours.iter().zip(theirs) {
            assert_eq!(
                a, b,
                "{client} step {:?}: {ours_name} and {name} differ",
                a.0
            );
        }
        assert_eq!(
            ours.len(),
            theirs.len(),
            "{client}: transcripts of different length"
        );
    }
}

/// Lazily unmount everything under `dir` (deepest first), then remove it.
pub fn remove_tree(dir: &Path) {
    for m in mounts_under(dir).into_iter().rev() {
        let c = std::ffi::CString::new(m.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: umount2 on a path string we own; MNT_DETACH so busy mounts go too.
        unsafe { libc::umount2(c.as_ptr(), libc::MNT_DETACH) };
    }
    let _ = std::fs::remove_dir_all(dir);
}

/// What is left after a test: cgroup dirs named `cg`, mounts under `dir`, and
/// a host /dev/null no longer root's. Empty means clean.
pub fn leftovers(cg: &str, dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = cgroup_dirs(cg)
        .iter()
        .map(|p| format!("cgroup {}", p.display()))
        .collect();
    v.extend(
        mounts_under(dir)
            .iter()
            .map(|m| format!("mount {}", m.display())),
    );
    if dir.exists() {
        v.push(format!("dir {}", dir.display()));
    }
    if common::owner_uid(Path::new("/dev/null")) != 0 {
        v.push("host /dev/null is no longer owned by root".into());
    }
    v
}

/// Host directories (and files) a client creates at a hard-coded place
/// whatever its configuration says (podman's blob-info cache, containerd's
/// shim socket dir, dockerd's key.json). The first test in a binary records
/// which are absent; the last one out removes those (a directory only if
/// empty, except `recursive` ones, which only the client fills), so the host
/// ends as it started.
pub struct HostDirs {
    paths: &'static [(&'static str, bool)],
    state: Mutex<(usize, Vec<(&'static str, bool)>)>,
}

impl HostDirs {
    pub const fn new(paths: &'static [(&'static str, bool)]) -> HostDirs {
        HostDirs {
            paths,
            state: Mutex::new((0, Vec::new())),
        }
    }

    pub fn enter(&'static self) -> HostDirsGuard {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if st.0 == 0 {
            st.1 = self
                .paths
                .iter()
                .copied()
                .filter(|(p, _)| !Path::new(p).exists())
                .collect();
        }
        st.0 += 1;
        HostDirsGuard(self)
    }
}

pub struct HostDirsGuard(&'static HostDirs);

impl Drop for HostDirsGuard {
    fn drop(&mut self) {
        let mut st = self.0.state.lock().unwrap_or_else(|e| e.into_inner());
        st.0 -= 1;
        if st.0 > 0 {
            return;
        }
        // Deepest first: the list is given parents before children. A
        // client's asynchronous cleanup (conmon's exit command, a shim
        // removing its socket) may still be finishing: retry a little.
        let deadline = Instant::now() + Duration::from_secs(3);
        loop {
            for (p, recursive) in st.1.iter().rev() {
                let is_dir = std::fs::symlink_metadata(p).is_ok_and(|m| m.is_dir());
                let _ = if !is_dir {
                    std::fs::remove_file(p)
                } else if *recursive {
                    std::fs::remove_dir_all(p)
                } else {
                    std::fs::remove_dir(p)
                };
            }
            if st.1.iter().all(|(p, _)| !Path::new(p).exists()) || Instant::now() > deadline {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

/// An empty directory /tmp/<name> (short paths: podman limits its runroot
/// to 50 bytes, and unix socket paths to 108).
pub fn tmp_scratch(name: &str) -> PathBuf {
    let d = Path::new("/tmp").join(name);
    remove_tree(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// A unique, short name for this test process and tag.
pub fn unique(prefix: &str, tag: &str) -> String {
    format!("{prefix}-{}-{tag}", std::process::id())
}

/// Pids of processes whose command line mentions `dir` (a client's helpers:
/// conmon, podman's cleanup process, containerd shims all name our dirs).
pub fn processes_mentioning(dir: &Path) -> Vec<i32> {
    let needle = dir.as_os_str().as_encoded_bytes();
    let me = std::process::id() as i32;
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|&pid| pid != me)
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            cmd.windows(needle.len()).any(|w| w == needle)
        })
        .collect()
}

/// Give the client's own helpers `grace` to finish, then SIGKILL the rest.
pub fn stop_processes_mentioning(dir: &Path, grace: Duration) {
    let deadline = Instant::now() + grace;
    while !processes_mentioning(dir).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    for pid in processes_mentioning(dir) {
        // SAFETY: kill(2) of a process working in this test's private dir.
        unsafe { libc::kill(pid, libc::SIGKILL) };
    }
}

/// Poll `f` every 50 ms until it returns Some or `secs` have passed.
pub fn wait_for<T>(secs: u64, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
