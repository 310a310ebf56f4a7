//! The incremental nosplit check: the whole check's result memoized by what the check
//! reads from each archive, so that a rebuild whose edits don't change that reuses the
//! report without loading the link set.
//!
//! Every archive of a link set gets two digests (BLAKE3), computed from its summary
//! ([`crate::summary`], the compacted objects the loader, the dead-code pass and the
//! check read) and memoized by the archive's file key (path, size, mtime, inode):
//! - the *exact* digest covers every field of the summary the loader may read: member
//!   names and kinds, the `go object` line and cgo directives, the object header flags,
//!   the autolib (names) and package lists, every symbol record (name, ABI, kind, flags, size,
//!   alignment), hashes, reference flags and names, every relocation, aux entry and
//!   content. Left out, because nothing reads them: the archive's path and file key,
//!   member offsets (only in error messages), the contents of members that are not
//!   objects (`__.PKGDEF`: only their names are read), the fingerprints (the object's own
//!   and its imports' in the autolib list: the loader doesn't check them) and the file
//!   table;
//! - the *normalized* digest also leaves out the relocation offsets of splittable (not
//!   NOSPLIT) functions and the sizes of non-DUPOK package-defined functions: what most
//!   edits of a function body change, and what the check almost never reads (offsets only
//!   of type descriptors, itabs and interface types and of NOSPLIT functions; sizes only
//!   to resolve duplicates and for init tasks).
//!
//! The report of a link set is a function of the options and the sequence of
//! `(package, exact digest)`: stored under the *unit key* built from those. A run that
//! never read a normalized-away field (the loader, dead-code pass and check record it,
//! [`crate::LinkSet::read_normalized_fields`]) is also stored under the unit key built
//! from the normalized digests: a link set with the same normalized digests differs only
//! in fields that run never read, so the same computation on it reads the same values at
//! every step and gives the same report. A miss runs the full check and stores it.
//!
//! Files, beside the summaries: `digests.memo` (file key → the two digests, the most
//! recently used 4096 archives) and one `r-<unit key>.rmemo` / `x-<unit key>.rmemo` per
//! memoized report (normalized / exact key). Each has a magic, a format version, the
//! payload length and a checksum; anything that doesn't verify is a miss. They are written
//! to a temporary file and renamed.

use crate::error::Error;
use crate::reader::{GoObject, Member};
use crate::reloc::{offsets_normalized, size_normalized};
use crate::stackcheck::{stack_check, StackCheckOptions, StackReport};
use crate::summary::{checksum, CacheStats, Key, SummaryCache};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

const FORMAT_VERSION: u32 = 1;
const DIGESTS_MAGIC: &[u8; 8] = b"GOOBJDIG";
const REPORT_MAGIC: &[u8; 8] = b"GOOBJREP";
const HEADER_LEN: usize = 8 + 4 + 8 + 8;
/// Archives remembered in `digests.memo`.
const MAX_DIGESTS: usize = 4096;

type Digest = [u8; 32];

/// The two digests of an archive.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Digests {
    exact: Digest,
    normalized: Digest,
}

/// Writes to both hashers, or a different value to each.
struct Sink {
    exact: blake3::Hasher,
    normalized: blake3::Hasher,
}

