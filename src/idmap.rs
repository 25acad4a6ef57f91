//! User-namespace maps, written by stage-0 for stage-1 (§3.6).
//!
//! Stage-0 stays in the host user and mount namespaces and writes through the
//! host `/proc`, against a pid it created. When the kernel refuses the write
//! (EPERM: an unprivileged runtime), the setuid helpers newuidmap/newgidmap
//! do it, at the absolute path the parent chose, with an empty environment.

use super::bootstrap::strip_nul;
use super::log::Logger;
use super::sys::Errno;
use super::sys::{self, Pid};
use alloc::ffi::CString;
use alloc::format;
use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

#[derive(Debug, PartialEq, Eq)]
pub enum IdmapError {
    Setgroups {
        pid: Pid,
        errno: Errno,
    },
    Write {
        pid: Pid,
        file: &'static str,
        errno: Errno,
    },
    NoTool,
    Fork(Errno),
    Wait(Errno),
    // runc's words: "failed to use newuid map on %d" / "newgid".
    Tool {
        kind: &'static str,
        pid: Pid,
        why: ToolFailure,
    },
}

impl core::fmt::Display for IdmapError {
    #[allow(unused_variables)]
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Setgroups { pid, errno } => write!(
                f,
                "failed to write 'deny' to /proc/{pid}/setgroups: {}",
                errno.desc()
            ),
            Self::Write { pid, file, errno } => {
                write!(f, "failed to update /proc/{pid}/{file}: {}", errno.desc())
            }
            Self::NoTool => write!(f, "mapping tool not present"),
            Self::Fork(_0) => write!(f, "failed to fork: {}", _0.desc()),
            Self::Wait(_0) => write!(f, "failed to waitpid: {}", _0.desc()),
            Self::Tool { kind, pid, why } => {
                write!(f, "failed to use new{kind} map on {pid}: {why}")
            }
        }
    }
}

impl core::error::Error for IdmapError {}

/// How the mapping tool failed.
#[derive(Debug, PartialEq, Eq)]
pub enum ToolFailure {
    Exit(i32),
    /// runc's C reports a tool killed by a signal as success; we do not.
    Signal(i32),
}

impl core::fmt::Display for ToolFailure {
    #[allow(unused_variables)]
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Exit(_0) => write!(f, "exit status {_0}"),
            Self::Signal(_0) => write!(f, "killed by signal {_0}"),
        }
    }
}

impl core::error::Error for ToolFailure {}

/// Which map, for messages and the fallback tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapKind {
    Uid,
    Gid,
}

impl MapKind {
    fn file(self) -> &'static str {
        match self {
            MapKind::Uid => "uid_map",
            MapKind::Gid => "gid_map",
        }
    }
    fn short(self) -> &'static str {
        match self {
            MapKind::Uid => "uid",
            MapKind::Gid => "gid",
        }
    }
}

/// `deny` to /proc/<pid>/setgroups. Must precede gid_map. ENOENT (kernel <
/// 3.19, no such file) is fine.
pub fn deny_setgroups(pid: Pid) -> Result<(), IdmapError> {
    let path = sys::cstring(format!("/proc/{pid}/setgroups").as_bytes());
    match sys::write_file(&path, b"deny") {
        Ok(()) | Err(Errno::ENOENT) => Ok(()),
        Err(errno) => Err(IdmapError::Setgroups { pid, errno }),
    }
}

