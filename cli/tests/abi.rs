//! `cargo gobuild abi` and the ABI checks end to end: the wrappers reported
//! equal what the compiler's `-d=abiwrap` prints for the fixture and what
//! the linker put in gofmt's symbol table; each lint has a fixture; the
//! register ABI toggled on s390x shows wrappers and none; the post-link check
//! runs last in `build` and says so when the program is stripped.

mod common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::Command;

use common::*;
use serde_json::Value;

fn t() -> String {
    shared_target().to_str().unwrap().to_string()
}

/// `cargo gobuild abi --json` (quiet), parsed; asserts success.
fn abi_json(dir: &Path, extra: &[&str]) -> Value {
    let t = t();
    // A program path of its own: the tests share a target directory, and
    // several fixtures' programs are called `app`.
    let own = dir.join("abi-out").display().to_string();
    let mut args = vec!["abi", "--json", "-q", "--target-dir", &t, "-o", &own];
    args.extend_from_slice(extra);
    let out = gobuild(dir, &args);
    let s = ok(&out);
    serde_json::from_str(s.trim()).unwrap_or_else(|e| panic!("not one JSON document ({e}):\n{s}"))
}

/// `(package, from, to, go name)` of every wrapper of the program's
/// packages outside GOROOT.
fn own_wrappers(doc: &Value) -> BTreeSet<(String, String, String, String)> {
    let mut v = BTreeSet::new();
    for p in doc["programs"][0]["packages"].as_array().unwrap() {
        if p["goroot"] == true {
            continue;
        }
        for w in p["wrappers"].as_array().unwrap() {
            v.insert((
                p["package"].as_str().unwrap().to_string(),
                w["from"].as_str().unwrap().to_string(),
                w["to"].as_str().unwrap().to_string(),
                w["go_name"].as_str().unwrap().to_string(),
            ));
        }
    }
    v
}

/// `=-= ABI0 to ABIInternal wrapper for callback` lines of `diagnostic`
/// events with level `output`, as `(package, from, to, name)`.
fn abiwrap_lines(out: &std::process::Output) -> BTreeSet<(String, String, String, String)> {
    let mut v = BTreeSet::new();
    for e in events(out) {
        if e["reason"] != "diagnostic" || e["level"] != "output" {
            continue;
        }
        let pkg = e["package"].as_str().unwrap_or_default().to_string();
        for l in e["message"].as_str().unwrap().lines() {
            let Some(rest) = l.strip_prefix("=-= ") else {
                continue;
            };
            let (dir, name) = rest.split_once(" wrapper for ").unwrap();
            let (from, to) = dir.split_once(" to ").unwrap();
            v.insert((
                pkg.clone(),
                from.to_string(),
                to.to_string(),
                name.to_string(),
            ));
        }
    }
    v
}

