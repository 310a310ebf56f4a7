//! `cargo gobuild test` against `go test`: per package, the set of (test,
//! outcome) pairs equals `go test -json`'s on a fixture with internal and
//! external tests, subtests, a skip, a failure, a panic, TestMain, examples,
//! a fuzz target's seeds, testdata, an environment variable and a package
//! without tests; results are cached like go test's and rerun exactly when
//! what a test read changes. And `cargo gobuild run`.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use common::*;

fn our_test(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let t = shared_target().display().to_string();
    let mut all = vec!["test", "-q", "--target-dir", &t];
    all.extend_from_slice(args);
    gobuild_env(dir, &all, env)
}

/// `(package, test, action)` of every pass/fail/skip event of a test2json stream.
fn outcomes(stdout: &[u8]) -> BTreeSet<(String, String, String)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| matches!(e["Action"].as_str(), Some("pass" | "fail" | "skip")))
        .map(|e| {
            (
                e["Package"].as_str().unwrap_or("").to_string(),
                e["Test"].as_str().unwrap_or("").to_string(),
                e["Action"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

#[test]
fn outcomes_equal_go_test_json() {
    let (_tmp, dir) = fixture("gotests");
    let ours = our_test(&dir, &["--message-format", "json", "./..."], &[]);
    assert_eq!(ours.status.code(), Some(101), "{}", text(&ours));
    let theirs = go(&dir, &["test", "-json", "./..."], &[("GOFLAGS", "")]);
    assert_eq!(theirs.status.code(), Some(1));
    let (a, b) = (outcomes(&ours.stdout), outcomes(&theirs.stdout));
    assert_eq!(a, b, "ours vs go test -json");
    // Every line of ours is a test2json event.
    for l in String::from_utf8_lossy(&ours.stdout).lines() {
        let e: serde_json::Value = serde_json::from_str(l).unwrap_or_else(|e| panic!("{l}: {e}"));
        assert!(e["Action"].is_string() && e["Package"].is_string(), "{l}");
    }
    // The real suite of interest is there: subtests, examples, fuzz seeds.
    for t in [
        "TestSub/3-1",
        "ExampleSub",
        "FuzzAdd/seed#1",
        "TestExternal",
        "TestUsesSetup",
    ] {
        assert!(
            a.iter().any(|(_, n, o)| n == t && o == "pass"),
            "{t} did not pass: {a:?}"
        );
    }
    assert!(a.contains(&(
        "example.com/gotests/panics".into(),
        "TestPanics".into(),
        "fail".into()
    )));
    assert!(a.contains(&(
        "example.com/gotests/notests".into(),
        "".into(),
        "skip".into()
    )));
}

#[test]
fn human_output_shows_failures_and_a_summary() {
    let (_tmp, dir) = fixture("gotests");
    let out = our_test(&dir, &["./fails", "./calc"], &[]);
    assert_eq!(out.status.code(), Some(101));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("--- FAIL: TestFailsLoudly"), "{stdout}");
    assert!(stdout.contains("Answer() = 41, want 42"), "{stdout}");
    assert!(
        stdout.contains("FAIL\texample.com/gotests/fails\t"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok  \texample.com/gotests/calc\t"),
        "{stdout}"
    );
    assert!(
        !stdout.contains("TestAdd"),
        "passing tests stay quiet: {stdout}"
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("Summary 2 package(s) tested"), "{stderr}");
    assert!(
        stderr.contains("FAIL example.com/gotests/fails TestFailsLoudly"),
        "{stderr}"
    );
    // --test-verbose prints every test's output, like go test -v.
    let out = our_test(
        &dir,
        &["--test-verbose", "--run", "TestReadsTestdata", "./calc"],
        &[],
    );
    let stdout = ok(&out);
    assert!(stdout.contains("=== RUN   TestReadsTestdata"), "{stdout}");
    assert!(stdout.contains("testdata: hello from testdata"), "{stdout}");
    assert!(!stdout.contains("TestAdd"), "--run selects: {stdout}");
}

fn cached(out: &Output, pkg: &str) -> bool {
    String::from_utf8_lossy(&out.stdout).contains(&format!("ok  \t{pkg}\t(cached)"))
}

#[test]
fn results_are_cached_until_what_a_test_read_changes() {
    let (_tmp, dir) = fixture("gotests");
    let pkgs = ["./calc", "./withmain"];
    let (calc, withmain) = ("example.com/gotests/calc", "example.com/gotests/withmain");
    let run = |env: &[(&str, &str)], extra: &[&str]| {
        let mut a: Vec<&str> = extra.to_vec();
        a.extend(pkgs);
        let out = our_test(&dir, &a, env);
        ok(&out);
        out
    };
    run(&[], &[]);
    let out = run(&[], &[]);
    assert!(
        cached(&out, calc) && cached(&out, withmain),
        "{}",
        text(&out)
    );

    // A testdata file the test reads.
    std::fs::write(dir.join("calc/testdata/input.txt"), "hello again\n").unwrap();
    let out = run(&[], &[]);
    assert!(
        !cached(&out, calc) && cached(&out, withmain),
        "{}",
        text(&out)
    );
    assert!(cached(&run(&[], &[]), calc));

    // An environment variable the test reads.
    let out = run(&[("GOTESTS_VALUE", "other")], &[]);
    assert!(
        !cached(&out, calc) && cached(&out, withmain),
        "{}",
        text(&out)
    );
    assert!(cached(&run(&[("GOTESTS_VALUE", "other")], &[]), calc));
    let out = our_test(&dir, &pkgs, &[("GOTESTS_VALUE", "fail")]);
    assert_eq!(
        out.status.code(),
        Some(101),
        "the variable reaches the test"
    );

    // A source file of the package under test.
    let src = dir.join("withmain/withmain.go");
    let text_before = std::fs::read_to_string(&src).unwrap();
    std::fs::write(
        &src,
        text_before.replace("var Ready bool", "var Ready, Other bool"),
    )
    .unwrap();
    let out = run(&[], &[]);
    assert!(
        cached(&out, calc) && !cached(&out, withmain),
        "{}",
        text(&out)
    );

    // --count 1 runs again, like go test -count=1.
    let out = run(&[], &["--count", "1"]);
    assert!(!cached(&out, calc), "{}", text(&out));
}

#[test]
fn run_passes_stdio_and_the_exit_code_through() {
    let m = temp_module(
        "example.com/runme",
        &[(
            "main.go",
            "package main\n\nimport (\n\t\"fmt\"\n\t\"os\"\n)\n\nfunc main() {\n\tfmt.Println(\"args:\", os.Args[1:])\n\tos.Exit(3)\n}\n",
        )],
    );
    let t = shared_target().display().to_string();
    let out = gobuild(
        m.path(),
        &["run", "-q", "--target-dir", &t, "--", "a", "b c"],
    );
    assert_eq!(out.status.code(), Some(3), "{}", text(&out));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "args: [a b c]\n");
    std::fs::write(
        m.path().join("main.go"),
        "package main\n\nfunc main() { nope }\n",
    )
    .unwrap();
    let out = gobuild(m.path(), &["run", "-q", "--target-dir", &t]);
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    assert!(text(&out).contains("main.go:3"), "{}", text(&out));
}

#[test]
fn third_party_suites_pass_as_under_go_test() {
    // Modules fetched through the Go module proxy, with assembly: xxhash,
    // BLAKE3, cpuid; their own test suites, run from the module cache.
    let (_tmp, dir) = fixture("thirdparty");
    let pkgs = [
        "github.com/cespare/xxhash/v2",
        "lukechampine.com/blake3",
        "github.com/klauspost/cpuid/v2",
    ];
    let mut args = vec!["--message-format", "json"];
    args.extend(pkgs);
    let ours = our_test(&dir, &args, &[]);
    ok(&ours);
    let mut gargs = vec!["test", "-json"];
    gargs.extend(pkgs);
    let theirs = go(&dir, &gargs, &[("GOFLAGS", "")]);
    ok(&theirs);
    let (a, b) = (outcomes(&ours.stdout), outcomes(&theirs.stdout));
    assert!(a.len() > 100, "{} outcomes", a.len());
    assert_eq!(a, b, "ours vs go test -json");
}

#[test]
fn retries_report_flaky_tests_and_junit_is_xml() {
    let m = temp_module(
        "example.com/flaky",
        &[
            ("flaky.go", "package flaky\n"),
            (
                "flaky_test.go",
                "package flaky\n\nimport (\n\t\"os\"\n\t\"testing\"\n)\n\n// Fails the first time, passes after.\nfunc TestFlaky(t *testing.T) {\n\tm := os.Getenv(\"FLAKY_MARKER\")\n\tif _, err := os.Stat(m); err != nil {\n\t\tos.WriteFile(m, nil, 0o644)\n\t\tt.Fatal(\"first run fails\")\n\t}\n}\n\nfunc TestSolid(t *testing.T) {}\n\nfunc TestBroken(t *testing.T) { t.Fatal(\"always\") }\n",
            ),
        ],
    );
    let marker = m.path().join("marker");
    let junit = m.path().join("junit.xml");
    let marker_s = marker.display().to_string();
    let out = our_test(
        m.path(),
        &[
            "--retries",
            "2",
            "--junit",
            junit.to_str().unwrap(),
            "./...",
        ],
        &[("FLAKY_MARKER", &marker_s)],
    );
    // TestBroken still fails: exit 101; TestFlaky is flaky, not failed.
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("FLAKY example.com/flaky TestFlaky (passed on retry 1)"),
        "{err}"
    );
    assert!(err.contains("FAIL example.com/flaky TestBroken"), "{err}");
    assert!(!err.contains("FAIL example.com/flaky TestFlaky"), "{err}");
    let xml = std::fs::read_to_string(&junit).unwrap();
    let doc = roxmltree::Document::parse(&xml).expect("JUnit XML parses");
    let cases: Vec<_> = doc
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .map(|n| {
            (
                n.attribute("name").unwrap_or("").to_string(),
                n.children().any(|c| c.has_tag_name("failure")),
            )
        })
        .collect();
    assert!(cases.contains(&("TestSolid".into(), false)), "{cases:?}");
    assert!(cases.contains(&("TestBroken".into(), true)), "{cases:?}");
    // --race is refused, clearly.
    let out = our_test(m.path(), &["--race", "./..."], &[]);
    assert_eq!(out.status.code(), Some(102));
    assert!(
        text(&out).contains("--race is not supported"),
        "{}",
        text(&out)
    );
}

#[test]
fn a_new_test_function_runs_on_the_next_run() {
    // The load snapshot is reused between test runs; a new test in a
    // _test.go file must still reach the generated test main.
    let (_tmp, dir) = fixture("gotests");
    ok(&our_test(&dir, &["./withmain"], &[]));
    let f = dir.join("withmain/main_test.go");
    let mut src = std::fs::read_to_string(&f).unwrap();
    src.push_str("\nfunc TestAddedLater(t *testing.T) { t.Log(\"added later\") }\n");
    std::fs::write(&f, src).unwrap();
    let out = our_test(
        &dir,
        &["--test-verbose", "--run", "TestAddedLater", "./withmain"],
        &[],
    );
    let stdout = ok(&out);
    assert!(stdout.contains("added later"), "{stdout}");
}

/// A module with a package whose test has a vet problem (a `%d` given a
/// string), one whose external test has one, one without tests that has
/// one, and a package that is clean; the vetted test writes a marker file
/// if it ever runs.
fn vet_module() -> tempfile::TempDir {
    temp_module(
        "example.com/vetme",
        &[
            ("bad/bad.go", "package bad\n\n// Name names.\nfunc Name() string { return \"bad\" }\n"),
            (
                "bad/bad_test.go",
                "package bad\n\nimport (\n\t\"fmt\"\n\t\"os\"\n\t\"testing\"\n)\n\nfunc TestName(t *testing.T) {\n\tif m := os.Getenv(\"VET_MARKER\"); m != \"\" {\n\t\tos.WriteFile(m, nil, 0o644)\n\t}\n\tfmt.Printf(\"%d\\n\", Name())\n}\n",
            ),
            ("xbad/xbad.go", "package xbad\n\n// One is one.\nfunc One() int { return 1 }\n"),
            (
                "xbad/xbad_test.go",
                "package xbad_test\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n\n\t\"example.com/vetme/xbad\"\n)\n\nfunc TestOne(t *testing.T) { fmt.Printf(\"%s\\n\", xbad.One()) }\n",
            ),
            (
                "notests/notests.go",
                "package notests\n\nimport \"fmt\"\n\n// Show shows.\nfunc Show() { fmt.Printf(\"%d\\n\", \"x\") }\n",
            ),
            ("good/good.go", "package good\n\n// Two is two.\nfunc Two() int { return 2 }\n"),
            (
                "good/good_test.go",
                "package good\n\nimport \"testing\"\n\nfunc TestTwo(t *testing.T) {\n\tif Two() != 2 {\n\t\tt.Fatal(\"two\")\n\t}\n}\n",
            ),
            (
                "good/good_ext_test.go",
                "package good_test\n\nimport (\n\t\"fmt\"\n\t\"testing\"\n\n\t\"example.com/vetme/good\"\n)\n\nfunc TestExt(t *testing.T) { fmt.Printf(\"%d\\n\", good.Two()) }\n",
            ),
        ],
    )
}

/// Per package, the lines of go test's build output (its vet message) and
/// its build-fail, from `-json`.
fn build_output(stdout: &[u8]) -> std::collections::BTreeMap<String, Vec<String>> {
    let mut m: std::collections::BTreeMap<String, Vec<String>> = Default::default();
    for e in String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter(|e| e["Action"] == "build-output" || e["Action"] == "build-fail")
    {
        m.entry(e["ImportPath"].as_str().unwrap_or("").to_string())
            .or_default()
            .push(e["Output"].as_str().unwrap_or("(build-fail)").to_string());
    }
    m
}

#[test]
fn a_vet_failure_fails_the_package_as_under_go_test() {
    let m = vet_module();
    let marker = m.path().join("marker");
    let marker_s = marker.display().to_string();
    let env = [("VET_MARKER", marker_s.as_str())];
    let out = our_test(m.path(), &["./..."], &env);
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    assert!(
        !marker.exists(),
        "the test binary of a package that failed vet ran"
    );
    let theirs = go(m.path(), &["test", "./..."], &[("GOFLAGS", "")]);
    assert_eq!(theirs.status.code(), Some(1));
    // The same message, on stderr, as go test prints it.
    let (ours_err, go_err) = (
        String::from_utf8_lossy(&out.stderr),
        String::from_utf8_lossy(&theirs.stderr),
    );
    let vet_line =
        "bad/bad_test.go:13:14: fmt.Printf format %d has arg Name() of wrong type string";
    assert!(go_err.contains(vet_line), "{go_err}");
    assert!(
        ours_err.contains(&format!(
            "# example.com/vetme/bad\n# [example.com/vetme/bad]\n{vet_line}\n"
        )),
        "{ours_err}"
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains("FAIL\texample.com/vetme/bad [build failed]\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ok  \texample.com/vetme/good\t"),
        "{stdout}"
    );
    for p in ["xbad", "notests"] {
        assert!(
            stdout.contains(&format!("FAIL\texample.com/vetme/{p} [build failed]\n")),
            "{stdout}"
        );
    }
    // -json: the build output, the build-fail and the outcomes are go test's.
    let ours = our_test(m.path(), &["--message-format", "json", "./..."], &env);
    let theirs = go(m.path(), &["test", "-json", "./..."], &[("GOFLAGS", "")]);
    let want = build_output(&theirs.stdout);
    assert_eq!(want.len(), 3, "{want:?}");
    assert_eq!(build_output(&ours.stdout), want);
    assert_eq!(outcomes(&ours.stdout), outcomes(&theirs.stdout));
    assert!(!marker.exists());
}

#[test]
fn a_compile_failure_fails_only_the_packages_that_need_it() {
    // a: its test does not compile; b: fine; c: no tests, does not compile;
    // d: imports c. go test builds and runs b, reports the other three as
    // `[build failed]`, and prints c's compile error once.
    let m = temp_module(
        "example.com/kg",
        &[
            ("a/a.go", "package a\n\nfunc A() int { return 1 }\n"),
            (
                "a/a_test.go",
                "package a\n\nimport \"testing\"\n\nfunc TestA(t *testing.T) { _ = undefinedThing }\n",
            ),
            ("b/b.go", "package b\n\nfunc B() int { return 2 }\n"),
            (
                "b/b_test.go",
                "package b\n\nimport \"testing\"\n\nfunc TestB(t *testing.T) {}\n",
            ),
            ("c/c.go", "package c\n\nfunc C() int { return nope }\n"),
            (
                "d/d.go",
                "package d\n\nimport \"example.com/kg/c\"\n\nfunc D() int { return c.C() }\n",
            ),
            (
                "d/d_test.go",
                "package d\n\nimport \"testing\"\n\nfunc TestD(t *testing.T) {}\n",
            ),
        ],
    );
    let out = our_test(m.path(), &["./..."], &[]);
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(stdout.contains("ok  \texample.com/kg/b\t"), "{stdout}");
    for p in ["a", "c", "d"] {
        assert!(
            stdout.contains(&format!("FAIL\texample.com/kg/{p} [build failed]\n")),
            "{stdout}"
        );
    }
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(stderr.matches("undefined: nope").count(), 1, "{stderr}");
    assert!(stderr.contains("undefined: undefinedThing"), "{stderr}");
    assert!(
        stderr.contains("FAIL example.com/kg/d (build failed; the tests did not run)"),
        "{stderr}"
    );
    // -json: the build output (once per failed build), the build-fail and
    // every outcome are go test's.
    let ours = our_test(m.path(), &["--message-format", "json", "./..."], &[]);
    let theirs = go(m.path(), &["test", "-json", "./..."], &[("GOFLAGS", "")]);
    assert_eq!(theirs.status.code(), Some(1));
    let want = build_output(&theirs.stdout);
    assert_eq!(want.len(), 2, "{want:?}");
    assert_eq!(build_output(&ours.stdout), want);
    assert_eq!(outcomes(&ours.stdout), outcomes(&theirs.stdout));
    let failed_build = |stdout: &[u8]| -> BTreeSet<(String, String)> {
        String::from_utf8_lossy(stdout)
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|e| {
                Some((
                    e["Package"].as_str()?.to_string(),
                    e["FailedBuild"].as_str()?.to_string(),
                ))
            })
            .collect()
    };
    assert_eq!(failed_build(&ours.stdout), failed_build(&theirs.stdout));
    assert_eq!(failed_build(&ours.stdout).len(), 3);
}

#[test]
fn vet_is_cached_and_vet_off_runs_none() {
    let m = vet_module();
    let t = shared_target().display().to_string();
    let run = |args: &[&str]| {
        let mut all = vec!["test", "-v", "--target-dir", &t];
        all.extend_from_slice(args);
        gobuild(m.path(), &all)
    };
    let vets = |out: &Output| -> Vec<String> {
        String::from_utf8_lossy(&out.stderr)
            .lines()
            .filter_map(|l| l.trim().strip_prefix("Running vet "))
            .map(str::to_string)
            .collect()
    };
    // The clean package and its external test are vetted (with their
    // dependencies' facts) and pass.
    let first = run(&["./good"]);
    ok(&first);
    let ran = vets(&first);
    for p in [
        "example.com/vetme/good [example.com/vetme/good.test]",
        "example.com/vetme/good_test [example.com/vetme/good.test]",
    ] {
        assert!(ran.iter().any(|r| r == p), "{p} not vetted: {ran:?}");
    }
    // A second run reuses every vet.
    let second = run(&["./good"]);
    assert!(
        cached(&second, "example.com/vetme/good"),
        "{}",
        text(&second)
    );
    assert_eq!(vets(&second), Vec::<String>::new(), "{}", text(&second));
    // --vet off: no vet at all, and the package vet would fail passes.
    let off = run(&["--vet", "off", "--count", "1", "./..."]);
    ok(&off);
    assert_eq!(vets(&off), Vec::<String>::new(), "{}", text(&off));
    assert!(
        !String::from_utf8_lossy(&off.stderr)
            .lines()
            .any(|l| l.trim().starts_with("Dirty vet ")),
        "{}",
        text(&off)
    );
    assert!(
        String::from_utf8_lossy(&off.stdout).contains("ok  \texample.com/vetme/bad\t"),
        "{}",
        text(&off)
    );
    // The existing fixture passes vet, as under go test.
    let (_tmp, dir) = fixture("gotests");
    let out = our_test(&dir, &["./calc", "./withmain"], &[]);
    ok(&out);
}

#[test]
fn a_cgo_package_is_vetted_as_under_go_test() {
    let m = temp_module(
        "example.com/vetcgo",
        &[
            (
                "cg/cg.go",
                "package cg\n\n// static int two(void) { return 2; }\nimport \"C\"\n\nimport \"fmt\"\n\n// Two is two.\nfunc Two() int { return int(C.two()) }\n\n// Show shows.\nfunc Show() { fmt.Printf(\"%s\\n\", Two()) }\n",
            ),
            (
                "cg/cg_test.go",
                "package cg\n\nimport \"testing\"\n\nfunc TestTwo(t *testing.T) {\n\tif Two() != 2 {\n\t\tt.Fatal(\"two\")\n\t}\n}\n",
            ),
        ],
    );
    let cgo = [("CGO_ENABLED", "1")];
    let ours = our_test(m.path(), &["--message-format", "json", "./..."], &cgo);
    assert_eq!(ours.status.code(), Some(101), "{}", text(&ours));
    let theirs = go(
        m.path(),
        &["test", "-json", "./..."],
        &[("GOFLAGS", ""), ("CGO_ENABLED", "1")],
    );
    let want = build_output(&theirs.stdout);
    assert!(
        want.values()
            .flatten()
            .any(|l| l.contains("fmt.Printf format %s has arg Two() of wrong type int")),
        "{want:?}"
    );
    assert_eq!(build_output(&ours.stdout), want);
    assert_eq!(outcomes(&ours.stdout), outcomes(&theirs.stdout));
}
