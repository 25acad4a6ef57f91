//! A terminal for a foreground `run`/`exec` without `--console-socket`:
//! like runc, we receive the pty master ourselves over an internal socket,
//! put our own terminal in raw mode and relay bytes, resizes and signals
//! until the process exits. The bytes go where runc's go (tty.go recvtty):
//! our stdin to the master, the master to our stdout, wherever they point
//! (a file, a pipe, `$(...)`); the terminal found is only the one put in
//! raw mode and the source of the window size.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd};
use std::os::unix::net::UnixStream;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{SigSet, Signal};
use nix::sys::signalfd::{SfdFlags, SignalFd};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

use super::ContainerError;

/// Our side of the terminal: the tty we relay to, and its saved mode.
pub struct Terminal {
    tty: File,
    saved: Option<libc::termios>,
}

/// Find our terminal the way runc does: stderr, stdout or stdin if one is a
/// tty, else /dev/tty. Fails with runc's words when there is none.
pub fn ours() -> Result<Terminal, ContainerError> {
    for fd in [2, 1, 0] {
        if nix::unistd::isatty(fd).unwrap_or(false) {
            let dup = nix::fcntl::fcntl(fd, nix::fcntl::FcntlArg::F_DUPFD_CLOEXEC(3))
                .map_err(|e| ContainerError::Io("dup terminal".into(), e.into()))?;
            // SAFETY: a fresh duplicate we own.
            return Ok(Terminal {
                tty: unsafe { File::from_raw_fd(dup) },
                saved: None,
            });
        }
    }
    let tty = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/tty")
        .map_err(|e| ContainerError::Usage(format!("open /dev/tty: {}", crate::errno::io(&e))))?;
    Ok(Terminal { tty, saved: None })
}

/// The internal console socket: init gets the first end.
pub fn socket_pair() -> Result<(OwnedFd, UnixStream), ContainerError> {
    let (a, b) =
        UnixStream::pair().map_err(|e| ContainerError::Io("console socketpair".into(), e))?;
    Ok((a.into(), b))
}

/// Receive the pty master init sent (one SCM_RIGHTS fd), with ONLCR
/// cleared as runc's recvtty does (console.ClearONLCR), so `\n` reaches our
/// stdout as `\n`, not `\r\n`.
pub fn recv_master(sock: &UnixStream) -> Result<OwnedFd, ContainerError> {
    let m = recv_fd(sock)?;
    if let Some(mut t) = get_mode(m.as_fd()) {
        t.c_oflag &= !libc::ONLCR;
        set_mode(m.as_fd(), &t);
    }
    Ok(m)
}

fn recv_fd(sock: &UnixStream) -> Result<OwnedFd, ContainerError> {
    use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
    let mut buf = [0u8; 64];
    let mut iov = [std::io::IoSliceMut::new(&mut buf)];
    let mut cmsg = nix::cmsg_space!([std::os::fd::RawFd; 1]);
    let msg = recvmsg::<()>(
        sock.as_raw_fd(),
        &mut iov,
        Some(&mut cmsg),
        MsgFlags::MSG_CMSG_CLOEXEC,
    )
    .map_err(|e| ContainerError::Io("receive pty master".into(), e.into()))?;
    for c in msg
        .cmsgs()
        .map_err(|e| ContainerError::Io("receive pty master".into(), e.into()))?
    {
        if let ControlMessageOwned::ScmRights(fds) = c {
            if let Some(fd) = fds.first() {
                // SAFETY: the kernel just installed this fd for us.
                return Ok(unsafe { OwnedFd::from_raw_fd(*fd) });
            }
        }
    }
    Err(ContainerError::Usage("init sent no pty master".into()))
}

/// The tty's mode (tcgetattr). libc rather than nix: see init/console.rs.
fn get_mode(fd: BorrowedFd) -> Option<libc::termios> {
    let mut t = std::mem::MaybeUninit::<libc::termios>::uninit();
    // SAFETY: tcgetattr fills the struct when it returns 0.
    (unsafe { libc::tcgetattr(fd.as_raw_fd(), t.as_mut_ptr()) } == 0)
        .then(|| unsafe { t.assume_init() })
}

/// Set the tty's mode now (tcsetattr TCSANOW); best effort, as runc's restore is.
fn set_mode(fd: BorrowedFd, t: &libc::termios) {
    // SAFETY: a valid termios for our own tty.
    unsafe { libc::tcsetattr(fd.as_raw_fd(), libc::TCSANOW, t) };
}

