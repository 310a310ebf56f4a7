//! The watch controller: the loop that turns file events into builds and
//! builds into orders for the program supervisor.
//!
//! Scheduling ([`Debounce`]): events are collected until none arrived for
//! `--debounce`, then one decision: rebuild. One build at a time. **A change
//! during a build cancels it** (through the engine's cancel flag): actions
//! already running finish and stay cached, no new action starts, the stale
//! result is neither installed as a restart nor reported as a failure, and
//! the next cycle — after the debounce — builds the newest saved state. A
//! rescan/overflow event from the watcher means "re-check everything": a
//! cycle runs and the engine's own content checks decide. A config file
//! change reloads the requests first.
//!
//! What to rebuild is not decided here: each cycle is a plain engine build
//! ([`super::cycle`]) whose snapshot and content-addressed cache rerun only
//! the actions whose inputs changed.
//!
//! The program ([`program_orders`]): the restart happens at the engine's
//! `artifact` event — the program is linked and installed — while the
//! build's post-link checks (they read the program, never change it) still
//! run; their verdict is reported with the cycle. A build that fails before
//! its program is written leaves the running program alone.
//!
//! Shutdown: SIGINT, SIGTERM or SIGHUP cancel the build, stop the program
//! and exit 0; a second one stops the program with SIGKILL at once.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use notify::{EventKind as FsKind, RecursiveMode};
use pipeline::build::BuildRequest;
use pipeline::events::EventSink;
use pipeline::load::PackageGraph;

use super::cycle::{run_cycle, CycleResult, CycleSink};
use super::supervisor::{Order, Supervisor};
use super::watch_set::{config_files, Excluded, FsWatcher, WatchSet};
use super::WatchArgs;
use crate::exit::{Failure, Kind};
use crate::report::timings::Timings;
use crate::report::{HumanReporter, StopReason, Verbosity, WatchEvent, WatchReporter};
use crate::settings;

/// What the controller's loop receives.
pub(super) enum Msg {
    Fs(notify::Result<notify::Event>),
    Signal(i32),
    /// A program was linked and installed (`fresh`: its bytes changed).
    Artifact {
        path: PathBuf,
        fresh: bool,
    },
    Built(Box<CycleResult>),
}

/// The changes seen since the last build started, and when the last one
/// came: the debounce window.
#[derive(Debug)]
pub(super) struct Debounce {
    window: Duration,
    /// Changes not built yet.
    pending: BTreeSet<PathBuf>,
    /// Events were lost: re-check everything.
    rescan: bool,
    /// A config file changed: reload the requests first.
    config_changed: bool,
    last_change: Option<Instant>,
}

impl Debounce {
    pub(super) fn new(window: Duration) -> Debounce {
        Debounce {
            window,
            pending: BTreeSet::new(),
            rescan: false,
            config_changed: false,
            last_change: None,
        }
    }

    /// `path` changed at `now`.
    pub(super) fn change(&mut self, path: PathBuf, config: bool, now: Instant) {
        self.config_changed |= config;
        self.pending.insert(path);
        self.last_change = Some(now);
    }

    /// The watcher lost events at `now`.
    pub(super) fn rescan(&mut self, now: Instant) {
        self.rescan = true;
        self.last_change = Some(now);
    }

    fn due(&self) -> bool {
        !self.pending.is_empty() || self.rescan || self.config_changed
    }

    /// How long to wait for the next message.
    pub(super) fn timeout(&self, building: bool, now: Instant) -> Duration {
        match (building, self.last_change) {
            (false, Some(t)) if self.due() => (t + self.window).saturating_duration_since(now),
            _ => Duration::from_millis(200),
        }
    }

    /// Should a build start now? Only when none runs, something changed,
    /// and nothing changed for the whole window.
    pub(super) fn ready(&self, building: bool, now: Instant) -> bool {
        let quiet = self
            .last_change
            .is_none_or(|t| now.saturating_duration_since(t) >= self.window);
        !building && self.due() && quiet
    }

    /// The changed paths and the rescan flag, for the build that starts.
    pub(super) fn take(&mut self) -> (Vec<PathBuf>, bool) {
        let rescan = std::mem::take(&mut self.rescan);
        (
            std::mem::take(&mut self.pending).into_iter().collect(),
            rescan,
        )
    }
}

/// What a build said about the program.
#[derive(Debug)]
pub(super) enum BuildNews<'a> {
    /// The program was linked and installed (`fresh`: its bytes changed).
    Installed { path: &'a Path, fresh: bool },
    /// The build failed or was cancelled before installing anything.
    Failed,
}

