//! Workspace configuration end to end: a Cargo workspace with a Go module,
//! targets with different experiment sets built side by side, the register
//! ABI toggled for real on s390x (run under qemu-s390x), and the bad-config
//! messages (snapshotted, paths redacted).

mod common;

use std::path::Path;
use std::process::Command;

use common::*;

#[test]
fn cargo_workspace_finds_the_go_module_and_writes_under_cargo_target() {
    let (_tmp, ws) = fixture("cargo-ws");
    // From the workspace root: the module is found under the `hello` member.
    let out = gobuild(&ws, &["build", "--message-format", "json"]);
    ok(&out);
    let ev = events(&out);
    let path = artifact(&ev);
    assert_eq!(
        Path::new(&path),
        ws.join("target/gobuild/dev/linux_amd64/hello")
    );
    // [workspace.metadata.gobuild] set -ldflags -X, [package.metadata.gobuild] a tag.
    let printed = run_program(&mut Command::new(&path));
    assert_eq!(printed.trim(), "hello, cargo-workspace tag:fromcargo");

    // --manifest-path from elsewhere, CARGO_TARGET_DIR honoured.
    let elsewhere = tempfile::tempdir().unwrap();
    let td = elsewhere.path().join("tgt");
    let out = gobuild_env(
        elsewhere.path(),
        &[
            "build",
            "-q",
            "--manifest-path",
            ws.join("Cargo.toml").to_str().unwrap(),
        ],
        &[("CARGO_TARGET_DIR", td.to_str().unwrap())],
    );
    // gobuild_env removes CARGO_TARGET_DIR before applying env, so it is set.
    ok(&out);
    assert!(
        td.join("gobuild/dev/linux_amd64/hello").is_file(),
        "{}",
        text(&out)
    );
}

fn write(dir: &Path, name: &str, text: &str) {
    std::fs::write(dir.join(name), text).unwrap();
}

