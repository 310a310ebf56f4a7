//! The content-addressed action cache under `<target-dir>/gobuild/cache`.
//!
//! Layout:
//! - `o/<xx>/<digest>`: output objects, named by the BLAKE3 of their content;
//! - `a/<xx>/<key>`: action entries (JSON): which objects an action produced;
//! - `m/<xx>/<identity>`: the manifest of the last key computed for an action
//!   identity (kind + package + target), only used to explain misses (`-v`).
//!
//! Every write goes to a temp file in the same directory and is renamed into
//! place, so an entry is complete or absent even if the build is killed; an
//! entry whose objects are missing, or that does not parse, is a miss.
//!
//! The action key ([`ActionKey::compute`]) is one pure function of named
//! inputs: [`CACHE_VERSION`], the tool's content digest, its arguments (with the
//! work directory and GOROOT replaced by placeholders, and the purely
//! scheduling `-c=N` flag dropped), the environment that matters, and the
//! content digests of every input (sources, and for dependencies the digest of
//! their output: for compile, only their export data, which gives early
//! cut-off). What is deliberately not hashed: mtimes (they only drive the
//! [`crate::fshash`] memo) and the paths of the work directory and of cache
//! objects. The package's source directory *is* hashed for packages outside
//! GOROOT when trimpath is off, because the compiler writes it into the
//! object (file names in line tables): a key without it would hand one
//! checkout's objects to another.

use std::collections::BTreeMap;
use std::fmt;
use std::fs;
use std::io::{self, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result};

/// Bump when the meaning of keys or entries changes.
pub const CACHE_VERSION: &str = "gobuild-cache-v2";

/// A BLAKE3 digest, typed by what it is a digest of.
pub struct Digest<K> {
    bytes: [u8; 32],
    _kind: PhantomData<K>,
}

impl<K> Clone for Digest<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K> Copy for Digest<K> {}
impl<K> PartialEq for Digest<K> {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}
impl<K> Eq for Digest<K> {}
impl<K> std::hash::Hash for Digest<K> {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state)
    }
}
impl<K> PartialOrd for Digest<K> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<K> Ord for Digest<K> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.bytes.cmp(&other.bytes)
    }
}

impl<K> Digest<K> {
    /// Wraps raw digest bytes.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Digest {
            bytes,
            _kind: PhantomData,
        }
    }
    /// Digest of a byte string.
    pub fn of(data: &[u8]) -> Self {
        Self::from_bytes(*blake3::hash(data).as_bytes())
    }
    /// Lowercase hex.
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.bytes {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
    /// Parses lowercase hex.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 {
            return None;
        }
        let mut bytes = [0u8; 32];
        for (i, b) in bytes.iter_mut().enumerate() {
            *b = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self::from_bytes(bytes))
    }
    /// A short prefix for messages and build IDs.
    pub fn short(&self) -> String {
        self.to_hex()[..20].to_string()
    }
}

impl<K> fmt::Debug for Digest<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.short())
    }
}
impl<K> fmt::Display for Digest<K> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_hex())
    }
}
impl<K> Serialize for Digest<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&self.to_hex())
    }
}
impl<'de, K> Deserialize<'de> for Digest<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Digest::from_hex(&s).ok_or_else(|| serde::de::Error::custom("bad digest"))
    }
}

/// Marker: the digest of a file's or object's content.
#[derive(Debug)]
pub enum ContentKind {}
/// Marker: an action key.
#[derive(Debug)]
pub enum ActionKind {}
/// Marker: the digest of a package's export data (what dependents compile against).
#[derive(Debug)]
pub enum ExportKind {}

/// Digest of content (a source file, an output object).
pub type ContentDigest = Digest<ContentKind>;
/// The cache key of one action.
pub type ActionKey = Digest<ActionKind>;
/// Digest of export data (build ID blanked), for early cut-off.
pub type ExportDigest = Digest<ExportKind>;

/// The named inputs of an action key, in a canonical order. Also what `-v`
/// diffs against the previous build to say why an action ran.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
pub struct KeyInputs {
    /// Input name (`tool`, `arg`, `env GOARCH`, `file sum.go`, `import fmt`…) → value.
    pub entries: BTreeMap<String, String>,
}

impl KeyInputs {
    /// Adds a named input.
    pub fn add(&mut self, name: impl Into<String>, value: impl Into<String>) {
        self.entries.insert(name.into(), value.into());
    }

