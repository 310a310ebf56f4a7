//! `go test -cover`: which packages of a test load are instrumented, with
//! which mode, and the test mains as go test generates them under `-cover`.
//!
//! As `cmd/go/internal/test/test.go` selects them without `-coverpkg`
//! (`cover.Local`): in each test binary the tested package (its internal
//! test variant `P [P.test]`, else `P` itself) with the requested mode, the
//! test main in mode `testmain`, and a named package without tests
//! everywhere it is built, with a meta-data file (`GenMeta`) its
//! `coverage: 0.0% of statements` line is computed from. `go list -cover
//! -test` lists the packages a covered binary links (`runtime/coverage`,
//! `internal/coverage/...`) but writes each test main without the cover
//! hooks (`cmd/go/internal/list` passes no cover to `TestPackagesFor`), so
//! they are added here as `load/test.go`'s `testmainTmpl` adds them for
//! this toolchain (read from its `testing/internal/testdeps`).
//!
//! cmd/go (`work/exec.go`, `runCover`) names the cover variables
//! `goCover_<first 12 hex digits of SHA-256(import path)>_`: a function of
//! the import path (not of an action ID), so [`cover_var`] is byte-identical.

use std::path::Path;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::error::{Error, IoContext, Result};
use crate::load::PackageGraph;

/// How a package is instrumented (cmd/go's `Internal.Cover`).
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct CoverSetup {
    /// `set`, `count`, `atomic`, or `testmain` for a test main.
    pub mode: String,
    /// Write the package's static meta-data file (a named package without
    /// tests: its coverage line comes from it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub gen_meta: bool,
}

/// The modes `-covermode` takes.
pub const MODES: &[&str] = &["set", "count", "atomic"];

/// `goCover_<hash>_`, the prefix of a package's cover variables.
pub fn cover_var(import_path: &str) -> String {
    let sum = Sha256::digest(import_path.as_bytes());
    let hex: String = sum[..6].iter().map(|b| format!("{b:02x}")).collect();
    format!("goCover_{hex}_")
}

/// The name of a package's meta-data file as cmd/go names it
/// (`covcmd.MetaFileForPackage`): `covmeta.<SHA-256(import path)>`.
pub fn meta_file_name(import_path: &str) -> String {
    let sum = Sha256::digest(import_path.as_bytes());
    let hex: String = sum.iter().map(|b| format!("{b:02x}")).collect();
    format!("covmeta.{hex}")
}

/// The files of a covered package the cover tool rewrites: its Go files
/// but the tests (`base.IsTestFile`).
pub fn covered_files(p: &crate::load::GoPackage) -> Vec<String> {
    p.go_files
        .iter()
        .filter(|f| !f.ends_with("_test.go"))
        .cloned()
        .collect()
}

/// The file of counters and meta-data the cover tool writes first.
pub const COVERVARS: &str = "covervars.go";

/// The instrumented copy of a Go file (`x.go` → `x.cover.go`).
pub fn cover_name(file: &str) -> String {
    let base = file.rsplit('/').next().unwrap_or(file);
    format!("{}.cover.go", base.strip_suffix(".go").unwrap_or(base))
}

/// The shape of a toolchain's test main under `-cover`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TestmainFlavor {
    /// Go 1.22: `_ "unsafe"`, `//go:linkname`s into runtime/coverage and
    /// `testing_registerCover2` in main.
    Linkname,
    /// Go 1.23+: `internal/coverage/cfile` and the `testdeps.Cover*` hooks
    /// in init (`CoverSelectedPackages` where testdeps has it).
    Cfile {
        /// Does testdeps have `CoverSelectedPackages`?
        selected: bool,
    },
}

impl TestmainFlavor {
    /// Reads the flavor off the toolchain's `testing/internal/testdeps`.
    pub fn of(goroot: &Path) -> Result<TestmainFlavor> {
        let deps = goroot.join("src/testing/internal/testdeps/deps.go");
        let text = std::fs::read_to_string(&deps).at(&deps)?;
        Ok(if text.contains("CoverProcessTestDirFunc") {
            TestmainFlavor::Cfile {
                selected: text.contains("CoverSelectedPackages"),
            }
        } else {
            TestmainFlavor::Linkname
        })
    }
}

