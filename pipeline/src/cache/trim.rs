//! Trimming the local cache like go's (`cmd/go/internal/cache.Trim`): an
//! entry's mtime is its last use (a hit refreshes it at most once an hour);
//! entries unused for the policy's age are removed, then every object no
//! remaining entry names and not written within that age either (a build's
//! uncached outputs, like a failed test's, are in use until it ends); with a
//! size limit, the least recently used objects (and the entries that name
//! them) go next. The memos beside the objects (inputs log, nosplit summaries
//! and memos, ELF-check stamps, test logs) go by age alone: losing one only
//! costs recomputing it.
//!
//! A build trims at its end, at most once a day (`trim.txt` holds the last
//! time), with the lock held, so nothing it used can go: everything it used
//! was refreshed, and no other build runs. `cargo gobuild cache gc` trims
//! on demand, `cache info` tells what the cache holds, `cache verify`
//! hashes every object and removes what is damaged.

use std::collections::{HashMap, HashSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::cache::{ContentDigest, Entry, LocalCache};
use crate::error::{IoContext, Result};

/// How often a build trims.
pub const TRIM_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// Go's default: entries unused for five days go.
pub const DEFAULT_MAX_AGE: Duration = Duration::from_secs(5 * 24 * 3600);

/// The memo directories trimmed by age (and counted by [`CacheInfo`]).
const MEMOS: &[&str] = &["m", "nosplit", "abi-checked", "testlogs"];

/// What to remove.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TrimPolicy {
    /// Entries unused for longer go.
    pub max_age: Duration,
    /// Then the least recently used objects go until the objects fit.
    pub max_size: Option<u64>,
}

impl Default for TrimPolicy {
    fn default() -> Self {
        TrimPolicy {
            max_age: DEFAULT_MAX_AGE,
            max_size: None,
        }
    }
}

impl TrimPolicy {
    /// The default, or the age `GOBUILD_CACHE_MAX_AGE` says (`5d`, `36h`);
    /// `Err` names a bad value.
    pub fn from_env() -> std::result::Result<TrimPolicy, String> {
        let mut p = TrimPolicy::default();
        if let Ok(v) = std::env::var("GOBUILD_CACHE_MAX_AGE") {
            p.max_age = humantime::parse_duration(&v).map_err(|e| {
                format!("GOBUILD_CACHE_MAX_AGE={v}: {e} (hint: a duration like 5d or 36h)")
            })?;
        }
        Ok(p)
    }
}

/// What a trim removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct TrimReport {
    /// Action entries removed.
    pub entries: usize,
    /// Objects removed.
    pub objects: usize,
    /// Memo files removed (inputs log, summaries, ELF-check stamps).
    pub memos: usize,
    /// Bytes freed.
    pub bytes: u64,
}

/// What the cache holds.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct CacheInfo {
    /// The cache directory.
    pub dir: PathBuf,
    /// Action entries.
    pub entries: usize,
    /// Objects and their bytes.
    pub objects: usize,
    /// Bytes of objects.
    pub object_bytes: u64,
    /// Per memo directory: files and bytes.
    pub memos: Vec<(String, usize, u64)>,
    /// The least recently used entry's last use.
    pub oldest_use: Option<SystemTime>,
    /// When the cache was last trimmed.
    pub last_trim: Option<SystemTime>,
}

/// What a verification found.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct VerifyReport {
    /// Objects hashed.
    pub objects: usize,
    /// Objects whose content did not match their name, removed.
    pub bad_objects: usize,
    /// Entries read.
    pub entries: usize,
    /// Entries unreadable or naming a missing object, removed.
    pub bad_entries: usize,
}

/// Files two levels down (`dir/xx/name`), with their metadata.
fn sharded(dir: &Path) -> Vec<(PathBuf, fs::Metadata)> {
    let mut out = Vec::new();
    for shard in fs::read_dir(dir).into_iter().flatten().flatten() {
        for f in fs::read_dir(shard.path()).into_iter().flatten().flatten() {
            if let Ok(m) = f.metadata() {
                if m.is_file() {
                    out.push((f.path(), m));
                }
            }
        }
    }
    out
}

