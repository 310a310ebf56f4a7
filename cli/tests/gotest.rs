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
    assert!(text(&out).contains("--race needs cgo"), "{}", text(&out));
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
