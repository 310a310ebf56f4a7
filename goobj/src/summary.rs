//! Per-archive summaries: what the nosplit check needs from an archive, computed once and
//! kept in a cache directory, so that a rebuild after an edit re-reads only the archives
//! that changed (usually just the main package's).
//!
//! A summary holds, for every member of the archive, what [`crate::load_link_set`] looks
//! at: the member name and kind (Go object, host object, other), the `go object` header
//! line and the cgo export directives, and for a Go object a *compacted* copy of the object
//! in the same `\x00go120ld` format (so the very same loader, dead-code pass and check run
//! on it, which keeps parity byte-exact):
//! - every symbol record, relocation and aux entry of the package, non-package and
//!   referenced symbols is kept (indices other objects use stay valid);
//! - content-hashed symbols that are only the targets of pc-value, FuncInfo, funcdata or
//!   DWARF aux entries, have no relocations and no aux symbols of their own, are dropped
//!   (they are leaves the check never reads; the aux entry stays, pointing nowhere), except
//!   the pcsp tables of NOSPLIT functions;
//! - the contents of functions (machine code) and of DWARF/pc-value symbols are replaced by
//!   one byte (only "has content" matters for duplicate resolution); type descriptors,
//!   names, strings and every other data symbol keep their contents.
//!
//! File format (little-endian): `GOOBJSUM` magic, format version (u32), payload length
//! (u64), checksum of the payload (u64), then the payload: the key of the archive (path,
//! size, modification time, inode), the members. A summary whose magic, version, key,
//! length or checksum doesn't match is ignored and rebuilt; it is written to a temporary
//! file and renamed into place.

use crate::error::Error;
use crate::linkset::{ArchiveSource, PreparedArchive};
use crate::reader::{
    archive_members, aux, blk, cgo_directives, is_object_member, pkgidx, symflag, GoObject, Member,
    SymRef, AUX_SIZE, HASH64_SIZE, HASH_SIZE, HEADER_SIZE, RELOC_SIZE, SYM_SIZE,
};
use std::path::{Path, PathBuf};

const MAGIC: &[u8; 8] = b"GOOBJSUM";
/// Bumped whenever the summary content or its meaning changes.
const FORMAT_VERSION: u32 = 1;
const HEADER_LEN: usize = 8 + 4 + 8 + 8;

/// Identity of an archive file: a summary is valid only for the same path, size,
/// modification time and inode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Key {
    pub(crate) path: String,
    pub(crate) size: u64,
    pub(crate) mtime_ns: u64,
    pub(crate) inode: u64,
}

impl Key {
    pub(crate) fn of(path: &Path) -> Result<Key, Error> {
        let md = std::fs::metadata(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let mtime_ns = md
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos() as u64);
        #[cfg(unix)]
        let inode = std::os::unix::fs::MetadataExt::ino(&md);
        #[cfg(not(unix))]
        let inode = 0;
        Ok(Key {
            path: path.display().to_string(),
            size: md.len(),
            mtime_ns,
            inode,
        })
    }

    fn write(&self, out: &mut Vec<u8>) {
        put_bytes(out, self.path.as_bytes());
        out.extend_from_slice(&self.size.to_le_bytes());
        out.extend_from_slice(&self.mtime_ns.to_le_bytes());
        out.extend_from_slice(&self.inode.to_le_bytes());
    }
}

/// 64-bit checksum of the payload: four independent multiply-rotate lanes over 32-byte
/// blocks (fast enough to verify every summary on every load), then a final mix.
pub(crate) fn checksum(b: &[u8]) -> u64 {
    const K: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut lanes = [
        0x243F_6A88_85A3_08D3 ^ b.len() as u64,
        0x1319_8A2E_0370_7344,
        0xA409_3822_299F_31D0,
        0x082E_FA98_EC4E_6C89,
    ];
    let word = |c: &[u8]| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
    let mut blocks = b.chunks_exact(32);
    for c in &mut blocks {
        for (k, l) in lanes.iter_mut().enumerate() {
            *l = (*l ^ word(&c[8 * k..])).wrapping_mul(K).rotate_left(29);
        }
    }
    let mut h =
        lanes[0] ^ lanes[1].rotate_left(17) ^ lanes[2].rotate_left(31) ^ lanes[3].rotate_left(47);
    let mut chunks = blocks.remainder().chunks_exact(8);
    for c in &mut chunks {
        h = (h ^ word(c)).wrapping_mul(K).rotate_left(29);
    }
    let mut last = [0u8; 8];
    last[..chunks.remainder().len()].copy_from_slice(chunks.remainder());
    h = (h ^ u64::from_le_bytes(last)).wrapping_mul(K);
    h ^= h >> 32;
    h = h.wrapping_mul(0xD6E8_FEB8_6659_FD93);
    h ^ (h >> 32)
}

