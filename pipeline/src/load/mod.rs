//! Loading: the package graph from `go list -e -deps -json` (with
//! `CGO_ENABLED=0` and the target's GOOS/GOARCH), package errors with their
//! positions, the cgo check, and the `//go:embed` configuration.
//!
//! `go list` alone costs more than a whole no-op `go build`, so a successful
//! load is kept as a [`Snapshot`] together with the `stat` of everything that
//! could change its answer (every workspace directory, source file, go.mod
//! and go.sum, and the go binary); when none changed, the snapshot is reused.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, IoContext, Result};
use crate::toolchain::Toolchain;

pub mod cover;
mod errors;
pub mod known_std;
pub mod snapshot;

pub use errors::check_c_compiler;
use errors::{
    cgo_files, cgo_only_packages, format_package_error, importing_file, module_error, no_module,
};

pub use snapshot::{load_relevant, Snapshot, Watched};

/// The `go list` fields we read (passed as `-json=...`, which also spares
/// `go list` the staleness computation).
const FIELDS: &str = "Dir,ImportPath,Name,Goroot,Standard,Module,Match,DepOnly,DefaultGODEBUG,\
GoFiles,CgoFiles,IgnoredGoFiles,SFiles,HFiles,CFiles,CXXFiles,MFiles,FFiles,SysoFiles,\
SwigFiles,SwigCXXFiles,CgoCFLAGS,CgoCPPFLAGS,CgoCXXFLAGS,CgoFFLAGS,CgoLDFLAGS,CgoPkgConfig,\
EmbedPatterns,EmbedFiles,Imports,ImportMap,Deps,Error,DepsErrors,Incomplete,IgnoredOtherFiles";

/// A module, as `go list` reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct GoModule {
    /// Module path.
    pub path: String,
    /// Version ("" for the main module).
    pub version: String,
    /// Is this the main module?
    pub main: bool,
    /// Its directory.
    pub dir: String,
    /// Its go.mod file.
    pub go_mod: String,
    /// The `go` line of its go.mod.
    pub go_version: String,
    /// Its replacement, if replaced.
    pub replace: Option<Box<GoModule>>,
    /// go.sum hash of the module zip.
    pub sum: String,
}

/// A package error from `go list`.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
pub struct PackageError {
    /// Import stack leading to the package.
    pub import_stack: Vec<String>,
    /// `file:line:col`, when known.
    pub pos: String,
    /// The message.
    pub err: String,
}

/// One package of the graph, as `go list -json` reports it.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "PascalCase", default)]
#[allow(missing_docs)]
pub struct GoPackage {
    pub dir: String,
    pub import_path: String,
    pub name: String,
    pub goroot: bool,
    pub standard: bool,
    pub module: Option<GoModule>,
    #[serde(rename = "DefaultGODEBUG")]
    pub default_godebug: String,
    #[serde(rename = "Match")]
    pub match_: Vec<String>,
    pub dep_only: bool,
    pub go_files: Vec<String>,
    pub cgo_files: Vec<String>,
    pub ignored_go_files: Vec<String>,
    /// Non-Go files excluded by build constraints (vet's `-buildtags`
    /// checks them: `IgnoredFiles` in `vet.cfg`).
    pub ignored_other_files: Vec<String>,
    pub s_files: Vec<String>,
    pub h_files: Vec<String>,
    pub c_files: Vec<String>,
    /// `CXXFiles` (serde's PascalCase would say `CxxFiles`).
    #[serde(rename = "CXXFiles")]
    pub cxx_files: Vec<String>,
    pub m_files: Vec<String>,
    pub f_files: Vec<String>,
    pub syso_files: Vec<String>,
    pub swig_files: Vec<String>,
    #[serde(rename = "SwigCXXFiles")]
    pub swig_cxx_files: Vec<String>,
    #[serde(rename = "CgoCFLAGS")]
    pub cgo_cflags: Vec<String>,
    #[serde(rename = "CgoCPPFLAGS")]
    pub cgo_cppflags: Vec<String>,
    #[serde(rename = "CgoCXXFLAGS")]
    pub cgo_cxxflags: Vec<String>,
    #[serde(rename = "CgoFFLAGS")]
    pub cgo_fflags: Vec<String>,
    #[serde(rename = "CgoLDFLAGS")]
    pub cgo_ldflags: Vec<String>,
    pub cgo_pkg_config: Vec<String>,
    pub embed_patterns: Vec<String>,
    pub embed_files: Vec<String>,
    pub imports: Vec<String>,
    pub import_map: BTreeMap<String, String>,
    pub deps: Vec<String>,
    pub error: Option<PackageError>,
    pub deps_errors: Vec<PackageError>,
    pub incomplete: bool,
    /// How a `-cover` test build instruments the package (ours, not `go
    /// list`'s: [`cover::mark_covered`]).
    #[serde(rename = "GobuildCover", skip_serializing_if = "Option::is_none")]
    pub cover: Option<cover::CoverSetup>,
}

