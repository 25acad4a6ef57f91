//! Bodies of `ps`, `events`, `pause`, `resume` and `update`: each takes a
//! manager (and the saved config where it changes it), its clap args and a
//! writer, so the CLI only looks the container up and saves its state.

use std::io::{Read, Write};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::cli_args::{go_parse_i64, go_parse_u64, parse_ram, EventsArgs, PsArgs, UpdateArgs};
use super::config::{BlockIo, CgroupConfig, Cpu, Memory, Pids, Resources};
use super::oom::OomEvent;
use super::stats::Event;
use super::{Error, FreezerState, Manager, Result};

fn out_err(e: std::io::Error) -> Error {
    Error::Io {
        op: "write",
        path: "stdout".into(),
        source: e,
    }
}

/// One JSON line, as Go's json.Encoder writes it.
pub fn emit<T: Serialize>(out: &mut dyn Write, typ: &str, id: &str, data: Option<T>) -> Result<()> {
    let mut line =
        serde_json::to_vec(&Event { typ, id, data }).map_err(|e| Error::Config(e.to_string()))?;
    line.push(b'\n');
    out.write_all(&line)
        .and_then(|_| out.flush())
        .map_err(out_err)
}

/// `ps`: json is the pid list; table runs ps(1) (default `-ef`) and keeps
/// the header and the lines whose PID column is in the cgroup (runc ps.go).
pub fn ps(mgr: &dyn Manager, args: &PsArgs, out: &mut dyn Write) -> Result<()> {
    let pids = mgr.pids()?;
    match args.format.as_str() {
        "json" => {
            let mut s = serde_json::to_vec(&pids).map_err(|e| Error::Config(e.to_string()))?;
            s.push(b'\n');
            return out.write_all(&s).map_err(out_err);
        }
        "table" => {}
        _ => return Err(Error::Ps("invalid format option".into())),
    }
    let ps_args: Vec<&str> = if args.ps_args.is_empty() {
        vec!["-ef"]
    } else {
        args.ps_args.iter().map(String::as_str).collect()
    };
    let o = std::process::Command::new("ps")
        .args(&ps_args)
        .output()
        .map_err(|e| Error::Ps(format!("exec ps: {e}")))?;
    if !o.status.success() {
        return Err(Error::Ps(format!(
            "{}: {}{}",
            o.status,
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        )));
    }
    let text = String::from_utf8_lossy(&o.stdout);
    let table = filter_ps(&text, &pids)?;
    out.write_all(table.as_bytes()).map_err(out_err)
}

/// The header line and the rows whose PID field is one of `pids`.
pub fn filter_ps(text: &str, pids: &[i32]) -> Result<String> {
    let mut lines = text.lines();
    let header = lines.next().unwrap_or("");
    let idx = header
        .split_whitespace()
        .position(|t| t == "PID")
        .ok_or_else(|| Error::Ps("couldn't find PID field in ps output".into()))?;
    let mut s = format!("{header}\n");
    for l in lines.filter(|l| !l.is_empty()) {
        let f = l.split_whitespace().nth(idx).unwrap_or("");
        let p: i32 = f
            .parse()
            .map_err(|_| Error::Ps(format!("unable to parse pid: {f:?}")))?;
        if pids.contains(&p) {
            s.push_str(l);
            s.push('\n');
        }
    }
    Ok(s)
}

/// `events`: `--stats` prints one stats event; otherwise stats every
/// interval and an `oom` event per OOM, until the cgroup is gone.
pub fn events(mgr: &dyn Manager, id: &str, args: &EventsArgs, out: &mut dyn Write) -> Result<()> {
    if args.interval.is_zero() {
        return Err(Error::Config(
            "duration interval must be greater than 0".into(),
        ));
    }
    if args.stats {
        return emit(out, "stats", id, Some(mgr.stats()?));
    }
    let mut watcher = mgr.oom_watcher()?;
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || loop {
        let ev = watcher.wait(Duration::from_millis(500));
        let stop = !matches!(ev, Ok(OomEvent::Oom | OomEvent::Timeout));
        if !matches!(ev, Ok(OomEvent::Timeout)) && tx.send(ev).is_err() || stop {
            return;
        }
    });
    let mut next = Instant::now() + args.interval;
    loop {
        match rx.recv_timeout(next.saturating_duration_since(Instant::now())) {
            Ok(Ok(OomEvent::Oom)) => emit::<()>(out, "oom", id, None)?,
            Ok(Ok(_)) | Err(mpsc::RecvTimeoutError::Disconnected) => return Ok(()),
            Ok(Err(e)) => return Err(e),
            Err(mpsc::RecvTimeoutError::Timeout) => {
                next += args.interval;
                match mgr.stats() {
                    Ok(s) => emit(out, "stats", id, Some(s))?,
                    Err(_) if !mgr.exists() => return Ok(()),
                    // runc logs a failed read and keeps going.
                    Err(e) => eprintln!("{e}"),
                }
            }
        }
    }
}