fn put_u32(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&v.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, b: &[u8]) {
    put_u32(out, b.len() as u32);
    out.extend_from_slice(b);
}

/// Member kinds in a summary.
const KIND_GO: u8 = 0;
const KIND_OTHER: u8 = 1;

/// Builds the summary of an archive (`data` = the archive file's bytes); None if one of
/// its Go objects can't be summarized (then the archive is read directly).
fn build(path: &Path, key: &Key, data: &[u8]) -> Result<Option<Vec<u8>>, Error> {
    let location = path.display().to_string();
    let mut payload = Vec::with_capacity(data.len() / 4);
    key.write(&mut payload);
    let members = archive_members(data, &location)?;
    put_u32(&mut payload, members.len() as u32);
    for m in &members {
        put_bytes(&mut payload, m.name.as_bytes());
        payload.extend_from_slice(&m.offset.to_le_bytes());
        match summarize_member(m) {
            Some(b) => {
                payload.push(KIND_GO);
                put_bytes(&mut payload, &b);
            }
            None if is_object_member(&m.name) && m.data.starts_with(b"go o") => {
                return Ok(None);
            }
            None => {
                // Special members, host objects and anything else: the loader only looks
                // at the name and the first bytes (the magic).
                payload.push(KIND_OTHER);
                put_bytes(&mut payload, &m.data[..m.data.len().min(64)]);
            }
        }
    }
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.extend_from_slice(MAGIC);
    out.extend_from_slice(&FORMAT_VERSION.to_le_bytes());
    out.extend_from_slice(&(payload.len() as u64).to_le_bytes());
    out.extend_from_slice(&checksum(&payload).to_le_bytes());
    out.extend_from_slice(&payload);
    Ok(Some(out))
}

/// The summary form of a Go object member (`go object` line, cgo section, compacted
/// object), or None when the member is not a Go object or something about it is unusual
/// (an unusual Go object makes the whole archive unsummarizable, see [`build`]).
fn summarize_member(m: &Member<'_>) -> Option<Vec<u8>> {
    if !is_object_member(&m.name) || !m.data.starts_with(b"go o") {
        return None;
    }
    let obj = GoObject::parse_member(m.data, m.offset).ok()?;
    let cgo = cgo_directives(m.data).ok()?;
    let mut out = Vec::new();
    out.extend_from_slice(obj.header_line.as_bytes());
    out.extend_from_slice(b"\n\n");
    if !cgo.is_empty() {
        out.extend_from_slice(b"\n$$  // cgo\n");
        out.extend_from_slice(&serde_json::to_vec(&cgo).ok()?);
        out.extend_from_slice(b"\n$$\n\n");
    }
    out.extend_from_slice(b"!\n");
    let start = out.len();
    out.extend_from_slice(&compact(&obj)?);
    // Self-check: the loader must see the same header, cgo directives and symbols.
    let again = GoObject::parse_member(&out, m.offset).ok()?;
    if again.header_line != obj.header_line
        || cgo_directives(&out).ok()? != cgo
        || again.bytes().as_ptr() as usize - out.as_ptr() as usize != start
        || again.nsym() != obj.nsym()
        || again.nnonpkgdef() != obj.nnonpkgdef()
        || again.nnonpkgref() != obj.nnonpkgref()
        || again.autolib().ok()? != obj.autolib().ok()?
        || again.pkglist().ok()? != obj.pkglist().ok()?
    {
        return None;
    }
    Some(out)
}

