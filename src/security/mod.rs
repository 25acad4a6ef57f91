// Until init and the runtime call every entry point.
#![allow(dead_code)]

//! The container process's security settings.
//!
//! `SecurityPlan::from_spec` validates everything in the runtime (parent),
//! so a bad config fails before any process exists; the plan then travels to
//! init (bincode) and init applies it in runc's order
//! (standard_init_linux.go, init_linux.go finalizeNamespace):
//!
//! ```text
//!  join_keyring            first thing in init
//!  ..rootfs, console, hostname..
//!  apply_apparmor          (setns/exec: after finalize instead)
//!  apply_sysctls           before readonly paths make /proc/sys read-only
//!  ..readonly / masked paths..
//!  apply_personality, apply_scheduler, apply_io_priority
//!  apply_no_new_privs
//!  ..sync "ready": the runtime calls apply_rlimits_to(init pid)..
//!  apply_selinux_label
//!  load_seccomp            if seccomp_before_caps()
//!  finalize(switch_user)   bounding drop, keepcaps, setuid/gid, caps
//!  load_seccomp            if !seccomp_before_caps(), right before execve
//! ```
//! oomScoreAdj is written by the nsexec stage in runc (attr 27286); the plan
//! carries it and `apply_oom_score_adj` exists for paths that bypass it.

// Go's errno words (src/errno.rs), shared by source with every module.
pub mod caps;
#[path = "../errno.rs"]
pub mod errno;
pub mod keyring;
pub mod lsm;
pub mod notify;
pub mod procfs;
pub mod raw;
pub mod rlimit;
pub mod sched;
pub mod seccomp;
mod sys;
pub mod sysctl;

use std::os::fd::OwnedFd;

use bincode::{Decode, Encode};
use nix::errno::Errno;
use oci_spec::runtime::{LinuxNamespaceType, LinuxPersonalityDomain, Spec};
use thiserror::Error;

pub use caps::CapsPlan;
pub use procfs::{ProcRoot, ProcfsError};
pub use rlimit::Rlimit;
pub use sched::{IoPrio, SchedPlan};
pub use seccomp::SeccompPlan;

