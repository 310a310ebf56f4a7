//! Go package archives and Go object files (`\x00go120ld`, Go 1.20+).
//!
//! Layout follows `cmd/internal/goobj/objfile.go`: a fixed header (magic, fingerprint,
//! flags, one u32 offset per block), then blocks. Every read is bounds-checked; malformed
//! input gives an [`Error`] naming the member and the offset, never a panic.

use crate::error::{malformed, trunc, Error, ObjErrorKind, RawErr, RawResult};
use std::path::Path;

pub const MAGIC: &[u8; 8] = b"\x00go120ld";

/// Block numbers of the object file header.
pub mod blk {
    pub const AUTOLIB: usize = 0;
    pub const PKG_IDX: usize = 1;
    pub const FILE: usize = 2;
    pub const SYMDEF: usize = 3;
    pub const HASHED64DEF: usize = 4;
    pub const HASHEDDEF: usize = 5;
    pub const NONPKGDEF: usize = 6;
    pub const NONPKGREF: usize = 7;
    pub const REF_FLAGS: usize = 8;
    pub const HASH64: usize = 9;
    pub const HASH: usize = 10;
    pub const RELOC_IDX: usize = 11;
    pub const AUX_IDX: usize = 12;
    pub const DATA_IDX: usize = 13;
    pub const RELOC: usize = 14;
    pub const AUX: usize = 15;
    pub const DATA: usize = 16;
    pub const REF_NAME: usize = 17;
    pub const END: usize = 18;
    pub const N: usize = 19;
}

pub const HEADER_SIZE: usize = 8 + 8 + 4 + 4 * blk::N;
pub const SYM_SIZE: usize = 8 + 2 + 1 + 1 + 1 + 4 + 4;
pub const RELOC_SIZE: usize = 4 + 1 + 2 + 8 + 8;
pub const AUX_SIZE: usize = 1 + 8;
pub const REF_FLAGS_SIZE: usize = 8 + 1 + 1;
pub const STRING_REF_SIZE: usize = 8;
pub const IMPORTED_PKG_SIZE: usize = STRING_REF_SIZE + 8;
pub const HASH64_SIZE: usize = 8;
pub const HASH_SIZE: usize = 16;

/// Special package indices of a [`SymRef`].
pub mod pkgidx {
    pub const INVALID: u32 = 0;
    pub const NONE: u32 = (1 << 31) - 1;
    pub const HASHED64: u32 = NONE - 1;
    pub const HASHED: u32 = NONE - 2;
    pub const BUILTIN: u32 = NONE - 3;
    pub const SELF: u32 = NONE - 4;
}

/// ABI value of file-local (static) symbols.
pub const SYM_ABI_STATIC: u16 = u16::MAX;

/// Object header flags.
pub mod objflag {
    pub const SHARED: u32 = 1 << 0;
    pub const FROM_ASSEMBLY: u32 = 1 << 2;
    pub const UNLINKABLE: u32 = 1 << 3;
    pub const STD: u32 = 1 << 4;
}

/// `Sym.flag` bits.
pub mod symflag {
    pub const DUPOK: u8 = 1 << 0;
    pub const LOCAL: u8 = 1 << 1;
    pub const TYPELINK: u8 = 1 << 2;
    pub const LEAF: u8 = 1 << 3;
    pub const NOSPLIT: u8 = 1 << 4;
    pub const REFLECT_METHOD: u8 = 1 << 5;
    pub const GO_TYPE: u8 = 1 << 6;
}

/// `Sym.flag2` bits (Go 1.23-1.26 numbering; see [`symflag2::abi_wrapper`]).
pub mod symflag2 {
    pub const USED_IN_IFACE: u8 = 1 << 0;
    pub const ITAB: u8 = 1 << 1;
    pub const DICT: u8 = 1 << 2;
    pub const PKG_INIT: u8 = 1 << 3;
    pub const LINKNAME: u8 = 1 << 4;
    pub const ABI_WRAPPER: u8 = 1 << 5;
    pub const WASM_EXPORT: u8 = 1 << 6;

    /// The ABIWrapper bit of Go 1.`go_minor` objects: none in Go 1.22, 1 << 5 in Go
    /// 1.23-1.26, 1 << 6 since Go 1.27 (SymFlagLinknameStd was inserted before it).
    pub fn abi_wrapper(go_minor: u32) -> u8 {
        match go_minor {
            ..=22 => 0,
            23..=26 => ABI_WRAPPER,
            _ => ABI_WRAPPER << 1,
        }
    }
}

