//! The [`ToolRunner`] seam (cargo's `Executor`): how a tool command becomes
//! a process. [`ProcessRunner`] runs it for real; tests run the scheduler
//! with a fake runner.

use std::ffi::OsString;
use std::path::Path;

use crate::stages::step::ToolCommand;
use crate::util::{die_with_parent, resolve_lossy};

/// What a finished tool printed and how it exited.
#[derive(Debug, Clone)]
pub struct ToolOutput {
    /// Did it exit 0?
    pub success: bool,
    /// Its exit status, as words (`exit status: 2`).
    pub status: String,
    /// stdout and stderr, interleaved.
    pub output: String,
}

/// Runs tool commands (already in their work directory: no `$WORK` left).
pub trait ToolRunner: Sync {
    /// Runs `cmd` to completion; `Err` when it could not be started.
    fn run(&self, cmd: &ToolCommand) -> std::io::Result<ToolOutput>;
}

/// Runs commands as child processes.
#[derive(Debug, Default, Clone, Copy)]
pub struct ProcessRunner;

impl ToolRunner for ProcessRunner {
    fn run(&self, cmd: &ToolCommand) -> std::io::Result<ToolOutput> {
        // Arguments are `String`s: a file whose name is not UTF-8 is named
        // in its lossy form (as `go list -json` reports it); the tool gets
        // the name on disk.
        let cwd = resolve_lossy(Path::new("/"), &cmd.cwd).unwrap_or_else(|| cmd.cwd.clone());
        let args: Vec<OsString> = cmd
            .args
            .iter()
            .map(|a| match resolve_lossy(&cwd, Path::new(a)) {
                Some(real) => real.into_os_string(),
                None => OsString::from(a),
            })
            .collect();
        let mut expr = duct::cmd(&cmd.program, &args).dir(&cwd).before_spawn(|c| {
            // Spawned and waited for by this worker thread: the tool
            // dies with us (an interrupted build leaves none running).
            die_with_parent(c);
            Ok(())
        });
        for (k, v) in &cmd.env {
            expr = expr.env(k, v);
        }
        let out = expr.stderr_to_stdout().stdout_capture().unchecked().run()?;
        Ok(ToolOutput {
            success: out.status.success(),
            status: out.status.to_string(),
            output: String::from_utf8_lossy(&out.stdout).into_owned(),
        })
    }
}
