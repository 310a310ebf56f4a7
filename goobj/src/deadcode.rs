//! The linker's reachability pass, so the stack check visits exactly the functions the
//! linker keeps (`ctxt.Textp`).
//!
//! Mirrors `cmd/link/internal/ld/deadcode.go` for `-buildmode=exe` without shared
//! libraries or plugins: roots are the entry symbol, `runtime.unreachableMethod` and the
//! package init tasks (`inittask.go`); relocations are followed except weak ones and the
//! marker types (R_USETYPE, R_INITORDER, ...); methods of types converted to interfaces
//! are kept only when an interface call with the same name and signature is reachable
//! (R_USEIFACEMETHOD), a generic call names them (R_USENAMEDMETHOD), or reflection is used
//! and the method is exported. Then `mapinitcleanup` redirects weak calls to dead
//! `map.init` functions to `runtime.mapinitnoop`, and `AssignTextSymbolOrder` gives the
//! order of `Textp`.

use crate::linkset::{LinkSet, SymId};
use crate::reader::{aux, symflag, symflag2};
use std::collections::{HashMap, HashSet};

/// Result of the reachability pass.
#[derive(Debug, Default)]
pub struct Reachability {
    pub reachable: Vec<bool>,
    /// Reachable text symbols in the linker's `Textp` order.
    pub textp: Vec<SymId>,
    /// Relocations whose target the linker rewrites: (symbol, reloc index) → new target.
    pub reloc_override: HashMap<(SymId, usize), SymId>,
}

struct Pass<'a> {
    ls: &'a LinkSet,
    reachable: Vec<bool>,
    used_in_iface: Vec<bool>,
    wq: Vec<SymId>,
    /// Interface methods called: func type → method names.
    /// Interface methods called: (func type, method name id).
    iface_method: HashSet<(SymId, u32), FastHash>,
    /// Method names called through generic code (name ids).
    generic_iface_method: HashSet<u32, FastHash>,
    /// Method names interned (the markable loop compares ids, not strings).
    names: HashMap<String, u32, FastHash>,
    markable: Vec<MethodRef>,
    reflect_seen: bool,
    pkginits: Vec<SymId>,
    /// Symbols whose relocations the linker replaced (`runtime.runtime_inittasks`).
    replaced: HashMap<SymId, Vec<SymId>>,
}

type FastHash = std::hash::BuildHasherDefault<crate::linkset::IdHasher>;

struct MethodRef {
    /// Interned name (see `Pass::intern`).
    name: u32,
    exported: bool,
    typ: SymId,
    src: SymId,
    r: usize,
}

/// Kinds of `internal/abi.Kind` the method decoder needs.
mod kind {
    pub const ARRAY: u8 = 17;
    pub const CHAN: u8 = 18;
    pub const FUNC: u8 = 19;
    pub const INTERFACE: u8 = 20;
    pub const MAP: u8 = 21;
    pub const POINTER: u8 = 22;
    pub const SLICE: u8 = 23;
    pub const STRUCT: u8 = 25;
}

