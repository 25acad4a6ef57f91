//! OOM notifications. v1: an eventfd registered on memory.oom_control via
//! cgroup.event_control (the kernel also signals it when the cgroup goes
//! away). v2: the "oom" counter of memory.events, polled.

use std::io::Read;
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use super::files::{self, io_err, kv, read_kv};
use super::Result;

#[derive(Debug, PartialEq, Eq)]
pub enum OomEvent {
    Oom,
    Timeout,
    /// The cgroup was removed.
    Gone,
}

pub enum OomWatcher {
    V1 {
        efd: OwnedFd,
        _oom_control: std::fs::File,
        dir: PathBuf,
    },
    V2 {
        dir: PathBuf,
        last: u64,
    },
    /// No memory controller: never fires.
    None,
}

impl OomWatcher {
    pub fn v1(dir: &Path) -> Result<Self> {
        let ctl = dir.join("memory.oom_control");
        let oom_control = std::fs::File::open(&ctl).map_err(|e| io_err("open", &ctl, e))?;
        let efd = eventfd()?;
        files::write(
            dir,
            "cgroup.event_control",
            &format!("{} {}", efd.as_raw_fd(), oom_control.as_raw_fd()),
        )?;
        Ok(OomWatcher::V1 {
            efd,
            _oom_control: oom_control,
            dir: dir.to_owned(),
        })
    }

    pub fn v2(dir: &Path) -> Result<Self> {
        let last = kv(&read_kv(dir, "memory.events")?, "oom");
        Ok(OomWatcher::V2 {
            dir: dir.to_owned(),
            last,
        })
    }

    /// Wait up to `timeout` for the next OOM.
    pub fn wait(&mut self, timeout: Duration) -> Result<OomEvent> {
        match self {
            OomWatcher::None => {
                std::thread::sleep(timeout);
                Ok(OomEvent::Timeout)
            }
            OomWatcher::V1 { efd, dir, .. } => {
                if !poll_in(efd, timeout) {
                    return Ok(OomEvent::Timeout);
                }
                let mut buf = [0u8; 8];
                let mut f =
                    std::fs::File::from(efd.try_clone().map_err(|e| io_err("dup", dir, e))?);
                f.read_exact(&mut buf)
                    .map_err(|e| io_err("read eventfd for", dir, e))?;
                if !dir.join("cgroup.event_control").exists() {
                    return Ok(OomEvent::Gone);
                }
                Ok(OomEvent::Oom)
            }
            OomWatcher::V2 { dir, last } => {
                let end = Instant::now() + timeout;
                loop {
                    let ev = match read_kv(dir, "memory.events") {
                        Ok(ev) => ev,
                        Err(_) if !dir.exists() => return Ok(OomEvent::Gone),
                        Err(e) => return Err(e),
                    };
                    let n = kv(&ev, "oom");
                    if n > *last {
                        *last = n;
                        return Ok(OomEvent::Oom);
                    }
                    let now = Instant::now();
                    if now >= end {
                        return Ok(OomEvent::Timeout);
                    }
                    std::thread::sleep((end - now).min(Duration::from_millis(50)));
                }
            }
        }
    }
}

fn eventfd() -> Result<OwnedFd> {
    // SAFETY: eventfd takes no pointers; a non-negative result is a new fd.
    let fd = unsafe { libc::eventfd(0, libc::EFD_CLOEXEC) };
    if fd < 0 {
        return Err(io_err(
            "eventfd",
            Path::new(""),
            std::io::Error::last_os_error(),
        ));
    }
    // SAFETY: fd was just created and is owned by nobody else.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// Whether `fd` became readable within `timeout`.
fn poll_in(fd: &OwnedFd, timeout: Duration) -> bool {
    let mut p = libc::pollfd {
        fd: fd.as_raw_fd(),
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
    // SAFETY: one valid pollfd, count 1.
    let r = unsafe { libc::poll(&mut p, 1, ms) };
    r > 0 && p.revents & libc::POLLIN != 0
}