fn quote(s: &str) -> String {
    serde_json::to_string(s).expect("a string serializes")
}

fn insert_after(text: &mut String, anchor: &str, what: &str) -> Option<()> {
    let at = text.find(anchor)? + anchor.len();
    text.insert_str(at, what);
    Some(())
}

/// The test main `go list -test` wrote, as go test writes it under `-cover`
/// (`testmainTmpl` with `.Cover` set; `tested` is the tested package);
/// `None` if it does not look like one.
pub fn cover_testmain(
    src: &str,
    flavor: TestmainFlavor,
    mode: &str,
    tested: &str,
) -> Option<String> {
    let mut t = src.to_string();
    match flavor {
        TestmainFlavor::Cfile { selected } => {
            insert_after(
                &mut t,
                "\t\"testing/internal/testdeps\"\n",
                "\n\t\"internal/coverage/cfile\"\n",
            )?;
            let mut hooks = format!(
                "\n\ttestdeps.CoverMode = {}\n\ttestdeps.Covered = \"\"\n",
                quote(mode)
            );
            if selected {
                hooks.push_str(&format!(
                    "\ttestdeps.CoverSelectedPackages = []string{{{}}}\n",
                    quote(tested)
                ));
            }
            hooks.push_str(
                "\ttestdeps.CoverSnapshotFunc = cfile.Snapshot\n\
                 \ttestdeps.CoverProcessTestDirFunc = cfile.ProcessCoverTestDir\n\
                 \ttestdeps.CoverMarkProfileEmittedFunc = cfile.MarkProfileEmitted\n\n",
            );
            insert_after(&mut t, "\nfunc init() {\n", &hooks)?;
        }
        TestmainFlavor::Linkname => {
            insert_after(&mut t, "\t\"os\"\n", "\n\t_ \"unsafe\"\n")?;
            let at = t.find("\n\nfunc main() {\n")?;
            t.insert_str(at, &LINKNAME_HOOKS.replace("MODE", &quote(mode)));
            insert_after(
                &mut t,
                "\nfunc main() {\n",
                &format!(
                    "\n\ttesting_registerCover2({}, coverTearDown, runtime_coverage_snapshot)\n",
                    quote(mode)
                ),
            )?;
        }
    }
    Some(t)
}

/// Go 1.22's `testmainTmplNewCoverage` cover block (`MODE` quoted in).
const LINKNAME_HOOKS: &str = r#"

//go:linkname runtime_coverage_processCoverTestDir runtime/coverage.processCoverTestDir
func runtime_coverage_processCoverTestDir(dir string, cfile string, cmode string, cpkgs string) error

//go:linkname testing_registerCover2 testing.registerCover2
func testing_registerCover2(mode string, tearDown func(coverprofile string, gocoverdir string) (string, error), snapcov func() float64)

//go:linkname runtime_coverage_markProfileEmitted runtime/coverage.markProfileEmitted
func runtime_coverage_markProfileEmitted(val bool)

//go:linkname runtime_coverage_snapshot runtime/coverage.snapshot
func runtime_coverage_snapshot() float64

func coverTearDown(coverprofile string, gocoverdir string) (string, error) {
	var err error
	if gocoverdir == "" {
		gocoverdir, err = os.MkdirTemp("", "gocoverdir")
		if err != nil {
			return "error setting GOCOVERDIR: bad os.MkdirTemp return", err
		}
		defer os.RemoveAll(gocoverdir)
	}
	runtime_coverage_markProfileEmitted(true)
	cmode := MODE
	if err := runtime_coverage_processCoverTestDir(gocoverdir, coverprofile, cmode, ""); err != nil {
		return "error generating coverage report", err
	}
	return "", nil
}
"#;

