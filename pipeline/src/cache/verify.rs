//! Verifying objects before use: an object is checked against its digest
//! before anything consumes it, and a mismatch is a miss, never a wrong
//! program.
//!
//! Re-hashing every object on every no-op build would cost more than the
//! build, so a verified object gets a stamp — its size, inode, device and
//! change time (`ctime`) — kept in `cache/verified.json`. An object whose
//! stamp still matches was verified and has not been touched since; any
//! write to it (truncation, an in-place rewrite, even one that restores the
//! mtime with `touch -d`) moves its ctime, which no user call can set back,
//! so it is hashed again. A size that differs from the digest's is caught
//! before any hashing.

use std::collections::HashMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use serde::{Deserialize, Serialize};

use crate::cache::digest::UNKNOWN_SIZE;
use crate::cache::{atomic_write, hash_file, ContentDigest};

/// What a verified object looked like on disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stamp {
    size: u64,
    ino: u64,
    dev: u64,
    ctime_ns: i128,
}

impl Stamp {
    /// The stamp of a file's current metadata.
    pub fn of(meta: &fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            size: meta.len(),
            ino: meta.ino(),
            dev: meta.dev(),
            ctime_ns: meta.ctime() as i128 * 1_000_000_000 + meta.ctime_nsec() as i128,
        }
    }
}

/// Why an object cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Damage {
    /// Where the object is.
    pub path: PathBuf,
    /// What is wrong with it.
    pub problem: String,
}

impl std::fmt::Display for Damage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.problem)
    }
}

/// The stamps of verified objects, by digest.
#[derive(Debug)]
pub struct Stamps {
    file: PathBuf,
    map: Mutex<HashMap<String, Stamp>>,
    dirty: Mutex<bool>,
}

impl Stamps {
    /// Loads the stamps kept in `file` (none if it is missing or unreadable).
    pub fn load(file: PathBuf) -> Stamps {
        let map = fs::read(&file)
            .ok()
            .and_then(|d| serde_json::from_slice(&d).ok())
            .unwrap_or_default();
        Stamps {
            file,
            map: Mutex::new(map),
            dirty: Mutex::new(false),
        }
    }

    /// Writes the stamps back if they changed (a failure only costs hashing).
    pub fn save(&self) {
        let mut dirty = self.dirty.lock().unwrap();
        if !*dirty {
            return;
        }
        let data = serde_json::to_vec(&*self.map.lock().unwrap()).expect("stamps serialize");
        if atomic_write(&self.file, &data).is_ok() {
            *dirty = false;
        }
    }

    /// Records that `path` holds `d` as it is now.
    pub fn record(&self, d: &ContentDigest, path: &Path) {
        if let Ok(meta) = fs::metadata(path) {
            self.map
                .lock()
                .unwrap()
                .insert(d.to_hex(), Stamp::of(&meta));
            *self.dirty.lock().unwrap() = true;
        }
    }

    /// Forgets an object (removed, or found damaged).
    pub fn forget(&self, d: &ContentDigest) {
        if self.map.lock().unwrap().remove(&d.to_hex()).is_some() {
            *self.dirty.lock().unwrap() = true;
        }
    }

    /// Checks that `path` holds the object `d`: by its stamp when the file
    /// is untouched since it was verified, else by hashing it. Returns the
    /// object's size.
    pub fn verify(&self, d: &ContentDigest, path: &Path) -> Result<u64, Damage> {
        let damage = |problem: String| Damage {
            path: path.to_path_buf(),
            problem,
        };
        let meta = fs::metadata(path).map_err(|e| damage(format!("unreadable ({e})")))?;
        if !meta.is_file() {
            return Err(damage("not a file".into()));
        }
        if d.size() != UNKNOWN_SIZE && meta.len() != d.size() {
            self.forget(d);
            return Err(damage(format!(
                "{} bytes where the object has {}",
                meta.len(),
                d.size()
            )));
        }
        let stamp = Stamp::of(&meta);
        if self.map.lock().unwrap().get(&d.to_hex()) == Some(&stamp) {
            return Ok(meta.len());
        }
        let got = hash_file(path).map_err(|e| damage(format!("unreadable ({e})")))?;
        if got != *d {
            self.forget(d);
            return Err(damage("its content does not match its digest".into()));
        }
        self.map.lock().unwrap().insert(d.to_hex(), stamp);
        *self.dirty.lock().unwrap() = true;
        Ok(meta.len())
    }

    /// Forgets every stamp (a full verification follows).
    pub fn clear(&self) {
        self.map.lock().unwrap().clear();
        *self.dirty.lock().unwrap() = true;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Seek, SeekFrom, Write};

    #[test]
    fn stamps_skip_the_hash_only_for_untouched_objects() {
        let dir = tempfile::tempdir().unwrap();
        let obj = dir.path().join("o");
        fs::write(&obj, b"0123456789abcdef").unwrap();
        let d = ContentDigest::of(b"0123456789abcdef");
        let stamps = Stamps::load(dir.path().join("verified.json"));
        assert_eq!(stamps.verify(&d, &obj), Ok(16));
        stamps.save();
        // Reloaded: still verified by the stamp.
        let stamps = Stamps::load(dir.path().join("verified.json"));
        assert_eq!(stamps.map.lock().unwrap().len(), 1);
        assert_eq!(stamps.verify(&d, &obj), Ok(16));

        // Same size, bytes flipped in place, mtime restored: the ctime moved.
        let mtime = fs::metadata(&obj).unwrap().modified().unwrap();
        std::thread::sleep(std::time::Duration::from_millis(20));
        let mut f = fs::OpenOptions::new().write(true).open(&obj).unwrap();
        f.seek(SeekFrom::Start(4)).unwrap();
        f.write_all(b"XXXX").unwrap();
        f.set_modified(mtime).unwrap();
        drop(f);
        let e = stamps.verify(&d, &obj).unwrap_err();
        assert!(e.problem.contains("does not match"), "{e}");

        // Truncated: caught by the size, before hashing.
        fs::write(&obj, b"0123").unwrap();
        let e = stamps.verify(&d, &obj).unwrap_err();
        assert!(e.problem.contains("4 bytes where the object has 16"), "{e}");

        // Gone.
        fs::remove_file(&obj).unwrap();
        assert!(stamps.verify(&d, &obj).is_err());
    }
}