#[test]
fn fixture_wrappers_equal_what_abiwrap_prints() {
    let (_tmp, dir) = fixture("demo");
    let t = t();
    // The compiler's own account, for the workspace's packages.
    let out = gobuild(
        &dir,
        &[
            "build",
            "--gcflags=-d=abiwrap",
            "--message-format",
            "json",
            "--target-dir",
            &t,
            "-o",
            "demo-abiwrap",
            "./cmd/demo",
        ],
    );
    ok(&out);
    let printed = abiwrap_lines(&out);
    assert_eq!(printed.len(), 4, "{printed:?}");
    // And `go build`'s, to be sure the flag reached the compiler the same way.
    let gout = go(
        &dir,
        &[
            "build",
            "-gcflags=example.com/demo/...=-d=abiwrap",
            "-o",
            "/dev/null",
            "./cmd/demo",
        ],
        &[],
    );
    assert!(gout.status.success(), "{}", text(&gout));
    let go_printed: BTreeSet<_> = text(&gout)
        .lines()
        .filter_map(|l| l.strip_prefix("=-= "))
        .map(str::to_string)
        .collect();
    let ours_printed: BTreeSet<_> = printed
        .iter()
        .map(|(_, f, t, n)| format!("{f} to {t} wrapper for {n}"))
        .collect();
    assert_eq!(ours_printed, go_printed);

    let doc = abi_json(&dir, &["./cmd/demo"]);
    assert_eq!(own_wrappers(&doc), printed);
    let prog = &doc["programs"][0];
    assert_eq!(prog["package"], "example.com/demo/cmd/demo");
    let sum = prog["packages"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["package"] == "example.com/demo/sum")
        .unwrap();
    // Assembly definitions and references, from symabis.
    let defs: Vec<&str> = sum["asm_defs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["symbol"].as_str().unwrap())
        .collect();
    assert_eq!(
        defs,
        [
            "example.com/demo/sum.Add",
            "example.com/demo/sum.Apply",
            "example.com/demo/sum.Scale"
        ]
    );
    assert_eq!(sum["asm_defs"][0]["at"], "sum_amd64.s:5");
    assert_eq!(
        sum["asm_refs"][0]["symbol"],
        "example.com/demo/sum.callback"
    );
    assert_eq!(sum["asm_refs"][0]["resolves_to"], "wrapper");
    // Apply (ABI0 assembly) calls callback (ABIInternal Go) through its ABI0 wrapper.
    let calls = sum["cross_calls"].as_array().unwrap();
    assert!(
        calls
            .iter()
            .any(|c| c["caller"] == "example.com/demo/sum.Apply"
                && c["caller_abi"] == "ABI0"
                && c["callee"] == "example.com/demo/sum.callback"
                && c["callee_abi"] == "ABIInternal"
                && c["via"] == "example.com/demo/sum.callback<ABI0>"),
        "{calls:#?}"
    );
    // Frames of the wrappers come from the objects.
    let cb = sum["wrappers"]
        .as_array()
        .unwrap()
        .iter()
        .find(|w| w["go_name"] == "callback")
        .unwrap();
    assert!(
        cb["size"].as_u64().unwrap() > 0 && cb["linked"] == true,
        "{cb}"
    );
    assert_eq!(cb["direction"], "ABI0→ABIInternal");
    // Totals add up; the ELF checks passed.
    let t = &prog["totals"];
    let n: u64 = prog["packages"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["wrappers"].as_array().unwrap().len() as u64)
        .sum();
    assert_eq!(
        t["wrappers_to_abi0"].as_u64().unwrap() + t["wrappers_to_abiinternal"].as_u64().unwrap(),
        n
    );
    assert_eq!(
        prog["elf"]["problems"].as_array().unwrap().len(),
        0,
        "{}",
        prog["elf"]
    );
    assert!(prog["elf"]["wrappers"]
        .as_array()
        .unwrap()
        .iter()
        .any(|w| w["elf_name"] == "example.com/demo/sum.callback.abi0"));

    // The human report: tables with the wrappers and the check line.
    let out = gobuild(
        &dir,
        &[
            "abi",
            "-q",
            "--target-dir",
            shared_target().to_str().unwrap(),
            "./cmd/demo",
        ],
    );
    let h = ok(&out);
    for want in [
        "ABI0→ABIInternal  callback",
        "ABIInternal→ABI0  Add",
        "sum_amd64.s:5",
        "program totals:",
        "program checks (",
        ": ok",
    ] {
        assert!(h.contains(want), "missing {want:?} in:\n{h}");
    }
    // The fixture's own packages, as a person reads them (Go 1.26, amd64).
    let start = h.find("  package example.com/demo/cmd/demo").unwrap();
    let end = h.find("  standard library (").unwrap();
    insta::assert_snapshot!("abi_human_demo_amd64", &h[start..end]);
}

#[test]
fn gofmt_wrappers_match_the_symbol_table() {
    let (_tmp, dir) = fixture("demo");
    let doc = abi_json(&dir, &["cmd/gofmt"]);
    let prog = &doc["programs"][0];
    let elf = &prog["elf"];
    assert_eq!(elf["problems"].as_array().unwrap().len(), 0, "{elf}");
    let exe = elf["program"].as_str().unwrap();
    // The linker's symbol table, read by `go tool nm`.
    let nm = ok(&go(&dir, &["tool", "nm", exe], &[]));
    let names: BTreeSet<&str> = nm
        .lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            (f.len() >= 3 && (f[1] == "T" || f[1] == "t")).then(|| f[2])
        })
        .collect();
    let abi0_in_binary: BTreeSet<String> = names
        .iter()
        .filter(|n| n.ends_with(".abi0"))
        .map(|n| n.to_string())
        .collect();
    let mut abi0_expected = BTreeSet::new();
    let mut linked = 0;
    for p in prog["packages"].as_array().unwrap() {
        for w in p["wrappers"].as_array().unwrap() {
            let sym = w["symbol"].as_str().unwrap();
            let abi0 = format!("{sym}.abi0");
            let (wrapper_name, target_name) = if w["from"] == "ABI0" {
                (abi0.clone(), sym.to_string())
            } else {
                (sym.to_string(), abi0.clone())
            };
            if w["linked"] == true {
                linked += 1;
                assert!(
                    names.contains(wrapper_name.as_str()),
                    "linked wrapper {wrapper_name} not in the binary"
                );
            } else {
                assert!(
                    !(w["from"] == "ABIInternal" && names.contains(sym)),
                    "unlinked ABIInternal wrapper {sym} is in the binary"
                );
            }
            // (A wrapper may not call its target: sync/atomic's are intrinsified.)
            if w["target_linked"] == true {
                assert!(
                    names.contains(target_name.as_str()),
                    "wrapped {target_name} not in the binary"
                );
            }
            // The linker renames a kept ABI0 function when an ABIInternal one exists.
            if (w["from"] == "ABI0" && w["linked"] == true)
                || (w["from"] == "ABIInternal" && w["target_linked"] == true)
            {
                abi0_expected.insert(abi0);
            }
        }
    }
    assert!(linked > 10, "only {linked} linked wrappers in gofmt");
    assert_eq!(
        abi0_expected, abi0_in_binary,
        "`.abi0` names: report vs binary"
    );
    assert_eq!(
        elf["pairs_checked"].as_u64().unwrap() as usize,
        abi0_in_binary.len()
    );
}

