//! The resolved build profile: the settings the engine reads (flags, tags,
//! trimpath, symabis mode, per-package rules). Where the values come from
//! (defaults, `configs/*.toml`, Cargo metadata, the command line) is the
//! config layer's business; the engine only sees this value.

/// How the symabis of a package are produced.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SymabisMode {
    /// Run `asm -gensymabis`, as `go build` does.
    Toolchain,
    /// Scan in-process with the native scanner (byte-identical output).
    #[default]
    Native,
}

impl SymabisMode {
    /// Parses a config value.
    pub fn parse(s: &str) -> Option<SymabisMode> {
        match s {
            "toolchain" => Some(SymabisMode::Toolchain),
            "native" => Some(SymabisMode::Native),
            _ => None,
        }
    }
}

/// What the link writes (`-buildmode`, `cmd/go/internal/work.buildModeInit`).
///
/// [`BuildMode::Default`] is go build's `-buildmode=default` (the flag
/// unset): what it means depends on the target, and only
/// [`BuildMode::resolve`] decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildMode {
    /// Unset: a program of the target's default kind (exe, or pie on
    /// windows, darwin, ios and android; `platform.DefaultPIE`).
    #[default]
    Default,
    /// A program, whatever the target's default.
    Exe,
    /// A position-independent program.
    Pie,
    /// A C static library `libNAME.a` with its header `libNAME.h`.
    CArchive,
    /// A C shared library `libNAME.so` with its header `libNAME.h`.
    CShared,
}

/// What a [`BuildMode`] comes to on one target: every flag cmd/go derives
/// from `-buildmode` (`buildModeInit`, and `setBuildInfo` in load/pkg.go).
/// The same in Go 1.22 to 1.27.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResolvedMode {
    /// The link's `-buildmode=` (never `default`).
    pub link: &'static str,
    /// The code generation flag compile and asm get, before the user's
    /// flags (`codegenArg`: `-shared` or none).
    pub codegen_arg: Option<&'static str>,
    /// `-installsuffix` of compile and link: the codegen flag's name, but
    /// not for the default mode ("Don't alter InstallSuffix when modifying
    /// default codegen args").
    pub install_suffix: Option<&'static str>,
    /// `-buildmode` in the build info (`go version -m`): `exe` for the
    /// default mode, PIE or not.
    pub build_info: &'static str,
}

impl BuildMode {
    /// Parses a config value.
    pub fn parse(s: &str) -> Option<BuildMode> {
        match s {
            "default" => Some(BuildMode::Default),
            "exe" => Some(BuildMode::Exe),
            "pie" => Some(BuildMode::Pie),
            "c-archive" => Some(BuildMode::CArchive),
            "c-shared" => Some(BuildMode::CShared),
            _ => None,
        }
    }

    /// The name go uses (`-buildmode=NAME`).
    pub fn as_str(self) -> &'static str {
        match self {
            BuildMode::Default => "default",
            BuildMode::Exe => "exe",
            BuildMode::Pie => "pie",
            BuildMode::CArchive => "c-archive",
            BuildMode::CShared => "c-shared",
        }
    }

    /// The one place that decides what a mode means on `goos`/`goarch`
    /// (gc, no `-race`, no `-linkshared`): `buildModeInit` of cmd/go, which
    /// is the same in Go 1.22 to 1.27. Compile, asm, symabis, link and the
    /// build info all read it.
    pub fn resolve(self, goos: &str, goarch: &str) -> ResolvedMode {
        let (link, codegen_arg) = match self {
            BuildMode::Default if default_pie(goos) => {
                ("pie", (goos != "windows").then_some("-shared"))
            }
            BuildMode::Default | BuildMode::Exe => ("exe", None),
            BuildMode::Pie => (
                "pie",
                (!matches!(goos, "aix" | "windows")).then_some("-shared"),
            ),
            BuildMode::CArchive => {
                let shared = match goos {
                    "darwin" | "ios" => goarch == "arm64",
                    "dragonfly" | "freebsd" | "illumos" | "linux" | "netbsd" | "openbsd"
                    | "solaris" => true,
                    _ => false,
                };
                ("c-archive", shared.then_some("-shared"))
            }
            BuildMode::CShared => (
                "c-shared",
                matches!(goos, "linux" | "android" | "freebsd").then_some("-shared"),
            ),
        };
        let default = self == BuildMode::Default;
        ResolvedMode {
            link,
            codegen_arg,
            install_suffix: codegen_arg.filter(|_| !default).map(|a| &a[1..]),
            build_info: if default { "exe" } else { link },
        }
    }

    /// Does the link write a C library with a header (c-archive, c-shared)?
    pub fn is_c_library(self) -> bool {
        matches!(self, BuildMode::CArchive | BuildMode::CShared)
    }
}

