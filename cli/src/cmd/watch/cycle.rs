//! One watch cycle: every request built once through the engine, on the
//! cycle's thread, with the engine's cancel flag. Its sink forwards the
//! engine's events to the reporter, counts the actions that ran, and tells
//! the controller the moment a program is installed.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::Mutex;

use pipeline::build::{self, BuildRequest};
use pipeline::events::{Event, EventKind, EventSink, Outcome};
use pipeline::load::PackageGraph;

use super::controller::Msg;
use crate::exit::Failure;

/// Forwards engine events to the reporter, counts what ran, and (for
/// `--run`) tells the loop the moment a program is installed.
pub(super) struct CycleSink {
    pub(super) inner: Box<dyn EventSink>,
    pub(super) ran: Mutex<BTreeMap<String, usize>>,
    pub(super) artifacts: Option<Mutex<Sender<Msg>>>,
}

impl EventSink for CycleSink {
    fn emit(&self, event: Event) {
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

/// Runs every request once; on a failed build, loads the graph anyway (from
/// the snapshot the build saved) so the watch set follows it.
pub(super) fn run_cycle(
    reqs: &[BuildRequest],
    sink: &dyn EventSink,
    cancel: &AtomicBool,
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
