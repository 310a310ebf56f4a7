//! The local cache: one directory holding the action entries, the objects
//! and the inputs log (layout in [`crate::cache`]), written atomically.

use std::fs;
use std::path::{Path, PathBuf};

use crate::cache::digest::UNKNOWN_SIZE;
use crate::cache::{
    atomic_write, ActionCache, ActionKey, ContentDigest, Entry, InputsLog, KeyInputs, ObjectStore,
};
use crate::error::{IoContext, Result};

/// The cache directory.
/// The cache directory.
#[derive(Debug, Clone)]
pub struct LocalCache {
    root: PathBuf,
}

impl LocalCache {
    /// Opens (creating) the cache at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<LocalCache> {
        let root = root.into();
        for sub in ["o", "a", "m", "tmp"] {
            fs::create_dir_all(root.join(sub)).at(root.join(sub))?;
        }
        Ok(LocalCache { root })
    }

    /// A path of the cache for a memo of its own (`nosplit`: object
    /// summaries; `abi-checked`: programs whose ELF checks passed;
    /// `filememo.json`: the source digest memo). Not objects: nothing in it
    /// is ever an input of an action.
    pub fn aux_dir(&self, name: &str) -> PathBuf {
        self.root.join(name)
    }

    /// Where the scheduler creates work directories (same file system as
    /// the objects, so outputs are renamed into place).
    pub fn work_root(&self) -> PathBuf {
        self.root.join("tmp")
    }

    fn shard(&self, dir: &str, hex: &str) -> PathBuf {
        self.root.join(dir).join(&hex[..2]).join(hex)
    }

    fn object_path(&self, d: &ContentDigest) -> PathBuf {
        self.shard("o", &d.to_hex())
    }

    /// Removes leftover work directories (call with the lock held).
    pub fn clear_temp(&self) {
        if let Ok(rd) = fs::read_dir(self.work_root()) {
            for e in rd.flatten() {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }
}

impl ActionCache for LocalCache {
    /// A missing, unreadable or incomplete entry is a miss. Objects named
    /// without a size (entries from before sizes) get the object's.
    fn lookup(&self, key: &ActionKey) -> Option<Entry> {
        let data = fs::read(self.shard("a", &key.to_hex())).ok()?;
        let mut entry: Entry = serde_json::from_slice(&data).ok()?;
        for d in entry.outputs.values_mut() {
            let meta = fs::metadata(self.object_path(d)).ok()?;
            if !meta.is_file() {
                return None;
            }
            if d.size() == UNKNOWN_SIZE {
                *d = d.with_size(meta.len());
            }
        }
        Some(entry)
    }

    fn store_entry(&self, key: &ActionKey, entry: &Entry) -> Result<()> {
        let data = serde_json::to_vec(entry).expect("entry serializes");
        atomic_write(&self.shard("a", &key.to_hex()), &data)
    }
}

impl ObjectStore for LocalCache {
    fn store_file(&self, file: &Path) -> Result<ContentDigest> {
        let data = fs::read(file).at(file)?;
        let d = ContentDigest::of(&data);
        let dest = self.object_path(&d);
        if !dest.is_file() {
            let parent = dest.parent().expect("sharded path has a parent");
            fs::create_dir_all(parent).at(parent)?;
            fs::rename(file, &dest).at(&dest)?;
        }
        Ok(d)
    }

    fn store_bytes(&self, data: &[u8]) -> Result<ContentDigest> {
        let d = ContentDigest::of(data);
        let dest = self.object_path(&d);
        if !dest.is_file() {
            atomic_write(&dest, data)?;
        }
        Ok(d)
    }

    fn local_path(&self, d: &ContentDigest) -> Result<PathBuf> {
        Ok(self.object_path(d))
    }
}

impl InputsLog for LocalCache {
    fn previous_inputs(&self, identity: &str) -> Option<KeyInputs> {
        let hex = ContentDigest::of(identity.as_bytes()).to_hex();
        serde_json::from_slice(&fs::read(self.shard("m", &hex)).ok()?).ok()
    }

    fn record_inputs(&self, identity: &str, inputs: &KeyInputs) -> Result<()> {
        let hex = ContentDigest::of(identity.as_bytes()).to_hex();
        let data = serde_json::to_vec(inputs).expect("inputs serialize");
        atomic_write(&self.shard("m", &hex), &data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> KeyInputs {
        let mut k = KeyInputs::default();
        k.add("tool", "abc");
        k
    }

    #[test]
    fn store_and_lookup_roundtrip_and_incomplete_entries_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(dir.path().join("c")).unwrap();
        let obj = cache.store_bytes(b"object").unwrap();
        let key = ActionKey::compute(&base());
        let entry = Entry {
            outputs: [("out".to_string(), obj)].into_iter().collect(),
            export: None,
            output: String::new(),
            code: None,
        };
        assert!(cache.lookup(&key).is_none());
        cache.store_entry(&key, &entry).unwrap();
        assert_eq!(cache.lookup(&key), Some(entry));
        fs::remove_file(cache.object_path(&obj)).unwrap();
        assert!(
            cache.lookup(&key).is_none(),
            "entry without its object must miss"
        );
        // A truncated entry is a miss, not an error.
        fs::write(cache.shard("a", &key.to_hex()), b"{\"outp").unwrap();
        assert!(cache.lookup(&key).is_none());
    }
}
