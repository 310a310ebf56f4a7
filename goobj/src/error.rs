use std::fmt;
use std::path::PathBuf;

/// What went wrong inside an object file or archive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ObjErrorKind {
    /// A read ran past the end of the data.
    Truncated { what: &'static str },
    /// Not a Go object file at all (e.g. an ELF host object, random bytes).
    Foreign { found: String },
    /// A Go object file in a newer (or older) format than `\x00go120ld`.
    UnsupportedFormat { magic: String },
    /// The "go object GOOS GOARCH goX.Y" line names a Go version we don't know.
    UnsupportedGoVersion { version: String },
    /// Internally inconsistent data (bad offsets, bad indices...).
    Malformed { what: String },
}

impl fmt::Display for ObjErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjErrorKind::Truncated { what } => write!(f, "truncated object file (reading {what})"),
            ObjErrorKind::Foreign { found } => {
                write!(f, "not a Go object file (found {found})")
            }
            ObjErrorKind::UnsupportedFormat { magic } => write!(
                f,
                "unsupported Go object format {magic} (this reader knows \\x00go120ld, Go 1.20+)"
            ),
            ObjErrorKind::UnsupportedGoVersion { version } => {
                write!(f, "object built by unsupported Go version {version}")
            }
            ObjErrorKind::Malformed { what } => write!(f, "malformed object file: {what}"),
        }
    }
}

/// Errors of this crate. Every error names the file (and archive member) and, for
/// object data, the byte offset inside the archive file where the problem was found.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("{location}: malformed archive: {msg}")]
    Archive { location: String, msg: String },
    #[error("{location} @{offset:#x}: {kind}")]
    Object {
        location: String,
        offset: u64,
        kind: ObjErrorKind,
    },
    #[error("link set: {0}")]
    LinkSet(String),
}

/// Internal error carrying an offset relative to the start of the object bytes.
#[derive(Debug, Clone)]
/// An error inside one object, with the offset relative to the object bytes.
pub struct RawErr {
    pub offset: u64,
    pub kind: ObjErrorKind,
}

pub type RawResult<T> = std::result::Result<T, RawErr>;

pub(crate) fn trunc(offset: u64, what: &'static str) -> RawErr {
    RawErr {
        offset,
        kind: ObjErrorKind::Truncated { what },
    }
}

pub(crate) fn malformed(offset: u64, what: impl Into<String>) -> RawErr {
    RawErr {
        offset,
        kind: ObjErrorKind::Malformed { what: what.into() },
    }
}
