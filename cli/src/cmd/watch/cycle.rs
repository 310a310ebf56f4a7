//! One watch cycle: every request built once through the engine, on the
//! cycle's thread, with the engine's cancel flag. Its sink forwards the
//! engine's events to the reporter, counts the actions that ran, keeps a
//! copy for `--timings`, and tells the controller the moment a program is
//! installed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Mutex;

use pipeline::build::{self, BuildRequest};
use pipeline::events::{Event, EventKind, EventSink, Outcome};
use pipeline::load::PackageGraph;

use super::controller::Msg;
use crate::exit::Failure;
use crate::report::timings::Timings;

/// Forwards engine events to the reporter, counts what ran, and (for
/// `--run`) tells the loop the moment a program is installed.
pub(super) struct CycleSink {
    pub(super) inner: Box<dyn EventSink>,
    pub(super) ran: Mutex<BTreeMap<String, usize>>,
    pub(super) artifacts: Option<Mutex<Sender<Msg>>>,
    /// `--timings`: this cycle's events, written when it ends.
    pub(super) timings: Option<Timings>,
}

impl EventSink for CycleSink {
    fn emit(&self, event: Event) {
        if let Some(t) = &self.timings {
            t.record(&event);
        }
        if let EventKind::ActionFinished {
            action,
            outcome: Outcome::Ran,
            ..
        } = &event.kind
        {
            *self
                .ran
                .lock()
                .unwrap()
                .entry(action.to_string())
                .or_default() += 1;
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
pub(super) struct RequestResult {
    pub(super) graph: Option<PackageGraph>,
    pub(super) cancelled: bool,
    /// The build failed (its diagnostics were reported).
    pub(super) failed: bool,
    /// An error that was not reported yet (package errors, config…).
    pub(super) error: Option<String>,
    pub(super) ran: usize,
    pub(super) cached: usize,
}

pub(super) struct CycleResult {
    pub(super) results: Vec<RequestResult>,
}

/// The test binary last reported per package (`watch --test`).
static REPORTED: Mutex<BTreeMap<String, pipeline::cache::ContentDigest>> =
    Mutex::new(BTreeMap::new());

/// `watch --test`: the results of the packages whose test binary changed
/// since the last cycle (a result may come from the cache: a change undone),
/// like `cargo gobuild test`; false when one failed.
fn report_tests(o: &pipeline::build::BuildOutcome, gobuild_dir: &std::path::Path) -> bool {
    use crate::testreport::{events_of, report_package, summary, test2json_for, Tally};
    let Ok(t2j) = test2json_for(o, gobuild_dir) else {
        return false;
    };
    let mut tally = Tally::default();
    let (mut ran, mut failed) = (0, Vec::new());
    let mut reported = REPORTED.lock().unwrap();
    for t in o.test_runs() {
        let same = t.binary.is_some() && reported.get(&t.package) == t.binary.as_ref();
        let broken_before = t.result.as_ref().is_some_and(|r| r.exit_code != 0);
        if same && !broken_before {
            continue;
        }
        if let Some(b) = t.binary {
            reported.insert(t.package.clone(), b);
        }
        ran += 1;
        let events = events_of(&t2j, &t, false).unwrap_or_default();
        if !report_package(&t, &events, false, false, &mut tally) {
            failed.push(t.package.clone());
        }
    }
    if ran > 0 {
        summary(&tally, ran, 0, &failed, &Default::default());
    }
    // A build failure (shown by the build's reporter) fails the cycle even
    // when no changed test binary reports it.
    failed.is_empty() && tally.failed == 0 && o.summary.failed == 0
}

/// Runs every request once; on a failed build, loads the graph anyway (from
/// the snapshot the build saved) so the watch set follows it.
pub(super) fn run_cycle(
    reqs: &[BuildRequest],
    sink: &dyn EventSink,
    cancel: &AtomicBool,
    test: bool,
) -> CycleResult {
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
            Ok(o) if test && !o.summary.cancelled => {
                let failed = !report_tests(&o, &req.gobuild_dir());
                RequestResult {
                    cancelled: false,
                    ran: o.summary.ran,
                    cached: o.summary.cached,
                    graph: Some(o.session.graph),
                    failed,
                    error: failed.then(|| "tests failed".to_string()),
                }
            }
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
