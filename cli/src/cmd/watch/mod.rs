//! `cargo gobuild watch`: rebuild on every save through the engine, and with
//! `--run` restart the program — no lost edits, no leaked processes.
//!
//! Who owns what:
//! - **What to watch** ([`WatchSet`]) comes from the loaded package graph:
//!   the directories of the workspace's packages (not GOROOT, not the module
//!   cache: main modules and local `replace` directories), the directories
//!   between them and their module root (a new package may appear there),
//!   the directories of embedded files, the module roots (`go.mod`, `go.sum`,
//!   `go.work`) and the config files (`gobuild.toml`, `Cargo.toml`). Each is
//!   watched non-recursively, so the target directory and `.git` are never
//!   walked, wherever they live; events under them are dropped anyway. The
//!   set is recomputed from the new graph after every build (kept when a
//!   load fails; before any load succeeded, every directory of the module
//!   that holds Go files).
//! - **What changed** is decided per event path: `.go` (not `_test.go`),
//!   `.s`, `.S`, `.h`, `.syso`, embedded files and files matching an embed
//!   pattern, module files, config files, and directories appearing or
//!   vanishing. A rescan/overflow event from the watcher means "re-check
//!   everything": a cycle runs and the engine's own content checks decide.
//! - **What to rebuild** is not decided here: each cycle is a plain
//!   [`build::build`], whose load snapshot and content-addressed cache rerun
//!   only the actions whose inputs changed, and reload the graph only when
//!   imports, file sets or module files changed.
//! - **Process control** ([`Program`]): the program runs in its own process
//!   group; a restart is stop-then-start; stopping is SIGTERM to the group,
//!   `--stop-timeout`, then SIGKILL, and the child is always reaped. The
//!   restart happens at the engine's `artifact` event — the program is
//!   linked and installed — while the build's post-link checks (ABI lints,
//!   ELF checks: they read the program, never change it) still run; their
//!   verdict is reported with the cycle. This takes them off the
//!   edit-to-restart path.
//!
//! Scheduling: events are collected until none arrived for `--debounce`, then
//! one build runs. One build at a time. **A change during a build cancels it
//! and starts over** (cancel-and-restart, through the engine's cancel flag):
//! actions already running finish and stay cached, no new action starts, the
//! stale result is neither installed as a restart nor reported as a failure,
//! and the next cycle — after the debounce — builds the newest saved state.
//! So what is finally built is always the last saved state, and a burst of
//! saves costs at most one build more than its quiet end.
//!
//! A build that fails before its program is written (a compile error…)
//! leaves the running program alone. SIGINT, SIGTERM or
//! SIGHUP cancel the build, stop the program and exit 0; a second one stops
//! the program with SIGKILL at once.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::io::Write;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use anstyle::{AnsiColor, Style};
use clap::Args;
use notify::{EventKind as FsKind, RecursiveMode, Watcher};
use pipeline::build::{self, BuildRequest};
use pipeline::events::{Emitter, Event, EventKind, EventSink, Level, Outcome};
use pipeline::load::PackageGraph;
use serde::Serialize;

use crate::report::{HumanReporter, MessageFormat, Verbosity};
use crate::args::BuildArgs;
use crate::exit::{Failure, Kind};
use crate::settings;

/// `cargo gobuild watch`.
#[derive(Debug, Args)]
pub(crate) struct WatchArgs {
    #[command(flatten)]
    pub(crate) build: BuildArgs,
    /// After each successful build, (re)start the program: the previous one
    /// gets SIGTERM (its whole process group), then SIGKILL after
    /// --stop-timeout. Exactly one main package must be selected.
    #[arg(long)]
    pub(crate) run: bool,
    /// How long a stopped program may take to exit after SIGTERM before it
    /// gets SIGKILL (`2s`, `500ms`, `0`).
    #[arg(long, value_name = "DURATION", default_value = "2s", value_parser = parse_duration)]
    pub(crate) stop_timeout: Duration,
    /// Quiet time after the last change before a build starts.
    #[arg(long, value_name = "DURATION", default_value = "50ms", value_parser = parse_duration)]
    pub(crate) debounce: Duration,
    /// Clear the screen before each cycle.
    #[arg(long)]
    pub(crate) clear: bool,
    /// Poll the file system instead of using inotify (network and
    /// container file systems that send no events).
    #[arg(long)]
    pub(crate) poll: bool,
    /// How often --poll looks.
    #[arg(long, value_name = "DURATION", default_value = "500ms", value_parser = parse_duration, requires = "poll")]
    pub(crate) poll_interval: Duration,
    /// Arguments for the program (after `--`; needs --run).
    #[arg(last = true, value_name = "ARGS", requires = "run")]
    pub(crate) args: Vec<String>,
}

