//! Thin syscall wrappers, an errno type and an owned fd. Every `unsafe` of
//! the stage lives here or right beside a raw syscall, each with its reason;
//! the logic above is safe Rust. core + alloc + libc only (see lib.rs).

use alloc::ffi::CString;
use alloc::vec::Vec;
use core::ffi::CStr;

pub type Pid = libc::pid_t;
pub type RawFd = libc::c_int;

/// An errno value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Errno(pub i32);

impl Errno {
    pub const EPERM: Errno = Errno(libc::EPERM);
    pub const ENOENT: Errno = Errno(libc::ENOENT);
    pub const EINTR: Errno = Errno(libc::EINTR);
    pub const EIO: Errno = Errno(libc::EIO);
    pub const EINVAL: Errno = Errno(libc::EINVAL);

    pub fn last() -> Errno {
        // SAFETY: __errno_location returns this thread's errno slot.
        Errno(unsafe { *libc::__errno_location() })
    }

    pub fn set_last(e: Errno) {
        // SAFETY: as above.
        unsafe { *libc::__errno_location() = e.0 }
    }

    /// `strerror(errno)`, as C's `%m` prints it.
    pub fn desc(self) -> alloc::string::String {
        let mut buf = [0u8; 128];
        // SAFETY: the XSI/GNU-independent __xpg_strerror_r fills buf with a
        // NUL-terminated message.
        let r = unsafe { libc::strerror_r(self.0, buf.as_mut_ptr().cast(), buf.len()) };
        if r != 0 {
            return alloc::format!("Unknown error {}", self.0);
        }
        let n = buf.iter().position(|&c| c == 0).unwrap_or(buf.len());
        alloc::string::String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

impl core::fmt::Display for Errno {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(&self.desc())
    }
}

/// An fd the stage opened itself: closed on drop. Inherited fds (the init
/// socket, the log pipe) stay plain numbers and are never closed here.
#[derive(Debug)]
pub struct Fd(RawFd);

impl Fd {
    /// Take ownership of a fresh fd.
    ///
    /// # Safety
    /// `fd` must be open and owned by nobody else.
    pub unsafe fn from_raw(fd: RawFd) -> Fd {
        Fd(fd)
    }
    pub fn raw(&self) -> RawFd {
        self.0
    }
    /// Give up ownership without closing (to hand the fd to std's OwnedFd).
    pub fn into_raw(self) -> RawFd {
        let fd = self.0;
        core::mem::forget(self);
        fd
    }
}

impl Drop for Fd {
    fn drop(&mut self) {
        // SAFETY: we own the fd.
        unsafe { libc::close(self.0) };
    }
}

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

/// One read(2) (EINTR retried); 0 is EOF.
pub fn read_full_once(fd: RawFd, buf: &mut [u8]) -> Result<usize, Errno> {
    loop {
        // SAFETY: the pointer/len pair is buf itself.
        let r = unsafe { libc::read(fd, buf.as_mut_ptr().cast(), buf.len()) };
        match cvt(r as libc::c_long) {
            Ok(n) => return Ok(n as usize),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
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

/// CLOCK_MONOTONIC in milliseconds (deadlines that wall-clock steps cannot move).
pub fn monotonic_ms() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: ts is a valid, writable timespec; CLOCK_MONOTONIC always exists.
    unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    ts.tv_sec as u64 * 1000 + ts.tv_nsec as u64 / 1_000_000
}

/// poll(2) one fd for input for up to `timeout_ms`: true when it is
/// readable (or at EOF/hang-up, which read then reports).
pub fn poll_in(fd: RawFd, timeout_ms: i32) -> Result<bool, Errno> {
    let mut p = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    loop {
        // SAFETY: one valid pollfd, count 1.
        let r = unsafe { libc::poll(&mut p, 1, timeout_ms) };
        match cvt(r as libc::c_long) {
            Ok(n) => return Ok(n > 0),
            Err(Errno::EINTR) => continue,
            Err(e) => return Err(e),
        }
    }
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
pub fn open(path: &CStr, flags: libc::c_int) -> Result<Fd, Errno> {
    // SAFETY: path is NUL-terminated.
    let fd = unsafe { libc::open(path.as_ptr(), flags | libc::O_CLOEXEC) };
    if fd < 0 {
        return Err(Errno::last());
    }
    // SAFETY: a fresh fd that nobody else owns.
    Ok(unsafe { Fd::from_raw(fd) })
}

/// runc's `write_file`: open O_RDWR and one write of exactly `data`.
/// A short write is an error (EIO stands in for "short").
pub fn write_file(path: &CStr, data: &[u8]) -> Result<(), Errno> {
    let fd = open(path, libc::O_RDWR)?;
    // SAFETY: writing an owned buffer to an fd we own. One write: procfs map
    // files must be written in a single write(2).
    let r = unsafe { libc::write(fd.raw(), data.as_ptr().cast(), data.len()) };
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
pub fn socketpair() -> Result<(Fd, Fd), Errno> {
    let mut fds = [0 as libc::c_int; 2];
    // SAFETY: fds has room for the two descriptors.
    let r = unsafe {
        libc::socketpair(
            libc::AF_UNIX,
            libc::SOCK_STREAM | libc::SOCK_CLOEXEC,
            0,
            fds.as_mut_ptr(),
        )
    };
    if r < 0 {
        return Err(Errno::last());
    }
    // SAFETY: two fresh fds owned by nobody else.
    Ok(unsafe { (Fd::from_raw(fds[0]), Fd::from_raw(fds[1])) })
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
    cvt(unsafe { libc::setgroups(0, core::ptr::null()) } as libc::c_long).map(drop)
}

pub fn setsid() -> Result<(), Errno> {
    // SAFETY: plain syscall.
    cvt(unsafe { libc::setsid() } as libc::c_long).map(drop)
}

/// runc's `sane_kill`: a pid <= 0 would signal a process group or every
/// process we may signal (`kill(-1)`), so it is never passed on.
pub fn sane_kill(pid: Pid, sig: libc::c_int) {
    if pid > 0 {
        let saved = Errno::last();
        // SAFETY: pid > 0 names one process.
        unsafe { libc::kill(pid, sig) };
        Errno::set_last(saved);
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
    let mut set: libc::cpu_set_t = unsafe { core::mem::zeroed() };
    // SAFETY: set is a valid cpu_set_t of the size passed.
    let r =
        unsafe { libc::sched_getaffinity(0, core::mem::size_of::<libc::cpu_set_t>(), &mut set) };
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
    a.push(core::ptr::null());
    let mut e: Vec<*const libc::c_char> = envp.iter().map(|s| s.as_ptr()).collect();
    e.push(core::ptr::null());
    // SAFETY: both arrays are NULL-terminated and their strings outlive the call.
    unsafe { libc::execve(path.as_ptr(), a.as_ptr(), e.as_ptr()) };
    Errno::last()
}

/// Send one fd with a 1-byte `\0` payload (SCM_RIGHTS), as runc 1.1 does.
#[cfg_attr(not(feature = "runc-1-1"), allow(dead_code))]
pub fn send_fd(sock: RawFd, fd: RawFd) -> Result<(), Errno> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    // Room for one cmsghdr carrying one int, 8-byte aligned.
    let mut cbuf = [0u64; 4];
    // SAFETY: msghdr is plain data; zeroed is valid before we fill it.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    // SAFETY: CMSG_SPACE is a pure size computation.
    msg.msg_controllen = unsafe { libc::CMSG_SPACE(4) } as _;
    // SAFETY: the control buffer is large enough for one header plus an int
    // (CMSG_SPACE(4) <= 32 bytes), and CMSG_FIRSTHDR points into it.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        (*c).cmsg_level = libc::SOL_SOCKET;
        (*c).cmsg_type = libc::SCM_RIGHTS;
        (*c).cmsg_len = libc::CMSG_LEN(4) as _;
        core::ptr::write_unaligned(libc::CMSG_DATA(c) as *mut RawFd, fd);
        if libc::sendmsg(sock, &msg, libc::MSG_NOSIGNAL) != 1 {
            return Err(Errno::last());
        }
    }
    Ok(())
}

/// What one `recv_fd` got.
#[cfg_attr(not(feature = "runc-1-1"), allow(dead_code))]
pub enum Received {
    /// Exactly one byte and exactly one fd (installed CLOEXEC).
    Fd(Fd),
    Truncated,
    NoControl,
    NotRights,
    /// Wrong data length or fd count; any fds are already closed.
    Malformed,
}

#[cfg_attr(not(feature = "runc-1-1"), allow(dead_code))]
pub fn recv_fd(sock: RawFd) -> Result<Received, Errno> {
    let mut byte = [0u8; 1];
    let mut iov = libc::iovec {
        iov_base: byte.as_mut_ptr().cast(),
        iov_len: 1,
    };
    let mut cbuf = [0u64; 16];
    // SAFETY: msghdr is plain data; zeroed is valid before we fill it.
    let mut msg: libc::msghdr = unsafe { core::mem::zeroed() };
    msg.msg_iov = &mut iov;
    msg.msg_iovlen = 1;
    msg.msg_control = cbuf.as_mut_ptr().cast();
    msg.msg_controllen = core::mem::size_of_val(&cbuf) as _;
    // SAFETY: msg points at live buffers of the sizes given.
    let n = unsafe { libc::recvmsg(sock, &mut msg, libc::MSG_CMSG_CLOEXEC) };
    if n < 0 {
        return Err(Errno::last());
    }
    if msg.msg_flags & libc::MSG_CTRUNC != 0 {
        return Ok(Received::Truncated);
    }
    // SAFETY: walking the control messages the kernel wrote into cbuf.
    unsafe {
        let c = libc::CMSG_FIRSTHDR(&msg);
        if c.is_null() {
            return Ok(Received::NoControl);
        }
        if (*c).cmsg_level != libc::SOL_SOCKET || (*c).cmsg_type != libc::SCM_RIGHTS {
            return Ok(Received::NotRights);
        }
        let nfds = ((*c).cmsg_len as usize - libc::CMSG_LEN(0) as usize) / 4;
        let data = libc::CMSG_DATA(c) as *const RawFd;
        let fds: Vec<Fd> = (0..nfds)
            .map(|i| Fd::from_raw(core::ptr::read_unaligned(data.add(i))))
            .collect();
        if n != 1 || fds.len() != 1 || !libc::CMSG_NXTHDR(&msg, c).is_null() {
            return Ok(Received::Malformed); // dropping `fds` closes them
        }
        Ok(Received::Fd(fds.into_iter().next().expect("one fd")))
    }
}