/// Aux symbol kinds.
pub mod aux {
    pub const GOTYPE: u8 = 0;
    pub const FUNC_INFO: u8 = 1;
    pub const FUNCDATA: u8 = 2;
    pub const DWARF_INFO: u8 = 3;
    pub const DWARF_LOC: u8 = 4;
    pub const DWARF_RANGES: u8 = 5;
    pub const DWARF_LINES: u8 = 6;
    pub const PCSP: u8 = 7;
    pub const PCFILE: u8 = 8;
    pub const PCLINE: u8 = 9;
    pub const PCINLINE: u8 = 10;
    pub const PCDATA: u8 = 11;
    pub const WASM_IMPORT: u8 = 12;
    pub const WASM_TYPE: u8 = 13;
    pub const SEH_UNWIND_INFO: u8 = 14;

    pub fn name(t: u8) -> &'static str {
        const N: [&str; 15] = [
            "AuxGotype",
            "AuxFuncInfo",
            "AuxFuncdata",
            "AuxDwarfInfo",
            "AuxDwarfLoc",
            "AuxDwarfRanges",
            "AuxDwarfLines",
            "AuxPcsp",
            "AuxPcfile",
            "AuxPcline",
            "AuxPcinline",
            "AuxPcdata",
            "AuxWasmImport",
            "AuxWasmType",
            "AuxSehUnwindInfo",
        ];
        N.get(t as usize).copied().unwrap_or("Aux?")
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct SymRef {
    pub pkg_idx: u32,
    pub sym_idx: u32,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    pub fingerprint: [u8; 8],
    pub flags: u32,
    pub offsets: [u32; blk::N],
}

impl Header {
    pub fn from_assembly(&self) -> bool {
        self.flags & objflag::FROM_ASSEMBLY != 0
    }
    pub fn std(&self) -> bool {
        self.flags & objflag::STD != 0
    }
    pub fn unlinkable(&self) -> bool {
        self.flags & objflag::UNLINKABLE != 0
    }
    pub fn shared(&self) -> bool {
        self.flags & objflag::SHARED != 0
    }
}

/// A symbol definition or non-package reference.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sym<'a> {
    pub name: &'a str,
    pub abi: u16,
    pub typ: u8,
    pub flag: u8,
    pub flag2: u8,
    pub size: u32,
    pub align: u32,
}

