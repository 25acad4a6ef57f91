//! Kernel tests for src/rootfs: each case forks a child that unshares a mount
//! namespace (and a pid/uts/user namespace where needed), builds a busybox
//! rootfs, applies a plan made from a hand-written OCI spec, checks the result
//! from inside and reports back through a pipe and its exit code.

#[path = "../src/rootfs/mod.rs"]
mod rootfs;

mod common;

use std::fs;
use std::io::Read;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde_json::{json, Value};

use rootfs::RootfsPlan;

/// One forked kernel case at a time: fork from a multi-threaded harness is only
/// safe while no other test thread is doing anything.
static KERNEL: Mutex<()> = Mutex::new(());

type Check = Result<(), String>;

fn is_root() -> bool {
    // SAFETY: geteuid cannot fail.
    unsafe { libc::geteuid() == 0 }
}

/// Run `f` in a forked child inside new namespaces (`flags` for unshare).
/// With CLONE_NEWPID the check runs in a grandchild, pid 1 of the new pid ns.
fn in_child(flags: libc::c_int, f: impl FnOnce() -> Check) -> Check {
    in_child_out(flags, || f().map(|()| String::new())).map(drop)
}

/// in_child, returning what the child reported on success too.
fn in_child_out(
    flags: libc::c_int,
    f: impl FnOnce() -> Result<String, String>,
) -> Result<String, String> {
    let mut fds = [0; 2];
    // SAFETY: fds is a valid out array.
    assert_eq!(unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_CLOEXEC) }, 0);
    // SAFETY: the pipe fds were just created and are owned here.
    let (rd, wr) = unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) };
    // SAFETY: the child only runs the check and _exits; KERNEL keeps other tests idle.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork failed");
    if pid == 0 {
        drop(rd);
        let report = |r: Result<String, String>| -> ! {
            let (code, msg) = match r {
                Ok(msg) => (0, msg),
                Err(msg) => (1, msg),
            };
            // SAFETY: writing a local buffer to our pipe end.
            unsafe { libc::write(wr.as_raw_fd(), msg.as_ptr().cast(), msg.len()) };
            // SAFETY: _exit skips the harness's atexit work, as a forked child must.
            unsafe { libc::_exit(code) }
        };
        // SAFETY: plain syscall.
        if unsafe { libc::unshare(flags) } != 0 {
            report(Err(format!("unshare: {}", std::io::Error::last_os_error())));
        }
        if flags & libc::CLONE_NEWPID != 0 {
            // SAFETY: as above.
            let inner = unsafe { libc::fork() };
            if inner != 0 {
                let mut st = 0;
                // SAFETY: waiting for our own child.
                unsafe { libc::waitpid(inner, &mut st, 0) };
                // SAFETY: see report.
                unsafe {
                    libc::_exit(if libc::WIFEXITED(st) {
                        libc::WEXITSTATUS(st)
                    } else {
                        99
                    })
                }
            }
        }
        let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .unwrap_or_else(|_| Err("check panicked".into()));
        report(r);
    }
    drop(wr);
    let mut msg = String::new();
    fs::File::from(rd).read_to_string(&mut msg).unwrap();
    let mut st = 0;
    // SAFETY: waiting for our own child.
    unsafe { libc::waitpid(pid, &mut st, 0) };
    if libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0 {
        Ok(msg)
    } else {
        Err(format!("child status {st:#x}: {msg}"))
    }
}

/// Skip unless root; else hold the kernel-test lock for the whole case.
fn kernel_case() -> Option<std::sync::MutexGuard<'static, ()>> {
    if common::skip_unless(is_root(), "needs root") {
        return None;
    }
    Some(KERNEL.lock().unwrap_or_else(|e| e.into_inner()))
}

/// Every case ends here: the host's /dev/null is checked first, whatever the child reported.
fn finish(r: Check) {
    assert_host_dev_null();
    r.unwrap();
}

/// The host's /dev/null must stay root:root 0666 char 1:3 whatever a test did.
fn assert_host_dev_null() {
    let m = fs::metadata("/dev/null").unwrap();
    assert!(m.file_type().is_char_device());
    assert_eq!(
        (m.uid(), m.gid(), m.permissions().mode() & 0o7777),
        (0, 0, 0o666)
    );
    assert_eq!(m.rdev(), libc::makedev(1, 3));
    assert_eq!(common::owner_uid(Path::new("/dev/null")), 0);
}

