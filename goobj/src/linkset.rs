//! A whole link set loaded the way `cmd/link` loads it, so that symbol references resolve
//! to the same definitions the linker would pick.
//!
//! Mirrors, in order:
//! - `ld.loadlib` / `loadobjfile` / `ldobj` (`cmd/link/internal/ld/lib.go`): the main
//!   package is loaded first, then the packages its objects import (the `Autolib` block),
//!   appended in first-seen order, then `runtime` if nothing imported it. The order of the
//!   `packagefile` lines of importcfg.link is only a lookup table. Every Go object member
//!   gets a fresh symbol version (`ctxt.IncVersion()`, starting at `sym.SymVerStatic` = 10):
//!   that is the `<N>` file-local (static) symbols carry in `-debugnosplit` output.
//! - `loader.LoadSyms` (`cmd/link/internal/loader/loader.go`): package definitions of all
//!   objects first, then per object hashed64, hashed and non-package definitions (duplicates
//!   resolved by `addSym`: for DUPOK the first loaded wins unless a later one is larger),
//!   then non-package references by name, package indices, and reference flags.

use crate::builtin;
use crate::error::Error;
use crate::reader::{
    archive_members, is_object_member, locate, parse_go_minor, pkgidx, GoObject, Header, Member,
    Reloc, Sym, SymRef, SYM_ABI_STATIC,
};
use crate::reloc::{is_text_kind, RelocTable};
use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// First version number handed to object files (`sym.SymVerStatic`).
pub const SYM_VER_STATIC: i32 = 10;
/// Object index of symbols that no loaded Go object defines.
const EXT: u32 = u32::MAX;

/// A global symbol index (`loader.Sym`); 0 is "no symbol".
pub type SymId = u32;

/// How the linker would link (`determineLinkMode` in `cmd/link/internal/ld/config.go`),
/// which decides the entry symbol and which cgo exports are roots.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LinkMode {
    Internal,
    External,
}

/// A `cgo_export_static` / `cgo_export_dynamic` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CgoExport {
    pub local: String,
    /// Symbol version of the ABI named by the directive (ABI0 = 0, ABIInternal = 1).
    pub ver: i32,
    pub dynamic: bool,
}

/// Packages whose host objects still allow internal linking (`internalpkg`, lib.go).
const INTERNAL_PKGS: &[&str] = &[
    "crypto/internal/boring",
    "crypto/internal/boring/syso",
    "crypto/x509",
    "net",
    "os/user",
    "runtime/cgo",
    "runtime/race",
    "runtime/race/internal/amd64v1",
    "runtime/race/internal/amd64v3",
    "runtime/msan",
    "runtime/asan",
];

/// One package of the link set, in load order.
#[derive(Debug, Clone)]
pub struct Library {
    /// Import path (`main` for the main package).
    pub pkg: String,
    pub archive: PathBuf,
    /// Packages this one imports, as indices into [`LinkSet::libraries`].
    pub imports: Vec<usize>,
    /// Members that are host (ELF/Mach-O/PE) objects; their symbols are external.
    pub host_objects: Vec<String>,
    /// Special members `preferlinkext` / `dynimportfail` seen in the archive.
    pub prefer_linkext: bool,
    pub dynimport_fail: bool,
}

#[derive(Debug)]
pub(crate) struct Obj {
    pub lib: u32,
    pub archive: u32,
    pub start: usize,
    pub end: usize,
    pub file_offset: u64,
    pub member: String,
    pub header: Header,
    pub version: i32,
    pub ndef: u32,
    pub nh64: u32,
    pub nh: u32,
    pub nnpd: u32,
    pub nnpr: u32,
    /// Local symbol index → global symbol.
    pub syms: Vec<SymId>,
    /// PkgIdx → object index of that package's first object.
    pub pkg: Vec<u32>,
}

#[derive(Debug, Clone, Copy)]
pub(crate) struct GSym {
    pub obj: u32,
    pub li: u32,
    pub ver: i32,
}

/// FxHash-style hasher for name keys that are already hashed to u64.
#[derive(Default)]
pub(crate) struct IdHasher(u64);
impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ b as u64).wrapping_mul(K);
        }
    }
    fn write_usize(&mut self, n: usize) {
        self.0 = (self.0.rotate_left(5) ^ n as u64).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}
pub(crate) type IdMap<V> = HashMap<u64, V, BuildHasherDefault<IdHasher>>;

fn name_key(name: &[u8], ver: i32) -> u64 {
    // FxHash-style, 8 bytes at a time, mixed with the version.
    const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
    let mut h: u64 = ver as u64;
    let mut chunks = name.chunks_exact(8);
    for c in &mut chunks {
        let w = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
        h = (h.rotate_left(5) ^ w).wrapping_mul(K);
    }
    for &b in chunks.remainder() {
        h = (h.rotate_left(5) ^ b as u64).wrapping_mul(K);
    }
    (h.rotate_left(5) ^ name.len() as u64).wrapping_mul(K)
}