impl Sym<'_> {
    pub fn dupok(&self) -> bool {
        self.flag & symflag::DUPOK != 0
    }
    pub fn local(&self) -> bool {
        self.flag & symflag::LOCAL != 0
    }
    pub fn typelink(&self) -> bool {
        self.flag & symflag::TYPELINK != 0
    }
    pub fn leaf(&self) -> bool {
        self.flag & symflag::LEAF != 0
    }
    pub fn nosplit(&self) -> bool {
        self.flag & symflag::NOSPLIT != 0
    }
    pub fn reflect_method(&self) -> bool {
        self.flag & symflag::REFLECT_METHOD != 0
    }
    pub fn is_go_type(&self) -> bool {
        self.flag & symflag::GO_TYPE != 0
    }
    pub fn used_in_iface(&self) -> bool {
        self.flag2 & symflag2::USED_IN_IFACE != 0
    }
    pub fn is_itab(&self) -> bool {
        self.flag2 & symflag2::ITAB != 0
    }
    pub fn is_dict(&self) -> bool {
        self.flag2 & symflag2::DICT != 0
    }
    pub fn is_pkg_init(&self) -> bool {
        self.flag2 & symflag2::PKG_INIT != 0
    }
    pub fn is_linkname(&self) -> bool {
        self.flag2 & symflag2::LINKNAME != 0
    }
    pub fn abi_wrapper(&self) -> bool {
        self.flag2 & symflag2::ABI_WRAPPER != 0
    }
    pub fn wasm_export(&self) -> bool {
        self.flag2 & symflag2::WASM_EXPORT != 0
    }
    pub fn is_static(&self) -> bool {
        self.abi == SYM_ABI_STATIC
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reloc {
    pub off: i32,
    pub size: u8,
    /// Raw type, including the `R_WEAK` bit (0x8000).
    pub typ: u16,
    pub add: i64,
    pub sym: SymRef,
}

pub const R_WEAK: u16 = 0x8000;

impl Reloc {
    fn parse(b: &[u8]) -> Reloc {
        // b has exactly RELOC_SIZE bytes (chunks_exact)
        Reloc {
            off: le_u32(b, 0) as i32,
            size: b.get(4).copied().unwrap_or(0),
            typ: le_u16(b, 5),
            add: le_u64(b, 7) as i64,
            sym: SymRef {
                pkg_idx: le_u32(b, 15),
                sym_idx: le_u32(b, 19),
            },
        }
    }
    /// Relocation type without the weak bit.
    pub fn base_type(&self) -> u16 {
        self.typ & !R_WEAK
    }
    pub fn weak(&self) -> bool {
        self.typ & R_WEAK != 0
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Aux {
    pub typ: u8,
    pub sym: SymRef,
}

/// Decoded `goobj.FuncInfo` (the data of the AuxFuncInfo symbol).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FuncInfo {
    pub args: u32,
    pub locals: u32,
    pub func_id: u8,
    /// abi.FuncFlag: 1 TopFrame, 2 SPWrite, 4 Asm. (NOSPLIT is a *symbol* flag, see
    /// [`Sym::nosplit`].)
    pub func_flag: u8,
    pub start_line: i32,
    pub files: Vec<u32>,
    pub num_inl_tree: u32,
}

pub mod funcflag {
    pub const TOP_FRAME: u8 = 1;
    pub const SPWRITE: u8 = 2;
    pub const ASM: u8 = 4;
}

impl FuncInfo {
    pub fn parse(b: &[u8]) -> Option<FuncInfo> {
        let args = get_u32(b, 0)?;
        let locals = get_u32(b, 4)?;
        let func_id = *b.get(8)?;
        let func_flag = *b.get(9)?;
        let start_line = get_u32(b, 12)? as i32;
        let nfile = get_u32(b, 16)? as usize;
        let mut files = Vec::with_capacity(nfile.min(b.len() / 4));
        let mut off = 20usize;
        for _ in 0..nfile {
            files.push(get_u32(b, off)?);
            off = off.checked_add(4)?;
        }
        let num_inl_tree = get_u32(b, off)?;
        Some(FuncInfo {
            args,
            locals,
            func_id,
            func_flag,
            start_line,
            files,
            num_inl_tree,
        })
    }
}

#[inline]
fn get_u32(b: &[u8], off: usize) -> Option<u32> {
    let s = b.get(off..off.checked_add(4)?)?;
    Some(u32::from_le_bytes([s[0], s[1], s[2], s[3]]))
}
#[inline]
fn le_u32(b: &[u8], off: usize) -> u32 {
    get_u32(b, off).unwrap_or(0)
}
#[inline]
fn le_u16(b: &[u8], off: usize) -> u16 {
    match b.get(off..off + 2) {
        Some(s) => u16::from_le_bytes([s[0], s[1]]),
        None => 0,
    }
}
#[inline]
fn le_u64(b: &[u8], off: usize) -> u64 {
    match b.get(off..off + 8) {
        Some(s) => u64::from_le_bytes([s[0], s[1], s[2], s[3], s[4], s[5], s[6], s[7]]),
        None => 0,
    }
}

/// One Go object file (the part starting at the magic), borrowed from its archive bytes.
#[derive(Debug, Clone)]
pub struct GoObject<'a> {
    b: &'a [u8],
    /// Offset of the magic within the containing file (for error messages).
    pub file_offset: u64,
    /// The `go object GOOS GOARCH VERSION EXPERIMENTS` line, if present.
    pub header_line: &'a str,
    pub header: Header,
    ndef: u32,
    nhashed64: u32,
    nhashed: u32,
    nnonpkgdef: u32,
    nnonpkgref: u32,
}

/// Parses `go1.N[.P]` (or `go1.N` prefixes of devel strings) into the minor version N.
pub fn parse_go_minor(version: &str) -> Option<u32> {
    let rest = version.strip_prefix("go1.")?;
    let digits: String = rest.chars().take_while(|c| c.is_ascii_digit()).collect();
    digits.parse().ok()
}

impl<'a> GoObject<'a> {
    /// Parses an archive member (or a bare object file): the optional
    /// `go object ...` text header, export data up to `\n!\n`, then the binary object.
    pub fn parse_member(data: &'a [u8], file_offset: u64) -> RawResult<GoObject<'a>> {
        let mut header_line: &'a str = "";
        let mut start = 0usize;
        if data.starts_with(b"go object ") {
            let nl = data
                .iter()
                .position(|&c| c == b'\n')
                .ok_or_else(|| trunc(0, "object header line"))?;
            header_line = std::str::from_utf8(&data[..nl])
                .map_err(|_| malformed(0, "object header line is not UTF-8"))?;
            start = export_end(data, nl)?;
        }
        let b = data.get(start..).unwrap_or(&[]);
        let file_offset = file_offset + start as u64;
        Self::parse_object(b, file_offset, header_line).map_err(|mut e| {
            e.offset += start as u64;
            e
        })
    }

    /// Parses a bare binary object (starting with the magic).
    pub fn parse_object(
        b: &'a [u8],
        file_offset: u64,
        header_line: &'a str,
    ) -> RawResult<GoObject<'a>> {
        let magic = b.get(..8).ok_or_else(|| {
            if b.is_empty() || MAGIC.starts_with(b) {
                trunc(0, "magic")
            } else {
                RawErr {
                    offset: 0,
                    kind: ObjErrorKind::Foreign {
                        found: describe_magic(b),
                    },
                }
            }
        })?;
        if magic != MAGIC {
            let kind = if magic.starts_with(b"\x00go1") && magic.ends_with(b"ld") {
                ObjErrorKind::UnsupportedFormat {
                    magic: escape(magic),
                }
            } else {
                ObjErrorKind::Foreign {
                    found: describe_magic(b),
                }
            };
            return Err(RawErr { offset: 0, kind });
        }
        if b.len() < HEADER_SIZE {
            return Err(trunc(b.len() as u64, "object header"));
        }
        let mut fingerprint = [0u8; 8];
        fingerprint.copy_from_slice(&b[8..16]);
        let flags = le_u32(b, 16);
        let mut offsets = [0u32; blk::N];
        for (i, o) in offsets.iter_mut().enumerate() {
            *o = le_u32(b, 20 + 4 * i);
        }
        // Validate block offsets: non-decreasing, within the data.
        let mut prev = HEADER_SIZE as u32;
        for (i, &o) in offsets.iter().enumerate() {
            if o < prev {
                return Err(malformed(
                    20 + 4 * i as u64,
                    format!("block {i} offset {o:#x} before previous block end {prev:#x}"),
                ));
            }
            prev = o;
        }
        if offsets[blk::END] as usize > b.len() {
            return Err(trunc(
                b.len() as u64,
                "blocks (object shorter than its header says)",
            ));
        }
        let count = |k: usize, size: usize| -> u32 {
            ((offsets[k + 1] - offsets[k]) as usize / size) as u32
        };
        let obj = GoObject {
            b,
            file_offset,
            header_line,
            header: Header {
                fingerprint,
                flags,
                offsets,
            },
            ndef: count(blk::SYMDEF, SYM_SIZE),
            nhashed64: count(blk::HASHED64DEF, SYM_SIZE),
            nhashed: count(blk::HASHEDDEF, SYM_SIZE),
            nnonpkgdef: count(blk::NONPKGDEF, SYM_SIZE),
            nnonpkgref: count(blk::NONPKGREF, SYM_SIZE),
        };
        Ok(obj)
    }

    /// The Go version of the `go object` line (e.g. "go1.26.8"), if any.
    pub fn go_version(&self) -> Option<&str> {
        self.header_line.split(' ').nth(4)
    }

    pub fn bytes(&self) -> &'a [u8] {
        self.b
    }

    /// Rebuilds a view from already validated parts (cheap; no re-validation).
    pub(crate) fn from_parts(b: &'a [u8], file_offset: u64, header: &Header) -> GoObject<'a> {
        let o = &header.offsets;
        let count = |k: usize| ((o[k + 1] - o[k]) as usize / SYM_SIZE) as u32;
        GoObject {
            b,
            file_offset,
            header_line: "",
            header: header.clone(),
            ndef: count(blk::SYMDEF),
            nhashed64: count(blk::HASHED64DEF),
            nhashed: count(blk::HASHEDDEF),
            nnonpkgdef: count(blk::NONPKGDEF),
            nnonpkgref: count(blk::NONPKGREF),
        }
    }

    fn block(&self, k: usize) -> &'a [u8] {
        let s = self.header.offsets[k] as usize;
        let e = self.header.offsets[k + 1] as usize;
        self.b.get(s..e).unwrap_or(&[])
    }

    fn string_at(&self, off: u32, len: u32, at: u64) -> RawResult<&'a str> {
        let s = off as usize;
        let e = s
            .checked_add(len as usize)
            .ok_or_else(|| malformed(at, "string reference overflows"))?;
        let bytes = self.b.get(s..e).ok_or_else(|| trunc(at, "string"))?;
        std::str::from_utf8(bytes).map_err(|_| malformed(at, "string is not UTF-8"))
    }

    fn string_ref(&self, off: usize) -> RawResult<&'a str> {
        let len = get_u32(self.b, off).ok_or_else(|| trunc(off as u64, "string ref"))?;
        let soff = get_u32(self.b, off + 4).ok_or_else(|| trunc(off as u64, "string ref"))?;
        self.string_at(soff, len, off as u64)
    }

    /// Imported packages with their fingerprints (the Autolib block).
    pub fn autolib(&self) -> RawResult<Vec<(&'a str, [u8; 8])>> {
        let base = self.header.offsets[blk::AUTOLIB] as usize;
        let n = self.block(blk::AUTOLIB).len() / IMPORTED_PKG_SIZE;
        let mut v = Vec::with_capacity(n);
        for i in 0..n {
            let off = base + i * IMPORTED_PKG_SIZE;
            let name = self.string_ref(off)?;
            let mut fp = [0u8; 8];
            let s = self
                .b
                .get(off + 8..off + 16)
                .ok_or_else(|| trunc(off as u64, "fingerprint"))?;
            fp.copy_from_slice(s);
            v.push((name, fp));
        }
        Ok(v)
    }

    /// Referenced package paths (the PkgIdx block; index 0 is a dummy).
    pub fn pkglist(&self) -> RawResult<Vec<&'a str>> {
        let base = self.header.offsets[blk::PKG_IDX] as usize;
        let n = self.block(blk::PKG_IDX).len() / STRING_REF_SIZE;
        (0..n)
            .map(|i| self.string_ref(base + i * STRING_REF_SIZE))
            .collect()
    }

    pub fn files(&self) -> RawResult<Vec<&'a str>> {
        let base = self.header.offsets[blk::FILE] as usize;
        let n = self.block(blk::FILE).len() / STRING_REF_SIZE;
        (0..n)
            .map(|i| self.string_ref(base + i * STRING_REF_SIZE))
            .collect()
    }

    pub fn nsym(&self) -> u32 {
        self.ndef
    }
    pub fn nhashed64def(&self) -> u32 {
        self.nhashed64
    }
    pub fn nhasheddef(&self) -> u32 {
        self.nhashed
    }
    pub fn nnonpkgdef(&self) -> u32 {
        self.nnonpkgdef
    }
    pub fn nnonpkgref(&self) -> u32 {
        self.nnonpkgref
    }
    /// Number of all definitions (package, hashed64, hashed, non-package).
    pub fn nalldef(&self) -> u32 {
        self.ndef + self.nhashed64 + self.nhashed + self.nnonpkgdef
    }
    /// Total symbol slots (definitions and non-package references).
    pub fn nallsym(&self) -> u32 {
        self.nalldef() + self.nnonpkgref
    }

    /// Symbol `i` in the combined index space: SymDef, Hashed64def, Hasheddef,
    /// NonPkgDef then NonPkgRef (they are contiguous blocks).
    pub fn sym(&self, i: u32) -> RawResult<Sym<'a>> {
        if i >= self.nallsym() {
            return Err(malformed(0, format!("symbol index {i} out of range")));
        }
        let off = self.header.offsets[blk::SYMDEF] as usize + i as usize * SYM_SIZE;
        let s = self
            .b
            .get(off..off + SYM_SIZE)
            .ok_or_else(|| trunc(off as u64, "symbol"))?;
        let name_len = le_u32(s, 0);
        let name_off = le_u32(s, 4);
        let name = if name_len == 0 {
            ""
        } else {
            self.string_at(name_off, name_len, off as u64)?
        };
        Ok(Sym {
            name,
            abi: le_u16(s, 8),
            typ: s[10],
            flag: s[11],
            flag2: s[12],
            size: le_u32(s, 13),
            align: le_u32(s, 17),
        })
    }

    /// Raw bytes of the name of symbol `i` (no UTF-8 check; empty if out of range).
    pub fn sym_name_bytes(&self, i: u32) -> &'a [u8] {
        let off = self.header.offsets[blk::SYMDEF] as usize + i as usize * SYM_SIZE;
        let Some(s) = self
            .b
            .get(off..off + SYM_SIZE)
            .filter(|_| i < self.nallsym())
        else {
            return &[];
        };
        let (len, noff) = (le_u32(s, 0) as usize, le_u32(s, 4) as usize);
        self.b.get(noff..noff.saturating_add(len)).unwrap_or(&[])
    }

    /// Size (`Sym.Siz`) of symbol `i` (0 if out of range).
    pub fn sym_size(&self, i: u32) -> u32 {
        let off = self.header.offsets[blk::SYMDEF] as usize + i as usize * SYM_SIZE;
        if i < self.nallsym() {
            le_u32(self.b, off + 13)
        } else {
            0
        }
    }

    /// ABI of symbol `i` (0 if out of range).
    pub fn sym_abi(&self, i: u32) -> u16 {
        let off = self.header.offsets[blk::SYMDEF] as usize + i as usize * SYM_SIZE;
        if i < self.nallsym() {
            le_u16(self.b, off + 8)
        } else {
            0
        }
    }

    /// Like [`sym`](Self::sym) but without decoding the name (fast path).
    pub fn sym_flags(&self, i: u32) -> (u8, u8, u8) {
        let off = self.header.offsets[blk::SYMDEF] as usize + i as usize * SYM_SIZE;
        match self.b.get(off..off + SYM_SIZE) {
            Some(s) if i < self.nallsym() => (s[10], s[11], s[12]),
            _ => (0, 0, 0),
        }
    }

    /// Offset of the range [idx[i], idx[i+1]) in an index block.
    fn index_range(&self, idx_blk: usize, i: u32, what: &'static str) -> RawResult<(u32, u32)> {
        if i >= self.nalldef() {
            return Err(malformed(
                0,
                format!("{what}: symbol index {i} is not a definition"),
            ));
        }
        let off = self.header.offsets[idx_blk] as usize + i as usize * 4;
        let a = get_u32(self.b, off).ok_or_else(|| trunc(off as u64, what))?;
        let e = get_u32(self.b, off + 4).ok_or_else(|| trunc(off as u64, what))?;
        if e < a {
            return Err(malformed(
                off as u64,
                format!("{what}: decreasing index {a} > {e}"),
            ));
        }
        Ok((a, e))
    }

    fn records(
        &self,
        idx_blk: usize,
        rec_blk: usize,
        size: usize,
        i: u32,
        what: &'static str,
    ) -> RawResult<&'a [u8]> {
        let (a, e) = self.index_range(idx_blk, i, what)?;
        let base = self.header.offsets[rec_blk] as usize;
        let s = base + a as usize * size;
        let t = base + e as usize * size;
        if t > self.header.offsets[rec_blk + 1] as usize {
            return Err(trunc(s as u64, what));
        }
        self.b.get(s..t).ok_or_else(|| trunc(s as u64, what))
    }

    /// Relocations of definition `i`, in order.
    pub fn relocs(&self, i: u32) -> RawResult<impl Iterator<Item = Reloc> + 'a> {
        let b = self.records(blk::RELOC_IDX, blk::RELOC, RELOC_SIZE, i, "relocations")?;
        Ok(b.chunks_exact(RELOC_SIZE).map(Reloc::parse))
    }

    pub fn nreloc(&self, i: u32) -> RawResult<usize> {
        let (a, e) = self.index_range(blk::RELOC_IDX, i, "relocations")?;
        Ok((e - a) as usize)
    }

    /// Aux symbols of definition `i`.
    pub fn auxs(&self, i: u32) -> RawResult<impl Iterator<Item = Aux> + 'a> {
        let b = self.records(blk::AUX_IDX, blk::AUX, AUX_SIZE, i, "aux symbols")?;
        Ok(b.chunks_exact(AUX_SIZE).map(|a| Aux {
            typ: a[0],
            sym: SymRef {
                pkg_idx: le_u32(a, 1),
                sym_idx: le_u32(a, 5),
            },
        }))
    }

    /// Content of definition `i`.
    pub fn data(&self, i: u32) -> RawResult<&'a [u8]> {
        self.records(blk::DATA_IDX, blk::DATA, 1, i, "symbol data")
    }

    /// Offset of the content of definition `i` from the start of the object (what
    /// `go tool nm` prints as the address of a symbol in an object file).
    pub fn data_offset(&self, i: u32) -> RawResult<u32> {
        let (a, _) = self.index_range(blk::DATA_IDX, i, "symbol data")?;
        Ok(self.header.offsets[blk::DATA].wrapping_add(a))
    }

    /// pcsp table of definition `i` (via its AuxPcsp symbol in this object), if any.
    pub fn pcsp(&self, i: u32) -> RawResult<Option<&'a [u8]>> {
        for a in self.auxs(i)? {
            if a.typ == aux::PCSP {
                let li = self
                    .local_index(a.sym)
                    .ok_or_else(|| malformed(0, "pcsp aux refers outside the object"))?;
                return self.data(li).map(Some);
            }
        }
        Ok(None)
    }

    /// Index in this object of a reference that points into the object itself.
    pub fn local_index(&self, r: SymRef) -> Option<u32> {
        let base = match r.pkg_idx {
            pkgidx::SELF => 0,
            pkgidx::HASHED64 => self.ndef,
            pkgidx::HASHED => self.ndef + self.nhashed64,
            pkgidx::NONE => self.ndef + self.nhashed64 + self.nhashed,
            _ => return None,
        };
        let i = base.checked_add(r.sym_idx)?;
        (i < self.nallsym()).then_some(i)
    }

    pub fn data_size(&self, i: u32) -> u32 {
        self.index_range(blk::DATA_IDX, i, "symbol data")
            .map(|(a, e)| e - a)
            .unwrap_or(0)
    }

    pub fn nref_flags(&self) -> usize {
        self.block(blk::REF_FLAGS).len() / REF_FLAGS_SIZE
    }

    /// (symbol reference, flag, flag2) of package references with flags.
    pub fn ref_flags(&self) -> impl Iterator<Item = (SymRef, u8, u8)> + 'a {
        self.block(blk::REF_FLAGS)
            .chunks_exact(REF_FLAGS_SIZE)
            .map(|r| {
                (
                    SymRef {
                        pkg_idx: le_u32(r, 0),
                        sym_idx: le_u32(r, 4),
                    },
                    r[8],
                    r[9],
                )
            })
    }

    /// Names of referenced package symbols (tools only; not needed for linking).
    pub fn ref_names(&self) -> RawResult<Vec<(SymRef, &'a str)>> {
        let base = self.header.offsets[blk::REF_NAME] as usize;
        let n = self.block(blk::REF_NAME).len() / 16;
        let mut v = Vec::with_capacity(n);
        for k in 0..n {
            let off = base + k * 16;
            let r = SymRef {
                pkg_idx: le_u32(self.b, off),
                sym_idx: le_u32(self.b, off + 4),
            };
            v.push((r, self.string_ref(off + 8)?));
        }
        Ok(v)
    }

    pub fn hash64(&self, i: u32) -> Option<u64> {
        let off = self.header.offsets[blk::HASH64] as usize + i as usize * HASH64_SIZE;
        self.b.get(off..off + 8).map(|_| le_u64(self.b, off))
    }

    pub fn hash(&self, i: u32) -> Option<[u8; 16]> {
        let off = self.header.offsets[blk::HASH] as usize + i as usize * HASH_SIZE;
        let s = self.b.get(off..off + 16)?;
        let mut h = [0u8; 16];
        h.copy_from_slice(s);
        Some(h)
    }

    /// Decoded FuncInfo of definition `i` if it has an AuxFuncInfo.
    pub fn func_info(&self, i: u32) -> RawResult<Option<FuncInfo>> {
        for a in self.auxs(i)? {
            if a.typ == aux::FUNC_INFO {
                let d = self.data(a.sym.sym_idx)?;
                return FuncInfo::parse(d)
                    .map(Some)
                    .ok_or_else(|| trunc(0, "FuncInfo"));
            }
        }
        Ok(None)
    }
}

