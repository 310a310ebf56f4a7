//! Running the action graph: `-j N` workers take ready actions (all
//! declared inputs done) in priority order, prepare each through
//! [`PrepareAction`], ask the [`ActionCache`] first, run the step on a miss —
//! a tool command through the [`ToolRunner`], or an in-process step — store
//! its outputs in the [`ObjectStore`], and report every step as an event.
//!
//! The executor knows prepared steps only: no stage, no check, no config.
//!
//! On a failure the failing action's output is reported verbatim with its
//! package, actions already running finish, and nothing new starts — or,
//! with [`ExecOptions::keep_going`] (tests, as go test does), only the
//! actions that depend on the failed one are dropped and the rest go on.
//! A cancellation flag (watch mode) stops starting new actions.
//!
//! An action with a gate ([`ActionGraph::gates`]: a link beside its nosplit
//! check) runs without waiting for it. If it fails, its report waits for
//! the gate: when the gate failed too, the action is `Discarded` (not
//! reported, not counted) — the gate's failure is the build's error.
//!
//! - [`runner`]: the tool-runner seam and the real process runner.

use std::collections::BinaryHeap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Instant;

use crate::cache::{ActionCache, ActionKey, Entry, InputsLog, Lookup, ObjectStore};
use crate::error::{Error, IoContext};
use crate::events::{DirtyReason, Emitter, EventKind, Level, Outcome};
use crate::plan::{ActionGraph, ActionId};
use crate::stages::outputs::ActionOutput;
use crate::stages::step::{PrepareAction, Prepared, Step, StepContext, WorkFile};

pub mod runner;

pub use runner::{ProcessRunner, ToolOutput, ToolRunner};

/// How to run.
pub struct ExecOptions<'a> {
    /// Parallel actions.
    pub jobs: usize,
    /// Set from outside to stop starting new actions.
    pub cancel: Option<&'a AtomicBool>,
    /// Keep work directories (for `-v`: the printed commands stay runnable
    /// until the next build clears them).
    pub keep_work_dirs: bool,
    /// After a failure, go on with every action that does not depend on
    /// the failed one (go test builds and runs the other packages).
    pub keep_going: bool,
}

/// Where actions are looked up and their outputs go.
pub struct ExecCache<'a> {
    /// Action key → entry.
    pub actions: &'a dyn ActionCache,
    /// The objects.
    pub objects: &'a dyn ObjectStore,
    /// Last inputs per action identity (for `-v`'s why).
    pub inputs_log: &'a dyn InputsLog,
    /// Where work directories are made (on the objects' file system).
    pub work_root: PathBuf,
}

/// What a run did.
#[derive(Debug)]
pub struct ExecSummary {
    /// Per action, its outputs (unset for actions that did not complete).
    pub results: Vec<OnceLock<ActionOutput>>,
    /// Actions that ran a step.
    pub ran: usize,
    /// Actions served from the cache.
    pub cached: usize,
    /// Actions that failed.
    pub failed: usize,
    /// The failed actions with the message reported for each, in the
    /// order they failed.
    pub failures: Vec<(ActionId, String)>,
    /// Was the run cancelled before it completed?
    pub cancelled: bool,
}

impl ExecSummary {
    /// Did every action complete?
    pub fn success(&self) -> bool {
        self.failed == 0 && !self.cancelled && self.results.iter().all(|r| r.get().is_some())
    }
}

struct State {
    ready: BinaryHeap<(usize, std::cmp::Reverse<usize>)>,
    waiting_on: Vec<usize>,
    /// When each action became ready (seconds on the emitter's clock).
    ready_at: Vec<f64>,
    running: usize,
    failed: usize,
    ran: usize,
    cached: usize,
    failures: Vec<(ActionId, String)>,
    stop: bool,
}

/// Everything one run reads.
struct Run<'a> {
    plan: &'a ActionGraph,
    /// Per action: did it start, did it fail? (Read by the actions it gates.)
    started: &'a [AtomicBool],
    failed: &'a [AtomicBool],
    stages: &'a dyn PrepareAction,
    cache: &'a ExecCache<'a>,
    runner: &'a dyn ToolRunner,
    em: &'a Emitter<'a>,
    keep_work_dirs: bool,
}

