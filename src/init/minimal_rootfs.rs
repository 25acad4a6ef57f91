//! A deliberately small rootfs setup so containers run before the real
//! `src/rootfs` module lands: spec mounts in order, default /dev nodes and
//! links, pivot_root. It has the same seam the real module will have:
//! `RootfsPlan::from_spec(&Spec, bundle)` in the parent, `apply()` in init.
//!
//! Not here (the rootfs module's job): safe in-root path resolution
//! (openat2 RESOLVE_IN_ROOT), cgroup mounts, masked/readonly paths, mount
//! idmapping, symlink-race hardening.

use bincode::{Decode, Encode};
use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sys::stat::{makedev, mknod, umask, Mode, SFlag};
use nix::unistd::{chdir, chroot, fchdir, pivot_root};
use oci_spec::runtime::Spec;
use std::fs;
use std::os::unix::fs::symlink;
use std::path::{Component, Path, PathBuf};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum RootfsError {
    #[error("root must be specified")]
    NoRoot,
    #[error("rootfs ({0}) does not exist")]
    NoRootfs(String),
    #[error("rootfs ({0}) is not a directory")]
    NotDir(String),
    #[error("invalid mount destination {0:?}: must be absolute and must not contain \"..\"")]
    BadDest(String),
    #[error("error mounting {src:?} to rootfs at {dest:?}: {err}")]
    Mount { src: String, dest: String, err: nix::Error },
    #[error("{op} {path}: {err}")]
    Op { op: &'static str, path: String, err: String },
}

fn op(op: &'static str, path: impl AsRef<Path>, err: impl ToString) -> RootfsError {
    RootfsError::Op { op, path: path.as_ref().display().to_string(), err: err.to_string() }
}

/// One entry of `mounts`, with its options already split into flags + data.
#[derive(Encode, Decode, Debug, Clone, PartialEq, Eq)]
pub struct MountPlan {
    pub source: String,
    pub dest: String,
    pub fstype: String,
    pub flags: u64,
    /// Propagation changes applied after the mount (MS_SHARED, ...).
    pub propagation: Vec<u64>,
    pub data: String,
}

/// A `linux.devices` entry.
#[derive(Encode, Decode, Debug, Clone, PartialEq, Eq)]
pub struct DevicePlan {
    pub path: String,
    pub kind: u32,
    pub major: u64,
    pub minor: u64,
    pub mode: u32,
    pub uid: u32,
    pub gid: u32,
}

#[derive(Encode, Decode, Debug, Clone, PartialEq, Eq, Default)]
pub struct RootfsPlan {
    /// Absolute, symlink-free path of the rootfs on the host.
    pub root: String,
    pub readonly: bool,
    /// Propagation of `/` in the new mount namespace (runc: rslave by default).
    pub propagation: u64,
    pub mounts: Vec<MountPlan>,
    pub devices: Vec<DevicePlan>,
    /// A new user namespace: device nodes are bind-mounted, mknod is not allowed.
    pub userns: bool,
    pub no_pivot: bool,
}

/// `mount(8)` option words and what they do to the flags: (word, clear, flag).
const FLAG_WORDS: &[(&str, bool, u64)] = &[
    ("ro", false, libc::MS_RDONLY),
    ("rw", true, libc::MS_RDONLY),
    ("nosuid", false, libc::MS_NOSUID),
    ("suid", true, libc::MS_NOSUID),
    ("nodev", false, libc::MS_NODEV),
    ("dev", true, libc::MS_NODEV),
    ("noexec", false, libc::MS_NOEXEC),
    ("exec", true, libc::MS_NOEXEC),
    ("sync", false, libc::MS_SYNCHRONOUS),
    ("async", true, libc::MS_SYNCHRONOUS),
    ("dirsync", false, libc::MS_DIRSYNC),
    ("remount", false, libc::MS_REMOUNT),
    ("mand", false, libc::MS_MANDLOCK),
    ("nomand", true, libc::MS_MANDLOCK),
    ("atime", true, libc::MS_NOATIME),
    ("noatime", false, libc::MS_NOATIME),
    ("diratime", true, libc::MS_NODIRATIME),
    ("nodiratime", false, libc::MS_NODIRATIME),
    ("bind", false, libc::MS_BIND),
    ("rbind", false, libc::MS_BIND | libc::MS_REC),
    ("relatime", false, libc::MS_RELATIME),
    ("norelatime", true, libc::MS_RELATIME),
    ("strictatime", false, libc::MS_STRICTATIME),
    ("nostrictatime", true, libc::MS_STRICTATIME),
];

const PROPAGATION_WORDS: &[(&str, u64)] = &[
    ("private", libc::MS_PRIVATE),
    ("rprivate", libc::MS_PRIVATE | libc::MS_REC),
    ("shared", libc::MS_SHARED),
    ("rshared", libc::MS_SHARED | libc::MS_REC),
    ("slave", libc::MS_SLAVE),
    ("rslave", libc::MS_SLAVE | libc::MS_REC),
    ("unbindable", libc::MS_UNBINDABLE),
    ("runbindable", libc::MS_UNBINDABLE | libc::MS_REC),
];

/// Every option word the parser gives a meaning to (`features` lists them).
pub fn option_words() -> impl Iterator<Item = &'static str> {
    FLAG_WORDS.iter().map(|w| w.0).chain(PROPAGATION_WORDS.iter().map(|w| w.0))
}

