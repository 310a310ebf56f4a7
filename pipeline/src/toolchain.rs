//! The Go toolchain: where `go` is, what `go env -json` says (read once per
//! target), where the tools are, and the target facts that flags and keys
//! depend on (GOOS, GOARCH, the per-arch level such as GOAMD64, GOEXPERIMENT).
//!
//! Version-dependent behaviour is keyed on [`GoVersion`]; the minimum is Go 1.22.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// The oldest Go this engine drives (flags and object format are checked against it).
pub const MIN_GO: GoVersion = GoVersion {
    major: 1,
    minor: 22,
    patch: 0,
};

/// A Go release version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct GoVersion {
    /// 1
    pub major: u32,
    /// e.g. 26
    pub minor: u32,
    /// e.g. 8 (0 for release candidates)
    pub patch: u32,
}

impl GoVersion {
    /// Parses `go1.26.8`, `go1.22rc1`, `go1.22`, `devel go1.27-abc…`.
    pub fn parse(s: &str) -> Option<GoVersion> {
        let s = s.trim();
        let s = s.strip_prefix("devel ").unwrap_or(s);
        let s = s.strip_prefix("go")?;
        let mut nums = s.split(|c: char| !c.is_ascii_digit());
        let major = nums.next()?.parse().ok()?;
        let minor = nums.next()?.parse().ok()?;
        let patch = s
            .split('.')
            .nth(2)
            .and_then(|p| p.split(|c: char| !c.is_ascii_digit()).next())
            .and_then(|p| p.parse().ok())
            .unwrap_or(0);
        Some(GoVersion {
            major,
            minor,
            patch,
        })
    }

    /// The language version `go1.N` (what `-lang` takes).
    pub fn lang(&self) -> String {
        format!("go{}.{}", self.major, self.minor)
    }
}

impl std::fmt::Display for GoVersion {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "go{}.{}.{}", self.major, self.minor, self.patch)
    }
}

/// What the caller wants of the toolchain.
#[derive(Debug, Clone, Default)]
pub struct ToolchainRequest {
    /// An explicit `go` binary (from config); else `$GOROOT/bin/go`, else PATH.
    pub go: Option<PathBuf>,
    /// Target OS override (`--goos`).
    pub goos: Option<String>,
    /// Target arch override (`--goarch`).
    pub goarch: Option<String>,
    /// GOEXPERIMENT override (profiles).
    pub goexperiment: Option<String>,
    /// Per-arch level overrides, e.g. `GOAMD64=v3`.
    pub levels: BTreeMap<String, String>,
}

impl ToolchainRequest {
    /// The environment overrides to apply to every `go` and tool invocation.
    pub fn env_overrides(&self) -> Vec<(String, String)> {
        // CGO_ENABLED is not overridden: `go env` says what the
        // environment (or its default, a C compiler on PATH) makes it.
        let mut env = vec![("GOTOOLCHAIN".to_string(), gotoolchain())];
        if let Some(o) = &self.goos {
            env.push(("GOOS".into(), o.clone()));
        }
        if let Some(a) = &self.goarch {
            env.push(("GOARCH".into(), a.clone()));
        }
        if let Some(x) = &self.goexperiment {
            env.push(("GOEXPERIMENT".into(), x.clone()));
        }
        for (k, v) in &self.levels {
            env.push((k.clone(), v.clone()));
        }
        env
    }
}

/// The engine drives the tools of one GOROOT, so `go` must not switch to
/// another toolchain behind our back, unless the user asked for it.
fn gotoolchain() -> String {
    std::env::var("GOTOOLCHAIN").unwrap_or_else(|_| "local".to_string())
}

/// A Go tool of `GOTOOLDIR`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Tool {
    /// `asm`
    Asm,
    /// `compile`
    Compile,
    /// `link`
    Link,
    /// `preprofile` (Go 1.23+: PGO profiles for the compiler)
    Preprofile,
    /// `cgo` (packages with `import "C"`, when cgo is on)
    Cgo,
    /// `cover` (go test `-cover`)
    Cover,
}

impl Tool {
    /// The tool's file name.
    pub fn name(self) -> &'static str {
        match self {
            Tool::Asm => "asm",
            Tool::Compile => "compile",
            Tool::Link => "link",
            Tool::Preprofile => "preprofile",
            Tool::Cgo => "cgo",
            Tool::Cover => "cover",
        }
    }
}

/// A located, probed Go toolchain for one target.
#[derive(Debug, Clone)]
pub struct Toolchain {
    /// The `go` binary.
    pub go: PathBuf,
    /// `go env -json`, with the request's overrides applied.
    pub env: BTreeMap<String, String>,
    /// Parsed GOVERSION.
    pub version: GoVersion,
    /// The request's overrides (also applied to `go list` and the tools).
    pub overrides: Vec<(String, String)>,
}

