//! One build, end to end: lock the target directory, load (or reuse the load
//! snapshot), plan, execute, and install the programs.
//!
//! [`BuildRequest`] is the static input, with the user's [`Intent`];
//! [`Session`] is what a load produced (toolchain, graph) and can be kept by
//! watch mode between builds; [`BuildOutcome`] is what callers read after.
//!
//! - [`install`]: where programs go, and the copy out of the cache.
//! - [`outcome`]: the finished build and its typed outputs.
//! - [`post`]: the last step, lints and the ELF checks of the programs.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;

use crate::cache::remote::{RemoteSettings, TieredCache};
use crate::cache::trim::TrimPolicy;
use crate::cache::{ContentDigest, DirLock, LocalCache};
use crate::config::profile::Profile;
use crate::error::{Error, Result};
use crate::events::{Emitter, EventKind, EventSink, Level};
use crate::exec::{self, ExecCache, ExecOptions, ProcessRunner};
use crate::fshash::FileHasher;
use crate::load::{self, LoadRequest, PackageGraph, Snapshot};
use crate::plan::{ActionGraph, Intent, PlanOptions};
use crate::stages::outputs::Output;
use crate::stages::test_run::TestSettings;
use crate::stages::{key, BuildFacts, Stages};
use crate::toolchain::{Toolchain, ToolchainRequest};

pub mod install;
pub mod outcome;
pub mod post;

pub use install::{exec_name, output_path};
pub use outcome::{BuildOutcome, Built, TestRun};

/// What to build.
#[derive(Debug, Clone)]
pub struct BuildRequest {
    /// Directory `go list` runs in; patterns are relative to it.
    pub dir: PathBuf,
    /// Package patterns (`./...` when empty).
    pub patterns: Vec<String>,
    /// The target directory (`target/`); outputs and the cache go under `gobuild/`.
    pub target_dir: PathBuf,
    /// The profile.
    pub profile: Profile,
    /// Which toolchain and target.
    pub toolchain: ToolchainRequest,
    /// Parallel actions.
    pub jobs: usize,
    /// Write the one program to this path instead.
    pub output: Option<PathBuf>,
    /// What to build: programs, the check alone, or only archives.
    pub intent: Intent,
    /// The program's name when one main package is built (a `[[target]]`'s `name`).
    pub exe_name: Option<String>,
    /// What the request is called in messages (`target demo`, `profile dev`).
    pub label: String,
    /// Where the experiment set came from, for errors (`gobuild.toml:3:1`).
    pub experiments_origin: Option<String>,
    /// Keep each action's work directory (until the next build) so the
    /// commands `-v` prints can be pasted into a shell and rerun.
    pub keep_work_dirs: bool,
    /// Package rules that ask for an experiment set: each must equal the
    /// request's for every package it matches in a link unit.
    pub package_experiments: Vec<PackageExperiments>,
    /// The remote cache, when one is configured and not turned off.
    pub remote: Option<RemoteSettings>,
    /// How tests run (the test intent).
    pub test: Option<TestSettings>,
}

/// A package rule's experiment set.
#[derive(Debug, Clone)]
pub struct PackageExperiments {
    /// The rule.
    pub rule: crate::config::profile::PackageRule,
    /// Its GOEXPERIMENT value.
    pub experiments: String,
    /// Where it was set.
    pub origin: String,
}

impl BuildRequest {
    /// `<target-dir>/gobuild`.
    pub fn gobuild_dir(&self) -> PathBuf {
        self.target_dir.join("gobuild")
    }

    fn patterns(&self) -> Vec<String> {
        if self.patterns.is_empty() {
            vec!["./...".to_string()]
        } else {
            self.patterns.clone()
        }
    }
}

/// A loaded workspace: toolchain facts and the package graph.
#[derive(Debug, Clone)]
pub struct Session {
    /// The toolchain, for the request's target.
    pub toolchain: Toolchain,
    /// The packages.
    pub graph: PackageGraph,
    /// Was the load snapshot reused (no `go list` ran)?
    pub from_snapshot: bool,
    /// Was the standard library's part of the graph reused (only `go list
    /// -find` ran; see [`load::known_std`])?
    pub std_reused: bool,
}

/// A program the build wrote.
#[derive(Debug, Clone)]
pub struct Artifact {
    /// Its main package.
    pub package: String,
    /// Where it is.
    pub path: PathBuf,
    /// The cache object it is a copy of.
    pub digest: ContentDigest,
}

