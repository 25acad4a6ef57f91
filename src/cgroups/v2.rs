//! cgroup v2 files: creating a cgroup with its controllers enabled, limits
//! (runc's conversions from the v1-style spec values) and stats.

use std::path::Path;
use std::time::{Duration, Instant};

use super::config::Resources;
use super::files::{self, kv, read_kv, read_u64, write};
use super::stats::{BlkioEntry, Hugetlb, MemoryEntry, Stats};
use super::v1::pids_max;
use super::{Error, FreezerState, Result};

/// mkdir every level below `mount` down to `dir`, and enable `controllers`
/// in every ancestor's cgroup.subtree_control so the leaf gets them. One
/// controller at a time: one that cannot be enabled (e.g. a threaded
/// subtree) must not keep the others off; `set` reports a needed one.
pub fn create(mount: &Path, dir: &Path, controllers: &[String]) -> Result<()> {
    let rel = dir.strip_prefix(mount).unwrap_or(Path::new(""));
    let mut cur = mount.to_path_buf();
    for c in rel.components() {
        if !controllers.is_empty() {
            let enabled = files::read(&cur, "cgroup.subtree_control").unwrap_or_default();
            for ctrl in controllers {
                if !enabled.split_whitespace().any(|e| e == ctrl) {
                    let _ = write(&cur, "cgroup.subtree_control", &format!("+{ctrl}"));
                }
            }
        }
        cur.push(c);
        match std::fs::create_dir(&cur) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
            Err(e) => return Err(files::io_err("mkdir", &cur, e)),
        }
    }
    Ok(())
}

/// runc's shares (2..262144) -> weight (1..10000).
pub fn cpu_weight(shares: u64) -> u64 {
    if shares == 0 {
        0
    } else {
        1 + (shares.saturating_sub(2) * 9999) / 262142
    }
}

/// runc's blkio weight (10..1000) -> io.weight (1..10000).
pub fn io_weight(w: u16) -> u64 {
    if w == 0 {
        0
    } else {
        1 + (u64::from(w).saturating_sub(10) * 9999) / 990
    }
}

/// The spec's memory+swap -> memory.swap.max (swap alone). None = leave.
pub fn swap_max(swap: i64, limit: i64) -> Result<Option<String>> {
    if limit == -1 && swap == 0 {
        return Ok(Some("max".into()));
    }
    match swap {
        0 => return Ok(None),
        -1 => return Ok(Some("max".into())),
        _ => {}
    }
    if limit == 0 || limit == -1 {
        return Err(Error::InvalidResources(
            "unable to set swap limit without memory limit".into(),
        ));
    }
    if swap < limit {
        return Err(Error::InvalidResources(format!(
            "memory+swap limit ({swap}) should be >= memory limit ({limit})"
        )));
    }
    Ok(Some((swap - limit).to_string()))
}

fn num_or_max(v: i64) -> Option<String> {
    match v {
        0 => None,
        v if v < 0 => Some("max".into()),
        v => Some(v.to_string()),
    }
}

/// The v2 controller that serves a v1 controller name.
pub fn v2_name(v1: &str) -> &str {
    match v1 {
        "cpuacct" => "cpu",
        "blkio" => "io",
        other => other,
    }
}

