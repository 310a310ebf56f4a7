//! The cgo stage: the cgo tool over a package's cgo files, in the package
//! directory, writing the generated Go and C into its work directory, as
//! cmd/go's `runCgo` runs it:
//! `cgo -objdir $WORK/ -importpath P [-import_runtime_cgo=false]
//! [-import_syscall=false] "-ldflags=…" -- CPPFLAGS -I $WORK/ CFLAGS files…`
//! with `TERM=dumb` and `CGO_LDFLAGS=` (the flags go as `-ldflags`).
//!
//! Keyed on the cgo tool, the C compiler's identity (cgo runs it over the
//! preambles), the flags, the cgo files and the package's headers; the
//! package directory always (the generated files name it in `//line`s).

use crate::error::Result;
use crate::load::GoPackage;
use crate::modinfo::go_quote;
use crate::plan::Action;
use crate::stages::outputs::Output;
use crate::stages::step::{Prepared, Step, WORK};
use crate::stages::BuildFacts;
use crate::toolchain::Tool;

/// The export header cgo writes under c-archive and c-shared
/// (`-exportheader`); installed as `libNAME.h` beside the library.
pub const EXPORT_HEADER: &str = "_cgo_install.h";

/// The files the cgo tool writes for `p`, in its work directory.
pub fn generated_files(p: &GoPackage) -> Vec<String> {
    let mut v = vec!["_cgo_gotypes.go".to_string()];
    for f in &p.cgo_files {
        let stem = stem(f);
        v.push(format!("{stem}.cgo1.go"));
        v.push(format!("{stem}.cgo2.c"));
    }
    v.extend(
        ["_cgo_export.c", "_cgo_export.h", "_cgo_main.c"]
            .iter()
            .map(|s| s.to_string()),
    );
    v
}

/// Does one of `p`'s cgo files have an `//export` comment? cgo writes the
/// `-exportheader` file only then (`len(p.ExpFunc) > 0` in cmd/cgo/out.go).
pub fn has_exports(p: &GoPackage) -> Result<bool> {
    for c in &p.cgo_files {
        let path = p.file(c);
        let text = std::fs::read_to_string(&path).map_err(|e| crate::Error::io(&path, e))?;
        if text.lines().any(|l| l.starts_with("//export ")) {
            return Ok(true);
        }
    }
    Ok(false)
}

/// `dir/x.go` → `x`.
pub fn stem(file: &str) -> &str {
    let base = file.rsplit('/').next().unwrap_or(file);
    base.strip_suffix(".go").unwrap_or(base)
}

/// Prepares the cgo run of a package.
pub fn prepare(f: &BuildFacts<'_>, action: &Action, identity: String) -> Result<Prepared> {
    let p = f.pkg(action);
    let flags = f.cgo_flags(p)?;
    let mut k = f.common_key(Some(Tool::Cgo), p);
    k.add("dir", p.dir.clone());
    f.add_cc_key(&mut k);
    let mut args = vec![
        "-objdir".to_string(),
        format!("{WORK}/"),
        "-importpath".into(),
        p.base_path().to_string(),
    ];
    let base = p.base_path();
    if p.standard && base == "runtime/cgo" {
        args.push("-import_runtime_cgo=false".into());
    }
    if p.standard
        && [
            "runtime/race",
            "runtime/msan",
            "runtime/cgo",
            "runtime/asan",
        ]
        .contains(&base)
    {
        args.push("-import_syscall=false".into());
    }
    // c-archive, c-shared: the header of the `//export`ed functions.
    let export_header = f.profile.buildmode.is_c_library();
    if export_header {
        args.push(format!("-exportheader={WORK}/{EXPORT_HEADER}"));
    }
    let mut cmd_env = vec![("TERM".to_string(), "dumb".to_string())];
    if !flags.ldflags.is_empty() {
        let quoted: Vec<String> = flags
            .ldflags
            .iter()
            .map(|l| go_quote(l.as_bytes()))
            .collect();
        args.push(format!("-ldflags={}", quoted.join(" ")));
        cmd_env.push(("CGO_LDFLAGS".into(), String::new()));
    }
    args.push("--".into());
    args.extend(flags.c_compile());
    args.extend(p.cgo_files.iter().map(|c| p.file(c).display().to_string()));
    f.add_files(&mut k, p, &p.cgo_files)?;
    f.add_files(&mut k, p, &p.h_files)?;
    f.add_args(&mut k, p, &args, &[]);
    let mut cmd = f.tool_command(Tool::Cgo, args, &p.dir);
    cmd.env.extend(cmd_env);
    let mut outputs: Vec<Output> = generated_files(p)
        .into_iter()
        .map(Output::Generated)
        .collect();
    // cgo writes the header only when there is something to export.
    if export_header && has_exports(p)? {
        outputs.push(Output::Generated(EXPORT_HEADER.into()));
    }
    Ok(Prepared {
        identity,
        inputs: k,
        step: Step::Tool(cmd),
        work_files: vec![],
        outputs,
        derive: None,
        cacheable: true,
    })
}
