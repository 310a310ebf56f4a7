//! `--timings`: where a build spent its time. This reporter owns the
//! collection of the engine's events during a build (a copy of each, kept
//! in memory: nothing is computed or written while actions run) and, after
//! the build, the reports made of them:
//! - [`html`]: a self-contained page (inline SVG, CSS and a little JS, no
//!   network): a summary, a timeline with one bar per action on its worker
//!   slot, the critical path marked, a concurrency graph, and sortable
//!   tables per stage and per package;
//! - [`trace`]: the Chrome trace event format (`go build -debug-trace`'s),
//!   which Perfetto and chrome://tracing open;
//! - [`critical`]: the critical path, the chain of actions that decided the
//!   wall time.
//!
//! Everything comes from the events ([`pipeline::events`]): `build-started`
//! (`jobs`, the planned actions), `action-started` (`deps`, `ready`,
//! `worker`), `action-finished` (duration, outcome, cache, dirty reason,
//! command) and `build-finished`. One invocation may hold several builds
//! (one per target or Go module, a test retry, a watch cycle's requests):
//! each is a section of the page and a process of the trace.

pub mod critical;
pub mod html;
pub mod trace;

use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use pipeline::events::{Event, EventKind, EventSink, Outcome};

/// What `--timings[=html,json]` writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TimingsFormat {
    /// The HTML page (`gobuild-timing-<timestamp>.html`).
    Html,
    /// The Chrome trace (`gobuild-timing-<timestamp>.json`).
    Json,
}

/// One action as the events told it (an action that started and finished).
#[derive(Debug, Clone, PartialEq)]
pub struct ActionTiming {
    /// The engine's action index.
    pub id: usize,
    /// The stage (`compile`, `asm`, `link`…).
    pub action: String,
    /// Import path.
    pub package: String,
    /// For asm and cc: the file.
    pub file: Option<String>,
    /// A GOROOT package?
    pub goroot: bool,
    /// Ran, cached or failed.
    pub outcome: Outcome,
    /// For a cached action: `local` or `remote`.
    pub cache: Option<String>,
    /// Why it ran.
    pub dirty: Option<String>,
    /// The command line (tool actions that ran).
    pub command: Option<String>,
    /// The actions it waited for.
    pub deps: Vec<usize>,
    /// Seconds since the build started: ready, started, finished.
    pub ready: f64,
    pub start: f64,
    pub finish: f64,
    /// The action's own wall time, seconds (as `action-finished` says).
    pub duration: f64,
    /// Its worker slot.
    pub worker: usize,
}

impl ActionTiming {
    /// `compile fmt`, `asm runtime (asm_amd64.s)`.
    pub fn name(&self) -> String {
        match &self.file {
            Some(f) => format!("{} {} ({f})", self.action, self.package),
            None => format!("{} {}", self.action, self.package),
        }
    }
}

/// How a build ended (`build-finished`).
#[derive(Debug, Clone, PartialEq)]
pub struct Finished {
    pub success: bool,
    /// Wall time of the whole build, seconds.
    pub duration: f64,
    pub ran: usize,
    pub cached: usize,
    pub failed: usize,
}

/// One build: from its `build-started` to its `build-finished`.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct BuildTimings {
    /// `goos/goarch`.
    pub target: String,
    pub profile: String,
    /// `-j`.
    pub jobs: usize,
    /// Actions in the plan.
    pub planned: usize,
    /// When execution began (loading and planning took this long), seconds.
    pub started: f64,
    /// Absent when the build did not finish (cancelled watch cycle, error).
    pub finished: Option<Finished>,
    /// The actions that started and finished, by start time.
    pub actions: Vec<ActionTiming>,
}

impl BuildTimings {
    /// Wall time: the build's duration, else its last event.
    pub fn wall(&self) -> f64 {
        match &self.finished {
            Some(f) => f.duration,
            None => self
                .actions
                .iter()
                .map(|a| a.finish)
                .fold(self.started, f64::max),
        }
    }

    /// Sum of the actions' durations, seconds.
    pub fn cpu(&self) -> f64 {
        self.actions.iter().map(|a| a.duration).sum()
    }

    /// Cached actions served by the local cache and by the remote one.
    pub fn cached_local_remote(&self) -> (usize, usize) {
        let cached = self.actions.iter().filter(|a| a.outcome == Outcome::Cached);
        let remote = cached
            .clone()
            .filter(|a| a.cache.as_deref() == Some("remote"))
            .count();
        (cached.count() - remote, remote)
    }
}

