//! The watch set: which directories and files the watcher looks at, and
//! which changes a build could see. It comes from the loaded package graph:
//! the directories of the workspace's packages (not GOROOT, not the module
//! cache: main modules and local `replace` directories), the directories
//! between them and their module root (a new package may appear there),
//! the directories of embedded files, the module roots (`go.mod`, `go.sum`,
//! `go.work`) and the config files (`gobuild.toml`, `Cargo.toml`). Each is
//! watched non-recursively, so the target directory and `.git` are never
//! walked, wherever they live; events under them are dropped anyway
//! ([`Excluded`]). Before any load succeeded: every directory of the module
//! that holds Go files.
//!
//! What changed is decided per event path ([`WatchSet::relevant`]): `.go`
//! (not `_test.go`), `.s`, `.S`, `.h`, `.syso`, embedded files and files
//! matching an embed pattern, module files, config files, and directories
//! appearing or vanishing.
//!
//! Also the file watcher backend ([`new_watcher`]: inotify, or polling).

use std::collections::{BTreeSet, HashSet};
use std::path::{Path, PathBuf};
use std::time::Duration;

use notify::Watcher;
use pipeline::build::BuildRequest;
use pipeline::load::PackageGraph;

use crate::settings;

/// What the watcher looks at, derived from the package graphs.
#[derive(Debug, Default)]
pub(super) struct WatchSet {
    /// Directories watched (non-recursively).
    pub(super) dirs: BTreeSet<PathBuf>,
    embed_files: HashSet<PathBuf>,
    embed_dirs: HashSet<PathBuf>,
    embed_globs: Vec<(PathBuf, glob::Pattern)>,
    config_files: HashSet<PathBuf>,
    pub(super) packages: usize,
}

/// Never watched, never a change: the target directory and `.git`.
#[derive(Debug, Clone)]
pub(super) struct Excluded {
    dirs: Vec<PathBuf>,
}

impl Excluded {
    pub(super) fn new(target_dir: &Path) -> Excluded {
        let mut dirs = vec![target_dir.to_path_buf()];
        if let Ok(c) = target_dir.canonicalize() {
            if c != target_dir {
                dirs.push(c);
            }
        }
        Excluded { dirs }
    }

    pub(super) fn contains(&self, p: &Path) -> bool {
        self.dirs.iter().any(|d| p.starts_with(d))
            || p.components().any(|c| c.as_os_str() == ".git")
    }
}

impl WatchSet {
    pub(super) fn compute(
        graphs: &[&PackageGraph],
        reqs: &[BuildRequest],
        config_files: &[PathBuf],
        excluded: &Excluded,
    ) -> WatchSet {
        let mut w = WatchSet::default();
        for r in reqs {
            w.dirs.insert(r.dir.clone());
            if graphs.is_empty() {
                // No graph (the load failed): every directory of the module
                // that holds Go files, until a load succeeds.
                let root = r
                    .dir
                    .ancestors()
                    .find(|d| d.join("go.mod").is_file())
                    .unwrap_or(&r.dir);
                go_dirs(root, 0, excluded, &mut w.dirs);
            }
        }
        for f in config_files {
            w.config_files.insert(f.clone());
            if let Some(d) = f.parent() {
                w.dirs.insert(d.to_path_buf());
            }
        }
        for g in graphs {
            for p in &g.packages {
                if p.goroot {
                    continue;
                }
                // Main modules, and local directory replacements: the code
                // people edit (not the read-only module cache).
                let root = match &p.module {
                    Some(m) if m.main => Some(m.dir.clone()),
                    Some(m) => match &m.replace {
                        Some(r) if r.version.is_empty() && !r.dir.is_empty() => Some(r.dir.clone()),
                        _ => continue,
                    },
                    None => None,
                };
                let dir = PathBuf::from(&p.dir);
                w.packages += 1;
                w.dirs.insert(dir.clone());
                if let Some(root) = root.filter(|r| !r.is_empty()).map(PathBuf::from) {
                    // Between the package and its module root a new package may appear.
                    for a in dir.ancestors() {
                        if !a.starts_with(&root) {
                            break;
                        }
                        w.dirs.insert(a.to_path_buf());
                    }
                    w.dirs.insert(root);
                }
                for f in &p.embed_files {
                    let path = dir.join(f);
                    if let Some(parent) = path.parent() {
                        if parent != dir {
                            for a in parent.ancestors() {
                                if a == dir || !a.starts_with(&dir) {
                                    break;
                                }
                                w.dirs.insert(a.to_path_buf());
                                w.embed_dirs.insert(a.to_path_buf());
                            }
                        }
                    }
                    w.embed_files.insert(path);
                }
                for pat in &p.embed_patterns {
                    let pat = pat.strip_prefix("all:").unwrap_or(pat);
                    if !pat.contains('/') {
                        if let Ok(g) = glob::Pattern::new(pat) {
                            w.embed_globs.push((dir.clone(), g));
                        }
                    }
                }
            }
        }
        w.dirs.retain(|d| !excluded.contains(d));
        w
    }

