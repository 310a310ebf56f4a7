//! Go inside `cargo build`: a library for Cargo build scripts, in the style
//! of `cc` and `prost-build`, that builds a Go main package as a C archive
//! (`-buildmode=c-archive`) with the cargo gobuild pipeline — the same
//! cache as `cargo gobuild build` in the same target directory — and tells
//! Cargo how to link it and exactly when to run the build script again.
//!
//! ```no_run
//! // in build.rs's main:
//! gobuild_build::Build::new().package("go/mylib").compile("mylib");
//! ```
//!
//! `compile` writes `libmylib.a` and its export header `libmylib.h` into
//! `OUT_DIR`, and prints `cargo:rustc-link-search`, `cargo:rustc-link-lib`
//! (the archive and the system libraries the Go runtime needs),
//! `cargo:rerun-if-changed` for every file of the loaded package graph
//! outside GOROOT (Go, assembly, C, headers, embedded files, go.mod,
//! go.sum, the package directories) and `cargo:rerun-if-env-changed` for the
//! variables that enter its keys. A failed Go build prints the compiler's
//! located messages as `cargo:warning` lines and fails the build script.

use std::path::{Path, PathBuf};
use std::sync::Mutex;

use pipeline::build::{self, BuildRequest};
use pipeline::config::profile::BuildMode;
use pipeline::config::{Config, ConfigSource};
use pipeline::events::{Event, EventKind, EventSink, Level};
use pipeline::plan::Intent;
use pipeline::toolchain::ToolchainRequest;

/// The environment variables that change what the Go build produces.
pub const ENV_INPUTS: &[&str] = &[
    "GOOS",
    "GOARCH",
    "GOFLAGS",
    "GOEXPERIMENT",
    "GOROOT",
    "GOAMD64",
    "GOARM64",
    "CC",
    "CXX",
    "CGO_ENABLED",
    "CGO_CFLAGS",
    "CGO_CPPFLAGS",
    "CGO_CXXFLAGS",
    "CGO_LDFLAGS",
    "GOBUILD_PROFILE",
];

/// What to build.
#[derive(Debug, Clone, Default)]
pub struct Build {
    package: Option<PathBuf>,
    profile: Option<String>,
    shared: bool,
    target_dir: Option<PathBuf>,
    quiet: bool,
}

/// What a build wrote, and what it read.
#[derive(Debug, Clone)]
pub struct Output {
    /// `libNAME.a` (or `libNAME.so`).
    pub library: PathBuf,
    /// `libNAME.h`, the cgo export header.
    pub header: PathBuf,
    /// Every file and directory of the loaded package graph outside GOROOT.
    pub inputs: Vec<PathBuf>,
}