/// Split mount options into (flags, propagation, data) as runc's parseMountOptions.
pub fn parse_options(opts: &[String]) -> (u64, Vec<u64>, String) {
    let (mut flags, mut prop, mut data) = (0u64, Vec::new(), Vec::new());
    for o in opts {
        if let Some((_, clear, f)) = FLAG_WORDS.iter().find(|(w, _, _)| w == o) {
            if *clear {
                flags &= !f;
            } else {
                flags |= f;
            }
        } else if let Some((_, f)) = PROPAGATION_WORDS.iter().find(|(w, _)| w == o) {
            prop.push(*f);
        } else if o != "tmpcopyup" {
            data.push(o.as_str());
        }
    }
    (flags, prop, data.join(","))
}

fn checked_dest(d: &Path) -> Result<String, RootfsError> {
    let s = d.display().to_string();
    if !d.is_absolute() || d.components().any(|c| c == Component::ParentDir) {
        return Err(RootfsError::BadDest(s));
    }
    Ok(s)
}

impl RootfsPlan {
    /// Read root, mounts, devices and propagation from the spec.
    pub fn from_spec(spec: &Spec, bundle: &Path) -> Result<RootfsPlan, RootfsError> {
        let root = spec.root().as_ref().ok_or(RootfsError::NoRoot)?;
        let mut path = root.path().clone();
        if path.is_relative() {
            path = bundle.join(path);
        }
        let shown = path.display().to_string();
        let path: PathBuf = fs::canonicalize(&path).map_err(|_| RootfsError::NoRootfs(shown.clone()))?;
        if !path.is_dir() {
            return Err(RootfsError::NotDir(shown));
        }
        let linux = spec.linux().as_ref();
        let userns = linux
            .and_then(|l| l.namespaces().as_ref())
            .is_some_and(|ns| ns.iter().any(|n| n.typ() == oci_spec::runtime::LinuxNamespaceType::User));
        let propagation = match linux.and_then(|l| l.rootfs_propagation().as_deref()) {
            None | Some("") => libc::MS_SLAVE | libc::MS_REC,
            Some(p) => PROPAGATION_WORDS
                .iter()
                .find(|(w, _)| *w == p)
                .map(|(_, f)| *f)
                .ok_or_else(|| op("rootfsPropagation", p, "invalid propagation"))?,
        };
        let mut mounts = Vec::new();
        for m in spec.mounts().iter().flatten() {
            let (mut flags, propagation, data) = parse_options(m.options().as_deref().unwrap_or(&[]));
            let fstype = m.typ().clone().unwrap_or_default();
            if fstype == "bind" {
                flags |= libc::MS_BIND;
            }
            let mut source = m.source().clone().unwrap_or_default();
            // runc: a relative bind source is relative to the bundle.
            if flags & libc::MS_BIND != 0 && source.is_relative() {
                source = bundle.join(source);
            }
            mounts.push(MountPlan {
                source: source.display().to_string(),
                dest: checked_dest(m.destination())?,
                fstype,
                flags,
                propagation,
                data,
            });
        }
        let mut devices = Vec::new();
        for d in linux.and_then(|l| l.devices().as_ref()).into_iter().flatten() {
            use oci_spec::runtime::LinuxDeviceType as T;
            let kind = match d.typ() {
                T::C | T::U => libc::S_IFCHR,
                T::B => libc::S_IFBLK,
                T::P => libc::S_IFIFO,
                T::A => continue,
            };
            devices.push(DevicePlan {
                path: checked_dest(d.path())?,
                kind,
                major: d.major() as u64,
                minor: d.minor() as u64,
                mode: d.file_mode().unwrap_or(0o666),
                uid: d.uid().unwrap_or(0),
                gid: d.gid().unwrap_or(0),
            });
        }
        Ok(RootfsPlan {
            root: path.display().to_string(),
            readonly: root.readonly().unwrap_or(false),
            propagation,
            mounts,
            devices,
            userns,
            no_pivot: false,
        })
    }