/// bundle/rootfs with a static busybox and its applet links.
fn busybox_bundle(name: &str) -> PathBuf {
    let bundle = common::scratch(&format!("rootfs-{name}"));
    let root = bundle.join("rootfs");
    for d in ["bin", "proc", "sys", "dev", "etc", "tmp"] {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    fs::copy("/bin/busybox", root.join("bin/busybox")).unwrap();
    let list = std::process::Command::new("/bin/busybox")
        .arg("--list")
        .output()
        .unwrap();
    for applet in String::from_utf8_lossy(&list.stdout)
        .lines()
        .filter(|a| *a != "busybox")
    {
        let _ = std::os::unix::fs::symlink("busybox", root.join("bin").join(applet));
    }
    fs::write(root.join("etc/hostname"), "rootfs-test\n").unwrap();
    bundle
}

fn spec(mounts: Value, linux: Value, readonly: bool) -> oci_spec::runtime::Spec {
    // Every test child runs in a mount namespace of its own (`in_ns`); a
    // plan without one takes runc's chroot path instead of pivot_root.
    let mut linux = linux;
    if linux.is_null() {
        linux = json!({});
    }
    let ns = linux["namespaces"].as_array().cloned().unwrap_or_default();
    if !ns.iter().any(|n| n["type"] == "mount") {
        let mut ns = ns;
        ns.push(json!({"type": "mount"}));
        linux["namespaces"] = json!(ns);
    }
    serde_json::from_value(json!({
        "ociVersion": "1.0.2",
        "root": {"path": "rootfs", "readonly": readonly},
        "process": {"cwd": "/work/dir", "args": ["sh"], "user": {"uid": 0, "gid": 0}},
        "mounts": mounts,
        "linux": linux,
    }))
    .unwrap()
}

fn std_mounts() -> Value {
    json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "strictatime", "mode=755", "size=65536k"]},
        {"destination": "/dev/pts", "type": "devpts", "source": "devpts", "options": ["nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620"]},
        {"destination": "/dev/shm", "type": "tmpfs", "source": "shm", "options": ["nosuid", "noexec", "nodev", "mode=1777", "size=65536k"]},
        {"destination": "/dev/mqueue", "type": "mqueue", "source": "mqueue", "options": ["nosuid", "noexec", "nodev"]},
        {"destination": "/sys", "type": "sysfs", "source": "sysfs", "options": ["nosuid", "noexec", "nodev", "ro"]},
    ])
}

fn ensure(cond: bool, what: impl Into<String>) -> Check {
    if cond {
        Ok(())
    } else {
        Err(what.into())
    }
}

fn mountinfo() -> String {
    fs::read_to_string("/proc/self/mountinfo").unwrap_or_default()
}

/// (fstype, per-mount options) of the mount at `path`, from mountinfo.
fn mount_at(path: &str) -> Option<(String, String)> {
    mountinfo().lines().rev().find_map(|l| {
        let (pre, post) = l.split_once(" - ")?;
        let f: Vec<&str> = pre.split(' ').collect();
        (f[4] == path).then(|| {
            (
                post.split(' ').next().unwrap().to_string(),
                f[5].to_string(),
            )
        })
    })
}

fn erofs(p: &str) -> bool {
    fs::write(p, "x").err().and_then(|e| e.raw_os_error()) == Some(libc::EROFS)
}

fn char_dev(p: &str, major: u32, minor: u32) -> Check {
    let m = fs::symlink_metadata(p).map_err(|e| format!("{p}: {e}"))?;
    ensure(
        m.file_type().is_char_device() && m.rdev() == libc::makedev(major, minor),
        format!("{p} is not char {major}:{minor}"),
    )
}

fn link_is(p: &str, target: &str) -> Check {
    let t = fs::read_link(p).map_err(|e| format!("{p}: {e}"))?;
    ensure(
        t == Path::new(target),
        format!("{p} -> {t:?}, want {target}"),
    )
}

/// The full runc-like layout: std mounts, cgroup, binds, ro tmpfs, masked and readonly paths, ro root.
fn layout_plan(name: &str) -> (PathBuf, PathBuf, RootfsPlan) {
    let bundle = busybox_bundle(name);
    let data = bundle.join("data");
    fs::create_dir_all(&data).unwrap();
    fs::write(data.join("in"), "hello").unwrap();
    let rw = bundle.join("rw");
    fs::create_dir_all(&rw).unwrap();
    let mut mounts = std_mounts();
    let extra = json!([
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]},
        {"destination": "/data", "type": "bind", "source": "data", "options": ["rbind", "ro", "nosuid"]},
        {"destination": "/rw", "type": "none", "source": rw.to_str().unwrap(), "options": ["bind", "rw", "rshared"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["ro", "mode=1777"]},
    ]);
    mounts
        .as_array_mut()
        .unwrap()
        .extend(extra.as_array().unwrap().iter().cloned());
    let linux = json!({
        "namespaces": [{"type": "mount"}, {"type": "pid"}],
        "maskedPaths": ["/proc/kcore", "/proc/timer_list", "/proc/acpi", "/sys/firmware", "/nonexistent"],
        "readonlyPaths": ["/proc/sys", "/proc/bus"],
        "devices": [{"path": "/dev/fuse", "type": "c", "major": 10, "minor": 229, "fileMode": 0o600, "uid": 0, "gid": 0}],
    });
    let plan = RootfsPlan::from_spec(&spec(mounts, linux, true), &bundle, false).unwrap();
    (bundle, rw, plan)
}

