//! Mount option words -> MS_* flags, propagation, recursive attributes and
//! filesystem data, as runc's specconv `parseMountOptions` reads them.

use bincode::{Decode, Encode};

use super::sys::{
    MountAttr, MOUNT_ATTR_NOATIME, MOUNT_ATTR_NODEV, MOUNT_ATTR_NODIRATIME, MOUNT_ATTR_NOEXEC,
    MOUNT_ATTR_NOSUID, MOUNT_ATTR_NOSYMFOLLOW, MOUNT_ATTR_RDONLY, MOUNT_ATTR_RELATIME,
    MOUNT_ATTR_STRICTATIME, MOUNT_ATTR__ATIME,
};

pub const MS_RDONLY: u64 = libc::MS_RDONLY as u64;
pub const MS_NOSUID: u64 = libc::MS_NOSUID as u64;
pub const MS_NODEV: u64 = libc::MS_NODEV as u64;
pub const MS_NOEXEC: u64 = libc::MS_NOEXEC as u64;
pub const MS_REMOUNT: u64 = libc::MS_REMOUNT as u64;
pub const MS_BIND: u64 = libc::MS_BIND as u64;
pub const MS_MOVE: u64 = libc::MS_MOVE as u64;
pub const MS_REC: u64 = libc::MS_REC as u64;
pub const MS_PRIVATE: u64 = libc::MS_PRIVATE as u64;
pub const MS_SLAVE: u64 = libc::MS_SLAVE as u64;
pub const MS_SHARED: u64 = libc::MS_SHARED as u64;
pub const MS_UNBINDABLE: u64 = libc::MS_UNBINDABLE as u64;
pub const MS_NOATIME: u64 = libc::MS_NOATIME as u64;
pub const MS_NODIRATIME: u64 = libc::MS_NODIRATIME as u64;
pub const MS_RELATIME: u64 = libc::MS_RELATIME as u64;
pub const MS_STRICTATIME: u64 = libc::MS_STRICTATIME as u64;
const MS_NOSYMFOLLOW: u64 = 256;

/// (word, clears?, MS_* flag) — specconv's mountFlags table.
const FLAGS: &[(&str, bool, u64)] = &[
    ("acl", false, libc::MS_POSIXACL as u64),
    ("async", true, libc::MS_SYNCHRONOUS as u64),
    ("atime", true, MS_NOATIME),
    ("bind", false, MS_BIND),
    ("defaults", false, 0),
    ("dev", true, MS_NODEV),
    ("diratime", true, MS_NODIRATIME),
    ("dirsync", false, libc::MS_DIRSYNC as u64),
    ("exec", true, MS_NOEXEC),
    ("iversion", false, libc::MS_I_VERSION as u64),
    ("lazytime", false, libc::MS_LAZYTIME as u64),
    ("loud", true, libc::MS_SILENT as u64),
    ("mand", false, libc::MS_MANDLOCK as u64),
    ("noacl", true, libc::MS_POSIXACL as u64),
    ("noatime", false, MS_NOATIME),
    ("nodev", false, MS_NODEV),
    ("nodiratime", false, MS_NODIRATIME),
    ("noexec", false, MS_NOEXEC),
    ("noiversion", true, libc::MS_I_VERSION as u64),
    ("nolazytime", true, libc::MS_LAZYTIME as u64),
    ("nomand", true, libc::MS_MANDLOCK as u64),
    ("norelatime", true, MS_RELATIME),
    ("nostrictatime", true, MS_STRICTATIME),
    ("nosuid", false, MS_NOSUID),
    ("nosymfollow", false, MS_NOSYMFOLLOW),
    ("rbind", false, MS_BIND | MS_REC),
    ("relatime", false, MS_RELATIME),
    ("remount", false, MS_REMOUNT),
    ("ro", false, MS_RDONLY),
    ("rw", true, MS_RDONLY),
    ("silent", false, libc::MS_SILENT as u64),
    ("strictatime", false, MS_STRICTATIME),
    ("suid", true, MS_NOSUID),
    ("sync", false, libc::MS_SYNCHRONOUS as u64),
    ("symfollow", true, MS_NOSYMFOLLOW),
];

