//! The bootstrap message: runc's netlink-framed config for nsexec.
//!
//! This module is the only place that knows the byte layout. Both sides use
//! it: the stage parses with [`Bootstrap::parse`], the runtime encodes with
//! [`MessageBuilder`]. Layout (native endian), see nsexec-protocol.md §2:
//!
//! ```text
//! nlmsghdr { u32 len; u16 type = 62000; u16 flags; u32 seq; u32 pid }
//! nlattr   { u16 len (hdr + payload, no padding); u16 type } payload, pad to 4
//! ```
//!
//! The C parser trusts every length; this one checks them all (§2.5), so a
//! malformed message is an error and never a hang or a wild read.

use alloc::string::String;
use alloc::vec;
use alloc::vec::Vec;

/// `nlmsg_type` of the bootstrap message (`INIT_MSG`).
pub const INIT_MSG: u16 = 62000;
/// `NLMSG_ERROR`: the C code reports it specially.
pub const NLMSG_ERROR: u16 = 2;
/// `NLM_F_REQUEST`, what Go's netlink request sets.
pub const NLM_F_REQUEST: u16 = 1;
pub const NLMSG_HDRLEN: usize = 16;
pub const NLA_HDRLEN: usize = 4;

pub const CLONE_FLAGS_ATTR: u16 = 27281;
pub const NS_PATHS_ATTR: u16 = 27282;
pub const UIDMAP_ATTR: u16 = 27283;
pub const GIDMAP_ATTR: u16 = 27284;
pub const SETGROUP_ATTR: u16 = 27285;
pub const OOM_SCORE_ADJ_ATTR: u16 = 27286;
pub const ROOTLESS_EUID_ATTR: u16 = 27287;
pub const UIDMAPPATH_ATTR: u16 = 27288;
pub const GIDMAPPATH_ATTR: u16 = 27289;
/// runc 1.1: mount sources (`MOUNT_SOURCES_ATTR`).
pub const MOUNT_SOURCES_ATTR: u16 = 27290;
/// runc >= 1.2: time-namespace offsets (`TIMENSOFFSET_ATTR`). Same id as
/// [`MOUNT_SOURCES_ATTR`]: which one it means is the build's profile.
pub const TIMENSOFFSET_ATTR: u16 = 27290;

/// Largest payload we accept. Go can produce at most ten attributes of at most
/// 64 KiB each; the cap only stops a bogus `nlmsg_len` from allocating GiBs.
pub const MAX_PAYLOAD: usize = 1 << 20;

/// Namespace names, in the order runc's Go side emits them
/// (`configs.NamespaceTypes()`), with their clone flags.
pub const NAMESPACES: [(&str, i32); 8] = [
    ("user", libc::CLONE_NEWUSER),
    ("ipc", libc::CLONE_NEWIPC),
    ("uts", libc::CLONE_NEWUTS),
    ("net", libc::CLONE_NEWNET),
    ("pid", libc::CLONE_NEWPID),
    ("mnt", libc::CLONE_NEWNS),
    ("cgroup", libc::CLONE_NEWCGROUP),
    ("time", CLONE_NEWTIME),
];

/// `CLONE_NEWTIME` overlaps clone()'s exit-signal byte: unshare() only.
pub const CLONE_NEWTIME: i32 = 0x0000_0080;

/// The clone flag of a namespace name, `None` if runc does not know it.
pub fn ns_flag(name: &str) -> Option<i32> {
    NAMESPACES.iter().find(|(n, _)| *n == name).map(|(_, f)| *f)
}

/// Why a bootstrap message was refused. Messages follow runc's words where
/// runc has them.
#[derive(Debug, PartialEq, Eq)]
pub enum ParseError {
    HeaderLength(u32),
    TooLarge(usize),
    NlmsgError,
    MsgType(u16),
    AttrLength { ty: u16, len: u16 },
    AttrOverrun { ty: u16 },
    ShortAttrHeader,
    UnknownAttr(u16),
    ShortScalar { ty: u16, got: usize, want: usize },
    NoNul(u16),
}

