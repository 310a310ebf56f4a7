//! Edge parity: our call-graph edges equal the linker's `-ldflags=-debugnosplit` lines,
//! for the demo fixture, cmd/gofmt and a net/http program, on amd64 and arm64.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn check_program(name: &str, dir: &Path, pkg: &str, goarch: &str) {
    check_program_env(name, dir, pkg, goarch, &[]);
}

fn check_program_env(name: &str, dir: &Path, pkg: &str, goarch: &str, env: &[(&str, &str)]) {
    check_program_args(name, dir, &[pkg], goarch, env);
}

/// Returns the sorted edge lines (ours == linker's).
fn check_program_args(
    name: &str,
    dir: &Path,
    args: &[&str],
    goarch: &str,
    env: &[(&str, &str)],
) -> Vec<String> {
    let out = tempfile::tempdir().expect("tempdir");
    let bin = out.path().join(name);
    let mut all = vec!["-ldflags=-debugnosplit", "-o", bin.to_str().expect("utf8")];
    all.extend_from_slice(args);
    let b = go_build_env(dir, goarch, &all, env);
    assert!(b.ok, "go build failed:\n{}", b.stderr);
    assert_eq!(b.links.len(), 1, "expected one link step in:\n{}", b.stderr);
    let linker = b.nosplit_lines();
    assert!(
        linker.len() > 1000,
        "too few nosplit lines from the linker ({})",
        linker.len()
    );
    let set = b.links[0].load();
    let report = goobj::stack_check(&set, &goobj::StackCheckOptions::default());
    let mut ours: Vec<String> = report.edges.iter().map(|e| e.debugnosplit_line()).collect();
    ours.sort();
    assert!(
        report.ok(),
        "unexpected violations:\n{}",
        report.format_violations()
    );
    assert_eq!(report.goarch, goarch);
    assert!(
        ours == linker,
        "{name}/{goarch}: edge sets differ\n{}",
        set_diff(&linker, &ours)
    );
    // The same through per-archive summaries: built, then reused.
    let sums = tempfile::tempdir().expect("tempdir");
    for round in 0..2 {
        let (cset, stats) = b.links[0].load_cached(sums.path());
        let creport = goobj::stack_check(&cset, &goobj::StackCheckOptions::default());
        assert_eq!(
            creport.format_edges(),
            report.format_edges(),
            "{name}/{goarch}: edges through summaries (round {round}, {stats:?})"
        );
        assert_eq!(stats.direct, 0, "{stats:?}");
        assert_eq!(
            if round == 0 {
                stats.reused
            } else {
                stats.built
            },
            0,
            "{stats:?}"
        );
    }
    eprintln!(
        "{name}/{goarch} ({}): {} edges identical",
        go_version(),
        ours.len()
    );
    let _ = std::fs::remove_dir_all(&b.work);
    ours
}

fn demo_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/demo");
    copy_dir(&fixture, d.path());
    d
}

fn nethttp_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(d.path().join("go.mod"), go_mod("example.com/nethttp")).expect("write");
    std::fs::write(
        d.path().join("main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n)\n\nfunc main() {\n\thttp.HandleFunc(\"/\", func(w http.ResponseWriter, r *http.Request) { fmt.Fprintln(w, \"hi\") })\n\t_ = http.ListenAndServe(\"127.0.0.1:0\", nil)\n}\n",
    )
    .expect("write");
    d
}

#[test]
fn demo_amd64() {
    let d = demo_dir();
    check_program("demo", d.path(), "./cmd/demo", "amd64");
}

#[test]
fn demo_arm64() {
    let d = demo_dir();
    check_program("demo", d.path(), "./cmd/demo", "arm64");
}

#[test]
fn gofmt_amd64() {
    let d = tempfile::tempdir().expect("tempdir");
    check_program("gofmt", d.path(), "cmd/gofmt", "amd64");
}

