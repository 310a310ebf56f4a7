//! Typed stage outputs ([`Output`], [`ActionOutput`]) and typed access to
//! the outputs of an action's *declared* inputs ([`DeclaredInputs`]): a stage
//! asks for "the symabis" or "the archive of package P", and gets an error,
//! not another action's output, if its action did not declare it.

use std::collections::BTreeMap;
use std::sync::OnceLock;

use crate::cache::{ContentDigest, ExportDigest};
use crate::error::{Error, Result};
use crate::plan::{Action, ActionId, Input};

/// One named output of an action, as a file in its work directory.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Output {
    /// The package archive (`_pkg_.a`), from compile or pack.
    Archive,
    /// The assembly header the compile writes (`go_asm.h`).
    AsmHdr,
    /// The symabis of a package's assembly.
    Symabis,
    /// The object one `.s` file assembles to (`x.s` → `x.o`).
    Object(String),
    /// The preprocessed PGO profile.
    Preprofile,
    /// The nosplit check's report (JSON).
    NosplitReport,
    /// The abi-report's expectations of the program's symbol table (JSON).
    AbiExpect,
    /// The linked program.
    Exe,
    /// What a test binary printed (stdout and stderr, test2json-framed).
    TestOutput,
    /// How a test binary ended (JSON: exit code, elapsed).
    TestResult,
    /// A file the cgo tool generated (`_cgo_gotypes.go`, `x.cgo1.go`,
    /// `x.cgo2.c`, `_cgo_export.c`, `_cgo_export.h`, `_cgo_main.c`,
    /// `_cgo_flags`), the dynimport probe wrote (`_cgo_import.go`, empty
    /// when the probe's link failed: `dynimportfail`) or the cover tool
    /// wrote (`covervars.go`, `x.cover.go`).
    Generated(String),
    /// The facts a vet run wrote for its importers' vet (`vet.out`; empty
    /// when vet failed).
    Vetx,
    /// How a vet run ended (JSON: exit code, vet's message).
    VetResult,
    /// The coverage configuration the cover tool writes for the compiler
    /// (`-coveragecfg`).
    CoverCfg,
    /// A package's static coverage meta-data (`EmitMetaFile`; a package
    /// without tests under `-cover`).
    CoverMeta,
    /// The coverage profile a test binary wrote (`-test.coverprofile`).
    CoverProfile,
}

impl Output {
    /// The file name in the work directory (and in cache entries).
    pub fn file_name(&self) -> &str {
        match self {
            Output::Archive => "_pkg_.a",
            Output::AsmHdr => "go_asm.h",
            Output::Symabis => "symabis",
            Output::Object(name) => name,
            Output::Preprofile => "pgo.preprofile",
            Output::NosplitReport => "report.json",
            Output::AbiExpect => "abi-expect.json",
            Output::Exe => "exe",
            Output::TestOutput => "test.out",
            Output::TestResult => "test-result.json",
            Output::Generated(name) => name,
            Output::Vetx => "vet.out",
            Output::VetResult => "vet-result.json",
            Output::CoverCfg => "coveragecfg",
            Output::CoverMeta => "covmeta",
            Output::CoverProfile => "_cover_.out",
        }
    }

    /// The output a cache entry names `name`.
    pub fn from_file_name(name: &str) -> Output {
        match name {
            "_pkg_.a" => Output::Archive,
            "go_asm.h" => Output::AsmHdr,
            "symabis" => Output::Symabis,
            "pgo.preprofile" => Output::Preprofile,
            "report.json" => Output::NosplitReport,
            "abi-expect.json" => Output::AbiExpect,
            "exe" => Output::Exe,
            "test.out" => Output::TestOutput,
            "test-result.json" => Output::TestResult,
            "vet.out" => Output::Vetx,
            "vet-result.json" => Output::VetResult,
            "coveragecfg" => Output::CoverCfg,
            "covmeta" => Output::CoverMeta,
            "_cover_.out" => Output::CoverProfile,
            other if Output::is_generated_name(other) => Output::Generated(other.to_string()),
            other => Output::Object(other.to_string()),
        }
    }