/// Loads the packages, through the snapshot when nothing it depends on changed.
pub fn load(req: &BuildRequest, gobuild_dir: &Path) -> Result<Session> {
    let test = matches!(req.intent, Intent::Test);
    let cover = req
        .test
        .as_ref()
        .and_then(|t| t.cover.as_ref())
        .filter(|_| test)
        .map(|c| c.mode.clone());
    let lreq = LoadRequest {
        patterns: req.patterns(),
        tags: req.profile.tags.clone(),
        dir: req.dir.clone(),
        test,
        cover: cover.clone(),
    };
    load::check_dir(&req.dir)?;
    let fingerprint = load_fingerprint(&lreq, &req.toolchain);
    let snap_path = gobuild_dir
        .join("load")
        .join(format!("{}.json", &fingerprint[..32]));
    // A test load is reused too: the snapshot reloads on any change to a
    // `_test.go` file (the generated test mains list their tests).
    if let Some(snap) = Snapshot::load_valid(&snap_path, &fingerprint) {
        let toolchain = Toolchain::from_env(snap.go, snap.go_env, req.toolchain.env_overrides())?;
        return Ok(Session {
            toolchain,
            graph: snap.graph,
            from_snapshot: true,
            std_reused: false,
        });
    }
    let toolchain = match Toolchain::probe(&req.toolchain) {
        Ok(t) => t,
        Err(e) => return Err(explain_probe_error(req, e)),
    };
    // A new module (or new patterns): the standard library's part of the
    // graph from an earlier load, the rest from `go list -find`.
    let std_path =
        load::known_std::snapshot_path(&gobuild_dir.join("load"), &toolchain, &lreq.tags);
    let fast = load::known_std::load(&toolchain, &lreq, &std_path)?;
    let std_reused = fast.is_some();
    let mut graph = match fast {
        Some(packages) => {
            if std::env::var_os("GOBUILD_CHECK_FAST_LOAD").is_some() {
                let full = load::go_list(&toolchain, &lreq)?;
                load::known_std::check_same(&packages, &full)?;
            }
            let graph = load::PackageGraph::new(packages, &lreq.patterns)?;
            load::check_c_compiler(&toolchain, &graph)?;
            graph
        }
        None => {
            let graph = load::go_list(&toolchain, &lreq)?;
            load::known_std::save(&std_path, &graph);
            graph
        }
    };
    if test {
        let testmains = gobuild_dir.join("load").join("testmain");
        load::keep_testmains(&mut graph, &testmains)?;
        if let Some(mode) = &cover {
            load::cover::mark_covered(&mut graph, mode, toolchain.goroot(), &testmains)?;
        }
    }
    let snap = Snapshot::new(fingerprint, &toolchain, graph.clone(), &[]);
    // A snapshot that cannot be saved only costs the next build a `go list`.
    let _ = snap.save(&snap_path);
    Ok(Session {
        toolchain,
        graph,
        from_snapshot: false,
        std_reused,
    })
}

/// When `go env` refused the target, say why in our words: an unknown
/// experiment name (with a did-you-mean), found with a probe without it.
fn explain_probe_error(req: &BuildRequest, e: Error) -> Error {
    let Some(spec) = req
        .toolchain
        .goexperiment
        .as_deref()
        .filter(|s| !s.is_empty())
    else {
        return e;
    };
    let mut plain = req.toolchain.clone();
    plain.goexperiment = None;
    let Ok(tc) = Toolchain::probe(&plain) else {
        return e;
    };
    match crate::config::experiments::known(tc.goroot())
        .and_then(|known| crate::config::experiments::check(spec, &known))
    {
        Err(msg) => {
            let at = req.experiments_origin.as_deref().unwrap_or("GOEXPERIMENT");
            Error::Config(format!("{at}: {msg} (in {})", req.label))
        }
        Ok(()) => e,
    }
}

