//! Version control stamping as go build does it (`-buildvcs`): inside a git
//! repository the program's build info carries vcs.revision, vcs.time,
//! vcs.modified and, since Go 1.24, the main module's version derived from
//! the tags (a pseudo-version between tags, `+dirty` with changes).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn git(dir: &Path, args: &[&str]) {
    let out = Command::new("git")
        .args(["-c", "user.email=t@example.com", "-c", "user.name=t"])
        .args(args)
        .current_dir(dir)
        .output()
        .expect("git must be installed for this test");
    assert!(out.status.success(), "git {args:?}: {}", text(&out));
}

/// The build info lines of both programs, built with stamping on.
fn both(dir: &Path, t: &str) -> (Vec<String>, Vec<String>) {
    let env = [("GOFLAGS", "-buildvcs=true")];
    let ours = dir.join("ours");
    let theirs = dir.join("theirs");
    ok(&gobuild_env(
        dir,
        &[
            "build",
            "-q",
            "--target-dir",
            t,
            "-o",
            ours.to_str().unwrap(),
            "./cmd/demo",
        ],
        &env,
    ));
    ok(&go(
        dir,
        &["build", "-o", theirs.to_str().unwrap(), "./cmd/demo"],
        &env,
    ));
    let info = |p: &Path| -> Vec<String> {
        ok(&go(dir, &["version", "-m", p.to_str().unwrap()], &[]))
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect()
    };
    (info(&ours), info(&theirs))
}

#[test]
fn vcs_stamps_and_module_version_match_go_build() {
    let (_tmp, dir) = fixture("demo");
    let t = shared_target();
    let t = t.to_str().unwrap();
    std::fs::write(dir.join(".gitignore"), "ours\ntheirs\n").unwrap();
    git(&dir, &["init", "-q"]);
    git(&dir, &["add", "-A"]);
    git(&dir, &["commit", "-qm", "first"]);

    let (a, b) = both(&dir, t);
    assert_eq!(a, b);
    let joined = a.join("\n");
    assert!(joined.contains("build\tvcs=git"), "{joined}");
    assert!(joined.contains("build\tvcs.modified=false"), "{joined}");
    assert!(
        joined.contains("\tv0.0.0-"),
        "a pseudo-version without tags: {joined}"
    );

    // A tag at HEAD, then a commit after it, then uncommitted changes.
    git(&dir, &["tag", "v1.2.3"]);
    let (a, b) = both(&dir, t);
    assert_eq!(a, b);
    assert!(
        a.iter().any(|l| l.contains("example.com/demo\tv1.2.3")),
        "{a:?}"
    );
    let f = dir.join("sum/sum.go");
    let src = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, format!("{src}\n// next\n")).unwrap();
    git(&dir, &["commit", "-qam", "next"]);
    let (a, b) = both(&dir, t);
    assert_eq!(a, b);
    assert!(a.iter().any(|l| l.contains("\tv1.2.4-0.")), "{a:?}");
    std::fs::write(&f, format!("{src}\n// dirty\n")).unwrap();
    let (a, b) = both(&dir, t);
    assert_eq!(a, b);
    assert!(a.iter().any(|l| l.ends_with("+dirty\t")), "{a:?}");
    assert!(a.iter().any(|l| l.contains("vcs.modified=true")), "{a:?}");

    // -buildvcs=false (as GOFLAGS may say): no stamp, like go build.
    let ours = dir.join("ours");
    ok(&gobuild_env(
        &dir,
        &[
            "build",
            "-q",
            "--target-dir",
            t,
            "-o",
            ours.to_str().unwrap(),
            "./cmd/demo",
        ],
        &[("GOFLAGS", "-buildvcs=false")],
    ));
    let m = ok(&go(&dir, &["version", "-m", ours.to_str().unwrap()], &[]));
    assert!(!m.contains("vcs="), "{m}");
}
