//! Shared helpers of the integration tests: fixture copies, running the real
//! binary, reading its JSON events, and running `go` for comparisons.
//!
//! Tests that need Go or qemu fail (they do not skip) when the tool is missing.
#![allow(dead_code)]

pub mod buildgrid;
pub mod drift;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_cargo-gobuild"))
}

/// The repository's `tests/fixtures` directory.
pub fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join("tests")
        .join("fixtures")
}

/// Copies `tests/fixtures/<name>` into a fresh temp dir; returns (guard, module dir).
pub fn fixture(name: &str) -> (tempfile::TempDir, PathBuf) {
    let tmp = tempfile::tempdir().expect("temp dir");
    let dest = tmp.path().join(name);
    copy_dir(&fixtures().join(name), &dest);
    (tmp, dest)
}

/// Recursive copy.
pub fn copy_dir(src: &Path, dest: &Path) {
    std::fs::create_dir_all(dest).unwrap();
    for e in std::fs::read_dir(src).unwrap() {
        let e = e.unwrap();
        let to = dest.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &to);
        } else {
            std::fs::copy(e.path(), &to).unwrap();
        }
    }
}

/// A target directory shared by the tests of one run, so the standard
/// library is built once (its keys do not depend on the fixture copy).
pub fn shared_target() -> PathBuf {
    let d = Path::new(env!("CARGO_TARGET_TMPDIR")).join("shared-target");
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Runs `cargo-gobuild ARGS` in `dir` (as `cargo gobuild` would: argv[1] = gobuild).
pub fn gobuild(dir: &Path, args: &[&str]) -> Output {
    gobuild_env(dir, args, &[])
}

/// Same, with extra environment variables.
pub fn gobuild_env(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(bin());
    c.arg("gobuild").args(args).current_dir(dir);
    c.env_remove("CARGO_TARGET_DIR")
        .env_remove("GOBUILD_PROFILE");
    // Like `go` below: cgo off unless a test turns it on (`env` wins).
    c.env("CGO_ENABLED", "0");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run cargo-gobuild")
}

/// Asserts success and returns stdout, printing everything on failure.
pub fn ok(out: &Output) -> String {
    assert!(
        out.status.success(),
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Everything the command printed, for messages.
pub fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The JSON events of a `--message-format json` run.
pub fn events(out: &Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
        .collect()
}

/// `(action, package, file)` of every action that ran (not cached).
pub fn ran(events: &[Value]) -> Vec<(String, String, String)> {
    events
        .iter()
        .filter(|e| e["reason"] == "action-finished" && e["outcome"] == "ran")
        .map(|e| {
            (
                e["action"].as_str().unwrap_or_default().to_string(),
                e["package"].as_str().unwrap_or_default().to_string(),
                e["file"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

/// The build-finished event.
pub fn finished(events: &[Value]) -> &Value {
    events
        .iter()
        .rev()
        .find(|e| e["reason"] == "build-finished")
        .expect("a build-finished event")
}

/// Runs `go ARGS` in `dir` with CGO disabled (what cargo gobuild builds with).
pub fn go(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new("go");
    c.args(args).current_dir(dir).env("CGO_ENABLED", "0");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output()
        .expect("`go` must be installed for these tests (CI installs it)")
}

/// Runs a program and returns its stdout (asserting success).
pub fn run_program(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    ok(&out)
}

/// The path of the one program a build wrote (its `artifact` event).
pub fn artifact(events: &[Value]) -> String {
    let arts: Vec<&str> = events
        .iter()
        .filter(|e| e["reason"] == "artifact")
        .filter_map(|e| e["path"].as_str())
        .collect();
    assert_eq!(arts.len(), 1, "expected one artifact: {events:?}");
    arts[0].to_string()
}

/// A throwaway Go module: `go.mod` for `module` and the given files.
pub fn temp_module(module: &str, files: &[(&str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("temp dir");
    std::fs::write(
        tmp.path().join("go.mod"),
        format!("module {module}\n\ngo 1.22\n"),
    )
    .unwrap();
    for (name, text) in files {
        let path = tmp.path().join(name);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
    tmp
}

/// Builds `./cmd/demo` of the fixture copy `dir` with cargo gobuild (into
/// `target`) and with `go build`, both with `env`, runs both programs and
/// asserts the same output and the same `go version -m` build info (but its
/// first line, the path). Returns the programs' output. `label` names the Go
/// in failure messages.
pub fn assert_demo_behaves_like_go_build(
    dir: &Path,
    target: &Path,
    env: &[(&str, &str)],
    label: &str,
) -> String {
    let ours = dir.join("demo-ours");
    let theirs = dir.join("demo-go");
    ok(&gobuild_env(
        dir,
        &[
            "build",
            "-q",
            "--target-dir",
            target.to_str().unwrap(),
            "-o",
            ours.to_str().unwrap(),
            "./cmd/demo",
        ],
        env,
    ));
    ok(&go(
        dir,
        &["build", "-o", theirs.to_str().unwrap(), "./cmd/demo"],
        env,
    ));
    let a = run_program(&mut Command::new(&ours));
    let b = run_program(&mut Command::new(&theirs));
    assert_eq!(a, b, "{label}: the programs print different things");
    assert!(
        a.contains("add: 42") && a.contains("apply: 22") && a.contains("scale: 40"),
        "{label}: {a}"
    );
    assert!(a.contains("embedded: demo-embedded-v1"), "{label}: {a}");

    // The build info reads back with `go version -m`, like go build's.
    let m = ok(&go(dir, &["version", "-m", ours.to_str().unwrap()], env));
    let g = ok(&go(dir, &["version", "-m", theirs.to_str().unwrap()], env));
    let lines =
        |s: &str| -> Vec<String> { s.lines().skip(1).map(|l| l.trim().to_string()).collect() };
    assert_eq!(lines(&m), lines(&g), "{label}: go version -m differs");
    assert!(
        m.contains("path\texample.com/demo/cmd/demo"),
        "{label}: {m}"
    );
    a
}