pub fn pause(mgr: &dyn Manager) -> Result<()> {
    mgr.freeze(FreezerState::Frozen)
}

pub fn resume(mgr: &dyn Manager) -> Result<()> {
    mgr.freeze(FreezerState::Thawed)
}

/// `update`: build the change from `-r` JSON or the flags, write it, and
/// merge it into `cfg.resources` for the caller to save. Returns runc's
/// warnings for the caller to log.
pub fn update(
    mgr: &dyn Manager,
    cfg: &mut CgroupConfig,
    args: &UpdateArgs,
    stdin: &mut dyn Read,
) -> Result<Vec<String>> {
    if args.l3_cache_schema.is_some() || args.mem_bw_schema.is_some() {
        return Err(Error::Config(
            "Intel RDT/CAT: l3 cache schema is not enabled".into(),
        ));
    }
    let mut delta = update_resources(args, stdin)?;
    // runc: logrus.Warn once the flags parsed, for a non-zero value only.
    let mut warnings = Vec::new();
    let kernel = [&args.kernel_memory, &args.kernel_memory_tcp];
    if args.resources.is_none()
        && kernel.iter().any(|k| {
            k.as_deref()
                .is_some_and(|v| v == "-1" || parse_ram(v).is_ok_and(|n| n != 0))
        })
    {
        warnings.push("Kernel memory settings are ignored and will be removed".to_string());
    }
    // runc's update sends swap 0 when --memory-swap is not given, and its v1
    // setMemoryAndSwap turns "memory -1, swap 0" into unlimited swap too. A
    // swap limit kept from before would sit below the new unlimited memory,
    // which the kernel refuses (EINVAL).
    if let Some(m) = delta.memory.as_mut() {
        if m.limit == Some(-1) && m.swap.is_none() {
            m.swap = Some(-1);
        }
    }
    let mut merged = cfg.resources.clone();
    merged.merge(&delta);
    merged.validate()?;
    // Write everything the container has (v2 needs limit and swap together,
    // quota and period too) but the device rules only if they changed:
    // rewriting them would deny all devices for a moment.
    let mut to_set = merged.clone();
    to_set.devices = delta.devices.clone();
    mgr.set(&to_set)?;
    cfg.resources = merged;
    Ok(warnings)
}

/// The resources an `update` asks for. Zero / empty means "leave as is",
/// as in runc.
pub fn update_resources(args: &UpdateArgs, stdin: &mut dyn Read) -> Result<Resources> {
    if let Some(src) = &args.resources {
        let mut text = String::new();
        if src == "-" {
            stdin.read_to_string(&mut text).map_err(|e| Error::Io {
                op: "read",
                path: "stdin".into(),
                source: e,
            })?;
        } else {
            text = std::fs::read_to_string(src).map_err(|e| Error::Io {
                op: "open",
                path: src.into(),
                source: e,
            })?;
        }
        let v: serde_json::Value =
            serde_json::from_str(&text).map_err(|e| Error::InvalidResources(e.to_string()))?;
        return Resources::from_json_value(v).map(drop_zeros);
    }
    let inv = |opt: &str, e: String| Error::UpdateFlag(format!("invalid value for {opt}: {e}"));
    let u = |opt: &str, v: &Option<String>| -> Result<Option<u64>> {
        v.as_deref()
            .map(|s| go_parse_u64(s).map_err(|e| inv(opt, e)))
            .transpose()
    };
    let i = |opt: &str, v: &Option<String>| -> Result<Option<i64>> {
        v.as_deref()
            .map(|s| go_parse_i64(s).map_err(|e| inv(opt, e)))
            .transpose()
    };
    let ram = |opt: &str, v: &Option<String>| -> Result<Option<i64>> {
        v.as_deref()
            .map(|s| {
                if s == "-1" {
                    Ok(-1)
                } else {
                    parse_ram(s).map_err(|e| inv(opt, e))
                }
            })
            .transpose()
    };
    // Only parsed (runc refuses a bad value); the kernel ignores them now.
    ram("kernel-memory", &args.kernel_memory)?;
    ram("kernel-memory-tcp", &args.kernel_memory_tcp)?;
    let r = Resources {
        memory: Some(Memory {
            limit: ram("memory", &args.memory)?,
            reservation: ram("memory-reservation", &args.memory_reservation)?,
            swap: ram("memory-swap", &args.memory_swap)?,
            ..Default::default()
        }),
        cpu: Some(Cpu {
            shares: u("cpu-share", &args.cpu_share)?,
            quota: i("cpu-quota", &args.cpu_quota)?,
            period: u("cpu-period", &args.cpu_period)?,
            realtime_runtime: i("cpu-rt-runtime", &args.cpu_rt_runtime)?,
            realtime_period: u("cpu-rt-period", &args.cpu_rt_period)?,
            cpus: args.cpuset_cpus.clone(),
            mems: args.cpuset_mems.clone(),
            ..Default::default()
        }),
        pids: args.pids_limit.map(|limit| Pids { limit }),
        // runc: uint16(context.Int("blkio-weight")), 0 meaning "not given".
        block_io: args.blkio_weight.map(|w| BlockIo {
            weight: Some(w as u16),
            ..Default::default()
        }),
        ..Default::default()
    };
    r.validate()?;
    Ok(drop_zeros(r))
}

