//! ABI report, ABI lints and the post-link ELF checks.
//!
//! Assembly functions use the stack-based ABI0; Go code uses the
//! register-based ABIInternal; the compiler bridges each crossing with a
//! generated wrapper (`cmd/compile/internal/ssagen/abi.go`,
//! `makeABIWrapper`). Everything here is read from the real build, never
//! re-derived from the compiler's rules:
//!
//! - the package's **symabis** (the symabis action's output): what its
//!   assembly defines (`def NAME ABI`) and which Go functions it calls
//!   (`ref NAME ABI`);
//! - the package **archive** (goobj): every text symbol with the
//!   `ABIWrapper` flag is a wrapper the compiler generated; its ABI says the
//!   direction (an ABIInternal wrapper calls an ABI0 function, and the other
//!   way round); FuncInfo and pcsp give its frame;
//! - the **link set** (goobj, resolved like `cmd/link`'s loader) and the
//!   linker's reachability pass: which direct calls (`R_CALL*`) land on a
//!   wrapper, i.e. cross an ABI boundary, and which wrappers the program keeps;
//! - the **program** (ELF, `object` crate): the linker names the ABI0 symbol
//!   of a pair `NAME.abi0` (`mangleABIName` in
//!   `cmd/link/internal/ld/symtab.go`); every wrapper the report expects must
//!   be there, and no global name may be defined twice.
//!
//! Lints (file:line from the Go and assembly sources `go list` selected):
//! [`Lint`]. Their levels are profile settings (`lints.abi`, `lints.<name>`).

//! Modules: [`symabis`], [`scan`], [`lints`], [`report`], [`elf`]. This
//! layer reads facts (the graph, the outputs of a finished build through
//! [`BuildView`]) and emits nothing: the orchestrator reports.

use std::path::PathBuf;

use crate::load::PackageGraph;

pub mod elf;
pub mod lints;
pub mod report;
pub mod scan;
pub mod symabis;

pub use crate::config::lints::{Lint, LintLevel, LintLevels};
pub use elf::*;
pub use lints::*;
pub use report::*;
pub use scan::*;
pub use symabis::*;

/// What a finished build left, as the report and the lints read it
/// (implemented by the orchestrator over its outcome).
pub trait BuildView {
    /// The packages.
    fn graph(&self) -> &PackageGraph;
    /// GOOS.
    fn goos(&self) -> &str;
    /// GOARCH.
    fn goarch(&self) -> &str;
    /// What a main package links, main first (when its link unit was planned).
    fn link_unit(&self, main: usize) -> Option<&[usize]>;
    /// A package's archive, if it was built.
    fn archive(&self, pkg: usize) -> Option<PathBuf>;
    /// A package's symabis (absent when it has no assembly or its symabis
    /// action did not complete).
    fn symabis(&self, pkg: usize) -> Option<Symabis>;
    /// The packages whose compile completed, in graph order.
    fn compiled_packages(&self) -> Vec<usize>;
}

/// The archives of one link unit as files: what the abi-report reads.
#[derive(Debug, Clone)]
pub struct LinkArchives {
    /// The main package's import path.
    pub main: String,
    /// `(path, archive)`, the main package first.
    pub archives: Vec<(String, PathBuf)>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scans_bodyless_decls_and_linknames() {
        let src = "package p\n\nimport \"unsafe\"\n\n// Add is in assembly.\nfunc Add(a, b int64) int64\n\nfunc G(x struct{ a int }) interface{ M() } { return nil }\n\nfunc (t *T) M(\n\tx int,\n) {\n}\n\n//go:linkname now runtime.nanotime\nfunc now() int64\n\nfunc H[T any](x T) (T, error)\nvar f = func() {}\nfunc K() interface{}\nfunc L() { s := \"func X()\"; _ = s }\n";
        let (funcs, links) = scan_go(src);
        let got: Vec<(&str, bool, bool, usize)> = funcs
            .iter()
            .map(|f| (f.name.as_str(), f.method, f.has_body, f.line))
            .collect();
        assert_eq!(
            got,
            vec![
                ("Add", false, false, 6),
                ("G", false, true, 8),
                ("M", true, true, 10),
                ("now", false, false, 16),
                ("H", false, false, 18),
                ("K", false, false, 20),
                ("L", false, true, 21),
            ]
        );
        assert_eq!(
            links,
            vec![GoLinkname {
                local: "now".into(),
                remote: Some("runtime.nanotime".into())
            }]
        );
    }

