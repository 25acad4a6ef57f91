//! Sync codes between the stages (§4.1): 4-byte native-endian ints, and
//! 4-byte pids, over the two SOCK_STREAM socketpairs. Strictly lock-step.

use super::sys::Errno;
use super::sys::Fd;
use super::sys::{self, Pid};
use alloc::format;
use alloc::string::String;

pub const SYNC_USERMAP_PLS: u32 = 0x40;
pub const SYNC_USERMAP_ACK: u32 = 0x41;
pub const SYNC_RECVPID_PLS: u32 = 0x42;
pub const SYNC_RECVPID_ACK: u32 = 0x43;
pub const SYNC_GRANDCHILD: u32 = 0x44;
pub const SYNC_CHILD_FINISH: u32 = 0x45;
/// runc 1.1: stage-1 asks for the bind-mount source fds.
pub const SYNC_MOUNTSOURCES_PLS: u32 = 0x46;
pub const SYNC_MOUNTSOURCES_ACK: u32 = 0x47;
/// runc >= 1.2: stage-1 asks stage-0 to write the timens offsets.
pub const SYNC_TIMEOFFSETS_PLS: u32 = 0x46;
pub const SYNC_TIMEOFFSETS_ACK: u32 = 0x47;

/// A failed exchange. `peer` and `what` carry runc's words, e.g.
/// "failed to sync with stage-1: next state".
#[derive(Debug)]
pub enum SyncError {
    Io {
        peer: &'static str,
        what: String,
        errno: Errno,
    },
    // EOF: C's read returns 0 and %m prints the errno left over, "Success".
    Eof {
        peer: &'static str,
        what: String,
    },
    Short {
        peer: &'static str,
        what: String,
        got: usize,
        want: usize,
    },
    Unexpected {
        peer: &'static str,
        what: &'static str,
        got: u32,
    },
    UnexpectedValue(u32),
}

impl core::fmt::Display for SyncError {
    #[allow(unused_variables)]
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Io { peer, what, errno } => {
                write!(f, "failed to sync with {peer}: {what}: {}", errno.desc())
            }
            Self::Eof { peer, what } => write!(f, "failed to sync with {peer}: {what}: Success"),
            Self::Short {
                peer,
                what,
                got,
                want,
            } => write!(
                f,
                "failed to sync with {peer}: {what} (got {got} of {want} bytes)"
            ),
            Self::Unexpected { peer, what, got } => {
                write!(f, "failed to sync with {peer}: {what}: got {got}")
            }
            Self::UnexpectedValue(_0) => write!(f, "unexpected sync value: {_0}"),
        }
    }
}

impl core::error::Error for SyncError {}

/// One end of a stage socketpair, with the peer's name for messages.
pub struct SyncPipe {
    fd: Fd,
    peer: &'static str,
}

impl SyncPipe {
    pub fn new(fd: Fd, peer: &'static str) -> SyncPipe {
        SyncPipe { fd, peer }
    }

    fn write4(&self, v: [u8; 4], what: impl FnOnce() -> String) -> Result<(), SyncError> {
        match sys::write_full(self.fd.raw(), &v) {
            Ok(4) => Ok(()),
            Ok(n) => Err(SyncError::Short {
                peer: self.peer,
                what: what(),
                got: n,
                want: 4,
            }),
            Err(errno) => Err(SyncError::Io {
                peer: self.peer,
                what: what(),
                errno,
            }),
        }
    }

    fn read4(&self, what: impl FnOnce() -> String) -> Result<[u8; 4], SyncError> {
        let mut b = [0u8; 4];
        match sys::read_full(self.fd.raw(), &mut b) {
            Ok(4) => Ok(b),
            Ok(0) => Err(SyncError::Eof {
                peer: self.peer,
                what: what(),
            }),
            Ok(n) => Err(SyncError::Short {
                peer: self.peer,
                what: what(),
                got: n,
                want: 4,
            }),
            Err(errno) => Err(SyncError::Io {
                peer: self.peer,
                what: what(),
                errno,
            }),
        }
    }

    pub fn send(&self, code: u32, name: &str) -> Result<(), SyncError> {
        self.write4(code.to_ne_bytes(), || format!("write({name})"))
    }

    /// Read any code ("next state" in runc's words).
    pub fn recv(&self) -> Result<u32, SyncError> {
        self.read4(|| String::from("next state"))
            .map(u32::from_ne_bytes)
    }

    /// Read a code that must be `code`.
    pub fn expect(&self, code: u32, name: &'static str) -> Result<(), SyncError> {
        let got = u32::from_ne_bytes(self.read4(|| format!("read({name})"))?);
        if got != code {
            return Err(SyncError::Unexpected {
                peer: self.peer,
                what: name,
                got,
            });
        }
        Ok(())
    }

    pub fn send_pid(&self, pid: Pid) -> Result<(), SyncError> {
        self.write4(pid.to_ne_bytes(), || String::from("write(stage2_pid)"))
    }

    pub fn recv_pid(&self) -> Result<Pid, SyncError> {
        self.read4(|| String::from("read(stage2_pid)"))
            .map(i32::from_ne_bytes)
    }

    pub fn raw(&self) -> &Fd {
        &self.fd
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_errors() {
        let (a, b) = sys::socketpair().unwrap();
        let (a, b) = (SyncPipe::new(a, "child"), SyncPipe::new(b, "parent"));
        a.send(SYNC_RECVPID_PLS, "SYNC_RECVPID_PLS").unwrap();
        a.send_pid(4242).unwrap();
        assert_eq!(b.recv().unwrap(), SYNC_RECVPID_PLS);
        assert_eq!(b.recv_pid().unwrap(), 4242);
        b.send(SYNC_USERMAP_ACK, "x").unwrap();
        let e = a.expect(SYNC_RECVPID_ACK, "SYNC_RECVPID_ACK").unwrap_err();
        assert_eq!(
            e.to_string(),
            "failed to sync with child: SYNC_RECVPID_ACK: got 65"
        );
        drop(b);
        let e = a.recv().unwrap_err();
        assert_eq!(
            e.to_string(),
            "failed to sync with child: next state: Success"
        );
    }
}