/// Write `ctrl`'s (v1 name) part of `r` into `dir`.
pub fn set(ctrl: &str, dir: &Path, r: &Resources) -> Result<()> {
    match ctrl {
        "cpuset" => super::v1::set("cpuset", dir, r)?,
        "memory" => {
            if let Some(m) = &r.memory {
                let limit = m.limit.unwrap_or(0);
                if let Some(s) = swap_max(m.swap.unwrap_or(0), limit)? {
                    // No swap file without swap accounting: only "max" may be dropped.
                    if dir.join("memory.swap.max").exists() || s != "max" {
                        write(dir, "memory.swap.max", &s)?;
                    }
                }
                if let Some(v) = num_or_max(limit) {
                    write(dir, "memory.max", &v)?;
                }
                if let Some(v) = m.reservation.and_then(num_or_max) {
                    write(dir, "memory.low", &v)?;
                }
            }
        }
        "cpu" => {
            if let Some(c) = &r.cpu {
                if let Some(s) = c.shares.filter(|&s| s != 0) {
                    write(dir, "cpu.weight", &cpu_weight(s).to_string())?;
                }
                let (q, p) = (c.quota.unwrap_or(0), c.period.unwrap_or(0));
                if q != 0 || p != 0 {
                    let mut v = if q > 0 { q.to_string() } else { "max".into() };
                    if p != 0 {
                        v += &format!(" {p}");
                    }
                    write(dir, "cpu.max", &v)?;
                }
                if let Some(b) = c.burst {
                    write(dir, "cpu.max.burst", &b.to_string())?;
                }
                if let Some(i) = c.idle {
                    write(dir, "cpu.idle", &i.to_string())?;
                }
                if c.realtime_period.is_some_and(|v| v != 0)
                    || c.realtime_runtime.is_some_and(|v| v != 0)
                {
                    return Err(Error::InvalidResources(
                        "realtime scheduling is not supported on cgroup v2".into(),
                    ));
                }
            }
        }
        "pids" => {
            if let Some(p) = r.pids.as_ref().filter(|p| p.limit != 0) {
                write(dir, "pids.max", &pids_max(p.limit))?;
            }
        }
        "blkio" => {
            if let Some(b) = &r.block_io {
                if let Some(w) = b.weight.filter(|&w| w != 0) {
                    if dir.join("io.bfq.weight").exists() {
                        write(dir, "io.bfq.weight", &w.to_string())?;
                    } else {
                        write(dir, "io.weight", &format!("default {}", io_weight(w)))?;
                    }
                }
                for (key, list) in [
                    ("rbps", &b.throttle_read_bps_device),
                    ("wbps", &b.throttle_write_bps_device),
                    ("riops", &b.throttle_read_iops_device),
                    ("wiops", &b.throttle_write_iops_device),
                ] {
                    for d in list {
                        write(
                            dir,
                            "io.max",
                            &format!("{}:{} {key}={}", d.major, d.minor, d.rate),
                        )?;
                    }
                }
            }
        }
        "hugetlb" => {
            for h in &r.hugepage_limits {
                let v = if h.limit < 0 {
                    "max".into()
                } else {
                    h.limit.to_string()
                };
                write(dir, &format!("hugetlb.{}.max", h.page_size), &v)?;
            }
        }
        _ => {}
    }
    Ok(())
}

/// `linux.resources.unified`: raw file writes, after everything else.
pub fn set_unified(dir: &Path, r: &Resources) -> Result<()> {
    for (k, v) in &r.unified {
        write(dir, k, v).map_err(|e| match e {
            e if e
                .os_error()
                .is_some_and(|s| s.kind() == std::io::ErrorKind::NotFound) =>
            {
                Error::InvalidResources(format!("unified resource {k:?} can't be set: controller is not enabled or does not exist"))
            }
            e => e,
        })?;
    }
    Ok(())
}

pub fn freeze(dir: &Path, state: FreezerState) -> Result<()> {
    let want = match state {
        FreezerState::Frozen => "1",
        FreezerState::Thawed => "0",
        FreezerState::Undefined => return Err(Error::Freeze("invalid freezer state".into())),
    };
    write(dir, "cgroup.freeze", want)?;
    // cgroup.freeze is the request; "frozen 1" in cgroup.events is the result.
    let deadline = Instant::now() + Duration::from_secs(2);
    loop {
        let ev = read_kv(dir, "cgroup.events")?;
        if kv(&ev, "frozen").to_string() == want {
            return Ok(());
        }
        if Instant::now() > deadline {
            if state == FreezerState::Frozen {
                let _ = write(dir, "cgroup.freeze", "0");
            }
            return Err(Error::Freeze(
                "cgroup.events did not report the new state in 2s".into(),
            ));
        }
        std::thread::sleep(Duration::from_millis(1));
    }
}

pub fn freezer_state(dir: &Path) -> Result<FreezerState> {
    match files::read(dir, "cgroup.freeze") {
        Ok(s) if s.trim() == "1" => Ok(FreezerState::Frozen),
        Ok(_) => Ok(FreezerState::Thawed),
        Err(Error::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            Ok(FreezerState::Undefined)
        }
        Err(e) => Err(e),
    }
}

