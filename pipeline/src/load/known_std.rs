//! Loading a module without re-listing the standard library.
//!
//! The standard library's part of a package graph depends only on the
//! toolchain (GOROOT, the target, experiments, cgo and its compiler — all
//! in `go env`) and the build tags, not on the module being built. Every
//! full load saves its standard packages as a *std snapshot* keyed on
//! exactly that; a later load with no snapshot of its own (a new module, a
//! new pattern) runs `go list -find` — which classifies the named packages'
//! files but resolves no import, and costs a fraction of `go list -deps` —
//! reads the imports of each Go file itself ([`file_imports`]), resolves
//! them against the std snapshot and, for packages of the main module,
//! further `go list -find` rounds, and puts the graph together in `go list
//! -deps` order.
//!
//! Anything this does not model exactly falls back to the full load
//! (`None`): cgo files, an import outside the standard library and the main
//! module, a vendor directory, a package error, a standard package not in
//! the snapshot, a test load, a PGO profile, a Go file whose imports it
//! cannot read. `GOBUILD_CHECK_FAST_LOAD=1` runs both and fails on any
//! difference (the tests do).

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::load::{run_go_list, GoPackage, LoadRequest, PackageGraph, FIELDS};
use crate::toolchain::Toolchain;

/// The std snapshot file for this toolchain and these tags, under `dir`.
pub fn snapshot_path(dir: &Path, tc: &Toolchain, tags: &[String]) -> PathBuf {
    let mut h = blake3::Hasher::new();
    h.update(crate::cache::CACHE_VERSION.as_bytes());
    h.update(b"\0std snapshot 1\0");
    h.update(this_binary().as_bytes());
    h.update(tc.go.as_os_str().as_encoded_bytes());
    for (k, v) in &tc.env {
        // Where the module is does not change the standard library.
        if matches!(k.as_str(), "GOMOD" | "GOWORK") {
            continue;
        }
        // GOGCCFLAGS names a temporary directory of go env's own.
        let v = match k.as_str() {
            "GOGCCFLAGS" => tc.gcc_flags("$WORK").join(" "),
            _ => v.clone(),
        };
        h.update(format!("\0{k}={v}").as_bytes());
    }
    h.update(format!("\0tags={}", tags.join(",")).as_bytes());
    dir.join(format!("std-{}.json", &h.finalize().to_hex()[..32]))
}

/// This cargo-gobuild binary, by path and `stat` (snapshots are read only
/// by the binary that wrote them: another may read other fields).
pub fn this_binary() -> String {
    std::env::current_exe()
        .ok()
        .and_then(|p| {
            let stat = crate::fshash::Stat::of(&p).ok()?;
            Some(format!(
                "{}\0{}",
                p.display(),
                serde_json::to_string(&stat).ok()?
            ))
        })
        .unwrap_or_default()
}

/// Saves the standard packages of a full load (merged with those saved
/// before: each load may need others).
pub fn save(path: &Path, graph: &PackageGraph) {
    let mut known: BTreeMap<String, GoPackage> = read(path).unwrap_or_default();
    let before = known.len();
    for p in graph.packages.iter().filter(|p| is_std(p)) {
        known
            .entry(p.import_path.clone())
            .or_insert_with(|| normalised(p));
    }
    if known.len() != before {
        if let Ok(data) = serde_json::to_vec(&known) {
            let _ = crate::cache::atomic_write(path, &data);
        }
    }
}

fn read(path: &Path) -> Option<BTreeMap<String, GoPackage>> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// A standard package as any load would list it as a dependency.
fn normalised(p: &GoPackage) -> GoPackage {
    let mut p = p.clone();
    p.match_.clear();
    p.dep_only = true;
    p
}

fn is_std(p: &GoPackage) -> bool {
    p.goroot && p.standard && p.variant_of().is_none() && p.error.is_none() && !p.incomplete
}

