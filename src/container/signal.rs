//! `kill`'s signal argument and the foreground wait loop of `run`/`exec`.

use nix::sys::signal::{SigSet, SigmaskHow, Signal};
use nix::sys::wait::{waitpid, WaitPidFlag, WaitStatus};
use nix::unistd::Pid;

/// runc's parseSignal: a decimal number (passed through), or a name with or
/// without `SIG`, any case. Real-time names are refused.
pub fn parse(s: &str) -> Result<i32, String> {
    if let Ok(n) = s.parse::<i32>() {
        return Ok(n);
    }
    let up = s.to_ascii_uppercase();
    let name = if up.starts_with("SIG") {
        up
    } else {
        format!("SIG{up}")
    };
    Signal::iterator()
        .find(|sig| sig.as_str() == name)
        .map(|sig| sig as i32)
        .ok_or_else(|| format!("unknown signal {s:?}"))
}

/// Signals a foreground `run`/`exec` forwards to its process (runc forwards
/// what it receives; SIGCHLD is how we learn the process ended).
const FORWARDED: [Signal; 9] = [
    Signal::SIGHUP,
    Signal::SIGINT,
    Signal::SIGQUIT,
    Signal::SIGTERM,
    Signal::SIGUSR1,
    Signal::SIGUSR2,
    Signal::SIGWINCH,
    Signal::SIGCONT,
    Signal::SIGALRM,
];

/// Block the forwarded signals and SIGCHLD; call before the process can end.
pub fn block() -> SigSet {
    let mut set = SigSet::empty();
    for s in FORWARDED {
        set.add(s);
    }
    set.add(Signal::SIGCHLD);
    let _ = nix::sys::signal::sigprocmask(SigmaskHow::SIG_BLOCK, Some(&set), None);
    set
}

/// Exit code of a wait status: the code, or 128+signal (runc's rule).
pub fn exit_code(st: WaitStatus) -> Option<i32> {
    match st {
        WaitStatus::Exited(_, c) => Some(c),
        WaitStatus::Signaled(_, s, _) => Some(128 + s as i32),
        _ => None,
    }
}

/// Wait for our child `pid`, forwarding signals to it. `set` from [`block`].
pub fn forward_until_exit(pid: i32, set: &SigSet) -> i32 {
    let p = Pid::from_raw(pid);
    loop {
        match waitpid(p, Some(WaitPidFlag::WNOHANG)) {
            Ok(WaitStatus::StillAlive) => {}
            Ok(st) => {
                if let Some(c) = exit_code(st) {
                    return c;
                }
            }
            Err(_) => return 255,
        }
        match set.wait() {
            Ok(Signal::SIGCHLD) => {}
            Ok(sig) => {
                let _ = nix::sys::signal::kill(p, sig);
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_like_runc() {
        assert_eq!(parse("9"), Ok(9));
        assert_eq!(parse("0"), Ok(0));
        assert_eq!(parse("KILL"), Ok(9));
        assert_eq!(parse("sigusr1"), Ok(libc::SIGUSR1));
        assert_eq!(parse("SIGHUP"), Ok(1));
        assert_eq!(
            parse("SIGRTMIN+1"),
            Err("unknown signal \"SIGRTMIN+1\"".into())
        );
        assert_eq!(parse("FOO"), Err("unknown signal \"FOO\"".into()));
    }
}
