//! Typed digests (buck2's `CasDigest<Kind>`): an action key, an object's
//! content digest and an export-data digest cannot be mixed up.
//!
//! A content digest carries the size of what it names, as the Remote
//! Execution API's `Digest { hash, size_bytes }` does; keys and build IDs
//! read only the hash ([`Digest::to_hex`]), so adding the size changed no key.
//! Entries written before sizes were recorded name objects by bare hex;
//! they read back with [`UNKNOWN_SIZE`] and the local store fills the size
//! in from the object when it looks the entry up.

use std::fmt;
use std::marker::PhantomData;

use serde::{Deserialize, Serialize};

/// What a digest is of; says whether it names stored bytes (and so has a size).
pub trait DigestKind {
    /// Does the digest name bytes in the object store (and carry their size)?
    const SIZED: bool;
}

/// The size of an object named by an entry that predates sizes.
pub const UNKNOWN_SIZE: u64 = u64::MAX;

/// A BLAKE3 digest, typed by what it is a digest of; with the size of the
/// bytes for [`ContentDigest`].
pub struct Digest<K> {
    bytes: [u8; 32],
    size: u64,
    _kind: PhantomData<K>,
}

impl<K> Clone for Digest<K> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K> Copy for Digest<K> {}
// Equality, order and hash are the hash's: equal hashes are equal content.
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
    /// Wraps raw digest bytes of `size` bytes of content.
    pub fn new(bytes: [u8; 32], size: u64) -> Self {
        Digest {
            bytes,
            size,
            _kind: PhantomData,
        }
    }
    /// Wraps raw digest bytes (a key, or a digest of something not stored).
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self::new(bytes, 0)
    }
    /// Digest of a byte string.
    pub fn of(data: &[u8]) -> Self {
        Self::new(*blake3::hash(data).as_bytes(), data.len() as u64)
    }
    /// The raw hash.
    pub fn bytes(&self) -> &[u8; 32] {
        &self.bytes
    }
    /// The size of the content, in bytes ([`UNKNOWN_SIZE`] for an object
    /// named by an old entry, until the store fills it in).
    pub fn size(&self) -> u64 {
        self.size
    }
    /// The same digest with its size set.
    pub fn with_size(self, size: u64) -> Self {
        Self::new(self.bytes, size)
    }
    /// Lowercase hex of the hash (what keys and build IDs read).
    pub fn to_hex(&self) -> String {
        let mut s = String::with_capacity(64);
        for b in self.bytes {
            s.push_str(&format!("{b:02x}"));
        }
        s
    }
    /// Parses lowercase hex (size 0).
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
/// `hex/size` for sized kinds (REAPI's textual form), bare hex otherwise.
impl<K: DigestKind> Serialize for Digest<K> {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if K::SIZED && self.size != UNKNOWN_SIZE {
            s.serialize_str(&format!("{}/{}", self.to_hex(), self.size))
        } else {
            s.serialize_str(&self.to_hex())
        }
    }
}
impl<'de, K: DigestKind> Deserialize<'de> for Digest<K> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let bad = || serde::de::Error::custom("bad digest");
        match s.split_once('/') {
            Some((hex, size)) if K::SIZED => {
                let size = size.parse().map_err(|_| bad())?;
                Ok(Digest::from_hex(hex).ok_or_else(bad)?.with_size(size))
            }
            Some(_) => Err(bad()),
            None => {
                let d = Digest::from_hex(&s).ok_or_else(bad)?;
                Ok(if K::SIZED {
                    d.with_size(UNKNOWN_SIZE)
                } else {
                    d
                })
            }
        }
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

impl DigestKind for ContentKind {
    const SIZED: bool = true;
}
impl DigestKind for ActionKind {
    const SIZED: bool = false;
}
impl DigestKind for ExportKind {
    const SIZED: bool = false;
}

/// Digest of content (a source file, an output object), with its size.
pub type ContentDigest = Digest<ContentKind>;
/// The cache key of one action.
pub type ActionKey = Digest<ActionKind>;
/// Digest of export data (build ID blanked), for early cut-off.
pub type ExportDigest = Digest<ExportKind>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn digest_hex_roundtrip() {
        let d = ContentDigest::of(b"x");
        assert_eq!(ContentDigest::from_hex(&d.to_hex()), Some(d));
        assert_eq!(ContentDigest::from_hex("zz"), None);
    }

    #[test]
    fn content_digests_carry_their_size_through_serde() {
        let d = ContentDigest::of(b"hello");
        assert_eq!(d.size(), 5);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{}/5\"", d.to_hex()));
        let back: ContentDigest = serde_json::from_str(&json).unwrap();
        assert_eq!((back, back.size()), (d, 5));
        // An entry from before sizes: the hash, size unknown.
        let old: ContentDigest = serde_json::from_str(&format!("\"{}\"", d.to_hex())).unwrap();
        assert_eq!((old, old.size()), (d, UNKNOWN_SIZE));
        // Unsized kinds stay bare hex and refuse a size.
        let e = ExportDigest::of(b"hello");
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            format!("\"{}\"", e.to_hex())
        );
        assert!(serde_json::from_str::<ExportDigest>(&format!("\"{}/5\"", e.to_hex())).is_err());
        assert!(serde_json::from_str::<ContentDigest>(&format!("\"{}/x\"", d.to_hex())).is_err());
    }
}
