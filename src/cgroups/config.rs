//! The container's cgroup configuration: where (`CgroupPath`) and what
//! (`Resources`, the runtime-spec `linux.resources` object), validated once
//! and saved with the container state (bincode) so later commands and a
//! `delete --force` after a crash need nothing else.

use std::collections::BTreeMap;

use bincode::{Decode, Encode};
use serde::{Deserialize, Serialize};

use super::{Error, Result};

/// Where the container's cgroup lives, in every hierarchy.
#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub enum CgroupPath {
    /// Relative to each hierarchy's root (`/sys/fs/cgroup/<ctrl>/<path>`).
    Absolute(String),
    /// Relative to the creating process's own cgroup; the parents are read
    /// from /proc/self/cgroup at config time (hierarchy key -> own path), so
    /// any later process resolves the same directories.
    Relative {
        inner: String,
        parents: BTreeMap<String, String>,
    },
    /// systemd's "slice:prefix:name" (only with the systemd driver).
    Systemd(String),
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct CgroupConfig {
    pub path: CgroupPath,
    pub resources: Resources,
    /// `--systemd-cgroup`.
    pub systemd: bool,
    /// The path came from linux.cgroupsPath (runc ignores permission errors
    /// only for the default path when rootless).
    pub explicit: bool,
}

impl CgroupConfig {
    /// From the bundle's spec: linux.cgroupsPath, or runc 1.1's default
    /// (`<own cgroup>/<id>` for cgroupfs, `system.slice:runc:<id>` for systemd).
    pub fn from_spec(spec: &oci_spec::runtime::Spec, id: &str, systemd: bool) -> Result<Self> {
        let linux = spec.linux().as_ref();
        let path = linux
            .and_then(|l| l.cgroups_path().as_ref())
            .map(|p| p.to_string_lossy().into_owned());
        let dev_paths: Vec<String> = linux
            .and_then(|l| l.devices().as_ref())
            .into_iter()
            .flatten()
            .map(|d| d.path().to_string_lossy().into_owned())
            .collect();
        Self::from_linux(
            path.as_deref(),
            linux.and_then(|l| l.resources().as_ref()),
            &dev_paths,
            id,
            systemd,
        )
    }

    /// From the spec fields the runtime's plan keeps: cgroupsPath,
    /// resources and the paths of linux.devices. runc's default device
    /// allow rules go after the spec's (specconv.createCgroupConfig).
    pub fn from_linux(
        path: Option<&str>,
        resources: Option<&oci_spec::runtime::LinuxResources>,
        device_paths: &[String],
        id: &str,
        systemd: bool,
    ) -> Result<Self> {
        let mut resources = match resources {
            Some(r) => {
                let v =
                    serde_json::to_value(r).map_err(|e| Error::InvalidResources(e.to_string()))?;
                Resources::from_json_value(v)?
            }
            None => Resources::default(),
        };
        resources
            .devices
            .extend(super::devices::default_allowed(device_paths));
        Self::new(path, id, resources, systemd)
    }

    pub fn new(path: Option<&str>, id: &str, resources: Resources, systemd: bool) -> Result<Self> {
        resources.validate()?;
        let explicit = path.is_some_and(|p| !p.is_empty());
        let path = match (path.filter(|p| !p.is_empty()), systemd) {
            (Some(p), true) => CgroupPath::Systemd(p.to_owned()),
            (None, true) => CgroupPath::Systemd(format!("system.slice:runc:{id}")),
            // runc: innerPath is the bare name, which is relative to the
            // runtime's own cgroup (GetOwnCgroupPath), not to the root.
            (None, false) => CgroupPath::Relative {
                inner: clean_path(id).trim_start_matches('/').to_owned(),
                parents: own_cgroups(),
            },
            (Some(p), false) if p.starts_with('/') => CgroupPath::Absolute(clean_path(p)),
            (Some(p), false) => {
                if p.contains(':') && p.split(':').count() == 3 {
                    // runc: a systemd-style path without --systemd-cgroup is an error.
                    return Err(Error::Config(format!("cgroupsPath {p:?} looks like a systemd path, but --systemd-cgroup is not set")));
                }
                CgroupPath::Relative {
                    inner: clean_path(p).trim_start_matches('/').to_owned(),
                    parents: own_cgroups(),
                }
            }
        };
        if let CgroupPath::Absolute(p) = &path {
            if p == "/" {
                return Err(Error::Config(
                    "cgroupsPath must not be the root cgroup".into(),
                ));
            }
        }
        Ok(CgroupConfig {
            path,
            resources,
            systemd,
            explicit,
        })
    }
}

