//! The cache seams and the local cache: an [`ActionCache`] (action key →
//! [`Entry`]) and an [`ObjectStore`] (content digest → bytes), with
//! [`LocalCache`], the directory under `<target-dir>/gobuild/cache`, as the
//! implementation of both. Nothing outside this module knows where an object
//! lives: tools that read inputs by path get one from
//! [`ObjectStore::local_path`]. A remote cache plugs in behind the same traits.
//!
//! - [`digest`]: typed digests; content digests carry their size.
//! - [`local`]: the directory, its layout and its atomic writes.
//!
//! Layout of the local cache:
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
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{IoContext, Result};

pub mod digest;
pub mod local;
pub mod remote;
pub mod trim;
pub mod verify;

pub use digest::{ActionKey, ContentDigest, Digest, ExportDigest};
pub use local::LocalCache;

/// Bump when the meaning of keys or entries changes.
pub const CACHE_VERSION: &str = "gobuild-cache-v2";

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

/// What a lookup found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Lookup {
    /// A complete entry whose objects were verified.
    Hit(Entry),
    /// Served by the remote cache (downloaded, verified, stored locally).
    RemoteHit(Entry),
    /// No usable entry (none, unreadable, an object gone).
    Miss,
    /// A miss in the local cache and in the remote one.
    RemoteMiss,
    /// An entry whose output object is damaged: a miss, with the reason.
    Damaged {
        /// The output (`_pkg_.a`, `exe`, …).
        output: String,
        /// What is wrong, with the object's path.
        problem: String,
    },
}

/// Action key → entry. A lookup that cannot be served (missing, unreadable,
/// an object gone or damaged) is a miss, never an error.
pub trait ActionCache: Send + Sync {
    /// The entry of an action, with every output object verified against
    /// its digest (so consumers in this build can trust them).
    fn lookup(&self, key: &ActionKey) -> Lookup;
    /// Records an action's entry (after its objects are stored).
    fn store_entry(&self, key: &ActionKey, entry: &Entry) -> Result<()>;
}

/// Content digest → bytes: where action outputs live.
pub trait ObjectStore: Send + Sync {
    /// Moves (or copies) a file into the store, returning its digest.
    fn store_file(&self, file: &Path) -> Result<ContentDigest>;
    /// Stores bytes as an object.
    fn store_bytes(&self, data: &[u8]) -> Result<ContentDigest>;
    /// A local file with the object's content, for tools that read their
    /// inputs by path (importcfg, the linker). Never write to it.
    fn local_path(&self, d: &ContentDigest) -> Result<PathBuf>;
    /// The object's bytes.
    fn read(&self, d: &ContentDigest) -> Result<Vec<u8>> {
        let p = self.local_path(d)?;
        fs::read(&p).at(&p)
    }
    /// Puts the object at `dest` (a hard link where possible, else a copy).
    fn materialize(&self, d: &ContentDigest, dest: &Path) -> Result<()> {
        let src = self.local_path(d)?;
        if fs::hard_link(&src, dest).is_err() {
            fs::copy(&src, dest).at(dest)?;
        }
        Ok(())
    }
}

/// The inputs of the last key computed per action identity: only used to
/// say why an action ran (`-v`), never to decide whether it runs.
pub trait InputsLog: Send + Sync {
    /// The inputs of the last key computed for an action identity.
    fn previous_inputs(&self, identity: &str) -> Option<KeyInputs>;
    /// Remembers the inputs of the key just computed for an action identity.
    fn record_inputs(&self, identity: &str, inputs: &KeyInputs) -> Result<()>;
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
    Ok(Digest::new(*h.finalize().as_bytes(), h.count()))
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
}
