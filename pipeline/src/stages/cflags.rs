//! What the cgo stages share (cgo, cc, dynimport; compile, pack and link
//! read only facts of the package): the C compiler command prefix as
//! cmd/go builds it (`compilerCmd` in exec.go, from `go env GOGCCFLAGS`),
//! a package's C flags (`CFlags`: `CGO_*FLAGS` from the environment, else
//! cmd/go's defaults, then the `#cgo` lines and `pkg-config`), the C
//! compiler's identity (`gccToolID` in buildid.go) and the key inputs every
//! C step has.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Stdio;

use crate::cache::KeyInputs;
use crate::error::{Error, Result};
use crate::load::{GoPackage, PackageGraph};
use crate::stages::security::{check_flags, internal_link_compatible, safe_arg, FlagKind};
use crate::stages::step::WORK;
use crate::stages::BuildFacts;
use crate::toolchain::Toolchain;

/// A cgo package's flags, as `runCgo` puts them together.
#[derive(Debug, Clone, Default)]
pub struct CgoFlags {
    /// `CGO_CPPFLAGS`, `#cgo CPPFLAGS`, `pkg-config --cflags`.
    pub cppflags: Vec<String>,
    /// `CGO_CFLAGS` (default `-O2 -g`), `#cgo CFLAGS`.
    pub cflags: Vec<String>,
    /// `CGO_CXXFLAGS` (default `-O2 -g`), `#cgo CXXFLAGS`.
    pub cxxflags: Vec<String>,
    /// `CGO_LDFLAGS` (default `-O2 -g`), `#cgo LDFLAGS`, `pkg-config --libs`.
    pub ldflags: Vec<String>,
    /// Whether CFLAGS, CXXFLAGS or FFLAGS keep the objects from the internal
    /// linker ([`internal_link_compatible`]): the archive then holds a
    /// `preferlinkext` member.
    pub prefer_link_ext: bool,
}

impl CgoFlags {
    /// The flags of every C compile: CPPFLAGS, `-I $WORK/` (where
    /// `_cgo_export.h` is), CFLAGS.
    pub fn c_compile(&self) -> Vec<String> {
        let mut v = self.cppflags.clone();
        v.extend(["-I".to_string(), format!("{WORK}/")]);
        v.extend(self.cflags.iter().cloned());
        v
    }

    /// The flags of every C++ compile: CPPFLAGS, `-I $WORK/`, CXXFLAGS.
    pub fn cxx_compile(&self) -> Vec<String> {
        let mut v = self.cppflags.clone();
        v.extend(["-I".to_string(), format!("{WORK}/")]);
        v.extend(self.cxxflags.iter().cloned());
        v
    }
}