impl Sink {
    fn new() -> Sink {
        Sink {
            exact: blake3::Hasher::new(),
            normalized: blake3::Hasher::new(),
        }
    }
    fn both(&mut self, b: &[u8]) {
        self.exact.update(b);
        self.normalized.update(b);
    }
    fn u32(&mut self, v: u32) {
        self.both(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u32(b.len() as u32);
        self.both(b);
    }
    /// `v` in the exact digest, 0 in the normalized one when `normalize`.
    fn u32_norm(&mut self, v: u32, normalize: bool) {
        self.exact.update(&v.to_le_bytes());
        self.normalized
            .update(&(if normalize { 0 } else { v }).to_le_bytes());
    }
    fn finish(self) -> Digests {
        Digests {
            exact: *self.exact.finalize().as_bytes(),
            normalized: *self.normalized.finalize().as_bytes(),
        }
    }
}

/// The digests of an archive from its summary's members; None if a Go member doesn't
/// parse (then nothing is memoized for the link set).
fn digest_members(members: &[Member<'_>]) -> Option<Digests> {
    let mut k = Sink::new();
    k.both(b"goobj-memo archive");
    k.u32(members.len() as u32);
    for m in members {
        k.bytes(m.name.as_bytes());
        if !crate::reader::is_object_member(&m.name) {
            // `__.PKGDEF` and special members: the loader reads only the name.
            k.both(b"n");
            continue;
        }
        let Ok(o) = GoObject::parse_member(m.data, m.offset) else {
            // Host objects and unknown formats: the summary keeps what the loader looks
            // at (the first bytes).
            k.both(b"o");
            k.bytes(m.data);
            continue;
        };
        k.both(b"g");
        let start = (o.bytes().as_ptr() as usize).checked_sub(m.data.as_ptr() as usize)?;
        // The `go object` line and the cgo directives.
        k.bytes(m.data.get(..start)?);
        digest_object(&mut k, &o)?;
    }
    Some(k.finish())
}

fn digest_object(k: &mut Sink, o: &GoObject<'_>) -> Option<()> {
    let minor = crate::reader::parse_go_minor(o.go_version().unwrap_or("")).unwrap_or(0);
    k.u32(o.header.flags);
    let (ndef, nh64, nh) = (o.nsym(), o.nhashed64def(), o.nhasheddef());
    for n in [ndef, nh64, nh, o.nnonpkgdef(), o.nnonpkgref()] {
        k.u32(n);
    }
    let autolib = o.autolib().ok()?;
    k.u32(autolib.len() as u32);
    for (p, _fingerprint) in autolib {
        k.bytes(p.as_bytes());
    }
    let pkgs = o.pkglist().ok()?;
    k.u32(pkgs.len() as u32);
    for p in pkgs {
        k.bytes(p.as_bytes());
    }
    let refs = o.ref_names().ok()?;
    k.u32(refs.len() as u32);
    for (r, n) in refs {
        k.u32(r.pkg_idx);
        k.u32(r.sym_idx);
        k.bytes(n.as_bytes());
    }
    for (r, f, f2) in o.ref_flags() {
        k.u32(r.pkg_idx);
        k.u32(r.sym_idx);
        k.both(&[f, f2]);
    }
    let nalldef = o.nalldef();
    for i in 0..o.nallsym() {
        let s = o.sym(i).ok()?;
        k.bytes(s.name.as_bytes());
        k.both(&s.abi.to_le_bytes());
        k.both(&[s.typ, s.flag, s.flag2]);
        k.u32_norm(s.size, size_normalized(i < ndef, s.typ, s.flag, minor));
        k.u32(s.align);
        if i >= ndef && i < ndef + nh64 {
            k.both(&o.hash64(i - ndef)?.to_le_bytes());
        } else if i >= ndef + nh64 && i < ndef + nh64 + nh {
            k.both(&o.hash(i - ndef - nh64)?);
        }
        if i >= nalldef {
            continue;
        }
        let norm_off = offsets_normalized(s.typ, s.flag, minor);
        k.u32(o.nreloc(i).ok()? as u32);
        for r in o.relocs(i).ok()? {
            k.u32_norm(r.off as u32, norm_off);
            k.both(&[r.size]);
            k.both(&r.typ.to_le_bytes());
            k.both(&r.add.to_le_bytes());
            k.u32(r.sym.pkg_idx);
            k.u32(r.sym.sym_idx);
        }
        let auxs: Vec<_> = o.auxs(i).ok()?.collect();
        k.u32(auxs.len() as u32);
        for a in auxs {
            k.both(&[a.typ]);
            k.u32(a.sym.pkg_idx);
            k.u32(a.sym.sym_idx);
        }
        k.bytes(o.data(i).ok()?);
    }
    Some(())
}

/// `digests.memo`: file key → digests.
#[derive(Default)]
struct DigestMemo {
    /// path → (key, digests, order of use).
    entries: HashMap<String, (Key, Digests)>,
    /// Paths used by this run, in order (written first).
    used: Vec<String>,
    changed: bool,
}

fn frame(magic: &[u8; 8], payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(magic);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&checksum(payload).to_le_bytes());
    out.extend_from_slice(payload);
    out
}

/// The payload of a framed file, if magic, version, length and checksum verify.
fn unframe<'a>(magic: &[u8; 8], b: &'a [u8]) -> Option<&'a [u8]> {
    if b.len() < HEADER_LEN || &b[..8] != magic {
        return None;
    }
    if u32::from_le_bytes(b[8..12].try_into().ok()?) != FORMAT_VERSION {
        return None;
    }
    let len = u64::from_le_bytes(b[12..20].try_into().ok()?) as usize;
    let sum = u64::from_le_bytes(b[20..28].try_into().ok()?);
    let payload = &b[HEADER_LEN..];
    (payload.len() == len && checksum(payload) == sum).then_some(payload)
}