impl Pass<'_> {
    fn mark(&mut self, s: SymId) {
        if s != 0 && !self.reachable[s as usize] {
            self.reachable[s as usize] = true;
            self.wq.push(s);
        }
    }

    fn uint(&self, p: &[u8], off: usize, size: usize) -> u64 {
        let Some(b) = p.get(off..off + size) else {
            return 0;
        };
        let mut v = 0u64;
        if self.be() {
            for &x in b {
                v = v << 8 | x as u64;
            }
        } else {
            for &x in b.iter().rev() {
                v = v << 8 | x as u64;
            }
        }
        v
    }

    fn be(&self) -> bool {
        crate::arch::Arch::lookup(&self.ls.goarch, self.ls.go_minor).is_some_and(|a| a.big_endian)
    }

    fn ptr(&self) -> usize {
        crate::arch::Arch::lookup(&self.ls.goarch, self.ls.go_minor)
            .map_or(8, |a| a.ptr_size as usize)
    }

    /// `decodeRelocSym`: target of the relocation at offset `off` of `s`.
    fn reloc_sym(&self, relocs: &[(crate::reader::Reloc, SymId)], off: i32) -> SymId {
        relocs
            .iter()
            .find(|(r, _)| r.off == off)
            .map_or(0, |&(_, t)| t)
    }

    /// `decodetypeName`: the name at a `reflect.name` pointed to from offset `off`.
    fn type_name(&self, relocs: &[(crate::reader::Reloc, SymId)], off: usize) -> String {
        let r = self.reloc_sym(relocs, off as i32);
        if r == 0 {
            return String::new();
        }
        let data = self.ls.data(r);
        let Some(rest) = data.get(1..) else {
            return String::new();
        };
        let Some((n, k)) = crate::pcvalue::uvarint(rest) else {
            return String::new();
        };
        let start = 1 + k;
        data.get(start..start.saturating_add(n as usize))
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default()
    }

    /// `decodetypeKind`: up to Go 1.25 the kind byte also holds flags (`& KindMask`).
    fn type_kind(&self, p: &[u8]) -> u8 {
        let k = p.get(2 * self.ptr() + 7).copied().unwrap_or(0);
        if self.ls.go_minor <= 25 {
            k & 31
        } else {
            k
        }
    }

    /// Size of a map type descriptor after the common part: `hmap`-era `abi.OldMapType`
    /// before Go 1.24 (and with GOEXPERIMENT=noswissmap in 1.24/1.25), `abi.SwissMapType`
    /// / `abi.MapType` after, grown by three pointers in Go 1.27.
    fn map_type_extra(&self) -> usize {
        let ps = self.ptr();
        let minor = self.ls.go_minor;
        let swiss = minor >= 26
            || (minor >= 24
                && !self
                    .ls
                    .experiments
                    .split([':', ','])
                    .any(|e| e == "noswissmap"));
        if !swiss {
            return 4 * ps + 8;
        }
        let words = if minor >= 27 { 10 } else { 7 };
        words * ps + 4 + if ps == 8 { 4 } else { 0 }
    }

    /// `decodetypeMethods`: (name, func type) of each method of type symbol `s`.
    fn type_methods(
        &self,
        s: SymId,
        relocs: &[(crate::reader::Reloc, SymId)],
    ) -> Vec<(String, SymId)> {
        self.ls.note_offsets_read(s);
        let p = self.ls.data(s);
        let ps = self.ptr();
        // abi.TFlagOff / TFlagUncommon
        if p.get(2 * ps + 4).is_none_or(|t| t & 1 == 0) {
            return Vec::new();
        }
        let mut off = 4 * ps + 8 + 8; // abi.CommonSize
        off += match self.type_kind(p) {
            kind::STRUCT => 4 * ps,
            kind::POINTER | kind::FUNC | kind::SLICE => ps,
            kind::ARRAY => 3 * ps,
            kind::CHAN => 2 * ps,
            kind::MAP => self.map_type_extra(),
            kind::INTERFACE => {
                if self.ls.go_minor >= 27 {
                    4 * ps
                } else {
                    3 * ps
                }
            }
            _ => 0,
        };
        let mcount = self.uint(p, off + 4, 2) as usize;
        let moff = self.uint(p, off + 8, 4) as usize;
        let mut off = off + moff;
        let mut v = Vec::with_capacity(mcount);
        for _ in 0..mcount {
            v.push((
                self.type_name(relocs, off),
                self.reloc_sym(relocs, off as i32 + 4),
            ));
            off += 16;
        }
        v
    }

    fn flood(&mut self) {
        let t = &self.ls.relocs;
        let (methodoff, usetype, useiface, useifacemethod, usenamedmethod, initorder) = (
            t.r_methodoff,
            t.r_usetype,
            t.r_useiface,
            t.r_useifacemethod,
            t.r_usenamedmethod,
            t.r_initorder,
        );
        while let Some(s) = self.wq.pop() {
            if let Some(targets) = self.replaced.get(&s).cloned() {
                for x in targets {
                    self.mark(x);
                }
                continue;
            }
            let (_, flag, flag2) = self.ls.flags(s);
            self.reflect_seen |= flag & symflag::REFLECT_METHOD != 0;
            let isgotype = flag & symflag::GO_TYPE != 0;
            let used_in_iface = isgotype && self.used_in_iface[s as usize];
            let relocs = self.ls.relocs(s);
            let mut methods = Vec::new();
            let mut i = 0;
            while i < relocs.len() {
                let (r, rs) = relocs[i];
                i += 1;
                if r.weak() {
                    continue;
                }
                let ty = r.base_type();
                if ty == methodoff {
                    if used_in_iface {
                        methods.push(i - 1);
                        if !self.used_in_iface[rs as usize] {
                            self.used_in_iface[rs as usize] = true;
                            if self.reachable[rs as usize] {
                                self.reachable[rs as usize] = false;
                                self.mark(rs);
                            }
                        }
                    }
                    i += 2;
                    continue;
                }
                if ty == usetype || ty == initorder {
                    continue;
                }
                if ty == useiface {
                    let mut rs = rs;
                    if self.ls.flags(rs).2 & symflag2::ITAB != 0 {
                        self.ls.note_offsets_read(rs);
                        let ir = self.ls.relocs(rs);
                        rs = self.reloc_sym(&ir, self.ptr() as i32);
                    }
                    if !self.used_in_iface[rs as usize] {
                        self.used_in_iface[rs as usize] = true;
                        if self.reachable[rs as usize] {
                            self.reachable[rs as usize] = false;
                            self.mark(rs);
                        }
                    }
                    continue;
                }
                if ty == useifacemethod {
                    self.ls.note_offsets_read(rs);
                    let ir = self.ls.relocs(rs);
                    let name = self.type_name(&ir, r.add as usize);
                    let typ = self.reloc_sym(&ir, r.add as i32 + 4);
                    let name = self.intern(name);
                    self.iface_method.insert((typ, name));
                    continue;
                }
                if ty == usenamedmethod {
                    let name = String::from_utf8_lossy(self.ls.data(rs)).into_owned();
                    let name = self.intern(name);
                    self.generic_iface_method.insert(name);
                    continue;
                }
                if isgotype
                    && used_in_iface
                    && self.ls.flags(rs).1 & symflag::GO_TYPE != 0
                    && !self.used_in_iface[rs as usize]
                {
                    self.used_in_iface[rs as usize] = true;
                    self.reachable[rs as usize] = false;
                }
                self.mark(rs);
            }
            let auxs = self.ls.auxs(s);
            for &(typ, a) in &auxs {
                if typ != aux::GOTYPE {
                    self.mark(a);
                }
            }
            if !auxs.is_empty() && flag2 & symflag2::PKG_INIT != 0 {
                self.pkginits.push(s);
            }
            if !methods.is_empty() {
                let sigs = self.type_methods(s, &relocs);
                for (k, (name, typ)) in sigs.into_iter().enumerate() {
                    if let Some(&r) = methods.get(k) {
                        let exported = name.chars().next().is_some_and(char::is_uppercase);
                        let name = self.intern(name);
                        self.markable.push(MethodRef {
                            exported,
                            name,
                            typ,
                            src: s,
                            r,
                        });
                    }
                }
            }
        }
    }

    fn intern(&mut self, name: String) -> u32 {
        let n = self.names.len() as u32;
        *self.names.entry(name).or_insert(n)
    }

    fn mark_method(&mut self, m: &MethodRef) {
        let relocs = self.ls.relocs(m.src);
        for k in 0..3 {
            if let Some(&(_, t)) = relocs.get(m.r + k) {
                self.mark(t);
            }
        }
    }
}

