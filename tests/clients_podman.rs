//! podman (Debian 4.3, with conmon) drives nsrun unchanged: every scenario runs
//! once with nsrun and once with runc, in private storage with no network and
//! no registry, and the two transcripts must be equal.
//!
//! podman is given nsrun with `--runtime <path>` only; everything else comes
//! from a private containers.conf, storage.conf and registries.conf. The
//! runtime keeps its default state root: podman 4.3 does not pass
//! `--runtime-flag` on to the cleanup process conmon runs at exit, whose
//! `delete --force` would then miss a private root (container ids are
//! 64-hex and unique, so sharing the default root is safe).

mod clients_support;
mod common;

use std::path::{Path, PathBuf};
use std::time::Duration;

use clients_support::{args, HostDirs, HostDirsGuard, Out, Runtime, Transcript};

/// Directories podman 4.3 creates as root whatever its configuration says:
/// containers/image's blob-info cache and netavark's run dir (with its IPAM
/// db: buildah opens it even for a step without a network).
static HOST_DIRS: HostDirs = HostDirs::new(&[
    ("/var/lib/containers", false),
    ("/var/lib/containers/cache", true),
    ("/run/containers", false),
    ("/run/containers/networks", true),
]);

const IMAGE: &str = "localhost/nsrun-clients/busybox:1";

/// One private podman installation using one runtime.
struct Podman {
    dir: PathBuf,
    rt: Runtime,
    /// The cgroup parent of every container, unique to this test and runtime.
    cg: String,
    _host: HostDirsGuard,
}

impl Podman {
    fn new(tag: &str, rt: &Runtime) -> Podman {
        let name = clients_support::unique("clients-pm", &format!("{tag}-{}", rt.name));
        let host = HOST_DIRS.enter();
        // Under /tmp, not target/: podman refuses a runroot longer than 50 bytes.
        let dir = clients_support::tmp_scratch(&name);
        let p = Podman {
            cg: format!("/{name}"),
            dir,
            rt: rt.clone(),
            _host: host,
        };
        p.configure();
        let rootfs = p.dir.join("rootfs");
        clients_support::busybox_rootfs(&rootfs);
        let tarball = p.dir.join("rootfs.tar");
        clients_support::tar_dir(&rootfs, &tarball);
        p.podman(&["import", tarball.to_str().unwrap(), IMAGE]).ok();
        p
    }

    /// Private config files: conf, storage and registries all point into `dir`.
    fn configure(&self) {
        let d = self.dir.display();
        for sub in ["tmp", "net"] {
            std::fs::create_dir_all(self.dir.join(sub)).unwrap();
        }
        // The host's hard nofile limit (20000) is below podman's default
        // ulimits, so set our own; netns none keeps it off every network.
        // runtime_supports_json names nsrun so podman asks it for a JSON error
        // log exactly as it asks runc (podman decides by the binary's name).
        let conf = format!(
            r#"[containers]
default_ulimits = ["nofile=1024:1024", "nproc=4096:4096"]
netns = "none"
[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
events_logfile_path = "{d}/events.log"
tmp_dir = "{d}/tmp"
static_dir = "{d}/root/libpod"
volume_path = "{d}/root/volumes"
image_copy_tmp_dir = "{d}/tmp"
runtime_supports_json = ["nsrun", "runc", "crun"]
[network]
network_config_dir = "{d}/net"
"#
        );
        std::fs::write(self.dir.join("containers.conf"), conf).unwrap();
        let storage = format!(
            "[storage]\ndriver = \"vfs\"\ngraphroot = \"{d}/root\"\nrunroot = \"{d}/rr\"\n"
        );
        std::fs::write(self.dir.join("storage.conf"), storage).unwrap();
        std::fs::write(
            self.dir.join("registries.conf"),
            "unqualified-search-registries = []\n",
        )
        .unwrap();
    }

    fn envs(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("CONTAINERS_CONF", self.dir.join("containers.conf")),
            ("CONTAINERS_STORAGE_CONF", self.dir.join("storage.conf")),
            (
                "CONTAINERS_REGISTRIES_CONF",
                self.dir.join("registries.conf"),
            ),
            ("TMPDIR", self.dir.join("tmp")),
        ]
    }