impl Toolchain {
    /// Finds `go` and reads `go env -json` for the requested target.
    pub fn probe(req: &ToolchainRequest) -> Result<Toolchain> {
        let go = find_go(req)?;
        let overrides = req.env_overrides();
        let out = duct::cmd(&go, ["env", "-json"])
            .full_env(merged_env(&overrides))
            .stdout_capture()
            .stderr_capture()
            .unchecked()
            .run()
            .map_err(|e| Error::Toolchain {
                message: format!(
                    "could not run `{} env -json`: {e} (hint: install Go 1.22 or newer, or set GOROOT or PATH to one)",
                    go.display()
                ),
            })?;
        if !out.status.success() {
            return Err(Error::Toolchain {
                message: format!(
                    "`{} env -json` failed: {}",
                    go.display(),
                    String::from_utf8_lossy(&out.stderr).trim()
                ),
            });
        }
        let env: BTreeMap<String, String> =
            serde_json::from_slice(&out.stdout).map_err(|e| Error::Toolchain {
                message: format!("`go env -json` printed something unreadable: {e}"),
            })?;
        Toolchain::from_env(go, env, overrides)
    }

    /// Builds a toolchain from an already-read `go env -json` (snapshots, tests).
    pub fn from_env(
        go: PathBuf,
        env: BTreeMap<String, String>,
        overrides: Vec<(String, String)>,
    ) -> Result<Toolchain> {
        let raw = env.get("GOVERSION").cloned().unwrap_or_default();
        let version = GoVersion::parse(&raw).ok_or_else(|| Error::Toolchain {
            message: format!("cannot read the Go version {raw:?} of {}", go.display()),
        })?;
        if version < MIN_GO {
            return Err(Error::Toolchain {
                message: format!(
                    "{} is {raw}, too old: cargo gobuild needs Go {}.{} or newer (hint: install a newer Go and put it on PATH, or set GOROOT to it)",
                    go.display(),
                    MIN_GO.major,
                    MIN_GO.minor
                ),
            });
        }
        for k in ["GOROOT", "GOOS", "GOARCH", "GOTOOLDIR"] {
            if env.get(k).is_none_or(|v| v.is_empty()) {
                return Err(Error::Toolchain {
                    message: format!("`go env -json` did not report {k}"),
                });
            }
        }
        // go env echoes GOROOT as set; cmd/go works with it cleaned, and
        // so must the paths we write into commands (`-I $GOROOT/pkg/include`).
        let mut env = env;
        if let Some(g) = env.get_mut("GOROOT") {
            *g = crate::util::clean_path(g);
        }
        Ok(Toolchain {
            go,
            env,
            version,
            overrides,
        })
    }

    /// A `go env` value ("" when unset).
    pub fn var(&self, k: &str) -> &str {
        self.env.get(k).map(String::as_str).unwrap_or("")
    }

    /// GOROOT.
    pub fn goroot(&self) -> &Path {
        Path::new(self.var("GOROOT"))
    }
    /// Target GOOS.
    pub fn goos(&self) -> &str {
        self.var("GOOS")
    }
    /// Target GOARCH.
    pub fn goarch(&self) -> &str {
        self.var("GOARCH")
    }
    /// GOVERSION as the toolchain spells it (`-goversion`).
    pub fn goversion(&self) -> &str {
        self.var("GOVERSION")
    }
    /// The raw GOEXPERIMENT setting ("" when none).
    pub fn goexperiment(&self) -> &str {
        self.var("GOEXPERIMENT")
    }

    /// Path of a tool.
    pub fn tool(&self, t: Tool) -> PathBuf {
        Path::new(self.var("GOTOOLDIR")).join(t.name())
    }

    /// `$GOROOT/pkg/include` (textflag.h, funcdata.h…).
    pub fn include_dir(&self) -> PathBuf {
        self.goroot().join("pkg").join("include")
    }

    /// The per-arch level variable and its value (`GOAMD64=v1`), as
    /// `cfg.GetArchEnv` in cmd/go names it.
    pub fn arch_level(&self) -> Option<(&'static str, &str)> {
        let key = match self.goarch() {
            "386" => "GO386",
            "amd64" => "GOAMD64",
            "arm" => "GOARM",
            "arm64" => "GOARM64",
            "mips" | "mipsle" => "GOMIPS",
            "mips64" | "mips64le" => "GOMIPS64",
            "ppc64" | "ppc64le" => "GOPPC64",
            "riscv64" => "GORISCV64",
            "wasm" => "GOWASM",
            _ => return None,
        };
        Some((key, self.var(key)))
    }