/// `inittaskSym`: the init tasks reachable from `roots` through R_INITORDER edges,
/// those the linker lays down (size > 8).
fn inittasks(ls: &LinkSet, root: &str) -> Option<Vec<SymId>> {
    let r = ls.lookup(root, 0);
    if r == 0 {
        return None;
    }
    let mut seen = HashSet::from([r]);
    let mut q = vec![r];
    let mut out = Vec::new();
    while let Some(x) = q.pop() {
        if ls.size(x) > 8 {
            out.push(x);
        }
        for (rel, t) in ls.relocs(x) {
            if rel.base_type() == ls.relocs.r_initorder && seen.insert(t) {
                q.push(t);
            }
        }
    }
    Some(out)
}

/// Packages the linker lays out first (`isRuntimeDepPkg` of the release: a package list
/// and prefixes up to Go 1.24, `objabi.LookupPkgSpecial(pkg).Runtime` since Go 1.25).
fn is_runtime_pkg(p: &str, go_minor: u32) -> bool {
    let (pkgs, prefixes) =
        crate::tables::runtime_pkgs(go_minor).unwrap_or(crate::tables::RUNTIME_PKGS_GO126);
    pkgs.contains(&p) || (prefixes.iter().any(|x| p.starts_with(x)) && !p.ends_with("_test"))
}