#[test]
fn register_abi_on_and_off_on_s390x() {
    let (_tmp, dir) = fixture("demo");
    let on = abi_json(&dir, &["--profile", "regabi-s390x", "./cmd/demo"]);
    let w = own_wrappers(&on);
    let names: Vec<(&str, &str)> = w
        .iter()
        .map(|(_, f, _, n)| (f.as_str(), n.as_str()))
        .collect();
    assert_eq!(
        names,
        [
            ("ABI0", "callback"),
            ("ABIInternal", "Add"),
            ("ABIInternal", "Apply"),
            ("ABIInternal", "Scale")
        ]
    );
    assert_eq!(on["programs"][0]["target"], "linux/s390x");
    let exe = on["programs"][0]["elf"]["program"]
        .as_str()
        .unwrap()
        .to_string();
    let printed = run_program(Command::new("qemu-s390x").arg(&exe));
    assert!(printed.contains("apply: 22"), "{printed}");

    let off = abi_json(&dir, &["--profile", "noregabi-s390x", "./cmd/demo"]);
    let prog = &off["programs"][0];
    let t = &prog["totals"];
    assert_eq!(
        (
            t["wrappers_to_abi0"].as_u64(),
            t["wrappers_to_abiinternal"].as_u64()
        ),
        (Some(0), Some(0)),
        "{t}"
    );
    assert!(prog["totals"]["asm_defs"].as_u64().unwrap() > 3);
    assert_eq!(prog["elf"]["pairs_checked"], 0);
    assert_eq!(prog["elf"]["problems"].as_array().unwrap().len(), 0);
}

#[test]
fn build_checks_the_program_last_and_says_when_stripped() {
    let (_tmp, dir) = fixture("demo");
    let t = t();
    let out = gobuild(
        &dir,
        &[
            "build",
            "--target-dir",
            &t,
            "-o",
            "demo-s",
            "--ldflags=-s",
            "./cmd/demo",
        ],
    );
    ok(&out);
    let s = text(&out);
    assert!(
        s.contains("ABI checks skipped") && s.contains("linked with -s"),
        "{s}"
    );
    let out = gobuild(
        &dir,
        &["build", "--target-dir", &t, "-o", "demo", "./cmd/demo"],
    );
    ok(&out);
    assert!(!text(&out).contains("ABI checks"), "{}", text(&out));
}

/// Builds a lint fixture; returns the output.
fn build_fixture(dir: &Path, extra: &[&str]) -> std::process::Output {
    let t = t();
    let own = dir.join("app-out").display().to_string();
    let mut args = vec!["build", "--target-dir", &t, "-o", &own];
    args.extend_from_slice(extra);
    args.push("./cmd/app");
    gobuild(dir, &args)
}

fn warning_event<'a>(ev: &'a [Value], lint: &str) -> &'a Value {
    ev.iter()
        .find(|e| {
            e["reason"] == "diagnostic"
                && e["message"]
                    .as_str()
                    .is_some_and(|m| m.contains(&format!("[lints.{lint}]")))
        })
        .unwrap_or_else(|| panic!("no diagnostic for {lint} in {ev:#?}"))
}