    /// Is `name` a file of the cgo tool or the dynimport probe?
    fn is_generated_name(name: &str) -> bool {
        name == "_cgo_flags" || [".go", ".c", ".h"].iter().any(|e| name.ends_with(e))
    }

    /// The object an `.s` file assembles to (`x.s` → `x.o`).
    pub fn object_of(sfile: &str) -> Output {
        let base = sfile.rsplit('/').next().unwrap_or(sfile);
        Output::Object(format!("{}.o", base.strip_suffix(".s").unwrap_or(base)))
    }
}

/// What a finished action produced.
#[derive(Debug, Clone, Default)]
pub struct ActionOutput {
    /// Output → object.
    pub outputs: BTreeMap<Output, ContentDigest>,
    /// For compile: digest of the export data.
    pub export: Option<ExportDigest>,
    /// For a package archive: its digest with the build ID blanked.
    pub code: Option<ContentDigest>,
    /// Served from a cache (nothing ran)?
    pub cached: bool,
}

impl ActionOutput {
    /// One output (an internal error if the action did not produce it).
    pub fn get(&self, o: &Output) -> Result<ContentDigest> {
        self.outputs
            .get(o)
            .copied()
            .ok_or_else(|| internal(format!("action output {} missing", o.file_name())))
    }

    /// The digest the link unit's stages key an archive on: the archive
    /// modulo its build ID (an edit that leaves the generated code alone,
    /// such as a comment, then reuses the check and the link), else its
    /// content digest.
    pub fn archive_key(&self) -> Result<ContentDigest> {
        match self.code {
            Some(d) => Ok(d),
            None => self.get(&Output::Archive),
        }
    }
}

/// How a vet run ended (the vet-result output the vet stage writes and a
/// test run reads).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct VetResult {
    /// vet's exit code (0: no problems).
    pub exit_code: i32,
    /// What vet printed (its diagnostics, with absolute file names).
    pub output: String,
}

/// A package action that failed the way go test reports a build failure
/// (`# pkg` and the tool's message, then `FAIL pkg [build failed]`).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct BuildFailure {
    /// The package, as go test names it (`P`, `P [P.test]`, `P_test [P.test]`).
    pub import_path: String,
    /// What go test prints for it: cmd/go's header and the tool's output.
    pub output: String,
    /// Was it already reported as the build's own error (a compile or link
    /// that failed), so that a human report need not print it again?
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub reported: bool,
}

impl VetResult {
    /// The failure of this vet of `p` as go test reports it, if it failed:
    /// cmd/go's header (`cmdError`: a test variant's description is not
    /// its import path, so both are named), then vet's output.
    pub fn failure(&self, p: &crate::load::GoPackage) -> Option<BuildFailure> {
        if self.exit_code == 0 {
            return None;
        }
        let path = p.base_path();
        let mut output = format!("# {path}\n");
        if p.variant_of().is_some() {
            output.push_str(&format!("# [{path}]\n"));
        }
        output.push_str(&self.output);
        if !output.ends_with('\n') {
            output.push('\n');
        }
        Some(BuildFailure {
            import_path: p.import_path.clone(),
            output,
            reported: false,
        })
    }

    /// Reads a vet action's result from the store.
    pub fn read(objects: &dyn crate::cache::ObjectStore, d: &ContentDigest) -> Result<VetResult> {
        let path = objects.local_path(d)?;
        let data = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
        serde_json::from_slice(&data).map_err(|e| internal(format!("vet result: {e}")))
    }
}

/// What a compile reads of its package's cover run.
pub struct CoveredFiles {
    /// The `coveragecfg`.
    pub cfg: ContentDigest,
    /// `covervars.go`, then each instrumented file, by name.
    pub files: Vec<(String, ContentDigest)>,
}

impl CoveredFiles {
    /// The cover run's outputs for package `p`.
    pub fn read(p: &crate::load::GoPackage, out: &ActionOutput) -> Result<CoveredFiles> {
        let mut files = vec![(
            crate::load::cover::COVERVARS.to_string(),
            out.get(&Output::Generated(crate::load::cover::COVERVARS.into()))?,
        )];
        for g in crate::load::cover::covered_files(p) {
            let name = crate::load::cover::cover_name(&g);
            files.push((name.clone(), out.get(&Output::Generated(name))?));
        }
        Ok(CoveredFiles {
            cfg: out.get(&Output::CoverCfg)?,
            files,
        })
    }
}