impl GoPackage {
    /// Is this a main package (one that links to a program)?
    pub fn is_main(&self) -> bool {
        self.name == "main"
    }

    /// No Go files to compile in this configuration (cgo files included)?
    pub fn has_no_go_files(&self) -> bool {
        self.go_files.is_empty() && self.cgo_files.is_empty()
    }

    /// Absolute path of a file of the package, as it is on disk: a name
    /// that is not UTF-8 reaches us from `go list -json` with U+FFFD in it
    /// and is resolved to the directory entry it stands for (see
    /// [`crate::util::resolve_lossy`]; `go_list` rejects ambiguous names).
    pub fn file(&self, name: &str) -> PathBuf {
        let path = Path::new(&self.dir).join(name);
        crate::util::resolve_lossy(Path::new("/"), &path).unwrap_or(path)
    }

    /// Files of the package whose names `go list -json` reported lossily
    /// (not UTF-8) and that stand for more than one file on disk, or none.
    fn unresolvable_names(&self) -> Vec<String> {
        self.go_files
            .iter()
            .chain(&self.ignored_go_files)
            .chain(&self.s_files)
            .chain(&self.h_files)
            .chain(&self.embed_files)
            .filter(|f| f.contains('\u{FFFD}'))
            .filter(|f| std::fs::symlink_metadata(self.file(f)).is_err())
            .cloned()
            .collect()
    }

    /// The import path without a variant suffix: `go list -deps` names the
    /// copies of packages built with a main package's PGO profile
    /// `fmt [cmd/compile]`; the tools only ever see `fmt`.
    pub fn base_path(&self) -> &str {
        self.import_path
            .split_once(" [")
            .map_or(self.import_path.as_str(), |(base, _)| base)
    }

    /// For a variant (`fmt [cmd/compile]`), the main package it is built for.
    pub fn variant_of(&self) -> Option<&str> {
        self.import_path
            .split_once(" [")
            .and_then(|(_, rest)| rest.strip_suffix(']'))
    }

    /// Is this the main package `go list -test` makes for a package's tests
    /// (`P.test`, whose only Go file is the generated `_testmain.go`)?
    pub fn is_test_main(&self) -> bool {
        self.is_main() && self.import_path.ends_with(".test") && self.variant_of().is_none()
    }

    /// For a test main `P.test`, the package it tests.
    pub fn tested_package(&self) -> Option<&str> {
        self.is_test_main()
            .then(|| self.import_path.strip_suffix(".test"))
            .flatten()
    }

    /// The `-p` path cmd/go compiles the package as (`main` for commands).
    pub fn compile_path(&self) -> &str {
        if self.is_main() {
            "main"
        } else {
            self.base_path()
        }
    }

    /// Does the package use cgo (`import "C"`, with cgo on)?
    pub fn uses_cgo(&self) -> bool {
        !self.cgo_files.is_empty()
    }

