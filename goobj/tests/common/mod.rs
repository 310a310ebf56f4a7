//! Helpers shared by the integration tests: running the real Go toolchain and finding the
//! link sets of what it built.
//!
//! Tests FAIL (not skip) when `go` is missing. Builds share one GOCACHE under
//! CARGO_TARGET_TMPDIR, so the standard library is compiled once per GOARCH and reused by
//! every test binary and later runs; `importcfg.link` then points into that cache.
#![allow(dead_code)]

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::Command;

/// The `go` command; panics with a clear message when it is missing.
pub fn go() -> PathBuf {
    let candidates = [
        std::env::var_os("GO").map(PathBuf::from),
        Some(PathBuf::from("go")),
        Some(PathBuf::from("/usr/local/go/bin/go")),
    ];
    for c in candidates.into_iter().flatten() {
        if Command::new(&c)
            .arg("version")
            .output()
            .is_ok_and(|o| o.status.success())
        {
            return c;
        }
    }
    panic!("the Go toolchain (`go`) is required by this test but was not found in PATH or /usr/local/go/bin");
}

/// `go env GOVERSION` of the `go` the tests run (e.g. "go1.22.10").
pub fn go_version() -> String {
    let out = Command::new(go())
        .args(["env", "GOVERSION"])
        .env("GOTOOLCHAIN", "local")
        .output()
        .expect("go env GOVERSION");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Minor version of that Go (22 for go1.22.10).
pub fn go_minor() -> u32 {
    let v = go_version();
    goobj::reader::parse_go_minor(&v).unwrap_or_else(|| panic!("cannot parse GOVERSION {v:?}"))
}

/// A go.mod for a test module, with the `go` line of the Go under test (so that older
/// toolchains with GOTOOLCHAIN=local accept it).
pub fn go_mod(module: &str) -> String {
    format!("module {module}\n\ngo 1.{}\n", go_minor())
}

pub fn gocache() -> PathBuf {
    let d = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("goobj-gocache");
    std::fs::create_dir_all(&d).expect("create GOCACHE");
    d
}

/// One link step that `go build -x` ran.
#[derive(Debug, Clone)]
pub struct LinkStep {
    /// The main package archive (last argument of the link command).
    pub main: PathBuf,
    pub importcfg: PathBuf,
    /// Import path of the main package (from importcfg.link).
    pub main_pkg: String,
}

impl LinkStep {
    pub fn libs(&self) -> Vec<(String, PathBuf)> {
        goobj::parse_importcfg(
            &std::fs::read_to_string(&self.importcfg).expect("read importcfg.link"),
        )
    }

    pub fn load(&self) -> goobj::LinkSet {
        goobj::load_link_set(&self.main, &self.libs())
            .unwrap_or_else(|e| panic!("load link set of {}: {e}", self.main_pkg))
    }

    /// Loads through per-archive summaries in `dir` (goobj::SummaryCache).
    pub fn load_cached(&self, dir: &Path) -> (goobj::LinkSet, goobj::CacheStats) {
        goobj::SummaryCache::new(dir)
            .load_link_set(&self.main, &self.libs())
            .unwrap_or_else(|e| panic!("cached load of {}: {e}", self.main_pkg))
    }
}

#[derive(Debug)]
pub struct GoBuild {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
    pub work: PathBuf,
    pub links: Vec<LinkStep>,
}

impl GoBuild {
    /// `nosplit:` lines the linker printed (with `-ldflags=-debugnosplit`).
    pub fn nosplit_lines(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .stderr
            .lines()
            .chain(self.stdout.lines())
            .filter(|l| l.starts_with("nosplit: "))
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }
}

/// Runs `go build -work -x ARGS` in `dir` for `goarch` (CGO off, shared GOCACHE) and
/// collects the link steps from the -x trace.
pub fn go_build(dir: &Path, goarch: &str, args: &[&str]) -> GoBuild {
    go_build_env(dir, goarch, args, &[])
}

/// [`go_build`] with extra environment (e.g. `CGO_ENABLED=1`).
pub fn go_build_env(dir: &Path, goarch: &str, args: &[&str], env: &[(&str, &str)]) -> GoBuild {
    let out = Command::new(go())
        .current_dir(dir)
        .arg("build")
        .arg("-work")
        .arg("-x")
        .args(args)
        .env("GOCACHE", gocache())
        .env("GOARCH", goarch)
        .env("GOOS", "linux")
        .env("CGO_ENABLED", "0")
        .env("GOFLAGS", "")
        .env("GOTOOLCHAIN", "local")
        .env_remove("GOAMD64")
        .env_remove("GOARM64")
        .env_remove("GOEXPERIMENT")
        .envs(env.iter().copied())
        .output()
        .expect("run go build");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let work = stderr
        .lines()
        .find_map(|l| l.strip_prefix("WORK="))
        .map(PathBuf::from)
        .unwrap_or_else(|| panic!("no WORK= in go build -x output:\n{stderr}"));
    let w = work.display().to_string();
    let mut links = Vec::new();
    for line in stderr.lines() {
        let toks: Vec<&str> = line.split_whitespace().collect();
        let Some(pos) = toks
            .iter()
            .position(|t| t.ends_with("/link") && t.contains("/pkg/tool/"))
        else {
            continue;
        };
        let toks = &toks[pos..];
        let Some(i) = toks.iter().position(|t| *t == "-importcfg") else {
            continue;
        };
        let importcfg = PathBuf::from(toks[i + 1].replace("$WORK", &w));
        let main = PathBuf::from(toks[toks.len() - 1].replace("$WORK", &w));
        let cfg = std::fs::read_to_string(&importcfg).unwrap_or_default();
        let main_pkg = goobj::parse_importcfg(&cfg)
            .into_iter()
            .find(|(_, f)| *f == main)
            .map(|(p, _)| p)
            .unwrap_or_else(|| "main".into());
        links.push(LinkStep {
            main,
            importcfg,
            main_pkg,
        });
    }
    GoBuild {
        ok: out.status.success(),
        stdout,
        stderr,
        work,
        links,
    }
}

/// Copies a directory tree.
pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("entry");
        let p = e.path();
        let t = to.join(e.file_name());
        if p.is_dir() {
            copy_dir(&p, &t);
        } else {
            std::fs::copy(&p, &t).expect("copy");
        }
    }
}