/// An internal error: a broken invariant of the engine, reported, not a panic.
pub fn internal(message: impl Into<String>) -> Error {
    Error::Tool {
        program: "cargo gobuild".into(),
        message: format!("internal: {}", message.into()),
    }
}

/// The outputs of one action's declared inputs.
pub struct DeclaredInputs<'a> {
    action: &'a Action,
    done: &'a [OnceLock<ActionOutput>],
}

impl<'a> DeclaredInputs<'a> {
    /// The declared inputs of `action`, read from `done`.
    pub fn new(action: &'a Action, done: &'a [OnceLock<ActionOutput>]) -> Self {
        DeclaredInputs { action, done }
    }

    fn output_of(&self, id: ActionId) -> Result<&'a ActionOutput> {
        self.done
            .get(id.0)
            .and_then(OnceLock::get)
            .ok_or_else(|| internal(format!("dependency {} not done", id.0)))
    }

    /// The outputs of the input declared as `input`.
    pub fn get(&self, input: &Input) -> Result<&'a ActionOutput> {
        let dep = self
            .action
            .deps
            .iter()
            .find(|d| &d.input == input)
            .ok_or_else(|| {
                internal(format!(
                    "{} reads {input:?}, which its action does not declare",
                    self.action.kind.name()
                ))
            })?;
        self.output_of(dep.id)
    }

    /// The input declared as `input`, if it was.
    pub fn find(&self, input: &Input) -> Option<Result<&'a ActionOutput>> {
        self.action
            .deps
            .iter()
            .any(|d| &d.input == input)
            .then(|| self.get(input))
    }

    /// Every declared input with its outputs, in declaration order.
    pub fn all(&self) -> impl Iterator<Item = Result<(&'a Input, &'a ActionOutput)>> + '_ {
        self.action
            .deps
            .iter()
            .map(|d| self.output_of(d.id).map(|o| (&d.input, o)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::plan::{ActionKind, Dep};

    #[test]
    fn output_names_round_trip() {
        for o in [
            Output::Archive,
            Output::AsmHdr,
            Output::Symabis,
            Output::object_of("sum_amd64.s"),
            Output::Preprofile,
            Output::NosplitReport,
            Output::AbiExpect,
            Output::Exe,
            Output::TestOutput,
            Output::TestResult,
            Output::Generated("_cgo_gotypes.go".into()),
            Output::Generated("x.cgo2.c".into()),
            Output::Generated("_cgo_export.h".into()),
            Output::Generated("_cgo_flags".into()),
            Output::Object("_x001.o".into()),
            Output::Vetx,
            Output::VetResult,
            Output::Generated("covervars.go".into()),
            Output::Generated("a.cover.go".into()),
            Output::CoverCfg,
            Output::CoverMeta,
            Output::CoverProfile,
        ] {
            assert_eq!(Output::from_file_name(o.file_name()), o);
        }
        assert_eq!(Output::object_of("dir/x.s").file_name(), "x.o");
    }

    #[test]
    fn undeclared_inputs_are_an_error_not_another_actions_output() {
        let action = Action {
            kind: ActionKind::Pack,
            pkg: 0,
            deps: vec![Dep {
                id: ActionId(0),
                input: Input::Compiled,
            }],
        };
        let done: Vec<OnceLock<ActionOutput>> = (0..2).map(|_| OnceLock::new()).collect();
        let _ = done[0].set(ActionOutput::default());
        let _ = done[1].set(ActionOutput::default());
        let inputs = DeclaredInputs::new(&action, &done);
        assert!(inputs.get(&Input::Compiled).is_ok());
        let e = inputs.get(&Input::Symabis).unwrap_err().to_string();
        assert!(e.contains("does not declare"), "{e}");
        assert!(inputs.find(&Input::Symabis).is_none());
    }
}