/// Why a build failed.
#[derive(Debug)]
pub struct Error {
    /// What went wrong, worded for the user.
    pub message: String,
    /// The compiler's (or the check's) located messages.
    pub diagnostics: Vec<String>,
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)?;
        for d in &self.diagnostics {
            write!(f, "\n{d}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Error {}

/// Keeps the error diagnostics of a build.
#[derive(Default)]
struct Diagnostics(Mutex<Vec<String>>);

impl EventSink for Diagnostics {
    fn emit(&self, event: Event) {
        if let EventKind::Diagnostic {
            level: Level::Error | Level::Warning,
            message,
            ..
        } = event.kind
        {
            self.0.lock().unwrap().push(message);
        }
    }
}

fn env_path(name: &str) -> Result<PathBuf, Error> {
    std::env::var_os(name)
        .map(PathBuf::from)
        .ok_or_else(|| Error {
            message: format!(
                "${name} is not set (hint: gobuild-build runs inside a Cargo build script)"
            ),
            diagnostics: vec![],
        })
}

/// Cargo's target triple as GOOS/GOARCH (`x86_64-unknown-linux-gnu` →
/// linux/amd64); `None` for a triple Go has no port for.
pub fn go_target(triple: &str) -> Option<(&'static str, &'static str)> {
    let arch = match triple.split('-').next()? {
        "x86_64" => "amd64",
        "aarch64" => "arm64",
        "i686" | "i586" => "386",
        "s390x" => "s390x",
        "riscv64gc" | "riscv64" => "riscv64",
        "powerpc64le" => "ppc64le",
        _ => return None,
    };
    let os = if triple.contains("-linux") {
        "linux"
    } else if triple.contains("-apple-darwin") {
        "darwin"
    } else if triple.contains("-windows") {
        "windows"
    } else if triple.contains("-freebsd") {
        "freebsd"
    } else {
        return None;
    };
    Some((os, arch))
}

/// The Cargo target directory of a build script: `CARGO_TARGET_DIR`, else
/// the nearest ancestor of `OUT_DIR` that Cargo tagged (`CACHEDIR.TAG`).
fn cargo_target_dir(out_dir: &Path) -> PathBuf {
    if let Some(t) = std::env::var_os("CARGO_TARGET_DIR") {
        return PathBuf::from(t);
    }
    out_dir
        .ancestors()
        .find(|d| d.join("CACHEDIR.TAG").is_file())
        .map(Path::to_path_buf)
        .unwrap_or_else(|| out_dir.to_path_buf())
}

impl Build {
    /// A build of nothing yet: name the package.
    pub fn new() -> Build {
        Build::default()
    }

    /// The Go main package to build, relative to the crate (`go/mylib`).
    pub fn package(mut self, dir: impl Into<PathBuf>) -> Build {
        self.package = Some(dir.into());
        self
    }

    /// The cargo gobuild profile (default: `$GOBUILD_PROFILE`, else `release`
    /// for a release build and `dev` otherwise).
    pub fn profile(mut self, name: impl Into<String>) -> Build {
        self.profile = Some(name.into());
        self
    }

    /// Build a C shared library (`libNAME.so`) instead of an archive.
    pub fn shared(mut self, yes: bool) -> Build {
        self.shared = yes;
        self
    }

    /// Where outputs and the cache go (default: Cargo's target directory,
    /// so `cargo gobuild build` there shares the work).
    pub fn target_dir(mut self, dir: impl Into<PathBuf>) -> Build {
        self.target_dir = Some(dir.into());
        self
    }

    /// Do not print `cargo:` lines (for tools that call this outside a build script).
    pub fn quiet(mut self, yes: bool) -> Build {
        self.quiet = yes;
        self
    }

    /// Builds `lib{name}` and prints the `cargo:` lines; a failure prints
    /// the located messages as `cargo:warning` lines and panics, which
    /// fails the build script (as `cc` does).
    pub fn compile(self, name: &str) -> Output {
        let quiet = self.quiet;
        match self.try_compile(name) {
            Ok(o) => o,
            Err(e) => {
                if !quiet {
                    for d in &e.diagnostics {
                        for line in d.lines() {
                            println!("cargo:warning={line}");
                        }
                    }
                }
                panic!("gobuild-build: {}", e.message);
            }
        }
    }

    /// Builds `lib{name}`; prints the `cargo:` lines unless quiet.
    pub fn try_compile(self, name: &str) -> Result<Output, Error> {
        let manifest = env_path("CARGO_MANIFEST_DIR")?;
        let out_dir = env_path("OUT_DIR")?;
        let package = self.package.clone().ok_or_else(|| Error {
            message: "no Go package named (hint: Build::new().package(\"go/mylib\"))".into(),
            diagnostics: vec![],
        })?;
        let dir = manifest.join(&package);
        if !dir.is_dir() {
            return Err(Error {
                message: format!("the Go package directory {} does not exist", dir.display()),
                diagnostics: vec![],
            });
        }
        let config_error = |e: pipeline::Error| Error {
            message: e.to_string(),
            diagnostics: vec![],
        };
        let mut sources = ConfigSource::builtin();
        for root in dir.ancestors() {
            let f = root.join("gobuild.toml");
            if f.is_file() {
                sources.push(ConfigSource::file(&f, &[]).map_err(config_error)?);
                break;
            }
        }
        let config = Config::load(&sources).map_err(config_error)?;
        let profile = self
            .profile
            .clone()
            .or_else(|| std::env::var("GOBUILD_PROFILE").ok())
            .unwrap_or_else(|| match std::env::var("PROFILE").as_deref() {
                Ok("release") => "release".into(),
                _ => "dev".into(),
            });
        let resolved = config.resolve(&profile).map_err(config_error)?;
        let mut p = resolved.profile.clone();
        p.buildmode = if self.shared {
            BuildMode::CShared
        } else {
            BuildMode::CArchive
        };
        let (host, target) = (
            std::env::var("HOST").unwrap_or_default(),
            std::env::var("TARGET").unwrap_or_default(),
        );
        let (goos, goarch) = if target.is_empty() || target == host {
            (resolved.goos.clone(), resolved.goarch.clone())
        } else {
            let (os, arch) = go_target(&target).ok_or_else(|| Error {
                message: format!("Go has no port for Cargo's target {target}"),
                diagnostics: vec![],
            })?;
            (Some(os.to_string()), Some(arch.to_string()))
        };
        let lib = format!("lib{name}.{}", if self.shared { "so" } else { "a" });
        let req = BuildRequest {
            dir: dir.clone(),
            patterns: vec![".".into()],
            target_dir: self
                .target_dir
                .clone()
                .unwrap_or_else(|| cargo_target_dir(&out_dir)),
            profile: p,
            toolchain: ToolchainRequest {
                go: config.go.as_ref().map(|(g, _)| g.clone()),
                goos,
                goarch,
                goexperiment: (!resolved.experiments.is_empty())
                    .then(|| resolved.experiments.clone()),
                levels: resolved.levels.clone(),
            },
            jobs: std::env::var("NUM_JOBS")
                .ok()
                .and_then(|n| n.parse().ok())
                .unwrap_or(2),
            output: Some(out_dir.join(&lib)),
            intent: Intent::Build,
            exe_name: Some(name.to_string()),
            label: format!("gobuild-build {}", package.display()),
            experiments_origin: None,
            keep_work_dirs: false,
            package_experiments: vec![],
            remote: None,
            test: None,
        };
        let sink = Diagnostics::default();
        let outcome = build::build(&req, &sink, None).map_err(|e| Error {
            message: format!("building the Go package {} failed: {e}", dir.display()),
            diagnostics: sink.0.lock().unwrap().clone(),
        })?;
        let library = outcome
            .artifacts
            .first()
            .map(|a| a.path.clone())
            .ok_or_else(|| Error {
                message: format!("{} is not a main package (a C archive is built from `package main` with //export functions)", dir.display()),
                diagnostics: vec![],
            })?;
        let header = build::install::header_path(&library);
        let mut inputs = Vec::new();
        for p in outcome.session.graph.packages.iter().filter(|p| !p.goroot) {
            inputs.push(PathBuf::from(&p.dir));
            for f in p
                .go_files
                .iter()
                .chain(&p.cgo_files)
                .chain(&p.s_files)
                .chain(&p.h_files)
                .chain(&p.c_files)
                .chain(&p.embed_files)
            {
                inputs.push(p.file(f));
            }
            if let Some(m) = &p.module {
                if !m.dir.is_empty() {
                    inputs.push(Path::new(&m.dir).join("go.mod"));
                    let sum = Path::new(&m.dir).join("go.sum");
                    if sum.is_file() {
                        inputs.push(sum);
                    }
                }
            }
        }
        inputs.sort();
        inputs.dedup();
        if !self.quiet {
            println!("cargo:rustc-link-search=native={}", out_dir.display());
            let kind = if self.shared { "dylib" } else { "static" };
            println!("cargo:rustc-link-lib={kind}={name}");
            // What the Go runtime of a C archive needs from the system.
            for sys in ["pthread", "dl", "m"] {
                println!("cargo:rustc-link-lib={sys}");
            }
            for i in &inputs {
                println!("cargo:rerun-if-changed={}", i.display());
            }
            for v in ENV_INPUTS {
                println!("cargo:rerun-if-env-changed={v}");
            }
        }
        Ok(Output {
            library,
            header,
            inputs,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cargo_targets_map_to_go_ports() {
        assert_eq!(
            go_target("x86_64-unknown-linux-gnu"),
            Some(("linux", "amd64"))
        );
        assert_eq!(
            go_target("aarch64-unknown-linux-gnu"),
            Some(("linux", "arm64"))
        );
        assert_eq!(go_target("aarch64-apple-darwin"), Some(("darwin", "arm64")));
        assert_eq!(go_target("wasm32-unknown-unknown"), None);
    }

    #[test]
    fn outside_a_build_script_the_error_says_so() {
        // CARGO_MANIFEST_DIR is set for tests; this crate has no build
        // script, so OUT_DIR is not.
        assert!(std::env::var_os("OUT_DIR").is_none());
        let e = Build::new().package("x").try_compile("x").unwrap_err();
        assert!(e.message.contains("OUT_DIR"), "{e}");
    }
}
