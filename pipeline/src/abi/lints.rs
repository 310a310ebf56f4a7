//! The ABI lints: mistakes the linker would report late and badly
//! (a bodyless Go declaration no assembly defines, assembly without a Go
//! declaration, `<ABIInternal>` outside the standard library, assembly
//! calling an unexported Go function of another package), with file:line.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::load::GoPackage;

use super::*;

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
pub(super) fn go_linknames(p: &GoPackage) -> Vec<GoLinkname> {
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

pub(super) fn asm_sites(p: &GoPackage) -> Vec<AsmSite> {
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

/// Runs the lints over the workspace's packages outside GOROOT whose
/// compile completed (not over third-party dependencies, like cargo, which
/// caps the lints of dependencies); returns the findings in package order.
pub fn lint_build(b: &dyn BuildView, levels: &LintLevels) -> Vec<Finding> {
    let mut all = Vec::new();
    for pi in b.compiled_packages() {
        let p = &b.graph().packages[pi];
        // The workspace's packages: its main modules' and those named on
        // the command line.
        let own = p.module.as_ref().is_some_and(|m| m.main) || !p.dep_only;
        if p.goroot || !own {
            continue;
        }
        let symabis = b.symabis(pi).unwrap_or_default();
        all.extend(lint_package(
            p,
            &symabis,
            levels,
            b.goos(),
            b.goarch(),
            &|path| b.graph().get(path).and_then(|i| b.symabis(i)),
        ));
    }
    all
}