impl BuildFacts<'_> {
    /// The package's C flags, checked as cmd/go checks them (once per
    /// package and build: every C step of the package asks).
    pub fn cgo_flags(&self, p: &GoPackage) -> Result<CgoFlags> {
        let mut memo = self
            .cgo_flags_memo
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let got = memo
            .entry(p.import_path.clone())
            .or_insert_with(|| self.read_cgo_flags(p).map_err(|e| vec![e]))
            .clone();
        got.map_err(|errors| Error::Packages { errors })
    }

    fn read_cgo_flags(&self, p: &GoPackage) -> std::result::Result<CgoFlags, String> {
        let tc = self.tc;
        let getenv = |k: &str| tc.getenv(k);
        let refused = |e: String| format!("{}: {e}", p.import_path);
        // As `runCgo`: pkg-config first, then the directives (CFlags).
        let (pc_cflags, pc_ldflags) = if p.cgo_pkg_config.is_empty() {
            (Vec::new(), Vec::new())
        } else {
            pkg_config(p, &getenv)?
        };
        for (name, flags, kind) in [
            ("CPPFLAGS", &p.cgo_cppflags, FlagKind::Compiler),
            ("CFLAGS", &p.cgo_cflags, FlagKind::Compiler),
            ("CXXFLAGS", &p.cgo_cxxflags, FlagKind::Compiler),
            ("FFLAGS", &p.cgo_fflags, FlagKind::Compiler),
            ("LDFLAGS", &p.cgo_ldflags, FlagKind::Linker),
        ] {
            check_flags(kind, name, &format!("#cgo {name}"), flags, &getenv).map_err(refused)?;
        }
        let mut f = CgoFlags {
            cppflags: tc.cgo_flags("CGO_CPPFLAGS"),
            cflags: tc.cgo_flags("CGO_CFLAGS"),
            cxxflags: tc.cgo_flags("CGO_CXXFLAGS"),
            ldflags: tc.cgo_flags("CGO_LDFLAGS"),
            prefer_link_ext: false,
        };
        f.cppflags.extend(p.cgo_cppflags.iter().cloned());
        f.cflags.extend(p.cgo_cflags.iter().cloned());
        f.cxxflags.extend(p.cgo_cxxflags.iter().cloned());
        f.ldflags.extend(p.cgo_ldflags.iter().cloned());
        f.cppflags.extend(pc_cflags);
        f.ldflags.extend(pc_ldflags);
        let mut fflags = tc.cgo_flags("CGO_FFLAGS");
        fflags.extend(p.cgo_fflags.iter().cloned());
        f.prefer_link_ext = [&f.cflags, &f.cxxflags, &fflags]
            .iter()
            .any(|flags| !internal_link_compatible(flags));
        Ok(f)
    }

    /// `$CC` and its first arguments, as cmd/go's `GccCmd(p.Dir, objdir)`:
    /// `(program, [CC words…, -I DIR, GOGCCFLAGS with $WORK as the work dir])`.
    pub fn gcc_cmd(&self, p: &GoPackage) -> (String, Vec<String>) {
        self.compiler_cmd(p, self.tc.cc())
    }

    /// `$CXX` and its first arguments (`GxxCmd`): as [`Self::gcc_cmd`],
    /// with the C compiler's GOGCCFLAGS (cmd/go probes the same flags for
    /// both; with one GCC or Clang installation they agree).
    pub fn gxx_cmd(&self, p: &GoPackage) -> (String, Vec<String>) {
        self.compiler_cmd(p, self.tc.cxx())
    }

    /// The compiler that links a cgo package's objects (`gccld`): `$CXX`
    /// when the package has C++ files, else `$CC`.
    pub fn ld_cmd(&self, p: &GoPackage) -> (String, Vec<String>) {
        if has_cxx(p) {
            self.gxx_cmd(p)
        } else {
            self.gcc_cmd(p)
        }
    }

    fn compiler_cmd(&self, p: &GoPackage, cc: Vec<String>) -> (String, Vec<String>) {
        let mut args: Vec<String> = cc[1..].to_vec();
        args.extend(["-I".to_string(), p.dir.clone()]);
        args.extend(self.tc.gcc_flags(WORK));
        // By its path: the command runs in another directory.
        let program = which::which(&cc[0])
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| cc[0].clone());
        (program, args)
    }

    /// The key inputs of every C step: the compiler's identity and its
    /// words (and the C++ compiler's, when a package has C++ files).
    pub fn add_cc_key(&self, k: &mut KeyInputs) {
        k.add("cc identity", self.cc_identity.clone().unwrap_or_default());
        k.add("cc", self.tc.cc().join(" "));
        if let Some(id) = &self.cxx_identity {
            k.add("cxx identity", id.clone());
            k.add("cxx", self.tc.cxx().join(" "));
        }
    }

    /// The `-ffile-prefix-map` a C compile gets under `-trimpath` or for a
    /// GOROOT package (`ccompile` in exec.go), if any.
    pub fn c_prefix_map(&self, p: &GoPackage) -> Option<String> {
        if !(self.profile.trimpath || p.goroot) {
            return None;
        }
        let flag = if self.tc.var("GOGCCFLAGS").contains("-ffile-prefix-map=") {
            "-ffile-prefix-map"
        } else if self.tc.var("GOGCCFLAGS").contains("-fdebug-prefix-map=") {
            "-fdebug-prefix-map"
        } else {
            return None;
        };
        let (from, to) = match &p.module {
            _ if p.goroot => (self.tc.var("GOROOT").to_string(), "GOROOT".to_string()),
            Some(m) if !m.dir.is_empty() => {
                let mut to = m.path.clone();
                if !m.version.is_empty() {
                    to = format!("{to}@{}", m.version);
                }
                (m.dir.clone(), to)
            }
            _ => (p.dir.clone(), p.base_path().to_string()),
        };
        Some(format!("{flag}={from}=/_/{to}"))
    }
}

