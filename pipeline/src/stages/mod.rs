//! The stages: per action kind, the exact tool command `go build` would run
//! for the same package and Go version (mirroring
//! `cmd/go/internal/work/gc.go`: `gc`, `asmArgs`, `symabis`, `asm`, `pack`,
//! `ld`), the files to lay out in the action's work directory, and the named
//! inputs of its cache key.
//!
//! Who owns what:
//! - one module per stage: [`symabis`], [`compile`], [`asm`], [`pack`],
//!   [`preprofile`], [`nosplit`], [`abi_report`], [`link`], [`test_run`],
//!   [`vet`], [`cover`], and
//!   for cgo packages [`cgo`], [`cc`], [`dynimport`] ([`cflags`] is what they
//!   share). Each has a
//!   `prepare` that reads only its action's declared inputs
//!   ([`outputs::DeclaredInputs`]) and returns a [`step::Prepared`]; the
//!   in-process ones also define their step. Stages never import each other.
//! - shared parts: [`step`] (the command type, the step trait, what the
//!   executor runs), [`outputs`] (typed outputs and typed access to declared
//!   inputs), [`key`] (key building), [`flags`] (per-package flags and
//!   `-trimpath`), [`archive`] (Go archive helpers).
//! - [`BuildFacts`] is the read-only view every stage reads (toolchain,
//!   graph, profile, digests), apart from the plan and the running results,
//!   like cargo's `BuildContext` vs `BuildRunner`; [`Stages`] is the
//!   dispatcher the executor calls through [`step::PrepareAction`].
//!
//! What enters a key, per kind:
//! - symabis: the tool (or the native scanner's revision), its normalized
//!   arguments and environment, the digests of the `.s` files, of the
//!   package's `.h` files and of `GOROOT/pkg/include`.
//! - compile: the tool, arguments (minus `-buildid`, which is derived from the
//!   key, and the scheduling-only `-c=N`), environment, the Go and embedded
//!   files, the **symabis content** (not the `.s` files: editing an assembly
//!   function body does not recompile Go), and per import its **export data**
//!   digest (early cut-off).
//! - asm: like symabis plus the `go_asm.h` the compile wrote.
//! - pack: the digests of the archive and objects it joins.
//! - nosplit, abi-report: the step and every archive of the link unit
//!   modulo its build ID (abi-report: and the unit's symabis).
//! - every in-process step (native symabis, pack, nosplit, abi-report):
//!   this cargo-gobuild's identity (version and binary digest), as a tool
//!   step has its Go tool's digest.
//! - link: the tool, arguments, environment, every archive of the link unit
//!   modulo its build ID, and the build info (modinfo); with a cgo package
//!   in the unit, the C compiler's identity and words.
//! - cgo: the cgo tool, the C compiler's identity and words, the flags, the
//!   cgo files and the package's headers, the package directory.
//! - cc: the C compiler's identity and words, every flag, the file (or the
//!   generated one's content), `_cgo_export.h`, the package's headers; its
//!   `-frandom-seed` is derived from the key.
//! - dynimport: both commands, the cgo tool, the C compiler, every object.
//! - vet: the vet tool, its flags, the files, per import its export data
//!   and its facts (`vet.out`); a failed vet is not cached.
//! - cover: the cover tool, its arguments and package configuration, the
//!   files, the package directory; compile then keys on the instrumented
//!   files and the `coveragecfg` instead of the sources.
//!
//! Absolute paths enter a key only where the tool writes them into its
//! output: the package directory of a non-GOROOT package without trimpath
//! (file names in line tables), and GOROOT for link without trimpath
//! (`runtime.GOROOT`). Cache object paths never do.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;
use std::sync::OnceLock;

use crate::cache::{ContentDigest, ObjectStore};
use crate::config::profile::{Profile, ResolvedMode};
use crate::error::Result;
use crate::fshash::FileHasher;
use crate::load::{GoPackage, PackageGraph};
use crate::modinfo;
use crate::plan::{Action, ActionGraph, ActionId, ActionKind, LinkUnit};
use crate::toolchain::{Tool, Toolchain};

pub mod abi_report;
pub mod archive;
pub mod asm;
pub mod cc;
pub mod cflags;
pub mod cgo;
pub mod compile;
pub mod cover;
pub mod dynimport;
pub mod flags;
pub mod key;
pub mod link;
pub mod nosplit;
pub mod outputs;
pub mod pack;
pub mod preprofile;
pub mod security;
pub mod step;
pub mod symabis;
pub mod test_run;
pub mod vet;

use outputs::{internal, ActionOutput, DeclaredInputs};
use step::{ActionLabel, PrepareAction, Prepared};

