//! Planning: what the user wants (an [`Intent`]) over the loaded package
//! graph becomes an [`ActionGraph`]: per package symabis → compile → asm
//! (one per `.s`) → pack, and per main package its [`LinkUnit`] with the
//! nosplit check, the abi-report and the link.
//!
//! Planning runs nothing and hashes nothing: an [`Action`] names its kind,
//! its package and its declared inputs — each dependency with the role it
//! plays ([`Input`]) — so a stage reads what it needs by name, never by
//! position, and never reads an action it did not declare. Which command
//! each action runs, and what enters its key, is [`crate::stages`]' business.
//!
//! - [`pgo`]: `-pgo=auto`, which packages are compiled with which profile.

use std::collections::HashMap;
use std::path::PathBuf;

use crate::load::PackageGraph;

pub mod pgo;

pub use pgo::pgo_profiles;

/// Index of an action in its [`ActionGraph`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize)]
pub struct ActionId(pub usize);

/// What the user asked for; decides which actions are planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Intent {
    /// Programs: archives, the nosplit check with each link beside it (a
    /// violation fails the build and no program is installed), the
    /// abi-report after the check.
    Build,
    /// The nosplit check without a link: each main package's check runs in
    /// report mode (its report is the output, violations included; the
    /// caller decides what a violation means).
    Check,
    /// Like [`Intent::Build`]; the caller then reads the ABI report of each
    /// program from the build's outputs.
    Report,
    /// The package archives only (no check, no link).
    Archives,
    /// Tests, as go test builds and runs them: the graph was loaded with
    /// its test variants; each test main `P.test` is checked, linked and
    /// run (a test-run action per package with tests).
    Test,
}

impl Intent {
    fn links(self) -> bool {
        matches!(self, Intent::Build | Intent::Report | Intent::Test)
    }
}

/// How a nosplit action treats a violation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum NosplitMode {
    /// Fail the build: the link beside it is discarded, no program is
    /// installed, no test binary runs.
    Gate,
    /// Succeed with the report (violations included) as the output.
    Report,
}

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
    /// Turn a `default.pgo` into the compiler's preprocessed profile
    /// (`preprofile`, Go 1.23+).
    Preprofile {
        /// The profile.
        profile: PathBuf,
    },
    /// Check the NOSPLIT stack budget over a main package's link unit.
    Nosplit {
        /// Gate or report.
        mode: NosplitMode,
    },
    /// Work out what the linked program's symbol table must show (ABI
    /// pairs, kept wrappers), beside the link, for the post-link check.
    AbiReport,
    /// Link a main package into a program.
    Link,
    /// Run a test binary as go test runs it, keeping its output and result.
    TestRun,
    /// Run the cgo tool over a package's cgo files (the generated Go and C).
    Cgo,
    /// Compile one C or gcc-assembly file of a cgo package to an object.
    CCompile {
        /// The file: a generated one (`_cgo_export.c`, `x.cgo2.c`,
        /// `_cgo_main.c`) or the package's own, relative to its directory.
        file: String,
        /// The object it compiles to (`_x001.o`, …, `_cgo_main.o`).
        object: String,
        /// Is `file` one the cgo tool generated?
        generated: bool,
    },
    /// The dynimport probe of a cgo package: link `_cgo_.o` and run
    /// `cgo -dynimport` (writing `_cgo_import.go`), or mark the package
    /// `dynimportfail` when that link fails.
    Dynimport,
    /// Run the toolchain's vet over a package as go test does: with go
    /// test's default checks over a tested package variant (its result
    /// decides whether the test binary runs), or as the facts pass over a
    /// dependency (`VetxOnly`, its `vet.out` is what importers' vet reads).
    Vet {
        /// Facts only (a dependency of a vetted package)?
        facts_only: bool,
    },
    /// Instrument a package's Go files for coverage (`cover -pkgcfg …`,
    /// go test `-cover`): the rewritten files and the compiler's
    /// `coveragecfg`, which its compile reads instead of the sources.
    Cover,
}

