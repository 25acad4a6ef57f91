//! `regex` for nsrun's dependencies, answered by `regex-lite` (Cargo.toml
//! says why). Only what oci-spec calls needs to exist: `Regex::new` and
//! `Regex::is_match` (runtime feature), `RegexBuilder` and captures
//! (distribution feature, not built by nsrun but kept compiling).
pub use regex_lite::*;
