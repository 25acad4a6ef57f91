//! Docker (Debian's docker.io 20.10: dockerd, its managed containerd 1.6 and
//! the runc shim v2) drives nsrun unchanged. Each test starts a private
//! dockerd (data root, exec root, socket and pidfile under a temp dir, no
//! iptables, no bridge, no network, its own cgroup parent) with
//! `--add-runtime nsrun=<built binary>` beside its built-in `runc`
//! (/usr/sbin/runc), imports a busybox-static image with `docker import`, and
//! runs every scenario with `--runtime nsrun` and with `--runtime runc`: the
//! two transcripts (outputs, exit codes, error words, cgroup values) must be
//! equal, container ids and the runtime's name aside.
//!
//! Two lanes run every scenario: Debian's docker.io 20.10 (`debian_20_10::`)
//! and Docker 28 from Debian sid with containerd 2.1 (`sid_28::`, installed
//! privately by tests/peers/install.sh). The reference runtime is runc
//! 1.1.5 in both, the runc nsrun follows.

mod clients_support;
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use clients_support::{args, Applets, HostDirs, HostDirsGuard, Out, Runtime, Transcript};

/// What dockerd 20.10 creates whatever its flags say: its libtrust key (in
/// /etc/docker, not beside --config-file), the plugin socket dir, the managed
/// containerd's `opt` plugin dir, and the shim v2's socket dir.
static HOST_DIRS: HostDirs = HostDirs::new(&[
    ("/etc/docker", false),
    ("/etc/docker/key.json", false),
    ("/run/docker", false),
    ("/run/docker/plugins", false),
    ("/opt/containerd", true),
    ("/run/containerd", false),
    ("/run/containerd/s", false),
]);

/// dockerd resolves `runc`, `containerd`, the shim and `docker-init` on its
/// PATH: this one makes them Debian's (runc is /usr/sbin/runc, docker-init
/// Debian's tini); a lane may put its own containerd in front.
const SYSTEM_PATH: &str = "/usr/sbin:/usr/bin:/sbin:/bin";
const IMAGE: &str = "nsrun-clients/busybox:1";

/// Which Docker drives the runtimes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Lane {
    /// Debian 12's docker.io 20.10 with its containerd 1.6.
    Debian,
    /// sid's Docker 28 with containerd 2.1 (tests/peers/install.sh).
    Sid,
}

impl Lane {
    /// Where dockerd and docker are, and dockerd's PATH; None (with a skip
    /// line, or a failure under NSRUN_TEST_STRICT=1) when not installed.
    fn bins(self) -> Option<(PathBuf, PathBuf, String)> {
        match self {
            // Debian's client, not another `docker` earlier on PATH.
            Lane::Debian => Some((
                "/usr/sbin/dockerd".into(),
                "/usr/bin/docker".into(),
                SYSTEM_PATH.into(),
            )),
            Lane::Sid => {
                let dir = common::docker_28_bin();
                if common::skip_unless(
                    dir.is_some(),
                    "Docker 28 from sid not installed (run tests/peers/install.sh)",
                ) {
                    return None;
                }
                let dir = dir.unwrap();
                let path = format!("{}:{SYSTEM_PATH}", dir.display());
                Some((dir.join("dockerd"), dir.join("docker"), path))
            }
        }
    }

    fn suffix(self) -> &'static str {
        match self {
            Lane::Debian => "",
            Lane::Sid => "-28",
        }
    }
}

/// A private dockerd.
struct Docker {
    dir: PathBuf,
    /// The client binary of this lane.
    cli: PathBuf,
    /// The daemon's --cgroup-parent, unique to this test.
    cg: String,
    daemon: Option<Child>,
    _host: HostDirsGuard,
}

