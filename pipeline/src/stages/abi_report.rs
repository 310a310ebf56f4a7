//! The abi-report stage: beside the link, work out what the linked
//! program's symbol table must show (ABI0/ABIInternal pairs named `.abi0`,
//! the wrappers the linker keeps), from the link unit's archives through the
//! object summaries the nosplit stage keeps ([`crate::abi::elf_expectations`]).
//! After the link only the symbol table is read.

use std::path::PathBuf;

use crate::abi::{self, ElfExpectations, LinkArchives};
use crate::cache::ContentDigest;
use crate::error::Result;
use crate::plan::{Input, LinkUnit};
use crate::stages::key::UnitArchives;
use crate::stages::outputs::{DeclaredInputs, Output};
use crate::stages::step::{InProcessStep, Prepared, Step, StepContext};
use crate::stages::BuildFacts;

/// Prepares the report of `unit`.
pub fn prepare(
    f: &BuildFacts<'_>,
    unit: &LinkUnit,
    inputs: &DeclaredInputs<'_>,
    identity: String,
) -> Result<Prepared> {
    let archives = UnitArchives::read(f, unit, inputs)?;
    let mut k = f.in_process_key(format!("abi-report {}", env!("CARGO_PKG_VERSION")));
    k.add("target", format!("{}/{}", f.tc.goos(), f.tc.goarch()));
    archives.add_to(&mut k);
    for &p in &unit.packages {
        if let Some(out) = inputs.find(&Input::LinkSymabis(p)) {
            let d = out?.get(&Output::Symabis)?;
            k.add(
                format!("symabis {}", f.graph.packages[p].import_path),
                d.to_hex(),
            );
        }
    }
    Ok(Prepared {
        identity,
        inputs: k,
        step: Step::InProcess(Box::new(AbiReport {
            main: f.graph.packages[unit.main].import_path.clone(),
            archives: archives.archives,
            summaries: f.summaries.clone(),
        })),
        work_files: vec![],
        outputs: vec![Output::AbiExpect],
        derive: None,
        cacheable: true,
    })
}

/// The report, in-process.
#[derive(Debug)]
struct AbiReport {
    /// The main package's import path.
    main: String,
    /// `(path, archive)` of the link unit, main first.
    archives: Vec<(String, ContentDigest)>,
    /// Where the object summaries are kept.
    summaries: PathBuf,
}

impl InProcessStep for AbiReport {
    fn run(&self, cx: &StepContext<'_>) -> std::result::Result<(), String> {
        let archives = cx.paths(&self.archives)?;
        let unit = LinkArchives {
            main: self.main.clone(),
            archives,
        };
        // A report that cannot be made is not the program's fault: the
        // post-link check then says so and is skipped.
        let expect =
            abi::elf_expectations(&unit, &self.summaries).unwrap_or_else(|e| ElfExpectations {
                error: Some(e.to_string()),
                ..Default::default()
            });
        let json = serde_json::to_vec(&expect).map_err(|e| format!("abi report: {e}"))?;
        let dest = cx.work_dir.join(Output::AbiExpect.file_name());
        std::fs::write(&dest, json).map_err(|e| format!("{}: {e}", dest.display()))
    }
}
