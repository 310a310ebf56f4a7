//! The asm stage: one `asm` per `.s` file, against the real `go_asm.h` the
//! package's compile wrote (`asm` in gc.go).

use crate::error::Result;
use crate::plan::{Action, Input};
use crate::stages::outputs::{DeclaredInputs, Output};
use crate::stages::step::{Prepared, Step, WorkFile, WORK};
use crate::stages::BuildFacts;
use crate::toolchain::Tool;

/// Prepares the assembly of `file`.
pub fn prepare(
    f: &BuildFacts<'_>,
    action: &Action,
    inputs: &DeclaredInputs<'_>,
    file: &str,
    identity: String,
) -> Result<Prepared> {
    let p = f.pkg(action);
    let hdr = inputs.get(&Input::Compiled)?.get(&Output::AsmHdr)?;
    let object = Output::object_of(file);
    let mut args = f.asm_args(action.pkg);
    args.extend([
        "-o".into(),
        format!("{WORK}/{}", object.file_name()),
        p.file(file).display().to_string(),
    ]);
    let mut k = f.common_key(Some(Tool::Asm), p);
    f.add_args(&mut k, p, &args, &[]);
    f.add_files(&mut k, p, [&file.to_string()])?;
    f.add_asm_includes(&mut k, p)?;
    k.add("asmhdr", hdr.to_hex());
    Ok(Prepared {
        identity,
        inputs: k,
        step: Step::Tool(f.tool_command(Tool::Asm, args, &p.dir)),
        work_files: vec![("go_asm.h".into(), WorkFile::Object(hdr))],
        outputs: vec![object],
        derive: None,
        cacheable: true,
    })
}