/// Write a line to the real stderr (the harness captures print macros, and a forked child's capture is lost).
fn report_line(s: &str) {
    let line = format!("{s}\n");
    // SAFETY: writing a local buffer to fd 2.
    unsafe { libc::write(2, line.as_ptr().cast(), line.len()) };
}

#[test]
fn bench_prepare_finalize() {
    let Some(_g) = kernel_case() else { return };
    let (_, _, plan) = layout_plan("bench");
    const N: u32 = 20;
    let (mut total, mut inner) = (std::time::Duration::ZERO, Vec::new());
    for _ in 0..N {
        let t = std::time::Instant::now();
        let us = in_child_out(libc::CLONE_NEWNS | libc::CLONE_NEWPID, || {
            let t = std::time::Instant::now();
            rootfs::prepare(&plan, None).map_err(|e| format!("prepare: {e}"))?;
            rootfs::finalize(&plan).map_err(|e| format!("finalize: {e}"))?;
            Ok(t.elapsed().as_micros().to_string())
        })
        .unwrap();
        total += t.elapsed();
        inner.push(us.parse::<u64>().unwrap());
    }
    inner.sort();
    report_line(&format!(
        "rootfs: prepare+finalize of the full layout: median {} us, min {} us; with fork+unshare+exit: mean {} us (n={N})",
        inner[inner.len() / 2],
        inner[0],
        (total / N).as_micros()
    ));
    assert_host_dev_null();
}

