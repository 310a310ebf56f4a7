//! Native symabis in the build: the compile is keyed on what the assembly
//! declares (its symabis), not on its bytes; both symabis modes produce the
//! same bytes; `cargo gobuild symabis` prints what `asm -gensymabis` writes.

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

fn build_json(dir: &Path, target: &str, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut args = vec!["build", "--message-format", "json", "--target-dir", target];
    args.extend_from_slice(extra);
    let out = gobuild(dir, &args);
    ok(&out);
    events(&out)
}

fn edit(path: &Path, from: &str, to: &str) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, s.replacen(from, to, 1)).unwrap();
}

#[test]
fn assembly_body_edit_does_not_recompile_go() {
    let (_tmp, dir) = fixture("demo");
    let t = shared_target();
    let t = t.to_str().unwrap();
    build_json(&dir, t, &[]);
    let s = dir.join("sum/sum_amd64.s");

    // A body edit: the def/ref lines are unchanged.
    edit(
        &s,
        "\tIMULQ $const_scale, AX\n",
        "\tIMULQ $const_scale, AX\n\tADDQ $1, AX\n",
    );
    let ev = build_json(&dir, t, &[]);
    let r = ran(&ev);
    let mut got: Vec<(&str, &str)> = r.iter().map(|(a, _, f)| (a.as_str(), f.as_str())).collect();
    got.sort();
    assert_eq!(
        got,
        vec![
            ("abi-report", ""),
            ("asm", "sum_amd64.s"),
            ("link", ""),
            ("nosplit", ""),
            ("pack", ""),
            ("symabis", ""),
        ],
        "an assembly body edit must rerun symabis (in-process), asm, pack, the checks and link only: no compile"
    );
    let exe = artifact(&ev);
    assert!(
        run_program(&mut Command::new(&exe)).contains("scale: 41"),
        "the edit is in the program"
    );

    // A new call into Go adds a `ref` line: the compile reruns (new wrapper set).
    edit(
        &s,
        "\tCALL ·callback(SB)\n",
        "\tCALL ·callback(SB)\n\tCALL ·callback(SB)\n",
    );
    let ev = build_json(&dir, t, &[]);
    let compiled: Vec<String> = ran(&ev)
        .into_iter()
        .filter(|(a, _, _)| a == "compile")
        .map(|(_, p, _)| p)
        .collect();
    assert_eq!(
        compiled,
        vec!["example.com/demo/sum"],
        "a new ref must recompile the package"
    );

    // A new TEXT symbol adds a `def` line: the compile reruns too.
    let src = std::fs::read_to_string(&s).unwrap();
    std::fs::write(
        &s,
        format!("{src}\nTEXT ·extra(SB), NOSPLIT, $0-0\n\tRET\n"),
    )
    .unwrap();
    let ev = build_json(&dir, t, &[]);
    let compiled: Vec<String> = ran(&ev)
        .into_iter()
        .filter(|(a, _, _)| a == "compile")
        .map(|(_, p, _)| p)
        .collect();
    assert_eq!(
        compiled,
        vec!["example.com/demo/sum"],
        "a new def must recompile the package"
    );
}

#[test]
fn native_and_toolchain_symabis_are_byte_identical_over_the_link_set() {
    let (_tmp, dir) = fixture("demo");
    let target = tempfile::tempdir().unwrap();
    let t = target.path().to_str().unwrap();
    build_json(&dir, t, &["--symabis", "toolchain"]);
    // Same symabis bytes → same compile keys: every compile is a cache hit.
    let ev = build_json(&dir, t, &["--symabis", "native"]);
    let r = ran(&ev);
    let symabis = r.iter().filter(|(a, _, _)| a == "symabis").count();
    assert!(
        symabis >= 15,
        "expected every package with assembly to rescan, got {symabis}"
    );
    let other: Vec<_> = r.iter().filter(|(a, _, _)| a != "symabis").collect();
    assert_eq!(
        other,
        Vec::<&(String, String, String)>::new(),
        "native symabis differ from asm's"
    );
}

#[test]
fn symabis_command_prints_what_asm_writes() {
    let (_tmp, dir) = fixture("demo");
    let goroot = ok(&go(&dir, &["env", "GOROOT"], &[])).trim().to_string();
    let tooldir = ok(&go(&dir, &["env", "GOTOOLDIR"], &[])).trim().to_string();
    let inc = format!("{goroot}/pkg/include");
    std::fs::write(dir.join("go_asm.h"), "").unwrap();
    for arch in ["amd64", "arm64", "s390x"] {
        let file = format!("sum/sum_{arch}.s");
        let flags = [
            "-p",
            "example.com/demo/sum",
            "-I",
            ".",
            "-I",
            &inc,
            "-D",
            "GOOS_linux",
            "-D",
            &format!("GOARCH_{arch}"),
        ];
        let ours = gobuild(
            &dir,
            &[
                &["symabis", "--goos", "linux", "--goarch", arch][..],
                &flags[..],
                &[file.as_str()],
            ]
            .concat(),
        );
        let expected = dir.join("expected.symabis");
        let asm = Command::new(format!("{tooldir}/asm"))
            .args(flags)
            .args(["-gensymabis", "-o", expected.to_str().unwrap(), &file])
            .env("GOARCH", arch)
            .current_dir(&dir)
            .output()
            .unwrap();
        assert!(asm.status.success(), "{}", text(&asm));
        assert_eq!(
            ok(&ours),
            std::fs::read_to_string(&expected).unwrap(),
            "{arch}"
        );
        assert!(ok(&ours).contains("ref example.com/demo/sum.callback ABI0"));
    }
    // Malformed input: file:line, like the assembler, and exit 101.
    std::fs::write(
        dir.join("bad.s"),
        "#include \"textflag.h\"\n#ifdef X\nTEXT ·f(SB), 0, $0\n",
    )
    .unwrap();
    let out = gobuild(&dir, &["symabis", "--goarch", "amd64", "-I", &inc, "bad.s"]);
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    assert!(text(&out).contains("bad.s:"), "{}", text(&out));
}
