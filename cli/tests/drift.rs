//! Drift test: every tool command cargo gobuild runs for the fixture equals
//! the one `go build -a -n` prints for the same package and Go version,
//! once work directories, build IDs and the scheduling-only `-c=N` are
//! normalised. A new Go version that changes a flag fails this test. The
//! check itself is `common::drift`; `go_versions.rs` runs it with Go 1.22
//! and Go 1.27.
//!
//! `commands_match_go_build_dash_n_for_every_port` does the same for cross
//! builds: every first-class port and a few more, go with `GOOS`/`GOARCH`,
//! cargo gobuild with `--goos`/`--goarch` (both `CGO_ENABLED=0`). That is
//! where a target-dependent default (pie on windows and darwin, `-shared`
//! on darwin) shows.

mod common;

use common::*;

#[test]
fn commands_match_go_build_dash_n() {
    let (_tmp, dir) = fixture("demo");
    let target = tempfile::tempdir().unwrap();
    common::drift::assert_no_drift(&dir, target.path(), &[], "go on PATH");
}

/// Go's first-class ports (go.dev/wiki/PortingPolicy), then a few more
/// with their own assembly, ABI or object format.
const CROSS_TARGETS: &[(&str, &str)] = &[
    ("linux", "amd64"),
    ("linux", "arm64"),
    ("linux", "386"),
    ("linux", "arm"),
    ("darwin", "amd64"),
    ("darwin", "arm64"),
    ("windows", "amd64"),
    ("windows", "arm64"),
    ("linux", "riscv64"),
    ("linux", "s390x"),
    ("linux", "ppc64le"),
    ("linux", "loong64"),
    ("freebsd", "amd64"),
    ("windows", "386"),
];

/// Every target in one test, one target directory: each builds its own
/// standard library (a few seconds each), and every drifting target is
/// reported at once.
#[test]
fn commands_match_go_build_dash_n_for_every_port() {
    let (_tmp, dir) = fixture("demo");
    let target = tempfile::tempdir().unwrap();
    let mut failed = Vec::new();
    for &(goos, goarch) in CROSS_TARGETS {
        let label = format!("{goos}/{goarch}");
        if let Err(e) =
            common::drift::check_drift(&dir, target.path(), &[], Some((goos, goarch)), &label)
        {
            failed.push(e);
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} targets drifted:\n\n{}",
        failed.len(),
        CROSS_TARGETS.len(),
        failed.join("\n\n")
    );
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