/// The static inputs of a build: what every stage reads and nobody changes.
pub struct BuildFacts<'a> {
    /// The toolchain of the target.
    pub tc: &'a Toolchain,
    /// The loaded packages.
    pub graph: &'a PackageGraph,
    /// The resolved profile.
    pub profile: &'a Profile,
    /// Where input objects are (commands name them by the path it gives).
    pub objects: &'a dyn ObjectStore,
    /// Source digests.
    pub hasher: &'a FileHasher,
    /// Packages named by the patterns (profile flags apply to them and to the main modules' packages).
    pub roots: HashSet<usize>,
    /// `-c=N` for compile (scheduling only; not in keys).
    pub compile_concurrency: usize,
    /// Digests of the tools, computed once ([`key::digest_toolchain`]).
    pub tool_digests: HashMap<Tool, ContentDigest>,
    /// Digests of `GOROOT/pkg/include/*`.
    pub include_digests: Vec<(String, ContentDigest)>,
    /// Per main package: the repository state go build would stamp.
    pub vcs: HashMap<usize, modinfo::VcsInfo>,
    /// This cargo-gobuild's identity ([`key::tool_identity`]), in the key of
    /// every in-process step.
    pub tool_identity: String,
    /// How tests run (the test intent only).
    pub test: Option<test_run::TestSettings>,
    /// The directory of per-archive object summaries the link-unit stages
    /// share (a memo of the cache, never an action input).
    pub summaries: PathBuf,
    /// The C compiler's identity ([`cflags::cc_identity`]), when cgo is on
    /// and a package uses it: in the key of every C step.
    pub cc_identity: Option<String>,
    /// The C++ compiler's identity ([`cflags::cxx_identity`]), when a cgo
    /// package has C++ files.
    pub cxx_identity: Option<String>,
    /// Each cgo package's checked C flags, by import path, once read
    /// ([`BuildFacts::cgo_flags`]; the errors are go's refusals).
    pub cgo_flags_memo:
        std::sync::Mutex<HashMap<String, std::result::Result<cflags::CgoFlags, Vec<String>>>>,
}

impl<'a> BuildFacts<'a> {
    /// The profile's build mode on this target ([`crate::config::profile::BuildMode::resolve`]):
    /// what compile, asm, symabis, link and the build info read.
    pub fn mode(&self) -> ResolvedMode {
        self.profile
            .buildmode
            .resolve(self.tc.goos(), self.tc.goarch())
    }

    /// The package of an action.
    pub fn pkg(&self, action: &Action) -> &'a GoPackage {
        &self.graph.packages[action.pkg]
    }

    /// The stable name of an action across builds (`-v` says why it reran
    /// against the last inputs of this name).
    fn identity(&self, action: &Action) -> String {
        let p = self.pkg(action);
        let file = match &action.kind {
            ActionKind::Asm { file } => format!(" {file}"),
            ActionKind::CCompile { file, .. } => format!(" {file}"),
            _ => String::new(),
        };
        // Two checkouts of one module are different actions.
        let place = if p.goroot {
            String::new()
        } else {
            format!(" in {}", p.dir)
        };
        format!(
            "{} {}{}{} {}/{} {}",
            action.kind.name(),
            p.import_path,
            file,
            place,
            self.tc.goos(),
            self.tc.goarch(),
            self.profile.name
        )
    }
}

/// The stages over one plan: what the executor prepares actions through.
pub struct Stages<'a> {
    /// The static facts.
    pub facts: &'a BuildFacts<'a>,
    /// The plan.
    pub plan: &'a ActionGraph,
}

impl Stages<'_> {
    fn unit(&self, action: &Action) -> Result<&LinkUnit> {
        self.plan.link_units.get(&action.pkg).ok_or_else(|| {
            internal(format!(
                "no link unit for {}",
                self.facts.pkg(action).import_path
            ))
        })
    }
}

impl PrepareAction for Stages<'_> {
    fn label(&self, id: ActionId) -> ActionLabel {
        let action = &self.plan.actions[id.0];
        let p = self.facts.pkg(action);
        ActionLabel {
            action: action.kind.name(),
            package: p.import_path.clone(),
            file: match &action.kind {
                ActionKind::Asm { file } => Some(file.clone()),
                ActionKind::CCompile { file, .. } => Some(file.clone()),
                _ => None,
            },
            goroot: p.goroot,
        }
    }

    fn prepare(&self, id: ActionId, done: &[OnceLock<ActionOutput>]) -> Result<Prepared> {
        let action = &self.plan.actions[id.0];
        let inputs = DeclaredInputs::new(action, done);
        let f = self.facts;
        let identity = f.identity(action);
        match &action.kind {
            ActionKind::Symabis => symabis::prepare(f, action, identity),
            ActionKind::Compile => {
                let pgo = self.plan.pgo.get(&action.pkg).map(PathBuf::as_path);
                compile::prepare(f, action, &inputs, identity, pgo)
            }
            ActionKind::Asm { file } => asm::prepare(f, action, &inputs, file, identity),
            ActionKind::Pack => pack::prepare(f, action, &inputs, identity),
            ActionKind::Preprofile { profile } => preprofile::prepare(f, action, profile),
            ActionKind::Nosplit { mode } => {
                nosplit::prepare(f, self.unit(action)?, &inputs, *mode, identity)
            }
            ActionKind::AbiReport => abi_report::prepare(f, self.unit(action)?, &inputs, identity),
            ActionKind::Link => {
                let pgo = self.plan.pgo.get(&action.pkg).map(PathBuf::as_path);
                link::prepare(f, self.unit(action)?, &inputs, identity, pgo)
            }
            ActionKind::TestRun => {
                let settings = f
                    .test
                    .as_ref()
                    .ok_or_else(|| internal("a test run without test settings"))?;
                test_run::prepare(f, action, &inputs, identity, settings)
            }
            ActionKind::Cgo => cgo::prepare(f, action, identity),
            ActionKind::CCompile {
                file,
                object,
                generated,
            } => cc::prepare(f, action, &inputs, (file, object, *generated), identity),
            ActionKind::Dynimport => dynimport::prepare(f, action, &inputs, identity),
            ActionKind::Vet { .. } => vet::prepare(f, action, &inputs, identity),
            ActionKind::Cover => cover::prepare(f, action, identity),
        }
    }
}
