//! Why a load failed, worded for the user: package errors with their
//! positions and import chains, cgo-only packages, no module or a go.mod
//! for a newer Go (102), no C compiler.

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};
use crate::load::{run_go_list, GoPackage, LoadRequest, PackageError, PackageGraph};
use crate::toolchain::Toolchain;

/// The first Go file of `p` (in go list's order) that imports `path`.
pub(super) fn importing_file(p: &GoPackage, path: &str) -> Option<String> {
    p.go_files
        .iter()
        .find(|f| {
            std::fs::read_to_string(p.file(f))
                .is_ok_and(|src| file_imports(&src).iter().any(|i| i == path))
        })
        .cloned()
}

/// The import paths of Go source, read from its import declarations
/// (`import "p"`, `import name "p"`, `import ( ... )` blocks), before the
/// first other declaration.
pub(super) fn file_imports(src: &str) -> Vec<String> {
    let quoted = |l: &str| -> Option<String> {
        let start = l.find(['"', '`'])?;
        let q = l[start..].chars().next()?;
        let rest = &l[start + 1..];
        rest.find(q).map(|end| rest[..end].to_string())
    };
    let mut out = Vec::new();
    let mut in_block = false;
    for line in src.lines() {
        let l = line.split("//").next().unwrap_or("").trim();
        if in_block {
            if l.starts_with(')') {
                in_block = false;
            } else {
                out.extend(l.split(';').filter_map(quoted));
            }
            continue;
        }
        if let Some(rest) = l.strip_prefix("import") {
            let rest = rest.trim_start();
            if let Some(block) = rest.strip_prefix('(') {
                let (inner, closed) = match block.split_once(')') {
                    Some((inner, _)) => (inner, true),
                    None => (block, false),
                };
                out.extend(inner.split(';').filter_map(quoted));
                in_block = !closed;
            } else {
                out.extend(quoted(rest));
            }
            continue;
        }
        if ["func ", "type ", "var ", "const "]
            .iter()
            .any(|kw| l.starts_with(kw))
        {
            break;
        }
    }
    out
}

pub(super) fn format_package_error(p: &GoPackage, e: &PackageError) -> String {
    let msg = e.err.trim_end();
    if !e.pos.is_empty() && !msg.starts_with(&e.pos) {
        format!("{}: {msg}", e.pos)
    } else if msg.contains(&p.import_path) || msg.starts_with(&p.dir) {
        msg.to_string()
    } else {
        format!("package {}: {msg}", p.import_path)
    }
}

/// Files of a package excluded by CGO_ENABLED=0 because they `import "C"`.
pub(super) fn cgo_files(p: &GoPackage) -> Vec<String> {
    p.ignored_go_files
        .iter()
        .filter(|f| {
            std::fs::read_to_string(p.file(f))
                .map(|src| imports_c(&src))
                .unwrap_or(false)
        })
        .cloned()
        .collect()
}

/// Does Go source import "C"? (`import "C"` or a `"C"` line in an import block,
/// before the first declaration.)
pub(super) fn imports_c(src: &str) -> bool {
    let mut in_block = false;
    for line in src.lines() {
        let l = line.trim();
        if in_block {
            if l.starts_with(')') {
                in_block = false;
            } else if l == "\"C\"" || l.ends_with(" \"C\"") {
                return true;
            }
            continue;
        }
        if l == "import \"C\"" {
            return true;
        }
        if l.starts_with("import (") {
            in_block = true;
        }
        if l.starts_with("func ") || l.starts_with("type ") || l.starts_with("var ") {
            break;
        }
    }
    false
}

