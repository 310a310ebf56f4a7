//! The symbol-table checks of a linked program: ABI0 symbols named
//! `NAME.abi0`, the wrappers the report expects, no global name defined
//! twice. ELF (linux, freebsd…), PE (windows) and Mach-O (darwin): cmd/link
//! names symbols alike in all three (`mangleABIName`), but Mach-O puts `_`
//! before every name and neither PE nor Mach-O symbols carry a size.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::error::{Error, Result};

use super::*;

/// A wrapper's symbol in the program.
#[derive(Debug, Clone, Serialize)]
pub struct ElfWrapper {
    /// Link symbol.
    pub symbol: String,
    /// The name of the wrapper in the symbol table (`NAME` or `NAME.abi0`;
    /// for Mach-O without the `_` every name has there).
    pub elf_name: String,
    /// `ABIInternal→ABI0` or `ABI0→ABIInternal`.
    pub direction: String,
    /// Its size in the program, bytes (PE, Mach-O: up to the next symbol,
    /// alignment padding included; see [`ElfCheck::sizes`]).
    pub size: u64,
}

/// The result of the post-link checks on one program.
#[derive(Debug, Clone, Serialize)]
pub struct ElfCheck {
    /// The program.
    pub program: PathBuf,
    /// The object format: `ELF`, `PE` or `Mach-O` (empty when skipped).
    pub format: String,
    /// Where the wrapper sizes come from: `symbol table` (ELF), or `next
    /// symbol` (PE, Mach-O, whose symbols carry no size: the distance to
    /// the next text symbol, alignment padding included).
    pub sizes: String,
    /// Why the checks were skipped (stripped program, not ELF, PE or Mach-O).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub skipped: Option<String>,
    /// Text symbols in the symbol table.
    pub text_symbols: usize,
    /// ABI pairs checked (`NAME` and `NAME.abi0`).
    pub pairs_checked: usize,
    /// What is wrong (empty: all checks passed).
    pub problems: Vec<String>,
    /// The linked wrappers and their sizes.
    pub wrappers: Vec<ElfWrapper>,
}

impl ElfCheck {
    /// Did every check pass (or were they skipped)?
    pub fn ok(&self) -> bool {
        self.problems.is_empty()
    }
}

/// Checks a linked program against the report: every ABI pair carries two
/// names (`NAME`, `NAME.abi0`), every linked wrapper is present, no global
/// name is defined twice.
pub fn check_elf(program: &Path, report: &ElfExpectations) -> Result<ElfCheck> {
    use object::{FileKind, Object, ObjectSymbol, SymbolKind};
    let data = std::fs::read(program).map_err(|e| Error::io(program, e))?;
    let mut check = ElfCheck {
        program: program.to_path_buf(),
        format: String::new(),
        sizes: String::new(),
        skipped: None,
        text_symbols: 0,
        pairs_checked: 0,
        problems: Vec::new(),
        wrappers: Vec::new(),
    };
    let format = match FileKind::parse(&*data) {
        Ok(FileKind::Elf32 | FileKind::Elf64) => "ELF",
        Ok(FileKind::Pe32 | FileKind::Pe64) => "PE",
        Ok(FileKind::MachO32 | FileKind::MachO64) => "Mach-O",
        _ => {
            check.skipped = Some("not an ELF, PE or Mach-O file".into());
            return Ok(check);
        }
    };
    let file = object::File::parse(&*data).map_err(|e| Error::Check {
        message: format!("{}: unreadable {format}: {e}", program.display()),
    })?;
    if file.symbol_table().is_none() || file.symbols().next().is_none() {
        check.skipped = Some("the program has no symbol table (linked with -s)".into());
        return Ok(check);
    }
    check.format = format.into();
    let sized = format == "ELF";
    check.sizes = if sized { "symbol table" } else { "next symbol" }.into();
    // (name, section, address, size) of the text symbols.
    let mut text_syms: Vec<(String, Option<usize>, u64, u64)> = Vec::new();
    let mut globals: HashMap<String, usize> = HashMap::new();
    for s in file.symbols() {
        let Ok(name) = s.name() else { continue };
        if name.is_empty() || s.is_undefined() {
            continue;
        }
        // machosymtab: `_` before every name.
        let name = match format {
            "Mach-O" => name.strip_prefix('_').unwrap_or(name),
            _ => name,
        };
        if s.kind() == SymbolKind::Text {
            let section = s.section_index().map(|i| i.0);
            text_syms.push((name.to_string(), section, s.address(), s.size()));
        }
        if s.is_global() {
            *globals.entry(name.to_string()).or_default() += 1;
        }
    }
    if !sized {
        // No sizes: up to the next text symbol of the section (cmd/link lays
        // the text out in symbol order), the last one to the section's end.
        text_syms.sort_by_key(|t| (t.1, t.2));
        for i in 0..text_syms.len() {
            let (_, sect, addr, _) = text_syms[i];
            let end = match text_syms.get(i + 1) {
                Some(next) if next.1 == sect => next.2,
                _ => sect
                    .and_then(|s| file.section_by_index(object::SectionIndex(s)).ok())
                    .map_or(addr, |s| {
                        use object::ObjectSection;
                        s.address() + s.size()
                    }),
            };
            text_syms[i].3 = end.saturating_sub(addr);
        }
    }
    let text: HashMap<String, u64> = text_syms
        .into_iter()
        .map(|(name, _, _, size)| (name, size))
        .collect();
    check.text_symbols = text.len();
    let mut dups: Vec<_> = globals.into_iter().filter(|(_, n)| *n > 1).collect();
    dups.sort();
    for (name, n) in dups {
        check
            .problems
            .push(format!("global symbol `{name}` is defined {n} times"));
    }
    for (name, internal_kept) in &report.pairs {
        check.pairs_checked += 1;
        let abi0 = format!("{name}.abi0");
        if !text.contains_key(&abi0) {
            check.problems.push(format!(
                "ABI pair {name}: the program keeps its ABI0 function and the link has an ABIInternal one, so the linker must name the ABI0 one `{abi0}` (mangleABIName), but the symbol table has no `{abi0}`{}",
                if text.contains_key(name) { format!(" (only `{name}`)") } else { String::new() }
            ));
        }
        if *internal_kept && !text.contains_key(name) {
            check.problems.push(format!(
                "ABI pair {name}: the program keeps its ABIInternal function, but the symbol table has no `{name}`"
            ));
        }
    }
    {
        for w in &report.wrappers {
            let abi0 = format!("{}.abi0", w.symbol);
            let (elf_name, target_name) = if w.from == "ABI0" {
                (abi0, w.symbol.clone())
            } else {
                (w.symbol.clone(), abi0)
            };
            if w.linked {
                match text.get(&elf_name) {
                    Some(size) => check.wrappers.push(ElfWrapper {
                        symbol: w.symbol.clone(),
                        elf_name,
                        direction: w.direction.clone(),
                        size: *size,
                    }),
                    None => check.problems.push(format!(
                        "the {} wrapper of {} (package {}) is missing from the program: no text symbol `{elf_name}`",
                        w.direction, w.symbol, w.package
                    )),
                }
            }
            if w.target_linked && !text.contains_key(&target_name) {
                check.problems.push(format!(
                    "{} ({}, package {}) is missing from the program: no text symbol `{target_name}`",
                    w.symbol, w.to, w.package
                ));
            }
        }
    }
    check.wrappers.sort_by(|a, b| a.elf_name.cmp(&b.elf_name));
    check.wrappers.dedup_by(|a, b| a.elf_name == b.elf_name);
    Ok(check)
}