fn escape(b: &[u8]) -> String {
    b.iter()
        .flat_map(|&c| std::ascii::escape_default(c))
        .map(char::from)
        .collect()
}

fn describe_magic(b: &[u8]) -> String {
    let head = b.get(..8.min(b.len())).unwrap_or(&[]);
    if head.starts_with(b"\x7fELF") {
        "an ELF file".into()
    } else {
        format!("\"{}\"", escape(head))
    }
}

/// A member of a Go package archive.
#[derive(Debug, Clone)]
pub struct Member<'a> {
    pub name: String,
    /// Offset of the member data in the archive file.
    pub offset: u64,
    pub data: &'a [u8],
}

/// Lists the members of a `!<arch>` archive.
pub fn archive_members<'a>(data: &'a [u8], location: &str) -> Result<Vec<Member<'a>>, Error> {
    use object::read::archive::ArchiveFile;
    let arch_err = |msg: String| Error::Archive {
        location: location.to_string(),
        msg,
    };
    if !data.starts_with(b"!<arch>\n") {
        return Err(arch_err("missing !<arch> magic".into()));
    }
    let ar = ArchiveFile::parse(data).map_err(|e| arch_err(e.to_string()))?;
    let mut v = Vec::new();
    for m in ar.members() {
        let m = m.map_err(|e| arch_err(e.to_string()))?;
        let name = String::from_utf8_lossy(m.name())
            .trim_end_matches(['/', ' '])
            .to_string();
        let (offset, _size) = m.file_range();
        let d = m
            .data(data)
            .map_err(|e| arch_err(format!("member {name}: {e}")))?;
        v.push(Member {
            name,
            offset,
            data: d,
        });
    }
    Ok(v)
}

