//! End-to-end tests of `cargo gobuild build`: parity with `go build` on the
//! fixture and on GOROOT programs, rebuild behaviour read from the JSON
//! events, cross-building for arm64 (run under qemu), and the error cases.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn t_dir() -> String {
    target_arg()
}

fn target_arg() -> String {
    shared_target().display().to_string()
}

#[test]
fn fixture_behaves_like_go_build() {
    let (_tmp, dir) = fixture("demo");
    assert_demo_behaves_like_go_build(&dir, &shared_target(), &[], "go on PATH");
}

#[test]
fn default_output_goes_under_target_gobuild_profile_target() {
    let (_tmp, dir) = fixture("demo");
    let t = target_arg();
    let out = gobuild(
        &dir,
        &["build", "--message-format", "json", "--target-dir", &t],
    );
    ok(&out);
    let ev = events(&out);
    let art: Vec<_> = ev.iter().filter(|e| e["reason"] == "artifact").collect();
    assert_eq!(art.len(), 1, "{ev:?}");
    let path = art[0]["path"].as_str().unwrap();
    assert_eq!(
        Path::new(path),
        shared_target().join("gobuild/dev/linux_amd64/demo"),
        "{path}"
    );
    assert!(run_program(&mut Command::new(path)).contains("add: 42"));
}

#[test]
fn rebuilds_run_only_what_changed() {
    let (_tmp, dir) = fixture("demo");
    let t = target_arg();
    let json = |dir: &Path| {
        let out = gobuild(
            dir,
            &["build", "--message-format", "json", "--target-dir", &t],
        );
        ok(&out);
        events(&out)
    };
    json(&dir);

    // Nothing changed: no tool runs.
    let ev = json(&dir);
    assert_eq!(ran(&ev), vec![], "no-op rebuild ran actions");
    assert_eq!(finished(&ev)["ran"], 0);

    // Touching a file without changing it: still nothing.
    let main_go = dir.join("cmd/demo/main.go");
    let content = std::fs::read(&main_go).unwrap();
    std::thread::sleep(std::time::Duration::from_millis(20));
    std::fs::write(&main_go, &content).unwrap();
    let ev = json(&dir);
    assert_eq!(ran(&ev), vec![], "touch reran actions");

    // A comment appended to a file: the compile reruns, but its archive
    // differs only in its build ID, so the checks and the link are reused.
    let mut with_comment = content.clone();
    with_comment.extend_from_slice(b"\n// a comment changes no code\n");
    std::fs::write(&main_go, &with_comment).unwrap();
    let ev = json(&dir);
    let r: Vec<String> = ran(&ev)
        .into_iter()
        .map(|(a, p, _)| format!("{a} {p}"))
        .collect();
    assert_eq!(
        r,
        vec!["compile example.com/demo/cmd/demo"],
        "a comment edit must not relink"
    );

    // A Go edit that keeps the export data: that compile, then link only.
    let sum_go = dir.join("sum/sum.go");
    let src = std::fs::read_to_string(&sum_go).unwrap();
    std::fs::write(&sum_go, src.replace("x*3 + 1", "x*3 + 2")).unwrap();
    let ev = json(&dir);
    let r = ran(&ev);
    let mut kinds: Vec<(&str, &str)> = r.iter().map(|(a, p, _)| (a.as_str(), p.as_str())).collect();
    kinds.sort();
    assert_eq!(
        kinds,
        vec![
            ("abi-report", "example.com/demo/cmd/demo"),
            ("compile", "example.com/demo/sum"),
            ("link", "example.com/demo/cmd/demo"),
            ("nosplit", "example.com/demo/cmd/demo"),
            ("pack", "example.com/demo/sum"),
        ],
        "an edit that keeps the export data must not recompile dependents"
    );

    // An edit that changes the export data (a new exported constant) also
    // recompiles the importer.
    let src = std::fs::read_to_string(&sum_go).unwrap();
    std::fs::write(&sum_go, format!("{src}\nconst Extra = 1\n")).unwrap();
    let ev = json(&dir);
    let compiled: Vec<String> = ran(&ev)
        .into_iter()
        .filter(|(a, _, _)| a == "compile")
        .map(|(_, p, _)| p)
        .collect();
    assert_eq!(
        compiled,
        vec!["example.com/demo/sum", "example.com/demo/cmd/demo"]
    );
}

