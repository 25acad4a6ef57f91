// Compiles the small C in csrc/ with `cc`. Today that is only the JSON escape
// helper runc's `test/escape_test.go` links against (`escape_json_string`),
// kept in C so its malloc/free ownership contract is exactly runc's.
fn main() {
    println!("cargo:rerun-if-changed=csrc");
    cc::Build::new()
        .file("csrc/escape.c")
        .flag_if_supported("-Wall")
        .flag_if_supported("-ffunction-sections")
        .flag_if_supported("-fdata-sections")
        .compile("nsexec_csrc");
}
