//! The ABI report of one program: per package its assembly definitions and
//! references, the wrappers in each direction with their frames, the calls
//! that cross an ABI boundary, totals; and the expectations of its symbol
//! table (what the ELF check verifies).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

use super::*;

/// An assembly definition (from symabis).
#[derive(Debug, Clone, Serialize)]
pub struct AsmDef {
    /// Link symbol.
    pub symbol: String,
    /// `ABI0` or `ABIInternal`.
    pub abi: String,
    /// `file:line` of its TEXT.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub at: Option<String>,
    /// Did the compiler generate a wrapper for it (a Go declaration exists)?
    pub wrapped: bool,
}

/// A Go function the assembly references (from symabis).
#[derive(Debug, Clone, Serialize)]
pub struct AsmRef {
    /// Link symbol.
    pub symbol: String,
    /// The ABI the assembly calls it with.
    pub abi: String,
    /// What the reference resolves to in the link: `wrapper` (an ABI0
    /// wrapper of a Go function), `assembly`, `go` (same ABI), `undefined`.
    pub resolves_to: String,
}

/// A wrapper the compiler generated (a text symbol with the ABIWrapper flag).
#[derive(Debug, Clone, Serialize)]
pub struct Wrapper {
    /// Link symbol (both ABIs share it).
    pub symbol: String,
    /// The function's Go name, as `-d=abiwrap` prints it.
    pub go_name: String,
    /// The wrapper's ABI (how callers reach it).
    pub from: String,
    /// The wrapped function's ABI.
    pub to: String,
    /// `ABIInternal→ABI0` or `ABI0→ABIInternal`.
    pub direction: String,
    /// Code size in bytes.
    pub size: u32,
    /// Frame size (FuncInfo locals).
    pub frame: u32,
    /// Argument size (FuncInfo args).
    pub args: u32,
    /// Deepest SP offset (pcsp), bytes.
    pub max_sp: i32,
    /// NOSPLIT?
    pub nosplit: bool,
    /// Does the program keep it (the linker's reachability)?
    pub linked: bool,
    /// Does the program keep the wrapped function?
    pub target_linked: bool,
}

/// A direct call that crosses an ABI boundary.
#[derive(Debug, Clone, Serialize, PartialEq, Eq, PartialOrd, Ord)]
pub struct CrossCall {
    /// Caller symbol.
    pub caller: String,
    /// Caller's ABI.
    pub caller_abi: String,
    /// The called function (the wrapped one when through a wrapper).
    pub callee: String,
    /// Its ABI.
    pub callee_abi: String,
    /// Its package.
    pub callee_package: String,
    /// The wrapper the call goes through (`NAME<ABI>`), if any; without
    /// one, the compiler called the other ABI directly (a Go call of an
    /// assembly function of the same package).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub via: Option<String>,
    /// Call sites.
    pub calls: usize,
    /// Is the caller in the program?
    pub linked: bool,
}

/// Counts.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Totals {
    /// Assembly definitions.
    pub asm_defs: usize,
    /// Go functions referenced by assembly.
    pub asm_refs: usize,
    /// ABIInternal→ABI0 wrappers.
    pub wrappers_to_abi0: usize,
    /// ABI0→ABIInternal wrappers.
    pub wrappers_to_abiinternal: usize,
    /// Wrappers the program keeps.
    pub wrappers_linked: usize,
    /// Code bytes of all wrappers.
    pub wrapper_bytes: u64,
    /// Code bytes of the wrappers the program keeps.
    pub wrapper_bytes_linked: u64,
    /// Call edges through a wrapper.
    pub calls_via_wrapper: usize,
    /// Direct cross-ABI call edges.
    pub calls_direct: usize,
}

impl Totals {
    fn add(&mut self, o: &Totals) {
        self.asm_defs += o.asm_defs;
        self.asm_refs += o.asm_refs;
        self.wrappers_to_abi0 += o.wrappers_to_abi0;
        self.wrappers_to_abiinternal += o.wrappers_to_abiinternal;
        self.wrappers_linked += o.wrappers_linked;
        self.wrapper_bytes += o.wrapper_bytes;
        self.wrapper_bytes_linked += o.wrapper_bytes_linked;
        self.calls_via_wrapper += o.calls_via_wrapper;
        self.calls_direct += o.calls_direct;
    }

