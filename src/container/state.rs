//! `<root>/<id>/state.json`: what nsrun remembers about a container, the
//! status algorithm (libcontainer's currentStatus) and runc's state JSON.

use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::ContainerError;
use crate::spec::Namespace;

pub const STATE_FILE: &str = "state.json";
pub const FIFO: &str = "exec.fifo";

/// What create saves. Private format: only nsrun reads it.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Saved {
    pub id: String,
    pub init_pid: i32,
    /// Field 22 of /proc/<pid>/stat, to tell a reused pid from our init.
    pub init_start: u64,
    pub created: String,
    pub oci_version: String,
    pub bundle: PathBuf,
    pub rootfs: PathBuf,
    pub annotations: BTreeMap<String, String>,
    pub namespaces: Vec<Namespace>,
    pub oom_score_adj: Option<i32>,
    /// runc's state.json `cgroup_paths` (hierarchy -> directory).
    #[serde(default)]
    pub cgroup_paths: BTreeMap<String, PathBuf>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Created,
    Running,
    /// The cgroup freezer holds the container.
    Paused,
    Stopped,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Created => "created",
            Status::Running => "running",
            Status::Paused => "paused",
            Status::Stopped => "stopped",
        }
    }
}

/// runc's state JSON, in its field order.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
pub struct OciState<'a> {
    pub oci_version: &'a str,
    pub id: &'a str,
    pub pid: i32,
    pub status: &'static str,
    pub bundle: &'a Path,
    pub rootfs: &'a Path,
    pub created: &'a str,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: &'a BTreeMap<String, String>,
    pub owner: String,
}

/// runc's id rule: `^[\w+\-\.]+$`, and not `.` or `..`.
/// Atomic write of one bincode value (`codec`) to `name` in a container's
/// state dir: a temp file beside it, then rename. `what` names it in errors.
pub fn save_bin<T: bincode::Encode>(
    dir: &Path,
    name: &str,
    what: &str,
    v: &T,
) -> Result<(), ContainerError> {
    let mut body = Vec::new();
    crate::codec::send(&mut body, v).map_err(|e| ContainerError::Corrupt(e.to_string()))?;
    let tmp = dir.join(format!(".{name}.tmp"));
    let io = |e| ContainerError::Io(format!("write {what}"), e);
    std::fs::write(&tmp, &body).map_err(io)?;
    std::fs::rename(&tmp, dir.join(name)).map_err(io)
}

/// The value [`save_bin`] wrote; None when the file does not exist.
pub fn load_bin<T: bincode::Decode<()>>(
    dir: &Path,
    name: &str,
    what: &str,
) -> Result<Option<T>, ContainerError> {
    let mut f = match std::fs::File::open(dir.join(name)) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(ContainerError::Io(format!("read {what}"), e)),
    };
    crate::codec::recv(&mut f)
        .map(Some)
        .map_err(|e| ContainerError::Corrupt(e.to_string()))
}

pub fn validate_id(id: &str) -> Result<(), ContainerError> {
    if id.is_empty() {
        return Err(ContainerError::EmptyId);
    }
    let ok = id
        .bytes()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'+' | b'-' | b'.'));
    if !ok || id == "." || id == ".." {
        return Err(ContainerError::BadId);
    }
    Ok(())
}

/// (state char, start time) of a pid from /proc/<pid>/stat.
pub fn proc_stat(pid: i32) -> Option<(char, u64)> {
    let s = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // comm may contain spaces and ')': the fields start after the last ')'.
    let rest = &s[s.rfind(')')? + 2..];
    let f: Vec<&str> = rest.split(' ').collect();
    Some((f.first()?.chars().next()?, f.get(19)?.parse().ok()?))
}

impl Saved {
    /// Is our init (not a reused pid) still alive and not a zombie?
    pub fn init_alive(&self) -> bool {
        self.init_pid > 0
            && matches!(proc_stat(self.init_pid), Some((c, t)) if t == self.init_start && c != 'Z' && c != 'X')
    }

    pub fn status(&self, dir: &Path) -> Status {
        if !self.init_alive() {
            return Status::Stopped;
        }
        // libcontainer's order: paused before created.
        if super::cgroup::paused(dir) {
            return Status::Paused;
        }
        if dir.join(FIFO).exists() {
            Status::Created
        } else {
            Status::Running
        }
    }

    pub fn oci(&self, status: Status, owner: String) -> OciState<'_> {
        OciState {
            oci_version: &self.oci_version,
            id: &self.id,
            pid: if status == Status::Stopped {
                0
            } else {
                self.init_pid
            },
            status: status.as_str(),
            bundle: &self.bundle,
            rootfs: &self.rootfs,
            created: &self.created,
            annotations: &self.annotations,
            owner,
        }
    }
}

/// How long `delete` waits for a create (or another delete) of the same id.
const LOCK_WAIT: std::time::Duration = std::time::Duration::from_secs(30);

