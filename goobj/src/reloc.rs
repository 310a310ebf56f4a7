//! Relocation type names (cmd/internal/objabi/reloctype.go) and symbol kinds.
//!
//! The numbering of relocation types changes between Go releases (types are inserted in
//! the middle of the iota list). The table here is generated from Go 1.26's
//! `reloctype_string.go`; [`RelocTable::for_go`] refuses other versions rather than
//! guessing, except that the handful of types the stack check and dead-code pass need
//! are looked up by name so adding a version is adding a table.

/// Go 1.26 relocation names, index = type number - 1 (R_ADDR = 1).
pub const RELOC_NAMES_GO126: &[&str] = &[
    "R_ADDR",
    "R_ADDRPOWER",
    "R_ADDRARM64",
    "R_ADDRMIPS",
    "R_ADDROFF",
    "R_SIZE",
    "R_CALL",
    "R_CALLARM",
    "R_CALLARM64",
    "R_CALLIND",
    "R_CALLPOWER",
    "R_CALLMIPS",
    "R_CONST",
    "R_PCREL",
    "R_TLS_LE",
    "R_TLS_IE",
    "R_GOTOFF",
    "R_PLT0",
    "R_PLT1",
    "R_PLT2",
    "R_USEFIELD",
    "R_USETYPE",
    "R_USEIFACE",
    "R_USEIFACEMETHOD",
    "R_USENAMEDMETHOD",
    "R_METHODOFF",
    "R_KEEP",
    "R_POWER_TOC",
    "R_GOTPCREL",
    "R_JMPMIPS",
    "R_DWARFSECREF",
    "R_ARM64_TLS_LE",
    "R_ARM64_TLS_IE",
    "R_ARM64_GOTPCREL",
    "R_ARM64_GOT",
    "R_ARM64_PCREL",
    "R_ARM64_PCREL_LDST8",
    "R_ARM64_PCREL_LDST16",
    "R_ARM64_PCREL_LDST32",
    "R_ARM64_PCREL_LDST64",
    "R_ARM64_LDST8",
    "R_ARM64_LDST16",
    "R_ARM64_LDST32",
    "R_ARM64_LDST64",
    "R_ARM64_LDST128",
    "R_POWER_TLS_LE",
    "R_POWER_TLS_IE",
    "R_POWER_TLS",
    "R_POWER_TLS_IE_PCREL34",
    "R_POWER_TLS_LE_TPREL34",
    "R_ADDRPOWER_DS",
    "R_ADDRPOWER_GOT",
    "R_ADDRPOWER_GOT_PCREL34",
    "R_ADDRPOWER_PCREL",
    "R_ADDRPOWER_TOCREL",
    "R_ADDRPOWER_TOCREL_DS",
    "R_ADDRPOWER_D34",
    "R_ADDRPOWER_PCREL34",
    "R_RISCV_JAL",
    "R_RISCV_JAL_TRAMP",
    "R_RISCV_CALL",
    "R_RISCV_PCREL_ITYPE",
    "R_RISCV_PCREL_STYPE",
    "R_RISCV_TLS_IE",
    "R_RISCV_TLS_LE",
    "R_RISCV_GOT_HI20",
    "R_RISCV_GOT_PCREL_ITYPE",
    "R_RISCV_PCREL_HI20",
    "R_RISCV_PCREL_LO12_I",
    "R_RISCV_PCREL_LO12_S",
    "R_RISCV_BRANCH",
    "R_RISCV_ADD32",
    "R_RISCV_SUB32",
    "R_RISCV_RVC_BRANCH",
    "R_RISCV_RVC_JUMP",
    "R_PCRELDBL",
    "R_LOONG64_ADDR_HI",
    "R_LOONG64_ADDR_LO",
    "R_LOONG64_ADDR_PCREL20_S2",
    "R_LOONG64_TLS_LE_HI",
    "R_LOONG64_TLS_LE_LO",
    "R_CALLLOONG64",
    "R_LOONG64_CALL36",
    "R_LOONG64_TLS_IE_HI",
    "R_LOONG64_TLS_IE_LO",
    "R_LOONG64_GOT_HI",
    "R_LOONG64_GOT_LO",
    "R_LOONG64_ADD64",
    "R_LOONG64_SUB64",
    "R_JMP16LOONG64",
    "R_JMP21LOONG64",
    "R_JMPLOONG64",
    "R_ADDRMIPSU",
    "R_ADDRMIPSTLS",
    "R_ADDRCUOFF",
    "R_WASMIMPORT",
    "R_XCOFFREF",
    "R_PEIMAGEOFF",
    "R_INITORDER",
    "R_DWTXTADDR_U1",
    "R_DWTXTADDR_U2",
    "R_DWTXTADDR_U3",
    "R_DWTXTADDR_U4",
];

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
        let names = match go_minor {
            26 => RELOC_NAMES_GO126,
            _ => return None,
        };
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
