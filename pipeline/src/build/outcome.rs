//! What a finished build leaves for its callers: the load, the plan, the
//! typed outputs of every action, the programs written. Subcommands read
//! the outputs of planned actions here (the nosplit report, the ABI report)
//! instead of re-deriving engine internals; [`Built`] is the view the
//! [`crate::abi`] layer reads through [`BuildView`].

use std::path::PathBuf;
use std::sync::OnceLock;

use crate::abi::{self, BuildView, ProgramReport, Symabis};
use crate::build::{Artifact, Session};
use crate::cache::{LocalCache, ObjectStore};
use crate::error::{Error, Result};
use crate::exec::ExecSummary;
use crate::load::PackageGraph;
use crate::plan::{ActionGraph, ActionId};
use crate::stages::outputs::{ActionOutput, BuildFailure, Output, VetResult};
use crate::stages::test_run::RunResult;

/// What a finished build leaves for callers (reports, checks, watch mode).
pub struct BuildOutcome {
    /// The load.
    pub session: Session,
    /// The planned actions.
    pub actions: ActionGraph,
    /// What ran.
    pub summary: ExecSummary,
    /// The programs written.
    pub artifacts: Vec<Artifact>,
    /// The cache the outputs are in.
    pub cache: LocalCache,
}

impl BuildOutcome {
    /// The view of the build the ABI layer reads.
    pub fn built(&self) -> Built<'_> {
        Built {
            graph: &self.session.graph,
            plan: &self.actions,
            results: &self.summary.results,
            objects: &self.cache,
            goos: self.session.toolchain.goos(),
            goarch: self.session.toolchain.goarch(),
        }
    }

    /// The main packages with a planned link unit.
    pub fn mains(&self) -> Vec<usize> {
        self.actions.mains()
    }

    /// The nosplit report of a main package, from its nosplit action's
    /// output (`None` when no check was planned or it did not complete).
    pub fn nosplit_report(&self, main: usize) -> Option<Result<goobj::StackReport>> {
        let id = self
            .actions
            .nosplits
            .iter()
            .find(|id| self.actions.actions[id.0].pkg == main)?;
        let path = self.built().output_path(*id, &Output::NosplitReport)?;
        Some(read_json(&path))
    }

    /// The test runs of a test build, in plan order: per test main, the
    /// tested package, its directory, what the binary printed and how it
    /// ended (`None` for runs that did not complete: a build failure).
    pub fn test_runs(&self) -> Vec<TestRun> {
        let mut v = Vec::new();
        for id in &self.actions.test_runs {
            let p = &self.session.graph.packages[self.actions.actions[id.0].pkg];
            let out = self.summary.results[id.0].get();
            let read = |o: &Output| -> Option<Vec<u8>> {
                let d = out?.outputs.get(o)?;
                self.cache.read(d).ok()
            };
            let result = read(&Output::TestResult)
                .and_then(|d| serde_json::from_slice::<RunResult>(&d).ok())
                .or_else(|| {
                    // Not run because something it needs failed to build
                    // (`FAIL pkg [build failed]`, as go test goes on).
                    let build_failed = self.failures_under(*id);
                    (!build_failed.is_empty()).then_some(RunResult {
                        exit_code: 1,
                        elapsed: 0.0,
                        build_failed,
                    })
                });
            let binary = self.actions.actions[id.0]
                .deps
                .first()
                .and_then(|d| self.summary.results[d.id.0].get())
                .and_then(|o| o.outputs.get(&Output::Exe).copied());
            v.push(TestRun {
                binary,
                package: p.tested_package().unwrap_or(&p.import_path).to_string(),
                dir: PathBuf::from(&p.dir),
                output: read(&Output::TestOutput).unwrap_or_default(),
                cover_profile: read(&Output::CoverProfile),
                result,
                cached: out.is_some_and(|o| o.cached),
            });
        }
        v
    }

    /// The failed actions `id` depends on (itself included), as go test
    /// reports them: the package as go names it, then the tool's message
    /// (which starts with the `# pkg` header), in the order they failed.
    pub fn failures_under(&self, id: ActionId) -> Vec<BuildFailure> {
        if self.summary.failures.is_empty() {
            return Vec::new();
        }
        let mut seen = vec![false; self.actions.actions.len()];
        let mut stack = vec![id.0];
        while let Some(i) = stack.pop() {
            if std::mem::replace(&mut seen[i], true) {
                continue;
            }
            stack.extend(self.actions.actions[i].deps.iter().map(|d| d.id.0));
        }
        let mut v: Vec<BuildFailure> = Vec::new();
        for (failed, message) in &self.summary.failures {
            let pkg = &self.session.graph.packages[self.actions.actions[failed.0].pkg];
            if !seen[failed.0] || v.iter().any(|f| f.import_path == pkg.import_path) {
                continue;
            }
            let mut output = message.clone();
            if !output.ends_with('\n') {
                output.push('\n');
            }
            v.push(BuildFailure {
                import_path: pkg.import_path.clone(),
                output,
                reported: true,
            });
        }
        v
    }

    /// The build failures of package `pkg` itself and what it imports
    /// (its compile and everything before it).
    pub fn package_build_failures(&self, pkg: usize) -> Vec<BuildFailure> {
        match self.actions.compile.get(&pkg) {
            Some(id) => self.failures_under(*id),
            None => Vec::new(),
        }
    }

    /// The meta-data file of a package instrumented for coverage with one
    /// (a package without tests under `-cover`), once its cover run completed.
    pub fn cover_meta(&self, pkg: usize) -> Option<PathBuf> {
        let id = self.actions.covers.get(&pkg)?;
        self.built().output_path(*id, &Output::CoverMeta)
    }

    /// The packages without tests whose vet failed (go test fails them:
    /// `FAIL pkg [build failed]`), in plan order.
    pub fn untested_vet_failures(&self) -> Vec<BuildFailure> {
        let mut v = Vec::new();
        for id in &self.actions.untested_vets {
            let p = &self.session.graph.packages[self.actions.actions[id.0].pkg];
            let result = self.summary.results[id.0]
                .get()
                .and_then(|o| o.outputs.get(&Output::VetResult))
                .and_then(|d| VetResult::read(&self.cache, d).ok());
            v.extend(result.and_then(|r| r.failure(p)));
        }
        v
    }

    /// The ABI report of a main package.
    pub fn program_report(&self, main: usize) -> Result<ProgramReport> {
        abi::program_report(&self.built(), main)
    }
}

