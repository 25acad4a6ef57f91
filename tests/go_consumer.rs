//! Go consumers of libnsexec.a (issue #2 part 6).
//!
//! The cgo packages under tests/go/ link the archive the way runc's
//! `libcontainer/nsenter/nsenter.go` links nsexec.c. Each test copies them
//! into a scratch GOPATH with the archive's absolute directory filled in,
//! adds runc's own tests from Debian's source, and runs `go test`. go does
//! not relink when only an external archive changed; instead of `-a` (which
//! rebuilds Go's std every time) the archive's content hash is stamped into
//! the staged sources.
//!
//! * 1.1 profile: Debian's runc 1.1.5 `nsenter_test.go` as shipped.
//! * current profile: the same cases without the 1.1 `\0` byte (initWaiter);
//!   a stray byte would then break the pid JSON decode in reapChildren.
//! * both: runc's `test/escape_test.go` vectors against our
//!   `escape_json_string`, and the glibc cached-tid check in stage-2.
//! * control: runc's own C nsexec passes the nsenter cases and FAILS the
//!   cached-tid check (glibc clone() leaves the tid stale), which proves the
//!   check can fail.

mod common;

use common::{have, lib_dir, root, scratch, skip_unless, Profile};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Mutex;

/// One go build at a time: they share a cache and this machine has 2 cores.
static GO_LOCK: Mutex<()> = Mutex::new(());

const RUNC_NSENTER: &str =
    "/usr/share/gocode/src/github.com/opencontainers/runc/libcontainer/nsenter";

const NSENTER_TESTS: [&str; 4] = [
    "TestNsenterValidPaths",
    "TestNsenterInvalidPaths",
    "TestNsenterIncorrectPathType",
    "TestNsenterChildLogging",
];

/// Which copy of runc's nsenter_test.go goes into the package.
#[derive(Clone, Copy, PartialEq)]
enum NsenterTest {
    /// Debian's 1.1.5 file, minus its `// +build ignore` line.
    Runc11,
    /// The same cases for runc >= 1.2: no initWaiter (`\0` byte) calls.
    Current,
}

fn prerequisites() -> bool {
    !(skip_unless(have("go"), "go not installed")
        || skip_unless(
            Path::new(RUNC_NSENTER).is_dir(),
            "runc 1.1.5 Go source not installed",
        )
        || skip_unless(
            nix::unistd::geteuid().is_root(),
            "needs root (setns into a pid namespace)",
        ))
}

/// Lay out `<scratch>/gopath/src/nsexectest/{nsenter,escapetest,tidcheck}`
/// linking `libdir/libnsexec.a`; returns the GOPATH entry.
fn stage_gopath(name: &str, libdir: &Path, test: NsenterTest) -> PathBuf {
    let gopath = scratch(name).join("gopath");
    let pkgs = gopath.join("src/nsexectest");
    let libdir = libdir.canonicalize().expect("archive dir");
    // go does not hash a linked .a, so it would not relink when only the
    // archive changed. Rather than `-a` (which rebuilds Go's std four times,
    // minutes on this machine), stamp the archive's content hash into every
    // staged file: a changed source is a changed build for go.
    let stamp = {
        use std::hash::{Hash, Hasher};
        let mut h = std::collections::hash_map::DefaultHasher::new();
        fs::read(libdir.join("libnsexec.a"))
            .expect("libnsexec.a")
            .hash(&mut h);
        format!("\n// libnsexec.a content hash {:016x}\n", h.finish())
    };
    for pkg in ["nsenter", "escapetest", "tidcheck"] {
        let src = root().join("tests/go").join(pkg);
        let dst = pkgs.join(pkg);
        fs::create_dir_all(&dst).unwrap();
        for e in fs::read_dir(&src).unwrap() {
            let p = e.unwrap().path();
            let text = fs::read_to_string(&p).unwrap();
            let text = text.replace("@LIBDIR@", libdir.to_str().unwrap()) + &stamp;
            fs::write(dst.join(p.file_name().unwrap()), text).unwrap();
        }
    }
    let runc_test = fs::read_to_string(Path::new(RUNC_NSENTER).join("nsenter_test.go")).unwrap();
    let mut text: String = runc_test
        .lines()
        .filter(|l| l.trim() != "// +build ignore")
        .map(|l| format!("{l}\n"))
        .collect();
    if test == NsenterTest::Current {
        let calls = text.matches("\tinitWaiter(t, parent)\n").count();
        assert_eq!(calls, 4, "runc's nsenter_test.go changed shape");
        text = text.replace("\tinitWaiter(t, parent)\n", "");
    }
    fs::write(pkgs.join("nsenter/nsenter_test.go"), text).unwrap();
    for f in ["escape.go", "escape_test.go"] {
        fs::copy(
            Path::new(RUNC_NSENTER).join("test").join(f),
            pkgs.join("escapetest").join(f),
        )
        .unwrap();
    }
    gopath
}