/// Every file below `dir`, with its metadata.
fn files_below(dir: &Path, out: &mut Vec<(PathBuf, fs::Metadata)>) {
    for e in fs::read_dir(dir).into_iter().flatten().flatten() {
        let Ok(m) = e.metadata() else { continue };
        if m.is_dir() {
            files_below(&e.path(), out);
        } else {
            out.push((e.path(), m));
        }
    }
}

fn digest_of_name(p: &Path) -> Option<ContentDigest> {
    ContentDigest::from_hex(p.file_name()?.to_str()?)
}

fn mtime(m: &fs::Metadata) -> SystemTime {
    m.modified().unwrap_or(SystemTime::UNIX_EPOCH)
}

struct EntryFile {
    path: PathBuf,
    used: SystemTime,
    objects: Vec<ContentDigest>,
}

impl LocalCache {
    fn entries(&self) -> (Vec<EntryFile>, Vec<PathBuf>) {
        let mut good = Vec::new();
        let mut bad = Vec::new();
        for (path, m) in sharded(&self.root().join("a")) {
            let parsed = fs::read(&path)
                .ok()
                .and_then(|d| serde_json::from_slice::<Entry>(&d).ok());
            match parsed {
                Some(e) => good.push(EntryFile {
                    path,
                    used: mtime(&m),
                    objects: e.outputs.into_values().collect(),
                }),
                None => bad.push(path),
            }
        }
        (good, bad)
    }