    /// Says what differs from `previous`, for `-v`.
    pub fn diff(&self, previous: &KeyInputs) -> Vec<String> {
        let mut out = Vec::new();
        for (k, v) in &self.entries {
            match previous.entries.get(k) {
                None => out.push(format!("{k} added")),
                Some(old) if old != v => out.push(format!("{k} changed")),
                _ => {}
            }
        }
        for k in previous.entries.keys() {
            if !self.entries.contains_key(k) {
                out.push(format!("{k} removed"));
            }
        }
        out
    }
}

impl ActionKey {
    /// The one function that makes a key: [`CACHE_VERSION`] and every named input.
    pub fn compute(inputs: &KeyInputs) -> ActionKey {
        let mut h = blake3::Hasher::new();
        h.update(CACHE_VERSION.as_bytes());
        h.update(b"\0");
        for (k, v) in &inputs.entries {
            // Length-prefixed so that no two input sets hash alike.
            h.update(&(k.len() as u64).to_le_bytes());
            h.update(k.as_bytes());
            h.update(&(v.len() as u64).to_le_bytes());
            h.update(v.as_bytes());
        }
        Digest::from_bytes(*h.finalize().as_bytes())
    }
}

/// What an action produced.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct Entry {
    /// Output name (`_pkg_.a`, `go_asm.h`, `symabis`, `exe`…) → object.
    pub outputs: BTreeMap<String, ContentDigest>,
    /// For compile: the digest of the export data.
    pub export: Option<ExportDigest>,
    /// What the tool printed on stdout and stderr (warnings, `-d=abiwrap`).
    pub output: String,
    /// For a package archive: its digest with the build ID blanked (what
    /// the link, the nosplit check and the ABI report are keyed on).
    #[serde(default)]
    pub code: Option<ContentDigest>,
}

/// The cache directory.
#[derive(Debug, Clone)]
pub struct Cache {
    root: PathBuf,
}

impl Cache {
    /// Opens (creating) the cache at `root`.
    pub fn open(root: impl Into<PathBuf>) -> Result<Cache> {
        let root = root.into();
        for sub in ["o", "a", "m", "tmp"] {
            fs::create_dir_all(root.join(sub)).at(root.join(sub))?;
        }
        Ok(Cache { root })
    }

    /// The cache root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    fn shard(&self, dir: &str, hex: &str) -> PathBuf {
        self.root.join(dir).join(&hex[..2]).join(hex)
    }

    /// Where an object lives.
    pub fn object_path(&self, d: &ContentDigest) -> PathBuf {
        self.shard("o", &d.to_hex())
    }

    /// A fresh temporary directory inside the cache (same file system, so
    /// outputs can be renamed into place).
    pub fn temp_dir(&self) -> Result<tempfile::TempDir> {
        let dir = self.root.join("tmp");
        tempfile::Builder::new()
            .prefix("w")
            .tempdir_in(&dir)
            .at(&dir)
    }

    /// Removes leftover work directories (call with the lock held).
    pub fn clear_temp(&self) {
        if let Ok(rd) = fs::read_dir(self.root.join("tmp")) {
            for e in rd.flatten() {
                let _ = fs::remove_dir_all(e.path());
            }
        }
    }

    /// Looks up an action. A missing, unreadable or incomplete entry is a miss.
    pub fn lookup(&self, key: &ActionKey) -> Option<Entry> {
        let data = fs::read(self.shard("a", &key.to_hex())).ok()?;
        let entry: Entry = serde_json::from_slice(&data).ok()?;
        if entry
            .outputs
            .values()
            .all(|d| self.object_path(d).is_file())
        {
            Some(entry)
        } else {
            None
        }
    }

    /// Moves `file` into the object store, returning its digest.
    pub fn store_file(&self, file: &Path) -> Result<ContentDigest> {
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

    /// Stores bytes as an object.
    pub fn store_bytes(&self, data: &[u8]) -> Result<ContentDigest> {
        let d = ContentDigest::of(data);
        let dest = self.object_path(&d);
        if !dest.is_file() {
            atomic_write(&dest, data)?;
        }
        Ok(d)
    }

    /// Records an action's entry (after its objects are stored).
    pub fn store_entry(&self, key: &ActionKey, entry: &Entry) -> Result<()> {
        let data = serde_json::to_vec(entry).expect("entry serializes");
        atomic_write(&self.shard("a", &key.to_hex()), &data)
    }

    /// The inputs of the last key computed for an action identity.
    pub fn previous_inputs(&self, identity: &str) -> Option<KeyInputs> {
        let hex = ContentDigest::of(identity.as_bytes()).to_hex();
        serde_json::from_slice(&fs::read(self.shard("m", &hex)).ok()?).ok()
    }

    /// Remembers the inputs of the key just computed for an action identity.
    pub fn record_inputs(&self, identity: &str, inputs: &KeyInputs) -> Result<()> {
        let hex = ContentDigest::of(identity.as_bytes()).to_hex();
        let data = serde_json::to_vec(inputs).expect("inputs serialize");
        atomic_write(&self.shard("m", &hex), &data)
    }
}