    /// Build the container's filesystem view and enter it. Runs in init, in
    /// the new mount namespace, before any identity change.
    pub fn apply(&self) -> Result<(), RootfsError> {
        let root = Path::new(&self.root);
        mnt(None, Path::new("/"), None, MsFlags::from_bits_retain(self.propagation), "/")?;
        // pivot_root needs the new root to be a mount point.
        mnt(Some(root), root, None, MsFlags::MS_BIND | MsFlags::MS_REC, &self.root)?;
        let mut dev_bound = false;
        for m in &self.mounts {
            self.mount_one(m)?;
            dev_bound |= m.dest == "/dev" && m.flags & libc::MS_BIND != 0;
        }
        // runc leaves a /dev that is bound from the host as it is.
        if !dev_bound {
            let old = umask(Mode::empty());
            let r = self.make_devices();
            umask(old);
            r?;
        }
        if self.no_pivot {
            move_root(root)?;
        } else {
            pivot(root)?;
        }
        if self.readonly {
            remount_ro(Path::new("/"))?;
        }
        Ok(())
    }

    fn mount_one(&self, m: &MountPlan) -> Result<(), RootfsError> {
        if m.fstype == "cgroup" || m.fstype == "cgroup2" {
            // The cgroup/rootfs modules own cgroup mounts (v1 needs a tmpfs
            // plus one bind per controller); skipped by the minimal setup.
            return Ok(());
        }
        let dest = Path::new(&self.root).join(m.dest.trim_start_matches('/'));
        let flags = MsFlags::from_bits_retain(m.flags);
        if flags.contains(MsFlags::MS_BIND) {
            let src = Path::new(&m.source);
            make_target(&dest, !src.is_dir())?;
            let bind = flags & (MsFlags::MS_BIND | MsFlags::MS_REC);
            mnt(Some(src), &dest, None, bind, &m.source)?;
            // A bind ignores every other flag: apply them with a remount.
            let rest = flags & !(MsFlags::MS_BIND | MsFlags::MS_REC | MsFlags::MS_REMOUNT);
            if !rest.is_empty() {
                mnt(None, &dest, None, rest | MsFlags::MS_BIND | MsFlags::MS_REMOUNT, &m.source)?;
            }
        } else {
            make_target(&dest, false)?;
            let data = (!m.data.is_empty()).then_some(m.data.as_str());
            let src = if m.source.is_empty() { m.fstype.as_str() } else { m.source.as_str() };
            mount(Some(src), &dest, Some(m.fstype.as_str()), flags, data).map_err(|err| {
                RootfsError::Mount { src: src.to_string(), dest: m.dest.clone(), err }
            })?;
        }
        for p in &m.propagation {
            mnt(None, &dest, None, MsFlags::from_bits_retain(*p), &m.dest)?;
        }
        Ok(())
    }