    /// Trims by `policy` as of `now` (the caller holds the lock).
    pub fn trim(&self, policy: &TrimPolicy, now: SystemTime) -> Result<TrimReport> {
        let mut report = TrimReport::default();
        let cutoff = now
            .checked_sub(policy.max_age)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        let (entries, unreadable) = self.entries();
        let remove = |p: &Path, report: &mut TrimReport, bytes: u64| -> Result<bool> {
            match fs::remove_file(p) {
                Ok(()) => {
                    report.bytes += bytes;
                    Ok(true)
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
                Err(e) => Err(crate::Error::io(p, e)),
            }
        };
        for p in unreadable {
            if remove(&p, &mut report, 0)? {
                report.entries += 1;
            }
        }
        let mut kept = Vec::new();
        for e in entries {
            if e.used < cutoff {
                if remove(&e.path, &mut report, 0)? {
                    report.entries += 1;
                }
            } else {
                kept.push(e);
            }
        }
        // Each object's last use: the newest entry that names it.
        let mut last_use: HashMap<ContentDigest, SystemTime> = HashMap::new();
        for e in &kept {
            for d in &e.objects {
                let t = last_use.entry(*d).or_insert(e.used);
                *t = (*t).max(e.used);
            }
        }
        let mut live: Vec<(SystemTime, PathBuf, u64, ContentDigest)> = Vec::new();
        for (path, m) in sharded(&self.root().join("o")) {
            match digest_of_name(&path).and_then(|d| last_use.get(&d).map(|t| (d, *t))) {
                Some((d, t)) => live.push((t, path, m.len(), d)),
                // Named by no entry, but written recently: the running build
                // may be using it (outputs it does not cache, like a failed
                // test's).
                None if mtime(&m) >= cutoff => {}
                None => {
                    if let Some(d) = digest_of_name(&path) {
                        self.stamps().forget(&d);
                    }
                    if remove(&path, &mut report, m.len())? {
                        report.objects += 1;
                    }
                }
            }
        }
        if let Some(max) = policy.max_size {
            let mut total: u64 = live.iter().map(|l| l.2).sum();
            live.sort();
            let mut gone = HashSet::new();
            for (_, path, size, d) in &live {
                if total <= max {
                    break;
                }
                if remove(path, &mut report, *size)? {
                    report.objects += 1;
                }
                self.stamps().forget(d);
                gone.insert(*d);
                total -= size;
            }
            for e in &kept {
                if e.objects.iter().any(|d| gone.contains(d)) && remove(&e.path, &mut report, 0)? {
                    report.entries += 1;
                }
            }
        }
        for memo in MEMOS {
            let mut files = Vec::new();
            files_below(&self.root().join(memo), &mut files);
            for (path, m) in files {
                if mtime(&m) < cutoff && remove(&path, &mut report, m.len())? {
                    report.memos += 1;
                }
            }
        }
        let stamp = self.root().join("trim.txt");
        crate::cache::atomic_write(
            &stamp,
            format!("{}\n", humantime::format_rfc3339(now)).as_bytes(),
        )?;
        self.stamps().save();
        Ok(report)
    }

    /// Trims when the last trim is older than [`TRIM_INTERVAL`] (or never
    /// happened); `None` when it was not due.
    pub fn trim_if_due(&self, policy: &TrimPolicy, now: SystemTime) -> Result<Option<TrimReport>> {
        let last = fs::metadata(self.root().join("trim.txt")).and_then(|m| m.modified());
        let due = match last {
            Ok(t) => now.duration_since(t).unwrap_or_default() >= TRIM_INTERVAL,
            Err(_) => true,
        };
        if due {
            self.trim(policy, now).map(Some)
        } else {
            Ok(None)
        }
    }

    /// What the cache holds.
    pub fn info(&self) -> CacheInfo {
        let (entries, _) = self.entries();
        let objects = sharded(&self.root().join("o"));
        let memos = MEMOS
            .iter()
            .map(|m| {
                let mut files = Vec::new();
                files_below(&self.root().join(m), &mut files);
                (
                    m.to_string(),
                    files.len(),
                    files.iter().map(|f| f.1.len()).sum(),
                )
            })
            .collect();
        CacheInfo {
            dir: self.root().to_path_buf(),
            entries: entries.len(),
            objects: objects.len(),
            object_bytes: objects.iter().map(|o| o.1.len()).sum(),
            memos,
            oldest_use: entries.iter().map(|e| e.used).min(),
            last_trim: fs::metadata(self.root().join("trim.txt"))
                .and_then(|m| m.modified())
                .ok(),
        }
    }

    /// Hashes every object and reads every entry; removes objects whose
    /// content does not match their name and entries that are unreadable or
    /// name a missing object (the caller holds the lock).
    pub fn verify_all(&self) -> Result<VerifyReport> {
        let mut r = VerifyReport::default();
        self.stamps().clear();
        for (path, _) in sharded(&self.root().join("o")) {
            r.objects += 1;
            let ok = match digest_of_name(&path) {
                Some(d) => {
                    let sized = d.with_size(crate::cache::digest::UNKNOWN_SIZE);
                    self.stamps().verify(&sized, &path).is_ok()
                }
                None => false,
            };
            if !ok {
                fs::remove_file(&path).at(&path)?;
                r.bad_objects += 1;
            }
        }
        let (entries, unreadable) = self.entries();
        r.entries = entries.len() + unreadable.len();
        for p in unreadable {
            fs::remove_file(&p).at(&p)?;
            r.bad_entries += 1;
        }
        for e in entries {
            if e.objects.iter().any(|d| !self.object_path(d).is_file()) {
                fs::remove_file(&e.path).at(&e.path)?;
                r.bad_entries += 1;
            }
        }
        self.stamps().save();
        Ok(r)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cache::{ActionCache, ActionKey, KeyInputs, Lookup, ObjectStore};

    fn key(n: &str) -> ActionKey {
        let mut k = KeyInputs::default();
        k.add("name", n);
        ActionKey::compute(&k)
    }

    fn put(c: &LocalCache, name: &str, content: &[u8]) -> (ActionKey, ContentDigest) {
        let d = c.store_bytes(content).unwrap();
        let k = key(name);
        let e = Entry {
            outputs: [("out".to_string(), d)].into_iter().collect(),
            export: None,
            output: String::new(),
            code: None,
        };
        c.store_entry(&k, &e).unwrap();
        (k, d)
    }

    fn backdate(path: &Path, by: Duration) {
        let f = fs::OpenOptions::new().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - by).unwrap();
    }

    const DAY: Duration = Duration::from_secs(24 * 3600);

    #[test]
    fn unused_entries_and_their_objects_go_used_ones_stay() {
        let dir = tempfile::tempdir().unwrap();
        let c = LocalCache::open(dir.path().join("c")).unwrap();
        let (old, old_obj) = put(&c, "old", b"old object");
        let (used, used_obj) = put(&c, "used", b"used object");
        let (_, shared) = put(&c, "shares", b"used object");
        assert_eq!(shared, used_obj);
        for k in [&old, &used, &key("shares")] {
            backdate(&c.entry_path(k), 6 * DAY);
        }
        for d in [&old_obj, &used_obj] {
            backdate(&c.object_path(d), 6 * DAY);
        }
        // An object no entry names, written just now: in use, kept.
        let fresh = c.store_bytes(b"a failed test's output").unwrap();
        // A hit refreshes the entry's use time.
        assert!(matches!(c.lookup(&used), Lookup::Hit(_)));
        let r = c.trim(&TrimPolicy::default(), SystemTime::now()).unwrap();
        assert_eq!((r.entries, r.objects), (2, 1));
        assert_eq!(r.bytes, 10);
        assert!(matches!(c.lookup(&old), Lookup::Miss));
        assert!(!c.object_path(&old_obj).exists());
        // The object the used entry names stays, though a removed entry named it too.
        assert!(matches!(c.lookup(&used), Lookup::Hit(_)));
        assert!(c.object_path(&fresh).exists());
    }

    #[test]
    fn trims_at_most_once_per_interval() {
        let dir = tempfile::tempdir().unwrap();
        let c = LocalCache::open(dir.path().join("c")).unwrap();
        let (old, _) = put(&c, "old", b"x");
        backdate(&c.entry_path(&old), 6 * DAY);
        let now = SystemTime::now();
        assert!(c
            .trim_if_due(&TrimPolicy::default(), now)
            .unwrap()
            .is_some());
        let (old2, _) = put(&c, "old2", b"y");
        backdate(&c.entry_path(&old2), 6 * DAY);
        assert!(c
            .trim_if_due(&TrimPolicy::default(), now)
            .unwrap()
            .is_none());
        assert!(c.entry_path(&old2).exists(), "not due: nothing removed");
        // A day later (a fake clock): due again.
        let r = c.trim_if_due(&TrimPolicy::default(), now + DAY + Duration::from_secs(1));
        assert_eq!(r.unwrap().map(|r| r.entries), Some(1));
    }

    #[test]
    fn a_size_limit_removes_the_least_recently_used_first() {
        let dir = tempfile::tempdir().unwrap();
        let c = LocalCache::open(dir.path().join("c")).unwrap();
        let (a, _) = put(&c, "a", &[b'a'; 100]);
        let (b, _) = put(&c, "b", &[b'b'; 100]);
        let (n, _) = put(&c, "new", &[b'n'; 100]);
        backdate(&c.entry_path(&a), 3 * DAY);
        backdate(&c.entry_path(&b), 2 * DAY);
        let policy = TrimPolicy {
            max_age: DEFAULT_MAX_AGE,
            max_size: Some(150),
        };
        let r = c.trim(&policy, SystemTime::now()).unwrap();
        assert_eq!((r.entries, r.objects, r.bytes), (2, 2, 200));
        assert!(matches!(c.lookup(&n), Lookup::Hit(_)));
        assert!(matches!(c.lookup(&a), Lookup::Miss));
        assert!(matches!(c.lookup(&b), Lookup::Miss));
        let info = c.info();
        assert_eq!((info.entries, info.objects, info.object_bytes), (1, 1, 100));
        assert!(info.last_trim.is_some());
    }

    #[test]
    fn verify_all_removes_damaged_objects_and_the_entries_naming_them() {
        let dir = tempfile::tempdir().unwrap();
        let c = LocalCache::open(dir.path().join("c")).unwrap();
        let (good, _) = put(&c, "good", b"good");
        let (bad, bad_obj) = put(&c, "bad", b"bad object");
        fs::write(c.object_path(&bad_obj), b"bad objecT").unwrap();
        crate::cache::atomic_write(&c.entry_path(&key("torn")), b"{\"outp").unwrap();
        let r = c.verify_all().unwrap();
        assert_eq!(
            r,
            VerifyReport {
                objects: 2,
                bad_objects: 1,
                entries: 3,
                bad_entries: 2,
            }
        );
        assert!(matches!(c.lookup(&good), Lookup::Hit(_)));
        assert!(matches!(c.lookup(&bad), Lookup::Miss));
        assert!(!c.entry_path(&key("torn")).exists());
    }
}
