//! /proc/self/mountinfo and /proc/self/cgroup parsing (pure, unit-tested).

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MountInfo {
    pub root: String,
    pub mountpoint: String,
    /// Optional fields, e.g. "shared:1 master:2".
    pub optional: String,
    pub fstype: String,
    pub super_options: String,
}

/// mountinfo escapes space, tab, newline and backslash as \ooo.
fn unescape(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'\\'
            && i + 3 < b.len()
            && b[i + 1..i + 4].iter().all(|c| (b'0'..=b'7').contains(c))
        {
            out.push((b[i + 1] - b'0') * 64 + (b[i + 2] - b'0') * 8 + (b[i + 3] - b'0'));
            i += 4;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub fn parse(text: &str) -> Vec<MountInfo> {
    text.lines()
        .filter_map(|line| {
            let (pre, post) = line.split_once(" - ")?;
            let f: Vec<&str> = pre.split(' ').collect();
            let g: Vec<&str> = post.split(' ').collect();
            if f.len() < 6 || g.len() < 3 {
                return None;
            }
            Some(MountInfo {
                root: unescape(f[3]),
                mountpoint: unescape(f[4]),
                optional: f[6..].join(" "),
                fstype: g[0].to_string(),
                super_options: g[2].to_string(),
            })
        })
        .collect()
}

pub fn read_self() -> Vec<MountInfo> {
    parse(&std::fs::read_to_string("/proc/self/mountinfo").unwrap_or_default())
}

/// The mount point that holds `path` (longest mountpoint prefix), as runc's getParentMount.
pub fn parent_mount<'a>(mounts: &'a [MountInfo], path: &str) -> Option<&'a MountInfo> {
    mounts
        .iter()
        .filter(|m| is_under(path, &m.mountpoint))
        .max_by_key(|m| m.mountpoint.len())
}

/// Whether `path` is `dir` or below it (component-wise).
pub fn is_under(path: &str, dir: &str) -> bool {
    dir == "/" || path == dir || path.strip_prefix(dir).is_some_and(|r| r.starts_with('/'))
}

/// /proc/self/cgroup: (controllers, path) per v1 hierarchy; the v2 line ("0::/x") has no controllers.
pub fn parse_cgroup_file(text: &str) -> Vec<(Vec<String>, String)> {
    text.lines()
        .filter_map(|l| {
            let mut it = l.splitn(3, ':');
            let (_, ctrls, path) = (it.next()?, it.next()?, it.next()?);
            Some((
                ctrls
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(String::from)
                    .collect(),
                path.to_string(),
            ))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "\
22 1 8:1 / / rw,relatime shared:1 - ext4 /dev/sda1 rw
30 22 0:26 / /sys/fs/cgroup ro,nosuid shared:9 - tmpfs tmpfs ro,mode=755
31 30 0:27 / /sys/fs/cgroup/unified rw shared:10 - cgroup2 cgroup2 rw,nsdelegate
33 30 0:29 / /sys/fs/cgroup/cpu,cpuacct rw shared:14 - cgroup cgroup rw,cpu,cpuacct
34 30 0:30 / /sys/fs/cgroup/systemd rw shared:15 - cgroup cgroup rw,xattr,name=systemd
40 22 0:40 /x /with\\040space rw - tmpfs none rw
";

    #[test]
    fn parses_fields_and_escapes() {
        let m = parse(SAMPLE);
        assert_eq!(m.len(), 6);
        assert_eq!(m[3].mountpoint, "/sys/fs/cgroup/cpu,cpuacct");
        assert_eq!(m[3].fstype, "cgroup");
        assert_eq!(m[3].super_options, "rw,cpu,cpuacct");
        assert_eq!(m[0].optional, "shared:1");
        assert_eq!(m[5].mountpoint, "/with space");
        assert_eq!(m[5].root, "/x");
    }

    #[test]
    fn parent_is_longest_prefix() {
        let m = parse(SAMPLE);
        assert_eq!(
            parent_mount(&m, "/sys/fs/cgroup/cpu,cpuacct/a")
                .unwrap()
                .fstype,
            "cgroup"
        );
        assert_eq!(parent_mount(&m, "/sys/fs/cgroupx").unwrap().mountpoint, "/");
        assert!(is_under("/a/b", "/a") && !is_under("/ab", "/a") && is_under("/a", "/a"));
    }

    #[test]
    fn cgroup_file() {
        let c = parse_cgroup_file("12:cpu,cpuacct:/user.slice\n1:name=systemd:/x\n0::/y\n");
        assert_eq!(
            c[0],
            (vec!["cpu".into(), "cpuacct".into()], "/user.slice".into())
        );
        assert_eq!(c[1].0, vec!["name=systemd".to_string()]);
        assert!(c[2].0.is_empty());
    }
}