#[test]
fn verbose_says_why_an_action_ran_and_prints_commands() {
    let (_tmp, dir) = fixture("demo");
    let t = target_arg();
    ok(&gobuild(&dir, &["build", "-q", "--target-dir", &t]));
    let f = dir.join("cmd/demo/main.go");
    let src = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, src.replace("30!:", "30! =")).unwrap();
    let out = gobuild(
        &dir,
        &["build", "-v", "--target-dir", &t, "--color", "never"],
    );
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("Dirty compile example.com/demo/cmd/demo: file main.go changed"),
        "{err}"
    );
    let compile_line = err
        .lines()
        .find(|l| l.contains("Running `") && l.contains("/compile "))
        .unwrap_or_else(|| panic!("no compile command in {err}"));
    assert!(
        compile_line.contains("-p main") && compile_line.contains("-importcfg"),
        "{compile_line}"
    );
}

#[test]
fn goroot_programs_behave_like_go_build() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let t = target_arg();
    for prog in ["gofmt", "nm"] {
        let ours = dir.join(format!("{prog}-ours"));
        let theirs = dir.join(format!("{prog}-go"));
        let pkg = format!("cmd/{prog}");
        ok(&gobuild(
            dir,
            &[
                "build",
                "-q",
                "--target-dir",
                &t,
                "-o",
                ours.to_str().unwrap(),
                &pkg,
            ],
        ));
        ok(&go(
            dir,
            &["build", "-o", theirs.to_str().unwrap(), &pkg],
            &[],
        ));
    }
    // gofmt on real, badly formatted input.
    let messy = dir.join("messy.go");
    std::fs::write(
        &messy,
        "package  main\nimport \"fmt\"\nfunc main( ) {\nx:=[]int{1,2,\n3}\n  fmt.Println( x )}\n",
    )
    .unwrap();
    let a = run_program(Command::new(dir.join("gofmt-ours")).arg(&messy));
    let b = run_program(Command::new(dir.join("gofmt-go")).arg(&messy));
    assert_eq!(a, b);
    assert!(a.contains("x := []int{1, 2,"), "{a}");
    // -d prints a diff and exits 1 when the file is not formatted.
    let a = Command::new(dir.join("gofmt-ours"))
        .args(["-d", messy.to_str().unwrap()])
        .output()
        .unwrap();
    let b = Command::new(dir.join("gofmt-go"))
        .args(["-d", messy.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(a.status.code(), b.status.code());
    assert_eq!(text(&a), text(&b));
    assert!(text(&a).contains("+\tfmt.Println(x)"), "{}", text(&a));
    // nm on a real binary (the go-built gofmt).
    let input = dir.join("gofmt-go");
    let a = run_program(Command::new(dir.join("nm-ours")).args(["-n", input.to_str().unwrap()]));
    let b = run_program(Command::new(dir.join("nm-go")).args(["-n", input.to_str().unwrap()]));
    assert!(a.lines().count() > 1000, "nm printed too little");
    assert_eq!(a, b);
}

#[test]
fn arm64_cross_build_runs_under_qemu() {
    let (_tmp, dir) = fixture("demo");
    let t = target_arg();
    let arm = dir.join("demo-arm64");
    let amd = dir.join("demo-amd64");
    ok(&gobuild(
        &dir,
        &[
            "build",
            "-q",
            "--target-dir",
            &t,
            "--goarch",
            "arm64",
            "-o",
            arm.to_str().unwrap(),
            "./cmd/demo",
        ],
    ));
    ok(&gobuild(
        &dir,
        &[
            "build",
            "-q",
            "--target-dir",
            &t,
            "-o",
            amd.to_str().unwrap(),
            "./cmd/demo",
        ],
    ));
    let data = std::fs::read(&arm).unwrap();
    assert_eq!(&data[..4], b"\x7fELF");
    assert_eq!(
        u16::from_le_bytes([data[18], data[19]]),
        183,
        "not an aarch64 ELF"
    );
    let a = run_program(Command::new("qemu-aarch64").arg(&arm));
    let b = run_program(&mut Command::new(&amd));
    assert_eq!(a, b);
}

#[test]
fn error_no_go_toolchain() {
    let (_tmp, dir) = fixture("demo");
    let empty = tempfile::tempdir().unwrap();
    let out = gobuild_env(
        &dir,
        &["build", "--target-dir", empty.path().to_str().unwrap()],
        &[("PATH", empty.path().to_str().unwrap()), ("GOROOT", "")],
    );
    assert_eq!(out.status.code(), Some(102), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("no Go toolchain found"), "{t}");
    assert!(t.contains("hint: install Go 1.22 or newer"), "{t}");
}

#[test]
fn error_pattern_matches_nothing() {
    let (_tmp, dir) = fixture("demo");
    let t = target_arg();
    let out = gobuild(&dir, &["build", "--target-dir", &t, "./nothing/..."]);
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("./nothing/...") && t.contains("no such file or directory"),
        "{t}"
    );
    // A directory without Go files matches nothing either.
    std::fs::create_dir_all(dir.join("empty/sub")).unwrap();
    let out = gobuild(&dir, &["build", "--target-dir", &t_dir(), "./empty/..."]);
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    assert!(
        text(&out).contains("no packages matched [\"./empty/...\"]"),
        "{}",
        text(&out)
    );
}

