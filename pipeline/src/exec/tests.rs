//! The scheduler with a fake runner and made-up stages: priority order,
//! failure stops new work, cancellation, cache hits, in-process steps.

use std::sync::atomic::AtomicBool;
use std::sync::Mutex;

use super::*;
use crate::cache::{KeyInputs, LocalCache};
use crate::events::Recorder;
use crate::plan::{Action, ActionKind, Dep, Input};
use crate::stages::outputs::Output;
use crate::stages::step::{ActionLabel, InProcessStep, ToolCommand};

/// Stages that make every action `fake-tool -o $WORK/out NAME`, keyed on its
/// name and its inputs' outputs; names listed in `fail` make the tool fail.
struct FakeStages<'a> {
    plan: &'a ActionGraph,
    names: Vec<&'static str>,
    in_process: Option<usize>,
}

impl PrepareAction for FakeStages<'_> {
    fn label(&self, id: ActionId) -> ActionLabel {
        ActionLabel {
            action: "compile",
            package: self.names[id.0].to_string(),
            file: None,
            goroot: false,
        }
    }

    fn prepare(&self, id: ActionId, done: &[OnceLock<ActionOutput>]) -> crate::Result<Prepared> {
        let mut k = KeyInputs::default();
        k.add("name", self.names[id.0]);
        for d in &self.plan.actions[id.0].deps {
            let out = done[d.id.0].get().expect("dependency done first");
            k.add(format!("dep {}", d.id.0), out.get(&Output::Exe)?.to_hex());
        }
        let step = if self.in_process == Some(id.0) {
            Step::InProcess(Box::new(WriteOut(self.names[id.0])))
        } else {
            Step::Tool(ToolCommand {
                program: "fake-tool".into(),
                args: vec!["-o".into(), "$WORK/exe".into(), self.names[id.0].into()],
                env: vec![],
                cwd: "/".into(),
            })
        };
        Ok(Prepared {
            identity: self.names[id.0].to_string(),
            inputs: k,
            step,
            work_files: vec![],
            outputs: vec![Output::Exe],
            derive: Some((Output::Exe, |data| {
                Ok(crate::stages::step::Derived {
                    export: None,
                    code: Some(crate::cache::ContentDigest::of(&data[..1])),
                })
            })),
            cacheable: true,
        })
    }
}

