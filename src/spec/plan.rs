//! The validated, runtime-internal form of a container config.
//!
//! [`Plan`] is what the parent works with; [`InitPlan`] is the part `init`
//! needs, sent to it with bincode (see `codec`). Neither side looks at the OCI
//! JSON again once `spec::load` has built these.

use bincode::{Decode, Encode};
use std::path::PathBuf;

use crate::hooks::HookSet;
use crate::rootfs::RootfsPlan;
use crate::security::SecurityPlan;

/// The user process: what `execve` gets, and the identity it runs with.
#[derive(Encode, Decode, Debug, Clone, PartialEq, Eq, Default)]
pub struct ProcessPlan {
    pub args: Vec<String>,
    pub env: Vec<String>,
    pub cwd: String,
    pub uid: u32,
    pub gid: u32,
    pub umask: Option<u32>,
    pub additional_gids: Vec<u32>,
    pub terminal: bool,
    /// (height, width) of the pty, when the spec sets one.
    pub console_size: Option<(u16, u16)>,
    pub no_new_privileges: bool,
}

/// Fd numbers as `init` sees them (it takes ownership on arrival).
#[derive(Encode, Decode, Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct InitFds {
    /// O_PATH fd of `<state>/exec.fifo` (create only).
    pub fifo: Option<i32>,
    /// Connected `--console-socket` stream.
    pub console: Option<i32>,
    /// `--preserve-fds N`: fds 3..3+N stay open across the final execve.
    pub preserve: u32,
}

/// Everything `init` needs, sent once over the init socket.
#[derive(Encode, Decode, Debug, Clone, PartialEq, Eq, Default)]
pub struct InitPlan {
    pub process: ProcessPlan,
    /// None for `exec`: the container world already exists.
    pub rootfs: Option<RootfsPlan>,
    pub hostname: Option<String>,
    pub domainname: Option<String>,
    pub fds: InitFds,
    /// Container id: names the session keyring.
    pub id: String,
    pub security: SecurityPlan,
    /// createContainer/startContainer: the hooks init runs itself.
    pub hooks: HookSet,
    /// The hooks' state JSON (init sets status and its own pid).
    pub state: String,
    /// Stop after the mounts for the runtime's prestart/createRuntime hooks.
    pub proc_hooks: bool,
}

/// A namespace of the container: runc's name and an optional path to join.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Namespace {
    pub name: String,
    pub path: Option<PathBuf>,
}

/// One line of a uid/gid map.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct IdMap {
    pub container: u32,
    pub host: u32,
    pub size: u32,
}

/// The parent-side plan of a container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Plan {
    pub oci_version: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub annotations: Vec<(String, String)>,
    /// In runc's order: user, ipc, uts, net, pid, mnt, cgroup, time.
    pub namespaces: Vec<Namespace>,
    pub uid_mappings: Vec<IdMap>,
    pub gid_mappings: Vec<IdMap>,
    pub oom_score_adj: Option<i32>,
    /// `clock secs nanosecs` lines for a new time namespace.
    pub time_offsets: Vec<(String, i64, u32)>,
    /// `linux.cgroupsPath`, for the cgroup manager when it lands.
    pub cgroups_path: Option<String>,
    /// `linux.resources`, for the cgroup config (built once the id is known).
    pub resources: Option<oci_spec::runtime::LinuxResources>,
    /// Paths of `linux.devices` (they replace runc's default device rules).
    pub device_paths: Vec<String>,
    /// All six kinds; the runtime runs prestart/createRuntime/poststart/poststop.
    pub hooks: HookSet,
    pub init: InitPlan,
}

impl Plan {
    /// A namespace that is created (not joined).
    pub fn new_ns(&self, name: &str) -> bool {
        self.namespaces
            .iter()
            .any(|n| n.name == name && n.path.is_none())
    }
}

/// What `init` answers once it has set the container up (or failed to).
#[derive(Encode, Decode, Debug, Clone, PartialEq, Eq)]
pub enum Report {
    Ready,
    Failed(String),
    /// runc's procHooks: mounts done, init waits for a `()` frame.
    ProcHooks,
    /// A seccomp listener fd follows (one byte + SCM_RIGHTS).
    SeccompFd,
}