/// specconv's mountPropagationMapping.
pub const PROPAGATION: &[(&str, u64)] = &[
    ("rprivate", MS_PRIVATE | MS_REC),
    ("private", MS_PRIVATE),
    ("rslave", MS_SLAVE | MS_REC),
    ("slave", MS_SLAVE),
    ("rshared", MS_SHARED | MS_REC),
    ("shared", MS_SHARED),
    ("runbindable", MS_UNBINDABLE | MS_REC),
    ("unbindable", MS_UNBINDABLE),
];

/// Every option word the parser gives a meaning to (`features` lists them).
#[allow(dead_code)] // not reached from the rootfs test binary
pub fn option_words() -> impl Iterator<Item = &'static str> {
    FLAGS
        .iter()
        .map(|w| w.0)
        .chain(PROPAGATION.iter().map(|w| w.0))
        .chain(REC_ATTRS.iter().map(|w| w.0))
}

/// specconv's recAttrFlags: mount_setattr(AT_RECURSIVE) words.
const REC_ATTRS: &[(&str, bool, u64)] = &[
    ("rro", false, MOUNT_ATTR_RDONLY),
    ("rrw", true, MOUNT_ATTR_RDONLY),
    ("rnosuid", false, MOUNT_ATTR_NOSUID),
    ("rsuid", true, MOUNT_ATTR_NOSUID),
    ("rnodev", false, MOUNT_ATTR_NODEV),
    ("rdev", true, MOUNT_ATTR_NODEV),
    ("rnoexec", false, MOUNT_ATTR_NOEXEC),
    ("rexec", true, MOUNT_ATTR_NOEXEC),
    ("rnodiratime", false, MOUNT_ATTR_NODIRATIME),
    ("rdiratime", true, MOUNT_ATTR_NODIRATIME),
    ("rrelatime", false, MOUNT_ATTR_RELATIME),
    ("rnorelatime", true, MOUNT_ATTR_RELATIME),
    ("rnoatime", false, MOUNT_ATTR_NOATIME),
    ("ratime", true, MOUNT_ATTR_NOATIME),
    ("rstrictatime", false, MOUNT_ATTR_STRICTATIME),
    ("rnostrictatime", true, MOUNT_ATTR_STRICTATIME),
    ("rnosymfollow", false, MOUNT_ATTR_NOSYMFOLLOW),
    ("rsymfollow", true, MOUNT_ATTR_NOSYMFOLLOW),
];

/// Parsed option words of one mount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Encode, Decode)]
pub struct MountOptions {
    /// MS_* flags set (specconv's Flags).
    pub flags: u64,
    /// MS_* flags explicitly cleared by a word (rw, suid, dev, exec, ...).
    pub cleared: u64,
    /// One mount(2) propagation call per entry, in order.
    pub propagation: Vec<u64>,
    /// Recursive mount_setattr attributes.
    pub rec_set: u64,
    pub rec_clr: u64,
    /// Unknown words: filesystem data, joined with ','.
    pub data: Vec<String>,
    /// runc's "tmpcopyup" extension: fill a tmpfs with what it covers.
    pub copyup: bool,
}

impl MountOptions {
    pub fn data_string(&self) -> String {
        self.data.join(",")
    }

    pub fn is_bind(&self) -> bool {
        self.flags & MS_BIND != 0
    }

    pub fn is_recursive_bind(&self) -> bool {
        self.flags & (MS_BIND | MS_REC) == MS_BIND | MS_REC
    }

    /// Whether a bind needs the second "remount" step (runc: any flag besides
    /// MS_BIND|MS_REC|MS_REMOUNT), or an explicit clear asks for one.
    pub fn needs_remount(&self) -> bool {
        self.flags & !(MS_REC | MS_REMOUNT | MS_BIND) != 0 || self.cleared & per_mount_mask() != 0
    }

