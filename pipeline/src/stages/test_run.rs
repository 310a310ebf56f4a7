//! The test-run stage: run a test binary as go test runs it
//! (`cmd/go/internal/test/test.go`, `runTestActor`) — in its package
//! directory, with `PWD` set, `-test.testlogfile`, `-test.paniconexit0`,
//! `-test.timeout` and the user's flags, and `-test.v=test2json` so the
//! output can become go test's JSON events and per-test outcomes.
//!
//! Results are cached like go test's (`computeTestInputsID`): the key holds
//! the test binary, the flags, and what the binary read in its last run —
//! the environment variables (`getenv`) and files (`open`, `stat`) listed in
//! its test log, each as it is now. The log of the last run per (binary,
//! flags) is kept in a memo beside the cache, so a changed testdata file or
//! environment variable makes the key new. A failed run is reported but
//! never cached; `-count=1` runs every time.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::cache::ContentDigest;
use crate::error::Result;
use crate::plan::{Action, Input};
use crate::stages::outputs::{BuildFailure, DeclaredInputs, Output, VetResult};
use crate::stages::step::{InProcessStep, Prepared, Step, StepContext, WORK};
use crate::stages::BuildFacts;

/// How tests run (from `cargo gobuild test`'s flags).
#[derive(Debug, Clone)]
pub struct TestSettings {
    /// Flags for every test binary, already as `-test.*` (then the user's
    /// `-- ARGS` unchanged).
    pub args: Vec<String>,
    /// `-test.timeout`.
    pub timeout: Duration,
    /// Reuse and store results (false with `--count 1` or `--no-cache`).
    pub cache: bool,
    /// Where the last test log per (binary, flags) is kept (set by the build).
    pub memo_dir: PathBuf,
    /// Run the binaries (false: build them only, `--no-run`).
    pub run: bool,
    /// Vet each tested package first, as go test does (`-vet=off`: false);
    /// a vet failure fails the package's test, whose binary does not run.
    pub vet: bool,
    /// `-cover`: the binaries are instrumented; each writes its counters to
    /// `-test.gocoverdir` (and a profile, with `-coverprofile`).
    pub cover: Option<CoverSettings>,
}

/// How a `-cover` test build runs its binaries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CoverSettings {
    /// `-covermode`: `set`, `count` or `atomic`.
    pub mode: String,
    /// `-coverprofile`: each binary writes its profile
    /// (`-test.coverprofile`), kept with the result ([`Output::CoverProfile`]).
    pub profile: bool,
}

/// The directory `-test.gocoverdir` names, in the run's work directory.
const COVER_DIR: &str = "gocoverdir";

/// Prepares the run of a test main's binary.
pub fn prepare(
    f: &BuildFacts<'_>,
    action: &Action,
    inputs: &DeclaredInputs<'_>,
    identity: String,
    settings: &TestSettings,
) -> Result<Prepared> {
    let p = f.pkg(action);
    let exe = inputs.get(&Input::Linked)?.get(&Output::Exe)?;
    let mut args = vec!["-test.paniconexit0".to_string()];
    // -cover: where the binary writes its counters (go test's order:
    // before the timeout), and the profile after the translated flags.
    if settings.cover.is_some() {
        args.push(format!("-test.gocoverdir={WORK}/{COVER_DIR}"));
    }
    args.push(format!("-test.timeout={}", go_duration(settings.timeout)));
    args.extend(settings.args.iter().cloned());
    let profile = settings.cover.as_ref().is_some_and(|c| c.profile);
    if profile {
        args.push(format!(
            "-test.coverprofile={WORK}/{}",
            Output::CoverProfile.file_name()
        ));
    }
    args.push("-test.v=test2json".into());
    let mut k = f.in_process_key("test-run (go test runTestActor)");
    k.add("binary", exe.to_hex());
    k.add("args", args.join("\x1f"));
    k.add("dir", p.dir.clone());
    // The vet of the tested packages (declared when vet is on): a failure
    // is the package's result, and the binary does not run (go test).
    let mut vet_failures = Vec::new();
    for dep in inputs.all() {
        let (input, out) = dep?;
        let Input::Vet(pkg) = input else {
            continue;
        };
        let d = out.get(&Output::VetResult)?;
        let vetted = &f.graph.packages[*pkg];
        k.add(format!("vet {}", vetted.base_path()), d.to_hex());
        vet_failures.extend(VetResult::read(f.objects, &d)?.failure(vetted));
    }
    let memo = settings.memo_dir.join(
        &blake3::hash(format!("{}\0{}", exe.to_hex(), args.join("\0")).as_bytes()).to_hex()[..32],
    );
    let base = k.clone();
    // What the last run of this binary with these flags read, as it is now
    // (the run stores its result under what it read itself).
    if let Ok(log) = std::fs::read_to_string(&memo) {
        add_log_inputs(&mut k, &log, Path::new(&p.dir));
    }
    let name = format!(
        "{}.test",
        p.tested_package()
            .and_then(|t| t.rsplit('/').next())
            .unwrap_or("pkg")
    );
    Ok(Prepared {
        identity,
        inputs: k,
        step: Step::InProcess(Box::new(TestRun {
            exe,
            name,
            dir: PathBuf::from(&p.dir),
            args,
            memo,
            base,
            vet_failures,
            cover: settings.cover.is_some(),
            profile,
        })),
        work_files: vec![],
        outputs: if profile {
            vec![Output::TestOutput, Output::TestResult, Output::CoverProfile]
        } else {
            vec![Output::TestOutput, Output::TestResult]
        },
        derive: None,
        cacheable: settings.cache,
    })
}

