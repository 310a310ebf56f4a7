//! What the cgo stages share (cgo, cc, dynimport; compile, pack and link
//! read only facts of the package): the C compiler command prefix as
//! cmd/go builds it (`compilerCmd` in exec.go, from `go env GOGCCFLAGS`),
//! a package's C flags (`CFlags`: `CGO_*FLAGS` from the environment, else
//! cmd/go's defaults, then the `#cgo` lines and `pkg-config`), the C
//! compiler's identity (`gccToolID` in buildid.go) and the key inputs every
//! C step has.

use std::process::Stdio;

use crate::cache::KeyInputs;
use crate::error::{Error, Result};
use crate::load::{GoPackage, PackageGraph};
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
    /// `CGO_LDFLAGS` (default `-O2 -g`), `#cgo LDFLAGS`, `pkg-config --libs`.
    pub ldflags: Vec<String>,
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
}

impl BuildFacts<'_> {
    /// The package's C flags.
    pub fn cgo_flags(&self, p: &GoPackage) -> Result<CgoFlags> {
        let tc = self.tc;
        let mut f = CgoFlags {
            cppflags: tc.cgo_flags("CGO_CPPFLAGS"),
            cflags: tc.cgo_flags("CGO_CFLAGS"),
            ldflags: tc.cgo_flags("CGO_LDFLAGS"),
        };
        f.cppflags.extend(p.cgo_cppflags.iter().cloned());
        f.cflags.extend(p.cgo_cflags.iter().cloned());
        f.ldflags.extend(p.cgo_ldflags.iter().cloned());
        if !p.cgo_pkg_config.is_empty() {
            f.cppflags.extend(pkg_config(p, "--cflags")?);
            f.ldflags.extend(pkg_config(p, "--libs")?);
        }
        Ok(f)
    }

    /// `$CC` and its first arguments, as cmd/go's `GccCmd(p.Dir, objdir)`:
    /// `(program, [CC words…, -I DIR, GOGCCFLAGS with $WORK as the work dir])`.
    pub fn gcc_cmd(&self, p: &GoPackage) -> (String, Vec<String>) {
        let cc = self.tc.cc();
        let mut args: Vec<String> = cc[1..].to_vec();
        args.extend(["-I".to_string(), p.dir.clone()]);
        args.extend(self.tc.gcc_flags(WORK));
        // By its path: the command runs in another directory.
        let program = which::which(&cc[0])
            .map(|p| p.display().to_string())
            .unwrap_or_else(|_| cc[0].clone());
        (program, args)
    }

    /// The key inputs of every C step: the compiler's identity and its words.
    pub fn add_cc_key(&self, k: &mut KeyInputs) {
        k.add("cc identity", self.cc_identity.clone().unwrap_or_default());
        k.add("cc", self.tc.cc().join(" "));
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

/// `pkg-config FLAG -- PKGS…` for a package's `#cgo pkg-config` line.
fn pkg_config(p: &GoPackage, flag: &str) -> Result<Vec<String>> {
    let pc = std::env::var("PKG_CONFIG").unwrap_or_else(|_| "pkg-config".into());
    let out = std::process::Command::new(&pc)
        .arg(flag)
        .arg("--")
        .args(&p.cgo_pkg_config)
        .current_dir(&p.dir)
        .output()
        .map_err(|e| Error::Packages {
            errors: vec![format!(
                "package {}: could not run {pc} for #cgo pkg-config: {e} (hint: install pkg-config)",
                p.import_path
            )],
        })?;
    if !out.status.success() {
        return Err(Error::Packages {
            errors: vec![format!(
                "package {}: {pc} {flag} -- {}: {}",
                p.import_path,
                p.cgo_pkg_config.join(" "),
                String::from_utf8_lossy(&out.stderr).trim()
            )],
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .map(str::to_string)
        .collect())
}

/// The C compiler's identity for the keys of the C steps: the `… version …`
/// line `$CC -### -x c -c -` prints with `LC_ALL=C` (cmd/go's `gccToolID`),
/// once per build, when cgo is on and a package of the graph uses it.
pub fn cc_identity(tc: &Toolchain, graph: &PackageGraph) -> Result<Option<String>> {
    if !tc.cgo_enabled() || !graph.packages.iter().any(GoPackage::uses_cgo) {
        return Ok(None);
    }
    let cc = tc.cc();
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
    Ok(Some(line))
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
