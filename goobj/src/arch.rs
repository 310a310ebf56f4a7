//! Per-architecture parameters the stack check needs (from `cmd/internal/sys/arch.go`).

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arch {
    pub name: &'static str,
    pub ptr_size: u32,
    pub reg_size: u32,
    /// Minimum instruction length = pc quantum of pc-value tables.
    pub min_lc: u32,
    pub has_lr: bool,
    /// Byte order of data (type descriptors) on this architecture.
    pub big_endian: bool,
}

const ARCHS: &[Arch] = &[
    Arch {
        name: "386",
        ptr_size: 4,
        reg_size: 4,
        min_lc: 1,
        has_lr: false,
        big_endian: false,
    },
    Arch {
        name: "amd64",
        ptr_size: 8,
        reg_size: 8,
        min_lc: 1,
        has_lr: false,
        big_endian: false,
    },
    Arch {
        name: "arm",
        ptr_size: 4,
        reg_size: 4,
        min_lc: 4,
        has_lr: true,
        big_endian: false,
    },
    Arch {
        name: "arm64",
        ptr_size: 8,
        reg_size: 8,
        min_lc: 4,
        has_lr: true,
        big_endian: false,
    },
    Arch {
        name: "loong64",
        ptr_size: 8,
        reg_size: 8,
        min_lc: 4,
        has_lr: true,
        big_endian: false,
    },
    Arch {
        name: "mips",
        ptr_size: 4,
        reg_size: 4,
        min_lc: 4,
        has_lr: true,
        big_endian: true,
    },
    Arch {
        name: "mipsle",
        ptr_size: 4,
        reg_size: 4,
        min_lc: 4,
        has_lr: true,
        big_endian: false,
    },
    Arch {
        name: "mips64",
        ptr_size: 8,
        reg_size: 8,
        min_lc: 4,
        has_lr: true,
        big_endian: true,
    },
    Arch {
        name: "mips64le",
        ptr_size: 8,
        reg_size: 8,
        min_lc: 4,
        has_lr: true,
        big_endian: false,
    },
    Arch {
        name: "ppc64",
        ptr_size: 8,
        reg_size: 8,
        min_lc: 4,
        has_lr: true,
        big_endian: true,
    },
    Arch {
        name: "ppc64le",
        ptr_size: 8,
        reg_size: 8,
        min_lc: 4,
        has_lr: true,
        big_endian: false,
    },
    // riscv64: MinLC is 2 since compressed instructions (Go 1.26 arch.go); 4 before.
    Arch {
        name: "riscv64",
        ptr_size: 8,
        reg_size: 8,
        min_lc: 2,
        has_lr: true,
        big_endian: false,
    },
    Arch {
        name: "s390x",
        ptr_size: 8,
        reg_size: 8,
        min_lc: 2,
        has_lr: true,
        big_endian: true,
    },
    Arch {
        name: "wasm",
        ptr_size: 8,
        reg_size: 8,
        min_lc: 1,
        has_lr: false,
        big_endian: false,
    },
];

impl Arch {
    /// Looks up GOARCH. `go_minor` adjusts values that changed between releases.
    pub fn lookup(goarch: &str, go_minor: u32) -> Option<Arch> {
        let mut a = *ARCHS.iter().find(|a| a.name == goarch)?;
        if a.name == "riscv64" && go_minor < 26 {
            a.min_lc = 4;
        }
        Some(a)
    }

    /// `objabi.StackNosplit(race)` minus the call size (and arm64's extra 8 bytes), as
    /// `doStackCheck` in `cmd/link/internal/ld/stackcheck.go` computes its limit.
    pub fn nosplit_limit(&self, goos: &str, race: bool) -> i64 {
        self.nosplit_limit_go(goos, race, 26)
    }

    /// [`nosplit_limit`](Self::nosplit_limit) for objects of Go 1.`go_minor`: openbsd
    /// doubles the guard since Go 1.24 (aix always did). StackNosplitBase is 800 in every
    /// supported release.
    pub fn nosplit_limit_go(&self, goos: &str, race: bool, go_minor: u32) -> i64 {
        // internal/abi.StackNosplitBase; cmd/internal/objabi.stackGuardMultiplier.
        const STACK_NOSPLIT_BASE: i64 = 800;
        let mut mult = 1;
        if goos == "aix" || (goos == "openbsd" && go_minor >= 24) {
            mult += 1;
        }
        if race {
            mult += 1;
        }
        let mut limit = STACK_NOSPLIT_BASE * mult - self.call_size() as i64;
        if self.name == "arm64" {
            limit -= 8;
        }
        limit
    }

    /// Bytes a CALL pushes: the register size on non-LR machines, 0 on LR machines.
    pub fn call_size(&self) -> i32 {
        if self.has_lr {
            0
        } else {
            self.reg_size as i32
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_match_the_linker() {
        // stackcheck.go: StackNosplit(race) - callSize, arm64 another -8.
        let amd64 = Arch::lookup("amd64", 26).expect("amd64");
        assert_eq!(
            (amd64.call_size(), amd64.nosplit_limit("linux", false)),
            (8, 792)
        );
        assert_eq!(amd64.nosplit_limit("linux", true), 1592);
        assert_eq!(amd64.nosplit_limit("openbsd", false), 1592);
        assert_eq!(amd64.nosplit_limit_go("openbsd", false, 23), 792);
        assert_eq!(amd64.nosplit_limit_go("aix", false, 22), 1592);
        let arm64 = Arch::lookup("arm64", 26).expect("arm64");
        assert_eq!(
            (arm64.call_size(), arm64.nosplit_limit("linux", false)),
            (0, 792)
        );
        let riscv = Arch::lookup("riscv64", 26).expect("riscv64");
        assert_eq!(
            (riscv.min_lc, riscv.nosplit_limit("linux", false)),
            (2, 800)
        );
        assert_eq!(Arch::lookup("riscv64", 25).map(|a| a.min_lc), Some(4));
        assert!(Arch::lookup("vax", 26).is_none());
    }
}