/// Aux kinds whose targets the check never reads (FuncInfo is read for Go 1.22 objects,
/// which mark ABI wrappers only by their FuncID).
fn unread_aux(t: u8, go_minor: u32) -> bool {
    (t == aux::FUNC_INFO && go_minor > 22)
        || matches!(
            t,
            aux::FUNCDATA
                | aux::DWARF_INFO
                | aux::DWARF_LOC
                | aux::DWARF_RANGES
                | aux::DWARF_LINES
                | aux::PCSP
                | aux::PCFILE
                | aux::PCLINE
                | aux::PCINLINE
                | aux::PCDATA
        )
}

/// DWARF symbols (targets of DWARF aux entries) whose relocations the dead-code pass can
/// do without: every relocation is R_USETYPE (never followed), or points to the function
/// the DWARF symbol belongs to (reachable already: its aux entries are how the DWARF
/// symbol gets marked), to another DWARF symbol of the same function, or to a `go:info.`
/// symbol (type DIEs the linker generates, abstract functions) whose own relocations in
/// this object are of the same sort. Then following them marks nothing but DWARF
/// symbols, which the check never looks at.
fn dwarf_relocs_to_strip(o: &GoObject<'_>, minor: u32) -> Option<Vec<bool>> {
    let nalldef = o.nalldef() as usize;
    let usetype = crate::reloc::RelocTable::for_go(minor).map_or(0, |t| t.r_usetype);
    const NONE: u32 = u32::MAX;
    const MANY: u32 = u32::MAX - 1;
    let mut owner = vec![NONE; o.nallsym() as usize];
    for i in 0..o.nalldef() {
        for a in o.auxs(i).ok()? {
            if !(aux::DWARF_INFO..=aux::DWARF_LINES).contains(&a.typ) {
                continue;
            }
            if let Some(li) = o.local_index(a.sym) {
                let w = &mut owner[li as usize];
                *w = if *w == NONE || *w == i { i } else { MANY };
            }
        }
    }
    let go_info = |li: u32| o.sym_name_bytes(li).starts_with(b"go:info.");
    // `go:info.` definitions of this object whose relocations only lead to `go:info.`
    // symbols (or are R_USETYPE).
    let plain_info = |li: u32| -> bool {
        if li >= nalldef as u32 {
            return true;
        }
        match o.relocs(li) {
            Ok(mut rs) => rs.all(|r| {
                r.base_type() == usetype
                    || o.local_index(r.sym)
                        .is_some_and(|t| go_info(t) && owner[t as usize] == NONE)
            }),
            Err(_) => false,
        }
    };
    let mut strip = vec![false; nalldef];
    for d in 0..nalldef {
        let w = owner[d];
        if w == NONE || w == MANY {
            continue;
        }
        let ok = o.relocs(d as u32).ok()?.all(|r| {
            if r.base_type() == usetype {
                return true;
            }
            let Some(t) = o.local_index(r.sym) else {
                return false;
            };
            t == w
                || owner[t as usize] == w
                || (owner[t as usize] == NONE && go_info(t) && plain_info(t))
        });
        strip[d] = ok && usetype != 0;
    }
    Some(strip)
}

/// Type descriptors and itabs (and anything named `type:`): the dead-code pass decodes
/// them.
fn is_typeish(o: &GoObject<'_>, i: u32) -> bool {
    let (_, flag, flag2) = o.sym_flags(i);
    flag & symflag::GO_TYPE != 0
        || flag2 & crate::reader::symflag2::ITAB != 0
        || o.sym_name_bytes(i).starts_with(b"type:")
}

