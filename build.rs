// Compiles the small C in csrc/ with `cc`: runc's JSON string escaper with
// runc's exact ownership contract (`escape_json_string`), which the stage's
// log lines use and runc's test/escape_test.go links against.
fn main() {
    println!("cargo:rerun-if-changed=csrc");
    cc::Build::new()
        .file("csrc/escape.c")
        .flag_if_supported("-Wall")
        .flag_if_supported("-ffunction-sections")
        .flag_if_supported("-fdata-sections")
        .compile("nsexec_csrc");
    // The lib bundles the archive; the nsrun binary compiles the stage
    // modules itself (src/main.rs) and needs the object too.
    let out = std::env::var("OUT_DIR").unwrap();
    println!("cargo:rustc-link-arg-bins={out}/libnsexec_csrc.a");
}
