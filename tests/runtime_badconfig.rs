//! Bad config.json at the runtime level: each row is a mistake in the spec,
//! the words the error must hold and the exit code. nsrun must say so on
//! stderr and in its `--log-format json` log, and leave nothing behind: no
//! state dir, no process, no cgroup, no mount, no fd. Each row also runs
//! under runc 1.1.5; where runc answers otherwise the row says so.

#[path = "payload/bundle.rs"]
mod bundle;
mod common;

use bundle::*;
use serde_json::{json, Value};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// What runc 1.1.5 does with a row.
#[derive(Clone, Copy)]
enum Runc {
    /// Fails with the same code and these words.
    Says(&'static [&'static str]),
    /// Runs the container: runc does not check this.
    Accepts,
}

struct Row {
    name: &'static str,
    /// `run` or `create`.
    cmd: &'static str,
    edit: fn(&mut Value),
    code: i32,
    /// Words nsrun's message must hold (a warning when `code` is 0).
    says: &'static [&'static str],
    runc: Runc,
}

fn mount(c: &mut Value, m: Value) {
    c["mounts"].as_array_mut().unwrap().push(m);
}

fn seccomp(c: &mut Value, s: Value) {
    c["linux"]["seccomp"] = s;
}

fn rlimit(c: &mut Value, r: Value) {
    c["process"]["rlimits"] = json!([r]);
}

const MALFORMED: &str = "{\"ociVersion\": \"1.0.2\", \"process\": {";