/// Splits a stream of events into builds.
pub fn builds(events: &[Event]) -> Vec<BuildTimings> {
    let mut out: Vec<BuildTimings> = Vec::new();
    let mut started: std::collections::HashMap<usize, (f64, Vec<usize>, f64, usize)> =
        Default::default();
    for e in events {
        match &e.kind {
            EventKind::BuildStarted {
                actions,
                target,
                profile,
                jobs,
            } => {
                started.clear();
                out.push(BuildTimings {
                    target: target.clone(),
                    profile: profile.clone(),
                    jobs: *jobs,
                    planned: *actions,
                    started: e.elapsed,
                    ..Default::default()
                });
            }
            EventKind::ActionStarted {
                id,
                deps,
                ready,
                worker,
                ..
            } => {
                started.insert(*id, (*ready, deps.clone(), e.elapsed, *worker));
            }
            EventKind::ActionFinished {
                id,
                action,
                package,
                file,
                goroot,
                outcome,
                duration,
                dirty,
                command,
                cache,
                ..
            } => {
                let (Some(b), Some((ready, deps, start, worker))) =
                    (out.last_mut(), started.remove(id))
                else {
                    continue;
                };
                b.actions.push(ActionTiming {
                    id: *id,
                    action: action.to_string(),
                    package: package.clone(),
                    file: file.clone(),
                    goroot: *goroot,
                    outcome: *outcome,
                    cache: cache.map(str::to_string),
                    dirty: dirty.as_ref().map(|d| d.to_string()),
                    command: command.clone(),
                    deps,
                    ready,
                    start,
                    finish: e.elapsed,
                    duration: *duration,
                    worker,
                });
            }
            EventKind::BuildFinished {
                success,
                duration,
                ran,
                cached,
                failed,
                ..
            } => {
                if let Some(b) = out.last_mut() {
                    b.finished = Some(Finished {
                        success: *success,
                        duration: *duration,
                        ran: *ran,
                        cached: *cached,
                        failed: *failed,
                    });
                }
            }
            EventKind::Diagnostic { .. } | EventKind::Artifact { .. } => {}
        }
    }
    for b in &mut out {
        b.actions
            .sort_by(|x, y| x.start.total_cmp(&y.start).then(x.id.cmp(&y.id)));
    }
    out
}

/// Keeps a copy of every event of the builds of one invocation (or one
/// watch cycle), then writes the reports.
#[derive(Debug)]
pub struct Timings {
    formats: Vec<TimingsFormat>,
    events: Mutex<Vec<Event>>,
}

/// What [`Timings::write`] wrote, and how long it took.
#[derive(Debug)]
pub struct Written {
    /// `(format, the timestamped file)`; each has an undated copy beside it.
    pub files: Vec<(TimingsFormat, PathBuf)>,
    /// Turning the events into the reports and writing them.
    pub took: Duration,
}

impl Written {
    /// `      Timing report saved to …` on stderr, like cargo (with the time
    /// writing took when `verbose`).
    pub fn print(&self, verbose: bool) {
        for (f, p) in &self.files {
            let what = match f {
                TimingsFormat::Html => "report",
                TimingsFormat::Json => "trace",
            };
            let took = if verbose {
                format!(" (written in {:.1} ms)", self.took.as_secs_f64() * 1e3)
            } else {
                String::new()
            };
            eprintln!("{:>12} {what} saved to {}{took}", "Timing", p.display());
        }
    }
}

impl Timings {
    /// Collects for these formats (`html` when empty).
    pub fn new(formats: &[TimingsFormat]) -> Self {
        let mut formats = formats.to_vec();
        if formats.is_empty() {
            formats.push(TimingsFormat::Html);
        }
        formats.dedup();
        Timings {
            formats,
            events: Mutex::new(Vec::new()),
        }
    }

    /// Keeps a copy of one event.
    pub fn record(&self, event: &Event) {
        self.events.lock().unwrap().push(event.clone());
    }

    /// Writes the reports of the events collected so far into `dir` and
    /// forgets them: `gobuild-timing-<timestamp>.{html,json}` and a copy
    /// named `gobuild-timing.{html,json}`. `None` when no build started.
    pub fn write(&self, dir: &Path) -> std::io::Result<Option<Written>> {
        let t0 = Instant::now();
        let events = std::mem::take(&mut *self.events.lock().unwrap());
        let builds = builds(&events);
        if builds.is_empty() {
            return Ok(None);
        }
        std::fs::create_dir_all(dir)?;
        let now = SystemTime::now();
        let stamp = timestamp(now);
        let mut files = Vec::new();
        for f in &self.formats {
            let (text, ext) = match f {
                TimingsFormat::Html => (
                    html::page(&builds, &humantime::format_rfc3339_seconds(now).to_string()),
                    "html",
                ),
                TimingsFormat::Json => (trace::trace_json(&builds), "json"),
            };
            let dated = dir.join(format!("gobuild-timing-{stamp}.{ext}"));
            std::fs::write(&dated, &text)?;
            std::fs::write(dir.join(format!("gobuild-timing.{ext}")), &text)?;
            files.push((*f, dated));
        }
        Ok(Some(Written {
            files,
            took: t0.elapsed(),
        }))
    }
}