/// A cursor over a payload.
struct Rd<'a>(&'a [u8]);

impl<'a> Rd<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Some(a)
    }
    fn u32(&mut self) -> Option<u32> {
        Some(u32::from_le_bytes(self.take(4)?.try_into().ok()?))
    }
    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
    fn bytes(&mut self) -> Option<&'a [u8]> {
        let n = self.u32()? as usize;
        self.take(n)
    }
    fn digest(&mut self) -> Option<Digest> {
        self.take(32)?.try_into().ok()
    }
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    out.extend_from_slice(&(b.len() as u32).to_le_bytes());
    out.extend_from_slice(b);
}

impl DigestMemo {
    fn path(dir: &Path) -> PathBuf {
        dir.join("digests.memo")
    }

    fn load(dir: &Path) -> DigestMemo {
        let mut m = DigestMemo::default();
        let Ok(b) = std::fs::read(Self::path(dir)) else {
            return m;
        };
        let Some(p) = unframe(DIGESTS_MAGIC, &b) else {
            return m;
        };
        let mut r = Rd(p);
        let parse = |r: &mut Rd<'_>| -> Option<(Key, Digests)> {
            let path = String::from_utf8(r.bytes()?.to_vec()).ok()?;
            let key = Key {
                path,
                size: r.u64()?,
                mtime_ns: r.u64()?,
                inode: r.u64()?,
            };
            let d = Digests {
                exact: r.digest()?,
                normalized: r.digest()?,
            };
            Some((key, d))
        };
        let n = r.u32().unwrap_or(0);
        for _ in 0..n {
            let Some((key, d)) = parse(&mut r) else {
                return DigestMemo::default();
            };
            m.entries.insert(key.path.clone(), (key, d));
        }
        m
    }

    fn get(&mut self, key: &Key) -> Option<Digests> {
        let (k, d) = self.entries.get(&key.path)?;
        if k != key {
            return None;
        }
        self.used.push(key.path.clone());
        Some(*d)
    }

    fn insert(&mut self, key: Key, d: Digests) {
        self.used.push(key.path.clone());
        self.entries.insert(key.path.clone(), (key, d));
        self.changed = true;
    }

    fn store(&self, cache: &SummaryCache) {
        if !self.changed {
            return;
        }
        let mut order: Vec<&String> = Vec::new();
        let mut seen = std::collections::HashSet::new();
        for p in self.used.iter().chain(self.entries.keys()) {
            if order.len() >= MAX_DIGESTS {
                break;
            }
            if seen.insert(p) {
                order.push(p);
            }
        }
        let mut payload = Vec::with_capacity(order.len() * 160);
        payload.extend_from_slice(&(order.len() as u32).to_le_bytes());
        for p in order {
            let (k, d) = &self.entries[p];
            put_bytes(&mut payload, k.path.as_bytes());
            for v in [k.size, k.mtime_ns, k.inode] {
                payload.extend_from_slice(&v.to_le_bytes());
            }
            payload.extend_from_slice(&d.exact);
            payload.extend_from_slice(&d.normalized);
        }
        cache.store(&Self::path(cache.dir()), &frame(DIGESTS_MAGIC, &payload));
    }
}