/// The graph of `req` from the std snapshot and `go list -find`, or `None`
/// when this load needs the full `go list -deps` (see the module doc).
pub fn load(tc: &Toolchain, req: &LoadRequest, std_path: &Path) -> Result<Option<Vec<GoPackage>>> {
    // GOFLAGS may ask for what changes the graph (-race, -cover,
    // -buildmode, -pgo…); android and ios link externally, which adds
    // runtime/cgo.
    let graph_flag = tc.var("GOFLAGS").split_whitespace().any(|f| {
        let f = f.trim_start_matches('-');
        [
            "race",
            "msan",
            "asan",
            "cover",
            "buildmode",
            "linkshared",
            "ldflags",
            "pgo",
            "mod=vendor",
        ]
        .iter()
        .any(|g| f.starts_with(g))
    });
    if req.test || graph_flag || matches!(tc.goos(), "android" | "ios") {
        return Ok(None);
    }
    let Some(std) = read(std_path) else {
        return Ok(None);
    };
    let Some(roots) = find(tc, req, &req.patterns)? else {
        return Ok(None);
    };
    if roots.is_empty() || roots.iter().any(|p| p.goroot) {
        return Ok(None);
    }
    let module = match roots[0].module.as_ref() {
        Some(m) if m.main && !m.path.is_empty() => m.clone(),
        _ => return Ok(None),
    };
    if Path::new(&module.dir).join("vendor").exists() {
        return Ok(None);
    }
    let mut local: BTreeMap<String, GoPackage> = BTreeMap::new();
    let mut order_roots = Vec::new();
    let mut pending: Vec<GoPackage> = roots;
    for _round in 0..16 {
        let mut missing = BTreeSet::new();
        for mut p in pending.drain(..) {
            if !fits(&p, &module.path) {
                return Ok(None);
            }
            let Some(imports) = package_imports(&p) else {
                return Ok(None);
            };
            let linker_deps_known = !p.is_main()
                || std.contains_key("runtime")
                    && (tc.goarch() != "arm" || std.contains_key("math"));
            if !linker_deps_known {
                return Ok(None);
            }
            for i in &imports {
                if !std.contains_key(i) && !local.contains_key(i) && i != &p.import_path {
                    let in_module = i == &module.path
                        || i.strip_prefix(&module.path)
                            .is_some_and(|r| r.starts_with('/'));
                    if !in_module {
                        return Ok(None);
                    }
                    missing.insert(i.clone());
                }
            }
            p.imports = imports;
            if !p.match_.is_empty() {
                order_roots.push(p.import_path.clone());
            }
            local.insert(p.import_path.clone(), p);
        }
        missing.retain(|m| !local.contains_key(m));
        if missing.is_empty() {
            return Ok(Some(assemble(&order_roots, &local, &std, tc.goarch())));
        }
        let paths: Vec<String> = missing.into_iter().collect();
        let Some(found) = find(tc, req, &paths)? else {
            return Ok(None);
        };
        if found.len() != paths.len() {
            return Ok(None);
        }
        pending = found
            .into_iter()
            .map(|mut p| {
                // Listed to resolve an import: a dependency, not a root.
                p.match_.clear();
                p.dep_only = true;
                p
            })
            .collect();
    }
    Ok(None)
}

/// Is the package one this loader models exactly?
fn fits(p: &GoPackage, module: &str) -> bool {
    p.error.is_none()
        && !p.incomplete
        && !p.goroot
        && p.module
            .as_ref()
            .is_some_and(|m| m.main && m.path == module)
        && p.cgo_files.is_empty()
        && p.non_go_files() == 0
        && p.swig_files.is_empty()
        && p.syso_files.is_empty()
        && !p.go_files.is_empty()
        && !p.go_files.iter().any(|f| f.contains('\u{FFFD}'))
        && !Path::new(&p.dir).join("default.pgo").exists()
}

/// `go list -e -find -json=FIELDS PATHS`; `None` if it failed.
fn find(tc: &Toolchain, req: &LoadRequest, paths: &[String]) -> Result<Option<Vec<GoPackage>>> {
    let fields = format!("-json={FIELDS}");
    let sub = LoadRequest {
        patterns: paths.to_vec(),
        ..req.clone()
    };
    let out = run_go_list(tc, &sub, &["-e", "-find", &fields], tc.go_env())?;
    if !out.status.success() {
        return Ok(None);
    }
    let mut v = Vec::new();
    for p in serde_json::Deserializer::from_slice(&out.stdout).into_iter::<GoPackage>() {
        match p {
            Ok(p) => v.push(p),
            Err(_) => return Ok(None),
        }
    }
    Ok(Some(v))
}

/// The sorted, distinct imports of a package's Go files, as `go list`'s
/// `Imports` (none of them rewritten: no vendoring here).
fn package_imports(p: &GoPackage) -> Option<Vec<String>> {
    let mut all = BTreeSet::new();
    for f in &p.go_files {
        let src = std::fs::read(p.file(f)).ok()?;
        all.extend(file_imports(&src)?);
    }
    Some(all.into_iter().collect())
}

