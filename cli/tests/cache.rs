//! The cache never serves a damaged object: truncated, flipped in place
//! (mtime restored), a rerun that meets a bad object already stored, a
//! damaged archive the link or the nosplit check would read — each ends with
//! a correct program. Also: the tool's own identity in in-process keys,
//! `cache verify|gc|info`, and the daily trim at the end of a build.
//!
//! Each test damages a target directory of its own (never the shared one).

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::*;

struct Build {
    _tmp: tempfile::TempDir,
    dir: PathBuf,
    target: PathBuf,
}

impl Build {
    fn new() -> Build {
        let (tmp, dir) = fixture("demo");
        let target = tmp.path().join("target");
        Build {
            _tmp: tmp,
            dir,
            target,
        }
    }

    fn cache(&self) -> PathBuf {
        self.target.join("gobuild/cache")
    }

    fn program(&self) -> PathBuf {
        self.target.join("gobuild/dev/linux_amd64/demo")
    }

    /// `cargo gobuild ARGS --target-dir T --message-format json`, its events.
    fn run_with(
        &self,
        bin: &Path,
        args: &[&str],
    ) -> (std::process::Output, Vec<serde_json::Value>) {
        let t = self.target.display().to_string();
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["--target-dir", &t, "--message-format", "json"]);
        let out = Command::new(bin)
            .arg("gobuild")
            .args(&all)
            .current_dir(&self.dir)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("GOBUILD_PROFILE")
            .env_remove("GOBUILD_CACHE_MAX_AGE")
            .output()
            .expect("run cargo-gobuild");
        let ev = events(&out);
        (out, ev)
    }

    fn build(&self) -> Vec<serde_json::Value> {
        let (out, ev) = self.run_with(&bin(), &["build", "./cmd/demo"]);
        ok(&out);
        ev
    }

    /// The installed program runs and computes right.
    fn assert_program_right(&self) {
        let out = run_program(&mut Command::new(self.program()));
        assert!(
            out.contains("add: 42") && out.contains("apply: 22") && out.contains("scale: 40"),
            "wrong program output:\n{out}"
        );
    }

    /// Every object file of the cache.
    fn objects(&self) -> Vec<PathBuf> {
        let mut v = Vec::new();
        for shard in fs::read_dir(self.cache().join("o")).unwrap().flatten() {
            for f in fs::read_dir(shard.path()).unwrap().flatten() {
                v.push(f.path());
            }
        }
        v
    }

    /// The object with exactly these bytes.
    fn object_with(&self, bytes: &[u8]) -> PathBuf {
        self.objects()
            .into_iter()
            .find(|p| {
                fs::metadata(p).map(|m| m.len()).ok() == Some(bytes.len() as u64)
                    && fs::read(p).unwrap() == bytes
            })
            .expect("the object of these bytes is in the cache")
    }

    /// The packed archive of `example.com/demo/sum` (the one holding the
    /// `sum_amd64.o` member).
    fn sum_archive(&self) -> PathBuf {
        let hits: Vec<PathBuf> = self
            .objects()
            .into_iter()
            .filter(|p| {
                let d = fs::read(p).unwrap();
                d.starts_with(b"!<arch>\n") && find(&d, b"sum_amd64.o     ").is_some()
            })
            .collect();
        assert_eq!(hits.len(), 1, "one packed sum archive: {hits:?}");
        hits[0].clone()
    }
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn ran_kinds(ev: &[serde_json::Value]) -> Vec<String> {
    let mut v: Vec<String> = ran(ev)
        .into_iter()
        .map(|(a, p, _)| format!("{a} {p}"))
        .collect();
    v.sort();
    v
}

fn damaged_reason(ev: &[serde_json::Value], action: &str) -> String {
    ev.iter()
        .find(|e| {
            e["reason"] == "action-finished" && e["action"] == action && e["outcome"] == "ran"
        })
        .map(|e| e["dirty"].to_string())
        .unwrap_or_default()
}

fn set_mtime(p: &Path, t: SystemTime) {
    fs::OpenOptions::new()
        .write(true)
        .open(p)
        .unwrap()
        .set_modified(t)
        .unwrap();
}

