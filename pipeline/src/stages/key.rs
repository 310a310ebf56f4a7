//! Key building shared by the stages: the inputs every tool action has
//! (tool digest, environment, the package directory where it is written
//! into objects), normalized arguments, source digests, and the link unit's
//! archives as the link-unit stages key them.

use std::collections::HashMap;

use crate::cache::{ContentDigest, KeyInputs};
use crate::error::{Error, Result};
use crate::fshash::FileHasher;
use crate::load::GoPackage;
use crate::plan::{Input, LinkUnit};
use crate::stages::outputs::{DeclaredInputs, Output};
use crate::stages::BuildFacts;
use crate::toolchain::{Tool, Toolchain};

/// Digests of the tools, and of `GOROOT/pkg/include/*` by file name.
pub type ToolchainDigests = (HashMap<Tool, ContentDigest>, Vec<(String, ContentDigest)>);

/// Hashes the tools and GOROOT's assembly headers (once per build).
pub fn digest_toolchain(tc: &Toolchain, hasher: &FileHasher) -> Result<ToolchainDigests> {
    let mut tools = HashMap::new();
    let mut wanted = vec![Tool::Asm, Tool::Compile, Tool::Link];
    if tc.has_preprofile() && tc.tool(Tool::Preprofile).is_file() {
        wanted.push(Tool::Preprofile);
    }
    if tc.cgo_enabled() {
        wanted.push(Tool::Cgo);
    }
    // go test -cover's; the cover stage says so when it is missing.
    if tc.tool(Tool::Cover).is_file() {
        wanted.push(Tool::Cover);
    }
    for t in wanted {
        let path = tc.tool(t);
        let d = hasher.digest(&path).map_err(|_| Error::Toolchain {
            message: format!(
                "the Go tool {} is missing (hint: is GOROOT {} a complete Go installation?)",
                path.display(),
                tc.goroot().display()
            ),
        })?;
        tools.insert(t, d);
    }
    let inc = tc.include_dir();
    let mut includes = Vec::new();
    if let Ok(rd) = std::fs::read_dir(&inc) {
        for e in rd.flatten() {
            let p = e.path();
            if p.is_file() {
                includes.push((
                    e.file_name().to_string_lossy().into_owned(),
                    hasher.digest(&p)?,
                ));
            }
        }
    }
    includes.sort();
    Ok((tools, includes))
}

/// This cargo-gobuild's identity, for the keys of the in-process steps
/// (whose code is ours, not a Go tool's): the crate version and the digest
/// of the running binary, so an upgraded or rebuilt tool never reuses what
/// an older one's scanner, pack or checks produced. Hashed once per binary
/// and cache (the file memo).
pub fn tool_identity(hasher: &FileHasher) -> Result<String> {
    let exe = std::env::current_exe().map_err(|e| Error::Toolchain {
        message: format!("cannot locate this cargo-gobuild binary: {e}"),
    })?;
    let d = hasher.digest(&exe)?;
    Ok(format!(
        "cargo-gobuild {} {}",
        env!("CARGO_PKG_VERSION"),
        d.short()
    ))
}

/// A 20-character build ID part from a hex digest.
pub fn build_id_part(hex: &str) -> String {
    hex.chars().take(20).collect()
}

impl BuildFacts<'_> {
    /// The inputs of an in-process step: what it is, and the identity of
    /// the code that runs it ([`tool_identity`]).
    pub fn in_process_key(&self, step: impl Into<String>) -> KeyInputs {
        let mut k = KeyInputs::default();
        k.add("step", step);
        k.add("tool", self.tool_identity.clone());
        k
    }

    /// The inputs of every tool action: the tool, the environment it runs
    /// with (but GOROOT), and the package directory where the tool writes it.
    pub fn common_key(&self, tool: Option<Tool>, p: &GoPackage) -> KeyInputs {
        let mut k = KeyInputs::default();
        if let Some(t) = tool {
            k.add("tool", self.tool_digests[&t].to_hex());
        }
        for (name, v) in self.tc.tool_env() {
            if name != "GOROOT" {
                k.add(format!("env {name}"), v);
            }
        }
        if !p.goroot && !self.profile.trimpath {
            k.add("dir", p.dir.clone());
        }
        k
    }

    /// Adds the normalized arguments (paths replaced by placeholders) to a key.
    pub fn add_args(&self, k: &mut KeyInputs, p: &GoPackage, args: &[String], skip: &[&str]) {
        let goroot = self.tc.var("GOROOT");
        let mut out = Vec::new();
        let mut it = args.iter().peekable();
        while let Some(a) = it.next() {
            if skip.iter().any(|s| a == s) {
                it.next(); // and its value
                continue;
            }
            if a.starts_with("-c=") || a.starts_with("-buildid=") {
                continue;
            }
            let mut a = a.replace(&p.dir, "$DIR");
            if !goroot.is_empty() {
                a = a.replace(goroot, "$GOROOT");
            }
            out.push(a);
        }
        k.add("args", out.join("\x1f"));
    }

    /// Adds the digests of package files (`file NAME`).
    pub fn add_files<'f>(
        &self,
        k: &mut KeyInputs,
        p: &GoPackage,
        files: impl IntoIterator<Item = &'f String>,
    ) -> Result<()> {
        for f in files {
            k.add(
                format!("file {f}"),
                self.hasher.digest(&p.file(f))?.to_hex(),
            );
        }
        Ok(())
    }

    /// Adds what assembly includes: the package's `.h` files and GOROOT's.
    pub fn add_asm_includes(&self, k: &mut KeyInputs, p: &GoPackage) -> Result<()> {
        self.add_files(k, p, &p.h_files)?;
        for (name, d) in &self.include_digests {
            k.add(format!("include {name}"), d.to_hex());
        }
        Ok(())
    }
}

/// The archives of a link unit, main package first: `(path, archive)` and
/// `(path, key digest)` (the archive modulo its build ID), by base path.
pub struct UnitArchives {
    /// `(base path, archive)`, main first.
    pub archives: Vec<(String, ContentDigest)>,
    /// `(base path, archive modulo build ID)`, main first.
    pub keys: Vec<(String, ContentDigest)>,
}

impl UnitArchives {
    /// Reads the unit's archives from the declared inputs.
    pub fn read(f: &BuildFacts<'_>, unit: &LinkUnit, inputs: &DeclaredInputs<'_>) -> Result<Self> {
        let mut archives = Vec::new();
        let mut keys = Vec::new();
        for &p in &unit.packages {
            let out = inputs.get(&Input::Archive(p))?;
            let path = f.graph.packages[p].base_path().to_string();
            archives.push((path.clone(), out.get(&Output::Archive)?));
            keys.push((path, out.archive_key()?));
        }
        Ok(UnitArchives { archives, keys })
    }

    /// Adds `archive PATH` per package to a key.
    pub fn add_to(&self, k: &mut KeyInputs) {
        for (path, d) in &self.keys {
            k.add(format!("archive {path}"), d.to_hex());
        }
    }
}
