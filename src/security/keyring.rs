//! The session keyring: a container gets its own `_ses.<id>` keyring so it
//! cannot see the runtime's keys (runc standard_init/setns_init).

use std::ffi::CString;

use nix::errno::Errno;

use super::{sys, SecurityError};

/// Search permission added to the keyring's own: for the user (no
/// user namespace) or for others (user namespace), as runc grants.
const KEY_USR_SEARCH: u32 = 0x0008_0000;
const KEY_OTH_SEARCH: u32 = 0x0000_0008;

/// The perm field (hex) of a KEYCTL_DESCRIBE answer "type;uid;gid;perm;desc".
pub fn parse_perm(desc: &str) -> Option<u32> {
    u32::from_str_radix(desc.split(';').nth(3)?, 16).ok()
}

pub fn session_name(container_id: &str) -> String {
    format!("_ses.{container_id}")
}

/// Join (creating if needed) the named session keyring. `set_perm` is for
/// the first process of a container (create): it also adds search
/// permission; exec only joins. Returns None when the kernel has no keyrings
/// (ENOSYS) or refuses them to us (EACCES, e.g. inside a restricted
/// container), which runc treats as best-effort.
pub fn join(name: &str, userns: bool, set_perm: bool) -> Result<Option<i32>, SecurityError> {
    let c = CString::new(name)
        .map_err(|_| SecurityError::Invalid(format!("invalid keyring name {name:?}")))?;
    let id = match sys::keyctl_join_session(&c) {
        Ok(id) => id,
        Err(Errno::ENOSYS | Errno::EACCES) => return Ok(None),
        Err(e) => return Err(SecurityError::sys("unable to join session keyring", e)),
    };
    if set_perm {
        let add = if userns {
            KEY_OTH_SEARCH
        } else {
            KEY_USR_SEARCH
        };
        let desc = sys::keyctl_describe(id)
            .map_err(|e| SecurityError::sys("unable to mod keyring permissions", e))?;
        let perm = parse_perm(&desc).ok_or_else(|| {
            SecurityError::Invalid(format!(
                "unable to mod keyring permissions: bad description {desc:?}"
            ))
        })?;
        sys::keyctl_setperm(id, perm | add)
            .map_err(|e| SecurityError::sys("unable to mod keyring permissions", e))?;
    }
    Ok(Some(id))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn describe_parsing() {
        assert_eq!(
            parse_perm("keyring;0;0;3f030000;_ses.abc"),
            Some(0x3f03_0000)
        );
        assert_eq!(parse_perm("keyring;0;0"), None);
        assert_eq!(session_name("abc"), "_ses.abc");
    }
}
