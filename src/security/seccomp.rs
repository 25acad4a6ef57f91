//! linux.seccomp: validated in the parent into a `SeccompPlan`, compiled and
//! loaded in init through libseccomp, as late as runc loads it.

use bincode::{Decode, Encode};
use libseccomp::{
    ScmpAction, ScmpArch, ScmpArgCompare, ScmpCompareOp, ScmpFilterContext, ScmpSyscall,
};
use oci_spec::runtime::{
    LinuxSeccomp, LinuxSeccompAction, LinuxSeccompFilterFlag, LinuxSeccompOperator,
};
use std::os::fd::OwnedFd;
use std::str::FromStr;

use super::{sys, SecurityError};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Action {
    KillThread,
    KillProcess,
    Trap,
    Errno(u16),
    Trace(u16),
    Log,
    Allow,
    Notify,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Flag {
    Tsync,
    Log,
    SpecAllow,
    WaitKillableRecv,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub enum Op {
    Ne,
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    MaskedEq,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Arg {
    pub index: u32,
    pub value: u64,
    pub value_two: u64,
    pub op: Op,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Rule {
    pub syscall: String,
    pub action: Action,
    pub args: Vec<Arg>,
}

#[derive(Clone, Debug, PartialEq, Eq, Encode, Decode)]
pub struct SeccompPlan {
    pub default_action: Action,
    /// SCMP_ARCH_* names, checked against libseccomp.
    pub architectures: Vec<String>,
    pub flags: Vec<Flag>,
    pub listener_path: Option<String>,
    pub listener_metadata: String,
    pub rules: Vec<Rule>,
}

impl SeccompPlan {
    pub fn uses_notify(&self) -> bool {
        self.rules.iter().any(|r| r.action == Action::Notify)
    }
}

/// runc: SCMP_ACT_ERRNO / SCMP_ACT_TRACE without errnoRet mean EPERM.
fn action(a: LinuxSeccompAction, errno: Option<u32>) -> Result<Action, SecurityError> {
    let ret = |e: Option<u32>| -> Result<u16, SecurityError> {
        let v = e.unwrap_or(libc::EPERM as u32);
        u16::try_from(v)
            .map_err(|_| SecurityError::Seccomp(format!("errnoRet {v} is out of range")))
    };
    Ok(match a {
        LinuxSeccompAction::ScmpActKill | LinuxSeccompAction::ScmpActKillThread => {
            Action::KillThread
        }
        LinuxSeccompAction::ScmpActKillProcess => Action::KillProcess,
        LinuxSeccompAction::ScmpActTrap => Action::Trap,
        LinuxSeccompAction::ScmpActErrno => Action::Errno(ret(errno)?),
        LinuxSeccompAction::ScmpActTrace => Action::Trace(ret(errno)?),
        LinuxSeccompAction::ScmpActLog => Action::Log,
        LinuxSeccompAction::ScmpActAllow => Action::Allow,
        LinuxSeccompAction::ScmpActNotify => Action::Notify,
    })
}

fn op(o: LinuxSeccompOperator) -> Op {
    match o {
        LinuxSeccompOperator::ScmpCmpNe => Op::Ne,
        LinuxSeccompOperator::ScmpCmpLt => Op::Lt,
        LinuxSeccompOperator::ScmpCmpLe => Op::Le,
        LinuxSeccompOperator::ScmpCmpEq => Op::Eq,
        LinuxSeccompOperator::ScmpCmpGe => Op::Ge,
        LinuxSeccompOperator::ScmpCmpGt => Op::Gt,
        LinuxSeccompOperator::ScmpCmpMaskedEq => Op::MaskedEq,
    }
}

/// A name that can be a syscall at all; anything else is a spec mistake.
fn well_formed(name: &str) -> bool {
    !name.is_empty()
        && name.len() < 64
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

/// Validate linux.seccomp. Well-formed names libseccomp does not know are
/// skipped with a warning, as runc does, so newer profiles work with an
/// older libseccomp; malformed names are errors.
pub fn plan(s: &LinuxSeccomp, warnings: &mut Vec<String>) -> Result<SeccompPlan, SecurityError> {
    let default_action = action(s.default_action(), s.default_errno_ret())?;
    if default_action == Action::Notify {
        return Err(SecurityError::Seccomp(
            "SCMP_ACT_NOTIFY cannot be used as default action".into(),
        ));
    }
    let mut architectures = vec![];
    for a in s.architectures().iter().flatten() {
        let name = super::spec_name(a);
        ScmpArch::from_str(&name).map_err(|_| SecurityError::SeccompArch(name.clone()))?;
        architectures.push(name);
    }
    let flags = s
        .flags()
        .iter()
        .flatten()
        .map(|f| match f {
            LinuxSeccompFilterFlag::SeccompFilterFlagTsync => Flag::Tsync,
            LinuxSeccompFilterFlag::SeccompFilterFlagLog => Flag::Log,
            LinuxSeccompFilterFlag::SeccompFilterFlagSpecAllow => Flag::SpecAllow,
            LinuxSeccompFilterFlag::SeccompFilterFlagWaitKillableRecv => Flag::WaitKillableRecv,
        })
        .collect();
    let mut rules = vec![];
    for call in s.syscalls().iter().flatten() {
        let act = action(call.action(), call.errno_ret())?;
        let mut args = vec![];
        for a in call.args().iter().flatten() {
            if a.index() >= 6 {
                return Err(SecurityError::Seccomp(format!(
                    "syscall argument index {} is out of range",
                    a.index()
                )));
            }
            args.push(Arg {
                index: a.index() as u32,
                value: a.value(),
                value_two: a.value_two().unwrap_or(0),
                op: op(a.op()),
            });
        }
        for name in call.names() {
            if !well_formed(name) {
                return Err(SecurityError::SeccompSyscall(name.clone()));
            }
            if act == Action::Notify && name == "write" {
                // init reports the notify fd with write(2) after loading.
                return Err(SecurityError::Seccomp(
                    "SCMP_ACT_NOTIFY cannot be used for the write syscall".into(),
                ));
            }
            if ScmpSyscall::from_name(name).is_err() {
                warnings.push(format!("unknown seccomp syscall {name:?} ignored"));
                continue;
            }
            rules.push(Rule {
                syscall: name.clone(),
                action: act,
                args: args.clone(),
            });
        }
    }
    let plan = SeccompPlan {
        default_action,
        architectures,
        flags,
        listener_path: s.listener_path().as_ref().map(|p| p.display().to_string()),
        listener_metadata: s.listener_metadata().clone().unwrap_or_default(),
        rules,
    };
    if plan.uses_notify() && plan.listener_path.as_deref().unwrap_or("").is_empty() {
        return Err(SecurityError::Seccomp("listenerPath is not set".into()));
    }
    Ok(plan)
}

fn scmp_action(a: Action) -> ScmpAction {
    match a {
        Action::KillThread => ScmpAction::KillThread,
        Action::KillProcess => ScmpAction::KillProcess,
        Action::Trap => ScmpAction::Trap,
        Action::Errno(e) => ScmpAction::Errno(e as i32),
        Action::Trace(e) => ScmpAction::Trace(e),
        Action::Log => ScmpAction::Log,
        Action::Allow => ScmpAction::Allow,
        Action::Notify => ScmpAction::Notify,
    }
}

fn cmp(a: &Arg) -> ScmpArgCompare {
    let o = match a.op {
        Op::Ne => ScmpCompareOp::NotEqual,
        Op::Lt => ScmpCompareOp::Less,
        Op::Le => ScmpCompareOp::LessOrEqual,
        Op::Eq => ScmpCompareOp::Equal,
        Op::Ge => ScmpCompareOp::GreaterEqual,
        Op::Gt => ScmpCompareOp::Greater,
        // libseccomp: (arg & mask) == datum; the spec's value is the mask.
        Op::MaskedEq => {
            return ScmpArgCompare::new(a.index, ScmpCompareOp::MaskedEqual(a.value), a.value_two)
        }
    };
    ScmpArgCompare::new(a.index, o, a.value)
}

fn lib(what: &str) -> impl FnOnce(libseccomp::error::SeccompError) -> SecurityError + '_ {
    move |e| SecurityError::Libseccomp {
        what: what.to_string(),
        source: e,
    }
}

/// Compile the plan into a libseccomp filter (not loaded).
pub fn build(p: &SeccompPlan) -> Result<ScmpFilterContext, SecurityError> {
    let default = scmp_action(p.default_action);
    let mut f = ScmpFilterContext::new(default).map_err(lib("error creating filter"))?;
    for a in &p.architectures {
        let arch = ScmpArch::from_str(a).map_err(|_| SecurityError::SeccompArch(a.clone()))?;
        if !f
            .is_arch_present(arch)
            .map_err(lib("error adding architecture to seccomp filter"))?
        {
            f.add_arch(arch)
                .map_err(lib("error adding architecture to seccomp filter"))?;
        }
    }
    // no_new_privs is the spec's business (noNewPrivileges), not libseccomp's.
    f.set_ctl_nnp(false)
        .map_err(lib("error setting no new privileges"))?;
    for fl in &p.flags {
        match fl {
            Flag::Tsync => f.set_ctl_tsync(true),
            Flag::Log => f.set_ctl_log(true),
            Flag::SpecAllow => f.set_ctl_ssb(true),
            Flag::WaitKillableRecv => f.set_ctl_waitkill(true),
        }
        .map_err(lib(&format!("seccomp flag {fl:?} is not supported here")))?;
    }
    for r in &p.rules {
        let act = scmp_action(r.action);
        if act == default {
            // libseccomp refuses a rule equal to the default; it is a no-op.
            continue;
        }
        let sc = ScmpSyscall::from_name(&r.syscall).map_err(lib("error resolving syscall"))?;
        let what = format!("error adding seccomp rule for syscall {}", r.syscall);
        let conds: Vec<ScmpArgCompare> = r.args.iter().map(cmp).collect();
        let mut per_index = [0u8; 6];
        r.args.iter().for_each(|a| per_index[a.index as usize] += 1);
        if conds.is_empty() {
            f.add_rule(act, sc).map_err(lib(&what))?;
        } else if per_index.iter().any(|&n| n > 1) {
            // libseccomp cannot AND two conditions on one argument; runc
            // falls back to one rule per condition (an OR), and so do we.
            for c in conds {
                f.add_rule_conditional(act, sc, &[c]).map_err(lib(&what))?;
            }
        } else {
            f.add_rule_conditional(act, sc, &conds)
                .map_err(lib(&what))?;
        }
    }
    Ok(f)
}

/// Build and load the filter on the calling thread (all threads with TSYNC).
/// Returns the listener fd when a rule uses SCMP_ACT_NOTIFY: the runtime must
/// hand it to the agent at listenerPath (`notify::send_to_agent`).
///
/// Call it where runc does: right before execve when noNewPrivileges is set,
/// otherwise before the capabilities are dropped (loading without
/// no_new_privs needs CAP_SYS_ADMIN).
pub fn load(p: &SeccompPlan) -> Result<Option<OwnedFd>, SecurityError> {
    let f = build(p)?;
    f.load()
        .map_err(lib("error loading seccomp filter into kernel"))?;
    if !p.uses_notify() {
        return Ok(None);
    }
    let fd = f
        .get_notify_fd()
        .map_err(lib("error getting seccomp notify fd"))?;
    Ok(Some(sys::own_seccomp_notify_fd(fd)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(json: &str) -> LinuxSeccomp {
        serde_json::from_str(json).unwrap()
    }

    #[test]
    fn defaults_and_skips_follow_runc() {
        let mut w = vec![];
        let p = plan(
            &spec(r#"{"defaultAction":"SCMP_ACT_ERRNO","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_X86"],
                "syscalls":[{"names":["mkdir","nosuchsyscall_x"],"action":"SCMP_ACT_TRACE"},
                            {"names":["getpid"],"action":"SCMP_ACT_ERRNO","errnoRet":5}]}"#),
            &mut w,
        )
        .unwrap();
        assert_eq!(p.default_action, Action::Errno(libc::EPERM as u16));
        assert_eq!(p.rules.len(), 2);
        assert_eq!(p.rules[0].action, Action::Trace(libc::EPERM as u16));
        assert_eq!(p.rules[1].action, Action::Errno(5));
        assert_eq!(
            w,
            vec!["unknown seccomp syscall \"nosuchsyscall_x\" ignored".to_string()]
        );
        build(&p).unwrap();
    }

    #[test]
    fn bad_profiles_are_refused() {
        let msg = |j: &str| plan(&spec(j), &mut vec![]).unwrap_err().to_string();
        assert_eq!(
            msg(r#"{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/x"}"#),
            "SCMP_ACT_NOTIFY cannot be used as default action"
        );
        assert_eq!(
            msg(
                r#"{"defaultAction":"SCMP_ACT_ALLOW","listenerPath":"/x","syscalls":[{"names":["write"],"action":"SCMP_ACT_NOTIFY"}]}"#
            ),
            "SCMP_ACT_NOTIFY cannot be used for the write syscall"
        );
        assert_eq!(
            msg(
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]}"#
            ),
            "listenerPath is not set"
        );
        assert_eq!(
            msg(
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mk dir"],"action":"SCMP_ACT_ERRNO"}]}"#
            ),
            "invalid seccomp syscall name \"mk dir\""
        );
        assert_eq!(
            msg(
                r#"{"defaultAction":"SCMP_ACT_ALLOW","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":7,"value":1,"op":"SCMP_CMP_EQ"}]}]}"#
            ),
            "syscall argument index 7 is out of range"
        );
    }

    #[test]
    fn masked_eq_uses_value_as_mask() {
        let a = Arg {
            index: 1,
            value: 0o170000,
            value_two: 0o040000,
            op: Op::MaskedEq,
        };
        let c = cmp(&a);
        assert_eq!(
            c,
            ScmpArgCompare::new(1, ScmpCompareOp::MaskedEqual(0o170000), 0o040000)
        );
    }
}