    /// The `.s` files the Go assembler assembles: all of them, but in a cgo
    /// package, whose assembly gcc assembles, none — except runtime/cgo,
    /// whose `gcc_*` files go to gcc and the rest to asm (cmd/go's
    /// `cgoAction`).
    pub fn go_asm_files(&self) -> Vec<String> {
        if !self.uses_cgo() {
            return self.s_files.clone();
        }
        if self.standard && self.import_path == "runtime/cgo" {
            return self
                .s_files
                .iter()
                .filter(|f| !f.starts_with("gcc_"))
                .cloned()
                .collect();
        }
        Vec::new()
    }

    /// The assembly files of a cgo package that gcc assembles.
    pub fn gcc_s_files(&self) -> Vec<String> {
        if !self.uses_cgo() {
            return Vec::new();
        }
        let go_asm = self.go_asm_files();
        self.s_files
            .iter()
            .filter(|f| !go_asm.contains(f))
            .cloned()
            .collect()
    }

    /// Does the package have files other than Go and assembly that `go build`
    /// would hand to a C toolchain?
    pub fn non_go_files(&self) -> usize {
        self.cgo_files.len()
            + self.c_files.len()
            + self.cxx_files.len()
            + self.m_files.len()
            + self.f_files.len()
            + self.swig_files.len()
            + self.swig_cxx_files.len()
    }
}

/// What to load.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct LoadRequest {
    /// Package patterns (default `./...`).
    pub patterns: Vec<String>,
    /// Build tags (`-tags`).
    pub tags: Vec<String>,
    /// Directory `go list` runs in (patterns are relative to it).
    pub dir: PathBuf,
    /// Load the test variants too (`go list -test`): per package with tests
    /// `P [P.test]`, `P_test [P.test]` and the test main `P.test`.
    #[serde(default)]
    pub test: bool,
    /// With `test`: the `-covermode` of a `-cover` test build (`go list
    /// -cover` lists what a covered test binary links).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cover: Option<String>,
}

/// The loaded package graph, dependencies before dependents.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PackageGraph {
    /// All packages, in `go list -deps` order (every package after its dependencies).
    pub packages: Vec<GoPackage>,
    /// Import path → index.
    #[serde(skip)]
    index: HashMap<String, usize>,
}

impl PackageGraph {
    /// Builds the graph from `go list` output, checking errors and cgo.
    pub fn new(packages: Vec<GoPackage>, patterns: &[String]) -> Result<PackageGraph> {
        let mut graph = PackageGraph {
            packages,
            index: HashMap::new(),
        };
        graph.reindex();
        graph.check(patterns)?;
        Ok(graph)
    }