    fn argv(&self, a: &[&str]) -> Vec<String> {
        let d = &self.dir;
        let mut v = vec![
            "--root".to_string(),
            d.join("root").display().to_string(),
            "--runroot".into(),
            d.join("rr").display().to_string(),
            "--storage-driver".into(),
            "vfs".into(),
            "--runtime".into(),
            self.rt.path.display().to_string(),
        ];
        v.extend(args(a));
        // Every container goes under our own cgroup parent, never libpod_parent.
        if a.first() == Some(&"run") {
            v.insert(
                v.len() - a.len() + 1,
                format!("--cgroup-parent={}", self.cg),
            );
        }
        v
    }

    fn podman(&self, a: &[&str]) -> Out {
        self.podman_in(a, None)
    }

    fn podman_in(&self, a: &[&str], input: Option<&str>) -> Out {
        let envs = self.envs();
        let envs: Vec<(&str, &Path)> = envs.iter().map(|(k, v)| (*k, v.as_path())).collect();
        self.normalise(clients_support::run("podman", &self.argv(a), &envs, input))
    }

    /// buildah (which runs a `run` step through the OCI runtime) on the
    /// same storage; `run` gets `--runtime`.
    fn buildah(&self, a: &[&str], input: Option<&str>) -> Out {
        let d = &self.dir;
        let mut v = args(&[
            "--root",
            d.join("root").to_str().unwrap(),
            "--runroot",
            d.join("rr").to_str().unwrap(),
        ]);
        v.extend(args(&["--storage-driver", "vfs"]));
        v.extend(args(a));
        if a.first() == Some(&"run") {
            let at = v.len() - a.len() + 1;
            v.splice(
                at..at,
                [
                    format!("--runtime={}", self.rt.path.display()),
                    "--network=none".into(),
                ],
            );
        }
        let envs = self.envs();
        let envs: Vec<(&str, &Path)> = envs.iter().map(|(k, v)| (*k, v.as_path())).collect();
        self.normalise(clients_support::run("buildah", &v, &envs, input))
    }

    /// podman on a pty, as from a terminal.
    fn podman_tty(&self, a: &[&str]) -> Out {
        let envs = self.envs();
        let envs: Vec<(&str, &Path)> = envs.iter().map(|(k, v)| (*k, v.as_path())).collect();
        self.normalise(clients_support::run_tty("podman", &self.argv(a), &envs))
    }

    /// The runtime's path appears in podman's error messages: make it neutral
    /// so nsrun's and runc's transcripts compare.
    fn normalise(&self, o: Out) -> Out {
        let p = self.rt.path.display().to_string();
        Out {
            stdout: o.stdout.replace(&p, "<runtime>"),
            stderr: o.stderr.replace(&p, "<runtime>"),
            ..o
        }
    }

    fn status(&self, c: &str) -> String {
        self.podman(&["inspect", "-f", "{{.State.Status}} {{.State.ExitCode}}", c])
            .ok()
            .stdout
            .trim()
            .to_string()
    }

    /// Host path of a container's cgroup in one v1 controller.
    fn host_cgroup(&self, c: &str, controller: &str) -> PathBuf {
        let pid = self
            .podman(&["inspect", "-f", "{{.State.Pid}}", c])
            .ok()
            .stdout
            .trim()
            .to_string();
        let (rel, host) = clients_support::host_cgroup(&pid, controller);
        assert!(
            rel.starts_with(&self.cg),
            "container not under our cgroup parent: {rel}"
        );
        host
    }

    /// Remove every container, then every trace; what is left after that is
    /// a failure.
    fn finish(self) {
        self.cleanup();
        let left = clients_support::leftovers(&self.cg, &self.dir);
        assert!(left.is_empty(), "podman/{} left: {left:?}", self.rt.name);
    }

    fn cleanup(&self) {
        if self.dir.exists() {
            let _ = self.podman(&["rm", "--all", "--force", "--time", "0"]);
            if common::have("buildah") {
                let _ = self.buildah(&["rm", "--all"], None);
            }
        }
        // conmon and the cleanup process it runs at exit name our storage.
        clients_support::stop_processes_mentioning(&self.dir, Duration::from_secs(10));
        clients_support::remove_cgroups(&self.cg);
        clients_support::remove_tree(&self.dir);
    }
}

