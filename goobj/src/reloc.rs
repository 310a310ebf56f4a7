//! Relocation type names (cmd/internal/objabi/reloctype.go) and symbol kinds.
//!
//! The numbering of relocation types changes between Go releases (types are inserted in
//! the middle of the iota list). The tables are generated from each release's
//! `reloctype_string.go` (`goobj/tools/gentables`, [`crate::tables`]);
//! [`RelocTable::for_go`] refuses other versions rather than guessing. The handful of
//! types the stack check and dead-code pass need are looked up by name, so adding a
//! release is adding a table.

pub use crate::tables::{RELOC_NAMES_GO122, RELOC_NAMES_GO126, RELOC_NAMES_GO127};

#[derive(Debug, Clone)]
pub struct RelocTable {
    names: &'static [&'static str],
    pub r_callind: u16,
    pub r_methodoff: u16,
    pub r_usetype: u16,
    pub r_useiface: u16,
    pub r_useifacemethod: u16,
    pub r_usenamedmethod: u16,
    pub r_initorder: u16,
    direct_calls: Vec<u16>,
}

impl RelocTable {
    /// Table for Go 1.`go_minor`, or None if unknown.
    pub fn for_go(go_minor: u32) -> Option<RelocTable> {
        let names = crate::tables::reloc_names(go_minor)?;
        let num = |n: &str| -> u16 {
            names
                .iter()
                .position(|x| *x == n)
                .map(|i| i as u16 + 1)
                .unwrap_or(0)
        };
        let direct_calls = [
            "R_CALL",
            "R_CALLARM",
            "R_CALLARM64",
            "R_CALLLOONG64",
            "R_CALLMIPS",
            "R_CALLPOWER",
            "R_RISCV_CALL",
            "R_RISCV_JAL",
            "R_RISCV_JAL_TRAMP",
        ]
        .iter()
        .map(|n| num(n))
        .filter(|&n| n != 0)
        .collect();
        Some(RelocTable {
            names,
            r_callind: num("R_CALLIND"),
            r_methodoff: num("R_METHODOFF"),
            r_usetype: num("R_USETYPE"),
            r_useiface: num("R_USEIFACE"),
            r_useifacemethod: num("R_USEIFACEMETHOD"),
            r_usenamedmethod: num("R_USENAMEDMETHOD"),
            r_initorder: num("R_INITORDER"),
            direct_calls,
        })
    }

    /// Name of a relocation type (weak bit shown as "R_WEAK|").
    pub fn name(&self, typ: u16) -> String {
        let base = typ & 0x7fff;
        let n = match base.checked_sub(1).and_then(|i| self.names.get(i as usize)) {
            Some(n) => n.to_string(),
            None => format!("RelocType({base})"),
        };
        if typ & 0x8000 != 0 {
            format!("R_WEAK|{n}")
        } else {
            n
        }
    }

    /// Number of a relocation type by name.
    pub fn number(&self, name: &str) -> Option<u16> {
        self.names
            .iter()
            .position(|x| *x == name)
            .map(|i| i as u16 + 1)
    }

    /// `RelocType.IsDirectCall` (on the type without the weak bit).
    pub fn is_direct_call(&self, base_type: u16) -> bool {
        self.direct_calls.contains(&base_type)
    }
}

/// Is `SymKind` (objabi) a text kind? STEXT = 1 always; STEXTFIPS = 2 since Go 1.24.
pub fn is_text_kind(kind: u8, go_minor: u32) -> bool {
    kind == 1 || (go_minor >= 24 && kind == 2)
}

// What the nosplit memo (`crate::memo`) leaves out of an archive's normalized
// digest; the loader records when it reads such a field. Here, below both.

/// Are the relocation offsets of a symbol with this kind and flag left out of the
/// normalized digest? (Splittable functions: the check reads their relocations' types
/// and targets only.)
pub(crate) fn offsets_normalized(kind: u8, flag: u8, go_minor: u32) -> bool {
    is_text_kind(kind, go_minor)
        && flag & (crate::reader::symflag::NOSPLIT | crate::reader::symflag::GO_TYPE) == 0
}

/// Is the size of a symbol left out of the normalized digest? (Functions defined by
/// their package, not DUPOK.)
pub(crate) fn size_normalized(package_def: bool, kind: u8, flag: u8, go_minor: u32) -> bool {
    package_def && is_text_kind(kind, go_minor) && flag & crate::reader::symflag::DUPOK == 0
}