    fn reindex(&mut self) {
        self.index = self
            .packages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.import_path.clone(), i))
            .collect();
    }

    /// Looks up a package by import path.
    pub fn get(&self, import_path: &str) -> Option<usize> {
        self.index.get(import_path).copied()
    }

    /// The packages the patterns matched (not only dependencies). Like
    /// go build, a package matched only by a wildcard that has no Go files
    /// for this build (test-only, or excluded by build constraints) is left
    /// out; named literally, it is an error (see `check`).
    pub fn roots(&self) -> impl Iterator<Item = usize> + '_ {
        self.packages
            .iter()
            .enumerate()
            .filter(|(_, p)| !p.dep_only)
            .filter(|(_, p)| {
                let wildcard_only = p.match_.iter().all(|m| m.contains("..."));
                !(p.has_no_go_files() && p.error.is_none() && wildcard_only)
            })
            .map(|(i, _)| i)
    }

    /// Indices of a package's direct imports.
    pub fn imports(&self, pkg: usize) -> Vec<usize> {
        self.packages[pkg]
            .imports
            .iter()
            .filter(|i| {
                let base = i.split_once(" [").map_or(i.as_str(), |(b, _)| b);
                base != "C" && base != "unsafe"
            })
            .filter_map(|i| self.get(i))
            .collect()
    }

    /// Indices of all transitive dependencies of a package (not itself), in graph order.
    pub fn deps(&self, pkg: usize) -> Vec<usize> {
        let mut v: Vec<usize> = self.packages[pkg]
            .deps
            .iter()
            .filter_map(|d| self.get(d))
            .collect();
        v.sort_unstable();
        v
    }

    fn check(&self, patterns: &[String]) -> Result<()> {
        if self.roots().next().is_none() {
            return Err(Error::NoPackages {
                patterns: patterns.to_vec(),
            });
        }
        let mut errors = Vec::new();
        for i in self.roots() {
            let p = &self.packages[i];
            if p.has_no_go_files() && p.error.is_none() {
                let cgo = cgo_files(p);
                if !cgo.is_empty() {
                    return Err(Error::Cgo {
                        package: p.import_path.clone(),
                        files: cgo,
                    });
                }
                errors.push(format!(
                    "package {}: build constraints exclude all Go files in {}",
                    p.import_path, p.dir
                ));
            }
        }
        for p in &self.packages {
            if let Some(e) = &p.error {
                if e.err.contains("build constraints exclude all Go files") {
                    let cgo = cgo_files(p);
                    if !cgo.is_empty() {
                        return Err(Error::Cgo {
                            package: p.import_path.clone(),
                            files: cgo,
                        });
                    }
                }
                errors.push(self.format_package_error(p, e));
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            errors.dedup();
            Err(Error::Packages { errors })
        }
    }

    /// A package error as go build words it; an import cycle is named by
    /// its chain, each import with the file it is in (`go list -json`
    /// gives the chain without the files: they are found in the importers).
    fn format_package_error(&self, p: &GoPackage, e: &PackageError) -> String {
        if e.err.contains("import cycle not allowed") && e.import_stack.len() > 1 {
            let mut chain = vec![e.import_stack[0].clone()];
            for w in e.import_stack.windows(2) {
                let from = self
                    .get(&w[0])
                    .and_then(|i| importing_file(&self.packages[i], &w[1]));
                chain.push(match from {
                    Some(f) => format!("{} from {f}", w[1]),
                    None => w[1].clone(),
                });
            }
            return format!(
                "package {}: {}",
                chain.join("\n\timports "),
                e.err.trim_end()
            );
        }
        format_package_error(p, e)
    }
}

/// `go list ARGS -- PATTERNS` (with the request's tags) in the request's
/// directory; its raw output.
pub(super) fn run_go_list(
    tc: &Toolchain,
    req: &LoadRequest,
    flags: &[&str],
    env: std::collections::HashMap<String, String>,
) -> Result<std::process::Output> {
    let mut args: Vec<String> = std::iter::once("list")
        .chain(flags.iter().copied())
        .map(str::to_string)
        .collect();
    if !req.tags.is_empty() {
        args.push(format!("-tags={}", req.tags.join(",")));
    }
    args.push("--".into());
    args.extend(req.patterns.iter().cloned());
    duct::cmd(&tc.go, &args)
        .dir(&req.dir)
        .before_spawn(|c| {
            crate::util::die_with_parent(c);
            Ok(())
        })
        .full_env(env)
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| Error::Tool {
            program: tc.go.display().to_string(),
            message: e.to_string(),
        })
}

