//! Bad input (issue 14, point 4): a workspace that cannot be loaded exits 102
//! with a message saying what is wrong; an import cycle is named by its
//! chain like go build names it; a file whose name is not UTF-8 builds; an
//! interrupted build leaves no tool running.

mod common;

use std::path::Path;

use common::*;

/// `build` in `dir` with a private target directory, in plain colors.
fn build_in(dir: &Path) -> std::process::Output {
    let target = dir.join("target");
    gobuild(
        dir,
        &[
            "build",
            "--color",
            "never",
            "--target-dir",
            target.to_str().unwrap(),
        ],
    )
}

/// Asserts exit 102 and returns stderr.
fn load_failure(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(102), "{}", text(out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn go_mod_for_a_newer_go_is_a_load_failure_located_at_its_go_line() {
    let tmp = temp_module(
        "example.com/newgo",
        &[("main.go", "package main\n\nfunc main() {}\n")],
    );
    std::fs::write(
        tmp.path().join("go.mod"),
        "module example.com/newgo\n\ngo 1.99\n",
    )
    .unwrap();
    let err = load_failure(&build_in(tmp.path()));
    let go_mod = tmp.path().join("go.mod");
    assert!(
        err.contains(&format!("{}:3: ", go_mod.display())),
        "located at the go line: {err}"
    );
    // go build's words, then the hint.
    assert!(err.contains("go.mod requires go >= 1.99"), "{err}");
    assert!(err.contains("hint: install Go 1.99 or newer"), "{err}");
}

#[test]
fn an_empty_directory_is_a_load_failure_naming_go_mod() {
    let tmp = tempfile::tempdir().unwrap();
    let err = load_failure(&build_in(tmp.path()));
    assert!(
        err.contains(&format!(
            "no go.mod found in {} or any parent directory",
            tmp.path().display()
        )),
        "{err}"
    );
    assert!(err.contains("hint: run `go mod init"), "{err}");
}

#[test]
fn go_files_without_go_mod_are_a_load_failure_naming_go_mod() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("main.go"),
        "package main\n\nfunc main() {}\n",
    )
    .unwrap();
    let err = load_failure(&build_in(tmp.path()));
    assert!(
        err.contains(&format!(
            "no go.mod found in {} or any parent directory",
            tmp.path().display()
        )),
        "{err}"
    );
    assert!(err.contains("hint: run `go mod init"), "{err}");
    // Named packages too (go list fails as a whole then).
    let out = gobuild(
        tmp.path(),
        &[
            "build",
            "--target-dir",
            tmp.path().join("target").to_str().unwrap(),
            ".",
        ],
    );
    let err = load_failure(&out);
    assert!(err.contains("no go.mod found in"), "{err}");
}

#[test]
fn an_import_cycle_is_named_by_its_chain_like_go_build() {
    let tmp = temp_module(
        "example.com/cyc",
        &[
            (
                "main.go",
                "package main\n\nimport \"example.com/cyc/a\"\n\nfunc main() { a.A() }\n",
            ),
            (
                "a/a.go",
                "package a\n\nimport \"example.com/cyc/b\"\n\nfunc A() { b.B() }\n",
            ),
            (
                "b/b.go",
                "package b\n\nimport (\n\t\"fmt\"\n\n\tc \"example.com/cyc/c\"\n)\n\nfunc B() { fmt.Println(); c.C() }\n",
            ),
            (
                "c/c.go",
                "package c\n\nimport \"example.com/cyc/a\"\n\nfunc C() { a.A() }\n",
            ),
        ],
    );
    let out = build_in(tmp.path());
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let ours = String::from_utf8_lossy(&out.stderr).into_owned();
    let chain = "package example.com/cyc\n\
                 \timports example.com/cyc/a from main.go\n\
                 \timports example.com/cyc/b from a.go\n\
                 \timports example.com/cyc/c from b.go\n\
                 \timports example.com/cyc/a from c.go: import cycle not allowed";
    assert!(ours.contains(chain), "ours:\n{ours}");
    // Word for word what go build says.
    let theirs = go(tmp.path(), &["build", "-o", "/dev/null", "."], &[]);
    assert!(!theirs.status.success());
    assert!(
        String::from_utf8_lossy(&theirs.stderr).contains(chain),
        "go build:\n{}",
        text(&theirs)
    );
}
