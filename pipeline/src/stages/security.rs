//! Which flags a package may give the C compiler and linker: the allow-lists
//! cmd/go checks `#cgo` directives, `pkg-config` arguments and output
//! against (`checkCompilerFlags`, `checkLinkerFlags`, `checkPkgConfigFlags`
//! in security.go), so that a dependency cannot run code at build time
//! through `-fplugin=`, `-Wl,--plugin` or an `@file`. A refused flag gets
//! go's refusal, word for word: `PKG: invalid flag in #cgo CFLAGS: -fplugin=x
//! (see https://go.dev/s/invalidflag)`. `CGO_<NAME>_ALLOW` and
//! `CGO_<NAME>_DISALLOW` (environment or `go env -w`) override the lists for
//! the directives and pkg-config output, as they do for go. Flags from the
//! environment (`CGO_CFLAGS`, …) are the user's own and are not checked.
//!
//! The lists are Go 1.26's. A flag is on a list when a pattern's leftmost
//! match is the whole flag (Go's `re.FindString(arg) == arg`; Rust's `regex`
//! finds leftmost-first matches as Go's `regexp` does).

use std::sync::OnceLock;

use regex::Regex;

/// One of cmd/go's flag lists, compiled.
struct FlagList {
    /// Flags that are refused even when a valid pattern matches them.
    denied: Vec<Regex>,
    /// Patterns a flag must match whole.
    valid: Vec<Regex>,
    /// Flags whose argument is the next word (`-I dir`).
    with_next: &'static [&'static str],
    /// Whether `CGO_<NAME>_ALLOW`/`_DISALLOW` apply.
    overrides: bool,
}

/// Which list a check uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FlagKind {
    /// CPPFLAGS, CFLAGS, CXXFLAGS, FFLAGS and `pkg-config --cflags`.
    Compiler,
    /// LDFLAGS and `pkg-config --libs`.
    Linker,
    /// The `--` arguments of a `#cgo pkg-config` line.
    PkgConfig,
}

fn compile(patterns: &[&str]) -> Vec<Regex> {
    patterns
        .iter()
        .map(|p| Regex::new(p).expect("cmd/go's flag patterns are valid regular expressions"))
        .collect()
}

fn list(kind: FlagKind) -> &'static FlagList {
    static COMPILER_LIST: OnceLock<FlagList> = OnceLock::new();
    static LINKER_LIST: OnceLock<FlagList> = OnceLock::new();
    static PKG_CONFIG_LIST: OnceLock<FlagList> = OnceLock::new();
    match kind {
        FlagKind::Compiler => COMPILER_LIST.get_or_init(|| FlagList {
            denied: Vec::new(),
            valid: compile(COMPILER),
            with_next: COMPILER_NEXT,
            overrides: true,
        }),
        FlagKind::Linker => LINKER_LIST.get_or_init(|| FlagList {
            denied: compile(LINKER_DENIED),
            valid: compile(LINKER),
            with_next: LINKER_NEXT,
            overrides: true,
        }),
        FlagKind::PkgConfig => PKG_CONFIG_LIST.get_or_init(|| FlagList {
            denied: Vec::new(),
            valid: compile(PKG_CONFIG),
            with_next: &[],
            overrides: false,
        }),
    }
}

/// Does the leftmost match of `re` in `s` cover all of `s`?
fn whole(re: &Regex, s: &str) -> bool {
    re.find(s)
        .is_some_and(|m| m.start() == 0 && m.end() == s.len())
}

/// cmd/go's `load.SafeArg`: a word that cannot be taken for a flag or an
/// `@file` by the tool that reads it.
pub fn safe_arg(s: &str) -> bool {
    s.chars().next().is_some_and(|c| {
        c.is_ascii_alphanumeric() || c == '.' || c == '_' || c == '/' || !c.is_ascii()
    })
}

