//! `nsrun spec`: runc's default config.json, byte for byte (tab indented, no
//! trailing newline), and its `--rootless` variant.

/// runc 1.1.5's `spec` output.
const DEFAULT: &str = include_str!("template.json");
/// runc 1.1.5's `spec --rootless` output; `@ID@` takes the euid / egid.
const ROOTLESS: &str = include_str!("template-rootless.json");

/// The template, with the caller's ids in the rootless maps.
pub fn render(rootless: bool, euid: u32, egid: u32) -> String {
    if !rootless {
        return DEFAULT.to_string();
    }
    // The uid map comes first in the file, then the gid map.
    let mut out = String::with_capacity(ROOTLESS.len());
    let mut ids = [euid, egid].into_iter();
    let mut rest = ROOTLESS;
    while let Some(i) = rest.find("@ID@") {
        out.push_str(&rest[..i]);
        out.push_str(&ids.next().unwrap_or(egid).to_string());
        rest = &rest[i + 4..];
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_parse_and_carry_ids() {
        for r in [false, true] {
            let s = render(r, 1000, 1001);
            let v: serde_json::Value = serde_json::from_str(&s).unwrap();
            assert_eq!(v["ociVersion"], "1.0.2-dev");
            if r {
                assert_eq!(v["linux"]["uidMappings"][0]["hostID"], 1000);
                assert_eq!(v["linux"]["gidMappings"][0]["hostID"], 1001);
            }
        }
    }
}