#[test]
fn error_compile_failure_is_located_and_not_cached() {
    let (_tmp, dir) = fixture("demo");
    let t = target_arg();
    let f = dir.join("sum/sum.go");
    let src = std::fs::read_to_string(&f).unwrap();
    std::fs::write(
        &f,
        src.replace("return x*3 + 1", "return x*3 + undefinedThing"),
    )
    .unwrap();
    for attempt in 0..2 {
        let out = gobuild(
            &dir,
            &["build", "--message-format", "json", "--target-dir", &t],
        );
        assert_eq!(out.status.code(), Some(101), "{}", text(&out));
        let ev = events(&out);
        let diag = ev
            .iter()
            .find(|e| e["reason"] == "diagnostic" && e["level"] == "error")
            .expect("an error diagnostic");
        let msg = diag["message"].as_str().unwrap();
        assert!(msg.starts_with("# example.com/demo/sum\n"), "{msg}");
        assert!(
            msg.contains("sum.go:8:") && msg.contains("undefined: undefinedThing"),
            "{msg}"
        );
        let failed: Vec<_> = ev
            .iter()
            .filter(|e| e["reason"] == "action-finished" && e["outcome"] == "failed")
            .collect();
        assert_eq!(failed.len(), 1, "attempt {attempt}: {failed:?}");
        assert_eq!(failed[0]["action"], "compile");
        assert!(ev.iter().all(|e| e["reason"] != "artifact"));
    }
    // Human output shows the compiler's message verbatim.
    let out = gobuild(&dir, &["build", "--target-dir", &t, "--color", "never"]);
    assert_eq!(out.status.code(), Some(101));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("# example.com/demo/sum") && err.contains("undefined: undefinedThing"),
        "{err}"
    );
}

