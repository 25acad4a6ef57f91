//! linux.sysctl: runc's namespace rules (validate/validator.go) and the write
//! through a verified procfs (CVE-2025-52881: a /proc/sys file swapped for a
//! mount elsewhere must not receive the value).

use super::procfs::ProcRoot;
use super::SecurityError;

/// The container's namespaces, as far as sysctl checks care.
#[derive(Clone, Copy, Debug, Default)]
pub struct Namespaces {
    pub ipc: bool,
    pub uts: bool,
    /// A netns that is not the runtime's own (new, or a path to another one).
    pub net: bool,
}

const IPC_SYSCTLS: &[&str] = &[
    "kernel.msgmax",
    "kernel.msgmnb",
    "kernel.msgmni",
    "kernel.sem",
    "kernel.shmall",
    "kernel.shmmax",
    "kernel.shmmni",
    "kernel.shm_rmid_forced",
];

/// "net/ipv4/conf/eth0.1/forwarding" and "net.ipv4.conf.eth0/1.forwarding"
/// name the same file: when the first separator is '/', swap '.' and '/'.
pub fn normalize(key: &str) -> String {
    match key.find(['.', '/']) {
        Some(i) if key.as_bytes()[i] == b'/' => swap(key),
        _ => key.to_string(),
    }
}

fn swap(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '.' => '/',
            '/' => '.',
            c => c,
        })
        .collect()
}

/// Check a (normalized) key against the namespaces; runc's messages.
pub fn check(key: &str, ns: Namespaces) -> Result<(), SecurityError> {
    let bad = |m: String| Err(SecurityError::Sysctl(m));
    if key.is_empty() || key.split('.').any(|c| c.is_empty() || c == "..") {
        return bad(format!("sysctl {key:?} is not a valid sysctl name"));
    }
    if IPC_SYSCTLS.contains(&key) || key.starts_with("fs.mqueue.") {
        return if ns.ipc {
            Ok(())
        } else {
            bad(format!(
                "sysctl {key:?} is not allowed in the hosts ipc namespace"
            ))
        };
    }
    if key.starts_with("net.") {
        return if ns.net {
            Ok(())
        } else {
            bad(format!(
                "sysctl {key:?} not allowed in host network namespace"
            ))
        };
    }
    if ns.uts {
        match key {
            "kernel.domainname" => return Ok(()),
            "kernel.hostname" => {
                return bad(format!(
                    "sysctl {key:?} is not allowed as it conflicts with the OCI \"hostname\" field"
                ))
            }
            _ => {}
        }
    }
    bad(format!(
        "sysctl {key:?} is not in a separate kernel namespace"
    ))
}

/// The file under /proc for a normalized key.
pub fn proc_path(key: &str) -> String {
    format!("sys/{}", swap(key))
}

/// Write each sysctl; call inside the container's namespaces, before
/// readonly paths make /proc/sys read-only (runc's order).
pub fn apply(list: &[(String, String)]) -> Result<(), SecurityError> {
    if list.is_empty() {
        return Ok(());
    }
    let proc = ProcRoot::open()?;
    for (k, v) in list {
        proc.write(&proc_path(k), v.as_bytes())
            .map_err(|e| SecurityError::SysctlWrite(k.clone(), e))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_normalize_both_ways() {
        assert_eq!(
            normalize("net/ipv4/conf/eth0.1/forwarding"),
            "net.ipv4.conf.eth0/1.forwarding"
        );
        assert_eq!(
            proc_path("net.ipv4.conf.eth0/1.forwarding"),
            "sys/net/ipv4/conf/eth0.1/forwarding"
        );
        assert_eq!(normalize("kernel.shmmax"), "kernel.shmmax");
    }

    #[test]
    fn namespace_rules_match_runc() {
        let none = Namespaces::default();
        let all = Namespaces {
            ipc: true,
            uts: true,
            net: true,
        };
        for k in [
            "kernel.shmmax",
            "fs.mqueue.queues_max",
            "net.ipv4.ip_forward",
            "kernel.domainname",
        ] {
            assert!(check(k, all).is_ok(), "{k}");
        }
        let msg = |k, ns| check(k, ns).unwrap_err().to_string();
        assert_eq!(
            msg("kernel.shmmax", none),
            "sysctl \"kernel.shmmax\" is not allowed in the hosts ipc namespace"
        );
        assert_eq!(
            msg("net.ipv4.ip_forward", none),
            "sysctl \"net.ipv4.ip_forward\" not allowed in host network namespace"
        );
        assert_eq!(
            msg("kernel.hostname", all),
            "sysctl \"kernel.hostname\" is not allowed as it conflicts with the OCI \"hostname\" field"
        );
        assert_eq!(
            msg("kernel.domainname", none),
            "sysctl \"kernel.domainname\" is not in a separate kernel namespace"
        );
        assert_eq!(
            msg("vm.swappiness", all),
            "sysctl \"vm.swappiness\" is not in a separate kernel namespace"
        );
        assert!(check("net...x", all).is_err());
    }
}