#[test]
fn full_container_layout() {
    let Some(_g) = kernel_case() else { return };
    let (bundle, rw, plan) = layout_plan("layout");
    // Host facts, taken before the fork (the child no longer sees the host after pivot_root).
    let has_acpi = Path::new("/proc/acpi").is_dir();
    let has_firmware = Path::new("/sys/firmware").is_dir();
    let has_timer_list = Path::new("/proc/timer_list").exists();
    let v1_memory = Path::new("/sys/fs/cgroup/memory/tasks").exists();
    // First component of our own memory cgroup ("" at the root): the container must see inside it, not above it.
    let own_memory = fs::read_to_string("/proc/self/cgroup")
        .unwrap_or_default()
        .lines()
        .find_map(|l| {
            l.split_once(":memory:/")
                .map(|(_, p)| p.split('/').next().unwrap_or("").to_string())
        })
        .unwrap_or_default();
    common::skip_machine(
        v1_memory,
        "cgroup v1 checks (no v1 memory hierarchy on this host)",
    );

    let r = in_child(libc::CLONE_NEWNS | libc::CLONE_NEWPID, || {
        rootfs::prepare(&plan, None).map_err(|e| format!("prepare: {e}"))?;
        rootfs::finalize(&plan).map_err(|e| format!("finalize: {e}"))?;
        ensure(std::process::id() == 1, "not pid 1 of the new pid ns")?;
        // pivoted: busybox is the root's, the host's scratch tree is gone
        ensure(Path::new("/bin/busybox").exists(), "no /bin/busybox")?;
        ensure(
            !Path::new(env!("CARGO_MANIFEST_DIR")).exists(),
            "host tree visible after pivot_root",
        )?;
        ensure(mountinfo().lines().count() > 5, "no container /proc")?;
        // read-only root, read-only bind with data, rw bind, tmpfs ro after finalize
        ensure(erofs("/newfile"), "root is writable")?;
        ensure(
            fs::read_to_string("/data/in").is_ok_and(|s| s == "hello"),
            "bind content missing",
        )?;
        ensure(erofs("/data/out"), "ro bind is writable")?;
        ensure(
            mount_at("/data").is_some_and(|(_, o)| o.contains("ro") && o.contains("nosuid")),
            "/data mount flags",
        )?;
        fs::write("/rw/out", "from-container").map_err(|e| format!("rw bind: {e}"))?;
        ensure(
            mountinfo()
                .lines()
                .any(|l| l.split(' ').nth(4) == Some("/rw") && l.contains(" shared:")),
            "/rw is not shared",
        )?;
        ensure(erofs("/tmp/x"), "ro tmpfs is writable after finalize")?;
        ensure(Path::new("/work/dir").is_dir(), "cwd not created")?;
        // filesystems
        for (p, t) in [
            ("/proc", "proc"),
            ("/dev", "tmpfs"),
            ("/dev/pts", "devpts"),
            ("/dev/shm", "tmpfs"),
            ("/dev/mqueue", "mqueue"),
            ("/sys", "sysfs"),
        ] {
            ensure(
                mount_at(p).is_some_and(|(f, _)| f == t),
                format!("{p} is not {t}"),
            )?;
        }
        ensure(
            erofs("/sys/kernel/uevent_helper") || !Path::new("/sys/kernel/uevent_helper").exists(),
            "/sys writable",
        )?;
        // devices, modes, symlinks
        for (p, ma, mi) in [
            ("/dev/null", 1, 3),
            ("/dev/zero", 1, 5),
            ("/dev/full", 1, 7),
            ("/dev/random", 1, 8),
            ("/dev/urandom", 1, 9),
            ("/dev/tty", 5, 0),
            ("/dev/fuse", 10, 229),
        ] {
            char_dev(p, ma, mi)?;
        }
        let mode = |p: &str| {
            fs::metadata(p)
                .map(|m| m.permissions().mode() & 0o7777)
                .unwrap_or(0)
        };
        ensure(
            mode("/dev/null") == 0o666 && mode("/dev/fuse") == 0o600,
            "device modes",
        )?;
        link_is("/dev/ptmx", "pts/ptmx")?;
        link_is("/dev/fd", "/proc/self/fd")?;
        link_is("/dev/stdin", "/proc/self/fd/0")?;
        link_is("/dev/stdout", "/proc/self/fd/1")?;
        link_is("/dev/stderr", "/proc/self/fd/2")?;
        ensure(
            Path::new("/dev/core").exists() == Path::new("/proc/kcore").exists(),
            "/dev/core",
        )?;
        // masked and read-only paths
        if has_timer_list {
            char_dev("/proc/timer_list", 1, 3)?;
            ensure(
                fs::read("/proc/timer_list")
                    .map(|b| b.is_empty())
                    .unwrap_or(false),
                "timer_list readable",
            )?;
        }
        let masked_dir =
            |p: &str| mount_at(p).is_some_and(|(f, o)| f == "tmpfs" && o.starts_with("ro"));
        ensure(
            !has_acpi || masked_dir("/proc/acpi"),
            "/proc/acpi not masked",
        )?;
        ensure(
            !has_firmware || masked_dir("/sys/firmware"),
            "/sys/firmware not masked",
        )?;
        ensure(
            has_acpi || has_firmware || has_timer_list,
            "no masked path to check on this host",
        )?;
        ensure(erofs("/proc/sys/kernel/hostname"), "/proc/sys writable")?;
        // the rootfs runs programs
        let st = std::process::Command::new("/bin/sh")
            .args(["-c", "test -c /dev/null && ls /bin >/dev/null"])
            .status();
        ensure(
            st.map(|s| s.success()).unwrap_or(false),
            "busybox sh failed",
        )?;
        // cgroup v1: own cgroup dirs, read-only
        if !v1_memory {
            return Ok(());
        }
        // runc 1.1 leaves the tmpfs itself read-write; the hierarchies are "ro".
        ensure(
            mount_at("/sys/fs/cgroup").is_some_and(|(f, o)| f == "tmpfs" && o.starts_with("rw")),
            "/sys/fs/cgroup tmpfs",
        )?;
        ensure(
            mount_at("/sys/fs/cgroup/memory")
                .is_some_and(|(f, o)| f == "cgroup" && o.starts_with("ro")),
            "memory hierarchy not ro",
        )?;
        ensure(
            Path::new("/sys/fs/cgroup/memory/memory.limit_in_bytes").exists(),
            "memory controller files missing",
        )?;
        ensure(
            Path::new("/sys/fs/cgroup/memory/tasks").exists(),
            "own cgroup dir missing",
        )?;
        let above = format!("/sys/fs/cgroup/memory/{own_memory}");
        ensure(
            own_memory.is_empty() || !Path::new(&above).exists(),
            format!("{above}: the host's cgroup tree is visible, not our own dir"),
        )?;
        ensure(
            fs::create_dir("/sys/fs/cgroup/memory/x").is_err(),
            "cgroup writable",
        )?;
        ensure(
            !Path::new("/sys/fs/cgroup/unified").exists(),
            "runc 1.1 does not expose the hybrid unified mount",
        )?;
        Ok(())
    });
    finish(r);
    assert_eq!(
        fs::read_to_string(rw.join("out")).unwrap(),
        "from-container"
    );
    assert!(!bundle.join("rootfs/newfile").exists());
    assert!(
        !mountinfo().contains(bundle.to_str().unwrap()),
        "a mount leaked to the host namespace"
    );
}

