//! The fork-like `clone(CLONE_PARENT)` that makes each stage a sibling of the
//! last, so that every stage is a child of the runtime that spawned stage-0
//! (the Go init checks `getppid()` against it before exec, §3).
//!
//! Unlike runc's C (glibc `clone()` on a 4 KiB stack plus `longjmp`), this is
//! the raw syscall with a NULL stack: the child continues on a copy of the
//! caller's stack and simply sees 0 returned, like `fork()`.
//!
//! glibc caches the thread id in its `struct pthread` and only `fork()`
//! refreshes it. A raw clone leaves `pthread_self()` describing the parent's
//! tid, and Go 1.22.0–1.22.3 crashed on that in stage-2 (runc#4233, §6.4).
//! We fix it the way glibc's own `_Fork` does: ask the kernel to store the
//! child's tid into glibc's tid field (`CLONE_CHILD_SETTID`, and clear it at
//! exit with `CLONE_CHILD_CLEARTID`). The field's address is the one glibc
//! registered with `set_tid_address` at start-up, which `PR_GET_TID_ADDRESS`
//! reads back (the same trick as sylabs/singularity#2837).

use super::sys::Errno;
use super::sys::Pid;

/// Address of glibc's cached-tid field of this thread, if the kernel tells us
/// (PR_GET_TID_ADDRESS needs CONFIG_CHECKPOINT_RESTORE).
fn tid_address() -> *mut libc::pid_t {
    let mut addr: *mut libc::pid_t = core::ptr::null_mut();
    // SAFETY: PR_GET_TID_ADDRESS stores one pointer into `addr`.
    let r = unsafe {
        libc::prctl(
            libc::PR_GET_TID_ADDRESS,
            &mut addr as *mut *mut libc::pid_t as libc::c_ulong,
            0,
            0,
            0,
        )
    };
    if r < 0 {
        core::ptr::null_mut()
    } else {
        addr
    }
}

/// Clone the calling process as a sibling (`CLONE_PARENT|SIGCHLD`). Returns
/// `None` in the child and the child's pid in the parent. No `CLONE_VM`,
/// `CLONE_FILES` or `CLONE_FS`: the child gets copies of everything.
pub fn clone_parent() -> Result<Option<Pid>, Errno> {
    let tid = tid_address();
    let mut flags = (libc::CLONE_PARENT | libc::SIGCHLD) as libc::c_ulong;
    if !tid.is_null() {
        flags |= (libc::CLONE_CHILD_SETTID | libc::CLONE_CHILD_CLEARTID) as libc::c_ulong;
    }
    // SAFETY: without CLONE_VM the child runs on a private copy of this
    // address space and stack, exactly like fork(); `tid` points into that
    // copy. The argument order (flags, stack, parent_tid, child_tid, tls) is
    // the x86_64/aarch64/riscv one; s390 swaps the first two.
    #[cfg(not(target_arch = "s390x"))]
    let r = unsafe { libc::syscall(libc::SYS_clone, flags, 0usize, 0usize, tid as usize, 0usize) };
    #[cfg(target_arch = "s390x")]
    let r = unsafe { libc::syscall(libc::SYS_clone, 0usize, flags, 0usize, tid as usize, 0usize) };
    match r {
        -1 => Err(Errno::last()),
        0 => Ok(None),
        pid => Ok(Some(pid as Pid)),
    }
}

#[cfg(test)]
mod tests {
    use super::super::sys;
    use super::*;

    /// B's verdict: does glibc's cached tid (which pthread_getcpuclockid
    /// encodes as `(~tid << 3) | 6`) match the kernel's?
    fn tid_is_coherent() -> bool {
        let mut cid: libc::clockid_t = 0;
        // SAFETY: pthread_self is always valid; cid is an out pointer.
        let ok = unsafe { libc::pthread_getcpuclockid(libc::pthread_self(), &mut cid) } == 0;
        // SAFETY: gettid has no preconditions.
        let real = unsafe { libc::syscall(libc::SYS_gettid) } as i32;
        ok && !(cid >> 3) == real
    }

    #[test]
    fn sibling_sees_its_own_tid_in_pthread_self() {
        // fork A (a plain child of the test); A clones B with CLONE_PARENT,
        // so B is *our* child too, and A reports B's pid through a pipe.
        let (r, w) = sys::socketpair().unwrap();
        match sys::fork().unwrap() {
            None => {
                let code = match clone_parent() {
                    Ok(None) => sys::exit(if tid_is_coherent() { 0 } else { 3 }),
                    Ok(Some(b)) => {
                        let _ = sys::write_full(w.raw(), &b.to_ne_bytes());
                        0
                    }
                    Err(_) => 2,
                };
                sys::exit(code);
            }
            Some(a) => {
                let st = sys::waitpid(a).unwrap();
                assert!(libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0);
                let mut b = [0u8; 4];
                assert_eq!(sys::read_full(r.raw(), &mut b).unwrap(), 4);
                let st = sys::waitpid(i32::from_ne_bytes(b)).unwrap();
                assert!(libc::WIFEXITED(st), "status {st}");
                assert_eq!(libc::WEXITSTATUS(st), 0, "stale glibc tid in the clone");
            }
        }
    }
}
