//! The one event type the engine reports through. The runner emits; the
//! reporters in the CLI (status lines, progress bar, JSON lines) only consume.
//!
//! The JSON form (`--message-format json`) is one object per line with a
//! `reason` field naming the event, like cargo's.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde::Serialize;

/// Why an action ran instead of coming from the cache.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum DirtyReason {
    /// This action identity was never built in this cache.
    NoEntry,
    /// A previous build of the same action had other inputs: these changed.
    InputsChanged {
        /// `file sum.go changed`, `import fmt changed`, `arg added`…
        changes: Vec<String>,
    },
    /// Same inputs as a previous build, but its entry is gone (cleaned, or
    /// the outputs went missing).
    EntryMissing,
    /// Its entry names an output whose cache object is damaged (it is
    /// replaced by the rerun).
    Damaged {
        /// The output (`_pkg_.a`, `exe`, …).
        output: String,
        /// What is wrong, with the object's path.
        problem: String,
    },
}

impl std::fmt::Display for DirtyReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DirtyReason::NoEntry => f.write_str("no cache entry"),
            DirtyReason::EntryMissing => f.write_str("cache entry missing"),
            DirtyReason::InputsChanged { changes } => write!(f, "{}", changes.join(", ")),
            DirtyReason::Damaged { output, problem } => {
                write!(f, "cache object of {output} damaged ({problem})")
            }
        }
    }
}

/// How an action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    /// Its outputs came from the cache; nothing ran.
    Cached,
    /// It ran and succeeded.
    Ran,
    /// It ran and failed.
    Failed,
    /// It ran beside a check that failed (a speculative link): whatever it
    /// produced is not used, and a failure of its own is not reported.
    Discarded,
}

/// Level of a diagnostic.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Level {
    /// A tool failed; this is its output.
    Error,
    /// A warning of ours.
    Warning,
    /// What a successful tool printed (e.g. `-d=abiwrap`), replayed from the cache too.
    Output,
    /// Information (waiting for a lock…).
    Note,
}

/// What happened.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum EventKind {
    /// Loading and planning are done; this many actions will be considered.
    BuildStarted {
        /// Number of actions in the graph.
        actions: usize,
        /// `goos/goarch`.
        target: String,
        /// The profile name.
        profile: String,
        /// Parallel actions at most (`-j`): the executor's worker slots.
        jobs: usize,
    },
    /// An action starts (a cache lookup, then maybe a tool run).
    ActionStarted {
        /// Action index.
        id: usize,
        /// `compile`, `asm`…
        action: &'static str,
        /// Import path.
        package: String,
        /// For asm: the file.
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        /// The actions it waited for (their ids, sorted, each once).
        deps: Vec<usize>,
        /// Seconds since the build started at which it became ready (its
        /// last dependency finished; the executor's start for one without
        /// dependencies). `elapsed - ready` is the time it waited for a slot.
        ready: f64,
        /// The worker slot that runs it, `0..jobs` (a lane of a timeline).
        worker: usize,
    },
    /// An action ended.
    ActionFinished {
        /// Action index.
        id: usize,
        /// `compile`, `asm`…
        action: &'static str,
        /// Import path.
        package: String,
        /// For asm: the file.
        #[serde(skip_serializing_if = "Option::is_none")]
        file: Option<String>,
        /// Is the package in GOROOT (standard library, cmd)?
        goroot: bool,
        /// Cached, ran or failed.
        outcome: Outcome,
        /// Wall time of the action, seconds.
        duration: f64,
        /// Why it ran (absent when cached).
        #[serde(skip_serializing_if = "Option::is_none")]
        dirty: Option<DirtyReason>,
        /// The command, copy-pasteable (absent for in-process actions and cache hits).
        #[serde(skip_serializing_if = "Option::is_none")]
        command: Option<String>,
        /// For a cached action, which cache served it: `local` or `remote`.
        #[serde(skip_serializing_if = "Option::is_none")]
        cache: Option<&'static str>,
        /// For an action that ran: the remote cache was asked and had nothing.
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        remote_miss: bool,
        /// The action key (hex), for debugging a cache.
        #[serde(skip_serializing_if = "Option::is_none")]
        key: Option<String>,
    },
    /// A message for the user.
    Diagnostic {
        /// Severity.
        level: Level,
        /// The package concerned, when any.
        #[serde(skip_serializing_if = "Option::is_none")]
        package: Option<String>,
        /// The text, verbatim from the tool where it comes from a tool.
        message: String,
    },
    /// A program was written.
    Artifact {
        /// The main package.
        package: String,
        /// Where the program is.
        path: PathBuf,
        /// Was it rewritten (false: it was already up to date)?
        fresh: bool,
    },
    /// The build ended.
    BuildFinished {
        /// Did it succeed?
        success: bool,
        /// Seconds since the build started.
        duration: f64,
        /// Actions that ran a tool or in-process step.
        ran: usize,
        /// Actions served from the cache.
        cached: usize,
        /// Actions that failed.
        failed: usize,
        /// What the remote cache did, when one is configured.
        #[serde(skip_serializing_if = "Option::is_none")]
        remote: Option<RemoteStats>,
    },
}

/// What the remote cache did for one build.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RemoteStats {
    /// Actions served by the remote.
    pub hits: usize,
    /// Actions the remote did not have.
    pub misses: usize,
    /// Bytes downloaded.
    pub bytes_down: u64,
    /// Bytes uploaded.
    pub bytes_up: u64,
    /// Action results uploaded.
    pub uploads: usize,
}

/// An event with its time since the build started.
#[derive(Debug, Clone, Serialize)]
pub struct Event {
    /// Seconds since the build started.
    pub elapsed: f64,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// Where the engine sends events. Implementations must be cheap: they are
/// called from worker threads.
pub trait EventSink: Send + Sync {
    /// Receives one event.
    fn emit(&self, event: Event);
}

/// A sink that keeps every event (tests, watch mode summaries).
#[derive(Debug, Default)]
pub struct Recorder {
    events: Mutex<Vec<Event>>,
}

impl Recorder {
    /// All events so far.
    pub fn events(&self) -> Vec<Event> {
        self.events.lock().unwrap().clone()
    }
}

impl EventSink for Recorder {
    fn emit(&self, event: Event) {
        self.events.lock().unwrap().push(event);
    }
}

/// Stamps events with the time since a start instant and forwards them.
pub struct Emitter<'a> {
    start: Instant,
    sink: &'a dyn EventSink,
}

impl<'a> Emitter<'a> {
    /// Starts the clock.
    pub fn new(sink: &'a dyn EventSink) -> Emitter<'a> {
        Emitter {
            start: Instant::now(),
            sink,
        }
    }

    /// Time since the start.
    pub fn elapsed(&self) -> Duration {
        self.start.elapsed()
    }

    /// Sends an event.
    pub fn emit(&self, kind: EventKind) {
        self.sink.emit(Event {
            elapsed: self.start.elapsed().as_secs_f64(),
            kind,
        });
    }

    /// Sends a diagnostic.
    pub fn diag(&self, level: Level, package: Option<&str>, message: impl Into<String>) {
        self.emit(EventKind::Diagnostic {
            level,
            package: package.map(str::to_string),
            message: message.into(),
        });
    }
}