    /// Is there anything ABI-related at all?
    pub fn is_empty(&self) -> bool {
        self.asm_defs
            + self.asm_refs
            + self.wrappers_to_abi0
            + self.wrappers_to_abiinternal
            + self.calls_direct
            + self.calls_via_wrapper
            == 0
    }
}

/// The ABI picture of one package of a program.
#[derive(Debug, Clone, Serialize)]
pub struct PackageReport {
    /// Import path.
    pub package: String,
    /// In GOROOT?
    pub goroot: bool,
    /// Assembly definitions.
    pub asm_defs: Vec<AsmDef>,
    /// Go functions the assembly references.
    pub asm_refs: Vec<AsmRef>,
    /// Wrappers, in object order.
    pub wrappers: Vec<Wrapper>,
    /// Cross-ABI call edges from this package's functions.
    pub cross_calls: Vec<CrossCall>,
    /// Counts.
    pub totals: Totals,
}

/// The ABI picture of one program.
#[derive(Debug, Clone, Serialize)]
pub struct ProgramReport {
    /// The main package.
    pub package: String,
    /// `goos/goarch`.
    pub target: String,
    /// The packages with anything ABI-related, in link order.
    pub packages: Vec<PackageReport>,
    /// Counts over the program.
    pub totals: Totals,
    /// ABI0 functions the program keeps that have an ABIInternal
    /// definition too, so the linker names them `NAME.abi0`; with whether
    /// the ABIInternal one is kept (then it is `NAME`).
    #[serde(skip)]
    pub pairs: Vec<(String, bool)>,
}

/// What the ELF check expects of a linked program: the ABI pairs the
/// linker must name apart, and the wrappers (and their targets) it keeps.
/// Small and serializable: the abi-report action computes it beside the link.
#[derive(Debug, Clone, Default, Serialize, serde::Deserialize)]
pub struct ElfExpectations {
    /// `(name, ABIInternal kept)` for each kept ABI0 function with an ABIInternal twin.
    pub pairs: Vec<(String, bool)>,
    /// The wrappers of the program's packages.
    pub wrappers: Vec<ExpectedWrapper>,
    /// Why the report could not be made (the check is then skipped with a warning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

/// One wrapper, as the ELF check needs it.
#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct ExpectedWrapper {
    /// Link symbol.
    pub symbol: String,
    /// The wrapper's ABI.
    pub from: String,
    /// The wrapped function's ABI.
    pub to: String,
    /// `ABIInternal→ABI0` or `ABI0→ABIInternal`.
    pub direction: String,
    /// Kept by the linker?
    pub linked: bool,
    /// Its target kept by the linker?
    pub target_linked: bool,
    /// Its package.
    pub package: String,
}

impl ElfExpectations {
    /// Reads the abi-report action's output.
    pub fn read(path: &Path) -> Result<ElfExpectations> {
        let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let e: ElfExpectations = serde_json::from_slice(&data).map_err(|e| Error::Check {
            message: format!("{}: unreadable ABI expectations: {e}", path.display()),
        })?;
        match e.error {
            Some(msg) => Err(Error::Check { message: msg }),
            None => Ok(e),
        }
    }
}

impl ProgramReport {
    /// What the ELF check of this program expects.
    pub fn expectations(&self) -> ElfExpectations {
        ElfExpectations {
            pairs: self.pairs.clone(),
            wrappers: self
                .packages
                .iter()
                .flat_map(|p| {
                    p.wrappers.iter().map(|w| ExpectedWrapper {
                        symbol: w.symbol.clone(),
                        from: w.from.clone(),
                        to: w.to.clone(),
                        direction: w.direction.clone(),
                        linked: w.linked,
                        target_linked: w.target_linked,
                        package: p.package.clone(),
                    })
                })
                .collect(),
            error: None,
        }
    }
}

/// The archives of a main package's link unit, from a finished build:
/// `(package, archive)`, the main package first.
fn unit_members(b: &dyn BuildView, main: usize) -> Result<Vec<(usize, PathBuf)>> {
    let g = b.graph();
    let main_path = &g.packages[main].import_path;
    let unit = b
        .link_unit(main)
        .ok_or_else(|| report_err(main_path, "no link unit planned"))?;
    unit.iter()
        .map(|&p| {
            let a = b.archive(p).ok_or_else(|| {
                report_err(
                    main_path,
                    format!("no archive for {}", g.packages[p].import_path),
                )
            })?;
            Ok((p, a))
        })
        .collect()
}

