//! The pack stage: append the assembled objects to the compiled archive,
//! in-process, exactly as cmd/go's `packInternal` does (`pack r`).

use crate::cache::ContentDigest;
use crate::error::Result;
use crate::plan::{Action, Input};
use crate::stages::archive::{derive_packed, pack_append};
use crate::stages::outputs::{DeclaredInputs, Output};
use crate::stages::step::{InProcessStep, Prepared, Step, StepContext};
use crate::stages::BuildFacts;

/// Prepares the pack of a package with assembly: its compiled archive and
/// one object per `.s` file, in the package's file order.
pub fn prepare(
    f: &BuildFacts<'_>,
    action: &Action,
    inputs: &DeclaredInputs<'_>,
    identity: String,
) -> Result<Prepared> {
    let p = f.pkg(action);
    let archive = inputs.get(&Input::Compiled)?.get(&Output::Archive)?;
    let mut k = f.in_process_key("pack r (cmd/go packInternal)");
    k.add("archive", archive.to_hex());
    let mut objects = Vec::new();
    for file in &p.go_asm_files() {
        let object = Output::object_of(file);
        let d = inputs.get(&Input::AsmObject(file.clone()))?.get(&object)?;
        k.add(format!("object {}", object.file_name()), d.to_hex());
        objects.push((object.file_name().to_string(), Member::Object(d)));
    }
    // A cgo package: `preferlinkext` when its C flags want the external
    // linker, its C objects, then `dynimportfail` when the probe's link
    // failed (cmd/go's `cgoObjects`, in order).
    if p.uses_cgo() && f.cgo_flags(p)?.prefer_link_ext {
        k.add("preferlinkext", "");
        objects.push(("preferlinkext".into(), Member::Empty));
    }
    for dep in inputs.all() {
        let (input, out) = dep?;
        match input {
            Input::CObject(name) => {
                let d = out.get(&Output::Object(name.clone()))?;
                k.add(format!("object {name}"), d.to_hex());
                objects.push((name.clone(), Member::Object(d)));
            }
            Input::Dynimport => {
                let d = out.get(&Output::Generated("_cgo_import.go".into()))?;
                if d.size() == 0 {
                    k.add("dynimportfail", "");
                    objects.push(("dynimportfail".into(), Member::Empty));
                }
            }
            _ => {}
        }
    }
    Ok(Prepared {
        identity,
        inputs: k,
        step: Step::InProcess(Box::new(Pack { archive, objects })),
        work_files: vec![],
        outputs: vec![Output::Archive],
        derive: Some((Output::Archive, derive_packed)),
        cacheable: true,
    })
}

/// Appends objects to an archive.
#[derive(Debug)]
struct Pack {
    /// The compiled archive.
    archive: ContentDigest,
    /// `(member name, content)` in order.
    objects: Vec<(String, Member)>,
}

/// What an archive member holds.
#[derive(Debug)]
enum Member {
    /// An object of the store.
    Object(ContentDigest),
    /// An empty token file the linker looks for by name (`dynimportfail`,
    /// `preferlinkext`).
    Empty,
}

impl InProcessStep for Pack {
    fn run(&self, cx: &StepContext<'_>) -> std::result::Result<(), String> {
        let mut data = cx.objects.read(&self.archive).map_err(|e| e.to_string())?;
        for (name, member) in &self.objects {
            let obj = match member {
                Member::Object(d) => cx.objects.read(d).map_err(|e| e.to_string())?,
                Member::Empty => Vec::new(),
            };
            pack_append(&mut data, name, &obj);
        }
        let dest = cx.work_dir.join(Output::Archive.file_name());
        std::fs::write(&dest, data).map_err(|e| format!("{}: {e}", dest.display()))
    }
}
