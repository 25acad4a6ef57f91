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
    /// runc's -ENOSYS stub (patchbpf), prepended to libseccomp's program at
    /// load; empty when the default action allows (Allow, Log, Trace).
    pub enosys_stub: Vec<Insn>,
}

/// One classic-BPF instruction, the kernel's `struct sock_filter`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Encode, Decode)]
pub struct Insn {
    pub code: u16,
    pub jt: u8,
    pub jf: u8,
    pub k: u32,
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
        enosys_stub: vec![],
    };
    // runc's generatePatch: no stub when the default action is permissive
    // (a tracer is expected to handle -ENOSYS itself). Its other skip, a
    // defaultErrnoRet equal to SCMP_ACT_ERRNO(ENOSYS) (0x50026, not 38),
    // never matches a real errno, so it is not copied.
    let mut plan = plan;
    if !matches!(
        plan.default_action,
        Action::Allow | Action::Log | Action::Trace(_)
    ) {
        let names: Vec<&str> = s
            .syscalls()
            .iter()
            .flatten()
            .flat_map(|c| c.names().iter().map(String::as_str))
            .collect();
        let last = last_syscalls(&plan.architectures, &names, warnings)?;
        plan.enosys_stub = assemble(&enosys_stub(&last)?);
    }
    if plan.uses_notify() && plan.listener_path.as_deref().unwrap_or("").is_empty() {
        return Err(SecurityError::Seccomp("listenerPath is not set".into()));
    }
    Ok(plan)
}

// runc 1.1.5's -ENOSYS stub (libcontainer/seccomp/patchbpf/enosys_linux.go,
// https://github.com/opencontainers/runc/blob/v1.1.5/libcontainer/seccomp/patchbpf/enosys_linux.go):
// a syscall newer than every syscall the profile names gets -ENOSYS instead
// of the default action, so glibc and friends fall back to older syscalls
// (clone3 -> clone, faccessat2 -> faccessat) instead of failing with EPERM.
// Translated instruction by instruction so the program is runc's.

const AUDIT_ARCH_I386: u32 = 0x4000_0003;
const AUDIT_ARCH_X86_64: u32 = 0xc000_003e;
/// SCMP_ACT_ERRNO(ENOSYS).
const RET_ERRNO_ENOSYS: u32 = 0x0005_0000 | libc::ENOSYS as u32;
/// The x32 ABI marks its syscall numbers with bit 30.
const X32_SYSCALL_BIT: u32 = 1 << 30;

/// golang.org/x/net/bpf's instructions, as far as the stub uses them.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Bpf {
    /// ld [off]
    Load(u32),
    /// ja +skip
    Jump(u32),
    /// ret #val
    Ret(u32),
    /// j<cond> #val, skip_true, skip_false
    JumpIf(Cond, u32, u8, u8),
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cond {
    Eq,
    Ne,
    Gt,
    Le,
    Set,
    NotSet,
}

/// The audit arch the kernel shows in seccomp_data.arch (runc's
/// archToNative; x32 shares x86_64's), and libseccomp-golang's name for the
/// error of an arch runc 1.1.5 cannot map.
fn audit_arch(a: ScmpArch) -> Result<u32, String> {
    Ok(match a {
        ScmpArch::Native => return audit_arch(ScmpArch::native()),
        ScmpArch::X86 => AUDIT_ARCH_I386,
        ScmpArch::X8664 | ScmpArch::X32 => AUDIT_ARCH_X86_64,
        ScmpArch::Arm => 0x4000_0028,
        ScmpArch::Aarch64 => 0xc000_00b7,
        ScmpArch::Mips => 0x0000_0008,
        ScmpArch::Mips64 => 0x8000_0008,
        ScmpArch::Mips64N32 => 0xa000_0008,
        ScmpArch::Mipsel => 0x4000_0008,
        ScmpArch::Mipsel64 => 0xc000_0008,
        ScmpArch::Mipsel64N32 => 0xe000_0008,
        ScmpArch::Ppc => 0x0000_0014,
        ScmpArch::Ppc64 => 0x8000_0015,
        ScmpArch::Ppc64Le => 0xc000_0015,
        ScmpArch::S390 => 0x0000_0016,
        ScmpArch::S390X => 0x8000_0016,
        other => {
            let go = match other {
                ScmpArch::Parisc => "parisc".to_string(),
                ScmpArch::Parisc64 => "parisc64".to_string(),
                ScmpArch::Riscv64 => "riscv64".to_string(),
                o => format!("{o:?}").to_lowercase(),
            };
            return Err(format!("unknown architecture: {go}"));
        }
    })
}