/// `2s`, `1.5s`, `250ms`, `0`, or plain seconds.
fn parse_duration(s: &str) -> Result<Duration, String> {
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 1e-3)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s, 1.0)
    };
    match num.trim().parse::<f64>() {
        Ok(v) if v >= 0.0 && v.is_finite() => Ok(Duration::from_secs_f64(v * scale)),
        _ => Err(format!("`{s}` is not a duration (hint: `2s`, `500ms`)")),
    }
}

/// The watch-level JSON events, beside the engine's (same `reason` field).
#[derive(Debug, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
enum WatchEvent<'a> {
    /// Watching began.
    WatchStarted {
        directories: usize,
        packages: usize,
        poll: bool,
    },
    /// One cycle (one build of every request) ended.
    WatchCycle {
        cycle: u64,
        /// Changed paths, relative to the current directory when under it.
        changed: &'a [String],
        /// The watcher lost events (overflow) and everything was re-checked.
        rescan: bool,
        success: bool,
        /// A newer change arrived; this build was abandoned for a new one.
        cancelled: bool,
        ran: usize,
        cached: usize,
        duration: f64,
        restarted: bool,
        #[serde(skip_serializing_if = "Option::is_none")]
        error: Option<&'a str>,
    },
    /// The program started.
    ProgramStarted {
        pid: u32,
        path: &'a Path,
        args: &'a [String],
    },
    /// The program ended (`why`: `restart`, `exited` on its own, `shutdown`).
    ProgramStopped {
        pid: u32,
        why: &'a str,
        #[serde(skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
        /// It did not exit within --stop-timeout and got SIGKILL.
        killed: bool,
    },
    /// The watcher exits.
    WatchFinished { signal: i32 },
}

#[derive(Serialize)]
struct Stamped<'a> {
    elapsed: f64,
    #[serde(flatten)]
    event: WatchEvent<'a>,
}

enum Msg {
    Fs(notify::Result<notify::Event>),
    Signal(i32),
    /// A program was linked and installed (`fresh`: its bytes changed).
    Artifact {
        path: PathBuf,
        fresh: bool,
    },
    Built(Box<CycleResult>),
}

/// Forwards engine events to the reporter, counts what ran, and (for
/// `--run`) tells the loop the moment a program is installed.
struct CycleSink {
    inner: Box<dyn EventSink>,
    ran: Mutex<BTreeMap<&'static str, usize>>,
    artifacts: Option<Mutex<Sender<Msg>>>,
}

impl EventSink for CycleSink {
    fn emit(&self, event: Event) {
        if let EventKind::ActionFinished {
            action,
            outcome: Outcome::Ran,
            ..
        } = &event.kind
        {
            *self.ran.lock().unwrap().entry(action).or_default() += 1;
        }
        let artifact = match (&event.kind, &self.artifacts) {
            (EventKind::Artifact { path, fresh, .. }, Some(tx)) => Some((tx, path.clone(), *fresh)),
            _ => None,
        };
        self.inner.emit(event);
        if let Some((tx, path, fresh)) = artifact {
            let _ = tx.lock().unwrap().send(Msg::Artifact { path, fresh });
        }
    }
}

/// What one request's build left.
struct RequestResult {
    graph: Option<PackageGraph>,
    cancelled: bool,
    /// The build failed (its diagnostics were reported).
    failed: bool,
    /// An error that was not reported yet (package errors, config…).
    error: Option<String>,
    ran: usize,
    cached: usize,
}

struct CycleResult {
    results: Vec<RequestResult>,
}