#[test]
fn error_cgo_only_package() {
    let tmp = temp_module(
        "example.com/cgo",
        &[(
            "main.go",
            "package main\n\n// int two(void) { return 2; }\nimport \"C\"\n\nfunc main() { println(C.two()) }\n",
        )],
    );
    let dir = tmp.path();
    let out = gobuild(
        dir,
        &[
            "build",
            "--target-dir",
            dir.join("target").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("package example.com/cgo needs cgo"), "{t}");
    assert!(t.contains("main.go"), "{t}");
}

#[test]
fn error_package_error_has_position() {
    let tmp = temp_module(
        "example.com/bad",
        &[(
            "main.go",
            "package main\n\nimport \"example.com/bad/missing\"\n\nfunc main() { missing.F() }\n",
        )],
    );
    let dir = tmp.path();
    let out = gobuild(
        dir,
        &[
            "build",
            "--target-dir",
            dir.join("target").to_str().unwrap(),
        ],
    );
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let t = text(&out);
    assert!(t.contains("main.go:3:8"), "{t}");
}

#[test]
fn concurrent_build_waits_for_the_lock() {
    let (_tmp, dir) = fixture("demo");
    let target = tempfile::tempdir().unwrap();
    let t = target.path().to_str().unwrap().to_string();
    // A cold build (its own target dir) holds the lock for seconds.
    let first = std::process::Command::new(bin())
        .args(["gobuild", "build", "-q", "--target-dir", &t])
        .current_dir(&dir)
        .env("CGO_ENABLED", "0") // as `gobuild` below runs it
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(500));
    let out = gobuild(
        &dir,
        &["build", "--message-format", "json", "--target-dir", &t],
    );
    let first = first.wait_with_output().unwrap();
    assert!(first.status.success());
    ok(&out);
    let ev = events(&out);
    assert!(
        ev.iter().any(|e| e["reason"] == "diagnostic"
            && e["level"] == "note"
            && e["message"]
                .as_str()
                .unwrap_or("")
                .contains("waiting for another build")),
        "the second build did not report waiting: {ev:?}"
    );
    assert_eq!(
        ran(&ev),
        vec![],
        "the second build should find everything cached"
    );
}

#[test]
fn killed_build_leaves_a_usable_cache() {
    let (_tmp, dir) = fixture("demo");
    let target = tempfile::tempdir().unwrap();
    let t = target.path().to_str().unwrap().to_string();
    for delay in [700u64, 1500] {
        let mut child = std::process::Command::new(bin())
            .args(["gobuild", "build", "-q", "--target-dir", &t])
            .current_dir(&dir)
            .spawn()
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(delay));
        child.kill().unwrap();
        child.wait().unwrap();
    }
    let out = gobuild(
        &dir,
        &["build", "--message-format", "json", "--target-dir", &t],
    );
    ok(&out);
    let ev = events(&out);
    let path = artifact(&ev);
    assert!(
        run_program(&mut Command::new(&path)).contains("30!: 265252859812191058636308480000000")
    );
    let again = gobuild(
        &dir,
        &["build", "--message-format", "json", "--target-dir", &t],
    );
    assert_eq!(ran(&events(&again)), vec![]);
}

#[test]
fn verbose_commands_can_be_rerun_and_clean_removes_everything() {
    let (_tmp, dir) = fixture("demo");
    let target = tempfile::tempdir().unwrap();
    let t = target.path().to_str().unwrap();
    let out = gobuild(
        &dir,
        &["build", "-v", "--color", "never", "--target-dir", t],
    );
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    // The link command printed by -v runs again as printed (its work
    // directory is kept until the next build).
    let line = err
        .lines()
        .find(|l| l.contains("Running `") && l.contains("/link "))
        .expect("a link command");
    let cmd = line.split_once('`').unwrap().1.trim_end_matches('`');
    let rerun = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(rerun.status.success(), "{cmd}\n{}", text(&rerun));
    assert!(
        err.contains("Finished `dev` profile [linux/amd64]"),
        "{err}"
    );

    let gobuild_dir = target.path().join("gobuild");
    assert!(gobuild_dir.join("cache").is_dir());
    let out = gobuild(&dir, &["clean", "--target-dir", t]);
    ok(&out);
    let left: Vec<_> = std::fs::read_dir(&gobuild_dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != ".lock")
        .collect();
    assert!(left.is_empty(), "clean left {left:?}");
    // And the next build starts from nothing.
    let out = gobuild(
        &dir,
        &["build", "--message-format", "json", "--target-dir", t],
    );
    ok(&out);
    assert_eq!(finished(&events(&out))["cached"], 0);
}

