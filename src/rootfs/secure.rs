//! Path resolution scoped to the container rootfs.
//!
//! Every container path is resolved by the kernel with openat2(RESOLVE_IN_ROOT)
//! against an O_PATH fd of the rootfs, so `..` and symlinks (absolute or
//! relative) cannot leave it: the same containment runc gets from securejoin,
//! minus the race, because we then act on the fd (move_mount, fchdir,
//! mount_setattr), never on the path again.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::errno::Errno;

use super::error::{Result, RootfsError};
use super::sys::{
    self, RESOLVE_BENEATH, RESOLVE_IN_ROOT, RESOLVE_NO_MAGICLINKS, RESOLVE_NO_SYMLINKS,
};

/// An O_PATH handle on a root directory (the rootfs before pivot, "/" after).
#[derive(Debug)]
pub struct Root {
    fd: OwnedFd,
    /// The path as the kernel reports it for `fd` (used for messages and to
    /// map resolved fds back to container paths).
    path: String,
}

/// Lexically clean an absolute container path: "/a/../b//c/." -> "/b/c";
/// ".." never climbs above "/" (Go's filepath.Clean on "/"+p, as runc's CleanPath).
pub fn clean_abs(p: &str) -> String {
    let mut out: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                out.pop();
            }
            c => out.push(c),
        }
    }
    format!("/{}", out.join("/"))
}

/// Split a clean absolute path into (parent, last component); "/" has no last component.
pub fn split_last(p: &str) -> (&str, &str) {
    match p.rfind('/') {
        Some(0) => ("/", &p[1..]),
        Some(i) => (&p[..i], &p[i + 1..]),
        None => ("/", p),
    }
}

/// An O_PATH directory handle: what every step of a walk opens.
const DIR: i32 = libc::O_PATH | libc::O_DIRECTORY;

fn rel(p: &str) -> &str {
    match p.trim_start_matches('/') {
        "" => ".",
        r => r,
    }
}

impl Root {
    /// Open `path` (a host path) as the root of later resolutions.
    pub fn open(path: &str) -> Result<Root> {
        let fd = sys::openat2(None, path, libc::O_PATH | libc::O_DIRECTORY, 0, 0)
            .map_err(|e| RootfsError::path("open", path, e))?;
        let path = sys::fd_path(fd.as_fd()).unwrap_or_else(|_| path.to_string());
        Ok(Root { fd, path })
    }