/// Write one map (the payload as sent, NUL included, like runc), falling back
/// to the mapping tool on EPERM. An absent or empty map is skipped.
pub fn update_map(
    log: &Logger,
    kind: MapKind,
    pid: Pid,
    map: Option<&[u8]>,
    tool: Option<&[u8]>,
) -> Result<(), IdmapError> {
    let Some(map) = map.filter(|m| !strip_nul(m).is_empty()) else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(strip_nul(map));
    let file = kind.file();
    log.debug(&format!("update /proc/{pid}/{file} to '{text}'"));
    let path = sys::cstring(format!("/proc/{pid}/{file}").as_bytes());
    match sys::write_file(&path, map) {
        Ok(()) => Ok(()),
        Err(Errno::EPERM) => {
            let tool = tool.map(strip_nul).filter(|t| !t.is_empty());
            let shown = tool.map(String::from_utf8_lossy).unwrap_or_default();
            log.debug(&format!(
                "update /proc/{pid}/{file} got -EPERM (trying {shown})"
            ));
            let tool = tool.ok_or(IdmapError::NoTool)?;
            run_tool(tool, pid, strip_nul(map)).map_err(|e| match e {
                ToolRun::Failed(why) => IdmapError::Tool {
                    kind: kind.short(),
                    pid,
                    why,
                },
                ToolRun::Fork(e) => IdmapError::Fork(e),
                ToolRun::Wait(e) => IdmapError::Wait(e),
            })
        }
        Err(errno) => Err(IdmapError::Write { pid, file, errno }),
    }
}

/// The tool's argv: `[tool, pid, tokens...]`, the map split on runs of
/// spaces and newlines. No fixed limit (C's MAX_ARGV overflowed past five
/// lines).
pub fn tool_argv(tool: &[u8], pid: Pid, map: &[u8]) -> Vec<CString> {
    let mut argv = vec![
        sys::cstring(tool),
        sys::cstring(alloc::format!("{pid}").as_bytes()),
    ];
    argv.extend(
        map.split(|&c| c == b' ' || c == b'\n')
            .filter(|t| !t.is_empty())
            .map(sys::cstring),
    );
    argv
}

enum ToolRun {
    Failed(ToolFailure),
    Fork(Errno),
    Wait(Errno),
}

fn run_tool(tool: &[u8], pid: Pid, map: &[u8]) -> Result<(), ToolRun> {
    let argv = tool_argv(tool, pid, map);
    let path = argv[0].clone();
    match sys::fork().map_err(ToolRun::Fork)? {
        None => {
            // Empty environment and no PATH lookup: the parent resolved the
            // absolute path, and a setuid helper must not see our env.
            sys::execve(&path, &argv, &[]);
            sys::exit(1);
        }
        Some(child) => {
            let st = sys::waitpid(child).map_err(ToolRun::Wait)?;
            if libc::WIFSIGNALED(st) {
                return Err(ToolRun::Failed(ToolFailure::Signal(libc::WTERMSIG(st))));
            }
            match libc::WEXITSTATUS(st) {
                0 => Ok(()),
                n => Err(ToolRun::Failed(ToolFailure::Exit(n))),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn argv_has_no_fixed_limit() {
        let map = "0 1000 1\n1 100000 10\n11 200000 10\n21 300000 10\n31 400000 10\n41 500000 10\n51 600000 10\n";
        let a = tool_argv(b"/usr/bin/newuidmap", 77, map.as_bytes());
        assert_eq!(a.len(), 2 + 21);
        assert_eq!(a[1].to_str().unwrap(), "77");
        assert_eq!(a[2].to_str().unwrap(), "0");
        assert_eq!(a[22].to_str().unwrap(), "10");
    }

    #[test]
    fn tool_killed_by_signal_is_failure() {
        let dir = std::env::temp_dir().join(format!("nsexec-idmap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let script = dir.join("tool");
        std::fs::write(&script, "#!/bin/sh\nkill -9 $$\n").unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
        let r = run_tool(script.to_str().unwrap().as_bytes(), 1, b"0 0 1");
        assert!(matches!(r, Err(ToolRun::Failed(ToolFailure::Signal(9)))));
        std::fs::write(&script, "#!/bin/sh\nexit 3\n").unwrap();
        let r = run_tool(script.to_str().unwrap().as_bytes(), 1, b"0 0 1");
        assert!(matches!(r, Err(ToolRun::Failed(ToolFailure::Exit(3)))));
        std::fs::write(&script, "#!/bin/sh\n[ $# = 4 ] && [ -z \"$HOME\" ]\n").unwrap();
        let r = run_tool(script.to_str().unwrap().as_bytes(), 1, b"0 0 1");
        assert!(r.is_ok(), "argv or empty env wrong");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