impl ActionKind {
    /// The short name used in events and status lines.
    pub fn name(&self) -> &'static str {
        match self {
            ActionKind::Symabis => "symabis",
            ActionKind::Compile => "compile",
            ActionKind::Asm { .. } => "asm",
            ActionKind::Pack => "pack",
            ActionKind::Preprofile { .. } => "preprofile",
            ActionKind::Nosplit { .. } => "nosplit",
            ActionKind::AbiReport => "abi-report",
            ActionKind::Link => "link",
            ActionKind::TestRun => "test",
            ActionKind::Cgo => "cgo",
            ActionKind::CCompile { .. } => "cc",
            ActionKind::Dynimport => "dynimport",
            ActionKind::Vet { .. } => "vet",
            ActionKind::Cover => "cover",
        }
    }
}

/// The role a dependency plays for the action that reads it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Input {
    /// The package's own symabis (compile).
    Symabis,
    /// The preprocessed PGO profile (compile).
    Preprofile,
    /// The compile of an imported package (its export data and archive).
    Import(usize),
    /// The package's own compile (asm reads its `go_asm.h`, pack its archive).
    Compiled,
    /// The object of one of the package's `.s` files (pack).
    AsmObject(String),
    /// The archive of a package of the link unit (nosplit, abi-report, link).
    Archive(usize),
    /// The symabis of a package of the link unit (abi-report).
    LinkSymabis(usize),
    /// The link unit's nosplit check (link and abi-report wait for it).
    Nosplit,
    /// The linked program (a test run reads the test binary).
    Linked,
    /// The files the cgo tool generated for the package (cc, dynimport, compile).
    CgoGenerated,
    /// The object of one C compile of the package, by object name
    /// (dynimport, pack).
    CObject(String),
    /// The package's dynimport probe (compile reads `_cgo_import.go`, pack
    /// appends `dynimportfail`).
    Dynimport,
    /// The vet of an imported package (vet reads its `vet.out` facts).
    Vetx(usize),
    /// The vet of a tested package variant (a test run reads its result).
    Vet(usize),
    /// The package's own cover run (compile reads the instrumented files).
    Cover,
}

/// A declared input: which action, in which role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dep {
    /// The action whose outputs are read.
    pub id: ActionId,
    /// What they are to the reader.
    pub input: Input,
}

/// One node of the graph.
#[derive(Debug, Clone)]
pub struct Action {
    /// What it does.
    pub kind: ActionKind,
    /// The package (index into [`PackageGraph::packages`]).
    pub pkg: usize,
    /// Declared inputs; they finish first, and nothing else is read.
    pub deps: Vec<Dep>,
}

/// The packages one program links: the main package first, then every
/// package it links, in graph order. Computed once by the planner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkUnit {
    /// The main package.
    pub main: usize,
    /// The main package, then its link dependencies.
    pub packages: Vec<usize>,
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
    /// Per main package: its abi-report action (planned with the link).
    pub abi_reports: HashMap<usize, ActionId>,
    /// Per test main: its test-run action.
    pub test_runs: Vec<ActionId>,
    /// Per package: its vet action (tested variants and their dependencies).
    pub vets: HashMap<usize, ActionId>,
    /// The vet of each package without tests (its result is the package's).
    pub untested_vets: Vec<ActionId>,
    /// Per requested main package: what it links (planned for every intent).
    pub link_units: HashMap<usize, LinkUnit>,
    /// Actions that run speculatively beside a check they do not wait for
    /// (each link beside its unit's nosplit check), with that check. What
    /// they produce is used only when the check passes: a build whose
    /// check failed installs no program and runs no test, and a failure of
    /// the speculative action after its check failed is not reported (the
    /// linker repeats the check's verdict).
    pub gates: HashMap<ActionId, ActionId>,
    /// Per package instrumented for coverage: its cover action.
    pub covers: HashMap<usize, ActionId>,
}