    pub fn fd(&self) -> BorrowedFd<'_> {
        self.fd.as_fd()
    }

    /// Host-side spelling of a container path, for error messages.
    pub fn display(&self, p: &str) -> String {
        if self.path == "/" {
            clean_abs(p)
        } else {
            format!("{}{}", self.path, clean_abs(p))
        }
    }

    /// Resolve `p` inside the root (symlinks contained) and open it with `flags`.
    pub fn open_in(&self, p: &str, flags: i32, extra_resolve: u64) -> Result<OwnedFd> {
        sys::openat2(
            Some(self.fd()),
            rel(p),
            flags,
            0,
            RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS | extra_resolve,
        )
        .map_err(|e| RootfsError::path("open", self.display(p), e))
    }

    /// O_PATH handle on `p` inside the root, following symlinks within it.
    pub fn resolve(&self, p: &str) -> Result<OwnedFd> {
        self.open_in(p, libc::O_PATH, 0)
    }

    /// The container path an fd (obtained through this root) really points at.
    pub fn container_path(&self, fd: BorrowedFd<'_>) -> Result<String> {
        let real = sys::fd_path(fd).map_err(|e| RootfsError::path("readlink", "fd", e))?;
        if self.path == "/" {
            return Ok(real);
        }
        match real.strip_prefix(&self.path) {
            Some("") => Ok("/".into()),
            Some(r) if r.starts_with('/') => Ok(r.to_string()),
            _ => Err(RootfsError::unsafe_(
                "path",
                format!("{real} is outside the container rootfs {}", self.path),
            )),
        }
    }

    /// mkdir -p inside the root; returns an O_PATH handle on the final directory.
    /// Missing components are created with mkdirat on the resolved parent, then
    /// re-opened without following symlinks, so a racing swap is refused. A
    /// dangling symlink is followed inside the root, as securejoin does.
    pub fn mkdir_all(&self, p: &str, mode: u32) -> Result<OwnedFd> {
        self.mkdir_all_existed(p, mode).map(|(fd, _)| fd)
    }

    /// `mkdir_all`, also saying whether the directory was there before.
    pub fn mkdir_all_existed(&self, p: &str, mode: u32) -> Result<(OwnedFd, bool)> {
        // Most targets exist already (/proc, /dev, /sys/fs/cgroup, …): one
        // lookup, the same one the walk ends with, instead of one per
        // component. Any other failure takes the walk, which words the
        // error as before.
        match self.open_in(p, DIR, 0) {
            Ok(fd) => Ok((fd, true)),
            Err(e) if e.errno() == Some(Errno::ENOENT) => {
                self.mkdir_missing(p, mode).map(|fd| (fd, false))
            }
            Err(_) => self.mkdir_all_depth(p, mode, 0).map(|fd| (fd, false)),
        }
    }

    /// mkdir -p of a `p` just found missing. The usual miss is a new mount
    /// point in a directory that exists (sys/fs/cgroup/<controller>,
    /// dev/pts, dev/shm, dev/mqueue): the parent is looked up once and only
    /// the walk's last step is made, 3 syscalls instead of one lookup per
    /// component. A missing parent takes the whole walk.
    fn mkdir_missing(&self, p: &str, mode: u32) -> Result<OwnedFd> {
        let p = clean_abs(p);
        let (parent, name) = split_last(&p);
        if !name.is_empty() {
            if let Ok(pfd) = self.open_in(parent, DIR, 0) {
                return self.make_child(pfd.as_fd(), parent, name, &p, mode, 0);
            }
        }
        self.mkdir_all_depth(&p, mode, 0)
    }

    fn mkdir_all_depth(&self, p: &str, mode: u32, depth: usize) -> Result<OwnedFd> {
        let p = clean_abs(p);
        let mut cur = self.open_in("/", DIR, 0)?;
        let mut walked = String::new();
        for c in p.split('/').filter(|c| !c.is_empty()) {
            let parent = if walked.is_empty() {
                "/".to_string()
            } else {
                walked.clone()
            };
            walked.push('/');
            walked.push_str(c);
            cur = match self.open_in(&walked, DIR, 0) {
                Ok(fd) => fd,
                Err(e) if e.errno() == Some(Errno::ENOENT) => {
                    self.make_child(cur.as_fd(), &parent, c, &walked, mode, depth)?
                }
                // Go's MkdirAll words a component that is no directory so.
                Err(e) if e.errno() == Some(Errno::ENOTDIR) => {
                    return Err(RootfsError::path(
                        "mkdir",
                        self.display(&walked),
                        Errno::ENOTDIR,
                    ))
                }
                Err(e) => return Err(e),
            };
        }
        Ok(cur)
    }

    /// One step of the walk: the directory `name` (container path `path`)
    /// is missing in `pfd` (container path `parent`). Follow a dangling
    /// symlink there, or make the directory and open it without following
    /// anything.
    fn make_child(
        &self,
        pfd: BorrowedFd<'_>,
        parent: &str,
        name: &str,
        path: &str,
        mode: u32,
        depth: usize,
    ) -> Result<OwnedFd> {
        if self.follow_dangling(pfd, parent, name, depth)? {
            return self.open_in(path, DIR, 0);
        }
        match sys::mkdirat(pfd, name, mode) {
            Ok(()) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(RootfsError::path("mkdir", self.display(path), e)),
        }
        let beneath = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
        sys::openat2(Some(pfd), name, DIR | libc::O_NOFOLLOW, 0, beneath)
            .map_err(|e| RootfsError::path("open", self.display(path), e))
    }

    /// If `name` in `pfd` is a symlink whose target is missing, create that
    /// target (as a directory, inside the root) and say so.
    fn follow_dangling(
        &self,
        pfd: BorrowedFd<'_>,
        parent: &str,
        name: &str,
        depth: usize,
    ) -> Result<bool> {
        let Ok(target) = sys::readlinkat(pfd, name) else {
            return Ok(false);
        };
        if depth >= 40 {
            return Err(RootfsError::path(
                "open",
                self.display(&format!("{parent}/{name}")),
                Errno::ELOOP,
            ));
        }
        let t = if target.starts_with('/') {
            target
        } else {
            format!("{parent}/{target}")
        };
        self.mkdir_all_depth(&t, 0o755, depth + 1)?;
        Ok(true)
    }

    /// Make sure `p` exists (as a file unless `dir`), creating parents; returns an O_PATH handle.
    pub fn create(&self, p: &str, dir: bool) -> Result<OwnedFd> {
        match self.resolve(p) {
            Ok(fd) => return Ok(fd),
            Err(e) if e.errno() == Some(Errno::ENOENT) => {}
            Err(e) => return Err(e),
        }
        if dir {
            return self.mkdir_missing(p, 0o755);
        }
        let p = clean_abs(p);
        let (parent, name) = split_last(&p);
        let pfd = self.mkdir_all(parent, 0o755)?;
        if let Ok(target) = sys::readlinkat(pfd.as_fd(), name) {
            // A dangling symlink as the last component: create its target inside the root.
            let t = if target.starts_with('/') {
                target
            } else {
                format!("{parent}/{target}")
            };
            let t = clean_abs(&t);
            let (tp, tn) = split_last(&t);
            let tpfd = self.mkdir_all(tp, 0o755)?;
            self.create_at(tpfd.as_fd(), tp, tn)?;
            return self.resolve(&p);
        }
        self.create_at(pfd.as_fd(), parent, name)
    }

    fn create_at(&self, pfd: BorrowedFd<'_>, parent: &str, name: &str) -> Result<OwnedFd> {
        let shown = self.display(&format!("{parent}/{name}"));
        let beneath = RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS;
        let flags = libc::O_RDONLY | libc::O_CREAT | libc::O_EXCL | libc::O_NOFOLLOW;
        match sys::openat2(Some(pfd), name, flags, 0o755, beneath) {
            Ok(_) | Err(Errno::EEXIST) => {}
            Err(e) => return Err(RootfsError::path("open", shown, e)),
        }
        sys::openat2(Some(pfd), name, libc::O_PATH | libc::O_NOFOLLOW, 0, beneath)
            .map_err(|e| RootfsError::path("open", shown, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clean_never_climbs_out() {
        assert_eq!(clean_abs("/a/../b//c/."), "/b/c");
        assert_eq!(clean_abs("../../../etc"), "/etc");
        assert_eq!(clean_abs("/"), "/");
        assert_eq!(clean_abs(""), "/");
        assert_eq!(split_last("/dev/pts"), ("/dev", "pts"));
        assert_eq!(split_last("/dev"), ("/", "dev"));
    }

    #[test]
    fn symlinks_stay_inside_root() {
        let base = std::env::temp_dir().join(format!("rootfs-secure-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&base);
        let root = base.join("root");
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::os::unix::fs::symlink("../../../../..", root.join("up")).unwrap();
        std::os::unix::fs::symlink("/real", root.join("abs")).unwrap();
        let r = Root::open(root.to_str().unwrap()).unwrap();
        // "up" points far above the rootfs: resolved in root it is "/" of the rootfs.
        let fd = r.resolve("/up").unwrap();
        assert_eq!(r.container_path(fd.as_fd()).unwrap(), "/");
        let fd = r.mkdir_all("/abs/x/y", 0o755).unwrap();
        assert_eq!(r.container_path(fd.as_fd()).unwrap(), "/real/x/y");
        assert!(root.join("real/x/y").is_dir());
        let fd = r.create("/up/tmp/f", false).unwrap();
        assert_eq!(r.container_path(fd.as_fd()).unwrap(), "/tmp/f");
        assert!(root.join("tmp/f").is_file());
        // A dangling symlink is followed inside the root, never out of it.
        std::os::unix::fs::symlink("../../../../nonexistent", root.join("dangle")).unwrap();
        let fd = r.mkdir_all("/dangle/z", 0o755).unwrap();
        assert_eq!(r.container_path(fd.as_fd()).unwrap(), "/nonexistent/z");
        std::os::unix::fs::symlink("/made/file", root.join("flink")).unwrap();
        let fd = r.create("/flink", false).unwrap();
        assert_eq!(r.container_path(fd.as_fd()).unwrap(), "/made/file");
        // A self-referencing link loops out with an error, not a stack overflow.
        std::os::unix::fs::symlink("/loop/x", root.join("loop")).unwrap();
        assert!(r.mkdir_all("/loop/y", 0o755).is_err());
        std::fs::remove_dir_all(&base).unwrap();
    }
}
