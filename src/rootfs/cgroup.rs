//! The "cgroup" mount, as runc 1.1 does it.
//!
//! cgroup v2 host: mount cgroup2 (bind /sys/fs/cgroup when the kernel says
//! EPERM/EBUSY, i.e. userns without cgroupns). v1/hybrid host: a tmpfs with one
//! entry per v1 hierarchy; without a cgroup namespace each entry is a bind of
//! *this process's own* cgroup directory (emulating cgroupns), with the mount's
//! flags (so "ro" gives read-only controllers); merged hierarchies such as
//! "cpu,cpuacct" also get "cpu" and "cpuacct" symlinks.

use std::os::fd::AsFd;

use nix::errno::Errno;

use super::error::{Result, RootfsError};
use super::mountinfo::{self, MountInfo};
use super::mounts::{bind, mount_one};
use super::options::{MountOptions, MS_BIND, MS_NODEV, MS_NOEXEC, MS_NOSUID, MS_RDONLY, MS_REC};
use super::plan::{MountKind, MountPlan, RootfsPlan};
use super::secure::Root;
use super::sys::{self, CGROUP2_SUPER_MAGIC};

const UNIFIED: &str = "/sys/fs/cgroup";

pub fn mount(root: &Root, plan: &RootfsPlan, m: &MountPlan) -> Result<()> {
    let fd = sys::openat2(None, UNIFIED, libc::O_PATH | libc::O_DIRECTORY, 0, 0)
        .map_err(|e| RootfsError::path("open", UNIFIED, e))?;
    let fs = sys::fstatfs(fd.as_fd()).map_err(|e| RootfsError::path("statfs", UNIFIED, e))?;
    if fs.f_type as i64 == CGROUP2_SUPER_MAGIC {
        v2(root, plan, m)
    } else {
        v1(root, plan, m)
    }
}

fn v2(root: &Root, plan: &RootfsPlan, m: &MountPlan) -> Result<()> {
    let fsm = MountPlan {
        kind: MountKind::Other("cgroup2".into()),
        source: "cgroup2".into(),
        ..m.clone()
    };
    match mount_one(root, plan, &fsm, None) {
        Err(e) if matches!(e.errno(), Some(Errno::EPERM | Errno::EBUSY)) => {
            // userns without cgroupns cannot mount cgroup2 (runc#2158): bind the host's.
            let mut options = m.options.clone();
            options.flags |= MS_BIND;
            bind(
                root,
                &MountPlan {
                    kind: MountKind::Bind,
                    source: UNIFIED.into(),
                    destination: m.destination.clone(),
                    options,
                },
                None,
            )
        }
        r => r,
    }
}

/// One v1 hierarchy to expose: host source dir and its name under the mount.
#[derive(Debug, PartialEq, Eq)]
pub struct Hierarchy {
    pub source: String,
    pub name: String,
}

/// runc's getCgroupMounts: for each v1 mount, this process's own cgroup dir in it.
pub fn own_hierarchies(mounts: &[MountInfo], cgroup_file: &str) -> Vec<Hierarchy> {
    let own = mountinfo::parse_cgroup_file(cgroup_file);
    let mut out: Vec<Hierarchy> = Vec::new();
    for mi in mounts.iter().filter(|mi| mi.fstype == "cgroup") {
        let opts: Vec<&str> = mi.super_options.split(',').collect();
        let Some((_, path)) = own.iter().find(|(ctrls, _)| {
            !ctrls.is_empty() && ctrls.iter().all(|c| opts.contains(&c.as_str()))
        }) else {
            continue;
        };
        let rel = if mi.root == "/" {
            path.as_str()
        } else {
            path.strip_prefix(mi.root.as_str()).unwrap_or("")
        };
        let name = mi
            .mountpoint
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .to_string();
        if name.is_empty() || out.iter().any(|h| h.name == name) {
            continue;
        }
        out.push(Hierarchy {
            source: format!("{}{}", mi.mountpoint, rel.trim_end_matches('/')),
            name,
        });
    }
    out
}