/// Checks `flags` (from `source`, e.g. `#cgo CFLAGS`) against the list of
/// `kind`; `name` (`CFLAGS`, `LDFLAGS`, …) names the override variables,
/// which `getenv` reads. The error is go's message, without the package.
pub fn check_flags(
    kind: FlagKind,
    name: &str,
    source: &str,
    flags: &[String],
    getenv: &dyn Fn(&str) -> Option<String>,
) -> Result<(), String> {
    let l = list(kind);
    let (mut allow, mut disallow) = (None, None);
    if l.overrides {
        for (suffix, slot) in [("ALLOW", &mut allow), ("DISALLOW", &mut disallow)] {
            let var = format!("CGO_{name}_{suffix}");
            if let Some(v) = getenv(&var).filter(|v| !v.is_empty()) {
                *slot = Some(Regex::new(&v).map_err(|e| format!("parsing ${var}: {e}"))?);
            }
        }
    }
    let bad =
        |arg: &str| format!("invalid flag in {source}: {arg} (see https://go.dev/s/invalidflag)");
    let mut i = 0;
    'args: while i < flags.len() {
        let arg = flags[i].as_str();
        i += 1;
        if disallow.as_ref().is_some_and(|re| whole(re, arg)) {
            return Err(bad(arg));
        }
        if allow.as_ref().is_some_and(|re| whole(re, arg)) {
            continue;
        }
        if l.denied.iter().any(|re| whole(re, arg)) {
            return Err(bad(arg));
        }
        // `-Wl,--push-state,--as-needed`: every part must be valid alone
        // (cmd/go looks at this before any pattern but its first, which
        // never matches a `-Wl,` flag).
        if !l.valid.is_empty() && arg.starts_with("-Wl,--push-state,") {
            for part in arg.split(',').skip(1) {
                let a = format!("-Wl,{part}");
                if !l.valid.iter().any(|re| whole(re, &a))
                    || l.denied.iter().any(|re| whole(re, &a))
                {
                    return Err(bad(arg));
                }
            }
            continue;
        }
        if l.valid.iter().any(|re| whole(re, arg)) {
            continue;
        }
        if l.with_next.contains(&arg) {
            let Some(next) = flags.get(i) else {
                return Err(format!(
                    "invalid flag in {source}: {arg} without argument (see https://go.dev/s/invalidflag)"
                ));
            };
            // `-I dir`; `-Wl,-framework -Wl,name`; `-I =dir`, `-I $SYSROOT/dir`.
            let wl = arg.starts_with("-Wl,")
                && next
                    .strip_prefix("-Wl,")
                    .is_some_and(|n| safe_arg(n) && !n.contains(','));
            let sysroot = arg == "-I"
                && (next.starts_with('=') || next.starts_with("$SYSROOT"))
                && safe_arg(&next[1..]);
            if safe_arg(next) || wl || sysroot {
                i += 1;
                continue 'args;
            }
            return Err(format!(
                "invalid flag in {source}: {arg} {next} (see https://go.dev/s/invalidflag)"
            ));
        }
        return Err(bad(arg));
    }
    Ok(())
}

/// cmd/go's `checkCompilerFlagsForInternalLink`: may objects compiled with
/// these C, C++ or Fortran flags go to the internal linker? Not when a flag
/// is off the compiler list (no overrides apply) or is `-flto…`; then the
/// package's archive gets a `preferlinkext` member and the linker links
/// externally.
pub fn internal_link_compatible(flags: &[String]) -> bool {
    check_flags(FlagKind::Compiler, "", "", flags, &|_| None).is_ok()
        && !flags.iter().any(|f| f.starts_with("-flto"))
}