fn resize(from: BorrowedFd, to: BorrowedFd) {
    let mut ws = libc::winsize {
        ws_row: 0,
        ws_col: 0,
        ws_xpixel: 0,
        ws_ypixel: 0,
    };
    // SAFETY: TIOCGWINSZ/TIOCSWINSZ with a valid winsize on our own fds.
    unsafe {
        if libc::ioctl(from.as_raw_fd(), libc::TIOCGWINSZ, &mut ws) == 0 {
            libc::ioctl(to.as_raw_fd(), libc::TIOCSWINSZ, &ws);
        }
    }
}

/// Our stdin and stdout, borrowed for the relay (never closed by it).
fn stdio(fd: i32) -> std::mem::ManuallyDrop<File> {
    // SAFETY: fds 0 and 1 are always open (main's open_stdio); ManuallyDrop
    // keeps them open when the File goes.
    std::mem::ManuallyDrop::new(unsafe { File::from_raw_fd(fd) })
}

impl Terminal {
    /// Relay until `pid` (our child) exits; returns its exit code. `set` is
    /// the blocked signal set from `signal::block`.
    pub fn relay(mut self, master: OwnedFd, pid: i32, set: &SigSet) -> Result<i32, ContainerError> {
        if let Some(t) = get_mode(self.tty.as_fd()) {
            let mut raw = t;
            // SAFETY: cfmakeraw only edits the struct it is given.
            unsafe { libc::cfmakeraw(&mut raw) };
            set_mode(self.tty.as_fd(), &raw);
            self.saved = Some(t);
        }
        resize(self.tty.as_fd(), master.as_fd());
        let sfd = SignalFd::with_flags(set, SfdFlags::SFD_CLOEXEC | SfdFlags::SFD_NONBLOCK)
            .map_err(|e| ContainerError::Io("signalfd".into(), e.into()))?;
        let mut m = File::from(master);
        let (mut input, mut output) = (stdio(0), stdio(1));
        let mut buf = [0u8; 4096];
        let mut master_open = true;
        // runc's io.Copy(console, os.Stdin) simply ends at EOF (a /dev/null
        // or closed-pipe stdin); the process keeps running.
        let mut input_open = true;
        loop {
            if let Ok(st) = waitpid(Pid::from_raw(pid), Some(WaitPidFlag::WNOHANG)) {
                if st != WaitStatus::StillAlive {
                    // Drain what the process wrote before it died.
                    let _ = nix::fcntl::fcntl(
                        m.as_raw_fd(),
                        nix::fcntl::FcntlArg::F_SETFL(nix::fcntl::OFlag::O_NONBLOCK),
                    );
                    while let Ok(n @ 1..) = m.read(&mut buf) {
                        let _ = output.write_all(&buf[..n]);
                    }
                    return Ok(super::signal::exit_code(st).unwrap_or(255));
                }
            }
            let (in_ready, m_in, sig_in) = {
                let mut fds = vec![PollFd::new(sfd.as_fd(), PollFlags::POLLIN)];
                if master_open {
                    fds.push(PollFd::new(m.as_fd(), PollFlags::POLLIN));
                }
                if input_open {
                    fds.push(PollFd::new(input.as_fd(), PollFlags::POLLIN));
                }
                match poll(&mut fds, PollTimeout::NONE) {
                    Err(nix::errno::Errno::EINTR) => continue,
                    Err(e) => return Err(ContainerError::Io("poll terminal".into(), e.into())),
                    Ok(_) => {}
                }
                let ready = |i: usize| {
                    fds.get(i)
                        .and_then(|f| f.revents())
                        .is_some_and(|r| !r.is_empty())
                };
                let in_at = 1 + usize::from(master_open);
                (
                    input_open && ready(in_at),
                    master_open && ready(1),
                    ready(0),
                )
            };
            if sig_in {
                while let Ok(Some(si)) = sfd.read_signal() {
                    match Signal::try_from(si.ssi_signo as i32) {
                        Ok(Signal::SIGCHLD) => {}
                        Ok(Signal::SIGWINCH) => resize(self.tty.as_fd(), m.as_fd()),
                        Ok(s) => {
                            let _ = nix::sys::signal::kill(Pid::from_raw(pid), s);
                        }
                        Err(_) => {}
                    }
                }
            }
            if in_ready {
                match input.read(&mut buf) {
                    Ok(n @ 1..) => {
                        let _ = m.write_all(&buf[..n]);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                    _ => input_open = false,
                }
            }
            if m_in {
                match m.read(&mut buf) {
                    Ok(n @ 1..) => {
                        let _ = output.write_all(&buf[..n]);
                    }
                    // EIO: the last slave fd closed; keep waiting for the exit.
                    _ => master_open = false,
                }
            }
        }
    }
}

impl Drop for Terminal {
    fn drop(&mut self) {
        if let Some(t) = &self.saved {
            set_mode(self.tty.as_fd(), t);
        }
    }
}
