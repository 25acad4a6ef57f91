//! The cgroup v2 device controller: a BPF_PROG_TYPE_CGROUP_DEVICE program,
//! hand-assembled (no libbpf), loaded and attached with BPF_F_ALLOW_MULTI.
//!
//! The program sees struct bpf_cgroup_dev_ctx { u32 access_type (type in
//! the low 16 bits, access in the high 16), u32 major, u32 minor } in R1 and
//! returns 1 (allow) or 0 (deny). Rules are tested last to first, so the
//! last matching rule wins, as in the v1 controller, and no match allows
//! (a fresh v1 cgroup allows everything). A deny rule matches a request that
//! shares any access bit with it; an allow rule only one it covers entirely
//! (so "allow rw" + "deny w" refuses an O_RDWR open, as v1 does).

use std::os::fd::{AsRawFd, BorrowedFd, FromRawFd, OwnedFd};

use super::devices::{DevType, Rule, ACC_ALL};
use super::{Error, Result};

/// One eBPF instruction (struct bpf_insn).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Insn {
    pub code: u8,
    pub dst: u8,
    pub src: u8,
    pub off: i16,
    pub imm: i32,
}

// Opcodes (class | op | source).
const LDX_MEM_W: u8 = 0x61; // BPF_LDX | BPF_MEM | BPF_W
const ALU32_AND_K: u8 = 0x54;
const ALU32_RSH_K: u8 = 0x74;
const ALU32_MOV_K: u8 = 0xb4;
const ALU32_MOV_X: u8 = 0xbc;
const JMP_JNE_K: u8 = 0x55;
const JMP_JNE_X: u8 = 0x5d;
const JMP_JEQ_K: u8 = 0x15;
const JMP_EXIT: u8 = 0x95;

const DEVCG_DEV_BLOCK: i32 = 1;
const DEVCG_DEV_CHAR: i32 = 2;

fn ins(code: u8, dst: u8, src: u8, off: i16, imm: i32) -> Insn {
    Insn {
        code,
        dst,
        src,
        off,
        imm,
    }
}

/// Assemble the filter for `rules` (in spec order).
pub fn program(rules: &[Rule]) -> Vec<Insn> {
    let mut p = vec![
        ins(LDX_MEM_W, 2, 1, 0, 0),        // r2 = ctx->access_type
        ins(ALU32_AND_K, 2, 0, 0, 0xffff), // r2 &= 0xffff  (device type)
        ins(LDX_MEM_W, 3, 1, 0, 0),        // r3 = ctx->access_type
        ins(ALU32_RSH_K, 3, 0, 0, 16),     // r3 >>= 16     (access)
        ins(LDX_MEM_W, 4, 1, 4, 0),        // r4 = ctx->major
        ins(LDX_MEM_W, 5, 1, 8, 0),        // r5 = ctx->minor
    ];
    for r in rules.iter().rev() {
        // Conditions jump to the next block; their offsets are patched once
        // the block's length is known.
        let mut block: Vec<Insn> = Vec::new();
        match r.typ {
            DevType::All => {}
            DevType::Block => block.push(ins(JMP_JNE_K, 2, 0, 0, DEVCG_DEV_BLOCK)),
            DevType::Char => block.push(ins(JMP_JNE_K, 2, 0, 0, DEVCG_DEV_CHAR)),
        }
        if r.typ != DevType::All {
            if r.access != ACC_ALL {
                block.push(ins(ALU32_MOV_X, 1, 3, 0, 0)); // r1 = access
                block.push(ins(ALU32_AND_K, 1, 0, 0, r.access as i32));
                if r.allow {
                    block.push(ins(JMP_JNE_X, 1, 3, 0, 0)); // not covered -> next
                } else {
                    block.push(ins(JMP_JEQ_K, 1, 0, 0, 0)); // disjoint -> next
                }
            }
            if let Some(m) = r.major {
                block.push(ins(JMP_JNE_K, 4, 0, 0, m as i32));
            }
            if let Some(m) = r.minor {
                block.push(ins(JMP_JNE_K, 5, 0, 0, m as i32));
            }
        }
        let catch_all = block.is_empty();
        block.push(ins(ALU32_MOV_K, 0, 0, 0, i32::from(r.allow)));
        block.push(ins(JMP_EXIT, 0, 0, 0, 0));
        let len = block.len();
        for (i, insn) in block.iter_mut().enumerate() {
            if matches!(insn.code, JMP_JNE_K | JMP_JNE_X | JMP_JEQ_K) {
                insn.off = (len - i - 1) as i16;
            }
        }
        p.extend(block);
        if catch_all {
            // Everything below would be unreachable, which the verifier refuses.
            return p;
        }
    }
    p.push(ins(ALU32_MOV_K, 0, 0, 0, 1));
    p.push(ins(JMP_EXIT, 0, 0, 0, 0));
    p
}

