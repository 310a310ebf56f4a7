//! Finding the workspace: its root (a Cargo workspace through `cargo
//! metadata`, else the nearest `gobuild.toml`, else the nearest `go.mod`),
//! and the target directory (`--target-dir`, `CARGO_TARGET_DIR`, Cargo's
//! target directory, else `target/` at the root).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

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
}

fn nearest(start: &Path, file: &str) -> Option<PathBuf> {
    start
        .ancestors()
        .find(|d| d.join(file).is_file())
        .map(Path::to_path_buf)
}

/// Locates the workspace from `cwd` (or from `--manifest-path`).
pub fn locate(
    cwd: &Path,
    manifest_path: Option<&Path>,
    target_dir: Option<&Path>,
) -> Result<Workspace> {
    let cargo_manifest = match manifest_path {
        Some(m) => {
            if !m.is_file() {
                anyhow::bail!(
                    "--manifest-path {} does not exist (hint: point it at a Cargo.toml)",
                    m.display()
                );
            }
            Some(m.to_path_buf())
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
            .with_context(|| {
                format!(
                    "could not read the Cargo workspace of {} with `cargo metadata`",
                    manifest.display()
                )
            })?;
        let root = meta.workspace_root.clone().into_std_path_buf();
        let target = explicit_target
            .unwrap_or_else(|| meta.target_directory.clone().into_std_path_buf());
        return Ok(Workspace {
            root,
            kind: RootKind::Cargo,
            target_dir: target,
        });
    }
    let (root, kind) = if let Some(d) = nearest(cwd, "gobuild.toml") {
        (d, RootKind::GobuildToml)
    } else if let Some(d) = nearest(cwd, "go.mod") {
        (d, RootKind::GoMod)
    } else {
        (cwd.to_path_buf(), RootKind::Cwd)
    };
    let target_dir = explicit_target.unwrap_or_else(|| root.join("target"));
    Ok(Workspace {
        root,
        kind,
        target_dir,
    })
}
