//! containerd (Debian 1.6, runc shim v2) and ctr drive nsrun unchanged: each
//! test starts a private daemon (root, state, sockets under a temp dir, CRI
//! off), runs every scenario with `--runc-binary nsrun` and with runc, and
//! requires the same transcript. The shim passes `--root`, `--log
//! <bundle>/log.json --log-format json` and reads runtime errors from that
//! JSON log, so a failing start also checks that log's format.

mod clients_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use clients_support::{args, HostDirs, HostDirsGuard, Out, Runtime, Transcript};

/// The shim v2 puts its sockets in /run/containerd/s whatever the config says.
static HOST_DIRS: HostDirs =
    HostDirs::new(&[("/run/containerd", false), ("/run/containerd/s", false)]);

const IMAGE: &str = "localhost/nsrun-clients/busybox:1";

/// A private containerd and the ctr namespace the test uses (the namespace is
/// also the parent cgroup of every container, so it is unique).
struct Containerd {
    dir: PathBuf,
    ns: String,
    daemon: Option<Child>,
    _host: HostDirsGuard,
}

impl Containerd {
    fn start(tag: &str) -> Containerd {
        let name = clients_support::unique("clients-ctd", tag);
        let host = HOST_DIRS.enter();
        let dir = clients_support::tmp_scratch(&name);
        let d = dir.display();
        // Plugins that need a network, a registry or a filesystem this test
        // does not use are off; `opt` would otherwise create /opt/containerd.
        let config = format!(
            r#"version = 2
root = "{d}/root"
state = "{d}/state"
disabled_plugins = ["io.containerd.grpc.v1.cri", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.snapshotter.v1.aufs", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "{d}/c.sock"
[ttrpc]
  address = "{d}/c.sock.ttrpc"
[debug]
  address = ""
[metrics]
  address = ""
[plugins."io.containerd.monitor.v1.cgroups"]
  no_prometheus = true
[plugins."io.containerd.internal.v1.opt"]
  path = "{d}/opt"
"#
        );
        std::fs::write(dir.join("config.toml"), config).unwrap();
        let log = std::fs::File::create(dir.join("containerd.log")).unwrap();
        let daemon = Command::new("containerd")
            .arg("--config")
            .arg(dir.join("config.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("spawn containerd");
        let c = Containerd {
            dir,
            ns: name,
            daemon: Some(daemon),
            _host: host,
        };
        c.wait_ready();
        c
    }

    fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if self.dir.join("c.sock").exists() && self.ctr(&["version"]).code == 0 {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "containerd did not come up: {}",
                self.daemon_log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("containerd.log")).unwrap_or_default()
    }

    fn argv(&self, a: &[&str]) -> Vec<String> {
        let mut v = args(&[
            "--address",
            &self.dir.join("c.sock").display().to_string(),
            "--namespace",
            &self.ns,
        ]);
        v.extend(args(a));
        v
    }

    fn ctr(&self, a: &[&str]) -> Out {
        clients_support::run("ctr", &self.argv(a), &[], None)
    }

    fn ctr_tty(&self, a: &[&str]) -> Out {
        clients_support::run_tty("ctr", &self.argv(a), &[])
    }

    /// `ctr run` options that point the runc shim at `rt`, with its state
    /// root and stdio fifos inside our dir (their defaults are in /run/containerd).
    fn run_opts(&self, rt: &Runtime) -> Vec<String> {
        vec![
            "--runc-binary".into(),
            rt.path.display().to_string(),
            "--runc-root".into(),
            self.runc_root(rt).display().to_string(),
            "--fifo-dir".into(),
            self.dir.join("fifo").display().to_string(),
        ]
    }

    fn runc_root(&self, rt: &Runtime) -> PathBuf {
        self.dir.join(format!("state-{}", rt.name))
    }

    /// `ctr run <opts> <extra…>`
    fn run(&self, rt: &Runtime, extra: &[&str]) -> Out {
        let mut a = vec!["run".to_string()];
        a.extend(self.run_opts(rt));
        a.extend(args(extra));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        self.ctr(&a)
    }

    fn rootfs(&self) -> PathBuf {
        let r = self.dir.join("rootfs");
        if !r.exists() {
            clients_support::busybox_rootfs(&r);
        }
        r
    }

    /// Build an OCI image archive of the busybox rootfs and import it.
    fn import_image(&self) {
        let archive = oci_archive(&self.rootfs(), &self.dir.join("oci"));
        self.ctr(&["images", "import", archive.to_str().unwrap()])
            .ok();
    }

    /// The task's (pid, status) from `ctr task ls`.
    fn task(&self, id: &str) -> Option<(String, String)> {
        let o = self.ctr(&["task", "ls"]).ok();
        o.stdout.lines().find_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.first() == Some(&id)).then(|| (f[1].to_string(), f[2].to_string()))
        })
    }

    fn wait_status(&self, id: &str, want: &str) -> String {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let st = self.task(id).map(|t| t.1).unwrap_or_default();
            if st == want || Instant::now() > deadline {
                return st;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Host path of the task's cgroup in a v1 controller.
    fn host_cgroup(&self, id: &str, controller: &str) -> PathBuf {
        let (pid, _) = self.task(id).expect("task");
        let (rel, host) = clients_support::host_cgroup(&pid, controller);
        assert_eq!(
            rel,
            format!("/{}/{id}", self.ns),
            "ctr's cgroup path is /<namespace>/<id>"
        );
        host
    }

    /// Stop everything, remove every trace, and fail on what is left.
    fn finish(mut self) {
        self.cleanup();
        let left = clients_support::leftovers(&self.ns, &self.dir);
        assert!(left.is_empty(), "containerd test left: {left:?}");
        assert!(shims(&self.ns).is_empty(), "shims still running");
    }

    fn cleanup(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            if d.try_wait().ok().flatten().is_none() {
                for id in self.ctr(&["containers", "ls", "--quiet"]).stdout.lines() {
                    let _ = self.ctr(&["task", "delete", "--force", id]);
                    let _ = self.ctr(&["containers", "delete", id]);
                }
            }
            // SAFETY: kill(2) of the daemon this test spawned.
            unsafe { libc::kill(d.id() as i32, libc::SIGTERM) };
            let deadline = Instant::now() + Duration::from_secs(5);
            while d.try_wait().ok().flatten().is_none() {
                if Instant::now() > deadline {
                    let _ = d.kill();
                    let _ = d.wait();
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
        }
        // A shim outlives the daemon by design; ours name our socket.
        clients_support::stop_processes_mentioning(&self.dir, Duration::from_secs(5));
        clients_support::remove_cgroups(&self.ns);
        clients_support::remove_tree(&self.dir);
    }
}

impl Drop for Containerd {
    /// After a failure too: no daemon, shim, cgroup, mount or directory stays.
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Pids of containerd-shim-runc-v2 processes serving namespace `ns`.
fn shims(ns: &str) -> Vec<i32> {
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return vec![];
    };
    rd.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .filter(|pid| {
            let cmd = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            let argv: Vec<&[u8]> = cmd.split(|b| *b == 0).collect();
            argv.first()
                .is_some_and(|a| a.ends_with(b"containerd-shim-runc-v2"))
                && argv
                    .windows(2)
                    .any(|w| w[0] == b"-namespace" && w[1] == ns.as_bytes())
        })
        .collect()
}

/// sha256 of a file, with `sha256sum`.
fn sha256(p: &Path) -> String {
    let o = Command::new("sha256sum").arg(p).output().unwrap();
    assert!(o.status.success());
    String::from_utf8_lossy(&o.stdout)
        .split_whitespace()
        .next()
        .unwrap()
        .to_string()
}

/// Move `file` into the layout's blob store; returns (digest, size).
fn add_blob(layout: &Path, file: &Path) -> (String, u64) {
    let sum = sha256(file);
    let size = std::fs::metadata(file).unwrap().len();
    std::fs::rename(file, layout.join("blobs/sha256").join(&sum)).unwrap();
    (format!("sha256:{sum}"), size)
}

/// An OCI image archive (oci-layout, index.json, manifest, config, one gzip
/// layer of `rootfs`) written in `work`, the way `ctr images import` reads it.
fn oci_archive(rootfs: &Path, work: &Path) -> PathBuf {
    let layout = work.join("layout");
    std::fs::create_dir_all(layout.join("blobs/sha256")).unwrap();
    let layer = work.join("layer.tar");
    clients_support::tar_dir(rootfs, &layer);
    let diff_id = format!("sha256:{}", sha256(&layer));
    assert!(Command::new("gzip")
        .arg("-n")
        .arg(&layer)
        .status()
        .unwrap()
        .success());
    let (layer_digest, layer_size) = add_blob(&layout, &work.join("layer.tar.gz"));

    let cfg = serde_json::json!({
        "architecture": "amd64", "os": "linux",
        "config": {"Env": ["PATH=/bin"], "Cmd": ["/bin/sh"]},
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    });
    std::fs::write(work.join("config"), cfg.to_string()).unwrap();
    let (cfg_digest, cfg_size) = add_blob(&layout, &work.join("config"));

    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cfg_digest, "size": cfg_size},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": layer_digest, "size": layer_size}],
    });
    std::fs::write(work.join("manifest"), manifest.to_string()).unwrap();
    let (man_digest, man_size) = add_blob(&layout, &work.join("manifest"));

    let index = serde_json::json!({
        "schemaVersion": 2,
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": man_digest, "size": man_size,
            "annotations": {"io.containerd.image.name": IMAGE, "org.opencontainers.image.ref.name": "1"},
        }],
    });
    std::fs::write(layout.join("index.json"), index.to_string()).unwrap();
    std::fs::write(
        layout.join("oci-layout"),
        r#"{"imageLayoutVersion":"1.0.0"}"#,
    )
    .unwrap();
    let archive = work.join("image.tar");
    clients_support::tar_dir(&layout, &archive);
    archive
}