/// All Go objects of a link, with symbols resolved as `cmd/link` resolves them.
#[derive(Debug)]
pub struct LinkSet {
    /// GOOS, GOARCH and Go version from the objects' `go object` header line.
    pub goos: String,
    pub goarch: String,
    pub go_version: String,
    pub go_minor: u32,
    /// GOEXPERIMENT part of the header line (`X:...`), e.g. "X:none".
    pub experiments: String,
    pub(crate) archives: Arc<Vec<(PathBuf, Bytes)>>,
    pub(crate) libs: Vec<Library>,
    pub(crate) objs: Vec<Obj>,
    pub(crate) syms: Vec<GSym>,
    pub(crate) ext_names: Vec<String>,
    by_name: IdMap<SymId>,
    /// Name-key collisions (different names, same 64-bit key): exact map.
    by_name_overflow: HashMap<(String, i32), SymId>,
    pub(crate) builtin_syms: Vec<SymId>,
    pub(crate) used_in_iface: Vec<bool>,
    /// cgo export directives of all objects, in load order.
    pub cgo_exports: Vec<CgoExport>,
    /// A member in a format the linker doesn't know (forces external linking).
    pub unknown_obj_format: bool,
    /// Cached (kind, flag, flag2) per symbol.
    pub(crate) sym_flags: Vec<(u8, u8, u8)>,
    pub(crate) relocs: RelocTable,
    /// Set when the load, the dead-code pass or the check read a field that
    /// [`crate::memo`] leaves out of an archive's normalized digest (the relocation
    /// offsets of a splittable function, the size of a non-DUPOK package function): a
    /// result that depends on one is memoized under the exact digests only.
    pub(crate) normalized_read: std::sync::atomic::AtomicBool,
}

impl LinkSet {
    /// Libraries in the linker's load order.
    pub fn libraries(&self) -> &[Library] {
        &self.libs
    }

    /// The link mode cmd/link would pick for `-buildmode=exe` with `-linkmode` unset.
    pub fn link_mode(&self) -> LinkMode {
        let iscgo = self.libs.iter().any(|l| l.pkg == "runtime/cgo");
        let externalobj = self
            .libs
            .iter()
            .any(|l| !l.host_objects.is_empty() && !INTERNAL_PKGS.contains(&l.pkg.as_str()));
        let prefer = self.libs.iter().any(|l| l.prefer_linkext);
        let dynimportfail = self.libs.iter().any(|l| l.dynimport_fail);
        if self.unknown_obj_format || dynimportfail || (iscgo && (externalobj || prefer)) {
            LinkMode::External
        } else {
            LinkMode::Internal
        }
    }

    /// Number of global symbols (including index 0).
    pub fn num_symbols(&self) -> usize {
        self.syms.len()
    }

    /// Number of Go object files loaded.
    pub fn num_objects(&self) -> usize {
        self.objs.len()
    }

