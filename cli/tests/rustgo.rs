//! Go inside `cargo build`: a Rust crate whose build script uses the
//! `gobuild-build` crate on a Go package (//export functions, Go assembly
//! behind an ABI wrapper, a callback into a C function pointer from Rust,
//! //go:embed); `cargo run` prints what Go computed; an unrelated file does
//! not rerun the build script, a Go edit does.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use common::*;

fn cargo(dir: &Path, target: &Path, args: &[&str]) -> std::process::Output {
    Command::new(std::env::var("CARGO").unwrap_or_else(|_| "cargo".into()))
        .args(args)
        .current_dir(dir)
        .env("CARGO_TARGET_DIR", target)
        .env_remove("GOBUILD_PROFILE")
        .env_remove("RUSTFLAGS")
        .output()
        .expect("run cargo")
}

#[test]
fn a_rust_crate_builds_and_runs_go_through_its_build_script() {
    let (_tmp, dir) = fixture("rustgo");
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let gb = repo.join("gobuild-build").canonicalize().unwrap();
    let manifest = std::fs::read_to_string(dir.join("Cargo.toml.in"))
        .unwrap()
        .replace("@GOBUILD_BUILD@", gb.to_str().unwrap());
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    // The workspace's lock file: the same dependency versions, offline.
    std::fs::copy(repo.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    // Kept between runs: the build dependencies compile once.
    let target: PathBuf = Path::new(env!("CARGO_TARGET_TMPDIR")).join("rustgo-target");

    let out = cargo(&dir, &target, &["run", "--offline", "-q"]);
    let stdout = ok(&out);
    assert_eq!(
        stdout,
        "add: 42\napply: 42\ngreeting: 13\n",
        "{}",
        text(&out)
    );

    // A file outside the Go graph: the build script does not run again.
    std::fs::write(dir.join("NOTES.txt"), "not Go\n").unwrap();
    let out = cargo(&dir, &target, &["build", "--offline", "-v"]);
    ok(&out);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !err.contains("build-script-build`"),
        "the build script reran:\n{err}"
    );

    // A Go input (the embedded file): it does, and the program follows.
    std::fs::write(dir.join("go/mylib/greeting.txt"), "hello again from go\n").unwrap();
    let out = cargo(&dir, &target, &["run", "--offline", "-q"]);
    assert_eq!(
        ok(&out),
        "add: 42\napply: 42\ngreeting: 19\n",
        "{}",
        text(&out)
    );

    // A Go compile error fails the build script with the located message.
    std::fs::write(
        dir.join("go/mylib/main.go"),
        std::fs::read_to_string(dir.join("go/mylib/main.go"))
            .unwrap()
            .replace("func main() {}", "func main() { undefinedThing() }"),
    )
    .unwrap();
    let out = cargo(&dir, &target, &["build", "--offline"]);
    assert!(!out.status.success());
    let all = text(&out);
    assert!(
        all.contains("main.go:") && all.contains("undefinedThing"),
        "{all}"
    );
}
