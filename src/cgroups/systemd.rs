//! `--systemd-cgroup`: the container's cgroup is a transient systemd scope,
//! made over D-Bus as runc does (`StartTransientUnit` of `prefix-name.scope`
//! in `slice`, with the stage-0 pid in `PIDs`, `Delegate=yes`, the limits as
//! unit properties), stopped on destroy (`StopUnit`), changed by update
//! (`SetUnitProperties`). The scope's directories are then driven like any
//! other cgroup (the cgroupfs manager on the path systemd made): files
//! systemd has no property for, stats, freezer, pids.
//!
//! Without a running systemd (as in CI) every request fails with runc's
//! "systemd cgroup driver requested but systemd is not running".

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use super::config::{CgroupConfig, CgroupPath, Resources};
use super::dbus::{Call, Conn, Dec, Enc, BUS};
use super::fs::FsManager;
use super::join::Join;
use super::oom::OomWatcher;
use super::{probe, Error, FreezerState, Manager, Result, Stats};

/// sd_booted(3): /run/systemd/system exists only while systemd is PID 1;
/// the private socket is how runc reaches it as root.
pub fn running() -> bool {
    Path::new("/run/systemd/system").is_dir() && bus().is_some()
}

/// Where to reach systemd: its private socket (root, no bus daemon needed),
/// else the system bus. `(path, needs Hello)`.
fn bus() -> Option<(PathBuf, bool)> {
    [
        ("/run/systemd/private", false),
        ("/run/dbus/system_bus_socket", true),
    ]
    .into_iter()
    .map(|(p, h)| (PathBuf::from(p), h))
    .find(|(p, _)| p.exists())
}

/// The error for a `--systemd-cgroup` request without systemd.
pub fn unavailable() -> Error {
    Error::SystemdNotRunning
}

/// runc's `slice:prefix:name` -> (slice, unit): `prefix-name.scope`, or
/// `name` itself when it is a slice; an empty slice is system.slice.
pub fn unit_of(path: &str) -> Result<(String, String)> {
    let bad = || {
        Error::Config(format!("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd cgroups, got {path:?} instead"))
    };
    let parts: Vec<&str> = path.split(':').collect();
    let [slice, prefix, name] = parts[..] else {
        return Err(bad());
    };
    if name.is_empty() {
        return Err(bad());
    }
    let slice = if slice.is_empty() {
        "system.slice"
    } else {
        slice
    };
    let unit = if name.ends_with(".slice") {
        name.to_owned()
    } else {
        format!("{prefix}-{name}.scope")
    };
    Ok((slice.to_owned(), unit))
}

/// systemd's slice naming: "a-b.slice" lives at /a.slice/a-b.slice.
pub fn expand_slice(slice: &str) -> Result<String> {
    let bad = || Error::Config(format!("invalid slice name: {slice}"));
    let stem = slice.strip_suffix(".slice").ok_or_else(bad)?;
    if stem == "-" {
        return Ok("/".into());
    }
    if stem.is_empty()
        || stem.contains('/')
        || stem.contains("--")
        || stem.starts_with('-')
        || stem.ends_with('-')
    {
        return Err(bad());
    }
    let mut path = String::new();
    let mut prefix = String::new();
    for comp in stem.split('-') {
        prefix.push_str(comp);
        path.push_str(&format!("/{prefix}.slice"));
        prefix.push('-');
    }
    Ok(path)
}

/// One unit property: name and a marshalled variant.
type Prop = (&'static str, Value);

#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(String),
    Bool(bool),
    U64(u64),
    Pids(Vec<u32>),
}

fn put(e: &mut Enc, props: &[Prop]) {
    e.array(8, |e| {
        for (k, v) in props {
            e.structure(|e| {
                e.string(k);
                match v {
                    Value::Str(s) => e.variant("s", |e| e.string(s)),
                    Value::Bool(b) => e.variant("b", |e| e.boolean(*b)),
                    Value::U64(n) => e.variant("t", |e| e.u64(*n)),
                    Value::Pids(p) => {
                        e.variant("au", |e| e.array(4, |e| p.iter().for_each(|p| e.u32(*p))))
                    }
                }
            })
        }
    });
}

