//! "tmpcopyup": a tmpfs that starts with a copy of what it covers (runc's
//! doTmpfsCopyUp). The tmpfs is built detached (fsopen/fsmount), filled from
//! the covered directory through fds only, then attached with move_mount —
//! no scratch directory on the host, no path walked twice.

use std::os::fd::{AsFd, BorrowedFd, OwnedFd};

use nix::dir::Dir;
use nix::errno::Errno;

use super::error::{Result, RootfsError};
use super::options::{MountOptions, MS_RDONLY};
use super::sys::{self, RESOLVE_BENEATH, RESOLVE_NO_SYMLINKS};

/// Entries deeper than this are refused (a guard against pathological trees).
const MAX_DEPTH: usize = 64;

/// A detached tmpfs holding a copy of `covered` (an O_RDONLY directory fd).
pub fn tmpfs_copy(
    covered: BorrowedFd<'_>,
    source: &str,
    options: &MountOptions,
    shown: &str,
) -> Result<OwnedFd> {
    // Like runc, "ro" waits for finalize(): the copy needs a writable tmpfs.
    let attr = super::options::ms_to_attr(options.flags & !MS_RDONLY);
    // fsopen's source is "none" unless set; mount(2) (runc) shows the spec's.
    let data: Vec<String> = std::iter::once(format!("source={source}"))
        .chain(options.data.iter().cloned())
        .collect();
    let mnt = sys::new_fs("tmpfs", &data, attr).map_err(|e| {
        RootfsError::mount(
            "mount",
            "tmpfs",
            shown,
            options.flags,
            &options.data_string(),
            e,
        )
    })?;
    let top = sys::openat2(
        Some(mnt.as_fd()),
        ".",
        libc::O_RDONLY | libc::O_DIRECTORY,
        0,
        RESOLVE_BENEATH,
    )
    .map_err(|e| RootfsError::path("open", "tmpcopyup", e))?;
    // Modes are copied exactly, as runc's CopyDirectory does.
    let old = sys::umask(0);
    let copied = copy_dir(covered, top.as_fd(), 0);
    sys::umask(old);
    copied.map_err(|e| RootfsError::path("tmpcopyup", shown, e))?;
    Ok(mnt)
}

fn open_beneath(dir: BorrowedFd<'_>, name: &str, flags: i32, mode: u32) -> nix::Result<OwnedFd> {
    sys::openat2(
        Some(dir),
        name,
        flags | libc::O_NOFOLLOW,
        mode,
        RESOLVE_BENEATH | RESOLVE_NO_SYMLINKS,
    )
}

fn copy_dir(src: BorrowedFd<'_>, dst: BorrowedFd<'_>, depth: usize) -> nix::Result<()> {
    if depth > MAX_DEPTH {
        return Err(Errno::ELOOP);
    }
    let dup = open_beneath(src, ".", libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
    let mut dir = Dir::from(dup)?;
    let names: Vec<String> = dir
        .iter()
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str().ok().map(String::from))
        .filter(|n| n != "." && n != "..")
        .collect();
    for name in names {
        let st = sys::lstatat(src, &name)?;
        let mode = st.st_mode & 0o7777;
        match st.st_mode & libc::S_IFMT {
            libc::S_IFDIR => {
                sys::mkdirat(dst, &name, mode)?;
                let s = open_beneath(src, &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
                let d = open_beneath(dst, &name, libc::O_RDONLY | libc::O_DIRECTORY, 0)?;
                copy_dir(s.as_fd(), d.as_fd(), depth + 1)?;
            }
            libc::S_IFREG => {
                let s = open_beneath(src, &name, libc::O_RDONLY, 0)?;
                let d = open_beneath(
                    dst,
                    &name,
                    libc::O_WRONLY | libc::O_CREAT | libc::O_EXCL,
                    mode,
                )?;
                let mut out = std::fs::File::from(d);
                std::io::copy(&mut std::fs::File::from(s), &mut out)
                    .map_err(|e| Errno::from_raw(e.raw_os_error().unwrap_or(libc::EIO)))?;
                // chown drops setuid/setgid from a regular file: chown first, then the exact mode.
                sys::fchown_fd(out.as_fd(), st.st_uid, st.st_gid)?;
                sys::fchmod(out.as_fd(), mode)?;
                continue;
            }
            libc::S_IFLNK => sys::symlinkat(&sys::readlinkat(src, &name)?, dst, &name)?,
            _ => sys::mknodat(dst, &name, st.st_mode, st.st_rdev)?,
        }
        sys::lchownat(dst, &name, st.st_uid, st.st_gid)?;
    }
    Ok(())
}