#[derive(Debug)]
struct WriteOut(&'static str);

impl InProcessStep for WriteOut {
    fn run(&self, cx: &StepContext<'_>) -> std::result::Result<(), String> {
        std::fs::write(cx.work_dir.join("exe"), format!("in-process {}", self.0))
            .map_err(|e| e.to_string())
    }
}

/// Records the order of runs; writes the output; fails the names in `fail`.
#[derive(Default)]
struct FakeRunner {
    ran: Mutex<Vec<String>>,
    fail: Vec<&'static str>,
    /// Names that take 50 ms.
    slow: Vec<&'static str>,
    cancel_after_first: Option<&'static AtomicBool>,
}

impl ToolRunner for FakeRunner {
    fn run(&self, cmd: &ToolCommand) -> std::io::Result<ToolOutput> {
        let name = cmd.args[2].clone();
        self.ran.lock().unwrap().push(name.clone());
        if let Some(c) = self.cancel_after_first {
            c.store(true, Ordering::Relaxed);
        }
        if self.slow.contains(&name.as_str()) {
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        if self.fail.contains(&name.as_str()) {
            return Ok(ToolOutput {
                success: false,
                status: "exit status: 2".into(),
                output: format!("{name}.go:1: syntax error\n"),
            });
        }
        std::fs::write(&cmd.args[1], format!("output of {name}"))?;
        Ok(ToolOutput {
            success: true,
            status: "exit status: 0".into(),
            output: String::new(),
        })
    }
}

fn action(deps: &[usize]) -> Action {
    Action {
        kind: ActionKind::Compile,
        pkg: 0,
        deps: deps
            .iter()
            .map(|d| Dep {
                id: ActionId(*d),
                input: Input::Import(*d),
            })
            .collect(),
    }
}

/// `c` alone, first in the plan, and the chain a ← b ← d: `a` has the
/// higher priority (it unblocks more work).
fn diamond() -> (ActionGraph, Vec<&'static str>) {
    let plan = ActionGraph {
        actions: vec![action(&[]), action(&[]), action(&[1]), action(&[2])],
        ..Default::default()
    };
    (plan, vec!["c", "a", "b", "d"])
}

struct Fixture {
    _dir: tempfile::TempDir,
    cache: LocalCache,
}

fn fixture() -> Fixture {
    let dir = tempfile::tempdir().unwrap();
    let cache = LocalCache::open(dir.path().join("cache")).unwrap();
    Fixture { _dir: dir, cache }
}

fn run(
    fx: &Fixture,
    plan: &ActionGraph,
    stages: &FakeStages<'_>,
    runner: &FakeRunner,
    jobs: usize,
    cancel: Option<&AtomicBool>,
) -> (ExecSummary, Vec<crate::events::Event>) {
    run_with(fx, plan, stages, runner, jobs, cancel, false)
}

fn run_with(
    fx: &Fixture,
    plan: &ActionGraph,
    stages: &FakeStages<'_>,
    runner: &FakeRunner,
    jobs: usize,
    cancel: Option<&AtomicBool>,
    keep_going: bool,
) -> (ExecSummary, Vec<crate::events::Event>) {
    let rec = Recorder::default();
    let em = Emitter::new(&rec);
    let cache = ExecCache {
        actions: &fx.cache,
        objects: &fx.cache,
        inputs_log: &fx.cache,
        work_root: fx.cache.work_root(),
    };
    let opts = ExecOptions {
        jobs,
        cancel,
        keep_work_dirs: false,
        keep_going,
    };
    let s = execute(plan, stages, &cache, runner, &em, &opts);
    (s, rec.events())
}

#[test]
fn one_worker_runs_ready_actions_by_priority() {
    let fx = fixture();
    let (plan, names) = diamond();
    let stages = FakeStages {
        plan: &plan,
        names,
        in_process: None,
    };
    let runner = FakeRunner::default();
    let (s, _) = run(&fx, &plan, &stages, &runner, 1, None);
    assert!(s.success());
    assert_eq!((s.ran, s.cached), (4, 0));
    // `a` heads the longest chain, so it goes before `c` although `c` comes
    // first in the plan; `b` outranks `c` too; `c` and `d` tie, and the
    // earlier one goes first.
    assert_eq!(*runner.ran.lock().unwrap(), ["a", "b", "c", "d"]);
    // The output is stored and typed, with what the stage derived from it.
    let out = s.results[3].get().unwrap();
    let d = out.get(&Output::Exe).unwrap();
    assert_eq!(fx.cache.read(&d).unwrap(), b"output of d");
    assert_eq!(d.size(), 11);
    assert_eq!(out.code, Some(crate::cache::ContentDigest::of(b"o")));
}

#[test]
fn a_second_run_is_served_from_the_cache() {
    let fx = fixture();
    let (plan, names) = diamond();
    let stages = FakeStages {
        plan: &plan,
        names,
        in_process: None,
    };
    let (first, _) = run(&fx, &plan, &stages, &FakeRunner::default(), 2, None);
    assert!(first.success());
    let runner = FakeRunner::default();
    let (second, events) = run(&fx, &plan, &stages, &runner, 2, None);
    assert!(second.success());
    assert_eq!((second.ran, second.cached), (0, 4));
    assert!(runner.ran.lock().unwrap().is_empty(), "nothing may run");
    let cached = events
        .iter()
        .filter(|e| {
            matches!(
                e.kind,
                EventKind::ActionFinished {
                    outcome: Outcome::Cached,
                    ..
                }
            )
        })
        .count();
    assert_eq!(cached, 4);
    // Same outputs as the first run, with their sizes.
    for i in 0..4 {
        let a = first.results[i].get().unwrap().get(&Output::Exe).unwrap();
        let b = second.results[i].get().unwrap().get(&Output::Exe).unwrap();
        assert_eq!((a, a.size()), (b, b.size()));
    }
}

#[test]
fn a_failure_stops_new_work_and_is_reported_with_its_output() {
    let fx = fixture();
    let (plan, names) = diamond();
    let stages = FakeStages {
        plan: &plan,
        names,
        in_process: None,
    };
    let runner = FakeRunner {
        fail: vec!["a"],
        ..Default::default()
    };
    // `a` runs first (highest priority) and fails.
    let (s, events) = run(&fx, &plan, &stages, &runner, 1, None);
    assert!(!s.success());
    assert_eq!(s.failed, 1);
    // Nothing started after the failure: not `c` (independent), not `b`.
    assert_eq!(*runner.ran.lock().unwrap(), ["a"]);
    let diag = events.iter().find_map(|e| match &e.kind {
        EventKind::Diagnostic {
            level: Level::Error,
            message,
            ..
        } => Some(message.clone()),
        _ => None,
    });
    assert_eq!(diag.as_deref(), Some("# a\na.go:1: syntax error"));
    assert!(s.results[0].get().is_none());
    assert_eq!(
        s.failures,
        [(ActionId(1), "# a\na.go:1: syntax error".to_string())]
    );
}

/// `a`, then the check `n` and the link `l` beside it, gated by `n`.
fn gated() -> (ActionGraph, Vec<&'static str>) {
    let mut plan = ActionGraph {
        actions: vec![action(&[]), action(&[0]), action(&[0])],
        ..Default::default()
    };
    plan.gates.insert(ActionId(2), ActionId(1));
    (plan, vec!["a", "n", "l"])
}

fn error_messages(events: &[crate::events::Event]) -> Vec<String> {
    events
        .iter()
        .filter_map(|e| match &e.kind {
            EventKind::Diagnostic {
                level: Level::Error,
                message,
                ..
            } => Some(message.clone()),
            _ => None,
        })
        .collect()
}

#[test]
fn a_gated_action_that_fails_after_its_gate_is_discarded() {
    let fx = fixture();
    let (plan, names) = gated();
    let stages = FakeStages {
        plan: &plan,
        names,
        in_process: None,
    };
    let runner = FakeRunner {
        fail: vec!["n", "l"],
        // The check takes longer than the link beside it.
        slow: vec!["n"],
        ..Default::default()
    };
    for jobs in [1, 2] {
        runner.ran.lock().unwrap().clear();
        let (s, events) = run(&fx, &plan, &stages, &runner, jobs, None);
        assert!(!s.success());
        // Only the gate's failure counts and is reported.
        assert_eq!(s.failed, 1, "jobs {jobs}");
        assert_eq!(error_messages(&events), ["# n\nn.go:1: syntax error"]);
        let discarded = events.iter().any(|e| {
            matches!(
                e.kind,
                EventKind::ActionFinished {
                    id: 2,
                    outcome: Outcome::Discarded,
                    ..
                }
            )
        });
        // With one worker the gate fails first and nothing new starts;
        // with two, the link fails beside the slow check, waits for its
        // verdict, and is discarded.
        let link_ran = runner.ran.lock().unwrap().contains(&"l".to_string());
        assert_eq!((discarded, link_ran), (jobs == 2, jobs == 2));
    }
}

#[test]
fn a_gated_action_whose_gate_passed_reports_its_failure() {
    let fx = fixture();
    let (plan, names) = gated();
    let stages = FakeStages {
        plan: &plan,
        names,
        in_process: None,
    };
    let runner = FakeRunner {
        fail: vec!["l"],
        ..Default::default()
    };
    let (s, events) = run(&fx, &plan, &stages, &runner, 2, None);
    assert_eq!(s.failed, 1);
    assert_eq!(error_messages(&events), ["# l\nl.go:1: syntax error"]);
    assert!(s.results[1].get().is_some());
}

#[test]
fn keep_going_drops_only_what_depends_on_the_failure() {
    let fx = fixture();
    let (plan, names) = diamond();
    let stages = FakeStages {
        plan: &plan,
        names,
        in_process: None,
    };
    let runner = FakeRunner {
        fail: vec!["a"],
        ..Default::default()
    };
    let (s, _) = run_with(&fx, &plan, &stages, &runner, 1, None, true);
    assert!(!s.success());
    assert_eq!((s.failed, s.ran), (1, 1));
    // `c` is independent of `a` and still runs; `b` and `d` need `a`.
    assert_eq!(*runner.ran.lock().unwrap(), ["a", "c"]);
    assert!(s.results[0].get().is_some());
    assert!(s.results[2].get().is_none() && s.results[3].get().is_none());
    assert_eq!(s.failures.len(), 1);
}

#[test]
fn cancellation_stops_starting_actions() {
    static CANCEL: AtomicBool = AtomicBool::new(false);
    let fx = fixture();
    let (plan, names) = diamond();
    let stages = FakeStages {
        plan: &plan,
        names,
        in_process: None,
    };
    let runner = FakeRunner {
        cancel_after_first: Some(&CANCEL),
        ..Default::default()
    };
    let (s, _) = run(&fx, &plan, &stages, &runner, 1, Some(&CANCEL));
    assert!(s.cancelled && !s.success());
    assert_eq!(s.failed, 0);
    assert_eq!(
        *runner.ran.lock().unwrap(),
        ["a"],
        "the running action finishes, no other starts"
    );
    assert!(s.results[1].get().is_some());
}

#[test]
fn in_process_steps_run_without_the_runner() {
    let fx = fixture();
    let (plan, names) = diamond();
    let stages = FakeStages {
        plan: &plan,
        names,
        in_process: Some(0),
    };
    let runner = FakeRunner::default();
    let (s, _) = run(&fx, &plan, &stages, &runner, 2, None);
    assert!(s.success());
    assert!(!runner.ran.lock().unwrap().contains(&"c".to_string()));
    let d = s.results[0].get().unwrap().get(&Output::Exe).unwrap();
    assert_eq!(fx.cache.read(&d).unwrap(), b"in-process c");
}

#[test]
fn started_events_name_deps_ready_time_and_worker() {
    let fx = fixture();
    let (plan, names) = diamond();
    let stages = FakeStages {
        plan: &plan,
        names,
        in_process: None,
    };
    let (s, events) = run(&fx, &plan, &stages, &FakeRunner::default(), 2, None);
    assert!(s.success());
    let mut started = std::collections::BTreeMap::new();
    let mut finished = std::collections::BTreeMap::new();
    for e in &events {
        match &e.kind {
            EventKind::ActionStarted {
                id,
                deps,
                ready,
                worker,
                ..
            } => {
                assert!(*worker < 2, "worker {worker} of 2 slots");
                assert!(*ready <= e.elapsed, "ready after it started");
                started.insert(*id, (deps.clone(), *ready, e.elapsed));
            }
            EventKind::ActionFinished { id, .. } => {
                finished.insert(*id, e.elapsed);
            }
            _ => {}
        }
    }
    assert_eq!(started.len(), 4);
    assert_eq!(started[&0].0, Vec::<usize>::new());
    assert_eq!(started[&2].0, vec![1]);
    assert_eq!(started[&3].0, vec![2]);
    // An action becomes ready when its last dependency finishes.
    for (id, (deps, ready, _)) in &started {
        for d in deps {
            assert!(finished[d] <= *ready, "{id} ready before {d} finished");
        }
    }
}
