//! AppArmor profile and SELinux exec label. Both are a write to a procfs
//! attr file that takes effect at the next execve; both go through a
//! verified procfs handle, because a fake procfs mounted over /proc would
//! swallow the write and the container would run unconfined
//! (CVE-2019-16884, CVE-2023-27561).

use nix::errno::Errno;

use super::procfs::{ProcRoot, ProcfsError};
use super::SecurityError;

/// runc's test: the securityfs directory exists and the module says 'Y'.
pub fn apparmor_enabled() -> bool {
    std::path::Path::new("/sys/kernel/security/apparmor").exists()
        && std::fs::read("/sys/module/apparmor/parameters/enabled")
            .map(|b| b.first() == Some(&b'Y'))
            .unwrap_or(false)
}

/// selinuxfs mounted at /sys/fs/selinux (go-selinux's first probe).
pub fn selinux_enabled() -> bool {
    const SELINUX_MAGIC: i64 = 0xf97c_ff8c;
    nix::sys::statfs::statfs("/sys/fs/selinux")
        .map(|s| s.filesystem_type().0 == SELINUX_MAGIC)
        .unwrap_or(false)
}

/// What libapparmor's aa_change_onexec writes.
pub fn apparmor_payload(profile: &str) -> Vec<u8> {
    format!("exec {profile}").into_bytes()
}

/// Candidate attr files for AppArmor: the per-LSM file first, then the old
/// shared one. AppArmor only lets a task change its own attrs, so runc uses
/// /proc/self (resolved here to the pid, since symlinks are not followed).
pub fn apparmor_paths(pid_dir: &str) -> [String; 2] {
    [
        format!("{pid_dir}/attr/apparmor/exec"),
        format!("{pid_dir}/attr/exec"),
    ]
}

/// Write `payload` to the per-LSM attr file, or the shared one on kernels
/// without it (ENOENT).
fn write_first(proc: &ProcRoot, paths: &[String; 2], payload: &[u8]) -> Result<(), ProcfsError> {
    match proc.write(&paths[0], payload) {
        Err(ProcfsError::Sys {
            errno: Errno::ENOENT,
            ..
        }) => proc.write(&paths[1], payload),
        r => r,
    }
}

/// Set the AppArmor profile for the next execve. Returns a skip reason when
/// the host has no AppArmor (the profile cannot be enforced there, and
/// runtimes on such hosts run the container without it).
pub fn apply_apparmor(proc: &ProcRoot, profile: &str) -> Result<Option<String>, SecurityError> {
    if profile.is_empty() {
        return Ok(None);
    }
    if !apparmor_enabled() {
        return Ok(Some(format!(
            "apparmor is not enabled on this host: profile {profile:?} not applied"
        )));
    }
    write_apparmor(proc, profile)?;
    Ok(None)
}

/// The write itself, without the host probe (unit-tested on any host).
pub fn write_apparmor(proc: &ProcRoot, profile: &str) -> Result<(), SecurityError> {
    let me = proc.self_dir()?;
    write_first(proc, &apparmor_paths(&me), &apparmor_payload(profile))
        .map_err(SecurityError::AppArmor)
}

/// Set the SELinux label for the next execve (thread-self/attr/exec).
pub fn apply_selinux_exec(proc: &ProcRoot, label: &str) -> Result<(), SecurityError> {
    if label.is_empty() {
        return Ok(());
    }
    let t = proc.thread_self()?;
    proc.write(&format!("{t}/attr/exec"), label.as_bytes())
        .map_err(SecurityError::SeLinux)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_and_paths() {
        assert_eq!(apparmor_payload("docker-default"), b"exec docker-default");
        assert_eq!(apparmor_paths("12")[0], "12/attr/apparmor/exec");
        assert_eq!(apparmor_paths("12")[1], "12/attr/exec");
    }

    #[test]
    fn the_write_reaches_the_kernel_not_a_file() {
        // No LSM takes the write here, so the real attr file answers with an
        // error from the kernel (EINVAL/ENOENT...), never a silent success.
        let proc = ProcRoot::open().unwrap();
        if apparmor_enabled() {
            eprintln!("SKIP: host has apparmor; the negative write test needs a host without it");
            return;
        }
        let e = write_apparmor(&proc, "nsrun-test").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("apparmor failed to apply profile"),
            "{e}"
        );
    }
}
