//! `--buildmode c-archive` and `c-shared`: the `cexport` fixture (a main
//! package with `//export` functions taking ints, a struct and C strings)
//! built as a C library by cargo gobuild and by go build: the export
//! header `libcexport.h` equals go's; a C program linked against our
//! library prints what it prints against go's; the command lines equal
//! `go build -x`'s; `--buildmode bogus` is a located error.

mod common;

use std::path::Path;
use std::process::Command;

use common::drift::{drift_problems, go_plan, our_plan};
use common::*;

const CGO: &[(&str, &str)] = &[("CGO_ENABLED", "1")];

/// The C program: every exported function, called from C.
const USE_C: &str = r#"#include <stdio.h>
#include <stdlib.h>
#include "libcexport.h"

int main(void) {
	printf("add: %d\n", (int)Add(2, 40));
	point p = {3, 4};
	point q = Scale(p, 10);
	printf("scale: %d %d\n", (int)q.x, (int)q.y);
	char *s = Shout("hello from c");
	printf("shout: %s\n", s);
	free(s);
	fflush(stdout);
	Report(4);
	return 0;
}
"#;

fn build(dir: &Path, extra: &[&str]) -> std::process::Output {
    let target = shared_target();
    let mut args = vec!["build", "--target-dir", target.to_str().unwrap()];
    args.extend_from_slice(extra);
    gobuild_env(dir, &args, CGO)
}

/// Compiles `use.c` (written outside the Go package) against the header
/// and library in `lib_dir`, runs it and returns its output.
fn run_c(work: &Path, lib_dir: &Path, shared: bool) -> String {
    let c = work.join("use.c");
    std::fs::write(&c, USE_C).unwrap();
    let exe = lib_dir.join("use");
    let mut cc = Command::new("cc");
    cc.arg("-o").arg(&exe).arg(&c).arg("-I").arg(lib_dir);
    if shared {
        cc.arg("-L").arg(lib_dir).arg("-lcexport");
    } else {
        cc.arg(lib_dir.join("libcexport.a")).arg("-lpthread");
    }
    let out = cc.output().unwrap();
    assert!(out.status.success(), "cc: {}", text(&out));
    let mut run = Command::new(&exe);
    if shared {
        run.env("LD_LIBRARY_PATH", lib_dir);
    }
    run_program(&mut run)
}

/// Builds the fixture as `mode` with us and with go build, each into a
/// directory of its own; returns (ours, go's) directories.
fn both(dir: &Path, mode: &str, ext: &str) -> (std::path::PathBuf, std::path::PathBuf) {
    let ours = dir.join("out-ours");
    let theirs = dir.join("out-go");
    std::fs::create_dir_all(&ours).unwrap();
    let lib = format!("libcexport.{ext}");
    ok(&build(
        dir,
        &[
            "-q",
            "--buildmode",
            mode,
            "-o",
            ours.join(&lib).to_str().unwrap(),
            ".",
        ],
    ));
    ok(&go(
        dir,
        &[
            "build",
            &format!("-buildmode={mode}"),
            "-o",
            theirs.join(&lib).to_str().unwrap(),
            ".",
        ],
        CGO,
    ));
    (ours, theirs)
}

fn header(dir: &Path) -> String {
    std::fs::read_to_string(dir.join("libcexport.h")).expect("the export header")
}

#[test]
fn c_archive_header_and_behaviour_match_go_build() {
    let (tmp, dir) = fixture("cexport");
    let (ours, theirs) = both(&dir, "c-archive", "a");
    let h = header(&ours);
    assert_eq!(h, header(&theirs));
    assert!(h.contains("extern int Add(int a, int b);"), "{h}");
    let work = tmp.path();
    let a = run_c(work, &ours, false);
    assert_eq!(a, run_c(work, &theirs, false));
    assert!(a.contains("add: 42"), "{a}");
    assert!(a.contains("scale: 30 40"), "{a}");
    assert!(a.contains("shout: HELLO FROM C!"), "{a}");
    assert!(a.contains("go says: 4 squares sum to 30"), "{a}");
}

#[test]
fn c_shared_header_and_behaviour_match_go_build() {
    let (tmp, dir) = fixture("cexport");
    let (ours, theirs) = both(&dir, "c-shared", "so");
    assert_eq!(header(&ours), header(&theirs));
    let work = tmp.path();
    let a = run_c(work, &ours, true);
    assert_eq!(a, run_c(work, &theirs, true));
    assert!(a.contains("shout: HELLO FROM C!"), "{a}");
    assert!(a.contains("go says: 4 squares sum to 30"), "{a}");
}