/// The compacted object (see the module documentation).
fn compact(o: &GoObject<'_>) -> Option<Vec<u8>> {
    let b = o.bytes();
    let h = &o.header;
    let minor = crate::reader::parse_go_minor(o.go_version().unwrap_or("")).unwrap_or(26);
    let (ndef, nh64, nh, nnpd) = (o.nsym(), o.nhashed64def(), o.nhasheddef(), o.nnonpkgdef());
    let nalldef = o.nalldef();
    let nall = o.nallsym() as usize;
    // Strings live between the header and the first block; they are copied as they are,
    // so every string reference stays valid.
    let strings_end = h.offsets[blk::AUTOLIB] as usize;
    if strings_end < HEADER_SIZE || strings_end > b.len() {
        return None;
    }
    for i in 0..o.nallsym() {
        let off = h.offsets[blk::SYMDEF] as usize + i as usize * SYM_SIZE;
        let r = b.get(off..off + 8)?;
        let len = u32::from_le_bytes([r[0], r[1], r[2], r[3]]) as usize;
        let soff = u32::from_le_bytes([r[4], r[5], r[6], r[7]]) as usize;
        if len != 0 && (soff < HEADER_SIZE || soff + len > strings_end) {
            return None;
        }
    }
    let strip = dwarf_relocs_to_strip(o, minor)?;
    // Which symbols the check may read the contents of (READ), or must keep because a
    // call names them (CALLED); by local index.
    const READ: u8 = 1;
    const CALLED: u8 = 2;
    let table = crate::reloc::RelocTable::for_go(minor)?;
    let mut need = vec![0u8; nall];
    let mut is_text = vec![false; nall];
    let mut typeish = vec![false; nall];
    for i in 0..o.nallsym() {
        let (kind, _, _) = o.sym_flags(i);
        is_text[i as usize] = crate::reloc::is_text_kind(kind, minor);
        typeish[i as usize] = is_typeish(o, i);
    }
    for i in 0..nalldef {
        let (_, flag, _) = o.sym_flags(i);
        let text = is_text[i as usize];
        if !strip[i as usize] {
            for r in o.relocs(i).ok()? {
                let Some(li) = o.local_index(r.sym) else {
                    continue;
                };
                let t = r.base_type();
                if table.is_direct_call(t) || t == table.r_callind {
                    need[li as usize] |= CALLED;
                }
                if typeish[i as usize] || t == table.r_usenamedmethod || t == table.r_useifacemethod
                {
                    // Type descriptors' names and method types, interface method names,
                    // generic method names (decoded by the dead-code pass).
                    need[li as usize] |= READ;
                }
            }
        }
        for a in o.auxs(i).ok()? {
            if let Some(li) = o.local_index(a.sym) {
                let nosplit_pcsp = a.typ == aux::PCSP && text && flag & symflag::NOSPLIT != 0;
                if !unread_aux(a.typ, minor) || nosplit_pcsp {
                    need[li as usize] |= READ;
                }
            }
        }
    }
    // Contents are kept for what may be read; functions and everything else keep one
    // byte (only "has content" matters, for duplicate resolution). Hashed definitions
    // that are leaves nobody reads or calls are dropped: reaching them has no effect.
    let mut keep_data = vec![false; nalldef as usize];
    let mut new_idx: Vec<Option<u32>> = Vec::with_capacity(nall);
    let mut kept: Vec<u32> = Vec::with_capacity(nall);
    let (mut kh64, mut kh) = (0u32, 0u32);
    for i in 0..nall as u32 {
        let hashed = i >= ndef && i < ndef + nh64 + nh;
        let n = need[i as usize];
        let leaf = i < nalldef
            && (strip[i as usize] || o.nreloc(i).ok()? == 0)
            && o.auxs(i).ok()?.next().is_none();
        if hashed && leaf && n == 0 && !is_text[i as usize] && !typeish[i as usize] {
            new_idx.push(None);
            continue;
        }
        if i < nalldef {
            keep_data[i as usize] = !is_text[i as usize] && (n & READ != 0 || typeish[i as usize]);
        }
        if hashed && i < ndef + nh64 {
            kh64 += 1;
        } else if hashed {
            kh += 1;
        }
        new_idx.push(Some(kept.len() as u32));
        kept.push(i);
    }
    let remap = |r: SymRef| -> SymRef {
        let base = match r.pkg_idx {
            pkgidx::HASHED64 => ndef,
            pkgidx::HASHED => ndef + nh64,
            _ => return r,
        };
        let old = base as u64 + r.sym_idx as u64;
        match new_idx.get(old as usize).copied().flatten() {
            Some(n) => SymRef {
                pkg_idx: r.pkg_idx,
                sym_idx: n - if r.pkg_idx == pkgidx::HASHED64 {
                    ndef
                } else {
                    ndef + kh64
                },
            },
            None => SymRef::default(),
        }
    };

    let mut out = Vec::with_capacity(b.len() / 2);
    out.extend_from_slice(&b[..HEADER_SIZE]);
    out.extend_from_slice(&b[HEADER_SIZE..strings_end]);
    let mut offsets = [0u32; blk::N];
    let block =
        |k: usize| -> Option<&[u8]> { b.get(h.offsets[k] as usize..h.offsets[k + 1] as usize) };
    for k in [blk::AUTOLIB, blk::PKG_IDX, blk::FILE] {
        offsets[k] = out.len() as u32;
        out.extend_from_slice(block(k)?);
    }
    // Symbol records, in the kept order (blocks SYMDEF..NONPKGREF are contiguous).
    let sym_rec = |i: u32| -> Option<&[u8]> {
        let off = h.offsets[blk::SYMDEF] as usize + i as usize * SYM_SIZE;
        b.get(off..off + SYM_SIZE)
    };
    let counts = [ndef, kh64, kh, nnpd, o.nnonpkgref()];
    let mut ki = 0usize;
    for (n, k) in counts.iter().zip([
        blk::SYMDEF,
        blk::HASHED64DEF,
        blk::HASHEDDEF,
        blk::NONPKGDEF,
        blk::NONPKGREF,
    ]) {
        offsets[k] = out.len() as u32;
        for _ in 0..*n {
            out.extend_from_slice(sym_rec(kept[ki])?);
            ki += 1;
        }
    }
    offsets[blk::REF_FLAGS] = out.len() as u32;
    out.extend_from_slice(block(blk::REF_FLAGS)?);
    offsets[blk::HASH64] = out.len() as u32;
    for &i in &kept {
        if i >= ndef && i < ndef + nh64 {
            let off = h.offsets[blk::HASH64] as usize + (i - ndef) as usize * HASH64_SIZE;
            out.extend_from_slice(b.get(off..off + HASH64_SIZE)?);
        }
    }
    offsets[blk::HASH] = out.len() as u32;
    for &i in &kept {
        if i >= ndef + nh64 && i < ndef + nh64 + nh {
            let off = h.offsets[blk::HASH] as usize + (i - ndef - nh64) as usize * HASH_SIZE;
            out.extend_from_slice(b.get(off..off + HASH_SIZE)?);
        }
    }
    let kept_defs: Vec<u32> = kept.iter().copied().filter(|&i| i < nalldef).collect();
    // Index blocks and records.
    let mut relocs = Vec::new();
    let mut auxs = Vec::new();
    let mut data = Vec::new();
    let (mut ridx, mut aidx, mut didx) = (Vec::new(), Vec::new(), Vec::new());
    for &i in &kept_defs {
        ridx.push(relocs.len() as u32 / RELOC_SIZE as u32);
        aidx.push(auxs.len() as u32 / AUX_SIZE as u32);
        didx.push(data.len() as u32);
        for r in o.relocs(i).ok()?.filter(|_| !strip[i as usize]) {
            let t = remap(r.sym);
            relocs.extend_from_slice(&(r.off as u32).to_le_bytes());
            relocs.push(r.size);
            relocs.extend_from_slice(&r.typ.to_le_bytes());
            relocs.extend_from_slice(&(r.add as u64).to_le_bytes());
            relocs.extend_from_slice(&t.pkg_idx.to_le_bytes());
            relocs.extend_from_slice(&t.sym_idx.to_le_bytes());
        }
        for a in o.auxs(i).ok()? {
            let t = remap(a.sym);
            auxs.push(a.typ);
            auxs.extend_from_slice(&t.pkg_idx.to_le_bytes());
            auxs.extend_from_slice(&t.sym_idx.to_le_bytes());
        }
        let d = o.data(i).ok()?;
        if keep_data[i as usize] {
            data.extend_from_slice(d);
        } else if !d.is_empty() {
            data.push(0);
        }
    }
    ridx.push(relocs.len() as u32 / RELOC_SIZE as u32);
    aidx.push(auxs.len() as u32 / AUX_SIZE as u32);
    didx.push(data.len() as u32);
    for (k, v) in [
        (blk::RELOC_IDX, &ridx),
        (blk::AUX_IDX, &aidx),
        (blk::DATA_IDX, &didx),
    ] {
        offsets[k] = out.len() as u32;
        for x in v.iter() {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    offsets[blk::RELOC] = out.len() as u32;
    out.extend_from_slice(&relocs);
    offsets[blk::AUX] = out.len() as u32;
    out.extend_from_slice(&auxs);
    offsets[blk::DATA] = out.len() as u32;
    out.extend_from_slice(&data);
    offsets[blk::REF_NAME] = out.len() as u32;
    out.extend_from_slice(block(blk::REF_NAME)?);
    offsets[blk::END] = out.len() as u32;
    if out.len() > u32::MAX as usize {
        return None;
    }
    for (k, off) in offsets.iter().enumerate() {
        out[20 + 4 * k..24 + 4 * k].copy_from_slice(&off.to_le_bytes());
    }
    Some(out)
}

/// Bytes of a summary: a read-only map of the summary file, or built in memory.
#[derive(Debug)]
pub(crate) enum SummaryBytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
}

impl std::ops::Deref for SummaryBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            SummaryBytes::Mapped(m) => m,
            SummaryBytes::Owned(v) => v,
        }
    }
}

