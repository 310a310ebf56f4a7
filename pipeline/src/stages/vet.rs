//! The vet stage: the toolchain's vet over one package as go test runs it
//! (`cmd/go/internal/work/exec.go`, `buildVetConfig` and `vet`): a
//! `vet.cfg` naming the package's files, its imports' archives
//! (`PackageFile`) and their facts (`PackageVetx`, the `vet.out` of their
//! own vet), and `vet FLAGS vet.cfg` in the package directory.
//!
//! A tested variant is vetted with go test's default checks
//! ([`DEFAULT_FLAGS`]); a dependency is a facts pass (`VetxOnly`), with the
//! default checks too, or `-unsafeptr=false -unreachable=false` in GOROOT.
//! The step runs vet as a process and keeps its result (exit code and
//! message) as an output, so a vet failure fails the package's test run,
//! not the build. Keyed like cmd/go's: the vet tool, its flags, the files,
//! the imports' export data and facts; a failed vet is never cached.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::Result;
use crate::plan::{compile_imports, Action, ActionKind, Input};
use crate::stages::outputs::{internal, DeclaredInputs, Output, VetResult};
use crate::stages::step::{InProcessStep, Prepared, Step, StepContext, WorkFile, WORK};
use crate::stages::{cflags, BuildFacts};
use crate::toolchain::Tool;

/// go test's default vet checks (`defaultVetFlags` in `test/test.go`).
pub const DEFAULT_FLAGS: &[&str] = &[
    "-atomic",
    "-bool",
    "-buildtags",
    "-directive",
    "-errorsas",
    "-ifaceassert",
    "-nilfunc",
    "-printf",
    "-slog",
    "-stringintconv",
    "-tests",
];

/// `vet.cfg` as cmd/go marshals it (`vetConfig`, field order kept).
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct VetConfig {
    #[serde(rename = "ID")]
    id: String,
    compiler: String,
    dir: String,
    import_path: String,
    go_files: Vec<String>,
    non_go_files: Vec<String>,
    ignored_files: Vec<String>,
    module_path: String,
    module_version: String,
    import_map: BTreeMap<String, String>,
    package_file: BTreeMap<String, String>,
    standard: BTreeMap<String, bool>,
    package_vetx: BTreeMap<String, String>,
    vetx_only: bool,
    vetx_output: String,
    stdout: String,
    go_version: String,
    fix_archive: String,
    succeed_on_typecheck_failure: bool,
}

/// The vet tool of the toolchain (`$GOTOOLDIR/vet`).
pub fn vet_tool(f: &BuildFacts<'_>) -> PathBuf {
    f.tc.tool(Tool::Compile).with_file_name("vet")
}