#[derive(Debug, Error)]
pub enum SecurityError {
    #[error("unknown capability {0:?}")]
    UnknownCapability(String),
    #[error("string {0} is not a valid arch for seccomp")]
    SeccompArch(String),
    #[error("string {0} is not a valid action for seccomp")]
    SeccompAction(String),
    #[error("string {0} is not a valid operator for seccomp")]
    SeccompOperator(String),
    #[error("seccomp flag {0:?} is not supported")]
    SeccompFlag(String),
    #[error("invalid seccomp syscall name {0:?}")]
    SeccompSyscall(String),
    #[error("{0}")]
    Seccomp(String),
    #[error("{what}: {source}")]
    Libseccomp {
        what: String,
        source: libseccomp::error::SeccompError,
    },
    #[error("wrong rlimit value: {0}")]
    RlimitType(String),
    #[error("rlimit {name}: soft limit {soft} is greater than hard limit {hard}")]
    RlimitOrder { name: String, soft: u64, hard: u64 },
    #[error("duplicate rlimit type {0}")]
    RlimitDuplicate(String),
    #[error("{0}")]
    Sysctl(String),
    #[error("write sysctl {0}: {1}")]
    SysctlWrite(String, ProcfsError),
    #[error("oomScoreAdj {0} is out of range [-1000, 1000]")]
    OomScoreAdj(i32),
    #[error("selinux label is specified in config, but selinux is disabled or not supported")]
    SeLinuxDisabled,
    #[error("apparmor failed to apply profile: {0}")]
    AppArmor(ProcfsError),
    #[error("can't set process label: {0}")]
    SeLinux(ProcfsError),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Procfs(#[from] ProcfsError),
    #[error("{what}: {source}")]
    Caps {
        what: String,
        source: ::caps::errors::CapsError,
    },
    #[error("{what}: {}", errno::Go(*.errno as i32))]
    Sys { what: String, errno: Errno },
    /// A raw syscall failure where runc prints Go's `syscall.Errno`, i.e.
    /// strerror in lower case ("operation not permitted"), as gocapability's
    /// capset does.
    #[error("{what}: {}", .errno.desc().to_lowercase())]
    GoSys { what: String, errno: Errno },
}

impl SecurityError {
    fn sys(what: &str, errno: Errno) -> Self {
        SecurityError::Sys {
            what: what.to_string(),
            errno,
        }
    }
    fn go_sys(what: &str, errno: Errno) -> Self {
        SecurityError::GoSys {
            what: what.to_string(),
            errno,
        }
    }
    fn caps(what: &str, source: ::caps::errors::CapsError) -> Self {
        SecurityError::Caps {
            what: what.to_string(),
            source,
        }
    }
}

const PER_LINUX32: u64 = 0x0008;

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct SecurityPlan {
    /// Join a fresh `_ses.<id>` session keyring (false: --no-new-keyring).
    pub new_keyring: bool,
    /// The container has a user namespace (keyring perms differ).
    pub userns: bool,
    /// (dotted key, value), validated against the namespaces.
    pub sysctls: Vec<(String, String)>,
    pub personality: Option<u64>,
    pub apparmor_profile: String,
    pub selinux_label: String,
    pub rlimits: Vec<Rlimit>,
    pub oom_score_adj: Option<i32>,
    pub no_new_privileges: bool,
    /// Absent in the spec means all sets empty, as in runc.
    pub capabilities: CapsPlan,
    pub scheduler: Option<SchedPlan>,
    pub io_priority: Option<IoPrio>,
    pub seccomp: Option<SeccompPlan>,
    /// Things accepted but ignored (unknown syscalls, caps the kernel lacks);
    /// the runtime logs them as warnings.
    pub warnings: Vec<String>,
}

/// The spelling of a spec enum in config.json (its serde name).
fn spec_name<T: serde::Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// Whether `path` names the runtime's own network namespace.
fn is_host_netns(path: &std::path::Path) -> Result<bool, SecurityError> {
    use std::os::unix::fs::MetadataExt;
    let stat = |p: &std::path::Path| {
        std::fs::metadata(p).map_err(|e| {
            SecurityError::Sysctl(format!("invalid netns path: stat {}: {e}", p.display()))
        })
    };
    let (a, b) = (stat("/proc/self/ns/net".as_ref())?, stat(path)?);
    Ok(a.dev() == b.dev() && a.ino() == b.ino())
}

impl SecurityPlan {
    /// Validate the security parts of a spec. Runs in the runtime, before
    /// anything is created.
    pub fn from_spec(spec: &Spec, no_new_keyring: bool) -> Result<SecurityPlan, SecurityError> {
        let mut plan = SecurityPlan {
            new_keyring: !no_new_keyring,
            ..Default::default()
        };
        let last = caps::last_cap();
        if let Some(p) = spec.process() {
            plan.no_new_privileges = p.no_new_privileges().unwrap_or(false);
            plan.apparmor_profile = p.apparmor_profile().clone().unwrap_or_default();
            plan.selinux_label = p.selinux_label().clone().unwrap_or_default();
            if !plan.selinux_label.is_empty() && !lsm::selinux_enabled() {
                return Err(SecurityError::SeLinuxDisabled);
            }
            if let Some(c) = p.capabilities() {
                let w = &mut plan.warnings;
                let names = |s: &Option<oci_spec::runtime::Capabilities>| {
                    s.iter().flatten().map(spec_name).collect::<Vec<_>>()
                };
                let mut m = |s| caps::mask_of(names(s).iter().map(String::as_str), last, w);
                plan.capabilities = CapsPlan {
                    bounding: m(c.bounding())?,
                    effective: m(c.effective())?,
                    permitted: m(c.permitted())?,
                    inheritable: m(c.inheritable())?,
                    ambient: m(c.ambient())?,
                };
            }
            for r in p.rlimits().iter().flatten() {
                let ok = rlimit::check(&spec_name(&r.typ()), r.soft(), r.hard(), &plan.rlimits)?;
                plan.rlimits.push(ok);
            }
            if let Some(o) = p.oom_score_adj() {
                if !(-1000..=1000).contains(&o) {
                    return Err(SecurityError::OomScoreAdj(o));
                }
                plan.oom_score_adj = Some(o);
            }
            plan.scheduler = p.scheduler().as_ref().map(sched::plan).transpose()?;
            plan.io_priority = p.io_priority().as_ref().map(sched::io_plan).transpose()?;
        }
        if let Some(l) = spec.linux() {
            let nss = l.namespaces().clone().unwrap_or_default();
            let has = |t| nss.iter().any(|n| n.typ() == t);
            plan.userns = has(LinuxNamespaceType::User);
            if let Some(sysctls) = l.sysctl() {
                let net = match nss.iter().find(|n| n.typ() == LinuxNamespaceType::Network) {
                    None => false,
                    Some(n) => match n.path() {
                        None => true,
                        Some(p) => !is_host_netns(p)?,
                    },
                };
                let ns = sysctl::Namespaces {
                    ipc: has(LinuxNamespaceType::Ipc),
                    uts: has(LinuxNamespaceType::Uts),
                    net,
                };
                let mut keys: Vec<_> = sysctls.iter().collect();
                keys.sort();
                for (k, v) in keys {
                    let k = sysctl::normalize(k);
                    sysctl::check(&k, ns)?;
                    plan.sysctls.push((k, v.clone()));
                }
            }
            if let Some(per) = l.personality() {
                if per.flags().as_ref().is_some_and(|f| !f.is_empty()) {
                    return Err(SecurityError::Invalid(
                        "personality flags are not supported".into(),
                    ));
                }
                plan.personality = Some(match per.domain() {
                    LinuxPersonalityDomain::PerLinux => 0,
                    LinuxPersonalityDomain::PerLinux32 => PER_LINUX32,
                });
            }
            if let Some(s) = l.seccomp() {
                plan.seccomp = Some(seccomp::plan(s, &mut plan.warnings)?);
            }
        }
        Ok(plan)
    }