#[test]
fn no_pivot_moves_and_chroots() {
    let Some(_g) = kernel_case() else { return };
    let bundle = busybox_bundle("nopivot");
    let plan = RootfsPlan::from_spec(
        &spec(
            std_mounts(),
            json!({"maskedPaths": ["/proc/timer_list"]}),
            false,
        ),
        &bundle,
        true,
    )
    .unwrap();
    assert!(plan.no_pivot);
    let r = in_child(libc::CLONE_NEWNS | libc::CLONE_NEWPID, || {
        rootfs::prepare(&plan, None).map_err(|e| format!("prepare: {e}"))?;
        rootfs::finalize(&plan).map_err(|e| format!("finalize: {e}"))?;
        ensure(Path::new("/bin/busybox").exists(), "not chrooted")?;
        ensure(
            !Path::new(env!("CARGO_MANIFEST_DIR")).exists(),
            "host tree visible",
        )?;
        char_dev("/proc/timer_list", 1, 3)?;
        // the only full procfs left in the namespace is the container's
        let procs = mountinfo()
            .lines()
            .filter(|l| l.contains(" - proc "))
            .count();
        ensure(procs == 1, format!("{procs} proc mounts visible"))?;
        fs::write("/tmp/w", "x").map_err(|e| format!("rw root: {e}"))
    });
    finish(r);
}

#[test]
fn symlinked_destination_is_contained() {
    let Some(_g) = kernel_case() else { return };
    let bundle = busybox_bundle("escape");
    let host = bundle.join("host");
    fs::create_dir_all(&host).unwrap();
    let root = bundle.join("rootfs");
    // /etc -> ../../../../../../../<bundle>/host : outside the rootfs if followed on the host.
    fs::remove_dir_all(root.join("etc")).unwrap();
    let up = "../".repeat(20);
    std::os::unix::fs::symlink(
        format!("{up}{}", host.to_str().unwrap().trim_start_matches('/')),
        root.join("etc"),
    )
    .unwrap();
    std::os::unix::fs::symlink("/../../../../", root.join("up")).unwrap();
    let src = bundle.join("src");
    fs::create_dir_all(&src).unwrap();
    let mounts = json!([
        {"destination": "/etc/evil", "type": "tmpfs", "source": "tmpfs"},
        {"destination": "/etc/bound", "type": "bind", "source": src.to_str().unwrap(), "options": ["bind"]},
        {"destination": "/up/tmp/x", "type": "tmpfs", "source": "tmpfs"},
    ]);
    let plan = RootfsPlan::from_spec(&spec(mounts, json!({}), false), &bundle, false).unwrap();
    let inner = format!(
        "{}/rootfs{}",
        bundle.to_str().unwrap(),
        host.to_str().unwrap()
    );
    let r = in_child(libc::CLONE_NEWNS, || {
        rootfs::mount_rootfs(&plan, None).map_err(|e| format!("mount_rootfs: {e}"))?;
        // The mounts landed under rootfs/<host path>, never on the host dir itself.
        let mi = mountinfo();
        ensure(
            mi.contains(&format!("{inner}/evil ")),
            format!("tmpfs not contained: {mi}"),
        )?;
        ensure(
            mi.contains(&format!("{inner}/bound ")),
            "bind not contained",
        )?;
        ensure(
            mi.contains(&format!("{}/rootfs/tmp/x ", bundle.to_str().unwrap())),
            "absolute symlink not contained",
        )?;
        ensure(
            !mi.contains(&format!(" {}/evil ", host.to_str().unwrap())),
            "escaped to the host",
        )
    });
    finish(r);
    assert!(
        !host.join("evil").exists() && !host.join("bound").exists(),
        "created outside the rootfs"
    );

    // procfs through a symlink is refused outright (runc: "must be mounted on ordinary directory").
    fs::remove_dir_all(root.join("proc")).unwrap();
    std::os::unix::fs::symlink("/tmp", root.join("proc")).unwrap();
    let plan =
        RootfsPlan::from_spec(&spec(std_mounts(), json!({}), false), &bundle, false).unwrap();
    let r = in_child(
        libc::CLONE_NEWNS | libc::CLONE_NEWPID,
        || match rootfs::prepare(&plan, None) {
            Err(e)
                if e.to_string()
                    .contains("filesystem \"proc\" must be mounted on ordinary directory") =>
            {
                Ok(())
            }
            other => Err(format!("want refusal, got {other:?}")),
        },
    );
    r.unwrap();
    assert_host_dev_null();
}

/// A /dev given by the spec (bind), with a planted /dev/null or /dev/console.
fn evil_dev_bundle(name: &str, plant: impl FnOnce(&Path)) -> (PathBuf, RootfsPlan) {
    let bundle = busybox_bundle(name);
    let dev = bundle.join("evildev");
    fs::create_dir_all(dev.join("pts")).unwrap();
    plant(&dev);
    let mounts = json!([
        {"destination": "/proc", "type": "proc", "source": "proc"},
        {"destination": "/dev", "type": "bind", "source": dev.to_str().unwrap(), "options": ["rbind"]},
    ]);
    let linux = json!({"maskedPaths": ["/proc/timer_list"]});
    let plan = RootfsPlan::from_spec(&spec(mounts, linux, false), &bundle, false).unwrap();
    assert!(!plan.setup_dev);
    (bundle, plan)
}

