//! Report formats: a violation's text equals the linker's for the same program, headroom
//! turns a chain at the limit into a violation, `--top` chains carry margins and mark ABI
//! wrapper frames, and the report serializes to JSON.

mod common;
use common::*;
use std::collections::HashMap;

fn module(f0: u32, f1: u32) -> tempfile::TempDir {
    let d = tempfile::tempdir().expect("tempdir");
    let files: HashMap<String, String> = [
        ("go.mod", go_mod("example.com/rep")),
        ("c/c.go", "package c\n\nfunc F0()\nfunc F1()\n\n//go:nosplit\nfunc Entry() {\n\tF0()\n}\n".to_string()),
        (
            "c/c_amd64.s",
            format!("#include \"textflag.h\"\n\nTEXT ·F0(SB), NOSPLIT, ${f0}-0\n\tCALL ·F1(SB)\n\tRET\n\nTEXT ·F1(SB), NOSPLIT, ${f1}-0\n\tRET\n"),
        ),
        ("cmd/m/main.go", "package main\n\nimport \"example.com/rep/c\"\n\nfunc main() { c.Entry() }\n".to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    write_files(d.path(), &files);
    d
}

#[test]
fn violation_text_matches_the_linker() {
    let d = module(408, 376);
    let bin = d.path().join("m");
    let b = go_build(
        d.path(),
        "amd64",
        &["-o", bin.to_str().expect("utf8"), "./cmd/m"],
    );
    assert!(!b.ok, "the linker should reject this program");
    let set = b.links[0].load();
    let report = goobj::stack_check(&set, &goobj::StackCheckOptions::default());
    let ours = report.format_violations();
    let expected = "example.com/rep/c.F0: nosplit stack over 792 byte limit\n\
                    example.com/rep/c.F0<0>\n    grows 424 bytes, calls example.com/rep/c.F1<0>\n        grows 384 bytes\n        16 bytes over limit\n";
    assert_eq!(ours, expected);
    let (ok, linker) = run_linker(&b.links[0], "amd64", &d.path().join("relink"));
    assert!(!ok);
    assert_eq!(linker, ours, "linker output differs");
    // go build shows the same lines under the package header.
    assert!(
        b.stderr
            .contains(&format!("# example.com/rep/cmd/m\n{ours}")),
        "{}",
        b.stderr
    );
    // Structured form.
    let v = &report.violations[0];
    assert_eq!(v.root, "example.com/rep/c.F0");
    assert_eq!(v.chains.len(), 1);
    let c = &v.chains[0];
    assert_eq!(c.margin, -16);
    assert_eq!(c.height, 808);
    let frames: Vec<(&str, i64)> = c
        .frames
        .iter()
        .map(|f| (f.symbol.as_str(), f.growth))
        .collect();
    assert_eq!(
        frames,
        [
            ("example.com/rep/c.F0<0>", 424),
            ("example.com/rep/c.F1<0>", 384)
        ]
    );
    let _ = std::fs::remove_dir_all(&b.work);
}

#[test]
fn headroom_top_wrappers_and_json() {
    // F0 + F1 use exactly the limit: the linker accepts it.
    let d = module(408, 360);
    let bin = d.path().join("m");
    let b = go_build(
        d.path(),
        "amd64",
        &["-o", bin.to_str().expect("utf8"), "./cmd/m"],
    );
    assert!(b.ok, "{}", b.stderr);
    let set = b.links[0].load();
    let report = goobj::stack_check(&set, &goobj::StackCheckOptions::default());
    assert!(report.ok());
    let top = &report.deepest[0];
    assert_eq!(
        (top.frames[0].symbol.as_str(), top.height, top.margin),
        ("example.com/rep/c.F0<0>", 792, 0)
    );
    let text = report.format_top(2);
    assert!(text.starts_with("example.com/rep/c.F0<0>: 792 bytes, margin 0\n    example.com/rep/c.F0<0> +424\n        example.com/rep/c.F1<0> +368\n"), "{text}");
    // The runtime's reflectcall chain goes through an ABI wrapper, which is marked.
    let wrapped = report
        .deepest
        .iter()
        .flat_map(|c| &c.frames)
        .find(|f| f.symbol == "runtime.reflectcallmove<0>")
        .expect("reflectcallmove in a chain");
    assert!(wrapped.abi_wrapper);
    assert!(report
        .format_top(50)
        .contains("runtime.reflectcallmove<0> +56 [wrapper]"));

    // With 8 bytes of headroom the same chain is a violation.
    let opts = goobj::StackCheckOptions {
        headroom: 8,
        ..Default::default()
    };
    let strict = goobj::stack_check(&set, &opts);
    assert_eq!(strict.effective_limit, 784);
    assert_eq!(strict.violations.len(), 1);
    assert!(strict.violations[0]
        .text
        .starts_with("example.com/rep/c.F0: nosplit stack over 784 byte limit\n"));
    assert!(
        strict.violations[0]
            .text
            .ends_with("        8 bytes over limit\n"),
        "{}",
        strict.violations[0].text
    );

    // -race raises the limit by one StackNosplitBase.
    let race = goobj::stack_check(
        &set,
        &goobj::StackCheckOptions {
            race: true,
            ..Default::default()
        },
    );
    assert_eq!(race.limit, 1592);

    let json = serde_json::to_value(&strict).expect("json");
    assert_eq!(json["limit"], 792);
    assert_eq!(json["violations"][0]["chains"][0]["margin"], -8);
    assert!(json["edges"].as_array().expect("edges").len() > 1000);
    let _ = std::fs::remove_dir_all(&b.work);
}