/// Adds each input a test log names (`getenv NAME`, `open PATH`,
/// `stat PATH`, `chdir PATH`), as it is now, to a key.
fn add_log_inputs(k: &mut crate::cache::KeyInputs, log: &str, dir: &Path) {
    for (op, arg) in log.lines().filter_map(|l| l.split_once(' ')) {
        let value = match op {
            "getenv" => std::env::var(arg).unwrap_or_else(|_| "<unset>".into()),
            "open" | "stat" | "chdir" => describe(&dir.join(arg), op == "open"),
            _ => continue,
        };
        k.add(format!("{op} {arg}"), value);
    }
}

/// A file or directory as a test-log input: content (open of a file), its
/// listing (a directory), its size and mtime (stat), or missing.
fn describe(path: &Path, content: bool) -> String {
    let Ok(meta) = std::fs::metadata(path) else {
        return "missing".into();
    };
    if meta.is_dir() {
        let mut names: Vec<String> = std::fs::read_dir(path)
            .into_iter()
            .flatten()
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        return format!("dir {}", blake3::hash(names.join("\0").as_bytes()).to_hex());
    }
    if content {
        if let Ok(d) = crate::cache::hash_file(path) {
            return d.to_hex();
        }
    }
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    format!("size {} mtime {mtime}", meta.len())
}

/// `10m0s`, as go prints durations for `-test.timeout`.
fn go_duration(d: Duration) -> String {
    let s = d.as_secs();
    if s >= 3600 {
        format!("{}h{}m{}s", s / 3600, s % 3600 / 60, s % 60)
    } else if s >= 60 {
        format!("{}m{}s", s / 60, s % 60)
    } else {
        format!("{s}s")
    }
}

/// How a run ended (the test-result output).
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, PartialEq)]
pub struct RunResult {
    /// The binary's exit code (0 pass, 1 fail, 2 panic or timeout; -1 killed).
    pub exit_code: i32,
    /// Wall time, in seconds.
    pub elapsed: f64,
    /// Why the binary did not run: the vet of the tested packages failed
    /// (go test's `FAIL pkg [build failed]`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub build_failed: Vec<BuildFailure>,
}

#[derive(Debug)]
struct TestRun {
    exe: ContentDigest,
    name: String,
    dir: PathBuf,
    args: Vec<String>,
    memo: PathBuf,
    /// The key without the test-log inputs.
    base: crate::cache::KeyInputs,
    /// The tested packages whose vet failed.
    vet_failures: Vec<BuildFailure>,
    /// Instrumented for coverage (`-test.gocoverdir` is in `args`)?
    cover: bool,
    /// Does it write a coverage profile (`-test.coverprofile`)?
    profile: bool,
}

