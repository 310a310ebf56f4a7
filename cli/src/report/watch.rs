//! The watch mode's events: what the watch controller and the program
//! supervisor tell the reporters, beside the engine's events. The JSON
//! shape (`reason` tag, kebab-case) is the contract of
//! `watch --message-format json`; fields marked `serde(skip)` are for the
//! human rendering only, and the human-only variants print no JSON.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use serde::Serialize;

/// Why the program stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StopReason {
    /// Stopped for a newer build of it.
    Restart,
    /// It exited on its own.
    Exited,
    /// The watcher is shutting down.
    Shutdown,
}

/// One thing that happened in watch mode.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "reason", rename_all = "kebab-case")]
pub enum WatchEvent {
    /// Watching began.
    WatchStarted {
        directories: usize,
        packages: usize,
        poll: bool,
        /// `--poll-interval` when polling.
        #[serde(skip)]
        poll_interval: Option<Duration>,
    },
    /// A cycle starts (human output only: the `Changed` line).
    CycleStarted {
        cycle: u64,
        changed: Vec<String>,
        rescan: bool,
    },
    /// One cycle (one build of every request) ended.
    WatchCycle {
        cycle: u64,
        /// Changed paths, relative to the current directory when under it.
        changed: Vec<String>,
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
        error: Option<String>,
        /// How many actions of each kind ran.
        #[serde(skip)]
        actions: BTreeMap<String, usize>,
        /// What happened to the program (`restarted demo (pid 12)`).
        #[serde(skip)]
        note: String,
        /// The program running now.
        #[serde(skip)]
        program: Option<u32>,
    },
    /// The program started.
    ProgramStarted {
        pid: u32,
        path: PathBuf,
        args: Vec<String>,
    },
    /// The program ended.
    ProgramStopped {
        pid: u32,
        why: StopReason,
        #[serde(skip_serializing_if = "Option::is_none")]
        exit_code: Option<i32>,
        #[serde(skip_serializing_if = "Option::is_none")]
        signal: Option<i32>,
        /// It did not exit within --stop-timeout and got SIGKILL.
        killed: bool,
        /// The `--stop-timeout` it had.
        #[serde(skip)]
        stop_timeout: Duration,
    },
    /// The watcher exits.
    WatchFinished { signal: i32 },
    /// Something to warn about (human output only).
    Warning { message: String },
    /// An error not reported by the engine (an engine error diagnostic in
    /// JSON).
    Error { message: String },
}

/// Where watch events go.
pub trait WatchReporter: Send + Sync {
    /// Renders one event.
    fn watch(&self, event: WatchEvent);
}

/// Records events (tests).
#[cfg(test)]
#[derive(Default)]
pub struct WatchRecorder(pub std::sync::Mutex<Vec<WatchEvent>>);

#[cfg(test)]
impl WatchReporter for WatchRecorder {
    fn watch(&self, event: WatchEvent) {
        self.0.lock().unwrap().push(event);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_shape_is_todays() {
        let e = WatchEvent::ProgramStopped {
            pid: 7,
            why: StopReason::Restart,
            exit_code: None,
            signal: Some(15),
            killed: false,
            stop_timeout: Duration::from_secs(2),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"reason":"program-stopped","pid":7,"why":"restart","signal":15,"killed":false}"#
        );
        let e = WatchEvent::WatchCycle {
            cycle: 2,
            changed: vec!["leaf/leaf.go".into()],
            rescan: false,
            success: true,
            cancelled: false,
            ran: 3,
            cached: 9,
            duration: 0.5,
            restarted: true,
            error: None,
            actions: BTreeMap::from([("compile".to_string(), 1)]),
            note: "restarted demo (pid 8)".into(),
            program: Some(8),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"reason":"watch-cycle","cycle":2,"changed":["leaf/leaf.go"],"rescan":false,"success":true,"cancelled":false,"ran":3,"cached":9,"duration":0.5,"restarted":true}"#
        );
        let e = WatchEvent::WatchStarted {
            directories: 3,
            packages: 2,
            poll: true,
            poll_interval: Some(Duration::from_millis(500)),
        };
        assert_eq!(
            serde_json::to_string(&e).unwrap(),
            r#"{"reason":"watch-started","directories":3,"packages":2,"poll":true}"#
        );
    }
}
