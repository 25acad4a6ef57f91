//! The systemd driver's D-Bus client against a real message bus: a
//! dbus-daemon started here on a private socket (no systemd needed). SASL
//! EXTERNAL, Hello and its NameAcquired signal, a method call round trip,
//! and an error reply turned into a typed error.

#[path = "../src/cgroups/mod.rs"]
mod cgroups;
mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cgroups::dbus::{Call, Conn, DbusError, Dec, BUS};

struct Daemon(Child, std::path::PathBuf);
impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn daemon(tag: &str) -> Option<Daemon> {
    if common::skip_unless(common::have("dbus-daemon"), "dbus-daemon not installed") {
        return None;
    }
    let dir = common::scratch(&format!("cg2-dbus-{tag}"));
    let sock = dir.join("bus");
    let _ = std::fs::remove_file(&sock);
    let child = Command::new("dbus-daemon")
        .args(["--session", "--nofork", "--nopidfile"])
        .arg(format!("--address=unix:path={}", sock.display()))
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let d = Daemon(child, sock.clone());
    let end = Instant::now() + Duration::from_secs(5);
    while !sock.exists() && Instant::now() < end {
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(sock.exists(), "dbus-daemon did not come up");
    Some(d)
}

#[test]
fn hello_and_a_method_call_round_trip() {
    let Some(d) = daemon("ok") else { return };
    let mut c = Conn::open(&d.1, true).unwrap();
    // The bus names us in NameAcquired right after Hello.
    let sig = c.wait_signal("NameAcquired", |_| true).unwrap();
    let name = Dec {
        buf: &sig.body,
        pos: 0,
    }
    .string()
    .unwrap();
    assert!(name.starts_with(':'), "{name}");
    // GetNameOwner(our own unique name) answers with that name.
    let mut body = cgroups::dbus::Enc::default();
    body.string(&name);
    let r = c
        .call(&Call {
            member: "GetNameOwner",
            signature: "s",
            body: &body.buf,
            ..BUS
        })
        .unwrap();
    assert_eq!(r.signature, "s");
    assert_eq!(
        Dec {
            buf: &r.body,
            pos: 0
        }
        .string()
        .unwrap(),
        name
    );
}

#[test]
fn an_error_reply_is_a_typed_error() {
    let Some(d) = daemon("err") else { return };
    let mut c = Conn::open(&d.1, true).unwrap();
    let e = c
        .call(&Call {
            member: "NoSuchMethodHere",
            ..BUS
        })
        .unwrap_err();
    match e {
        DbusError::Remote(name, _) => assert_eq!(name, "org.freedesktop.DBus.Error.UnknownMethod"),
        e => panic!("{e}"),
    }
}

#[test]
fn no_bus_is_a_clear_connect_error() {
    let e = Conn::open(std::path::Path::new("/nonexistent/cg2/bus"), true)
        .err()
        .unwrap();
    assert!(
        e.to_string()
            .starts_with("d-bus connect /nonexistent/cg2/bus: "),
        "{e}"
    );
}
