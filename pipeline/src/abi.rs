//! ABI report, ABI lints and the post-link ELF checks.
//!
//! Assembly functions use the stack-based ABI0; Go code uses the
//! register-based ABIInternal; the compiler bridges each crossing with a
//! generated wrapper (`cmd/compile/internal/ssagen/abi.go`,
//! `makeABIWrapper`). Everything here is read from the real build, never
//! re-derived from the compiler's rules:
//!
//! - the package's **symabis** (the symabis action's output): what its
//!   assembly defines (`def NAME ABI`) and which Go functions it calls
//!   (`ref NAME ABI`);
//! - the package **archive** (goobj): every text symbol with the
//!   `ABIWrapper` flag is a wrapper the compiler generated; its ABI says the
//!   direction (an ABIInternal wrapper calls an ABI0 function, and the other
//!   way round); FuncInfo and pcsp give its frame;
//! - the **link set** (goobj, resolved like `cmd/link`'s loader) and the
//!   linker's reachability pass: which direct calls (`R_CALL*`) land on a
//!   wrapper, i.e. cross an ABI boundary, and which wrappers the program keeps;
//! - the **program** (ELF, `object` crate): the linker names the ABI0 symbol
//!   of a pair `NAME.abi0` (`mangleABIName` in
//!   `cmd/link/internal/ld/symtab.go`); every wrapper the report expects must
//!   be there, and no global name may be defined twice.
//!
//! Lints (file:line from the Go and assembly sources `go list` selected):
//! [`Lint`]. Their levels are profile settings (`lints.abi`, `lints.<name>`).

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::Serialize;

use crate::build::{Artifact, BuildRequest, Session};
use crate::cache::Cache;
pub use crate::config::lints::{Lint, LintLevel, LintLevels};
use crate::error::{Error, Result};
use crate::events::{Emitter, Level};
use crate::exec::ExecSummary;
use crate::load::{GoPackage, PackageGraph};
use crate::plan::ActionGraph;
use crate::stages::ActionOutput;

// ---------------------------------------------------------------------------
// symabis

/// ABI0 or ABIInternal, as symabis and object files name them.
pub fn abi_name(abi: u16) -> &'static str {
    match abi {
        0 => "ABI0",
        1 => "ABIInternal",
        _ => "static",
    }
}

/// A parsed symabis file (`asm -gensymabis`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Symabis {
    /// `def NAME ABI`, in order, first occurrence.
    pub defs: Vec<(String, String)>,
    /// `ref NAME ABI`, in order, first occurrence.
    pub refs: Vec<(String, String)>,
}

impl Symabis {
    /// Parses the text; malformed lines are skipped (the compiler would
    /// have refused them already).
    pub fn parse(text: &str) -> Symabis {
        let mut s = Symabis::default();
        let mut seen = HashSet::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() != 3 || !seen.insert((f[0], f[1], f[2])) {
                continue;
            }
            let e = (f[1].to_string(), f[2].to_string());
            match f[0] {
                "def" => s.defs.push(e),
                "ref" => s.refs.push(e),
                _ => {}
            }
        }
        s
    }

    /// Is `name` defined by the assembly (any ABI)?
    pub fn defines(&self, name: &str) -> bool {
        self.defs.iter().any(|(n, _)| n == name)
    }
}

/// Splits a link symbol name into (package, name): the package ends at the
/// first `.` after the last `/`.
pub fn split_symbol(sym: &str) -> (&str, &str) {
    let after_slash = sym.rfind('/').map(|i| i + 1).unwrap_or(0);
    match sym[after_slash..].find('.') {
        Some(d) => (&sym[..after_slash + d], &sym[after_slash + d + 1..]),
        None => ("", sym),
    }
}

// ---------------------------------------------------------------------------
// Minimal Go source scanning: top-level func declarations and linknames.

/// A top-level function declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoFunc {
    /// Its name.
    pub name: String,
    /// Is it a method?
    pub method: bool,
    /// Does it have a body?
    pub has_body: bool,
    /// 1-based line of `func`.
    pub line: usize,
}

/// A `//go:linkname local [remote]` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoLinkname {
    /// The Go name in this package.
    pub local: String,
    /// The link symbol, when given.
    pub remote: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Punct(char),
    Newline,
    Other,
}