/// A held lock on a container's state dir (see `Root::lock`).
pub struct DirLock(#[allow(dead_code)] nix::fcntl::Flock<std::fs::File>);

/// The state root (`--root`).
pub struct Root(pub PathBuf);

impl Root {
    pub fn dir(&self, id: &str) -> PathBuf {
        self.0.join(id)
    }

    /// Create the root (mode 0700) if needed.
    pub fn ensure(&self) -> Result<(), ContainerError> {
        match std::fs::create_dir_all(&self.0) {
            Ok(()) => {
                let _ = std::fs::set_permissions(&self.0, std::fs::Permissions::from_mode(0o700));
                Ok(())
            }
            Err(e) => Err(ContainerError::Io(format!("mkdir {}", self.0.display()), e)),
        }
    }

    /// Lock a container's state dir; None when it does not exist. `create`
    /// holds the lock until state.json is written and `delete` takes it
    /// before it looks: a delete never tears down a half-made container
    /// under its create (which then made the cgroup again, orphaned, with
    /// live processes), and two deletes never race. flock dies with its
    /// holder, so a SIGKILLed create leaves no stale lock; the bound is far
    /// above any healthy create, which holds it for milliseconds.
    pub fn lock(&self, id: &str) -> Result<Option<DirLock>, ContainerError> {
        use nix::fcntl::{Flock, FlockArg};
        let dir = self.dir(id);
        let mut f = match std::fs::File::open(&dir) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(ContainerError::Io(format!("open {}", dir.display()), e)),
        };
        let end = std::time::Instant::now() + LOCK_WAIT;
        loop {
            match Flock::lock(f, FlockArg::LockExclusiveNonblock) {
                Ok(l) => return Ok(Some(DirLock(l))),
                Err((back, nix::errno::Errno::EWOULDBLOCK)) if std::time::Instant::now() < end => {
                    f = back;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
                Err((_, nix::errno::Errno::EWOULDBLOCK)) => {
                    return Err(ContainerError::Locked(id.to_string(), LOCK_WAIT.as_secs()))
                }
                Err((_, e)) => {
                    return Err(ContainerError::Io(
                        format!("lock {}", dir.display()),
                        e.into(),
                    ))
                }
            }
        }
    }

    pub fn load(&self, id: &str) -> Result<Saved, ContainerError> {
        validate_id(id)?;
        let data = match std::fs::read(self.dir(id).join(STATE_FILE)) {
            Ok(d) => d,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(ContainerError::NotExist)
            }
            Err(e) => return Err(ContainerError::Io("read state".into(), e)),
        };
        serde_json::from_slice(&data).map_err(|e| ContainerError::Corrupt(e.to_string()))
    }

    /// Atomic write: temp file in the same dir, fsync-free rename.
    pub fn save(&self, s: &Saved) -> Result<(), ContainerError> {
        let dir = self.dir(&s.id);
        let tmp = dir.join(".state.json.tmp");
        let io = |e| ContainerError::Io("write state".into(), e);
        let body = serde_json::to_vec(s).map_err(|e| ContainerError::Corrupt(e.to_string()))?;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(io)?;
        f.write_all(&body).map_err(io)?;
        drop(f);
        std::fs::rename(&tmp, dir.join(STATE_FILE)).map_err(io)
    }

    /// Ids of every container dir under the root, sorted.
    /// The ids under the root, made first as runc's factory does
    /// (`os.MkdirAll(root, 0700)`): a root that is a file or unreadable is
    /// an error, never an empty list.
    pub fn ids(&self) -> Result<Vec<String>, ContainerError> {
        let words = |op: &str, e: std::io::Error| {
            ContainerError::Usage(format!(
                "{op} {}: {}",
                self.0.display(),
                crate::errno::io(&e)
            ))
        };
        use std::os::unix::fs::DirBuilderExt;
        if let Err(e) = std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&self.0)
        {
            // Go's MkdirAll says ENOTDIR for an existing non-directory.
            let e = if self.0.exists() {
                std::io::Error::from_raw_os_error(libc::ENOTDIR)
            } else {
                e
            };
            return Err(words("mkdir", e));
        }
        let rd = std::fs::read_dir(&self.0).map_err(|e| words("open", e))?;
        let mut v: Vec<String> = rd
            .flatten()
            .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
            .filter_map(|e| e.file_name().into_string().ok())
            .collect();
        v.sort();
        Ok(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_follow_runc() {
        for ok in ["a", "c1", "A_b-c.d+e", "..."] {
            assert!(validate_id(ok).is_ok(), "{ok}");
        }
        for bad in [".", "..", "a/b", "a b", "é", "a:b"] {
            assert_eq!(
                validate_id(bad).unwrap_err().to_string(),
                "invalid container ID format",
                "{bad}"
            );
        }
        assert_eq!(
            validate_id("").unwrap_err().to_string(),
            "container id cannot be empty"
        );
    }

    #[test]
    fn own_stat_is_readable() {
        let (c, t) = proc_stat(std::process::id() as i32).unwrap();
        assert!(c == 'R' || c == 'S');
        assert!(t > 0);
    }

    #[test]
    fn state_json_field_order_and_stopped_pid() {
        let s = Saved {
            id: "c1".into(),
            init_pid: 630,
            init_start: 1,
            created: "2026-11-28T16:53:29.23948245Z".into(),
            oci_version: "1.0.2-dev".into(),
            bundle: "/tmp/cc/b".into(),
            rootfs: "/tmp/cc/b/rootfs".into(),
            annotations: BTreeMap::new(),
            namespaces: vec![],
            oom_score_adj: None,
            cgroup_paths: BTreeMap::new(),
        };
        let out = serde_json::to_string_pretty(&s.oci(Status::Created, String::new())).unwrap();
        assert_eq!(
            out,
            "{\n  \"ociVersion\": \"1.0.2-dev\",\n  \"id\": \"c1\",\n  \"pid\": 630,\n  \"status\": \"created\",\n  \"bundle\": \"/tmp/cc/b\",\n  \"rootfs\": \"/tmp/cc/b/rootfs\",\n  \"created\": \"2026-11-28T16:53:29.23948245Z\",\n  \"owner\": \"\"\n}"
        );
        let j = serde_json::to_string(&s.oci(Status::Stopped, "root".into())).unwrap();
        assert!(j.contains("\"pid\":0,\"status\":\"stopped\""));
    }
}
