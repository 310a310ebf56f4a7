//! cgo: the `cgodemo` fixture (a C file, `#cgo CFLAGS/LDFLAGS`, an
//! `//export` function called back from C, a struct passed both ways) and
//! the standard library's cgo packages (net, os/user), built with
//! `CGO_ENABLED=1` by cargo gobuild and by go build; the command lines
//! against go's; what a C-only edit reruns; a C error as gcc words it.

mod common;

use std::process::Command;

use common::*;

const CGO: &[(&str, &str)] = &[("CGO_ENABLED", "1")];

fn build(dir: &std::path::Path, extra: &[&str]) -> std::process::Output {
    let target = shared_target();
    let mut args = vec!["build", "--target-dir", target.to_str().unwrap()];
    args.extend_from_slice(extra);
    gobuild_env(dir, &args, CGO)
}

/// The build info lines of `go version -m` but the first (the path).
fn modinfo(dir: &std::path::Path, exe: &std::path::Path) -> Vec<String> {
    let m = ok(&go(dir, &["version", "-m", exe.to_str().unwrap()], CGO));
    m.lines().skip(1).map(|l| l.trim().to_string()).collect()
}

#[test]
fn cgodemo_behaves_like_go_build() {
    let (_tmp, dir) = fixture("cgodemo");
    let ours = dir.join("cgodemo-ours");
    let theirs = dir.join("cgodemo-go");
    ok(&build(
        &dir,
        &["-q", "-o", ours.to_str().unwrap(), "./cmd/cgodemo"],
    ));
    ok(&go(
        &dir,
        &["build", "-o", theirs.to_str().unwrap(), "./cmd/cgodemo"],
        CGO,
    ));
    let a = run_program(&mut Command::new(&ours));
    let b = run_program(&mut Command::new(&theirs));
    assert_eq!(a, b);
    assert!(a.contains("scale: {30 40}"), "{a}"); // a struct there and back
    assert!(a.contains("norm: 5.0"), "{a}"); // #cgo LDFLAGS: -lm
    assert!(a.contains("squares: 30"), "{a}"); // C calls the //export back
    assert!(a.contains("greeting: hello from C"), "{a}"); // #cgo CFLAGS: -D
    let m = modinfo(&dir, &ours);
    assert_eq!(m, modinfo(&dir, &theirs));
    assert!(m.iter().any(|l| l == "build\tCGO_ENABLED=1"), "{m:?}");
    assert!(m.iter().any(|l| l == "build\tCGO_CFLAGS="), "{m:?}");
}

#[test]
fn net_and_os_user_with_cgo_behave_like_go_build() {
    let tmp = temp_module(
        "example.com/netuser",
        &[(
            "main.go",
            r#"package main

import (
	"fmt"
	"net"
	"os/user"
)

func main() {
	u, err := user.Current()
	fmt.Println("user:", u != nil && u.Uid != "", err)
	g, err := user.LookupGroupId("0")
	fmt.Println("group 0:", g != nil && g.Name != "", err)
	fmt.Println("ip:", net.ParseIP("127.0.0.1").IsLoopback())
	addrs, err := net.LookupHost("localhost")
	fmt.Println("localhost:", len(addrs) > 0, err)
}
"#,
        )],
    );
    let dir = tmp.path();
    let ours = dir.join("ours");
    let theirs = dir.join("theirs");
    ok(&build(dir, &["-q", "-o", ours.to_str().unwrap(), "."]));
    ok(&go(
        dir,
        &["build", "-o", theirs.to_str().unwrap(), "."],
        CGO,
    ));
    let a = run_program(&mut Command::new(&ours));
    let b = run_program(&mut Command::new(&theirs));
    assert_eq!(a, b);
    assert!(a.contains("user: true <nil>"), "{a}");
    assert_eq!(modinfo(dir, &ours), modinfo(dir, &theirs));
    // The cgo flavour of os/user and net was linked: runtime/cgo is in.
    let syms = Command::new("go")
        .args(["tool", "nm", ours.to_str().unwrap()])
        .output()
        .unwrap();
    let syms = String::from_utf8_lossy(&syms.stdout);
    assert!(syms.contains("_cgo_init"), "no runtime/cgo in the program");
}

#[test]
fn cgo_commands_match_go_build_x() {
    let (_tmp, dir) = fixture("cgodemo");
    common::drift::assert_cgo_no_drift(&dir, &shared_target(), "./cmd/cgodemo");
}

#[test]
fn a_c_edit_reruns_the_c_compile_pack_and_link_not_compile() {
    let (_tmp, dir) = fixture("cgodemo");
    ok(&build(&dir, &["-q", "./cmd/cgodemo"]));
    let c = dir.join("clib/point.c");
    let src = std::fs::read_to_string(&c).unwrap();
    std::fs::write(
        &c,
        src.replace("int s = 0;", "int s = 0; /* edited */ s += 0;"),
    )
    .unwrap();
    let out = build(&dir, &["--message-format", "json", "./cmd/cgodemo"]);
    ok(&out);
    let ran = ran(&events(&out));
    let did = |action: &str, pkg: &str| ran.iter().any(|(a, p, _)| a == action && p == pkg);
    let clib = "example.com/cgodemo/clib";
    assert!(
        ran.iter()
            .any(|(a, p, f)| a == "cc" && p == clib && f == "point.c"),
        "{ran:?}"
    );
    assert!(did("pack", clib), "{ran:?}");
    assert!(did("link", "example.com/cgodemo/cmd/cgodemo"), "{ran:?}");
    assert!(!did("compile", clib), "compile reran: {ran:?}");
    assert!(!did("cgo", clib), "cgo reran: {ran:?}");
    let other_cc: Vec<_> = ran
        .iter()
        .filter(|(a, _, f)| a == "cc" && f != "point.c")
        .collect();
    assert!(other_cc.is_empty(), "other C compiles reran: {other_cc:?}");
}

