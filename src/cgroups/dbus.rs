//! A minimal D-Bus client for the systemd driver: the wire marshalling of
//! the few types systemd's Manager calls take (little endian), SASL EXTERNAL
//! auth over a unix socket, `Hello`, and method calls with their replies.
//! Hand-written instead of a crate: the calls are few and fixed, and zbus
//! would pull an async runtime into a runtime that is single-threaded.

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;

/// Errors of the D-Bus client.
#[derive(Debug, thiserror::Error)]
pub enum DbusError {
    #[error("d-bus connect {0}: {1}")]
    Connect(String, #[source] std::io::Error),
    #[error("d-bus i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("d-bus authentication rejected: {0}")]
    Auth(String),
    #[error("d-bus malformed message: {0}")]
    Malformed(&'static str),
    /// The peer's error reply: (name, message).
    #[error("{0}: {1}")]
    Remote(String, String),
}

type Result<T> = std::result::Result<T, DbusError>;

pub const METHOD_CALL: u8 = 1;
pub const METHOD_RETURN: u8 = 2;
pub const ERROR: u8 = 3;
pub const SIGNAL: u8 = 4;

/// Marshals values at D-Bus alignments into a buffer whose offset 0 is the
/// start of the message (alignment is relative to it).
#[derive(Default)]
pub struct Enc {
    pub buf: Vec<u8>,
}

impl Enc {
    pub fn align(&mut self, n: usize) {
        while self.buf.len() % n != 0 {
            self.buf.push(0);
        }
    }
    pub fn byte(&mut self, b: u8) {
        self.buf.push(b);
    }
    pub fn u32(&mut self, v: u32) {
        self.align(4);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn u64(&mut self, v: u64) {
        self.align(8);
        self.buf.extend_from_slice(&v.to_le_bytes());
    }
    pub fn boolean(&mut self, v: bool) {
        self.u32(v as u32);
    }
    /// `s` and `o`.
    pub fn string(&mut self, s: &str) {
        self.u32(s.len() as u32);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    /// `g`.
    pub fn signature(&mut self, s: &str) {
        self.buf.push(s.len() as u8);
        self.buf.extend_from_slice(s.as_bytes());
        self.buf.push(0);
    }
    /// An array whose elements align to `elem_align`; `f` writes them.
    pub fn array(&mut self, elem_align: usize, f: impl FnOnce(&mut Enc)) {
        self.u32(0);
        let len_at = self.buf.len() - 4;
        self.align(elem_align);
        let start = self.buf.len();
        f(self);
        let n = (self.buf.len() - start) as u32;
        self.buf[len_at..len_at + 4].copy_from_slice(&n.to_le_bytes());
    }
    pub fn structure(&mut self, f: impl FnOnce(&mut Enc)) {
        self.align(8);
        f(self);
    }
    pub fn variant(&mut self, sig: &str, f: impl FnOnce(&mut Enc)) {
        self.signature(sig);
        f(self);
    }
}

/// A method call to marshal.
pub struct Call<'a> {
    pub path: &'a str,
    pub interface: &'a str,
    pub member: &'a str,
    pub destination: &'a str,
    /// The body's signature ("" for none) and its marshalled bytes, encoded
    /// as if at offset 0 (bodies start 8-aligned, so alignment carries over).
    pub signature: &'a str,
    pub body: &'a [u8],
}

/// The message bus itself (Hello, AddMatch, ...): set `member` and the body.
pub const BUS: Call = Call {
    path: "/org/freedesktop/DBus",
    interface: "org.freedesktop.DBus",
    member: "",
    destination: "org.freedesktop.DBus",
    signature: "",
    body: &[],
};

/// The whole message for `c` with serial `serial`.
pub fn method_call(c: &Call, serial: u32) -> Vec<u8> {
    let mut e = Enc::default();
    e.buf.extend_from_slice(&[b'l', METHOD_CALL, 0, 1]);
    e.u32(c.body.len() as u32);
    e.u32(serial);
    e.array(8, |e| {
        let field = |e: &mut Enc, code: u8, sig: &str, v: &str| {
            e.structure(|e| {
                e.byte(code);
                e.variant(sig, |e| {
                    if sig == "g" {
                        e.signature(v)
                    } else {
                        e.string(v)
                    }
                });
            })
        };
        field(e, 1, "o", c.path);
        field(e, 3, "s", c.member);
        field(e, 2, "s", c.interface);
        field(e, 6, "s", c.destination);
        if !c.signature.is_empty() {
            field(e, 8, "g", c.signature);
        }
    });
    e.align(8);
    e.buf.extend_from_slice(c.body);
    e.buf
}

/// A received message: its type, the header fields nsrun reads, its body.
#[derive(Debug, Default)]
pub struct Msg {
    pub kind: u8,
    pub serial: u32,
    pub reply_serial: Option<u32>,
    pub member: Option<String>,
    pub interface: Option<String>,
    pub error_name: Option<String>,
    pub signature: String,
    pub body: Vec<u8>,
}

/// Reads values back, with the same alignment rules.
pub struct Dec<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Dec<'a> {
    fn align(&mut self, n: usize) {
        self.pos = self.pos.div_ceil(n) * n;
    }
    fn take(&mut self, n: usize) -> Result<&'a [u8]> {
        let s = self
            .buf
            .get(self.pos..self.pos + n)
            .ok_or(DbusError::Malformed("short message"))?;
        self.pos += n;
        Ok(s)
    }
    pub fn byte(&mut self) -> Result<u8> {
        Ok(self.take(1)?[0])
    }
    pub fn u32(&mut self) -> Result<u32> {
        self.align(4);
        Ok(u32::from_le_bytes(
            self.take(4)?.try_into().unwrap_or_default(),
        ))
    }
    pub fn string(&mut self) -> Result<String> {
        let n = self.u32()? as usize;
        let s = self.take(n + 1)?;
        String::from_utf8(s[..n].to_vec()).map_err(|_| DbusError::Malformed("string is not utf-8"))
    }
    pub fn signature(&mut self) -> Result<String> {
        let n = self.byte()? as usize;
        let s = self.take(n + 1)?;
        String::from_utf8(s[..n].to_vec())
            .map_err(|_| DbusError::Malformed("signature is not utf-8"))
    }
}

/// Parse one message from its full bytes (little endian only, as sent by
/// dbus-daemon and systemd on little-endian hosts).
pub fn parse(buf: &[u8]) -> Result<Msg> {
    if buf.len() < 16 || buf[0] != b'l' {
        return Err(DbusError::Malformed("not a little-endian message"));
    }
    let mut d = Dec { buf, pos: 1 };
    let mut m = Msg {
        kind: d.byte()?,
        ..Default::default()
    };
    d.pos = 4;
    let body_len = d.u32()? as usize;
    m.serial = d.u32()?;
    let fields_len = d.u32()? as usize;
    let end = d.pos + fields_len;
    while d.pos < end {
        d.align(8);
        let code = d.byte()?;
        let sig = d.signature()?;
        match (code, sig.as_str()) {
            (5, "u") => m.reply_serial = Some(d.u32()?),
            (3, "s") => m.member = Some(d.string()?),
            (2, "s") => m.interface = Some(d.string()?),
            (4, "s") => m.error_name = Some(d.string()?),
            (8, "g") => m.signature = d.signature()?,
            (_, "s" | "o") => drop(d.string()?),
            (_, "g") => drop(d.signature()?),
            (_, "u") => drop(d.u32()?),
            _ => return Err(DbusError::Malformed("unexpected header field type")),
        }
    }
    d.pos = end;
    d.align(8);
    m.body = d.take(body_len)?.to_vec();
    Ok(m)
}

/// Total length of the message whose first 16 bytes are `h`.
fn message_len(h: &[u8; 16]) -> usize {
    let body = u32::from_le_bytes([h[4], h[5], h[6], h[7]]) as usize;
    let fields = u32::from_le_bytes([h[12], h[13], h[14], h[15]]) as usize;
    (16 + fields).div_ceil(8) * 8 + body
}

/// A connection to a bus (or systemd's private socket), authenticated.
pub struct Conn {
    sock: UnixStream,
    serial: u32,
    /// Signals received while waiting for a reply, in order.
    pub signals: Vec<Msg>,
}

impl Conn {
    /// Connect and authenticate with SASL EXTERNAL as our euid. `hello`:
    /// a message bus needs `Hello` first; systemd's private socket does not.
    pub fn open(path: &Path, hello: bool) -> Result<Conn> {
        let sock = UnixStream::connect(path)
            .map_err(|e| DbusError::Connect(path.display().to_string(), e))?;
        let mut c = Conn {
            sock,
            serial: 0,
            signals: Vec::new(),
        };
        // SAFETY: geteuid has no side effects.
        let uid = unsafe { libc::geteuid() }.to_string();
        let hex: String = uid.bytes().map(|b| format!("{b:02x}")).collect();
        c.sock
            .write_all(format!("\0AUTH EXTERNAL {hex}\r\n").as_bytes())?;
        let line = c.line()?;
        if !line.starts_with("OK ") {
            return Err(DbusError::Auth(line));
        }
        c.sock.write_all(b"BEGIN\r\n")?;
        if hello {
            c.call(&Call {
                member: "Hello",
                ..BUS
            })?;
        }
        Ok(c)
    }

