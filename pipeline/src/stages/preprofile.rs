//! The preprofile stage (Go 1.23+): `preprofile -i default.pgo` turns a
//! main package's profile into the form the compiler reads, once per
//! profile file.

use std::path::Path;

use crate::cache::KeyInputs;
use crate::error::Result;
use crate::plan::Action;
use crate::stages::outputs::Output;
use crate::stages::step::{Prepared, Step, WORK};
use crate::stages::BuildFacts;
use crate::toolchain::Tool;

/// Prepares the preprocessing of `profile`.
pub fn prepare(f: &BuildFacts<'_>, action: &Action, profile: &Path) -> Result<Prepared> {
    let mut k = KeyInputs::default();
    k.add(
        "tool",
        f.tool_digests
            .get(&Tool::Preprofile)
            .map(|d| d.to_hex())
            .unwrap_or_default(),
    );
    k.add("profile", f.hasher.digest(profile)?.to_hex());
    let args = vec![
        "-o".to_string(),
        format!("{WORK}/pgo.preprofile"),
        "-i".into(),
        profile.display().to_string(),
    ];
    Ok(Prepared {
        identity: format!("preprofile {}", profile.display()),
        inputs: k,
        step: Step::Tool(f.tool_command(Tool::Preprofile, args, &f.pkg(action).dir)),
        work_files: vec![],
        outputs: vec![Output::Preprofile],
        derive: None,
        cacheable: true,
    })
}