/// How a memoized check went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MemoStats {
    /// The report came from the memo: under the normalized digests (true) or the exact
    /// ones (false); None = computed now.
    pub hit: Option<bool>,
    /// Archives whose digests were computed now (the others' came from `digests.memo`).
    pub digested: usize,
    /// The summaries the digests (and, on a miss, the load) read.
    pub summaries: CacheStats,
    /// No memo could be used (an archive that doesn't summarize): the plain check ran.
    pub unmemoizable: bool,
}

/// The result of [`stack_check_memo`]: the report as JSON (what the pipeline stores),
/// with the verdict and the linker's text of the violations.
#[derive(Debug, Clone)]
pub struct MemoCheck {
    pub ok: bool,
    /// The linker's limit (`StackReport::limit`).
    pub limit: i64,
    /// `StackReport::format_violations()`.
    pub violations: String,
    /// `serde_json::to_vec(&report)`.
    pub json: Vec<u8>,
    pub stats: MemoStats,
}

impl MemoCheck {
    /// The report itself (parsed from the JSON).
    pub fn report(&self) -> Result<StackReport, Error> {
        serde_json::from_slice(&self.json)
            .map_err(|e| Error::LinkSet(format!("memoized nosplit report: {e}")))
    }

    fn of(report: &StackReport, stats: MemoStats) -> Result<MemoCheck, Error> {
        Ok(MemoCheck {
            ok: report.ok(),
            limit: report.limit,
            violations: report.format_violations(),
            json: serde_json::to_vec(report)
                .map_err(|e| Error::LinkSet(format!("nosplit report: {e}")))?,
            stats,
        })
    }

    fn encode(&self, unit: &Digest) -> Vec<u8> {
        let mut p = Vec::with_capacity(self.json.len() + self.violations.len() + 64);
        p.extend_from_slice(unit);
        p.push(self.ok as u8);
        p.extend_from_slice(&self.limit.to_le_bytes());
        put_bytes(&mut p, self.violations.as_bytes());
        put_bytes(&mut p, &self.json);
        frame(REPORT_MAGIC, &p)
    }

    fn decode(b: &[u8], unit: &Digest, stats: MemoStats) -> Option<MemoCheck> {
        let mut r = Rd(unframe(REPORT_MAGIC, b)?);
        if r.digest()? != *unit {
            return None;
        }
        let ok = match r.take(1)?[0] {
            0 => false,
            1 => true,
            _ => return None,
        };
        let limit = r.u64()? as i64;
        let violations = String::from_utf8(r.bytes()?.to_vec()).ok()?;
        let json = r.bytes()?.to_vec();
        if !r.0.is_empty() {
            return None;
        }
        Some(MemoCheck {
            ok,
            limit,
            violations,
            json,
            stats,
        })
    }
}

fn hex(d: &Digest) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// What the code that computes a report is: this crate's version and the running
/// binary's file identity (a rebuilt binary never reuses an older one's reports).
fn code_identity() -> String {
    let exe = std::env::current_exe().ok();
    let md = exe.as_ref().and_then(|e| std::fs::metadata(e).ok());
    let mtime = md
        .as_ref()
        .and_then(|m| m.modified().ok())
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_nanos());
    format!(
        "goobj {} memo {FORMAT_VERSION} exe {:?} {} {mtime}",
        env!("CARGO_PKG_VERSION"),
        exe,
        md.map_or(0, |m| m.len()),
    )
}

/// The unit key: options and the sequence of (package, digest).
fn unit_key(opts: &StackCheckOptions, archives: &[(&str, Digests)], normalized: bool) -> Digest {
    let mut h = blake3::Hasher::new();
    let mut put = |b: &[u8]| {
        h.update(&(b.len() as u64).to_le_bytes());
        h.update(b);
    };
    put(code_identity().as_bytes());
    put(format!("{opts:?}").as_bytes());
    put(if normalized { b"normalized" } else { b"exact" });
    for (pkg, d) in archives {
        put(pkg.as_bytes());
        put(if normalized { &d.normalized } else { &d.exact });
    }
    *h.finalize().as_bytes()
}

