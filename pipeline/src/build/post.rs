//! The build's last step, after the executor: the ABI lints (also when the
//! link failed, so they explain it), reported as diagnostics, then the ELF
//! checks of every program written against the abi-report's expectations.

use std::path::Path;

use crate::abi::{self, ElfExpectations, Finding, LintLevels};
use crate::build::outcome::Built;
use crate::build::{Artifact, BuildRequest};
use crate::cache::LocalCache;
use crate::error::{Error, Result};
use crate::events::{Emitter, Level};
use crate::stages::outputs::Output;

/// Runs the lints over the workspace's own packages and reports each
/// finding as a diagnostic; returns them.
pub fn report_lints(
    b: &Built<'_>,
    levels: &LintLevels,
    base: &Path,
    em: &Emitter<'_>,
) -> Vec<Finding> {
    let found = abi::lint_build(b, levels);
    for f in &found {
        let level = if f.level == abi::LintLevel::Deny {
            Level::Error
        } else {
            Level::Warning
        };
        let text = f.render(base);
        let text = if level == Level::Error {
            format!("error: {text}")
        } else {
            text
        };
        em.diag(level, Some(&f.package), text);
    }
    found
}

/// The last step of a build: the ABI lints (also when the link failed, so
/// they explain it), then the ELF checks of every program written. Fails
/// (exit 101) on a denied lint or a failed check. A program whose checks
/// passed is remembered by content, so a no-op build does not redo them.
pub fn after_build(
    req: &BuildRequest,
    em: &Emitter<'_>,
    b: &Built<'_>,
    cache: &LocalCache,
    artifacts: &[Artifact],
) -> Result<()> {
    let findings = report_lints(b, &req.profile.lints, &req.dir, em);
    let denied = findings
        .iter()
        .filter(|f| f.level == abi::LintLevel::Deny)
        .count();
    let mut problems = Vec::new();
    for a in artifacts {
        let memo = cache.aux_dir("abi-checked").join(a.digest.to_hex());
        if memo.exists() {
            continue;
        }
        let Some(main) = b.graph.get(&a.package) else {
            continue;
        };
        // The expectations were computed beside the link (the abi-report
        // action); only the symbol table is read here.
        let expected = match b
            .plan
            .abi_reports
            .get(&main)
            .and_then(|id| b.output_path(*id, &Output::AbiExpect))
        {
            Some(path) => ElfExpectations::read(&path),
            None => abi::link_archives(b, main)
                .and_then(|unit| abi::elf_expectations(&unit, &cache.aux_dir("nosplit"))),
        };
        let check = expected.and_then(|e| abi::check_elf(&a.path, &e));
        match check {
            Ok(c) if c.skipped.is_some() => em.diag(
                Level::Note,
                Some(&a.package),
                format!(
                    "ABI checks skipped for {}: {}",
                    a.path.display(),
                    c.skipped.as_deref().unwrap_or("")
                ),
            ),
            Ok(c) if c.ok() => {
                let _ = crate::cache::atomic_write(&memo, b"ok\n");
            }
            Ok(c) => {
                for p in &c.problems {
                    em.diag(
                        Level::Error,
                        Some(&a.package),
                        format!("error: {}: {p}", a.path.display()),
                    );
                }
                problems.push(format!(
                    "{} ({} problem(s))",
                    a.path.display(),
                    c.problems.len()
                ));
            }
            // The report itself failing is not the program's fault.
            Err(e) => em.diag(
                Level::Warning,
                Some(&a.package),
                format!("ABI checks of {} not run: {e}", a.path.display()),
            ),
        }
    }
    if !problems.is_empty() {
        return Err(Error::Check {
            message: format!(
                "ABI check of the linked program failed: {}",
                problems.join(", ")
            ),
        });
    }
    if denied > 0 {
        return Err(Error::Check {
            message: format!(
                "{denied} ABI lint finding(s) denied by profile `{}` (hint: lints.abi = \"warn\" reports them without failing)",
                req.profile.name
            ),
        });
    }
    Ok(())
}