fn tokenize(src: &str, linknames: &mut Vec<GoLinkname>) -> Vec<(Tok, usize)> {
    let b: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < b.len() {
        let c = b[i];
        if c == '\n' {
            toks.push((Tok::Newline, line));
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && b.get(i + 1) == Some(&'/') {
            let start = i;
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
            let text: String = b[start..i].iter().collect();
            if let Some(rest) = text.strip_prefix("//go:linkname ") {
                let mut f = rest.split_whitespace();
                if let Some(local) = f.next() {
                    linknames.push(GoLinkname {
                        local: local.to_string(),
                        remote: f.next().map(str::to_string),
                    });
                }
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            let mut nl = false;
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                if b[i] == '\n' {
                    line += 1;
                    nl = true;
                }
                i += 1;
            }
            i += 2;
            if nl {
                // A comment spanning lines acts like a newline.
                toks.push((Tok::Newline, line));
            }
        } else if c == '"' || c == '\'' {
            i += 1;
            while i < b.len() && b[i] != c && b[i] != '\n' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            toks.push((Tok::Other, line));
        } else if c == '`' {
            i += 1;
            while i < b.len() && b[i] != '`' {
                if b[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
            toks.push((Tok::Other, line));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            toks.push((Tok::Ident(b[start..i].iter().collect()), line));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '.' || b[i] == '_') {
                i += 1;
            }
            toks.push((Tok::Other, line));
        } else {
            toks.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    toks
}

/// Skips a balanced group starting at `toks[i]` (an opening bracket);
/// returns the index after it.
fn skip_group(toks: &[(Tok, usize)], mut i: usize) -> usize {
    let mut depth = 0i32;
    while i < toks.len() {
        match toks[i].0 {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth <= 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Scans Go source for its top-level function declarations (with or
/// without a body) and its `//go:linkname` directives.
pub fn scan_go(src: &str) -> (Vec<GoFunc>, Vec<GoLinkname>) {
    let mut linknames = Vec::new();
    let toks = tokenize(src, &mut linknames);
    let mut funcs = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < toks.len() {
        let at_line_start = i == 0 || toks[i - 1].0 == Tok::Newline;
        match &toks[i].0 {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Ident(k) if k == "func" && depth == 0 && at_line_start => {
                let line = toks[i].1;
                let mut j = i + 1;
                let mut method = false;
                if toks.get(j).map(|t| &t.0) == Some(&Tok::Punct('(')) {
                    method = true;
                    j = skip_group(&toks, j);
                }
                let Some((Tok::Ident(name), _)) = toks.get(j) else {
                    i += 1;
                    continue;
                };
                let name = name.clone();
                j += 1;
                if toks.get(j).map(|t| &t.0) == Some(&Tok::Punct('[')) {
                    j = skip_group(&toks, j);
                }
                if toks.get(j).map(|t| &t.0) == Some(&Tok::Punct('(')) {
                    j = skip_group(&toks, j);
                }
                // The result, up to the body or the end of the declaration.
                let mut has_body = false;
                let mut nest = 0i32;
                while j < toks.len() {
                    match &toks[j].0 {
                        Tok::Punct('{') if nest == 0 => {
                            let type_literal = matches!(&toks[j - 1].0, Tok::Ident(k) if k == "struct" || k == "interface");
                            if type_literal {
                                j = skip_group(&toks, j);
                                continue;
                            }
                            has_body = true;
                            break;
                        }
                        Tok::Punct('(' | '[') => nest += 1,
                        Tok::Punct(')' | ']') => nest -= 1,
                        Tok::Newline | Tok::Punct(';') if nest == 0 => break,
                        _ => {}
                    }
                    j += 1;
                }
                funcs.push(GoFunc {
                    name,
                    method,
                    has_body,
                    line,
                });
                // Continue from the body's brace (depth tracking picks it up).
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    (funcs, linknames)
}

// ---------------------------------------------------------------------------
// Minimal assembly scanning, for locations.

/// A line of assembly that defines or references a symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsmSite {
    /// The `.s` file (relative to the package directory).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The full symbol name (`example.com/p.F`), ABI selector removed.
    pub symbol: String,
    /// Is it a TEXT line?
    pub text: bool,
    /// Did it name `<ABIInternal>`?
    pub abi_internal: bool,
}

/// Scans one `.s` file for the symbols its lines define (TEXT) and refer to
/// (`sym(SB)`), with `·` and `∕` normalized and `·F` completed with `pkg`.
pub fn scan_asm(file: &str, src: &str, pkg: &str) -> Vec<AsmSite> {
    let mut v = Vec::new();
    for (n, raw) in src.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("");
        let norm = line.replace('·', ".").replace('∕', "/");
        let is_text = norm.trim_start().starts_with("TEXT");
        let mut rest = norm.as_str();
        while let Some(p) = rest.find("(SB)") {
            let mut before = &rest[..p];
            // `sym+8(SB)`: drop the offset.
            let digits = before.trim_end_matches(|c: char| c.is_ascii_digit());
            if digits.len() < before.len() && (digits.ends_with('+') || digits.ends_with('-')) {
                before = &digits[..digits.len() - 1];
            }
            let start = before
                .rfind(|c: char| !(c.is_alphanumeric() || "_./<>$".contains(c)))
                .map(|i| i + before[i..].chars().next().map(char::len_utf8).unwrap_or(1))
                .unwrap_or(0);
            let mut sym = before[start..].to_string();
            let abi_internal = sym.contains("<ABIInternal>");
            if let Some(i) = sym.find('<') {
                sym.truncate(i);
            }
            if sym.starts_with('.') {
                sym = format!("{pkg}{sym}");
            }
            if !sym.is_empty() && !sym.starts_with('$') {
                let text = is_text && v.iter().all(|s: &AsmSite| !(s.line == n + 1 && s.text));
                v.push(AsmSite {
                    file: file.to_string(),
                    line: n + 1,
                    symbol: sym,
                    text,
                    abi_internal,
                });
            }
            rest = &rest[p + 4..];
        }
    }
    v
}

// ---------------------------------------------------------------------------
// Lints

/// One lint finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Which lint.
    pub lint: Lint,
    /// Its level under the profile.
    pub level: LintLevel,
    /// The package.
    pub package: String,
    /// The file (absolute).
    pub file: PathBuf,
    /// 1-based line (0: unknown).
    pub line: usize,
    /// What is wrong, with a hint.
    pub message: String,
}

impl Finding {
    /// `file:line: message [lints.NAME]`, the file relative to `base` when under it.
    pub fn render(&self, base: &Path) -> String {
        let f = self.file.strip_prefix(base).unwrap_or(&self.file);
        format!(
            "{}:{}: {} [lints.{}]",
            f.display(),
            self.line,
            self.message,
            self.lint.name()
        )
    }
}

/// The Go facts of one package.
#[derive(Debug, Default)]
struct GoFacts {
    /// Top-level functions: (file, func).
    funcs: Vec<(String, GoFunc)>,
    linknames: Vec<GoLinkname>,
}

fn go_facts(p: &GoPackage) -> GoFacts {
    let mut f = GoFacts::default();
    for file in &p.go_files {
        let Ok(src) = std::fs::read_to_string(p.file(file)) else {
            continue;
        };
        let (funcs, links) = scan_go(&src);
        f.funcs.extend(funcs.into_iter().map(|g| (file.clone(), g)));
        f.linknames.extend(links);
    }
    f
}

/// The `//go:linkname` directives of a package (a line scan: cheaper than
/// [`scan_go`] over the runtime's sources).
fn go_linknames(p: &GoPackage) -> Vec<GoLinkname> {
    let mut v = Vec::new();
    for file in &p.go_files {
        let Ok(src) = std::fs::read_to_string(p.file(file)) else {
            continue;
        };
        for line in src.lines() {
            let Some(rest) = line.strip_prefix("//go:linkname ") else {
                continue;
            };
            let mut f = rest.split_whitespace();
            if let Some(local) = f.next() {
                v.push(GoLinkname {
                    local: local.to_string(),
                    remote: f.next().map(str::to_string),
                });
            }
        }
    }
    v
}

fn asm_sites(p: &GoPackage) -> Vec<AsmSite> {
    let mut v = Vec::new();
    for file in &p.s_files {
        if let Ok(src) = std::fs::read_to_string(p.file(file)) {
            v.extend(scan_asm(file, &src, p.base_path()));
        }
    }
    v
}

/// Runs the ABI lints over one package (outside GOROOT: the standard
/// library's bodyless declarations are filled in by the runtime).
/// `symabis_of` gives the symabis of another package of the build.
pub fn lint_package(
    p: &GoPackage,
    symabis: &Symabis,
    levels: &LintLevels,
    goos: &str,
    goarch: &str,
    symabis_of: &dyn Fn(&str) -> Option<Symabis>,
) -> Vec<Finding> {
    let mut out = Vec::new();
    if p.goroot {
        return out;
    }
    let prefix = goobj::linkset::path_to_prefix(p.compile_path());
    let own = |sym: &str| -> Option<String> {
        sym.strip_prefix(&prefix)
            .and_then(|r| r.strip_prefix('.'))
            .map(str::to_string)
    };
    let facts = go_facts(p);
    let sites = asm_sites(p);
    let mut push = |lint: Lint, file: PathBuf, line: usize, message: String| {
        let level = levels.level(lint);
        if level != LintLevel::Allow {
            out.push(Finding {
                lint,
                level,
                package: p.import_path.clone(),
                file,
                line,
                message,
            });
        }
    };
    let text_site = |sym: &str| sites.iter().find(|s| s.text && s.symbol == sym);
    // (a) Go declarations without a body that no assembly defines.
    for (file, f) in &facts.funcs {
        if f.has_body || f.method || f.name == "_" {
            continue;
        }
        let full = format!("{prefix}.{}", f.name);
        if symabis.defines(&full) || facts.linknames.iter().any(|l| l.local == f.name) {
            continue;
        }
        let have = if p.s_files.is_empty() {
            "the package has no assembly".to_string()
        } else {
            format!("its assembly ({}) does not define it", p.s_files.join(", "))
        };
        push(
            Lint::MissingAsm,
            p.file(file),
            f.line,
            format!(
                "function {} is declared without a body, but no assembly for {goos}/{goarch} defines it: {have}, so the link fails with \"relocation target {full} not defined\" (hint: add `TEXT ·{}(SB)` to a {goarch} .s file, or give {goarch} a Go body behind a build constraint)",
                f.name, f.name
            ),
        );
    }
    // (b) assembly functions without a Go declaration, (c) <ABIInternal> definitions.
    for (sym, abi) in &symabis.defs {
        let site = text_site(sym);
        let (file, line) = match site {
            Some(s) => (p.file(&s.file), s.line),
            None => (PathBuf::from(&p.dir), 0),
        };
        // asm -gensymabis records the selector only for the runtime's
        // packages (elsewhere asm refuses it later), so read the TEXT line.
        if abi == "ABIInternal" || site.is_some_and(|s| s.abi_internal) {
            push(
                Lint::InternalDef,
                file.clone(),
                line,
                format!(
                    "assembly defines {sym} as <ABIInternal>: the register ABI is internal to the Go toolchain and changes between releases and architectures; only the standard library may define it (asm refuses the selector outside the runtime's packages) (hint: drop `<ABIInternal>`, take the arguments from the frame (ABI0), and let the compiler generate the ABI wrapper)"
                ),
            );
        }
        let Some(name) = own(sym) else { continue };
        if name.contains(['.', '<']) {
            continue;
        }
        let declared = facts.funcs.iter().any(|(_, f)| !f.method && f.name == name);
        if !declared {
            push(
                Lint::MissingDecl,
                file,
                line,
                format!(
                    "assembly function {name} has no Go declaration: it gets no argument stack map (go vet asmdecl: \"function {name} missing Go declaration\") and no ABIInternal wrapper, so Go code cannot call it (the linker: \"relocation target {sym} not defined for ABIInternal (but is defined for ABI0)\") (hint: declare `func {name}(...)` without a body in a Go file of the package)"
                ),
            );
        }
    }
    // (d) references to unexported Go functions of other packages.
    for (sym, abi) in &symabis.refs {
        if own(sym).is_some() {
            continue;
        }
        let (pkg, name) = split_symbol(sym);
        if pkg.is_empty() || !name.starts_with(|c: char| c.is_lowercase() || c == '_') {
            continue;
        }
        // Fine when that package defines it in assembly (no wrapper needed).
        if symabis_of(pkg).is_some_and(|s| s.defines(sym)) {
            continue;
        }
        let site = sites
            .iter()
            .find(|s| !s.text && s.symbol == *sym)
            .or_else(|| sites.iter().find(|s| s.symbol == *sym));
        let (file, line) = match site {
            Some(s) => (p.file(&s.file), s.line),
            None => (PathBuf::from(&p.dir), 0),
        };
        push(
            Lint::UnexportedRef,
            file,
            line,
            format!(
                "assembly calls {sym} ({abi}), an unexported Go function of package {pkg}: that package is compiled without seeing this reference, so no {abi} wrapper is generated for it and the link fails with \"relocation target {sym} not defined for {abi} (but is defined for ABIInternal)\" (hint: call a Go function of this package, declared here, that calls it)"
            ),
        );
    }
    out
}

// ---------------------------------------------------------------------------
// The report

/// What a build left, as the report needs it.
pub struct Built<'a> {
    /// The packages.
    pub graph: &'a PackageGraph,
    /// The planned actions.
    pub actions: &'a ActionGraph,
    /// Per action, its outputs (as the executor fills them).
    pub results: &'a [OnceLock<ActionOutput>],
    /// Where the outputs are.
    pub cache: &'a Cache,
    /// GOOS.
    pub goos: &'a str,
    /// GOARCH.
    pub goarch: &'a str,
}

impl Built<'_> {
    fn output(&self, id: Option<&crate::plan::ActionId>, name: &str) -> Option<PathBuf> {
        let d = self.results.get(id?.0)?.get()?.outputs.get(name)?;
        Some(self.cache.object_path(d))
    }

    /// The symabis of a package (absent when it has no assembly or its
    /// symabis action did not complete).
    pub fn symabis(&self, pkg: usize) -> Option<Symabis> {
        let path = self.output(self.actions.symabis.get(&pkg), "symabis")?;
        std::fs::read_to_string(path)
            .ok()
            .map(|t| Symabis::parse(&t))
    }

    /// The archive of a package.
    pub fn archive(&self, pkg: usize) -> Option<PathBuf> {
        self.output(self.actions.archive.get(&pkg), "_pkg_.a")
    }

    /// The symabis of a package by import path.
    pub fn symabis_by_path(&self, path: &str) -> Option<Symabis> {
        self.symabis(self.graph.get(path)?)
    }
}

impl crate::build::BuildOutcome {
    /// The parts of the outcome the ABI report reads.
    pub fn built(&self) -> Built<'_> {
        Built {
            graph: &self.session.graph,
            actions: &self.actions,
            results: &self.summary.results,
            cache: &self.cache,
            goos: self.session.toolchain.goos(),
            goarch: self.session.toolchain.goarch(),
        }
    }

    /// The symabis action's output of a package, parsed.
    pub fn symabis(&self, pkg: usize) -> Option<Symabis> {
        self.built().symabis(pkg)
    }
}

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

/// The ELF check's expectations alone, without the full report: one load
/// of the link set through the object summaries the nosplit stage keeps
/// (`<cache>/nosplit`), the linker's reachability, and a pass over its text
/// symbols. Cheap enough to run beside the link on every rebuild.
pub fn elf_expectations(b: &Built<'_>, main: usize) -> Result<ElfExpectations> {
    let g = b.graph;
    let main_path = g.packages[main].import_path.clone();
    let main_archive = b
        .archive(main)
        .ok_or_else(|| report_err(&main_path, "no archive for the main package"))?;
    let mut libs = Vec::new();
    for p in crate::plan::link_deps(g, main) {
        let a = b.archive(p).ok_or_else(|| {
            report_err(
                &main_path,
                format!("no archive for {}", g.packages[p].import_path),
            )
        })?;
        libs.push((g.packages[p].base_path().to_string(), a));
    }
    let ls = goobj::load_link_set_cached(&main_archive, &libs, &b.cache.root().join("nosplit"))
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
pub fn program_report(b: &Built<'_>, main: usize) -> Result<ProgramReport> {
    let g = b.graph;
    let main_path = g.packages[main].import_path.clone();
    // The link set, as the link action sees it.
    let mut members: Vec<(usize, PathBuf)> = Vec::new();
    for p in std::iter::once(main).chain(crate::plan::link_deps(g, main)) {
        let a = b.archive(p).ok_or_else(|| {
            report_err(
                &main_path,
                format!("no archive for {}", g.packages[p].import_path),
            )
        })?;
        members.push((p, a));
    }
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
        target: format!("{}/{}", b.goos, b.goarch),
        packages,
        totals,
        pairs: pairs.into_iter().collect(),
    })
}

// ---------------------------------------------------------------------------
// ELF checks

/// A wrapper's symbol in the program.
#[derive(Debug, Clone, Serialize)]
pub struct ElfWrapper {
    /// Link symbol.
    pub symbol: String,
    /// The ELF name of the wrapper (`NAME` or `NAME.abi0`).
    pub elf_name: String,
    /// `ABIInternal→ABI0` or `ABI0→ABIInternal`.
    pub direction: String,
    /// Its size in the program, bytes.
    pub size: u64,
}

/// The result of the post-link checks on one program.
#[derive(Debug, Clone, Serialize)]
pub struct ElfCheck {
    /// The program.
    pub program: PathBuf,
    /// Why the checks were skipped (stripped program, not ELF).
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
    use object::{Object, ObjectSymbol, SymbolKind};
    let data = std::fs::read(program).map_err(|e| Error::io(program, e))?;
    let mut check = ElfCheck {
        program: program.to_path_buf(),
        skipped: None,
        text_symbols: 0,
        pairs_checked: 0,
        problems: Vec::new(),
        wrappers: Vec::new(),
    };
    if !data.starts_with(b"\x7fELF") {
        check.skipped = Some("not an ELF file".into());
        return Ok(check);
    }
    let file = object::File::parse(&*data).map_err(|e| Error::Check {
        message: format!("{}: unreadable ELF: {e}", program.display()),
    })?;
    if file.symbol_table().is_none() || file.symbols().next().is_none() {
        check.skipped = Some("the program has no symbol table (linked with -s)".into());
        return Ok(check);
    }
    let mut text: HashMap<String, u64> = HashMap::new();
    let mut globals: HashMap<String, usize> = HashMap::new();
    for s in file.symbols() {
        let Ok(name) = s.name() else { continue };
        if name.is_empty() || s.is_undefined() {
            continue;
        }
        if s.kind() == SymbolKind::Text {
            text.insert(name.to_string(), s.size());
        }
        if s.is_global() {
            *globals.entry(name.to_string()).or_default() += 1;
        }
    }
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

// ---------------------------------------------------------------------------
// The build's last step

/// Runs the lints over the workspace's packages outside GOROOT (not over
/// third-party dependencies), emitting each finding as a diagnostic;
/// returns them.
pub fn run_lints(
    b: &Built<'_>,
    levels: &LintLevels,
    base: &Path,
    em: &Emitter<'_>,
) -> Vec<Finding> {
    let mut all = Vec::new();
    let mut pkgs: Vec<usize> = b.actions.compile.keys().copied().collect();
    pkgs.sort_unstable();
    for pi in pkgs {
        let p = &b.graph.packages[pi];
        // The workspace's packages (its main modules' and those named on the
        // command line), like cargo, which caps the lints of dependencies.
        let own = p.module.as_ref().is_some_and(|m| m.main) || !p.dep_only;
        if p.goroot || !own {
            continue;
        }
        // Only packages whose compile completed (their sources are sound).
        if b.actions
            .compile
            .get(&pi)
            .and_then(|id| b.results[id.0].get())
            .is_none()
        {
            continue;
        }
        let symabis = b.symabis(pi).unwrap_or_default();
        let found = lint_package(p, &symabis, levels, b.goos, b.goarch, &|path| {
            b.symabis_by_path(path)
        });
        for f in &found {
            let level = if f.level == LintLevel::Deny {
                Level::Error
            } else {
                Level::Warning
            };
            let text = f.render(base);
            let text = if level == Level::Error {
                format!("error: {text}")
            } else {
                text
            };
            em.diag(level, Some(&f.package), text);
        }
        all.extend(found);
    }
    all
}

/// The last step of a build: the ABI lints (also when the link failed, so
/// they explain it), then the ELF checks of every program written. Fails
/// (exit 101) on a denied lint or a failed check. A program whose checks
/// passed is remembered by content, so a no-op build does not redo them.
pub fn after_build(
    req: &BuildRequest,
    em: &Emitter<'_>,
    session: &Session,
    actions: &ActionGraph,
    summary: &ExecSummary,
    cache: &Cache,
    artifacts: &[Artifact],
) -> Result<()> {
    let b = Built {
        graph: &session.graph,
        actions,
        results: &summary.results,
        cache,
        goos: session.toolchain.goos(),
        goarch: session.toolchain.goarch(),
    };
    let findings = run_lints(&b, &req.profile.lints, &req.dir, em);
    let denied = findings
        .iter()
        .filter(|f| f.level == LintLevel::Deny)
        .count();
    let mut problems = Vec::new();
    for a in artifacts {
        let memo = cache.root().join("abi-checked").join(a.digest.to_hex());
        if memo.exists() {
            continue;
        }
        let Some(main) = session.graph.get(&a.package) else {
            continue;
        };
        // The expectations were computed beside the link (the abi-report
        // action); only the symbol table is read here.
        let expected = match actions
            .abi_reports
            .get(&main)
            .and_then(|id| b.output(Some(id), "abi-expect.json"))
        {
            Some(path) => ElfExpectations::read(&path),
            None => elf_expectations(&b, main),
        };
        let check = expected.and_then(|e| check_elf(&a.path, &e));
        match check {
            Ok(c) if c.skipped.is_some() => em.diag(
                Level::Note,
                Some(&a.package),
                format!(
                    "ABI checks skipped for {}: {}",
                    a.path.display(),
                    c.skipped.as_deref().unwrap_or("")
                ),
            ),
            Ok(c) if c.ok() => {
                let _ = crate::cache::atomic_write(&memo, b"ok\n");
            }
            Ok(c) => {
                for p in &c.problems {
                    em.diag(
                        Level::Error,
                        Some(&a.package),
                        format!("error: {}: {p}", a.path.display()),
                    );
                }
                problems.push(format!(
                    "{} ({} problem(s))",
                    a.path.display(),
                    c.problems.len()
                ));
            }
            // The report itself failing is not the program's fault.
            Err(e) => em.diag(
                Level::Warning,
                Some(&a.package),
                format!("ABI checks of {} not run: {e}", a.path.display()),
            ),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Check {
            message: format!(
                "ABI check of the linked program failed: {}",
                problems.join(", ")
            ),
        });
    }
    if denied > 0 {
        return Err(Error::Check {
            message: format!(
                "{denied} ABI lint finding(s) denied by profile `{}` (hint: lints.abi = \"warn\" reports them without failing)",
                req.profile.name
            ),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_bodyless_decls_and_linknames() {
        let src = "package p\n\nimport \"unsafe\"\n\n// Add is in assembly.\nfunc Add(a, b int64) int64\n\nfunc G(x struct{ a int }) interface{ M() } { return nil }\n\nfunc (t *T) M(\n\tx int,\n) {\n}\n\n//go:linkname now runtime.nanotime\nfunc now() int64\n\nfunc H[T any](x T) (T, error)\nvar f = func() {}\nfunc K() interface{}\nfunc L() { s := \"func X()\"; _ = s }\n";
        let (funcs, links) = scan_go(src);
        let got: Vec<(&str, bool, bool, usize)> = funcs
            .iter()
            .map(|f| (f.name.as_str(), f.method, f.has_body, f.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Add", false, false, 6),
                ("G", false, true, 8),
                ("M", true, true, 10),
                ("now", false, false, 16),
                ("H", false, false, 18),
                ("K", false, false, 20),
                ("L", false, true, 21),
            ]
        );
        assert_eq!(
            links,
            vec![GoLinkname {
                local: "now".into(),
                remote: Some("runtime.nanotime".into())
            }]
        );
    }

    #[test]
    fn scans_asm_sites() {
        let src = "#include \"textflag.h\"\n\nTEXT ·Add(SB), NOSPLIT, $0-24\n\tRET\nTEXT ·fast<ABIInternal>(SB), NOSPLIT, $0\n\tCALL runtime·memmove(SB)\n\tMOVQ example·com∕x·tab+8(SB), AX\n\tCALL ·callback(SB) // CALL ·nope(SB)\n";
        let s = scan_asm("a.s", src, "example.com/p");
        let got: Vec<(usize, &str, bool, bool)> = s
            .iter()
            .map(|s| (s.line, s.symbol.as_str(), s.text, s.abi_internal))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "example.com/p.Add", true, false),
                (5, "example.com/p.fast", true, true),
                (6, "runtime.memmove", false, false),
                (7, "example.com/x.tab", false, false),
                (8, "example.com/p.callback", false, false),
            ]
        );
    }

    #[test]
    fn symabis_and_symbols() {
        let s = Symabis::parse(
            "def example.com/p.Add ABI0\nref example.com/p.cb ABI0\ndef example.com/p.Add ABI0\n",
        );
        assert_eq!(
            s.defs,
            vec![("example.com/p.Add".to_string(), "ABI0".to_string())]
        );
        assert_eq!(s.refs.len(), 1);
        assert_eq!(
            split_symbol("example.com/demo/sum.Add"),
            ("example.com/demo/sum", "Add")
        );
        assert_eq!(split_symbol("runtime.memmove"), ("runtime", "memmove"));
        assert_eq!(
            split_symbol("example.com/p.(*T).M"),
            ("example.com/p", "(*T).M")
        );
    }

    #[test]
    fn elf_check_names_missing_pairs_and_wrappers() {
        // The test binary is an ELF program with a symbol table.
        let exe = std::env::current_exe().unwrap();
        let wrapper = Wrapper {
            symbol: "example.com/p.Gone".into(),
            go_name: "Gone".into(),
            from: "ABI0".into(),
            to: "ABIInternal".into(),
            direction: "ABI0→ABIInternal".into(),
            size: 32,
            frame: 0,
            args: 8,
            max_sp: 8,
            nosplit: true,
            linked: true,
            target_linked: false,
        };
        let report = ProgramReport {
            package: "example.com/p".into(),
            target: "linux/amd64".into(),
            packages: vec![PackageReport {
                package: "example.com/p".into(),
                goroot: false,
                asm_defs: vec![],
                asm_refs: vec![],
                wrappers: vec![wrapper],
                cross_calls: vec![],
                totals: Totals::default(),
            }],
            totals: Totals::default(),
            pairs: vec![("example.com/p.Pair".into(), true)],
        };
        let c = check_elf(&exe, &report.expectations()).unwrap();
        assert!(c.skipped.is_none());
        assert!(!c.ok());
        assert!(
            c.problems
                .iter()
                .any(|p| p.contains("no `example.com/p.Pair.abi0`")),
            "{:?}",
            c.problems
        );
        assert!(
            c.problems
                .iter()
                .any(|p| p.contains("no `example.com/p.Pair`")),
            "{:?}",
            c.problems
        );
        assert!(
            c.problems
                .iter()
                .any(|p| p
                    .contains("wrapper of example.com/p.Gone (package example.com/p) is missing")),
            "{:?}",
            c.problems
        );
        let empty = ProgramReport {
            packages: vec![],
            pairs: vec![],
            ..report
        };
        assert!(check_elf(&exe, &empty.expectations()).unwrap().ok());
    }

    #[test]
    fn lint_levels() {
        let mut l = LintLevels::default();
        assert_eq!(l.level(Lint::MissingDecl), LintLevel::Warn);
        l.set("abi", "deny").unwrap();
        l.set("abi-internal-def", "allow").unwrap();
        assert_eq!(l.level(Lint::MissingDecl), LintLevel::Deny);
        assert_eq!(l.level(Lint::InternalDef), LintLevel::Allow);
        let e = l.set("abi", "deni").unwrap_err();
        assert!(e.contains("did you mean \"deny\"?"), "{e}");
    }
}
