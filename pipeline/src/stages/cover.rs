//! The cover stage: go test `-cover`'s instrumentation of one package, as
//! cmd/go runs it (`work/exec.go`, `runCover` and `cover`):
//! `cover -pkgcfg ./pkgcfg.txt -mode MODE -var goCover_<hash>_
//! -outfilelist ./coveroutfiles.txt FILES…` in the action's work directory,
//! writing `covervars.go` (the counters and meta-data), one `x.cover.go`
//! per Go file but the tests, and the `coveragecfg` the compile reads
//! (`-coveragecfg`); for a package without tests also its meta-data file
//! (`EmitMetaFile`), from which its `coverage: 0.0% of statements` comes.
//! A test main is instrumented in mode `testmain`.
//!
//! `pkgcfg.txt` is cmd/go's `CoverPkgConfig`, with its paths relative to
//! the work directory (the tool's cwd) instead of absolute: the outputs do
//! not name them. The test main is passed as `_testmain.go` (cmd/go passes
//! its objdir path, which compile's `-trimpath` then removes): the
//! `//line _testmain.go:1:1` the tool writes reads the same after the trim.
//!
//! Keyed on the cover tool, its arguments, the configuration, the files'
//! digests and the package directory (the `//line` directives name the
//! sources by absolute path).

use crate::error::Result;
use crate::load::cover::{cover_name, cover_var, covered_files, COVERVARS};
use crate::plan::Action;
use crate::stages::outputs::{internal, Output};
use crate::stages::step::{Prepared, Step, WorkFile, WORK};
use crate::stages::BuildFacts;
use crate::toolchain::Tool;

/// cmd/go's `covcmd.CoverPkgConfig`, field order kept.
#[derive(serde::Serialize)]
#[serde(rename_all = "PascalCase")]
struct CoverPkgConfig {
    out_config: String,
    pkg_path: String,
    pkg_name: String,
    granularity: String,
    module_path: String,
    local: bool,
    emit_meta_file: String,
}

/// Prepares the cover run of a package.
pub fn prepare(f: &BuildFacts<'_>, action: &Action, identity: String) -> Result<Prepared> {
    let p = f.pkg(action);
    let setup = p
        .cover
        .as_ref()
        .ok_or_else(|| internal(format!("cover of {}, which is not covered", p.import_path)))?;
    if !f.tool_digests.contains_key(&Tool::Cover) {
        return Err(crate::Error::Toolchain {
            message: format!(
                "the Go tool {} is missing (hint: is GOROOT {} a complete Go installation?)",
                f.tc.tool(Tool::Cover).display(),
                f.tc.goroot().display()
            ),
        });
    }
    let mut k = f.common_key(Some(Tool::Cover), p);
    k.add("dir", p.dir.clone());
    let cfg = CoverPkgConfig {
        out_config: Output::CoverCfg.file_name().into(),
        pkg_path: p.base_path().into(),
        pkg_name: p.name.clone(),
        granularity: "perblock".into(),
        module_path: p
            .module
            .as_ref()
            .map(|m| m.path.clone())
            .unwrap_or_default(),
        local: false,
        emit_meta_file: if setup.gen_meta {
            Output::CoverMeta.file_name().into()
        } else {
            String::new()
        },
    };
    let mut pkgcfg = serde_json::to_string(&cfg).map_err(|e| internal(e.to_string()))?;
    pkgcfg.push('\n');
    k.add("pkgcfg", pkgcfg.clone());
    let files = covered_files(p);
    let mut outputs = vec![Output::Generated(COVERVARS.into())];
    let mut work_files = vec![("pkgcfg.txt".to_string(), WorkFile::Content(pkgcfg.into()))];
    let mut infiles = Vec::new();
    if p.is_test_main() {
        // The generated test main, laid out in the work directory.
        for g in &files {
            let path = std::path::Path::new(g);
            let data = std::fs::read(path).map_err(|e| crate::Error::io(path, e))?;
            k.add("file _testmain.go", f.hasher.digest(path)?.to_hex());
            work_files.push(("_testmain.go".into(), WorkFile::Content(data)));
            infiles.push("_testmain.go".to_string());
        }
    } else {
        f.add_files(&mut k, p, &files)?;
        infiles.extend(files.iter().map(|g| p.file(g).display().to_string()));
    }
    outputs.extend(files.iter().map(|g| Output::Generated(cover_name(g))));
    let list: String = outputs
        .iter()
        .map(|o| format!("{}\n", o.file_name()))
        .collect();
    work_files.push(("coveroutfiles.txt".into(), WorkFile::Content(list.into())));
    let mut args = vec![
        "-pkgcfg".to_string(),
        "./pkgcfg.txt".into(),
        "-mode".into(),
        setup.mode.clone(),
        "-var".into(),
        cover_var(p.base_path()),
        "-outfilelist".into(),
        "./coveroutfiles.txt".into(),
    ];
    args.extend(infiles);
    f.add_args(&mut k, p, &args, &[]);
    outputs.push(Output::CoverCfg);
    if setup.gen_meta {
        outputs.push(Output::CoverMeta);
    }
    Ok(Prepared {
        identity,
        inputs: k,
        step: Step::Tool(f.tool_command(Tool::Cover, args, WORK)),
        work_files,
        outputs,
        derive: None,
        cacheable: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instrumented_files_are_named_as_cmd_go_names_them() {
        assert_eq!(cover_name("a.go"), "a.cover.go");
        assert_eq!(
            cover_name("/t/load/testmain/x/_testmain.go"),
            "_testmain.cover.go"
        );
        let cfg = CoverPkgConfig {
            out_config: "coveragecfg".into(),
            pkg_path: "example.com/cov/a".into(),
            pkg_name: "a".into(),
            granularity: "perblock".into(),
            module_path: "example.com/cov".into(),
            local: false,
            emit_meta_file: String::new(),
        };
        assert_eq!(
            serde_json::to_string(&cfg).unwrap(),
            r#"{"OutConfig":"coveragecfg","PkgPath":"example.com/cov/a","PkgName":"a","Granularity":"perblock","ModulePath":"example.com/cov","Local":false,"EmitMetaFile":""}"#
        );
    }
}