/// `20260102T030405.678Z`: RFC 3339 in UTC without `-` and `:` (file names).
fn timestamp(t: SystemTime) -> String {
    humantime::format_rfc3339_millis(t)
        .to_string()
        .replace(['-', ':'], "")
}

/// The `--message-format` reporter, and a copy of every event for
/// `--timings` when it was asked for.
pub struct TimedSink {
    inner: Box<dyn EventSink>,
    timings: Option<Timings>,
}

impl TimedSink {
    /// Forwards to `inner`; collects when `formats` is set.
    pub fn new(inner: Box<dyn EventSink>, formats: Option<&[TimingsFormat]>) -> Self {
        TimedSink {
            inner,
            timings: formats.map(Timings::new),
        }
    }

    /// After the builds: writes the reports under `dir` (when `--timings`
    /// asked and a build started) and prints where; a failure to write is
    /// a warning, not the build's failure.
    pub fn finish(&self, dir: Option<&Path>, verbose: bool) {
        let (Some(t), Some(dir)) = (&self.timings, dir) else {
            return;
        };
        match t.write(dir) {
            Ok(Some(w)) => w.print(verbose),
            Ok(None) => {}
            Err(e) => eprintln!(
                "warning: could not write the timing report under {}: {e}",
                dir.display()
            ),
        }
    }
}

impl EventSink for TimedSink {
    fn emit(&self, event: Event) {
        if let Some(t) = &self.timings {
            t.record(&event);
        }
        self.inner.emit(event);
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// An action that ran on slot `worker` from `start` to `finish`.
    pub(crate) fn act(
        id: usize,
        deps: &[usize],
        start: f64,
        finish: f64,
        worker: usize,
    ) -> ActionTiming {
        ActionTiming {
            id,
            action: "compile".into(),
            package: format!("p{id}"),
            file: None,
            goroot: false,
            outcome: Outcome::Ran,
            cache: None,
            dirty: Some("no cache entry".into()),
            command: Some(format!("compile -p p{id}")),
            deps: deps.to_vec(),
            ready: start,
            start,
            finish,
            duration: finish - start,
            worker,
        }
    }

    #[test]
    fn events_become_builds() {
        let ev = |elapsed, kind| Event { elapsed, kind };
        let events = vec![
            ev(
                0.5,
                EventKind::BuildStarted {
                    actions: 2,
                    target: "linux/amd64".into(),
                    profile: "dev".into(),
                    jobs: 2,
                },
            ),
            ev(
                0.6,
                EventKind::ActionStarted {
                    id: 1,
                    action: "compile",
                    package: "a".into(),
                    file: None,
                    deps: vec![],
                    ready: 0.5,
                    worker: 1,
                },
            ),
            ev(
                0.9,
                EventKind::ActionFinished {
                    id: 1,
                    action: "compile",
                    package: "a".into(),
                    file: None,
                    goroot: false,
                    outcome: Outcome::Cached,
                    duration: 0.3,
                    dirty: None,
                    command: None,
                    cache: Some("remote"),
                    remote_miss: false,
                    key: None,
                },
            ),
            ev(
                1.0,
                EventKind::BuildFinished {
                    success: true,
                    duration: 1.0,
                    ran: 0,
                    cached: 1,
                    failed: 0,
                    remote: None,
                },
            ),
        ];
        let b = builds(&events);
        assert_eq!(b.len(), 1);
        let b = &b[0];
        assert_eq!((b.jobs, b.planned, b.started), (2, 2, 0.5));
        assert_eq!(b.actions.len(), 1);
        let a = &b.actions[0];
        assert_eq!((a.ready, a.start, a.finish, a.worker), (0.5, 0.6, 0.9, 1));
        assert_eq!(b.cached_local_remote(), (0, 1));
        assert_eq!(b.wall(), 1.0);
    }

    #[test]
    fn timestamps_make_file_names() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_700_000_000_123);
        assert_eq!(timestamp(t), "20231114T221320.123Z");
    }
}