/// Writes `data` to `dest` through a temp file in the same directory and a rename.
pub fn atomic_write(dest: &Path, data: &[u8]) -> Result<()> {
    let dir = dest.parent().expect("destination has a parent");
    fs::create_dir_all(dir).at(dir)?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir).at(dir)?;
    tmp.write_all(data).at(tmp.path().to_path_buf())?;
    tmp.persist(dest)
        .map_err(|e| crate::Error::io(dest, e.error))?;
    Ok(())
}

/// An exclusive lock on a build directory, held for the life of the value.
#[derive(Debug)]
pub struct DirLock {
    _file: fs::File,
}

impl DirLock {
    /// Takes the lock on `dir`; if another build holds it, calls `waiting`
    /// once and then blocks until it is free.
    pub fn acquire(dir: &Path, waiting: impl FnOnce()) -> Result<DirLock> {
        fs::create_dir_all(dir).at(dir)?;
        let path = dir.join(".lock");
        let file = fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .at(&path)?;
        match file.try_lock() {
            Ok(()) => {}
            Err(fs::TryLockError::WouldBlock) => {
                waiting();
                file.lock().at(&path)?;
            }
            Err(fs::TryLockError::Error(e)) => return Err(crate::Error::io(&path, e)),
        }
        Ok(DirLock { _file: file })
    }
}

/// Hashes a file's content.
pub fn hash_file(path: &Path) -> io::Result<ContentDigest> {
    let mut h = blake3::Hasher::new();
    h.update_reader(fs::File::open(path)?)?;
    Ok(Digest::from_bytes(*h.finalize().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn base() -> KeyInputs {
        let mut k = KeyInputs::default();
        k.add("tool", "abc");
        k.add("arg", "-p main");
        k.add("env GOARCH", "amd64");
        k.add("file a.go", "111");
        k.add("import fmt", "222");
        k
    }

    #[test]
    fn every_input_changes_the_key() {
        let k0 = ActionKey::compute(&base());
        for name in ["tool", "arg", "env GOARCH", "file a.go", "import fmt"] {
            let mut k = base();
            k.add(name, "changed");
            assert_ne!(ActionKey::compute(&k), k0, "{name} does not change the key");
        }
        let mut extra = base();
        extra.add("file b.go", "333");
        assert_ne!(ActionKey::compute(&extra), k0);
        assert_eq!(ActionKey::compute(&base()), k0, "key is not pure");
    }

    #[test]
    fn names_and_values_cannot_be_shifted() {
        let mut a = KeyInputs::default();
        a.add("ab", "c");
        let mut b = KeyInputs::default();
        b.add("a", "bc");
        assert_ne!(ActionKey::compute(&a), ActionKey::compute(&b));
    }

    #[test]
    fn diff_names_what_changed() {
        let mut new = base();
        new.add("file a.go", "999");
        new.entries.remove("import fmt");
        new.add("arg", "-p main -N");
        let d = new.diff(&base());
        assert_eq!(
            d,
            vec!["arg changed", "file a.go changed", "import fmt removed"]
        );
    }

    #[test]
    fn store_and_lookup_roundtrip_and_incomplete_entries_miss() {
        let dir = tempfile::tempdir().unwrap();
        let cache = Cache::open(dir.path().join("c")).unwrap();
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

    #[test]
    fn digest_hex_roundtrip() {
        let d = ContentDigest::of(b"x");
        assert_eq!(ContentDigest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(ContentDigest::from_hex("zz"), None);
    }
}