fn rows() -> Vec<Row> {
    vec![
        Row {
            name: "ns-unknown",
            cmd: "run",
            edit: |c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "foo"}))
            },
            code: 1,
            says: &[r#"namespace {"foo" ""} does not exist"#],
            runc: Runc::Says(&[r#"namespace {"foo" ""} does not exist"#]),
        },
        Row {
            name: "ns-twice",
            cmd: "create",
            edit: |c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "pid"}))
            },
            code: 1,
            says: &["duplicated ns", "pid"],
            runc: Runc::Says(&["duplicated ns", "pid"]),
        },
        Row {
            name: "ns-path",
            cmd: "run",
            edit: |c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .push(json!({"type": "cgroup", "path": "/nonexistent-badcfg-ns"}))
            },
            code: 1,
            says: &["namespace path: lstat /nonexistent-badcfg-ns: no such file or directory"],
            runc: Runc::Says(&[
                "namespace path: lstat /nonexistent-badcfg-ns: no such file or directory",
            ]),
        },
        // runc 1.1.5 ignores a capability it does not know; nsrun refuses it
        // in runc >= 1.2's words.
        Row {
            name: "cap-name",
            cmd: "create",
            edit: |c| c["process"]["capabilities"]["bounding"] = json!(["CAP_BOGUS"]),
            code: 1,
            says: &[r#"unknown capability "CAP_BOGUS""#],
            runc: Runc::Accepts,
        },
        Row {
            name: "uid-negative",
            cmd: "run",
            edit: |c| c["process"]["user"]["uid"] = json!(-1),
            code: 1,
            says: &[
                "parsing config.json",
                "invalid value: integer `-1`, expected u32",
            ],
            runc: Runc::Says(&["cannot unmarshal number -1"]),
        },
        // runc lets the kernel refuse the write in its nsexec stage and then
        // only says "can't get final child's PID from pipe: EOF".
        Row {
            name: "oom-range",
            cmd: "create",
            edit: |c| c["process"]["oomScoreAdj"] = json!(5000),
            code: 1,
            says: &["oomScoreAdj 5000 is out of range [-1000, 1000]"],
            runc: Runc::Says(&["can't get final child's PID from pipe"]),
        },
        Row {
            name: "mnt-option",
            cmd: "create",
            edit: |c| {
                mount(
                    c,
                    json!({"destination": "/tmp", "type": "tmpfs", "source": "tmpfs", "options": ["bogusopt"]}),
                )
            },
            code: 1,
            says: &[
                r#"error mounting "tmpfs" to rootfs at "/tmp""#,
                "data: bogusopt: invalid argument",
            ],
            runc: Runc::Says(&[
                r#"error mounting "tmpfs" to rootfs at "/tmp""#,
                "data: bogusopt: invalid argument",
            ]),
        },
        Row {
            name: "mnt-bind-source",
            cmd: "run",
            edit: |c| {
                mount(
                    c,
                    json!({"destination": "/mnt", "type": "bind", "source": "/nonexistent-badcfg", "options": ["bind"]}),
                )
            },
            code: 1,
            says: &[
                r#"error mounting "/nonexistent-badcfg" to rootfs at "/mnt""#,
                "no such file or directory",
            ],
            runc: Runc::Says(&[
                r#"error mounting "/nonexistent-badcfg" to rootfs at "/mnt""#,
                "no such file or directory",
            ]),
        },
        Row {
            name: "mnt-type",
            cmd: "create",
            edit: |c| {
                mount(
                    c,
                    json!({"destination": "/mnt", "type": "nosuchfs", "source": "x"}),
                )
            },
            code: 1,
            says: &[
                r#"error mounting "x" to rootfs at "/mnt""#,
                "no such device",
            ],
            runc: Runc::Says(&[
                r#"error mounting "x" to rootfs at "/mnt""#,
                "no such device",
            ]),
        },
        // runc 1.1.5 ignores an unknown syscall name too, logging it only at
        // debug level; nsrun warns.
        Row {
            name: "sc-syscall",
            cmd: "run",
            edit: |c| {
                seccomp(
                    c,
                    json!({"defaultAction": "SCMP_ACT_ALLOW", "syscalls": [{"names": ["nosuchsyscall"], "action": "SCMP_ACT_ERRNO"}]}),
                )
            },
            code: 0,
            says: &[r#"unknown seccomp syscall "nosuchsyscall" ignored"#],
            runc: Runc::Accepts,
        },
        Row {
            name: "sc-action",
            cmd: "run",
            edit: |c| seccomp(c, json!({"defaultAction": "SCMP_ACT_BOGUS"})),
            code: 1,
            says: &["string SCMP_ACT_BOGUS is not a valid action for seccomp"],
            runc: Runc::Says(&["string SCMP_ACT_BOGUS is not a valid action for seccomp"]),
        },
        Row {
            name: "sc-arch",
            cmd: "create",
            edit: |c| {
                seccomp(
                    c,
                    json!({"defaultAction": "SCMP_ACT_ALLOW", "architectures": ["SCMP_ARCH_BOGUS"]}),
                )
            },
            code: 1,
            says: &["string SCMP_ARCH_BOGUS is not a valid arch for seccomp"],
            runc: Runc::Says(&["string SCMP_ARCH_BOGUS is not a valid arch for seccomp"]),
        },
        // runc only finds out when setrlimit fails in init ("error setting
        // rlimit type 7: invalid argument"); nsrun refuses the spec up front.
        Row {
            name: "rl-soft-hard",
            cmd: "run",
            edit: |c| {
                rlimit(
                    c,
                    json!({"type": "RLIMIT_NOFILE", "soft": 2048, "hard": 1024}),
                )
            },
            code: 1,
            says: &["rlimit RLIMIT_NOFILE: soft limit 2048 is greater than hard limit 1024"],
            runc: Runc::Says(&["error setting rlimit type 7", "invalid argument"]),
        },
        Row {
            name: "rl-name",
            cmd: "create",
            edit: |c| rlimit(c, json!({"type": "RLIMIT_BOGUS", "soft": 1, "hard": 1})),
            code: 1,
            says: &["wrong rlimit value: RLIMIT_BOGUS"],
            runc: Runc::Says(&["wrong rlimit value: RLIMIT_BOGUS"]),
        },
        // Above this machine's hard nofile limit (20000) without
        // CAP_SYS_RESOURCE. runc names the resource by number (7).
        Row {
            name: "rl-too-high",
            cmd: "create",
            edit: |c| {
                rlimit(
                    c,
                    json!({"type": "RLIMIT_NOFILE", "soft": 40000, "hard": 40000}),
                )
            },
            code: 1,
            says: &[
                "error setting rlimit type RLIMIT_NOFILE",
                "operation not permitted",
            ],
            runc: Runc::Says(&["error setting rlimit type 7", "operation not permitted"]),
        },
        Row {
            name: "rootfs",
            cmd: "run",
            edit: |c| c["root"]["path"] = json!("/nonexistent-badcfg-rootfs"),
            code: 1,
            says: &["invalid rootfs: stat /nonexistent-badcfg-rootfs: no such file or directory"],
            runc: Runc::Says(&[
                "invalid rootfs: stat /nonexistent-badcfg-rootfs: no such file or directory",
            ]),
        },
        Row {
            name: "cwd",
            cmd: "create",
            edit: |c| c["process"]["cwd"] = json!("relative/dir"),
            code: 1,
            says: &["Cwd must be an absolute path"],
            runc: Runc::Says(&["Cwd must be an absolute path"]),
        },
        Row {
            name: "exe",
            cmd: "create",
            edit: |c| c["process"]["args"] = json!(["/nonexistent-bin"]),
            code: 1,
            says: &[
                r#"exec: "/nonexistent-bin": stat /nonexistent-bin: no such file or directory"#,
            ],
            runc: Runc::Says(&[
                r#"exec: "/nonexistent-bin": stat /nonexistent-bin: no such file or directory"#,
            ]),
        },
        // runc 1.1.5 silently drops maps when there is no user namespace;
        // nsrun refuses them (runc >= 1.2's words): a map nobody applies is
        // a mistake the user should hear about.
        Row {
            name: "uidmap",
            cmd: "run",
            edit: |c| {
                c["linux"]["uidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}])
            },
            code: 1,
            says: &["user namespaces are not enabled but uid mappings are given"],
            runc: Runc::Accepts,
        },
        Row {
            name: "gidmap",
            cmd: "create",
            edit: |c| {
                c["linux"]["gidMappings"] = json!([{"containerID": 0, "hostID": 1000, "size": 1}])
            },
            code: 1,
            says: &["user namespaces are not enabled but gid mappings are given"],
            runc: Runc::Accepts,
        },
        Row {
            name: "sysctl-host",
            cmd: "run",
            edit: |c| c["linux"]["sysctl"] = json!({"vm.swappiness": "10"}),
            code: 1,
            says: &[r#"sysctl "vm.swappiness" is not in a separate kernel namespace"#],
            runc: Runc::Says(&[r#"sysctl "vm.swappiness" is not in a separate kernel namespace"#]),
        },
        Row {
            name: "sysctl-missing",
            cmd: "create",
            edit: |c| c["linux"]["sysctl"] = json!({"net.ipv4.bogus_badcfg": "1"}),
            code: 1,
            says: &["open /proc/sys/net/ipv4/bogus_badcfg: no such file or directory"],
            runc: Runc::Says(&["open /proc/sys/net/ipv4/bogus_badcfg: no such file or directory"]),
        },
        Row {
            name: "hostname",
            cmd: "run",
            edit: |c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != "uts");
                c["hostname"] = json!("badcfg");
            },
            code: 1,
            says: &["unable to set hostname without a private UTS namespace"],
            runc: Runc::Says(&["unable to set hostname without a private UTS namespace"]),
        },
        // The kernel ignores data on a bind mount and runc passes it along:
        // a "mode=755" there (docker/podman users write it) is no error.
        Row {
            name: "mnt-bind-mode",
            cmd: "run",
            edit: |c| {
                mount(
                    c,
                    json!({"destination": "/mnt", "type": "bind", "source": "/etc", "options": ["rbind", "ro", "mode=755"]}),
                )
            },
            code: 0,
            says: &[],
            runc: Runc::Accepts,
        },
        // Without a mount namespace runc's validator refuses masked and
        // read-only paths (runc's template has both).
        Row {
            name: "nomnt-masked",
            cmd: "run",
            edit: |c| {
                c["linux"]["namespaces"]
                    .as_array_mut()
                    .unwrap()
                    .retain(|n| n["type"] != "mount")
            },
            code: 1,
            says: &["unable to restrict sys entries without a private MNT namespace"],
            runc: Runc::Says(&["unable to restrict sys entries without a private MNT namespace"]),
        },
        // runc 1.1.5 does not look at ociVersion; nsrun only runs the
        // versions it implements.
        Row {
            name: "oci-version",
            cmd: "create",
            edit: |c| c["ociVersion"] = json!("bogus"),
            code: 1,
            says: &[r#"unsupported spec version "bogus""#],
            runc: Runc::Accepts,
        },
        // runc: "unexpected EOF"; nsrun says where.
        Row {
            name: "json",
            cmd: "run",
            edit: |_| {},
            code: 1,
            says: &["parsing config.json: EOF while parsing an object at line 1 column 36"],
            runc: Runc::Says(&["unexpected EOF"]),
        },
    ]
}

/// A per-row rootfs (hard links of the shared one) inside the bundle, so a
/// process left behind shows up by its root or cwd.
fn bundle(row: &Row, id: &str) -> PathBuf {
    let dir = common::scratch(id);
    let root = dir.join("rootfs");
    let st = Command::new("cp")
        .arg("-al")
        .arg(rootfs())
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());
    let text = if row.name == "json" {
        MALFORMED.to_string()
    } else {
        let mut c = base_config(&["true"]);
        c["root"]["path"] = json!(root);
        c["linux"]["cgroupsPath"] = json!(format!("/{id}"));
        (row.edit)(&mut c);
        serde_json::to_string_pretty(&c).unwrap()
    };
    std::fs::write(dir.join("config.json"), text).unwrap();
    dir
}

struct Outcome {
    code: i32,
    stderr: String,
    log: Vec<Value>,
}

fn run_row(bin: &Path, root: &Path, dir: &Path, cmd: &str, id: &str) -> Outcome {
    let name = bin.file_name().unwrap().to_string_lossy().into_owned();
    let (log, errf) = (
        dir.join(format!("{name}.log")),
        dir.join(format!("{name}.err")),
    );
    // Files, not pipes: a container runc creates keeps its stdio open.
    let st = Command::new(bin)
        .arg("--root")
        .arg(root)
        .arg("--log")
        .arg(&log)
        .args(["--log-format", "json", cmd, "-b"])
        .arg(dir)
        .arg(id)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&errf).unwrap())
        .status()
        .unwrap();
    let text = std::fs::read_to_string(&log).unwrap_or_default();
    Outcome {
        code: st.code().unwrap_or(-1),
        stderr: std::fs::read_to_string(&errf).unwrap_or_default(),
        log: text
            .lines()
            .filter_map(|l| serde_json::from_str(l).ok())
            .collect(),
    }
}

