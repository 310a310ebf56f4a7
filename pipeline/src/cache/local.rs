//! The local cache: one directory holding the action entries, the objects
//! and the inputs log (layout in [`crate::cache`]), written atomically.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use crate::cache::digest::UNKNOWN_SIZE;
use crate::cache::verify::Stamps;
use crate::cache::{
    atomic_write, ActionCache, ActionKey, ContentDigest, Entry, InputsLog, KeyInputs, Lookup,
    ObjectStore,
};
use crate::error::{IoContext, Result};

/// How stale an entry's use time may get before a hit refreshes it (as go's
/// cache: at most one write per entry per hour).
const USE_REFRESH: Duration = Duration::from_secs(3600);

/// The cache directory.
#[derive(Debug, Clone)]
pub struct LocalCache {
    root: PathBuf,
    stamps: Arc<Stamps>,
}

impl LocalCache {
    /// Opens (creating) the cache at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<LocalCache> {
        let root = root.into();
        for sub in ["o", "a", "m", "tmp"] {
            fs::create_dir_all(root.join(sub)).at(root.join(sub))?;
        }
        let stamps = Arc::new(Stamps::load(root.join("verified.json")));
        Ok(LocalCache { root, stamps })
    }

    /// The cache root.
    pub(crate) fn root(&self) -> &Path {
        &self.root
    }

    /// Saves what this process verified (call at the end of a build).
    pub fn flush(&self) {
        self.stamps.save();
    }

    pub(crate) fn stamps(&self) -> &Stamps {
        &self.stamps
    }

    /// Where an entry is kept.
    pub(crate) fn entry_path(&self, key: &ActionKey) -> PathBuf {
        self.shard("a", &key.to_hex())
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

    pub(crate) fn object_path(&self, d: &ContentDigest) -> PathBuf {
        self.shard("o", &d.to_hex())
    }

    /// Puts `data` at the object's place unless a sound copy is there; a
    /// damaged one is replaced (atomically).
    fn place(&self, d: &ContentDigest, write: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        let dest = self.object_path(d);
        if dest.exists() && self.stamps.verify(d, &dest).is_ok() {
            return Ok(());
        }
        write(&dest)?;
        self.stamps.record(d, &dest);
        Ok(())
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
    /// A missing, unreadable or incomplete entry is a miss; an output whose
    /// object fails verification makes the lookup [`Lookup::Damaged`].
    /// Objects named without a size (entries from before sizes) get the
    /// object's. A hit refreshes the entry's use time (for trimming).
    fn lookup(&self, key: &ActionKey) -> Lookup {
        let path = self.entry_path(key);
        let Ok(data) = fs::read(&path) else {
            return Lookup::Miss;
        };
        let Ok(mut entry) = serde_json::from_slice::<Entry>(&data) else {
            return Lookup::Miss;
        };
        for (name, d) in entry.outputs.iter_mut() {
            let obj = self.object_path(d);
            if !obj.exists() {
                return Lookup::Miss;
            }
            match self.stamps.verify(d, &obj) {
                Ok(size) if d.size() == UNKNOWN_SIZE => *d = d.with_size(size),
                Ok(_) => {}
                Err(damage) => {
                    return Lookup::Damaged {
                        output: name.clone(),
                        problem: damage.to_string(),
                    }
                }
            }
        }
        touch_if_stale(&path, SystemTime::now());
        Lookup::Hit(entry)
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
        self.place(&d, |dest| {
            let parent = dest.parent().expect("sharded path has a parent");
            fs::create_dir_all(parent).at(parent)?;
            fs::rename(file, dest).at(dest)
        })?;
        Ok(d)
    }

    fn store_bytes(&self, data: &[u8]) -> Result<ContentDigest> {
        let d = ContentDigest::of(data);
        self.place(&d, |dest| atomic_write(dest, data))?;
        Ok(d)
    }

    fn local_path(&self, d: &ContentDigest) -> Result<PathBuf> {
        Ok(self.object_path(d))
    }
}

/// Sets a file's mtime (its last use) to `now` when it is older than
/// [`USE_REFRESH`]; a failure only makes the entry look older to the trimmer.
pub(crate) fn touch_if_stale(path: &Path, now: SystemTime) {
    let stale = fs::metadata(path)
        .and_then(|m| m.modified())
        .map(|t| now.duration_since(t).unwrap_or_default() > USE_REFRESH)
        .unwrap_or(false);
    if stale {
        if let Ok(f) = fs::OpenOptions::new().write(true).open(path) {
            let _ = f.set_modified(now);
        }
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

    fn entry(obj: ContentDigest) -> Entry {
        Entry {
            outputs: [("out".to_string(), obj)].into_iter().collect(),
            export: None,
            output: String::new(),
            code: None,
        }
    }

    #[test]
    fn store_and_lookup_roundtrip_and_incomplete_entries_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(dir.path().join("c")).unwrap();
        let obj = cache.store_bytes(b"object").unwrap();
        let key = ActionKey::compute(&base());
        assert_eq!(cache.lookup(&key), Lookup::Miss);
        cache.store_entry(&key, &entry(obj)).unwrap();
        assert_eq!(cache.lookup(&key), Lookup::Hit(entry(obj)));
        fs::remove_file(cache.object_path(&obj)).unwrap();
        assert_eq!(
            cache.lookup(&key),
            Lookup::Miss,
            "entry without its object must miss"
        );
        // A truncated entry is a miss, not an error.
        fs::write(cache.shard("a", &key.to_hex()), b"{\"outp").unwrap();
        assert_eq!(cache.lookup(&key), Lookup::Miss);
    }

    #[test]
    fn a_damaged_object_is_a_miss_and_storing_replaces_it() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(dir.path().join("c")).unwrap();
        let obj = cache.store_bytes(b"the program").unwrap();
        let key = ActionKey::compute(&base());
        cache.store_entry(&key, &entry(obj)).unwrap();
        let path = cache.object_path(&obj);
        fs::write(&path, b"the progrXm").unwrap();
        match cache.lookup(&key) {
            Lookup::Damaged { output, problem } => {
                assert_eq!(output, "out");
                assert!(problem.contains("does not match"), "{problem}");
                assert!(problem.contains(&path.display().to_string()), "{problem}");
            }
            other => panic!("damaged object served: {other:?}"),
        }
        // The rerun stores the same content: the bad copy is replaced.
        let work = dir.path().join("exe");
        fs::write(&work, b"the program").unwrap();
        assert_eq!(cache.store_file(&work).unwrap(), obj);
        assert_eq!(fs::read(&path).unwrap(), b"the program");
        assert_eq!(cache.lookup(&key), Lookup::Hit(entry(obj)));
        // Truncated, then stored again from bytes: replaced too.
        fs::write(&path, b"the").unwrap();
        assert!(matches!(cache.lookup(&key), Lookup::Damaged { .. }));
        cache.store_bytes(b"the program").unwrap();
        assert_eq!(fs::read(&path).unwrap(), b"the program");
    }

    #[test]
    fn entries_from_before_sizes_get_the_objects_size() {
        let dir = tempfile::tempdir().unwrap();
        let cache = LocalCache::open(dir.path().join("c")).unwrap();
        let obj = cache.store_bytes(b"12345").unwrap();
        let key = ActionKey::compute(&base());
        let old = format!(
            "{{\"outputs\":{{\"out\":\"{}\"}},\"export\":null,\"output\":\"\"}}",
            obj.to_hex()
        );
        atomic_write(&cache.entry_path(&key), old.as_bytes()).unwrap();
        match cache.lookup(&key) {
            Lookup::Hit(e) => assert_eq!(e.outputs["out"].size(), 5),
            other => panic!("{other:?}"),
        }
    }
}