/// Run `scenario` with every runtime on one private daemon and require the
/// same transcript of (step, outcome) pairs. `id` names the containers.
fn compare(tag: &str, image: bool, scenario: fn(&Containerd, &Runtime, &str) -> Transcript) {
    if !clients_support::can_run(&["containerd", "ctr", "containerd-shim-runc-v2", "script"]) {
        return;
    }
    let c = Containerd::start(tag);
    if image {
        c.import_image();
    }
    let mut runs = vec![];
    for rt in clients_support::runtimes() {
        eprintln!("--- ctr {tag} with {}", rt.name);
        let t = scenario(&c, &rt, &format!("{tag}-{}", rt.name));
        // The shim runs the runtime with `--root <runc-root>/<namespace>`.
        let states = std::fs::read_dir(c.runc_root(&rt).join(&c.ns))
            .map(|d| d.count())
            .unwrap_or(0);
        assert_eq!(states, 0, "{} kept a container state dir", rt.name);
        runs.push((rt.name, t));
    }
    c.finish();
    clients_support::assert_same_transcripts("ctr", &runs);
}

fn outcome(o: &Out) -> String {
    format!("exit {}: {}", o.code, o.stdout.trim())
}

#[test]
fn ctr_run_rm_and_exit_code_with_rootfs() {
    compare("run", false, |c, rt, id| {
        let mut t = vec![];
        let r = c.rootfs();
        let r = r.to_str().unwrap();
        let o = c.run(
            rt,
            &["--rm", "--rootfs", r, id, "/bin/echo", "hello from busybox"],
        );
        assert_eq!(outcome(&o), "exit 0: hello from busybox", "{o:?}");
        t.push(("run --rm", outcome(&o)));

        // A new id: containerd cleans up after a disconnected shim
        // asynchronously (`delete --force <id>`), so an id is not reused at once.
        let id2 = format!("{id}-2");
        let o = c.run(
            rt,
            &["--rm", "--rootfs", r, &id2, "/bin/sh", "-c", "exit 7"],
        );
        assert_eq!(o.code, 7, "{o:?}");
        t.push(("exit code", outcome(&o)));

        let o = c.ctr(&["containers", "ls", "--quiet"]).ok();
        assert_eq!(o.stdout, "", "run --rm left a container");
        t
    });
}