/// Is this archive member one the linker loads as an object (cmd/link `loadobjfile`)?
pub fn is_object_member(name: &str) -> bool {
    if name == "__.PKGDEF" {
        return false;
    }
    if name.len() < 16 {
        return name.ends_with(".o") || name.ends_with(".syso");
    }
    true
}

/// An archive file read into memory.
#[derive(Debug)]
pub struct Archive {
    pub path: std::path::PathBuf,
    pub data: Vec<u8>,
}

impl Archive {
    pub fn open(path: &Path) -> Result<Archive, Error> {
        let data = std::fs::read(path).map_err(|source| Error::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Archive {
            path: path.to_path_buf(),
            data,
        })
    }

    /// Parses all Go object members (skipping `__.PKGDEF` and non-object members).
    pub fn objects(&self) -> Result<Vec<GoObject<'_>>, Error> {
        parse_archive_objects(&self.data, &self.path.display().to_string())
    }
}

/// Parses every object member of archive bytes; `location` is used in errors.
pub fn parse_archive_objects<'a>(
    data: &'a [u8],
    location: &str,
) -> Result<Vec<GoObject<'a>>, Error> {
    let mut v = Vec::new();
    for m in archive_members(data, location)? {
        // A host object (a cgo package's C objects, ELF or Mach-O or PE) is
        // the external linker's, as cmd/link's `ldobj` treats it.
        if !is_object_member(&m.name) || is_host_object(m.data) {
            continue;
        }
        let o = GoObject::parse_member(m.data, m.offset).map_err(|e| Error::Object {
            location: format!("{location}({})", m.name),
            offset: m.offset + e.offset,
            kind: e.kind,
        })?;
        v.push(o);
    }
    Ok(v)
}

