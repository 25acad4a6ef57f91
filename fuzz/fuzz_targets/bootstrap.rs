//! Fuzz the bootstrap parser: any bytes must give Ok or an error, never a
//! panic, a hang or an out-of-bounds read (the C parser loops forever on
//! nla_len 0 and reads past the payload on a long nla_len).
#![no_main]
use libfuzzer_sys::fuzz_target;
use nsexec::bootstrap::{Bootstrap, Header, MessageBuilder, NLMSG_HDRLEN};

fuzz_target!(|data: &[u8]| {
    if data.len() >= NLMSG_HDRLEN {
        let hdr: [u8; NLMSG_HDRLEN] = data[..NLMSG_HDRLEN].try_into().unwrap();
        if let Ok((_, n)) = Header::parse(&hdr) {
            let payload = &data[NLMSG_HDRLEN..];
            let _ = Bootstrap::parse(&payload[..n.min(payload.len())]);
        }
    }
    if let Ok(cfg) = Bootstrap::parse(data) {
        if let Some(Ok(list)) = cfg.ns_path_list() {
            // What parses must re-encode to something that parses the same.
            let mut b = MessageBuilder::new();
            b.int32(nsexec::bootstrap::CLONE_FLAGS_ATTR, cfg.clone_flags);
            b.ns_paths(&list).unwrap();
            let m = b.finish(1);
            let again = Bootstrap::parse(&m[NLMSG_HDRLEN..]).unwrap();
            assert_eq!(again.clone_flags, cfg.clone_flags);
        }
    }
});