/// struct bpf_insn as the kernel lays it out (little-endian host).
pub fn encode(p: &[Insn]) -> Vec<u64> {
    p.iter()
        .map(|i| {
            u64::from(i.code)
                | u64::from((i.dst & 0xf) | (i.src << 4)) << 8
                | u64::from(i.off as u16) << 16
                | u64::from(i.imm as u32) << 32
        })
        .collect()
}

/// A tiny interpreter for the subset `program` emits, so the rule logic is
/// unit-testable without the kernel. Returns the program's verdict.
pub fn run(p: &[Insn], typ: u32, access: u32, major: u32, minor: u32) -> u32 {
    let ctx = [typ | (access << 16), major, minor];
    let mut r = [0u64; 11];
    let mut pc = 0usize;
    loop {
        let i = p[pc];
        let (d, s) = (i.dst as usize, i.src as usize);
        let mut jump = false;
        match i.code {
            LDX_MEM_W => r[d] = u64::from(ctx[(i.off / 4) as usize]),
            ALU32_AND_K => r[d] = (r[d] as u32 & i.imm as u32) as u64,
            ALU32_RSH_K => r[d] = ((r[d] as u32) >> i.imm) as u64,
            ALU32_MOV_K => r[d] = u64::from(i.imm as u32),
            ALU32_MOV_X => r[d] = r[s] as u32 as u64,
            JMP_JNE_K => jump = r[d] != i.imm as i64 as u64,
            JMP_JEQ_K => jump = r[d] == i.imm as i64 as u64,
            JMP_JNE_X => jump = r[d] != r[s],
            JMP_EXIT => return r[0] as u32,
            c => panic!("opcode {c:#x} not emitted by program()"),
        }
        pc += 1;
        if jump {
            pc += i.off as usize;
        }
    }
}

// bpf(2) commands and constants from <linux/bpf.h>.
const BPF_PROG_LOAD: libc::c_int = 5;
const BPF_PROG_ATTACH: libc::c_int = 8;
const BPF_PROG_DETACH: libc::c_int = 9;
const BPF_PROG_GET_FD_BY_ID: libc::c_int = 13;
const BPF_PROG_QUERY: libc::c_int = 16;
const BPF_PROG_TYPE_CGROUP_DEVICE: u32 = 15;
const BPF_CGROUP_DEVICE: u32 = 6;
const BPF_F_ALLOW_MULTI: u32 = 2;

/// union bpf_attr, large enough for every command used here.
#[repr(C, align(8))]
struct Attr([u8; 128]);