    /// Check the raw config.json first (clear messages for names the typed
    /// spec loader would reject with a serde error), then `from_spec`.
    pub fn from_json(config: &[u8], no_new_keyring: bool) -> Result<SecurityPlan, SecurityError> {
        let v: serde_json::Value = serde_json::from_slice(config)
            .map_err(|e| SecurityError::Invalid(format!("invalid config.json: {e}")))?;
        raw::check(&v)?;
        let spec: Spec = serde_json::from_value(v)
            .map_err(|e| SecurityError::Invalid(format!("invalid config.json: {e}")))?;
        Self::from_spec(&spec, no_new_keyring)
    }

    /// Join the container's session keyring (`first`: the container's init,
    /// which also sets the keyring's perms; false for `exec`). Ok(None):
    /// disabled, or keyrings unavailable (tolerated like runc).
    pub fn join_keyring(
        &self,
        container_id: &str,
        first: bool,
    ) -> Result<Option<i32>, SecurityError> {
        if !self.new_keyring {
            return Ok(None);
        }
        keyring::join(&keyring::session_name(container_id), self.userns, first)
    }

    /// Ok(Some(reason)) when skipped because the host has no AppArmor.
    pub fn apply_apparmor(&self) -> Result<Option<String>, SecurityError> {
        if self.apparmor_profile.is_empty() {
            return Ok(None);
        }
        lsm::apply_apparmor(&ProcRoot::open()?, &self.apparmor_profile)
    }

    pub fn apply_sysctls(&self) -> Result<(), SecurityError> {
        sysctl::apply(&self.sysctls)
    }

    pub fn apply_personality(&self) -> Result<(), SecurityError> {
        match self.personality {
            Some(p) => sys::personality(p as libc::c_ulong)
                .map(drop)
                .map_err(|e| SecurityError::sys("personality", e)),
            None => Ok(()),
        }
    }

    pub fn apply_scheduler(&self) -> Result<(), SecurityError> {
        self.scheduler.as_ref().map_or(Ok(()), SchedPlan::apply)
    }

    pub fn apply_io_priority(&self) -> Result<(), SecurityError> {
        self.io_priority.map_or(Ok(()), IoPrio::apply)
    }

    pub fn apply_no_new_privs(&self) -> Result<(), SecurityError> {
        if !self.no_new_privileges {
            return Ok(());
        }
        sys::prctl(libc::PR_SET_NO_NEW_PRIVS, 1)
            .map(drop)
            .map_err(|e| SecurityError::sys("prctl(SET_NO_NEW_PRIVS)", e))
    }

