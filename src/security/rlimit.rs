//! process.rlimits. runc applies them from the parent with prlimit(2) on the
//! init pid once init reports ready (so the runtime's own limits never change
//! and a low RLIMIT_NOFILE cannot break init); `apply_to` is that call,
//! `apply_self` the same from inside init for callers that prefer it.

use bincode::{Decode, Encode};

use super::{sys, SecurityError};

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Rlimit {
    /// RLIMIT_* name as in the spec, for messages.
    pub name: String,
    pub resource: u32,
    pub soft: u64,
    pub hard: u64,
}

const TABLE: &[(&str, u32)] = &[
    ("RLIMIT_CPU", libc::RLIMIT_CPU),
    ("RLIMIT_FSIZE", libc::RLIMIT_FSIZE),
    ("RLIMIT_DATA", libc::RLIMIT_DATA),
    ("RLIMIT_STACK", libc::RLIMIT_STACK),
    ("RLIMIT_CORE", libc::RLIMIT_CORE),
    ("RLIMIT_RSS", libc::RLIMIT_RSS),
    ("RLIMIT_NPROC", libc::RLIMIT_NPROC),
    ("RLIMIT_NOFILE", libc::RLIMIT_NOFILE),
    ("RLIMIT_MEMLOCK", libc::RLIMIT_MEMLOCK),
    ("RLIMIT_AS", libc::RLIMIT_AS),
    ("RLIMIT_LOCKS", libc::RLIMIT_LOCKS),
    ("RLIMIT_SIGPENDING", libc::RLIMIT_SIGPENDING),
    ("RLIMIT_MSGQUEUE", libc::RLIMIT_MSGQUEUE),
    ("RLIMIT_NICE", libc::RLIMIT_NICE),
    ("RLIMIT_RTPRIO", libc::RLIMIT_RTPRIO),
    ("RLIMIT_RTTIME", libc::RLIMIT_RTTIME),
];

/// Resource number of an RLIMIT_* name (runc: "wrong rlimit value").
pub fn resource_of(name: &str) -> Result<u32, SecurityError> {
    TABLE
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, r)| *r)
        .ok_or_else(|| SecurityError::RlimitType(name.to_string()))
}

/// Validate one (type, soft, hard) triple against the ones already accepted.
pub fn check(name: &str, soft: u64, hard: u64, seen: &[Rlimit]) -> Result<Rlimit, SecurityError> {
    let resource = resource_of(name)?;
    if soft > hard {
        return Err(SecurityError::RlimitOrder {
            name: name.to_string(),
            soft,
            hard,
        });
    }
    if seen.iter().any(|r| r.resource == resource) {
        return Err(SecurityError::RlimitDuplicate(name.to_string()));
    }
    Ok(Rlimit {
        name: name.to_string(),
        resource,
        soft,
        hard,
    })
}

fn err(r: &Rlimit, e: nix::errno::Errno) -> SecurityError {
    SecurityError::sys(&format!("error setting rlimit type {}", r.name), e)
}

/// prlimit(2) each limit on `pid` (from the runtime, as runc does).
pub fn apply_to(pid: i32, limits: &[Rlimit]) -> Result<(), SecurityError> {
    limits
        .iter()
        .try_for_each(|r| sys::prlimit(pid, r.resource, r.soft, r.hard).map_err(|e| err(r, e)))
}

/// setrlimit(2) each limit on the calling process.
pub fn apply_self(limits: &[Rlimit]) -> Result<(), SecurityError> {
    limits
        .iter()
        .try_for_each(|r| sys::setrlimit(r.resource, r.soft, r.hard).map_err(|e| err(r, e)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn validation() {
        let ok = check("RLIMIT_NOFILE", 10, 20, &[]).unwrap();
        assert_eq!(ok.resource, libc::RLIMIT_NOFILE);
        assert_eq!(
            check("RLIMIT_BOGUS", 1, 1, &[]).unwrap_err().to_string(),
            "wrong rlimit value: RLIMIT_BOGUS"
        );
        assert_eq!(
            check("RLIMIT_NOFILE", 30, 20, &[]).unwrap_err().to_string(),
            "rlimit RLIMIT_NOFILE: soft limit 30 is greater than hard limit 20"
        );
        assert_eq!(
            check("RLIMIT_NOFILE", 1, 2, &[ok]).unwrap_err().to_string(),
            "duplicate rlimit type RLIMIT_NOFILE"
        );
    }
}
