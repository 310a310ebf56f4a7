//! `cargo gobuild test --cover` against `go test -cover` on a module with a
//! partly covered package (internal and external tests), a package with
//! external tests only and a package without tests: the same coverage
//! percentages, the same `-coverprofile` lines in every mode, the same
//! JSON events, and a cached result that still brings its profile back.
//! Without go these tests fail (they never skip).

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Output;

use common::*;

fn our_test(dir: &Path, args: &[&str]) -> Output {
    let t = shared_target().display().to_string();
    let mut all = vec!["test", "-q", "--target-dir", &t];
    all.extend_from_slice(args);
    gobuild(dir, &all)
}

fn go_test(dir: &Path, args: &[&str]) -> Output {
    let mut all = vec!["test"];
    all.extend_from_slice(args);
    let out = go(dir, &all, &[("GOFLAGS", "")]);
    ok(&out);
    out
}

/// `(package, coverage)` of each coverage line go test prints: `ok  \tP\tT\tcoverage: X`
/// and a package without tests' `\tP\t\tcoverage: X`.
fn coverage(stdout: &[u8]) -> BTreeSet<(String, String)> {
    String::from_utf8_lossy(stdout)
        .lines()
        .filter_map(|l| {
            let (head, cov) = l.split_once("\tcoverage: ")?;
            let pkg = head.trim_start_matches("ok  ").trim_matches('\t');
            let pkg = pkg.split('\t').next()?;
            Some((pkg.to_string(), cov.to_string()))
        })
        .collect()
}

fn profile_lines(path: &Path) -> BTreeSet<String> {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn coverage_percentages_equal_go_test_cover() {
    let (_tmp, dir) = fixture("cover");
    let ours = our_test(&dir, &["--cover", "./..."]);
    let theirs = go_test(&dir, &["-cover", "./..."]);
    let (a, b) = (coverage(ok(&ours).as_bytes()), coverage(&theirs.stdout));
    assert_eq!(a, b, "ours:\n{}", text(&ours));
    assert!(
        b.contains(&(
            "example.com/cover/untested".into(),
            "0.0% of statements".into()
        )),
        "{b:?}"
    );
    assert_eq!(b.len(), 3, "{b:?}");
    // The binary's own `coverage:` line is on the ok line, not repeated.
    let stdout = String::from_utf8_lossy(&ours.stdout);
    assert!(
        !stdout.lines().any(|l| l.starts_with("coverage: ")),
        "{stdout}"
    );
    assert!(
        stdout.contains("\texample.com/cover/untested\t\tcoverage: 0.0% of statements\n"),
        "{stdout}"
    );
}

#[test]
fn profiles_equal_go_tests_in_every_mode() {
    let (tmp, dir) = fixture("cover");
    for mode in ["set", "count", "atomic"] {
        let ours = tmp.path().join(format!("ours.{mode}.out"));
        let theirs = tmp.path().join(format!("go.{mode}.out"));
        let (o, t) = (ours.display().to_string(), theirs.display().to_string());
        let out = our_test(&dir, &["--covermode", mode, "--coverprofile", &o, "./..."]);
        let go_out = go_test(&dir, &["-covermode", mode, "-coverprofile", &t, "./..."]);
        assert_eq!(
            coverage(ok(&out).as_bytes()),
            coverage(&go_out.stdout),
            "{mode}"
        );
        let (a, b) = (profile_lines(&ours), profile_lines(&theirs));
        assert_eq!(a, b, "--covermode {mode}: ours vs go test -coverprofile");
        assert!(a.contains(&format!("mode: {mode}")), "{a:?}");
        let text = std::fs::read_to_string(&ours).unwrap();
        assert!(text.starts_with(&format!("mode: {mode}\n")), "{text}");
        assert_eq!(text.matches("mode: ").count(), 1, "{text}");
    }
    // count mode counts: Abs ran six times.
    let count = profile_lines(&tmp.path().join("ours.count.out"));
    assert!(
        count
            .iter()
            .any(|l| l.starts_with("example.com/cover/calc/calc.go:") && l.ends_with(" 6")),
        "{count:?}"
    );
}

#[test]
fn a_cached_result_still_writes_the_profile() {
    let (tmp, dir) = fixture("cover");
    let prof = tmp.path().join("c.out");
    let p = prof.display().to_string();
    let first = our_test(&dir, &["--coverprofile", &p, "./..."]);
    let first_out = ok(&first);
    let want = std::fs::read_to_string(&prof).unwrap();
    std::fs::remove_file(&prof).unwrap();
    let second = our_test(&dir, &["--coverprofile", &p, "./..."]);
    let stdout = ok(&second);
    assert!(
        stdout.contains("ok  \texample.com/cover/calc\t(cached)\tcoverage: 50.0% of statements"),
        "first:\n{first_out}\nsecond:\n{stdout}"
    );
    assert_eq!(std::fs::read_to_string(&prof).unwrap(), want);
    assert_eq!(coverage(first_out.as_bytes()), coverage(stdout.as_bytes()));
}

/// `(package, test, action)` of every pass/fail/skip event.
fn outcomes(stdout: &[u8]) -> BTreeSet<(String, String, String)> {
    json_events(stdout)
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

fn json_events(stdout: &[u8]) -> impl Iterator<Item = serde_json::Value> + '_ {
    std::str::from_utf8(stdout)
        .unwrap()
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
}

/// `(package, output)` of the output events that mention coverage, the
/// elapsed time of an `ok` line left out.
fn coverage_output(stdout: &[u8]) -> BTreeSet<(String, String)> {
    json_events(stdout)
        .filter(|e| e["Action"] == "output")
        .filter_map(|e| {
            let out = e["Output"].as_str()?;
            out.contains("coverage:").then(|| {
                let norm: Vec<&str> = out.split('\t').collect();
                let norm = match norm.as_slice() {
                    ["ok  ", pkg, _time, rest] => format!("ok  \t{pkg}\tT\t{rest}"),
                    _ => out.to_string(),
                };
                (e["Package"].as_str().unwrap_or("").to_string(), norm)
            })
        })
        .collect()
}

#[test]
fn json_coverage_events_equal_go_test_json() {
    let (_tmp, dir) = fixture("cover");
    let ours = our_test(&dir, &["--cover", "--message-format", "json", "./..."]);
    let theirs = go_test(&dir, &["-cover", "-json", "./..."]);
    ok(&ours);
    assert_eq!(outcomes(&ours.stdout), outcomes(&theirs.stdout));
    let (a, b) = (
        coverage_output(&ours.stdout),
        coverage_output(&theirs.stdout),
    );
    assert_eq!(a, b, "ours vs go test -cover -json");
    assert!(
        b.contains(&(
            "example.com/cover/calc".into(),
            "coverage: 50.0% of statements\n".into()
        )),
        "{b:?}"
    );
}
