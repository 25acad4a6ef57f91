//! `process.terminal`: a pty from the container's devpts, the master sent
//! to `--console-socket` exactly as runc does (one sendmsg, payload
//! `/dev/ptmx`, one SCM_RIGHTS fd), the slave as stdio and controlling tty.

use nix::fcntl::{open, OFlag};
use nix::pty::{grantpt, posix_openpt, ptsname_r, unlockpt};
use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};
use nix::sys::stat::Mode;
use std::io::IoSlice;
use std::os::fd::{AsFd, AsRawFd, FromRawFd, OwnedFd};
use std::path::Path;

use super::InitError;

fn err(what: &'static str) -> impl Fn(nix::Error) -> InitError {
    move |e| InitError::Console(format!("{what}: {e}"))
}

nix::ioctl_write_ptr_bad!(set_winsize, libc::TIOCSWINSZ, libc::winsize);
nix::ioctl_write_int_bad!(set_ctty, libc::TIOCSCTTY);

/// Make the pty, hand the master over, and make the slave our stdio.
/// `dev_console`: also bind the slave over /dev/console (init, not exec).
pub fn setup(sock: OwnedFd, size: Option<(u16, u16)>, dev_console: bool) -> Result<(), InitError> {
    let master = posix_openpt(OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC).map_err(err("open /dev/ptmx"))?;
    grantpt(&master).map_err(err("grantpt"))?;
    unlockpt(&master).map_err(err("unlockpt"))?;
    let name = ptsname_r(&master).map_err(err("ptsname"))?;
    if let Some((rows, cols)) = size {
        let ws = libc::winsize { ws_row: rows, ws_col: cols, ws_xpixel: 0, ws_ypixel: 0 };
        // SAFETY: TIOCSWINSZ on a pty master with a valid winsize.
        unsafe { set_winsize(master.as_raw_fd(), &ws) }.map_err(err("resize pty"))?;
    }
    let slave = open(Path::new(&name), OFlag::O_RDWR | OFlag::O_NOCTTY | OFlag::O_CLOEXEC, Mode::empty())
        .map_err(err("open pty slave"))?;
    // SAFETY: open returned a fresh descriptor.
    let slave = unsafe { OwnedFd::from_raw_fd(slave) };
    if dev_console {
        crate::rootfs::mount_console(slave.as_fd())?;
    }
    let fds = [master.as_raw_fd()];
    let iov = [IoSlice::new(b"/dev/ptmx")];
    sendmsg::<()>(sock.as_raw_fd(), &iov, &[ControlMessage::ScmRights(&fds)], MsgFlags::empty(), None)
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
