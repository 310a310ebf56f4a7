//! The nosplit stage: the linker's NOSPLIT stack check
//! (`cmd/link/internal/ld/stackcheck.go`, in [`goobj`]) over a link unit's
//! archives, before the link, in-process. Per-archive object summaries are
//! kept beside the cache, so a rebuild re-reads only the archives that
//! changed, and the reports are memoized there by what the check reads from
//! each archive ([`goobj::memo`]), so a rebuild whose edits the check can't
//! see reuses the report without loading the link set. Its output is the
//! report (JSON); as a gate, a violation fails the action in the linker's
//! own format.

use std::path::PathBuf;

use crate::cache::ContentDigest;
use crate::error::Result;
use crate::plan::{LinkUnit, NosplitMode};
use crate::stages::key::UnitArchives;
use crate::stages::outputs::{DeclaredInputs, Output};
use crate::stages::step::{InProcessStep, Prepared, Step, StepContext};
use crate::stages::BuildFacts;

/// Prepares the check of `unit`.
pub fn prepare(
    f: &BuildFacts<'_>,
    unit: &LinkUnit,
    inputs: &DeclaredInputs<'_>,
    mode: NosplitMode,
    identity: String,
) -> Result<Prepared> {
    let archives = UnitArchives::read(f, unit, inputs)?;
    let mut k = f.in_process_key(format!("nosplit (goobj {})", env!("CARGO_PKG_VERSION")));
    archives.add_to(&mut k);
    let options = goobj::StackCheckOptions {
        goarch: f.tc.goarch().to_string(),
        goos: f.tc.goos().to_string(),
        race: false,
        headroom: f.profile.nosplit_headroom,
        entry: String::new(),
    };
    k.add("options", format!("{options:?}"));
    let identity = match mode {
        NosplitMode::Gate => identity,
        NosplitMode::Report => {
            k.add("mode", "report");
            format!("{identity} report")
        }
    };
    Ok(Prepared {
        identity,
        inputs: k,
        step: Step::InProcess(Box::new(Nosplit {
            archives: archives.archives,
            options,
            summaries: f.summaries.clone(),
            mode,
        })),
        work_files: vec![],
        outputs: vec![Output::NosplitReport],
        derive: None,
        cacheable: true,
    })
}

/// The check, in-process.
#[derive(Debug)]
struct Nosplit {
    /// `(import path, archive)` of the link unit, main first.
    archives: Vec<(String, ContentDigest)>,
    /// GOOS, GOARCH and the headroom.
    options: goobj::StackCheckOptions,
    /// Where the object summaries and the memoized reports are kept.
    summaries: PathBuf,
    mode: NosplitMode,
}

impl InProcessStep for Nosplit {
    fn run(&self, cx: &StepContext<'_>) -> std::result::Result<(), String> {
        let paths = cx.paths(&self.archives)?;
        let (main, libs) = paths
            .split_first()
            .ok_or("nosplit check: empty link unit")?;
        let checked = goobj::stack_check_memo(&main.1, libs, &self.summaries, &self.options)
            .map_err(|e| format!("nosplit check: {e}"))?;
        if !checked.ok && self.mode == NosplitMode::Gate {
            let mut message = checked.violations.trim_end().to_string();
            if self.options.headroom > 0 {
                message.push_str(&format!(
                    "\n(nosplit.headroom = {}: chains must stay {} bytes under the linker's {}-byte limit)",
                    self.options.headroom, self.options.headroom, checked.limit
                ));
            }
            return Err(message);
        }
        let json = checked.json;
        let dest = cx.work_dir.join(Output::NosplitReport.file_name());
        std::fs::write(&dest, json).map_err(|e| format!("{}: {e}", dest.display()))
    }
}
