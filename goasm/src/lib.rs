//! Go assembly scanner: the symabis extraction of `asm -gensymabis`, natively.
//!
//! `asm -gensymabis` preprocesses each `.s` file and prints, in order of appearance
//! with duplicates kept, `def NAME ABI` for every `TEXT` symbol and `ref NAME ABI` for
//! every `NAME(SB)`-shaped operand of any other statement. [`gensymabis`] produces the
//! exact bytes the assembler writes with `-o FILE`.
//!
//! Module map, each mirroring one part of `GOROOT/src/cmd/asm`:
//! - `scanner`: `text/scanner` as `internal/lex/tokenizer.go` configures it;
//! - `lex`: the token-reader stack and preprocessor (`internal/lex/input.go`);
//! - `parse`: statement splitting and the def/ref rules (`internal/asm/parse.go`);
//! - `arch`: register names per GOARCH (`internal/arch`, generated into `tables`);
//! - `experiment`: the `GOEXPERIMENT_*` macros the assembler predefines for runtime
//!   packages (`internal/buildcfg`).
//! - `version`: what differs between Go 1.22 and 1.27 (see [`Options::go_version`]):
//!   `allowAsmABIPkgs`, the GOEXPERIMENT flags and baseline, register names,
//!   instruction suffixes, the Unicode version.
//!
//! Speed: tokens carry no allocations (texts are ranges of the shared sources or
//! shared macro texts), each file is read once per run, and plain lines (ASCII
//! identifiers that are not macros, integers, punctuation, a trailing comment) are
//! tokenized in one pass that leaves the scanner exactly where the general path would;
//! everything else (directives, macros, strings, other numbers, non-ASCII) takes the
//! general path, so output and errors are unchanged.
//!
//! The scanner never panics and bounds every recursion (macro nesting, include depth,
//! macro expansion size).

#![warn(missing_docs)]
#![forbid(unsafe_code)]

mod arch;
mod experiment;
mod lex;
mod parse;
mod scanner;
#[rustfmt::skip]
mod tables;
#[rustfmt::skip]
mod tables_versions;
mod util;
mod version;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::rc::Rc;

pub use arch::GOARCHES;

/// The Go toolchain version the generated tables come from.
pub const GO_VERSION: &str = tables::GO_VERSION;

/// Bumped whenever the scanner's output for some input changes (a fix, a new Go
/// release's rules): build caches keyed on native symabis include it.
pub const SCANNER_REVISION: u32 = 2;

/// The Unicode version of the identifier tables (the toolchain's `unicode.Version`).
pub const UNICODE_VERSION: &str = tables::UNICODE_VERSION;

/// The Unicode version of the identifier tables used for Go release `go_version`
/// (see [`Options::go_version`]).
pub fn unicode_version_for(go_version: Option<(u32, u32)>) -> &'static str {
    if version::GoVersion::new(go_version).unicode17() {
        tables_versions::UNICODE_VERSION_GO127
    } else {
        tables::UNICODE_VERSION
    }
}

/// The (major, minor) of a Go version string as `go env GOVERSION` or
/// `runtime.Version()` print it (`go1.22.10`, `go1.27rc1`, `1.25`, `go1.26.0 X:foo`);
/// `None` for anything else (such as `devel` builds).
pub fn parse_go_version(s: &str) -> Option<(u32, u32)> {
    let s = s.trim();
    let s = s.strip_prefix("go").unwrap_or(s);
    let s = s.split_whitespace().next()?;
    let mut parts = s.split('.');
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?;
    let end = minor
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(minor.len());
    let minor = minor[..end].parse().ok()?;
    Some((major, minor))
}

/// The package path the assembler uses when `-p` is not given (`obj.UnlinkablePkg`).
pub const UNLINKABLE_PKG: &str = "<unlinkable>";

/// Packages whose assembly may use ABI selectors such as `<ABIInternal>` and get
/// `GOEXPERIMENT_*` macros (`allowAsmABIPkgs` in `cmd/internal/objabi/pkgspecial.go`)
/// in [`GO_VERSION`]; other releases have other lists (see [`Options::go_version`]).
pub const ALLOW_ASM_ABI_PKGS: &[&str] = &[
    "runtime",
    "reflect",
    "syscall",
    "internal/bytealg",
    "internal/chacha8rand",
    "internal/runtime/syscall/linux",
    "internal/runtime/syscall/windows",
    "internal/runtime/startlinetest",
];