const COMPILER: &[&str] = &[
    r"-D([A-Za-z_][A-Za-z0-9_]*)(=[^@\-]*)?",
    r"-U([A-Za-z_][A-Za-z0-9_]*)",
    r"-F([^@\-].*)",
    r"-I([^@\-].*)",
    r"-O",
    r"-O([^@\-].*)",
    r"-W",
    r"-W([^@,]+)",
    r"-Wa,-mbig-obj",
    r"-Wp,-D([A-Za-z_][A-Za-z0-9_]*)(=[^@,\-]*)?",
    r"-Wp,-U([A-Za-z_][A-Za-z0-9_]*)",
    r"-ansi",
    r"-f(no-)?asynchronous-unwind-tables",
    r"-f(no-)?blocks",
    r"-f(no-)builtin-[a-zA-Z0-9_]*",
    r"-f(no-)?common",
    r"-f(no-)?constant-cfstrings",
    r"-fdebug-prefix-map=([^@]+)=([^@]+)",
    r"-fdiagnostics-show-note-include-stack",
    r"-ffile-prefix-map=([^@]+)=([^@]+)",
    r"-fno-canonical-system-headers",
    r"-f(no-)?eliminate-unused-debug-types",
    r"-f(no-)?exceptions",
    r"-f(no-)?fast-math",
    r"-f(no-)?inline-functions",
    r"-finput-charset=([^@\-].*)",
    r"-f(no-)?fat-lto-objects",
    r"-f(no-)?keep-inline-dllexport",
    r"-f(no-)?lto",
    r"-fmacro-backtrace-limit=(.+)",
    r"-fmessage-length=(.+)",
    r"-f(no-)?modules",
    r"-f(no-)?objc-arc",
    r"-f(no-)?objc-nonfragile-abi",
    r"-f(no-)?objc-legacy-dispatch",
    r"-f(no-)?omit-frame-pointer",
    r"-f(no-)?openmp(-simd)?",
    r"-f(no-)?permissive",
    r"-f(no-)?(pic|PIC|pie|PIE)",
    r"-f(no-)?plt",
    r"-f(no-)?rtti",
    r"-f(no-)?split-stack",
    r"-f(no-)?stack-(.+)",
    r"-f(no-)?strict-aliasing",
    r"-f(un)signed-char",
    r"-f(no-)?use-linker-plugin",
    r"-f(no-)?visibility-inlines-hidden",
    r"-fsanitize=(.+)",
    r"-fsanitize-undefined-strip-path-components=(-)?[0-9]+",
    r"-ftemplate-depth-(.+)",
    r"-ftls-model=(global-dynamic|local-dynamic|initial-exec|local-exec)",
    r"-fvisibility=(.+)",
    r"-g([^@\-].*)?",
    r"-m32",
    r"-m64",
    r"-m(abi|arch|cpu|fpu|simd|tls-dialect|tune)=([^@\-].*)",
    r"-m(no-)?v?aes",
    r"-marm",
    r"-mcmodel=[0-9a-z-]+",
    r"-mfloat-abi=([^@\-].*)",
    r"-m(soft|single|double)-float",
    r"-mfpmath=[0-9a-z,+]*",
    r"-m(no-)?avx[0-9a-z.]*",
    r"-m(no-)?ms-bitfields",
    r"-m(no-)?stack-(.+)",
    r"-mmacosx-(.+)",
    r"-m(no-)?relax",
    r"-m(no-)?strict-align",
    r"-m(no-)?(lsx|lasx|frecipe|div32|lam-bh|lamcas|ld-seq-sa)",
    r"-mios-simulator-version-min=(.+)",
    r"-miphoneos-version-min=(.+)",
    r"-mlarge-data-threshold=[0-9]+",
    r"-mtvos-simulator-version-min=(.+)",
    r"-mtvos-version-min=(.+)",
    r"-mwatchos-simulator-version-min=(.+)",
    r"-mwatchos-version-min=(.+)",
    r"-mnop-fun-dllimport",
    r"-m(no-)?sse[0-9.]*",
    r"-m(no-)?ssse3",
    r"-mthumb(-interwork)?",
    r"-mthreads",
    r"-mwindows",
    r"-no-canonical-prefixes",
    r"--param=ssp-buffer-size=[0-9]*",
    r"-pedantic(-errors)?",
    r"-pipe",
    r"-pthread",
    r"--static",
    r"-?-std=([^@\-].*)",
    r"-?-stdlib=([^@\-].*)",
    r"--sysroot=([^@\-].*)",
    r"-w",
    r"-x([^@\-].*)",
    r"-v",
];

const COMPILER_NEXT: &[&str] = &[
    "-arch",
    "-D",
    "-U",
    "-I",
    "-F",
    "-framework",
    "-include",
    "-isysroot",
    "-isystem",
    "--sysroot",
    "-target",
    "-x",
];

const LINKER_DENIED: &[&str] = &[r"-lto_library"];