/// Everything a failed (or finished and deleted) container could leave.
fn leftovers(id: &str, dir: &Path) -> Vec<String> {
    let mut left = vec![];
    if nsrun_root().join(id).exists() {
        left.push("state dir".into());
    }
    let d = dir.display().to_string();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|p| p.parse::<i32>().ok()) else {
            continue;
        };
        let under = |l: &str| {
            std::fs::read_link(format!("/proc/{pid}/{l}")).is_ok_and(|p| p.starts_with(&d))
        };
        let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
        let named = String::from_utf8_lossy(&cmd).split('\0').any(|a| a == id);
        // After pivot_root, root and cwd read "/" from here: the process's
        // cgroup, or the bundle's rootfs among its mounts, gives it away.
        let read =
            |f: &str| std::fs::read_to_string(format!("/proc/{pid}/{f}")).unwrap_or_default();
        let grouped = read("cgroup")
            .lines()
            .any(|l| l.ends_with(&format!(":/{id}")));
        let mounted = read("mountinfo")
            .lines()
            .any(|l| l.split(' ').nth(3).is_some_and(|r| r.starts_with(&d)));
        if (under("cwd") || under("root") || named || grouped || mounted) && alive(pid) {
            left.push(format!(
                "process {pid} ({})",
                String::from_utf8_lossy(&cmd).replace('\0', " ")
            ));
        }
    }
    for c in std::fs::read_dir("/sys/fs/cgroup").unwrap().flatten() {
        if c.path().join(id).exists() {
            left.push(format!("cgroup {}", c.path().join(id).display()));
        }
    }
    let mi = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    left.extend(
        mi.lines()
            .filter(|l| l.split(' ').nth(4).is_some_and(|m| m.starts_with(&d)))
            .map(|l| format!("mount {l}")),
    );
    left
}