#[test]
fn c_archive_lands_in_the_profile_dir_by_default() {
    let (_tmp, dir) = fixture("cexport");
    let target = tempfile::tempdir().unwrap();
    ok(&gobuild_env(
        &dir,
        &[
            "build",
            "-q",
            "--target-dir",
            target.path().to_str().unwrap(),
            "--buildmode",
            "c-archive",
            ".",
        ],
        CGO,
    ));
    let out = target.path().join("gobuild/dev/linux_amd64");
    assert!(out.join("libcexport.a").is_file());
    assert!(out.join("libcexport.h").is_file());
}

/// Every command go ran for c-archive (the standard library rebuilt with
/// `-shared`, each cgo run with `-exportheader`, the link) equals ours.
/// Both start from empty caches, so each prints every command.
#[test]
fn c_archive_commands_match_go_build_x() {
    let (_tmp, dir) = fixture("cexport");
    let target = tempfile::tempdir().unwrap();
    let gocache = tempfile::tempdir().unwrap();
    let out = gobuild_env(
        &dir,
        &[
            "build",
            "--message-format",
            "json",
            "--symabis",
            "toolchain",
            "--buildmode",
            "c-archive",
            "--target-dir",
            target.path().to_str().unwrap(),
            ".",
        ],
        CGO,
    );
    ok(&out);
    let (mut ours, _) = our_plan(&events(&out));
    let env = [
        ("CGO_ENABLED", "1"),
        ("GOCACHE", gocache.path().to_str().unwrap()),
    ];
    let go_out = go(
        &dir,
        &["build", "-x", "-buildmode=c-archive", "-o", "libgo.a", "."],
        &env,
    );
    assert!(go_out.status.success(), "{}", text(&go_out));
    let (mut theirs, _) = go_plan(&String::from_utf8_lossy(&go_out.stderr));
    // The dynimport probe's link and `cgo -dynimport` run inside one step
    // of ours; go's C compiler flag probes (`-o /dev/null`, run with an
    // empty GOCACHE) are not build steps; the link's output is named by -o.
    theirs.retain(|(tool, _, out), args| {
        !(out == "_cgo_.o"
            || out == "null"
            || tool == "cgo" && args.iter().any(|a| a == "-dynimport"))
    });
    let unname = |plan: &mut common::drift::Plan| {
        let mut out = common::drift::Plan::new();
        for ((tool, pkg, o), mut args) in std::mem::take(plan) {
            if tool == "link" {
                if let Some(i) = args.iter().position(|a| a == "-o") {
                    args[i + 1] = "OUT".into();
                }
                out.insert((tool, pkg, "OUT".into()), args);
            } else {
                out.insert((tool, pkg, o), args);
            }
        }
        *plan = out;
    };
    unname(&mut theirs);
    unname(&mut ours);
    let count = |t: &str| theirs.keys().filter(|k| k.0 == t).count();
    assert!(
        count("compile") > 50 && count("cgo") >= 2 && count("link") == 1,
        "parsed too few go commands: {theirs:?}"
    );
    let problems = drift_problems(&theirs, &ours);
    assert!(
        problems.is_empty(),
        "{} of {} commands drifted from go build -x:\n{}",
        problems.len(),
        theirs.len(),
        problems.join("\n")
    );
    let link = theirs.iter().find(|(k, _)| k.0 == "link").unwrap().1;
    assert!(link.iter().any(|a| a == "-buildmode=c-archive"), "{link:?}");
}

#[test]
fn bogus_buildmode_is_a_located_error() {
    let (_tmp, dir) = fixture("cexport");
    let out = build(&dir, &["--buildmode", "bogus", "."]);
    assert_eq!(out.status.code(), Some(102), "{}", text(&out));
    let err = text(&out);
    assert!(err.contains("--buildmode"), "located: {err}");
    assert!(err.contains("bad value \"bogus\" for `buildmode`"), "{err}");
}

/// `--buildmode pie`: a position-independent program (ELF type ET_DYN)
/// that behaves like go build's, with `-buildmode=pie` in its build info.
#[test]
fn pie_is_position_independent_like_go_build() {
    let (_tmp, dir) = fixture("demo");
    let ours = dir.join("demo-ours");
    let theirs = dir.join("demo-go");
    ok(&build(
        &dir,
        &[
            "-q",
            "--buildmode",
            "pie",
            "-o",
            ours.to_str().unwrap(),
            "./cmd/demo",
        ],
    ));
    ok(&go(
        &dir,
        &[
            "build",
            "-buildmode=pie",
            "-o",
            theirs.to_str().unwrap(),
            "./cmd/demo",
        ],
        &[],
    ));
    let elf_type = |p: &Path| std::fs::read(p).unwrap()[16];
    assert_eq!(elf_type(&ours), 3, "ET_DYN");
    assert_eq!(
        run_program(&mut Command::new(&ours)),
        run_program(&mut Command::new(&theirs))
    );
    let m = ok(&go(&dir, &["version", "-m", ours.to_str().unwrap()], &[]));
    assert!(m.contains("build\t-buildmode=pie"), "{m}");
}