    /// The per-mount attributes a bind remount applies, as mount_setattr wants them.
    /// Only what the words said is touched, so a nosuid source stays nosuid unless "suid" was asked.
    pub fn bind_attr(&self) -> MountAttr {
        let set = ms_to_attr(self.flags);
        let mut clr = ms_to_attr(self.cleared & per_mount_mask()) & !set;
        if (set | clr) & MOUNT_ATTR__ATIME != 0 || self.flags & MS_RELATIME != 0 {
            // mount_setattr(2): the atime mode is one field; changing it clears all of _ATIME.
            clr |= MOUNT_ATTR__ATIME;
        }
        MountAttr {
            attr_set: set,
            attr_clr: clr,
            ..Default::default()
        }
    }

    pub fn rec_attr(&self) -> Option<MountAttr> {
        (self.rec_set != 0 || self.rec_clr != 0).then(|| MountAttr {
            attr_set: self.rec_set,
            attr_clr: self.rec_clr,
            ..Default::default()
        })
    }
}

fn per_mount_mask() -> u64 {
    MS_RDONLY
        | MS_NOSUID
        | MS_NODEV
        | MS_NOEXEC
        | MS_NOATIME
        | MS_NODIRATIME
        | MS_RELATIME
        | MS_STRICTATIME
        | MS_NOSYMFOLLOW
}

/// MS_* per-mount flags -> MOUNT_ATTR_* bits.
pub fn ms_to_attr(ms: u64) -> u64 {
    [
        (MS_RDONLY, MOUNT_ATTR_RDONLY),
        (MS_NOSUID, MOUNT_ATTR_NOSUID),
        (MS_NODEV, MOUNT_ATTR_NODEV),
        (MS_NOEXEC, MOUNT_ATTR_NOEXEC),
        (MS_NOATIME, MOUNT_ATTR_NOATIME),
        (MS_STRICTATIME, MOUNT_ATTR_STRICTATIME),
        (MS_NODIRATIME, MOUNT_ATTR_NODIRATIME),
        (MS_NOSYMFOLLOW, MOUNT_ATTR_NOSYMFOLLOW),
    ]
    .iter()
    .filter(|(m, _)| ms & m != 0)
    .fold(0, |acc, (_, a)| acc | a)
}

/// Parse the words of one mount. Errors carry the reason only; the caller adds the mount.
pub fn parse(words: &[String]) -> Result<MountOptions, String> {
    let mut o = MountOptions::default();
    for w in words {
        if w.contains('\0') {
            return Err("mount field contains null byte".into());
        }
        if let Some(&(_, clear, flag)) = FLAGS.iter().find(|(n, ..)| *n == w) {
            if clear {
                o.flags &= !flag;
                o.cleared |= flag;
            } else {
                o.flags |= flag;
                o.cleared &= !flag;
            }
        } else if let Some(&(_, p)) = PROPAGATION.iter().find(|(n, _)| *n == w) {
            o.propagation.push(p);
        } else if let Some(&(_, clear, flag)) = REC_ATTRS.iter().find(|(n, ..)| *n == w) {
            if clear {
                o.rec_clr |= flag;
            } else {
                o.rec_set |= flag;
                if flag & MOUNT_ATTR__ATIME == flag {
                    // mount_setattr(2): setting an atime mode needs _ATIME in attr_clr.
                    o.rec_clr |= MOUNT_ATTR__ATIME;
                }
            }
        } else if w == "tmpcopyup" {
            o.copyup = true;
        } else if w.is_empty() {
            return Err("empty mount option".into());
        } else {
            o.data.push(w.clone());
        }
    }
    Ok(o)
}