/// What `asm` is told on its command line (and through `GOOS`/`GOARCH`/`GOEXPERIMENT`).
#[derive(Clone, Debug, Default)]
pub struct Options {
    /// Target GOOS (only matters for the `GOEXPERIMENT_*` macros).
    pub goos: String,
    /// Target GOARCH: selects register names and instruction-suffix syntax.
    pub goarch: String,
    /// `-I DIR`, in order, searched after the directory of each top-level file.
    pub include_dirs: Vec<PathBuf>,
    /// `-D NAME` or `-D NAME=VALUE`, as given.
    pub defines: Vec<String>,
    /// `-p IMPORTPATH`; `None` is the assembler's default, [`UNLINKABLE_PKG`].
    pub pkgpath: Option<String>,
    /// The `GOEXPERIMENT` setting (`None`: the toolchain's baseline for the target).
    pub goexperiment: Option<String>,
    /// `-shared` or `-dynlink`: on riscv64 `X3` (GP) is then not a register name.
    pub shared: bool,
    /// The directory the assembler runs in: relative file and `#include` paths are
    /// resolved against it (`None`: the current directory).
    pub work_dir: Option<PathBuf>,
    /// The Go release (major, minor) whose assembler to model: it decides the
    /// packages allowed to use ABI selectors, the GOEXPERIMENT baseline, register
    /// names, instruction suffixes and the Unicode version of identifiers. `None`:
    /// the release the tables come from ([`GO_VERSION`]). Releases before 1.22 are
    /// treated as 1.22, releases after 1.27 as 1.27.
    pub go_version: Option<(u32, u32)>,
}

impl Options {
    /// The package path `-p` sets.
    pub fn effective_pkgpath(&self) -> &str {
        self.pkgpath.as_deref().unwrap_or(UNLINKABLE_PKG)
    }

    /// Whether this package may use ABI selectors (the successor of the old
    /// `-compiling-runtime` flag, derived from the package path like `asm` does).
    pub fn allow_asm_abi(&self) -> bool {
        version::GoVersion::new(self.go_version)
            .allow_asm_abi_pkgs()
            .contains(&self.effective_pkgpath())
    }
}

/// A failed scan. `Scan` errors display as `file:line: message`, like the assembler.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// GOARCH is not one the assembler knows.
    #[error("unrecognized architecture {0}")]
    UnknownArch(String),
    /// A `-D` name is not one identifier.
    #[error("parsing -D: {0} is not a valid identifier name")]
    BadDefine(String),
    /// The GOEXPERIMENT setting does not parse.
    #[error("invalid GOEXPERIMENT: {0}")]
    BadExperiment(String),
    /// A top-level `.s` file could not be opened.
    #[error("open {path}: {why}")]
    Open {
        /// The path as given.
        path: PathBuf,
        /// Why, in Go's words (`no such file or directory`).
        why: String,
    },
    /// A preprocessing or syntax error at a source position.
    #[error("{file}:{line}: {kind}")]
    Scan {
        /// The file name (as given, as `#include`d, or as set by `#line`).
        file: String,
        /// The line.
        line: usize,
        /// What went wrong.
        kind: ScanError,
    },
}

/// What went wrong at a source position; messages are the Go assembler's.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[allow(missing_docs)]
pub enum ScanError {
    #[error("'#' must be first item on line")]
    HashNotFirst,
    #[error("expected identifier after '#' ; got {got}")]
    ExpectedDirective { got: String },
    #[error("unexpected token after '#': {0}")]
    UnknownDirective(String),
    #[error("expected identifier after # directive ; got {got}")]
    ExpectedMacroName { got: String },
    #[error("redefinition of macro: {0}")]
    MacroRedefinition(String),
    #[error("bad syntax in definition for macro: {0}")]
    BadMacroSyntax(String),
    #[error("duplicate argument {arg} in definition for macro: {name}")]
    DuplicateMacroArgument { arg: String, name: String },
    #[error("bad definition for macro: {0}")]
    BadMacroDefinition(String),
    #[error("missing newline in definition for macro: {0}")]
    MacroMissingNewline(String),
    #[error("can only escape \\ or \\n in definition for macro: {0}")]
    BadMacroEscape(String),
    #[error("unterminated arg list invoking macro: {0}")]
    UnterminatedMacroArgs(String),
    #[error("wrong arg count for macro {0}")]
    WrongArgCount(String),
    #[error("macro expansion too large invoking macro: {0}")]
    ExpansionTooLarge(String),
    #[error("recursive macro invocation")]
    RecursiveMacro,
    #[error("input recursion")]
    InputRecursion,
    #[error("expected newline after {directive} ; got {got}")]
    ExpectedNewline { directive: String, got: String },
    #[error("unmatched #else")]
    UnmatchedElse,
    #[error("unmatched #endif")]
    UnmatchedEndif,
    #[error("unclosed #ifdef or #ifndef")]
    UnclosedIfdef,
    #[error("expected string after #include ; got {got}")]
    ExpectedIncludeFile { got: String },
    #[error("unquoting include file name:  invalid syntax")]
    BadIncludeFile,
    #[error("#include: open {path}: {why}")]
    IncludeNotFound { path: String, why: String },
    #[error("expected line number after #line ; got {got}")]
    ExpectedLineNumber { got: String },
    #[error("error parsing #line (cannot happen): strconv.Atoi: parsing {text}: {}", if *out_of_range { "value out of range" } else { "invalid syntax" })]
    BadLineNumber { text: String, out_of_range: bool },
    #[error("expected file name in #line ; got {got}")]
    ExpectedLineFile { got: String },
    #[error("unquoting #line file name:  invalid syntax")]
    BadLineFile,
    #[error("unexpected token at end of #line:  {0}")]
    LineTrailingToken(String),
    #[error("#undef for undefined macro: {0}")]
    UndefUndefined(String),
    #[error("syntax error in #undef for macro: {0}")]
    UndefSyntax(String),
    #[error("misplaced //go:build comment")]
    MisplacedBuildComment,
    #[error("expected identifier, found {found}")]
    ExpectedIdentifier { found: String },
    #[error("instruction suffix expected identifier, found {0}")]
    SuffixExpectedIdentifier(String),
    #[error("unexpected EOF")]
    UnexpectedEof,
    #[error("invalid ':' in operand")]
    InvalidColon,
    #[error("missing operand")]
    MissingOperand,
    #[error("expected {expected}, found {found}")]
    Expected { expected: String, found: String },
}