fn report_path(dir: &Path, unit: &Digest, normalized: bool) -> PathBuf {
    dir.join(format!(
        "{}-{}.rmemo",
        if normalized { "r" } else { "x" },
        hex(unit)
    ))
}

/// The nosplit check of a link set (like [`crate::load_link_set`] then [`stack_check`]),
/// memoized in `dir` beside the archive summaries kept there (see the module
/// documentation): the same report, reused when no archive changed in what the check
/// reads.
pub fn stack_check_memo(
    main: &Path,
    libs: &[(String, PathBuf)],
    dir: &Path,
    opts: &StackCheckOptions,
) -> Result<MemoCheck, Error> {
    let cache = SummaryCache::new(dir);
    let mut stats = MemoStats::default();
    let mut memo = DigestMemo::load(dir);
    let mut archives: Vec<(&str, Digests)> = Vec::with_capacity(libs.len() + 1);
    let all =
        std::iter::once(("main", main)).chain(libs.iter().map(|(p, f)| (p.as_str(), f.as_path())));
    for (pkg, path) in all {
        let key = Key::of(path)?;
        if let Some(d) = memo.get(&key) {
            archives.push((pkg, d));
            continue;
        }
        let d = cache
            .get(path, &mut stats.summaries)?
            .and_then(|s| digest_members(&s.members()));
        let Some(d) = d else {
            // Unsummarizable archive: no memo.
            stats.unmemoizable = true;
            let set = crate::load_link_set(main, libs)?;
            return MemoCheck::of(&stack_check(&set, opts), stats);
        };
        stats.digested += 1;
        memo.insert(key, d);
        archives.push((pkg, d));
    }
    memo.store(&cache);
    for normalized in [true, false] {
        let unit = unit_key(opts, &archives, normalized);
        if let Ok(b) = std::fs::read(report_path(dir, &unit, normalized)) {
            let hit = MemoStats {
                hit: Some(normalized),
                ..stats
            };
            if let Some(m) = MemoCheck::decode(&b, &unit, hit) {
                return Ok(m);
            }
        }
    }
    let (set, st) = cache.load_link_set(main, libs)?;
    stats.summaries.reused += st.reused;
    stats.summaries.built += st.built;
    stats.summaries.direct += st.direct;
    let report = stack_check(&set, opts);
    let out = MemoCheck::of(&report, stats)?;
    let normalized = !set.read_normalized_fields();
    let unit = unit_key(opts, &archives, normalized);
    cache.store(&report_path(dir, &unit, normalized), &out.encode(&unit));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_verify() {
        let f = frame(REPORT_MAGIC, b"payload");
        assert_eq!(unframe(REPORT_MAGIC, &f), Some(&b"payload"[..]));
        assert_eq!(unframe(DIGESTS_MAGIC, &f), None);
        for i in 0..f.len() {
            let mut g = f.clone();
            g[i] ^= 1;
            assert_eq!(unframe(REPORT_MAGIC, &g), None, "byte {i}");
        }
        assert_eq!(unframe(REPORT_MAGIC, &f[..f.len() - 1]), None);
    }

    #[test]
    fn report_entries_round_trip_and_check_the_unit() {
        let m = MemoCheck {
            ok: false,
            limit: 792,
            violations: "main.f: nosplit stack over 792 byte limit\n".into(),
            json: b"{}".to_vec(),
            stats: MemoStats::default(),
        };
        let unit = [7u8; 32];
        let b = m.encode(&unit);
        let back = MemoCheck::decode(&b, &unit, MemoStats::default()).expect("decodes");
        assert_eq!(
            (back.ok, back.limit, &back.violations, &back.json),
            (m.ok, m.limit, &m.violations, &m.json)
        );
        assert!(MemoCheck::decode(&b, &[8u8; 32], MemoStats::default()).is_none());
    }
}
