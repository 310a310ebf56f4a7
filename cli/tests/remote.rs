//! The remote cache against a real REAPI server (BuildGrid on 127.0.0.1):
//! two clones in different directories share every action through it; a
//! poisoned result is detected and rebuilt; `upload = false` writes
//! nothing; header secrets are sent but never printed; a server that dies
//! mid-build leaves one warning and a correct local build.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::buildgrid::BuildGrid;
use common::*;

const SECRET: &str = "s3cret-header-value-4711";

/// A copy of the demo fixture whose gobuild.toml points at `instance`.
fn clone(root: &Path, name: &str, instance: &str, upload: bool) -> PathBuf {
    let dir = root.join(name);
    copy_dir(&fixtures().join("demo"), &dir);
    std::fs::write(
        dir.join("gobuild.toml"),
        format!(
            "[remote]\ninstance_name = \"{instance}\"\nupload = {upload}\ntimeout = \"30s\"\nheaders = {{ x-gobuild-test = {{ env = \"GOBUILD_TEST_SECRET\" }} }}\n"
        ),
    )
    .unwrap();
    dir
}

fn build(
    dir: &Path,
    target: &Path,
    url: &str,
    extra: &[&str],
) -> (std::process::Output, Vec<serde_json::Value>) {
    let mut args = vec![
        "gobuild",
        "build",
        "--trimpath",
        "--remote-cache",
        url,
        "--target-dir",
        target.to_str().unwrap(),
        "./cmd/demo",
    ];
    args.extend_from_slice(extra);
    let out = Command::new(bin())
        .args(&args)
        .current_dir(dir)
        .env_remove("CARGO_TARGET_DIR")
        .env_remove("GOBUILD_PROFILE")
        .env_remove("GOBUILD_REMOTE_CACHE")
        .env("GOBUILD_TEST_SECRET", SECRET)
        .output()
        .unwrap();
    let ev = events(&out);
    (out, ev)
}

fn program(target: &Path) -> Vec<u8> {
    std::fs::read(target.join("gobuild/dev/linux_amd64/demo")).unwrap()
}

fn keys(ev: &[serde_json::Value]) -> BTreeSet<String> {
    ev.iter()
        .filter(|e| e["reason"] == "action-finished")
        .map(|e| format!("{} {} {}", e["action"], e["package"], e["key"]))
        .collect()
}

fn remote_stats(ev: &[serde_json::Value]) -> serde_json::Value {
    finished(ev)["remote"].clone()
}

fn warnings(ev: &[serde_json::Value]) -> Vec<String> {
    ev.iter()
        .filter(|e| e["reason"] == "diagnostic" && e["level"] == "warning")
        .map(|e| e["message"].as_str().unwrap_or("").to_string())
        .collect()
}

