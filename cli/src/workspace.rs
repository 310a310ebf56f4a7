//! Finding the workspace: its root (a Cargo workspace through `cargo
//! metadata`, else the nearest `gobuild.toml`, else the nearest `go.mod`),
//! its configuration sources, its Go modules, and the target directory
//! (`--target-dir`, `CARGO_TARGET_DIR`, Cargo's target directory, else
//! `target/` at the root).

use std::path::{Path, PathBuf};

use pipeline::config::ConfigSource;

/// What kind of root was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RootKind {
    /// A Cargo workspace.
    Cargo,
    /// A directory with `gobuild.toml`.
    GobuildToml,
    /// A Go module (`go.mod`).
    GoMod,
    /// Nothing found: the current directory.
    Cwd,
}

/// The located workspace.
#[derive(Debug, Clone)]
pub struct Workspace {
    /// Its root directory.
    pub root: PathBuf,
    /// How it was found.
    pub kind: RootKind,
    /// Where outputs and the cache go (before `gobuild/`).
    pub target_dir: PathBuf,
    /// Configuration sources beyond the built-in ones, in layer order.
    pub config_sources: Vec<ConfigSource>,
    /// Directories of the Cargo workspace members (for Go module discovery).
    pub member_dirs: Vec<PathBuf>,
}

fn nearest(start: &Path, file: &str) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(file).is_file())
        .map(Path::to_path_buf)
}

/// The current directory, where the search for the workspace starts.
pub fn current_dir() -> pipeline::Result<PathBuf> {
    std::env::current_dir()
        .map_err(|e| pipeline::Error::Config(format!("cannot read the current directory: {e}")))
}

/// Locates the workspace from `cwd` (or from `--manifest-path`).
pub fn locate(
    cwd: &Path,
    manifest_path: Option<&Path>,
    target_dir: Option<&Path>,
) -> pipeline::Result<Workspace> {
    let cargo_manifest = match manifest_path {
        Some(m) => {
            let m = if m.is_absolute() {
                m.to_path_buf()
            } else {
                cwd.join(m)
            };
            if !m.is_file() {
                return Err(pipeline::Error::Config(format!(
                    "--manifest-path {} does not exist (hint: point it at a Cargo.toml)",
                    m.display()
                )));
            }
            Some(m)
        }
        None => nearest(cwd, "Cargo.toml").map(|d| d.join("Cargo.toml")),
    };
    let explicit_target = target_dir
        .map(Path::to_path_buf)
        .or_else(|| std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from))
        .map(|t| if t.is_absolute() { t } else { cwd.join(t) });

    if let Some(manifest) = cargo_manifest {
        let meta = cargo_metadata::MetadataCommand::new()
            .manifest_path(&manifest)
            .no_deps()
            .exec()
            .map_err(|e| {
                pipeline::Error::Config(format!(
                    "could not read the Cargo workspace of {} with `cargo metadata`: {e}",
                    manifest.display()
                ))
            })?;
        let root = meta.workspace_root.clone().into_std_path_buf();
        let target =
            explicit_target.unwrap_or_else(|| meta.target_directory.clone().into_std_path_buf());
        let sources = vec![ConfigSource::file(
            &root.join("Cargo.toml"),
            &["workspace", "metadata", "gobuild"],
        )?];
        let member_dirs: Vec<PathBuf> = meta
            .workspace_packages()
            .iter()
            .filter_map(|p| {
                p.manifest_path
                    .parent()
                    .map(|d| d.as_std_path().to_path_buf())
            })
            .collect();
        return Ok(Workspace {
            root,
            kind: RootKind::Cargo,
            target_dir: target,
            config_sources: sources,
            member_dirs,
        });
    }
    let (root, kind) = if let Some(d) = nearest(cwd, "gobuild.toml") {
        (d, RootKind::GobuildToml)
    } else if let Some(d) = nearest(cwd, "go.mod") {
        (d, RootKind::GoMod)
    } else {
        (cwd.to_path_buf(), RootKind::Cwd)
    };
    let mut sources = Vec::new();
    if root.join("gobuild.toml").is_file() {
        sources.push(ConfigSource::file(&root.join("gobuild.toml"), &[])?);
    }
    let target_dir = explicit_target.unwrap_or_else(|| root.join("target"));
    Ok(Workspace {
        root,
        kind,
        target_dir,
        config_sources: sources,
        member_dirs: vec![],
    })
}

/// The `[package.metadata.gobuild]` source of the Cargo package that
/// contains the Go module at `go_dir` (the deepest member above it).
pub fn package_source(ws: &Workspace, go_dir: &Path) -> pipeline::Result<Option<ConfigSource>> {
    let Some(pkg_dir) = ws
        .member_dirs
        .iter()
        .filter(|d| go_dir.starts_with(d))
        .max_by_key(|d| d.components().count())
    else {
        return Ok(None);
    };
    let m = pkg_dir.join("Cargo.toml");
    Ok(Some(ConfigSource::file(
        &m,
        &["package", "metadata", "gobuild"],
    )?))
}

/// The Go module directories to build when the current directory is not
/// inside one: the configured `modules`, else every `go.mod` under the
/// Cargo workspace members (not under `target/`, `.git/` or `vendor/`).
pub fn go_modules(ws: &Workspace, configured: &[String]) -> Vec<PathBuf> {
    if !configured.is_empty() {
        return configured.iter().map(|m| ws.root.join(m)).collect();
    }
    let mut found = Vec::new();
    for d in &ws.member_dirs {
        find_go_mods(d, 0, &ws.target_dir, &mut found);
    }
    found.sort();
    found.dedup();
    found
}

fn find_go_mods(dir: &Path, depth: usize, target: &Path, out: &mut Vec<PathBuf>) {
    if depth > 4 || dir.starts_with(target) {
        return;
    }
    if dir.join("go.mod").is_file() {
        out.push(dir.to_path_buf());
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name == "target" || name == "vendor" || name == "testdata" {
            continue;
        }
        if e.file_type().is_ok_and(|t| t.is_dir()) {
            find_go_mods(&e.path(), depth + 1, target, out);
        }
    }
}