impl Docker {
    fn start(lane: Lane, tag: &str) -> Option<Docker> {
        let (dockerd, cli, path) = lane.bins()?;
        let name = clients_support::unique("clients-dk", &format!("{tag}{}", lane.suffix()));
        let host = HOST_DIRS.enter();
        // Short: containerd's socket lives under the exec root (108 bytes).
        let dir = clients_support::tmp_scratch(&name);
        for sub in ["data", "exec", "cli"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // An empty config, so /etc/docker/daemon.json is never read.
        std::fs::write(dir.join("daemon.json"), "{}\n").unwrap();
        let nsrun = common::nsrun_bin();
        let log = std::fs::File::create(dir.join("dockerd.log")).unwrap();
        let mut cmd = Command::new(dockerd);
        cmd.env("PATH", path)
            .args(daemon_args(&dir, &name, &nsrun))
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        let daemon = cmd.spawn().expect("spawn dockerd");
        let d = Docker {
            dir,
            cli,
            cg: format!("/{name}"),
            daemon: Some(daemon),
            _host: host,
        };
        d.wait_ready();
        Some(d)
    }

    fn wait_ready(&self) {
        let up = clients_support::wait_for(30, || {
            (self.dir.join("d.sock").exists() && self.docker(&["version"]).code == 0).then_some(())
        });
        assert!(
            up.is_some(),
            "dockerd did not come up: {}",
            self.daemon_log()
        );
    }

    fn daemon_log(&self) -> String {
        std::fs::read_to_string(self.dir.join("dockerd.log")).unwrap_or_default()
    }

    fn argv(&self, a: &[&str]) -> Vec<String> {
        let mut v = args(&[
            "-H",
            &format!("unix://{}", self.dir.join("d.sock").display()),
        ]);
        v.extend(args(a));
        v
    }

    /// The CLI's config (~/.docker) stays in our dir too.
    fn envs(&self) -> Vec<(&'static str, PathBuf)> {
        vec![("DOCKER_CONFIG", self.dir.join("cli"))]
    }

    fn docker(&self, a: &[&str]) -> Out {
        self.docker_in(a, None)
    }

    fn docker_in(&self, a: &[&str], input: Option<&str>) -> Out {
        let envs = self.envs();
        let envs: Vec<(&str, &Path)> = envs.iter().map(|(k, v)| (*k, v.as_path())).collect();
        normalise(clients_support::run(
            self.cli.to_str().unwrap(),
            &self.argv(a),
            &envs,
            input,
        ))
    }

    fn docker_tty(&self, a: &[&str]) -> Out {
        let envs = self.envs();
        let envs: Vec<(&str, &Path)> = envs.iter().map(|(k, v)| (*k, v.as_path())).collect();
        normalise(clients_support::run_tty(
            self.cli.to_str().unwrap(),
            &self.argv(a),
            &envs,
        ))
    }

    /// `docker run --runtime <rt> --network none <a…>`: no container of this
    /// test has a network (the daemon has no bridge).
    fn run(&self, rt: &Runtime, a: &[&str]) -> Out {
        self.docker(&self.run_argv(rt, a))
    }

    fn run_in(&self, rt: &Runtime, a: &[&str], input: &str) -> Out {
        self.docker_in(&self.run_argv(rt, a), Some(input))
    }

    fn run_argv<'a>(&self, rt: &'a Runtime, a: &[&'a str]) -> Vec<&'a str> {
        let mut v = vec!["run", "--runtime", rt.name];
        if !a.iter().any(|x| x.starts_with("--network")) {
            v.push("--network=none");
        }
        v.extend_from_slice(a);
        v
    }

    /// `docker inspect -f <format> <c>`, trimmed.
    fn inspect(&self, c: &str, format: &str) -> String {
        self.docker(&["inspect", "-f", format, c])
            .ok()
            .stdout
            .trim()
            .to_string()
    }

    fn status(&self, c: &str) -> String {
        self.inspect(c, "{{.State.Status}} {{.State.ExitCode}}")
    }

    /// Wait until `inspect -f format` prints `want`; returns what it printed last.
    fn wait_inspect(&self, c: &str, format: &str, want: &str, secs: u64) -> String {
        let mut last = String::new();
        clients_support::wait_for(secs, || {
            last = self.inspect(c, format);
            (last == want).then_some(())
        });
        last
    }

    /// Host path of a container's cgroup in one v1 controller, checked to
    /// be under the daemon's cgroup parent.
    fn host_cgroup(&self, c: &str, controller: &str) -> PathBuf {
        let pid = self.inspect(c, "{{.State.Pid}}");
        let (rel, host) = clients_support::host_cgroup(&pid, controller);
        // inspect's id is normalised: compare the shape, `<parent>/<64 hex>`.
        let id = rel.strip_prefix(&format!("{}/", self.cg)).unwrap_or("");
        assert!(
            id.len() == 64 && normalise_ids(id) == "<id>",
            "docker's cgroup path: {rel}"
        );
        host
    }

    /// Where dockerd has the shim keep `rt`'s state (`--root` of every
    /// runtime call): <exec-root>/runtime-<name>/moby.
    fn state_root(&self, rt: &Runtime) -> PathBuf {
        self.dir
            .join("exec")
            .join(format!("runtime-{}", rt.name))
            .join("moby")
    }

    /// Stop everything, remove every trace, and fail on what is left.
    fn finish(mut self) {
        let log = self.daemon_log();
        self.cleanup();
        let left = clients_support::leftovers(&self.cg, &self.dir);
        assert!(left.is_empty(), "docker test left: {left:?}\n{log}");
    }

    fn cleanup(&mut self) {
        if let Some(mut d) = self.daemon.take() {
            if d.try_wait().ok().flatten().is_none() {
                let ids = self.docker(&["ps", "--all", "--quiet"]).stdout;
                for id in ids.lines() {
                    let _ = self.docker(&["rm", "--force", "--volumes", id]);
                }
            }
            // SAFETY: kill(2) of the daemon this test spawned.
            unsafe { libc::kill(d.id() as i32, libc::SIGTERM) };
            let exited = clients_support::wait_for(15, || d.try_wait().ok().flatten());
            if exited.is_none() {
                let _ = d.kill();
                let _ = d.wait();
            }
        }
        // The managed containerd and the shims name our dirs.
        clients_support::stop_processes_mentioning(&self.dir, Duration::from_secs(5));
        clients_support::remove_cgroups(&self.cg);
        clients_support::remove_tree(&self.dir);
    }
}

impl Drop for Docker {
    /// After a failure too: no daemon, shim, container, cgroup, mount or
    /// directory stays.
    fn drop(&mut self) {
        self.cleanup();
    }
}

/// dockerd's command line: everything private, nothing on the network.
fn daemon_args(dir: &Path, name: &str, nsrun: &Path) -> Vec<String> {
    let d = dir.display();
    args(&[
        &format!("--config-file={d}/daemon.json"),
        &format!("--data-root={d}/data"),
        &format!("--exec-root={d}/exec"),
        &format!("--host=unix://{d}/d.sock"),
        &format!("--pidfile={d}/dockerd.pid"),
        "--iptables=false",
        "--ip6tables=false",
        "--ip-forward=false",
        "--ip-masq=false",
        "--bridge=none",
        "--userland-proxy=false",
        // No overlay-on-overlay or kernel-module questions: a plain copy.
        "--storage-driver=vfs",
        &format!("--cgroup-parent=/{name}"),
        &format!("--add-runtime=nsrun={}", nsrun.display()),
    ])
}

/// Container ids (64 or 12 lowercase hex digits, which docker also uses as
/// the default hostname) become `<id>`.
fn normalise_ids(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = String::with_capacity(s.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| c.is_ascii_digit() || (b'a'..=b'f').contains(&c);
        let word = |c: u8| c.is_ascii_alphanumeric();
        if hex(b[i]) && (i == 0 || !word(b[i - 1])) {
            let mut j = i;
            while j < b.len() && hex(b[j]) {
                j += 1;
            }
            if (j - i == 12 || j - i == 64) && (j == b.len() || !word(b[j])) {
                out.push_str("<id>");
                i = j;
                continue;
            }
        }
        out.push(b[i] as char);
        i += 1;
    }
    out
}

/// Ids out, and the runtime's name and path neutral, so nsrun's and runc's
/// transcripts compare. The CLI's "error waiting for container: context
/// canceled" after a failed `run` is a race inside docker 20.10's client
/// (it cancels its own wait when the start fails), with either runtime.
fn normalise(o: Out) -> Out {
    let n = |s: &str| {
        let s: String = s
            .lines()
            .filter(|l| !l.contains("error waiting for container: context canceled"))
            .map(|l| format!("{l}\n"))
            .collect();
        let s = normalise_ids(&s);
        s.replace(&common::nsrun_bin().display().to_string(), "<runtime>")
            .replace("/usr/sbin/runc", "<runtime>")
            .replace("-nsrun", "-<rt>")
            .replace("-runc", "-<rt>")
    };
    Out {
        stdout: n(&o.stdout),
        stderr: n(&o.stderr),
        ..o
    }
}

/// Run `scenario` with every runtime on one private daemon and require the
/// same transcript; `c` is a container name unique to the runtime.
fn compare(lane: Lane, tag: &str, scenario: fn(&Docker, &Runtime, &str) -> Transcript) {
    if !clients_support::can_run(&[
        "/usr/sbin/dockerd",
        "/usr/bin/docker",
        "containerd",
        "docker-init",
        "script",
    ]) {
        return;
    }
    let Some(d) = Docker::start(lane, tag) else {
        return;
    };
    let rootfs = d.dir.join("rootfs");
    clients_support::busybox_rootfs_with(&rootfs, Applets::Hardlinks);
    let tarball = d.dir.join("rootfs.tar");
    clients_support::tar_dir(&rootfs, &tarball);
    let o = d
        .docker(&[
            "import",
            "--change",
            "ENV PATH=/bin",
            "--change",
            "CMD [\"sh\"]",
            tarball.to_str().unwrap(),
            IMAGE,
        ])
        .ok();
    assert!(o.stdout.starts_with("sha256:"), "{o:?}");
    let mut runs = vec![];
    for rt in clients_support::runtimes() {
        eprintln!("--- docker {tag} with {}", rt.name);
        let t = scenario(&d, &rt, &format!("{tag}-{}", rt.name));
        let o = d.docker(&["ps", "--all", "--quiet"]).ok();
        assert_eq!(o.stdout, "", "{tag}/{}: a container is left", rt.name);
        let states = std::fs::read_dir(d.state_root(&rt))
            .map(|r| r.count())
            .unwrap_or(0);
        assert_eq!(states, 0, "{} kept a container state dir", rt.name);
        for (step, out) in &t {
            eprintln!("{}: {step}: {out}", rt.name);
        }
        runs.push((rt.name, t));
    }
    d.finish();
    clients_support::assert_same_transcripts("docker", &runs);
}

fn outcome(o: &Out) -> String {
    format!("exit {}: {}", o.code, o.stdout.trim())
}

/// Exit code, stdout and stderr: for steps whose error words matter.
fn outcome_all(o: &Out) -> String {
    format!("exit {}: {} | {}", o.code, o.stdout.trim(), o.stderr.trim())
}

fn docker_run_rm_exit_codes_stdin_and_tty(lane: Lane) {
    compare(lane, "run", |d, rt, _| {
        let mut t = vec![];
        let o = d.run(rt, &["--rm", IMAGE, "echo", "hello from busybox"]);
        assert_eq!(outcome_all(&o), "exit 0: hello from busybox | ", "{o:?}");
        t.push(("run --rm echo", outcome_all(&o)));

        let o = d.run(rt, &["--rm", IMAGE, "sh", "-c", "exit 7"]);
        assert_eq!(o.code, 7, "{o:?}");
        t.push(("exit code", outcome(&o)));

        let o = d.run(
            rt,
            &[
                "--rm",
                IMAGE,
                "sh",
                "-c",
                "sleep 9 & kill -KILL $!; wait $!",
            ],
        );
        assert_eq!(o.code, 137, "{o:?}");
        t.push(("killed by a signal", outcome(&o)));

        let o = d.run_in(
            rt,
            &["--rm", "-i", IMAGE, "sh", "-c", "cat; echo end"],
            "piped in\n",
        );
        assert_eq!(outcome(&o), "exit 0: piped in\nend", "{o:?}");
        t.push(("run -i", outcome(&o)));

        let o = d.docker_tty(&d.run_argv(
            rt,
            &[
                "--rm",
                "-t",
                IMAGE,
                "sh",
                "-c",
                "tty; [ -t 1 ] && echo stdout is a tty; exit 6",
            ],
        ));
        assert_eq!(outcome(&o), "exit 6: /dev/pts/0\nstdout is a tty", "{o:?}");
        t.push(("run -t", outcome(&o)));

        let o = d.docker_tty(&d.run_argv(
            rt,
            &[
                "--rm",
                "-it",
                IMAGE,
                "sh",
                "-c",
                "[ -t 0 ] && echo stdin is a tty",
            ],
        ));
        assert_eq!(outcome(&o), "exit 0: stdin is a tty", "{o:?}");
        t.push(("run -it", outcome(&o)));

        // Failing starts: dockerd shows the runtime's error words (from the
        // shim, which reads the runtime's JSON log) and maps them to 127/126.
        let o = d.run(rt, &["--rm", IMAGE, "/nonexistent"]);
        assert_eq!(o.code, 127, "{o:?}");
        assert!(o.stderr.contains("no such file or directory"), "{o:?}");
        t.push(("missing executable", outcome_all(&o)));

        let o = d.run(rt, &["--rm", IMAGE, "/etc/passwd"]);
        assert_eq!(o.code, 126, "{o:?}");
        t.push(("not executable", outcome_all(&o)));

        let o = d.run(rt, &["--rm", "-w", "/nonexistent", IMAGE, "pwd"]);
        t.push(("missing workdir is made", outcome_all(&o)));
        t
    });
}

fn docker_detached_lifecycle(lane: Lane) {
    compare(lane, "life", |d, rt, c| {
        let mut t = vec![];
        // sleep is pid 1 and ignores SIGTERM: stop escalates to SIGKILL.
        let o = d
            .run(
                rt,
                &[
                    "-d",
                    "--name",
                    c,
                    IMAGE,
                    "sh",
                    "-c",
                    "echo started; exec sleep 1000",
                ],
            )
            .ok();
        assert_eq!(o.stdout.trim(), "<id>", "{o:?}");
        t.push(("run -d", d.status(c)));
        assert_eq!(d.status(c), "running 0");

        let o = d
            .docker(&["ps", "--format", "{{.Names}} {{.Command}} {{.Status}}"])
            .ok();
        let ps = o
            .stdout
            .trim()
            .split(" Up ")
            .next()
            .unwrap_or("")
            .to_string();
        t.push(("ps", ps));

        let o = d.docker(&["exec", c, "sh", "-c", "echo exec ok; exit 3"]);
        assert_eq!(outcome(&o), "exit 3: exec ok", "{o:?}");
        t.push(("exec", outcome(&o)));

        let o = d.docker_in(
            &["exec", "-i", c, "sh", "-c", "cat; echo end"],
            Some("into exec\n"),
        );
        assert_eq!(outcome(&o), "exit 0: into exec\nend", "{o:?}");
        t.push(("exec -i", outcome(&o)));

        let o = d.docker_tty(&[
            "exec",
            "-it",
            c,
            "sh",
            "-c",
            "tty; [ -t 0 ] && echo stdin is a tty",
        ]);
        assert!(o.stdout.contains("stdin is a tty"), "{o:?}");
        t.push(("exec -it", outcome(&o)));

        let o = d.docker(&[
            "exec",
            "-u",
            "1000:1000",
            "-w",
            "/tmp",
            "-e",
            "X=y",
            c,
            "sh",
            "-c",
            "id; pwd; echo $X",
        ]);
        t.push(("exec -u -w -e", outcome(&o)));

        // 126 from docker 20.10, 127 from 28 (which maps the error words).
        let o = d.docker(&["exec", c, "/nonexistent"]);
        assert!(matches!(o.code, 126 | 127), "{o:?}");
        assert!(o.stdout.contains("no such file or directory"), "{o:?}");
        t.push(("exec missing", outcome_all(&o)));

        let o = d.docker(&["logs", c]).ok();
        assert_eq!(o.stdout, "started\n", "{o:?}");
        t.push(("logs", outcome(&o)));

        let o = d.docker(&["top", c, "-o", "pid,comm"]).ok();
        let rows: Vec<String> = o
            .stdout
            .lines()
            .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
            .collect();
        assert_eq!(rows, ["COMMAND", "sleep"], "{o:?}");
        t.push(("top", rows.join("|")));

        d.docker(&["pause", c]).ok();
        let freezer = d.host_cgroup(c, "freezer").join("freezer.state");
        let frozen = std::fs::read_to_string(&freezer).unwrap();
        t.push(("pause", format!("{} {}", d.status(c), frozen.trim())));
        assert_eq!(t.last().unwrap().1, "paused 0 FROZEN");

        let o = d.docker(&["exec", c, "true"]);
        t.push(("exec while paused", outcome_all(&o)));

        d.docker(&["unpause", c]).ok();
        let thawed = std::fs::read_to_string(&freezer).unwrap();
        t.push(("unpause", format!("{} {}", d.status(c), thawed.trim())));
        assert_eq!(t.last().unwrap().1, "running 0 THAWED");

        let o = d
            .docker(&["stats", "--no-stream", "--format", "{{.Name}} {{.PIDs}}", c])
            .ok();
        assert_eq!(
            o.stdout.trim(),
            format!("{c} 1").replace(&format!("-{}", rt.name), "-<rt>")
        );
        t.push(("stats --no-stream", outcome(&o)));

        let o = d.docker(&["stop", "-t", "1", c]).ok();
        t.push(("stop", format!("{} {}", o.stdout.trim(), d.status(c))));
        assert_eq!(d.status(c), "exited 137");

        d.docker(&["start", c]).ok();
        t.push(("start", d.status(c)));
        assert_eq!(d.status(c), "running 0");
        let o = d.docker(&["logs", c]).ok();
        t.push(("logs after start", outcome(&o)));

        let pid = d.inspect(c, "{{.State.Pid}}");
        d.docker(&["restart", "-t", "1", c]).ok();
        let pid2 = d.inspect(c, "{{.State.Pid}}");
        t.push((
            "restart",
            format!("{} new pid: {}", d.status(c), pid != pid2),
        ));
        assert_eq!(t.last().unwrap().1, "running 0 new pid: true");

        let o = d.docker(&["kill", "-s", "USR1", c]).ok();
        t.push((
            "kill -s USR1 (no handler, pid 1)",
            format!("{} {}", o.stdout.trim(), d.status(c)),
        ));

        d.docker(&["kill", c]).ok();
        let o = d.docker(&["wait", c]).ok();
        t.push(("kill, wait", format!("{} {}", o.stdout.trim(), d.status(c))));
        assert_eq!(o.stdout.trim(), "137");

        let o = d.docker(&["kill", c]);
        t.push(("kill a stopped container", outcome_all(&o)));

        let o = d.docker(&["rm", c]).ok();
        t.push(("rm", outcome(&o)));
        t
    });
}

/// The first whole disk in /sys/block (blkio throttles take a disk, not a
/// partition), as (`/dev/<name>`, `major:minor`).
fn a_disk() -> Option<(String, String)> {
    let mut names: Vec<String> = std::fs::read_dir("/sys/block")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| {
            !["loop", "ram", "zram", "nbd", "sr"]
                .iter()
                .any(|p| n.starts_with(p))
        })
        .collect();
    names.sort();
    names.into_iter().find_map(|n| {
        let dev = std::fs::read_to_string(format!("/sys/block/{n}/dev")).ok()?;
        let node = format!("/dev/{n}");
        Path::new(&node)
            .exists()
            .then(|| (node, dev.trim().to_string()))
    })
}

fn docker_cgroup_limits_and_update(lane: Lane) {
    if common::skip_machine(a_disk().is_some(), "no block device for blkio throttles") {
        return;
    }
    compare(lane, "limits", |d, rt, c| {
        let mut t = vec![];
        let (disk, majmin) = a_disk().unwrap();
        let rb = format!("{disk}:1mb");
        let wb = format!("{disk}:2mb");
        let ri = format!("{disk}:100");
        let wi = format!("{disk}:200");
        let limits = [
            "--memory",
            "64m",
            "--memory-swap",
            "128m",
            "--memory-reservation",
            "32m",
            "--pids-limit",
            "50",
            "--cpus",
            "0.5",
            "--cpu-shares",
            "512",
            "--cpuset-cpus",
            "0",
            "--cpuset-mems",
            "0",
            "--device-read-bps",
            &rb,
            "--device-write-bps",
            &wb,
            "--device-read-iops",
            &ri,
            "--device-write-iops",
            &wi,
        ];
        let read = "cd /sys/fs/cgroup; for f in memory/memory.limit_in_bytes memory/memory.memsw.limit_in_bytes \
            memory/memory.soft_limit_in_bytes pids/pids.max cpu/cpu.cfs_quota_us cpu/cpu.cfs_period_us \
            cpu/cpu.shares cpuset/cpuset.cpus cpuset/cpuset.mems blkio/blkio.throttle.read_bps_device \
            blkio/blkio.throttle.write_bps_device blkio/blkio.throttle.read_iops_device \
            blkio/blkio.throttle.write_iops_device; do echo \"$f=$(cat $f 2>&1)\"; done";
        let mut a = vec!["--rm"];
        a.extend_from_slice(&limits);
        a.extend_from_slice(&[IMAGE, "sh", "-c", read]);
        let o = d.run(rt, &a);
        let want_blkio = format!(
            "blkio/blkio.throttle.read_bps_device={majmin} 1048576\n\
             blkio/blkio.throttle.write_bps_device={majmin} 2097152\n\
             blkio/blkio.throttle.read_iops_device={majmin} 100\n\
             blkio/blkio.throttle.write_iops_device={majmin} 200"
        );
        assert!(o.stdout.contains(&want_blkio), "{o:?}");
        for want in [
            "memory.limit_in_bytes=67108864",
            "memsw.limit_in_bytes=134217728",
            "soft_limit_in_bytes=33554432",
            "pids.max=50",
            "cfs_quota_us=50000",
            "cpu.shares=512",
            "cpuset.cpus=0\n",
        ] {
            assert!(o.stdout.contains(want), "{want}: {o:?}");
        }
        t.push(("limits inside", outcome_all(&o).replace(&majmin, "<disk>")));

        // The same limits on the host, where init really is; then `docker
        // update` (the runtime's `update`), read back inside.
        let mut a = vec!["-d", "--name", c];
        a.extend_from_slice(&limits);
        a.extend_from_slice(&[IMAGE, "sleep", "1000"]);
        d.run(rt, &a).ok();
        let host = |ctl: &str, f: &str| {
            std::fs::read_to_string(d.host_cgroup(c, ctl).join(f))
                .unwrap()
                .trim()
                .replace(&majmin, "<disk>")
        };
        let on_host = [
            host("memory", "memory.limit_in_bytes"),
            host("pids", "pids.max"),
            host("cpu", "cpu.cfs_quota_us"),
            host("cpuset", "cpuset.cpus"),
            host("blkio", "blkio.throttle.write_iops_device"),
        ]
        .join(" ");
        assert_eq!(on_host, "67108864 50 50000 0 <disk> 200");
        t.push(("limits on host", on_host));

        let o = d.docker(&[
            "update",
            "--memory",
            "96m",
            "--memory-swap",
            "192m",
            "--pids-limit",
            "30",
            "--cpus",
            "1.5",
            "--cpu-shares",
            "256",
            "--cpuset-cpus",
            "0-1",
            c,
        ]);
        t.push(("update", outcome_all(&o)));
        let o = d.docker(&["exec", c, "sh", "-c", read]);
        for want in [
            "memory.limit_in_bytes=100663296",
            "memsw.limit_in_bytes=201326592",
            "pids.max=30",
            "cfs_quota_us=150000",
            "cpu.shares=256",
            "cpuset.cpus=0-1",
        ] {
            assert!(o.stdout.contains(want), "{want}: {o:?}");
        }
        t.push((
            "after update, inside",
            outcome_all(&o).replace(&majmin, "<disk>"),
        ));
        t.push((
            "after update, inspect",
            d.inspect(
                c,
                "{{.HostConfig.Memory}} {{.HostConfig.PidsLimit}} {{.HostConfig.NanoCpus}}",
            ),
        ));

        let o = d.docker(&["update", "--memory", "1m", c]);
        t.push(("update below usage", outcome_all(&o)));

        // A memory limit the container then exceeds: the OOM killer, seen by docker.
        let o = d.run(
            rt,
            &[
                "--rm",
                "--memory",
                "16m",
                "--memory-swap",
                "16m",
                IMAGE,
                "sh",
                "-c",
                "x=a; while true; do x=$x$x; done",
            ],
        );
        t.push(("over the memory limit", outcome(&o)));
        assert_eq!(o.code, 137, "{o:?}");

        // The pids limit holds: a subshell forks sleeps until the kernel
        // refuses one (busybox sh then gives up); the counters are read with
        // builtins, which need no fork.
        let script = "(for i in 1 2 3 4 5 6 7 8; do sleep 5 & done) 2>/dev/null; \
            cd /sys/fs/cgroup/pids; read n < pids.current; read m < pids.max; read e < pids.events; \
            echo current=$n max=$m events=$e";
        let o = d.run(
            rt,
            &["--rm", "--pids-limit", "5", IMAGE, "sh", "-c", script],
        );
        assert!(o.stdout.contains("max=5 events=max "), "{o:?}");
        t.push(("pids limit holds", outcome(&o)));

        d.docker(&["rm", "--force", c]).ok();
        t
    });
}

fn docker_filesystems_mounts_and_volumes(lane: Lane) {
    compare(lane, "fs", |d, rt, c| {
        let mut t = vec![];
        let o = d.run(
            rt,
            &[
                "--rm",
                "--read-only",
                IMAGE,
                "sh",
                "-c",
                "touch /x; awk '$5 == \"/\" { print $6 }' /proc/self/mountinfo",
            ],
        );
        assert!(o.stdout.starts_with("ro,"), "{o:?}");
        t.push(("--read-only", outcome_all(&o)));
        assert!(o.stderr.contains("Read-only file system"), "{o:?}");

        let show = "touch /run/x && grep ' /run ' /proc/self/mountinfo | sed 's/.* - //'";
        let o = d.run(
            rt,
            &[
                "--rm",
                "--read-only",
                "--tmpfs",
                "/run:size=1m,mode=1770",
                IMAGE,
                "sh",
                "-c",
                show,
            ],
        );
        assert!(o.stdout.starts_with("tmpfs tmpfs rw"), "{o:?}");
        t.push(("--tmpfs", outcome_all(&o)));
        let o = d.run(
            rt,
            &[
                "--rm",
                "--mount",
                "type=tmpfs,dst=/t,tmpfs-size=65536",
                IMAGE,
                "sh",
                "-c",
                "stat -c '%a' /t; df -k /t | tail -1 | awk '{print $2}'",
            ],
        );
        t.push(("--mount type=tmpfs", outcome_all(&o)));

        // A bind mount: written inside, read on the host; and read-only.
        let host = d.dir.join(format!("bind-{}", rt.name));
        std::fs::create_dir_all(&host).unwrap();
        std::fs::write(host.join("in"), "from the host\n").unwrap();
        let v = format!("{}:/data", host.display());
        let o = d.run(
            rt,
            &[
                "--rm",
                "-v",
                &v,
                IMAGE,
                "sh",
                "-c",
                "cat /data/in; echo from inside > /data/out",
            ],
        );
        t.push(("bind mount", outcome_all(&o)));
        let back = std::fs::read_to_string(host.join("out")).unwrap_or_default();
        assert_eq!(back, "from inside\n");
        t.push(("bind mount, on the host", back));
        let vro = format!("{}:/data:ro", host.display());
        let o = d.run(
            rt,
            &[
                "--rm",
                "-v",
                &vro,
                IMAGE,
                "sh",
                "-c",
                "cat /data/in; touch /data/x",
            ],
        );
        t.push(("bind mount :ro", outcome_all(&o)));
        let m = format!("type=bind,src={},dst=/m,readonly", host.display());
        let o = d.run(
            rt,
            &[
                "--rm",
                "--mount",
                &m,
                IMAGE,
                "sh",
                "-c",
                "grep ' /m ' /proc/self/mountinfo | cut -d' ' -f6",
            ],
        );
        t.push(("--mount type=bind,readonly", outcome_all(&o)));

        // A named volume outlives its container.
        let vol = format!("{c}-vol");
        d.docker(&["volume", "create", &vol]).ok();
        let vv = format!("{vol}:/vol");
        let o = d.run(
            rt,
            &["--rm", "-v", &vv, IMAGE, "sh", "-c", "echo kept > /vol/f"],
        );
        t.push(("volume write", outcome_all(&o)));
        let o = d.run(rt, &["--rm", "-v", &vv, IMAGE, "cat", "/vol/f"]);
        assert_eq!(outcome(&o), "exit 0: kept", "{o:?}");
        t.push(("volume read", outcome_all(&o)));
        // An anonymous volume, copied up from the image's directory.
        let o = d.run(rt, &["--rm", "-v", "/etc", IMAGE, "cat", "/etc/group"]);
        t.push(("anonymous volume copy-up", outcome_all(&o)));
        d.docker(&["volume", "rm", &vol]).ok();

        // /dev/shm, /etc/hosts, /etc/resolv.conf and /etc/hostname are
        // docker's bind mounts into the container.
        let o = d.run(rt, &["--rm", "--shm-size", "1m", IMAGE, "sh", "-c", "for m in /dev/shm /etc/hosts /etc/hostname /etc/resolv.conf; do grep \" $m \" /proc/self/mountinfo | cut -d' ' -f5,6; done; df -k /dev/shm | tail -1 | awk '{print $2}'"]);
        t.push(("docker's own mounts", outcome_all(&o)));
        t
    });
}

fn docker_security_options(lane: Lane) {
    compare(lane, "sec", |d, rt, _| {
        let mut t = vec![];
        let caps = "grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status";
        for (step, opts) in [
            ("default", vec![]),
            ("--cap-drop ALL", vec!["--cap-drop", "ALL"]),
            (
                "--cap-drop ALL --cap-add NET_ADMIN",
                vec!["--cap-drop", "ALL", "--cap-add", "NET_ADMIN"],
            ),
            ("--cap-add SYS_ADMIN", vec!["--cap-add", "SYS_ADMIN"]),
            ("--cap-drop CHOWN", vec!["--cap-drop", "CHOWN"]),
            (
                "no-new-privileges",
                vec!["--security-opt", "no-new-privileges"],
            ),
            (
                "seccomp=unconfined",
                vec!["--security-opt", "seccomp=unconfined"],
            ),
            ("--privileged", vec!["--privileged"]),
        ] {
            let mut a = vec!["--rm"];
            a.extend(opts);
            a.extend_from_slice(&[IMAGE, "sh", "-c", caps]);
            let o = d.run(rt, &a);
            t.push((step, outcome_all(&o)));
        }
        let o = d.run(
            rt,
            &["--rm", "--cap-drop", "CHOWN", IMAGE, "chown", "1:1", "/tmp"],
        );
        t.push(("chown without CAP_CHOWN", outcome_all(&o)));

        // The default seccomp profile refuses unshare(CLONE_NEWUSER) etc.
        let o = d.run(rt, &["--rm", IMAGE, "unshare", "-U", "true"]);
        assert_ne!(o.code, 0, "{o:?}");
        t.push(("default seccomp", outcome_all(&o)));
        let o = d.run(
            rt,
            &[
                "--rm",
                "--security-opt",
                "seccomp=unconfined",
                "--cap-add",
                "SYS_ADMIN",
                IMAGE,
                "unshare",
                "-U",
                "true",
            ],
        );
        t.push(("unconfined", outcome_all(&o)));

        // A custom profile: everything allowed but mkdir, which fails EPERM.
        let profile = d.dir.join("seccomp.json");
        std::fs::write(
            &profile,
            r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir","mkdirat"],"action":"SCMP_ACT_ERRNO","errnoRet":1}]}"#,
        )
        .unwrap();
        let so = format!("seccomp={}", profile.display());
        let o = d.run(
            rt,
            &[
                "--rm",
                "--security-opt",
                &so,
                IMAGE,
                "sh",
                "-c",
                "mkdir /tmp/d; echo mkdir: $?; touch /tmp/f && echo touch ok",
            ],
        );
        assert!(o.stderr.contains("Operation not permitted"), "{o:?}");
        t.push(("custom seccomp profile", outcome_all(&o)));
        let bad = d.dir.join("bad-seccomp.json");
        std::fs::write(&bad, r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["nosuchcall"],"action":"SCMP_ACT_ERRNO"}]}"#).unwrap();
        let so = format!("seccomp={}", bad.display());
        let o = d.run(rt, &["--rm", "--security-opt", &so, IMAGE, "true"]);
        t.push(("profile with an unknown syscall", outcome_all(&o)));

        // --user: ids, groups, no capabilities, and what that denies.
        let o = d.run(
            rt,
            &[
                "--rm",
                "--user",
                "1000:1000",
                "--group-add",
                "5",
                IMAGE,
                "sh",
                "-c",
                "id; grep CapEff /proc/self/status; touch /x",
            ],
        );
        assert!(
            o.stdout.starts_with("uid=1000 gid=1000 groups=5,1000"),
            "{o:?}"
        );
        t.push(("--user 1000:1000", outcome_all(&o)));
        let o = d.run(rt, &["--rm", "--user", "nobody", IMAGE, "id"]);
        t.push(("--user unknown name", outcome_all(&o)));

        // The device cgroup: a granted device works, others cannot be opened
        // even when mknod can make them.
        // /dev/kmsg (1:11) is not in docker's default rules: `:r` only, so
        // the write is refused by the device cgroup (it never reaches the host).
        let show =
            "stat -c '%n %F %t:%T' /dev/xzero /dev/xkmsg; head -c 4 /dev/xzero | od -An -tx1; \
            echo x > /dev/xkmsg; grep -E '^c 1:(5|11) ' /sys/fs/cgroup/devices/devices.list";
        let o = d.run(
            rt,
            &[
                "--rm",
                "--device",
                "/dev/zero:/dev/xzero",
                "--device",
                "/dev/kmsg:/dev/xkmsg:r",
                IMAGE,
                "sh",
                "-c",
                show,
            ],
        );
        assert!(o.stdout.contains("c 1:11 r"), "{o:?}");
        assert!(o.stderr.contains("Operation not permitted"), "{o:?}");
        t.push(("--device", outcome_all(&o)));
        let o = d.run(rt, &["--rm", IMAGE, "sh", "-c", "mknod /tmp/mem c 1 1 && head -c 1 /tmp/mem; echo $?; grep 'c 1:5' /sys/fs/cgroup/devices/devices.list"]);
        t.push(("device cgroup denies", outcome_all(&o)));
        let o = d.run(
            rt,
            &[
                "--rm",
                "--device-cgroup-rule",
                "c 1:1 r",
                IMAGE,
                "sh",
                "-c",
                "mknod /tmp/mem c 1 1 && head -c 0 /tmp/mem && echo open ok",
            ],
        );
        t.push(("--device-cgroup-rule", outcome_all(&o)));
        t
    });
}