/// Marks what a `-cover` test build instruments (see the module doc) and
/// rewrites each test main (kept in `testmain_dir`) with the cover hooks.
pub fn mark_covered(
    graph: &mut PackageGraph,
    mode: &str,
    goroot: &Path,
    testmain_dir: &Path,
) -> Result<()> {
    let flavor = TestmainFlavor::of(goroot)?;
    let cfile = graph.get("internal/coverage/cfile");
    let set = |mode: &str, gen_meta: bool| {
        Some(CoverSetup {
            mode: mode.to_string(),
            gen_meta,
        })
    };
    let mut marks: Vec<(usize, Option<CoverSetup>)> = Vec::new();
    for (i, p) in graph.packages.iter().enumerate() {
        if p.dep_only {
            continue;
        }
        if let Some(t) = p.tested_package() {
            marks.push((i, set("testmain", false)));
            let tested = graph
                .get(&format!("{t} [{t}.test]"))
                .or_else(|| graph.get(t));
            marks.extend(tested.map(|t| (t, set(mode, false))));
        } else if p.variant_of().is_none()
            && graph.get(&format!("{}.test", p.import_path)).is_none()
        {
            // No tests: instrumented wherever it is built (cmd/go sets the
            // mode on the package itself), its meta-data file written.
            for (j, q) in graph.packages.iter().enumerate() {
                if q.base_path() == p.import_path && !q.is_test_main() {
                    marks.push((j, set(mode, j == i)));
                }
            }
        }
    }
    // Atomic counters import sync/atomic (cmd/go's `EnsureImport`; `go
    // list -json=…` does not add it), with what it depends on.
    let atomic = graph.get("sync/atomic");
    let atomic_deps: Vec<String> = atomic
        .map(|a| {
            let mut v = graph.packages[a].deps.clone();
            v.push("sync/atomic".into());
            v
        })
        .unwrap_or_default();
    for (i, setup) in marks {
        let p = &mut graph.packages[i];
        let instruments = setup.as_ref().is_some_and(|s| s.mode == "atomic")
            && p.base_path() != "sync/atomic"
            && !covered_files(p).is_empty();
        if instruments {
            if atomic.is_none() {
                return Err(Error::Config(format!(
                    "--covermode atomic: sync/atomic, which the instrumented {} imports, is not among the loaded packages (hint: test it with a package that has tests, or use --covermode set)",
                    p.import_path
                )));
            }
            for d in &atomic_deps {
                if !p.deps.contains(d) {
                    p.deps.push(d.clone());
                }
            }
            p.deps.sort();
        }
        if p.uses_cgo() && !covered_files(p).is_empty() {
            return Err(Error::Config(format!(
                "--cover: {} uses cgo, which cargo gobuild does not instrument for coverage yet (hint: run `go test -cover` for it)",
                p.import_path
            )));
        }
        if p.cover.as_ref().is_some_and(|c| c.gen_meta) {
            continue;
        }
        p.cover = setup;
        if !p.is_test_main() {
            continue;
        }
        let tested = p.tested_package().unwrap_or_default().to_string();
        for f in p.go_files.iter_mut() {
            let path = Path::new(f.as_str());
            let src = std::fs::read_to_string(path).at(path)?;
            let text = cover_testmain(&src, flavor, mode, &tested).ok_or_else(|| {
                Error::Config(format!(
                    "--cover: the test main of {tested} ({}) is not one go test generates (internal: no place for the cover hooks)",
                    path.display()
                ))
            })?;
            let hex = blake3::hash(text.as_bytes()).to_hex().to_string();
            let dest = testmain_dir.join(&hex[..32]).join("_testmain.go");
            if !dest.is_file() {
                crate::cache::atomic_write(&dest, text.as_bytes())?;
            }
            *f = dest.display().to_string();
        }
        if matches!(flavor, TestmainFlavor::Cfile { .. }) {
            if cfile.is_none() {
                return Err(Error::Config(format!(
                    "--cover: `go list -cover` did not list internal/coverage/cfile for {}",
                    p.import_path
                )));
            }
            let imp = "internal/coverage/cfile".to_string();
            if !p.imports.contains(&imp) {
                p.imports.push(imp);
                p.imports.sort();
            }
        }
    }
    deps_first(graph);
    Ok(())
}