/// One package's test run.
#[derive(Debug, Clone)]
pub struct TestRun {
    /// The test binary that ran.
    pub binary: Option<crate::cache::ContentDigest>,
    /// The tested package.
    pub package: String,
    /// Its directory.
    pub dir: PathBuf,
    /// What the test binary printed (test2json-framed).
    pub output: Vec<u8>,
    /// The coverage profile it wrote (`-coverprofile`; cached with the result).
    pub cover_profile: Option<Vec<u8>>,
    /// How it ended; `None` if it did not run (the build failed first).
    pub result: Option<RunResult>,
    /// Reused from an earlier run?
    pub cached: bool,
}

fn read_json<T: serde::de::DeserializeOwned>(path: &std::path::Path) -> Result<T> {
    let data = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    serde_json::from_slice(&data).map_err(|e| Error::Check {
        message: format!(
            "{}: unreadable report: {e} (hint: `cargo gobuild clean` removes a damaged cache)",
            path.display()
        ),
    })
}

/// A finished (or failed) build, as [`BuildView`].
pub struct Built<'a> {
    /// The packages.
    pub graph: &'a PackageGraph,
    /// The plan.
    pub plan: &'a ActionGraph,
    /// Per action, its outputs (as the executor filled them).
    pub results: &'a [OnceLock<ActionOutput>],
    /// Where the outputs are.
    pub objects: &'a dyn ObjectStore,
    /// GOOS.
    pub goos: &'a str,
    /// GOARCH.
    pub goarch: &'a str,
}

impl Built<'_> {
    /// A local path to one output of an action that completed.
    pub fn output_path(&self, id: ActionId, o: &Output) -> Option<PathBuf> {
        let d = self.results.get(id.0)?.get()?.outputs.get(o)?;
        self.objects.local_path(d).ok()
    }
}

impl BuildView for Built<'_> {
    fn graph(&self) -> &PackageGraph {
        self.graph
    }
    fn goos(&self) -> &str {
        self.goos
    }
    fn goarch(&self) -> &str {
        self.goarch
    }
    fn link_unit(&self, main: usize) -> Option<&[usize]> {
        self.plan
            .link_units
            .get(&main)
            .map(|u| u.packages.as_slice())
    }
    fn archive(&self, pkg: usize) -> Option<PathBuf> {
        self.output_path(*self.plan.archive.get(&pkg)?, &Output::Archive)
    }
    fn symabis(&self, pkg: usize) -> Option<Symabis> {
        let path = self.output_path(*self.plan.symabis.get(&pkg)?, &Output::Symabis)?;
        std::fs::read_to_string(path)
            .ok()
            .map(|t| Symabis::parse(&t))
    }
    fn compiled_packages(&self) -> Vec<usize> {
        let mut v: Vec<usize> = self
            .plan
            .compile
            .iter()
            .filter(|(_, id)| self.results.get(id.0).and_then(OnceLock::get).is_some())
            .map(|(p, _)| *p)
            .collect();
        v.sort_unstable();
        v
    }
}