fn expect_refusal(plan: &RootfsPlan, needle: &str, console: bool) {
    let r = in_child(libc::CLONE_NEWNS | libc::CLONE_NEWPID, || {
        let pty = console.then(open_pty_slave).transpose()?;
        let res = rootfs::prepare(plan, pty.as_ref().map(|f| f.as_fd()))
            .and_then(|()| rootfs::finalize(plan));
        match res {
            Err(e) if e.to_string().contains(needle) => Ok(()),
            other => Err(format!(
                "want an error containing {needle:?}, got {other:?}"
            )),
        }
    });
    finish(r);
}

#[test]
fn masked_paths_refuse_a_fake_dev_null() {
    let Some(_g) = kernel_case() else { return };
    // CVE-2025-31133: /dev/null a symlink to a procfs file...
    let (_, plan) = evil_dev_bundle("fakenull-link", |d| {
        std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", d.join("null")).unwrap()
    });
    expect_refusal(&plan, "unsafe /dev/null", false);
    // ...or a plain file.
    let (_, plan) = evil_dev_bundle("fakenull-file", |d| fs::write(d.join("null"), "").unwrap());
    expect_refusal(&plan, "unsafe /dev/null: it is not the null device", false);
}

#[test]
fn masked_path_through_symlink_is_refused() {
    let Some(_g) = kernel_case() else { return };
    let bundle = busybox_bundle("masklink");
    std::os::unix::fs::symlink("/proc/sys/kernel", bundle.join("rootfs/evil")).unwrap();
    let linux = json!({"maskedPaths": ["/evil/core_pattern"]});
    let plan = RootfsPlan::from_spec(&spec(std_mounts(), linux, false), &bundle, false).unwrap();
    let r = in_child(libc::CLONE_NEWNS | libc::CLONE_NEWPID, || {
        rootfs::prepare(&plan, None).map_err(|e| format!("prepare: {e}"))?;
        match rootfs::finalize(&plan) {
            Err(e)
                if e.to_string()
                    .contains("unsafe masked path /evil/core_pattern") =>
            {
                Ok(())
            }
            other => Err(format!("want refusal, got {other:?}")),
        }
    });
    finish(r);
}

/// A pty slave from the host's /dev/ptmx.
fn open_pty_slave() -> Result<OwnedFd, String> {
    // SAFETY: plain libc pty calls on fds we own; ptsname_r writes into buf.
    unsafe {
        let m = libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC);
        if m < 0 || libc::grantpt(m) != 0 || libc::unlockpt(m) != 0 {
            return Err("posix_openpt".into());
        }
        let mut buf = [0 as libc::c_char; 64];
        libc::ptsname_r(m, buf.as_mut_ptr(), buf.len());
        let s = libc::open(
            buf.as_ptr(),
            libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC,
        );
        std::mem::forget(OwnedFd::from_raw_fd(m)); // keep the master open for the child's life
        if s < 0 {
            return Err("open pty slave".into());
        }
        Ok(OwnedFd::from_raw_fd(s))
    }
}

#[test]
fn console_is_bound_and_a_swapped_target_refused() {
    let Some(_g) = kernel_case() else { return };
    let bundle = busybox_bundle("console");
    let plan =
        RootfsPlan::from_spec(&spec(std_mounts(), json!({}), false), &bundle, false).unwrap();
    let r = in_child(libc::CLONE_NEWNS | libc::CLONE_NEWPID, || {
        let pty = open_pty_slave()?;
        let want = fs::metadata(format!("/proc/self/fd/{}", pty.as_raw_fd()))
            .map_err(|e| e.to_string())?
            .rdev();
        rootfs::prepare(&plan, Some(pty.as_fd())).map_err(|e| format!("prepare: {e}"))?;
        let got = fs::metadata("/dev/console").map_err(|e| e.to_string())?;
        ensure(
            got.file_type().is_char_device() && got.rdev() == want,
            "/dev/console is not the pty slave",
        )
    });
    finish(r);
    // runc's order: the pty comes from the container's own devpts, after the pivot.
    let r = in_child(libc::CLONE_NEWNS | libc::CLONE_NEWPID, || {
        rootfs::prepare(&plan, None).map_err(|e| format!("prepare: {e}"))?;
        let pty = open_pty_slave()?;
        let want = fs::metadata(format!("/proc/self/fd/{}", pty.as_raw_fd()))
            .map_err(|e| e.to_string())?
            .rdev();
        rootfs::mount_console(pty.as_fd()).map_err(|e| format!("mount_console: {e}"))?;
        rootfs::finalize(&plan).map_err(|e| format!("finalize: {e}"))?;
        let got = fs::metadata("/dev/console").map_err(|e| e.to_string())?;
        ensure(
            got.rdev() == want,
            "/dev/console is not the container pty slave",
        )?;
        let pts0 = fs::metadata("/dev/pts/0").map_err(|e| format!("container devpts: {e}"))?;
        ensure(
            pts0.rdev() == want,
            "the pty did not come from the container's devpts instance",
        )
    });
    finish(r);
    // CVE-2025-52565: /dev/console planted as a symlink to a procfs file.
    let (_, plan) = evil_dev_bundle("console-link", |d| {
        fs::File::create(d.join("null")).unwrap();
        std::os::unix::fs::symlink("/proc/sys/kernel/core_pattern", d.join("console")).unwrap()
    });
    expect_refusal(&plan, "unsafe /dev/console: it is a symlink", true);
}