/// Everything a `go list` answer depends on besides files: the request and
/// the environment `go` reads.
fn load_fingerprint(lreq: &LoadRequest, tcreq: &ToolchainRequest) -> String {
    let mut h = blake3::Hasher::new();
    h.update(crate::cache::CACHE_VERSION.as_bytes());
    // The snapshot's own format (2: `CXXFiles` read under its real name),
    // and the binary that wrote it (another build of cargo gobuild may
    // read other fields).
    h.update(b"\0snapshot 2\0");
    h.update(crate::load::known_std::this_binary().as_bytes());
    h.update(serde_json::to_string(lreq).unwrap_or_default().as_bytes());
    h.update(format!("{:?}", tcreq.go).as_bytes());
    for (k, v) in tcreq.env_overrides() {
        h.update(format!("\0{k}={v}").as_bytes());
    }
    let mut vars: Vec<(String, String)> = std::env::vars()
        .filter(|(k, _)| {
            k.starts_with("GO")
                || k.starts_with("CGO_")
                || matches!(k.as_str(), "PATH" | "CC" | "CXX" | "HOME")
        })
        .collect();
    vars.sort();
    for (k, v) in vars {
        h.update(format!("\0env {k}={v}").as_bytes());
    }
    h.finalize().to_hex().to_string()
}

/// Runs a whole build.
pub fn build(
    req: &BuildRequest,
    sink: &dyn EventSink,
    cancel: Option<&AtomicBool>,
) -> Result<BuildOutcome> {
    let em = Emitter::new(sink);
    let trim = TrimPolicy::from_env().map_err(Error::Config)?;
    let gobuild_dir = req.gobuild_dir();
    let _lock = DirLock::acquire(&gobuild_dir, || {
        em.diag(
            Level::Note,
            None,
            format!(
                "Blocking: waiting for another build to release the lock on {}",
                gobuild_dir.display()
            ),
        )
    })?;
    let session = load(req, &gobuild_dir)?;
    if session.std_reused && std::env::var_os("GOBUILD_CHECK_FAST_LOAD").is_some() {
        em.diag(
            Level::Note,
            None,
            format!(
                "loaded {} packages without listing the standard library; equal to go list -deps's",
                session.graph.packages.len()
            ),
        );
    }
    let cache = LocalCache::open(gobuild_dir.join("cache"))?;
    // Work directories left by a killed build; we hold the lock, so none is in use.
    cache.clear_temp();
    let memo_path = cache.aux_dir("filememo.json");
    let hasher = FileHasher::load(&memo_path);
    let tiered = TieredCache::new(cache.clone(), req.remote.as_ref());
    let result = build_loaded(req, &em, session, &tiered, &hasher, cancel);
    let _ = hasher.save(&memo_path);
    cache.flush();
    // Once a day, with the lock still held: what this build used was just
    // refreshed, so only entries unused for the policy's age go.
    if let Err(e) = cache.trim_if_due(&trim, std::time::SystemTime::now()) {
        em.diag(Level::Warning, None, format!("cache not trimmed: {e}"));
    }
    result
}

