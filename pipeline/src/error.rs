//! Errors of the engine, each mapped to the exit code of the CLI contract:
//! 101 when the build or a check failed, 102 when the workspace or the
//! toolchain could not be loaded, 1 for anything unexpected.

use std::path::PathBuf;

/// A result with the engine's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Exit codes of the CLI contract.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitCode {
    /// A build or check failed (compile error, package error, stack overflow).
    BuildFailed = 101,
    /// The workspace, its config or the toolchain could not be loaded.
    Config = 102,
    /// Anything unexpected (I/O errors, bugs).
    Internal = 1,
}

/// Everything that can stop a build.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// No usable Go toolchain.
    #[error("{message}")]
    Toolchain {
        /// What is wrong, with a hint saying what to install or set.
        message: String,
    },
    /// `go list` reported errors in packages (positions included).
    #[error("{}", .errors.join("\n"))]
    Packages {
        /// One line per error, `file:line:col: message` where known.
        errors: Vec<String>,
    },
    /// The patterns matched no package.
    #[error("no packages matched {patterns:?} (hint: patterns are resolved like `go build`'s, relative to the current directory)")]
    NoPackages {
        /// The patterns given.
        patterns: Vec<String>,
    },
    /// A package needs cgo, which is off (`CGO_ENABLED=0`).
    #[error("package {package} needs cgo, which is off (CGO_ENABLED=0): {} import \"C\" (hint: set CGO_ENABLED=1 with a C compiler installed, or provide a pure-Go fallback behind a `!cgo` build constraint)", .files.join(", "))]
    Cgo {
        /// The package's import path.
        package: String,
        /// Its files that use cgo.
        files: Vec<String>,
    },
    /// cgo is on, a package needs it, and the C compiler is not there.
    #[error("package {package} needs cgo, but the C compiler CC={cc} was not found (hint: install gcc, or set CC to a C compiler, or build with CGO_ENABLED=0)")]
    NoCCompiler {
        /// The package's import path.
        package: String,
        /// The `CC` that was looked for.
        cc: String,
    },
    /// One or more actions failed; their output was already reported as diagnostics.
    #[error("could not build: {failed} action(s) failed")]
    BuildFailed {
        /// How many actions failed.
        failed: usize,
    },
    /// A check of the build's outputs failed (ABI lints denied, ELF checks).
    #[error("{message}")]
    Check {
        /// What failed, worded for the user.
        message: String,
    },
    /// Bad configuration or workspace.
    #[error("{0}")]
    Config(String),
    /// A subprocess could not be started or produced unreadable output.
    #[error("running `{program}`: {message}")]
    Tool {
        /// The program.
        program: String,
        /// What went wrong.
        message: String,
    },
    /// An I/O error on a path.
    #[error("{path}: {source}")]
    Io {
        /// The path involved.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
}

impl Error {
    /// The process exit code this error maps to.
    pub fn exit_code(&self) -> ExitCode {
        match self {
            Error::Packages { .. }
            | Error::NoPackages { .. }
            | Error::Cgo { .. }
            | Error::NoCCompiler { .. }
            | Error::BuildFailed { .. }
            | Error::Check { .. } => ExitCode::BuildFailed,
            Error::Toolchain { .. } | Error::Config(_) => ExitCode::Config,
            Error::Tool { .. } | Error::Io { .. } => ExitCode::Internal,
        }
    }

    /// Wraps an I/O error with the path it happened on.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: path.into(),
            source,
        }
    }
}

/// Adds the path to an `io::Result`.
pub trait IoContext<T> {
    /// Attaches `path` to the error.
    fn at(self, path: impl Into<PathBuf>) -> Result<T>;
}

impl<T> IoContext<T> for std::io::Result<T> {
    fn at(self, path: impl Into<PathBuf>) -> Result<T> {
        self.map_err(|e| Error::io(path, e))
    }
}
