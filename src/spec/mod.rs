//! The only place the OCI config is read: `config.json` → validated [`Plan`].

mod enums;
pub mod plan;
pub mod template;

use oci_spec::runtime::{LinuxNamespaceType, Process, Spec};
use std::path::{Path, PathBuf};
use thiserror::Error;

use crate::bootstrap::NAMESPACES;
use crate::hooks::{HookError, HookSet, Kind};
use crate::rootfs::{RootfsError, RootfsPlan};
use crate::security::{SecurityError, SecurityPlan};
pub use plan::{IdMap, InitFds, InitPlan, Namespace, Plan, ProcessPlan};

#[derive(Debug, Error)]
pub enum SpecError {
    #[error("JSON specification file config.json not found")]
    NotFound,
    #[error("{0}")]
    Parse(String),
    #[error("unsupported spec version {0:?} (supported: 1.0.0 to 1.3.x)")]
    Version(String),
    #[error("process property must not be empty")]
    NoProcess,
    #[error("args must not be empty")]
    NoArgs,
    #[error("Cwd property must not be empty")]
    NoCwd,
    #[error("Cwd must be an absolute path")]
    RelativeCwd,
    #[error("linux section must be specified")]
    NoLinux,
    #[error("duplicated ns {0:?}")]
    DupNs(String),
    #[error("namespace path {0:?} must be absolute and contain no ','")]
    NsPath(String),
    #[error("namespace path: lstat {0}: {1}")]
    NsPathMissing(String, String),
    #[error("user namespaces enabled, but no {0} mappings found")]
    NoMappings(&'static str),
    #[error("user namespaces are not enabled but {0} mappings are given")]
    MappingsWithoutUserns(&'static str),
    #[error("unable to set hostname without a private UTS namespace")]
    HostnameNoUts,
    #[error("unable to set domainname without a private UTS namespace")]
    DomainnameNoUts,
    #[error("unable to restrict sys entries without a private MNT namespace")]
    RestrictNoMountNs,
    #[error("a read-only rootfs requires a private mount namespace")]
    ReadonlyNoMountNs,
    #[error("invalid time namespace offset clock {0:?}")]
    TimeClock(String),
    #[error(transparent)]
    Rootfs(#[from] RootfsError),
    #[error(transparent)]
    Security(#[from] SecurityError),
    #[error(transparent)]
    Hooks(#[from] HookError),
}

/// Parse the spec file of a bundle.
pub fn read(bundle: &Path) -> Result<Spec, SpecError> {
    let data = std::fs::read(bundle.join("config.json")).map_err(|e| match e.kind() {
        std::io::ErrorKind::NotFound => SpecError::NotFound,
        _ => SpecError::Parse(format!("open config.json: {e}")),
    })?;
    serde_json::from_slice(&data).map_err(|e| {
        SpecError::Parse(
            enums::runc_message(&data).unwrap_or_else(|| format!("parsing config.json: {e}")),
        )
    })
}

/// Spec versions this runtime implements: 1.0.0 to 1.3.x (pre-releases too).
pub fn check_version(v: &str) -> Result<(), SpecError> {
    let core = v.split(['-', '+']).next().unwrap_or("");
    let nums: Vec<Option<u32>> = core.split('.').map(|n| n.parse().ok()).collect();
    match nums.as_slice() {
        [Some(1), Some(0..=3), Some(_)] => Ok(()),
        _ => Err(SpecError::Version(v.to_string())),
    }
}

/// Load `<bundle>/config.json` and turn it into a [`Plan`]. `bundle` must be
/// absolute; `no_pivot` (create's flag) changes what the rootfs plan accepts.
pub fn load(bundle: &Path, no_pivot: bool) -> Result<Plan, SpecError> {
    let spec = read(bundle)?;
    plan_from_spec(&spec, bundle, no_pivot)
}

/// Validate the process of a spec (also used for `exec --process`).
pub fn process_plan(p: Option<&Process>) -> Result<ProcessPlan, SpecError> {
    let p = p.ok_or(SpecError::NoProcess)?;
    let args = p.args().clone().unwrap_or_default();
    if args.is_empty() {
        return Err(SpecError::NoArgs);
    }
    let cwd = p.cwd().display().to_string();
    if cwd.is_empty() {
        return Err(SpecError::NoCwd);
    }
    if !cwd.starts_with('/') {
        return Err(SpecError::RelativeCwd);
    }
    let u = p.user();
    Ok(ProcessPlan {
        args,
        env: p.env().clone().unwrap_or_default(),
        cwd,
        uid: u.uid(),
        gid: u.gid(),
        umask: u.umask(),
        additional_gids: u.additional_gids().clone().unwrap_or_default(),
        terminal: p.terminal().unwrap_or(false),
        console_size: p
            .console_size()
            .map(|b| (b.height() as u16, b.width() as u16)),
        no_new_privileges: p.no_new_privileges().unwrap_or(false),
    })
}

fn ns_name(t: LinuxNamespaceType) -> &'static str {
    match t {
        LinuxNamespaceType::Mount => "mnt",
        LinuxNamespaceType::Cgroup => "cgroup",
        LinuxNamespaceType::Uts => "uts",
        LinuxNamespaceType::Ipc => "ipc",
        LinuxNamespaceType::User => "user",
        LinuxNamespaceType::Pid => "pid",
        LinuxNamespaceType::Network => "net",
        LinuxNamespaceType::Time => "time",
    }
}

pub fn plan_from_spec(spec: &Spec, bundle: &Path, no_pivot: bool) -> Result<Plan, SpecError> {
    check_version(spec.version())?;
    let process = process_plan(spec.process().as_ref())?;
    let linux = spec.linux().as_ref().ok_or(SpecError::NoLinux)?;

    let mut namespaces: Vec<Namespace> = Vec::new();
    for ns in linux.namespaces().iter().flatten() {
        let name = ns_name(ns.typ());
        if namespaces.iter().any(|n| n.name == name) {
            return Err(SpecError::DupNs(name.into()));
        }
        let path = ns.path().clone().filter(|p| !p.as_os_str().is_empty());
        if let Some(p) = &path {
            let s = p.display().to_string();
            if !p.is_absolute() || s.contains(',') {
                return Err(SpecError::NsPath(s));
            }
            // runc checks before it starts anything; the stage would only
            // fail later, with a less clear message.
            if let Err(e) = std::fs::symlink_metadata(p) {
                return Err(SpecError::NsPathMissing(s, crate::errno::io(&e)));
            }
        }
        namespaces.push(Namespace {
            name: name.into(),
            path,
        });
    }
    // runc's order (configs.NamespaceTypes()): the stage relies on user first.
    namespaces.sort_by_key(|n| NAMESPACES.iter().position(|(name, _)| *name == n.name));
    let has = |n: &str| namespaces.iter().any(|x| x.name == n);
    let maps = |m: &Option<Vec<oci_spec::runtime::LinuxIdMapping>>| -> Vec<IdMap> {
        m.iter()
            .flatten()
            .map(|m| IdMap {
                container: m.container_id(),
                host: m.host_id(),
                size: m.size(),
            })
            .collect()
    };
    let uid_mappings = maps(linux.uid_mappings());
    let gid_mappings = maps(linux.gid_mappings());
    let new_userns = namespaces
        .iter()
        .any(|n| n.name == "user" && n.path.is_none());
    if new_userns && uid_mappings.is_empty() {
        return Err(SpecError::NoMappings("uid"));
    }
    if new_userns && gid_mappings.is_empty() {
        return Err(SpecError::NoMappings("gid"));
    }
    if !has("user") && !uid_mappings.is_empty() {
        return Err(SpecError::MappingsWithoutUserns("uid"));
    }
    if !has("user") && !gid_mappings.is_empty() {
        return Err(SpecError::MappingsWithoutUserns("gid"));
    }
    let hostname = spec.hostname().clone().filter(|h| !h.is_empty());
    let domainname = spec.domainname().clone().filter(|h| !h.is_empty());
    if hostname.is_some() && !has("uts") {
        return Err(SpecError::HostnameNoUts);
    }
    if domainname.is_some() && !has("uts") {
        return Err(SpecError::DomainnameNoUts);
    }
    // Without a mount namespace runc works in the runtime's own: mounts,
    // then chroot instead of pivot_root (rootfs::enter_rootfs), and no
    // finalizeRootfs. Its validator refuses masked/read-only paths there.
    if !has("mnt") {
        let l = spec.linux().as_ref();
        let some = |v: Option<&Vec<String>>| v.is_some_and(|v| !v.is_empty());
        if some(l.and_then(|l| l.masked_paths().as_ref()))
            || some(l.and_then(|l| l.readonly_paths().as_ref()))
        {
            return Err(SpecError::RestrictNoMountNs);
        }
        // Stricter than runc 1.1.5, which ignores root.readonly here and hands
        // the container a writable root it was told to make read-only: doing
        // it would remount the host's directory read-only in the host's mount
        // namespace, beyond the container's life. A security setting that
        // cannot be honoured is refused, not dropped.
        if spec
            .root()
            .as_ref()
            .is_some_and(|r| r.readonly().unwrap_or(false))
        {
            return Err(SpecError::ReadonlyNoMountNs);
        }
    }
    let mut time_offsets = Vec::new();
    if namespaces
        .iter()
        .any(|n| n.name == "time" && n.path.is_none())
    {
        for (clock, off) in linux.time_offsets().iter().flatten() {
            if clock != "monotonic" && clock != "boottime" {
                return Err(SpecError::TimeClock(clock.clone()));
            }
            time_offsets.push((
                clock.clone(),
                off.secs().unwrap_or(0),
                off.nanosecs().unwrap_or(0),
            ));
        }
        time_offsets.sort();
    }
    let rootfs = RootfsPlan::from_spec(spec, bundle, no_pivot)?;
    let security = SecurityPlan::from_spec(spec, false)?;
    let hooks = HookSet::from_spec(spec)?;
    let init_hooks = HookSet {
        hooks: hooks
            .hooks
            .iter()
            .filter(|(k, _)| k.in_container())
            .cloned()
            .collect(),
    };
    let proc_hooks =
        !hooks.get(Kind::Prestart).is_empty() || !hooks.get(Kind::CreateRuntime).is_empty();
    let mut annotations: Vec<(String, String)> = spec
        .annotations()
        .iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    annotations.sort();
    Ok(Plan {
        oci_version: spec.version().clone(),
        bundle: bundle.to_path_buf(),
        rootfs: PathBuf::from(&rootfs.rootfs),
        annotations,
        namespaces,
        uid_mappings,
        gid_mappings,
        oom_score_adj: spec.process().as_ref().and_then(|p| p.oom_score_adj()),
        time_offsets,
        cgroups_path: linux
            .cgroups_path()
            .as_ref()
            .map(|p| p.display().to_string()),
        resources: linux.resources().clone(),
        device_paths: linux
            .devices()
            .iter()
            .flatten()
            .map(|d| d.path().display().to_string())
            .collect(),
        hooks,
        init: InitPlan {
            process,
            rootfs: Some(rootfs),
            hostname,
            domainname,
            fds: InitFds::default(),
            security,
            hooks: init_hooks,
            proc_hooks,
            ..Default::default()
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bundle_with(json: &str) -> (tempdir::Dir, Result<Plan, SpecError>) {
        let d = tempdir::Dir::new();
        std::fs::create_dir(d.0.join("rootfs")).unwrap();
        std::fs::write(d.0.join("config.json"), json).unwrap();
        let r = load(&d.0, false);
        (d, r)
    }

    mod tempdir {
        pub struct Dir(pub std::path::PathBuf);
        impl Dir {
            pub fn new() -> Dir {
                use std::sync::atomic::{AtomicU32, Ordering};
                static N: AtomicU32 = AtomicU32::new(0);
                let p = std::env::temp_dir().join(format!(
                    "rt-spec-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                std::fs::create_dir_all(&p).unwrap();
                Dir(p)
            }
        }
        impl Drop for Dir {
            fn drop(&mut self) {
                let _ = std::fs::remove_dir_all(&self.0);
            }
        }
    }

    const BASE: &str = r#"{"ociVersion":"VER","root":{"path":"rootfs"},"hostname":"h",
        "process":{"args":ARGS,"cwd":"CWD","user":{"uid":1,"gid":2,"additionalGids":[5]},"env":["A=b"]},
        "mounts":[{"destination":"/proc","type":"proc","source":"proc"}],
        "linux":{"namespaces":[{"type":"mount"},{"type":"pid"},{"type":"uts"},{"type":"network","path":"/proc/1/ns/net"}]}}"#;

    fn cfg(ver: &str, args: &str, cwd: &str) -> String {
        BASE.replace("VER", ver)
            .replace("ARGS", args)
            .replace("CWD", cwd)
    }

    #[test]
    fn builds_a_plan() {
        let (d, p) = bundle_with(&cfg("1.0.2-dev", r#"["/bin/sh"]"#, "/"));
        let p = p.unwrap();
        assert_eq!(p.rootfs, std::fs::canonicalize(d.0.join("rootfs")).unwrap());
        let names: Vec<&str> = p.namespaces.iter().map(|n| n.name.as_str()).collect();
        assert_eq!(names, ["uts", "net", "pid", "mnt"]);
        assert!(p.new_ns("pid") && !p.new_ns("net"));
        assert_eq!(p.init.process.additional_gids, vec![5]);
        assert_eq!(p.init.hostname.as_deref(), Some("h"));
        assert_eq!(p.init.rootfs.as_ref().unwrap().mounts.len(), 1);
    }

    #[test]
    fn refuses_bad_configs() {
        let e = |v: &str, a: &str, c: &str| bundle_with(&cfg(v, a, c)).1.unwrap_err().to_string();
        assert_eq!(e("1.0.2", "[]", "/"), "args must not be empty");
        assert_eq!(e("1.0.2", r#"["x"]"#, ""), "Cwd property must not be empty");
        assert_eq!(e("1.0.2", r#"["x"]"#, "a"), "Cwd must be an absolute path");
        assert!(e("2.0.0", r#"["x"]"#, "/").contains("unsupported spec version"));
        assert!(e("1.4.0", r#"["x"]"#, "/").contains("unsupported spec version"));
        let (_d, r) = bundle_with("{nope");
        assert!(r
            .unwrap_err()
            .to_string()
            .starts_with("parsing config.json"));
    }

    // oci-spec checks process.execCPUAffinity with a regex; nsrun builds
    // it on regex-lite (src/shim/regex), whose `\d` is ASCII only.
    #[test]
    fn exec_cpu_affinity_is_checked() {
        let with = |a: &str| {
            cfg("1.2.0", r#"["x"]"#, "/").replace(
                r#""cwd":"/""#,
                &format!(r#""cwd":"/","execCPUAffinity":{{"initial":"{a}"}}"#),
            )
        };
        for ok in ["0", "0-1", "0-1,3,5-7"] {
            assert!(bundle_with(&with(ok)).1.is_ok(), "{ok}");
        }
        for bad in ["", "x", "1-", ",1", "0;1", "\u{663}"] {
            let e = bundle_with(&with(bad)).1.unwrap_err().to_string();
            assert!(e.contains("Invalid execCPUAffinity format"), "{bad}: {e}");
        }
    }

    #[test]
    fn versions() {
        for ok in ["1.0.0", "1.0.2-dev", "1.1.0", "1.2.1", "1.3.0", "1.3.7+x"] {
            assert!(check_version(ok).is_ok(), "{ok}");
        }
        for bad in ["0.9.0", "1.4.0", "2.0.0", "", "1.0", "x"] {
            assert!(check_version(bad).is_err(), "{bad}");
        }
    }
}
