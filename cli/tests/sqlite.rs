//! A real third-party cgo module: `github.com/mattn/go-sqlite3` (through the
//! Go module proxy), whose package compiles SQLite's amalgamation and forces
//! external linking. Built with `CGO_ENABLED=1` by cargo gobuild and by go
//! build: the programs behave the same and carry the same build info; the
//! nosplit edges equal the linker's `-debugnosplit` lines for the externally
//! linked program; the ABI report and the ELF checks read the archives that
//! hold C objects, and pass.
//!
//! One test, so that the big C compile happens once for each tool.

mod common;

use std::process::Command;

use common::*;

const CGO: &[(&str, &str)] = &[("CGO_ENABLED", "1")];

#[test]
fn go_sqlite3_behaves_like_go_build_and_passes_the_checks() {
    let (_tmp, dir) = fixture("sqlite");
    let target = shared_target();
    let t = target.to_str().unwrap();
    let ours = dir.join("sqlite-ours");
    let theirs = dir.join("sqlite-go");
    let out = gobuild_env(
        &dir,
        &[
            "build",
            "--message-format",
            "json",
            "--target-dir",
            t,
            "-o",
            ours.to_str().unwrap(),
            ".",
        ],
        CGO,
    );
    ok(&out);
    // The package went through the cgo stage and its C compiles (run now,
    // or cached by an earlier run of this test).
    let ev = events(&out);
    let did = |action: &str, file: &str| {
        ev.iter().any(|e| {
            e["reason"] == "action-finished"
                && e["action"] == action
                && e["package"] == "github.com/mattn/go-sqlite3"
                && e["outcome"] != "failed"
                && (file.is_empty() || e["file"] == file)
        })
    };
    assert!(did("cgo", ""), "no cgo action");
    assert!(
        did("cc", "sqlite3-binding.c"),
        "no C compile of the amalgamation"
    );
    ok(&go(
        &dir,
        &["build", "-o", theirs.to_str().unwrap(), "."],
        CGO,
    ));
    let a = run_program(&mut Command::new(&ours));
    assert_eq!(a, run_program(&mut Command::new(&theirs)));
    assert!(a.contains("sum: 55 last: row 5"), "{a}");
    assert!(a.starts_with("sqlite: 3."), "{a}");
    let modinfo = |exe: &std::path::Path| -> Vec<String> {
        ok(&go(&dir, &["version", "-m", exe.to_str().unwrap()], CGO))
            .lines()
            .skip(1)
            .map(|l| l.trim().to_string())
            .collect()
    };
    let m = modinfo(&ours);
    assert_eq!(m, modinfo(&theirs));
    assert!(
        m.iter()
            .any(|l| l.starts_with("dep\tgithub.com/mattn/go-sqlite3\tv1.14.53")),
        "{m:?}"
    );

    // The stack check over an externally linked program: the linker's edges.
    let linker = go(
        &dir,
        &["build", "-ldflags=-debugnosplit", "-o", "/dev/null", "."],
        CGO,
    );
    assert!(linker.status.success(), "{}", text(&linker));
    let mut theirs_edges: Vec<String> = text(&linker)
        .lines()
        .filter(|l| l.starts_with("nosplit: "))
        .map(str::to_string)
        .collect();
    theirs_edges.sort();
    let out = gobuild_env(
        &dir,
        &["nosplit", "-q", "--edges", "--target-dir", t, "."],
        CGO,
    );
    let mut ours_edges: Vec<String> = ok(&out).lines().map(str::to_string).collect();
    ours_edges.sort();
    assert!(theirs_edges.len() > 1000, "{}", theirs_edges.len());
    assert!(
        ours_edges == theirs_edges,
        "nosplit edges differ from the linker's"
    );

    // The ABI report reads archives with C objects in them (host objects,
    // skipped as the linker does) and checks the program's symbols.
    let out = gobuild_env(&dir, &["abi", "--target-dir", t, "."], CGO);
    ok(&out);
    let report = text(&out);
    assert!(report.contains("runtime/cgo"), "{report}");
    assert!(
        report
            .lines()
            .any(|l| l.contains("program checks") && l.trim_end().ends_with(": ok")),
        "{report}"
    );
}