fn v1(root: &Root, plan: &RootfsPlan, m: &MountPlan) -> Result<()> {
    let cgroup_file = std::fs::read_to_string("/proc/self/cgroup").map_err(|e| {
        RootfsError::path(
            "open",
            "/proc/self/cgroup",
            Errno::from_raw(e.raw_os_error().unwrap_or(0)),
        )
    })?;
    let hier = own_hierarchies(&mountinfo::read_self(), &cgroup_file);

    let tmpfs = MountPlan {
        kind: MountKind::Tmpfs,
        source: "tmpfs".into(),
        destination: m.destination.clone(),
        options: MountOptions {
            flags: MS_NOSUID | MS_NOEXEC | MS_NODEV,
            data: vec!["mode=755".into()],
            propagation: m.options.propagation.clone(),
            ..Default::default()
        },
    };
    mount_one(root, plan, &tmpfs, None)?;

    for h in &hier {
        let dest = format!("{}/{}", m.destination.trim_end_matches('/'), h.name);
        if plan.cgroup_ns {
            // A real cgroup namespace: mount the hierarchy itself.
            let (source, data) = match h.name.as_str() {
                "systemd" => ("systemd", "name=systemd".to_string()),
                n => ("cgroup", n.to_string()),
            };
            let options = MountOptions {
                flags: MS_NOSUID | MS_NOEXEC | MS_NODEV | (m.options.flags & MS_RDONLY),
                data: vec![data],
                ..Default::default()
            };
            let sub = MountPlan {
                kind: MountKind::Other("cgroup".into()),
                source: source.into(),
                destination: dest,
                options,
            };
            mount_one(root, plan, &sub, None)?;
        } else {
            let mut options = m.options.clone();
            options.flags |= MS_BIND | MS_REC;
            options.data.clear();
            bind(
                root,
                &MountPlan {
                    kind: MountKind::Bind,
                    source: h.source.clone(),
                    destination: dest,
                    options,
                },
                None,
            )?;
        }
    }

    let dir = root.resolve(&m.destination)?;
    for h in hier.iter().filter(|h| h.name.contains(',')) {
        for ss in h.name.split(',') {
            match sys::symlinkat(&h.name, dir.as_fd(), ss) {
                Ok(()) | Err(Errno::EEXIST) => {}
                Err(e) => {
                    return Err(RootfsError::path(
                        "symlink",
                        root.display(&format!("{}/{ss}", m.destination)),
                        e,
                    ))
                }
            }
        }
    }
    // runc 1.1 leaves the tmpfs itself read-write (only the hierarchies get "ro").
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn own_dirs_from_mountinfo_and_cgroup_file() {
        let mi = mountinfo::parse(
            "33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw shared:14 - cgroup cgroup rw,cpu,cpuacct\n\
             34 30 0:30 / /sys/fs/cgroup/systemd rw shared:15 - cgroup cgroup rw,xattr,name=systemd\n\
             35 30 0:31 /nested /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n\
             31 30 0:27 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw\n",
        );
        let h = own_hierarchies(
            &mi,
            "4:memory:/nested/ctr\n3:cpu,cpuacct:/a/ctr\n1:name=systemd:/a/ctr\n0::/a/ctr\n",
        );
        assert_eq!(
            h,
            vec![
                Hierarchy {
                    source: "/sys/fs/cgroup/cpu,cpuacct/a/ctr".into(),
                    name: "cpu,cpuacct".into()
                },
                Hierarchy {
                    source: "/sys/fs/cgroup/systemd/a/ctr".into(),
                    name: "systemd".into()
                },
                Hierarchy {
                    source: "/sys/fs/cgroup/memory/ctr".into(),
                    name: "memory".into()
                },
            ]
        );
    }
}