/// runc's update treats 0 and "" as "not given".
fn drop_zeros(mut r: Resources) -> Resources {
    if let Some(m) = &mut r.memory {
        for f in [
            &mut m.limit,
            &mut m.reservation,
            &mut m.swap,
            &mut m.kernel,
            &mut m.kernel_tcp,
        ] {
            if *f == Some(0) {
                *f = None;
            }
        }
    }
    if let Some(c) = &mut r.cpu {
        for f in [&mut c.shares, &mut c.period, &mut c.realtime_period] {
            if *f == Some(0) {
                *f = None;
            }
        }
        for f in [&mut c.quota, &mut c.realtime_runtime] {
            if *f == Some(0) {
                *f = None;
            }
        }
        for f in [&mut c.cpus, &mut c.mems] {
            if f.as_deref() == Some("") {
                *f = None;
            }
        }
    }
    if r.pids.as_ref().is_some_and(|p| p.limit == 0) {
        r.pids = None;
    }
    if let Some(b) = &mut r.block_io {
        if b.weight == Some(0) {
            b.weight = None;
        }
    }
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ps_filtering() {
        let t = "UID  PID  PPID C STIME TTY TIME CMD\nroot 1 0 0 10:00 ? 00:00:01 init\nroot 42 1 0 10:00 ? 00:00:00 sleep 9\n";
        assert_eq!(
            filter_ps(t, &[42]).unwrap(),
            "UID  PID  PPID C STIME TTY TIME CMD\nroot 42 1 0 10:00 ? 00:00:00 sleep 9\n"
        );
        assert!(filter_ps("A B\n1 2\n", &[1]).is_err());
    }

    #[test]
    fn update_flags() {
        let a = UpdateArgs {
            memory: Some("64m".into()),
            pids_limit: Some(20),
            cpu_quota: Some("5000".into()),
            id: "c".into(),
            ..Default::default()
        };
        let r = update_resources(&a, &mut std::io::empty()).unwrap();
        assert_eq!(r.memory.as_ref().unwrap().limit, Some(64 << 20));
        assert_eq!(r.memory.as_ref().unwrap().swap, None);
        assert_eq!(r.cpu.as_ref().unwrap().quota, Some(5000));
        assert_eq!(r.pids.as_ref().unwrap().limit, 20);
        let bad = UpdateArgs {
            cpu_share: Some("x".into()),
            ..Default::default()
        };
        assert!(update_resources(&bad, &mut std::io::empty())
            .unwrap_err()
            .to_string()
            .contains("invalid value for cpu-share"));
    }

    #[test]
    fn update_json_from_stdin() {
        let a = UpdateArgs {
            resources: Some("-".into()),
            ..Default::default()
        };
        let mut input =
            br#"{"memory": {"limit": 1048576, "swap": 0}, "pids": {"limit": 9}}"#.as_slice();
        let r = update_resources(&a, &mut input).unwrap();
        assert_eq!(r.memory.as_ref().unwrap().limit, Some(1 << 20));
        assert_eq!(r.memory.as_ref().unwrap().swap, None);
        assert_eq!(r.pids.unwrap().limit, 9);
    }
}