/// The limits as systemd unit properties (runc's genV2ResourcesProperties
/// subset: memory, cpu quota/weight, pids). The rest is written to the
/// scope's files by the cgroupfs manager.
pub fn resource_props(r: &Resources) -> Vec<Prop> {
    let mut p = Vec::new();
    let limit = |v: i64| if v < 0 { u64::MAX } else { v as u64 };
    if let Some(l) = r.memory.as_ref().and_then(|m| m.limit).filter(|&l| l != 0) {
        p.push(("MemoryMax", Value::U64(limit(l))));
    }
    if let Some(c) = &r.cpu {
        if let Some(s) = c.shares.filter(|&s| s != 0) {
            p.push(("CPUWeight", Value::U64(super::v2::cpu_weight(s))));
        }
        if let Some(q) = c.quota.filter(|&q| q != 0) {
            // runc: quota per second in µs, rounded up to whole 10 ms (systemd's granularity).
            let period = c.period.filter(|&p| p != 0).unwrap_or(100_000);
            let per_sec = if q < 0 {
                u64::MAX
            } else {
                (q as u64 * 1_000_000 / period).div_ceil(10_000) * 10_000
            };
            p.push(("CPUQuotaPerSecUSec", Value::U64(per_sec)));
        }
    }
    if let Some(pl) = r.pids.as_ref().map(|p| p.limit).filter(|&l| l != 0) {
        p.push(("TasksMax", Value::U64(limit(pl))));
    }
    p
}

/// StartTransientUnit(unit, "replace", props, []) body, signature
/// "ssa(sv)a(sa(sv))".
pub fn start_body(unit: &str, slice: &str, pid: u32, r: &Resources) -> Vec<u8> {
    let mut props: Vec<Prop> = vec![
        ("Slice", Value::Str(slice.into())),
        (
            "Description",
            Value::Str(format!("libcontainer container {unit}")),
        ),
        ("PIDs", Value::Pids(vec![pid])),
        ("Delegate", Value::Bool(true)),
        ("DefaultDependencies", Value::Bool(false)),
        ("MemoryAccounting", Value::Bool(true)),
        ("CPUAccounting", Value::Bool(true)),
        ("TasksAccounting", Value::Bool(true)),
    ];
    props.extend(resource_props(r));
    let mut e = Enc::default();
    e.string(unit);
    e.string("replace");
    put(&mut e, &props);
    e.array(8, |_| {});
    e.buf
}

const SYSTEMD: Call = Call {
    path: "/org/freedesktop/systemd1",
    interface: "org.freedesktop.systemd1.Manager",
    member: "",
    destination: "org.freedesktop.systemd1",
    signature: "",
    body: &[],
};

/// The systemd driver: a scope unit plus the cgroupfs manager on its path.
pub struct SystemdManager {
    unit: String,
    slice: String,
    resources: Resources,
    fs: FsManager,
}

impl SystemdManager {
    pub fn new(cfg: &CgroupConfig, rootless: bool) -> Result<Self> {
        if !running() {
            return Err(unavailable());
        }
        let CgroupPath::Systemd(p) = &cfg.path else {
            return Err(Error::Config(
                "systemd driver without a systemd cgroupsPath".into(),
            ));
        };
        let (slice, unit) = unit_of(p)?;
        let dir = format!("{}/{unit}", expand_slice(&slice)?.trim_end_matches('/'));
        let fs_cfg = CgroupConfig {
            path: CgroupPath::Absolute(dir),
            systemd: false,
            ..cfg.clone()
        };
        let fs = FsManager::new(probe::host()?, &fs_cfg, rootless)?;
        Ok(SystemdManager {
            unit,
            slice,
            resources: cfg.resources.clone(),
            fs,
        })
    }