/// Fill `ctrl`'s (v1 name) part of `s` from `dir`.
pub fn stats(ctrl: &str, dir: &Path, s: &mut Stats) -> Result<()> {
    match ctrl {
        "cpu" | "cpuacct" => {
            // cpu.stat exists without the cpu controller too (usage only).
            let st = read_kv(dir, "cpu.stat")?;
            let u = &mut s.cpu.usage;
            u.total = kv(&st, "usage_usec") * 1000;
            u.user = kv(&st, "user_usec") * 1000;
            u.kernel = kv(&st, "system_usec") * 1000;
            let t = &mut s.cpu.throttling;
            t.periods = kv(&st, "nr_periods");
            t.throttled_periods = kv(&st, "nr_throttled");
            t.throttled_time = kv(&st, "throttled_usec") * 1000;
        }
        "cpuset" => {
            s.cpuset.cpus = super::stats::parse_list(&files::read(dir, "cpuset.cpus.effective")?);
            s.cpuset.mems = super::stats::parse_list(&files::read(dir, "cpuset.mems.effective")?);
        }
        "memory" => {
            let raw = read_kv(dir, "memory.stat")?;
            let ev = read_kv(dir, "memory.events").unwrap_or_default();
            let m = &mut s.memory;
            m.cache = kv(&raw, "file");
            m.raw = raw.into_iter().collect();
            let usage = read_u64(dir, "memory.current")?;
            m.usage = MemoryEntry {
                usage,
                limit: read_u64(dir, "memory.max")?,
                max: read_u64(dir, "memory.peak").unwrap_or(0),
                failcnt: kv(&ev, "max"),
            };
            // runc reports swap as memory+swap, like v1's memsw.
            if let Ok(sw) = read_u64(dir, "memory.swap.current") {
                let lim = read_u64(dir, "memory.swap.max")?;
                m.swap = MemoryEntry {
                    usage: sw + usage,
                    limit: if lim == u64::MAX || m.usage.limit == u64::MAX {
                        u64::MAX
                    } else {
                        lim + m.usage.limit
                    },
                    max: 0,
                    failcnt: 0,
                };
            }
        }
        "pids" => {
            s.pids.current = read_u64(dir, "pids.current")?;
            let max = read_u64(dir, "pids.max")?;
            s.pids.limit = if max == u64::MAX { 0 } else { max };
        }
        "blkio" => {
            for line in files::read(dir, "io.stat")?.lines() {
                let mut f = line.split_whitespace();
                let Some((ma, mi)) = f.next().and_then(|d| d.split_once(':')) else {
                    continue;
                };
                let (Ok(major), Ok(minor)) = (ma.parse::<u64>(), mi.parse::<u64>()) else {
                    continue;
                };
                for kvp in f {
                    let Some((k, v)) = kvp.split_once('=') else {
                        continue;
                    };
                    let value = v.parse().unwrap_or(0);
                    let (list, op) = match k {
                        "rbytes" => (&mut s.blkio.io_service_bytes_recursive, "Read"),
                        "wbytes" => (&mut s.blkio.io_service_bytes_recursive, "Write"),
                        "rios" => (&mut s.blkio.io_serviced_recursive, "Read"),
                        "wios" => (&mut s.blkio.io_serviced_recursive, "Write"),
                        _ => continue,
                    };
                    list.push(BlkioEntry {
                        major,
                        minor,
                        op: op.into(),
                        value,
                    });
                }
            }
        }
        "hugetlb" => {
            for size in super::v1::hugepage_sizes() {
                let p = format!("hugetlb.{size}");
                let ev = read_kv(dir, &format!("{p}.events")).unwrap_or_default();
                s.hugetlb.insert(
                    size,
                    Hugetlb {
                        usage: read_u64(dir, &format!("{p}.current"))?,
                        max: 0,
                        failcnt: kv(&ev, "max"),
                    },
                );
            }
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn conversions_match_runc() {
        assert_eq!(cpu_weight(2), 1);
        assert_eq!(cpu_weight(1024), 39);
        assert_eq!(cpu_weight(262144), 10000);
        assert_eq!(io_weight(10), 1);
        assert_eq!(io_weight(1000), 10000);
        assert_eq!(io_weight(500), 4950);
    }

    #[test]
    fn swap_conversion() {
        assert_eq!(swap_max(0, 100).unwrap(), None);
        assert_eq!(swap_max(0, -1).unwrap().as_deref(), Some("max"));
        assert_eq!(swap_max(-1, 100).unwrap().as_deref(), Some("max"));
        assert_eq!(swap_max(300, 100).unwrap().as_deref(), Some("200"));
        assert!(swap_max(50, 100).is_err());
        assert!(swap_max(50, 0).is_err());
    }
}
