//! A memo of file content digests keyed by `stat` (size, mtime, inode), so a
//! no-op build hashes nothing it hashed before. The memo only decides when to
//! re-read a file; keys are always made of content digests, never of mtimes.
//!
//! Like cmd/go, a file modified in the last two seconds is hashed but not
//! memoized: an edit within the file system's mtime granularity could
//! otherwise keep the same stat and be missed.

use std::collections::HashMap;
use std::fs;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, SystemTime};

use serde::{Deserialize, Serialize};

use crate::cache::{hash_file, ContentDigest};
use crate::error::{IoContext, Result};

/// What `stat` says about a file; equal stats mean the memoized digest holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stat {
    size: u64,
    mtime_ns: i128,
    ino: u64,
    dev: u64,
}

impl Stat {
    /// Stats `path` (following symlinks).
    pub fn of(path: &Path) -> std::io::Result<Stat> {
        let m = fs::metadata(path)?;
        Ok(Stat::from_metadata(&m))
    }

    fn from_metadata(m: &fs::Metadata) -> Stat {
        Stat {
            size: m.size(),
            mtime_ns: m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
            ino: m.ino(),
            dev: m.dev(),
        }
    }

    fn is_recent(&self) -> bool {
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or(Duration::ZERO)
            .as_nanos() as i128;
        now - self.mtime_ns < 2_000_000_000
    }
}

#[derive(Debug, Default, Serialize, Deserialize)]
struct Memo {
    files: HashMap<PathBuf, (Stat, ContentDigest)>,
}

/// The digest memo, persisted between builds.
#[derive(Debug, Default)]
pub struct FileHasher {
    memo: Mutex<Memo>,
    dirty: Mutex<bool>,
}

impl FileHasher {
    /// Loads the memo from `path` (a missing or unreadable memo is empty).
    pub fn load(path: &Path) -> FileHasher {
        let memo = fs::read(path)
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok())
            .unwrap_or_default();
        FileHasher {
            memo: Mutex::new(memo),
            dirty: Mutex::new(false),
        }
    }

    /// Saves the memo if it changed.
    pub fn save(&self, path: &Path) -> Result<()> {
        if !*self.dirty.lock().unwrap() {
            return Ok(());
        }
        let data = serde_json::to_vec(&*self.memo.lock().unwrap()).expect("memo serializes");
        crate::cache::atomic_write(path, &data)
    }

    /// The content digest of `path`.
    pub fn digest(&self, path: &Path) -> Result<ContentDigest> {
        let stat = Stat::of(path).at(path)?;
        if let Some((s, d)) = self.memo.lock().unwrap().files.get(path) {
            if *s == stat {
                return Ok(*d);
            }
        }
        let d = hash_file(path).at(path)?;
        // The memo is JSON: a path that is not UTF-8 is hashed every time.
        if !stat.is_recent() && path.to_str().is_some() {
            self.memo
                .lock()
                .unwrap()
                .files
                .insert(path.to_path_buf(), (stat, d));
            *self.dirty.lock().unwrap() = true;
        }
        Ok(d)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_change_is_seen_and_touch_keeps_digest() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.go");
        fs::write(&f, "package a").unwrap();
        let h = FileHasher::default();
        let d1 = h.digest(&f).unwrap();
        fs::write(&f, "package b").unwrap();
        let d2 = h.digest(&f).unwrap();
        assert_ne!(d1, d2);
        fs::write(&f, "package a").unwrap();
        assert_eq!(h.digest(&f).unwrap(), d1);
    }

    #[test]
    fn missing_file_is_an_error_with_its_path() {
        let h = FileHasher::default();
        let e = h.digest(Path::new("/nonexistent/x.go")).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/x.go"));
    }
}