impl InProcessStep for TestRun {
    fn run(&self, cx: &StepContext<'_>) -> std::result::Result<(), String> {
        let io = |e: &dyn std::fmt::Display| e.to_string();
        let write = |o: Output, data: &[u8]| {
            let p = cx.work_dir.join(o.file_name());
            std::fs::write(&p, data).map_err(|e| format!("{}: {e}", p.display()))
        };
        // A binary that wrote no profile (it did not run, or died) leaves
        // an empty one, as go test merges nothing for it.
        let profile = cx.work_dir.join(Output::CoverProfile.file_name());
        let no_profile = || -> std::result::Result<(), String> {
            if self.profile && !profile.exists() {
                write(Output::CoverProfile, b"")?;
            }
            Ok(())
        };
        if !self.vet_failures.is_empty() {
            let result = RunResult {
                exit_code: 1,
                elapsed: 0.0,
                build_failed: self.vet_failures.clone(),
            };
            no_profile()?;
            write(Output::TestOutput, b"")?;
            return write(
                Output::TestResult,
                &serde_json::to_vec(&result).expect("result serializes"),
            );
        }
        // A copy of its own, executable, named as go test names it.
        let src = cx.objects.local_path(&self.exe).map_err(|e| io(&e))?;
        let bin = cx.work_dir.join(&self.name);
        std::fs::copy(&src, &bin).map_err(|e| io(&e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            std::fs::set_permissions(&bin, std::fs::Permissions::from_mode(0o755))
                .map_err(|e| io(&e))?;
        }
        let log = cx.work_dir.join("testlog.txt");
        let mut args = vec![format!("-test.testlogfile={}", log.display())];
        let work = cx.work_dir.display().to_string();
        args.extend(self.args.iter().map(|a| a.replace(WORK, &work)));
        let coverdir = cx.work_dir.join(COVER_DIR);
        if self.cover {
            std::fs::create_dir_all(&coverdir).map_err(|e| io(&e))?;
        }
        let start = Instant::now();
        // Another worker forking while the copy was open for writing holds
        // it open until that child execs: exec fails with ETXTBSY for a
        // moment (as cmd/go retries, so do we).
        let mut attempt = 0;
        let out = loop {
            let mut cmd = duct::cmd(&bin, &args).dir(&self.dir).env("PWD", &self.dir);
            if self.cover {
                // As go test: for tests that build and run instrumented
                // programs themselves.
                cmd = cmd.env("GOCOVERDIR", &coverdir);
            }
            let r = crate::util::run_captured(cmd);
            match r {
                Err(e) if e.raw_os_error() == Some(26) && attempt < 20 => {
                    attempt += 1;
                    std::thread::sleep(Duration::from_millis(5 * attempt));
                }
                r => break r.map_err(|e| format!("could not run {}: {e}", self.name))?,
            }
        };
        let result = RunResult {
            exit_code: out.status.code().unwrap_or(-1),
            elapsed: start.elapsed().as_secs_f64(),
            build_failed: Vec::new(),
        };
        write(Output::TestOutput, &out.stdout)?;
        write(
            Output::TestResult,
            &serde_json::to_vec(&result).expect("result serializes"),
        )?;
        no_profile()?;
        // What the binary read, for the next run's key.
        if let Ok(text) = std::fs::read_to_string(&log) {
            let inputs: String = text
                .lines()
                .filter(|l| !l.starts_with('#'))
                .map(|l| format!("{l}\n"))
                .collect();
            let _ = crate::cache::atomic_write(&self.memo, inputs.as_bytes());
        }
        Ok(())
    }

    fn final_inputs(&self, work_dir: &Path) -> Option<crate::cache::KeyInputs> {
        let log = std::fs::read_to_string(work_dir.join("testlog.txt")).unwrap_or_default();
        let mut k = self.base.clone();
        add_log_inputs(&mut k, &log, &self.dir);
        Some(k)
    }

    fn cacheable(&self, work_dir: &Path) -> bool {
        std::fs::read(work_dir.join(Output::TestResult.file_name()))
            .ok()
            .and_then(|d| serde_json::from_slice::<RunResult>(&d).ok())
            .is_some_and(|r| r.exit_code == 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timeouts_are_written_as_go_writes_them() {
        assert_eq!(go_duration(Duration::from_secs(600)), "10m0s");
        assert_eq!(go_duration(Duration::from_secs(90)), "1m30s");
        assert_eq!(go_duration(Duration::from_secs(5)), "5s");
        assert_eq!(go_duration(Duration::from_secs(3661)), "1h1m1s");
    }
}