/// Runs `go list -e -deps -json` for the request.
pub fn go_list(tc: &Toolchain, req: &LoadRequest) -> Result<PackageGraph> {
    let fields = format!("-json={FIELDS}");
    let mut flags = vec!["-e", "-deps"];
    if req.test {
        flags.push("-test");
    }
    let covermode = req.cover.as_ref().map(|m| format!("-covermode={m}"));
    if let Some(m) = &covermode {
        flags.extend(["-cover", m.as_str()]);
    }
    flags.push(&fields);
    let out = run_go_list(tc, req, &flags, tc.go_env())?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        // `go list -e` reports package errors in the JSON; a failure here is
        // about the module itself (no go.mod, a bad one, one for a newer
        // Go…): the workspace could not be loaded.
        return Err(module_error(tc, req, &stderr));
    }
    let mut packages = Vec::new();
    for p in serde_json::Deserializer::from_slice(&out.stdout).into_iter::<GoPackage>() {
        packages.push(p.map_err(|e| Error::Tool {
            program: "go list".into(),
            message: format!("unreadable JSON: {e}"),
        })?);
    }
    for p in &packages {
        let bad = p.unresolvable_names();
        if !bad.is_empty() {
            return Err(Error::Packages {
                errors: vec![format!(
                    "package {}: {}: cannot tell which file `go list` means by {} (its name is not UTF-8, and it reads the same as another name in {}, or as none) (hint: rename the file to a UTF-8 name)",
                    p.import_path,
                    p.dir,
                    bad.join(", "),
                    p.dir
                )],
            });
        }
    }
    if packages.iter().any(|p| {
        p.error
            .as_ref()
            .is_some_and(|e| e.err.contains("does not contain main module"))
    }) {
        // `./...` outside any module: say that, not "pattern ./...: …".
        if let Some(e) = no_module(tc, req) {
            return Err(e);
        }
    }
    let graph = PackageGraph::new(packages, &req.patterns);
    if let Ok(g) = &graph {
        check_c_compiler(tc, g)?;
    }
    if let Err(Error::NoPackages { .. }) = &graph {
        // With CGO_ENABLED=0 a package made only of cgo files vanishes;
        // say so instead of "matched no packages".
        if let Some(e) = cgo_only_packages(tc, req) {
            return Err(e);
        }
        let stderr = stderr.trim();
        if !stderr.is_empty() && !stderr.contains("matched no packages") {
            return Err(Error::Packages {
                errors: vec![stderr.to_string()],
            });
        }
    }
    graph
}

/// `go list -test` names each test main's generated `_testmain.go` by a
/// path into go's own build cache, which go may trim at any time: copy each
/// into `dir` (by content) and point the package at the copy.
pub fn keep_testmains(graph: &mut PackageGraph, dir: &Path) -> Result<()> {
    for p in graph.packages.iter_mut().filter(|p| p.is_test_main()) {
        for f in p.go_files.iter_mut() {
            let src = Path::new(f.as_str());
            if !src.is_absolute() || src.starts_with(dir) {
                continue;
            }
            let data = std::fs::read(src).at(src)?;
            let hex = blake3::hash(&data).to_hex().to_string();
            let dest = dir.join(&hex[..32]).join("_testmain.go");
            if !dest.is_file() {
                crate::cache::atomic_write(&dest, &data)?;
            }
            *f = dest.display().to_string();
        }
    }
    Ok(())
}

/// The `-embedcfg` file content for a package with `//go:embed`, as cmd/go
/// writes it: each pattern mapped to the embedded files it matches, and each
/// file to its absolute path.
pub fn embedcfg(p: &GoPackage) -> Option<String> {
    if p.embed_patterns.is_empty() {
        return None;
    }
    let mut patterns: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for pat in &p.embed_patterns {
        let glob_src = pat.strip_prefix("all:").unwrap_or(pat);
        let matched = match glob::Pattern::new(glob_src) {
            Ok(g) => p
                .embed_files
                .iter()
                .filter(|f| embed_matches(&g, f))
                .map(String::as_str)
                .collect(),
            Err(_) => Vec::new(),
        };
        patterns.insert(pat, matched);
    }
    let files: BTreeMap<&str, String> = p
        .embed_files
        .iter()
        .map(|f| (f.as_str(), p.file(f).display().to_string()))
        .collect();
    #[derive(Serialize)]
    #[serde(rename_all = "PascalCase")]
    struct EmbedCfg<'a> {
        patterns: BTreeMap<&'a str, Vec<&'a str>>,
        files: BTreeMap<&'a str, String>,
    }
    Some(serde_json::to_string_pretty(&EmbedCfg { patterns, files }).expect("embedcfg serializes"))
}