/// The two tests count this process's fds: one at a time.
static SERIAL: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn fd_count() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

/// Check one row under nsrun (and runc); returns the problems found.
fn check(row: &Row) -> Vec<String> {
    let id = format!("badcfg-{}", row.name);
    let dir = bundle(row, &id);
    let mut bad = vec![];
    let n = run_row(&common::nsrun_bin(), &nsrun_root(), &dir, row.cmd, &id);
    if row.code == 0 {
        let _ = nsrun(&["delete", "-f", &id]);
    }
    let level = if row.code == 0 { "warning" } else { "error" };
    for w in row.says {
        if n.code != 0 && !n.stderr.contains(w) {
            bad.push(format!("{}: stderr lacks {w:?}: {}", row.name, n.stderr));
        }
        if !n
            .log
            .iter()
            .any(|l| l["level"] == level && l["msg"].as_str().is_some_and(|m| m.contains(w)))
        {
            bad.push(format!(
                "{}: no {level} log line with {w:?}: {:?}",
                row.name, n.log
            ));
        }
    }
    if n.code != row.code {
        bad.push(format!(
            "{}: exit code {} (want {}): {}",
            row.name, n.code, row.code, n.stderr
        ));
    }
    if n.stderr.contains("panicked") {
        bad.push(format!("{}: panic: {}", row.name, n.stderr));
    }
    bad.extend(
        leftovers(&id, &dir)
            .into_iter()
            .map(|l| format!("{}: left behind: {l}", row.name)),
    );

    if common::have("runc") {
        let r = run_row(Path::new("runc"), &runc_root(), &dir, row.cmd, &id);
        let _ = runc(&["delete", "-f", &id]);
        match row.runc {
            Runc::Says(words) => {
                if r.code != row.code || !words.iter().all(|w| r.stderr.contains(w)) {
                    bad.push(format!(
                        "{}: runc differs from the table: {} {}",
                        row.name, r.code, r.stderr
                    ));
                }
            }
            Runc::Accepts if r.code != 0 => {
                bad.push(format!("{}: runc refused: {}", row.name, r.stderr))
            }
            Runc::Accepts => {}
        }
    }
    bad
}

