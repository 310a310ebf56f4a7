//! `cargo gobuild watch`: rebuild on every save through the engine, and with
//! `--run` restart the program — no lost edits, no leaked processes.
//!
//! Who owns what:
//! - [`watch_set`]: **what to watch** (the directories and files of the
//!   loaded package graph, recomputed after every build) and which changes
//!   a build could see; the file watcher backend.
//! - [`controller`]: the loop. File events are collected over the debounce
//!   window, then one decision: rebuild; a change during a build cancels it
//!   and starts over, so the last saved state is what gets built; a build's
//!   news becomes orders for the supervisor (restart, or leave it alone).
//! - [`cycle`]: one build of every request through the engine, on its own
//!   thread; what to rebuild is the engine's business (its snapshot and
//!   content-addressed cache rerun only the actions whose inputs changed).
//! - [`supervisor`]: the program (`--run`) in its own process group,
//!   controlled by a queue of orders (`Stop`, `Start`): a restart is
//!   `[Stop, Start]`; stopping is SIGTERM, `--stop-timeout`, SIGKILL, reap.
//! - Rendering is [`crate::report`]'s: everything here speaks in
//!   [`crate::report::WatchEvent`]s (JSON lines or status lines) and
//!   forwards the engine's events to the `--message-format` reporter.
//!
//! This module sets it up: signals first (from then on Ctrl-C is ours and
//! nothing we start outlives us), the requests, the watcher, the first
//! watch set (before the first build, so nothing saved during it is lost).

mod controller;
mod cycle;
mod supervisor;
mod watch_set;

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{mpsc, Arc};
use std::time::Duration;

use clap::Args;
use pipeline::build;
use pipeline::load::PackageGraph;

use crate::args::BuildArgs;
use crate::exit::Failure;
use crate::report::{self, WatchEvent};
use crate::settings;
use controller::{mains, Controller, Inputs, Msg};
use supervisor::{Processes, Supervisor};
use watch_set::{config_files, new_watcher, Excluded};

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
    /// After each change, run the tests of the packages whose test binaries
    /// changed (as `cargo gobuild test` does, with its summary).
    #[arg(long, conflicts_with = "run")]
    pub(crate) test: bool,
    #[arg(last = true, value_name = "ARGS")]
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

/// `cargo gobuild watch`.
/// The build requests of a watch: with `--test`, test builds that run the
/// test binaries (`-- ARGS` go to them); with `--run`, program builds.
pub(super) fn requests(args: &WatchArgs) -> Result<Vec<pipeline::build::BuildRequest>, Failure> {
    let mut reqs = settings::build_requests(&args.build)?;
    if args.test {
        for r in &mut reqs {
            r.intent = pipeline::plan::Intent::Test;
            r.profile.buildmode = pipeline::config::profile::BuildMode::Default;
            r.test = Some(pipeline::stages::test_run::TestSettings {
                args: args.args.clone(),
                timeout: Duration::from_secs(600),
                cache: true,
                memo_dir: Default::default(),
                run: true,
                vet: true,
                cover: None,
            });
        }
    }
    Ok(reqs)
}

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
    let reporter = report::watch_reporter(c.message_format, c.verbosity(), c.color, args.clear);
    let l = settings::load(c)?;
    let reqs = requests(&args)?;
    let inputs = Inputs {
        cwd: l.cwd.clone(),
        config_files: config_files(&l, &reqs),
        excluded: Excluded::new(&l.ws.target_dir),
        reqs: Arc::new(reqs),
    };
    let poll = args.poll.then_some(args.poll_interval);
    let fs_tx = tx.clone();
    let watcher = new_watcher(
        move |ev| {
            let _ = fs_tx.send(Msg::Fs(ev));
        },
        poll,
    )
    .map_err(|e| anyhow::anyhow!("starting the file watcher: {e} (hint: try --poll)"))?;
    let supervisor = Supervisor::new(Box::new(Processes), args.stop_timeout, force.clone());
    let mut w = Controller::new(args, reporter, inputs, watcher, (tx, rx), supervisor, force);
    // Watch before the first build, so nothing saved during it is lost: the
    // graph comes from the load snapshot (or one `go list`, which the build
    // then reuses).
    let graphs: Vec<PackageGraph> = w
        .inputs
        .reqs
        .iter()
        .filter_map(|r| build::load(r, &r.gobuild_dir()).ok().map(|s| s.graph))
        .collect();
    w.update_watches(&graphs.iter().collect::<Vec<_>>(), None);
    if !graphs.is_empty() && graphs.len() == w.inputs.reqs.len() {
        w.mains = Some(mains(&graphs.iter().collect::<Vec<_>>()));
    }
    if w.args.run && w.wrong_mains() {
        return Err(w.mains_failure());
    }
    w.report.watch(WatchEvent::WatchStarted {
        directories: w.set.dirs.len(),
        packages: w.set.packages,
        poll: w.args.poll,
        poll_interval: poll,
    });
    w.start_cycle();
    w.main_loop()
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
}