#[test]
fn damaged_objects_are_misses_and_every_program_is_right() {
    let b = Build::new();
    b.build();
    b.assert_program_right();
    let good = fs::read(b.program()).unwrap();
    let exe = b.object_with(&good);

    // 1. The program object truncated: the link reruns and replaces it.
    fs::write(&exe, &good[..good.len() / 2]).unwrap();
    let ev = b.build();
    assert_eq!(ran_kinds(&ev), ["link example.com/demo/cmd/demo"]);
    let why = damaged_reason(&ev, "link");
    assert!(
        why.contains("damaged") && why.contains(&exe.display().to_string()),
        "{why}"
    );
    assert!(
        ev.iter().any(|e| e["reason"] == "diagnostic"
            && e["level"] == "warning"
            && e["message"].as_str().unwrap_or("").contains("damaged")),
        "a warning says so"
    );
    assert_eq!(fs::read(&exe).unwrap(), good, "the object is whole again");
    b.assert_program_right();

    // 2. 16 bytes flipped in the middle, same size, mtime restored; the
    // installed copy is gone, so the object is what gets installed.
    let mtime = fs::metadata(&exe).unwrap().modified().unwrap();
    let mut bad = good.clone();
    let mid = bad.len() / 2;
    for x in &mut bad[mid..mid + 16] {
        *x ^= 0xff;
    }
    std::thread::sleep(Duration::from_millis(20));
    fs::write(&exe, &bad).unwrap();
    set_mtime(&exe, mtime);
    fs::remove_file(b.program()).unwrap();
    let ev = b.build();
    assert_eq!(ran_kinds(&ev), ["link example.com/demo/cmd/demo"]);
    assert_eq!(
        fs::read(b.program()).unwrap(),
        good,
        "installed bytes equal a fresh build's"
    );
    b.assert_program_right();

    // 3. ADDQ flipped to SUBQ inside the sum archive, then main.go edited so
    // the link reruns: the archive is caught before the link reads it.
    let archive = b.sum_archive();
    let mut data = fs::read(&archive).unwrap();
    let member = find(&data, b"sum_amd64.o     ").unwrap();
    let add =
        member + find(&data[member..], &[0x48, 0x01, 0xd8]).expect("ADDQ BX, AX in sum_amd64.o");
    data[add + 1] = 0x29; // SUBQ BX, AX
    fs::write(&archive, &data).unwrap();
    let main_go = b.dir.join("cmd/demo/main.go");
    let src = fs::read_to_string(&main_go).unwrap();
    fs::write(
        &main_go,
        src.replace("\"embedded:\"", "\"embedded (edited):\""),
    )
    .unwrap();
    let ev = b.build();
    let kinds = ran_kinds(&ev);
    assert!(
        kinds.contains(&"pack example.com/demo/sum".to_string()),
        "{kinds:?}"
    );
    assert!(
        kinds.contains(&"link example.com/demo/cmd/demo".to_string()),
        "{kinds:?}"
    );
    assert!(damaged_reason(&ev, "pack").contains("damaged"));
    b.assert_program_right();
    let good = fs::read(b.program()).unwrap();

    // 4. The program object truncated and the link's entry deleted: the
    // link reruns as a plain miss, and storing its output must replace the
    // bad object already there.
    let exe = b.object_with(&good);
    fs::write(&exe, &good[..100]).unwrap();
    for shard in fs::read_dir(b.cache().join("a")).unwrap().flatten() {
        for f in fs::read_dir(shard.path()).unwrap().flatten() {
            if fs::read_to_string(f.path())
                .unwrap_or_default()
                .contains("\"exe\":")
            {
                fs::remove_file(f.path()).unwrap();
            }
        }
    }
    fs::remove_file(b.program()).unwrap();
    let ev = b.build();
    assert_eq!(ran_kinds(&ev), ["link example.com/demo/cmd/demo"]);
    assert_eq!(
        fs::read(&exe).unwrap(),
        good,
        "the stored object was replaced"
    );
    b.assert_program_right();

    // 5. The archive the nosplit check reads, truncated: the check still
    // runs on a sound archive (pack reruns first) and reports.
    let archive = b.sum_archive();
    let whole = fs::read(&archive).unwrap();
    fs::write(&archive, &whole[..whole.len() - 7]).unwrap();
    let (out, ev) = b.run_with(&bin(), &["nosplit", "./cmd/demo"]);
    let stdout = ok(&out);
    assert!(stdout.contains("deepest NOSPLIT chain"), "{stdout}");
    assert!(ran_kinds(&ev).contains(&"pack example.com/demo/sum".to_string()));
    assert_eq!(fs::read(&archive).unwrap(), whole);

    // 6. `cache verify` finds a damaged object nobody asked for yet and removes it.
    fs::write(&archive, b"!<arch>\nnot an archive").unwrap();
    let (out, _) = b.run_with(&bin(), &["cache", "verify", "--json"]);
    let report: serde_json::Value = serde_json::from_str(ok(&out).trim()).unwrap();
    assert_eq!(report["bad_objects"], 1, "{report}");
    assert!(report["bad_entries"].as_u64().unwrap() >= 1, "{report}");
    assert!(!archive.exists());
    let ev = b.build();
    assert!(ran_kinds(&ev).contains(&"pack example.com/demo/sum".to_string()));
    b.assert_program_right();
}