    /// The `-D` defines cmd/go passes to asm for the target (`asmArgs` in
    /// cmd/go/internal/work/gc.go).
    pub fn asm_defines(&self) -> Vec<String> {
        let mut d = vec![
            format!("GOOS_{}", self.goos()),
            format!("GOARCH_{}", self.goarch()),
        ];
        let v = |k: &str| self.var(k).to_string();
        match self.goarch() {
            "386" => d.push(format!("GO386_{}", v("GO386"))),
            "amd64" => d.push(format!("GOAMD64_{}", v("GOAMD64"))),
            "mips" | "mipsle" => d.push(format!("GOMIPS_{}", v("GOMIPS"))),
            "mips64" | "mips64le" => d.push(format!("GOMIPS64_{}", v("GOMIPS64"))),
            "ppc64" | "ppc64le" => {
                let level = v("GOPPC64");
                if level == "power10" {
                    d.push("GOPPC64_power10".into());
                }
                if level == "power10" || level == "power9" {
                    d.push("GOPPC64_power9".into());
                }
                d.push("GOPPC64_power8".into());
            }
            "riscv64" => d.push(format!("GORISCV64_{}", v("GORISCV64"))),
            "arm" => {
                let level = v("GOARM");
                if level.contains('7') {
                    d.push("GOARM_7".into());
                }
                if level.contains('7') || level.contains('6') {
                    d.push("GOARM_6".into());
                }
                d.push("GOARM_5".into());
            }
            "arm64" => {
                // buildcfg.ParseGoarm64: v9.0+ and v8.1+ imply LSE, as does ",lse".
                let level = v("GOARM64");
                if arm64_has_lse(&level) {
                    d.push("GOARM64_LSE".into());
                }
            }
            _ => {}
        }
        d
    }

    /// The environment every tool runs with: the target, GOROOT, and the
    /// request's overrides. The tools read GOOS/GOARCH/GO<arch>/GOEXPERIMENT
    /// from the environment (internal/buildcfg), so these must be exact.
    pub fn tool_env(&self) -> Vec<(String, String)> {
        let mut env = vec![
            ("GOROOT".to_string(), self.var("GOROOT").to_string()),
            ("GOOS".to_string(), self.goos().to_string()),
            ("GOARCH".to_string(), self.goarch().to_string()),
        ];
        if let Some((k, v)) = self.arch_level() {
            env.push((k.to_string(), v.to_string()));
        }
        env.push(("GOEXPERIMENT".to_string(), self.goexperiment().to_string()));
        env
    }

    /// Does this Go preprocess PGO profiles with the `preprofile` tool
    /// (1.23+), rather than hand `default.pgo` to the compiler?
    pub fn has_preprofile(&self) -> bool {
        self.version
            >= GoVersion {
                major: 1,
                minor: 23,
                patch: 0,
            }
    }

    /// What cmd/go passes as `-extld` (`setextld`): the words of `$CXX`
    /// when a package of the program has C++ files, else of `$CC`, joined
    /// as `quoted.Join` joins them (`gcc -m64` stays one argument).
    pub fn extld(&self, cxx: bool) -> String {
        quoted_join(&if cxx { self.cxx() } else { self.cc() })
    }