impl core::fmt::Display for ParseError {
    #[allow(unused_variables)]
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::HeaderLength(_0) => write!(f, "invalid netlink header length {_0}"),
            Self::TooLarge(_0) => write!(f, "netlink payload too large ({_0} bytes)"),
            Self::NlmsgError => write!(f, "failed to read netlink message"),
            Self::MsgType(_0) => write!(f, "unexpected msg type {_0}"),
            Self::AttrLength { ty, len } => {
                write!(f, "invalid netlink attribute length {len} (type {ty})")
            }
            Self::AttrOverrun { ty } => {
                write!(f, "netlink attribute {ty} runs past the end of the message")
            }
            Self::ShortAttrHeader => write!(f, "truncated netlink attribute header"),
            Self::UnknownAttr(_0) => write!(f, "unknown netlink message type {_0}"),
            Self::ShortScalar { ty, got, want } => write!(
                f,
                "netlink attribute {ty} has a {got}-byte payload, need {want}"
            ),
            Self::NoNul(_0) => write!(f, "netlink attribute {_0} is not NUL-terminated"),
        }
    }
}

impl core::error::Error for ParseError {}

/// The parsed header fields we care about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Header {
    pub len: u32,
    pub ty: u16,
    pub flags: u16,
    pub seq: u32,
    pub pid: u32,
}

impl Header {
    /// Decode and check the 16-byte header. Returns it with the payload size.
    pub fn parse(b: &[u8; NLMSG_HDRLEN]) -> Result<(Header, usize), ParseError> {
        let h = Header {
            len: u32::from_ne_bytes([b[0], b[1], b[2], b[3]]),
            ty: u16::from_ne_bytes([b[4], b[5]]),
            flags: u16::from_ne_bytes([b[6], b[7]]),
            seq: u32::from_ne_bytes([b[8], b[9], b[10], b[11]]),
            pid: u32::from_ne_bytes([b[12], b[13], b[14], b[15]]),
        };
        // C computes len - 16 unsigned and wraps; refuse instead.
        if (h.len as usize) < NLMSG_HDRLEN {
            return Err(ParseError::HeaderLength(h.len));
        }
        if h.ty == NLMSG_ERROR {
            return Err(ParseError::NlmsgError);
        }
        if h.ty != INIT_MSG {
            return Err(ParseError::MsgType(h.ty));
        }
        let payload = h.len as usize - NLMSG_HDRLEN;
        if payload > MAX_PAYLOAD {
            return Err(ParseError::TooLarge(payload));
        }
        Ok((h, payload))
    }
}

/// The decoded bootstrap config. Byte attributes keep their payload exactly
/// as sent, trailing NUL included: runc writes that NUL to procfs too, and the
/// kernel accepts it (§3.6). Use [`strip_nul`] for the text.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Bootstrap {
    pub clone_flags: u32,
    pub ns_paths: Option<Vec<u8>>,
    pub uidmap: Option<Vec<u8>>,
    pub gidmap: Option<Vec<u8>>,
    pub uidmap_path: Option<Vec<u8>>,
    pub gidmap_path: Option<Vec<u8>>,
    pub setgroup: bool,
    pub oom_score_adj: Option<Vec<u8>>,
    pub rootless_euid: bool,
    /// Attribute 27290: mount sources (runc 1.1) or timens offsets (1.2+).
    pub attr_27290: Option<Vec<u8>>,
}

/// A byte payload without its trailing NUL.
pub fn strip_nul(b: &[u8]) -> &[u8] {
    b.strip_suffix(&[0]).unwrap_or(b)
}

fn align4(n: usize) -> usize {
    (n + 3) & !3
}