/// Runs the reachability pass for an executable whose entry symbol is `entry`
/// (`_rt0_GOARCH_GOOS` for internal linking).
pub fn deadcode(ls: &LinkSet, entry: &str, mode: crate::linkset::LinkMode) -> Reachability {
    let n = ls.num_symbols();
    let mut d = Pass {
        ls,
        reachable: vec![false; n],
        used_in_iface: ls.used_in_iface.clone(),
        wq: Vec::new(),
        iface_method: HashSet::default(),
        generic_iface_method: HashSet::default(),
        names: HashMap::default(),
        markable: Vec::new(),
        reflect_seen: false,
        pkginits: Vec::new(),
        replaced: HashMap::new(),
    };
    let rt = ls.lookup("runtime.runtime_inittasks", 0);
    if rt != 0 {
        if let Some(t) = inittasks(ls, "runtime..inittask") {
            d.replaced.insert(rt, t);
        }
    }
    for name in [entry, "runtime.unreachableMethod"] {
        d.mark(ls.lookup(name, 0));
        d.mark(ls.lookup(name, 1));
    }
    // ctxt.dynexp: cgo exports the host side may call (go.go setCgoAttr).
    let mut seen = HashSet::new();
    for e in &ls.cgo_exports {
        if e.dynamic == (mode == crate::linkset::LinkMode::Internal)
            && seen.insert((e.local.as_str(), e.ver, e.dynamic))
        {
            d.mark(ls.lookup(&e.local, e.ver));
        }
    }
    if let Some(t) = inittasks(ls, "main..inittask") {
        for s in t {
            d.mark(s);
        }
    }
    d.flood();
    loop {
        let markable = std::mem::take(&mut d.markable);
        let mut rem = Vec::new();
        for m in markable {
            if (d.reflect_seen && m.exported)
                || d.iface_method.contains(&(m.typ, m.name))
                || d.generic_iface_method.contains(&m.name)
            {
                d.mark_method(&m);
            } else {
                rem.push(m);
            }
        }
        d.markable = rem;
        if d.wq.is_empty() {
            break;
        }
        d.flood();
    }

    // mapinitcleanup (-pruneweakmap, on by default).
    let mut reloc_override = HashMap::new();
    let mapinitnoop = ls.lookup("runtime.mapinitnoop", 1);
    for &p in &d.pkginits {
        for (i, (r, rs)) in ls.relocs(p).into_iter().enumerate() {
            if r.weak() && ls.relocs.is_direct_call(r.base_type()) && !d.reachable[rs as usize] {
                if mapinitnoop != 0 {
                    d.reachable[mapinitnoop as usize] = true;
                }
                reloc_override.insert((p, i), mapinitnoop);
            }
        }
    }

    // AssignTextSymbolOrder over the libraries in dependency postorder.
    let libs = ls.libraries();
    let mut order = Vec::with_capacity(libs.len());
    let mut state = vec![0u8; libs.len()];
    fn dfs(i: usize, libs: &[crate::linkset::Library], state: &mut [u8], order: &mut Vec<usize>) {
        if state[i] != 0 {
            return;
        }
        state[i] = 1;
        for &j in &libs[i].imports {
            dfs(j, libs, state, order);
        }
        state[i] = 2;
        order.push(i);
    }
    for i in 0..libs.len() {
        dfs(i, libs, &mut state, &mut order);
    }
    let mut lib_text: Vec<Vec<SymId>> = vec![Vec::new(); libs.len()];
    let mut lib_dup: Vec<Vec<SymId>> = vec![Vec::new(); libs.len()];
    for (o, ob) in ls.objs.iter().enumerate() {
        let nall = ob.ndef + ob.nh64 + ob.nh + ob.nnpd;
        for li in 0..nall {
            let g = ob.syms[li as usize];
            if !d.reachable[g as usize] || !ls.is_text(g) {
                continue;
            }
            let own = ls.def(g) == Some((o as u32, li));
            let dupok = ls.view(o as u32).sym_flags(li).1 & symflag::DUPOK != 0;
            if !own || dupok {
                lib_dup[ob.lib as usize].push(g);
            } else {
                lib_text[ob.lib as usize].push(g);
            }
        }
    }
    let mut assigned = vec![false; n];
    let mut textp = Vec::new();
    for internal in [true, false] {
        for &li in &order {
            if is_runtime_pkg(&libs[li].pkg, ls.go_minor) != internal {
                continue;
            }
            for &s in lib_text[li].iter().chain(lib_dup[li].iter()) {
                if !assigned[s as usize] {
                    assigned[s as usize] = true;
                    textp.push(s);
                }
            }
        }
    }
    Reachability {
        reachable: d.reachable,
        textp,
        reloc_override,
    }
}
