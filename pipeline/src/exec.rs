//! Running the action graph: `-j N` workers take ready actions (all inputs
//! done) in priority order, ask the cache first, run the step on a miss, and
//! report every step as an event.
//!
//! On a failure the failing action's output is reported verbatim with its
//! package, actions already running finish, and nothing new starts. A
//! cancellation flag (watch mode) stops starting new actions the same way.

use std::collections::BinaryHeap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Condvar, Mutex, OnceLock};
use std::time::Instant;

use crate::cache::{ActionKey, Entry};
use crate::error::{Error, IoContext};
use crate::events::{DirtyReason, Emitter, EventKind, Level, Outcome};
use crate::plan::{ActionId, ActionKind};
use crate::stages::{self, ActionOutput, BuildContext, Prepared, Step, WorkFile};

/// How to run.
pub struct ExecOptions<'a> {
    /// Parallel actions.
    pub jobs: usize,
    /// Set from outside to stop starting new actions.
    pub cancel: Option<&'a AtomicBool>,
    /// Keep work directories (for `-v`: the printed commands stay runnable
    /// until the next build clears them).
    pub keep_work_dirs: bool,
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
    running: usize,
    failed: usize,
    ran: usize,
    cached: usize,
    stop: bool,
}

/// Runs every action of `ctx.actions`.
pub fn execute(ctx: &BuildContext<'_>, em: &Emitter<'_>, opts: &ExecOptions<'_>) -> ExecSummary {
    let actions = &ctx.actions.actions;
    let n = actions.len();
    let priority = ctx.actions.priorities();
    let mut dependents = vec![Vec::new(); n];
    let mut waiting_on = vec![0usize; n];
    for (i, a) in actions.iter().enumerate() {
        waiting_on[i] = a.deps.len();
        for d in &a.deps {
            dependents[d.0].push(i);
        }
    }
    let ready = (0..n)
        .filter(|i| waiting_on[*i] == 0)
        .map(|i| (priority[i], std::cmp::Reverse(i)))
        .collect();
    let state = Mutex::new(State {
        ready,
        waiting_on,
        running: 0,
        failed: 0,
        ran: 0,
        cached: 0,
        stop: false,
    });
    let wake = Condvar::new();
    let results: Vec<OnceLock<ActionOutput>> = (0..n).map(|_| OnceLock::new()).collect();
    let cancelled = AtomicBool::new(false);

    std::thread::scope(|s| {
        for _ in 0..opts.jobs.max(1) {
            s.spawn(|| loop {
                let id = {
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
                            break id;
                        }
                        if st.running == 0 {
                            // Nothing ready, nothing running: all done.
                            wake.notify_all();
                            return;
                        }
                        st = wake.wait(st).unwrap();
                    }
                };
                let outcome = run_action(ctx, em, opts, ActionId(id), &results);
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
                        for &d in &dependents[id] {
                            st.waiting_on[d] -= 1;
                            if st.waiting_on[d] == 0 {
                                st.ready.push((priority[d], std::cmp::Reverse(d)));
                            }
                        }
                    }
                    Err(()) => {
                        st.failed += 1;
                        st.stop = true;
                    }
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
        cancelled: cancelled.load(Ordering::Relaxed),
    }
}

/// Runs one action; `Ok((outputs, cached))`, or `Err(())` after reporting the failure.
fn run_action(
    ctx: &BuildContext<'_>,
    em: &Emitter<'_>,
    opts: &ExecOptions<'_>,
    id: ActionId,
    results: &[OnceLock<ActionOutput>],
) -> std::result::Result<(ActionOutput, bool), ()> {
    let action = &ctx.actions.actions[id.0];
    let pkg = &ctx.graph.packages[action.pkg].import_path;
    let goroot = ctx.graph.packages[action.pkg].goroot;
    let file = match &action.kind {
        ActionKind::Asm { file } => Some(file.clone()),
        _ => None,
    };
    let kind = action.kind.name();
    em.emit(EventKind::ActionStarted {
        id: id.0,
        action: kind,
        package: pkg.clone(),
        file: file.clone(),
    });
    let start = Instant::now();
    let finish = |outcome, dirty, command| {
        em.emit(EventKind::ActionFinished {
            id: id.0,
            action: kind,
            package: pkg.clone(),
            file: file.clone(),
            goroot,
            outcome,
            duration: start.elapsed().as_secs_f64(),
            dirty,
            command,
        })
    };
    let fail = |message: String, dirty, command| {
        em.diag(Level::Error, Some(pkg), message);
        finish(Outcome::Failed, dirty, command);
        Err(())
    };

    let prep = match ctx.prepare(id, results) {
        Ok(p) => p,
        Err(e) => return fail(format!("# {pkg}\n{e}"), None, None),
    };
    let key = ActionKey::compute(&prep.inputs);
    if let Some(entry) = ctx.cache.lookup(&key) {
        if !entry.output.is_empty() {
            em.diag(Level::Output, Some(pkg), entry.output.clone());
        }
        finish(Outcome::Cached, None, None);
        return Ok((
            ActionOutput {
                outputs: entry.outputs,
                export: entry.export,
                code: entry.code,
            },
            true,
        ));
    }
    let dirty = match ctx.cache.previous_inputs(&prep.identity) {
        None => DirtyReason::NoEntry,
        Some(prev) => {
            let changes = prep.inputs.diff(&prev);
            if changes.is_empty() {
                DirtyReason::EntryMissing
            } else {
                DirtyReason::InputsChanged { changes }
            }
        }
    };
    match run_step(ctx, &prep, opts.keep_work_dirs, results) {
        Ok((entry, command)) => {
            let stored = ctx
                .cache
                .store_entry(&key, &entry)
                .and_then(|_| ctx.cache.record_inputs(&prep.identity, &prep.inputs));
            if let Err(e) = stored {
                return fail(format!("# {pkg}\n{e}"), Some(dirty), command);
            }
            if !entry.output.is_empty() {
                em.diag(Level::Output, Some(pkg), entry.output.clone());
            }
            finish(Outcome::Ran, Some(dirty), command);
            Ok((
                ActionOutput {
                    outputs: entry.outputs,
                    export: entry.export,
                    code: entry.code,
                },
                false,
            ))
        }
        Err(StepError { message, command }) => {
            fail(format!("# {pkg}\n{message}"), Some(dirty), command)
        }
    }
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

/// Runs a step in a fresh work directory and stores its outputs.
fn run_step(
    ctx: &BuildContext<'_>,
    prep: &Prepared,
    keep: bool,
    results: &[OnceLock<ActionOutput>],
) -> std::result::Result<(Entry, Option<String>), StepError> {
    let mut work = ctx.cache.temp_dir()?;
    if keep {
        work.disable_cleanup(true);
    }
    let wd = work.path();
    for (name, f) in &prep.work_files {
        let dest = wd.join(name);
        match f {
            WorkFile::Content(data) => std::fs::write(&dest, data).at(&dest)?,
            WorkFile::Object(d) => {
                let src = ctx.cache.object_path(d);
                if std::fs::hard_link(&src, &dest).is_err() {
                    std::fs::copy(&src, &dest).at(&dest)?;
                }
            }
        }
    }
    let mut output = String::new();
    let mut command = None;
    match &prep.step {
        Step::Tool(cmd) => {
            let cmd = cmd.in_work_dir(wd);
            let line = cmd.shell_line();
            command = Some(line.clone());
            let mut expr = duct::cmd(&cmd.program, &cmd.args).dir(&cmd.cwd);
            for (k, v) in &cmd.env {
                expr = expr.env(k, v);
            }
            let out = expr
                .stderr_to_stdout()
                .stdout_capture()
                .unchecked()
                .run()
                .map_err(|e| StepError {
                    message: format!("could not run {}: {e}", cmd.program.display()),
                    command: Some(line.clone()),
                })?;
            output = String::from_utf8_lossy(&out.stdout).into_owned();
            if !out.status.success() {
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
        Step::Pack { archive, objects } => {
            let mut data =
                std::fs::read(ctx.cache.object_path(archive)).at(ctx.cache.object_path(archive))?;
            for (name, d) in objects {
                let obj = std::fs::read(ctx.cache.object_path(d)).at(ctx.cache.object_path(d))?;
                stages::pack_append(&mut data, name, &obj);
            }
            let dest = wd.join("_pkg_.a");
            std::fs::write(&dest, data).at(&dest)?;
        }
        Step::Nosplit {
            main,
            libs,
            options,
        } => {
            let libs: Vec<(String, std::path::PathBuf)> = libs
                .iter()
                .map(|(p, d)| (p.clone(), ctx.cache.object_path(d)))
                .collect();
            // Per-archive summaries: a rebuild re-reads only the archives that changed.
            let summaries = ctx.cache.root().join("nosplit");
            let set = goobj::load_link_set_cached(&ctx.cache.object_path(main), &libs, &summaries)
                .map_err(|e| StepError {
                    message: format!("nosplit check: {e}"),
                    command: None,
                })?;
            let report = goobj::stack_check(&set, options);
            if !report.ok() {
                let mut message = report.format_violations().trim_end().to_string();
                if options.headroom > 0 {
                    message.push_str(&format!(
                        "\n(nosplit.headroom = {}: chains must stay {} bytes under the linker's {}-byte limit)",
                        options.headroom, options.headroom, report.limit
                    ));
                }
                return Err(StepError {
                    message,
                    command: None,
                });
            }
            let dest = wd.join("report.json");
            let json = serde_json::to_vec(&report).map_err(|e| StepError {
                message: format!("nosplit report: {e}"),
                command: None,
            })?;
            std::fs::write(&dest, json).at(&dest)?;
        }
        Step::AbiReport { main } => {
            let built = crate::abi::Built {
                graph: ctx.graph,
                actions: ctx.actions,
                results,
                cache: ctx.cache,
                goos: ctx.tc.goos(),
                goarch: ctx.tc.goarch(),
            };
            // A report that cannot be made is not the program's fault: the
            // post-link check then says so and is skipped.
            let expect = match crate::abi::elf_expectations(&built, *main) {
                Ok(e) => e,
                Err(e) => crate::abi::ElfExpectations {
                    error: Some(e.to_string()),
                    ..Default::default()
                },
            };
            let dest = wd.join("abi-expect.json");
            let json = serde_json::to_vec(&expect).map_err(|e| StepError {
                message: format!("abi report: {e}"),
                command: None,
            })?;
            std::fs::write(&dest, json).at(&dest)?;
        }
        Step::NativeSymabis { options, files } => {
            let out = native_symabis(options, wd, files).map_err(|message| StepError {
                message,
                command: None,
            })?;
            let dest = wd.join("symabis");
            std::fs::write(&dest, out).at(&dest)?;
        }
    }
    let mut entry = Entry {
        outputs: Default::default(),
        export: None,
        output,
        code: None,
    };
    for name in &prep.outputs {
        let path = wd.join(name);
        if name == "_pkg_.a" {
            // One read for both digests of an archive: what importers
            // compile against (compile only: a packed archive extends one
            // whose export data importers already read) and what the link
            // set stages key on.
            let data = std::fs::read(&path).at(&path)?;
            if matches!(prep.step, Step::Tool(_)) {
                entry.export = Some(stages::export_digest(&data).ok_or_else(|| StepError {
                    message: format!(
                        "{}: compile wrote an archive without export data",
                        path.display()
                    ),
                    command: command.clone(),
                })?);
            }
            entry.code = stages::archive_code_digest(&data);
        }
        let d = ctx.cache.store_file(&path).map_err(|e| StepError {
            message: format!("{e} (hint: did the tool write {name}?)"),
            command: command.clone(),
        })?;
        entry.outputs.insert(name.clone(), d);
    }
    Ok((entry, command))
}

/// The in-process symabis scan (the work directory holds the empty go_asm.h
/// and comes first in the include path, as `-I $WORK/` does for asm).
fn native_symabis(
    options: &goasm::Options,
    work: &Path,
    files: &[std::path::PathBuf],
) -> std::result::Result<Vec<u8>, String> {
    let mut opts = options.clone();
    opts.include_dirs.insert(0, work.to_path_buf());
    goasm::gensymabis(&opts, files)
        .map(String::into_bytes)
        .map_err(|e| e.to_string())
}