const LINKER: &[&str] = &[
    r"-F([^@\-].*)",
    r"-l([^@\-].*)",
    r"-L([^@\-].*)",
    r"-O",
    r"-O([^@\-].*)",
    r"-f(no-)?(pic|PIC|pie|PIE)",
    r"-f(no-)?openmp(-simd)?",
    r"-fsanitize=([^@\-].*)",
    r"-flat_namespace",
    r"-g([^@\-].*)?",
    r"-headerpad_max_install_names",
    r"-m(abi|arch|cpu|fpu|simd|tls-dialect|tune)=([^@\-].*)",
    r"-mcmodel=[0-9a-z-]+",
    r"-mfloat-abi=([^@\-].*)",
    r"-m(soft|single|double)-float",
    r"-m(no-)?relax",
    r"-m(no-)?strict-align",
    r"-m(no-)?(lsx|lasx|frecipe|div32|lam-bh|lamcas|ld-seq-sa)",
    r"-mmacosx-(.+)",
    r"-mios-simulator-version-min=(.+)",
    r"-miphoneos-version-min=(.+)",
    r"-mthreads",
    r"-mwindows",
    r"-(pic|PIC|pie|PIE)",
    r"-pthread",
    r"-rdynamic",
    r"-shared",
    r"-?-static([-a-z0-9+]*)",
    r"-?-stdlib=([^@\-].*)",
    r"-v",
    r"-Wl,--(no-)?allow-multiple-definition",
    r"-Wl,--(no-)?allow-shlib-undefined",
    r"-Wl,--(no-)?as-needed",
    r"-Wl,-Bdynamic",
    r"-Wl,-berok",
    r"-Wl,-Bstatic",
    r"-Wl,-Bsymbolic-functions",
    r"-Wl,-O[0-9]+",
    r"-Wl,-d[ny]",
    r"-Wl,--disable-new-dtags",
    r"-Wl,-e[=,][a-zA-Z0-9]+",
    r"-Wl,--enable-new-dtags",
    r"-Wl,--end-group",
    r"-Wl,--(no-)?export-dynamic",
    r"-Wl,-E",
    r"-Wl,-framework,[^,@\-][^,]*",
    r"-Wl,--hash-style=(sysv|gnu|both)",
    r"-Wl,-headerpad_max_install_names",
    r"-Wl,--no-undefined",
    r"-Wl,--pop-state",
    r"-Wl,--push-state",
    r"-Wl,-R,?([^@\-,][^,@]*$)",
    r"-Wl,--just-symbols[=,]([^,@\-][^,@]*)",
    r"-Wl,-rpath(-link)?[=,]([^,@\-][^,]*)",
    r"-Wl,-s",
    r"-Wl,-search_paths_first",
    r"-Wl,-sectcreate,([^,@\-][^,]*),([^,@\-][^,]*),([^,@\-][^,]*)",
    r"-Wl,--start-group",
    r"-Wl,-?-static",
    r"-Wl,-?-subsystem,(native|windows|console|posix|xbox)",
    r"-Wl,-syslibroot[=,]([^,@\-][^,]*)",
    r"-Wl,-undefined[=,]([^,@\-][^,]*)",
    r"-Wl,-?-unresolved-symbols=[^,]+",
    r"-Wl,--(no-)?warn-([^,]+)",
    r"-Wl,-?-wrap[=,][^,@\-][^,]*",
    r"-Wl(,-z,(relro|now|(no)?execstack))+",
    r"[a-zA-Z0-9_/].*\.(a|o|obj|dll|dylib|so|tbd)",
    r"\./.*\.(a|o|obj|dll|dylib|so|tbd)",
];

const LINKER_NEXT: &[&str] = &[
    "-arch",
    "-F",
    "-l",
    "-L",
    "-framework",
    "-isysroot",
    "--sysroot",
    "-target",
    "-Wl,-framework",
    "-Wl,-rpath",
    "-Wl,-R",
    "-Wl,--just-symbols",
    "-Wl,-undefined",
];

const PKG_CONFIG: &[&str] = &[
    r"--atleast-pkgconfig-version=\d+\.\d+\.\d+",
    r"--atleast-version=\d+\.\d+\.\d+",
    r"--cflags-only-I",
    r"--cflags",
    r"--define-prefix",
    r"--define-variable=[A-Za-z_][A-Za-z0-9_]*=[^@\-]*",
    r"--digraph",
    r"--dont-define-prefix",
    r"--dont-relocate-paths",
    r"--dump-personality",
    r"--env-only",
    r"--errors-to-stdout",
    r"--exact-version=\d+\.\d+\.\d+",
    r"--exists",
    r"--fragment-filter=[A-Za-z_][a-zA-Z0-9_]*",
    r"--ignore-conflicts",
    r"--internal-cflags",
    r"--keep-system-cflags",
    r"--keep-system-libs",
    r"--libs-only-l",
    r"--libs-only-L",
    r"--libs",
    r"--list-all",
    r"--list-package-names",
    r"--max-version=\d+\.\d+\.\d+",
    r"--maximum-traverse-depth=[0-9]+",
    r"--modversion",
    r"--msvc-syntax",
    r"--no-cache",
    r"--no-provides",
    r"--no-uninstalled",
    r"--path",
    r"--personality=(triplet|filename)",
    r"--prefix-variable=[A-Za-z_][a-zA-Z0-9_]*",
    r"--print-errors",
    r"--print-provides",
    r"--print-requires-private",
    r"--print-requires",
    r"--print-variables",
    r"--pure",
    r"--shared",
    r"--short-errors",
    r"--silence-errors",
    r"--simulate",
    r"--static",
    r"--uninstalled",
    r"--validate",
    r"--variable=[A-Za-z_][a-zA-Z0-9_]*",
    r"--with-path=[^@\-].*",
];