impl SummaryBytes {
    /// Maps a summary file (all of it is read right away: the checksum covers it).
    fn open(path: &Path) -> Option<SummaryBytes> {
        let f = std::fs::File::open(path).ok()?;
        // SAFETY: a read-only private map. Summaries are replaced by rename, never
        // rewritten in place, so the mapped file doesn't change under us; a file truncated
        // by someone else could fault (SIGBUS), never corrupt our memory.
        match unsafe { memmap2::MmapOptions::new().populate().map(&f) } {
            Ok(m) => Some(SummaryBytes::Mapped(m)),
            Err(_) => std::fs::read(path).ok().map(SummaryBytes::Owned),
        }
    }
}

/// A validated summary: its bytes and where each member is.
#[derive(Debug)]
pub(crate) struct Summary {
    pub bytes: SummaryBytes,
    /// (name, offset in the original archive, range in `bytes`).
    members: Vec<(String, u64, std::ops::Range<usize>)>,
}

/// The summary cache as the loader's source of prepared archives.
struct Source<'a> {
    cache: &'a SummaryCache,
    stats: CacheStats,
}

impl ArchiveSource for Source<'_> {
    fn get(&mut self, archive: &Path) -> Result<Option<Box<dyn PreparedArchive>>, Error> {
        Ok(self
            .cache
            .get(archive, &mut self.stats)?
            .map(|s| Box::new(s) as Box<dyn PreparedArchive>))
    }
}

