//! Running one hook: argv/env from the spec, state JSON on stdin, output
//! captured for the error message, killed at its timeout.

use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use super::Hook;

/// Namespaces a hook joins before it execs (setns, in the order given; put
/// the user namespace first when it matters).
#[derive(Debug, Default)]
pub struct NsTarget {
    pub fds: Vec<OwnedFd>,
}

/// In the forked child, before execve: mark every fd above stderr
/// close-on-exec (so nothing the runtime inherited or leaked reaches the
/// hook; std's own exec-status pipe is CLOEXEC already and must stay open
/// until the exec), then join the namespaces in `ns`.
fn prepare_child(cmd: &mut Command, ns: Option<&NsTarget>) {
    const CLOSE_RANGE_CLOEXEC: libc::c_uint = 1 << 2;
    let raw: Vec<i32> = ns
        .map(|n| n.fds.iter().map(|f| f.as_raw_fd()).collect())
        .unwrap_or_default();
    // SAFETY: the closure runs between fork and exec and only makes the
    // async-signal-safe syscalls close_range(2) and setns(2); `raw` was
    // built before the fork.
    unsafe {
        cmd.pre_exec(move || {
            if libc::syscall(
                libc::SYS_close_range,
                3,
                libc::c_uint::MAX,
                CLOSE_RANGE_CLOEXEC,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            for &fd in &raw {
                if libc::setns(fd, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
            }
            Ok(())
        });
    }
}

/// Go's exec.ExitError wording (os.ProcessState.String), which runc's
/// messages carry: "exit status N", "signal: <Go's name>", and
/// " (core dumped)" after a signal that dumped core (SIGSYS, SIGABRT, ...).
/// https://github.com/golang/go/blob/go1.19/src/os/exec_posix.go#L98
fn describe(st: ExitStatus) -> String {
    let mut res = match (st.code(), st.signal(), st.stopped_signal()) {
        (Some(c), _, _) => format!("exit status {c}"),
        (None, Some(s), _) => format!("signal: {}", go_signal_name(s)),
        (None, None, Some(s)) => format!("stop signal: {}", go_signal_name(s)),
        _ if st.continued() => "continued".into(),
        _ => String::new(),
    };
    if st.core_dumped() {
        res.push_str(" (core dumped)");
    }
    res
}

/// Go's syscall.Signal.String() on Linux: the signals table of
/// zerrors_linux_amd64.go, "signal N" past it (real-time signals).
/// https://github.com/golang/go/blob/go1.19/src/syscall/zerrors_linux_amd64.go#L1514
pub fn go_signal_name(sig: i32) -> String {
    const SIGNALS: [&str; 32] = [
        "",
        "hangup",
        "interrupt",
        "quit",
        "illegal instruction",
        "trace/breakpoint trap",
        "aborted",
        "bus error",
        "floating point exception",
        "killed",
        "user defined signal 1",
        "segmentation fault",
        "user defined signal 2",
        "broken pipe",
        "alarm clock",
        "terminated",
        "stack fault",
        "child exited",
        "continued",
        "stopped (signal)",
        "stopped",
        "stopped (tty input)",
        "stopped (tty output)",
        "urgent I/O condition",
        "CPU time limit exceeded",
        "file size limit exceeded",
        "virtual timer expired",
        "profiling timer expired",
        "window changed",
        "I/O possible",
        "power failure",
        "bad system call",
    ];
    match usize::try_from(sig).ok().and_then(|i| SIGNALS.get(i)) {
        Some(n) if !n.is_empty() => n.to_string(),
        _ => format!("signal {sig}"),
    }
}

/// Read a pipe to the end on a thread; the result arrives on a channel so a
/// grandchild keeping the pipe open cannot hang us.
fn collect(r: Option<impl Read + Send + 'static>) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    if let Some(mut r) = r {
        thread::spawn(move || {
            let mut b = vec![];
            let _ = r.read_to_end(&mut b);
            let _ = tx.send(String::from_utf8_lossy(&b).into_owned());
        });
    }
    rx
}

fn wait_until(child: &mut Child, deadline: Option<Instant>) -> std::io::Result<Option<ExitStatus>> {
    let mut nap = Duration::from_millis(1);
    loop {
        if let Some(st) = child.try_wait()? {
            return Ok(Some(st));
        }
        if deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(None);
        }
        thread::sleep(nap);
        nap = (nap * 2).min(Duration::from_millis(20));
    }
}

/// Run one hook to completion. Err carries runc's cause text.
pub fn run_one(h: &Hook, state: &[u8], ns: Option<&NsTarget>) -> Result<(), String> {
    let mut cmd = Command::new(&h.path);
    match h.args.split_first() {
        Some((a0, rest)) => {
            cmd.arg0(a0).args(rest);
        }
        None => {
            cmd.arg0(&h.path);
        }
    }
    if let Some(env) = &h.env {
        cmd.env_clear();
        for kv in env {
            let (k, v) = kv.split_once('=').unwrap_or((kv, ""));
            cmd.env(k, v);
        }
    }
    prepare_child(&mut cmd, ns);
    cmd.stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let mut child = cmd
        .spawn()
        .map_err(|e| format!("fork/exec {}: {}", h.path, super::errno::io(&e)))?;

    // The state goes in from a thread: a hook that never reads stdin must
    // not block us (and its EPIPE is not an error, as in runc).
    let stdin = child.stdin.take();
    let data = state.to_vec();
    thread::spawn(move || {
        if let Some(mut w) = stdin {
            let _ = w.write_all(&data);
        }
    });
    let out = collect(child.stdout.take());
    let err = collect(child.stderr.take());

    let deadline = h
        .timeout
        .filter(|&t| t > 0)
        .map(|t| Instant::now() + Duration::from_secs(t.into()));
    let st = wait_until(&mut child, deadline).map_err(|e| e.to_string())?;
    let Some(st) = st else {
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "hook ran past specified timeout of {:.1}s",
            h.timeout.unwrap_or(0) as f64
        ));
    };
    if st.success() {
        return Ok(());
    }
    let grace = Duration::from_millis(200);
    let (o, e) = (
        out.recv_timeout(grace).unwrap_or_default(),
        err.recv_timeout(grace).unwrap_or_default(),
    );
    Err(format!(
        "error running hook: {}, stdout: {o}, stderr: {e}",
        describe(st)
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_words_for_wait_statuses() {
        let st = |raw| describe(ExitStatus::from_raw(raw));
        assert_eq!(st(3 << 8), "exit status 3");
        assert_eq!(st(libc::SIGKILL), "signal: killed");
        assert_eq!(st(libc::SIGTERM), "signal: terminated");
        assert_eq!(st(libc::SIGSYS), "signal: bad system call");
        assert_eq!(
            st(libc::SIGSYS | 0x80),
            "signal: bad system call (core dumped)"
        );
        assert_eq!(st(40), "signal: signal 40");
        assert_eq!(go_signal_name(0), "signal 0");
    }
}