/// The `go list -deps` order: from each root in turn, every package after
/// its imports (visited in sorted order), each once; `Deps` the sorted
/// closure of its imports.
fn assemble(
    roots: &[String],
    local: &BTreeMap<String, GoPackage>,
    std: &BTreeMap<String, GoPackage>,
    goarch: &str,
) -> Vec<GoPackage> {
    let get = |path: &str| local.get(path).or_else(|| std.get(path));
    let walk = |p: &GoPackage| walk_order(p, goarch);
    let mut order: Vec<String> = Vec::new();
    let mut seen: HashMap<String, bool> = HashMap::new();
    fn visit<'a>(
        path: &str,
        get: &dyn Fn(&str) -> Option<&'a GoPackage>,
        walk: &dyn Fn(&GoPackage) -> Vec<String>,
        seen: &mut HashMap<String, bool>,
        order: &mut Vec<String>,
    ) {
        if seen.contains_key(path) {
            return;
        }
        seen.insert(path.to_string(), true);
        if let Some(p) = get(path) {
            for i in walk(p) {
                visit(&i, get, walk, seen, order);
            }
        }
        order.push(path.to_string());
    }
    for r in roots {
        visit(r, &get, &walk, &mut seen, &mut order);
    }
    let mut deps_of: HashMap<String, BTreeSet<String>> = HashMap::new();
    let mut out = Vec::new();
    for path in &order {
        let Some(p) = get(path) else { continue };
        let mut p = p.clone();
        if local.contains_key(path) {
            let mut deps = BTreeSet::new();
            for i in &walk(&p) {
                deps.insert(i.clone());
                deps.extend(deps_of.get(i).cloned().unwrap_or_default());
            }
            p.deps = deps.iter().cloned().collect();
            deps_of.insert(path.clone(), deps);
        } else {
            deps_of.insert(path.clone(), p.deps.iter().cloned().collect());
        }
        out.push(p);
    }
    out
}

/// The imports of `p` in the order `go list -deps` walks them (cmd/go's
/// `Internal.Imports`): the imports as written, sorted, each resolved
/// through `ImportMap` (the standard library's vendored packages), then
/// what cgo adds (`unsafe`, `runtime/cgo`, `syscall`), then for a main
/// package what the linker needs (`LinkerDeps`: `runtime`, and `math` on
/// arm), each if not there yet.
fn walk_order(p: &GoPackage, goarch: &str) -> Vec<String> {
    let written: BTreeMap<&str, &str> = p
        .imports
        .iter()
        .map(|resolved| {
            let raw = p
                .import_map
                .iter()
                .find(|(_, r)| *r == resolved)
                .map_or(resolved.as_str(), |(raw, _)| raw.as_str());
            (raw, resolved.as_str())
        })
        .collect();
    let mut v: Vec<String> = written.values().map(|r| r.to_string()).collect();
    if p.uses_cgo() {
        let std = |names: &[&str]| p.standard && names.contains(&p.import_path.as_str());
        let mut implicit = vec!["unsafe"];
        if !std(&["runtime/cgo"]) {
            implicit.push("runtime/cgo");
        }
        if !std(&[
            "runtime/cgo",
            "runtime/race",
            "runtime/msan",
            "runtime/asan",
        ]) {
            implicit.push("syscall");
        }
        for i in implicit {
            if !v.iter().any(|x| x == i) {
                v.push(i.to_string());
            }
        }
    }
    if p.is_main() {
        let mut linker = vec!["runtime"];
        if goarch == "arm" {
            linker.push("math");
        }
        for i in linker {
            if !v.iter().any(|x| x == i) {
                v.push(i.to_string());
            }
        }
    }
    v
}

/// The import paths of a Go source file: its package clause, then every
/// import declaration (single or grouped, with or without a name), up to
/// the first other declaration. `None` when the header is not what this
/// reader knows (an escape in a path, a token out of place).
pub fn file_imports(src: &[u8]) -> Option<Vec<String>> {
    let mut lx = Lexer {
        src: src.strip_prefix(b"\xef\xbb\xbf").unwrap_or(src),
        at: 0,
    };
    if lx.token()? != Tok::Ident("package".into()) {
        return None;
    }
    let Tok::Ident(_) = lx.token()? else {
        return None;
    };
    let mut paths = Vec::new();
    loop {
        match lx.next() {
            Some(Tok::Semi) => continue,
            Some(Tok::Ident(kw)) if kw == "import" => {}
            // The first declaration that is not an import (or the end).
            _ => return Some(paths),
        }
        match lx.next()? {
            Tok::Open => loop {
                match lx.next()? {
                    Tok::Close => break,
                    Tok::Semi | Tok::Ident(_) | Tok::Dot => {}
                    Tok::Str(s) => paths.push(s),
                    Tok::Open | Tok::Other => return None,
                }
            },
            Tok::Str(s) => paths.push(s),
            Tok::Ident(_) | Tok::Dot => match lx.next()? {
                Tok::Str(s) => paths.push(s),
                _ => return None,
            },
            _ => return None,
        }
    }
}

#[derive(Debug, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Open,
    Close,
    Dot,
    /// A newline or `;` (where Go would insert or read a semicolon).
    Semi,
    Other,
}

struct Lexer<'a> {
    src: &'a [u8],
    at: usize,
}