#[test]
fn bad_configs_fail_clearly_and_leave_nothing() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let _ = rootfs();
    let _ = common::nsrun_bin();
    common::skip_unless(
        common::have("runc"),
        "runc not installed: no comparison with runc",
    );
    let rows = rows();
    let fds = fd_count();
    let bad: Vec<String> = std::thread::scope(|s| {
        let hs: Vec<_> = rows.iter().map(|r| s.spawn(move || check(r))).collect();
        hs.into_iter().flat_map(|h| h.join().unwrap()).collect()
    });
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert_eq!(fd_count(), fds, "fds leaked in the test process");
    assert_dev_null_intact();
}

/// The scan above is not blind: a container that was created is seen by
/// its state dir, its init and its cgroups, and gone after delete.
#[test]
fn leftover_scan_sees_a_created_container() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    let row = Row {
        name: "valid",
        cmd: "create",
        edit: |_| {},
        code: 0,
        says: &[],
        runc: Runc::Accepts,
    };
    let id = "badcfg-valid";
    let dir = bundle(&row, id);
    let n = run_row(&common::nsrun_bin(), &nsrun_root(), &dir, "create", id);
    assert_eq!(n.code, 0, "{}", n.stderr);
    let left = leftovers(id, &dir);
    let _ = nsrun(&["delete", "-f", id]);
    for what in ["state dir", "process", "cgroup /sys/fs/cgroup/unified/"] {
        assert!(
            left.iter().any(|l| l.starts_with(what)),
            "{what} not seen: {left:?}"
        );
    }
    assert_eq!(leftovers(id, &dir), Vec::<String>::new());
    assert_dev_null_intact();
}

