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

/// `#cgo` lines and pkg-config arguments cmd/go refuses or lets through,
/// each in a package of its own: cargo gobuild refuses exactly the packages
/// go build refuses, with go's message, and builds the others.
#[test]
fn cgo_flags_are_refused_exactly_as_go_refuses_them() {
    let lines = [
        "CFLAGS: -fplugin=evil.so",
        "CFLAGS: -O2 -Wall -DFOO=1 -std=c99",
        "CFLAGS: -I",
        "CFLAGS: -Wp,-DX=1",
        "CFLAGS: -Wa,--defsym,x=1",
        "CPPFLAGS: -DX=@y",
        "CPPFLAGS: -D X",
        "CPPFLAGS: -include @rsp",
        "CXXFLAGS: -frtti -fno-exceptions",
        "LDFLAGS: -Wl,--push-state,--as-needed -lm -Wl,--pop-state",
        "LDFLAGS: -Wl,--push-state,-fplugin",
        "LDFLAGS: -Wl,-rpath,/opt/lib -L/opt/lib",
        "LDFLAGS: -Wl,-rpath,/opt,-foo",
        "LDFLAGS: -lto_library",
        "LDFLAGS: -Wl,-z,relro,-z,now",
        "LDFLAGS: --plugin=x.so",
        "pkg-config: --foo zlib",
        "pkg-config: -bar",
    ];
    let mut files = Vec::new();
    for (i, line) in lines.iter().enumerate() {
        files.push((
            format!("p{i}/p.go"),
            format!("package p{i}\n\n// #cgo {line}\nimport \"C\"\n\nvar X = 1\n"),
        ));
    }
    let refs: Vec<(&str, &str)> = files
        .iter()
        .map(|(a, b)| (a.as_str(), b.as_str()))
        .collect();
    let tmp = temp_module("example.com/flags", &refs);
    let dir = tmp.path();
    let mut refused = 0;
    for (i, line) in lines.iter().enumerate() {
        let pkg = format!("./p{i}");
        let theirs = go(dir, &["build", &pkg], CGO);
        let ours = build(dir, &["-q", &pkg]);
        let go_err = String::from_utf8_lossy(&theirs.stderr).trim().to_string();
        if theirs.status.success() {
            assert!(
                ours.status.success(),
                "go builds `#cgo {line}`, we do not: {}",
                text(&ours)
            );
            continue;
        }
        refused += 1;
        assert!(
            go_err.contains("invalid"),
            "go failed otherwise on `#cgo {line}`: {go_err}"
        );
        assert_eq!(
            ours.status.code(),
            Some(101),
            "`#cgo {line}`: {}",
            text(&ours)
        );
        assert!(
            text(&ours).contains(&go_err),
            "`#cgo {line}`: go says\n{go_err}\nwe say\n{}",
            text(&ours)
        );
    }
    // The list holds both kinds.
    assert!(refused >= 8 && refused < lines.len(), "{refused} refused");

    // CGO_CFLAGS_ALLOW and _DISALLOW override the lists for both tools.
    for env in [
        [("CGO_ENABLED", "1"), ("CGO_CFLAGS_ALLOW", "-fplugin=.*")],
        [("CGO_ENABLED", "1"), ("CGO_CFLAGS_DISALLOW", "-Wall")],
    ] {
        for pkg in ["./p0", "./p1"] {
            let theirs = go(dir, &["build", pkg], &env);
            let target = shared_target();
            let ours = gobuild_env(
                dir,
                &["build", "-q", "--target-dir", target.to_str().unwrap(), pkg],
                &env,
            );
            assert_eq!(
                theirs.status.success(),
                ours.status.success(),
                "{env:?} {pkg}: go: {}\nours: {}",
                String::from_utf8_lossy(&theirs.stderr),
                text(&ours)
            );
        }
    }
}

/// The section names of an ELF program, in order: internal and external
/// links of the same program lay them out differently.
fn section_names(exe: &std::path::Path) -> Vec<String> {
    use object::{Object, ObjectSection};
    let data = std::fs::read(exe).unwrap();
    let file = object::File::parse(&*data).unwrap();
    file.sections()
        .map(|s| s.name().unwrap_or("").to_string())
        .collect()
}

/// C flags the internal linker cannot take (`-flto` in `CGO_CFLAGS`) put
/// a `preferlinkext` member in the cgo archives, and a program that go
/// would link internally (only the standard library's cgo) is linked
/// externally, as go links it — internally its LTO objects do not link.
#[test]
fn lto_c_flags_make_the_link_external_as_go_does() {
    let tmp = temp_module(
        "example.com/lto",
        &[(
            "main.go",
            "package main\n\nimport (\n\t\"fmt\"\n\t\"net\"\n)\n\nfunc main() {\n\taddrs, err := net.LookupHost(\"localhost\")\n\tfmt.Println(\"localhost:\", len(addrs) > 0, err)\n}\n",
        )],
    );
    let dir = tmp.path();
    let target = shared_target();
    let mut layouts = Vec::new();
    for cflags in ["-O2 -g", "-O2 -g -flto"] {
        let env = [("CGO_ENABLED", "1"), ("CGO_CFLAGS", cflags)];
        let ours = dir.join("ours");
        let theirs = dir.join("theirs");
        let out = gobuild_env(
            dir,
            &[
                "build",
                "-q",
                "--target-dir",
                target.to_str().unwrap(),
                "-o",
                ours.to_str().unwrap(),
                ".",
            ],
            &env,
        );
        ok(&out);
        ok(&go(
            dir,
            &["build", "-o", theirs.to_str().unwrap(), "."],
            &env,
        ));
        let a = run_program(&mut Command::new(&ours));
        assert_eq!(
            a,
            run_program(&mut Command::new(&theirs)),
            "CGO_CFLAGS={cflags}"
        );
        assert!(a.contains("localhost: true <nil>"), "{a}");
        let layout = section_names(&ours);
        assert_eq!(layout, section_names(&theirs), "CGO_CFLAGS={cflags}");
        layouts.push(layout);
    }
    // The two links differ, so the comparison above tells them apart.
    assert_ne!(layouts[0], layouts[1]);
}