/// The archives of a main package's link unit, as the abi-report reads them.
pub fn link_archives(b: &dyn BuildView, main: usize) -> Result<LinkArchives> {
    let g = b.graph();
    Ok(LinkArchives {
        main: g.packages[main].import_path.clone(),
        archives: unit_members(b, main)?
            .into_iter()
            .map(|(p, a)| (g.packages[p].base_path().to_string(), a))
            .collect(),
    })
}

/// The ELF check's expectations alone, without the full report: one load
/// of the link set through the object summaries the nosplit stage keeps
/// (`<cache>/nosplit`), the linker's reachability, and a pass over its text
/// symbols. Cheap enough to run beside the link on every rebuild.
pub fn elf_expectations(unit: &LinkArchives, summaries: &Path) -> Result<ElfExpectations> {
    let main_path = unit.main.clone();
    let (main_archive, libs) = unit
        .archives
        .split_first()
        .ok_or_else(|| report_err(&main_path, "no archive for the main package"))?;
    let ls = goobj::load_link_set_cached(&main_archive.1, libs, summaries)
        .map_err(|e| report_err(&main_path, e))?;
    let mode = ls.link_mode();
    let entry = match mode {
        goobj::LinkMode::Internal => format!("_rt0_{}_{}", ls.goarch, ls.goos),
        goobj::LinkMode::External => "main".to_string(),
    };
    let reach = goobj::deadcode::deadcode(&ls, &entry, mode);
    let reachable = |s: goobj::SymId| reach.reachable.get(s as usize).copied().unwrap_or(false);
    let mut pairs = BTreeSet::new();
    let mut wrappers = Vec::new();
    for s in 1..ls.num_symbols() as goobj::SymId {
        let ver = ls.version(s);
        if !(0..=1).contains(&ver) || !ls.is_text(s) {
            continue;
        }
        let name = ls.name(s);
        let other = ls.lookup(name, 1 - ver);
        // mangleABIName: see program_report.
        if ver == 0 && reachable(s) && other != 0 && ls.is_text(other) {
            pairs.insert((name.to_string(), reachable(other)));
        }
        if ls.is_abi_wrapper(s) {
            let (from, to) = (abi_name(ver as u16), abi_name(1 - ver as u16));
            let package = match ls.defining_package(s).unwrap_or("") {
                "main" => main_path.clone(),
                p => p.to_string(),
            };
            wrappers.push(ExpectedWrapper {
                symbol: name.to_string(),
                from: from.to_string(),
                to: to.to_string(),
                direction: format!("{from}→{to}"),
                linked: reachable(s),
                target_linked: other != 0 && reachable(other),
                package,
            });
        }
    }
    Ok(ElfExpectations {
        pairs: pairs.into_iter().collect(),
        wrappers,
        error: None,
    })
}

fn report_err(pkg: &str, e: impl std::fmt::Display) -> Error {
    Error::Check {
        message: format!("ABI report of {pkg}: {e}"),
    }
}

fn max_pcsp(table: &[u8], quantum: u32) -> i32 {
    goobj::pcvalue::PcIter::new(table, quantum)
        .map_while(|s| s.ok())
        .map(|s| s.value)
        .max()
        .unwrap_or(0)
}

/// (caller, caller ABI, callee, callee ABI, wrapper).
type CallKey = (String, u16, String, u16, Option<String>);