    #[test]
    fn scans_asm_sites() {
        let src = "#include \"textflag.h\"\n\nTEXT ·Add(SB), NOSPLIT, $0-24\n\tRET\nTEXT ·fast<ABIInternal>(SB), NOSPLIT, $0\n\tCALL runtime·memmove(SB)\n\tMOVQ example·com∕x·tab+8(SB), AX\n\tCALL ·callback(SB) // CALL ·nope(SB)\n";
        let s = scan_asm("a.s", src, "example.com/p");
        let got: Vec<(usize, &str, bool, bool)> = s
            .iter()
            .map(|s| (s.line, s.symbol.as_str(), s.text, s.abi_internal))
            .collect();
        assert_eq!(
            got,
            vec![
                (3, "example.com/p.Add", true, false),
                (5, "example.com/p.fast", true, true),
                (6, "runtime.memmove", false, false),
                (7, "example.com/x.tab", false, false),
                (8, "example.com/p.callback", false, false),
            ]
        );
    }

    #[test]
    fn symabis_and_symbols() {
        let s = Symabis::parse(
            "def example.com/p.Add ABI0\nref example.com/p.cb ABI0\ndef example.com/p.Add ABI0\n",
        );
        assert_eq!(
            s.defs,
            vec![("example.com/p.Add".to_string(), "ABI0".to_string())]
        );
        assert_eq!(s.refs.len(), 1);
        assert_eq!(
            split_symbol("example.com/demo/sum.Add"),
            ("example.com/demo/sum", "Add")
        );
        assert_eq!(split_symbol("runtime.memmove"), ("runtime", "memmove"));
        assert_eq!(
            split_symbol("example.com/p.(*T).M"),
            ("example.com/p", "(*T).M")
        );
    }

    #[test]
    fn elf_check_names_missing_pairs_and_wrappers() {
        // The test binary is an ELF program with a symbol table.
        let exe = std::env::current_exe().unwrap();
        let wrapper = Wrapper {
            symbol: "example.com/p.Gone".into(),
            go_name: "Gone".into(),
            from: "ABI0".into(),
            to: "ABIInternal".into(),
            direction: "ABI0→ABIInternal".into(),
            size: 32,
            frame: 0,
            args: 8,
            max_sp: 8,
            nosplit: true,
            linked: true,
            target_linked: false,
        };
        let report = ProgramReport {
            package: "example.com/p".into(),
            target: "linux/amd64".into(),
            packages: vec![PackageReport {
                package: "example.com/p".into(),
                goroot: false,
                asm_defs: vec![],
                asm_refs: vec![],
                wrappers: vec![wrapper],
                cross_calls: vec![],
                totals: Totals::default(),
            }],
            totals: Totals::default(),
            pairs: vec![("example.com/p.Pair".into(), true)],
        };
        let c = check_elf(&exe, &report.expectations()).unwrap();
        assert!(c.skipped.is_none());
        assert!(!c.ok());
        assert!(
            c.problems
                .iter()
                .any(|p| p.contains("no `example.com/p.Pair.abi0`")),
            "{:?}",
            c.problems
        );
        assert!(
            c.problems
                .iter()
                .any(|p| p.contains("no `example.com/p.Pair`")),
            "{:?}",
            c.problems
        );
        assert!(
            c.problems
                .iter()
                .any(|p| p
                    .contains("wrapper of example.com/p.Gone (package example.com/p) is missing")),
            "{:?}",
            c.problems
        );
        let empty = ProgramReport {
            packages: vec![],
            pairs: vec![],
            ..report
        };
        assert!(check_elf(&exe, &empty.expectations()).unwrap().ok());
    }

    #[test]
    fn lint_levels() {
        let mut l = LintLevels::default();
        assert_eq!(l.level(Lint::MissingDecl), LintLevel::Warn);
        l.set("abi", "deny").unwrap();
        l.set("abi-internal-def", "allow").unwrap();
        assert_eq!(l.level(Lint::MissingDecl), LintLevel::Deny);
        assert_eq!(l.level(Lint::InternalDef), LintLevel::Allow);
        let e = l.set("abi", "deni").unwrap_err();
        assert!(e.contains("did you mean \"deny\"?"), "{e}");
    }
}