/// Lexically clean a path so that it cannot climb above "/" (runc's
/// utils.CleanPath): "/a/../../b" -> "/b".
pub fn clean_path(p: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for c in p.split('/') {
        match c {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            c => parts.push(c),
        }
    }
    format!("/{}", parts.join("/"))
}

/// /proc/self/cgroup as hierarchy key -> path.
fn own_cgroups() -> BTreeMap<String, String> {
    std::fs::read_to_string("/proc/self/cgroup")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, k, p) = (it.next()?, it.next()?, it.next()?);
            Some((k.to_owned(), p.to_owned()))
        })
        .collect()
}

// The runtime-spec linux.resources object, field for field (JSON names),
// so that it decodes both the bundle's spec and `update -r`'s JSON.

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Resources {
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub devices: Vec<DeviceRule>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub memory: Option<Memory>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cpu: Option<Cpu>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pids: Option<Pids>,
    #[serde(default, rename = "blockIO", skip_serializing_if = "Option::is_none")]
    pub block_io: Option<BlockIo>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub hugepage_limits: Vec<HugepageLimit>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub unified: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct DeviceRule {
    pub allow: bool,
    /// "a", "c", "b" (missing = "a").
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub typ: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub major: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub minor: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub access: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Memory {
    pub limit: Option<i64>,
    pub reservation: Option<i64>,
    /// memory+swap, as in the spec (and v1's memsw).
    pub swap: Option<i64>,
    /// Ignored, as runc does: kernel memory limits are gone since 5.4.
    pub kernel: Option<i64>,
    #[serde(rename = "kernelTCP")]
    pub kernel_tcp: Option<i64>,
    pub swappiness: Option<u64>,
    #[serde(rename = "disableOOMKiller")]
    pub disable_oom_killer: Option<bool>,
    pub use_hierarchy: Option<bool>,
    pub check_before_update: Option<bool>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Cpu {
    pub shares: Option<u64>,
    pub quota: Option<i64>,
    pub burst: Option<u64>,
    pub period: Option<u64>,
    pub realtime_runtime: Option<i64>,
    pub realtime_period: Option<u64>,
    pub cpus: Option<String>,
    pub mems: Option<String>,
    pub idle: Option<i64>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct Pids {
    pub limit: i64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BlockIo {
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
    #[serde(default)]
    pub weight_device: Vec<WeightDevice>,
    #[serde(default)]
    pub throttle_read_bps_device: Vec<ThrottleDevice>,
    #[serde(default)]
    pub throttle_write_bps_device: Vec<ThrottleDevice>,
    // The spec spells these "IOPS" (camelCase would make "Iops", which
    // neither oci-spec nor runc's Go structs emit: the throttles were lost).
    // The old spelling is still read: Go's decoder, and so runc, accepts any
    // case for `update -r`.
    #[serde(
        default,
        rename = "throttleReadIOPSDevice",
        alias = "throttleReadIopsDevice"
    )]
    pub throttle_read_iops_device: Vec<ThrottleDevice>,
    #[serde(
        default,
        rename = "throttleWriteIOPSDevice",
        alias = "throttleWriteIopsDevice"
    )]
    pub throttle_write_iops_device: Vec<ThrottleDevice>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WeightDevice {
    pub major: i64,
    pub minor: i64,
    pub weight: Option<u16>,
    pub leaf_weight: Option<u16>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
pub struct ThrottleDevice {
    pub major: i64,
    pub minor: i64,
    pub rate: u64,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Encode, Decode, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HugepageLimit {
    /// "2MB", "1GB", ...
    pub page_size: String,
    pub limit: i64,
}

impl Resources {
    pub fn from_json_value(v: serde_json::Value) -> Result<Self> {
        let r: Resources =
            serde_json::from_value(v).map_err(|e| Error::InvalidResources(e.to_string()))?;
        r.validate()?;
        Ok(r)
    }

    /// Reject what the kernel would reject later with a worse message.
    pub fn validate(&self) -> Result<()> {
        let bad = |m: String| Err(Error::InvalidResources(m));
        if let Some(m) = &self.memory {
            if let (Some(l), Some(s)) = (m.limit, m.swap) {
                if l > 0 && s > 0 && s < l {
                    return bad(
                        "minimum memoryswap limit should be larger than memory limit, see usage."
                            .into(),
                    );
                }
            }
            if let Some(s) = m.swappiness {
                if s > 100 {
                    return bad(format!(
                        "invalid value:{s}. valid memory swappiness range is 0-100"
                    ));
                }
            }
        }
        if let Some(c) = &self.cpu {
            if let Some(s) = c.shares {
                if s != 0 && s < 2 {
                    return bad(format!("cpu shares {s} is below the minimum of 2"));
                }
            }
        }
        for (i, d) in self.devices.iter().enumerate() {
            match d.typ.as_deref() {
                None | Some("a" | "b" | "c") => {}
                Some(t) => return bad(format!("invalid device type {t:?}")),
            }
            // runc's specconv (Go's zero value for a missing access); any
            // other letters are its emulator's business (devices::normalize).
            if d.access.as_deref().unwrap_or("").is_empty() {
                return Err(Error::Spec(format!(
                    "device access at {i} field cannot be empty"
                )));
            }
        }
        for h in &self.hugepage_limits {
            if super::v1::hugepage_size_ok(&h.page_size).is_none() {
                return bad(format!("invalid hugepage size {:?}", h.page_size));
            }
        }
        for k in self.unified.keys() {
            if k.contains('/') || k.contains("..") {
                return bad(format!("unified key {k:?} is not a file name"));
            }
        }
        Ok(())
    }

    /// Overlay the fields `u` sets onto `self` (runc update semantics:
    /// what is not given stays).
    pub fn merge(&mut self, u: &Resources) {
        if let Some(um) = &u.memory {
            let m = self.memory.get_or_insert_with(Default::default);
            macro_rules! take { ($($f:ident),*) => { $( if um.$f.is_some() { m.$f = um.$f; } )* } }
            take!(
                limit,
                reservation,
                swap,
                kernel,
                kernel_tcp,
                swappiness,
                disable_oom_killer,
                use_hierarchy,
                check_before_update
            );
        }
        if let Some(uc) = &u.cpu {
            let c = self.cpu.get_or_insert_with(Default::default);
            macro_rules! take { ($($f:ident),*) => { $( if uc.$f.is_some() { c.$f = uc.$f.clone(); } )* } }
            take!(
                shares,
                quota,
                burst,
                period,
                realtime_runtime,
                realtime_period,
                cpus,
                mems,
                idle
            );
        }
        if u.pids.is_some() {
            self.pids = u.pids.clone();
        }
        if let Some(ub) = &u.block_io {
            let b = self.block_io.get_or_insert_with(Default::default);
            if ub.weight.is_some() {
                b.weight = ub.weight;
            }
            if ub.leaf_weight.is_some() {
                b.leaf_weight = ub.leaf_weight;
            }
            for (dst, src) in [
                (
                    &mut b.throttle_read_bps_device,
                    &ub.throttle_read_bps_device,
                ),
                (
                    &mut b.throttle_write_bps_device,
                    &ub.throttle_write_bps_device,
                ),
                (
                    &mut b.throttle_read_iops_device,
                    &ub.throttle_read_iops_device,
                ),
                (
                    &mut b.throttle_write_iops_device,
                    &ub.throttle_write_iops_device,
                ),
            ] {
                if !src.is_empty() {
                    *dst = src.clone();
                }
            }
            if !ub.weight_device.is_empty() {
                b.weight_device = ub.weight_device.clone();
            }
        }
        if !u.hugepage_limits.is_empty() {
            self.hugepage_limits = u.hugepage_limits.clone();
        }
        for (k, v) in &u.unified {
            self.unified.insert(k.clone(), v.clone());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_path_is_id_under_own_cgroup() {
        let c = CgroupConfig::new(None, "abc", Resources::default(), false).unwrap();
        assert!(
            matches!(&c.path, CgroupPath::Relative { inner, parents } if inner == "abc" && *parents == own_cgroups())
        );
        assert!(!c.explicit);
        let c = CgroupConfig::new(None, "abc", Resources::default(), true).unwrap();
        assert_eq!(c.path, CgroupPath::Systemd("system.slice:runc:abc".into()));
    }

    #[test]
    fn from_an_oci_spec() {
        let spec: oci_spec::runtime::Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "root": {"path": "rootfs"},
            "linux": {
                "cgroupsPath": "/pod/ctr",
                "resources": {
                    "memory": {"limit": 1048576},
                    "devices": [{"allow": false, "access": "rwm"}],
                    "unified": {"memory.high": "max"}
                }
            }
        }))
        .unwrap();
        let c = CgroupConfig::from_spec(&spec, "ctr", false).unwrap();
        assert_eq!(c.path, CgroupPath::Absolute("/pod/ctr".into()));
        assert!(c.explicit);
        assert_eq!(c.resources.memory.unwrap().limit, Some(1 << 20));
        // The spec's rule, then runc's 11 default allow rules.
        assert_eq!(c.resources.devices.len(), 12);
        assert!(!c.resources.devices[0].allow);
        assert!(c.resources.devices[1..].iter().all(|d| d.allow));
        assert_eq!(c.resources.unified["memory.high"], "max");
        let bare: oci_spec::runtime::Spec =
            serde_json::from_value(serde_json::json!({"ociVersion": "1.0.2"})).unwrap();
        let c = CgroupConfig::from_spec(&bare, "ctr", false).unwrap();
        assert!(matches!(&c.path, CgroupPath::Relative { inner, .. } if inner == "ctr"));
        let defaults = Resources {
            devices: super::super::devices::default_allowed(&[]),
            ..Default::default()
        };
        assert_eq!(c.resources, defaults);
    }

    #[test]
    fn iops_throttles_survive_the_spec() {
        // Docker's --device-write-iops arrives as throttleWriteIOPSDevice.
        let spec: oci_spec::runtime::Spec = serde_json::from_value(serde_json::json!({
            "ociVersion": "1.0.2",
            "linux": {"resources": {"blockIO": {
                "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}],
                "throttleReadIOPSDevice": [{"major": 8, "minor": 0, "rate": 100}],
                "throttleWriteIOPSDevice": [{"major": 8, "minor": 0, "rate": 200}]
            }}}
        }))
        .unwrap();
        let c = CgroupConfig::from_spec(&spec, "ctr", false).unwrap();
        let b = c.resources.block_io.unwrap();
        let dev = |rate| {
            vec![ThrottleDevice {
                major: 8,
                minor: 0,
                rate,
            }]
        };
        assert_eq!(b.throttle_read_bps_device, dev(1048576));
        assert_eq!(b.throttle_read_iops_device, dev(100));
        assert_eq!(b.throttle_write_iops_device, dev(200));
        // `update -r` JSON in the old spelling still reads.
        let r = Resources::from_json_value(serde_json::json!({"blockIO": {
            "throttleWriteIopsDevice": [{"major": 8, "minor": 0, "rate": 7}]
        }}))
        .unwrap();
        assert_eq!(r.block_io.unwrap().throttle_write_iops_device, dev(7));
    }

    #[test]
    fn paths_cannot_escape() {
        assert_eq!(clean_path("/a/../../b"), "/b");
        assert_eq!(clean_path("a/./b/"), "/a/b");
        let c = CgroupConfig::new(Some("../../x"), "id", Resources::default(), false).unwrap();
        match c.path {
            CgroupPath::Relative { inner, .. } => assert_eq!(inner, "x"),
            p => panic!("{p:?}"),
        }
        assert!(CgroupConfig::new(Some("/.."), "id", Resources::default(), false).is_err());
    }

    #[test]
    fn json_round_trip_and_validation() {
        let v = serde_json::json!({
            "memory": {"limit": 8388608, "swap": 16777216, "kernel": 1},
            "cpu": {"shares": 512, "quota": 50000, "period": 100000, "cpus": "0"},
            "pids": {"limit": 32},
            "blockIO": {"weight": 300, "throttleReadBpsDevice": [{"major": 8, "minor": 0, "rate": 1048576}]},
            "hugepageLimits": [{"pageSize": "2MB", "limit": 0}],
            "devices": [{"allow": false, "access": "rwm"}, {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rw"}]
        });
        let r = Resources::from_json_value(v).unwrap();
        assert_eq!(r.memory.as_ref().unwrap().limit, Some(8 << 20));
        assert_eq!(
            r.block_io.as_ref().unwrap().throttle_read_bps_device[0].rate,
            1 << 20
        );
        assert_eq!(r.devices.len(), 2);
        let bad = serde_json::json!({"memory": {"limit": 100, "swap": 50}});
        assert!(Resources::from_json_value(bad).is_err());
        let bad = serde_json::json!({"devices": [{"allow": true, "type": "x"}]});
        assert!(Resources::from_json_value(bad).is_err());
        let bad = serde_json::json!({"hugepageLimits": [{"pageSize": "3XB", "limit": 1}]});
        assert!(Resources::from_json_value(bad).is_err());
    }

    #[test]
    fn merge_keeps_unset_fields() {
        let mut a = Resources::from_json_value(
            serde_json::json!({"memory": {"limit": 100, "reservation": 50}, "pids": {"limit": 5}}),
        )
        .unwrap();
        let b = Resources::from_json_value(serde_json::json!({"memory": {"limit": 200}})).unwrap();
        a.merge(&b);
        let m = a.memory.unwrap();
        assert_eq!((m.limit, m.reservation), (Some(200), Some(50)));
        assert_eq!(a.pids.unwrap().limit, 5);
    }

    #[test]
    fn bincode_round_trip() {
        let c = CgroupConfig::new(
            Some("/x/y"),
            "id",
            Resources::from_json_value(serde_json::json!({"pids": {"limit": 3}})).unwrap(),
            false,
        )
        .unwrap();
        let cfg = bincode::config::standard();
        let bytes = bincode::encode_to_vec(&c, cfg).unwrap();
        let (d, _): (CgroupConfig, _) = bincode::decode_from_slice(&bytes, cfg).unwrap();
        assert_eq!(c, d);
    }
}
