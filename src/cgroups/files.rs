//! Reading and writing cgroup files, and removing cgroup directories.

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use super::{Error, Result};

pub fn io_err(op: &'static str, path: &Path, source: std::io::Error) -> Error {
    Error::Io {
        op,
        path: path.to_owned(),
        source,
    }
}

/// Write `value` to `dir/file` in one write(2), as the kernel wants.
pub fn write(dir: &Path, file: &str, value: &str) -> Result<()> {
    Control::open(dir, file)?.write(value)
}

/// A control file kept open for several values, each in its own write(2):
/// devices.allow and devices.deny take one rule per write, and a spec's
/// dozen rules then cost one open instead of one each.
pub struct Control {
    path: std::path::PathBuf,
    file: std::fs::File,
}

impl Control {
    pub fn open(dir: &Path, file: &str) -> Result<Control> {
        let path = dir.join(file);
        let file = std::fs::OpenOptions::new()
            .write(true)
            .open(&path)
            .map_err(|e| io_err("open", &path, e))?;
        Ok(Control { path, file })
    }

    pub fn write(&mut self, value: &str) -> Result<()> {
        self.file
            .write_all(value.as_bytes())
            .map_err(|source| Error::Write {
                value: value.to_string(),
                path: self.path.clone(),
                source,
            })
    }
}

pub fn read(dir: &Path, file: &str) -> Result<String> {
    let p = dir.join(file);
    std::fs::read_to_string(&p).map_err(|e| io_err("read", &p, e))
}

/// A single number, "max" being u64::MAX (v2) as runc reads it.
pub fn read_u64(dir: &Path, file: &str) -> Result<u64> {
    let s = read(dir, file)?;
    parse_u64(s.trim()).ok_or_else(|| {
        Error::Config(format!(
            "unable to parse {}/{file}: {:?}",
            dir.display(),
            s.trim()
        ))
    })
}

pub fn parse_u64(s: &str) -> Option<u64> {
    if s == "max" {
        return Some(u64::MAX);
    }
    // v1 reports "unlimited" as a huge value, and a few files a negative one.
    s.parse::<u64>()
        .ok()
        .or_else(|| s.parse::<i64>().ok().map(|_| 0))
}

/// "key value" lines (memory.stat, cpu.stat, memory.events, ...).
pub fn read_kv(dir: &Path, file: &str) -> Result<Vec<(String, u64)>> {
    Ok(read(dir, file)?
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(' ')?;
            Some((k.to_owned(), parse_u64(v.trim())?))
        })
        .collect())
}

pub fn kv(pairs: &[(String, u64)], key: &str) -> u64 {
    pairs.iter().find(|(k, _)| k == key).map_or(0, |p| p.1)
}

/// Pids in `dir/cgroup.procs` of the cgroup and all its descendants.
pub fn all_pids(dir: &Path, out: &mut Vec<i32>) -> Result<()> {
    match std::fs::read_to_string(dir.join("cgroup.procs")) {
        // cgroup.procs lists a task outside our pid namespace as 0: never
        // keep it (kill(0) would signal our own process group).
        Ok(s) => out.extend(
            s.lines()
                .filter_map(|l| l.trim().parse::<i32>().ok())
                .filter(|p| *p > 0),
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(io_err("read", &dir.join("cgroup.procs"), e)),
    }
    for ent in std::fs::read_dir(dir)
        .map_err(|e| io_err("read", dir, e))?
        .flatten()
    {
        if ent.file_type().is_ok_and(|t| t.is_dir()) {
            all_pids(&ent.path(), out)?;
        }
    }
    Ok(())
}

/// SIGKILL each pid; a pid <= 0 is never signalled (kill(2) would take it
/// as a process group or every process we may signal).
pub fn kill_pids(pids: &[i32]) {
    for p in pids.iter().filter(|p| **p > 0) {
        let _ = nix::sys::signal::kill(
            nix::unistd::Pid::from_raw(*p),
            nix::sys::signal::Signal::SIGKILL,
        );
    }
}

/// rmdir `dir` and its sub-cgroups, deepest first. A cgroup whose last task
/// just died can stay busy for a moment (EBUSY), so runc retries for about
/// 100 ms in growing steps; we do the same. A missing dir is success.
pub fn remove_tree(dir: &Path) -> Result<()> {
    // Most cgroups have no children and no tasks left: try the rmdir first,
    // and list the directory (a dozen control files) only when it is refused.
    match std::fs::remove_dir(dir) {
        Ok(()) => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(_) => {}
    }
    if let Ok(rd) = std::fs::read_dir(dir) {
        for ent in rd.flatten() {
            if ent.file_type().is_ok_and(|t| t.is_dir()) {
                remove_tree(&ent.path())?;
            }
        }
    }
    let mut delay = Duration::from_millis(1);
    for attempt in 0..8 {
        match std::fs::remove_dir(dir) {
            Ok(()) => return Ok(()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) if attempt < 7 && e.raw_os_error() == Some(libc::EBUSY) => {
                std::thread::sleep(delay);
                delay *= 2;
            }
            Err(e) => {
                return Err(Error::Remove {
                    path: dir.to_owned(),
                    source: e,
                })
            }
        }
    }
    unreachable!("the last attempt returns")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers() {
        assert_eq!(parse_u64("max"), Some(u64::MAX));
        assert_eq!(parse_u64("42"), Some(42));
        assert_eq!(parse_u64("-1"), Some(0));
        assert_eq!(parse_u64("x"), None);
    }

    #[test]
    fn key_values() {
        let d = std::env::temp_dir().join(format!("nsrun-cgtest-kv-{}", std::process::id()));
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(
            d.join("memory.events"),
            "low 0\nhigh 1\nmax 5\noom 2\noom_kill 1\n",
        )
        .unwrap();
        let kvs = read_kv(&d, "memory.events").unwrap();
        assert_eq!(kv(&kvs, "oom"), 2);
        assert_eq!(kv(&kvs, "missing"), 0);
        std::fs::remove_dir_all(&d).unwrap();
    }
}