#[cfg(test)]
mod tests {
    use super::*;

    fn check(kind: FlagKind, flags: &[&str]) -> Result<(), String> {
        let flags: Vec<String> = flags.iter().map(|s| s.to_string()).collect();
        check_flags(kind, "CFLAGS", "#cgo CFLAGS", &flags, &|_| None)
    }

    #[test]
    fn a_pattern_must_match_the_whole_flag() {
        assert!(check(FlagKind::Compiler, &["-O2", "-Wall", "-DX=1", "-I", "inc"]).is_ok());
        // `-O` matches the start of `-O@x` only.
        assert_eq!(
            check(FlagKind::Compiler, &["-O@x"]).unwrap_err(),
            "invalid flag in #cgo CFLAGS: -O@x (see https://go.dev/s/invalidflag)"
        );
        assert!(check(FlagKind::Linker, &["-lto_library"]).is_err());
        assert!(check(FlagKind::Linker, &["-lm", "libx.a", "./y.so"]).is_ok());
    }

    #[test]
    fn a_flag_with_an_argument_needs_a_safe_one() {
        assert_eq!(
            check(FlagKind::Compiler, &["-I"]).unwrap_err(),
            "invalid flag in #cgo CFLAGS: -I without argument (see https://go.dev/s/invalidflag)"
        );
        assert_eq!(
            check(FlagKind::Compiler, &["-I", "@rsp"]).unwrap_err(),
            "invalid flag in #cgo CFLAGS: -I @rsp (see https://go.dev/s/invalidflag)"
        );
        assert!(check(FlagKind::Compiler, &["-I", "=/usr/include"]).is_ok());
        assert!(check(FlagKind::Linker, &["-Wl,-framework", "-Wl,Cocoa"]).is_ok());
        assert!(check(FlagKind::Linker, &["-Wl,-framework", "-Wl,a,b"]).is_err());
    }

    #[test]
    fn push_state_parts_are_checked_one_by_one() {
        assert!(check(FlagKind::Linker, &["-Wl,--push-state,--as-needed"]).is_ok());
        assert!(check(FlagKind::Linker, &["-Wl,--push-state,--as-needed,-fplugin"]).is_err());
    }

    #[test]
    fn overrides_allow_and_disallow() {
        let flags = vec!["-fplugin=x.so".to_string()];
        let allow = |k: &str| (k == "CGO_CFLAGS_ALLOW").then(|| "-fplugin=.*".to_string());
        assert!(check_flags(FlagKind::Compiler, "CFLAGS", "s", &flags, &allow).is_ok());
        let flags = vec!["-O2".to_string()];
        let deny = |k: &str| (k == "CGO_CFLAGS_DISALLOW").then(|| "-O.*".to_string());
        assert!(check_flags(FlagKind::Compiler, "CFLAGS", "s", &flags, &deny).is_err());
        let bad = |_: &str| Some("(".to_string());
        assert!(check_flags(FlagKind::Compiler, "CFLAGS", "s", &flags, &bad)
            .unwrap_err()
            .starts_with("parsing $CGO_CFLAGS_ALLOW"));
    }

    #[test]
    fn lto_prefers_the_external_linker() {
        let v = |s: &[&str]| s.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert!(internal_link_compatible(&v(&["-O2", "-g"])));
        assert!(!internal_link_compatible(&v(&["-O2", "-flto"])));
        assert!(!internal_link_compatible(&v(&["-fplugin=x"])));
    }

    /// Any words at all: an answer, never a panic (multi-byte characters
    /// after `=` and `$` included).
    #[test]
    fn arbitrary_flags_never_panic() {
        let alphabet = [
            "-",
            "I",
            "=",
            "$",
            "é",
            "@",
            ",",
            "Wl",
            "-Wl,",
            "--push-state",
            "x",
            "",
            "D",
            "λ",
        ];
        let mut seed = 0x9e3779b97f4a7c15u64;
        for _ in 0..3000 {
            let mut flags = Vec::new();
            for _ in 0..(seed % 4) {
                let mut w = String::new();
                for _ in 0..(seed % 5) {
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    w.push_str(alphabet[(seed % alphabet.len() as u64) as usize]);
                }
                flags.push(w);
            }
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1);
            for kind in [FlagKind::Compiler, FlagKind::Linker, FlagKind::PkgConfig] {
                let _ = check_flags(kind, "CFLAGS", "s", &flags, &|_| None);
            }
        }
    }
}