/// Writes files (relative path → content) under `root`.
pub fn write_files(root: &Path, files: &HashMap<String, String>) {
    for (rel, content) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
        std::fs::write(&p, content).expect("write");
    }
}

/// Runs the installed linker directly on a link step, stdout and stderr in one stream
/// (so the error line and the chain lines keep the linker's order).
pub fn run_linker(step: &LinkStep, goarch: &str, out: &Path) -> (bool, String) {
    let tooldir = String::from_utf8(
        Command::new(go())
            .args(["env", "GOTOOLDIR"])
            .output()
            .expect("go env")
            .stdout,
    )
    .expect("utf8");
    let link = Path::new(tooldir.trim()).join("link");
    let o = Command::new("sh")
        .arg("-c")
        .arg("exec \"$0\" \"$@\" 2>&1")
        .arg(&link)
        .arg("-o")
        .arg(out)
        .arg("-importcfg")
        .arg(&step.importcfg)
        .arg("-buildmode=exe")
        .arg(&step.main)
        .env("GOARCH", goarch)
        .env("GOOS", "linux")
        .env("CGO_ENABLED", "0")
        .output()
        .expect("run link");
    (
        o.status.success(),
        String::from_utf8_lossy(&o.stdout).into_owned(),
    )
}

/// Diff summary of two sorted line sets, for assertion messages.
pub fn set_diff(a: &[String], b: &[String]) -> String {
    let sa: std::collections::BTreeSet<&String> = a.iter().collect();
    let sb: std::collections::BTreeSet<&String> = b.iter().collect();
    let only_a: Vec<_> = sa.difference(&sb).take(20).collect();
    let only_b: Vec<_> = sb.difference(&sa).take(20).collect();
    format!(
        "only in linker ({}): {only_a:#?}\nonly in ours ({}): {only_b:#?}",
        sa.difference(&sb).count(),
        sb.difference(&sa).count()
    )
}