/// Is this an object format the linker treats as a host object (`ldobj`)?
pub(crate) fn is_host_object(b: &[u8]) -> bool {
    if b.len() < 4 {
        return false;
    }
    let magic = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
    magic == 0x7f45_4c46
        || magic & !1 == 0xfeed_face
        || magic & !0x0100_0000 == 0xcefa_edfe
        || matches!(
            u16::from_be_bytes([b[0], b[1]]),
            0x4c01 | 0x6486 | 0xc401 | 0x64aa
        )
        || (b[0] == 0x01 && (b[1] == 0xd7 || b[1] == 0xf7))
}

/// Attaches a location to a raw error.
pub(crate) fn locate(e: RawErr, location: &str, base: u64) -> Error {
    Error::Object {
        location: location.to_string(),
        offset: base + e.offset,
        kind: e.kind,
    }
}

/// Skips the export section after the header line (which ends at `data[nl]`) up to
/// `\n!\n`, counting `$$` markers like cmd/link's `ldobj`; returns the offset after it.
fn export_end(data: &[u8], nl: usize) -> RawResult<usize> {
    let mut i = nl; // data[i] == '\n'
    let mut markers = 0u32;
    loop {
        let c1 = *data.get(i).ok_or_else(|| trunc(i as u64, "export data"))?;
        let c2 = *data
            .get(i + 1)
            .ok_or_else(|| trunc(i as u64, "export data"))?;
        let c3 = *data
            .get(i + 2)
            .ok_or_else(|| trunc(i as u64, "export data"))?;
        if c1 == b'\n' {
            if markers.is_multiple_of(2) && c2 == b'!' && c3 == b'\n' {
                return Ok(i + 3);
            }
            if c2 == b'$' && c3 == b'$' {
                markers += 1;
            }
        }
        i += 1;
    }
}