impl PreparedArchive for Summary {
    fn bytes(&self) -> &[u8] {
        &self.bytes
    }
    fn members(&self) -> Vec<Member<'_>> {
        Summary::members(self)
    }
}

impl Summary {
    /// Members as the loader sees them (data = the summarized member).
    pub(crate) fn members(&self) -> Vec<Member<'_>> {
        self.members
            .iter()
            .map(|(name, offset, r)| Member {
                name: name.clone(),
                offset: *offset,
                data: &self.bytes[r.clone()],
            })
            .collect()
    }

    /// Parses and validates summary bytes against the archive's key.
    fn parse(bytes: SummaryBytes, key: &Key) -> Option<Summary> {
        if bytes.len() < HEADER_LEN || &bytes[..8] != MAGIC {
            return None;
        }
        let u32_at = |b: &[u8], o: usize| -> Option<u32> {
            Some(u32::from_le_bytes(b.get(o..o + 4)?.try_into().ok()?))
        };
        let u64_at = |b: &[u8], o: usize| -> Option<u64> {
            Some(u64::from_le_bytes(b.get(o..o + 8)?.try_into().ok()?))
        };
        if u32_at(&bytes, 8)? != FORMAT_VERSION {
            return None;
        }
        let len = u64_at(&bytes, 12)? as usize;
        if bytes.len() != HEADER_LEN.checked_add(len)? {
            return None;
        }
        if checksum(&bytes[HEADER_LEN..]) != u64_at(&bytes, 20)? {
            return None;
        }
        let mut p = HEADER_LEN;
        let mut take = |n: usize| -> Option<std::ops::Range<usize>> {
            let r = p..p.checked_add(n)?;
            if r.end > bytes.len() {
                return None;
            }
            p = r.end;
            Some(r)
        };
        let read_bytes = |take: &mut dyn FnMut(usize) -> Option<std::ops::Range<usize>>| {
            let r = take(4)?;
            let n = u32_at(&bytes, r.start)? as usize;
            take(n)
        };
        let path = read_bytes(&mut take)?;
        let r = take(24)?;
        let got = Key {
            path: String::from_utf8(bytes[path].to_vec()).ok()?,
            size: u64_at(&bytes, r.start)?,
            mtime_ns: u64_at(&bytes, r.start + 8)?,
            inode: u64_at(&bytes, r.start + 16)?,
        };
        if got != *key {
            return None;
        }
        let r = take(4)?;
        let n = u32_at(&bytes, r.start)? as usize;
        let mut members = Vec::with_capacity(n.min(1 << 16));
        for _ in 0..n {
            let name = read_bytes(&mut take)?;
            let name = String::from_utf8(bytes[name].to_vec()).ok()?;
            let r = take(8)?;
            let offset = u64_at(&bytes, r.start)?;
            let r = take(1)?;
            if bytes[r.start] > KIND_OTHER {
                return None;
            }
            let data = read_bytes(&mut take)?;
            members.push((name, offset, data));
        }
        if p != bytes.len() {
            return None;
        }
        Some(Summary { bytes, members })
    }
}