/// Runs every action of `plan`, preparing each through `stages`.
pub fn execute(
    plan: &ActionGraph,
    stages: &dyn PrepareAction,
    cache: &ExecCache<'_>,
    runner: &dyn ToolRunner,
    em: &Emitter<'_>,
    opts: &ExecOptions<'_>,
) -> ExecSummary {
    let actions = &plan.actions;
    let n = actions.len();
    let priority = plan.priorities();
    let mut dependents = vec![Vec::new(); n];
    let mut waiting_on = vec![0usize; n];
    // Each action's dependencies as events report them: ids, each once.
    let mut deps: Vec<Vec<usize>> = vec![Vec::new(); n];
    for (i, a) in actions.iter().enumerate() {
        waiting_on[i] = a.deps.len();
        for d in &a.deps {
            dependents[d.id.0].push(i);
            deps[i].push(d.id.0);
        }
        deps[i].sort_unstable();
        deps[i].dedup();
    }
    let ready = (0..n)
        .filter(|i| waiting_on[*i] == 0)
        .map(|i| (priority[i], std::cmp::Reverse(i)))
        .collect();
    let start = em.elapsed().as_secs_f64();
    let state = Mutex::new(State {
        ready,
        waiting_on,
        ready_at: vec![start; n],
        running: 0,
        failed: 0,
        ran: 0,
        cached: 0,
        failures: Vec::new(),
        stop: false,
    });
    let wake = Condvar::new();
    let results: Vec<OnceLock<ActionOutput>> = (0..n).map(|_| OnceLock::new()).collect();
    let cancelled = AtomicBool::new(false);
    let flags = || (0..n).map(|_| AtomicBool::new(false)).collect::<Vec<_>>();
    let (started, failed) = (flags(), flags());
    let run = Run {
        plan,
        started: &started,
        failed: &failed,
        stages,
        cache,
        runner,
        em,
        keep_work_dirs: opts.keep_work_dirs,
    };

    std::thread::scope(|s| {
        // Each worker moves in its slot number and borrows the rest.
        let (state, wake, results, cancelled, run) = (&state, &wake, &results, &cancelled, &run);
        let (deps, dependents, priority) = (&deps, &dependents, &priority);
        let (started, failed) = (&started, &failed);
        for worker in 0..opts.jobs.max(1) {
            s.spawn(move || loop {
                let (id, ready_at) = {
                    let mut st = state.lock().unwrap();
                    loop {
                        if let Some(c) = opts.cancel {
                            if c.load(Ordering::Relaxed) && !st.stop {
                                st.stop = true;
                                cancelled.store(true, Ordering::Relaxed);
                            }
                        }
                        if st.stop {
                            wake.notify_all();
                            return;
                        }
                        if let Some((_, std::cmp::Reverse(id))) = st.ready.pop() {
                            st.running += 1;
                            started[id].store(true, Ordering::Release);
                            break (id, st.ready_at[id]);
                        }
                        if st.running == 0 {
                            // Nothing ready, nothing running: all done.
                            wake.notify_all();
                            return;
                        }
                        st = wake.wait(st).unwrap();
                    }
                };
                let slot = Slot {
                    deps: &deps[id],
                    ready: ready_at,
                    worker,
                };
                let outcome = run.action(ActionId(id), slot, results);
                let mut st = state.lock().unwrap();
                st.running -= 1;
                match outcome {
                    Ok((out, was_cached)) => {
                        if was_cached {
                            st.cached += 1;
                        } else {
                            st.ran += 1;
                        }
                        let _ = results[id].set(out);
                        let now = run.em.elapsed().as_secs_f64();
                        for &d in &dependents[id] {
                            st.waiting_on[d] -= 1;
                            if st.waiting_on[d] == 0 {
                                st.ready_at[d] = now;
                                st.ready.push((priority[d], std::cmp::Reverse(d)));
                            }
                        }
                    }
                    Err(Some(message)) => {
                        failed[id].store(true, Ordering::Release);
                        st.failed += 1;
                        st.failures.push((ActionId(id), message));
                        // Its dependents never become ready.
                        st.stop |= !opts.keep_going;
                    }
                    // Its gate failed: that failure is the one reported.
                    Err(None) => {}
                }
                wake.notify_all();
            });
        }
    });
    let st = state.into_inner().unwrap();
    ExecSummary {
        results,
        ran: st.ran,
        cached: st.cached,
        failed: st.failed,
        failures: st.failures,
        cancelled: cancelled.load(Ordering::Relaxed),
    }
}

/// Where an action runs: what it waited for, when it became ready, which
/// worker slot took it (reported with its start, for timelines).
struct Slot<'a> {
    deps: &'a [usize],
    ready: f64,
    worker: usize,
}

