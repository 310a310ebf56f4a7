//! Planning: the loaded package graph becomes an [`ActionGraph`], per package
//! symabis → compile → asm (one per `.s`) → pack, and per main package link.
//!
//! Planning runs nothing and hashes nothing: an [`Action`] only names its kind,
//! its package and the actions whose outputs it reads. Which command each
//! action runs, and what enters its cache key, is [`crate::stages`]' business.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::load::PackageGraph;

/// Index of an action in its [`ActionGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ActionId(pub usize);

/// What an action does.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ActionKind {
    /// Scan the package's `.s` files for the ABI of what they define and reference.
    Symabis,
    /// Compile the package's Go files (writing `go_asm.h` when it has assembly).
    Compile,
    /// Assemble one `.s` file against the real `go_asm.h`.
    Asm {
        /// The `.s` file, relative to the package directory.
        file: String,
    },
    /// Append the assembled objects to the compiled archive.
    Pack,
    /// Turn a main package's `default.pgo` into the compiler's preprocessed
    /// profile (`preprofile`, Go 1.23+).
    Preprofile,
    /// Check the NOSPLIT stack budget over a main package's whole link set.
    Nosplit,
    /// Work out what the linked program's symbol table must show (ABI
    /// pairs, kept wrappers), beside the link, for the post-link check.
    AbiReport,
    /// Link a main package into a program.
    Link,
}

impl ActionKind {
    /// The short name used in events and status lines.
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::Symabis => "symabis",
            ActionKind::Compile => "compile",
            ActionKind::Asm { .. } => "asm",
            ActionKind::Pack => "pack",
            ActionKind::Preprofile => "preprofile",
            ActionKind::Nosplit => "nosplit",
            ActionKind::AbiReport => "abi-report",
            ActionKind::Link => "link",
        }
    }
}

/// One node of the graph.
#[derive(Debug, Clone)]
pub struct Action {
    /// What it does.
    pub kind: ActionKind,
    /// The package (index into [`PackageGraph::packages`]).
    pub pkg: usize,
    /// Actions whose outputs this one reads; they finish first.
    pub deps: Vec<ActionId>,
}

/// The actions of a build, each after the actions it depends on.
#[derive(Debug, Clone, Default)]
pub struct ActionGraph {
    /// All actions; `deps` always point to lower indices.
    pub actions: Vec<Action>,
    /// Per package: the action whose output is the package archive (pack, or compile).
    pub archive: HashMap<usize, ActionId>,
    /// Per package: its compile action (whose export data importers read).
    pub compile: HashMap<usize, ActionId>,
    /// Per package: its symabis action, when it has assembly.
    pub symabis: HashMap<usize, ActionId>,
    /// Link actions, one per requested main package.
    pub links: Vec<ActionId>,
    /// Nosplit actions, one per requested main package (when planned).
    pub nosplits: Vec<ActionId>,
    /// Per package: the PGO profile it is compiled with (`-pgo=auto`).
    pub pgo: HashMap<usize, PathBuf>,
    /// Per profile: its preprofile action (Go 1.23+).
    pub preprofile: HashMap<PathBuf, ActionId>,
    /// Per main package: its abi-report action (planned with the link).
    pub abi_reports: HashMap<usize, ActionId>,
}

/// `-pgo=auto` as cmd/go applies it (`setPGOProfilePath`): a main package
/// with a `default.pgo` in its directory is built, with all its
/// dependencies, with that profile. When the requested mains do not all
/// share one profile, `go list` names the copies built for one main
/// `pkg [main]`; those get that main's profile and the plain ones none.
pub fn pgo_profiles(graph: &PackageGraph, mains: &[usize]) -> HashMap<usize, PathBuf> {
    let profile = |m: usize| {
        let f = Path::new(&graph.packages[m].dir).join("default.pgo");
        f.is_file().then_some(f)
    };
    let by_main: Vec<(usize, Option<PathBuf>)> = mains.iter().map(|&m| (m, profile(m))).collect();
    let mut out = HashMap::new();
    if by_main.iter().all(|(_, p)| p.is_none()) {
        return out;
    }
    let shared = by_main
        .first()
        .and_then(|(_, p)| p.clone())
        .filter(|p| by_main.iter().all(|(_, q)| q.as_ref() == Some(p)));
    for (m, p) in &by_main {
        if let Some(p) = p {
            out.insert(*m, p.clone());
            for d in graph.deps(*m) {
                let dp = &graph.packages[d];
                let mine = match dp.variant_of() {
                    Some(v) => v == graph.packages[*m].import_path,
                    None => shared.is_some(),
                };
                if mine {
                    out.insert(d, p.clone());
                }
            }
        }
    }
    out
}