fn build_loaded(
    req: &BuildRequest,
    em: &Emitter<'_>,
    session: Session,
    tiered: &TieredCache,
    hasher: &FileHasher,
    cancel: Option<&AtomicBool>,
) -> Result<BuildOutcome> {
    let cache = tiered.local().clone();
    let tc = &session.toolchain;
    let graph = &session.graph;
    let roots: Vec<usize> = graph.roots().collect();
    let mains: Vec<usize> = roots
        .iter()
        .copied()
        .filter(|r| graph.packages[*r].is_main())
        .collect();
    if let Some(out) = &req.output {
        if mains.len() > 1 && !out.is_dir() {
            return Err(Error::Config(format!(
                "-o {} names one file, but {} main packages were requested (hint: pass a directory, or one package)",
                out.display(),
                mains.len()
            )));
        }
    }
    let mode = req.profile.buildmode;
    if mode.is_c_library() && req.intent == Intent::Build && mains.len() != 1 {
        return Err(Error::Config(format!(
            "-buildmode={} requires exactly one main package, {} were requested (in {})",
            mode.as_str(),
            mains.len(),
            req.label
        )));
    }
    if let Some(w) = crate::config::experiments::forced_on_warning(tc.goexperiment(), tc.goarch()) {
        em.diag(Level::Warning, None, format!("{}: {w}", req.label));
    }
    check_link_unit_experiments(req, graph, &mains)?;
    // The object reader knows the formats of the Go releases it was built
    // for; with a newer toolchain the linker's own check still runs.
    let wants_check = req.intent != Intent::Archives;
    let nosplit = wants_check && goobj::builtin::builtins(tc.version.minor).is_some();
    if wants_check && !nosplit && !mains.is_empty() {
        let known: Vec<String> = (20..40)
            .filter(|m| goobj::builtin::builtins(*m).is_some())
            .map(|m| format!("go1.{m}"))
            .collect();
        em.diag(
            Level::Warning,
            None,
            format!(
                "nosplit check skipped: this cargo gobuild reads Go object files of {}, not {} (the linker still checks the stack budget)",
                known.join(", "),
                tc.goversion()
            ),
        );
    }
    // -pgo=auto, as go build applies it to main packages.
    let pgo = crate::plan::pgo_profiles(graph, &mains);
    let actions = ActionGraph::plan(
        graph,
        &roots,
        PlanOptions {
            intent: req.intent,
            nosplit,
            pgo,
            preprofile: tc.has_preprofile(),
            run_tests: req.test.as_ref().is_none_or(|t| t.run),
            vet: req.test.as_ref().is_some_and(|t| t.vet),
        },
    );
    let (tool_digests, include_digests) = key::digest_toolchain(tc, hasher)?;
    let tool_identity = key::tool_identity(hasher)?;
    // -buildvcs (default auto, GOFLAGS may say otherwise): the repository
    // state go build stamps into programs.
    let mut vcs = std::collections::HashMap::new();
    let buildvcs = tc
        .var("GOFLAGS")
        .split_whitespace()
        .rev()
        .find_map(|f| {
            f.strip_prefix("-buildvcs")
                .or_else(|| f.strip_prefix("--buildvcs"))
        })
        .map(|v| v.trim_start_matches('='))
        .unwrap_or("auto")
        .to_string();
    // go test stamps no version control information into test binaries.
    if !actions.links.is_empty() && buildvcs != "false" && req.intent != Intent::Test {
        for &m in &mains {
            match crate::modinfo::VcsInfo::for_main(&req.dir, &graph.packages[m]) {
                Ok(Some(v)) => {
                    vcs.insert(m, v);
                }
                Ok(None) => {}
                Err(e) => em.diag(
                    Level::Warning,
                    Some(&graph.packages[m].import_path),
                    format!("not stamping version control information: {e}"),
                ),
            }
        }
    }
    let facts = BuildFacts {
        tc,
        graph,
        profile: &req.profile,
        objects: &cache,
        hasher,
        roots: roots.iter().copied().collect::<HashSet<_>>(),
        compile_concurrency: compile_concurrency(req.jobs),
        tool_digests,
        include_digests,
        vcs,
        summaries: cache.aux_dir("nosplit"),
        tool_identity,
        test: req.test.clone().map(|mut t| {
            t.memo_dir = cache.aux_dir("testlogs");
            t
        }),
        cc_identity: crate::stages::cflags::cc_identity(
            tc,
            graph,
            &cache.aux_dir("cc-identity.json"),
        )?,
        cxx_identity: crate::stages::cflags::cxx_identity(
            tc,
            graph,
            &cache.aux_dir("cc-identity.json"),
        )?,
        cgo_flags_memo: Default::default(),
    };
    em.emit(EventKind::BuildStarted {
        actions: actions.actions.len(),
        target: format!("{}/{}", tc.goos(), tc.goarch()),
        profile: req.profile.name.clone(),
        jobs: req.jobs.max(1),
    });
    let summary = exec::execute(
        &actions,
        &Stages {
            facts: &facts,
            plan: &actions,
        },
        &ExecCache {
            actions: tiered,
            objects: &cache,
            inputs_log: &cache,
            work_root: cache.work_root(),
        },
        &ProcessRunner,
        em,
        &ExecOptions {
            jobs: req.jobs,
            cancel,
            keep_work_dirs: req.keep_work_dirs,
            // go test builds and runs every package it can.
            keep_going: req.intent == Intent::Test,
        },
    );
    let mut artifacts = Vec::new();
    // Test binaries are run, not installed.
    if summary.success() && req.intent != Intent::Test {
        for &link in &actions.links {
            let pkg = &graph.packages[actions.actions[link.0].pkg];
            let exe = summary.results[link.0]
                .get()
                .and_then(|o| o.outputs.get(&Output::Exe).copied())
                .ok_or_else(|| Error::Tool {
                    program: "link".into(),
                    message: "internal: link produced no program".into(),
                })?;
            let dest = output_path(req, tc, pkg, mains.len());
            let fresh = install::install(&cache, hasher, &exe, &dest)?;
            em.emit(EventKind::Artifact {
                package: pkg.import_path.clone(),
                path: dest.clone(),
                fresh,
            });
            if req.profile.buildmode.is_c_library() {
                let main = actions.actions[link.0].pkg;
                install_export_header(&actions, &summary, &cache, hasher, main, &dest)?;
            }
            artifacts.push(Artifact {
                package: pkg.import_path.clone(),
                path: dest,
                digest: exe,
            });
        }
    }
    // The last step: ABI lints (also after a failed link, to explain it)
    // and the checks of the programs written.
    let built = Built {
        graph,
        plan: &actions,
        results: &summary.results,
        objects: &cache,
        goos: tc.goos(),
        goarch: tc.goarch(),
    };
    let checked = post::after_build(req, em, &built, &cache, &artifacts);
    // The uploads queued by this build finish before it reports.
    let (remote, warnings) = tiered.finish();
    for w in warnings {
        em.diag(Level::Warning, None, w);
    }
    let success = summary.success() && checked.is_ok();
    em.emit(EventKind::BuildFinished {
        success,
        duration: em.elapsed().as_secs_f64(),
        ran: summary.ran,
        cached: summary.cached,
        failed: summary.failed,
        remote,
    });
    // A test build's failures are the callers' to report per package
    // (`FAIL pkg [build failed]`, from `BuildOutcome::test_runs`).
    if summary.failed > 0 && req.intent != Intent::Test {
        return Err(Error::BuildFailed {
            failed: summary.failed,
        });
    }
    checked?;
    Ok(BuildOutcome {
        session,
        actions,
        summary,
        artifacts,
        cache,
    })
}