/// The orders a build's news gives the supervisor: a new program restarts
/// the running one (`[Stop, Start]`); the same bytes again, or a failed
/// build, leave it alone.
pub(super) fn program_orders(news: &BuildNews<'_>, running: bool, args: &[String]) -> Vec<Order> {
    match news {
        BuildNews::Installed { fresh: false, .. } if running => vec![],
        BuildNews::Installed { path, .. } => vec![
            Order::Stop(StopReason::Restart),
            Order::Start {
                program: path.to_path_buf(),
                args: args.to_vec(),
            },
        ],
        BuildNews::Failed => vec![],
    }
}

/// What the builds read: the requests and the files whose change reloads them.
pub(super) struct Inputs {
    pub(super) cwd: PathBuf,
    pub(super) reqs: Arc<Vec<BuildRequest>>,
    pub(super) config_files: Vec<PathBuf>,
    pub(super) excluded: Excluded,
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

/// The watch loop's state.
pub(super) struct Controller {
    pub(super) args: WatchArgs,
    pub(super) report: Box<dyn WatchReporter>,
    pub(super) inputs: Inputs,
    pub(super) set: WatchSet,
    pub(super) watcher: FsWatcher,
    pub(super) tx: Sender<Msg>,
    pub(super) rx: Receiver<Msg>,
    pub(super) debounce: Debounce,
    building: Option<Building>,
    cycle: u64,
    pub(super) supervisor: Supervisor,
    pub(super) force: Arc<AtomicBool>,
    /// The main packages of the last complete load (for --run).
    pub(super) mains: Option<Vec<String>>,
}

impl Controller {
    pub(super) fn new(
        args: WatchArgs,
        report: Box<dyn WatchReporter>,
        inputs: Inputs,
        watcher: FsWatcher,
        (tx, rx): (Sender<Msg>, Receiver<Msg>),
        supervisor: Supervisor,
        force: Arc<AtomicBool>,
    ) -> Controller {
        Controller {
            debounce: Debounce::new(args.debounce),
            args,
            report,
            inputs,
            set: WatchSet::default(),
            watcher,
            tx,
            rx,
            building: None,
            cycle: 0,
            supervisor,
            force,
            mains: None,
        }
    }

    fn error(&self, message: impl Into<String>) {
        self.report.watch(WatchEvent::Error {
            message: message.into(),
        });
    }

    /// Is it known that not exactly one main package is selected?
    pub(super) fn wrong_mains(&self) -> bool {
        self.mains.as_ref().is_some_and(|m| m.len() != 1)
    }

    pub(super) fn mains_failure(&self) -> Failure {
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
        Failure::new(Kind::BuildFailed, message)
    }

