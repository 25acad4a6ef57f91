//! Device rules: the spec's linux.resources.devices, normalised once, then
//! rendered as v1 devices.allow/deny lines or (bpf.rs) as a v2 eBPF filter.

use super::config::DeviceRule;
use super::{Error, Result};

/// Access bits, with the kernel's BPF_DEVCG_ACC_* values.
pub const ACC_MKNOD: u32 = 1;
pub const ACC_READ: u32 = 2;
pub const ACC_WRITE: u32 = 4;
pub const ACC_ALL: u32 = ACC_MKNOD | ACC_READ | ACC_WRITE;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DevType {
    All,
    Block,
    Char,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub typ: DevType,
    /// None: any ("*").
    pub major: Option<u32>,
    pub minor: Option<u32>,
    pub access: u32,
}

impl Rule {
    /// "c 1:3 rwm", or "a" for a wildcard-type rule.
    pub fn v1_string(&self) -> String {
        let t = match self.typ {
            DevType::All => return "a".into(),
            DevType::Block => 'b',
            DevType::Char => 'c',
        };
        let n = |v: Option<u32>| v.map_or("*".to_string(), |v| v.to_string());
        let mut acc = String::new();
        for (bit, c) in [(ACC_READ, 'r'), (ACC_WRITE, 'w'), (ACC_MKNOD, 'm')] {
            if self.access & bit != 0 {
                acc.push(c);
            }
        }
        format!("{t} {}:{} {acc}", n(self.major), n(self.minor))
    }
}

/// The rules as runc's devices emulator sees them: access letters other
/// than r, w and m are ignored (devices.Permissions' toSet, so the "rwa" of
/// runc's update.bats means "rw"), a wildcard-type rule covers every access,
/// and a rule left with no access changes nothing and is dropped.
pub fn normalize(rules: &[DeviceRule]) -> Result<Vec<Rule>> {
    let mut out = Vec::with_capacity(rules.len());
    for d in rules {
        let typ = match d.typ.as_deref() {
            None | Some("a") => DevType::All,
            Some("b") => DevType::Block,
            Some("c") => DevType::Char,
            Some(t) => {
                return Err(Error::InvalidResources(format!(
                    "invalid device type {t:?}"
                )))
            }
        };
        // The spec uses -1 (or absence) for "any".
        let num = |v: Option<i64>| -> Result<Option<u32>> {
            match v {
                None => Ok(None),
                Some(v) if v < 0 => Ok(None),
                Some(v) => u32::try_from(v)
                    .map(Some)
                    .map_err(|_| Error::InvalidResources(format!("invalid device number {v}"))),
            }
        };
        let mut access = 0;
        for c in d.access.as_deref().unwrap_or("rwm").chars() {
            access |= match c {
                'r' => ACC_READ,
                'w' => ACC_WRITE,
                'm' => ACC_MKNOD,
                _ => 0,
            };
        }
        if typ == DevType::All {
            access = ACC_ALL;
        } else if access == 0 {
            continue;
        }
        out.push(Rule {
            allow: d.allow,
            typ,
            major: num(d.major)?,
            minor: num(d.minor)?,
            access,
        });
    }
    Ok(out)
}

/// (allow?, line) pairs for devices.allow / devices.deny, in spec order.
pub fn v1_lines(rules: &[DeviceRule]) -> Result<Vec<(bool, String)>> {
    Ok(normalize(rules)?
        .iter()
        .map(|r| (r.allow, r.v1_string()))
        .collect())
}

/// runc's specconv.AllowedDevices: (path, type, major, minor, access).
/// They are appended after the spec's rules, so a container can always use
/// /dev/null & co.; an entry whose path the spec's linux.devices redefines
/// is dropped (the spec's device wins).
const RUNC_DEFAULT_ALLOWED: [(&str, &str, i64, i64, &str); 11] = [
    ("", "c", -1, -1, "m"),
    ("", "b", -1, -1, "m"),
    ("/dev/null", "c", 1, 3, "rwm"),
    ("/dev/random", "c", 1, 8, "rwm"),
    ("/dev/full", "c", 1, 7, "rwm"),
    ("/dev/tty", "c", 5, 0, "rwm"),
    ("/dev/zero", "c", 1, 5, "rwm"),
    ("/dev/urandom", "c", 1, 9, "rwm"),
    ("", "c", 136, -1, "rwm"), // /dev/pts/*
    ("", "c", 5, 2, "rwm"),    // /dev/ptmx
    ("", "c", 10, 200, "rwm"), // tuntap
];

/// The default allow rules for a spec whose linux.devices has `spec_paths`.
pub fn default_allowed(spec_paths: &[String]) -> Vec<DeviceRule> {
    RUNC_DEFAULT_ALLOWED
        .iter()
        .filter(|(p, ..)| p.is_empty() || !spec_paths.iter().any(|s| s == p))
        .map(|&(_, t, major, minor, access)| DeviceRule {
            allow: true,
            typ: Some(t.into()),
            major: (major >= 0).then_some(major),
            minor: (minor >= 0).then_some(minor),
            access: Some(access.into()),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn defaults_yield_to_spec_devices() {
        assert_eq!(super::default_allowed(&[]).len(), 11);
        let d = super::default_allowed(&["/dev/null".into()]);
        assert_eq!(d.len(), 10);
        assert!(!d.iter().any(|r| r.major == Some(1) && r.minor == Some(3)));
    }

    use super::*;

    fn rule(
        allow: bool,
        typ: Option<&str>,
        major: Option<i64>,
        minor: Option<i64>,
        access: &str,
    ) -> DeviceRule {
        DeviceRule {
            allow,
            typ: typ.map(Into::into),
            major,
            minor,
            access: Some(access.into()),
        }
    }

    #[test]
    fn v1_rendering() {
        let l = v1_lines(&[
            rule(false, None, None, None, "rwm"),
            rule(true, Some("c"), Some(1), Some(3), "rw"),
            rule(true, Some("c"), Some(136), Some(-1), "rwm"),
            rule(true, Some("b"), None, None, "m"),
        ])
        .unwrap();
        assert_eq!(
            l,
            vec![
                (false, "a".to_string()),
                (true, "c 1:3 rw".to_string()),
                (true, "c 136:* rwm".to_string()),
                (true, "b *:* m".to_string())
            ]
        );
    }

    #[test]
    fn access_letters_as_runc_sets_them() {
        // runc's Permissions set: unknown letters are ignored.
        let n = normalize(&[
            rule(false, Some("c"), Some(1), Some(11), "rwa"),
            rule(true, Some("c"), Some(1), Some(12), "xyz"),
            rule(true, Some("a"), None, None, "r"),
        ])
        .unwrap();
        assert_eq!(n.len(), 2, "{n:?}");
        assert_eq!(n[0].access, ACC_READ | ACC_WRITE);
        assert_eq!((n[1].typ, n[1].access), (DevType::All, ACC_ALL));
        assert!(normalize(&[rule(true, Some("x"), Some(1), Some(1), "r")]).is_err());
        assert!(normalize(&[rule(true, Some("c"), Some(1 << 40), Some(1), "r")]).is_err());
    }
}
