//! `cargo gobuild clean`: remove `<target-dir>/gobuild` (outputs and cache)
//! under the build lock, so a running build is not cut from under it. An
//! I/O error while removing is unexpected (exit 1), not a config error.

use crate::args::CommonArgs;
use crate::exit::Failure;
use crate::report::{style, HumanReporter};
use crate::workspace;

/// Runs the command.
pub(crate) fn run(c: &CommonArgs) -> Result<(), Failure> {
    let cwd = workspace::current_dir().map_err(Failure::loading)?;
    let ws = workspace::locate(&cwd, c.manifest_path.as_deref(), c.target_dir.as_deref())
        .map_err(Failure::loading)?;
    let dir = ws.target_dir.join("gobuild");
    if !dir.exists() {
        return Ok(());
    }
    let r = HumanReporter::new(c.verbosity(), c.color);
    // Take the build lock so a running build is not cut from under it.
    let lock = pipeline::cache::DirLock::acquire(&dir, || {
        r.status(
            style::PLAIN,
            "Blocking",
            "waiting for a running build to finish",
        )
    })?;
    let mut removed = 0u64;
    for e in std::fs::read_dir(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))? {
        let e = e.map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        if e.file_name() == ".lock" {
            continue;
        }
        let p = e.path();
        let res = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        res.map_err(|e| anyhow::anyhow!("removing {}: {e}", p.display()))?;
        removed += 1;
    }
    drop(lock);
    r.status(
        style::GREEN,
        "Removed",
        &format!("{} ({removed} entries)", dir.display()),
    );
    Ok(())
}