/// What the planner needs to know besides the graph.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// What the user wants.
    pub intent: Intent,
    /// Can the nosplit check read this toolchain's objects?
    pub nosplit: bool,
    /// Per package, its PGO profile ([`pgo_profiles`]).
    pub pgo: HashMap<usize, PathBuf>,
    /// Does the toolchain preprocess profiles (Go 1.23+)?
    pub preprofile: bool,
    /// With [`Intent::Test`]: run the test binaries (false: link only).
    pub run_tests: bool,
    /// With [`Intent::Test`]: vet each tested package variant as go test
    /// does (`-vet=off`: false).
    pub vet: bool,
}

impl ActionGraph {
    /// Plans `roots` for `opts.intent`: their archives and, for each main
    /// package among them, its link unit's check and link as the intent asks.
    pub fn plan(graph: &PackageGraph, roots: &[usize], opts: PlanOptions) -> ActionGraph {
        let mut g = ActionGraph::default();
        let mut preprofile = HashMap::new();
        if opts.preprofile {
            let mut files: Vec<&PathBuf> = opts.pgo.values().collect();
            files.sort();
            files.dedup();
            for f in files {
                let main = opts
                    .pgo
                    .iter()
                    .filter(|(_, p)| *p == f)
                    .map(|(m, _)| *m)
                    .find(|m| graph.packages[*m].is_main())
                    .unwrap_or(0);
                let id = g.push(Action {
                    kind: ActionKind::Preprofile { profile: f.clone() },
                    pkg: main,
                    deps: vec![],
                });
                preprofile.insert(f.clone(), id);
            }
        }
        g.pgo = opts.pgo;
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
                let pp = g.pgo.get(&pkg).and_then(|f| preprofile.get(f)).copied();
                g.add_package(graph, pkg, pp);
            }
        }
        let check = match opts.intent {
            _ if !opts.nosplit => None,
            Intent::Build | Intent::Report | Intent::Test => Some(NosplitMode::Gate),
            Intent::Check => Some(NosplitMode::Report),
            Intent::Archives => None,
        };
        for &r in roots {
            if !graph.packages[r].is_main() {
                continue;
            }
            // go test links test mains only (and no program is installed).
            let testing = opts.intent == Intent::Test;
            if testing != graph.packages[r].is_test_main() {
                continue;
            }
            // Every requested program has its link unit, whatever is planned
            // over it (callers read archives through it).
            let unit = LinkUnit {
                main: r,
                packages: std::iter::once(r).chain(link_deps(graph, r)).collect(),
            };
            if check.is_none() && !opts.intent.links() {
                g.link_units.insert(r, unit);
                continue;
            }
            let archives: Vec<Dep> = unit
                .packages
                .iter()
                .filter_map(|p| {
                    g.archive.get(p).map(|id| Dep {
                        id: *id,
                        input: Input::Archive(*p),
                    })
                })
                .collect();
            let mut after_check = archives.clone();
            let mut gate = None;
            if let Some(mode) = check {
                let id = g.push(Action {
                    kind: ActionKind::Nosplit { mode },
                    pkg: r,
                    deps: archives.clone(),
                });
                g.nosplits.push(id);
                after_check.push(Dep {
                    id,
                    input: Input::Nosplit,
                });
                gate = Some(id);
            }
            if opts.intent.links() {
                // After the nosplit check (whose object summaries it reuses),
                // beside the link; it reads the link unit's symabis too.
                let mut report_deps = after_check.clone();
                for p in &unit.packages {
                    if let Some(id) = g.symabis.get(p) {
                        report_deps.push(Dep {
                            id: *id,
                            input: Input::LinkSymabis(*p),
                        });
                    }
                }
                if !testing {
                    let report = g.push(Action {
                        kind: ActionKind::AbiReport,
                        pkg: r,
                        deps: report_deps,
                    });
                    g.abi_reports.insert(r, report);
                }
                // The link starts with the check, not after it: the check
                // gates what is done with the program (install, run).
                let id = g.push(Action {
                    kind: ActionKind::Link,
                    pkg: r,
                    deps: archives,
                });
                g.links.push(id);
                if let Some(check) = gate {
                    g.gates.insert(id, check);
                }
                if testing && opts.run_tests {
                    let mut run_deps = vec![Dep {
                        id,
                        input: Input::Linked,
                    }];
                    // A test binary runs only once its check passed.
                    run_deps.extend(gate.map(|id| Dep {
                        id,
                        input: Input::Nosplit,
                    }));
                    if opts.vet {
                        run_deps.extend(g.add_vets(graph, vetted_packages(graph, r)));
                    }
                    let run = g.push(Action {
                        kind: ActionKind::TestRun,
                        pkg: r,
                        deps: run_deps,
                    });
                    g.test_runs.push(run);
                }
            }
            g.link_units.insert(r, unit);
        }
        if opts.intent == Intent::Test && opts.vet && opts.run_tests {
            // go test vets a package without tests too (and fails it if vet does).
            for &r in roots {
                let p = &graph.packages[r];
                let untested = !p.is_test_main()
                    && p.variant_of().is_none()
                    && graph.get(&format!("{}.test", p.import_path)).is_none();
                if untested {
                    for d in g.add_vets(graph, vec![r]) {
                        g.untested_vets.push(d.id);
                    }
                }
            }
        }
        g
    }

    fn push(&mut self, a: Action) -> ActionId {
        let id = ActionId(self.actions.len());
        self.actions.push(a);
        id
    }

    fn add_package(&mut self, graph: &PackageGraph, pkg: usize, preprofile: Option<ActionId>) {
        let p = &graph.packages[pkg];
        let go_asm = p.go_asm_files();
        let has_asm = !go_asm.is_empty();
        // Dependencies come first in `go list -deps` order, so every import
        // is planned already.
        let mut compile_deps: Vec<Dep> = compile_imports(graph, pkg)
            .into_iter()
            .filter_map(|i| {
                self.compile.get(&i).map(|id| Dep {
                    id: *id,
                    input: Input::Import(i),
                })
            })
            .collect();
        if has_asm {
            let s = self.push(Action {
                kind: ActionKind::Symabis,
                pkg,
                deps: vec![],
            });
            self.symabis.insert(pkg, s);
            compile_deps.push(Dep {
                id: s,
                input: Input::Symabis,
            });
        }
        if let Some(pp) = preprofile {
            compile_deps.push(Dep {
                id: pp,
                input: Input::Preprofile,
            });
        }
        let cgo_objects = if p.uses_cgo() {
            self.add_cgo(p, pkg, &mut compile_deps)
        } else {
            Vec::new()
        };
        // -cover: the compile reads the instrumented files.
        if p.cover.is_some() && !crate::load::cover::covered_files(p).is_empty() {
            let id = self.push(Action {
                kind: ActionKind::Cover,
                pkg,
                deps: vec![],
            });
            self.covers.insert(pkg, id);
            compile_deps.push(Dep {
                id,
                input: Input::Cover,
            });
        }
        let c = self.push(Action {
            kind: ActionKind::Compile,
            pkg,
            deps: compile_deps,
        });
        self.compile.insert(pkg, c);
        if !has_asm && cgo_objects.is_empty() {
            self.archive.insert(pkg, c);
            return;
        }
        let compiled = Dep {
            id: c,
            input: Input::Compiled,
        };
        let mut pack_deps = vec![compiled.clone()];
        for f in &go_asm {
            let id = self.push(Action {
                kind: ActionKind::Asm { file: f.clone() },
                pkg,
                deps: vec![compiled.clone()],
            });
            pack_deps.push(Dep {
                id,
                input: Input::AsmObject(f.clone()),
            });
        }
        pack_deps.extend(cgo_objects);
        let pk = self.push(Action {
            kind: ActionKind::Pack,
            pkg,
            deps: pack_deps,
        });
        self.archive.insert(pkg, pk);
    }

    /// Plans a cgo package's cgo run, one C compile per file (in cmd/go's
    /// order and object numbering: `_cgo_export.c`, the `*.cgo2.c`, gcc
    /// assembly, C, C++, Objective-C, Fortran), `_cgo_main.c` and the
    /// dynimport probe; adds the generated Go and the probe to the compile's
    /// inputs and returns what pack appends (the objects, then the probe).
    fn add_cgo(
        &mut self,
        p: &crate::load::GoPackage,
        pkg: usize,
        compile_deps: &mut Vec<Dep>,
    ) -> Vec<Dep> {
        let cgo = self.push(Action {
            kind: ActionKind::Cgo,
            pkg,
            deps: vec![],
        });
        let generated = Dep {
            id: cgo,
            input: Input::CgoGenerated,
        };
        let mut files: Vec<(String, bool)> = vec![("_cgo_export.c".into(), true)];
        for f in &p.cgo_files {
            let base = f.rsplit('/').next().unwrap_or(f);
            let stem = base.strip_suffix(".go").unwrap_or(base);
            files.push((format!("{stem}.cgo2.c"), true));
        }
        for f in p
            .gcc_s_files()
            .iter()
            .chain(&p.c_files)
            .chain(&p.m_files)
            .chain(&p.cxx_files)
            .chain(&p.f_files)
        {
            files.push((f.clone(), false));
        }
        let mut objects = Vec::new();
        for (i, (file, gen)) in files.into_iter().enumerate() {
            let object = format!("_x{:03}.o", i + 1);
            let id = self.push(Action {
                kind: ActionKind::CCompile {
                    file,
                    object: object.clone(),
                    generated: gen,
                },
                pkg,
                deps: vec![generated.clone()],
            });
            objects.push(Dep {
                id,
                input: Input::CObject(object),
            });
        }
        let main = self.push(Action {
            kind: ActionKind::CCompile {
                file: "_cgo_main.c".into(),
                object: "_cgo_main.o".into(),
                generated: true,
            },
            pkg,
            deps: vec![generated.clone()],
        });
        let mut dyn_deps = vec![
            generated.clone(),
            Dep {
                id: main,
                input: Input::CObject("_cgo_main.o".into()),
            },
        ];
        dyn_deps.extend(objects.iter().cloned());
        let dynimport = self.push(Action {
            kind: ActionKind::Dynimport,
            pkg,
            deps: dyn_deps,
        });
        let probe = Dep {
            id: dynimport,
            input: Input::Dynimport,
        };
        compile_deps.push(generated);
        compile_deps.push(probe.clone());
        objects.push(probe);
        objects
    }

    /// Plans the vet of packages go test vets (a test main's tested
    /// variants: the package with its internal tests, the external test
    /// package; or a package without tests) and the facts pass over their
    /// dependencies, as cmd/go's `vetAction` (one vet action per package: a
    /// tested variant another one imports is vetted once, in full); returns
    /// the test run's inputs.
    fn add_vets(&mut self, graph: &PackageGraph, vetted: Vec<usize>) -> Vec<Dep> {
        let tested: Vec<usize> = vetted.into_iter().filter(|p| vettable(graph, *p)).collect();
        let mut needed: Vec<usize> = tested.clone();
        for &t in &tested {
            needed.extend(graph.deps(t).into_iter().filter(|d| vettable(graph, *d)));
        }
        needed.sort_unstable();
        needed.dedup();
        // Graph order: every import's vet is planned before its importer's.
        for pkg in needed {
            let facts_only = !tested.contains(&pkg);
            if let Some(id) = self.vets.get(&pkg) {
                if facts_only || self.actions[id.0].kind == (ActionKind::Vet { facts_only: false })
                {
                    continue;
                }
                // Planned as a dependency's facts pass already: full vet now
                // (what an earlier test run read stays a facts pass).
            }
            let mut deps: Vec<Dep> = Vec::new();
            if let Some(c) = self.compile.get(&pkg) {
                deps.push(Dep {
                    id: *c,
                    input: Input::Compiled,
                });
                // A cgo package is vetted with the Go cgo generated (what
                // its compile read).
                let cgo: Vec<Dep> = self.actions[c.0]
                    .deps
                    .iter()
                    .filter(|d| matches!(d.input, Input::CgoGenerated | Input::Dynimport))
                    .cloned()
                    .collect();
                deps.extend(cgo);
            }
            // What its compile imports (cgo's implicit imports included).
            for i in compile_imports(graph, pkg) {
                if let Some(c) = self.compile.get(&i) {
                    deps.push(Dep {
                        id: *c,
                        input: Input::Import(i),
                    });
                }
                if let Some(v) = self.vets.get(&i) {
                    deps.push(Dep {
                        id: *v,
                        input: Input::Vetx(i),
                    });
                }
            }
            let id = self.push(Action {
                kind: ActionKind::Vet { facts_only },
                pkg,
                deps,
            });
            self.vets.insert(pkg, id);
        }
        tested
            .into_iter()
            .filter_map(|p| {
                self.vets.get(&p).map(|id| Dep {
                    id: *id,
                    input: Input::Vet(p),
                })
            })
            .collect()
    }

    /// The longest path from each action to a sink, counted in actions: the
    /// scheduler starts the ones that unblock the most work first.
    pub fn priorities(&self) -> Vec<usize> {
        let mut height = vec![0usize; self.actions.len()];
        for i in (0..self.actions.len()).rev() {
            for d in &self.actions[i].deps {
                height[d.id.0] = height[d.id.0].max(height[i] + 1);
            }
        }
        height
    }

    /// The main packages that have a link unit, in graph order.
    pub fn mains(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self.link_units.keys().copied().collect();
        v.sort_unstable();
        v
    }
}