fn docker_namespaces_init_and_network_none(lane: Lane) {
    compare(lane, "ns", |d, rt, c| {
        let mut t = vec![];
        let o = d.run(
            rt,
            &[
                "--rm",
                IMAGE,
                "sh",
                "-c",
                "ls /sys/class/net; hostname; cat /proc/1/comm",
            ],
        );
        t.push(("--network none, default hostname", outcome_all(&o)));
        assert!(o.stdout.starts_with("lo\n<id>\n"), "{o:?}");
        let o = d.run(
            rt,
            &[
                "--rm",
                "--hostname",
                "box",
                "--domainname",
                "example.org",
                IMAGE,
                "sh",
                "-c",
                "hostname; cat /proc/sys/kernel/domainname; grep box /etc/hosts | cut -f2",
            ],
        );
        t.push(("--hostname", outcome_all(&o)));

        // A container others join.
        d.run(
            rt,
            &[
                "-d",
                "--name",
                c,
                "--ipc",
                "shareable",
                IMAGE,
                "sleep",
                "1000",
            ],
        )
        .ok();
        let ns = |c: &str, which: &str| {
            d.docker(&["exec", c, "readlink", &format!("/proc/1/ns/{which}")])
                .ok()
                .stdout
                .trim()
                .to_string()
        };
        let self_ns = |o: &Out, which: &str| -> String {
            o.stdout
                .lines()
                .find(|l| l.starts_with(which))
                .unwrap_or("")
                .to_string()
        };
        let show = "for n in pid ipc net uts mnt; do readlink /proc/self/ns/$n; done; ps -o comm > /tmp/ps; sort /tmp/ps | tr '\\n' ' '";
        for (step, opt) in [
            ("--pid container:", "--pid"),
            ("--ipc container:", "--ipc"),
            ("--network container:", "--network"),
        ] {
            let join = format!("{opt}=container:{c}");
            let o = d.run(rt, &["--rm", &join, IMAGE, "sh", "-c", show]);
            let which = &opt[2..];
            let which = if which == "network" { "net" } else { which };
            let same: Vec<String> = ["pid", "ipc", "net", "uts", "mnt"]
                .iter()
                .map(|n| format!("{n}:{}", self_ns(&o, n) == ns(c, n)))
                .collect();
            assert!(
                same.contains(&format!("{which}:true")),
                "{step}: {same:?} {o:?}"
            );
            let ps = o.stdout.lines().last().unwrap_or("").to_string();
            t.push((
                step,
                format!(
                    "exit {} same as the target: {} | ps: {ps}",
                    o.code,
                    same.join(" ")
                ),
            ));
        }
        let o = d.run(
            rt,
            &[
                "--rm",
                "--pid",
                "host",
                IMAGE,
                "sh",
                "-c",
                "[ -d /proc/1 ] && cat /proc/1/comm | grep -vq sh && echo host pids",
            ],
        );
        t.push(("--pid host", outcome_all(&o)));
        let o = d.run(rt, &["--rm", "--ipc", "container:nosuch", IMAGE, "true"]);
        t.push(("join a missing container", outcome_all(&o)));
        d.docker(&["rm", "--force", c]).ok();

        // --init: docker-init (tini) is pid 1 and reaps; the command is its child.
        let o = d.run(
            rt,
            &[
                "--rm",
                "--init",
                IMAGE,
                "sh",
                "-c",
                "cat /proc/1/comm; cat /proc/1/cmdline | tr '\\0' ' '; echo; [ $$ -gt 1 ] && echo the command is not pid 1; exit 4",
            ],
        );
        assert!(o.stdout.starts_with("docker-init\n"), "{o:?}");
        assert_eq!(o.code, 4, "{o:?}");
        t.push(("--init", outcome_all(&o)));
        let o = d.run(
            rt,
            &[
                "--rm",
                "--init",
                IMAGE,
                "sh",
                "-c",
                "kill -TERM $$; sleep 1",
            ],
        );
        t.push(("--init forwards a signal's status", outcome_all(&o)));
        t
    });
}

