//! `--systemd-cgroup`. runc talks to systemd over D-Bus (StartTransientUnit
//! of a scope). nsrun only goes as far as finding out whether a systemd is
//! there: without one (as in CI) it fails the way runc would, with a clear
//! message; the D-Bus driver itself is not written yet.

use std::path::Path;

use super::Error;

/// sd_booted(3): /run/systemd/system exists only while systemd is PID 1;
/// the private socket is how runc reaches it as root.
pub fn running() -> bool {
    Path::new("/run/systemd/system").is_dir()
        && (Path::new("/run/systemd/private").exists()
            || Path::new("/run/dbus/system_bus_socket").exists())
}

/// The error for a `--systemd-cgroup` request.
pub fn unavailable() -> Error {
    if running() {
        Error::Systemd(
            "the d-bus driver is not implemented in nsrun; use the cgroupfs driver".into(),
        )
    } else {
        Error::SystemdNotRunning
    }
}
