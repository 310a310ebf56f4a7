//! What the executor runs: a prepared action ([`Prepared`]) is its key
//! inputs and a [`Step`], either a tool command as data ([`ToolCommand`]) or
//! an in-process step behind [`InProcessStep`]. The executor knows these
//! types and nothing of the stages that make them.
//!
//! A command is data before it is a process: `-v`, cache keys, the drift
//! test against `go build -n` and a remote action all read the same value.
//! Commands name the action's private work directory as [`WORK`] and input
//! objects by the path the object store gives; keys see neither path.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::cache::{ContentDigest, ExportDigest, KeyInputs, ObjectStore};
use crate::error::Result;
use crate::plan::ActionId;
use crate::stages::outputs::{ActionOutput, Output};

/// The placeholder for an action's private work directory in commands.
pub const WORK: &str = "$WORK";

/// A tool invocation as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCommand {
    /// The tool.
    pub program: PathBuf,
    /// Its arguments (may contain [`WORK`]).
    pub args: Vec<String>,
    /// Environment set on top of the inherited one.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
}

impl ToolCommand {
    /// The command with `$WORK` replaced by `work` (in its arguments, and
    /// its directory: a C compile of a generated file runs in the work
    /// directory, as cmd/go's runs in its objdir).
    pub fn in_work_dir(&self, work: &Path) -> ToolCommand {
        let w = work.display().to_string();
        let cwd = match self.cwd.to_str() {
            Some(c) if c.contains(WORK) => PathBuf::from(c.replace(WORK, &w)),
            _ => self.cwd.clone(),
        };
        ToolCommand {
            program: self.program.clone(),
            args: self.args.iter().map(|a| a.replace(WORK, &w)).collect(),
            env: self.env.clone(),
            cwd,
        }
    }

    /// A copy-pasteable shell line: `cd DIR && VAR=... tool args`.
    pub fn shell_line(&self) -> String {
        let mut s = format!("cd {} && ", shell_quote(&self.cwd.display().to_string()));
        for (k, v) in &self.env {
            s.push_str(&format!("{k}={} ", shell_quote(v)));
        }
        s.push_str(&shell_quote(&self.program.display().to_string()));
        for a in &self.args {
            s.push(' ');
            s.push_str(&shell_quote(a));
        }
        s
    }
}

/// Quotes a word for a POSIX shell only when it needs it (`-lang=go1.22`
/// stays bare; `$WORK=>` is single-quoted).
pub fn shell_quote(w: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c);
    if !w.is_empty() && w.chars().all(safe) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// How a work-directory file gets its content before the step runs.
#[derive(Debug, Clone)]
pub enum WorkFile {
    /// Literal content.
    Content(Vec<u8>),
    /// An object of the store, linked or copied in.
    Object(ContentDigest),
}

/// What an in-process step sees: its work directory and the object store.
pub struct StepContext<'a> {
    /// The action's private work directory (outputs go here).
    pub work_dir: &'a Path,
    /// Where its input objects are.
    pub objects: &'a dyn ObjectStore,
}

impl StepContext<'_> {
    /// Local paths of named input objects (`(name, object)` → `(name, path)`).
    pub fn paths(
        &self,
        objects: &[(String, ContentDigest)],
    ) -> std::result::Result<Vec<(String, PathBuf)>, String> {
        objects
            .iter()
            .map(|(n, d)| {
                Ok((
                    n.clone(),
                    self.objects.local_path(d).map_err(|e| e.to_string())?,
                ))
            })
            .collect()
    }
}

/// A step done in this process (pack, the nosplit check, the abi-report,
/// native symabis). It writes its outputs into the work directory; `Err`
/// is the message shown for the failed action.
pub trait InProcessStep: Send + Sync + std::fmt::Debug {
    /// Runs the step.
    fn run(&self, cx: &StepContext<'_>) -> std::result::Result<(), String>;

    /// May what the step wrote in `work_dir` be reused by a later build?
    /// (A test run that failed is reported, but not cached, like go test's.)
    fn cacheable(&self, _work_dir: &Path) -> bool {
        true
    }

    /// The key inputs to store the result under, when they are only known
    /// after the run (a test run keys on what the binary read, from its
    /// test log); `None`: the prepared inputs.
    fn final_inputs(&self, _work_dir: &Path) -> Option<KeyInputs> {
        None
    }
}

/// What an action does once its key missed.
#[derive(Debug)]
pub enum Step {
    /// Run a Go tool.
    Tool(ToolCommand),
    /// Run a step in-process.
    InProcess(Box<dyn InProcessStep>),
}

/// Digests a stage derives from one output's bytes once the step ran (an
/// archive's export data and code digests).
#[derive(Debug, Clone, Default)]
pub struct Derived {
    /// The export data digest (what importers compile against).
    pub export: Option<ExportDigest>,
    /// The archive modulo its build ID (what the link unit keys on).
    pub code: Option<ContentDigest>,
}

/// Derives [`Derived`] from an output's bytes; `Err` fails the action.
pub type Deriver = fn(&[u8]) -> std::result::Result<Derived, String>;

/// A prepared action: its key inputs and what to do on a miss.
#[derive(Debug)]
pub struct Prepared {
    /// Stable name of the action across builds (for `-v`'s "why").
    pub identity: String,
    /// Named key inputs.
    pub inputs: KeyInputs,
    /// What to run.
    pub step: Step,
    /// Files to lay out in the work directory first.
    pub work_files: Vec<(String, WorkFile)>,
    /// The outputs the step writes in the work directory.
    pub outputs: Vec<Output>,
    /// What to derive from one output once the step ran.
    pub derive: Option<(Output, Deriver)>,
    /// Looked up and stored in the cache (false: always runs, like
    /// `go test -count=1`).
    pub cacheable: bool,
}

/// How an action is named in events.
#[derive(Debug, Clone)]
pub struct ActionLabel {
    /// The kind (`compile`, `asm`, …).
    pub action: &'static str,
    /// The package's import path.
    pub package: String,
    /// The file, for per-file actions.
    pub file: Option<String>,
    /// Is the package in GOROOT?
    pub goroot: bool,
}

/// Prepares planned actions once their declared inputs are done: the seam
/// between the executor (which knows only [`Prepared`]) and the stages.
pub trait PrepareAction: Sync {
    /// The action's name in events.
    fn label(&self, id: ActionId) -> ActionLabel;
    /// Prepares `id`; `done` holds the outputs of the actions that completed.
    fn prepare(&self, id: ActionId, done: &[OnceLock<ActionOutput>]) -> Result<Prepared>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shell_line_quotes() {
        let c = ToolCommand {
            program: "/go/pkg/tool/compile".into(),
            args: vec!["-trimpath".into(), "$WORK=>".into()],
            env: vec![("GOOS".into(), "linux".into())],
            cwd: "/src dir".into(),
        };
        assert_eq!(
            c.shell_line(),
            "cd '/src dir' && GOOS=linux /go/pkg/tool/compile -trimpath '$WORK=>'"
        );
    }
}