/// `platform.DefaultPIE` without `-race`: the targets whose default build
/// mode is pie.
fn default_pie(goos: &str) -> bool {
    matches!(goos, "android" | "ios" | "windows" | "darwin")
}

/// Flags for the packages matching a pattern (like `-gcflags=pattern=flags`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackageRule {
    /// A cmd/go package pattern: an import path, `prefix/...`, `std`, `cmd`, `all`.
    pub pattern: String,
    /// Extra compile flags.
    pub gcflags: Vec<String>,
    /// Extra asm flags.
    pub asmflags: Vec<String>,
}

impl PackageRule {
    /// Does the rule apply to this package? (`cmd/go/internal/load.MatchPackage`
    /// for patterns without `./`: `...` matches any string, and `x/...` also
    /// matches `x`.)
    pub fn matches(&self, import_path: &str, goroot: bool) -> bool {
        match self.pattern.as_str() {
            "all" => true,
            "std" => goroot && !import_path.starts_with("cmd/") && !import_path.contains('.'),
            "cmd" => goroot && import_path.starts_with("cmd/"),
            pat => match_pattern(pat, import_path),
        }
    }
}

/// cmd/go's `pkgpattern.MatchPattern`: `...` is a wildcard; a trailing
/// `/...` also matches the prefix alone.
pub fn match_pattern(pattern: &str, name: &str) -> bool {
    if let Some(prefix) = pattern.strip_suffix("/...") {
        if name == prefix {
            return true;
        }
    }
    fn rec(p: &[u8], n: &[u8]) -> bool {
        if p.is_empty() {
            return n.is_empty();
        }
        if p.starts_with(b"...") {
            return (0..=n.len()).any(|i| rec(&p[3..], &n[i..]));
        }
        !n.is_empty() && p[0] == n[0] && rec(&p[1..], &n[1..])
    }
    rec(pattern.as_bytes(), name.as_bytes())
}

/// The settings of one build.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    /// Its name (`dev`, `release`…); outputs go under it.
    pub name: String,
    /// Compile flags for the requested packages.
    pub gcflags: Vec<String>,
    /// Assembler flags for the requested packages.
    pub asmflags: Vec<String>,
    /// Linker flags.
    pub ldflags: Vec<String>,
    /// Build tags.
    pub tags: Vec<String>,
    /// Remove file system paths from the outputs.
    pub trimpath: bool,
    /// How symabis are produced.
    pub symabis: SymabisMode,
    /// Per-package flag rules, applied in order after the profile's flags.
    pub package_rules: Vec<PackageRule>,
    /// Fail NOSPLIT chains that come within this many bytes of the limit.
    pub nosplit_headroom: u32,
    /// Levels of the ABI lints (`lints.abi`, `lints.<name>`).
    pub lints: crate::config::lints::LintLevels,
    /// The remote cache (`[remote]`, `[profile.X.remote]`).
    pub remote: RemoteProfile,
    /// What the link writes (`buildmode`).
    pub buildmode: BuildMode,
}

/// How a header value is given: the value itself, or the environment
/// variable that holds it (so the secret stays out of the config).
#[derive(Clone, PartialEq, Eq)]
pub enum HeaderValue {
    /// The value.
    Literal(String),
    /// `{ env = "NAME" }`: read from the environment at build time.
    Env(String),
}

impl std::fmt::Debug for HeaderValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            HeaderValue::Literal(_) => f.write_str("<secret>"),
            HeaderValue::Env(n) => write!(f, "${n}"),
        }
    }
}