    /// The platform's default C (or C++) compiler (`cfg.DefaultCC`).
    fn default_cc(&self, cxx: bool) -> &'static str {
        let clang = matches!(self.goos(), "darwin" | "ios" | "freebsd" | "openbsd");
        match (clang, cxx) {
            (true, false) => "clang",
            (true, true) => "clang++",
            (false, false) => "gcc",
            (false, true) => "g++",
        }
    }

    /// Is cgo on (`go env CGO_ENABLED`, from the environment or its default)?
    pub fn cgo_enabled(&self) -> bool {
        self.var("CGO_ENABLED") == "1"
    }

    /// The C compiler as words (`go env CC`, else the platform default), as
    /// cmd/go's `ccExe` splits it.
    pub fn cc(&self) -> Vec<String> {
        let words = quoted_split(self.var("CC"));
        if words.is_empty() {
            return vec![self.default_cc(false).to_string()];
        }
        words
    }

    /// The C++ compiler as words (`go env CXX`, else the platform default).
    pub fn cxx(&self) -> Vec<String> {
        let words = quoted_split(self.var("CXX"));
        if words.is_empty() {
            return vec![self.default_cc(true).to_string()];
        }
        words
    }

    /// The flags cmd/go puts after `$CC -I DIR` (`go env GOGCCFLAGS`: the
    /// ones the C compiler supports), with the work directory of its
    /// `-ffile-prefix-map` given as `workdir`. `go env` prints the words of
    /// `$CC -I . FLAGS` from the fourth on, which for a CC of N words
    /// begins with N-1 words that are not flags (`gcc -m64` gives `. -fPIC
    /// …`): those are dropped.
    pub fn gcc_flags(&self, workdir: &str) -> Vec<String> {
        self.var("GOGCCFLAGS")
            .split_whitespace()
            .skip(self.cc().len().saturating_sub(1))
            .map(|f| {
                for flag in ["-ffile-prefix-map=", "-fdebug-prefix-map="] {
                    if let Some(rest) = f.strip_prefix(flag) {
                        if let Some((_, to)) = rest.rsplit_once('=') {
                            return format!("{flag}{workdir}={to}");
                        }
                    }
                }
                f.to_string()
            })
            .collect()
    }

    /// A `CGO_*FLAGS` variable as set explicitly in the environment ("" when
    /// unset; what cmd/go's `cfg.Getenv` records in the build info).
    pub fn cgo_var_set(&self, name: &str) -> String {
        std::env::var(name).unwrap_or_default()
    }

    /// A `CGO_*FLAGS` variable as words, as the C compiles use it: the
    /// environment's, else cmd/go's default (`go env` reports either).
    pub fn cgo_flags(&self, name: &str) -> Vec<String> {
        quoted_split(self.var(name))
    }

    /// A setting as cmd/go's `cfg.Getenv` reads one that `go env -json` does
    /// not list (`CGO_CFLAGS_ALLOW`, …): the overrides, the environment, then
    /// the `go env -w` file (`GOENV`).
    pub fn getenv(&self, key: &str) -> Option<String> {
        if let Some((_, v)) = self.overrides.iter().rev().find(|(k, _)| k == key) {
            return Some(v.clone());
        }
        if let Ok(v) = std::env::var(key) {
            return Some(v);
        }
        let file = std::fs::read_to_string(self.var("GOENV")).ok()?;
        file.lines().find_map(|line| {
            let (k, v) = line.split_once('=')?;
            (k.trim() == key).then(|| v.trim().to_string())
        })
    }

    /// The environment for running `go` itself (list, env), with the overrides.
    pub fn go_env(&self) -> std::collections::HashMap<String, String> {
        merged_env(&self.overrides)
    }
}

fn arm64_has_lse(level: &str) -> bool {
    let (base, opts) = level.split_once(',').unwrap_or((level, ""));
    if opts.split(',').any(|o| o == "lse") {
        return true;
    }
    match GoVersion::parse(&format!("go{}", base.trim_start_matches('v'))) {
        Some(v) => v.major >= 9 || (v.major == 8 && v.minor >= 1),
        None => false,
    }
}

fn merged_env(overrides: &[(String, String)]) -> std::collections::HashMap<String, String> {
    let mut env: std::collections::HashMap<String, String> = std::env::vars().collect();
    for (k, v) in overrides {
        env.insert(k.clone(), v.clone());
    }
    env
}