/// `go <args>` in GOPATH mode over `gopath` and Debian's tree; (success,
/// combined output).
fn go(gopath: &Path, args: &[&str]) -> (bool, String) {
    let _g = GO_LOCK.lock().unwrap_or_else(|e| e.into_inner());
    let out = Command::new("go")
        .args(args)
        .current_dir(gopath)
        .env("GO111MODULE", "off")
        .env("GOPATH", format!("{}:/usr/share/gocode", gopath.display()))
        .env("GOCACHE", root().join("target/go-cache"))
        .env("GOFLAGS", "")
        .env("CGO_ENABLED", "1")
        .output()
        .expect("running go");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// `go test -v` on packages under nsexectest/.
fn go_test(gopath: &Path, pkgs: &[&str]) -> (bool, String) {
    let mut args = vec!["test", "-count=1", "-v", "-timeout", "180s"];
    let pkgs: Vec<String> = pkgs.iter().map(|p| format!("nsexectest/{p}")).collect();
    args.extend(pkgs.iter().map(String::as_str));
    go(gopath, &args)
}

fn assert_passed(ok: bool, out: &str, tests: &[&str]) {
    assert!(ok, "go test failed:\n{out}");
    for t in tests {
        assert!(
            out.contains(&format!("--- PASS: {t} ")),
            "{t} did not run/pass:\n{out}"
        );
    }
    eprintln!("{}", report_line(out, "tidcheck: "));
}

fn all_tests() -> Vec<&'static str> {
    let mut v = NSENTER_TESTS.to_vec();
    v.extend(["TestEscapeJSON", "TestCachedTidInStage2"]);
    v
}

/// Everything against one profile's archive.
fn profile_suite(p: Profile, test: NsenterTest) {
    if !prerequisites() {
        return;
    }
    let gopath = stage_gopath(&format!("go-consumer-{}", p.name()), &lib_dir(p), test);
    let (ok, out) = go_test(&gopath, &["nsenter", "escapetest", "tidcheck"]);
    assert_passed(ok, &out, &all_tests());
}

#[test]
fn runc_1_1_profile_passes_debian_nsenter_tests() {
    profile_suite(Profile::Runc11, NsenterTest::Runc11);
}

#[test]
fn current_profile_passes_adapted_nsenter_tests() {
    profile_suite(Profile::Current, NsenterTest::Current);
}

/// The README's static-build recipe: the same preamble minus -lgcc_s, linked
/// with `-extldflags -static`, gives a static binary whose stage-2 passes the
/// cached-tid check.
#[test]
fn static_build_without_gcc_s() {
    if !prerequisites() || skip_unless(have("readelf"), "no readelf") {
        return;
    }
    let gopath = stage_gopath(
        "go-consumer-static",
        &lib_dir(Profile::Current),
        NsenterTest::Current,
    );
    let f = gopath.join("src/nsexectest/nsenter/nsenter.go");
    let text = fs::read_to_string(&f).unwrap();
    assert!(text.contains(" -lgcc_s"), "{}", f.display());
    fs::write(&f, text.replace(" -lgcc_s", "")).unwrap();
    let bin = gopath.join("tidcheck.test");
    let (ok, out) = go(
        &gopath,
        &[
            "test",
            "-c",
            "-o",
            bin.to_str().unwrap(),
            "-tags",
            "netgo osusergo",
            "-ldflags",
            "-linkmode external -extldflags -static",
            "nsexectest/tidcheck",
        ],
    );
    assert!(ok, "static build failed:\n{out}");
    let headers = Command::new("readelf")
        .arg("-lW")
        .arg(&bin)
        .output()
        .unwrap();
    let headers = String::from_utf8_lossy(&headers.stdout);
    assert!(
        headers.contains("LOAD") && !headers.contains("INTERP"),
        "not static:\n{headers}"
    );
    let run = Command::new(&bin).arg("-test.v").output().unwrap();
    let out = String::from_utf8_lossy(&run.stdout);
    assert!(
        run.status.success() && out.contains("--- PASS: TestCachedTidInStage2 "),
        "{out}"
    );
}

/// The harness itself, against runc's C: the nsenter cases pass and the
/// cached-tid check fails, since glibc's clone() wrapper leaves the tid of
/// stage-0 cached in stage-2.
#[test]
fn runc_c_nsexec_fails_the_cached_tid_check() {
    if !prerequisites() || skip_unless(have("cc") && have("ar"), "no C compiler") {
        return;
    }
    let dir = scratch("go-consumer-runc-c");
    let lib = dir.join("lib");
    fs::create_dir_all(&lib).unwrap();
    let mut objs = Vec::new();
    for f in ["nsexec", "cloned_binary", "escape"] {
        let obj = lib.join(format!("{f}.o"));
        let st = Command::new("cc")
            .args(["-O2", "-c"])
            .arg(Path::new(RUNC_NSENTER).join(format!("{f}.c")))
            .arg("-o")
            .arg(&obj)
            .status()
            .unwrap();
        assert!(st.success(), "compiling runc's {f}.c");
        objs.push(obj);
    }
    let st = Command::new("ar")
        .arg("rcs")
        .arg(lib.join("libnsexec.a"))
        .args(&objs)
        .status();
    assert!(st.unwrap().success(), "ar");

    let gopath = stage_gopath("go-consumer-runc-c/go", &lib, NsenterTest::Runc11);
    let (ok, out) = go_test(&gopath, &["nsenter", "tidcheck"]);
    assert!(
        !ok,
        "runc's C nsexec was expected to fail the cached-tid check:\n{out}"
    );
    for t in NSENTER_TESTS {
        assert!(
            out.contains(&format!("--- PASS: {t} ")),
            "harness: {t} with runc's C:\n{out}"
        );
    }
    assert!(out.contains("--- FAIL: TestCachedTidInStage2 "), "{out}");
    assert!(out.contains("stale glibc cached tid in stage-2"), "{out}");
    eprintln!(
        "control (runc's C nsexec): {}",
        report_line(&out, "stale glibc cached tid")
    );
}

fn report_line<'a>(out: &'a str, needle: &str) -> &'a str {
    out.lines()
        .find(|l| l.contains(needle))
        .unwrap_or("")
        .trim()
}