    fn conn() -> Result<Conn> {
        let (path, hello) = bus().ok_or(Error::SystemdNotRunning)?;
        let mut c = Conn::open(&path, hello).map_err(sd_err)?;
        if hello {
            let mut m = Enc::default();
            m.string(
                "type='signal',interface='org.freedesktop.systemd1.Manager',member='JobRemoved'",
            );
            c.call(&Call {
                member: "AddMatch",
                signature: "s",
                body: &m.buf,
                ..BUS
            })
            .map_err(sd_err)?;
        }
        // JobRemoved is only sent to subscribers.
        c.call(&Call {
            member: "Subscribe",
            ..SYSTEMD
        })
        .map_err(sd_err)?;
        Ok(c)
    }

    /// Call a Manager method that returns a job, and wait until it is done.
    fn job(&self, member: &str, signature: &str, body: &[u8]) -> Result<()> {
        let mut c = Self::conn()?;
        let r = c
            .call(&Call {
                member,
                signature,
                body,
                ..SYSTEMD
            })
            .map_err(sd_err)?;
        let job = Dec {
            buf: &r.body,
            pos: 0,
        }
        .string()
        .map_err(sd_err)?;
        // JobRemoved(u id, o job, s unit, s result)
        let done = c
            .wait_signal("JobRemoved", |m| {
                let mut d = Dec {
                    buf: &m.body,
                    pos: 0,
                };
                d.u32().is_ok() && d.string().is_ok_and(|j| j == job)
            })
            .map_err(sd_err)?;
        let mut d = Dec {
            buf: &done.body,
            pos: 0,
        };
        let result = d
            .u32()
            .and_then(|_| d.string())
            .and_then(|_| d.string())
            .and_then(|_| d.string())
            .map_err(sd_err)?;
        if result != "done" {
            return Err(Error::Systemd(format!(
                "error creating systemd unit `{}`: got `{result}`",
                self.unit
            )));
        }
        Ok(())
    }
}

fn sd_err(e: super::dbus::DbusError) -> Error {
    Error::Systemd(e.to_string())
}

impl Manager for SystemdManager {
    fn apply(&self, pid: i32) -> Result<()> {
        self.job(
            "StartTransientUnit",
            "ssa(sv)a(sa(sv))",
            &start_body(&self.unit, &self.slice, pid as u32, &self.resources),
        )?;
        // Hierarchies systemd does not manage (v1 named ones, hybrid's
        // unified side) are joined the cgroupfs way, as runc does.
        self.fs.apply(pid)
    }

    fn join_plan(&self, create: bool) -> Result<Join> {
        if create {
            // systemd moves the pid itself when it starts the scope.
            Ok(Join {
                apply_after: true,
                ..Default::default()
            })
        } else {
            // exec: the scope exists; join its directories at birth.
            self.fs.join_plan(false)
        }
    }

    fn set(&self, r: &Resources) -> Result<()> {
        let mut e = Enc::default();
        e.string(&self.unit);
        e.boolean(true);
        put(&mut e, &resource_props(r));
        let mut c = Self::conn()?;
        c.call(&Call {
            member: "SetUnitProperties",
            signature: "sba(sv)",
            body: &e.buf,
            ..SYSTEMD
        })
        .map_err(sd_err)?;
        self.fs.set(r)
    }

    fn freeze(&self, state: FreezerState) -> Result<()> {
        self.fs.freeze(state)
    }

    fn freezer_state(&self) -> Result<FreezerState> {
        self.fs.freezer_state()
    }

    fn destroy(&self) -> Result<()> {
        let mut e = Enc::default();
        e.string(&self.unit);
        e.string("replace");
        match self.job("StopUnit", "ss", &e.buf) {
            // Already gone (a second delete, or after a crash): fine.
            Err(Error::Systemd(m)) if m.contains("NoSuchUnit") => {}
            r => r?,
        }
        self.fs.destroy()
    }