    pub(crate) fn view(&self, o: u32) -> GoObject<'_> {
        view_in(&self.archives, &self.objs[o as usize])
    }

    /// Defining object and local index of a symbol, if a Go object defines it.
    pub(crate) fn def(&self, s: SymId) -> Option<(u32, u32)> {
        let g = self.syms.get(s as usize)?;
        if g.obj == EXT || s == 0 {
            None
        } else {
            Some((g.obj, g.li))
        }
    }

    /// The object-file symbol record of a defined symbol.
    pub fn osym(&self, s: SymId) -> Option<Sym<'_>> {
        let (o, li) = self.def(s)?;
        self.view(o).sym(li).ok()
    }

    /// Symbol name ("" for anonymous symbols).
    pub fn name(&self, s: SymId) -> &str {
        match self.syms.get(s as usize) {
            Some(g) if s != 0 && g.obj == EXT => &self.ext_names[g.li as usize],
            Some(_) if s != 0 => self.osym(s).map(|o| o.name).unwrap_or(""),
            _ => "",
        }
    }

    /// Symbol version: 0 = ABI0, 1 = ABIInternal, >= 10 file-local.
    pub fn version(&self, s: SymId) -> i32 {
        self.syms.get(s as usize).map(|g| g.ver).unwrap_or(0)
    }

    /// `name<version>` as the linker prints symbols.
    pub fn display(&self, s: SymId) -> String {
        format!("{}<{}>", self.name(s), self.version(s))
    }

    /// Looks up a named symbol (`loader.Lookup`); 0 if absent.
    pub fn lookup(&self, name: &str, ver: i32) -> SymId {
        self.lookup_bytes(name.as_bytes(), ver)
    }

    pub(crate) fn lookup_bytes(&self, name: &[u8], ver: i32) -> SymId {
        if let Some(&s) = self.by_name.get(&name_key(name, ver)) {
            if self.name_bytes(s) == name && self.version(s) == ver {
                return s;
            }
        }
        if self.by_name_overflow.is_empty() {
            return 0;
        }
        let name = String::from_utf8_lossy(name).into_owned();
        self.by_name_overflow
            .get(&(name, ver))
            .copied()
            .unwrap_or(0)
    }

    /// Name bytes of a symbol (no UTF-8 check).
    pub(crate) fn name_bytes(&self, s: SymId) -> &[u8] {
        match self.syms.get(s as usize) {
            Some(g) if s != 0 && g.obj == EXT => self.ext_names[g.li as usize].as_bytes(),
            Some(g) if s != 0 => {
                // Straight from the symbol record (hot: every by-name lookup verifies).
                let ob = &self.objs[g.obj as usize];
                let data = self.archives[ob.archive as usize]
                    .1
                    .get(ob.start..ob.end)
                    .unwrap_or(&[]);
                let rec = ob.header.offsets[crate::reader::blk::SYMDEF] as usize
                    + g.li as usize * crate::reader::SYM_SIZE;
                let Some(r) = data.get(rec..rec + 8) else {
                    return &[];
                };
                let len = u32::from_le_bytes([r[0], r[1], r[2], r[3]]) as usize;
                let off = u32::from_le_bytes([r[4], r[5], r[6], r[7]]) as usize;
                data.get(off..off.saturating_add(len)).unwrap_or(&[])
            }
            _ => &[],
        }
    }

    fn insert_name(&mut self, name: &[u8], ver: i32, s: SymId) {
        let k = name_key(name, ver);
        match self.by_name.get(&k) {
            Some(&old) if !(self.name_bytes(old) == name && self.version(old) == ver) => {
                self.by_name_overflow
                    .insert((String::from_utf8_lossy(name).into_owned(), ver), s);
            }
            _ => {
                self.by_name.insert(k, s);
            }
        }
    }

    /// (kind, flag, flag2) of the winning definition; zeros for undefined symbols.
    pub(crate) fn flags(&self, s: SymId) -> (u8, u8, u8) {
        self.sym_flags.get(s as usize).copied().unwrap_or((0, 0, 0))
    }

    /// Is the symbol a text (function) symbol defined in a Go object?
    pub fn is_text(&self, s: SymId) -> bool {
        self.def(s).is_some() && is_text_kind(self.flags(s).0, self.go_minor)
    }

    pub fn is_nosplit(&self, s: SymId) -> bool {
        self.flags(s).1 & crate::reader::symflag::NOSPLIT != 0
    }

    pub fn is_abi_wrapper(&self, s: SymId) -> bool {
        if self.go_minor <= 22 {
            // No ABIWrapper flag before Go 1.23: a compiler-generated function
            // (FuncIDWrapper in its FuncInfo) whose name also exists in the other ABI.
            const FUNC_ID_WRAPPER: u8 = 22;
            let ver = self.version(s);
            return (ver == 0 || ver == 1)
                && self.is_text(s)
                && self
                    .auxs(s)
                    .iter()
                    .find(|(t, _)| *t == crate::reader::aux::FUNC_INFO)
                    .and_then(|&(_, fi)| self.data(fi).get(8).copied())
                    == Some(FUNC_ID_WRAPPER)
                && self.lookup_bytes(self.name_bytes(s), 1 - ver) != 0;
        }
        self.flags(s).2 & crate::reader::symflag2::abi_wrapper(self.go_minor) != 0
    }

    pub fn is_dupok(&self, s: SymId) -> bool {
        self.flags(s).1 & crate::reader::symflag::DUPOK != 0
    }

    /// Package of the object that defines `s` (after duplicate resolution).
    pub fn defining_package(&self, s: SymId) -> Option<&str> {
        let (o, _) = self.def(s)?;
        Some(&self.libs[self.objs[o as usize].lib as usize].pkg)
    }

    /// Resolves a symbol reference of object `o` (`loader.resolve`).
    pub(crate) fn resolve(&self, o: u32, r: SymRef) -> SymId {
        let ob = &self.objs[o as usize];
        let local = |i: u64| ob.syms.get(i as usize).copied().unwrap_or(0);
        let idx = r.sym_idx as u64;
        match r.pkg_idx {
            pkgidx::INVALID => 0,
            pkgidx::HASHED64 => local(idx + ob.ndef as u64),
            pkgidx::HASHED => local(idx + (ob.ndef + ob.nh64) as u64),
            pkgidx::NONE => local(idx + (ob.ndef + ob.nh64 + ob.nh) as u64),
            pkgidx::BUILTIN => self
                .builtin_syms
                .get(r.sym_idx as usize)
                .copied()
                .unwrap_or(0),
            pkgidx::SELF => local(idx),
            p => match ob.pkg.get(p as usize) {
                Some(&oo) if oo != EXT => self.objs[oo as usize]
                    .syms
                    .get(r.sym_idx as usize)
                    .copied()
                    .unwrap_or(0),
                _ => 0,
            },
        }
    }

    /// Relocations of a defined symbol, with their targets resolved.
    pub(crate) fn relocs(&self, s: SymId) -> Vec<(Reloc, SymId)> {
        let Some((o, li)) = self.def(s) else {
            return Vec::new();
        };
        match self.view(o).relocs(li) {
            Ok(it) => it.map(|r| (r, self.resolve(o, r.sym))).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Aux symbols (type, resolved target) of a defined symbol.
    pub(crate) fn auxs(&self, s: SymId) -> Vec<(u8, SymId)> {
        let Some((o, li)) = self.def(s) else {
            return Vec::new();
        };
        match self.view(o).auxs(li) {
            Ok(it) => it.map(|a| (a.typ, self.resolve(o, a.sym))).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Content of a defined symbol.
    pub(crate) fn data(&self, s: SymId) -> &[u8] {
        let Some((o, li)) = self.def(s) else {
            return &[];
        };
        let ob = &self.objs[o as usize];
        let bytes = &self.archives[ob.archive as usize].1[ob.start..ob.end];
        GoObject::from_parts(bytes, ob.file_offset, &ob.header)
            .data(li)
            .unwrap_or(&[])
    }

    /// Does the symbol have a FuncInfo aux (`ldr.FuncInfo(s).Valid()`)?
    pub(crate) fn has_func_info(&self, s: SymId) -> bool {
        let Some((o, li)) = self.def(s) else {
            return false;
        };
        match self.view(o).auxs(li) {
            Ok(mut it) => it.any(|a| a.typ == crate::reader::aux::FUNC_INFO),
            Err(_) => false,
        }
    }

    /// `Sym.Siz` of a defined symbol (0 for external ones).
    pub fn size(&self, s: SymId) -> u32 {
        self.note_size_read(s);
        self.def(s)
            .map(|(o, li)| self.view(o).sym_size(li))
            .unwrap_or(0)
    }

    /// Records that the size of `s` was read, if the normalized digest leaves it out
    /// (a non-DUPOK package-defined function, see [`crate::memo`]).
    pub(crate) fn note_size_read(&self, s: SymId) {
        if let Some((o, li)) = self.def(s) {
            let (kind, flag, _) = self.flags(s);
            if crate::reloc::size_normalized(
                li < self.objs[o as usize].ndef,
                kind,
                flag,
                self.go_minor,
            ) {
                self.normalized_read
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Records that relocation offsets of `s` were read, if the normalized digest leaves
    /// them out (a splittable function, see [`crate::memo`]).
    pub(crate) fn note_offsets_read(&self, s: SymId) {
        if self.def(s).is_some() {
            let (kind, flag, _) = self.flags(s);
            if crate::reloc::offsets_normalized(kind, flag, self.go_minor) {
                self.normalized_read
                    .store(true, std::sync::atomic::Ordering::Relaxed);
            }
        }
    }

    /// Did anything read a field the normalized digests leave out?
    pub fn read_normalized_fields(&self) -> bool {
        self.normalized_read
            .load(std::sync::atomic::Ordering::Relaxed)
    }

    /// All symbols with the given name, any version (for tools and tests).
    pub fn find_all(&self, name: &str) -> Vec<SymId> {
        (1..self.syms.len() as u32)
            .filter(|&s| self.name(s) == name)
            .collect()
    }

    /// Relocation type names of this Go version.
    pub fn reloc_table(&self) -> &RelocTable {
        &self.relocs
    }
}

pub(crate) fn view_in<'a>(archives: &'a [(PathBuf, Bytes)], ob: &Obj) -> GoObject<'a> {
    let data = archives[ob.archive as usize]
        .1
        .get(ob.start..ob.end)
        .unwrap_or(&[]);
    GoObject::from_parts(data, ob.file_offset, &ob.header)
}

/// Contents of an archive: memory-mapped, so that only the parts the check touches
/// (symbol tables, relocations, pcsp, type data) are read from disk; most of an archive
/// is export data and DWARF we never look at.
#[derive(Debug)]
pub(crate) enum Bytes {
    Mapped(memmap2::Mmap),
    Owned(Vec<u8>),
    /// An archive prepared by an [`ArchiveSource`] (a validated summary).
    Prepared(Box<dyn PreparedArchive>),
}

/// An archive's contents prepared ahead of the loader (the per-archive
/// summaries): its bytes, and its members as the loader sees them.
pub(crate) trait PreparedArchive: std::fmt::Debug + Send + Sync {
    /// The bytes the members point into.
    fn bytes(&self) -> &[u8];
    /// The members (data = slices of [`PreparedArchive::bytes`]).
    fn members(&self) -> Vec<Member<'_>>;
}

/// Where the loader may get an archive's contents instead of mapping it
/// (the summary cache implements it, so the loader does not know it).
pub(crate) trait ArchiveSource {
    /// The prepared contents of `archive`, or `None` to read the archive itself.
    fn get(&mut self, archive: &Path) -> Result<Option<Box<dyn PreparedArchive>>, Error>;
}

impl Bytes {
    fn open(path: &Path) -> Result<Bytes, Error> {
        let io = |source| Error::Io {
            path: path.to_path_buf(),
            source,
        };
        let f = std::fs::File::open(path).map_err(io)?;
        // SAFETY: the map is read-only and private to this process. Like cmd/link (which
        // also maps its inputs), we assume build outputs are not rewritten while we read
        // them; a concurrent truncation could fault, never corrupt memory we write.
        match unsafe { memmap2::Mmap::map(&f) } {
            Ok(m) => {
                // We touch scattered pages (symbol records, relocations of reachable
                // functions, pcsp tables); fault-around would map their neighbours too.
                let _ = m.advise(memmap2::Advice::Random);
                Ok(Bytes::Mapped(m))
            }
            Err(_) => std::fs::read(path).map(Bytes::Owned).map_err(io),
        }
    }
}

impl Bytes {
    /// Drops our mapping of the pages read so far (they stay in the page cache and fault
    /// back in on access), so that loading and checking don't add up in peak RSS.
    fn release(&self) {
        if let Bytes::Mapped(m) = self {
            // SAFETY: a read-only private file mapping we never write: after MADV_DONTNEED
            // the next access reads the same file contents again.
            let _ = unsafe { m.unchecked_advise(memmap2::UncheckedAdvice::DontNeed) };
        }
    }
}

impl std::ops::Deref for Bytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        match self {
            Bytes::Mapped(m) => m,
            Bytes::Owned(v) => v,
            Bytes::Prepared(s) => s.bytes(),
        }
    }
}

/// Reads an importcfg (as written for `link -importcfg`): `packagefile PATH=FILE` lines.
/// Other directives (`modinfo`, `packageshlib`, comments) are ignored.
pub fn parse_importcfg(text: &str) -> Vec<(String, PathBuf)> {
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("packagefile "))
        .filter_map(|rest| rest.split_once('='))
        .map(|(p, f)| (p.trim().to_string(), PathBuf::from(f.trim())))
        .collect()
}

/// Loads a link set from the main archive and an importcfg.link file (as `link -importcfg`).
pub fn load_link_set_from_importcfg(main: &Path, importcfg: &Path) -> Result<LinkSet, Error> {
    let text = std::fs::read_to_string(importcfg).map_err(|source| Error::Io {
        path: importcfg.to_path_buf(),
        source,
    })?;
    load_link_set(main, &parse_importcfg(&text))
}

/// Loads a link set: `main` is the main package's archive, `libs` the
/// (import path, archive) pairs of importcfg.link (their order does not matter).
pub fn load_link_set(main: &Path, libs: &[(String, PathBuf)]) -> Result<LinkSet, Error> {
    load_link_set_with(main, libs, None)
}

/// [`load_link_set`], reading archives through a source of prepared
/// archives (the summary cache) when given one.
pub(crate) fn load_link_set_with(
    main: &Path,
    libs: &[(String, PathBuf)],
    mut source: Option<&mut dyn ArchiveSource>,
) -> Result<LinkSet, Error> {
    let files: HashMap<&str, &PathBuf> = libs.iter().map(|(p, f)| (p.as_str(), f)).collect();
    let mut ls = LinkSet {
        goos: String::new(),
        goarch: String::new(),
        go_version: String::new(),
        go_minor: 0,
        experiments: String::new(),
        archives: Arc::new(Vec::new()),
        libs: vec![Library {
            pkg: "main".into(),
            archive: main.to_path_buf(),
            imports: Vec::new(),
            host_objects: Vec::new(),
            prefer_linkext: false,
            dynimport_fail: false,
        }],
        objs: Vec::new(),
        syms: vec![GSym {
            obj: EXT,
            li: 0,
            ver: 0,
        }],
        ext_names: vec![String::new()],
        by_name: IdMap::default(),
        by_name_overflow: HashMap::new(),
        builtin_syms: Vec::new(),
        used_in_iface: Vec::new(),
        sym_flags: Vec::new(),
        cgo_exports: Vec::new(),
        unknown_obj_format: false,
        relocs: RelocTable::for_go(26).expect("go1.26 table"),
        normalized_read: std::sync::atomic::AtomicBool::new(false),
    };
    let mut lib_by_pkg: HashMap<String, usize> = HashMap::from([("main".to_string(), 0)]);
    let mut autolibs: Vec<Vec<String>> = vec![Vec::new()];
    let mut header_line: Option<String> = None;
    let mut version = SYM_VER_STATIC;
    let mut archives: Vec<(PathBuf, Bytes)> = Vec::new();

    let mut i = 0;
    let mut runtime_added = false;
    loop {
        while i < ls.libs.len() {
            let path = ls.libs[i].archive.clone();
            let data = match source.as_mut() {
                Some(src) => match src.get(&path)? {
                    Some(s) => Bytes::Prepared(s),
                    None => Bytes::open(&path)?,
                },
                None => Bytes::open(&path)?,
            };
            let ai = archives.len() as u32;
            let location = path.display().to_string();
            let members = match &data {
                Bytes::Prepared(s) => s.members(),
                _ => archive_members(&data, &location)?,
            };
            let mut imports = Vec::new();
            for m in members {
                match m.name.as_str() {
                    "preferlinkext" => ls.libs[i].prefer_linkext = true,
                    "dynimportfail" => ls.libs[i].dynimport_fail = true,
                    _ => {}
                }
                if !is_object_member(&m.name) {
                    continue;
                }
                let loc = format!("{location}({})", m.name);
                if crate::reader::is_host_object(m.data) {
                    ls.libs[i].host_objects.push(m.name.clone());
                    continue;
                }
                if !m.data.starts_with(b"go o") {
                    // ldobj hands anything else to the host linker.
                    ls.unknown_obj_format = true;
                    ls.libs[i].host_objects.push(m.name.clone());
                    continue;
                }
                for d in crate::reader::cgo_directives(m.data)
                    .map_err(|e| Error::LinkSet(format!("{loc}: {e}")))?
                {
                    let kind = d.first().map(String::as_str);
                    if !matches!(kind, Some("cgo_export_static" | "cgo_export_dynamic"))
                        || !(2..=4).contains(&d.len())
                    {
                        continue;
                    }
                    let ver = match d.get(3).map(String::as_str) {
                        None | Some("ABI0") => 0,
                        Some("ABIInternal") => 1,
                        Some(other) => {
                            return Err(Error::LinkSet(format!(
                                "{loc}: bad ABI {other:?} in cgo_export directive"
                            )))
                        }
                    };
                    ls.cgo_exports.push(CgoExport {
                        local: d[1].clone(),
                        ver,
                        dynamic: kind == Some("cgo_export_dynamic"),
                    });
                }
                let base = m.offset;
                let obj =
                    GoObject::parse_member(m.data, base).map_err(|e| locate(e, &loc, base))?;
                match &header_line {
                    None => header_line = Some(obj.header_line.to_string()),
                    Some(h) if h != obj.header_line => {
                        return Err(Error::LinkSet(format!(
                            "{loc}: linked object header mismatch:\nhave {:?}\nwant {h:?}",
                            obj.header_line
                        )))
                    }
                    _ => {}
                }
                if obj.header.unlinkable() {
                    return Err(Error::LinkSet(format!(
                        "{loc}: unlinkable object (compiler requires -p flag)"
                    )));
                }
                let autolib = obj
                    .autolib()
                    .map_err(|e| locate(e, &loc, obj.file_offset))?;
                imports.extend(autolib.into_iter().map(|(p, _)| p.to_string()));
                let start = obj.bytes().as_ptr() as usize - data.as_ptr() as usize;
                let end = start + obj.bytes().len();
                ls.objs.push(Obj {
                    lib: i as u32,
                    archive: ai,
                    start,
                    end,
                    file_offset: obj.file_offset,
                    member: m.name.clone(),
                    header: obj.header.clone(),
                    version,
                    ndef: obj.nsym(),
                    nh64: obj.nhashed64def(),
                    nh: obj.nhasheddef(),
                    nnpd: obj.nnonpkgdef(),
                    nnpr: obj.nnonpkgref(),
                    syms: Vec::new(),
                    pkg: Vec::new(),
                });
                version += 1;
            }
            archives.push((path.clone(), data));
            // addImports: append not-yet-seen imported packages to the library list.
            let mut imp_idx = Vec::new();
            for p in &imports {
                let li = match lib_by_pkg.get(p) {
                    Some(&li) => li,
                    None => {
                        let file = files.get(p.as_str()).ok_or_else(|| {
                            Error::LinkSet(format!(
                                "{}: cannot find package {p} (not in importcfg.link)",
                                ls.libs[i].pkg
                            ))
                        })?;
                        let li = ls.libs.len();
                        ls.libs.push(Library {
                            pkg: p.clone(),
                            archive: (*file).clone(),
                            imports: Vec::new(),
                            host_objects: Vec::new(),
                            prefer_linkext: false,
                            dynimport_fail: false,
                        });
                        autolibs.push(Vec::new());
                        lib_by_pkg.insert(p.clone(), li);
                        li
                    }
                };
                imp_idx.push(li);
            }
            ls.libs[i].imports = imp_idx;
            autolibs[i] = imports;
            i += 1;
        }
        // loadinternal: runtime/race, runtime/msan, runtime/asan (present in importcfg.link
        // only for -race/-msan/-asan builds), then runtime, unless already loaded.
        if runtime_added {
            break;
        }
        runtime_added = true;
        for pkg in ["runtime/race", "runtime/msan", "runtime/asan", "runtime"] {
            if lib_by_pkg.contains_key(pkg) {
                continue;
            }
            let Some(file) = files.get(pkg) else { continue };
            lib_by_pkg.insert(pkg.into(), ls.libs.len());
            ls.libs.push(Library {
                pkg: pkg.into(),
                archive: (*file).clone(),
                imports: Vec::new(),
                host_objects: Vec::new(),
                prefer_linkext: false,
                dynimport_fail: false,
            });
            autolibs.push(Vec::new());
        }
        if i == ls.libs.len() {
            break;
        }
    }

    ls.archives = Arc::new(archives);
    let header_line =
        header_line.ok_or_else(|| Error::LinkSet("no Go objects in the link set".into()))?;
    let mut parts = header_line.split(' ');
    let (_, _, goos, goarch, ver, exp) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    );
    ls.experiments = exp.unwrap_or("").to_string();
    ls.goos = goos.unwrap_or("").to_string();
    ls.goarch = goarch.unwrap_or("").to_string();
    ls.go_version = ver.unwrap_or("").to_string();
    ls.go_minor = parse_go_minor(&ls.go_version).unwrap_or(0);
    let unsupported = || {
        Error::LinkSet(format!(
            "objects built by {} (header {header_line:?}); this reader supports go1.{}",
            ls.go_version,
            match (
                crate::tables::RELEASES.first(),
                crate::tables::RELEASES.last()
            ) {
                (Some(a), Some(b)) => format!("{a} to go1.{b}"),
                _ => "?".into(),
            }
        ))
    };
    ls.relocs = RelocTable::for_go(ls.go_minor).ok_or_else(unsupported)?;
    let builtins = builtin::builtins(ls.go_minor).ok_or_else(unsupported)?;
    ls.builtin_syms = vec![0; builtins.len()];
    load_syms(&mut ls, builtins)?;
    let arcs = Arc::clone(&ls.archives);
    ls.sym_flags = ls
        .syms
        .iter()
        .enumerate()
        .map(|(i, g)| {
            if i == 0 || g.obj == EXT {
                (0, 0, 0)
            } else {
                view_in(&arcs, &ls.objs[g.obj as usize]).sym_flags(g.li)
            }
        })
        .collect();
    for (_, b) in arcs.iter() {
        b.release();
    }
    Ok(ls)
}