    /// From the runtime, on the init (or exec) pid, as runc does.
    pub fn apply_rlimits_to(&self, pid: i32) -> Result<(), SecurityError> {
        rlimit::apply_to(pid, &self.rlimits)
    }

    /// On the calling process.
    pub fn apply_rlimits(&self) -> Result<(), SecurityError> {
        rlimit::apply_self(&self.rlimits)
    }

    /// /proc/<self>/oom_score_adj through the verified procfs.
    pub fn apply_oom_score_adj(&self) -> Result<(), SecurityError> {
        let Some(v) = self.oom_score_adj else {
            return Ok(());
        };
        let proc = ProcRoot::open()?;
        let me = proc.self_dir()?;
        proc.write(&format!("{me}/oom_score_adj"), v.to_string().as_bytes())?;
        Ok(())
    }

    pub fn apply_selinux_label(&self) -> Result<(), SecurityError> {
        if self.selinux_label.is_empty() {
            return Ok(());
        }
        lsm::apply_selinux_exec(&ProcRoot::open()?, &self.selinux_label)
    }

    /// runc: without noNewPrivileges loading a filter needs CAP_SYS_ADMIN, so
    /// it happens before the caps are dropped; with it, as late as possible.
    pub fn seccomp_before_caps(&self) -> bool {
        self.seccomp.is_some() && !self.no_new_privileges
    }

    /// Load the filter (if any). A returned fd is the SCMP_ACT_NOTIFY
    /// listener: send it to the runtime, which calls `notify::send_to_agent`.
    pub fn load_seccomp(&self) -> Result<Option<OwnedFd>, SecurityError> {
        self.seccomp.as_ref().map_or(Ok(None), seccomp::load)
    }

    /// runc's finalizeNamespace for capabilities: drop the bounding set while
    /// still privileged, keep permitted caps across `switch_user` (the
    /// caller's setgroups/setresgid/setresuid), then set the final sets.
    /// `last_cap` comes from [`caps::last_cap`], read by the caller before
    /// the filter loads: this may run under it (see `seccomp_before_caps`),
    /// where only prctl/capget/capset and the id calls happen, as in runc.
    pub fn finalize<E: From<SecurityError>>(
        &self,
        last_cap: u8,
        switch_user: impl FnOnce() -> Result<(), E>,
    ) -> Result<(), E> {
        self.capabilities.apply_bounding(last_cap)?;
        caps::set_keep_caps(true)?;
        switch_user()?;
        caps::set_keep_caps(false)?;
        self.capabilities.apply(last_cap)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_round_trips_through_bincode() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","root":{"path":"rootfs"},
               "process":{"cwd":"/","args":["sh"],"user":{"uid":0,"gid":0},"noNewPrivileges":true,
                 "capabilities":{"bounding":["CAP_CHOWN"],"effective":["CAP_CHOWN"],"permitted":["CAP_CHOWN"]},
                 "rlimits":[{"type":"RLIMIT_NOFILE","soft":100,"hard":200}],"oomScoreAdj":100},
               "linux":{"namespaces":[{"type":"ipc"},{"type":"network"}],
                 "sysctl":{"kernel.shmmax":"1000","net/ipv4/ip_forward":"1"},
                 "seccomp":{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO"}]}}}"#,
        )
        .unwrap();
        let p = SecurityPlan::from_spec(&spec, false).unwrap();
        assert_eq!(p.capabilities.bounding, 1);
        assert_eq!(
            p.sysctls[1],
            ("net.ipv4.ip_forward".to_string(), "1".to_string())
        );
        let cfg = bincode::config::standard();
        let bytes = bincode::encode_to_vec(&p, cfg).unwrap();
        let (q, _): (SecurityPlan, _) = bincode::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(p, q);
    }

    #[test]
    fn absent_capabilities_mean_none() {
        let spec: Spec = serde_json::from_str(
            r#"{"ociVersion":"1.0.2","process":{"cwd":"/","user":{"uid":0,"gid":0}}}"#,
        )
        .unwrap();
        let p = SecurityPlan::from_spec(&spec, true).unwrap();
        assert_eq!(p.capabilities, CapsPlan::default());
        assert!(!p.new_keyring);
    }
}