impl Lexer<'_> {
    /// The next token that is not a line end.
    fn token(&mut self) -> Option<Tok> {
        loop {
            match self.next()? {
                Tok::Semi => continue,
                t => return Some(t),
            }
        }
    }

    fn next(&mut self) -> Option<Tok> {
        let s = self.src;
        loop {
            let c = *s.get(self.at)?;
            match c {
                b' ' | b'\t' | b'\r' => self.at += 1,
                b'\n' | b';' => {
                    self.at += 1;
                    return Some(Tok::Semi);
                }
                b'/' if s.get(self.at + 1) == Some(&b'/') => {
                    while s.get(self.at).is_some_and(|c| *c != b'\n') {
                        self.at += 1;
                    }
                }
                b'/' if s.get(self.at + 1) == Some(&b'*') => {
                    let rest = &s[self.at + 2..];
                    let end = rest.windows(2).position(|w| w == b"*/")?;
                    let newline = rest[..end].contains(&b'\n');
                    self.at += 2 + end + 2;
                    if newline {
                        return Some(Tok::Semi);
                    }
                }
                _ => break,
            }
        }
        let c = s[self.at];
        let tok = match c {
            b'(' => Tok::Open,
            b')' => Tok::Close,
            b'.' => Tok::Dot,
            b'"' | b'`' => {
                let body = &s[self.at + 1..];
                let end = body
                    .iter()
                    .position(|b| *b == c || (c == b'"' && *b == b'\n'))?;
                let text = &body[..end];
                if body[end] != c || (c == b'"' && text.contains(&b'\\')) {
                    return None;
                }
                self.at += end + 2;
                return Some(Tok::Str(String::from_utf8(text.to_vec()).ok()?));
            }
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let start = self.at;
                while s
                    .get(self.at)
                    .is_some_and(|c| *c == b'_' || c.is_ascii_alphanumeric() || *c >= 0x80)
                {
                    self.at += 1;
                }
                return Some(Tok::Ident(
                    String::from_utf8_lossy(&s[start..self.at]).into_owned(),
                ));
            }
            _ => Tok::Other,
        };
        self.at += 1;
        Some(tok)
    }
}

/// Compares the fast graph with the full one (`GOBUILD_CHECK_FAST_LOAD`).
pub fn check_same(fast: &[GoPackage], full: &PackageGraph) -> Result<()> {
    let a: Vec<&str> = fast.iter().map(|p| p.import_path.as_str()).collect();
    let b: Vec<&str> = full
        .packages
        .iter()
        .map(|p| p.import_path.as_str())
        .collect();
    if a != b {
        let at = a
            .iter()
            .zip(&b)
            .position(|(x, y)| x != y)
            .unwrap_or(a.len().min(b.len()));
        let around = |v: &[&str]| v[at.saturating_sub(2)..(at + 4).min(v.len())].join(", ");
        return Err(Error::Tool {
            program: "cargo gobuild".into(),
            message: format!(
                "fast load: the package order differs from go list -deps at {at} ({} vs {} packages):\n  fast: {}\n  full: {}",
                a.len(),
                b.len(),
                around(&a),
                around(&b)
            ),
        });
    }
    for (x, y) in fast.iter().zip(&full.packages) {
        if x != y {
            return Err(Error::Tool {
                program: "cargo gobuild".into(),
                message: format!(
                    "fast load: {} differs from go list -deps:\n  fast: {}\n  full: {}",
                    x.import_path,
                    serde_json::to_string(x).unwrap_or_default(),
                    serde_json::to_string(y).unwrap_or_default()
                ),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::file_imports;

    #[test]
    fn imports_are_read_from_the_header() {
        let src = b"\xef\xbb\xbf// Copyright\n\n//go:build linux\n\n/* a\n block */ package main // x\n\nimport \"fmt\"\nimport (\n\t_ \"embed\"\n\tstr \"strings\" // s\n\t. \"math\"\n\t`net/http`; \"os\"\n)\nimport alias \"example.com/m/sum\"\n\nfunc main() { import_ := 1 }\n";
        assert_eq!(
            file_imports(src).unwrap(),
            [
                "fmt",
                "embed",
                "strings",
                "math",
                "net/http",
                "os",
                "example.com/m/sum"
            ]
        );
        assert_eq!(file_imports(b"package p\n").unwrap(), Vec::<String>::new());
        assert_eq!(
            file_imports(b"package p; import \"a\"; var x = 1").unwrap(),
            ["a"]
        );
        // What it does not know, it does not guess.
        assert!(file_imports(b"import \"fmt\"").is_none());
        assert!(file_imports(b"package p\nimport \"a\\u0062\"\n").is_none());
        assert!(file_imports(b"package p\nimport (\n\"a\"\n").is_none());
        assert!(file_imports(b"package p\nimport \"unterminated\n").is_none());
        assert!(file_imports(b"package p\nimport /* open").is_none());
    }
}