    fn line(&mut self) -> Result<String> {
        let mut out = Vec::new();
        let mut b = [0u8; 1];
        // Byte by byte: the binary protocol follows the auth lines.
        while !out.ends_with(b"\r\n") {
            if self.sock.read(&mut b)? == 0 || out.len() > 512 {
                return Err(DbusError::Auth(
                    "connection closed during authentication".into(),
                ));
            }
            out.push(b[0]);
        }
        out.truncate(out.len() - 2);
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    pub fn recv(&mut self) -> Result<Msg> {
        let mut h = [0u8; 16];
        self.sock.read_exact(&mut h)?;
        let mut buf = h.to_vec();
        buf.resize(message_len(&h), 0);
        self.sock.read_exact(&mut buf[16..])?;
        parse(&buf)
    }

    /// Send `c` and wait for its reply; signals on the way are kept.
    pub fn call(&mut self, c: &Call) -> Result<Msg> {
        self.serial += 1;
        let serial = self.serial;
        self.sock.write_all(&method_call(c, serial))?;
        loop {
            let m = self.recv()?;
            match m.kind {
                SIGNAL => self.signals.push(m),
                METHOD_RETURN if m.reply_serial == Some(serial) => return Ok(m),
                ERROR if m.reply_serial == Some(serial) => {
                    let text = if m.signature.starts_with('s') {
                        Dec {
                            buf: &m.body,
                            pos: 0,
                        }
                        .string()
                        .unwrap_or_default()
                    } else {
                        String::new()
                    };
                    return Err(DbusError::Remote(m.error_name.unwrap_or_default(), text));
                }
                _ => {}
            }
        }
    }

    /// Wait for a signal `member` whose body satisfies `pred`.
    pub fn wait_signal(&mut self, member: &str, mut pred: impl FnMut(&Msg) -> bool) -> Result<Msg> {
        if let Some(i) = self
            .signals
            .iter()
            .position(|m| m.member.as_deref() == Some(member) && pred(m))
        {
            return Ok(self.signals.remove(i));
        }
        loop {
            let m = self.recv()?;
            if m.kind == SIGNAL && m.member.as_deref() == Some(member) && pred(&m) {
                return Ok(m);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// libdbus's Hello, byte for byte (the sequence every D-Bus tutorial
    /// dumps: path, member, interface, destination; serial 1; no body).
    #[test]
    fn hello_matches_libdbus() {
        let want: &[u8] = b"l\x01\x00\x01\x00\x00\x00\x00\x01\x00\x00\x00m\x00\x00\x00\
\x01\x01o\x00\x15\x00\x00\x00/org/freedesktop/DBus\x00\x00\x00\
\x03\x01s\x00\x05\x00\x00\x00Hello\x00\x00\x00\
\x02\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00\x00\x00\x00\
\x06\x01s\x00\x14\x00\x00\x00org.freedesktop.DBus\x00\x00\x00\x00";
        let got = method_call(
            &Call {
                member: "Hello",
                ..BUS
            },
            1,
        );
        assert_eq!(got, want);
        let m = parse(&got).unwrap();
        assert_eq!(
            (m.kind, m.serial, m.member.as_deref()),
            (METHOD_CALL, 1, Some("Hello"))
        );
    }

    #[test]
    fn arrays_of_structs_align_after_the_length() {
        // a(sv) with one ("Delegate", <true>): length excludes the padding
        // between the length and the first (8-aligned) struct.
        let mut e = Enc::default();
        e.array(8, |e| {
            e.structure(|e| {
                e.string("Delegate");
                e.variant("b", |e| e.boolean(true));
            })
        });
        let want: &[u8] = b"\x14\x00\x00\x00\x00\x00\x00\x00\x08\x00\x00\x00Delegate\x00\x01b\x00\x01\x00\x00\x00";
        assert_eq!(e.buf, want);
    }

    #[test]
    fn an_error_reply_parses() {
        // Built with our encoder (fields: error name, reply serial, signature).
        let mut body = Enc::default();
        body.string("no such unit");
        let mut e = Enc::default();
        e.buf.extend_from_slice(&[b'l', ERROR, 1, 1]);
        e.u32(body.buf.len() as u32);
        e.u32(7);
        e.array(8, |e| {
            e.structure(|e| {
                e.byte(4);
                e.variant("s", |e| e.string("org.freedesktop.systemd1.NoSuchUnit"));
            });
            e.structure(|e| {
                e.byte(5);
                e.variant("u", |e| e.u32(3));
            });
            e.structure(|e| {
                e.byte(8);
                e.variant("g", |e| e.signature("s"));
            });
        });
        e.align(8);
        e.buf.extend_from_slice(&body.buf);
        let h: [u8; 16] = e.buf[..16].try_into().unwrap();
        assert_eq!(message_len(&h), e.buf.len());
        let m = parse(&e.buf).unwrap();
        assert_eq!(m.kind, ERROR);
        assert_eq!(m.reply_serial, Some(3));
        assert_eq!(
            m.error_name.as_deref(),
            Some("org.freedesktop.systemd1.NoSuchUnit")
        );
        assert_eq!(
            Dec {
                buf: &m.body,
                pos: 0
            }
            .string()
            .unwrap(),
            "no such unit"
        );
    }

    #[test]
    fn truncated_input_is_an_error_not_a_panic() {
        assert!(parse(b"l\x02\x00\x01\xff\x00\x00\x00\x01\x00\x00\x00\xff\x00\x00\x00").is_err());
        assert!(parse(b"B").is_err());
    }
}