#[test]
fn user_namespace_binds_devices_from_the_host() {
    let Some(_g) = kernel_case() else { return };
    let bundle = busybox_bundle("userns");
    let mounts = json!([
        {"destination": "/dev", "type": "tmpfs", "source": "tmpfs", "options": ["nosuid", "mode=755"]},
        {"destination": "/tmp", "type": "tmpfs", "source": "tmpfs"},
    ]);
    let linux = json!({"namespaces": [{"type": "user"}, {"type": "mount"}]});
    let plan = RootfsPlan::from_spec(&spec(mounts, linux, false), &bundle, false).unwrap();
    assert!(plan.user_ns);
    let r = in_child(libc::CLONE_NEWUSER | libc::CLONE_NEWNS, || {
        // map our own uid/gid 0 (allowed without privilege in the parent namespace)
        fs::write("/proc/self/setgroups", "deny").map_err(|e| format!("setgroups: {e}"))?;
        fs::write("/proc/self/uid_map", "0 0 1").map_err(|e| format!("uid_map: {e}"))?;
        fs::write("/proc/self/gid_map", "0 0 1").map_err(|e| format!("gid_map: {e}"))?;
        rootfs::prepare(&plan, None).map_err(|e| format!("prepare: {e}"))?;
        rootfs::finalize(&plan).map_err(|e| format!("finalize: {e}"))?;
        char_dev("/dev/null", 1, 3)?;
        char_dev("/dev/tty", 5, 0)?;
        // a bind of the host node lives on the host's devtmpfs, not on the container's /dev tmpfs
        let dev = fs::metadata("/dev").map_err(|e| e.to_string())?.dev();
        let null = fs::metadata("/dev/null").map_err(|e| e.to_string())?.dev();
        ensure(dev != null, "/dev/null was mknod'ed, not bind-mounted")?;
        link_is("/dev/ptmx", "pts/ptmx")
    });
    finish(r);
}

#[test]
fn missing_bind_source_reports_like_runc() {
    let Some(_g) = kernel_case() else { return };
    let bundle = busybox_bundle("nosrc");
    let mounts = json!([{"destination": "/x", "type": "bind", "source": "/nonexistent-rootfs-src", "options": ["bind"]}]);
    let plan = RootfsPlan::from_spec(&spec(mounts, json!({}), false), &bundle, false).unwrap();
    let r = in_child(libc::CLONE_NEWNS, || {
        match rootfs::prepare(&plan, None) {
        Err(e) if e.to_string()
            == "error mounting \"/nonexistent-rootfs-src\" to rootfs at \"/x\": stat /nonexistent-rootfs-src: no such file or directory" =>
        {
            Ok(())
        }
        other => Err(format!("{other:?}")),
    }
    });
    finish(r);
    assert!(
        !bundle.join("rootfs/x").exists(),
        "destination created before the source was checked"
    );
}

#[test]
fn root_propagation_applies_to_the_new_root() {
    let Some(_g) = kernel_case() else { return };
    let bundle = busybox_bundle("rootprop");
    let plan = RootfsPlan::from_spec(
        &spec(std_mounts(), json!({"rootfsPropagation": "rshared"}), false),
        &bundle,
        false,
    )
    .unwrap();
    let r = in_child(libc::CLONE_NEWNS | libc::CLONE_NEWPID, || {
        rootfs::prepare(&plan, None).map_err(|e| format!("prepare: {e}"))?;
        let mi = mountinfo();
        let root = mi
            .lines()
            .find(|l| l.split(' ').nth(4) == Some("/"))
            .unwrap_or_default();
        ensure(
            root.contains(" shared:"),
            format!("\"/\" is not shared: {root}"),
        )
    });
    finish(r);
}

