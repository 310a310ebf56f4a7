//! Builtin symbols (`PkgIdxBuiltin` references), from each release's
//! `cmd/internal/goobj/builtinlist.go` (generated tables in [`crate::tables`]): index =
//! SymIdx of the reference, with the ABI.

pub use crate::tables::{BUILTINS_GO122, BUILTINS_GO126, BUILTINS_GO127};

/// Builtin table for Go 1.`go_minor`, or None if this crate doesn't know that release.
pub fn builtins(go_minor: u32) -> Option<&'static [(&'static str, u16)]> {
    crate::tables::builtins(go_minor)
}