#[test]
fn third_party_modules_with_assembly_behave_like_go_build() {
    // Modules fetched through the Go module proxy: xxhash (amd64/arm64
    // assembly), BLAKE3 (amd64 assembly), x/sys/cpu.
    let (_tmp, dir) = fixture("thirdparty");
    let t = target_arg();
    for goarch in ["amd64", "arm64"] {
        let ours = dir.join(format!("tp-ours-{goarch}"));
        let theirs = dir.join(format!("tp-go-{goarch}"));
        ok(&gobuild(
            &dir,
            &[
                "build",
                "-q",
                "--goarch",
                goarch,
                "--target-dir",
                &t,
                "-o",
                ours.to_str().unwrap(),
                ".",
            ],
        ));
        ok(&go(
            &dir,
            &["build", "-o", theirs.to_str().unwrap(), "."],
            &[("GOARCH", goarch)],
        ));
        let run = |p: &Path| {
            if goarch == "amd64" {
                run_program(&mut Command::new(p))
            } else {
                run_program(Command::new("qemu-aarch64").arg(p))
            }
        };
        let a = run(&ours);
        assert_eq!(a, run(&theirs), "{goarch}");
        assert!(a.contains("xxhash: d127a7818d57b4c8"), "{a}");
        let m = ok(&go(&dir, &["version", "-m", ours.to_str().unwrap()], &[]));
        let g = ok(&go(&dir, &["version", "-m", theirs.to_str().unwrap()], &[]));
        let deps = |s: &str| -> Vec<String> {
            s.lines()
                .filter(|l| l.trim_start().starts_with("dep"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(deps(&m), deps(&g));
        assert_eq!(deps(&m).len(), 4, "{m}");
    }
}

#[test]
fn a_new_module_is_loaded_without_listing_the_standard_library() {
    // The first module's full load saves the standard library's packages
    // (a standard package no earlier load listed would mean a full load);
    // a second, new module is then put together from them and `go list
    // -find` (local packages, an embed, a name import), and the result is
    // checked against `go list -deps` field by field and in order
    // (GOBUILD_CHECK_FAST_LOAD fails the build on any difference).
    let target = tempfile::tempdir().unwrap();
    let t = target.path().to_str().unwrap();
    for cgo in ["0", "1"] {
        let first = temp_module(
            "example.com/first",
            &[(
                "main.go",
                "package main\n\nimport (\n\t_ \"crypto/sha256\"\n\t_ \"embed\"\n\t\"fmt\"\n\t\"net/http\"\n)\n\nfunc main() { fmt.Println(http.StatusOK) }\n",
            )],
        );
        let env = [("CGO_ENABLED", cgo), ("GOBUILD_CHECK_FAST_LOAD", "1")];
        ok(&gobuild_env(
            first.path(),
            &["build", "-q", "--target-dir", t, "."],
            &env,
        ));
        let second = temp_module(
            "example.com/second",
            &[
                (
                    "main.go",
                    "// Command second.\npackage main\n\nimport (\n\t\"crypto/sha256\"\n\t\"fmt\"\n\tnet \"net/http\"\n\n\t\"example.com/second/lib\"\n)\n\nfunc main() {\n\tfmt.Printf(\"%x %d %s\\n\", sha256.Sum256([]byte(lib.Name())), net.StatusOK, lib.Word)\n}\n",
                ),
                (
                    "lib/lib.go",
                    "package lib\n\nimport (\n\t_ \"embed\"\n\t\"strings\"\n\n\t\"example.com/second/lib/inner\"\n)\n\n//go:embed word.txt\nvar Word string\n\n// Name is upper case.\nfunc Name() string { return strings.ToUpper(inner.Name) }\n",
                ),
                ("lib/word.txt", "embedded"),
                ("lib/inner/inner.go", "package inner\n\n// Name names.\nconst Name = \"second\"\n"),
            ],
        );
        let exe = second.path().join("second-ours");
        let out = gobuild_env(
            second.path(),
            &[
                "build",
                "--message-format",
                "json",
                "--target-dir",
                t,
                "-o",
                exe.to_str().unwrap(),
                ".",
            ],
            &env,
        );
        ok(&out);
        let note = events(&out).into_iter().find(|e| {
            e["reason"] == "diagnostic"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("without listing the standard library"))
        });
        assert!(
            note.is_some(),
            "CGO_ENABLED={cgo}: the full load ran: {}",
            text(&out)
        );
        let theirs = second.path().join("second-go");
        ok(&go(
            second.path(),
            &["build", "-o", theirs.to_str().unwrap(), "."],
            &[("CGO_ENABLED", cgo)],
        ));
        assert_eq!(
            run_program(&mut Command::new(&exe)),
            run_program(&mut Command::new(&theirs))
        );
    }
}