#[test]
fn gofmt_arm64() {
    let d = tempfile::tempdir().expect("tempdir");
    check_program("gofmt", d.path(), "cmd/gofmt", "arm64");
}

#[test]
fn nethttp_amd64() {
    let d = nethttp_dir();
    check_program("nethttp", d.path(), ".", "amd64");
}

#[test]
fn nethttp_arm64() {
    let d = nethttp_dir();
    check_program("nethttp", d.path(), ".", "arm64");
}

/// With cgo (host objects from runtime/cgo and net, internal linking): the cgo exports
/// `_cgo_panic` etc. are roots (`cgo_export_dynamic`) and host symbols have no edges.
#[test]
fn nethttp_cgo_amd64() {
    let d = nethttp_dir();
    check_program_env(
        "nethttp-cgo",
        d.path(),
        ".",
        "amd64",
        &[("CGO_ENABLED", "1")],
    );
}

/// DUPOK resolution: a `//go:nosplit` generic instantiated in two packages, one compiled
/// with `-N -l` (bigger frame). The linker keeps the first one loaded unless a later one
/// is larger (`loader.addSym`), so the unoptimized copy wins whichever package loads first.
#[test]
fn dupok_generic_amd64() {
    let d = tempfile::tempdir().expect("tempdir");
    let files: std::collections::HashMap<String, String> = [
        ("go.mod", &*go_mod("example.com/dup").leak()),
        ("g/g.go", "package g\n\n//go:nosplit\n//go:noinline\nfunc Sum[T int | int64 | float64](xs []T) T {\n\tvar s T\n\tfor _, x := range xs {\n\t\ts += x * x\n\t}\n\treturn s\n}\n"),
        ("a/a.go", "package a\n\nimport \"example.com/dup/g\"\n\nfunc A(xs []int) int { return g.Sum(xs) + len(xs) }\n"),
        ("b/b.go", "package b\n\nimport \"example.com/dup/g\"\n\nfunc B(xs []int) int { return g.Sum(xs) * 2 }\n"),
        ("cmd/m/main.go", "package main\n\nimport (\n\t\"example.com/dup/a\"\n\t\"example.com/dup/b\"\n)\n\nfunc main() { println(a.A(nil) + b.B(nil)) }\n"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    write_files(d.path(), &files);
    let sum = "nosplit: example.com/dup/g.Sum[go.shape.int]<1> +72".to_string();
    // a is loaded before b (main imports a first).
    for flags in [
        "-gcflags=example.com/dup/b=-N -l",
        "-gcflags=example.com/dup/a=-N -l",
    ] {
        let edges = check_program_args("dup", d.path(), &[flags, "./cmd/m"], "amd64", &[]);
        assert!(
            edges.contains(&sum),
            "{flags}: the unoptimized Sum should win"
        );
    }
    // Without -N the instantiation is a frameless leaf: no edge at all.
    let edges = check_program_args("dup", d.path(), &["./cmd/m"], "amd64", &[]);
    assert!(!edges.iter().any(|e| e.contains("g.Sum[")), "{edges:?}");
}

/// `-race` (runtime/race loaded by `loadinternal` before runtime; the race syso is a
/// host object). Opt-in: it builds the standard library once more with -race.
#[test]
#[ignore = "builds std with -race (about 1-2 min); run with --ignored"]
fn nethttp_race_amd64() {
    let d = nethttp_dir();
    check_program_args(
        "nethttp-race",
        d.path(),
        &["-race", "."],
        "amd64",
        &[("CGO_ENABLED", "1")],
    );
}

/// cmd/go: a large program (about 14k edges). Opt-in because of build time.
#[test]
#[ignore = "builds cmd/go for two arches (about 1-2 min); run with --ignored"]
fn cmd_go_amd64_arm64() {
    let d = tempfile::tempdir().expect("tempdir");
    check_program("go", d.path(), "cmd/go", "amd64");
    check_program("go", d.path(), "cmd/go", "arm64");
}
