//! RootfsPlan: everything init needs to build the container's filesystem,
//! validated once in the parent from the OCI spec and sent to init (bincode).

use std::path::Path;

use bincode::{Decode, Encode};
use oci_spec::runtime::{LinuxDeviceType, LinuxNamespaceType, Spec};

use super::error::{Result, RootfsError};
use super::options::{self, MountOptions, MS_PRIVATE};
use super::secure::clean_abs;

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub enum MountKind {
    Bind,
    Proc,
    Sysfs,
    Tmpfs,
    Devpts,
    Mqueue,
    Cgroup,
    /// Any other filesystem type, mounted as given.
    Other(String),
}

impl MountKind {
    pub fn fstype(&self) -> &str {
        match self {
            MountKind::Bind => "bind",
            MountKind::Proc => "proc",
            MountKind::Sysfs => "sysfs",
            MountKind::Tmpfs => "tmpfs",
            MountKind::Devpts => "devpts",
            MountKind::Mqueue => "mqueue",
            MountKind::Cgroup => "cgroup",
            MountKind::Other(t) => t,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct MountPlan {
    pub kind: MountKind,
    /// Host path for binds (absolute, bundle-relative ones joined), else the fs source word.
    pub source: String,
    /// Clean absolute path inside the container.
    pub destination: String,
    pub options: MountOptions,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Encode, Decode)]
pub enum DeviceKind {
    Char,
    Block,
    Fifo,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct DevicePlan {
    pub path: String,
    pub kind: DeviceKind,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Encode, Decode)]
pub struct RootfsPlan {
    /// Absolute host path of the rootfs, symlink-free (validated).
    pub rootfs: String,
    pub readonly: bool,
    pub no_pivot: bool,
    /// The container has its own mount namespace (else: runc's chroot path,
    /// in the runtime's mount namespace).
    pub mount_ns: bool,
    /// A new user namespace: devices are bind-mounted from the host, not mknod'ed.
    pub user_ns: bool,
    pub cgroup_ns: bool,
    /// MS_* flags for "/" before anything else (0 = runc's default MS_SLAVE|MS_REC).
    pub root_propagation: u64,
    pub mounts: Vec<MountPlan>,
    /// False when the spec bind-mounts /dev itself (runc's needsSetupDev).
    pub setup_dev: bool,
    pub devices: Vec<DevicePlan>,
    pub masked_paths: Vec<String>,
    pub readonly_paths: Vec<String>,
    /// process.cwd, created inside the container after the pivot.
    pub cwd: Option<String>,
    /// The runtime opens every bind source (O_PATH, in init's mount
    /// namespace, as host root) and sends the fds, in mount order, right
    /// after the plan: runc 1.1.5's mount sources (shouldSendMountSources:
    /// user + mount namespace, not rootless, any bind), so a source the
    /// container's root may not reach (a 0700 host dir) still binds.
    pub mount_sources: bool,
}

/// runc's specconv AllowedDevices that have a path: always created.
pub const DEFAULT_DEVICES: &[(&str, u64, u64)] = &[
    ("/dev/null", 1, 3),
    ("/dev/random", 1, 8),
    ("/dev/full", 1, 7),
    ("/dev/tty", 5, 0),
    ("/dev/zero", 1, 5),
    ("/dev/urandom", 1, 9),
];

/// Entries below /proc that may be mounted over (lxcfs), from runc's checkProcMount.
pub const VALID_PROC_MOUNTS: &[&str] = &[
    "/proc/cpuinfo",
    "/proc/diskstats",
    "/proc/meminfo",
    "/proc/stat",
    "/proc/swaps",
    "/proc/uptime",
    "/proc/loadavg",
    "/proc/slabinfo",
    "/proc/net/dev",
    "/proc/sys/kernel/ns_last_pid",
];

fn utf8(p: &Path) -> Result<String> {
    let s = p
        .to_str()
        .ok_or_else(|| RootfsError::NotUtf8(p.to_string_lossy().into_owned()))?;
    if s.contains('\0') {
        return Err(RootfsError::NullByte);
    }
    Ok(s.to_string())
}

impl RootfsPlan {
    /// Validate the spec's filesystem parts. `bundle` is the bundle directory
    /// (relative root.path and bind sources are taken from it, as runc does).
    pub fn from_spec(spec: &Spec, bundle: &Path, no_pivot: bool) -> Result<RootfsPlan> {
        let bundle =
            std::path::absolute(bundle).map_err(|e| RootfsError::InvalidRootfs(e.to_string()))?;
        let root = spec
            .root()
            .as_ref()
            .ok_or_else(|| RootfsError::InvalidRootfs("root is not set in the spec".into()))?;
        let rootfs = validate_rootfs(&bundle.join(root.path()))?;

        let linux = spec.linux().as_ref();
        let has_ns = |t: LinuxNamespaceType| {
            linux
                .and_then(|l| l.namespaces().as_ref())
                .is_some_and(|ns| ns.iter().any(|n| n.typ() == t))
        };
        let prop_word = linux
            .and_then(|l| l.rootfs_propagation().clone())
            .unwrap_or_default();
        let root_propagation = options::propagation_flags(&prop_word)
            .ok_or_else(|| RootfsError::RootPropagation(prop_word.clone()))?;
        if no_pivot && root_propagation & MS_PRIVATE != 0 {
            return Err(RootfsError::PrivateWithoutPivot);
        }

        let mut mounts = Vec::new();
        for m in spec.mounts().iter().flatten() {
            mounts.push(mount_plan(m, &bundle)?);
        }
        let setup_dev = !mounts
            .iter()
            .any(|m| m.kind == MountKind::Bind && m.destination == "/dev");

        let mut devices = Vec::new();
        for d in linux
            .and_then(|l| l.devices().as_ref())
            .into_iter()
            .flatten()
        {
            let path = clean_abs(&utf8(d.path())?);
            let kind = match d.typ() {
                LinuxDeviceType::C | LinuxDeviceType::U => DeviceKind::Char,
                LinuxDeviceType::B => DeviceKind::Block,
                LinuxDeviceType::P => DeviceKind::Fifo,
                t => {
                    return Err(RootfsError::BadDevice {
                        kind: t.as_str().into(),
                        path,
                    })
                }
            };
            if d.major() < 0 || d.minor() < 0 {
                return Err(RootfsError::BadDevice {
                    kind: d.typ().as_str().into(),
                    path,
                });
            }
            devices.push(DevicePlan {
                path,
                kind,
                major: d.major() as u64,
                minor: d.minor() as u64,
                mode: d.file_mode().unwrap_or(0o666) & 0o7777,
                uid: d.uid().unwrap_or(0),
                gid: d.gid().unwrap_or(0),
            });
        }
        for &(path, major, minor) in DEFAULT_DEVICES {
            if !devices.iter().any(|d| d.path == path) {
                devices.push(DevicePlan {
                    path: path.into(),
                    kind: DeviceKind::Char,
                    major,
                    minor,
                    mode: 0o666,
                    uid: 0,
                    gid: 0,
                });
            }
        }

        let paths = |v: Option<&Vec<String>>| -> Result<Vec<String>> {
            v.into_iter()
                .flatten()
                .map(|p| {
                    if p.contains('\0') {
                        Err(RootfsError::NullByte)
                    } else {
                        Ok(clean_abs(p))
                    }
                })
                .collect()
        };
        let cwd = match spec.process().as_ref() {
            Some(p) => Some(clean_abs(&utf8(p.cwd())?)),
            None => None,
        };

        let mount_sources = has_ns(LinuxNamespaceType::User)
            && has_ns(LinuxNamespaceType::Mount)
            && nix::unistd::geteuid().is_root()
            && mounts.iter().any(|m| m.kind == MountKind::Bind);
        Ok(RootfsPlan {
            rootfs,
            readonly: root.readonly().unwrap_or(false),
            no_pivot,
            mount_ns: has_ns(LinuxNamespaceType::Mount),
            user_ns: has_ns(LinuxNamespaceType::User),
            cgroup_ns: has_ns(LinuxNamespaceType::Cgroup),
            root_propagation,
            mounts,
            setup_dev,
            devices,
            masked_paths: paths(linux.and_then(|l| l.masked_paths().as_ref()))?,
            readonly_paths: paths(linux.and_then(|l| l.readonly_paths().as_ref()))?,
            cwd,
            mount_sources,
        })
    }
}

/// configs/validate rootfs(): exists, absolute, and not reached through a symlink.
fn validate_rootfs(p: &Path) -> Result<String> {
    let s = utf8(p)?;
    let md = std::fs::metadata(p)
        .map_err(|e| RootfsError::InvalidRootfs(format!("stat {s}: {}", io_msg(&e))))?;
    if !md.is_dir() {
        return Err(RootfsError::InvalidRootfs(format!(
            "{s} is not a directory"
        )));
    }
    let real = std::fs::canonicalize(p).map_err(|e| RootfsError::InvalidRootfs(io_msg(&e)))?;
    if clean_abs(&s) != utf8(&real)? {
        return Err(RootfsError::InvalidRootfs(
            "not an absolute path, or a symlink".into(),
        ));
    }
    Ok(clean_abs(&s))
}

fn io_msg(e: &std::io::Error) -> String {
    e.raw_os_error().map_or_else(
        || e.to_string(),
        |n| super::sys::strerror(nix::errno::Errno::from_raw(n)),
    )
}

fn mount_plan(m: &oci_spec::runtime::Mount, bundle: &Path) -> Result<MountPlan> {
    let dest_raw = utf8(m.destination())?;
    let destination = clean_abs(&dest_raw);
    let bad = |why: String| RootfsError::InvalidMount {
        dest: dest_raw.clone(),
        why,
    };
    let words = m.options().clone().unwrap_or_default();
    let options = options::parse(&words).map_err(|why| {
        if why.contains("null byte") {
            RootfsError::NullByte
        } else {
            bad(why)
        }
    })?;
    if m.uid_mappings().is_some() || m.gid_mappings().is_some() {
        return Err(bad("idmapped mounts are not supported".into()));
    }
    let typ = m.typ().clone().unwrap_or_default();
    if typ.contains('\0') {
        return Err(RootfsError::NullByte);
    }
    let source = match m.source() {
        Some(s) => utf8(s)?,
        None => String::new(),
    };

    if options.is_bind() {
        // Data on a bind mount ("mode=755", as docker and podman users write)
        // is ignored by the kernel; runc passes it along, and so it is accepted.
        if options.copyup {
            return Err(bad("\"tmpcopyup\" is only for tmpfs".into()));
        }
        if source.is_empty() {
            return Err(bad("bind mount without a source".into()));
        }
        // specconv: a relative bind source is taken from the bundle directory.
        let src = if source.starts_with('/') {
            source
        } else {
            utf8(&bundle.join(&source))?
        };
        return Ok(MountPlan {
            kind: MountKind::Bind,
            source: src,
            destination,
            options,
        });
    }
    let kind = match typ.as_str() {
        "bind" => {
            return Err(bad(
                "type \"bind\" needs a \"bind\" or \"rbind\" option".into()
            ))
        }
        "proc" => MountKind::Proc,
        "sysfs" => MountKind::Sysfs,
        "tmpfs" => MountKind::Tmpfs,
        "devpts" => MountKind::Devpts,
        "mqueue" => MountKind::Mqueue,
        "cgroup" | "cgroup2" => MountKind::Cgroup,
        "" => return Err(bad("mount type is empty and it is not a bind mount".into())),
        t => MountKind::Other(t.to_string()),
    };
    if options.copyup && kind != MountKind::Tmpfs {
        return Err(bad("\"tmpcopyup\" is only for tmpfs".into()));
    }
    check_proc_dest(&destination, &kind).map_err(|e| bad(e.to_string()))?;
    Ok(MountPlan {
        kind,
        source,
        destination,
        options,
    })
}

/// runc's checkProcMount, on the lexical destination (checked again on the resolved one at mount time).
pub fn check_proc_dest(dest: &str, kind: &MountKind) -> Result<()> {
    if dest == "/proc" {
        return if *kind == MountKind::Proc || *kind == MountKind::Bind {
            Ok(()) // a bind's source is checked for procfs at mount time
        } else {
            Err(RootfsError::NotProc(dest.into()))
        };
    }
    if super::mountinfo::is_under(dest, "/proc") && !VALID_PROC_MOUNTS.contains(&dest) {
        return Err(RootfsError::InsideProc(dest.into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> Spec {
        serde_json::from_str(json).unwrap()
    }

    /// A scratch bundle, one per test (they run in parallel), removed on drop.
    struct Bundle(std::path::PathBuf);

    impl std::ops::Deref for Bundle {
        type Target = std::path::Path;
        fn deref(&self) -> &std::path::Path {
            &self.0
        }
    }

    impl Drop for Bundle {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn bundle() -> Bundle {
        use std::sync::atomic::{AtomicU32, Ordering};
        static N: AtomicU32 = AtomicU32::new(0);
        let n = N.fetch_add(1, Ordering::Relaxed);
        let b = std::env::temp_dir().join(format!("rootfs-plan-{}-{n}", std::process::id()));
        std::fs::create_dir_all(b.join("rootfs")).unwrap();
        Bundle(b)
    }

    const BASE: &str = r#"{"ociVersion":"1.0.2","root":{"path":"rootfs","readonly":true},"process":{"cwd":"/work/../w","args":["sh"],"user":{"uid":0,"gid":0}},
      "mounts":[{"destination":"/proc","type":"proc","source":"proc"},
                {"destination":"/dev","type":"tmpfs","source":"tmpfs","options":["nosuid","strictatime","mode=755","size=65536k"]},
                {"destination":"/data/","type":"none","source":"src","options":["rbind","ro","rprivate"]}],
      "linux":{"namespaces":[{"type":"mount"},{"type":"user"}],"maskedPaths":["/proc/kcore"],"readonlyPaths":["/proc/sys"],
               "devices":[{"path":"/dev/fuse","type":"c","major":10,"minor":229}]}}"#;

    #[test]
    fn builds_a_plan_and_round_trips_bincode() {
        let b = bundle();
        let p = RootfsPlan::from_spec(&spec(BASE), &b, false).unwrap();
        assert_eq!(p.rootfs, b.join("rootfs").to_str().unwrap());
        assert!(p.readonly && p.user_ns && !p.cgroup_ns && p.setup_dev);
        assert_eq!(p.mounts[1].kind, MountKind::Tmpfs);
        assert_eq!(p.mounts[1].options.data_string(), "mode=755,size=65536k");
        assert_eq!(p.mounts[2].kind, MountKind::Bind);
        assert_eq!(p.mounts[2].source, b.join("src").to_str().unwrap());
        assert_eq!(p.mounts[2].destination, "/data");
        assert_eq!(p.devices.len(), 7);
        assert_eq!(p.devices[0].mode, 0o666);
        assert_eq!(p.cwd.as_deref(), Some("/w"));
        let cfg = bincode::config::standard();
        let bytes = bincode::encode_to_vec(&p, cfg).unwrap();
        let (q, _): (RootfsPlan, usize) = bincode::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(p, q);
    }

    fn err(json_mounts: &str) -> String {
        let s = BASE.replace(
            r#"{"destination":"/proc","type":"proc","source":"proc"}"#,
            json_mounts,
        );
        RootfsPlan::from_spec(&spec(&s), &bundle(), false)
            .unwrap_err()
            .to_string()
    }

    #[test]
    fn bad_mounts_are_refused_at_plan_time() {
        // Data on a bind is no error: runc passes it to mount(2), which ignores it.
        let s = BASE.replace(
            r#"{"destination":"/proc","type":"proc","source":"proc"}"#,
            r#"{"destination":"/x","type":"none","source":"/tmp","options":["bind","mode=755"]}"#,
        );
        let p = RootfsPlan::from_spec(&spec(&s), &bundle(), false).unwrap();
        assert_eq!(p.mounts[0].options.data_string(), "mode=755");
        assert!(
            err(r#"{"destination":"/x","type":"proc","source":"p","options":["tmpcopyup"]}"#)
                .contains("only for tmpfs")
        );
        assert!(
            err(r#"{"destination":"/proc","type":"tmpfs","source":"t"}"#)
                .contains("not of type proc")
        );
        assert!(
            err(r#"{"destination":"/proc/sys","type":"tmpfs","source":"t"}"#)
                .contains("inside /proc")
        );
        assert!(err(r#"{"destination":"/x","source":"t"}"#).contains("type is empty"));
        assert!(err(r#"{"destination":"/x","type":"none","source":"/tmp","options":["rbind"],"uidMappings":[{"containerID":0,"hostID":1000,"size":1}]}"#)
            .contains("idmapped mounts are not supported"));
        assert!(err(r#"{"destination":"/x","type":"bind","source":"/tmp"}"#)
            .contains("needs a \"bind\""));
        assert_eq!(
            err(r#"{"destination":"/x","type":"tmpfs","source":"t","options":["a\u0000b"]}"#),
            "mount field contains null byte"
        );
        // lxcfs-style entries under /proc are allowed.
        let s = BASE.replace(r#""type":"proc","source":"proc"}"#, r#""type":"proc","source":"proc"},{"destination":"/proc/meminfo","type":"none","source":"/proc/meminfo","options":["bind"]}"#);
        assert!(RootfsPlan::from_spec(&spec(&s), &bundle(), false).is_ok());
    }

    #[test]
    fn rootfs_and_propagation_checks() {
        let b = bundle();
        let s = BASE.replace(
            r#""maskedPaths""#,
            r#""rootfsPropagation":"rprivate","maskedPaths""#,
        );
        assert!(RootfsPlan::from_spec(&spec(&s), &b, false).is_ok());
        assert_eq!(
            RootfsPlan::from_spec(&spec(&s), &b, true)
                .unwrap_err()
                .to_string(),
            "rootfsPropagation of [r]private is not safe without pivot_root"
        );
        let s = BASE.replace(
            r#""maskedPaths""#,
            r#""rootfsPropagation":"sideways","maskedPaths""#,
        );
        assert_eq!(
            RootfsPlan::from_spec(&spec(&s), &b, false)
                .unwrap_err()
                .to_string(),
            "rootfsPropagation=sideways is not supported"
        );
        let s = BASE.replace(r#""path":"rootfs""#, r#""path":"nope""#);
        assert!(RootfsPlan::from_spec(&spec(&s), &b, false)
            .unwrap_err()
            .to_string()
            .starts_with("invalid rootfs: stat"));
        let _ = std::os::unix::fs::symlink("rootfs", b.join("link"));
        let s = BASE.replace(r#""path":"rootfs""#, r#""path":"link""#);
        assert_eq!(
            RootfsPlan::from_spec(&spec(&s), &b, false)
                .unwrap_err()
                .to_string(),
            "invalid rootfs: not an absolute path, or a symlink"
        );
    }

    #[test]
    fn bad_devices_are_refused() {
        let s = BASE.replace(r#""type":"c","major":10"#, r#""type":"a","major":10"#);
        assert_eq!(
            RootfsPlan::from_spec(&spec(&s), &bundle(), false)
                .unwrap_err()
                .to_string(),
            "a is not a valid device type for device /dev/fuse"
        );
        let s = BASE.replace(r#""major":10"#, r#""major":-1"#);
        assert!(RootfsPlan::from_spec(&spec(&s), &bundle(), false).is_err());
        // a spec device replaces the default one of the same path
        let s = BASE.replace(
            r#""path":"/dev/fuse","type":"c","major":10,"minor":229"#,
            r#""path":"/dev/null","type":"c","major":1,"minor":3,"fileMode":438,"uid":5"#,
        );
        let p = RootfsPlan::from_spec(&spec(&s), &bundle(), false).unwrap();
        assert_eq!(
            p.devices.iter().filter(|d| d.path == "/dev/null").count(),
            1
        );
        assert_eq!(p.devices[0].uid, 5);
    }

    #[test]
    fn dev_bind_disables_default_dev_setup() {
        let s = BASE.replace(r#""type":"proc","source":"proc"}"#, r#""type":"proc","source":"proc"},{"destination":"/dev","type":"bind","source":"/dev","options":["rbind"]}"#);
        assert!(
            !RootfsPlan::from_spec(&spec(&s), &bundle(), false)
                .unwrap()
                .setup_dev
        );
    }
}