/// Puts every package after its dependencies again: `go list -cover
/// -covermode=atomic` lists `sync/atomic` among the deps of the packages
/// it will instrument, but after them. A package's dependencies move
/// before it (in their order); the rest stays where it was.
fn deps_first(graph: &mut PackageGraph) {
    let n = graph.packages.len();
    let mut done = vec![false; n];
    let mut order = Vec::with_capacity(n);
    fn visit(g: &PackageGraph, i: usize, done: &mut [bool], order: &mut Vec<usize>) {
        if std::mem::replace(&mut done[i], true) {
            return;
        }
        for d in g.deps(i) {
            visit(g, d, done, order);
        }
        order.push(i);
    }
    for i in 0..n {
        visit(graph, i, &mut done, &mut order);
    }
    if order.iter().enumerate().all(|(k, i)| k == *i) {
        return;
    }
    let mut old: Vec<Option<crate::load::GoPackage>> = std::mem::take(&mut graph.packages)
        .into_iter()
        .map(Some)
        .collect();
    graph.packages = order.into_iter().filter_map(|i| old[i].take()).collect();
    graph.reindex();
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cover_vars_are_cmd_gos() {
        // `go test -cover -n` on example.com/cov/a: `-var goCover_1d0a3506e9b2_`.
        assert_eq!(cover_var("example.com/cov/a"), "goCover_1d0a3506e9b2_");
        assert_eq!(cover_var("example.com/cov/a.test"), "goCover_339b55254a6d_");
        assert_eq!(
            meta_file_name("example.com/cov/b"),
            "covmeta.64c216210cbbbdbd3b327e226a7704e2bf1059b386fea541bead5fd2726f1e0b"
        );
    }

    const PLAIN: &str = "\n// Code generated by 'go test'. DO NOT EDIT.\n\npackage main\n\nimport (\n\t\"os\"\n\n\t\"testing\"\n\t\"testing/internal/testdeps\"\n\n\n\n\t_test \"m/a\"\n\n\n)\n\nvar tests = []testing.InternalTest{\n\n}\n\nfunc init() {\n\n\ttestdeps.ModulePath = \"m\"\n\ttestdeps.ImportPath = \"m/a\"\n}\n\nfunc main() {\n\tm := testing.MainStart(testdeps.TestDeps{}, tests, benchmarks, fuzzTargets, examples)\n\n\tos.Exit(m.Run())\n\n}\n\n";

    #[test]
    fn test_mains_get_go_tests_cover_hooks() {
        let t = cover_testmain(
            PLAIN,
            TestmainFlavor::Cfile { selected: true },
            "set",
            "m/a",
        )
        .unwrap();
        // As Go 1.26's go test -cover writes it (load/test.go testmainTmpl).
        assert!(
            t.contains(
                "\t\"testing/internal/testdeps\"\n\n\t\"internal/coverage/cfile\"\n\n\n\n\t_test"
            ),
            "{t}"
        );
        assert!(t.contains("func init() {\n\n\ttestdeps.CoverMode = \"set\"\n\ttestdeps.Covered = \"\"\n\ttestdeps.CoverSelectedPackages = []string{\"m/a\"}\n\ttestdeps.CoverSnapshotFunc = cfile.Snapshot\n\ttestdeps.CoverProcessTestDirFunc = cfile.ProcessCoverTestDir\n\ttestdeps.CoverMarkProfileEmittedFunc = cfile.MarkProfileEmitted\n\n\n\ttestdeps.ModulePath"), "{t}");
        let t = cover_testmain(PLAIN, TestmainFlavor::Linkname, "count", "m/a").unwrap();
        assert!(
            t.contains("\t\"os\"\n\n\t_ \"unsafe\"\n\n\t\"testing\""),
            "{t}"
        );
        assert!(t.contains("cmode := \"count\""), "{t}");
        assert!(t.contains("\treturn \"\", nil\n}\n\n\nfunc main() {\n\n\ttesting_registerCover2(\"count\", coverTearDown, runtime_coverage_snapshot)\n\tm :="), "{t}");
        assert!(cover_testmain("package main\n", TestmainFlavor::Linkname, "set", "m").is_none());
    }

    #[test]
    fn packages_move_after_what_they_depend_on() {
        let mut g = crate::load::synthetic_graph(&[("x", &[], &[]), ("a", &[], &[])]);
        // `a` now depends on `x`, listed after it (as go list -cover
        // -covermode=atomic lists sync/atomic).
        g.packages.swap(0, 1);
        g.packages[0].deps = vec!["x".into()];
        g.reindex();
        deps_first(&mut g);
        let order: Vec<&str> = g.packages.iter().map(|p| p.import_path.as_str()).collect();
        assert_eq!(order, ["x", "a"]);
        assert_eq!(g.get("a"), Some(1));
    }
}