/// Per audit arch, the largest syscall number the profile names for each
/// of its libseccomp arches (two only for x86_64 + x32), in the order the
/// arches first appear (runc's findLastSyscalls; its map order is random and
/// does not change what the program does).
type LastSyscalls = Vec<(u32, Vec<(ScmpArch, u32)>)>;

fn last_syscalls(
    arches: &[String],
    names: &[&str],
    warnings: &mut Vec<String>,
) -> Result<LastSyscalls, SecurityError> {
    let err = |e: String| {
        SecurityError::Seccomp(format!(
            "error loading seccomp filter into kernel: error patching filter: error generating patch for filter: error finding last syscalls for -ENOSYS stub: {e}"
        ))
    };
    let mut out: LastSyscalls = vec![];
    for name in arches {
        let mut arch =
            ScmpArch::from_str(name).map_err(|_| SecurityError::SeccompArch(name.clone()))?;
        if arch == ScmpArch::Native {
            arch = ScmpArch::native();
        }
        let native = audit_arch(arch).map_err(|e| {
            err(format!(
                "cannot map architecture {} to AUDIT_ARCH_ constant: {e}",
                e.trim_start_matches("unknown architecture: ")
            ))
        })?;
        let i = match out.iter().position(|(n, _)| *n == native) {
            Some(i) => i,
            None => {
                out.push((native, vec![]));
                out.len() - 1
            }
        };
        if out[i].1.iter().any(|(a, _)| *a == arch) {
            continue;
        }
        // Names unknown for this arch are ignored; so are libseccomp's
        // negative pseudo numbers (runc compares with > 0).
        let largest = names
            .iter()
            .filter_map(|n| ScmpSyscall::from_name_by_arch(n, arch).ok())
            .map(i32::from)
            .filter(|&n| n > 0)
            .max();
        match largest {
            Some(n) => out[i].1.push((arch, n as u32)),
            None => warnings.push(format!("could not find any syscalls for arch {name}")),
        }
    }
    Ok(out)
}

/// runc's generateEnosysStub, built back to front so jumps are measured from
/// the end of the stub, which falls through into libseccomp's program.
fn enosys_stub(last: &LastSyscalls) -> Result<Vec<Bpf>, SecurityError> {
    use Bpf::*;
    let err = |e: String| {
        SecurityError::Seccomp(format!(
            "error loading seccomp filter into kernel: error patching filter: error generating patch for filter: error generating -ENOSYS stub: {e}"
        ))
    };
    let prepend = |tail: &mut Vec<Bpf>, head: Vec<Bpf>| {
        tail.splice(0..0, head);
    };
    // Fall-through jumps into the filter; jumps to the last insn get -ENOSYS.
    let mut tail = vec![Jump(1), Ret(RET_ERRNO_ENOSYS)];
    let mut table: Vec<(u32, u32)> = vec![];
    for (native, max) in last {
        let base_enosys = tail.len() as u32 - 1;
        let base_filter = base_enosys + 1;
        let mut section = vec![Load(0)];
        match max.as_slice() {
            [] => continue,
            [(arch, sysno)] => {
                if matches!(arch, ScmpArch::S390 | ScmpArch::S390X) {
                    // setup(2), sysno 0, multiplexes unknown large numbers.
                    section.extend([JumpIf(Cond::Ne, 0, 1, 0), Ret(RET_ERRNO_ENOSYS)]);
                }
                let mut st = if base_enosys < 255 {
                    vec![
                        JumpIf(Cond::Gt, *sysno, (base_enosys + 1) as u8, 0),
                        Jump(base_filter),
                    ]
                } else {
                    vec![
                        JumpIf(Cond::Le, *sysno, 1, 0),
                        Jump(base_enosys + 1),
                        Jump(base_filter),
                    ]
                };
                if *native == AUDIT_ARCH_X86_64 {
                    let skip = (st.len() - 1) as u8;
                    let mode = match arch {
                        ScmpArch::X8664 => JumpIf(Cond::Set, X32_SYSCALL_BIT, skip, 0),
                        ScmpArch::X32 => JumpIf(Cond::NotSet, X32_SYSCALL_BIT, skip, 0),
                        a => return Err(err(format!("unknown amd64 native architecture {a:?}"))),
                    };
                    st.insert(0, mode);
                }
                section.extend(st);
            }
            [_, _] => {
                let find = |a: ScmpArch| max.iter().find(|(x, _)| *x == a).map(|(_, n)| *n);
                if *native != AUDIT_ARCH_X86_64 {
                    return Err(err(format!(
                        "unknown architecture overlap on native arch {native:#x}"
                    )));
                }
                let (Some(x32), Some(x86)) = (find(ScmpArch::X32), find(ScmpArch::X8664)) else {
                    return Err(err("missing x32 or amd64 in overlapping x86_64 arch".into()));
                };
                if base_enosys + 2 <= 255 {
                    section.extend([
                        JumpIf(Cond::Set, X32_SYSCALL_BIT, 1, 0),
                        JumpIf(Cond::Gt, x86, (base_enosys + 2) as u8, 1),
                        JumpIf(Cond::Gt, x32, (base_enosys + 1) as u8, 0),
                        Jump(base_filter),
                    ]);
                } else {
                    section.extend([
                        JumpIf(Cond::Set, X32_SYSCALL_BIT, 1, 0),
                        JumpIf(Cond::Gt, x86, 1, 2),
                        JumpIf(Cond::Le, x32, 1, 0),
                        Jump(base_enosys + 1),
                        Jump(base_filter),
                    ]);
                }
            }
            more => {
                return Err(err(format!(
                    "invalid number of architecture overlaps: {}",
                    more.len()
                )))
            }
        }
        prepend(&mut tail, section);
        table.push((*native, tail.len() as u32));
    }
    // Any other arch goes straight to the filter (and its bad-arch action).
    let len = tail.len() as u32;
    prepend(&mut tail, vec![Jump(len)]);
    for (native, _) in last {
        // An arch without any known syscall has no section: runc's jump
        // table answers 0 for it, a jump to the filter.
        let at = table
            .iter()
            .find(|(n, _)| n == native)
            .map_or(0, |(_, a)| *a);
        let jump = tail.len() as u32 - at;
        if jump <= 255 {
            prepend(&mut tail, vec![JumpIf(Cond::Eq, *native, jump as u8, 0)]);
        } else {
            prepend(&mut tail, vec![JumpIf(Cond::Ne, *native, 1, 0), Jump(jump)]);
        }
    }
    prepend(&mut tail, vec![Load(4)]);
    Ok(tail)
}