/// c-archive, c-shared: the cgo export header of the main package `main`,
/// beside the library (`libNAME.h`). A main package without cgo has none,
/// as with go build.
fn install_export_header(
    actions: &ActionGraph,
    summary: &exec::ExecSummary,
    objects: &LocalCache,
    hasher: &FileHasher,
    main: usize,
    library: &Path,
) -> Result<Option<PathBuf>> {
    let Some(cgo) = actions
        .actions
        .iter()
        .position(|a| a.kind == crate::plan::ActionKind::Cgo && a.pkg == main)
    else {
        return Ok(None);
    };
    let header = summary.results[cgo]
        .get()
        .and_then(|o| {
            o.outputs
                .get(&Output::Generated(crate::stages::cgo::EXPORT_HEADER.into()))
                .copied()
        })
        .ok_or_else(|| Error::Tool {
            program: "cgo".into(),
            message: "internal: cgo wrote no export header".into(),
        })?;
    let dest = install::header_path(library);
    install::install(objects, hasher, &header, &dest)?;
    Ok(Some(dest))
}

/// A package rule may not give a package of a program another experiment
/// set than the program's: the linker would refuse the objects ("linked
/// object header mismatch"). Checked before anything is built.
fn check_link_unit_experiments(
    req: &BuildRequest,
    graph: &PackageGraph,
    mains: &[usize],
) -> Result<()> {
    let norm = |s: &str| {
        let mut v: Vec<&str> = s
            .split(',')
            .map(str::trim)
            .filter(|x| !x.is_empty())
            .collect();
        v.sort_unstable();
        v.join(",")
    };
    let ours = norm(req.toolchain.goexperiment.as_deref().unwrap_or(""));
    for rule in &req.package_experiments {
        if norm(&rule.experiments) == ours {
            continue;
        }
        for &m in mains {
            let mut hit: Vec<&str> = std::iter::once(m)
                .chain(graph.deps(m))
                .map(|p| &graph.packages[p])
                .filter(|p| rule.rule.matches(p.base_path(), p.goroot))
                .map(|p| p.base_path())
                .collect();
            if !hit.is_empty() {
                hit.truncate(5);
                return Err(Error::Config(format!(
                    "{}: package rule `{}` sets experiments `{}` for {}, but {} links {} with experiments `{}`: one program's packages must share one experiment set (the linker would fail with \"linked object header mismatch\") (hint: set `experiments` on the target or its profile instead)",
                    rule.origin,
                    rule.rule.pattern,
                    rule.experiments,
                    hit.join(", "),
                    req.label,
                    graph.packages[m].import_path,
                    if ours.is_empty() { "(default)" } else { ours.as_str() },
                )));
            }
        }
    }
    Ok(())
}

/// `-c=N` as cmd/go picks it for a build with several parallel actions:
/// at most 4, at most the number of CPUs.
fn compile_concurrency(jobs: usize) -> usize {
    let cpus = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1);
    if jobs <= 1 {
        cpus
    } else {
        cpus.min(4)
    }
}