/// No mount namespace: runc runs the container in its own mount namespace,
/// chroot'ed into the rootfs with the spec's mounts; so does nsrun. Both run
/// under `unshare -m`, so those mounts land in a throwaway namespace and
/// never on the host. A read-only root cannot be honoured there: nsrun
/// refuses it (see spec/mod.rs), runc ignores it.
fn no_mount_ns(runc: bool, id: &str, readonly: bool) -> (i32, String, String) {
    let dir = common::scratch(id);
    let root = dir.join("rootfs");
    let st = Command::new("cp")
        .arg("-al")
        .arg(rootfs())
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());
    let mut c = base_config(&[
        "sh",
        "-c",
        "echo hi; ls /proc/self/fd >/dev/null && echo proc-ok; ls -d /payload",
    ]);
    c["root"]["path"] = json!(root);
    c["root"]["readonly"] = json!(readonly);
    c["linux"]["namespaces"]
        .as_array_mut()
        .unwrap()
        .retain(|n| n["type"] != "mount");
    c["linux"]["maskedPaths"] = json!([]);
    c["linux"]["readonlyPaths"] = json!([]);
    std::fs::write(dir.join("config.json"), c.to_string()).unwrap();
    let (bin, state) = if runc {
        (PathBuf::from("runc"), runc_root())
    } else {
        (common::nsrun_bin(), nsrun_root())
    };
    let o = Command::new("unshare")
        .args(["-m", "--propagation", "private", "--"])
        .arg(&bin)
        .arg("--root")
        .arg(&state)
        .args(["run", "-b"])
        .arg(&dir)
        .arg(id)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let _ = Command::new(&bin)
        .arg("--root")
        .arg(&state)
        .args(["delete", "-f", id])
        .output();
    (o.status.code().unwrap_or(-1), out(&o), err(&o))
}

#[test]
fn no_mount_namespace_runs_chrooted_like_runc() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    if common::skip_unless(
        common::have("unshare"),
        "unshare (util-linux) not installed",
    ) {
        return;
    }
    let mnt = std::fs::read_to_string("/proc/self/mountinfo").unwrap();
    let (rc, o, e) = no_mount_ns(false, "badcfg-nomnt", false);
    assert_eq!((rc, o.as_str()), (0, "hi\nproc-ok\n/payload\n"), "{e}");
    let (rc, _, e) = no_mount_ns(false, "badcfg-nomnt-ro", true);
    assert_eq!(rc, 1, "{e}");
    assert!(
        e.contains("a read-only rootfs requires a private mount namespace"),
        "{e}"
    );
    if !common::skip_unless(common::have("runc"), "runc not installed: no reference run") {
        let (r_rc, r_o, r_e) = no_mount_ns(true, "badcfg-nomnt", false);
        assert_eq!((r_rc, r_o), (0, o), "runc: {r_e}");
    }
    // Nothing reached the test's (the host's) mount namespace.
    assert_eq!(
        std::fs::read_to_string("/proc/self/mountinfo").unwrap(),
        mnt
    );
    assert_dev_null_intact();
}

/// stderr without its time stamp: `level=error msg="..."` as runc prints it.
fn logfmt_tail(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .map(|l| match l.find(" level=") {
            Some(i) if l.starts_with("time=") => l[i + 1..].to_string(),
            _ => l.to_string(),
        })
        .collect()
}