#[test]
fn a_changed_tool_reruns_only_its_in_process_steps() {
    let b = Build::new();
    b.build();
    // The same cargo-gobuild with other bytes: another identity.
    let other = b._tmp.path().join("cargo-gobuild-other");
    let mut exe = fs::read(bin()).unwrap();
    exe.extend_from_slice(b"another build of the tool");
    fs::write(&other, exe).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        fs::set_permissions(&other, fs::Permissions::from_mode(0o755)).unwrap();
    }
    let (out, ev) = b.run_with(&other, &["build", "./cmd/demo"]);
    ok(&out);
    let kinds: std::collections::BTreeSet<String> =
        ran(&ev).into_iter().map(|(a, _, _)| a).collect();
    let expected: std::collections::BTreeSet<String> = ["symabis", "pack", "nosplit", "abi-report"]
        .into_iter()
        .map(String::from)
        .collect();
    assert_eq!(
        kinds, expected,
        "in-process steps rerun, Go tools' steps do not"
    );
    let why = damaged_reason(&ev, "pack");
    assert!(why.contains("tool changed"), "{why}");
    // And back with the first binary: its outputs are still there.
    let ev = b.build();
    assert_eq!(finished(&ev)["ran"], 0);
}

#[test]
fn builds_trim_unused_entries_once_a_day_and_keep_what_they_use() {
    let b = Build::new();
    b.build();
    // A second program variant: only its link differs.
    let (out, _) = b.run_with(&bin(), &["build", "--ldflags=-s", "./cmd/demo"]);
    ok(&out);
    let info = |b: &Build| {
        let (out, _) = b.run_with(&bin(), &["cache", "info", "--json"]);
        serde_json::from_str::<serde_json::Value>(ok(&out).trim()).unwrap()
    };
    let before = info(&b);
    // Everything unused for six days; the last trim two days ago.
    let old = SystemTime::now() - Duration::from_secs(6 * 24 * 3600);
    for dir in ["a", "o"] {
        for shard in fs::read_dir(b.cache().join(dir)).unwrap().flatten() {
            for f in fs::read_dir(shard.path()).unwrap().flatten() {
                set_mtime(&f.path(), old);
            }
        }
    }
    set_mtime(
        &b.cache().join("trim.txt"),
        SystemTime::now() - Duration::from_secs(2 * 24 * 3600),
    );
    // The plain build uses all but the stripped link: that one goes.
    let ev = b.build();
    assert_eq!(finished(&ev)["ran"], 0);
    let after = info(&b);
    assert_eq!(
        after["entries"].as_u64().unwrap(),
        before["entries"].as_u64().unwrap() - 1,
        "{before} -> {after}"
    );
    assert!(after["objects"].as_u64() < before["objects"].as_u64());
    // What the build used is all there: a rebuild runs nothing...
    let ev = b.build();
    assert_eq!(finished(&ev)["ran"], 0);
    b.assert_program_right();
    // ...and the stripped variant relinks, nothing else.
    let (out, ev) = b.run_with(&bin(), &["build", "--ldflags=-s", "./cmd/demo"]);
    ok(&out);
    assert_eq!(ran_kinds(&ev), ["link example.com/demo/cmd/demo"]);

    // `cache gc --max-age 0s` empties it; the next build is a full one.
    let (out, _) = b.run_with(&bin(), &["cache", "gc", "--max-age", "0s", "--json"]);
    let t: serde_json::Value = serde_json::from_str(ok(&out).trim()).unwrap();
    assert!(t["entries"].as_u64().unwrap() > 100, "{t}");
    assert_eq!(info(&b)["entries"], 0);
    let ev = b.build();
    assert!(finished(&ev)["ran"].as_u64().unwrap() > 100);
    b.assert_program_right();
}

#[test]
fn cache_commands_explain_bad_arguments() {
    let b = Build::new();
    let (out, _) = b.run_with(&bin(), &["cache", "gc", "--max-size", "lots"]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is not a size"), "{}", text(&out));
    let out = Command::new(bin())
        .args(["gobuild", "build", "./cmd/demo", "--target-dir"])
        .arg(&b.target)
        .current_dir(&b.dir)
        .env("GOBUILD_CACHE_MAX_AGE", "soon")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(102), "{}", text(&out));
    assert!(
        text(&out).contains("GOBUILD_CACHE_MAX_AGE=soon"),
        "{}",
        text(&out)
    );
}