/// Where the scanner reads `.s` and `#include`d files from. Paths are Go strings
/// (bytes), exactly as the assembler would pass them to `os.Open`.
pub trait SourceLoader {
    /// The contents of `path`, or why it cannot be opened, in Go's words
    /// (`no such file or directory`). A directory opens as an empty file, as in Go.
    fn load(&self, path: &[u8]) -> Result<Vec<u8>, String>;
}

/// Reads from the file system, relative paths against `work_dir`.
#[derive(Clone, Debug, Default)]
pub struct FsLoader {
    /// Base of relative paths (`None`: the current directory).
    pub work_dir: Option<PathBuf>,
}

fn path_from_bytes(b: &[u8]) -> PathBuf {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        PathBuf::from(std::ffi::OsStr::from_bytes(b))
    }
    #[cfg(not(unix))]
    {
        PathBuf::from(String::from_utf8_lossy(b).into_owned())
    }
}

fn go_io_error(e: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match e.kind() {
        NotFound => "no such file or directory".into(),
        PermissionDenied => "permission denied".into(),
        NotADirectory => "not a directory".into(),
        InvalidInput => "invalid argument".into(),
        _ => {
            let s = e.to_string();
            match s.find(" (os error") {
                Some(i) => s[..i].to_lowercase(),
                None => s.to_lowercase(),
            }
        }
    }
}

impl SourceLoader for FsLoader {
    fn load(&self, path: &[u8]) -> Result<Vec<u8>, String> {
        if path.is_empty() {
            return Err("no such file or directory".into());
        }
        let p = path_from_bytes(path);
        let p = match &self.work_dir {
            Some(d) if p.is_relative() => d.join(p),
            _ => p,
        };
        // os.Open, then reading: a directory opens (and reads as empty), and a read
        // error after a successful open only stops the Go scanner.
        let mut f = std::fs::File::open(&p).map_err(|e| go_io_error(&e))?;
        let len = match f.metadata() {
            Ok(m) if m.is_dir() => return Ok(Vec::new()),
            Ok(m) => m.len() as usize,
            Err(_) => 0,
        };
        let mut buf = Vec::with_capacity(len + 1);
        use std::io::Read;
        if f.read_to_end(&mut buf).is_err() {
            buf.clear();
        }
        Ok(buf)
    }
}

/// In-memory files, keyed by cleaned path (`filepath.Clean`).
#[derive(Clone, Debug, Default)]
pub struct MemLoader {
    files: HashMap<Vec<u8>, Vec<u8>>,
}

impl MemLoader {
    /// An empty file set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Add (or replace) a file.
    pub fn insert(&mut self, path: impl AsRef<[u8]>, contents: impl Into<Vec<u8>>) -> &mut Self {
        self.files
            .insert(util::clean(path.as_ref()), contents.into());
        self
    }
}

impl SourceLoader for MemLoader {
    fn load(&self, path: &[u8]) -> Result<Vec<u8>, String> {
        if path.is_empty() {
            return Err("no such file or directory".into());
        }
        self.files
            .get(&util::clean(path))
            .cloned()
            .ok_or_else(|| "no such file or directory".into())
    }
}