/// Why `go list -e` failed as a whole, worded for the user: no module, a
/// go.mod for a newer Go (located at its `go` line), or what go said.
pub(super) fn module_error(tc: &Toolchain, req: &LoadRequest, stderr: &str) -> Error {
    let stderr = stderr.trim();
    if stderr.contains("go.mod file not found") {
        if let Some(e) = no_module(tc, req) {
            return e;
        }
    }
    let msg = stderr.strip_prefix("go: ").unwrap_or(stderr);
    if let Some(rest) = msg.strip_prefix("go.mod requires go >= ") {
        let want = rest.split([' ', '(']).next().unwrap_or(rest);
        let at = nearest_go_mod(&req.dir)
            .map(|m| {
                let line = go_line(&m).map(|n| format!(":{n}")).unwrap_or_default();
                format!("{}{line}: ", m.display())
            })
            .unwrap_or_default();
        return Error::Config(format!(
            "{at}{msg} (hint: install Go {want} or newer and put it on PATH, or point `go` in the config at it, or lower the `go` line of go.mod)"
        ));
    }
    Error::Config(msg.to_string())
}

/// The error for a load outside any Go module: `None` when there is one
/// (a go.mod or go.work above `req.dir`, a `GOWORK`, or GOPATH mode).
pub(super) fn no_module(tc: &Toolchain, req: &LoadRequest) -> Option<Error> {
    let gowork = tc.env.get("GOWORK").map(String::as_str).unwrap_or("");
    let gopath_mode = tc.env.get("GO111MODULE").is_some_and(|v| v == "off");
    if nearest_go_mod(&req.dir).is_some()
        || req.dir.ancestors().any(|d| d.join("go.work").is_file())
        || !(gowork.is_empty() || gowork == "off")
        || gopath_mode
    {
        return None;
    }
    Some(Error::Config(format!(
        "no go.mod found in {} or any parent directory (hint: run `go mod init MODULE-PATH` at the root of your Go module, or run cargo gobuild inside one)",
        req.dir.display()
    )))
}

/// The go.mod of the module containing `dir`, if any.
pub(super) fn nearest_go_mod(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .map(|d| d.join("go.mod"))
        .find(|m| m.is_file())
}

/// The line number of the `go` directive of a go.mod.
pub(super) fn go_line(go_mod: &Path) -> Option<usize> {
    let src = std::fs::read_to_string(go_mod).ok()?;
    src.lines()
        .position(|l| {
            let l = l.trim_start();
            l.strip_prefix("go")
                .is_some_and(|r| r.starts_with([' ', '\t']))
        })
        .map(|i| i + 1)
}

/// With cgo on, a package that uses it needs the C compiler: say which
/// package, which `CC`, and what to do when it is not there.
pub fn check_c_compiler(tc: &Toolchain, graph: &PackageGraph) -> Result<()> {
    if !tc.cgo_enabled() {
        return Ok(());
    }
    // The user's package rather than runtime/cgo, when there is one.
    let mut users: Vec<&GoPackage> = graph.packages.iter().filter(|p| p.uses_cgo()).collect();
    users.sort_by_key(|p| p.goroot);
    let Some(p) = users.first() else {
        return Ok(());
    };
    let cc = tc.cc();
    let found = cc.first().is_some_and(|c| {
        if c.contains('/') {
            Path::new(c).is_file()
        } else {
            which::which(c).is_ok()
        }
    });
    if found {
        return Ok(());
    }
    Err(Error::NoCCompiler {
        package: p.import_path.clone(),
        cc: cc.join(" "),
    })
}

/// Lists the patterns again with cgo enabled: a package that appears only
/// then, with cgo files, is one cargo gobuild cannot build yet.
pub(super) fn cgo_only_packages(tc: &Toolchain, req: &LoadRequest) -> Option<Error> {
    let mut env = tc.go_env();
    env.insert("CGO_ENABLED".into(), "1".into());
    let out = run_go_list(tc, req, &["-e", "-json=ImportPath,CgoFiles"], env).ok()?;
    serde_json::Deserializer::from_slice(&out.stdout)
        .into_iter::<GoPackage>()
        .filter_map(|p| p.ok())
        .find(|p| !p.cgo_files.is_empty())
        .map(|p| Error::Cgo {
            package: p.import_path,
            files: p.cgo_files,
        })
}
