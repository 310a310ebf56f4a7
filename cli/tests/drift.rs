//! Drift test: every tool command cargo gobuild runs for the fixture equals
//! the one `go build -a -n` prints for the same package and Go version,
//! once work directories, build IDs and the scheduling-only `-c=N` are
//! normalised. A new Go version that changes a flag fails this test. The
//! check itself is `common::drift`; `go_versions.rs` runs it with Go 1.22
//! and Go 1.27.

mod common;

use common::*;

#[test]
fn commands_match_go_build_dash_n() {
    let (_tmp, dir) = fixture("demo");
    let target = tempfile::tempdir().unwrap();
    common::drift::assert_no_drift(&dir, target.path(), &[], "go on PATH");
}

#[test]
fn an_unclean_goroot_is_cleaned_like_cmd_go_does() {
    // GOROOT as a user may set it (`.../bin/..`): go env echoes it as set,
    // cmd/go cleans it; the -I paths of our commands must be go's.
    let out = std::process::Command::new("go")
        .args(["env", "GOROOT"])
        .output()
        .expect("go");
    let goroot = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let unclean = format!("{goroot}/bin/../");
    let (_tmp, dir) = fixture("demo");
    let target = tempfile::tempdir().unwrap();
    common::drift::assert_no_drift(
        &dir,
        target.path(),
        &[("GOROOT", &unclean)],
        "GOROOT with bin/..",
    );
}
