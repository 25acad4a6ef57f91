//! The cgroupfs driver: one directory per mounted hierarchy, each driven by
//! the v1 or v2 file backend. The host layout decides which hierarchies
//! exist; which one serves a controller is decided per controller (v1 first,
//! then v2), so v1, v2 and hybrid hosts are all the same code.

use std::collections::BTreeMap;
use std::os::fd::{AsFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::config::{CgroupConfig, CgroupPath, Resources};
use super::files::{self, io_err};
use super::join::{Join, Target};
use super::oom::OomWatcher;
use super::probe::{Hierarchy, Host, Layout, Version};
use super::{bpf, devices, v1, v2, Error, FreezerState, Manager, Result, Stats};

/// runc's subsystem order for Set (cpuset before memory, devices early).
const SET_ORDER: &[&str] = &[
    "cpuset", "devices", "memory", "cpu", "pids", "blkio", "hugetlb",
];
const STATS_ORDER: &[&str] = &[
    "cpu", "cpuacct", "cpuset", "memory", "pids", "blkio", "hugetlb",
];

pub struct FsManager {
    host: &'static Host,
    /// (index into host.hierarchies, the container's directory there)
    dirs: Vec<(usize, PathBuf)>,
    resources: Resources,
    rootless: bool,
    explicit: bool,
}

impl FsManager {
    pub fn new(host: &'static Host, cfg: &CgroupConfig, rootless: bool) -> Result<Self> {
        let dirs = host
            .hierarchies
            .iter()
            .enumerate()
            .map(|(i, h)| Ok((i, dir_in(h, &cfg.path)?)))
            .collect::<Result<Vec<_>>>()?;
        Ok(FsManager {
            host,
            dirs,
            resources: cfg.resources.clone(),
            rootless,
            explicit: cfg.explicit,
        })
    }

    fn hier(&self, idx: usize) -> &Hierarchy {
        &self.host.hierarchies[idx]
    }

    /// The hierarchy and directory that serve v1 controller name `ctrl`.
    fn serving(&self, ctrl: &str) -> Option<(&Hierarchy, &Path)> {
        let v1 = self
            .dirs
            .iter()
            .find(|(i, _)| self.hier(*i).version == Version::V1 && self.hier(*i).has(ctrl));
        let v2 = || {
            self.dirs.iter().find(|(i, _)| {
                let h = self.hier(*i);
                // devices (eBPF), freezer (cgroup.freeze) and cpu usage
                // (cpu.stat) are core in v2: no controller to enable.
                h.version == Version::V2
                    && (h.has(v2::v2_name(ctrl))
                        || matches!(ctrl, "devices" | "freezer" | "cpuacct"))
            })
        };
        v1.or_else(v2).map(|(i, d)| (self.hier(*i), d.as_path()))
    }

    fn v2_dir(&self) -> Option<&Path> {
        self.dirs
            .iter()
            .find(|(i, _)| self.hier(*i).version == Version::V2)
            .map(|(_, d)| d.as_path())
    }

    /// v2 controllers to enable down to the leaf: all of them on a pure v2
    /// host (as runc); on a hybrid one only those `r` needs and no v1 mount
    /// serves, so the host's unified root is changed no more than needed.
    fn v2_controllers(&self, h: &Hierarchy, r: &Resources) -> Vec<String> {
        if self.host.layout == Layout::V2 {
            return h.controllers.clone();
        }
        SET_ORDER
            .iter()
            .filter(|c| {
                v1::wants(c, r)
                    && self
                        .serving(c)
                        .is_some_and(|(s, _)| s.version == Version::V2)
            })
            .map(|c| v2::v2_name(c).to_owned())
            .filter(|c| h.has(c))
            .collect()
    }

    fn ignorable(&self, e: &Error) -> bool {
        // runc: a rootless container without an explicit path may fail to
        // create or join cgroups; limits then fail later in Set.
        let errno = e.os_error().and_then(|s| s.raw_os_error());
        self.rootless
            && !self.explicit
            && matches!(errno, Some(libc::EPERM | libc::EACCES | libc::EROFS))
    }

    /// mkdir the cgroup in `h`, with what must be there before a task can
    /// join (cpuset cpus/mems, rt runtime, v2 controllers).
    fn make(&self, h: &Hierarchy, dir: &Path) -> Result<()> {
        match h.version {
            Version::V1 => {
                std::fs::create_dir_all(dir).map_err(|e| io_err("mkdir", dir, e))?;
                for c in &h.controllers {
                    v1::prepare(c, &h.mount, dir, &self.resources)?;
                }
                Ok(())
            }
            Version::V2 => v2::create(&h.mount, dir, &self.v2_controllers(h, &self.resources)),
        }
    }

    fn join_one(&self, h: &Hierarchy, dir: &Path, pid: i32) -> Result<()> {
        self.make(h, dir)?;
        files::write(dir, "cgroup.procs", &pid.to_string())
    }

    /// Skip a hierarchy whose failure `ignorable` allows.
    fn each_dir(&self, mut f: impl FnMut(&Hierarchy, &Path) -> Result<()>) -> Result<()> {
        for (i, dir) in &self.dirs {
            match f(self.hier(*i), dir) {
                Err(e) if self.ignorable(&e) => continue,
                r => r?,
            }
        }
        Ok(())
    }

    /// SIGKILL everything in the cgroup and wait (bounded) until it is empty.
    fn kill_all(&self) -> Result<()> {
        let pids = self.pids()?;
        if pids.is_empty() {
            return Ok(());
        }
        if let Some(d) = self
            .v2_dir()
            .filter(|d| d.join("cgroup.kill").exists() && self.host.layout == Layout::V2)
        {
            files::write(d, "cgroup.kill", "1")?;
        } else {
            // Frozen tasks cannot die on v1 until thawed, and freezing first
            // stops a fork bomb from outrunning the kill loop (runc does both).
            let frozen = self.freeze(FreezerState::Frozen).is_ok();
            files::kill_pids(&pids);
            if frozen {
                self.freeze(FreezerState::Thawed)?;
            }
        }
        let end = Instant::now() + Duration::from_secs(2);
        while !self.pids()?.is_empty() && Instant::now() < end {
            std::thread::sleep(Duration::from_millis(2));
        }
        Ok(())
    }
}

/// Remove cgroup directories known only by path (state.json's
/// cgroup_paths, when cgroup.bin is lost): kill what runs in them (thawed
/// first: a v1-frozen task cannot die), wait up to 2 s, then rmdir.
pub fn destroy_paths(dirs: &[PathBuf]) -> Result<()> {
    // state.json is our own file, but a damaged one must not aim this at a
    // hierarchy's root or at nsrun's own cgroup: that would kill the host.
    let host = super::probe::host()?;
    let below_mount = |d: &Path| {
        !d.components().any(|c| c == std::path::Component::ParentDir)
            && host
                .hierarchies
                .iter()
                .any(|h| d.starts_with(&h.mount) && d != h.mount)
    };
    let dirs: Vec<PathBuf> = dirs.iter().filter(|d| below_mount(d)).cloned().collect();
    let me = std::process::id() as i32;
    let pids = |out: &mut Vec<i32>| {
        for d in &dirs {
            let _ = files::all_pids(d.as_path(), out);
        }
    };
    for d in &dirs {
        if d.join("freezer.state").exists() {
            let _ = files::write(d, "freezer.state", "THAWED");
        }
        if d.join("cgroup.freeze").exists() {
            let _ = files::write(d, "cgroup.freeze", "0");
        }
    }
    let end = Instant::now() + Duration::from_secs(2);
    loop {
        let mut live = Vec::new();
        pids(&mut live);
        if live.contains(&me) {
            return Err(Error::Config(format!(
                "refusing to destroy cgroups holding nsrun itself: {dirs:?}"
            )));
        }
        if live.is_empty() || Instant::now() >= end {
            break;
        }
        files::kill_pids(&live);
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut first_err = None;
    for d in &dirs {
        if let Err(e) = files::remove_tree(d) {
            first_err.get_or_insert(e);
        }
    }
    first_err.map_or(Ok(()), Err)
}

/// The directory for `path` in hierarchy `h`.
fn dir_in(h: &Hierarchy, path: &CgroupPath) -> Result<PathBuf> {
    match path {
        CgroupPath::Absolute(p) => Ok(h.mount.join(p.trim_start_matches('/'))),
        CgroupPath::Relative { inner, parents } => {
            let parent = parents.get(&h.key()).map(String::as_str).unwrap_or("/");
            Ok(h.mount.join(parent.trim_start_matches('/')).join(inner))
        }
        CgroupPath::Systemd(_) => Err(Error::Config(
            "systemd cgroup path given to the cgroupfs driver".into(),
        )),
    }
}

fn is_not_found(e: &Error) -> bool {
    e.os_error()
        .is_some_and(|s| s.kind() == std::io::ErrorKind::NotFound)
}

impl Manager for FsManager {
    fn apply(&self, pid: i32) -> Result<()> {
        self.each_dir(|h, dir| self.join_one(h, dir, pid))
    }

    fn join_plan(&self, create: bool) -> Result<Join> {
        let mut j = Join {
            best_effort: self.rootless && !self.explicit,
            ..Default::default()
        };
        self.each_dir(|h, dir| {
            if create {
                self.make(h, dir)?;
            }
            match h.version {
                Version::V1 => j.v1_tasks.push(Target::tasks(dir)?),
                Version::V2 => j.v2 = Some(Target::dir(dir)?),
            }
            Ok(())
        })?;
        Ok(j)
    }

    fn set(&self, r: &Resources) -> Result<()> {
        for ctrl in SET_ORDER {
            let Some((h, dir)) = self.serving(ctrl) else {
                if v1::wants(ctrl, r) {
                    return Err(Error::NoController(ctrl));
                }
                continue;
            };
            let res = match (h.version, *ctrl) {
                (Version::V1, c) => v1::set(c, dir, r),
                (Version::V2, "devices") => {
                    if r.devices.is_empty() {
                        Ok(())
                    } else {
                        let rules = devices::normalize(&r.devices)?;
                        let fd = open_dir(dir)?;
                        bpf::apply(fd.as_fd(), &rules)
                    }
                }
                (Version::V2, c) => {
                    if v1::wants(c, r) && self.host.layout != Layout::V2 {
                        v2::create(&h.mount, dir, &self.v2_controllers(h, r))?;
                    }
                    v2::set(c, dir, r)
                }
            };
            match res {
                Err(e) if self.rootless && *ctrl == "devices" => drop(e),
                Err(e) if is_not_found(&e) && !dir.exists() => {
                    return Err(Error::NoController(ctrl))
                }
                r => r?,
            }
        }
        if !r.unified.is_empty() {
            // runc's fs manager Set: ErrV1NoUnified on v1 and hybrid alike.
            match self.v2_dir() {
                Some(d) if self.host.layout == Layout::V2 => v2::set_unified(d, r)?,
                _ => return Err(Error::Config("cannot use unified on cgroup v1".into())),
            }
        }
        Ok(())
    }

    fn freeze(&self, state: FreezerState) -> Result<()> {
        match self.serving("freezer") {
            Some((h, d)) if h.version == Version::V1 => v1::freeze(d, state),
            Some((_, d)) => v2::freeze(d, state),
            None => Err(Error::Freeze(
                "cannot toggle freezer: cgroups not configured for container".into(),
            )),
        }
    }

    fn freezer_state(&self) -> Result<FreezerState> {
        let r = match self.serving("freezer") {
            Some((h, d)) if h.version == Version::V1 => v1::freezer_state(d),
            Some((_, d)) => v2::freezer_state(d),
            None => return Ok(FreezerState::Undefined),
        };
        match r {
            Err(e) if is_not_found(&e) => Ok(FreezerState::Undefined),
            r => r,
        }
    }

    fn destroy(&self) -> Result<()> {
        if self.exists() {
            self.kill_all()?;
        }
        let mut first_err = None;
        for (_, d) in &self.dirs {
            if let Err(e) = files::remove_tree(d) {
                first_err.get_or_insert(e);
            }
        }
        first_err.map_or(Ok(()), Err)
    }

    fn pids(&self) -> Result<Vec<i32>> {
        let dir = ["devices", "freezer", "pids", "memory"]
            .iter()
            .find_map(|c| self.serving(c).map(|(_, d)| d))
            .or_else(|| self.dirs.first().map(|(_, d)| d.as_path()));
        let mut out = Vec::new();
        if let Some(d) = dir {
            files::all_pids(d, &mut out)?;
        }
        out.sort_unstable();
        out.dedup();
        Ok(out)
    }

    fn stats(&self) -> Result<Stats> {
        let mut s = Stats::default();
        for ctrl in STATS_ORDER {
            let Some((h, d)) = self.serving(ctrl) else {
                continue;
            };
            let r = match h.version {
                Version::V1 => v1::stats(ctrl, d, &mut s),
                Version::V2 => v2::stats(ctrl, d, &mut s),
            };
            match r {
                // hugetlb on the v2 side of a hybrid host is only enabled
                // when a limit needs it; without it there is nothing to read.
                Err(e) if *ctrl == "hugetlb" && is_not_found(&e) => {}
                r => r?,
            }
        }
        Ok(s)
    }

    fn path(&self, subsystem: &str) -> Option<PathBuf> {
        if subsystem.is_empty() {
            return self.v2_dir().map(Path::to_path_buf);
        }
        self.serving(subsystem).map(|(_, d)| d.to_path_buf())
    }

    fn paths(&self) -> BTreeMap<String, PathBuf> {
        let mut m = BTreeMap::new();
        for (i, d) in &self.dirs {
            let h = self.hier(*i);
            match h.version {
                Version::V1 => h.controllers.iter().for_each(|c| {
                    m.insert(c.clone(), d.clone());
                }),
                Version::V2 => {
                    m.insert(String::new(), d.clone());
                }
            }
        }
        m
    }

    fn exists(&self) -> bool {
        self.dirs.iter().any(|(_, d)| d.exists())
    }

    fn oom_watcher(&self) -> Result<OomWatcher> {
        match self.serving("memory") {
            Some((h, d)) if h.version == Version::V1 => OomWatcher::v1(d),
            Some((_, d)) => OomWatcher::v2(d),
            None => Ok(OomWatcher::None),
        }
    }
}

/// An O_PATH directory fd (CLONE_INTO_CGROUP and BPF_PROG_ATTACH take one).
pub fn open_dir(dir: &Path) -> Result<OwnedFd> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_DIRECTORY | libc::O_CLOEXEC)
        .open(dir)
        .map_err(|e| io_err("open", dir, e))?;
    Ok(OwnedFd::from(f))
}
