//! `process.terminal`: a pty from the container's devpts, the master sent
//! to `--console-socket` exactly as runc does (one sendmsg, payload
//! `/dev/ptmx`, one SCM_RIGHTS fd), the slave as stdio and controlling tty.

use nix::fcntl::{open, OFlag};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::sys::stat::Mode;
use std::ffi::CStr;
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::InitError;

fn err(what: &'static str) -> impl Fn(nix::Error) -> InitError {
    move |e| InitError::Console(format!("{what}: {e}"))
}

fn os_err(what: &'static str) -> InitError {
    InitError::Console(format!("{what}: {}", nix::Error::last()))
}

/// A new pty: its master and the slave's path. libc rather than nix's pty
/// module, which needs nix's termios module, whose speed wrappers name glibc
/// symbol versions (`cfsetispeed@GLIBC_2.2.5`) that a static libc lacks.
fn open_pty() -> Result<(OwnedFd, String), InitError> {
    // SAFETY: posix_openpt returns a new descriptor or -1.
    let fd = unsafe { libc::posix_openpt(libc::O_RDWR | libc::O_NOCTTY | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(os_err("open /dev/ptmx"));
    }
    // SAFETY: fd is fresh and ours.
    let master = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: grantpt and unlockpt on our own master.
    if unsafe { libc::grantpt(fd) } != 0 {
        return Err(os_err("grantpt"));
    }
    // SAFETY: as above.
    if unsafe { libc::unlockpt(fd) } != 0 {
        return Err(os_err("unlockpt"));
    }
    let mut buf = [0 as libc::c_char; 64];
    // SAFETY: buf is writable for its whole length; ptsname_r NUL-terminates.
    let rc = unsafe { libc::ptsname_r(fd, buf.as_mut_ptr(), buf.len()) };
    if rc != 0 {
        return Err(InitError::Console(format!(
            "ptsname: {}",
            nix::Error::from_raw(rc)
        )));
    }
    // SAFETY: NUL-terminated by ptsname_r.
    let name = unsafe { CStr::from_ptr(buf.as_ptr()) }
        .to_string_lossy()
        .into_owned();
    Ok((master, name))
}

nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, libc::winsize);
nix::ioctl_write_int_bad!(set_ctty, libc::TIOCSCTTY);

/// Make the pty, hand the master over, and make the slave our stdio.
/// `dev_console`: also bind the slave over /dev/console (init, not exec).
pub fn setup(sock: OwnedFd, size: Option<(u16, u16)>, dev_console: bool) -> Result<(), InitError> {
    let (master, name) = open_pty()?;
    if let Some((rows, cols)) = size {
        let ws = libc::winsize {
            ws_row: rows,
            ws_col: cols,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCSWINSZ on a pty master with a valid winsize.
        unsafe { set_winsize(master.as_raw_fd(), &ws) }.map_err(err("resize pty"))?;
    }
    let slave = open(
        Path::new(&name),
        OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC,
        Mode::empty(),
    )
    .map_err(err("open pty slave"))?;
    // SAFETY: open returned a fresh descriptor.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    if dev_console {
        crate::rootfs::mount_console(slave.as_fd())?;
    }
    let fds = [master.as_raw_fd()];
    let iov = [IoSlice::new(b"/dev/ptmx")];
    sendmsg::<()>(
        sock.as_raw_fd(),
        &iov,
        &[ControlMessage::ScmRights(&fds)],
        MsgFlags::empty(),
        None,
    )
    .map_err(err("send console fd"))?;
    drop(sock);
    drop(master);
    for fd in 0..3 {
        nix::unistd::dup2(slave.as_raw_fd(), fd).map_err(err("dup2 pty slave"))?;
    }
    // SAFETY: TIOCSCTTY on our own stdin; stage-2 made us a session leader.
    unsafe { set_ctty(0, 0) }.map_err(err("set controlling tty"))?;
    Ok(())
}