    /// Is a change of `path` one a build could see?
    pub(super) fn relevant(&self, path: &Path, is_dir_event: bool) -> bool {
        let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
            return false;
        };
        if self.config_files.contains(path) || self.embed_files.contains(path) {
            return true;
        }
        let parent = path.parent().unwrap_or(Path::new(""));
        if self.embed_dirs.contains(parent) {
            return true;
        }
        // The go command ignores files and directories starting with . or _.
        if name.starts_with('.') || name.starts_with('_') {
            return false;
        }
        if matches!(name, "go.mod" | "go.sum" | "go.work" | "go.work.sum") {
            return true;
        }
        if self
            .embed_globs
            .iter()
            .any(|(d, g)| d == parent && g.matches(name))
        {
            return true;
        }
        if is_dir_event || path.is_dir() {
            // A package directory appeared or vanished.
            return self.dirs.contains(parent) && name != "testdata" && name != "vendor";
        }
        let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        matches!(ext, "go" | "s" | "S" | "h" | "syso") && !name.ends_with("_test.go")
    }
}

/// Directories under `dir` with Go sources, as the go command would see
/// them (not `.`/`_`-prefixed, `testdata`, `vendor`; not excluded), bounded.
fn go_dirs(dir: &Path, depth: usize, excluded: &Excluded, out: &mut BTreeSet<PathBuf>) {
    if depth > 12 || out.len() > 4096 || excluded.contains(dir) {
        return;
    }
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if name.starts_with('.') || name.starts_with('_') {
            continue;
        }
        match e.file_type() {
            Ok(t) if t.is_dir() && name != "testdata" && name != "vendor" => {
                go_dirs(&e.path(), depth + 1, excluded, out)
            }
            Ok(t) if t.is_file() && name.ends_with(".go") => {
                out.insert(dir.to_path_buf());
            }
            _ => {}
        }
    }
}

/// The config files whose change reloads the requests: the workspace's
/// `gobuild.toml`/`Cargo.toml` and every `Cargo.toml` between it and the
/// Go modules.
pub(super) fn config_files(l: &settings::Loaded, reqs: &[BuildRequest]) -> Vec<PathBuf> {
    let mut v: BTreeSet<PathBuf> =
        l.ws.config_sources
            .iter()
            .filter_map(|s| s.path.clone())
            .collect();
    v.insert(l.ws.root.join("gobuild.toml"));
    v.insert(l.ws.root.join("Cargo.toml"));
    for r in reqs {
        for a in r.dir.ancestors() {
            if !a.starts_with(&l.ws.root) {
                break;
            }
            v.insert(a.join("Cargo.toml"));
        }
    }
    v.into_iter().collect()
}

/// Either file watcher backend.
pub(super) type FsWatcher = Box<dyn Watcher + Send>;

/// A watcher that calls `handler` with every file system event; `poll`:
/// poll at this interval instead of using inotify.
pub(super) fn new_watcher(
    handler: impl notify::EventHandler,
    poll: Option<Duration>,
) -> notify::Result<FsWatcher> {
    Ok(match poll {
        // notify's poller compares mtimes in whole seconds: a same-size save
        // within the second of the previous one would be lost. Comparing
        // contents too catches it (the watched set is only the workspace's
        // package directories, not recursive).
        Some(interval) => Box::new(notify::PollWatcher::new(
            handler,
            notify::Config::default()
                .with_poll_interval(interval)
                .with_compare_contents(true),
        )?),
        None => Box::new(notify::RecommendedWatcher::new(
            handler,
            notify::Config::default(),
        )?),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn set() -> WatchSet {
        let mut w = WatchSet::default();
        w.dirs.insert("/m".into());
        w.dirs.insert("/m/leaf".into());
        w.embed_files.insert("/m/leaf/static/a.css".into());
        w.embed_dirs.insert("/m/leaf/static".into());
        w.embed_globs
            .push(("/m/leaf".into(), glob::Pattern::new("*.txt").unwrap()));
        w.config_files.insert("/m/gobuild.toml".into());
        w
    }

    #[test]
    fn relevant_paths() {
        let w = set();
        let yes = |p: &str| w.relevant(Path::new(p), false);
        assert!(yes("/m/leaf/leaf.go"));
        assert!(yes("/m/leaf/magic_amd64.s"));
        assert!(yes("/m/leaf/x.h"));
        assert!(yes("/m/go.mod"));
        assert!(yes("/m/go.sum"));
        assert!(yes("/m/gobuild.toml"));
        assert!(yes("/m/leaf/static/a.css"));
        assert!(
            yes("/m/leaf/static/new.png"),
            "a new file in an embedded directory"
        );
        assert!(yes("/m/leaf/version.txt"), "matches an embed pattern");
        assert!(!yes("/m/leaf/leaf_test.go"));
        assert!(!yes("/m/leaf/.leaf.go.swp"));
        assert!(!yes("/m/leaf/leaf.go~"));
        assert!(!yes("/m/leaf/4913"));
        assert!(!yes("/m/README.md"));
        assert!(
            w.relevant(Path::new("/m/newpkg"), true),
            "a new directory may be a package"
        );
        assert!(!w.relevant(Path::new("/m/.git"), true));
        assert!(!w.relevant(Path::new("/m/testdata"), true));
    }

    #[test]
    fn target_and_git_are_excluded() {
        let x = Excluded::new(Path::new("/elsewhere/target"));
        assert!(x.contains(Path::new("/elsewhere/target/gobuild/dev/x")));
        assert!(x.contains(Path::new("/m/.git/index")));
        assert!(!x.contains(Path::new("/m/leaf/leaf.go")));
    }
}
