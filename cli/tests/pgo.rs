//! `-pgo=auto` as go build applies it: a main package with a `default.pgo`
//! is built, with its dependencies, with that profile (through the
//! `preprofile` tool); built next to a main without one, `go list` names the
//! profiled copies `pkg [main]`. Programs and build info match go build's.

mod common;

use std::process::Command;

use common::*;

#[test]
fn pgo_builds_like_go_build_with_and_without_variants() {
    let (_tmp, dir) = fixture("pgo");
    // A real CPU profile, made by running the program.
    let out = go(
        &dir,
        &["run", "./cmd/hot", "-profile", "cmd/hot/default.pgo"],
        &[],
    );
    assert!(out.status.success(), "{}", text(&out));
    let t = shared_target();
    let t = t.to_str().unwrap();

    // Both mains at once: lib and the standard library are built twice,
    // once with the profile (for hot) and once without (for cold).
    let ours = dir.join("ours");
    let theirs = dir.join("theirs");
    std::fs::create_dir_all(&ours).unwrap();
    std::fs::create_dir_all(&theirs).unwrap();
    let out = gobuild(
        &dir,
        &[
            "build",
            "--message-format",
            "json",
            "--target-dir",
            t,
            "-o",
            ours.to_str().unwrap(),
            "./...",
        ],
    );
    ok(&out);
    let ev = events(&out);
    assert!(
        ev.iter().any(|e| e["action"] == "preprofile"),
        "no preprofile action ran or was cached"
    );
    assert!(
        ev.iter().any(|e| e["action"] == "compile"
            && e["package"] == "example.com/pgo/lib [example.com/pgo/cmd/hot]"),
        "the profiled copy of lib was not compiled"
    );
    ok(&go(
        &dir,
        &["build", "-o", theirs.to_str().unwrap(), "./..."],
        &[],
    ));
    for prog in ["hot", "cold"] {
        let a = run_program(&mut Command::new(ours.join(prog)));
        let b = run_program(&mut Command::new(theirs.join(prog)));
        assert_eq!(a, b, "{prog}");
        let settings = |p: &std::path::Path| -> Vec<String> {
            ok(&go(&dir, &["version", "-m", p.to_str().unwrap()], &[]))
                .lines()
                .filter(|l| l.trim_start().starts_with("build"))
                .map(str::to_string)
                .collect()
        };
        assert_eq!(
            settings(&ours.join(prog)),
            settings(&theirs.join(prog)),
            "{prog}"
        );
        // Same code: the programs differ only in their build IDs.
        let a = std::fs::read(ours.join(prog)).unwrap();
        let b = std::fs::read(theirs.join(prog)).unwrap();
        assert_eq!(a.len(), b.len(), "{prog}: sizes differ, so the code does");
        let differing = a.iter().zip(&b).filter(|(x, y)| x != y).count();
        assert!(differing < 400, "{prog}: {differing} bytes differ");
    }
    let m = ok(&go(
        &dir,
        &["version", "-m", ours.join("hot").to_str().unwrap()],
        &[],
    ));
    assert!(m.contains("build\t-pgo="), "{m}");

    // One main alone: no variants, every package gets the profile.
    let alone = dir.join("hot-alone");
    ok(&gobuild(
        &dir,
        &[
            "build",
            "-q",
            "--target-dir",
            t,
            "-o",
            alone.to_str().unwrap(),
            "./cmd/hot",
        ],
    ));
    let a = std::fs::read(&alone).unwrap();
    assert_eq!(a.len(), std::fs::read(theirs.join("hot")).unwrap().len());
}