fn path_bytes(p: &Path) -> Vec<u8> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        p.as_os_str().as_bytes().to_vec()
    }
    #[cfg(not(unix))]
    {
        p.to_string_lossy().into_owned().into_bytes()
    }
}

/// One run's file cache over a [`SourceLoader`]: files do not change during a run,
/// so each path is read (or found missing) once, however many files include it.
pub(crate) struct CachingLoader<'a> {
    inner: &'a dyn SourceLoader,
    cache: std::cell::RefCell<LoadCache>,
}

type LoadCache = HashMap<Vec<u8>, Result<scanner::Source, String>, util::FxBuild>;

impl<'a> CachingLoader<'a> {
    pub(crate) fn new(inner: &'a dyn SourceLoader) -> Self {
        CachingLoader {
            inner,
            cache: Default::default(),
        }
    }

    pub(crate) fn load(&self, path: &[u8]) -> Result<scanner::Source, String> {
        if let Some(r) = self.cache.borrow().get(path) {
            return r.clone();
        }
        let r = self.inner.load(path).map(Rc::new);
        self.cache.borrow_mut().insert(path.to_vec(), r.clone());
        r
    }
}

/// `asm -gensymabis` over `files`, read from the file system: the bytes it writes.
pub fn gensymabis(opts: &Options, files: &[PathBuf]) -> Result<String, Error> {
    let loader = FsLoader {
        work_dir: opts.work_dir.clone(),
    };
    gensymabis_with(opts, files, &loader)
}

/// Like [`gensymabis`], reading every file (top-level and included) through `loader`.
pub fn gensymabis_with(
    opts: &Options,
    files: &[PathBuf],
    loader: &dyn SourceLoader,
) -> Result<String, Error> {
    let ver = version::GoVersion::new(opts.go_version);
    let Some(arch) = arch::Arch::get_version(&opts.goarch, opts.shared, ver) else {
        return Err(Error::UnknownArch(opts.goarch.clone()));
    };
    let _unicode = scanner::UnicodeGuard::set(ver.unicode17());
    let mut defines = opts.defines.clone();
    if opts.allow_asm_abi() {
        let exps = experiment::enabled(&opts.goos, &opts.goarch, opts.goexperiment.as_deref(), ver)
            .map_err(Error::BadExperiment)?;
        defines.extend(exps.into_iter().map(|e| format!("GOEXPERIMENT_{e}")));
    }
    let predefined = lex::predefine(&defines)?;
    let include_dirs: Vec<Vec<u8>> = opts.include_dirs.iter().map(|p| path_bytes(p)).collect();
    let pkg_prefix = util::path_to_prefix(opts.effective_pkgpath());
    // Files do not change during one run: read each path (and learn each failure)
    // once, however many files include it.
    let loader = CachingLoader::new(loader);
    let mut out = String::new();
    for f in files {
        let name = path_bytes(f);
        let src = loader.load(&name).map_err(|why| Error::Open {
            path: f.clone(),
            why,
        })?;
        let input = lex::Input::new(&name, src, &include_dirs, &predefined, &loader);
        let mut parser = parse::Parser::new(input, &arch, &pkg_prefix, opts.allow_asm_abi());
        parser.parse_symabis(&mut out)?;
    }
    Ok(out)
}

/// Scan one in-memory source named `name` (include files, if any, come from
/// `loader`); for tests and fuzzing.
pub fn gensymabis_source(
    opts: &Options,
    name: &str,
    src: &[u8],
    loader: &dyn SourceLoader,
) -> Result<String, Error> {
    struct WithMain<'a> {
        name: Vec<u8>,
        src: &'a [u8],
        rest: &'a dyn SourceLoader,
    }
    impl SourceLoader for WithMain<'_> {
        fn load(&self, path: &[u8]) -> Result<Vec<u8>, String> {
            if util::clean(path) == self.name {
                Ok(self.src.to_vec())
            } else {
                self.rest.load(path)
            }
        }
    }
    let l = WithMain {
        name: util::clean(name.as_bytes()),
        src,
        rest: loader,
    };
    gensymabis_with(opts, &[PathBuf::from(name)], &l)
}

#[cfg(test)]
mod tests {
    #[test]
    fn go_versions() {
        use super::parse_go_version as p;
        assert_eq!(p("go1.22.10"), Some((1, 22)));
        assert_eq!(p("go1.27rc1\n"), Some((1, 27)));
        assert_eq!(p("1.25"), Some((1, 25)));
        assert_eq!(p("go1.26.0 X:nodwarf5"), Some((1, 26)));
        assert_eq!(p("devel +abc"), None);
        assert_eq!(super::unicode_version_for(Some((1, 27))), "17.0.0");
        assert_eq!(super::unicode_version_for(None), super::UNICODE_VERSION);
    }
}