/// Builds the report of one main package from its link set.
pub fn program_report(b: &dyn BuildView, main: usize) -> Result<ProgramReport> {
    let g = b.graph();
    let main_path = g.packages[main].import_path.clone();
    // The link unit, as the link action sees it.
    let members = unit_members(b, main)?;
    let libs: Vec<(String, PathBuf)> = members[1..]
        .iter()
        .map(|(p, a)| (g.packages[*p].base_path().to_string(), a.clone()))
        .collect();
    let ls = goobj::load_link_set(&members[0].1, &libs).map_err(|e| report_err(&main_path, e))?;
    let mode = ls.link_mode();
    let entry = match mode {
        goobj::LinkMode::Internal => format!("_rt0_{}_{}", ls.goarch, ls.goos),
        goobj::LinkMode::External => "main".to_string(),
    };
    let reach = goobj::deadcode::deadcode(&ls, &entry, mode);
    let reachable = |s: goobj::SymId| reach.reachable.get(s as usize).copied().unwrap_or(false);
    let quantum = goobj::arch::Arch::lookup(&ls.goarch, ls.go_minor)
        .map(|a| a.min_lc)
        .unwrap_or(1);
    let table = ls.reloc_table().clone();

    let mut packages = Vec::new();
    let mut totals = Totals::default();
    for (pi, archive) in &members {
        let p = &g.packages[*pi];
        let lib_name = if *pi == main { "main" } else { p.base_path() };
        let prefix = goobj::linkset::path_to_prefix(p.compile_path());
        let symabis = b.symabis(*pi).unwrap_or_default();
        let data = std::fs::read(archive)
            .map_err(|e| report_err(&main_path, format!("{}: {e}", archive.display())))?;
        let objs = goobj::parse_archive_objects(&data, &archive.display().to_string())
            .map_err(|e| report_err(&main_path, e))?;
        let mut wrappers = Vec::new();
        let mut text_defs: Vec<(String, u16, bool)> = Vec::new();
        let mut linknames: Option<Vec<GoLinkname>> = None;
        for o in &objs {
            for i in 0..o.nalldef() {
                let Ok(s) = o.sym(i) else { continue };
                if !goobj::reloc::is_text_kind(s.typ, ls.go_minor) || s.name.is_empty() {
                    continue;
                }
                text_defs.push((s.name.to_string(), s.abi, s.abi_wrapper()));
                if !s.abi_wrapper() {
                    continue;
                }
                let mut fi = None;
                if let Ok(auxs) = o.auxs(i) {
                    for a in auxs {
                        if a.typ == goobj::reader::aux::FUNC_INFO {
                            fi = o
                                .local_index(a.sym)
                                .and_then(|li| o.data(li).ok())
                                .and_then(goobj::reader::FuncInfo::parse);
                        }
                    }
                }
                let max_sp = o
                    .pcsp(i)
                    .ok()
                    .flatten()
                    .map(|t| max_pcsp(t, quantum))
                    .unwrap_or(0);
                let sid = ls.lookup(s.name, s.abi as i32);
                let target = ls.lookup(s.name, 1 - s.abi.min(1) as i32);
                let go_name = match s
                    .name
                    .strip_prefix(&prefix)
                    .and_then(|r| r.strip_prefix('.'))
                {
                    Some(n) => n.to_string(),
                    None => {
                        // A linknamed function: -d=abiwrap prints its Go name.
                        let l = linknames.get_or_insert_with(|| go_linknames(p));
                        l.iter()
                            .find(|l| l.remote.as_deref() == Some(s.name))
                            .map(|l| l.local.clone())
                            .unwrap_or_else(|| s.name.to_string())
                    }
                };
                let (from, to) = (abi_name(s.abi), abi_name(1 - s.abi.min(1)));
                wrappers.push(Wrapper {
                    symbol: s.name.to_string(),
                    go_name,
                    from: from.into(),
                    to: to.into(),
                    direction: format!("{from}→{to}"),
                    size: s.size,
                    frame: fi.as_ref().map(|f| f.locals).unwrap_or(0),
                    args: fi.as_ref().map(|f| f.args).unwrap_or(0),
                    max_sp,
                    nosplit: s.nosplit(),
                    linked: sid != 0 && reachable(sid),
                    target_linked: target != 0 && reachable(target),
                });
            }
        }
        // Cross-ABI calls from this package's functions.
        let mut calls: BTreeMap<CallKey, (usize, bool, String)> = BTreeMap::new();
        for (name, abi, is_wrapper) in &text_defs {
            if *is_wrapper || *abi > 1 {
                continue;
            }
            let sid = ls.lookup(name, *abi as i32);
            if sid == 0 || ls.defining_package(sid) != Some(lib_name) {
                continue;
            }
            for (r, t) in ls.relocs_of(sid) {
                if t == 0 || !table.is_direct_call(r.base_type()) {
                    continue;
                }
                // The stack-growth call of every splittable prologue is not
                // a call of the program's.
                if ls.name(t).starts_with("runtime.morestack") {
                    continue;
                }
                let tv = ls.version(t);
                if !(0..=1).contains(&tv) {
                    continue;
                }
                let (callee, callee_abi, via) = if ls.is_abi_wrapper(t) {
                    (
                        ls.name(t).to_string(),
                        (1 - tv) as u16,
                        Some(format!("{}<{}>", ls.name(t), abi_name(tv as u16))),
                    )
                } else if tv as u16 != *abi && ls.is_text(t) {
                    (ls.name(t).to_string(), tv as u16, None)
                } else {
                    continue;
                };
                let wrapped = ls.lookup(&callee, callee_abi as i32);
                let callee_pkg = ls
                    .defining_package(if wrapped != 0 { wrapped } else { t })
                    .unwrap_or("")
                    .to_string();
                let callee_pkg = if callee_pkg == "main" {
                    main_path.clone()
                } else {
                    callee_pkg
                };
                let e = calls
                    .entry((name.clone(), *abi, callee, callee_abi, via))
                    .or_insert((0, reachable(sid), callee_pkg));
                e.0 += 1;
            }
        }
        let cross_calls: Vec<CrossCall> = calls
            .into_iter()
            .map(
                |((caller, ca, callee, cb, via), (n, linked, pkg))| CrossCall {
                    caller,
                    caller_abi: abi_name(ca).into(),
                    callee,
                    callee_abi: abi_name(cb).into(),
                    callee_package: pkg,
                    via,
                    calls: n,
                    linked,
                },
            )
            .collect();
        let sites = if symabis.defs.is_empty() {
            Vec::new()
        } else {
            asm_sites(p)
        };
        let asm_defs: Vec<AsmDef> = symabis
            .defs
            .iter()
            .map(|(sym, abi)| AsmDef {
                symbol: sym.clone(),
                abi: abi.clone(),
                at: sites
                    .iter()
                    .find(|s| s.text && s.symbol == *sym)
                    .map(|s| format!("{}:{}", s.file, s.line)),
                wrapped: wrappers.iter().any(|w| w.symbol == *sym && w.to == *abi),
            })
            .collect();
        let asm_refs: Vec<AsmRef> = symabis
            .refs
            .iter()
            .map(|(sym, abi)| {
                let want = if abi == "ABI0" { 0 } else { 1 };
                let t = ls.lookup(sym, want);
                let resolves_to = if t == 0 || !ls.is_text(t) {
                    if ls.lookup(sym, 1 - want) != 0 {
                        "undefined (other ABI only)"
                    } else {
                        "undefined"
                    }
                } else if ls.is_abi_wrapper(t) {
                    "wrapper"
                } else if want == 0 {
                    "assembly"
                } else {
                    "go"
                };
                AsmRef {
                    symbol: sym.clone(),
                    abi: abi.clone(),
                    resolves_to: resolves_to.into(),
                }
            })
            .collect();
        let mut t = Totals {
            asm_defs: asm_defs.len(),
            asm_refs: asm_refs.len(),
            ..Totals::default()
        };
        for w in &wrappers {
            if w.from == "ABIInternal" {
                t.wrappers_to_abi0 += 1;
            } else {
                t.wrappers_to_abiinternal += 1;
            }
            t.wrapper_bytes += w.size as u64;
            if w.linked {
                t.wrappers_linked += 1;
                t.wrapper_bytes_linked += w.size as u64;
            }
        }
        for c in &cross_calls {
            if c.via.is_some() {
                t.calls_via_wrapper += 1;
            } else {
                t.calls_direct += 1;
            }
        }
        totals.add(&t);
        if !t.is_empty() {
            packages.push(PackageReport {
                package: p.import_path.clone(),
                goroot: p.goroot,
                asm_defs,
                asm_refs,
                wrappers,
                cross_calls,
                totals: t,
            });
        }
    }
    // mangleABIName (cmd/link/internal/ld/symtab.go): a kept ABI0 text
    // symbol is renamed NAME.abi0 when an ABIInternal text symbol of the
    // same name exists in the link, kept or not.
    let mut pairs = BTreeSet::new();
    for s in 1..ls.num_symbols() as goobj::SymId {
        if ls.version(s) == 0 && reachable(s) && ls.is_text(s) {
            let name = ls.name(s);
            let other = ls.lookup(name, 1);
            if other != 0 && ls.is_text(other) {
                pairs.insert((name.to_string(), reachable(other)));
            }
        }
    }
    Ok(ProgramReport {
        package: main_path,
        target: format!("{}/{}", b.goos(), b.goarch()),
        packages,
        totals,
        pairs: pairs.into_iter().collect(),
    })
}