#[test]
fn ctr_failing_start_reports_the_runtime_error() {
    compare("fail", false, |c, rt, id| {
        let r = c.rootfs();
        // The shim reads the last error line of nsrun's JSON --log: ctr must
        // show runc's words, with nothing of the log's framing.
        let o = c.run(
            rt,
            &["--rm", "--rootfs", r.to_str().unwrap(), id, "/nonexistent"],
        );
        assert_eq!(o.code, 1, "{o:?}");
        let want = r#"OCI runtime create failed: runc create failed: unable to start container process: exec: "/nonexistent": stat /nonexistent: no such file or directory: unknown"#;
        assert!(o.stderr.contains(want), "{o:?}");
        let _ = c.ctr(&["containers", "delete", id]);
        vec![(
            "missing executable",
            format!("{} {}", o.code, o.stderr.trim()),
        )]
    });
}

#[test]
fn ctr_detached_task_lifecycle_from_image() {
    compare("life", true, |c, rt, id| {
        let mut t = vec![];
        c.run(rt, &["-d", IMAGE, id, "sleep", "1000"]).ok();
        let (pid, st) = c.task(id).expect("task ls lists the task");
        assert_eq!(st, "RUNNING");
        t.push(("run -d, task ls", st));

        // The pause before exit: ctr 1.6 can drop the last output of an exec
        // that exits right after writing it (reported with runc: concourse#6775).
        let fifo = c.dir.join("fifo");
        let script = "echo exec ok; sleep 0.3; exit 4";
        let o = c.ctr(&[
            "task",
            "exec",
            "--fifo-dir",
            fifo.to_str().unwrap(),
            "--exec-id",
            "e1",
            id,
            "sh",
            "-c",
            script,
        ]);
        assert_eq!(outcome(&o), "exit 4: exec ok", "{o:?}");
        t.push(("task exec", outcome(&o)));

        let o = c.ctr(&["task", "ps", id]).ok();
        let pids: Vec<&str> = o
            .stdout
            .lines()
            .skip(1)
            .filter_map(|l| l.split_whitespace().next())
            .collect();
        assert_eq!(pids, [pid.as_str()], "{o:?}");
        t.push(("task ps", format!("{} pid(s)", pids.len())));

        c.ctr(&["task", "pause", id]).ok();
        let freezer = c.host_cgroup(id, "freezer").join("freezer.state");
        let frozen = std::fs::read_to_string(&freezer).unwrap();
        t.push((
            "pause",
            format!("{} {}", c.task(id).unwrap().1, frozen.trim()),
        ));
        assert_eq!(t.last().unwrap().1, "PAUSED FROZEN");

        c.ctr(&["task", "resume", id]).ok();
        let thawed = std::fs::read_to_string(&freezer).unwrap();
        t.push((
            "resume",
            format!("{} {}", c.task(id).unwrap().1, thawed.trim()),
        ));
        assert_eq!(t.last().unwrap().1, "RUNNING THAWED");

        let o = c.ctr(&["task", "metrics", id]).ok();
        assert!(o.stdout.contains("memory.usage_in_bytes"), "{o:?}");
        t.push(("task metrics", "memory.usage_in_bytes".into()));

        c.ctr(&["task", "kill", "-s", "SIGKILL", id]).ok();
        let st = c.wait_status(id, "STOPPED");
        assert_eq!(st, "STOPPED");
        t.push(("task kill -s SIGKILL", st));

        let o = c.ctr(&["task", "delete", id]).ok();
        t.push(("task delete", outcome(&o)));
        assert!(c.task(id).is_none());

        c.ctr(&["containers", "delete", id]).ok();
        let o = c.ctr(&["containers", "ls", "--quiet"]).ok();
        assert_eq!(o.stdout, "");
        t.push(("container delete", o.stdout));
        t
    });
}