    /// Recomputes the watch set from `graphs` (keeping the current one when
    /// no graph could be loaded) and applies the difference to the watcher.
    /// Sources in newly watched directories that changed since `since` are
    /// queued: a save between the load and the watch is not lost.
    pub(super) fn update_watches(&mut self, graphs: &[&PackageGraph], since: Option<SystemTime>) {
        if graphs.is_empty() && !self.set.dirs.is_empty() {
            return;
        }
        let i = &self.inputs;
        let new = WatchSet::compute(graphs, &i.reqs, &i.config_files, &i.excluded);
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
            self.error(format!(
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

    fn cancel_build(&self) {
        if let Some(b) = &self.building {
            b.cancel.store(true, Ordering::Relaxed);
        }
    }

    fn change(&mut self, p: PathBuf) {
        let config = self.inputs.config_files.contains(&p);
        self.debounce.change(p, config, Instant::now());
        self.cancel_build();
    }

    fn rescan(&mut self) {
        self.debounce.rescan(Instant::now());
        self.cancel_build();
    }

    fn on_fs(&mut self, ev: notify::Result<notify::Event>) {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                // Lost track of something (e.g. a watch limit): re-check all.
                self.report.watch(WatchEvent::Warning {
                    message: format!("file watcher: {e}; re-checking everything"),
                });
                return self.rescan();
            }
        };
        if ev.need_rescan() {
            return self.rescan();
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
            if self.inputs.excluded.contains(&p) || (!names && p.is_dir()) {
                continue;
            }
            if self.set.relevant(&p, dir_event) {
                self.change(p);
            }
        }
    }

    fn shown(&self, p: &Path) -> String {
        p.strip_prefix(&self.inputs.cwd)
            .unwrap_or(p)
            .display()
            .to_string()
    }

    /// A config file changed: the requests are built anew from it.
    fn reload(&mut self) -> Result<(), Failure> {
        let r = super::requests(&self.args)?;
        if let Ok(l) = settings::load(&self.args.build.common) {
            self.inputs.excluded = Excluded::new(&l.ws.target_dir);
            self.inputs.config_files = config_files(&l, &r);
        }
        self.inputs.reqs = Arc::new(r);
        Ok(())
    }

    pub(super) fn start_cycle(&mut self) {
        if std::mem::take(&mut self.debounce.config_changed) {
            if let Err(f) = self.reload() {
                self.debounce.pending.clear();
                self.error(
                    f.message
                        .as_deref()
                        .unwrap_or("the configuration could not be loaded"),
                );
                return;
            }
        }
        self.cycle += 1;
        let (paths, rescan) = self.debounce.take();
        let changed: Vec<String> = paths.iter().map(|p| self.shown(p)).collect();
        self.report.watch(WatchEvent::CycleStarted {
            cycle: self.cycle,
            changed: changed.clone(),
            rescan,
        });
        let cancel = Arc::new(AtomicBool::new(false));
        let c = &self.args.build.common;
        // Human output: the compiler's errors and warnings, then one status
        // line per cycle (ours); the per-action lines and the progress bar
        // only with -v (a bar would be drawn across the program's output,
        // which starts before the build ends).
        let inner: Box<dyn EventSink> = match (c.message_format, c.verbose) {
            (crate::report::MessageFormat::Json, _) => c.reporter(),
            (_, true) => Box::new(HumanReporter::new(Verbosity::Verbose, c.color)),
            (_, false) => Box::new(HumanReporter::new(Verbosity::Quiet, c.color)),
        };
        let sink = Arc::new(CycleSink {
            inner,
            ran: Mutex::default(),
            artifacts: self.args.run.then(|| Mutex::new(self.tx.clone())),
            timings: self.args.build.timings.as_deref().map(Timings::new),
        });
        let (reqs, c, s, tx) = (
            self.inputs.reqs.clone(),
            cancel.clone(),
            sink.clone(),
            self.tx.clone(),
        );
        let test = self.args.test;
        std::thread::spawn(move || {
            let r = run_cycle(&reqs, s.as_ref(), &c, test);
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
        let errors: Vec<&str> = r
            .results
            .iter()
            .filter_map(|x| x.error.as_deref())
            .collect();
        for e in &errors {
            self.error(*e);
        }
        let ran: usize = r.results.iter().map(|x| x.ran).sum();
        let cached: usize = r.results.iter().map(|x| x.cached).sum();
        let mut error = errors.join("\n");
        if !cancelled && !failed && self.args.run && self.wrong_mains() {
            error = self.mains_failure().message.unwrap_or_default();
            self.error(error.as_str());
        }
        let success = !cancelled && !failed && error.is_empty();
        if !success {
            // Whatever ran keeps running.
            let running = self.supervisor.pid().is_some();
            let orders = program_orders(&BuildNews::Failed, running, &self.args.args);
            self.supervisor.order(orders, self.report.as_ref());
        }
        let actions = sink.ran.lock().unwrap().clone();
        self.report.watch(WatchEvent::WatchCycle {
            cycle: self.cycle,
            changed,
            rescan,
            success,
            cancelled,
            ran,
            cached,
            duration,
            restarted,
            error: (!error.is_empty()).then_some(error),
            actions,
            note,
            program: self.supervisor.pid(),
        });
        // --timings: one report per cycle, after its status line.
        if let (Some(t), Some(req)) = (&sink.timings, self.inputs.reqs.first()) {
            let dir = req.gobuild_dir().join("timings");
            match t.write(&dir) {
                Ok(Some(w)) => w.print(self.args.build.common.verbose),
                Ok(None) => {}
                Err(e) => self.error(format!(
                    "could not write the timing report under {}: {e}",
                    dir.display()
                )),
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
        let running = self.supervisor.pid().is_some();
        let orders = program_orders(
            &BuildNews::Installed { path: &path, fresh },
            running,
            &self.args.args,
        );
        let (note, restarted) = if orders.is_empty() {
            ("program unchanged, not restarted".to_string(), false)
        } else {
            let verb = if running { "restarted" } else { "started" };
            self.supervisor.order(orders, self.report.as_ref());
            match self.supervisor.pid() {
                Some(pid) => (format!("{verb} {} (pid {pid})", file_name(&path)), true),
                None => (String::new(), false),
            }
        };
        if let Some(b) = &mut self.building {
            b.note = note;
            b.restarted = restarted;
        }
    }

    pub(super) fn main_loop(&mut self) -> Result<(), Failure> {
        let first_signal = loop {
            let timeout = self
                .debounce
                .timeout(self.building.is_some(), Instant::now());
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
            self.supervisor.reap_exited(self.report.as_ref());
            if self.debounce.ready(self.building.is_some(), Instant::now()) {
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
        self.supervisor.order(
            vec![Order::Stop(StopReason::Shutdown)],
            self.report.as_ref(),
        );
        self.report.watch(WatchEvent::WatchFinished {
            signal: first_signal,
        });
        if first_signal == 0 && self.args.run && self.wrong_mains() {
            return Err(self.mains_failure());
        }
        Ok(())
    }
}

/// The import paths of the main packages the patterns matched.
pub(super) fn mains(graphs: &[&PackageGraph]) -> Vec<String> {
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

fn file_name(p: &Path) -> String {
    p.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| p.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::super::supervisor::fake::FakeLauncher;
    use super::*;
    use crate::report::watch::WatchRecorder;

    #[test]
    fn a_burst_of_changes_is_one_build_after_the_window() {
        let window = Duration::from_millis(50);
        let mut d = Debounce::new(window);
        let t0 = Instant::now();
        assert!(!d.ready(false, t0), "nothing changed");
        d.change("/m/a.go".into(), false, t0);
        d.change("/m/b.s".into(), false, t0 + Duration::from_millis(30));
        d.change("/m/a.go".into(), false, t0 + Duration::from_millis(40));
        let last = t0 + Duration::from_millis(40);
        assert!(
            !d.ready(false, last + Duration::from_millis(49)),
            "inside the window"
        );
        assert_eq!(
            d.timeout(false, last + Duration::from_millis(20)),
            Duration::from_millis(30)
        );
        assert!(
            !d.ready(true, last + window),
            "one build at a time: the running one is cancelled, not joined"
        );
        assert!(d.ready(false, last + window));
        let (paths, rescan) = d.take();
        assert_eq!(paths, [PathBuf::from("/m/a.go"), PathBuf::from("/m/b.s")]);
        assert!(!rescan);
        assert!(!d.ready(false, last + window * 10), "taken");
    }

    #[test]
    fn a_rescan_or_a_config_change_is_a_build_too() {
        let window = Duration::from_millis(50);
        let t0 = Instant::now();
        let mut d = Debounce::new(window);
        d.rescan(t0);
        assert!(d.ready(false, t0 + window));
        assert_eq!(d.take(), (vec![], true));
        d.change("/m/gobuild.toml".into(), true, t0);
        assert!(d.config_changed);
        assert!(d.ready(false, t0 + window));
    }

    fn supervisor(l: &FakeLauncher) -> Supervisor {
        Supervisor::new(
            Box::new(l.clone()),
            Duration::from_secs(2),
            Arc::new(AtomicBool::new(false)),
        )
    }

    #[test]
    fn a_failed_build_leaves_the_running_program_alone() {
        let l = FakeLauncher::default();
        let r = WatchRecorder::default();
        let mut s = supervisor(&l);
        let v1 = Path::new("/t/demo");
        let first = program_orders(
            &BuildNews::Installed {
                path: v1,
                fresh: true,
            },
            false,
            &[],
        );
        s.order(first, &r);
        assert_eq!(s.pid(), Some(1));
        l.log.take();
        let orders = program_orders(&BuildNews::Failed, true, &[]);
        s.order(orders, &r);
        assert!(l.log.take().is_empty(), "not signalled, nothing started");
        assert_eq!(s.pid(), Some(1));
        // The fix restarts it.
        let orders = program_orders(
            &BuildNews::Installed {
                path: v1,
                fresh: true,
            },
            true,
            &[],
        );
        s.order(orders, &r);
        assert_eq!(l.log.take(), ["term 1", "wait 1", "spawn 2 /t/demo"]);
    }

    #[test]
    fn the_same_program_again_is_not_restarted() {
        let p = Path::new("/t/demo");
        assert!(program_orders(
            &BuildNews::Installed {
                path: p,
                fresh: false
            },
            true,
            &[]
        )
        .is_empty());
        // Nothing runs (it exited): the same bytes start again.
        assert_eq!(
            program_orders(
                &BuildNews::Installed {
                    path: p,
                    fresh: false
                },
                false,
                &["a".into()]
            ),
            [
                Order::Stop(StopReason::Restart),
                Order::Start {
                    program: p.into(),
                    args: vec!["a".into()]
                }
            ]
        );
    }
}