/// A directory of archive summaries (see the module documentation).
#[derive(Debug)]
pub struct SummaryCache {
    dir: PathBuf,
    /// A summary could not be stored: stop summarizing (building a summary costs more than
    /// reading the archive directly, and it would be built again next time).
    unwritable: std::sync::atomic::AtomicBool,
}

/// How a cached load went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CacheStats {
    /// Archives whose summary was read from the cache.
    pub reused: usize,
    /// Archives summarized now (missing, stale or corrupt summaries).
    pub built: usize,
    /// Archives that could not be summarized and were read directly.
    pub direct: usize,
}

impl SummaryCache {
    /// A cache in `dir` (created when the first summary is written).
    pub fn new(dir: impl Into<PathBuf>) -> SummaryCache {
        SummaryCache {
            dir: dir.into(),
            unwritable: std::sync::atomic::AtomicBool::new(false),
        }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Where the summary of `archive` lives (one file per archive path).
    pub fn summary_path(&self, archive: &Path) -> PathBuf {
        let name = archive.display().to_string();
        let h = checksum(name.as_bytes());
        let base = archive
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let base: String = base
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .take(40)
            .collect();
        self.dir.join(format!("{h:016x}-{base}.sum"))
    }

    /// The summary of an archive: from the cache when valid, else built (and stored).
    /// None if the archive can't be summarized (the caller reads it directly).
    pub(crate) fn get(
        &self,
        archive: &Path,
        stats: &mut CacheStats,
    ) -> Result<Option<Summary>, Error> {
        let key = Key::of(archive)?;
        let sp = self.summary_path(archive);
        if let Some(bytes) = SummaryBytes::open(&sp) {
            if let Some(s) = Summary::parse(bytes, &key) {
                stats.reused += 1;
                return Ok(Some(s));
            }
        }
        if self.unwritable.load(std::sync::atomic::Ordering::Relaxed) {
            stats.direct += 1;
            return Ok(None);
        }
        let data = std::fs::read(archive).map_err(|source| Error::Io {
            path: archive.to_path_buf(),
            source,
        })?;
        // Summarize only archives whose Go objects all summarize: otherwise read directly
        // (the loader then reports any problem with the archive's own offsets).
        let built = build(archive, &key, &data)?;
        let Some(s) = built.and_then(|b| Summary::parse(SummaryBytes::Owned(b), &key)) else {
            stats.direct += 1;
            return Ok(None);
        };
        stats.built += 1;
        if !self.store(&sp, &s.bytes) {
            self.unwritable
                .store(true, std::sync::atomic::Ordering::Relaxed);
        }
        Ok(Some(s))
    }

    /// Writes a summary atomically (temporary file + rename); false if that failed (the
    /// summary is rebuilt next time).
    pub(crate) fn store(&self, dest: &Path, bytes: &[u8]) -> bool {
        if std::fs::create_dir_all(&self.dir).is_err() {
            return false;
        }
        static SEQ: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
        let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let tmp = self.dir.join(format!(
            ".tmp-{}-{n}-{:x}",
            std::process::id(),
            checksum(bytes)
        ));
        let ok = (|| -> std::io::Result<()> {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(bytes)?;
            f.flush()?;
            drop(f);
            std::fs::rename(&tmp, dest)
        })();
        if ok.is_err() {
            let _ = std::fs::remove_file(&tmp);
        }
        ok.is_ok()
    }

    /// [`crate::load_link_set`] through the cache.
    pub fn load_link_set(
        &self,
        main: &Path,
        libs: &[(String, PathBuf)],
    ) -> Result<(crate::LinkSet, CacheStats), Error> {
        let mut src = Source {
            cache: self,
            stats: CacheStats::default(),
        };
        let set = crate::linkset::load_link_set_with(main, libs, Some(&mut src))?;
        Ok((set, src.stats))
    }
}

/// Loads a link set like [`crate::load_link_set`], reading per-archive summaries from
/// `summary_dir` (and writing the missing ones): a rebuild reads only changed archives.
///
/// The result is a link set *for the stack check*: [`crate::stack_check`] reports exactly
/// what it reports on [`crate::load_link_set`]'s, but symbols nobody reads or calls
/// (content-hashed pc-value tables, strings...) are absent, DWARF symbols have no
/// relocations and most contents are cut (see the module documentation); use
/// [`crate::load_link_set`] to inspect symbols. Summaries are never removed: the caller
/// owns `summary_dir` (one file per archive path ever checked).
pub fn load_link_set_cached(
    main: &Path,
    libs: &[(String, PathBuf)],
    summary_dir: &Path,
) -> Result<crate::LinkSet, Error> {
    SummaryCache::new(summary_dir)
        .load_link_set(main, libs)
        .map(|(s, _)| s)
}

/// Fuzzing entry point (not API): summarizes `data` as an archive, reads the summary back
/// and parses its objects; then reads `data` itself as a summary file (with its checksum
/// fixed up, so that the member parser is reached). Must never panic.
#[doc(hidden)]
pub fn fuzz_summary(data: &[u8]) {
    let key = Key {
        path: "fuzz.a".into(),
        size: data.len() as u64,
        mtime_ns: 0,
        inode: 0,
    };
    let check = |s: &Summary| {
        for m in s.members() {
            if let Ok(o) = GoObject::parse_member(m.data, m.offset) {
                for i in 0..o.nalldef().min(4096) {
                    let _ = o.relocs(i).map(|r| r.count());
                    let _ = o.auxs(i).map(|a| a.count());
                    let _ = o.data(i);
                }
            }
            let _ = cgo_directives(m.data);
        }
    };
    if let Ok(Some(b)) = build(Path::new("fuzz.a"), &key, data) {
        let s = Summary::parse(SummaryBytes::Owned(b), &key).expect("own summary must parse");
        check(&s);
    }
    let mut b = data.to_vec();
    if b.len() >= HEADER_LEN && &b[..8] == MAGIC {
        let len = (b.len() - HEADER_LEN) as u64;
        b[12..20].copy_from_slice(&len.to_le_bytes());
        let c = checksum(&b[HEADER_LEN..]);
        b[20..28].copy_from_slice(&c.to_le_bytes());
    }
    // Any key: the parser must reject or accept without panicking.
    if let Some(s) = Summary::parse(SummaryBytes::Owned(b), &key) {
        check(&s);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksum_sees_every_byte() {
        let a = vec![7u8; 1001];
        let base = checksum(&a);
        for i in [0, 7, 8, 500, 1000] {
            let mut b = a.clone();
            b[i] ^= 1;
            assert_ne!(checksum(&b), base, "byte {i}");
        }
        assert_ne!(checksum(&a[..1000]), base);
    }
}