impl Bootstrap {
    /// Parse the attribute payload (everything after the 16-byte header).
    pub fn parse(payload: &[u8]) -> Result<Bootstrap, ParseError> {
        let mut cfg = Bootstrap::default();
        let mut off = 0;
        while off < payload.len() {
            let rest = &payload[off..];
            if rest.len() < NLA_HDRLEN {
                return Err(ParseError::ShortAttrHeader);
            }
            let len = u16::from_ne_bytes([rest[0], rest[1]]);
            let ty = u16::from_ne_bytes([rest[2], rest[3]]);
            // nla_len < 4 makes C loop forever or read wild.
            if (len as usize) < NLA_HDRLEN {
                return Err(ParseError::AttrLength { ty, len });
            }
            if len as usize > rest.len() {
                return Err(ParseError::AttrOverrun { ty });
            }
            let data = &rest[NLA_HDRLEN..len as usize];
            let bytes = || -> Result<Option<Vec<u8>>, ParseError> {
                // Go's Bytemsg always appends a NUL; C uses it as a C string.
                if data.last() != Some(&0) {
                    return Err(ParseError::NoNul(ty));
                }
                Ok(Some(data.to_vec()))
            };
            match ty {
                CLONE_FLAGS_ATTR => cfg.clone_flags = read_u32(ty, data)?,
                NS_PATHS_ATTR => cfg.ns_paths = bytes()?,
                UIDMAP_ATTR => cfg.uidmap = bytes()?,
                GIDMAP_ATTR => cfg.gidmap = bytes()?,
                UIDMAPPATH_ATTR => cfg.uidmap_path = bytes()?,
                GIDMAPPATH_ATTR => cfg.gidmap_path = bytes()?,
                OOM_SCORE_ADJ_ATTR => cfg.oom_score_adj = bytes()?,
                SETGROUP_ATTR => cfg.setgroup = read_bool(ty, data)?,
                ROOTLESS_EUID_ATTR => cfg.rootless_euid = read_bool(ty, data)?,
                TIMENSOFFSET_ATTR => cfg.attr_27290 = bytes()?,
                other => return Err(ParseError::UnknownAttr(other)),
            }
            // The padding of the last attribute may be missing; that is fine.
            off += NLA_HDRLEN + align4(len as usize - NLA_HDRLEN);
        }
        Ok(cfg)
    }

    /// The namespace paths as `(type, path)` pairs, split as C splits them:
    /// on `,` (empty tokens skipped), then at the first `:`.
    pub fn ns_path_list(&self) -> Option<Result<Vec<(&[u8], &[u8])>, NsPathError>> {
        self.ns_paths
            .as_deref()
            .map(|raw| parse_ns_paths(strip_nul(raw)))
    }
}

/// Why the namespace path list was refused (runc's words).
#[derive(Debug, PartialEq, Eq)]
pub enum NsPathError {
    Empty,
    NoColon(String),
}

impl core::fmt::Display for NsPathError {
    #[allow(unused_variables)]
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Empty => write!(f, "ns paths are empty"),
            Self::NoColon(_0) => write!(f, "failed to parse {_0}"),
        }
    }
}

impl core::error::Error for NsPathError {}

/// Split `type:path[,type:path...]`.
pub fn parse_ns_paths(spec: &[u8]) -> Result<Vec<(&[u8], &[u8])>, NsPathError> {
    let mut out = Vec::new();
    for tok in spec.split(|&c| c == b',').filter(|t| !t.is_empty()) {
        let colon = tok
            .iter()
            .position(|&c| c == b':')
            .ok_or_else(|| NsPathError::NoColon(String::from_utf8_lossy(tok).into_owned()))?;
        out.push((&tok[..colon], &tok[colon + 1..]));
    }
    if out.is_empty() {
        return Err(NsPathError::Empty);
    }
    Ok(out)
}

fn read_u32(ty: u16, data: &[u8]) -> Result<u32, ParseError> {
    match data {
        [a, b, c, d, ..] => Ok(u32::from_ne_bytes([*a, *b, *c, *d])),
        _ => Err(ParseError::ShortScalar {
            ty,
            got: data.len(),
            want: 4,
        }),
    }
}