#[test]
fn lint_missing_asm() {
    let (_tmp, dir) = fixture("lint-missing-asm");
    let out = build_fixture(&dir, &[]);
    ok(&out);
    let s = text(&out);
    assert!(s.contains("warning: p/p.go:8: function Sub is declared without a body, but no assembly for linux/amd64 defines it"), "{s}");
    // As a JSON diagnostic event with level "warning".
    let out = build_fixture(&dir, &["--message-format", "json"]);
    ok(&out);
    let ev = events(&out);
    let e = warning_event(&ev, "abi-missing-asm");
    assert_eq!(e["level"], "warning");
    assert_eq!(e["package"], "example.com/lintmissingasm/p");
    // A profile can deny it (exit 101), or allow it (silent).
    std::fs::write(
        dir.join("gobuild.toml"),
        "[profile.strict]\nlints.abi = \"deny\"\n\n[profile.quiet.lints]\nabi-missing-asm = \"allow\"\n",
    )
    .unwrap();
    let out = build_fixture(&dir, &["--profile", "strict"]);
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let s = text(&out);
    assert!(
        s.contains("error: p/p.go:8:") && s.contains("denied by profile `strict`"),
        "{s}"
    );
    let out = build_fixture(&dir, &["--profile", "quiet"]);
    ok(&out);
    assert!(
        !text(&out).contains("lints.abi-missing-asm"),
        "{}",
        text(&out)
    );
}

#[test]
fn lint_missing_decl() {
    let (_tmp, dir) = fixture("lint-missing-decl");
    let out = build_fixture(&dir, &[]);
    ok(&out);
    let s = text(&out);
    assert!(
        s.contains("warning: p/p_amd64.s:11: assembly function helper has no Go declaration"),
        "{s}"
    );
    // The abi command lists it in its document too.
    let doc = abi_json(&dir, &["./cmd/app"]);
    let lints = doc["lints"].as_array().unwrap();
    assert_eq!(lints.len(), 1, "{lints:?}");
    assert_eq!(lints[0]["lint"], "abi-missing-decl");
    assert_eq!(lints[0]["level"], "warn");
    assert_eq!(lints[0]["line"], 11);
}

#[test]
fn lint_abiinternal_def() {
    let (_tmp, dir) = fixture("lint-abiinternal");
    let out = build_fixture(&dir, &["--message-format", "json"]);
    // asm itself refuses the selector; the lint says why, with the line.
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let ev = events(&out);
    let e = warning_event(&ev, "abi-internal-def");
    let m = e["message"].as_str().unwrap();
    assert!(
        m.starts_with(
            "p/p_amd64.s:5: assembly defines example.com/lintabiinternal/p.Fast as <ABIInternal>"
        ),
        "{m}"
    );
}

#[test]
fn lint_unexported_ref() {
    let (_tmp, dir) = fixture("lint-unexported-ref");
    let out = build_fixture(&dir, &[]);
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let s = text(&out);
    // The linker's error, and ours pointing at the line that causes it.
    assert!(s.contains("relocation target lintref/b.helper not defined for ABI0 (but is defined for ABIInternal)"), "{s}");
    assert!(s.contains("warning: a/a_amd64.s:8: assembly calls lintref/b.helper (ABI0), an unexported Go function of package lintref/b"), "{s}");
    // The abi command still reports the packages (from the archives) and fails.
    let tt = t();
    let own = dir.join("abi-out").display().to_string();
    let out = gobuild(
        &dir,
        &["abi", "-q", "--target-dir", &tt, "-o", &own, "./cmd/app"],
    );
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let s = text(&out);
    assert!(
        s.contains("lintref/b.helper") && s.contains("undefined"),
        "{s}"
    );
}

#[test]
fn lint_levels_are_validated() {
    let (_tmp, dir) = fixture("lint-missing-asm");
    for (toml, want) in [
        ("[profile.x]\nlints.abi-mising-asm = \"deny\"\n", "unknown key `abi-mising-asm` in [profile.x.lints] (hint: did you mean `abi-missing-asm`?)"),
        ("[profile.x]\nlints.abi = \"deni\"\n", "bad value \"deni\" for `lints.abi` (hint: did you mean \"deny\"?)"),
        ("[profile.x]\nlint.abi = \"deny\"\n", "unknown key `lint` in [profile.x] (hint: did you mean `lints`?)"),
    ] {
        std::fs::write(dir.join("gobuild.toml"), toml).unwrap();
        let out = build_fixture(&dir, &["--profile", "x"]);
        assert_eq!(out.status.code(), Some(102), "{}", text(&out));
        let s = text(&out);
        assert!(s.contains("gobuild.toml:2:") && s.contains(want), "want {want:?} in:\n{s}");
    }
}