impl Attr {
    fn new() -> Self {
        Attr([0; 128])
    }
    fn u32(&mut self, off: usize, v: u32) -> &mut Self {
        self.0[off..off + 4].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn u64(&mut self, off: usize, v: u64) -> &mut Self {
        self.0[off..off + 8].copy_from_slice(&v.to_ne_bytes());
        self
    }
    fn get_u32(&self, off: usize) -> u32 {
        u32::from_ne_bytes(self.0[off..off + 4].try_into().expect("4 bytes"))
    }
}

fn bpf(cmd: libc::c_int, attr: &mut Attr) -> std::io::Result<libc::c_long> {
    // SAFETY: attr is a zero-padded bpf_attr of the size passed; pointers in
    // it refer to buffers the caller keeps alive across the call.
    let r = unsafe {
        libc::syscall(
            libc::SYS_bpf,
            cmd,
            attr as *mut Attr,
            std::mem::size_of::<Attr>(),
        )
    };
    if r < 0 {
        Err(std::io::Error::last_os_error())
    } else {
        Ok(r)
    }
}

fn fd_from(r: libc::c_long) -> OwnedFd {
    // SAFETY: the kernel just returned this new fd (bpf fds are O_CLOEXEC).
    unsafe { OwnedFd::from_raw_fd(r as i32) }
}

/// Load `p`; on a verifier error the message carries the verifier log.
pub fn load(p: &[Insn]) -> Result<OwnedFd> {
    let insns = encode(p);
    let license = b"Apache\0";
    let mut log = vec![0u8; 64 * 1024];
    let mut a = Attr::new();
    a.u32(0, BPF_PROG_TYPE_CGROUP_DEVICE)
        .u32(4, insns.len() as u32)
        .u64(8, insns.as_ptr() as u64)
        .u64(16, license.as_ptr() as u64);
    match bpf(BPF_PROG_LOAD, &mut a) {
        Ok(fd) => Ok(fd_from(fd)),
        Err(e) => {
            // Retry with the log on, only to explain the failure.
            a.u32(24, 1)
                .u32(28, log.len() as u32)
                .u64(32, log.as_mut_ptr() as u64);
            let _ = bpf(BPF_PROG_LOAD, &mut a);
            let msg =
                String::from_utf8_lossy(&log[..log.iter().position(|&b| b == 0).unwrap_or(0)])
                    .into_owned();
            Err(Error::Bpf(format!("load program: {e}: {}", msg.trim())))
        }
    }
}

/// Ids of the device programs attached to the cgroup `dir`.
pub fn attached(dir: BorrowedFd<'_>) -> Result<Vec<u32>> {
    let mut ids = [0u32; 64];
    let mut a = Attr::new();
    a.u32(0, dir.as_raw_fd() as u32)
        .u32(4, BPF_CGROUP_DEVICE)
        .u64(16, ids.as_mut_ptr() as u64)
        .u32(24, ids.len() as u32);
    bpf(BPF_PROG_QUERY, &mut a).map_err(|e| Error::Bpf(format!("query programs: {e}")))?;
    let n = (a.get_u32(24) as usize).min(ids.len());
    Ok(ids[..n].to_vec())
}

/// Attach the filter for `rules` to the cgroup `dir`, then detach the device
/// programs that were there before (runc replaces its own filter the same
/// way, so that there is never a moment without one).
pub fn apply(dir: BorrowedFd<'_>, rules: &[Rule]) -> Result<()> {
    let old = attached(dir)?;
    let prog = load(&program(rules))?;
    let mut a = Attr::new();
    a.u32(0, dir.as_raw_fd() as u32)
        .u32(4, prog.as_raw_fd() as u32)
        .u32(8, BPF_CGROUP_DEVICE)
        .u32(12, BPF_F_ALLOW_MULTI);
    bpf(BPF_PROG_ATTACH, &mut a).map_err(|e| Error::Bpf(format!("attach program: {e}")))?;
    for id in old {
        let mut g = Attr::new();
        g.u32(0, id);
        let Ok(fd) = bpf(BPF_PROG_GET_FD_BY_ID, &mut g).map(fd_from) else {
            continue;
        };
        let mut d = Attr::new();
        d.u32(0, dir.as_raw_fd() as u32)
            .u32(4, fd.as_raw_fd() as u32)
            .u32(8, BPF_CGROUP_DEVICE);
        bpf(BPF_PROG_DETACH, &mut d)
            .map_err(|e| Error::Bpf(format!("detach old program {id}: {e}")))?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cgroups::config::DeviceRule;
    use crate::cgroups::devices::{normalize, ACC_MKNOD, ACC_READ, ACC_WRITE};

    const C: u32 = 2;
    const B: u32 = 1;

    fn rules(v: serde_json::Value) -> Vec<Rule> {
        let d: Vec<DeviceRule> = serde_json::from_value(v).unwrap();
        normalize(&d).unwrap()
    }

    #[test]
    fn runc_default_allowlist() {
        let p = program(&rules(serde_json::json!([
            {"allow": false, "access": "rwm"},
            {"allow": true, "type": "c", "major": 1, "minor": 3, "access": "rwm"},
            {"allow": true, "type": "c", "major": 136, "access": "rwm"},
            {"allow": true, "type": "c", "major": 5, "minor": 1, "access": "rw"},
        ])));
        assert_eq!(run(&p, C, ACC_READ | ACC_WRITE, 1, 3), 1);
        assert_eq!(run(&p, C, ACC_MKNOD, 1, 3), 1);
        assert_eq!(run(&p, C, ACC_READ, 136, 7), 1);
        assert_eq!(run(&p, B, ACC_READ, 1, 3), 0);
        assert_eq!(run(&p, C, ACC_READ, 1, 5), 0);
        assert_eq!(run(&p, C, ACC_MKNOD, 5, 1), 0);
        assert_eq!(run(&p, C, ACC_READ | ACC_WRITE, 5, 1), 1);
        // The catch-all ends the program: nothing unreachable follows it.
        assert_eq!(p.last().unwrap().code, JMP_EXIT);
        assert_eq!(p[p.len() - 2], ins(ALU32_MOV_K, 0, 0, 0, 0));
    }

    #[test]
    fn last_rule_wins_and_partial_deny() {
        let p = program(&rules(serde_json::json!([
            {"allow": true, "type": "c", "major": 1, "minor": 5, "access": "rw"},
            {"allow": false, "type": "c", "major": 1, "minor": 5, "access": "w"},
        ])));
        assert_eq!(run(&p, C, ACC_READ, 1, 5), 1);
        assert_eq!(run(&p, C, ACC_WRITE, 1, 5), 0);
        assert_eq!(run(&p, C, ACC_READ | ACC_WRITE, 1, 5), 0);
        // No rule matches: allowed, like a fresh v1 cgroup.
        assert_eq!(run(&p, B, ACC_READ, 8, 0), 1);
        assert!(program(&[]).len() == 8);
    }

    #[test]
    fn encoding_layout() {
        let e = encode(&[ins(LDX_MEM_W, 2, 1, 4, 0), ins(ALU32_MOV_K, 0, 0, 0, -1)]);
        assert_eq!(e[0], 0x61 | (0x12 << 8) | (4 << 16));
        assert_eq!(e[1], 0xb4 | (0xffff_ffffu64 << 32));
    }
}
