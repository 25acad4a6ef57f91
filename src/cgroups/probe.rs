//! Probing the host's cgroup layout from /proc/self/mountinfo, once per
//! process (it runs on every `create`, so it reads one file and one small
//! cgroup.controllers, nothing else).

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use super::{Error, Result};

// The project's one mountinfo parser, shared with the rootfs module. It is
// mounted by path (not named through `crate::rootfs`) so that this module
// still builds alone where tests/cgroups_*.rs include it by path.
#[path = "../rootfs/mountinfo.rs"]
#[allow(dead_code)]
mod mountinfo;

/// v1 controller names we recognise in a cgroup mount's super options.
const V1_CONTROLLERS: &[&str] = &[
    "cpuset",
    "cpu",
    "cpuacct",
    "blkio",
    "memory",
    "devices",
    "freezer",
    "net_cls",
    "perf_event",
    "net_prio",
    "hugetlb",
    "pids",
    "rdma",
    "misc",
    "debug",
];

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Layout {
    V1,
    V2,
    Hybrid,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Version {
    V1,
    V2,
}

/// One mounted cgroup hierarchy.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hierarchy {
    pub version: Version,
    pub mount: PathBuf,
    /// v1: the mount's controllers ("cpu", "name=systemd"); v2: the
    /// controllers listed in the root's cgroup.controllers.
    pub controllers: Vec<String>,
}

impl Hierarchy {
    /// The key runc uses in /proc/PID/cgroup: "cpu,cpuacct", "name=systemd",
    /// "" for v2.
    pub fn key(&self) -> String {
        match self.version {
            Version::V1 => self.controllers.join(","),
            Version::V2 => String::new(),
        }
    }

    pub fn has(&self, ctrl: &str) -> bool {
        self.controllers.iter().any(|c| c == ctrl)
    }
}

#[derive(Clone, Debug)]
pub struct Host {
    pub layout: Layout,
    pub hierarchies: Vec<Hierarchy>,
}

impl Host {
    pub fn v2(&self) -> Option<&Hierarchy> {
        self.hierarchies.iter().find(|h| h.version == Version::V2)
    }
}

static HOST: OnceLock<Host> = OnceLock::new();

/// The host layout, probed on first use.
pub fn host() -> Result<&'static Host> {
    if let Some(h) = HOST.get() {
        return Ok(h);
    }
    let text = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| Error::Io {
        op: "read",
        path: "/proc/self/mountinfo".into(),
        source: e,
    })?;
    let mut host = parse_mountinfo(&text, read_controllers)?;
    host.hierarchies.shrink_to_fit();
    Ok(HOST.get_or_init(|| host))
}

fn read_controllers(mount: &Path) -> Vec<String> {
    std::fs::read_to_string(mount.join("cgroup.controllers"))
        .unwrap_or_default()
        .split_whitespace()
        .map(str::to_owned)
        .collect()
}

/// Build a `Host` from mountinfo text; `v2_controllers` reads a v2 mount's
/// cgroup.controllers (a parameter so the parser is unit-testable).
pub fn parse_mountinfo(text: &str, v2_controllers: impl Fn(&Path) -> Vec<String>) -> Result<Host> {
    let mut hier: Vec<Hierarchy> = Vec::new();
    for mi in mountinfo::parse(text) {
        let mount = PathBuf::from(mi.mountpoint);
        let h = match mi.fstype.as_str() {
            "cgroup2" => Hierarchy {
                version: Version::V2,
                controllers: v2_controllers(&mount),
                mount,
            },
            "cgroup" => {
                let controllers: Vec<String> = mi
                    .super_options
                    .split(',')
                    .filter(|o| V1_CONTROLLERS.contains(o) || o.starts_with("name="))
                    .map(str::to_owned)
                    .collect();
                if controllers.is_empty() {
                    continue;
                }
                Hierarchy {
                    version: Version::V1,
                    mount,
                    controllers,
                }
            }
            _ => continue,
        };
        // A hierarchy bind-mounted twice: the first mount wins.
        if !hier
            .iter()
            .any(|x| x.version == h.version && x.controllers == h.controllers)
        {
            hier.push(h);
        }
    }
    let has_v1 = hier.iter().any(|h| h.version == Version::V1);
    let has_v2 = hier.iter().any(|h| h.version == Version::V2);
    let layout = match (has_v1, has_v2) {
        (true, true) => Layout::Hybrid,
        (true, false) => Layout::V1,
        (false, true) => Layout::V2,
        (false, false) => return Err(Error::NoCgroupMount),
    };
    Ok(Host {
        layout,
        hierarchies: hier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const HYBRID: &str = "\
25 30 0:22 / /sys/fs/cgroup ro,nosuid - tmpfs tmpfs ro,mode=755
26 25 0:23 / /sys/fs/cgroup/unified rw,nosuid shared:5 - cgroup2 cgroup2 rw
27 25 0:24 / /sys/fs/cgroup/systemd rw - cgroup cgroup rw,xattr,name=systemd
28 25 0:25 / /sys/fs/cgroup/cpu,cpuacct rw - cgroup cgroup rw,cpu,cpuacct
29 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory
30 25 0:26 / /mnt/memory\\040x rw - cgroup cgroup rw,memory
";

    #[test]
    fn hybrid_layout() {
        let h = parse_mountinfo(HYBRID, |_| vec!["hugetlb".into()]).unwrap();
        assert_eq!(h.layout, Layout::Hybrid);
        assert_eq!(h.hierarchies.len(), 4);
        assert_eq!(h.v2().unwrap().controllers, vec!["hugetlb"]);
        let cpu = h.hierarchies.iter().find(|x| x.has("cpuacct")).unwrap();
        assert_eq!(cpu.key(), "cpu,cpuacct");
        assert_eq!(cpu.mount, PathBuf::from("/sys/fs/cgroup/cpu,cpuacct"));
        assert!(h.hierarchies.iter().any(|x| x.key() == "name=systemd"));
    }

    #[test]
    fn pure_layouts() {
        let v2 = "26 25 0:23 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw,nsdelegate\n";
        assert_eq!(parse_mountinfo(v2, |_| vec![]).unwrap().layout, Layout::V2);
        let v1 = "29 25 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n";
        assert_eq!(parse_mountinfo(v1, |_| vec![]).unwrap().layout, Layout::V1);
        assert!(matches!(
            parse_mountinfo("", |_| vec![]),
            Err(Error::NoCgroupMount)
        ));
    }

    #[test]
    fn octal_unescape() {
        let h = parse_mountinfo(
            "30 1 0:5 / /sys/fs/cgroup/a\\040b rw - cgroup cgroup rw,pids\n",
            |_| vec![],
        )
        .unwrap();
        assert_eq!(h.hierarchies[0].mount, Path::new("/sys/fs/cgroup/a b"));
    }
}
