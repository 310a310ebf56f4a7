//! What differs between the Go releases the scanner models (1.22 through 1.27): the
//! packages allowed to use ABI selectors (`allowAsmABIPkgs` in
//! `cmd/internal/objabi/pkgspecial.go`), the GOEXPERIMENT flags and their baseline
//! (`internal/goexperiment/flags.go`, `internal/buildcfg/exp.go`), register names
//! (`cmd/asm/internal/arch`), the architectures whose instructions take `.SUFFIX`es
//! (`Parser.line`), and the Unicode tables of identifiers and quoting.
//!
//! The lexer (`cmd/asm/internal/lex`, `text/scanner`) and the def/ref rules
//! (`symDefRef`, `funcAddress`) are the same in all of them.

/// A Go release, clamped to the range the scanner knows: releases before 1.22
/// behave as 1.22, releases after 1.27 as 1.27.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) struct GoVersion(u32);

impl GoVersion {
    /// The release the generated tables come from (`tables::GO_VERSION`).
    pub(crate) const DEFAULT: GoVersion = GoVersion(26);

    pub(crate) fn new(v: Option<(u32, u32)>) -> GoVersion {
        match v {
            None => Self::DEFAULT,
            Some((major, _)) if major < 1 => GoVersion(22),
            Some((1, minor)) => GoVersion(minor.clamp(22, 27)),
            Some(_) => GoVersion(27),
        }
    }

    pub(crate) fn minor(self) -> u32 {
        self.0
    }

    /// `allowAsmABIPkgs` of this release.
    pub(crate) fn allow_asm_abi_pkgs(self) -> &'static [&'static str] {
        match self.0 {
            ..=22 => &[
                "runtime",
                "reflect",
                "syscall",
                "internal/bytealg",
                "internal/chacha8rand",
                "runtime/internal/syscall",
                "runtime/internal/startlinetest",
            ],
            23 | 24 => &[
                "runtime",
                "reflect",
                "syscall",
                "internal/bytealg",
                "internal/chacha8rand",
                "internal/runtime/syscall",
                "runtime/internal/startlinetest",
            ],
            25 => &[
                "runtime",
                "reflect",
                "syscall",
                "internal/bytealg",
                "internal/chacha8rand",
                "internal/runtime/syscall",
                "internal/runtime/startlinetest",
            ],
            26 => crate::ALLOW_ASM_ABI_PKGS,
            _ => &[
                "runtime",
                "reflect",
                "syscall",
                "internal/bytealg",
                "internal/chacha8rand",
                "internal/runtime/syscall/linux",
                "internal/runtime/syscall/windows",
                "internal/runtime/startlinetest",
                "internal/runtime/maps",
            ],
        }
    }

    /// Whether Unicode 17 tables apply (Go 1.27); earlier releases use Unicode 15.
    pub(crate) fn unicode17(self) -> bool {
        self.0 >= 27
    }
}

/// The experiment flags of a release and how its baseline is computed.
pub(crate) struct ExperimentSpec {
    /// The fields of `goexperiment.Flags`, lowercased, in declaration order.
    pub(crate) flags: &'static [&'static str],
    /// GOARCHes where regabi is supported (`regabiSupported`).
    pub(crate) regabi_supported: &'static [&'static str],
    /// GOARCHes where regabi is always on (`regabiAlwaysOn`).
    pub(crate) regabi_always_on: &'static [&'static str],
    /// Flags on in every baseline (besides regabi, dwarf5 and spinbitmutex).
    pub(crate) baseline: &'static [&'static str],
}

const REGABI6: &[&str] = &["amd64", "arm64", "loong64", "ppc64le", "ppc64", "riscv64"];
const REGABI7: &[&str] = &[
    "amd64", "arm64", "loong64", "ppc64le", "ppc64", "riscv64", "s390x",
];