    fn make_devices(&self) -> Result<(), RootfsError> {
        let dev = Path::new(&self.root).join("dev");
        const DEFAULT: [(&str, u64, u64); 6] =
            [("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9), ("tty", 5, 0)];
        let defaults = DEFAULT.iter().map(|(n, ma, mi)| DevicePlan {
            path: format!("/dev/{n}"),
            kind: libc::S_IFCHR,
            major: *ma,
            minor: *mi,
            mode: 0o666,
            uid: 0,
            gid: 0,
        });
        for d in defaults.chain(self.devices.iter().cloned()) {
            let target = Path::new(&self.root).join(d.path.trim_start_matches('/'));
            if let Some(parent) = target.parent() {
                fs::create_dir_all(parent).map_err(|e| op("mkdir", parent, e))?;
            }
            if self.userns {
                // mknod is refused in a user namespace: bind the host node.
                make_target(&target, true)?;
                mnt(Some(Path::new(&d.path)), &target, None, MsFlags::MS_BIND, &d.path)?;
                continue;
            }
            let _ = fs::remove_file(&target);
            let kind = SFlag::from_bits_retain(d.kind);
            mknod(&target, kind, Mode::from_bits_truncate(d.mode), makedev(d.major, d.minor))
                .map_err(|e| op("mknod", &target, e))?;
            nix::unistd::chown(&target, Some(d.uid.into()), Some(d.gid.into()))
                .map_err(|e| op("chown", &target, e))?;
        }
        let links = [
            ("/proc/self/fd", "fd"),
            ("/proc/self/fd/0", "stdin"),
            ("/proc/self/fd/1", "stdout"),
            ("/proc/self/fd/2", "stderr"),
            ("pts/ptmx", "ptmx"),
        ];
        // runc adds /dev/core only where the kernel has /proc/kcore.
        let core = Path::new("/proc/kcore").exists().then_some(("/proc/kcore", "core"));
        for (to, name) in links.into_iter().chain(core) {
            let at = dev.join(name);
            match symlink(to, &at) {
                Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => return Err(op("symlink", &at, e)),
                _ => {}
            }
        }
        Ok(())
    }
}

fn mnt(src: Option<&Path>, dest: &Path, fstype: Option<&str>, flags: MsFlags, shown: &str) -> Result<(), RootfsError> {
    mount(src, dest, fstype, flags, None::<&str>).map_err(|err| RootfsError::Mount {
        src: shown.to_string(),
        dest: dest.display().to_string(),
        err,
    })
}

/// Create a mount target: a directory, or an empty file for a file bind.
fn make_target(p: &Path, file: bool) -> Result<(), RootfsError> {
    if p.exists() {
        return Ok(());
    }
    if file {
        if let Some(parent) = p.parent() {
            fs::create_dir_all(parent).map_err(|e| op("mkdir", parent, e))?;
        }
        fs::OpenOptions::new().create(true).truncate(false).write(true).open(p).map_err(|e| op("create", p, e))?;
        Ok(())
    } else {
        fs::create_dir_all(p).map_err(|e| op("mkdir", p, e))
    }
}

/// runc's pivot_root(".", ".") trick: no temporary directory in the rootfs.
fn pivot(root: &Path) -> Result<(), RootfsError> {
    use std::os::fd::AsRawFd;
    let old = fs::File::open("/").map_err(|e| op("open", "/", e))?;
    chdir(root).map_err(|e| op("chdir", root, e))?;
    pivot_root(".", ".").map_err(|e| op("pivot_root", root, e))?;
    fchdir(old.as_raw_fd()).map_err(|e| op("fchdir", "old root", e))?;
    // Make the old root a slave so the detach below never reaches the host.
    mnt(None, Path::new("."), None, MsFlags::MS_SLAVE | MsFlags::MS_REC, "old root")?;
    umount2(".", MntFlags::MNT_DETACH).map_err(|e| op("umount", "old root", e))?;
    chdir("/").map_err(|e| op("chdir", "/", e))
}

/// `--no-pivot`: move the rootfs over / and chroot into it (runc's msMoveRoot).
fn move_root(root: &Path) -> Result<(), RootfsError> {
    chdir(root).map_err(|e| op("chdir", root, e))?;
    mnt(Some(root), Path::new("/"), None, MsFlags::MS_MOVE, &root.display().to_string())?;
    chroot(".").map_err(|e| op("chroot", root, e))?;
    chdir("/").map_err(|e| op("chdir", "/", e))
}

/// Remount read-only, keeping the locked flags (nosuid, nodev, noexec...) so
/// the remount is allowed in a user namespace too.
fn remount_ro(p: &Path) -> Result<(), RootfsError> {
    let st = nix::sys::statvfs::statvfs(p).map_err(|e| op("statvfs", p, e))?;
    let mut flags = MsFlags::MS_BIND | MsFlags::MS_REMOUNT | MsFlags::MS_RDONLY;
    use nix::sys::statvfs::FsFlags as F;
    for (f, m) in [
        (F::ST_NOSUID, MsFlags::MS_NOSUID),
        (F::ST_NODEV, MsFlags::MS_NODEV),
        (F::ST_NOEXEC, MsFlags::MS_NOEXEC),
        (F::ST_NOATIME, MsFlags::MS_NOATIME),
        (F::ST_NODIRATIME, MsFlags::MS_NODIRATIME),
        (F::ST_RELATIME, MsFlags::MS_RELATIME),
    ] {
        if st.flags().contains(f) {
            flags |= m;
        }
    }
    mnt(None, p, None, flags, "/")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_split_like_runc() {
        let o: Vec<String> = ["nosuid", "strictatime", "mode=755", "size=65536k", "rbind", "rprivate", "ro", "rw"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let (f, p, d) = parse_options(&o);
        assert_eq!(f, libc::MS_NOSUID | libc::MS_STRICTATIME | libc::MS_BIND | libc::MS_REC);
        assert_eq!(p, vec![libc::MS_PRIVATE | libc::MS_REC]);
        assert_eq!(d, "mode=755,size=65536k");
    }

    #[test]
    fn destinations_are_checked() {
        assert!(checked_dest(Path::new("/proc")).is_ok());
        assert!(checked_dest(Path::new("proc")).is_err());
        assert!(checked_dest(Path::new("/a/../../etc")).is_err());
    }
}