/// Propagation word -> flags, for rootfsPropagation ("" = runc's default rslave).
pub fn propagation_flags(word: &str) -> Option<u64> {
    if word.is_empty() {
        return Some(0);
    }
    PROPAGATION
        .iter()
        .find(|(n, _)| *n == word)
        .map(|&(_, f)| f)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(ws: &[&str]) -> MountOptions {
        parse(&ws.iter().map(|s| s.to_string()).collect::<Vec<_>>()).unwrap()
    }

    #[test]
    fn every_runc_word_maps() {
        let o = p(&[
            "ro",
            "nosuid",
            "nodev",
            "noexec",
            "sync",
            "dirsync",
            "mand",
            "noatime",
            "nodiratime",
            "strictatime",
        ]);
        let want = MS_RDONLY
            | MS_NOSUID
            | MS_NODEV
            | MS_NOEXEC
            | libc::MS_SYNCHRONOUS as u64
            | libc::MS_DIRSYNC as u64
            | libc::MS_MANDLOCK as u64
            | MS_NOATIME
            | MS_NODIRATIME
            | MS_STRICTATIME;
        assert_eq!(o.flags, want);
        assert!(o.data.is_empty());
        let o = p(&[
            "ro", "rw", "nosuid", "suid", "nodev", "dev", "noexec", "exec", "sync", "async",
            "mand", "nomand",
        ]);
        assert_eq!(o.flags, 0);
        assert_eq!(o.cleared & MS_RDONLY, MS_RDONLY);
        let o = p(&[
            "noatime",
            "atime",
            "nodiratime",
            "diratime",
            "relatime",
            "norelatime",
            "strictatime",
            "nostrictatime",
        ]);
        assert_eq!(o.flags, 0);
    }

    #[test]
    fn bind_and_rbind() {
        assert!(p(&["bind"]).is_bind() && !p(&["bind"]).is_recursive_bind());
        assert!(p(&["rbind"]).is_recursive_bind());
        assert!(!p(&["rbind"]).needs_remount());
        assert!(p(&["rbind", "ro"]).needs_remount());
        assert!(p(&["bind", "remount"]).flags & MS_REMOUNT != 0);
    }

    #[test]
    fn propagation_in_order() {
        let o = p(&[
            "rbind",
            "rprivate",
            "shared",
            "slave",
            "rslave",
            "private",
            "rshared",
            "unbindable",
            "runbindable",
        ]);
        assert_eq!(
            o.propagation,
            vec![
                MS_PRIVATE | MS_REC,
                MS_SHARED,
                MS_SLAVE,
                MS_SLAVE | MS_REC,
                MS_PRIVATE,
                MS_SHARED | MS_REC,
                MS_UNBINDABLE,
                MS_UNBINDABLE | MS_REC
            ]
        );
        assert_eq!(propagation_flags(""), Some(0));
        assert_eq!(propagation_flags("rslave"), Some(MS_SLAVE | MS_REC));
        assert_eq!(propagation_flags("bogus"), None);
    }

    #[test]
    fn unknown_words_are_data() {
        let o = p(&[
            "nosuid",
            "mode=755",
            "size=65536k",
            "newinstance",
            "ptmxmode=0666",
        ]);
        assert_eq!(
            o.data_string(),
            "mode=755,size=65536k,newinstance,ptmxmode=0666"
        );
        assert_eq!(o.flags, MS_NOSUID);
    }

    #[test]
    fn recursive_attrs() {
        let o = p(&["rro", "rnosuid", "rnoatime"]);
        assert_eq!(
            o.rec_set,
            MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOATIME
        );
        assert_eq!(o.rec_clr, MOUNT_ATTR__ATIME);
        let o = p(&["rrw", "rexec"]);
        assert_eq!(
            (o.rec_set, o.rec_clr),
            (0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC)
        );
        assert!(p(&["ro"]).rec_attr().is_none());
    }

    #[test]
    fn bind_attr_sets_only_what_was_asked() {
        let a = p(&["bind", "ro", "nosuid"]).bind_attr();
        assert_eq!(a.attr_set, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID);
        assert_eq!(a.attr_clr, 0);
        let a = p(&["bind", "rw", "exec"]).bind_attr();
        assert_eq!(
            (a.attr_set, a.attr_clr),
            (0, MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOEXEC)
        );
        let a = p(&["bind", "noatime"]).bind_attr();
        assert_eq!(
            (a.attr_set, a.attr_clr),
            (MOUNT_ATTR_NOATIME, MOUNT_ATTR__ATIME)
        );
        assert!(p(&["bind", "rw"]).needs_remount());
    }

    #[test]
    fn bad_words_are_refused() {
        assert!(parse(&["ro\0x".to_string()])
            .unwrap_err()
            .contains("null byte"));
        assert!(parse(&["tmpcopyup".to_string()]).unwrap().copyup);
        assert!(parse(&[String::new()]).is_err());
    }
}
