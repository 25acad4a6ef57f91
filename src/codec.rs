//! The one place that knows how a Plan travels to `init`: bincode 2 with the
//! standard config, framed by a native-endian u32 length so the reader knows
//! where the message ends on the stream socket.

use std::io::{Read, Write};
use thiserror::Error;

/// Largest frame accepted; a plan is a few KiB, this only stops a bogus length.
const MAX_FRAME: usize = 16 << 20;

#[derive(Debug, Error)]
pub enum CodecError {
    #[error("encode plan: {0}")]
    Encode(#[from] bincode::error::EncodeError),
    #[error("decode plan: {0}")]
    Decode(#[from] bincode::error::DecodeError),
    #[error("plan frame of {0} bytes is too large")]
    TooLarge(usize),
    #[error("plan i/o: {0}")]
    Io(#[from] std::io::Error),
}

/// Encode `v` and write it as one length-prefixed frame.
pub fn send<T: bincode::Encode, W: Write>(w: &mut W, v: &T) -> Result<(), CodecError> {
    let body = bincode::encode_to_vec(v, bincode::config::standard())?;
    let mut frame = Vec::with_capacity(4 + body.len());
    frame.extend_from_slice(&(body.len() as u32).to_ne_bytes());
    frame.extend_from_slice(&body);
    w.write_all(&frame)?;
    Ok(())
}

/// Read one frame written by [`send`] and decode it.
pub fn recv<T: bincode::Decode<()>, R: Read>(r: &mut R) -> Result<T, CodecError> {
    let mut len = [0u8; 4];
    r.read_exact(&mut len)?;
    let len = u32::from_ne_bytes(len) as usize;
    if len > MAX_FRAME {
        return Err(CodecError::TooLarge(len));
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    let (v, _) = bincode::decode_from_slice(&body, bincode::config::standard())?;
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(bincode::Encode, bincode::Decode, Debug, PartialEq)]
    struct T {
        a: Vec<String>,
        b: Option<u32>,
    }

    #[test]
    fn round_trip_and_framing() {
        let v = T {
            a: vec!["x".into(), "yz".into()],
            b: Some(7),
        };
        let mut buf = Vec::new();
        send(&mut buf, &v).unwrap();
        send(&mut buf, &v).unwrap();
        let mut r = &buf[..];
        assert_eq!(recv::<T, _>(&mut r).unwrap(), v);
        assert_eq!(recv::<T, _>(&mut r).unwrap(), v);
        assert!(r.is_empty());
    }

    #[test]
    fn refuses_huge_and_truncated_frames() {
        let mut r = &(u32::MAX.to_ne_bytes())[..];
        assert!(matches!(recv::<T, _>(&mut r), Err(CodecError::TooLarge(_))));
        let mut buf = Vec::new();
        send(&mut buf, &T { a: vec![], b: None }).unwrap();
        buf.pop();
        assert!(matches!(
            recv::<T, _>(&mut &buf[..]),
            Err(CodecError::Io(_))
        ));
    }
}