/// A `//go:embed` pattern matches a file if it matches the file's path or
/// one of its parent directories (path.Match semantics: `*` stops at `/`).
fn embed_matches(pattern: &glob::Pattern, file: &str) -> bool {
    let opts = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: false,
    };
    let mut prefix = String::new();
    for (i, part) in file.split('/').enumerate() {
        if i > 0 {
            prefix.push('/');
        }
        prefix.push_str(part);
        if pattern.matches_with(&prefix, opts) {
            return true;
        }
    }
    false
}

/// Makes sure `dir` exists, for error messages that name it.
pub fn check_dir(dir: &Path) -> Result<()> {
    std::fs::metadata(dir).at(dir).map(|_| ())
}

/// A package graph made up in code, for the planner's and the scheduler's
/// unit tests: `(import path, imports, .s files)`, dependencies first; a
/// package named `main` or ending in `/cmd/...` is a main package.
#[cfg(test)]
pub fn synthetic_graph(pkgs: &[(&str, &[&str], &[&str])]) -> PackageGraph {
    let mut packages: Vec<GoPackage> = Vec::new();
    for (path, imports, s_files) in pkgs {
        let mut deps: Vec<String> = Vec::new();
        for i in *imports {
            let dep = packages
                .iter()
                .find(|p| p.import_path == *i)
                .expect("synthetic graph: imports come first");
            deps.extend(dep.deps.iter().cloned());
            deps.push(i.to_string());
        }
        deps.sort();
        deps.dedup();
        let main = *path == "main" || path.contains("/cmd/");
        packages.push(GoPackage {
            dir: format!("/src/{path}"),
            import_path: path.to_string(),
            name: if main {
                "main".into()
            } else {
                path.rsplit('/').next().unwrap_or(path).into()
            },
            match_: vec![path.to_string()],
            go_files: vec!["a.go".into()],
            s_files: s_files.iter().map(|s| s.to_string()).collect(),
            imports: imports.iter().map(|s| s.to_string()).collect(),
            deps,
            ..Default::default()
        });
    }
    // Only the last package was named; the others are dependencies.
    let n = packages.len();
    for p in &mut packages[..n - 1] {
        p.dep_only = true;
        p.match_.clear();
    }
    PackageGraph::new(packages, &[]).expect("synthetic graph is valid")
}

#[cfg(test)]
mod tests {
    use super::errors::{file_imports, imports_c};
    use super::*;

    #[test]
    fn detects_import_c() {
        assert!(imports_c("package a\n\nimport \"C\"\n"));
        assert!(imports_c("package a\nimport (\n\t\"fmt\"\n\t\"C\"\n)\n"));
        assert!(!imports_c(
            "package a\nimport \"fmt\"\nfunc f() { _ = \"C\" }\n"
        ));
    }

    #[test]
    fn reads_import_declarations() {
        let src = "package a\n\nimport \"fmt\"\nimport x \"example.com/x\" // why\nimport (\n\t\"os\"\n\t_ \"embed\"\n\t. `example.com/dot`\n)\nimport (\"strings\"; \"bytes\")\n\nfunc f() { _ = \"example.com/not\" }\n";
        assert_eq!(
            file_imports(src),
            [
                "fmt",
                "example.com/x",
                "os",
                "embed",
                "example.com/dot",
                "strings",
                "bytes"
            ]
        );
    }