/// `loader.LoadSyms`.
fn load_syms(ls: &mut LinkSet, builtins: &[(&str, u16)]) -> Result<(), Error> {
    let nobj = ls.objs.len();
    for o in 0..nobj {
        let ob = &ls.objs[o];
        let n = (ob.ndef + ob.nh64 + ob.nh + ob.nnpd + ob.nnpr) as usize;
        ls.objs[o].syms = vec![0; n];
    }
    let arcs = Arc::clone(&ls.archives);
    let view = |ls: &LinkSet, o: usize| view_in(&arcs, &ls.objs[o]);
    let builtin_idx: HashMap<(&[u8], u16), usize> = builtins
        .iter()
        .enumerate()
        .map(|(i, &(n, a))| ((n.as_bytes(), a), i))
        .collect();
    let err = |ls: &LinkSet, o: usize, e: crate::error::RawErr| {
        let ob = &ls.objs[o];
        let loc = format!(
            "{}({})",
            ls.archives[ob.archive as usize].0.display(),
            ob.member
        );
        locate(e, &loc, ob.file_offset)
    };

    // Package definitions.
    for o in 0..nobj {
        let (ndef, version, is_runtime) = {
            let ob = &ls.objs[o];
            (
                ob.ndef,
                ob.version,
                ls.libs[ob.lib as usize].pkg == "runtime",
            )
        };
        let v = view(ls, o);
        for li in 0..ndef {
            let name = v.sym_name_bytes(li);
            let abi = v.sym_abi(li);
            let ver = abi_to_ver(abi, version);
            let gid = ls.syms.len() as SymId;
            ls.syms.push(GSym {
                obj: o as u32,
                li,
                ver,
            });
            ls.objs[o].syms[li as usize] = gid;
            if !name.is_empty() && ver != version {
                ls.insert_name(name, ver, gid);
                if name.starts_with(b"runtime.") || (is_runtime && name.starts_with(b"type:")) {
                    if let Some(&bi) = builtin_idx.get(&(name, abi)) {
                        ls.builtin_syms[bi] = gid;
                    }
                }
            }
        }
    }
    // Hashed and non-package definitions.
    let mut h64: IdMap<(SymId, u32)> = IdMap::default();
    let mut h: HashMap<[u8; 16], (SymId, u32), BuildHasherDefault<IdHasher>> = HashMap::default();
    for o in 0..nobj {
        let (ndef, nh64, nh, nnpd, version, is_runtime) = {
            let ob = &ls.objs[o];
            (
                ob.ndef,
                ob.nh64,
                ob.nh,
                ob.nnpd,
                ob.version,
                ls.libs[ob.lib as usize].pkg == "runtime",
            )
        };
        let v = view(ls, o);
        for li in ndef..ndef + nh64 + nh {
            let size = v.sym_size(li);
            let key = if li < ndef + nh64 {
                Key::H64(v.hash64(li - ndef).unwrap_or(0))
            } else {
                Key::H(v.hash(li - ndef - nh64).unwrap_or([0; 16]))
            };
            let existing = match &key {
                Key::H64(k) => h64.get(k).copied(),
                Key::H(k) => h.get(k).copied(),
            };
            // The version of a hashed symbol is its ABI's (content-hashed functions exist
            // since Go 1.27: closures and wrappers, ABIInternal).
            let ver = abi_to_ver(v.sym_abi(li), version);
            let gid = match existing {
                Some((old, oldsz)) if size <= oldsz => old,
                Some((old, _)) => {
                    // Same content hash, larger size: the larger one wins (issue 47185).
                    ls.syms[old as usize] = GSym {
                        obj: o as u32,
                        li,
                        ver,
                    };
                    old
                }
                None => {
                    ls.syms.push(GSym {
                        obj: o as u32,
                        li,
                        ver,
                    });
                    ls.syms.len() as SymId - 1
                }
            };
            if existing.is_none_or(|(_, oldsz)| size > oldsz) {
                match key {
                    Key::H64(k) => {
                        h64.insert(k, (gid, size));
                    }
                    Key::H(k) => {
                        h.insert(k, (gid, size));
                    }
                }
            }
            ls.objs[o].syms[li as usize] = gid;
        }
        for li in ndef + nh64 + nh..ndef + nh64 + nh + nnpd {
            let name = v.sym_name_bytes(li);
            let abi = v.sym_abi(li);
            let ver = abi_to_ver(abi, version);
            let gid = add_nonpkg_def(ls, o as u32, li, name, ver);
            ls.objs[o].syms[li as usize] = gid;
            if name.starts_with(b"runtime.") || (is_runtime && name.starts_with(b"type:")) {
                if let Some(&bi) = builtin_idx.get(&(name, abi)) {
                    ls.builtin_syms[bi] = gid;
                }
            }
        }
    }
    // References.
    let pkg_first_obj: HashMap<String, u32> = {
        let mut m = HashMap::new();
        for (o, ob) in ls.objs.iter().enumerate() {
            // Object files name packages in their escaped form (objabi.PathToPrefix).
            m.entry(path_to_prefix(&ls.libs[ob.lib as usize].pkg))
                .or_insert(o as u32);
        }
        m
    };
    ls.used_in_iface = vec![false; ls.syms.len()];
    for o in 0..nobj {
        let (nalldef, nnpr, version) = {
            let ob = &ls.objs[o];
            (ob.ndef + ob.nh64 + ob.nh + ob.nnpd, ob.nnpr, ob.version)
        };
        let v = view(ls, o);
        for li in nalldef..nalldef + nnpr {
            let ver = abi_to_ver(v.sym_abi(li), version);
            let mut gid = ls.lookup_bytes(v.sym_name_bytes(li), ver);
            if gid == 0 {
                // Names are bytes, like Go strings: the compiler names a
                // file symbol after its path, which need not be UTF-8.
                let name = v.sym_name_bytes(li);
                if std::str::from_utf8(name).is_ok() {
                    v.sym(li).map_err(|e| err(ls, o, e))?;
                }
                gid = ls.syms.len() as SymId;
                ls.syms.push(GSym {
                    obj: EXT,
                    li: ls.ext_names.len() as u32,
                    ver,
                });
                ls.ext_names
                    .push(String::from_utf8_lossy(name).into_owned());
                ls.used_in_iface.push(false);
                ls.insert_name(name, ver, gid);
            }
            ls.objs[o].syms[li as usize] = gid;
            if v.sym_flags(li).2 & crate::reader::symflag2::USED_IN_IFACE != 0 {
                ls.used_in_iface[gid as usize] = true;
            }
        }
        // Definitions' UsedInIface attribute.
        for li in 0..nalldef {
            if view(ls, o).sym_flags(li).2 & crate::reader::symflag2::USED_IN_IFACE != 0 {
                let gid = ls.objs[o].syms[li as usize];
                ls.used_in_iface[gid as usize] = true;
            }
        }
        let pkglist: Vec<String> = ls
            .view(o as u32)
            .pkglist()
            .map_err(|e| err(ls, o, e))?
            .into_iter()
            .map(str::to_string)
            .collect();
        let mut pk = vec![EXT; pkglist.len()];
        for (k, p) in pkglist.iter().enumerate().skip(1) {
            pk[k] = *pkg_first_obj.get(p).ok_or_else(|| {
                let ob = &ls.objs[o];
                Error::LinkSet(format!(
                    "{}: reference to nonexistent package {p}",
                    ls.libs[ob.lib as usize].pkg
                ))
            })?;
        }
        ls.objs[o].pkg = pk;
    }
    for o in 0..nobj {
        let refs: Vec<(SymRef, u8)> = view(ls, o).ref_flags().map(|(r, _, f2)| (r, f2)).collect();
        for (r, f2) in refs {
            if f2 & crate::reader::symflag2::USED_IN_IFACE != 0 {
                let g = ls.resolve(o as u32, r);
                if let Some(x) = ls.used_in_iface.get_mut(g as usize) {
                    *x = true;
                }
            }
        }
    }
    Ok(())
}