/// Runs every request once; on a failed build, loads the graph anyway (from
/// the snapshot the build saved) so the watch set follows it.
fn run_cycle(reqs: &[BuildRequest], sink: &dyn EventSink, cancel: &AtomicBool) -> CycleResult {
    let mut results = Vec::new();
    for req in reqs {
        if cancel.load(Ordering::Relaxed) {
            results.push(RequestResult {
                graph: None,
                cancelled: true,
                failed: false,
                error: None,
                ran: 0,
                cached: 0,
            });
            continue;
        }
        let r = match build::build(req, sink, Some(cancel)) {
            Ok(o) => RequestResult {
                cancelled: o.summary.cancelled,
                ran: o.summary.ran,
                cached: o.summary.cached,
                graph: Some(o.session.graph),
                failed: false,
                error: None,
            },
            Err(e) => {
                let failed = matches!(e, pipeline::Error::BuildFailed { .. });
                let graph = build::load(req, &req.gobuild_dir()).ok().map(|s| s.graph);
                let f = Failure::from(e);
                RequestResult {
                    graph,
                    cancelled: false,
                    failed,
                    error: f.message,
                    ran: 0,
                    cached: 0,
                }
            }
        };
        results.push(r);
    }
    CycleResult { results }
}

/// What the watcher looks at, derived from the package graphs.
#[derive(Debug, Default)]
struct WatchSet {
    /// Directories watched (non-recursively).
    dirs: BTreeSet<PathBuf>,
    embed_files: HashSet<PathBuf>,
    embed_dirs: HashSet<PathBuf>,
    embed_globs: Vec<(PathBuf, glob::Pattern)>,
    config_files: HashSet<PathBuf>,
    packages: usize,
}

/// Never watched, never a change: the target directory and `.git`.
#[derive(Debug, Clone)]
struct Excluded {
    dirs: Vec<PathBuf>,
}

impl Excluded {
    fn new(target_dir: &Path) -> Excluded {
        let mut dirs = vec![target_dir.to_path_buf()];
        if let Ok(c) = target_dir.canonicalize() {
            if c != target_dir {
                dirs.push(c);
            }
        }
        Excluded { dirs }
    }

    fn contains(&self, p: &Path) -> bool {
        self.dirs.iter().any(|d| p.starts_with(d))
            || p.components().any(|c| c.as_os_str() == ".git")
    }
}

