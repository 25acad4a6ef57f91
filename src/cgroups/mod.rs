//! cgroups: one `Manager` interface over cgroup v1, v2 and hybrid hosts.
//!
//! The host is probed once per process (`probe`). Every mounted hierarchy
//! becomes a `Hierarchy`; the cgroupfs manager (`fs`) drives a v1 hierarchy
//! with `v1`'s controller files and a v2 one with `v2`'s, so the three layouts
//! are three compositions of the same two backends:
//!  * v1: one hierarchy per v1 mount (cpu, memory, ..., name=systemd);
//!  * v2: the one unified hierarchy (devices = eBPF, freezer = cgroup.freeze);
//!  * hybrid: v1 hierarchies for the v1 controllers, plus the unified one,
//!    which every process joins (like runc) and which serves the controllers
//!    that sit on the v2 side (e.g. hugetlb) and the ones no v1 mount has.
//!
//! The systemd driver (`systemd`) makes a transient scope over D-Bus
//! (`dbus`) and drives the scope's directories with the cgroupfs manager.

// Until the CLI calls every entry point, parts of the API are unused in the binary.
#![allow(dead_code, unused_imports)]

// Go's errno words (src/errno.rs), shared by source with every module.
pub mod bpf;
pub mod cli_args;
pub mod commands;
pub mod config;
pub mod dbus;
pub mod devices;
#[path = "../errno.rs"]
pub mod errno;
pub mod files;
pub mod fs;
pub mod join;
pub mod oom;
pub mod probe;
pub mod stats;
pub mod systemd;
pub mod v1;
pub mod v2;

use std::collections::BTreeMap;
use std::os::fd::OwnedFd;
use std::path::PathBuf;

pub use config::{CgroupConfig, CgroupPath, Resources};
pub use stats::Stats;

/// Errors of the cgroup manager. Messages follow runc's wording.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{op} {path}: {}", errno::io(source))]
    Io {
        op: &'static str,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// runc's cgroups.WriteFile: the value, then the *os.PathError.
    #[error("failed to write {value:?}: write {path}: {}", errno::io(source))]
    Write {
        value: String,
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("no cgroup mount found in mountinfo")]
    NoCgroupMount,
    #[error("invalid cgroup resources: {0}")]
    InvalidResources(String),
    /// A bad `update` flag value, in runc's words alone
    /// (`invalid value for cpu-period: strconv.ParseUint: ...`).
    #[error("{0}")]
    UpdateFlag(String),
    #[error("cannot set {0} limit: container could not join or create cgroup")]
    NoController(&'static str),
    #[error("invalid configuration: {0}")]
    Config(String),
    /// A spec field runc's specconv refuses, in its words alone.
    #[error("{0}")]
    Spec(String),
    #[error("systemd cgroup driver requested but systemd is not running")]
    SystemdNotRunning,
    #[error("systemd cgroup driver: {0}")]
    Systemd(String),
    #[error("unable to freeze: {0}")]
    Freeze(String),
    #[error("failed to remove cgroup {path}: {}", errno::io(source))]
    Remove {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("bpf: {0}")]
    Bpf(String),
    #[error("{0}")]
    Ps(String),
}

pub type Result<T> = std::result::Result<T, Error>;

impl Error {
    /// The OS error under an open/read/write failure.
    pub fn os_error(&self) -> Option<&std::io::Error> {
        match self {
            Error::Io { source, .. } | Error::Write { source, .. } => Some(source),
            _ => None,
        }
    }
}

/// The state a freezer can be asked for or report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FreezerState {
    Thawed,
    Frozen,
    /// No freezer for this cgroup.
    Undefined,
}

/// One container's cgroup(s), whatever the host layout.
pub trait Manager: Send + Sync {
    /// Create the cgroup in every hierarchy and move `pid` into it.
    /// The runtime calls it with stage-0's pid before it sends the bootstrap
    /// data, so an unshared cgroupns is rooted at the container's cgroup.
    /// Also used by `exec` to join the container's cgroup (mkdir is a no-op).
    fn apply(&self, pid: i32) -> Result<()>;
    /// What a single-threaded child needs to join the cgroup by itself at
    /// birth (`join`): cheaper than `apply`, which moves a running process.
    /// `create` makes the cgroup first (create); exec joins an existing one.
    fn join_plan(&self, create: bool) -> Result<join::Join>;
    /// Write the resource limits (runc's order: cpuset, devices, memory, cpu,
    /// pids, blkio/io, hugetlb, unified).
    fn set(&self, r: &Resources) -> Result<()>;
    /// Freeze or thaw, waiting until the kernel reports the new state.
    fn freeze(&self, state: FreezerState) -> Result<()>;
    fn freezer_state(&self) -> Result<FreezerState>;
    /// Kill what is left in the cgroup, then rmdir it in every hierarchy.
    /// Works from the config alone (after a crash), and when nothing exists.
    fn destroy(&self) -> Result<()>;
    /// Every pid in the cgroup and its descendants.
    fn pids(&self) -> Result<Vec<i32>>;
    fn stats(&self) -> Result<Stats>;
    /// The directory serving `subsystem` ("memory", "cpu", "" for the
    /// unified hierarchy), if any.
    fn path(&self, subsystem: &str) -> Option<PathBuf>;
    /// Every directory, keyed like runc's state.json `cgroup_paths`.
    fn paths(&self) -> BTreeMap<String, PathBuf>;
    /// Whether the cgroup still exists.
    fn exists(&self) -> bool;
    /// A watcher for OOM events in this cgroup.
    fn oom_watcher(&self) -> Result<oom::OomWatcher>;
}

/// The manager for a container: probes the host layout (cached per
/// process) and picks the driver.
pub fn manager(cfg: &CgroupConfig, rootless: bool) -> Result<Box<dyn Manager>> {
    // runc 1.1.5's fs.NewManager and systemd's NewLegacyManager: unified
    // resources only on a pure v2 host, not on v1 nor hybrid (whose unified
    // hierarchy runc's v1 managers never write). This runs before anything
    // is made, as runc's validator does (validate.cgroups, same words).
    if !cfg.resources.unified.is_empty() && probe::host()?.layout != probe::Layout::V2 {
        return Err(Error::Config("cannot use unified on cgroup v1".into()));
    }
    if cfg.systemd {
        return Ok(Box::new(systemd::SystemdManager::new(cfg, rootless)?));
    }
    let host = probe::host()?;
    Ok(Box::new(fs::FsManager::new(host, cfg, rootless)?))
}
