//! The dynimport stage: cmd/go's `dynimport` probe of a cgo package. It
//! links `_cgo_main.o` and the package's C objects into `_cgo_.o`
//! (`$CC -I DIR GOGCCFLAGS -o _cgo_.o _cgo_main.o _x001.o … LDFLAGS`; `$CXX`
//! for a package with C++ files) and
//! runs `cgo -dynpackage NAME -dynimport _cgo_.o -dynout _cgo_import.go`
//! (runtime/cgo: `-dynlinker`), whose `//go:cgo_import_dynamic` lines the
//! compile reads. When that link fails (cmd/go: "test for internal linking
//! errors"), the package is marked `dynimportfail`: `_cgo_import.go` is
//! left empty, the compile leaves it out and pack appends the marker, so
//! the linker links externally.
//!
//! A step of this process that runs the two commands (the second only
//! after the first); keyed on both commands, the C compiler's identity, the
//! cgo tool and every object.

use std::path::PathBuf;
use std::process::Command;

use crate::cache::{ContentDigest, KeyInputs};
use crate::error::Result;
use crate::plan::{Action, Input};
use crate::stages::outputs::{DeclaredInputs, Output};
use crate::stages::step::{InProcessStep, Prepared, Step, StepContext, WorkFile, WORK};
use crate::stages::BuildFacts;
use crate::toolchain::Tool;

/// The output: `_cgo_import.go` (empty after `dynimportfail`).
pub const IMPORT_GO: &str = "_cgo_import.go";

/// Prepares a package's dynimport probe.
pub fn prepare(
    f: &BuildFacts<'_>,
    action: &Action,
    inputs: &DeclaredInputs<'_>,
    identity: String,
) -> Result<Prepared> {
    let p = f.pkg(action);
    let flags = f.cgo_flags(p)?;
    let mut k: KeyInputs = f.in_process_key("dynimport (cmd/go dynimport)");
    k.add("cgo", f.tool_digests[&Tool::Cgo].to_hex());
    for (name, v) in f.tc.tool_env() {
        if name != "GOROOT" {
            k.add(format!("env {name}"), v);
        }
    }
    f.add_cc_key(&mut k);
    let mut objects: Vec<(String, ContentDigest)> = Vec::new();
    for dep in inputs.all() {
        let (input, out) = dep?;
        if let Input::CObject(name) = input {
            let d = out.get(&Output::Object(name.clone()))?;
            k.add(format!("object {name}"), d.to_hex());
            objects.push((name.clone(), d));
        }
    }
    let (cc, mut link) = f.ld_cmd(p);
    link.extend(["-o".into(), format!("{WORK}/_cgo_.o")]);
    link.extend(objects.iter().map(|(n, _)| format!("{WORK}/{n}")));
    let mut ldflags = flags.ldflags.clone();
    if (f.tc.goarch() == "arm" && f.tc.goos() == "linux") || f.tc.goos() == "android" {
        if !ldflags.iter().any(|l| l == "-no-pie") {
            ldflags.push("-pie".into());
        }
        if ldflags.iter().any(|l| l == "-pie") {
            ldflags.retain(|l| l != "-static");
        }
    }
    link.extend(ldflags);
    let mut cgo = vec![
        "-dynpackage".to_string(),
        p.name.clone(),
        "-dynimport".into(),
        format!("{WORK}/_cgo_.o"),
        "-dynout".into(),
        format!("{WORK}/{IMPORT_GO}"),
    ];
    if p.standard && p.base_path() == "runtime/cgo" {
        cgo.push("-dynlinker".into());
    }
    f.add_args(&mut k, p, &link, &[]);
    k.add("cgo args", cgo.join("\x1f"));
    let mut env = f.tc.tool_env();
    env.push(("TERM".into(), "dumb".into()));
    Ok(Prepared {
        identity,
        inputs: k,
        step: Step::InProcess(Box::new(Dynimport {
            cc: PathBuf::from(cc),
            link,
            cgo_tool: f.tc.tool(Tool::Cgo),
            cgo,
            env,
            dir: PathBuf::from(&p.dir),
        })),
        work_files: objects
            .into_iter()
            .map(|(n, d)| (n, WorkFile::Object(d)))
            .collect(),
        outputs: vec![Output::Generated(IMPORT_GO.into())],
        derive: None,
        cacheable: true,
    })
}

/// The probe's two commands.
#[derive(Debug)]
struct Dynimport {
    cc: PathBuf,
    link: Vec<String>,
    cgo_tool: PathBuf,
    cgo: Vec<String>,
    env: Vec<(String, String)>,
    dir: PathBuf,
}

impl InProcessStep for Dynimport {
    fn run(&self, cx: &StepContext<'_>) -> std::result::Result<(), String> {
        let w = cx.work_dir.display().to_string();
        let subst =
            |args: &[String]| -> Vec<String> { args.iter().map(|a| a.replace(WORK, &w)).collect() };
        let dest = cx.work_dir.join(IMPORT_GO);
        let linked = Command::new(&self.cc)
            .args(subst(&self.link))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("could not run {}: {e}", self.cc.display()))?;
        if !linked.status.success() {
            // dynimportfail: the linker will link externally.
            return std::fs::write(&dest, b"").map_err(|e| format!("{}: {e}", dest.display()));
        }
        let out = Command::new(&self.cgo_tool)
            .args(subst(&self.cgo))
            .envs(self.env.iter().map(|(k, v)| (k, v)))
            .current_dir(&self.dir)
            .output()
            .map_err(|e| format!("could not run {}: {e}", self.cgo_tool.display()))?;
        if !out.status.success() {
            return Err(format!(
                "{}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            )
            .trim_end()
            .to_string());
        }
        Ok(())
    }
}
