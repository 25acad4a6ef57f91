//! Thin syscall wrappers. Every `unsafe` of the stage lives here, each with
//! its reason; the logic above is safe Rust.

use nix::errno::Errno;
use std::ffi::{CStr, CString};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};

pub type Pid = libc::pid_t;

/// `getenv` without std: std's env is fine to call before main, but libc is
/// what runc reads, and it cannot allocate or lock.
pub fn getenv(name: &CStr) -> Option<&'static [u8]> {
    // SAFETY: name is NUL-terminated; the returned pointer stays valid while
    // nobody modifies the environment, and the stage never does before exec.
    let p = unsafe { libc::getenv(name.as_ptr()) };
    if p.is_null() {
        None
    } else {
        // SAFETY: getenv returned a NUL-terminated string.
        Some(unsafe { CStr::from_ptr(p) }.to_bytes())
    }
}

fn cvt(r: libc::c_long) -> Result<libc::c_long, Errno> {
    if r < 0 {
        Err(Errno::last())
    } else {
        Ok(r)
    }
}

/// read(2) until `buf` is full, EOF, or an error; returns the bytes read.
/// C reads once; looping is strictly more tolerant and still compatible.
pub fn read_full(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    let mut got = 0;
    while got < buf.len() {
        // SAFETY: the pointer/len pair is a live sub-slice of buf.
        let r = unsafe { libc::read(fd, buf[got..].as_mut_ptr().cast(), buf.len() - got) };
        match cvt(r as libc::c_long) {
            Ok(0) => break,
            Ok(n) => got += n as usize,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// write(2) until all of `buf` is written or an error; returns bytes written.
pub fn write_full(fd: RawFd, buf: &[u8]) -> Result<usize, Errno> {
    let mut put = 0;
    while put < buf.len() {
        // SAFETY: the pointer/len pair is a live sub-slice of buf.
        let r = unsafe { libc::write(fd, buf[put..].as_ptr().cast(), buf.len() - put) };
        match cvt(r as libc::c_long) {
            Ok(0) => break,
            Ok(n) => put += n as usize,
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
    Ok(put)
}

/// open(2), always O_CLOEXEC.
pub fn open(path: &CStr, flags: libc::c_int) -> Result<OwnedFd, Errno> {
    // SAFETY: path is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a fresh fd that nobody else owns.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}

/// runc's `write_file`: open O_RDWR and one write of exactly `data`.
/// A short write is an error (EIO stands in for "short").
pub fn write_file(path: &CStr, data: &[u8]) -> Result<(), Errno> {
    let fd = open(path, libc::O_RDWR)?;
    // SAFETY: writing an owned buffer to an fd we own. One write: procfs map
    // files must be written in a single write(2).
    let r = unsafe { libc::write(fd.as_raw_fd(), data.as_ptr().cast(), data.len()) };
    match cvt(r as libc::c_long)? {
        n if n as usize == data.len() => Ok(()),
        _ => Err(Errno::EIO),
    }
}

pub fn cstring(b: &[u8]) -> CString {
    // Interior NULs are impossible for values that came from a C string; cut
    // at the first one if present, as C would.
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    CString::new(&b[..end]).expect("cut at NUL")
}

/// A `SOCK_STREAM` socketpair. CLOEXEC: nothing execs between the stages,
/// and nothing of ours may reach the container.
pub fn socketpair() -> Result<(OwnedFd, OwnedFd), Errno> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors.
    let r = unsafe {
        libc::socketpair(libc::AF_UNIX, libc::SOCK_STREAM | libc::SOCK_CLOEXEC, 0, fds.as_mut_ptr())
    };
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: two fresh fds owned by nobody else.
    Ok(unsafe { (OwnedFd::from_raw_fd(fds[0]), OwnedFd::from_raw_fd(fds[1])) })
}

pub fn set_name(name: &CStr) {
    // SAFETY: PR_SET_NAME reads at most 16 bytes of a NUL-terminated string.
    unsafe { libc::prctl(libc::PR_SET_NAME, name.as_ptr() as libc::c_ulong, 0, 0, 0) };
}

pub fn set_dumpable(on: bool) -> Result<(), Errno> {
    // SAFETY: plain integer prctl.
    let r = unsafe { libc::prctl(libc::PR_SET_DUMPABLE, on as libc::c_ulong, 0, 0, 0) };
    cvt(r as libc::c_long).map(drop)
}

pub fn setns(fd: RawFd, nstype: libc::c_int) -> Result<(), Errno> {
    // SAFETY: plain syscall on an fd number.
    cvt(unsafe { libc::setns(fd, nstype) } as libc::c_long).map(drop)
}

pub fn unshare(flags: libc::c_int) -> Result<(), Errno> {
    // SAFETY: plain syscall.
    cvt(unsafe { libc::unshare(flags) } as libc::c_long).map(drop)
}

pub fn setresuid(r: u32, e: u32, s: u32) -> Result<(), Errno> {
    // SAFETY: raw syscall (not glibc's wrapper): glibc would broadcast the
    // change to all threads through signals, and we are single-threaded.
    cvt(unsafe { libc::syscall(libc::SYS_setresuid, r, e, s) }).map(drop)
}

pub fn setuid(u: u32) -> Result<(), Errno> {
    // SAFETY: plain syscall.
    cvt(unsafe { libc::setuid(u) } as libc::c_long).map(drop)
}

pub fn setgid(g: u32) -> Result<(), Errno> {
    // SAFETY: plain syscall.
    cvt(unsafe { libc::setgid(g) } as libc::c_long).map(drop)
}

pub fn setgroups_empty() -> Result<(), Errno> {
    // SAFETY: size 0, NULL list.
    cvt(unsafe { libc::setgroups(0, std::ptr::null()) } as libc::c_long).map(drop)
}

pub fn setsid() -> Result<(), Errno> {
    // SAFETY: plain syscall.
    cvt(unsafe { libc::setsid() } as libc::c_long).map(drop)
}

/// runc's `sane_kill`: a pid <= 0 would signal a process group or every
/// process we may signal (`kill(-1)`), so it is never passed on.
pub fn sane_kill(pid: Pid, sig: libc::c_int) {
    if pid > 0 {
        let saved = Errno::last_raw();
        // SAFETY: pid > 0 names one process.
        unsafe { libc::kill(pid, sig) };
        Errno::set_raw(saved);
    }
}

/// Exit the process without running atexit handlers twice in a clone and
/// without unwinding: the stage's fatal and normal ends.
pub fn exit(code: i32) -> ! {
    // SAFETY: _exit never returns. Stdio buffers are not used by the stage.
    unsafe { libc::_exit(code) }
}

/// waitpid, retrying EINTR.
pub fn waitpid(pid: Pid) -> Result<libc::c_int, Errno> {
    let mut st = 0;
    loop {
        // SAFETY: st is a valid out pointer.
        let r = unsafe { libc::waitpid(pid, &mut st, 0) };
        if r >= 0 {
            return Ok(st);
        }
        match Errno::last() {
            Errno::EINTR => continue,
            e => return Err(e),
        }
    }
}

/// The CPU affinity mask of CPUs 0..63, as runc >= 1.3 logs it.
#[cfg_attr(feature = "runc-1-1", allow(dead_code))]
pub fn affinity_mask() -> Result<u64, Errno> {
    // SAFETY: cpu_set_t is plain data; zeroed is a valid empty set.
    let mut set: libc::cpu_set_t = unsafe { std::mem::zeroed() };
    // SAFETY: set is a valid cpu_set_t of the size passed.
    let r = unsafe { libc::sched_getaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &mut set) };
    if r < 0 {
        return Err(Errno::last());
    }
    let mut mask = 0u64;
    for cpu in 0..64 {
        // SAFETY: CPU_ISSET reads the set in bounds (cpu < CPU_SETSIZE).
        if unsafe { libc::CPU_ISSET(cpu, &set) } {
            // A 64-bit shift: runc's int shift is UB from CPU 31 on.
            mask |= 1u64 << cpu;
        }
    }
    Ok(mask)
}

/// fork(2) through glibc (the mapping-tool child execs at once).
pub fn fork() -> Result<Option<Pid>, Errno> {
    // SAFETY: the stage is single-threaded, so fork's child is consistent.
    match unsafe { libc::fork() } {
        -1 => Err(Errno::last()),
        0 => Ok(None),
        pid => Ok(Some(pid)),
    }
}

/// execve with an explicit, possibly empty, environment. Returns only on error.
pub fn execve(path: &CStr, argv: &[CString], envp: &[CString]) -> Errno {
    let mut a: Vec<*const libc::c_char> = argv.iter().map(|s| s.as_ptr()).collect();
    a.push(std::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(std::ptr::null());
    // SAFETY: both arrays are NULL-terminated and their strings outlive the call.
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    Errno::last()
}