/// x/net/bpf's Assemble for these instructions (a negated condition is the
/// positive jump with its targets swapped).
fn assemble(prog: &[Bpf]) -> Vec<Insn> {
    const LD_W_ABS: u16 = (libc::BPF_LD | libc::BPF_W | libc::BPF_ABS) as u16;
    const JA: u16 = (libc::BPF_JMP | libc::BPF_JA) as u16;
    const RET_K: u16 = (libc::BPF_RET | libc::BPF_K) as u16;
    const JEQ: u16 = (libc::BPF_JMP | libc::BPF_JEQ | libc::BPF_K) as u16;
    const JGT: u16 = (libc::BPF_JMP | libc::BPF_JGT | libc::BPF_K) as u16;
    const JSET: u16 = (libc::BPF_JMP | libc::BPF_JSET | libc::BPF_K) as u16;
    let insn = |code, jt, jf, k| Insn { code, jt, jf, k };
    prog.iter()
        .map(|b| match *b {
            Bpf::Load(off) => insn(LD_W_ABS, 0, 0, off),
            Bpf::Jump(skip) => insn(JA, 0, 0, skip),
            Bpf::Ret(v) => insn(RET_K, 0, 0, v),
            Bpf::JumpIf(c, v, t, f) => match c {
                Cond::Eq => insn(JEQ, t, f, v),
                Cond::Ne => insn(JEQ, f, t, v),
                Cond::Gt => insn(JGT, t, f, v),
                Cond::Le => insn(JGT, f, t, v),
                Cond::Set => insn(JSET, t, f, v),
                Cond::NotSet => insn(JSET, f, t, v),
            },
        })
        .collect()
}