#[test]
fn targets_with_different_experiment_sets_build_side_by_side() {
    let (_tmp, dir) = fixture("demo");
    write(
        &dir,
        "gobuild.toml",
        r#"
[[target]]
package = "./cmd/demo"
name = "demo-regabi"
profile = "regabi-s390x"

[[target]]
package = "./cmd/demo"
name = "demo-noregabi"
profile = "noregabi-s390x"
"#,
    );
    let t = shared_target();
    let t = t.to_str().unwrap();
    let out = gobuild(
        &dir,
        &["build", "--message-format", "json", "--target-dir", t],
    );
    ok(&out);
    let ev = events(&out);
    let arts: Vec<String> = ev
        .iter()
        .filter(|e| e["reason"] == "artifact")
        .map(|e| e["path"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(arts.len(), 2, "{arts:?}");
    assert!(
        arts[0].ends_with("gobuild/regabi-s390x/linux_s390x/demo-regabi"),
        "{arts:?}"
    );
    assert!(
        arts[1].ends_with("gobuild/noregabi-s390x/linux_s390x/demo-noregabi"),
        "{arts:?}"
    );
    let a = run_program(Command::new("qemu-s390x").arg(&arts[0]));
    let b = run_program(Command::new("qemu-s390x").arg(&arts[1]));
    assert_eq!(a, b);
    assert!(a.contains("apply: 22"), "{a}");
    for (art, exp) in arts.iter().zip(["regabi", "noregabi"]) {
        let m = ok(&go(&dir, &["version", "-m", art], &[]));
        assert!(m.contains(&format!("build\tGOEXPERIMENT={exp}\n")), "{m}");
        assert!(m.contains("build\tGOARCH=s390x"), "{m}");
    }
    // A rebuild reuses both standard-library builds: nothing runs.
    let out = gobuild(
        &dir,
        &["build", "--message-format", "json", "--target-dir", t],
    );
    ok(&out);
    assert_eq!(ran(&events(&out)), vec![]);
}

/// The wrappers `-d=abiwrap` printed for the fixture's `sum` package.
fn abiwrap_output(dir: &Path, profile: &str, target: &str) -> (String, String) {
    let out = gobuild(
        dir,
        &[
            "build",
            "--message-format",
            "json",
            "--target-dir",
            target,
            "--profile",
            profile,
            "--gcflags=-d=abiwrap",
            "-o",
            &format!("demo-{profile}"),
            "./cmd/demo",
        ],
    );
    ok(&out);
    let wrappers: String = events(&out)
        .iter()
        .filter(|e| e["reason"] == "diagnostic" && e["level"] == "output")
        .filter(|e| e["package"] == "example.com/demo/sum")
        .map(|e| e["message"].as_str().unwrap().to_string())
        .collect();
    let printed = run_program(Command::new("qemu-s390x").arg(dir.join(format!("demo-{profile}"))));
    (wrappers, printed)
}

#[test]
fn register_abi_toggled_for_real_on_s390x() {
    let (_tmp, dir) = fixture("demo");
    let t = shared_target();
    let t = t.to_str().unwrap();
    let (with, out_with) = abiwrap_output(&dir, "regabi-s390x", t);
    let (without, out_without) = abiwrap_output(&dir, "noregabi-s390x", t);
    assert_eq!(out_with, out_without, "both ABIs must compute the same");
    for w in [
        "=-= ABIInternal to ABI0 wrapper for Add",
        "=-= ABIInternal to ABI0 wrapper for Apply",
        "=-= ABIInternal to ABI0 wrapper for Scale",
        "=-= ABI0 to ABIInternal wrapper for callback",
    ] {
        assert!(with.contains(w), "regabi build lacks {w:?}:\n{with}");
    }
    assert!(
        !without.contains("wrapper"),
        "noregabi build reported wrappers:\n{without}"
    );
    // Replayed from the cache on a second build.
    let (again, _) = abiwrap_output(&dir, "regabi-s390x", t);
    assert_eq!(again, with);
}

#[test]
fn noregabi_on_amd64_warns_that_it_is_forced_on() {
    let (_tmp, dir) = fixture("demo");
    write(
        &dir,
        "gobuild.toml",
        "[profile.x]\nexperiments = \"noregabi\"\n",
    );
    let out = gobuild(
        &dir,
        &[
            "build",
            "--message-format",
            "json",
            "--profile",
            "x",
            "--target-dir",
            shared_target().to_str().unwrap(),
        ],
    );
    ok(&out);
    let ev = events(&out);
    let w = ev
        .iter()
        .find(|e| e["reason"] == "diagnostic" && e["level"] == "warning")
        .expect("a warning");
    assert!(
        w["message"]
            .as_str()
            .unwrap()
            .contains("`noregabi` has no effect on GOARCH=amd64"),
        "{w}"
    );
}

/// Runs a build with `gobuild.toml` = `config` and returns its stderr, with
/// the temp directory replaced by `[ROOT]`; asserts exit 102.
fn bad_config(config: &str, args: &[&str]) -> String {
    let (_tmp, dir) = fixture("demo");
    write(&dir, "gobuild.toml", config);
    // A private target directory: no lock shared with other tests.
    let t = dir.join("target");
    let mut all = vec!["build", "--color", "never", "--target-dir"];
    all.push(t.to_str().unwrap());
    all.extend_from_slice(args);
    let out = gobuild(&dir, &all);
    assert_eq!(out.status.code(), Some(102), "{}", text(&out));
    String::from_utf8_lossy(&out.stderr).replace(dir.to_str().unwrap(), "[ROOT]")
}

#[test]
fn bad_config_toml_syntax() {
    insta::assert_snapshot!(bad_config(
        "[profile.dev]\ngcflags = [\"-N\"\ntrimpath = true\n",
        &[]
    ));
}

#[test]
fn bad_config_unknown_key() {
    insta::assert_snapshot!(bad_config("[profile.dev]\ntrimpth = true\n", &[]));
}

#[test]
fn bad_config_unknown_top_level_key() {
    insta::assert_snapshot!(bad_config("[profiles.dev]\ntrimpath = true\n", &[]));
}

#[test]
fn bad_config_bad_pattern() {
    insta::assert_snapshot!(bad_config(
        "[[package]]\nmatch = \"example.com/demo /...\"\ngcflags = [\"-N\"]\n",
        &[]
    ));
}

#[test]
fn bad_config_bad_flag() {
    insta::assert_snapshot!(bad_config(
        "[profile.dev]\ngcflags = [\"N\", \"-l\"]\n",
        &[]
    ));
}

#[test]
fn bad_config_unknown_experiment() {
    // The list of valid names is the toolchain's: redacted, checked apart.
    let msg = bad_config("[profile.dev]\nexperiments = \"loopvr\"\n", &[]);
    let list = regex::Regex::new(r"valid experiments: [a-z0-9, ]+\)").unwrap();
    assert!(
        list.is_match(&msg) && msg.contains("regabi, regabiargs"),
        "{msg}"
    );
    insta::assert_snapshot!(list.replace(&msg, "valid experiments: [LIST])"));
}

#[test]
fn bad_config_inherits_cycle() {
    insta::assert_snapshot!(bad_config(
        "[profile.a]\ninherits = \"b\"\n\n[profile.b]\ninherits = \"a\"\n",
        &["--profile", "a"]
    ));
}

#[test]
fn bad_config_unknown_profile() {
    insta::assert_snapshot!(bad_config("", &["--profile", "relase"]));
}

#[test]
fn bad_config_two_experiment_sets_in_one_link_unit() {
    insta::assert_snapshot!(bad_config(
        "[[target]]\npackage = \"./cmd/demo\"\nname = \"demo\"\nprofile = \"regabi-s390x\"\n\n[[package]]\nmatch = \"example.com/demo/sum\"\nexperiments = \"noregabi\"\n",
        &[]
    ));
}

#[test]
fn profiles_explain_says_where_values_come_from() {
    let (_tmp, dir) = fixture("demo");
    write(
        &dir,
        "gobuild.toml",
        "[profile.mine]\ninherits = \"release\"\ngcflags = [\"-N\"]\n",
    );
    let out = gobuild(&dir, &["profiles", "--explain", "--profile", "mine"]);
    let s = ok(&out);
    assert!(
        s.lines()
            .any(|l| l.starts_with("*mine") && l.contains("release < default")),
        "{s}"
    );
    let gcflags = s
        .lines()
        .find(|l| l.trim_start().starts_with("gcflags") && l.contains("gobuild.toml:3:1"))
        .unwrap_or_else(|| panic!("no gcflags origin in\n{s}"));
    assert!(gcflags.contains("[\"-N\"]"), "{gcflags}");
    assert!(
        s.contains("configs/release.toml:3:1"),
        "trimpath from the shipped release:\n{s}"
    );
    assert!(
        s.contains("X:noregabiwrappers,noregabiargs"),
        "effective set of noregabi-s390x:\n{s}"
    );
}
