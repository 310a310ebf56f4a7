//! The Go version matrix: the oldest and newest supported Go (1.22 and 1.27)
//! besides the Go on PATH that the other tests use. For each, the fixture's
//! tool commands equal that Go's `go build -a -n` (the per-version flags),
//! and the fixture built by cargo gobuild and by that Go's `go build` behave
//! the same.
//!
//! The toolchains come from `scripts/install-go-versions` (`.ci/run` runs
//! it), under `$GOBUILD_TEST_GO_ROOT` (default `<repo>/target/go-versions`).
//! A missing one fails the test; it is never skipped.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use common::*;

/// One extra Go: its GOROOT and the environment that selects it.
struct ExtraGo {
    /// e.g. `go1.22`
    label: String,
    goroot: PathBuf,
    env: Vec<(String, String)>,
}

impl ExtraGo {
    /// Locates Go `minor` (e.g. "1.22") under the install root; panics with
    /// what to run when it is not there.
    fn locate(minor: &str) -> ExtraGo {
        let root = std::env::var_os("GOBUILD_TEST_GO_ROOT")
            .filter(|r| !r.is_empty())
            .map(PathBuf::from)
            .unwrap_or_else(|| {
                Path::new(env!("CARGO_MANIFEST_DIR"))
                    .join("..")
                    .join("target")
                    .join("go-versions")
            });
        let label = format!("go{minor}");
        let goroot = root.join(&label).join("go");
        assert!(
            goroot.join("bin").join("go").is_file(),
            "Go {minor} is not installed: no {}. Run `scripts/install-go-versions` \
             (`.ci/run` does), which installs Go 1.22 and Go 1.27 under \
             $GOBUILD_TEST_GO_ROOT (default <repo>/target/go-versions).",
            goroot.join("bin").join("go").display()
        );
        // A clean path, as `go` prints GOROOT (no `cli/..`).
        let goroot = goroot.canonicalize().unwrap();
        let bin = goroot.join("bin");
        // Both cargo gobuild and `go` find Go through PATH; GOROOT is set to
        // the same root so that a GOROOT in the caller's environment (which
        // wins over PATH for both) cannot pick another Go.
        let path = std::env::join_paths(std::iter::once(bin.clone()).chain(std::env::split_paths(
            &std::env::var_os("PATH").unwrap_or_default(),
        )))
        .unwrap();
        let env = vec![
            ("PATH".to_string(), path.to_string_lossy().into_owned()),
            ("GOROOT".to_string(), goroot.display().to_string()),
            ("GOTOOLCHAIN".to_string(), "local".to_string()),
            ("GOFLAGS".to_string(), String::new()),
        ];
        let go = ExtraGo { label, goroot, env };
        let version = go.go_env("GOVERSION");
        assert!(
            version.starts_with(&format!("go{minor}.")) || version == go.label,
            "{} under {} reports {version}; rerun `scripts/install-go-versions`",
            go.label,
            go.goroot.display()
        );
        go
    }

    fn env(&self) -> Vec<(&str, &str)> {
        self.env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .collect()
    }

    /// `go env NAME` of this Go.
    fn go_env(&self, name: &str) -> String {
        let here = std::env::temp_dir();
        let out = go(&here, &["env", name], &self.env());
        ok(&out).trim().to_string()
    }
}

/// Both checks for Go `minor`, in one target directory of its own, fresh
/// for the drift check (which needs every action to run) and then reused by
/// the build check, so the standard library is built once per Go. Both
/// checks run even if the first fails; the test fails if either did.
fn check(minor: &str) {
    let go = ExtraGo::locate(minor);
    let target = tempfile::tempdir().unwrap();
    let run = |name: &str, f: &dyn Fn()| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
            .err()
            .map(|_| name.to_string())
    };
    let failed: Vec<String> = [
        run("drift (tool commands equal go build -a -n's)", &|| {
            commands_match_go_build_dash_n(&go, target.path())
        }),
        run("build (programs behave like go build's)", &|| {
            fixture_behaves_like_go_build(&go, target.path())
        }),
        run(
            "cover (coverage and profile equal go test -cover's)",
            &|| coverage_equals_go_test(&go, target.path()),
        ),
    ]
    .into_iter()
    .flatten()
    .collect();
    assert!(
        failed.is_empty(),
        "{}: failed checks (messages above): {}",
        go.label,
        failed.join("; ")
    );
}

fn commands_match_go_build_dash_n(go: &ExtraGo, target: &Path) {
    let (_tmp, dir) = fixture("demo");
    let seen = drift::assert_no_drift(&dir, target, &go.env(), &go.label);
    // Both ran this Go's tools, not the ones of the Go on PATH.
    let tooldir = PathBuf::from(go.go_env("GOTOOLDIR"));
    assert!(tooldir.starts_with(&go.goroot), "{}", tooldir.display());
    let want = BTreeSet::from([tooldir]);
    assert_eq!(seen.our_tool_dirs, want, "{}: our tools", go.label);
    assert_eq!(seen.go_tool_dirs, want, "{}: go build -n's tools", go.label);
}

fn fixture_behaves_like_go_build(go: &ExtraGo, target: &Path) {
    let (_tmp, dir) = fixture("demo");
    assert_demo_behaves_like_go_build(&dir, target, &go.env(), &go.label);
    // The program says which Go built it.
    let ours = dir.join("demo-ours");
    let m = ok(&common::go(
        &dir,
        &["version", ours.to_str().unwrap()],
        &go.env(),
    ));
    assert!(m.contains(&format!(": {}.", go.label)), "{}: {m}", go.label);
}

/// `test --covermode count --coverprofile` against this Go's `go test`
/// (Go 1.22 generates its covered test mains with linknames, later ones
/// through internal/coverage/cfile).
fn coverage_equals_go_test(go: &ExtraGo, target: &Path) {
    let (tmp, dir) = fixture("cover");
    let (ours, theirs) = (tmp.path().join("ours.out"), tmp.path().join("go.out"));
    let t = target.display().to_string();
    let (o, g) = (ours.display().to_string(), theirs.display().to_string());
    let args = ["--covermode", "count", "--coverprofile", &o, "./..."];
    let mut all = vec!["test", "-q", "--target-dir", &t];
    all.extend(args);
    let out = gobuild_env(&dir, &all, &go.env());
    let go_out = common::go(
        &dir,
        &["test", "-covermode", "count", "-coverprofile", &g, "./..."],
        &go.env(),
    );
    // (package, coverage) of each coverage line.
    let lines = |s: &str| -> BTreeSet<(String, String)> {
        s.lines()
            .filter_map(|l| {
                let (head, cov) = l.split_once("\tcoverage: ")?;
                let pkg = head.trim_start_matches("ok  ").trim_matches('\t');
                Some((pkg.split('\t').next()?.to_string(), cov.to_string()))
            })
            .collect()
    };
    assert_eq!(lines(&ok(&out)), lines(&ok(&go_out)), "{}", go.label);
    let read = |p: &Path| -> BTreeSet<String> {
        std::fs::read_to_string(p)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(read(&ours), read(&theirs), "{}: profiles", go.label);
}

#[test]
fn go1_22_oldest_supported() {
    check("1.22");
}

#[test]
fn go1_27_newest_supported() {
    check("1.27");
}