fn docker_healthcheck_and_restart_policy(lane: Lane) {
    compare(lane, "health", |d, rt, c| {
        let mut t = vec![];
        let ok = format!("{c}-ok");
        d.run(
            rt,
            &[
                "-d",
                "--name",
                &ok,
                "--health-cmd",
                "test -e /tmp/up || touch /tmp/up; echo probed",
                "--health-interval",
                "1s",
                "--health-retries",
                "1",
                IMAGE,
                "sleep",
                "1000",
            ],
        )
        .ok();
        let h = d.wait_inspect(&ok, "{{.State.Health.Status}}", "healthy", 20);
        t.push(("healthy", h.clone()));
        assert_eq!(h, "healthy");
        let log = d.inspect(
            &ok,
            "{{(index .State.Health.Log 0).ExitCode}} {{(index .State.Health.Log 0).Output}}",
        );
        t.push(("health log", log));

        let bad = format!("{c}-bad");
        d.run(
            rt,
            &[
                "-d",
                "--name",
                &bad,
                "--health-cmd",
                "echo sick; exit 1",
                "--health-interval",
                "1s",
                "--health-retries",
                "2",
                IMAGE,
                "sleep",
                "1000",
            ],
        )
        .ok();
        let h = d.wait_inspect(&bad, "{{.State.Health.Status}}", "unhealthy", 20);
        t.push((
            "unhealthy",
            format!(
                "{h} {}",
                d.inspect(&bad, "{{.State.Health.FailingStreak}}")
                    .parse::<u32>()
                    .map(|n| n >= 2)
                    .unwrap_or(false)
            ),
        ));
        assert_eq!(h, "unhealthy");
        d.docker(&["rm", "--force", &ok, &bad]).ok();

        // on-failure:2: two restarts, then it stays exited with its code.
        let rs = format!("{c}-rs");
        d.run(
            rt,
            &[
                "-d",
                "--name",
                &rs,
                "--restart",
                "on-failure:2",
                IMAGE,
                "sh",
                "-c",
                "echo run; exit 3",
            ],
        )
        .ok();
        let n = d.wait_inspect(
            &rs,
            "{{.RestartCount}} {{.State.Status}} {{.State.ExitCode}}",
            "2 exited 3",
            30,
        );
        t.push(("restart on-failure:2", n.clone()));
        assert_eq!(n, "2 exited 3");
        let o = d.docker(&["logs", &rs]).ok();
        t.push(("logs of the restarts", outcome(&o)));

        // always: a killed process comes back, `stop` ends it for good.
        let al = format!("{c}-al");
        d.run(
            rt,
            &[
                "-d",
                "--name",
                &al,
                "--restart",
                "always",
                IMAGE,
                "sleep",
                "1000",
            ],
        )
        .ok();
        let pid = d.inspect(&al, "{{.State.Pid}}");
        // SAFETY: kill(2) of the container's init, a pid docker reported.
        unsafe { libc::kill(pid.parse().unwrap(), libc::SIGKILL) };
        let n = d.wait_inspect(&al, "{{.RestartCount}} {{.State.Status}}", "1 running", 20);
        t.push(("restart always after a kill", n.clone()));
        assert_eq!(n, "1 running");
        d.docker(&["stop", "-t", "0", &al]).ok();
        std::thread::sleep(Duration::from_millis(500));
        t.push(("stop ends always", d.status(&al)));
        d.docker(&["rm", "--force", &rs, &al]).ok();
        t
    });
}

/// Every scenario on both lanes, as `debian_20_10::<name>` and `sid_28::<name>`.
macro_rules! lanes {
    ($($f:ident),* $(,)?) => {
        mod debian_20_10 {
            $(#[test] fn $f() { super::$f(super::Lane::Debian) })*
        }
        mod sid_28 {
            $(#[test] fn $f() { super::$f(super::Lane::Sid) })*
        }
    };
}

lanes!(
    docker_run_rm_exit_codes_stdin_and_tty,
    docker_detached_lifecycle,
    docker_cgroup_limits_and_update,
    docker_filesystems_mounts_and_volumes,
    docker_security_options,
    docker_namespaces_init_and_network_none,
    docker_healthcheck_and_restart_policy,
);