#[test]
fn a_c_syntax_error_comes_out_verbatim() {
    let (_tmp, dir) = fixture("cgodemo");
    let c = dir.join("clib/point.c");
    let src = std::fs::read_to_string(&c).unwrap();
    // Line 11: `return sqrt(...)` loses its semicolon.
    let broken = src.replace("p.y * p.y));", "p.y * p.y))");
    assert_ne!(broken, src);
    std::fs::write(&c, broken).unwrap();
    let out = build(&dir, &["--color", "never", "./cmd/cgodemo"]);
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("# example.com/cgodemo/clib"), "{err}");
    assert!(err.contains("point.c:11:"), "{err}");
    assert!(err.contains("error: expected"), "{err}"); // gcc's words, verbatim
}

#[test]
fn cgo_off_says_cgo_enabled_0_and_no_c_compiler_says_cc() {
    let (_tmp, dir) = fixture("cgodemo");
    let target = shared_target();
    let t = target.to_str().unwrap();
    let off = gobuild_env(
        &dir,
        &["build", "--target-dir", t, "./cmd/cgodemo"],
        &[("CGO_ENABLED", "0")],
    );
    assert_eq!(off.status.code(), Some(101), "{}", text(&off));
    let e = text(&off);
    assert!(
        e.contains("package example.com/cgodemo/clib needs cgo") && e.contains("CGO_ENABLED=0"),
        "{e}"
    );
    let no_cc = gobuild_env(
        &dir,
        &["build", "--target-dir", t, "./cmd/cgodemo"],
        &[("CGO_ENABLED", "1"), ("CC", "no-such-cc")],
    );
    assert_eq!(no_cc.status.code(), Some(101), "{}", text(&no_cc));
    let e = text(&no_cc);
    assert!(
        e.contains("example.com/cgodemo/clib")
            && e.contains("CC=no-such-cc")
            && e.contains("install gcc")
            && e.contains("CGO_ENABLED=0"),
        "{e}"
    );
}

#[test]
fn cxx_builds_like_go_build_with_cxx_as_the_linker() {
    // C++ files (CXXFLAGS from #cgo, the C++ standard library): compiled
    // with $CXX, the probe and the program linked with it.
    let (_tmp, dir) = fixture("cxxdemo");
    // First, while go's cache has none of this copy (`go build -x`).
    common::drift::assert_cgo_no_drift(&dir, &shared_target(), "./cmd/cxxdemo");
    let ours = dir.join("cxx-ours");
    let theirs = dir.join("cxx-go");
    ok(&build(
        &dir,
        &["-q", "-o", ours.to_str().unwrap(), "./cmd/cxxdemo"],
    ));
    ok(&go(
        &dir,
        &["build", "-o", theirs.to_str().unwrap(), "./cmd/cxxdemo"],
        CGO,
    ));
    let a = run_program(&mut Command::new(&ours));
    assert_eq!(a, run_program(&mut Command::new(&theirs)));
    assert!(a.contains("sum of squares: 385"), "{a}");
    assert!(a.contains("greeting: hello from cplusplus17"), "{a}");
    assert_eq!(modinfo(&dir, &ours), modinfo(&dir, &theirs));

    // A C++ edit (new code) reruns that compile, the pack and the link.
    let cc = dir.join("cxx/adder.cc");
    let src = std::fs::read_to_string(&cc).unwrap();
    std::fs::write(&cc, src.replace("\"hello from \"", "\"greetings from \"")).unwrap();
    let out = build(&dir, &["--message-format", "json", "./cmd/cxxdemo"]);
    ok(&out);
    let ran = ran(&events(&out));
    let pkg = "example.com/cxxdemo/cxx";
    let did = |action: &str| ran.iter().any(|(a, p, _)| a == action && p == pkg);
    assert!(
        ran.iter()
            .any(|(a, p, f)| a == "cc" && p == pkg && f == "adder.cc"),
        "{ran:?}"
    );
    assert!(did("pack"), "{ran:?}");
    assert!(!did("compile") && !did("cgo"), "Go side reran: {ran:?}");
    let exe = artifact(&events(&out));
    let a = run_program(&mut Command::new(exe));
    assert!(a.contains("greeting: greetings from cplusplus17"), "{a}");
}

#[test]
fn a_cc_of_several_words_is_passed_as_go_passes_it() {
    // CC="gcc -m64": the words start every C command, and the linker gets
    // them as one -extld argument (quoted.Join), as cmd/go passes them.
    let (_tmp, dir) = fixture("cgodemo");
    let target = tempfile::tempdir().unwrap();
    common::drift::assert_cgo_no_drift_env(
        &dir,
        target.path(),
        "./cmd/cgodemo",
        &[("CC", "gcc -m64")],
    );
    let out = gobuild_env(
        &dir,
        &[
            "build",
            "-q",
            "--target-dir",
            target.path().to_str().unwrap(),
            "-o",
            dir.join("cc-words").to_str().unwrap(),
            "./cmd/cgodemo",
        ],
        &[("CGO_ENABLED", "1"), ("CC", "gcc -m64")],
    );
    ok(&out);
    let a = run_program(&mut Command::new(dir.join("cc-words")));
    assert!(a.contains("squares: 30"), "{a}");
}
