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

    // Code layout of the nsrun binary. A fault on a file page maps the
    // 64 KiB around it (fault-around), so peak RSS is the number of 64 KiB
    // windows the run touches, not the bytes it runs. src/hot.order lists
    // the functions the everyday commands execute, in first-run order (made
    // by tests/bench/hot-order.sh); LLD puts them first, together. Names a
    // newer build no longer has are skipped.
    println!("cargo:rerun-if-changed=src/hot.order");
    println!("cargo:rerun-if-env-changed=NSRUN_NO_HOT_ORDER");
    // nsrun is a static-pie (ASLR for its own image, as runc's static-pie
    // builds): it relocates itself at every start. RELR (glibc >= 2.36)
    // packs its ~10k relative relocations into a few KiB instead of 240 KiB
    // of .rela.dyn that every start reads.
    println!("cargo:rustc-link-arg-bins=-Wl,-z,pack-relative-relocs");
    let order =
        std::path::Path::new(&std::env::var("CARGO_MANIFEST_DIR").unwrap()).join("src/hot.order");
    if order.exists() && std::env::var_os("NSRUN_NO_HOT_ORDER").is_none() {
        println!(
            "cargo:rustc-link-arg-bins=-Wl,--symbol-ordering-file={}",
            order.display()
        );
        println!("cargo:rustc-link-arg-bins=-Wl,--no-warn-symbol-ordering");
    }
}
