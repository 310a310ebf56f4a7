//! JSON lines on stdout: one object per engine event (its `reason` field
//! says which), and the watch mode's events beside them in the same shape,
//! stamped with the seconds since watching began.

use std::io::Write;
use std::sync::Mutex;
use std::time::Instant;

use pipeline::events::{Emitter, Event, EventSink, Level};
use serde::Serialize;

use super::watch::{WatchEvent, WatchReporter};

/// Prints JSON lines on stdout.
pub struct JsonReporter {
    out: Mutex<std::io::Stdout>,
}

impl JsonReporter {
    /// A reporter on stdout.
    pub fn new() -> Self {
        JsonReporter {
            out: Mutex::new(std::io::stdout()),
        }
    }
}

impl EventSink for JsonReporter {
    fn emit(&self, event: Event) {
        let mut out = self.out.lock().unwrap();
        if let Ok(line) = serde_json::to_string(&event) {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// Watch events as JSON lines, stamped with the seconds since watching
/// began; errors as engine error diagnostics.
pub struct JsonWatchReporter {
    start: Instant,
}

impl JsonWatchReporter {
    /// A reporter on stdout; the clock starts now.
    pub fn new() -> Self {
        JsonWatchReporter {
            start: Instant::now(),
        }
    }
}

#[derive(Serialize)]
struct Stamped<'a> {
    elapsed: f64,
    #[serde(flatten)]
    event: &'a WatchEvent,
}

impl WatchReporter for JsonWatchReporter {
    fn watch(&self, event: WatchEvent) {
        match &event {
            WatchEvent::CycleStarted { .. } | WatchEvent::Warning { .. } => {}
            WatchEvent::Error { message } => {
                Emitter::new(&JsonReporter::new()).diag(Level::Error, None, message.as_str())
            }
            _ => {
                let s = Stamped {
                    elapsed: self.start.elapsed().as_secs_f64(),
                    event: &event,
                };
                if let Ok(line) = serde_json::to_string(&s) {
                    let mut out = std::io::stdout().lock();
                    let _ = writeln!(out, "{line}");
                    let _ = out.flush();
                }
            }
        }
    }
}