impl ActionGraph {
    /// Plans the build of `roots`: their archives and, for each main package
    /// among them, its nosplit check (when `nosplit`) and its link (when
    /// `link`; the link waits for the check).
    ///
    /// Nosplit and link depend on the archives of the main package and of its
    /// [`link_deps`]; link also on the nosplit check. Stages find each
    /// dependency's action through the maps below, never by position.
    pub fn plan(
        graph: &PackageGraph,
        roots: &[usize],
        link: bool,
        nosplit: bool,
        pgo: HashMap<usize, PathBuf>,
        preprofile: bool,
    ) -> ActionGraph {
        let mut g = ActionGraph::default();
        if preprofile {
            let mut files: Vec<&PathBuf> = pgo.values().collect();
            files.sort();
            files.dedup();
            for f in files {
                let main = pgo
                    .iter()
                    .filter(|(_, p)| *p == f)
                    .map(|(m, _)| *m)
                    .find(|m| graph.packages[*m].is_main())
                    .unwrap_or(0);
                let id = g.push(Action {
                    kind: ActionKind::Preprofile,
                    pkg: main,
                    deps: vec![],
                });
                g.preprofile.insert(f.clone(), id);
            }
        }
        g.pgo = pgo;
        // Every package the roots need, in graph order (dependencies first).
        let mut needed = vec![false; graph.packages.len()];
        for &r in roots {
            needed[r] = true;
            for d in graph.deps(r) {
                needed[d] = true;
            }
        }
        for (pkg, _) in needed.iter().enumerate().filter(|(_, n)| **n) {
            if has_archive(graph, pkg) {
                g.add_package(graph, pkg);
            }
        }
        for &r in roots {
            if !graph.packages[r].is_main() {
                continue;
            }
            let deps: Vec<ActionId> = std::iter::once(r)
                .chain(link_deps(graph, r))
                .filter_map(|d| g.archive.get(&d).copied())
                .collect();
            let mut link_deps = deps.clone();
            if nosplit {
                let id = g.push(Action {
                    kind: ActionKind::Nosplit,
                    pkg: r,
                    deps,
                });
                g.nosplits.push(id);
                link_deps.push(id);
            }
            if link {
                // After the nosplit check (whose object summaries it reuses),
                // beside the link.
                let report = g.push(Action {
                    kind: ActionKind::AbiReport,
                    pkg: r,
                    deps: link_deps.clone(),
                });
                g.abi_reports.insert(r, report);
                let id = g.push(Action {
                    kind: ActionKind::Link,
                    pkg: r,
                    deps: link_deps,
                });
                g.links.push(id);
            }
        }
        g
    }

    fn push(&mut self, a: Action) -> ActionId {
        let id = ActionId(self.actions.len());
        self.actions.push(a);
        id
    }

    fn add_package(&mut self, graph: &PackageGraph, pkg: usize) {
        let p = &graph.packages[pkg];
        let has_asm = !p.s_files.is_empty();
        // Dependencies come first in `go list -deps` order, so every import
        // is planned already (compile_imports and prepare_compile agree on
        // the order).
        let mut compile_deps: Vec<ActionId> = compile_imports(graph, pkg)
            .into_iter()
            .filter_map(|i| self.compile.get(&i).copied())
            .collect();
        if has_asm {
            let s = self.push(Action {
                kind: ActionKind::Symabis,
                pkg,
                deps: vec![],
            });
            self.symabis.insert(pkg, s);
            compile_deps.push(s);
        }
        if let Some(pp) = self.pgo.get(&pkg).and_then(|f| self.preprofile.get(f)) {
            compile_deps.push(*pp);
        }
        let c = self.push(Action {
            kind: ActionKind::Compile,
            pkg,
            deps: compile_deps,
        });
        self.compile.insert(pkg, c);
        if !has_asm {
            self.archive.insert(pkg, c);
            return;
        }
        let mut pack_deps = vec![c];
        for f in &p.s_files {
            pack_deps.push(self.push(Action {
                kind: ActionKind::Asm { file: f.clone() },
                pkg,
                deps: vec![c],
            }));
        }
        let pk = self.push(Action {
            kind: ActionKind::Pack,
            pkg,
            deps: pack_deps,
        });
        self.archive.insert(pkg, pk);
    }

    /// How many actions depend, directly or not, on each action: the
    /// scheduler starts the ones that unblock the most work first.
    pub fn priorities(&self) -> Vec<usize> {
        // Longest path to a sink, counted in actions.
        let mut height = vec![0usize; self.actions.len()];
        for i in (0..self.actions.len()).rev() {
            for d in &self.actions[i].deps {
                height[d.0] = height[d.0].max(height[i] + 1);
            }
        }
        height
    }
}

/// Does the package compile to an archive? (`unsafe` is built into the compiler.)
pub fn has_archive(graph: &PackageGraph, pkg: usize) -> bool {
    graph.packages[pkg].base_path() != "unsafe"
}

/// The packages whose archives a main package links, besides its own, in
/// graph order.
pub fn link_deps(graph: &PackageGraph, pkg: usize) -> Vec<usize> {
    graph
        .deps(pkg)
        .into_iter()
        .filter(|d| has_archive(graph, *d))
        .collect()
}

/// The packages a package's compile reads export data of: its imports, and
/// for a main package the linker's implicit dependency on runtime (cmd/go's
/// `LinkerDeps`), which it also lists in the compile importcfg.
pub fn compile_imports(graph: &PackageGraph, pkg: usize) -> Vec<usize> {
    let mut v = graph.imports(pkg);
    let p = &graph.packages[pkg];
    if p.is_main() && p.import_path != "runtime" {
        // The copy of runtime built for this main (PGO), if `go list` made one.
        let rt = graph
            .get(&format!("runtime [{}]", p.import_path))
            .or_else(|| graph.get("runtime"));
        if let Some(rt) = rt {
            if !v.contains(&rt) {
                v.push(rt);
            }
        }
    }
    v
}