impl Drop for Podman {
    /// After a failure too: no container, cgroup, mount or directory stays.
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// Run `scenario` with every runtime and require the same transcript: a list
/// of (step, outcome) pairs.
fn compare(tag: &str, scenario: fn(&Podman) -> Transcript) {
    if !clients_support::can_run(&["podman", "conmon", "script"]) {
        return;
    }
    let mut runs = vec![];
    for rt in clients_support::runtimes() {
        eprintln!("--- podman {tag} with {}", rt.name);
        let p = Podman::new(tag, &rt);
        let t = scenario(&p);
        p.finish();
        runs.push((rt.name, t));
    }
    clients_support::assert_same_transcripts("podman", &runs);
}

fn outcome(o: &Out) -> String {
    format!("exit {}: {}", o.code, o.stdout.trim())
}

#[test]
fn podman_run_rm_exit_code_and_stdin() {
    compare("run", |p| {
        let mut t = vec![];
        let o = p.podman(&["run", "--rm", IMAGE, "echo", "hello from busybox"]);
        assert_eq!(outcome(&o), "exit 0: hello from busybox", "{o:?}");
        t.push(("run --rm echo", outcome(&o)));

        let o = p.podman(&["run", "--rm", IMAGE, "sh", "-c", "exit 7"]);
        assert_eq!(o.code, 7, "{o:?}");
        t.push(("exit code", outcome(&o)));

        let o = p.podman_in(
            &["run", "--rm", "-i", IMAGE, "sh", "-c", "cat; echo end"],
            Some("piped in\n"),
        );
        assert_eq!(outcome(&o), "exit 0: piped in\nend", "{o:?}");
        t.push(("run -i", outcome(&o)));

        // A failing start: podman reads the runtime's JSON error log and
        // classifies it; the words must be runc's.
        let o = p.podman(&["run", "--rm", IMAGE, "/nonexistent"]);
        assert_eq!(o.code, 127, "{o:?}");
        assert!(o.stderr.contains("no such file or directory"), "{o:?}");
        t.push((
            "missing executable",
            format!("{} {}", o.code, o.stderr.trim()),
        ));

        // podman's --tmpfs is a "tmpcopyup" tmpfs: mountinfo shows its
        // source and type as runc's mount(2) leaves them.
        let show = "grep ' /scratch ' /proc/self/mountinfo | sed 's/.* - //'";
        let o = p.podman(&[
            "run", "--rm", "--tmpfs", "/scratch", IMAGE, "sh", "-c", show,
        ]);
        assert!(o.stdout.starts_with("tmpfs tmpfs rw"), "{o:?}");
        t.push(("--tmpfs", outcome(&o)));

        let o = p.podman(&["ps", "--all", "--quiet"]).ok();
        assert_eq!(o.stdout, "", "run --rm left a container");
        t
    });
}

#[test]
fn podman_detached_lifecycle() {
    compare("life", |p| {
        let mut t = vec![];
        let o = p
            .podman(&["run", "-d", "--name", "c", IMAGE, "sleep", "1000"])
            .ok();
        let id = o.stdout.trim().to_string();
        assert_eq!(id.len(), 64, "{o:?}");
        t.push(("run -d", p.status("c")));
        assert_eq!(p.status("c"), "running 0");

        let o = p
            .podman(&["ps", "--format", "{{.Names}} {{.Command}}"])
            .ok();
        t.push(("ps", o.stdout.trim().to_string()));
        assert_eq!(o.stdout.trim(), "c sleep 1000");

        let o = p.podman(&["exec", "c", "sh", "-c", "echo exec ok; exit 3"]);
        assert_eq!(outcome(&o), "exit 3: exec ok", "{o:?}");
        t.push(("exec", outcome(&o)));

        let o = p.podman_tty(&[
            "exec",
            "-t",
            "c",
            "sh",
            "-c",
            "tty; [ -t 0 ] && echo stdin is a tty",
        ]);
        assert_eq!(outcome(&o), "exit 0: /dev/pts/0\nstdin is a tty", "{o:?}");
        t.push(("exec -t", outcome(&o)));

        let o = p.podman(&["exec", "c", "/nonexistent"]);
        assert_eq!(o.code, 127, "{o:?}");
        t.push(("exec missing", format!("{} {}", o.code, o.stderr.trim())));

        let o = p.podman(&["top", "c", "pid", "comm"]).ok();
        let rows: Vec<String> = o
            .stdout
            .lines()
            .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(rows, ["PID COMMAND", "1 sleep"], "{o:?}");
        t.push(("top", rows.join("|")));

        p.podman(&["pause", "c"]).ok();
        let freezer = p.host_cgroup("c", "freezer").join("freezer.state");
        let frozen = std::fs::read_to_string(&freezer).unwrap();
        assert_eq!(frozen.trim(), "FROZEN");
        t.push(("pause", format!("{} {}", p.status("c"), frozen.trim())));

        p.podman(&["unpause", "c"]).ok();
        let thawed = std::fs::read_to_string(&freezer).unwrap();
        assert_eq!(thawed.trim(), "THAWED");
        t.push(("unpause", format!("{} {}", p.status("c"), thawed.trim())));

        // sleep is pid 1 and ignores SIGTERM: stop escalates to SIGKILL.
        let o = p.podman(&["stop", "-t", "1", "c"]).ok();
        t.push(("stop", format!("{} {}", o.stdout.trim(), p.status("c"))));
        assert_eq!(p.status("c"), "exited 137");

        p.podman(&["start", "c"]).ok();
        t.push(("start", p.status("c")));
        assert_eq!(p.status("c"), "running 0");

        p.podman(&["kill", "c"]).ok();
        let o = p.podman(&["wait", "c"]).ok();
        t.push(("kill", format!("{} {}", o.stdout.trim(), p.status("c"))));
        assert_eq!(o.stdout.trim(), "137");

        p.podman(&["rm", "c"]).ok();
        let o = p.podman(&["ps", "--all", "--quiet"]).ok();
        t.push(("rm", o.stdout.clone()));
        assert_eq!(o.stdout, "");
        let state = Path::new(p.rt.default_root()).join(&id);
        assert!(
            !state.exists(),
            "the runtime kept {} after rm",
            state.display()
        );
        t
    });
}

#[test]
fn podman_run_tty() {
    compare("tty", |p| {
        let o = p.podman_tty(&[
            "run",
            "--rm",
            "-t",
            IMAGE,
            "sh",
            "-c",
            "tty; [ -t 1 ] && echo stdout is a tty; exit 6",
        ]);
        assert_eq!(outcome(&o), "exit 6: /dev/pts/0\nstdout is a tty", "{o:?}");
        vec![("run -t", outcome(&o))]
    });
}

#[test]
fn podman_memory_and_pids_limits() {
    compare("limits", |p| {
        let mut t = vec![];
        let read = "cat /sys/fs/cgroup/memory/memory.limit_in_bytes /sys/fs/cgroup/pids/pids.max";
        let o = p.podman(&[
            "run",
            "--rm",
            "--memory",
            "64m",
            "--pids-limit",
            "50",
            IMAGE,
            "sh",
            "-c",
            read,
        ]);
        assert_eq!(outcome(&o), "exit 0: 67108864\n50", "{o:?}");
        t.push(("limits inside", outcome(&o)));

        // The same limits, read on the host from the cgroup init really is in.
        p.podman(&[
            "run",
            "-d",
            "--name",
            "l",
            "--memory",
            "64m",
            "--pids-limit",
            "50",
            IMAGE,
            "sleep",
            "1000",
        ])
        .ok();
        let mem =
            std::fs::read_to_string(p.host_cgroup("l", "memory").join("memory.limit_in_bytes"))
                .unwrap();
        let pids = std::fs::read_to_string(p.host_cgroup("l", "pids").join("pids.max")).unwrap();
        assert_eq!((mem.trim(), pids.trim()), ("67108864", "50"));
        t.push(("limits on host", format!("{} {}", mem.trim(), pids.trim())));
        p.podman(&["rm", "--force", "--time", "0", "l"]).ok();
        t
    });
}

/// buildah is not named in the issue but is podman's sibling: a `buildah run`
/// step goes through the runtime's create/start/delete with its own config.
#[test]
fn buildah_run_steps() {
    if common::skip_unless(common::have("buildah"), "buildah not installed") {
        return;
    }
    compare("bud", |p| {
        let mut t = vec![];
        let o = p
            .buildah(&["from", "--pull=never", "--name", "w", IMAGE], None)
            .ok();
        assert_eq!(o.stdout.trim(), "w");
        let o = p.buildah(&["run", "w", "sh", "-c", "echo step ran; exit 3"], None);
        assert_eq!(outcome(&o), "exit 3: step ran", "{o:?}");
        t.push(("buildah run exit code", outcome(&o)));
        let o = p.buildah(&["run", "w", "cat"], Some("piped in\n"));
        assert_eq!(outcome(&o), "exit 0: piped in", "{o:?}");
        t.push(("buildah run stdin", outcome(&o)));
        p.buildah(&["rm", "w"], None).ok();
        t
    });
}