/// The packages go test vets for a test main `P.test`: `P` as its tests
/// see it (the variant `P [P.test]` when it has internal tests, else `P`),
/// and the external test package `P_test [P.test]`, if any.
pub fn vetted_packages(graph: &PackageGraph, test_main: usize) -> Vec<usize> {
    let Some(t) = graph.packages[test_main].tested_package() else {
        return Vec::new();
    };
    let ptest = graph
        .get(&format!("{t} [{t}.test]"))
        .or_else(|| graph.get(t));
    let pxtest = graph.get(&format!("{t}_test [{t}.test]"));
    ptest.into_iter().chain(pxtest).collect()
}

/// Does go test's vet run over the package? Not over `unsafe` (built into
/// the compiler).
pub fn vettable(graph: &PackageGraph, pkg: usize) -> bool {
    has_archive(graph, pkg)
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
/// `LinkerDeps`), which it also lists in the compile importcfg; for a cgo
/// package the imports cgo's generated Go adds (runtime/cgo and syscall,
/// as `load/pkg.go` excludes them).
pub fn compile_imports(graph: &PackageGraph, pkg: usize) -> Vec<usize> {
    let mut v = graph.imports(pkg);
    let p = &graph.packages[pkg];
    if p.uses_cgo() {
        let base = p.base_path();
        let mut implicit = Vec::new();
        if !(p.standard && base == "runtime/cgo") {
            implicit.push("runtime/cgo");
        }
        if !(p.standard
            && [
                "runtime/cgo",
                "runtime/race",
                "runtime/msan",
                "runtime/asan",
            ]
            .contains(&base))
        {
            implicit.push("syscall");
        }
        for i in implicit {
            if let Some(d) = graph.get(i) {
                if !v.contains(&d) {
                    v.push(d);
                }
            }
        }
        v.sort_by(|a, b| {
            graph.packages[*a]
                .import_path
                .cmp(&graph.packages[*b].import_path)
        });
    }
    // -cover: the cover tool adds `import _ "runtime/coverage"` to a main
    // package and, in atomic mode, `sync/atomic` (cmd/go's `EnsureImport`).
    if let Some(c) = &p.cover {
        let mut add = |path: &str| {
            if let Some(d) = graph.get(path) {
                if d != pkg && !v.contains(&d) {
                    v.push(d);
                }
            }
        };
        if c.mode == "atomic" {
            add("sync/atomic");
        }
        if p.is_main() {
            add("runtime/coverage");
        }
    }
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

#[cfg(test)]
mod tests;
