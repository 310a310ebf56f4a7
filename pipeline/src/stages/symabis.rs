//! The symabis stage: the ABI of every TEXT symbol a package's assembly
//! defines and every Go function it references, as `asm -gensymabis`
//! writes it — by the toolchain's assembler, or by the native scanner
//! ([`goasm`], byte-identical) in-process. Scanned with an empty `go_asm.h`,
//! as cmd/go does (the real one does not exist before the compile).

use std::path::{Path, PathBuf};

use crate::config::profile::SymabisMode;
use crate::error::Result;
use crate::plan::Action;
use crate::stages::flags::FlagKind;
use crate::stages::outputs::Output;
use crate::stages::step::{InProcessStep, Prepared, Step, StepContext, WorkFile, WORK};
use crate::stages::BuildFacts;
use crate::toolchain::Tool;

/// Prepares the symabis action of a package with assembly.
pub fn prepare(f: &BuildFacts<'_>, action: &Action, identity: String) -> Result<Prepared> {
    let p = f.pkg(action);
    let s_files = p.go_asm_files();
    let files: Vec<PathBuf> = s_files.iter().map(|s| p.file(s)).collect();
    let mut args = f.asm_args(action.pkg);
    args.extend(["-gensymabis".into(), "-o".into(), format!("{WORK}/symabis")]);
    args.extend(files.iter().map(|f| f.display().to_string()));
    let native = f.profile.symabis == SymabisMode::Native;
    let mut k = f.common_key(if native { None } else { Some(Tool::Asm) }, p);
    if native {
        k.add("scanner", format!("goasm r{}", goasm::SCANNER_REVISION));
        k.add("tool", f.tool_identity.clone());
    }
    f.add_args(&mut k, p, &args, &[]);
    f.add_files(&mut k, p, &s_files)?;
    f.add_asm_includes(&mut k, p)?;
    let step = if native {
        Step::InProcess(Box::new(NativeSymabis {
            options: native_options(f, action),
            files,
        }))
    } else {
        Step::Tool(f.tool_command(Tool::Asm, args, &p.dir))
    };
    Ok(Prepared {
        identity,
        inputs: k,
        step,
        work_files: vec![("go_asm.h".into(), WorkFile::Content(Vec::new()))],
        outputs: vec![Output::Symabis],
        derive: None,
        cacheable: true,
    })
}

/// The scanner's options, as `asm -gensymabis` gets them from `asmArgs`.
fn native_options(f: &BuildFacts<'_>, action: &Action) -> goasm::Options {
    let p = f.pkg(action);
    let defines = f.tc.asm_defines();
    let mut include_dirs = vec![f.tc.include_dir()];
    let flags = f.package_flags(action.pkg, FlagKind::Asm);
    let mut extra_defines = Vec::new();
    let mut it = flags.iter();
    while let Some(fl) = it.next() {
        match fl.as_str() {
            "-D" => extra_defines.extend(it.next().cloned()),
            "-I" => include_dirs.extend(it.next().map(PathBuf::from)),
            s if s.starts_with("-D") => {
                extra_defines.push(s[2..].trim_start_matches('=').to_string())
            }
            s if s.starts_with("-I") => {
                include_dirs.push(PathBuf::from(s[2..].trim_start_matches('=')))
            }
            _ => {}
        }
    }
    let mut all_defines: Vec<String> = defines[..2].to_vec();
    all_defines.extend(extra_defines);
    all_defines.extend(defines[2..].iter().cloned());
    goasm::Options {
        goos: f.tc.goos().to_string(),
        goarch: f.tc.goarch().to_string(),
        include_dirs,
        defines: all_defines,
        pkgpath: Some(p.compile_path().to_string()),
        goexperiment: Some(f.tc.goexperiment().to_string()).filter(|e| !e.is_empty()),
        shared: false,
        // asm runs in the package directory.
        work_dir: Some(PathBuf::from(&p.dir)),
        go_version: Some((f.tc.version.major, f.tc.version.minor)),
    }
}

/// The in-process scan.
#[derive(Debug)]
struct NativeSymabis {
    /// The scanner's options, but for the work directory (with the empty
    /// go_asm.h), which goes first in the include path at run time.
    options: goasm::Options,
    /// The `.s` files.
    files: Vec<PathBuf>,
}

impl InProcessStep for NativeSymabis {
    fn run(&self, cx: &StepContext<'_>) -> std::result::Result<(), String> {
        let out = scan(&self.options, cx.work_dir, &self.files)?;
        let dest = cx.work_dir.join(Output::Symabis.file_name());
        std::fs::write(&dest, out).map_err(|e| format!("{}: {e}", dest.display()))
    }
}

/// The scan, with the work directory first in the include path, as
/// `-I $WORK/` does for asm.
fn scan(
    options: &goasm::Options,
    work: &Path,
    files: &[PathBuf],
) -> std::result::Result<Vec<u8>, String> {
    let mut opts = options.clone();
    opts.include_dirs.insert(0, work.to_path_buf());
    goasm::gensymabis(&opts, files)
        .map(String::into_bytes)
        .map_err(|e| e.to_string())
}