#[test]
fn ctr_run_tty() {
    compare("tty", false, |c, rt, id| {
        let r = c.rootfs();
        let mut a = vec!["run".to_string()];
        a.extend(c.run_opts(rt));
        a.extend(args(&[
            "--rm",
            "-t",
            "--rootfs",
            r.to_str().unwrap(),
            id,
            "/bin/sh",
            "-c",
            "tty; [ -t 1 ] && echo stdout is a tty; exit 5",
        ]));
        let a: Vec<&str> = a.iter().map(String::as_str).collect();
        let o = c.ctr_tty(&a);
        assert_eq!(outcome(&o), "exit 5: /dev/pts/0\nstdout is a tty", "{o:?}");
        vec![("run -t", outcome(&o))]
    });
}

#[test]
fn ctr_memory_limit_reaches_the_cgroup() {
    compare("mem", true, |c, rt, id| {
        c.run(
            rt,
            &[
                "-d",
                "--memory-limit",
                "67108864",
                IMAGE,
                id,
                "sleep",
                "1000",
            ],
        )
        .ok();
        let limit =
            std::fs::read_to_string(c.host_cgroup(id, "memory").join("memory.limit_in_bytes"))
                .unwrap();
        assert_eq!(limit.trim(), "67108864");
        c.ctr(&["task", "kill", "-s", "SIGKILL", id]).ok();
        assert_eq!(c.wait_status(id, "STOPPED"), "STOPPED");
        c.ctr(&["task", "delete", id]).ok();
        c.ctr(&["containers", "delete", id]).ok();
        vec![("--memory-limit", limit.trim().to_string())]
    });
}
