//! The five capability sets of process.capabilities, and applying them in
//! runc's finalizeNamespace order: bounding set first (while we still hold
//! CAP_SETPCAP), then the user switch under PR_SET_KEEPCAPS (done by the
//! caller), then effective/permitted/inheritable in one capset and ambient.

use std::str::FromStr;

use bincode::{Decode, Encode};
use caps::{CapSet, Capability};

use super::{sys, SecurityError};

/// Capability sets as bit masks (bit n = capability number n).
#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode)]
pub struct CapsPlan {
    pub bounding: u64,
    pub effective: u64,
    pub permitted: u64,
    pub inheritable: u64,
    pub ambient: u64,
}

/// Parse a capability name the way the OCI spec loader does: case-insensitive,
/// with or without the CAP_ prefix.
pub fn parse_name(name: &str) -> Result<Capability, SecurityError> {
    let upper = name.to_ascii_uppercase();
    let mut bare = upper.as_str();
    while let Some(s) = bare.strip_prefix("CAP_") {
        bare = s;
    }
    Capability::from_str(&format!("CAP_{bare}"))
        .map_err(|_| SecurityError::UnknownCapability(name.to_string()))
}

/// Highest capability number this kernel knows (/proc/sys/kernel/cap_last_cap).
pub fn last_cap() -> u8 {
    std::fs::read_to_string("/proc/sys/kernel/cap_last_cap")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(40)
}

/// Fold names into a mask. Capabilities this kernel lacks are left out with
/// a warning, as runc does ("ignoring unknown or unavailable capabilities").
pub fn mask_of<'a>(
    names: impl IntoIterator<Item = &'a str>,
    last: u8,
    warnings: &mut Vec<String>,
) -> Result<u64, SecurityError> {
    let mut m = 0u64;
    for n in names {
        let c = parse_name(n)?;
        if c.index() > last {
            warnings.push(format!(
                "ignoring capability {c} unavailable on this kernel"
            ));
            continue;
        }
        m |= c.bitmask();
    }
    Ok(m)
}

fn all_upto(last: u8) -> impl Iterator<Item = Capability> {
    caps::all().into_iter().filter(move |c| c.index() <= last)
}

impl CapsPlan {
    /// Drop every capability outside the bounding set. Like runc (through
    /// gocapability) this only happens while we hold CAP_SETPCAP; without it
    /// the kernel would refuse every drop anyway. `last` is
    /// [`last_cap`], read before any seccomp filter was loaded.
    pub fn apply_bounding(&self, last: u8) -> Result<(), SecurityError> {
        let have_setpcap = caps::has_cap(None, CapSet::Effective, Capability::CAP_SETPCAP)
            .map_err(|e| SecurityError::caps("unable to apply bounding set", e))?;
        if !have_setpcap {
            return Ok(());
        }
        for c in all_upto(last) {
            if self.bounding & c.bitmask() == 0 {
                caps::drop(None, CapSet::Bounding, c)
                    .map_err(|e| SecurityError::caps("unable to apply bounding set", e))?;
            }
        }
        Ok(())
    }

    /// Effective, permitted and inheritable in one capset, then ambient.
    pub fn apply(&self, last: u8) -> Result<(), SecurityError> {
        sys::capset(self.effective, self.permitted, self.inheritable)
            .map_err(|e| SecurityError::go_sys("unable to apply caps", e))?;
        caps::clear(None, CapSet::Ambient)
            .map_err(|e| SecurityError::caps("unable to apply caps", e))?;
        for c in all_upto(last) {
            if self.ambient & c.bitmask() != 0 {
                // The kernel refuses an ambient cap that is not both permitted
                // and inheritable (EPERM). runc's gocapability drops that error
                // (`err :=` shadows it), and `runc spec` relies on it: its
                // template has ambient caps but no inheritable ones.
                let _ = caps::raise(None, CapSet::Ambient, c);
            }
        }
        Ok(())
    }
}

/// PR_SET_KEEPCAPS around the uid switch, so permitted caps survive it.
pub fn set_keep_caps(on: bool) -> Result<(), SecurityError> {
    let what = if on {
        "unable to set keep caps"
    } else {
        "unable to clear keep caps"
    };
    sys::prctl(libc::PR_SET_KEEPCAPS, on as libc::c_ulong)
        .map(drop)
        .map_err(|e| SecurityError::sys(what, e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_like_the_spec_loader() {
        for n in [
            "CAP_SYS_ADMIN",
            "SYS_ADMIN",
            "cap_sys_admin",
            "CAP_CAP_SYS_ADMIN",
        ] {
            assert_eq!(parse_name(n).unwrap(), Capability::CAP_SYS_ADMIN, "{n}");
        }
        let e = parse_name("CAP_BOGUS").unwrap_err();
        assert_eq!(e.to_string(), "unknown capability \"CAP_BOGUS\"");
    }

    #[test]
    fn masks_drop_caps_the_kernel_lacks() {
        let mut w = vec![];
        let m = mask_of(["CAP_CHOWN", "CAP_CHECKPOINT_RESTORE"], 39, &mut w).unwrap();
        assert_eq!(m, 1);
        assert_eq!(w.len(), 1, "{w:?}");
        assert!(w[0].contains("CAP_CHECKPOINT_RESTORE"));
    }
}