impl WatchSet {
    fn compute(
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
    fn relevant(&self, path: &Path, is_dir_event: bool) -> bool {
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

/// A running program.
struct Program {
    child: Child,
    pid: u32,
}

/// How a program ended.
struct Stopped {
    exit_code: Option<i32>,
    signal: Option<i32>,
    killed: bool,
}

impl Program {
    fn start(path: &Path, args: &[String]) -> std::io::Result<Child> {
        let mut cmd = Command::new(path);
        cmd.args(args)
            // Its own group: a terminal's Ctrl-C reaches only us, and a stop
            // reaches everything the program started.
            .process_group(0)
            // A background group reading the terminal would be stopped (SIGTTIN).
            .stdin(Stdio::null());
        // SAFETY: prctl and getppid are async-signal-safe; nothing is allocated.
        unsafe {
            cmd.pre_exec(|| {
                // If the watcher dies without cleaning up (SIGKILL), the
                // program is told to stop too. The main thread spawns, so the
                // "parent thread" is the process's lifetime.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                if libc::getppid() == 1 {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        cmd.spawn()
    }

    /// Has the program exited? (Not reaped yet: its pid, and so its process
    /// group id, cannot be reused while we look.)
    fn exited(&self) -> bool {
        // SAFETY: waitid with a zeroed siginfo_t; WNOWAIT leaves the child waitable.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                self.pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            // An error (ECHILD: already reaped) counts as exited.
            r != 0 || info.si_pid() != 0
        }
    }

    fn kill_group(&self, sig: i32) {
        // SAFETY: plain syscall; ESRCH (group gone) is fine.
        unsafe {
            libc::kill(-(self.pid as i32), sig);
        }
    }

    /// SIGTERM to the group, wait up to `timeout` (less if `force` is set
    /// meanwhile), SIGKILL, then reap.
    fn stop(mut self, timeout: Duration, force: &AtomicBool) -> Stopped {
        let mut killed = false;
        if !self.exited() {
            self.kill_group(libc::SIGTERM);
            let deadline = Instant::now() + timeout;
            while !self.exited() {
                if Instant::now() >= deadline || force.load(Ordering::Relaxed) {
                    self.kill_group(libc::SIGKILL);
                    killed = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.reap(killed)
    }

    /// Kills what is left of the group (the program's own children) and
    /// reaps the program.
    fn reap(&mut self, killed: bool) -> Stopped {
        self.kill_group(libc::SIGKILL);
        let status = self.child.wait().ok();
        use std::os::unix::process::ExitStatusExt;
        Stopped {
            exit_code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
            killed,
        }
    }
}

/// Either file watcher backend.
type FsWatcher = Box<dyn Watcher + Send>;

fn new_watcher(tx: Sender<Msg>, poll: Option<Duration>) -> notify::Result<FsWatcher> {
    let handler = move |ev| {
        let _ = tx.send(Msg::Fs(ev));
    };
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

/// The watch loop's state.
struct Watch {
    args: WatchArgs,
    json: bool,
    human: HumanReporter,
    start: Instant,
    cwd: PathBuf,
    reqs: Arc<Vec<BuildRequest>>,
    config_files: Vec<PathBuf>,
    excluded: Excluded,
    set: WatchSet,
    watcher: FsWatcher,
    tx: Sender<Msg>,
    rx: Receiver<Msg>,
    /// Changes not built yet.
    pending: BTreeSet<PathBuf>,
    rescan: bool,
    config_changed: bool,
    last_change: Option<Instant>,
    /// The build in flight.
    building: Option<Building>,
    cycle: u64,
    program: Option<Program>,
    force: Arc<AtomicBool>,
    /// The main packages of the last complete load (for --run).
    mains: Option<Vec<String>>,
}

/// A cycle in flight.
struct Building {
    cancel: Arc<AtomicBool>,
    sink: Arc<CycleSink>,
    changed: Vec<String>,
    rescan: bool,
    started: Instant,
    started_at: SystemTime,
    /// Did this cycle (re)start the program, and what to say about it.
    restarted: bool,
    note: String,
}

const GREEN: Style = AnsiColor::Green.on_default().bold();
const CYAN: Style = AnsiColor::Cyan.on_default().bold();
const RED: Style = AnsiColor::Red.on_default().bold();
const YELLOW: Style = AnsiColor::Yellow.on_default().bold();

/// `cargo gobuild watch`.
pub(crate) fn run(args: WatchArgs) -> Result<(), Failure> {
    let (tx, rx) = mpsc::channel();
    // Signals first: from here on, Ctrl-C is ours to handle, and nothing
    // we start can outlive us.
    let signals = Arc::new(AtomicUsize::new(0));
    let force = Arc::new(AtomicBool::new(false));
    {
        let mut sigs =
            signal_hook::iterator::Signals::new([libc::SIGINT, libc::SIGTERM, libc::SIGHUP])
                .map_err(|e| anyhow::anyhow!("installing signal handlers: {e}"))?;
        let (tx, signals, force) = (tx.clone(), signals.clone(), force.clone());
        std::thread::spawn(move || {
            for s in sigs.forever() {
                if signals.fetch_add(1, Ordering::SeqCst) >= 1 {
                    force.store(true, Ordering::SeqCst);
                }
                let _ = tx.send(Msg::Signal(s));
            }
        });
    }
    let c = &args.build.common;
    let json = c.message_format == MessageFormat::Json;
    // Status lines only: Quiet gives it no progress bar of its own (each
    // cycle's build reporter draws one); `status` checks -q itself.
    let human = HumanReporter::new(Verbosity::Quiet, c.color);
    let l = settings::load(c)?;
    let reqs = settings::build_requests(&args.build)?;
    let config_files = config_files(&l, &reqs);
    let excluded = Excluded::new(&l.ws.target_dir);
    let poll = args.poll.then_some(args.poll_interval);
    let watcher = new_watcher(tx.clone(), poll)
        .map_err(|e| anyhow::anyhow!("starting the file watcher: {e} (hint: try --poll)"))?;
    let mut w = Watch {
        json,
        human,
        start: Instant::now(),
        cwd: l.cwd.clone(),
        reqs: Arc::new(reqs),
        config_files,
        excluded,
        set: WatchSet::default(),
        watcher,
        tx,
        rx,
        pending: BTreeSet::new(),
        rescan: false,
        config_changed: false,
        last_change: None,
        building: None,
        cycle: 0,
        program: None,
        force,
        mains: None,
        args,
    };
    // Watch before the first build, so nothing saved during it is lost: the
    // graph comes from the load snapshot (or one `go list`, which the build
    // then reuses).
    let graphs: Vec<PackageGraph> = w
        .reqs
        .iter()
        .filter_map(|r| build::load(r, &r.gobuild_dir()).ok().map(|s| s.graph))
        .collect();
    w.update_watches(&graphs.iter().collect::<Vec<_>>(), None);
    if !graphs.is_empty() && graphs.len() == w.reqs.len() {
        w.mains = Some(mains(&graphs.iter().collect::<Vec<_>>()));
    }
    if w.args.run && w.wrong_mains() {
        return Err(w.mains_failure());
    }
    w.emit(WatchEvent::WatchStarted {
        directories: w.set.dirs.len(),
        packages: w.set.packages,
        poll: w.args.poll,
    });
    if !json {
        let how = match poll {
            Some(i) => format!("polling every {}ms", i.as_millis()),
            None => "inotify".to_string(),
        };
        w.status(
            CYAN,
            "Watching",
            &format!(
                "{} in {} ({how}); Ctrl-C to stop",
                plural(w.set.packages, "package"),
                plural(w.set.dirs.len(), "directory")
            ),
        );
    }
    w.start_cycle();
    w.main_loop()
}

/// The config files whose change reloads the requests: the workspace's
/// `gobuild.toml`/`Cargo.toml` and every `Cargo.toml` between it and the
/// Go modules.
fn config_files(l: &settings::Loaded, reqs: &[BuildRequest]) -> Vec<PathBuf> {
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

/// The import paths of the main packages the patterns matched.
fn mains(graphs: &[&PackageGraph]) -> Vec<String> {
    let mut v: Vec<String> = graphs
        .iter()
        .flat_map(|g| {
            g.roots()
                .filter(|r| g.packages[*r].is_main())
                .map(|r| g.packages[r].import_path.clone())
        })
        .collect();
    v.sort();
    v.dedup();
    v
}

impl Watch {
    fn emit(&self, event: WatchEvent<'_>) {
        if !self.json {
            return;
        }
        let s = Stamped {
            elapsed: self.start.elapsed().as_secs_f64(),
            event,
        };
        if let Ok(line) = serde_json::to_string(&s) {
            let mut out = std::io::stdout().lock();
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }

    fn status(&self, style: Style, status: &str, msg: &str) {
        if !self.json && self.args.build.common.verbosity() > Verbosity::Quiet {
            self.human.status(style, status, msg);
        }
    }

    fn error(&self, msg: &str) {
        if self.json {
            let sink = self.args.build.common.reporter();
            Emitter::new(sink.as_ref()).diag(Level::Error, None, msg);
        } else {
            self.human.error(msg);
        }
    }

    /// Is it known that not exactly one main package is selected?
    fn wrong_mains(&self) -> bool {
        self.mains.as_ref().is_some_and(|m| m.len() != 1)
    }

    fn mains_failure(&self) -> Failure {
        let pats = if self.args.build.packages.is_empty() {
            "./...".to_string()
        } else {
            self.args.build.packages.join(" ")
        };
        let mains = self.mains.clone().unwrap_or_default();
        let message = if mains.is_empty() {
            format!("--run needs a main package, but {pats} has none (hint: name the command, e.g. `cargo gobuild watch ./cmd/NAME --run`)")
        } else {
            format!(
                "--run runs one program, but {pats} has {} main packages: {} (hint: name one, e.g. `cargo gobuild watch {} --run`)",
                mains.len(),
                mains.join(", "),
                mains[0]
            )
        };
        Failure {
            kind: Kind::BuildFailed,
            message: Some(message),
        }
    }

    /// Recomputes the watch set from `graphs` (keeping the current one when
    /// no graph could be loaded) and applies the difference to the watcher.
    /// Sources in newly watched directories that changed since `since` are
    /// queued: a save between the load and the watch is not lost.
    fn update_watches(&mut self, graphs: &[&PackageGraph], since: Option<SystemTime>) {
        if graphs.is_empty() && !self.set.dirs.is_empty() {
            return;
        }
        let new = WatchSet::compute(graphs, &self.reqs, &self.config_files, &self.excluded);
        let added: Vec<PathBuf> = new.dirs.difference(&self.set.dirs).cloned().collect();
        for d in self.set.dirs.difference(&new.dirs) {
            let _ = self.watcher.unwatch(d);
        }
        let mut failed = Vec::new();
        for d in &added {
            // A directory that does not exist (yet) is seen from its parent.
            if let Err(e) = self.watcher.watch(d, RecursiveMode::NonRecursive) {
                if d.is_dir() {
                    failed.push(format!("{}: {e}", self.shown(d)));
                }
            }
        }
        if !failed.is_empty() {
            self.error(&format!(
                "cannot watch {} (hint: raise fs.inotify.max_user_watches, or use --poll)",
                failed.join(", ")
            ));
        }
        self.set = new;
        if let Some(since) = since {
            for d in &added {
                let Ok(rd) = std::fs::read_dir(d) else {
                    continue;
                };
                for e in rd.flatten() {
                    let p = e.path();
                    let recent = e
                        .metadata()
                        .and_then(|m| m.modified())
                        .is_ok_and(|m| m >= since);
                    if recent && self.set.relevant(&p, false) {
                        self.change(p);
                    }
                }
            }
        }
    }

    fn change(&mut self, p: PathBuf) {
        if self.config_files.contains(&p) {
            self.config_changed = true;
        }
        self.pending.insert(p);
        self.last_change = Some(Instant::now());
        if let Some(b) = &self.building {
            b.cancel.store(true, Ordering::Relaxed);
        }
    }

    fn on_fs(&mut self, ev: notify::Result<notify::Event>) {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                // Lost track of something (e.g. a watch limit): re-check all.
                self.status(
                    YELLOW,
                    "Warning",
                    &format!("file watcher: {e}; re-checking everything"),
                );
                self.rescan = true;
                self.last_change = Some(Instant::now());
                if let Some(b) = &self.building {
                    b.cancel.store(true, Ordering::Relaxed);
                }
                return;
            }
        };
        if ev.need_rescan() {
            self.rescan = true;
            self.last_change = Some(Instant::now());
            if let Some(b) = &self.building {
                b.cancel.store(true, Ordering::Relaxed);
            }
            return;
        }
        use notify::event::{CreateKind, ModifyKind, RemoveKind};
        // Entries appearing, vanishing or renamed; not a directory's own
        // metadata (its mtime changes with every file saved in it).
        let (dir_event, names) = match ev.kind {
            FsKind::Access(_) => return,
            FsKind::Create(CreateKind::Folder) | FsKind::Remove(RemoveKind::Folder) => (true, true),
            FsKind::Create(_) | FsKind::Remove(_) | FsKind::Modify(ModifyKind::Name(_)) => {
                (false, true)
            }
            _ => (false, false),
        };
        for p in ev.paths {
            if self.excluded.contains(&p) || (!names && p.is_dir()) {
                continue;
            }
            if self.set.relevant(&p, dir_event) {
                self.change(p);
            }
        }
    }

    fn shown(&self, p: &Path) -> String {
        p.strip_prefix(&self.cwd).unwrap_or(p).display().to_string()
    }

    fn start_cycle(&mut self) {
        if self.config_changed {
            self.config_changed = false;
            match settings::build_requests(&self.args.build) {
                Ok(r) => {
                    if let Ok(l) = settings::load(&self.args.build.common) {
                        self.excluded = Excluded::new(&l.ws.target_dir);
                        self.config_files = config_files(&l, &r);
                    }
                    self.reqs = Arc::new(r);
                }
                Err(f) => {
                    self.pending.clear();
                    self.error(
                        f.message
                            .as_deref()
                            .unwrap_or("the configuration could not be loaded"),
                    );
                    return;
                }
            }
        }
        self.cycle += 1;
        let changed: Vec<String> = self.pending.iter().map(|p| self.shown(p)).collect();
        let rescan = std::mem::take(&mut self.rescan);
        self.pending.clear();
        if self.args.clear && !self.json {
            let _ = std::io::stderr().write_all(b"\x1b[H\x1b[2J\x1b[3J");
        }
        if self.cycle > 1 {
            let mut what = changed
                .iter()
                .take(5)
                .cloned()
                .collect::<Vec<_>>()
                .join(", ");
            if changed.len() > 5 {
                what.push_str(&format!(" and {} more", changed.len() - 5));
            }
            if rescan {
                what = if what.is_empty() {
                    "(rescan)".into()
                } else {
                    format!("{what} (rescan)")
                };
            }
            self.status(CYAN, "Changed", &what);
        }
        let cancel = Arc::new(AtomicBool::new(false));
        let c = &self.args.build.common;
        // Human output: the compiler's errors and warnings, then one status
        // line per cycle (ours); the per-action lines and the progress bar
        // only with -v (a bar would be drawn across the program's output,
        // which starts before the build ends).
        let inner: Box<dyn EventSink> = match (self.json, c.verbose) {
            (true, _) => c.reporter(),
            (false, true) => Box::new(HumanReporter::new(Verbosity::Verbose, c.color)),
            (false, false) => Box::new(HumanReporter::new(Verbosity::Quiet, c.color)),
        };
        let sink = Arc::new(CycleSink {
            inner,
            ran: Mutex::new(BTreeMap::new()),
            artifacts: self.args.run.then(|| Mutex::new(self.tx.clone())),
        });
        let (reqs, c, s, tx) = (
            self.reqs.clone(),
            cancel.clone(),
            sink.clone(),
            self.tx.clone(),
        );
        std::thread::spawn(move || {
            let r = run_cycle(&reqs, s.as_ref(), &c);
            let _ = tx.send(Msg::Built(Box::new(r)));
        });
        self.building = Some(Building {
            cancel,
            sink,
            changed,
            rescan,
            started: Instant::now(),
            started_at: SystemTime::now(),
            restarted: false,
            note: String::new(),
        });
    }

    fn finish_cycle(&mut self, r: CycleResult) {
        let Some(Building {
            sink,
            changed,
            rescan,
            started,
            started_at,
            restarted,
            note,
            ..
        }) = self.building.take()
        else {
            return;
        };
        let duration = started.elapsed().as_secs_f64();
        let graphs: Vec<&PackageGraph> =
            r.results.iter().filter_map(|x| x.graph.as_ref()).collect();
        let all_graphs = graphs.len() == r.results.len();
        self.update_watches(&graphs, Some(started_at));
        if all_graphs && !graphs.is_empty() {
            self.mains = Some(mains(&graphs));
        }
        let cancelled = r.results.iter().any(|x| x.cancelled);
        let failed = r.results.iter().any(|x| x.failed || x.error.is_some());
        let error: Vec<&str> = r
            .results
            .iter()
            .filter_map(|x| x.error.as_deref())
            .collect();
        for e in &error {
            self.error(e);
        }
        let ran: usize = r.results.iter().map(|x| x.ran).sum();
        let cached: usize = r.results.iter().map(|x| x.cached).sum();
        let mut error = error.join("\n");
        if !cancelled && !failed && self.args.run && self.wrong_mains() {
            error = self.mains_failure().message.unwrap_or_default();
            self.error(&error);
        }
        let success = !cancelled && !failed && error.is_empty();
        self.emit(WatchEvent::WatchCycle {
            cycle: self.cycle,
            changed: &changed,
            rescan,
            success,
            cancelled,
            ran,
            cached,
            duration,
            restarted,
            error: (!error.is_empty()).then_some(error.as_str()),
        });
        let counts = sink.ran.lock().unwrap().clone();
        let actions = if counts.is_empty() {
            "nothing to do".to_string()
        } else {
            let list: Vec<String> = counts
                .iter()
                .map(|(a, n)| {
                    if *n > 1 {
                        format!("{a} ×{n}")
                    } else {
                        a.to_string()
                    }
                })
                .collect();
            format!(
                "{} actions ran: {}",
                counts.values().sum::<usize>(),
                list.join(", ")
            )
        };
        if cancelled {
            self.status(
                YELLOW,
                "Cancelled",
                "files changed during the build; starting over",
            );
        } else if success {
            let tail = if note.is_empty() {
                String::new()
            } else {
                format!("; {note}")
            };
            self.status(
                GREEN,
                "Rebuilt",
                &format!("in {duration:.2}s ({actions}){tail}"),
            );
        } else {
            let tail = match &self.program {
                Some(p) if restarted => format!(
                    "; the program (pid {}) had started as soon as it was linked, before the checks that failed",
                    p.pid
                ),
                Some(p) => format!("; the previous program keeps running (pid {})", p.pid),
                None => String::new(),
            };
            self.status(
                RED,
                "Failed",
                &format!("after {duration:.2}s{tail}; waiting for changes"),
            );
        }
    }

    fn start_program(&mut self, path: &Path) -> bool {
        match Program::start(path, &self.args.args) {
            Ok(child) => {
                let pid = child.id();
                self.emit(WatchEvent::ProgramStarted {
                    pid,
                    path,
                    args: &self.args.args,
                });
                self.program = Some(Program { child, pid });
                true
            }
            Err(e) => {
                self.error(&format!("starting {}: {e}", path.display()));
                false
            }
        }
    }

    /// The program is linked and installed: restart now, while the build's
    /// post-link checks run (they read the program; they do not change it).
    /// Not when a newer change already cancelled the cycle (its build comes
    /// next), nor when the binary is the one running.
    fn on_artifact(&mut self, path: PathBuf, fresh: bool) {
        let Some(b) = &self.building else { return };
        if b.cancel.load(Ordering::Relaxed) || self.wrong_mains() || b.restarted {
            return;
        }
        let note = if !fresh && self.program.is_some() {
            ("program unchanged, not restarted".to_string(), false)
        } else {
            let verb = if self.program.is_some() {
                "restarted"
            } else {
                "started"
            };
            self.stop_program("restart");
            let ok = self.start_program(&path);
            let pid = self.program.as_ref().map(|p| p.pid).unwrap_or_default();
            (
                if ok {
                    format!("{verb} {} (pid {pid})", file_name(&path))
                } else {
                    String::new()
                },
                ok,
            )
        };
        if let Some(b) = &mut self.building {
            b.note = note.0;
            b.restarted = note.1;
        }
    }

    fn stop_program(&mut self, why: &str) {
        let Some(p) = self.program.take() else { return };
        let pid = p.pid;
        let s = p.stop(self.args.stop_timeout, &self.force);
        self.report_stop(pid, why, &s);
    }

    fn report_stop(&self, pid: u32, why: &str, s: &Stopped) {
        self.emit(WatchEvent::ProgramStopped {
            pid,
            why,
            exit_code: s.exit_code,
            signal: s.signal,
            killed: s.killed,
        });
        if why == "exited" {
            let how = match (s.exit_code, s.signal) {
                (Some(c), _) => format!("with status {c}"),
                (None, Some(sig)) => format!("on signal {sig}"),
                _ => String::new(),
            };
            self.status(
                CYAN,
                "Exited",
                &format!("program (pid {pid}) {how}; waiting for changes"),
            );
        } else if s.killed {
            self.status(
                YELLOW,
                "Killed",
                &format!(
                    "program (pid {pid}) did not stop within {:?} of SIGTERM",
                    self.args.stop_timeout
                ),
            );
        }
    }

    /// A program that ended by itself is reaped and reported.
    fn check_program(&mut self) {
        if self.program.as_ref().is_some_and(|p| p.exited()) {
            let mut p = self.program.take().unwrap();
            let s = p.reap(false);
            self.report_stop(p.pid, "exited", &s);
        }
    }

    fn main_loop(&mut self) -> Result<(), Failure> {
        let first_signal = loop {
            let timeout = match (self.building.is_some(), self.last_change) {
                (false, Some(t))
                    if !self.pending.is_empty() || self.rescan || self.config_changed =>
                {
                    (t + self.args.debounce).saturating_duration_since(Instant::now())
                }
                _ => Duration::from_millis(200),
            };
            match self.rx.recv_timeout(timeout) {
                Ok(Msg::Fs(ev)) => self.on_fs(ev),
                Ok(Msg::Signal(s)) => break s,
                Ok(Msg::Artifact { path, fresh }) => self.on_artifact(path, fresh),
                Ok(Msg::Built(r)) => {
                    let first = self.cycle == 1;
                    self.finish_cycle(*r);
                    // --run with several (or no) main packages is fatal at once.
                    if first && self.args.run && self.wrong_mains() {
                        break 0;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                Err(RecvTimeoutError::Disconnected) => break 0,
            }
            self.check_program();
            let quiet = self
                .last_change
                .is_none_or(|t| t.elapsed() >= self.args.debounce);
            let due = !self.pending.is_empty() || self.rescan || self.config_changed;
            if self.building.is_none() && due && quiet {
                self.start_cycle();
            }
        };
        // Shut down: cancel the build and wait for it (running tools finish),
        // stop the program, reap.
        if let Some(b) = &self.building {
            b.cancel.store(true, Ordering::Relaxed);
            loop {
                match self.rx.recv() {
                    Ok(Msg::Built(_)) | Err(_) => break,
                    Ok(Msg::Signal(_)) if self.force.load(Ordering::Relaxed) => break,
                    Ok(_) => {}
                }
            }
            self.building = None;
        }
        self.stop_program("shutdown");
        self.emit(WatchEvent::WatchFinished {
            signal: first_signal,
        });
        if first_signal == 0 && self.args.run && self.wrong_mains() {
            return Err(self.mains_failure());
        }
        Ok(())
    }
}

fn plural(n: usize, what: &str) -> String {
    match (n, what.strip_suffix('y')) {
        (1, _) => format!("1 {what}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {what}s"),
    }
}

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("2s").unwrap(), Duration::from_secs(2));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse_duration("0").unwrap(), Duration::ZERO);
        assert!(parse_duration("soon").is_err());
        assert!(parse_duration("-1s").is_err());
    }

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