/// The remote cache settings of a profile (before the environment and the
/// command line).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RemoteProfile {
    /// `grpc://HOST:PORT` or `grpcs://HOST:PORT`; none: no remote.
    pub cache: Option<String>,
    /// The REAPI instance name.
    pub instance_name: String,
    /// Headers for every call.
    pub headers: std::collections::BTreeMap<String, HeaderValue>,
    /// Upload what this machine builds (false: read-only, e.g. untrusted CI).
    pub upload: bool,
    /// Per-call timeout.
    pub timeout: std::time::Duration,
}

impl Default for RemoteProfile {
    fn default() -> Self {
        RemoteProfile {
            cache: None,
            instance_name: String::new(),
            headers: Default::default(),
            upload: true,
            timeout: std::time::Duration::from_secs(20),
        }
    }
}

impl Default for Profile {
    fn default() -> Self {
        Profile {
            name: "dev".into(),
            gcflags: vec![],
            asmflags: vec![],
            ldflags: vec![],
            tags: vec![],
            trimpath: false,
            symabis: SymabisMode::default(),
            package_rules: vec![],
            nosplit_headroom: 0,
            lints: crate::config::lints::LintLevels::default(),
            remote: RemoteProfile::default(),
            buildmode: BuildMode::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_match_like_cmd_go() {
        assert!(match_pattern("example.com/m/...", "example.com/m"));
        assert!(match_pattern("example.com/m/...", "example.com/m/sum"));
        assert!(!match_pattern("example.com/m/...", "example.com/mx"));
        assert!(match_pattern("net/...", "net/http"));
        assert!(match_pattern("fmt", "fmt"));
        assert!(!match_pattern("fmt", "fmtx"));
        assert!(match_pattern(".../sum", "example.com/demo/sum"));
        let std = PackageRule {
            pattern: "std".into(),
            gcflags: vec![],
            asmflags: vec![],
        };
        assert!(std.matches("runtime", true));
        assert!(!std.matches("example.com/x", false));
    }

    /// `go build -n`'s flags for the demo fixture (Go 1.26, CGO_ENABLED=0),
    /// per target and `-buildmode`.
    #[test]
    fn modes_resolve_like_build_mode_init() {
        let r = |m: BuildMode, goos, goarch| {
            let r = m.resolve(goos, goarch);
            (r.link, r.codegen_arg, r.install_suffix, r.build_info)
        };
        use BuildMode::*;
        let shared = Some("-shared");
        let suffix = Some("shared");
        assert_eq!(r(Default, "linux", "amd64"), ("exe", None, None, "exe"));
        assert_eq!(r(Default, "freebsd", "amd64"), ("exe", None, None, "exe"));
        assert_eq!(r(Default, "windows", "amd64"), ("pie", None, None, "exe"));
        assert_eq!(r(Default, "windows", "386"), ("pie", None, None, "exe"));
        assert_eq!(r(Default, "darwin", "arm64"), ("pie", shared, None, "exe"));
        assert_eq!(r(Default, "darwin", "amd64"), ("pie", shared, None, "exe"));
        assert_eq!(r(Exe, "darwin", "arm64"), ("exe", None, None, "exe"));
        assert_eq!(r(Exe, "windows", "amd64"), ("exe", None, None, "exe"));
        assert_eq!(r(Pie, "linux", "amd64"), ("pie", shared, suffix, "pie"));
        assert_eq!(r(Pie, "darwin", "arm64"), ("pie", shared, suffix, "pie"));
        assert_eq!(r(Pie, "windows", "amd64"), ("pie", None, None, "pie"));
        assert_eq!(
            r(CArchive, "linux", "amd64"),
            ("c-archive", shared, suffix, "c-archive")
        );
        assert_eq!(
            r(CArchive, "darwin", "amd64"),
            ("c-archive", None, None, "c-archive")
        );
        assert_eq!(
            r(CShared, "darwin", "arm64"),
            ("c-shared", None, None, "c-shared")
        );
        assert_eq!(
            r(CShared, "windows", "amd64"),
            ("c-shared", None, None, "c-shared")
        );
    }
}
