//! Joining existing namespaces (§3.5), done by stage-1.
//!
//! Every path is opened before the first setns: after joining mnt or user,
//! the paths may no longer be reachable.
//!
//! Current profile (runc >= 1.3): three passes. First the non-user
//! namespaces, then user (then setresuid(0,0,0)), then what is left; EPERM is
//! skipped in each pass. This joins an external netns that the joined userns
//! does not own (before switching credentials) as well as rootless ones
//! (which only become possible after joining the userns).
//!
//! runc 1.1 profile: one pass in the given order, an unknown type name joins
//! with nstype 0 (any type), no setresuid.

use super::super::bootstrap::ns_flag;
use super::super::log::Logger;
use super::super::sys;
use super::super::sys::{Errno, Fd};
use super::StageError;
use alloc::format;
use alloc::string::String;
use alloc::vec::Vec;

struct Ns {
    name: String,
    path: String,
    flag: i32,
    fd: Option<Fd>,
}

/// C's `%#x`: "0" for zero, "0x…" otherwise.
fn hex(flag: i32) -> String {
    if flag == 0 {
        String::from("0")
    } else {
        format!("{flag:#x}")
    }
}

fn open_all(list: &[(&[u8], &[u8])]) -> Result<Vec<Ns>, StageError> {
    let mut out = Vec::with_capacity(list.len());
    for (name, path) in list {
        let name = String::from_utf8_lossy(name).into_owned();
        let path_s = String::from_utf8_lossy(path).into_owned();
        let fd = sys::open(&sys::cstring(path), libc::O_RDONLY)
            .map_err(|e| StageError::sys(format!("failed to open {path_s}"), e))?;
        let flag = match ns_flag(&name) {
            Some(f) => f,
            None if super::super::RUNC_1_1 => 0,
            // runc >= 1.3 refuses a name it does not know (after the open).
            None => return Err(StageError::plain(format!("unknown namespace type {name}"))),
        };
        out.push(Ns {
            name,
            path: path_s,
            flag,
            fd: Some(fd),
        });
    }
    Ok(out)
}

/// Join every namespace of the list, or fail.
pub fn join_namespaces(log: &Logger, list: &[(&[u8], &[u8])]) -> Result<(), StageError> {
    let mut nss = open_all(list)?;
    if super::super::RUNC_1_1 {
        for ns in &mut nss {
            log.debug(&format!(
                "setns({}) into {} namespace (with path {})",
                hex(ns.flag),
                ns.name,
                ns.path
            ));
            let fd = ns.fd.take().expect("opened above");
            sys::setns(fd.raw(), ns.flag).map_err(|e| {
                StageError::sys(format!("failed to setns into {} namespace", ns.name), e)
            })?;
        }
        return Ok(());
    }
    let user = libc::CLONE_NEWUSER;
    pass(log, &mut nss, |f| f != user)?;
    pass(log, &mut nss, |f| f == user)?;
    pass(log, &mut nss, |f| f != user)?;

    let left: Vec<&Ns> = nss.iter().filter(|n| n.fd.is_some()).collect();
    if left.is_empty() {
        return Ok(());
    }
    let eperm = Errno::EPERM.desc();
    let mut failed = 0;
    for ns in &left {
        failed |= ns.flag;
        log.fatal(&format!(
            "failed to setns({}) into {} namespace (with path {}): {eperm}",
            hex(ns.flag),
            ns.name,
            ns.path
        ));
    }
    // runc lists the set in its fixed type order.
    let order = ["cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts"];
    let names: Vec<&str> = order
        .iter()
        .copied()
        .filter(|n| ns_flag(n).is_some_and(|f| failed & f != 0))
        .collect();
    Err(StageError::plain(format!(
        "failed to join {{{}}} namespaces: {eperm}",
        names.join(", ")
    )))
}

/// One pass over the namespaces whose flag `allow`s; EPERM leaves the fd
/// for a later pass.
fn pass(log: &Logger, nss: &mut [Ns], allow: impl Fn(i32) -> bool) -> Result<(), StageError> {
    for ns in nss.iter_mut().filter(|n| n.fd.is_some() && allow(n.flag)) {
        let fd = ns.fd.as_ref().expect("filtered").raw();
        let r = sys::setns(fd, ns.flag);
        let why = match r {
            Ok(()) => String::from("Success"),
            Err(e) => e.desc(),
        };
        log.debug(&format!(
            "setns({}) into {} namespace (with path {}): {why}",
            hex(ns.flag),
            ns.name,
            ns.path
        ));
        match r {
            Ok(()) => {}
            Err(e) if e == Errno::EPERM => continue,
            Err(e) => {
                return Err(StageError::plain(format!(
                    "failed to setns into {} namespace: {}",
                    ns.name,
                    e.desc()
                )))
            }
        }
        if ns.flag == libc::CLONE_NEWUSER {
            // Lots breaks if we are not root in the joined userns
            // (runc#4466); same as after unshare(CLONE_NEWUSER).
            sys::setresuid(0, 0, 0)
                .map_err(|e| StageError::sys("failed to become root in user namespace", e))?;
        }
        ns.fd = None; // joined: close it now
    }
    Ok(())
}