#[test]
fn tmpcopyup_fills_the_tmpfs_with_what_it_covers() {
    let Some(_g) = kernel_case() else { return };
    let bundle = busybox_bundle("copyup");
    let etc = bundle.join("rootfs/etc");
    fs::create_dir_all(etc.join("sub/deeper")).unwrap();
    fs::write(etc.join("sub/secret"), "s3cret").unwrap();
    fs::set_permissions(etc.join("sub/secret"), fs::Permissions::from_mode(0o4750)).unwrap();
    std::os::unix::fs::chown(etc.join("sub/secret"), Some(1000), Some(1001)).unwrap();
    fs::set_permissions(etc.join("sub/secret"), fs::Permissions::from_mode(0o4750)).unwrap();
    fs::set_permissions(etc.join("sub/deeper"), fs::Permissions::from_mode(0o700)).unwrap();
    std::os::unix::fs::symlink("../hostname", etc.join("sub/link")).unwrap();
    let mut mounts = std_mounts();
    mounts.as_array_mut().unwrap().push(json!(
        {"destination": "/etc", "type": "tmpfs", "source": "tmpfs", "options": ["tmpcopyup", "nosuid", "mode=755"]}
    ));
    let plan = RootfsPlan::from_spec(&spec(mounts, json!({}), false), &bundle, false).unwrap();
    let r = in_child(libc::CLONE_NEWNS | libc::CLONE_NEWPID, || {
        rootfs::prepare(&plan, None).map_err(|e| format!("prepare: {e}"))?;
        rootfs::finalize(&plan).map_err(|e| format!("finalize: {e}"))?;
        ensure(
            mount_at("/etc").is_some_and(|(f, o)| f == "tmpfs" && o.contains("nosuid")),
            "/etc is not a nosuid tmpfs",
        )?;
        ensure(
            fs::read_to_string("/etc/hostname").is_ok_and(|s| s == "rootfs-test\n"),
            "hostname not copied",
        )?;
        let m = fs::metadata("/etc/sub/secret").map_err(|e| e.to_string())?;
        ensure(
            (m.uid(), m.gid(), m.permissions().mode() & 0o7777) == (1000, 1001, 0o4750),
            format!(
                "secret: {:o} {}:{}",
                m.permissions().mode(),
                m.uid(),
                m.gid()
            ),
        )?;
        ensure(
            fs::read_to_string("/etc/sub/secret").is_ok_and(|s| s == "s3cret"),
            "secret content",
        )?;
        ensure(
            fs::metadata("/etc/sub/deeper")
                .is_ok_and(|m| m.is_dir() && m.permissions().mode() & 0o7777 == 0o700),
            "deeper dir mode",
        )?;
        link_is("/etc/sub/link", "../hostname")?;
        fs::write("/etc/new", "x").map_err(|e| format!("tmpfs not writable: {e}"))
    });
    finish(r);
    assert!(
        !bundle.join("rootfs/etc/new").exists(),
        "write went to the rootfs, not the tmpfs"
    );
}

#[test]
fn cgroup_namespace_mounts_the_v1_hierarchies_themselves() {
    let Some(_g) = kernel_case() else { return };
    if common::skip_machine(
        Path::new("/sys/fs/cgroup/memory/tasks").exists(),
        "no cgroup v1 memory hierarchy",
    ) {
        return;
    }
    let bundle = busybox_bundle("cgroupns");
    let mut mounts = std_mounts();
    mounts.as_array_mut().unwrap().push(json!(
        {"destination": "/sys/fs/cgroup", "type": "cgroup", "source": "cgroup", "options": ["nosuid", "noexec", "nodev", "relatime", "ro"]}
    ));
    let linux = json!({"namespaces": [{"type": "mount"}, {"type": "pid"}, {"type": "cgroup"}]});
    let plan = RootfsPlan::from_spec(&spec(mounts, linux, false), &bundle, false).unwrap();
    assert!(plan.cgroup_ns);
    let r = in_child(
        libc::CLONE_NEWNS | libc::CLONE_NEWPID | libc::CLONE_NEWCGROUP,
        || {
            rootfs::prepare(&plan, None).map_err(|e| format!("prepare: {e}"))?;
            rootfs::finalize(&plan).map_err(|e| format!("finalize: {e}"))?;
            let mi = mountinfo();
            let memory = mi
                .lines()
                .find(|l| l.split(' ').nth(4) == Some("/sys/fs/cgroup/memory"))
                .unwrap_or_default()
                .to_string();
            // the hierarchy as the namespace sees it (root "/"), read-only
            ensure(
                memory.split(' ').nth(3) == Some("/")
                    && memory.contains(" - cgroup ")
                    && memory.contains(" ro,"),
                format!("memory: {memory}"),
            )?;
            ensure(
                Path::new("/sys/fs/cgroup/memory/tasks").exists(),
                "memory hierarchy empty",
            )?;
            ensure(
                Path::new("/sys/fs/cgroup/systemd/tasks").exists()
                    || !Path::new("/sys/fs/cgroup/systemd").exists(),
                "systemd hierarchy",
            )?;
            ensure(
                fs::create_dir("/sys/fs/cgroup/memory/x").is_err(),
                "cgroup writable",
            )
        },
    );
    finish(r);
}