impl GoVersion {
    pub(crate) fn experiments(self) -> ExperimentSpec {
        match self.0 {
            ..=22 => ExperimentSpec {
                flags: &[
                    "staticlockranking",
                    "regabiwrappers",
                    "regabiargs",
                    "heapminimum512kib",
                    "coverageredesign",
                    "arenas",
                    "pagetrace",
                    "cgocheck2",
                    "loopvar",
                    "cacheprog",
                    "newinliner",
                    "rangefunc",
                    "range",
                    "allocheaders",
                    "exectracer2",
                ],
                regabi_supported: REGABI6,
                regabi_always_on: &["amd64", "arm64", "ppc64le", "ppc64", "riscv64"],
                baseline: &["coverageredesign", "allocheaders", "exectracer2"],
            },
            23 => ExperimentSpec {
                flags: &[
                    "staticlockranking",
                    "regabiwrappers",
                    "regabiargs",
                    "heapminimum512kib",
                    "coverageredesign",
                    "arenas",
                    "cgocheck2",
                    "loopvar",
                    "cacheprog",
                    "newinliner",
                    "rangefunc",
                    "aliastypeparams",
                ],
                regabi_supported: REGABI6,
                regabi_always_on: REGABI6,
                baseline: &["coverageredesign"],
            },
            24 => ExperimentSpec {
                flags: &[
                    "staticlockranking",
                    "regabiwrappers",
                    "regabiargs",
                    "heapminimum512kib",
                    "coverageredesign",
                    "arenas",
                    "cgocheck2",
                    "loopvar",
                    "cacheprog",
                    "newinliner",
                    "rangefunc",
                    "aliastypeparams",
                    "swissmap",
                    "spinbitmutex",
                    "synchashtriemap",
                    "synctest",
                ],
                regabi_supported: REGABI6,
                regabi_always_on: REGABI6,
                baseline: &[
                    "coverageredesign",
                    "aliastypeparams",
                    "swissmap",
                    "synchashtriemap",
                ],
            },
            25 => ExperimentSpec {
                flags: &[
                    "staticlockranking",
                    "regabiwrappers",
                    "regabiargs",
                    "heapminimum512kib",
                    "arenas",
                    "cgocheck2",
                    "loopvar",
                    "cacheprog",
                    "newinliner",
                    "rangefunc",
                    "aliastypeparams",
                    "swissmap",
                    "synchashtriemap",
                    "synctest",
                    "dwarf5",
                    "jsonv2",
                    "greenteagc",
                ],
                regabi_supported: REGABI6,
                regabi_always_on: REGABI6,
                baseline: &["aliastypeparams", "swissmap", "synchashtriemap"],
            },
            26 => ExperimentSpec {
                flags: &[
                    "staticlockranking",
                    "regabiwrappers",
                    "regabiargs",
                    "heapminimum512kib",
                    "arenas",
                    "cgocheck2",
                    "loopvar",
                    "newinliner",
                    "dwarf5",
                    "jsonv2",
                    "greenteagc",
                    "randomizedheapbase64",
                    "runtimefreegc",
                    "sizespecializedmalloc",
                    "goroutineleakprofile",
                    "simd",
                    "runtimesecret",
                ],
                regabi_supported: REGABI7,
                regabi_always_on: REGABI6,
                baseline: &["randomizedheapbase64", "greenteagc"],
            },
            _ => ExperimentSpec {
                flags: &[
                    "staticlockranking",
                    "regabiwrappers",
                    "regabiargs",
                    "heapminimum512kib",
                    "arenas",
                    "cgocheck2",
                    "loopvar",
                    "newinliner",
                    "dwarf5",
                    "jsonv2",
                    "greenteagc",
                    "randomizedheapbase64",
                    "runtimefreegc",
                    "sizespecializedmalloc",
                    "simd",
                    "runtimesecret",
                    "mapsplitgroup",
                ],
                regabi_supported: REGABI7,
                regabi_always_on: REGABI7,
                baseline: &[
                    "randomizedheapbase64",
                    "greenteagc",
                    "jsonv2",
                    "sizespecializedmalloc",
                ],
            },
        }
    }

    /// The baseline of `spinbitmutex` (Go 1.24: `haveXchg8`).
    pub(crate) fn spinbit_baseline(self, goarch: &str) -> bool {
        self.0 == 24
            && matches!(
                goarch,
                "386" | "amd64" | "arm" | "arm64" | "ppc64le" | "ppc64"
            )
    }

    /// Whether the baseline has `dwarf5` (1.25 and later, not on darwin/ios/aix).
    pub(crate) fn dwarf5_baseline(self, goos: &str) -> bool {
        self.0 >= 25 && !matches!(goos, "darwin" | "ios" | "aix")
    }

    /// Whether instructions of `goarch` take `.SUFFIX`es (`Parser.line`'s InFamily
    /// list: Loong64 from 1.24, RISCV64 from 1.23).
    pub(crate) fn has_suffixes(self, goarch: &str) -> bool {
        match goarch {
            "386" | "amd64" | "arm" | "arm64" => true,
            "riscv64" => self.0 >= 23,
            "loong64" => self.0 >= 24,
            _ => false,
        }
    }
}
