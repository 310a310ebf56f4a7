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
