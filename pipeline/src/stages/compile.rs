//! The compile stage: `compile -p PKG -importcfg … -pack` as go build runs
//! it (`gc` in gc.go), with `-symabis` and `-asmhdr go_asm.h` for a package
//! with assembly (the compiler generates the ABI wrappers from the symabis),
//! `-pgoprofile` under `-pgo=auto`, and a build ID derived from the key.
//!
//! Keyed on the symabis *content*, not the `.s` files (editing an assembly
//! function body recompiles no Go), and per import on its export data
//! digest (early cut-off).

use std::path::Path;

use crate::cache::ActionKey;
use crate::error::Result;
use crate::load;
use crate::plan::{compile_imports, Action, Input};
use crate::stages::archive::derive_compiled;
use crate::stages::flags::FlagKind;
use crate::stages::key::build_id_part;
use crate::stages::outputs::{internal, DeclaredInputs, Output};
use crate::stages::step::{Prepared, Step, WorkFile, WORK};
use crate::stages::BuildFacts;
use crate::toolchain::{GoVersion, Tool};

/// Prepares a package's compile; `pgo` is its `-pgo=auto` profile.
pub fn prepare(
    f: &BuildFacts<'_>,
    action: &Action,
    inputs: &DeclaredInputs<'_>,
    identity: String,
    pgo: Option<&Path>,
) -> Result<Prepared> {
    let p = f.pkg(action);
    let has_asm = !p.go_asm_files().is_empty();
    let tc = f.tc;
    let mut k = f.common_key(Some(Tool::Compile), p);

    // -lang: the module's go version, else the toolchain's (gc.go).
    let lang = match &p.module {
        Some(m) if !p.standard => {
            let v = if m.go_version.is_empty() {
                "1.16"
            } else {
                &m.go_version
            };
            let v = GoVersion::parse(&format!("go{v}"))
                .filter(|v| *v <= tc.version)
                .unwrap_or(tc.version);
            v.lang()
        }
        _ => tc.version.lang(),
    };
    let mut args = vec![
        "-o".to_string(),
        format!("{WORK}/_pkg_.a"),
        "-trimpath".into(),
        f.trimpath_arg(p),
        "-p".into(),
        p.compile_path().to_string(),
    ];
    // Go 1.22 passes -lang only for packages in a module; 1.23+ always.
    if p.module.is_some()
        || tc.version
            >= (GoVersion {
                major: 1,
                minor: 23,
                patch: 0,
            })
    {
        args.push(format!("-lang={lang}"));
    }
    if p.standard {
        args.push("-std".into());
    }
    let mut ext = p.non_go_files() + p.s_files.len() + p.syso_files.len();
    if p.standard && COMPLETE_EXCEPTIONS.contains(&p.base_path()) {
        ext += 1;
    }
    if ext == 0 {
        args.push("-complete".into());
    }
    let mode = f.mode();
    let codegen = mode.codegen_arg;
    if let Some(suffix) = mode.install_suffix {
        args.extend(["-installsuffix".into(), suffix.into()]);
    }
    // Placeholder: the build ID is derived from the key, below.
    args.extend(["-buildid".into(), "BUILDID".into()]);
    // A test binary is not kept, so go test drops its DWARF.
    if tc.goarch() == "wasm" || tc.goos() == "plan9" || p.is_test_main() {
        args.push("-dwarf=false".into());
    }
    if tc.goversion().starts_with("go1") {
        args.extend(["-goversion".into(), tc.goversion().to_string()]);
    }
    let mut work_files = Vec::new();
    // -cover: the instrumented files and the cover tool's configuration
    // (cmd/go passes it right after -goversion).
    let covered = match inputs.find(&Input::Cover) {
        Some(c) => Some(crate::stages::outputs::CoveredFiles::read(p, c?)?),
        None => None,
    };
    if let Some(c) = &covered {
        args.push(format!(
            "-coveragecfg={WORK}/{}",
            Output::CoverCfg.file_name()
        ));
        k.add("coveragecfg", c.cfg.to_hex());
        work_files.push((
            Output::CoverCfg.file_name().to_string(),
            WorkFile::Object(c.cfg),
        ));
    }
    if let Some(profile) = pgo {
        match inputs.find(&Input::Preprofile) {
            Some(pp) => {
                let d = pp?.get(&Output::Preprofile)?;
                k.add("pgo", d.to_hex());
                args.push(format!("-pgoprofile={WORK}/pgo.preprofile"));
                work_files.push(("pgo.preprofile".to_string(), WorkFile::Object(d)));
            }
            None => {
                // Go 1.22: the compiler reads default.pgo itself.
                k.add("pgo", f.hasher.digest(profile)?.to_hex());
                args.push(format!("-pgoprofile={}", profile.display()));
            }
        }
    }
    if has_asm {
        args.extend(["-symabis".into(), format!("{WORK}/symabis")]);
        let s = inputs.get(&Input::Symabis)?.get(&Output::Symabis)?;
        // The compile key holds the symabis *content*, not the .s files.
        k.add("symabis", s.to_hex());
        work_files.push(("symabis".to_string(), WorkFile::Object(s)));
    }
    if f.compile_concurrency > 1 {
        args.push(format!("-c={}", f.compile_concurrency));
    }
    // The build mode's code generation flag, before the user's (forcedGcflags).
    args.extend(codegen.map(String::from));
    args.extend(f.package_flags(action.pkg, FlagKind::Gc));
    args.push("-nolocalimports".into());
    args.extend(["-importcfg".into(), format!("{WORK}/importcfg")]);

    // importcfg: importmap lines, then packagefile per import (sorted), then
    // the linker's implicit runtime dependency for main packages.
    let mut cfg = String::from("# import config\n");
    for (from, to) in &p.import_map {
        // A PGO variant (`fmt [cmd/compile]`) is `fmt` to the compiler.
        let to = to.split_once(" [").map_or(to.as_str(), |(base, _)| base);
        if from != to {
            cfg.push_str(&format!("importmap {from}={to}\n"));
            k.add(format!("importmap {from}"), to.to_string());
        }
    }
    let imports = compile_imports(f.graph, action.pkg);
    for dep_pkg in &imports {
        let dep = inputs.get(&Input::Import(*dep_pkg))?;
        let dp = &f.graph.packages[*dep_pkg];
        let archive = dep.get(&Output::Archive)?;
        cfg.push_str(&format!(
            "packagefile {}={}\n",
            dp.base_path(),
            f.objects.local_path(&archive)?.display()
        ));
        let export = dep
            .export
            .ok_or_else(|| internal(format!("no export data digest for {}", dp.import_path)))?;
        k.add(format!("import {}", dp.import_path), export.to_hex());
    }
    work_files.push(("importcfg".into(), WorkFile::Content(cfg.into_bytes())));

    if let Some(embed) = load::embedcfg(p) {
        args.extend(["-embedcfg".into(), format!("{WORK}/embedcfg")]);
        for pat in &p.embed_patterns {
            k.add(format!("embed pattern {pat}"), "");
        }
        f.add_files(&mut k, p, &p.embed_files)?;
        work_files.push(("embedcfg".into(), WorkFile::Content(embed.into_bytes())));
    }
    args.push("-pack".into());
    let mut outputs = vec![Output::Archive];
    if has_asm {
        args.extend(["-asmhdr".into(), format!("{WORK}/go_asm.h")]);
        outputs.push(Output::AsmHdr);
    }
    if let Some(c) = &covered {
        // covervars.go first, then each file as the cover tool rewrote it
        // (the tests as they are), in the package's order (`runCover`).
        for (name, d) in &c.files {
            k.add(format!("covered {name}"), d.to_hex());
            work_files.push((name.clone(), WorkFile::Object(*d)));
        }
        args.push(format!("{WORK}/{}", crate::load::cover::COVERVARS));
        for g in &p.go_files {
            if g.ends_with("_test.go") {
                args.push(p.file(g).display().to_string());
                f.add_files(&mut k, p, [g])?;
            } else {
                args.push(format!("{WORK}/{}", crate::load::cover::cover_name(g)));
            }
        }
    } else if p.is_test_main() {
        // The generated _testmain.go (a copy the load kept), compiled from
        // the work directory as go test does: recorded as `_testmain.go`,
        // keyed by content.
        for g in &p.go_files {
            let path = std::path::Path::new(g);
            let name = path
                .file_name()
                .map_or(g.clone(), |n| n.to_string_lossy().into_owned());
            let data = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
            k.add(format!("file {name}"), f.hasher.digest(path)?.to_hex());
            args.push(format!("{WORK}/{name}"));
            work_files.push((name, WorkFile::Content(data)));
        }
    } else {
        args.extend(p.go_files.iter().map(|f| p.file(f).display().to_string()));
        f.add_files(&mut k, p, &p.go_files)?;
    }
    if p.uses_cgo() {
        // The Go cgo generated, and the probe's `_cgo_import.go` (none
        // after dynimportfail), laid out in the work directory.
        for (name, d) in crate::stages::cflags::cgo_go_files(p, inputs)? {
            k.add(format!("generated {name}"), d.to_hex());
            args.push(format!("{WORK}/{name}"));
            work_files.push((name, WorkFile::Object(d)));
        }
    }
    f.add_args(&mut k, p, &args, &["-buildid"]);

    let key = ActionKey::compute(&k);
    let id = build_id_part(&key.to_hex());
    for a in args.iter_mut() {
        if a == "BUILDID" {
            *a = format!("{id}/{id}");
        }
    }
    Ok(Prepared {
        identity,
        inputs: k,
        step: Step::Tool(f.tool_command(Tool::Compile, args, &p.dir)),
        work_files,
        outputs,
        derive: Some((Output::Archive, derive_compiled)),
        cacheable: true,
    })
}

/// Standard packages that are never `-complete`: they have declarations
/// supplied behind the scenes by the runtime (the list in gc.go).
const COMPLETE_EXCEPTIONS: &[&str] = &[
    "bytes",
    "internal/poll",
    "net",
    "os",
    "runtime/metrics",
    "runtime/pprof",
    "runtime/trace",
    "sync",
    "syscall",
    "time",
];