/// C reads only the first payload byte of a bool (`readint8`). We do the same,
/// so behaviour is bit-identical on little-endian hosts, where Go writes 1 in
/// byte 0.
fn read_bool(ty: u16, data: &[u8]) -> Result<bool, ParseError> {
    match data.first() {
        Some(b) => Ok(*b != 0),
        None => Err(ParseError::ShortScalar {
            ty,
            got: 0,
            want: 1,
        }),
    }
}

/// Encoder with Go's framing (`message_linux.go`): Int32msg, Bytemsg (adds a
/// NUL), Boolmsg (u32 0/1).
#[derive(Debug, Clone)]
pub struct MessageBuilder {
    buf: Vec<u8>,
}

/// Why an attribute could not be encoded.
#[derive(Debug, PartialEq, Eq)]
pub enum EncodeError {
    TooLong(usize),
}

impl core::fmt::Display for EncodeError {
    #[allow(unused_variables)]
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::TooLong(_0) => write!(
                f,
                "netlink: cannot serialize bytemsg of length {_0} (larger than UINT16_MAX)"
            ),
        }
    }
}

impl core::error::Error for EncodeError {}

impl Default for MessageBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl MessageBuilder {
    pub fn new() -> Self {
        let mut buf = Vec::with_capacity(256);
        buf.extend_from_slice(&[0; NLMSG_HDRLEN]);
        MessageBuilder { buf }
    }

    fn attr(&mut self, ty: u16, payload: &[u8], nul: bool) -> Result<&mut Self, EncodeError> {
        let len = NLA_HDRLEN + payload.len() + nul as usize;
        if len > u16::MAX as usize {
            return Err(EncodeError::TooLong(len));
        }
        self.buf.extend_from_slice(&(len as u16).to_ne_bytes());
        self.buf.extend_from_slice(&ty.to_ne_bytes());
        self.buf.extend_from_slice(payload);
        if nul {
            self.buf.push(0);
        }
        self.buf.resize(align4(self.buf.len()), 0);
        Ok(self)
    }