/// `pkg-config --cflags` and `--libs` for a package's `#cgo pkg-config`
/// line, as `getPkgConfigFlags` runs them: the line's `--` arguments
/// (checked) before `--`, the package names (safe words) after it, and the
/// output split like a shell and checked as compiler and linker flags.
fn pkg_config(
    p: &GoPackage,
    getenv: &dyn Fn(&str) -> Option<String>,
) -> std::result::Result<(Vec<String>, Vec<String>), String> {
    let at = |e: String| format!("{}: {e}", p.import_path);
    let (flags, pkgs): (Vec<String>, Vec<String>) = p
        .cgo_pkg_config
        .iter()
        .filter(|a| *a != "--")
        .cloned()
        .partition(|a| a.starts_with("--"));
    if let Some(bad) = pkgs.iter().find(|p| !safe_arg(p)) {
        return Err(at(format!("invalid pkg-config package name: {bad}")));
    }
    check_flags(FlagKind::PkgConfig, "", "pkg-config", &flags, getenv).map_err(at)?;
    let pc = getenv("PKG_CONFIG").unwrap_or_else(|| "pkg-config".into());
    let run = |what: &str| -> std::result::Result<Vec<String>, String> {
        let desc = format!("{pc} {what} {} -- {}", flags.join(" "), pkgs.join(" "));
        let out = std::process::Command::new(&pc)
            .arg(what)
            .args(&flags)
            .arg("--")
            .args(&pkgs)
            .current_dir(&p.dir)
            .stdin(Stdio::null())
            .output()
            .map_err(|e| {
                at(format!(
                    "could not run {pc} for #cgo pkg-config: {e} (hint: install pkg-config)"
                ))
            })?;
        if !out.status.success() {
            return Err(at(format!(
                "{desc}: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            )));
        }
        split_pkg_config_output(String::from_utf8_lossy(&out.stdout).trim())
            .map_err(|e| at(format!("{desc}: {e}")))
    };
    let cflags = run("--cflags")?;
    check_flags(
        FlagKind::Compiler,
        "CFLAGS",
        "pkg-config --cflags",
        &cflags,
        getenv,
    )
    .map_err(at)?;
    let ldflags = run("--libs")?;
    check_flags(
        FlagKind::Linker,
        "LDFLAGS",
        "pkg-config --libs",
        &ldflags,
        getenv,
    )
    .map_err(at)?;
    Ok((cflags, ldflags))
}

/// Does the package have C++ files (its own or SWIG's)?
pub fn has_cxx(p: &GoPackage) -> bool {
    !p.cxx_files.is_empty() || !p.swig_cxx_files.is_empty()
}

/// Splits pkg-config's output into flags as a POSIX shell would, as
/// cmd/go's `splitPkgConfigOutput` does: `'…'` keeps everything, `"…"`
/// keeps all but `\` before `$ ` `` ` `` `" \` and newline, a backslash
/// outside quotes escapes the next character; an unquoted shell
/// metacharacter, an open quote or a trailing backslash is an error.
pub fn split_pkg_config_output(out: &str) -> std::result::Result<Vec<String>, String> {
    let mut flags = Vec::new();
    let mut flag = String::new();
    let (mut did_quote, mut escaped, mut quote) = (false, false, None::<char>);
    for c in out.chars() {
        if escaped {
            if quote == Some('"') && !matches!(c, '$' | '`' | '"' | '\\' | '\n') {
                // Not an escape after all.
                flag.push('\\');
                flag.push(c);
                escaped = false;
                continue;
            }
            if c != '\n' {
                flag.push(c);
            }
            escaped = false;
            continue;
        }
        if quote == Some(c) {
            quote = None;
            continue;
        }
        match quote {
            Some('\'') => {
                flag.push(c);
                continue;
            }
            Some(_) if !matches!(c, '`' | '$' | '\\') => {
                flag.push(c);
                continue;
            }
            _ => {}
        }
        match c {
            '|' | '&' | ';' | '<' | '>' | '(' | ')' | '$' | '`' => {
                return Err(format!(
                    "unexpected shell character {c:?} in pkgconf output"
                ));
            }
            '\\' => escaped = true,
            '"' | '\'' => {
                quote = Some(c);
                did_quote = true;
            }
            ' ' | '\t' | '\n' => {
                if !flag.is_empty() || did_quote {
                    flags.push(std::mem::take(&mut flag));
                }
                did_quote = false;
            }
            _ => flag.push(c),
        }
    }
    if quote.is_some() {
        return Err("unterminated quoted string in pkgconf output".into());
    }
    if escaped {
        return Err("broken character escaping in pkgconf output".into());
    }
    if !flag.is_empty() || did_quote {
        flags.push(flag);
    }
    Ok(flags)
}

/// The C compiler's identity for the keys of the C steps: the `… version …`
/// line `$CC -### -x c -c -` prints with `LC_ALL=C` (cmd/go's `gccToolID`),
/// once per build, when cgo is on and a package of the graph uses it.
///
/// The answer is remembered in `memo` under the compiler's words and the
/// `stat` of its program (a new compiler is a new binary), so that a build
/// does not pay for running it.
pub fn cc_identity(tc: &Toolchain, graph: &PackageGraph, memo: &Path) -> Result<Option<String>> {
    if !tc.cgo_enabled() || !graph.packages.iter().any(GoPackage::uses_cgo) {
        return Ok(None);
    }
    remembered_identity(tc.cc(), graph, memo).map(Some)
}

/// The C++ compiler's identity, when a cgo package has C++ files.
pub fn cxx_identity(tc: &Toolchain, graph: &PackageGraph, memo: &Path) -> Result<Option<String>> {
    if !tc.cgo_enabled() || !graph.packages.iter().any(|p| p.uses_cgo() && has_cxx(p)) {
        return Ok(None);
    }
    remembered_identity(tc.cxx(), graph, memo).map(Some)
}

fn remembered_identity(cc: Vec<String>, graph: &PackageGraph, memo: &Path) -> Result<String> {
    let program = which::which(&cc[0]).ok();
    let stat = program
        .as_deref()
        .and_then(|p| crate::fshash::Stat::of(p).ok());
    let Some(stat) = stat else {
        return compiler_identity(cc, graph);
    };
    let key = format!(
        "{}\0{}\0{}",
        cc.join(" "),
        program.unwrap_or_default().display(),
        serde_json::to_string(&stat).unwrap_or_default()
    );
    let mut known: BTreeMap<String, String> = std::fs::read(memo)
        .ok()
        .and_then(|d| serde_json::from_slice(&d).ok())
        .unwrap_or_default();
    if let Some(id) = known.get(&key) {
        return Ok(id.clone());
    }
    let id = compiler_identity(cc, graph)?;
    known.insert(key, id.clone());
    if let Ok(data) = serde_json::to_vec(&known) {
        let _ = crate::cache::atomic_write(memo, &data);
    }
    Ok(id)
}

fn compiler_identity(cc: Vec<String>, graph: &PackageGraph) -> Result<String> {
    let out = std::process::Command::new(&cc[0])
        .args(&cc[1..])
        .args(["-###", "-x", "c", "-c", "-"])
        .env("LC_ALL", "C")
        .stdin(Stdio::null())
        .output()
        .map_err(|_| Error::NoCCompiler {
            package: graph
                .packages
                .iter()
                .find(|p| p.uses_cgo())
                .map(|p| p.import_path.clone())
                .unwrap_or_default(),
            cc: cc.join(" "),
        })?;
    let text = String::from_utf8_lossy(&out.stderr);
    let line = text
        .lines()
        .find(|l| l.contains(" version "))
        .map(str::to_string)
        .unwrap_or_else(|| {
            format!(
                "unknown ({})",
                blake3::hash(text.as_bytes()).to_hex().as_str()
            )
        });
    Ok(line)
}

/// The Go files a cgo package compiles besides its own, in cmd/go's order,
/// from its declared inputs: `_cgo_gotypes.go` and the `*.cgo1.go` the cgo
/// tool generated, then the probe's `_cgo_import.go`; empty files (none
/// after dynimportfail) left out. `(name, object)` pairs.
pub fn cgo_go_files(
    p: &GoPackage,
    inputs: &crate::stages::outputs::DeclaredInputs<'_>,
) -> Result<Vec<(String, crate::cache::ContentDigest)>> {
    use crate::plan::Input;
    use crate::stages::outputs::Output;
    let gen = inputs.get(&Input::CgoGenerated)?;
    let probe = inputs.get(&Input::Dynimport)?;
    let mut files = vec![(gen, "_cgo_gotypes.go".to_string())];
    for c in &p.cgo_files {
        let base = c.rsplit('/').next().unwrap_or(c);
        let stem = base.strip_suffix(".go").unwrap_or(base);
        files.push((gen, format!("{stem}.cgo1.go")));
    }
    files.push((probe, "_cgo_import.go".to_string()));
    let mut v = Vec::new();
    for (out, name) in files {
        let d = out.get(&Output::Generated(name.clone()))?;
        if d.size() > 0 {
            v.push((name, d));
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::split_pkg_config_output as split;

    #[test]
    fn pkg_config_output_splits_as_a_shell_would() {
        assert_eq!(
            split("-I/usr/include/glib-2.0 -lglib-2.0 \n").unwrap(),
            ["-I/usr/include/glib-2.0", "-lglib-2.0"]
        );
        assert_eq!(
            split(r#"-I"/opt/my lib/include" -DNAME='a b' -DX=a\ b"#).unwrap(),
            ["-I/opt/my lib/include", "-DNAME=a b", "-DX=a b"]
        );
        // Inside double quotes a backslash escapes only $ ` " \ and newline.
        assert_eq!(split(r#""a\b\"c""#).unwrap(), [r#"a\b"c"#]);
        // An empty quoted word is a word.
        assert_eq!(split("-x '' -y").unwrap(), ["-x", "", "-y"]);
        for bad in ["-lfoo; rm -rf /", "$(evil)", "'open", "trailing\\"] {
            assert!(split(bad).is_err(), "{bad}");
        }
        assert!(split("").unwrap().is_empty());
    }
}