/// Prepares the vet of a package.
pub fn prepare(
    f: &BuildFacts<'_>,
    action: &Action,
    inputs: &DeclaredInputs<'_>,
    identity: String,
) -> Result<Prepared> {
    let p = f.pkg(action);
    let facts_only = matches!(action.kind, ActionKind::Vet { facts_only: true });
    let flags: Vec<String> = if p.goroot {
        vec!["-unsafeptr=false".into(), "-unreachable=false".into()]
    } else {
        DEFAULT_FLAGS.iter().map(|s| s.to_string()).collect()
    };
    let tool = vet_tool(f);
    let mut k = f.in_process_key("vet (go test's vet action)");
    k.add("vet tool", f.hasher.digest(&tool)?.to_hex());
    for (name, v) in f.tc.tool_env() {
        if name != "GOROOT" {
            k.add(format!("env {name}"), v);
        }
    }
    k.add("flags", flags.join(" "));
    k.add("vetx only", facts_only.to_string());
    k.add("dir", p.dir.clone());

    let abs = |files: &[String]| -> Vec<String> {
        files
            .iter()
            .map(|n| p.file(n).display().to_string())
            .collect()
    };
    let mut go_files = abs(&p.go_files);
    let mut work_files = Vec::new();
    if p.uses_cgo() {
        // The Go cgo generated and the probe's `_cgo_import.go` (none after
        // dynimportfail), as cmd/go lists them after the package's own.
        for (name, d) in cflags::cgo_go_files(p, inputs)? {
            k.add(format!("generated {name}"), d.to_hex());
            go_files.push(format!("{WORK}/{name}"));
            work_files.push((name, WorkFile::Object(d)));
        }
    }
    // cmd/go's srcfiles: the Go assembler's `.s` files; C only without cgo
    // (cgo's C goes to gcc and is not listed).
    let non_go: Vec<String> = if p.uses_cgo() {
        p.go_asm_files()
    } else {
        p.s_files.iter().chain(&p.c_files).cloned().collect()
    };
    let ignored = [p.ignored_go_files.clone(), p.ignored_other_files.clone()].concat();
    f.add_files(&mut k, p, p.go_files.iter().chain(&non_go).chain(&ignored))?;
    let go_version = match &p.module {
        Some(m) if !p.standard => format!(
            "go{}",
            if m.go_version.is_empty() {
                "1.16"
            } else {
                &m.go_version
            }
        ),
        _ => f.tc.goversion().to_string(),
    };
    let (module_path, module_version) = match &p.module {
        Some(m) if !p.standard => (m.path.clone(), m.version.clone()),
        _ => (String::new(), String::new()),
    };
    let mut cfg = VetConfig {
        id: p.base_path().to_string(),
        compiler: "gc".into(),
        dir: p.dir.clone(),
        import_path: p.base_path().to_string(),
        go_files,
        non_go_files: abs(&non_go),
        ignored_files: abs(&ignored),
        module_path,
        module_version,
        import_map: BTreeMap::new(),
        package_file: BTreeMap::new(),
        standard: BTreeMap::new(),
        package_vetx: BTreeMap::new(),
        vetx_only: facts_only,
        vetx_output: format!("{WORK}/{}", Output::Vetx.file_name()),
        stdout: format!("{WORK}/vet.stdout"),
        go_version,
        fix_archive: String::new(),
        succeed_on_typecheck_failure: false,
    };
    // ImportMap: each import as written → the package it resolves to.
    for imp in &p.imports {
        let to = imp.split_once(" [").map_or(imp.as_str(), |(b, _)| b);
        let raw = p
            .import_map
            .iter()
            .find(|(_, v)| *v == imp)
            .map_or(to, |(from, _)| from.as_str());
        cfg.import_map.insert(raw.to_string(), to.to_string());
        if to == "unsafe" {
            cfg.standard.insert(to.to_string(), true);
        }
    }
    if p.uses_cgo() {
        // The generated Go imports unsafe (and what compile_imports adds).
        cfg.import_map.insert("unsafe".into(), "unsafe".into());
        cfg.standard.insert("unsafe".into(), true);
    }
    for i in compile_imports(f.graph, action.pkg) {
        let dp = &f.graph.packages[i];
        let path = dp.base_path().to_string();
        // Imports only the generated code or the linker adds (cmd/go's
        // "missing mappings").
        if !cfg.import_map.values().any(|v| *v == path) {
            cfg.import_map.insert(path.clone(), path.clone());
        }
        if dp.standard {
            cfg.standard.insert(path.clone(), true);
        }
        let dep = inputs.get(&Input::Import(i))?;
        let archive = dep.get(&Output::Archive)?;
        cfg.package_file.insert(
            path.clone(),
            f.objects.local_path(&archive)?.display().to_string(),
        );
        let export = dep
            .export
            .ok_or_else(|| internal(format!("no export data digest for {}", dp.import_path)))?;
        k.add(format!("import {path}"), export.to_hex());
        if let Some(v) = inputs.find(&Input::Vetx(i)) {
            let v = v?;
            let d = v.get(&Output::Vetx)?;
            // A vet that failed passes no facts (cmd/go's `a.built` stays
            // empty); one that found none passes its empty vet.out.
            if VetResult::read(f.objects, &v.get(&Output::VetResult)?)?.exit_code == 0 {
                k.add(format!("vetx {path}"), d.to_hex());
                cfg.package_vetx
                    .insert(path, f.objects.local_path(&d)?.display().to_string());
            }
        }
    }
    let mut json = Vec::new();
    let mut ser = serde_json::Serializer::with_formatter(
        &mut json,
        serde_json::ser::PrettyFormatter::with_indent(b"\t"),
    );
    serde::Serialize::serialize(&cfg, &mut ser).map_err(|e| internal(e.to_string()))?;
    json.push(b'\n');
    let mut env = f.tc.tool_env();
    env.push(("TERM".into(), "dumb".into()));
    Ok(Prepared {
        identity,
        inputs: k,
        step: Step::InProcess(Box::new(Vet {
            tool,
            flags,
            cfg: String::from_utf8_lossy(&json).into_owned(),
            dir: PathBuf::from(&p.dir),
            env,
        })),
        work_files,
        outputs: vec![Output::Vetx, Output::VetResult],
        derive: None,
        cacheable: true,
    })
}

#[derive(Debug)]
struct Vet {
    tool: PathBuf,
    flags: Vec<String>,
    /// `vet.cfg`, naming the work directory as [`WORK`].
    cfg: String,
    dir: PathBuf,
    env: Vec<(String, String)>,
}

impl InProcessStep for Vet {
    fn run(&self, cx: &StepContext<'_>) -> std::result::Result<(), String> {
        let work = cx.work_dir.display().to_string();
        let cfg_path = cx.work_dir.join("vet.cfg");
        let write = |p: &Path, data: &[u8]| {
            std::fs::write(p, data).map_err(|e| format!("{}: {e}", p.display()))
        };
        write(&cfg_path, self.cfg.replace(WORK, &work).as_bytes())?;
        let mut args = self.flags.clone();
        args.push(cfg_path.display().to_string());
        let mut cmd = duct::cmd(&self.tool, &args).dir(&self.dir);
        for (k, v) in &self.env {
            cmd = cmd.env(k, v);
        }
        let out = crate::util::run_captured(cmd)
            .map_err(|e| format!("could not run {}: {e}", self.tool.display()))?;
        let mut output = String::from_utf8_lossy(&out.stdout).into_owned();
        if let Ok(s) = std::fs::read_to_string(cx.work_dir.join("vet.stdout")) {
            output.push_str(&s);
        }
        let result = VetResult {
            exit_code: out.status.code().unwrap_or(-1),
            output,
        };
        let vetx = cx.work_dir.join(Output::Vetx.file_name());
        if result.exit_code != 0 || !vetx.exists() {
            // No facts from a failed vet (cmd/go's `a.built` stays empty).
            write(&vetx, b"")?;
        }
        write(
            &cx.work_dir.join(Output::VetResult.file_name()),
            &serde_json::to_vec(&result).expect("result serializes"),
        )
    }

    fn cacheable(&self, work_dir: &Path) -> bool {
        std::fs::read(work_dir.join(Output::VetResult.file_name()))
            .ok()
            .and_then(|d| serde_json::from_slice::<VetResult>(&d).ok())
            .is_some_and(|r| r.exit_code == 0)
    }
}