    /// An `Int32msg`.
    pub fn int32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.attr(ty, &v.to_ne_bytes(), false)
            .expect("8-byte attribute")
    }

    /// A `Boolmsg`.
    pub fn boolean(&mut self, ty: u16, v: bool) -> &mut Self {
        self.int32(ty, v as u32)
    }

    /// A `Bytemsg`: the value plus a NUL.
    pub fn bytes(&mut self, ty: u16, v: &[u8]) -> Result<&mut Self, EncodeError> {
        self.attr(ty, v, true)
    }

    /// A raw attribute, no NUL added: for tests that need malformed input.
    pub fn raw(&mut self, ty: u16, v: &[u8]) -> Result<&mut Self, EncodeError> {
        self.attr(ty, v, false)
    }

    /// `NS_PATHS` from `(type, path)` pairs, joined as Go joins them.
    pub fn ns_paths<S: AsRef<[u8]>, P: AsRef<[u8]>>(
        &mut self,
        paths: &[(S, P)],
    ) -> Result<&mut Self, EncodeError> {
        let mut v = Vec::new();
        for (i, (t, p)) in paths.iter().enumerate() {
            if i > 0 {
                v.push(b',');
            }
            v.extend_from_slice(t.as_ref());
            v.push(b':');
            v.extend_from_slice(p.as_ref());
        }
        self.bytes(NS_PATHS_ATTR, &v)
    }

    /// Finish with a header of type [`INIT_MSG`] and the given sequence number.
    pub fn finish(&mut self, seq: u32) -> Vec<u8> {
        self.finish_typed(INIT_MSG, seq)
    }

    /// Finish with any message type (tests use wrong ones).
    pub fn finish_typed(&mut self, ty: u16, seq: u32) -> Vec<u8> {
        let mut out = core::mem::take(&mut self.buf);
        let len = out.len() as u32;
        out[0..4].copy_from_slice(&len.to_ne_bytes());
        out[4..6].copy_from_slice(&ty.to_ne_bytes());
        out[6..8].copy_from_slice(&NLM_F_REQUEST.to_ne_bytes());
        out[8..12].copy_from_slice(&seq.to_ne_bytes());
        out[12..16].copy_from_slice(&0u32.to_ne_bytes());
        self.buf = vec![0; NLMSG_HDRLEN];
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn split(msg: &[u8]) -> Result<Bootstrap, ParseError> {
        let hdr: [u8; 16] = msg[..16].try_into().unwrap();
        let (_, n) = Header::parse(&hdr)?;
        Bootstrap::parse(&msg[16..16 + n])
    }

    #[test]
    fn worked_example_matches_protocol_doc() {
        // §2.6: CLONE_NEWNET + pid:/proc/1234/ns/pid, 52 bytes.
        let msg = MessageBuilder::new()
            .int32(CLONE_FLAGS_ATTR, libc::CLONE_NEWNET as u32)
            .ns_paths(&[("pid", "/proc/1234/ns/pid")])
            .unwrap()
            .finish(1);
        let want: [u8; 52] = [
            0x34, 0, 0, 0, 0x30, 0xf2, 1, 0, 1, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0x91, 0x6a, 0, 0, 0,
            0x40, 0x1a, 0, 0x92, 0x6a, b'p', b'i', b'd', b':', b'/', b'p', b'r', b'o', b'c', b'/',
            b'1', b'2', b'3', b'4', b'/', b'n', b's', b'/', b'p', b'i', b'd', 0, 0, 0,
        ];
        assert_eq!(msg, want);
        let cfg = split(&msg).unwrap();
        assert_eq!(cfg.clone_flags, 0x4000_0000);
        let list = cfg.ns_path_list().unwrap().unwrap();
        assert_eq!(list, vec![(&b"pid"[..], &b"/proc/1234/ns/pid"[..])]);
    }

    #[test]
    fn userns_example_is_92_bytes() {
        let msg = MessageBuilder::new()
            .int32(CLONE_FLAGS_ATTR, 0x7E02_0000)
            .bytes(UIDMAP_ATTR, b"0 100000 65536\n")
            .unwrap()
            .bytes(GIDMAP_ATTR, b"0 100000 65536\n")
            .unwrap()
            .boolean(SETGROUP_ATTR, true)
            .bytes(OOM_SCORE_ADJ_ATTR, b"-500")
            .unwrap()
            .boolean(ROOTLESS_EUID_ATTR, false)
            .finish(1);
        assert_eq!(msg.len(), 92);
        assert_eq!(u16::from_ne_bytes([msg[24], msg[25]]), 20);
        let cfg = split(&msg).unwrap();
        assert_eq!(cfg.uidmap.as_deref(), Some(&b"0 100000 65536\n\0"[..]));
        assert_eq!(strip_nul(cfg.oom_score_adj.as_deref().unwrap()), b"-500");
        assert!(cfg.setgroup);
        assert!(!cfg.rootless_euid);
    }

    #[test]
    fn refuses_malformed_input() {
        let mut h = [0u8; 16];
        h[0] = 8;
        h[4..6].copy_from_slice(&INIT_MSG.to_ne_bytes());
        assert_eq!(Header::parse(&h), Err(ParseError::HeaderLength(8)));
        h[0] = 16;
        h[4..6].copy_from_slice(&7u16.to_ne_bytes());
        assert_eq!(Header::parse(&h), Err(ParseError::MsgType(7)));
        h[4..6].copy_from_slice(&NLMSG_ERROR.to_ne_bytes());
        assert_eq!(Header::parse(&h), Err(ParseError::NlmsgError));

        // nla_len < 4: C spins forever on 0.
        let p = [0u8, 0, 0x91, 0x6a];
        assert!(matches!(
            Bootstrap::parse(&p),
            Err(ParseError::AttrLength { len: 0, .. })
        ));
        // attribute past the end
        let p = [12u8, 0, 0x91, 0x6a, 0, 0, 0, 0];
        assert!(matches!(
            Bootstrap::parse(&p),
            Err(ParseError::AttrOverrun { .. })
        ));
        // short int
        let p = [6u8, 0, 0x91, 0x6a, 1, 2, 0, 0];
        assert!(matches!(
            Bootstrap::parse(&p),
            Err(ParseError::ShortScalar { want: 4, .. })
        ));
        // short bool
        let p = [4u8, 0, 0x95, 0x6a];
        assert!(matches!(
            Bootstrap::parse(&p),
            Err(ParseError::ShortScalar { want: 1, .. })
        ));
        // string without NUL
        let p = MessageBuilder::new()
            .raw(NS_PATHS_ATTR, b"pid:/x")
            .unwrap()
            .finish(1);
        assert_eq!(split(&p), Err(ParseError::NoNul(NS_PATHS_ATTR)));
        // unknown attribute
        let p = MessageBuilder::new().int32(27299, 1).finish(1);
        assert_eq!(split(&p), Err(ParseError::UnknownAttr(27299)));
        // stray bytes shorter than a header
        assert_eq!(Bootstrap::parse(&[1, 2]), Err(ParseError::ShortAttrHeader));
    }

    #[test]
    fn ns_path_edge_cases() {
        assert_eq!(parse_ns_paths(b""), Err(NsPathError::Empty));
        assert_eq!(parse_ns_paths(b",,"), Err(NsPathError::Empty));
        assert_eq!(
            parse_ns_paths(b"pid"),
            Err(NsPathError::NoColon("pid".into()))
        );
        let l = parse_ns_paths(b"net:/a:b,,pid:/c").unwrap();
        assert_eq!(
            l,
            vec![(&b"net"[..], &b"/a:b"[..]), (&b"pid"[..], &b"/c"[..])]
        );
    }

    #[test]
    fn last_duplicate_wins_and_order_is_free() {
        let p = MessageBuilder::new()
            .boolean(ROOTLESS_EUID_ATTR, true)
            .int32(CLONE_FLAGS_ATTR, 1)
            .int32(CLONE_FLAGS_ATTR, 2)
            .finish(3);
        let c = split(&p).unwrap();
        assert_eq!(c.clone_flags, 2);
        assert!(c.rootless_euid);
    }

    /// A cheap in-tree fuzz pass for CI (the deep one is fuzz/, cargo fuzz):
    /// mutated valid messages and random bytes must never panic or hang.
    #[test]
    fn parser_survives_mutations() {
        let base = MessageBuilder::new()
            .int32(CLONE_FLAGS_ATTR, 0x7E02_0000)
            .ns_paths(&[("net", "/proc/1/ns/net"), ("pid", "/proc/1/ns/pid")])
            .unwrap()
            .bytes(UIDMAP_ATTR, b"0 100000 65536\n")
            .unwrap()
            .boolean(SETGROUP_ATTR, true)
            .finish(1);
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut rnd = move || {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x
        };
        for _ in 0..200_000 {
            let mut m = base[16..].to_vec();
            for _ in 0..(rnd() % 4 + 1) {
                let i = (rnd() as usize) % m.len();
                m[i] = rnd() as u8;
            }
            if rnd() % 8 == 0 {
                m.truncate((rnd() as usize) % m.len());
            }
            let _ = Bootstrap::parse(&m).map(|c| c.ns_path_list().map(|l| l.map(|v| v.len())));
            let junk: Vec<u8> = (0..(rnd() % 64)).map(|_| rnd() as u8).collect();
            let _ = Bootstrap::parse(&junk);
        }
    }

    #[test]
    fn bytemsg_too_long() {
        let big = vec![b'x'; 65532];
        assert_eq!(
            MessageBuilder::new().bytes(UIDMAP_ATTR, &big).err(),
            Some(EncodeError::TooLong(65537))
        );
    }
}