/// One failing start under a runtime: `cmd` then, for exec, the exec args.
fn init_error(runc: bool, id: &str, edit: fn(&mut Value), exec: &[&str]) -> Vec<String> {
    let dir = common::scratch(id);
    let root = dir.join("rootfs");
    let st = Command::new("cp")
        .arg("-al")
        .arg(rootfs())
        .arg(&root)
        .status()
        .unwrap();
    assert!(st.success());
    let mut c = base_config(&[if exec.is_empty() { "true" } else { "sleep" }, "30"]);
    c["root"]["path"] = json!(root);
    c["linux"]["cgroupsPath"] = json!(format!("/{id}"));
    if exec.is_empty() {
        edit(&mut c);
    }
    std::fs::write(dir.join("config.json"), c.to_string()).unwrap();
    let (bin, state) = if runc {
        (PathBuf::from("runc"), runc_root())
    } else {
        (common::nsrun_bin(), nsrun_root())
    };
    let rt = |args: &[&str]| {
        Command::new(&bin)
            .arg("--root")
            .arg(&state)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .unwrap()
    };
    let d = dir.to_str().unwrap();
    let o = if exec.is_empty() {
        rt(&["run", "-b", d, id])
    } else {
        // Files, not pipes: the detached container keeps its stdio open.
        let ef = dir.join("run-d.err");
        let st = Command::new(&bin)
            .arg("--root")
            .arg(&state)
            .args(["run", "-d", "-b", d, id])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&ef).unwrap())
            .status()
            .unwrap();
        assert!(st.success(), "{}", std::fs::read_to_string(&ef).unwrap());
        // "ID" in the case stands for the container id (flags go before it).
        let mut a = vec!["exec"];
        a.extend(exec.iter().map(|w| if *w == "ID" { id } else { w }));
        rt(&a)
    };
    let _ = rt(&["delete", "-f", id]);
    assert_ne!(o.status.code(), Some(0), "runc={runc} {id} did not fail");
    logfmt_tail(&err(&o))
}

/// runc's error chain, word for word: "unable to start container
/// process: " (+ "error during container init: " before procReady), Go's
/// errno words, cgroups' `failed to write "VALUE": `.
#[test]
fn init_errors_say_runcs_words() {
    let _g = SERIAL.lock().unwrap_or_else(|e| e.into_inner());
    type Case = (
        &'static str,
        fn(&mut Value),
        &'static [&'static str],
        &'static str,
    );
    let cases: [Case; 5] = [
        (
            "words-nobin",
            |c| c["process"]["args"] = json!(["nosuchbin"]),
            &[],
            r#"level=error msg="runc run failed: unable to start container process: exec: \"nosuchbin\": executable file not found in $PATH""#,
        ),
        (
            "words-cwdfile",
            |c| c["process"]["cwd"] = json!("/etc/passwd"),
            &[],
            r#"level=error msg="runc run failed: unable to start container process: error during container init: mkdir /etc/passwd: not a directory""#,
        ),
        (
            "words-cgwrite",
            // Below the kernel's 1 ms minimum: EINVAL on cpu.cfs_quota_us (v1) or cpu.max (v2).
            |c| c["linux"]["resources"] = json!({"cpu": {"quota": 500, "period": 100000}}),
            &[],
            "",
        ),
        (
            "words-execcwd",
            |_| {},
            &["--cwd", "/nonexistent-cwd", "ID", "true"],
            r#"level=error msg="exec failed: unable to start container process: chdir to cwd (\"/nonexistent-cwd\") set in config.json failed: no such file or directory""#,
        ),
        (
            "words-execbin",
            |_| {},
            &["ID", "/nonexistent-bin"],
            r#"level=error msg="exec failed: unable to start container process: exec: \"/nonexistent-bin\": stat /nonexistent-bin: no such file or directory""#,
        ),
    ];
    for (id, edit, exec, want) in cases {
        let n = init_error(false, id, edit, exec);
        if !want.is_empty() {
            assert!(n.iter().any(|l| l == want), "{id}: {n:?}");
        } else {
            let w = r#"msg="runc run failed: unable to start container process: error during container init: error setting cgroup config for procHooks process: failed to write \"500"#;
            assert!(
                n.iter()
                    .any(|l| l.contains(w) && l.ends_with(": invalid argument\"")),
                "{id}: {n:?}"
            );
        }
        for l in &n {
            assert!(
                !l.contains("os error") && !l.contains("EPERM:"),
                "{id}: {l}"
            );
        }
        if !common::skip_unless(common::have("runc"), "runc not installed: no reference run") {
            assert_eq!(
                n,
                init_error(true, id, edit, exec),
                "{id}: nsrun and runc differ"
            );
        }
    }
    assert_dev_null_intact();
}
