//! The load snapshot: a saved `go list` answer with the `stat` of everything
//! that could change it, and for each file what of it `go list` reads
//! ([`load_relevant`]), so that an edit of a function body does not cost a
//! new `go list`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::fshash::Stat;
use crate::load::PackageGraph;
use crate::toolchain::Toolchain;

/// A saved load, valid while every recorded `stat` is unchanged.
#[derive(Debug, Serialize, Deserialize)]
pub struct Snapshot {
    /// What was loaded (a different request is a different snapshot).
    pub fingerprint: String,
    /// `go env -json` of the load.
    pub go_env: BTreeMap<String, String>,
    /// The `go` binary.
    pub go: PathBuf,
    /// The graph.
    pub graph: PackageGraph,
    /// Everything whose change could change the graph: its stat, and what
    /// of it `go list` reads (see [`load_relevant`]), so that an edit of a
    /// function body does not cost a new `go list`.
    pub watched: Vec<Watched>,
}

impl Snapshot {
    /// Records the files and directories whose change invalidates `graph`:
    /// the directories and files of every package outside GOROOT (GOROOT is
    /// covered by the go binary's and VERSION's stat), module files, and go.
    pub fn new(
        fingerprint: String,
        tc: &Toolchain,
        graph: PackageGraph,
        extra: &[PathBuf],
    ) -> Snapshot {
        let mut paths: Vec<PathBuf> = vec![tc.go.clone(), tc.goroot().join("VERSION")];
        paths.extend(extra.iter().cloned());
        for p in &graph.packages {
            if p.goroot {
                continue;
            }
            paths.push(PathBuf::from(&p.dir));
            for f in p
                .go_files
                .iter()
                .chain(&p.ignored_go_files)
                .chain(&p.s_files)
                .chain(&p.h_files)
                .chain(&p.cgo_files)
                .chain(&p.c_files)
            {
                paths.push(p.file(f));
            }
            if let Some(m) = &p.module {
                for f in [&m.go_mod, &m.dir] {
                    if !f.is_empty() {
                        paths.push(PathBuf::from(f));
                    }
                }
                if !m.dir.is_empty() {
                    paths.push(Path::new(&m.dir).join("go.sum"));
                    paths.push(Path::new(&m.dir).join("go.work"));
                }
            }
        }
        paths.sort();
        paths.dedup();
        let watched = paths
            .into_iter()
            .map(|path| {
                let stat = Stat::of(&path).ok();
                // A test file's test functions and examples are what the
                // generated test main lists: any change to one reloads.
                let test_file = path.to_string_lossy().ends_with("_test.go");
                let relevant = if test_file {
                    None
                } else {
                    load_relevant(&path)
                };
                // Saved as JSON, so in UTF-8: a name that is not is kept in
                // its lossy form and resolved again when checked.
                let path = match path.to_str() {
                    Some(_) => path,
                    None => PathBuf::from(path.to_string_lossy().into_owned()),
                };
                Watched {
                    path,
                    stat,
                    relevant,
                }
            })
            .collect();
        Snapshot {
            fingerprint,
            go_env: tc.env.clone(),
            go: tc.go.clone(),
            graph,
            watched,
        }
    }

    /// Reads a snapshot; `None` when absent, unreadable, for another request,
    /// or when anything it watched changed.
    pub fn load_valid(path: &Path, fingerprint: &str) -> Option<Snapshot> {
        let data = std::fs::read(path).ok()?;
        let mut snap: Snapshot = serde_json::from_slice(&data).ok()?;
        if snap.fingerprint != fingerprint {
            return None;
        }
        let mut restat = false;
        for w in &mut snap.watched {
            let on_disk = crate::util::resolve_lossy(Path::new("/"), &w.path);
            let on_disk = on_disk.as_deref().unwrap_or(&w.path);
            let now = Stat::of(on_disk).ok();
            if now == w.stat {
                continue;
            }
            // Changed on disk: is what `go list` reads of it the same?
            if w.relevant.is_none() || load_relevant(on_disk) != w.relevant {
                return None;
            }
            w.stat = now;
            restat = true;
        }
        snap.graph.reindex();
        if restat {
            // Remember the new stats so the next build need not re-read.
            let _ = snap.save(path);
        }
        Some(snap)
    }

    /// Saves the snapshot atomically.
    pub fn save(&self, path: &Path) -> Result<()> {
        let data = serde_json::to_vec(self).map_err(|e| Error::Tool {
            program: "cargo gobuild".into(),
            message: format!("cannot save the load snapshot {}: {e}", path.display()),
        })?;
        crate::cache::atomic_write(path, &data)
    }
}

/// One path a snapshot depends on.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Watched {
    /// The file or directory.
    pub path: PathBuf,
    /// Its stat when the snapshot was taken (None: it did not exist).
    pub stat: Option<Stat>,
    /// Digest of what `go list` reads of it (None: anything counts).
    pub relevant: Option<String>,
}

/// The part of a file or directory that can change `go list`'s answer:
/// for a directory its entry names; for a Go file its header (package
/// clause, build constraints, imports: everything before the first
/// top-level declaration) and its `//go:embed` lines; for other sources
/// their build-constraint lines. Function bodies are not in it.
pub fn load_relevant(path: &Path) -> Option<String> {
    let mut h = blake3::Hasher::new();
    let md = std::fs::metadata(path).ok()?;
    if md.is_dir() {
        let mut names: Vec<_> = std::fs::read_dir(path)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.file_name())
            .collect();
        names.sort();
        for n in names {
            h.update(n.as_encoded_bytes());
            h.update(b"\0");
        }
        return Some(h.finalize().to_hex().to_string());
    }
    let name = path.file_name()?.to_str()?;
    let ext = name.rsplit('.').next()?;
    if !matches!(ext, "go" | "s" | "S" | "h" | "c") {
        return None;
    }
    let src = std::fs::read(path).ok()?;
    let mut header = ext == "go";
    for line in src.split(|b| *b == b'\n') {
        if header
            && [&b"func"[..], b"type", b"var", b"const"].iter().any(|kw| {
                line.starts_with(kw)
                    && matches!(line.get(kw.len()), Some(b' ') | Some(b'(') | Some(b'\t'))
            })
        {
            header = false;
        }
        let t = line.trim_ascii_start();
        if header
            || t.starts_with(b"//go:build")
            || t.starts_with(b"// +build")
            || t.starts_with(b"//go:embed")
        {
            h.update(line);
            h.update(b"\n");
        }
    }
    Some(h.finalize().to_hex().to_string())
}