    #[test]
    fn an_import_cycle_names_its_chain_with_files() {
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        for (sub, src) in [
            ("a", "package a\nimport \"m/b\"\n"),
            ("b", "package b\nimport \"m/a\"\n"),
        ] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
            std::fs::write(dir.path().join(sub).join(format!("{sub}.go")), src).unwrap();
        }
        let stack: Vec<String> = ["m", "m/a", "m/b", "m/a"].map(String::from).to_vec();
        let pkg = |path: &str, file: &str, error: bool| GoPackage {
            dir: format!(
                "{d}/{}",
                path.trim_start_matches("m").trim_start_matches('/')
            ),
            import_path: path.into(),
            name: path.rsplit('/').next().unwrap().into(),
            go_files: vec![file.into()],
            match_: vec!["./...".into()],
            error: error.then(|| PackageError {
                import_stack: stack.clone(),
                pos: String::new(),
                err: "import cycle not allowed".into(),
            }),
            ..Default::default()
        };
        // main.go is missing on disk: that step is named without a file.
        let packages = vec![
            pkg("m/b", "b.go", false),
            pkg("m/a", "a.go", true),
            pkg("m", "main.go", false),
        ];
        let Err(Error::Packages { errors }) = PackageGraph::new(packages, &[]) else {
            panic!("a cycle is a package error");
        };
        assert_eq!(
            errors,
            ["package m\n\timports m/a\n\timports m/b from a.go\n\timports m/a from b.go: import cycle not allowed"]
        );
    }

    #[test]
    fn embed_patterns_match_files_and_dirs() {
        let p = |s| glob::Pattern::new(s).unwrap();
        assert!(embed_matches(&p("version.txt"), "version.txt"));
        assert!(embed_matches(&p("static"), "static/css/a.css"));
        assert!(embed_matches(&p("*.txt"), "a.txt"));
        assert!(!embed_matches(&p("*.txt"), "dir/a.txt"));
        assert!(embed_matches(&p("s*"), "static/a.css"));
    }

    #[test]
    fn embedcfg_has_patterns_and_files() {
        let p = GoPackage {
            dir: "/m/cmd".into(),
            embed_patterns: vec!["version.txt".into(), "static".into()],
            embed_files: vec!["static/a.css".into(), "version.txt".into()],
            ..Default::default()
        };
        let cfg: serde_json::Value = serde_json::from_str(&embedcfg(&p).unwrap()).unwrap();
        assert_eq!(cfg["Patterns"]["static"][0], "static/a.css");
        assert_eq!(cfg["Patterns"]["version.txt"][0], "version.txt");
        assert_eq!(cfg["Files"]["version.txt"], "/m/cmd/version.txt");
    }

    #[test]
    fn body_edits_are_not_load_relevant_but_imports_are() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("a.go");
        let base =
            "//go:build linux\n\npackage a\n\nimport \"fmt\"\n\nfunc F() { fmt.Println(1) }\n";
        std::fs::write(&f, base).unwrap();
        let d0 = load_relevant(&f);
        std::fs::write(&f, base.replace("Println(1)", "Println(2)")).unwrap();
        assert_eq!(
            load_relevant(&f),
            d0,
            "a body edit must not invalidate the load"
        );
        std::fs::write(&f, base.replace("\"fmt\"", "\"os\"")).unwrap();
        assert_ne!(load_relevant(&f), d0, "an import edit must");
        std::fs::write(&f, base.replace("linux", "darwin")).unwrap();
        assert_ne!(load_relevant(&f), d0, "a build constraint edit must");
        std::fs::write(&f, format!("{base}\n//go:embed x.txt\nvar s string\n")).unwrap();
        assert_ne!(load_relevant(&f), d0, "an embed directive must");
        let d = load_relevant(dir.path());
        std::fs::write(dir.path().join("b.go"), "package a\n").unwrap();
        assert_ne!(load_relevant(dir.path()), d, "a new file must");
    }

    #[test]
    fn no_roots_is_no_packages() {
        let e = PackageGraph::new(vec![], &["./nothing/...".into()]).unwrap_err();
        assert!(matches!(e, Error::NoPackages { .. }));
    }
}
