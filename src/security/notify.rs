//! Hand a seccomp listener fd to the agent at linux.seccomp.listenerPath,
//! the way runc does (process_linux.go sendContainerProcessState): connect to
//! the unix socket, send one message whose data is the ContainerProcessState
//! JSON and whose SCM_RIGHTS carries the fd named "seccompFd".
//!
//! runc does this from the runtime (the parent), since listenerPath is a host
//! path the container's mount namespace may not see; init passes the fd up.

use std::io::IoSlice;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::os::unix::net::UnixStream;

use nix::sys::socket::{sendmsg, ControlMessage, MsgFlags};

use super::SecurityError;

/// The OCI runtime-spec version the state we send claims.
pub const OCI_VERSION: &str = "1.0.2";

/// The ContainerProcessState JSON: `state_json` is the container's state
/// (as `nsrun state` prints it), `pid` the process the filter belongs to.
pub fn process_state(
    metadata: &str,
    pid: i32,
    state_json: &[u8],
) -> Result<Vec<u8>, SecurityError> {
    let state: serde_json::Value = serde_json::from_slice(state_json)
        .map_err(|e| SecurityError::Seccomp(format!("cannot marshall seccomp state: {e}")))?;
    let v = serde_json::json!({
        "ociVersion": OCI_VERSION,
        "fds": ["seccompFd"],
        "pid": pid,
        "metadata": metadata,
        "state": state,
    });
    Ok(serde_json::to_vec(&v).expect("a json value serializes"))
}

/// Connect to `listener_path` and send `payload` with `fd` attached.
pub fn send_to_agent(
    listener_path: &str,
    payload: &[u8],
    fd: BorrowedFd<'_>,
) -> Result<(), SecurityError> {
    let sock = UnixStream::connect(listener_path).map_err(|e| {
        SecurityError::Seccomp(format!(
            "failed to connect with seccomp agent specified in the seccomp profile: {e}"
        ))
    })?;
    let fds = [fd.as_raw_fd()];
    let cmsg = [ControlMessage::ScmRights(&fds)];
    let iov = [IoSlice::new(payload)];
    let n = sendmsg::<()>(sock.as_raw_fd(), &iov, &cmsg, MsgFlags::MSG_NOSIGNAL, None).map_err(
        |e| SecurityError::Seccomp(format!("cannot send seccomp fd to {listener_path}: {e}")),
    )?;
    if n != payload.len() {
        return Err(SecurityError::Seccomp(format!(
            "cannot send seccomp fd to {listener_path}: short write"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_has_runc_shape() {
        let b = process_state(
            "meta",
            42,
            br#"{"ociVersion":"1.0.2","id":"c","status":"running","pid":7,"bundle":"/b"}"#,
        )
        .unwrap();
        let v: serde_json::Value = serde_json::from_slice(&b).unwrap();
        assert_eq!(v["fds"][0], "seccompFd");
        assert_eq!(v["pid"], 42);
        assert_eq!(v["metadata"], "meta");
        assert_eq!(v["state"]["id"], "c");
    }

    #[test]
    fn a_missing_agent_is_a_clear_error() {
        let f = std::fs::File::open("/dev/null").unwrap();
        use std::os::fd::AsFd;
        let e = send_to_agent("/nonexistent/sec-agent.sock", b"{}", f.as_fd()).unwrap_err();
        assert!(
            e.to_string()
                .starts_with("failed to connect with seccomp agent"),
            "{e}"
        );
    }
}
