//! Per-GOARCH facts the symabis scan needs (`cmd/asm/internal/arch`): register names
//! and register prefixes (an identifier naming a register is never a symbol), and
//! whether instructions take `.SUFFIX` conditions.

use crate::tables;
use crate::tables_versions as tv;
use crate::version::GoVersion;

/// One architecture as `arch.Set(GOARCH)` configures it.
#[derive(Debug)]
pub(crate) struct Arch {
    name: &'static str,
    regs: &'static [&'static str],
    prefixes: &'static [&'static str],
    suffixes: bool,
    /// riscv64 in shared mode: X3 (GP) is not a register (`archRISCV64(shared)`).
    no_x3: bool,
}

/// Every GOARCH the Go assembler supports.
pub const GOARCHES: &[&str] = &[
    "386", "amd64", "arm", "arm64", "loong64", "mips", "mipsle", "mips64", "mips64le", "ppc64",
    "ppc64le", "riscv64", "s390x", "wasm",
];

impl Arch {
    #[cfg(test)]
    pub(crate) fn get(goarch: &str, shared: bool) -> Option<Arch> {
        Self::get_version(goarch, shared, GoVersion::DEFAULT)
    }

    /// The architecture as Go release `ver` configures it.
    pub(crate) fn get_version(goarch: &str, shared: bool, ver: GoVersion) -> Option<Arch> {
        use tables::*;
        let (name, regs, prefixes, suffixes): (
            _,
            &'static [&'static str],
            &'static [&'static str],
            _,
        ) = match goarch {
            "386" => ("386", REGS_I386, PREFIX_I386, true),
            "amd64" => ("amd64", REGS_AMD64, PREFIX_AMD64, true),
            "arm" => ("arm", REGS_ARM, PREFIX_ARM, true),
            "arm64" => ("arm64", REGS_ARM64, PREFIX_ARM64, true),
            "loong64" => ("loong64", REGS_LOONG64, PREFIX_LOONG64, true),
            "mips" => ("mips", REGS_MIPS, PREFIX_MIPS, false),
            "mipsle" => ("mipsle", REGS_MIPSLE, PREFIX_MIPSLE, false),
            "mips64" => ("mips64", REGS_MIPS64, PREFIX_MIPS64, false),
            "mips64le" => ("mips64le", REGS_MIPS64LE, PREFIX_MIPS64LE, false),
            "ppc64" => ("ppc64", REGS_PPC64, PREFIX_PPC64, false),
            "ppc64le" => ("ppc64le", REGS_PPC64LE, PREFIX_PPC64LE, false),
            "riscv64" => ("riscv64", REGS_RISCV64, PREFIX_RISCV64, true),
            "s390x" => ("s390x", REGS_S390X, PREFIX_S390X, false),
            "wasm" => ("wasm", REGS_WASM, PREFIX_WASM, false),
            _ => return None,
        };
        let (regs, prefixes) = match (name, ver.minor()) {
            ("loong64", ..=23) => (tv::REGS_LOONG64_GO122, tv::PREFIX_LOONG64_GO122),
            ("riscv64", ..=23) => (tv::REGS_RISCV64_GO122, prefixes),
            ("arm64", 27..) => (tv::REGS_ARM64_GO127, tv::PREFIX_ARM64_GO127),
            ("wasm", 27..) => (tv::REGS_WASM_GO127, prefixes),
            _ => (regs, prefixes),
        };
        let suffixes = suffixes && ver.has_suffixes(name);
        Some(Arch {
            name,
            regs,
            prefixes,
            suffixes,
            no_x3: shared && name == "riscv64",
        })
    }

    #[allow(dead_code)]
    pub(crate) fn name(&self) -> &'static str {
        self.name
    }

    /// Instructions may carry `.COND` suffixes (ARM, ARM64, AMD64, 386, LOONG64,
    /// RISCV64 in `Parser.line`).
    pub(crate) fn has_suffixes(&self) -> bool {
        self.suffixes
    }

    pub(crate) fn is_register(&self, name: &[u8]) -> bool {
        if self.no_x3 && name == b"X3" {
            return false;
        }
        self.regs
            .binary_search_by(|r| r.as_bytes().cmp(name))
            .is_ok()
    }

    pub(crate) fn is_register_prefix(&self, name: &[u8]) -> bool {
        self.prefixes.iter().any(|p| p.as_bytes() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_are_sorted_and_known() {
        for a in GOARCHES {
            let arch = Arch::get(a, false).unwrap();
            assert!(arch.regs.windows(2).all(|w| w[0] < w[1]), "{a}");
            assert!(!arch.regs.is_empty(), "{a}");
            for v in 22..=27 {
                let arch = Arch::get_version(a, false, GoVersion::new(Some((1, v)))).unwrap();
                assert!(arch.regs.windows(2).all(|w| w[0] < w[1]), "{a} 1.{v}");
            }
        }
        assert!(Arch::get("sparc", false).is_none());
        assert!(Arch::get("amd64", false).unwrap().is_register(b"AX"));
        assert!(!Arch::get("arm64", false).unwrap().is_register(b"AX"));
        assert!(Arch::get("arm64", false).unwrap().is_register_prefix(b"R"));
        assert!(Arch::get("riscv64", false).unwrap().is_register(b"X3"));
        assert!(!Arch::get("riscv64", true).unwrap().is_register(b"X3"));
    }
}
