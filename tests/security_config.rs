//! Table-driven bad configs for SecurityPlan::from_json / from_spec: each
//! mistake gets its exact message, and checking leaves nothing behind.

mod common;
#[path = "../src/security/mod.rs"]
mod security;

use security::SecurityPlan;

/// A minimal valid config with `process` and `linux` members merged in.
fn config(process: &str, linux: &str) -> String {
    let sep = |s: &str| {
        if s.is_empty() {
            String::new()
        } else {
            format!(",{s}")
        }
    };
    format!(
        r#"{{"ociVersion":"1.0.2","root":{{"path":"rootfs"}},
        "process":{{"cwd":"/","args":["sh"],"user":{{"uid":0,"gid":0}}{}}},
        "linux":{{{}}}}}"#,
        sep(process),
        linux
    )
}

fn seccomp(body: &str) -> String {
    format!(r#""seccomp":{{"defaultAction":"SCMP_ACT_ALLOW"{body}}}"#)
}

fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

#[test]
fn bad_configs_get_exact_messages() {
    let cases: Vec<(&str, String, &str)> = vec![
        (
            "unknown capability",
            config(
                r#""capabilities":{"bounding":["CAP_CHOWN","CAP_BOGUS"]}"#,
                "",
            ),
            r#"unknown capability "CAP_BOGUS""#,
        ),
        (
            "unknown ambient capability",
            config(r#""capabilities":{"ambient":["NOT_A_CAP"]}"#, ""),
            r#"unknown capability "NOT_A_CAP""#,
        ),
        (
            "invalid seccomp syscall",
            config(
                "",
                &seccomp(r#","syscalls":[{"names":["mkdir","mk/dir"],"action":"SCMP_ACT_ERRNO"}]"#),
            ),
            r#"invalid seccomp syscall name "mk/dir""#,
        ),
        (
            "empty seccomp syscall",
            config(
                "",
                &seccomp(r#","syscalls":[{"names":[""],"action":"SCMP_ACT_ERRNO"}]"#),
            ),
            r#"invalid seccomp syscall name """#,
        ),
        (
            "unknown seccomp arch",
            config(
                "",
                &seccomp(r#","architectures":["SCMP_ARCH_X86_64","SCMP_ARCH_VAX"]"#),
            ),
            "string SCMP_ARCH_VAX is not a valid arch for seccomp",
        ),
        (
            "unknown seccomp default action",
            config("", r#""seccomp":{"defaultAction":"SCMP_ACT_MAYBE"}"#),
            "string SCMP_ACT_MAYBE is not a valid action for seccomp",
        ),
        (
            "unknown seccomp rule action",
            config(
                "",
                &seccomp(r#","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_BOGUS"}]"#),
            ),
            "string SCMP_ACT_BOGUS is not a valid action for seccomp",
        ),
        (
            "unknown seccomp operator",
            config(
                "",
                &seccomp(
                    r#","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_ERRNO","args":[{"index":0,"value":1,"op":"SCMP_CMP_ABOUT"}]}]"#,
                ),
            ),
            "string SCMP_CMP_ABOUT is not a valid operator for seccomp",
        ),
        (
            "unknown seccomp flag",
            config("", &seccomp(r#","flags":["SECCOMP_FILTER_FLAG_FAST"]"#)),
            r#"seccomp flag "SECCOMP_FILTER_FLAG_FAST" is not supported"#,
        ),
        (
            "notify as default action",
            config(
                "",
                r#""seccomp":{"defaultAction":"SCMP_ACT_NOTIFY","listenerPath":"/run/agent.sock"}"#,
            ),
            "SCMP_ACT_NOTIFY cannot be used as default action",
        ),
        (
            "notify on write",
            config(
                "",
                &seccomp(
                    r#","listenerPath":"/a.sock","syscalls":[{"names":["write"],"action":"SCMP_ACT_NOTIFY"}]"#,
                ),
            ),
            "SCMP_ACT_NOTIFY cannot be used for the write syscall",
        ),
        (
            "notify without listenerPath",
            config(
                "",
                &seccomp(r#","syscalls":[{"names":["mkdir"],"action":"SCMP_ACT_NOTIFY"}]"#),
            ),
            "listenerPath is not set",
        ),
        (
            "rlimit soft above hard",
            config(
                r#""rlimits":[{"type":"RLIMIT_NOFILE","soft":4096,"hard":1024}]"#,
                "",
            ),
            "rlimit RLIMIT_NOFILE: soft limit 4096 is greater than hard limit 1024",
        ),
        (
            "unknown rlimit type",
            config(
                r#""rlimits":[{"type":"RLIMIT_TEAPOTS","soft":1,"hard":1}]"#,
                "",
            ),
            "wrong rlimit value: RLIMIT_TEAPOTS",
        ),
        (
            "duplicate rlimit",
            config(
                r#""rlimits":[{"type":"RLIMIT_CORE","soft":1,"hard":1},{"type":"RLIMIT_CORE","soft":0,"hard":0}]"#,
                "",
            ),
            "duplicate rlimit type RLIMIT_CORE",
        ),
        (
            "net sysctl without a netns",
            config("", r#""sysctl":{"net.ipv4.ip_forward":"1"}"#),
            r#"sysctl "net.ipv4.ip_forward" not allowed in host network namespace"#,
        ),
        (
            "net sysctl with the host's netns by path",
            config(
                "",
                &ns(
                    r#"{"type":"network","path":"/proc/self/ns/net"}"#,
                    r#""sysctl":{"net.core.somaxconn":"1"}"#,
                ),
            ),
            r#"sysctl "net.core.somaxconn" not allowed in host network namespace"#,
        ),
        (
            "ipc sysctl without an ipc ns",
            config(
                "",
                &ns(r#"{"type":"network"}"#, r#""sysctl":{"kernel.shmmax":"1"}"#),
            ),
            r#"sysctl "kernel.shmmax" is not allowed in the hosts ipc namespace"#,
        ),
        (
            "mqueue sysctl without an ipc ns",
            config("", r#""sysctl":{"fs/mqueue/queues_max":"1"}"#),
            r#"sysctl "fs.mqueue.queues_max" is not allowed in the hosts ipc namespace"#,
        ),
        (
            "kernel.hostname sysctl",
            config(
                "",
                &ns(r#"{"type":"uts"}"#, r#""sysctl":{"kernel.hostname":"x"}"#),
            ),
            r#"sysctl "kernel.hostname" is not allowed as it conflicts with the OCI "hostname" field"#,
        ),
        (
            "domainname without a uts ns",
            config("", r#""sysctl":{"kernel.domainname":"x"}"#),
            r#"sysctl "kernel.domainname" is not in a separate kernel namespace"#,
        ),
        (
            "sysctl that is not namespaced",
            config(
                "",
                &ns(
                    r#"{"type":"uts"},{"type":"ipc"},{"type":"network"}"#,
                    r#""sysctl":{"vm.swappiness":"1"}"#,
                ),
            ),
            r#"sysctl "vm.swappiness" is not in a separate kernel namespace"#,
        ),
        (
            "oomScoreAdj out of range",
            config(r#""oomScoreAdj":1001"#, ""),
            "oomScoreAdj 1001 is out of range [-1000, 1000]",
        ),
        (
            "ioPriority out of range",
            config(
                r#""ioPriority":{"class":"IOPRIO_CLASS_BE","priority":8}"#,
                "",
            ),
            "invalid ioPriority.Priority: 8",
        ),
        (
            "scheduler nice out of range",
            config(r#""scheduler":{"policy":"SCHED_OTHER","nice":-21}"#, ""),
            "invalid scheduler.nice: -21",
        ),
        (
            "personality flags",
            config(
                "",
                r#""personality":{"domain":"LINUX","flags":["ADDR_NO_RANDOMIZE"]}"#,
            ),
            "personality flags are not supported",
        ),
    ];
    // The fd count is process-wide and the module's unit tests run beside
    // this one in other threads: count in a forked child, where none do.
    // SAFETY: the child only runs the validation and _exits.
    let pid = unsafe { libc::fork() };
    assert!(pid >= 0, "fork");
    if pid == 0 {
        let ok = std::panic::catch_unwind(|| {
            let before = open_fds();
            for (what, json, want) in &cases {
                match SecurityPlan::from_json(json.as_bytes(), false) {
                    Ok(p) => panic!("{what}: accepted: {p:?}"),
                    Err(e) => assert_eq!(e.to_string(), *want, "{what}"),
                }
            }
            assert_eq!(open_fds(), before, "validation leaked an fd");
        })
        .is_ok();
        // SAFETY: leave the forked child without running the harness's exit path.
        unsafe { libc::_exit(if ok { 0 } else { 1 }) };
    }
    let mut st = 0;
    // SAFETY: waiting for our own child.
    assert_eq!(unsafe { libc::waitpid(pid, &mut st, 0) }, pid);
    assert!(
        libc::WIFEXITED(st) && libc::WEXITSTATUS(st) == 0,
        "a case failed in the forked child (rerun with --nocapture to see which)"
    );
}

#[test]
fn selinux_label_needs_selinux() {
    if common::skip_machine(
        !security::lsm::selinux_enabled(),
        "host has SELinux; a label would be accepted",
    ) {
        return;
    }
    let e = SecurityPlan::from_json(
        config(r#""selinuxLabel":"system_u:system_r:container_t:s0""#, "").as_bytes(),
        false,
    )
    .unwrap_err();
    assert_eq!(
        e.to_string(),
        "selinux label is specified in config, but selinux is disabled or not supported"
    );
}

#[test]
fn apparmor_profile_is_skipped_with_a_reason_where_there_is_none() {
    if common::skip_machine(
        !security::lsm::apparmor_enabled(),
        "host has AppArmor; the profile would be applied",
    ) {
        return;
    }
    let p = SecurityPlan::from_json(
        config(r#""apparmorProfile":"docker-default""#, "").as_bytes(),
        false,
    )
    .unwrap();
    let why = p.apply_apparmor().unwrap().expect("a skip reason");
    assert!(why.contains("apparmor is not enabled"), "{why}");
}

#[test]
fn good_configs_pass_and_keep_warnings() {
    let json = config(
        r#""capabilities":{"bounding":["CAP_CHOWN","sys_admin"]},"rlimits":[{"type":"RLIMIT_NOFILE","soft":1024,"hard":1024}]"#,
        &ns(
            r#"{"type":"network"},{"type":"ipc"},{"type":"uts"}"#,
            &format!(
                r#""sysctl":{{"net.ipv4.ip_forward":"1","kernel.shmmax":"1","kernel.domainname":"d"}},{}"#,
                seccomp(
                    r#","syscalls":[{"names":["mkdir","not_a_syscall_yet"],"action":"SCMP_ACT_ERRNO"}]"#
                )
            ),
        ),
    );
    let p = SecurityPlan::from_json(json.as_bytes(), true).unwrap();
    assert_eq!(p.sysctls.len(), 3);
    assert_eq!(p.capabilities.bounding, (1 << 0) | (1 << 21));
    assert_eq!(
        p.warnings,
        vec![r#"unknown seccomp syscall "not_a_syscall_yet" ignored"#.to_string()]
    );
}

fn ns(list: &str, rest: &str) -> String {
    format!(r#""namespaces":[{list}],{rest}"#)
}
