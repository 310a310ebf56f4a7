//! Edge parity: our call-graph edges equal the linker's `-ldflags=-debugnosplit` lines,
//! for the demo fixture, cmd/gofmt and a net/http program, on amd64 and arm64.

mod common;
use common::*;
use std::path::{Path, PathBuf};

fn check_program(name: &str, dir: &Path, pkg: &str, goarch: &str) {
    check_program_env(name, dir, pkg, goarch, &[]);
}

fn check_program_env(name: &str, dir: &Path, pkg: &str, goarch: &str, env: &[(&str, &str)]) {
    let out = tempfile::tempdir().expect("tempdir");
    let bin = out.path().join(name);
    let b = go_build_env(dir, goarch, &["-ldflags=-debugnosplit", "-o", bin.to_str().expect("utf8"), pkg], env);
    assert!(b.ok, "go build failed:\n{}", b.stderr);
    assert_eq!(b.links.len(), 1, "expected one link step in:\n{}", b.stderr);
    let linker = b.nosplit_lines();
    assert!(linker.len() > 1000, "too few nosplit lines from the linker ({})", linker.len());
    let set = b.links[0].load();
    let report = goobj::stack_check(&set, &goobj::StackCheckOptions::default());
    let mut ours: Vec<String> = report.edges.iter().map(|e| e.debugnosplit_line()).collect();
    ours.sort();
    assert!(report.ok(), "unexpected violations:\n{}", report.format_violations());
    assert_eq!(report.goarch, goarch);
    assert!(ours == linker, "{name}/{goarch}: edge sets differ\n{}", set_diff(&linker, &ours));
    eprintln!("{name}/{goarch}: {} edges identical", ours.len());
    let _ = std::fs::remove_dir_all(&b.work);
}

fn demo_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/demo");
    copy_dir(&fixture, d.path());
    d
}

fn nethttp_dir() -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    std::fs::write(d.path().join("go.mod"), "module example.com/nethttp\n\ngo 1.26\n").expect("write");
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
    check_program_env("nethttp-cgo", d.path(), ".", "amd64", &[("CGO_ENABLED", "1")]);
}
