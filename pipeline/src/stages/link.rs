//! The link stage: `link -importcfg … -buildmode=MODE` (the profile's
//! `buildmode` as [`crate::config::profile::BuildMode::resolve`] decides it
//! for the target: pie by default on windows and darwin; `-installsuffix
//! shared` when an explicit mode compiled the packages `-shared`) over a link unit's archives, as go build runs it (`ld` in
//! gc.go), with the build info (modinfo) in the importcfg and a build ID
//! derived from the key and the main archive.

use std::path::{Path, PathBuf};

use crate::cache::ActionKey;
use crate::error::Result;
use crate::modinfo;
use crate::plan::LinkUnit;
use crate::stages::key::{build_id_part, UnitArchives};
use crate::stages::outputs::{DeclaredInputs, Output};
use crate::stages::step::{Prepared, Step, ToolCommand, WorkFile, WORK};
use crate::stages::BuildFacts;
use crate::toolchain::Tool;

/// Prepares the link of `unit`; `pgo` is the main package's profile.
pub fn prepare(
    f: &BuildFacts<'_>,
    unit: &LinkUnit,
    inputs: &DeclaredInputs<'_>,
    identity: String,
    pgo: Option<&Path>,
) -> Result<Prepared> {
    let p = &f.graph.packages[unit.main];
    let tc = f.tc;
    let mut k = f.common_key(Some(Tool::Link), p);
    let unit_archives = UnitArchives::read(f, unit, inputs)?;
    let main_archive = unit_archives.archives[0].1;
    let mut cfg = String::new();
    // The main package under its import path, the rest by base path.
    for (i, (path, d)) in unit_archives.archives.iter().enumerate() {
        let path = if i == 0 { &p.import_path } else { path };
        cfg.push_str(&format!(
            "packagefile {path}={}\n",
            f.objects.local_path(d)?.display()
        ));
    }
    // Keyed on the archives modulo their build IDs, which the program
    // does not contain: an edit that leaves the code alone relinks nothing.
    unit_archives.add_to(&mut k);
    if unit
        .packages
        .iter()
        .any(|p| f.graph.packages[*p].uses_cgo())
    {
        // External linking runs the C compiler.
        f.add_cc_key(&mut k);
    }
    let info = modinfo::build_info(f.graph, unit.main, &build_settings(f, unit.main, pgo));
    cfg.push_str(&modinfo::importcfg_line(&info));
    k.add("modinfo", info);

    let mut args = vec![
        "-o".to_string(),
        format!("{WORK}/exe"),
        "-importcfg".into(),
        format!("{WORK}/importcfg.link"),
    ];
    let mode = f.mode();
    if let Some(suffix) = mode.install_suffix {
        args.extend(["-installsuffix".into(), suffix.into()]);
    }
    if p.goroot && p.import_path.starts_with("cmd/") {
        args.push("-X=cmd/internal/objabi.buildID=BUILDID".into());
    }
    // A test binary is not kept: go test strips it.
    if p.is_test_main() {
        args.extend(["-s".into(), "-w".into()]);
    }
    if !p.default_godebug.is_empty() {
        args.push(format!("-X=runtime.godebugDefault={}", p.default_godebug));
    }
    args.push(format!("-buildmode={}", mode.link));
    args.push("-buildid=BUILDID".into());
    args.extend(f.profile.ldflags.iter().cloned());
    if p.is_test_main() {
        args.extend(["-X".into(), "testing.testBinary=1".into()]);
    }
    if !args
        .iter()
        .any(|a| a == "-extld" || a.starts_with("-extld="))
    {
        // C++ in the program: the external linker is $CXX (cmd/go's `ld`).
        let cxx = unit.packages.iter().any(|p| {
            let p = &f.graph.packages[*p];
            !p.cxx_files.is_empty() || !p.swig_cxx_files.is_empty()
        });
        args.push(format!("-extld={}", tc.extld(cxx)));
    }
    args.push(format!("{WORK}/_pkg_.a"));
    let mut env = tc.tool_env();
    for (name, v) in env.iter_mut() {
        if name == "GOROOT" && f.profile.trimpath {
            v.clear();
        }
    }
    if !f.profile.trimpath {
        k.add("goroot", tc.var("GOROOT"));
    }
    f.add_args(&mut k, p, &args, &[]);
    let key = ActionKey::compute(&k);
    let hex = key.to_hex();
    let main_hex = main_archive.to_hex();
    let build_id = format!(
        "{}/{}/{}/{}",
        build_id_part(&hex),
        build_id_part(&main_hex),
        build_id_part(&main_hex[20..]),
        build_id_part(&hex[20..])
    );
    for a in args.iter_mut() {
        *a = a.replace("BUILDID", &build_id);
    }
    Ok(Prepared {
        identity,
        inputs: k,
        step: Step::Tool(ToolCommand {
            program: tc.tool(Tool::Link),
            args,
            env,
            cwd: PathBuf::from(&p.dir),
        }),
        work_files: vec![
            ("importcfg.link".into(), WorkFile::Content(cfg.into_bytes())),
            ("_pkg_.a".into(), WorkFile::Object(main_archive)),
        ],
        outputs: vec![Output::Exe],
        derive: None,
        cacheable: true,
    })
}

/// The build settings recorded in the build info of main package `main`.
pub fn build_settings(
    f: &BuildFacts<'_>,
    main: usize,
    pgo: Option<&Path>,
) -> modinfo::BuildSettings {
    let tc = f.tc;
    let pgo = pgo.map(|file| {
        if f.profile.trimpath {
            file.file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default()
        } else {
            file.display().to_string()
        }
    });
    modinfo::BuildSettings {
        buildmode: f.mode().build_info.to_string(),
        asmflags: f.profile.asmflags.join(" "),
        gcflags: f.profile.gcflags.join(" "),
        ldflags: f.profile.ldflags.join(" "),
        tags: f.profile.tags.clone(),
        trimpath: f.profile.trimpath,
        // go test -cover's binaries (Go 1.22 does not record it).
        cover: f.graph.packages[main].cover.is_some() && tc.version.minor >= 23,
        goarch: tc.goarch().to_string(),
        goos: tc.goos().to_string(),
        arch_level: tc.arch_level().map(|(k, v)| (k.to_string(), v.to_string())),
        goexperiment: tc.goexperiment().to_string(),
        pgo,
        vcs: f.vcs.get(&main).cloned(),
        cgo: tc.cgo_enabled().then(|| {
            if f.profile.trimpath {
                return Vec::new();
            }
            ["CGO_CFLAGS", "CGO_CPPFLAGS", "CGO_CXXFLAGS", "CGO_LDFLAGS"]
                .iter()
                .map(|n| (n.to_string(), tc.cgo_var_set(n)))
                .collect()
        }),
    }
}
