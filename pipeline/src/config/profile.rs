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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BuildMode {
    /// A program (go's default on linux/amd64).
    #[default]
    Exe,
    /// A position-independent program.
    Pie,
    /// A C static library `libNAME.a` with its header `libNAME.h`.
    CArchive,
    /// A C shared library `libNAME.so` with its header `libNAME.h`.
    CShared,
}

impl BuildMode {
    /// Parses a config value.
    pub fn parse(s: &str) -> Option<BuildMode> {
        match s {
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
            BuildMode::Exe => "exe",
            BuildMode::Pie => "pie",
            BuildMode::CArchive => "c-archive",
            BuildMode::CShared => "c-shared",
        }
    }

    /// The code generation flag compile and asm get for this mode on
    /// `goos`/`goarch` (`codegenArg`); it also names the install suffix.
    pub fn codegen_arg(self, goos: &str, goarch: &str) -> Option<&'static str> {
        match (self, goos) {
            (BuildMode::Exe, _) => None,
            (BuildMode::CArchive, "darwin" | "ios") if goarch != "arm64" => None,
            (BuildMode::CArchive | BuildMode::CShared, "windows") => None,
            (BuildMode::Pie, "windows" | "darwin" | "ios" | "android") => None,
            _ => Some("-shared"),
        }
    }

    /// `-installsuffix` of compile and link (`shared` under `-shared`).
    pub fn install_suffix(self, goos: &str, goarch: &str) -> Option<&'static str> {
        self.codegen_arg(goos, goarch).map(|a| &a[1..])
    }

    /// Does the link write a C library with a header (c-archive, c-shared)?
    pub fn is_c_library(self) -> bool {
        matches!(self, BuildMode::CArchive | BuildMode::CShared)
    }
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
}
