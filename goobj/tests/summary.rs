//! Per-archive summaries (`goobj::SummaryCache`): reused when valid, rebuilt when stale,
//! corrupt or from another format version, and the check through them equals the check
//! on the archives.

mod common;
use common::*;
use std::path::{Path, PathBuf};

/// Removes go build's WORK directory (which importcfg.link points into) at the end.
struct Work(PathBuf);
impl Drop for Work {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

fn demo_step() -> (tempfile::TempDir, LinkStep, Work) {
    let d = tempfile::tempdir().expect("tempdir");
    let fixture = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/demo");
    copy_dir(&fixture, d.path());
    let b = go_build(d.path(), "amd64", &["-o", "/dev/null", "./cmd/demo"]);
    assert!(b.ok, "go build failed:\n{}", b.stderr);
    // Keep the link inputs: copy WORK's b001 (main archive, importcfg.link) into d.
    let step = b.links[0].clone();
    let main = d.path().join("_pkg_.a");
    std::fs::copy(&step.main, &main).expect("copy main");
    let cfg = d.path().join("importcfg.link");
    std::fs::copy(&step.importcfg, &cfg).expect("copy cfg");
    (
        d,
        LinkStep {
            main,
            importcfg: cfg,
            main_pkg: step.main_pkg,
        },
        Work(b.work),
    )
}

fn edges(set: &goobj::LinkSet) -> String {
    goobj::stack_check(set, &goobj::StackCheckOptions::default()).format_edges()
}

fn summaries(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("read_dir")
        .map(|e| e.expect("entry").path())
        .collect();
    v.sort();
    v
}

#[test]
fn reused_rebuilt_and_never_trusted_when_corrupt() {
    let (d, step, _work) = demo_step();
    let want = edges(&step.load());
    let cache = d.path().join("summaries");
    let (set, st) = step.load_cached(&cache);
    assert_eq!(edges(&set), want);
    let n = st.built;
    assert!(n > 10 && st.reused == 0 && st.direct == 0, "{st:?}");
    let files = summaries(&cache);
    assert_eq!(files.len(), n, "one summary per archive: {files:?}");
    assert!(
        !files
            .iter()
            .any(|f| f.file_name().unwrap().to_string_lossy().starts_with(".tmp")),
        "temporary files left behind"
    );

    let (set, st) = step.load_cached(&cache);
    assert_eq!(edges(&set), want);
    assert_eq!((st.reused, st.built), (n, 0));

    // Corrupt three summaries: a flipped byte, a truncation, garbage.
    let mut b = std::fs::read(&files[0]).expect("read");
    let mid = b.len() / 2;
    b[mid] ^= 0x40;
    std::fs::write(&files[0], &b).expect("write");
    let b = std::fs::read(&files[1]).expect("read");
    std::fs::write(&files[1], &b[..b.len() - 3]).expect("write");
    std::fs::write(&files[2], b"GOOBJSUM not really").expect("write");
    // And one from another format version (bytes 8..12).
    let mut b = std::fs::read(&files[3]).expect("read");
    b[8] = b[8].wrapping_add(1);
    std::fs::write(&files[3], &b).expect("write");
    let (set, st) = step.load_cached(&cache);
    assert_eq!(edges(&set), want);
    assert_eq!((st.reused, st.built), (n - 4, 4), "{st:?}");
    let (_, st) = step.load_cached(&cache);
    assert_eq!(
        (st.reused, st.built),
        (n, 0),
        "rebuilt summaries are reused"
    );
}

#[test]
fn changed_archive_is_summarized_again() {
    let (d, step, _work) = demo_step();
    let cache = d.path().join("summaries");
    let (_, st) = step.load_cached(&cache);
    let n = st.built;
    // Same path, new content (a rebuilt main package written in place): size/mtime differ.
    let mut data = std::fs::read(&step.main).expect("read");
    std::thread::sleep(std::time::Duration::from_millis(20));
    // An extra archive member the loader ignores (not an object file name).
    let name = "junk/";
    let body = b"x\n";
    data.extend_from_slice(
        format!(
            "{name:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            0,
            0,
            0,
            644,
            body.len()
        )
        .as_bytes(),
    );
    data.extend_from_slice(body);
    std::fs::write(&step.main, &data).expect("write");
    let (set, st) = step.load_cached(&cache);
    assert_eq!((st.reused, st.built), (n - 1, 1), "{st:?}");
    assert_eq!(edges(&set), edges(&step.load()));
}

#[test]
fn unwritable_cache_still_loads() {
    let (d, step, _work) = demo_step();
    // The cache "directory" is a file: summaries can't be stored, the load still works.
    let f = d.path().join("not-a-dir");
    std::fs::write(&f, b"").expect("write");
    let (set, st) = step.load_cached(&f);
    assert_eq!(edges(&set), edges(&step.load()));
    // After the first summary fails to be stored, archives are read directly.
    assert_eq!((st.built, st.reused), (1, 0), "{st:?}");
    assert!(st.direct > 10, "{st:?}");
}