/// A step that ran: its entry, its command line, and the key inputs to
/// store the entry under (`None`: not cached — the prep or the step said so).
struct StepDone {
    entry: Entry,
    command: Option<String>,
    store_under: Option<crate::cache::KeyInputs>,
}

struct StepError {
    message: String,
    command: Option<String>,
}

impl From<Error> for StepError {
    fn from(e: Error) -> Self {
        StepError {
            message: e.to_string(),
            command: None,
        }
    }
}

/// The typed outputs of a cache entry.
fn action_output(entry: Entry, cached: bool) -> ActionOutput {
    ActionOutput {
        outputs: entry
            .outputs
            .into_iter()
            .map(|(name, d)| (crate::stages::outputs::Output::from_file_name(&name), d))
            .collect(),
        export: entry.export,
        code: entry.code,
        cached,
    }
}

impl Run<'_> {
    /// Did the gate of `id` fail? Waits for the gate to finish: it runs
    /// beside `id` (it became ready with `id` and outranks it, so it was
    /// taken first; one that never started is not waited for).
    fn gate_failed(&self, id: ActionId, results: &[OnceLock<ActionOutput>]) -> bool {
        let Some(gate) = self.plan.gates.get(&id) else {
            return false;
        };
        if !self.started[gate.0].load(Ordering::Acquire) {
            return false;
        }
        loop {
            if self.failed[gate.0].load(Ordering::Acquire) {
                return true;
            }
            if results[gate.0].get().is_some() {
                return false;
            }
            std::thread::sleep(std::time::Duration::from_millis(1));
        }
    }

    /// Runs one action; `Ok((outputs, cached))`, `Err(Some(message))` after
    /// reporting the failure, or `Err(None)` when it failed after its gate
    /// did (discarded, not reported).
    fn action(
        &self,
        id: ActionId,
        slot: Slot<'_>,
        results: &[OnceLock<ActionOutput>],
    ) -> std::result::Result<(ActionOutput, bool), Option<String>> {
        let em = self.em;
        let label = self.stages.label(id);
        let pkg = &label.package;
        em.emit(EventKind::ActionStarted {
            id: id.0,
            action: label.action,
            package: pkg.clone(),
            file: label.file.clone(),
            deps: slot.deps.to_vec(),
            ready: slot.ready,
            worker: slot.worker,
        });
        let start = Instant::now();
        let finish = |outcome, dirty, command, cache, remote_miss, key: Option<&ActionKey>| {
            em.emit(EventKind::ActionFinished {
                id: id.0,
                action: label.action,
                package: pkg.clone(),
                file: label.file.clone(),
                goroot: label.goroot,
                outcome,
                duration: start.elapsed().as_secs_f64(),
                dirty,
                command,
                cache,
                remote_miss,
                key: key.map(|k| k.to_hex()),
            })
        };
        let fail = |message: String, dirty, command, key: Option<&ActionKey>| {
            if self.gate_failed(id, results) {
                finish(Outcome::Discarded, dirty, command, None, false, key);
                return Err(None);
            }
            em.diag(Level::Error, Some(pkg), message.clone());
            finish(Outcome::Failed, dirty, command, None, false, key);
            Err(Some(message))
        };

        let prep = match self.stages.prepare(id, results) {
            Ok(p) => p,
            Err(e) => return fail(format!("# {pkg}\n{e}"), None, None, None),
        };
        let key = ActionKey::compute(&prep.inputs);
        let cached = |entry: Entry, cache: &'static str| {
            if !entry.output.is_empty() {
                em.diag(Level::Output, Some(pkg), entry.output.clone());
            }
            finish(Outcome::Cached, None, None, Some(cache), false, Some(&key));
            (action_output(entry, true), true)
        };
        let mut remote_miss = false;
        let damaged = match self.cache.actions.lookup(&key) {
            Lookup::Hit(entry) => return Ok(cached(entry, "local")),
            Lookup::RemoteHit(entry) => return Ok(cached(entry, "remote")),
            Lookup::Miss => None,
            Lookup::RemoteMiss => {
                remote_miss = true;
                None
            }
            Lookup::Damaged { output, problem } => {
                em.diag(
                    Level::Warning,
                    Some(pkg),
                    format!(
                        "cache object of {output} is damaged, rerunning {}: {problem}",
                        label.action
                    ),
                );
                Some(DirtyReason::Damaged { output, problem })
            }
        };
        let dirty = match (
            damaged,
            self.cache.inputs_log.previous_inputs(&prep.identity),
        ) {
            (Some(d), _) => d,
            (None, None) => DirtyReason::NoEntry,
            (None, Some(prev)) => {
                let changes = prep.inputs.diff(&prev);
                if changes.is_empty() {
                    DirtyReason::EntryMissing
                } else {
                    DirtyReason::InputsChanged { changes }
                }
            }
        };
        match self.step(&prep) {
            Ok(StepDone {
                entry,
                command,
                store_under,
            }) => {
                let stored = match &store_under {
                    Some(inputs) => self
                        .cache
                        .actions
                        .store_entry(&ActionKey::compute(inputs), &entry)
                        .and_then(|_| self.cache.inputs_log.record_inputs(&prep.identity, inputs)),
                    None => Ok(()),
                };
                if let Err(e) = stored {
                    return fail(format!("# {pkg}\n{e}"), Some(dirty), command, Some(&key));
                }
                if !entry.output.is_empty() {
                    em.diag(Level::Output, Some(pkg), entry.output.clone());
                }
                finish(
                    Outcome::Ran,
                    Some(dirty),
                    command,
                    None,
                    remote_miss,
                    Some(&key),
                );
                Ok((action_output(entry, false), false))
            }
            Err(StepError { message, command }) => fail(
                format!("# {pkg}\n{message}"),
                Some(dirty),
                command,
                Some(&key),
            ),
        }
    }

    /// Runs a step in a fresh work directory and stores its outputs.
    fn step(&self, prep: &Prepared) -> std::result::Result<StepDone, StepError> {
        let root = &self.cache.work_root;
        std::fs::create_dir_all(root).at(root)?;
        let mut work = tempfile::Builder::new()
            .prefix("w")
            .tempdir_in(root)
            .at(root)?;
        if self.keep_work_dirs {
            work.disable_cleanup(true);
        }
        let wd = work.path();
        let objects = self.cache.objects;
        for (name, f) in &prep.work_files {
            let dest = wd.join(name);
            match f {
                WorkFile::Content(data) => std::fs::write(&dest, data).at(&dest)?,
                WorkFile::Object(d) => objects.materialize(d, &dest)?,
            }
        }
        let mut output = String::new();
        let mut command = None;
        let mut store_under = prep.cacheable.then(|| prep.inputs.clone());
        match &prep.step {
            Step::Tool(cmd) => {
                let cmd = cmd.in_work_dir(wd);
                let line = cmd.shell_line();
                command = Some(line.clone());
                let out = self.runner.run(&cmd).map_err(|e| StepError {
                    message: format!("could not run {}: {e}", cmd.program.display()),
                    command: Some(line.clone()),
                })?;
                output = out.output;
                if !out.success {
                    let mut message = output.trim_end().to_string();
                    if message.is_empty() {
                        message = format!("{} exited with {}", cmd.program.display(), out.status);
                    }
                    return Err(StepError {
                        message,
                        command: Some(line),
                    });
                }
            }
            Step::InProcess(step) => {
                let cx = StepContext {
                    work_dir: wd,
                    objects,
                };
                step.run(&cx).map_err(|message| StepError {
                    message,
                    command: None,
                })?;
                if !step.cacheable(wd) {
                    store_under = None;
                } else if let Some(k) = step.final_inputs(wd) {
                    store_under = store_under.map(|_| k);
                }
            }
        }
        let mut entry = Entry {
            outputs: Default::default(),
            export: None,
            output,
            code: None,
        };
        for o in &prep.outputs {
            let name = o.file_name();
            let path = wd.join(name);
            if let Some((_, derive)) = prep.derive.as_ref().filter(|(d, _)| d == o) {
                let data = std::fs::read(&path).at(&path)?;
                let derived = derive(&data).map_err(|m| StepError {
                    message: format!("{}: {m}", path.display()),
                    command: command.clone(),
                })?;
                entry.export = derived.export;
                entry.code = derived.code;
            }
            let d = objects.store_file(&path).map_err(|e| StepError {
                message: format!("{e} (hint: did the tool write {name}?)"),
                command: command.clone(),
            })?;
            entry.outputs.insert(name.to_string(), d);
        }
        Ok(StepDone {
            entry,
            command,
            store_under,
        })
    }
}

#[cfg(test)]
mod tests;