/// libseccomp's program for the filter (seccomp_export_bpf, host endian).
fn export(f: &ScmpFilterContext) -> Result<Vec<Insn>, SecurityError> {
    let mem = sys::memfd(c"seccomp-bpf")
        .map_err(|e| SecurityError::sys("error creating scratch memfd", e))?;
    f.export_bpf(&mem).map_err(lib("error exporting BPF"))?;
    let mut file = std::fs::File::from(mem);
    let mut raw = vec![];
    use std::io::{Read, Seek};
    file.seek(std::io::SeekFrom::Start(0))
        .and_then(|_| file.read_to_end(&mut raw))
        .map_err(|e| SecurityError::Seccomp(format!("error reading exported BPF: {e}")))?;
    if raw.len() % 8 != 0 {
        return Err(SecurityError::Seccomp(
            "parsing generated BPF filter: program parsing halted mid-instruction".into(),
        ));
    }
    Ok(raw
        .chunks_exact(8)
        .map(|c| Insn {
            code: u16::from_ne_bytes([c[0], c[1]]),
            jt: c[2],
            jf: c[3],
            k: u32::from_ne_bytes([c[4], c[5], c[6], c[7]]),
        })
        .collect())
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
    // runc's PatchAndLoad: its stub, then libseccomp's program, loaded with
    // seccomp(2) itself (libseccomp cannot load a patched program).
    let mut prog = p.enosys_stub.clone();
    prog.extend(export(&f)?);
    let mut flags = 0;
    for fl in &p.flags {
        flags |= match fl {
            Flag::Tsync => SECCOMP_FILTER_FLAG_TSYNC,
            Flag::Log => SECCOMP_FILTER_FLAG_LOG,
            Flag::SpecAllow => SECCOMP_FILTER_FLAG_SPEC_ALLOW,
            Flag::WaitKillableRecv => SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV,
        };
    }
    if p.uses_notify() {
        flags |= SECCOMP_FILTER_FLAG_NEW_LISTENER;
        if flags & SECCOMP_FILTER_FLAG_TSYNC != 0 {
            // The kernel refuses TSYNC with a listener unless a failed sync
            // answers ESRCH (what libseccomp's own load asks for).
            flags |= SECCOMP_FILTER_FLAG_TSYNC_ESRCH;
        }
    }
    let prog: Vec<libc::sock_filter> = prog
        .iter()
        .map(|i| libc::sock_filter {
            code: i.code,
            jt: i.jt,
            jf: i.jf,
            k: i.k,
        })
        .collect();
    let fd = sys::seccomp_set_filter(flags, &prog).map_err(|e| {
        SecurityError::Seccomp(format!(
            "error loading seccomp filter into kernel: error loading seccomp filter: {}",
            e.desc().to_lowercase()
        ))
    })?;
    if !p.uses_notify() {
        return Ok(None);
    }
    Ok(fd)
}

const SECCOMP_FILTER_FLAG_TSYNC: u32 = 1;
const SECCOMP_FILTER_FLAG_LOG: u32 = 1 << 1;
const SECCOMP_FILTER_FLAG_SPEC_ALLOW: u32 = 1 << 2;
const SECCOMP_FILTER_FLAG_NEW_LISTENER: u32 = 1 << 3;
const SECCOMP_FILTER_FLAG_TSYNC_ESRCH: u32 = 1 << 4;
const SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV: u32 = 1 << 5;

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
    fn enosys_stub_is_runcs_program() {
        use Bpf::*;
        // x86_64 + x32, as runc's generateEnosysStub lays it out.
        let last = vec![(
            AUDIT_ARCH_X86_64,
            vec![
                (ScmpArch::X8664, 100),
                (ScmpArch::X32, X32_SYSCALL_BIT | 200),
            ],
        )];
        assert_eq!(
            enosys_stub(&last).unwrap(),
            vec![
                Load(4),
                JumpIf(Cond::Eq, AUDIT_ARCH_X86_64, 1, 0),
                Jump(7),
                Load(0),
                JumpIf(Cond::Set, X32_SYSCALL_BIT, 1, 0),
                JumpIf(Cond::Gt, 100, 3, 1),
                JumpIf(Cond::Gt, X32_SYSCALL_BIT | 200, 2, 0),
                Jump(2),
                Jump(1),
                Ret(RET_ERRNO_ENOSYS),
            ]
        );
        // A permissive default gets no stub; a denying one does.
        let p = |d: &str| {
            plan(
                &spec(&format!(
                    r#"{{"defaultAction":"{d}","architectures":["SCMP_ARCH_X86_64"],"syscalls":[{{"names":["read"],"action":"SCMP_ACT_ALLOW"}}]}}"#
                )),
                &mut vec![],
            )
            .unwrap()
        };
        assert!(p("SCMP_ACT_LOG").enosys_stub.is_empty());
        assert!(!p("SCMP_ACT_ERRNO").enosys_stub.is_empty());
        // Negated conditions are the positive jump with swapped targets.
        assert_eq!(
            assemble(&[JumpIf(Cond::Le, 7, 1, 0)]),
            vec![Insn {
                code: 0x25,
                jt: 0,
                jf: 1,
                k: 7
            }]
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
