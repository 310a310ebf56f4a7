//! Reader for Go package archives and Go object files, and the linker's nosplit stack check.
//!
//! Module map:
//! - [`reader`]: archives (`!<arch>`, via the `object` crate) and Go object files
//!   (`\x00go120ld`, `cmd/internal/goobj/objfile.go`): symbols, flags, relocations, aux
//!   symbols, FuncInfo. Bounds-checked; bad input is an [`Error`] naming the archive member
//!   and the offset.
//! - [`pcvalue`]: pc-value tables (pcsp).
//! - [`reloc`]: relocation type numbers of the supported Go releases.
//! - [`linkset`]: a whole link set loaded and resolved like `cmd/link`'s loader (load order,
//!   symbol versions, duplicate resolution).
//! - [`deadcode`]: the linker's reachability pass (which functions end up in the binary).
//! - [`stackcheck`]: `cmd/link/internal/ld/stackcheck.go`, with the linker's output formats.
//!
//! Typical use, before running `link` on the same inputs:
//! ```no_run
//! # fn main() -> Result<(), goobj::Error> {
//! let set = goobj::load_link_set_from_importcfg("b001/_pkg_.a".as_ref(), "b001/importcfg.link".as_ref())?;
//! let report = goobj::stack_check(&set, &goobj::StackCheckOptions { headroom: 64, ..Default::default() });
//! print!("{}", report.format_violations()); // the linker's text
//! print!("{}", report.format_top(10)); // deepest NOSPLIT chains with margins
//! # Ok(()) }
//! ```
//!
//! Only Go 1.26 objects are accepted (relocation numbering and the builtin symbol list
//! change between releases); others give [`Error::LinkSet`] naming the version.

pub mod arch;
pub mod builtin;
pub mod deadcode;
pub mod error;
pub mod linkset;
pub mod pcvalue;
pub mod reader;
pub mod reloc;
pub mod stackcheck;

pub use error::{Error, ObjErrorKind, RawErr};
pub use linkset::{
    load_link_set, load_link_set_from_importcfg, parse_importcfg, CgoExport, Library, LinkMode,
    LinkSet, SymId,
};
pub use reader::{parse_archive_objects, Archive, GoObject};
pub use stackcheck::{stack_check, Chain, Edge, Frame, StackCheckOptions, StackReport, Violation};