    fn pids(&self) -> Result<Vec<i32>> {
        self.fs.pids()
    }

    fn stats(&self) -> Result<Stats> {
        self.fs.stats()
    }

    fn path(&self, subsystem: &str) -> Option<PathBuf> {
        self.fs.path(subsystem)
    }

    fn paths(&self) -> BTreeMap<String, PathBuf> {
        self.fs.paths()
    }

    fn exists(&self) -> bool {
        self.fs.exists()
    }

    fn oom_watcher(&self) -> Result<OomWatcher> {
        self.fs.oom_watcher()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runc_unit_names() {
        assert_eq!(
            unit_of("system.slice:docker:abc").unwrap(),
            ("system.slice".into(), "docker-abc.scope".into())
        );
        assert_eq!(
            unit_of(":runc:x").unwrap(),
            ("system.slice".into(), "runc-x.scope".into())
        );
        assert_eq!(unit_of("user.slice:p:my.slice").unwrap().1, "my.slice");
        assert!(unit_of("/abs/path").is_err());
        assert!(unit_of("a:b").is_err());
        assert!(unit_of("a.slice:b:").is_err());
    }

    #[test]
    fn slices_expand_like_systemd() {
        assert_eq!(expand_slice("system.slice").unwrap(), "/system.slice");
        assert_eq!(
            expand_slice("a-b-c.slice").unwrap(),
            "/a.slice/a-b.slice/a-b-c.slice"
        );
        assert_eq!(expand_slice("-.slice").unwrap(), "/");
        for bad in ["a--b.slice", "-a.slice", "a-.slice", "a/b.slice", "nope"] {
            assert!(expand_slice(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn quota_and_limits_become_properties() {
        let r: Resources = serde_json::from_value(serde_json::json!({
            "memory": {"limit": 1048576},
            "cpu": {"quota": 25000, "period": 100000, "shares": 1024},
            "pids": {"limit": -1}
        }))
        .unwrap();
        let p = resource_props(&r);
        assert!(p.contains(&("MemoryMax", Value::U64(1048576))));
        assert!(p.contains(&("CPUQuotaPerSecUSec", Value::U64(250_000))));
        assert!(p.contains(&("TasksMax", Value::U64(u64::MAX))));
        assert!(p.iter().any(|(k, _)| *k == "CPUWeight"));
    }

    #[test]
    fn start_body_layout() {
        let b = start_body("runc-x.scope", "system.slice", 42, &Resources::default());
        let mut d = Dec { buf: &b, pos: 0 };
        assert_eq!(d.string().unwrap(), "runc-x.scope");
        assert_eq!(d.string().unwrap(), "replace");
        // a(sv): length, pad to 8, first struct ("Slice", <"system.slice">).
        let _len = d.u32().unwrap();
        d.pos = d.pos.div_ceil(8) * 8;
        assert_eq!(d.string().unwrap(), "Slice");
        assert_eq!(d.signature().unwrap(), "s");
        assert_eq!(d.string().unwrap(), "system.slice");
        // PIDs=[42] marshals as au.
        let at = b.windows(4).position(|w| w == b"PIDs").unwrap();
        assert_eq!(&b[at + 5..at + 9], b"\x02au\x00");
        // The "PIDs" string starts 8-aligned (a struct), so the array
        // length after the 5-byte name and 4-byte signature pads 3 bytes.
        assert_eq!(&b[at + 12..at + 20], b"\x04\x00\x00\x00\x2a\x00\x00\x00");
        // The aux array a(sa(sv)) is last and empty.
        assert!(b.ends_with(b"\x00\x00\x00\x00"));
    }

    #[test]
    fn without_systemd_the_error_is_runcs() {
        if !running() {
            assert_eq!(
                unavailable().to_string(),
                "systemd cgroup driver requested but systemd is not running"
            );
        }
    }
}