/// `objabi.PathToPrefix`: escapes control characters, space, `%`, `"`, non-ASCII bytes
/// and dots after the last slash as `%xx`.
pub fn path_to_prefix(s: &str) -> String {
    let slash = s.rfind('/').map(|i| i as isize).unwrap_or(-1);
    let mut out = String::with_capacity(s.len());
    for (i, &c) in s.as_bytes().iter().enumerate() {
        if c <= b' ' || (c == b'.' && i as isize > slash) || c == b'%' || c == b'"' || c >= 0x7f {
            out.push_str(&format!("%{c:02x}"));
        } else {
            out.push(c as char);
        }
    }
    out
}

enum Key {
    H64(u64),
    H([u8; 16]),
}

fn abi_to_ver(abi: u16, local: i32) -> i32 {
    if abi == SYM_ABI_STATIC {
        local
    } else {
        abi as i32
    }
}

/// `loadState.addSym` for a non-package (named) definition.
fn add_nonpkg_def(ls: &mut LinkSet, o: u32, li: u32, name: &[u8], ver: i32) -> SymId {
    let new_gid = ls.syms.len() as SymId;
    if name.is_empty() || ver == ls.objs[o as usize].version {
        ls.syms.push(GSym { obj: o, li, ver });
        return new_gid;
    }
    let old = ls.lookup_bytes(name, ver);
    if old == 0 {
        ls.syms.push(GSym { obj: o, li, ver });
        ls.insert_name(name, ver, new_gid);
        return new_gid;
    }
    let Some((oo, oli)) = ls.def(old) else {
        return old;
    };
    let (ov, nv) = (ls.view(oo), ls.view(o));
    let ((otyp, oflag, _), (ntyp, nflag, _)) = (ov.sym_flags(oli), nv.sym_flags(li));
    let (oldsz, sz) = (ov.sym_size(oli), nv.sym_size(li));
    if crate::reloc::size_normalized(oli < ls.objs[oo as usize].ndef, otyp, oflag, ls.go_minor) {
        ls.normalized_read
            .store(true, std::sync::atomic::Ordering::Relaxed);
    }
    let dupok = |f: u8| f & crate::reader::symflag::DUPOK != 0;
    let minor = ls.go_minor;
    if dupok(nflag) {
        // Go 1.27: a DUPOK copy never replaces a non-DUPOK definition.
        if oldsz < sz && (minor < 27 || dupok(oflag)) {
            ls.syms[old as usize] = GSym { obj: o, li, ver };
        }
        return old;
    }
    if dupok(oflag) {
        // Go 1.27: a non-DUPOK definition replaces a DUPOK one.
        if minor >= 27 {
            ls.syms[old as usize] = GSym { obj: o, li, ver };
        }
        return old;
    }
    let new_has_content = nv.data_size(li) != 0;
    let overwrite = match minor {
        // Go 1.22: the one with content wins (the linker rejects the other cases).
        ..=22 => new_has_content,
        // Go 1.23: content or a larger size wins.
        23 => new_has_content || oldsz < sz,
        // Go 1.24+: text beats BSS, content beats BSS, larger BSS beats smaller BSS.
        _ => {
            let is_data = |t: u8| !is_text_kind(t, minor) && t != 0;
            let old_has_content = ov.data_size(oli) != 0;
            let old_bss = is_data(otyp) && !old_has_content;
            let new_bss = is_data(ntyp) && !new_has_content;
            old_bss && (is_text_kind(ntyp, minor) || new_has_content || (new_bss && sz > oldsz))
        }
    };
    if overwrite {
        ls.syms[old as usize] = GSym { obj: o, li, ver };
    }
    old
}

