//! The incremental check (`goobj::stack_check_memo`): every result equals the plain check
//! on the same link set; an edit the check can't see (a constant in a splittable function
//! outside the chain) reuses the memoized report; an edit to a package a NOSPLIT
//! chain touches (a frame size) is a miss and changes the verdict; a structural edit (a
//! new call) is a miss; damaged memo files are misses, never trusted.

mod common;
use common::*;
use std::collections::HashMap;
use std::path::Path;

/// A module: `c` holds a NOSPLIT assembly chain F0 ($f0) -> F1 ($f1) entered from a Go
/// `//go:nosplit` function; `u` an unrelated splittable function; main calls both.
fn write_module(dir: &Path, f0: u32, f1: u32, arg: u32, u_body: &str) {
    let files: HashMap<String, String> = [
        ("go.mod", go_mod("example.com/memo")),
        ("c/c.go", "package c\n\nfunc F0()\nfunc F1()\n\n//go:nosplit\nfunc Entry() {\n\tF0()\n}\n".to_string()),
        (
            "c/c_amd64.s",
            format!("#include \"textflag.h\"\n\nTEXT ·F0(SB), NOSPLIT, ${f0}-0\n\tCALL ·F1(SB)\n\tRET\n\nTEXT ·F1(SB), NOSPLIT, ${f1}-0\n\tRET\n"),
        ),
        ("u/u.go", format!("package u\n\nvar sink int\n\n//go:noinline\nfunc Work(n int) int {{\n{u_body}\n}}\n")),
        ("cmd/m/main.go", format!("package main\n\nimport (\n\t\"example.com/memo/c\"\n\t\"example.com/memo/u\"\n)\n\nfunc main() {{\n\tc.Entry()\n\tprintln(u.Work({arg}))\n}}\n")),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    write_files(dir, &files);
}

/// Builds the module, runs the memoized check in `memo` and the plain one; asserts they
/// agree and returns the memoized result.
fn check(dir: &Path, memo: &Path) -> goobj::MemoCheck {
    let b = go_build(dir, "amd64", &["-o", "/dev/null", "./cmd/m"]);
    assert_eq!(b.links.len(), 1, "{}", b.stderr);
    let step = &b.links[0];
    let opts = goobj::StackCheckOptions::default();
    let m = goobj::stack_check_memo(&step.main, &step.libs(), memo, &opts).expect("memo check");
    let plain = goobj::stack_check(&step.load(), &opts);
    assert_eq!(m.ok, plain.ok());
    assert_eq!(m.ok, b.ok, "the linker's verdict:\n{}", b.stderr);
    assert_eq!(m.violations, plain.format_violations());
    assert_eq!(m.limit, plain.limit);
    assert_eq!(
        m.json,
        serde_json::to_vec(&plain).expect("json"),
        "memoized report differs from the plain check ({:?})",
        m.stats
    );
    let _ = std::fs::remove_dir_all(&b.work);
    m
}

#[test]
fn unrelated_edits_reuse_chain_edits_recompute() {
    let d = tempfile::tempdir().expect("tempdir");
    let memo = d.path().join("memo");
    let src = d.path().join("src");
    let body = "\tsink += n\n\tprintln(sink)\n\treturn sink";

    write_module(&src, 200, 200, 3, body);
    let m = check(&src, &memo);
    assert!(m.ok);
    assert_eq!(m.stats.hit, None, "first check computes: {:?}", m.stats);
    assert!(m.stats.digested > 10, "{:?}", m.stats);

    // Nothing changed: reused; only the module's archives (at new paths under WORK or
    // the Go cache) are digested again, the standard library's come from the memo.
    let m = check(&src, &memo);
    assert_eq!(m.stats.hit, Some(true), "{:?}", m.stats);
    assert!(m.stats.digested <= 3, "{:?}", m.stats);

    // An edit in a package no NOSPLIT chain touches, that changes only what the check
    // doesn't read (a constant in main.main, a splittable function): reused.
    write_module(&src, 200, 200, 4, body);
    let m = check(&src, &memo);
    assert_eq!(m.stats.hit, Some(true), "{:?}", m.stats);
    assert!(m.stats.digested <= 3, "{:?}", m.stats);

    // An edit to the chain's package: F1's frame pushes the chain over the limit.
    write_module(&src, 200, 600, 4, body);
    let m = check(&src, &memo);
    assert!(!m.ok, "the chain is over the limit now");
    assert_eq!(m.stats.hit, None, "{:?}", m.stats);
    assert!(
        m.violations.contains("nosplit stack over"),
        "{}",
        m.violations
    );

    // Back under the limit by a byte-for-byte different frame: recomputed, ok again.
    write_module(&src, 200, 208, 4, body);
    let m = check(&src, &memo);
    assert!(m.ok);
    assert_eq!(m.stats.hit, None, "{:?}", m.stats);

    // A structural edit in the unrelated package (a new call): recomputed.
    write_module(&src, 200, 208, 4, "\tprintln(n)\n\tprint(n)\n\treturn n");
    let m = check(&src, &memo);
    assert_eq!(m.stats.hit, None, "{:?}", m.stats);

    // Damaged memo files are misses (recomputed, same result), never trusted.
    for e in std::fs::read_dir(&memo).expect("memo dir").flatten() {
        let p = e.path();
        let name = p.file_name().unwrap().to_string_lossy().into_owned();
        if name.ends_with(".rmemo") || name == "digests.memo" {
            let mut b = std::fs::read(&p).expect("read");
            let n = b.len();
            b[n - 1] ^= 0x55;
            std::fs::write(&p, b).expect("write");
        }
    }
    let m = check(&src, &memo);
    assert_eq!(m.stats.hit, None, "{:?}", m.stats);
    assert!(m.stats.digested > 10, "digests recomputed: {:?}", m.stats);
    let m = check(&src, &memo);
    assert_eq!(m.stats.hit, Some(true), "{:?}", m.stats);
}