fn find_go(req: &ToolchainRequest) -> Result<PathBuf> {
    if let Some(go) = &req.go {
        if go.is_file() {
            return Ok(go.clone());
        }
        return Err(Error::Toolchain {
            message: format!(
                "the configured Go binary {} does not exist (hint: fix the `go` setting, or remove it to use PATH)",
                go.display()
            ),
        });
    }
    if let Ok(root) = std::env::var("GOROOT") {
        let go = Path::new(&root).join("bin").join("go");
        if go.is_file() {
            return Ok(go);
        }
    }
    which::which("go").map_err(|_| Error::Toolchain {
        message: "no Go toolchain found: `go` is not on PATH and GOROOT is not set (hint: install Go 1.22 or newer and put its bin directory on PATH, or set GOROOT)".to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_versions() {
        assert_eq!(
            GoVersion::parse("go1.26.8"),
            Some(GoVersion {
                major: 1,
                minor: 26,
                patch: 8
            })
        );
        assert_eq!(GoVersion::parse("go1.22rc1").unwrap().minor, 22);
        assert_eq!(GoVersion::parse("go1.22").unwrap().patch, 0);
        assert_eq!(
            GoVersion::parse("devel go1.27-abcdef Tue").unwrap().minor,
            27
        );
        assert_eq!(GoVersion::parse("1.22"), None);
        assert_eq!(GoVersion::parse("go1.26.8").unwrap().lang(), "go1.26");
    }

    fn tc(vars: &[(&str, &str)]) -> Result<Toolchain> {
        let mut env: BTreeMap<String, String> = [
            ("GOROOT", "/goroot"),
            ("GOOS", "linux"),
            ("GOARCH", "amd64"),
            ("GOTOOLDIR", "/goroot/pkg/tool/linux_amd64"),
            ("GOVERSION", "go1.26.8"),
            ("GOAMD64", "v1"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        for (k, v) in vars {
            env.insert(k.to_string(), v.to_string());
        }
        Toolchain::from_env("/goroot/bin/go".into(), env, vec![])
    }

    #[test]
    fn too_old_go_says_what_to_do() {
        let e = tc(&[("GOVERSION", "go1.21.5")]).unwrap_err().to_string();
        assert!(e.contains("too old"), "{e}");
        assert!(e.contains("1.22 or newer"), "{e}");
    }

    #[test]
    fn asm_defines_per_arch() {
        assert_eq!(
            tc(&[]).unwrap().asm_defines(),
            ["GOOS_linux", "GOARCH_amd64", "GOAMD64_v1"]
        );
        let arm = tc(&[("GOARCH", "arm"), ("GOARM", "7")]).unwrap();
        assert_eq!(arm.asm_defines()[2..], ["GOARM_7", "GOARM_6", "GOARM_5"]);
        let a64 = tc(&[("GOARCH", "arm64"), ("GOARM64", "v8.0")]).unwrap();
        assert_eq!(a64.asm_defines().len(), 2);
        let lse = tc(&[("GOARCH", "arm64"), ("GOARM64", "v8.1")]).unwrap();
        assert_eq!(lse.asm_defines()[2], "GOARM64_LSE");
        let lse2 = tc(&[("GOARCH", "arm64"), ("GOARM64", "v8.0,lse")]).unwrap();
        assert_eq!(lse2.asm_defines()[2], "GOARM64_LSE");
        let ppc = tc(&[("GOARCH", "ppc64le"), ("GOPPC64", "power9")]).unwrap();
        assert_eq!(ppc.asm_defines()[2..], ["GOPPC64_power9", "GOPPC64_power8"]);
    }
}

/// Splits a variable into words as cmd/go's `quoted.Split` does: spaces
/// separate words, a word may be enclosed in `'…'` or `"…"` (no escapes
/// inside); an unterminated quote takes the rest of the value.
pub fn quoted_split(s: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut rest = s.trim_start_matches(is_space);
    while !rest.is_empty() {
        let word;
        match rest.chars().next() {
            Some(q @ ('"' | '\'')) => {
                let body = &rest[1..];
                let end = body.find(q).unwrap_or(body.len());
                word = &body[..end];
                rest = body.get(end + 1..).unwrap_or("");
            }
            _ => {
                let end = rest.find(is_space).unwrap_or(rest.len());
                word = &rest[..end];
                rest = &rest[end..];
            }
        }
        words.push(word.to_string());
        rest = rest.trim_start_matches(is_space);
    }
    words
}

/// Joins words as `quoted.Join` does: a word with a space or a quote is
/// enclosed in the quote it does not contain.
pub fn quoted_join(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            let space = w.contains(is_space);
            match (
                space || w.contains(['\'', '"']),
                w.contains('\''),
                w.contains('"'),
            ) {
                (false, _, _) => w.clone(),
                (true, false, _) => format!("'{w}'"),
                (true, true, false) => format!("\"{w}\""),
                // Cannot be quoted: cmd/go refuses it; pass it as it is.
                (true, true, true) => w.clone(),
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\n' | '\r')
}

#[cfg(test)]
mod quoted_tests {
    use super::*;

    #[test]
    fn words_split_and_join_as_cmd_go_quotes_them() {
        assert_eq!(quoted_split("  gcc  -m64\t-O2 "), ["gcc", "-m64", "-O2"]);
        assert_eq!(
            quoted_split("'/opt/my cc/bin/gcc' \"-DX=a b\" -g"),
            ["/opt/my cc/bin/gcc", "-DX=a b", "-g"]
        );
        assert_eq!(quoted_split("'unterminated here"), ["unterminated here"]);
        assert!(quoted_split("   ").is_empty());
        let w = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        assert_eq!(quoted_join(&w(&["gcc", "-m64"])), "gcc -m64");
        assert_eq!(quoted_join(&w(&["/opt/my cc/gcc"])), "'/opt/my cc/gcc'");
        assert_eq!(quoted_join(&w(&["it's here"])), "\"it's here\"");
        for v in [w(&["gcc", "-m64"]), w(&["/a b/cc", "-x"])] {
            assert_eq!(quoted_split(&quoted_join(&v)), v);
        }
    }
}