impl LinkSet {
    /// Relocations of a defined symbol with resolved targets (0 = unresolved).
    pub fn relocs_of(&self, s: SymId) -> Vec<(Reloc, SymId)> {
        self.relocs(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn path_to_prefix_escapes_like_objabi() {
        assert_eq!(
            path_to_prefix("crypto/internal/entropy/v1.0.0"),
            "crypto/internal/entropy/v1%2e0%2e0"
        );
        assert_eq!(
            path_to_prefix("example.com/demo/sum"),
            "example.com/demo/sum"
        );
        assert_eq!(path_to_prefix("a b/%\"x"), "a%20b/%25%22x");
        assert_eq!(path_to_prefix("gopkg.in/yaml.v3"), "gopkg.in/yaml%2ev3");
    }

    #[test]
    fn importcfg_parsing() {
        let cfg = "# import config\npackagefile fmt=/c/fmt.a\nmodinfo \"x\"\npackagefile example.com/a=/w/b002/_pkg_.a\n";
        assert_eq!(
            parse_importcfg(cfg),
            vec![
                ("fmt".to_string(), PathBuf::from("/c/fmt.a")),
                (
                    "example.com/a".to_string(),
                    PathBuf::from("/w/b002/_pkg_.a")
                )
            ]
        );
    }

    #[test]
    fn name_keys_differ_by_version_and_name() {
        assert_ne!(name_key(b"runtime.f", 0), name_key(b"runtime.f", 1));
        assert_ne!(name_key(b"runtime.f", 0), name_key(b"runtime.g", 0));
        assert_ne!(name_key(b"", 0), name_key(b"\0", 0));
    }
}