#[test]
fn clones_share_builds_and_nothing_unverified_is_used() {
    let bg = BuildGrid::start(&["share", "readonly"]);
    let tmp = tempfile::tempdir().unwrap();
    let json = ["--message-format", "json"];

    // A: cold, everything uploaded.
    let a = clone(tmp.path(), "a", "share", true);
    let (out, ev_a) = build(&a, &tmp.path().join("ta"), &bg.url, &json);
    ok(&out);
    let s = remote_stats(&ev_a);
    assert!(s["uploads"].as_u64().unwrap() > 100, "{s}");
    assert_eq!(s["hits"], 0, "{s}");

    // B: another directory, an empty target dir: every action a remote
    // hit, nothing runs, the same program.
    let b = clone(tmp.path(), "elsewhere/b", "share", true);
    let (out, ev_b) = build(&b, &tmp.path().join("tb"), &bg.url, &json);
    ok(&out);
    assert_eq!(finished(&ev_b)["ran"], 0, "{}", text(&out));
    let served: BTreeSet<&str> = ev_b
        .iter()
        .filter(|e| e["reason"] == "action-finished")
        .map(|e| e["cache"].as_str().unwrap_or("-"))
        .collect();
    assert_eq!(served, BTreeSet::from(["remote"]));
    assert_eq!(
        keys(&ev_a),
        keys(&ev_b),
        "the same action digests in both clones"
    );
    assert_eq!(
        program(&tmp.path().join("ta")),
        program(&tmp.path().join("tb"))
    );
    let s = remote_stats(&ev_b);
    assert!(s["bytes_down"].as_u64().unwrap() > 1_000_000, "{s}");
    run_program(&mut Command::new(
        tmp.path().join("tb/gobuild/dev/linux_amd64/demo"),
    ));

    // Poison the link's result: its program output now names another blob
    // (a valid blob of other content). C detects it and links itself.
    let link_key = ev_b
        .iter()
        .find(|e| e["reason"] == "action-finished" && e["action"] == "link")
        .and_then(|e| e["key"].as_str())
        .unwrap()
        .to_string();
    let client = bg.client("share");
    let (ad, _) = remote::action_digest(&link_key, &[]);
    let mut files = client
        .get_action_result(&ad)
        .unwrap()
        .expect("the link's result");
    let bogus = b"not the program at all".to_vec();
    let bd = remote::Digest::of(&bogus);
    client.upload_blobs(&[(bd.clone(), &bogus)]).unwrap();
    let exe = files
        .iter_mut()
        .find(|f| f.path == "exe")
        .expect("exe output");
    exe.digest = bd;
    client.update_action_result(&ad, &files).unwrap();
    let c = clone(tmp.path(), "c", "share", false);
    let (out, ev_c) = build(&c, &tmp.path().join("tc"), &bg.url, &json);
    ok(&out);
    let ran: Vec<String> = ran(&ev_c).into_iter().map(|(a, _, _)| a).collect();
    assert_eq!(ran, ["link"], "only the poisoned action reruns");
    assert!(
        warnings(&ev_c).iter().any(|w| w.contains("does not match")),
        "{:?}",
        warnings(&ev_c)
    );
    assert_eq!(
        program(&tmp.path().join("tc")),
        program(&tmp.path().join("ta"))
    );

    // Read-only: D builds with upload = false; E (same instance) finds nothing.
    let d = clone(tmp.path(), "d", "readonly", false);
    let (out, ev_d) = build(&d, &tmp.path().join("td"), &bg.url, &json);
    ok(&out);
    let s = remote_stats(&ev_d);
    assert_eq!(
        (s["uploads"].as_u64(), s["bytes_up"].as_u64()),
        (Some(0), Some(0)),
        "{s}"
    );
    let e = clone(tmp.path(), "e", "readonly", false);
    let (out, ev_e) = build(&e, &tmp.path().join("te"), &bg.url, &json);
    ok(&out);
    assert_eq!(
        remote_stats(&ev_e)["hits"],
        0,
        "upload = false wrote nothing"
    );

    // The header's secret is never printed: not with -v, not by profiles --explain.
    let (out, _) = build(&b, &tmp.path().join("tb"), &bg.url, &["-v"]);
    let shown = text(&out);
    assert!(
        shown.contains("Finished") && shown.contains("remote:"),
        "{shown}"
    );
    assert!(!shown.contains(SECRET), "{shown}");
    let out = Command::new(bin())
        .args(["gobuild", "profiles", "--explain"])
        .current_dir(&b)
        .env("GOBUILD_TEST_SECRET", SECRET)
        .output()
        .unwrap();
    let shown = ok(&out);
    assert!(shown.contains("GOBUILD_TEST_SECRET"), "{shown}");
    assert!(!shown.contains(SECRET), "{shown}");
}

#[test]
fn a_server_that_dies_mid_build_leaves_one_warning_and_a_local_build() {
    let mut bg = BuildGrid::start(&["dies"]);
    let tmp = tempfile::tempdir().unwrap();
    let dir = clone(tmp.path(), "a", "dies", true);
    let target = tmp.path().join("t");
    let url = bg.url.clone();
    let handle = {
        let dir = dir.clone();
        let target = target.clone();
        std::thread::spawn(move || build(&dir, &target, &url, &["--message-format", "json"]))
    };
    std::thread::sleep(std::time::Duration::from_millis(2500));
    bg.kill();
    let (out, ev) = handle.join().unwrap();
    ok(&out);
    let w: Vec<String> = warnings(&ev)
        .into_iter()
        .filter(|w| w.contains("remote"))
        .collect();
    assert_eq!(w.len(), 1, "one warning: {w:?}");
    assert!(w[0].contains("unavailable"), "{w:?}");
    let out = run_program(&mut Command::new(
        target.join("gobuild/dev/linux_amd64/demo"),
    ));
    assert!(out.contains("add: 42"), "{out}");

    // And a server that is not there at all: one warning at the start.
    let (out, ev) = build(&dir, &target, &bg.url, &["--message-format", "json"]);
    ok(&out);
    let w: Vec<String> = warnings(&ev)
        .into_iter()
        .filter(|w| w.contains("remote"))
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
}
