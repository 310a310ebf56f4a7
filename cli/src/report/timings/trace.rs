//! `--timings=json`: the Chrome trace event format, as `go build
//! -debug-trace` writes it — `{"traceEvents":[…]}` with one complete event
//! (`"ph":"X"`, `ts` and `dur` in microseconds) per action. Each build is a
//! process (`pid`, from 1), each worker slot a thread (`tid`), named by
//! metadata events (`"ph":"M"`); builds follow each other on one clock.
//! Perfetto (ui.perfetto.dev) and chrome://tracing open it.

use serde_json::{json, Value};

use super::critical::critical_path;
use super::BuildTimings;

/// The trace of these builds.
pub fn trace(builds: &[BuildTimings]) -> Value {
    let mut events = Vec::new();
    let mut offset = 0.0;
    for (i, b) in builds.iter().enumerate() {
        let pid = i + 1;
        let us = |s: f64| ((offset + s) * 1e6).round();
        events.push(json!({
            "name": "process_name", "ph": "M", "pid": pid, "tid": 0,
            "args": { "name": format!("build {pid}: {} {}", b.profile, b.target) },
        }));
        for w in 0..b.jobs.max(1) {
            events.push(json!({
                "name": "thread_name", "ph": "M", "pid": pid, "tid": w,
                "args": { "name": format!("slot {w}") },
            }));
        }
        let critical = critical_path(&b.actions);
        for a in &b.actions {
            let ts = us(a.start);
            events.push(json!({
                "name": a.name(),
                "cat": a.action,
                "ph": "X",
                "ts": ts,
                "dur": (us(a.finish) - ts).max(0.0),
                "pid": pid,
                "tid": a.worker,
                "args": {
                    "id": a.id,
                    "package": a.package,
                    "file": a.file,
                    "outcome": a.outcome,
                    "cache": a.cache,
                    "dirty": a.dirty,
                    "command": a.command,
                    "deps": a.deps,
                    "ready_us": us(a.ready),
                    "critical": critical.contains(&a.id),
                },
            }));
        }
        offset += b.wall();
    }
    json!({ "traceEvents": events, "displayTimeUnit": "ms" })
}

/// The trace as a JSON document.
pub fn trace_json(builds: &[BuildTimings]) -> String {
    serde_json::to_string(&trace(builds)).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::super::tests::act;
    use super::*;

    #[test]
    fn one_complete_event_per_action_on_its_slot() {
        let b = BuildTimings {
            jobs: 2,
            planned: 2,
            actions: vec![act(0, &[], 0.1, 0.2, 0), act(1, &[0], 0.2, 0.5, 1)],
            ..Default::default()
        };
        let t: Value = serde_json::from_str(&trace_json(&[b])).unwrap();
        let x: Vec<&Value> = t["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "X")
            .collect();
        assert_eq!(x.len(), 2);
        assert_eq!(x[1]["name"], "compile p1");
        assert_eq!(x[1]["ts"], 200000.0);
        assert_eq!(x[1]["dur"], 300000.0);
        assert_eq!(x[1]["tid"], 1);
        assert_eq!(x[1]["args"]["critical"], true);
    }
}