/// The cgo directives of a Go object archive member (`ldpkg` in
/// `cmd/link/internal/ld/go.go`): the JSON list after the `$$  // cgo` line of the export
/// section between the `go object` line and `\n!\n`. Empty if there are none.
pub fn cgo_directives(member: &[u8]) -> Result<Vec<Vec<String>>, String> {
    if !member.starts_with(b"go object ") {
        return Ok(Vec::new());
    }
    let Some(nl) = member.iter().position(|&c| c == b'\n') else {
        return Ok(Vec::new());
    };
    let Ok(end) = export_end(member, nl) else {
        return Ok(Vec::new());
    };
    let mut data = member.get(nl + 1..end - 2).unwrap_or(&[]);
    // Skip the header lines up to the first empty one.
    while !data.is_empty() {
        let (line, rest) = match data.iter().position(|&c| c == b'\n') {
            Some(i) => (&data[..i], &data[i + 1..]),
            None => (data, &data[data.len()..]),
        };
        data = rest;
        if line.is_empty() {
            break;
        }
    }
    let Some(p0) = find(data, b"\n$$  // cgo") else {
        return Ok(Vec::new());
    };
    let Some(i) = data[p0 + 1..].iter().position(|&c| c == b'\n') else {
        return Err("found $$ // cgo but no newline".into());
    };
    let p0 = p0 + 2 + i;
    let p1 = find(&data[p0..], b"\n$$")
        .or_else(|| find(&data[p0..], b"\n!\n"))
        .map(|p| p + p0)
        .unwrap_or(data.len());
    let mut de = serde_json::Deserializer::from_slice(&data[p0..p1]);
    <Vec<Vec<String>> as serde::Deserialize>::deserialize(&mut de)
        .map_err(|e| format!("failed decoding cgo directives: {e}"))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}
