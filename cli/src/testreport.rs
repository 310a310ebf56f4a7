//! Test results as go test reports them, shared by `cargo gobuild test`
//! and `watch --test`: a test binary's output through the toolchain's own
//! test2json (per-test outcomes are go test's), go test's final lines, the
//! human rendering (failures' output, `ok`/`FAIL`), and a nextest-style
//! summary.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::Stdio;

use pipeline::build::TestRun;
use pipeline::stages::outputs::BuildFailure;
use serde_json::Value;

use crate::exit::{Failure, Kind};

/// One package's outcome, for the summary.
#[derive(Default)]
pub(crate) struct Tally {
    pub(crate) passed: usize,
    pub(crate) failed: usize,
    pub(crate) skipped: usize,
    pub(crate) failed_tests: Vec<String>,
    pub(crate) slow: Vec<(f64, String)>,
    pub(crate) flaky: Vec<String>,
}

/// The toolchain's test2json: `$GOTOOLDIR/test2json` where Go ships it,
/// else what `go tool -n test2json` names (Go 1.24+ builds it on demand, into
/// its own cache); remembered in `memo` while that file exists.
pub(crate) fn test2json(
    go: &std::path::Path,
    tool_dir: &std::path::Path,
    memo: &std::path::Path,
) -> Result<std::path::PathBuf, Failure> {
    let shipped = tool_dir.join("test2json");
    if shipped.is_file() {
        return Ok(shipped);
    }
    if let Ok(p) = std::fs::read_to_string(memo) {
        let p = std::path::PathBuf::from(p.trim());
        if p.is_file() {
            return Ok(p);
        }
    }
    let out = std::process::Command::new(go)
        .args(["tool", "-n", "test2json"])
        .output()
        .map_err(|e| Failure::new(Kind::Unexpected, format!("{}: {e}", go.display())))?;
    let path = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() || path.is_empty() {
        return Err(Failure::new(
            Kind::Unexpected,
            format!(
                "`go tool -n test2json` failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    let _ = std::fs::write(memo, &path);
    Ok(path.into())
}

/// The test2json of a finished test build (`gobuild_dir` keeps the memo).
pub(crate) fn test2json_for(
    o: &pipeline::build::BuildOutcome,
    gobuild_dir: &std::path::Path,
) -> Result<std::path::PathBuf, Failure> {
    let tc = &o.session.toolchain;
    test2json(
        &tc.go,
        std::path::Path::new(tc.var("GOTOOLDIR")),
        &gobuild_dir.join("test2json.path"),
    )
}

pub(crate) fn print_event(v: &Value) {
    println!("{}", serde_json::to_string(v).expect("event serializes"));
}

/// The package's go test JSON events: the binary's output and go test's
/// final `ok`/`FAIL` line, through the toolchain's test2json; under
/// `-cover` (`cover`), the `ok` line ends with the coverage the binary
/// printed, as go test's.
pub(crate) fn events_of(
    test2json: &std::path::Path,
    t: &TestRun,
    cover: bool,
) -> Result<Vec<Value>, Failure> {
    let Some(r) = &t.result else {
        return Ok(Vec::new());
    };
    let input = t.output.clone();
    let mut child = std::process::Command::new(test2json)
        .args(["-t", "-p", &t.package])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .map_err(|e| Failure::new(Kind::Unexpected, format!("test2json: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped");
    let feeder = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child
        .wait_with_output()
        .map_err(|e| Failure::new(Kind::Unexpected, format!("test2json: {e}")))?;
    let _ = feeder.join();
    let mut events: Vec<Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect();
    // What go test adds after the binary exits (`Converter.Exited`, then its
    // own verdict line): a test still running when the binary died failed;
    // then `ok`/`FAIL` and the package's event.
    events.retain(|e| {
        !(e["Test"].is_null() && matches!(e["Action"].as_str(), Some("pass" | "fail")))
    });
    let now = || humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
    let mut open: Vec<String> = Vec::new();
    for e in &events {
        if let Some(test) = e["Test"].as_str() {
            match e["Action"].as_str() {
                Some("run") => open.push(test.to_string()),
                Some("pass" | "fail" | "skip") => open.retain(|o| o != test),
                _ => {}
            }
        }
    }
    let pkg = t.package.as_str();
    if !r.build_failed.is_empty() {
        return Ok(build_failed_events(pkg, &t.dir, &r.build_failed, now));
    }
    if r.exit_code != 0 {
        for test in open.iter().rev() {
            events.push(serde_json::json!({"Time": now(), "Action": "fail", "Package": pkg, "Test": test, "Elapsed": 0}));
        }
    }
    let (line, action) = if r.exit_code == 0 {
        let took = if t.cached {
            "(cached)".to_string()
        } else {
            format!("{:.3}s", r.elapsed)
        };
        let coverage = if cover {
            crate::coverage::percentage(&t.output).unwrap_or_default()
        } else {
            String::new()
        };
        (format!("ok  \t{pkg}\t{took}{coverage}\n"), "pass")
    } else {
        (format!("FAIL\t{pkg}\t{:.3}s\n", r.elapsed), "fail")
    };
    events.push(
        serde_json::json!({"Time": now(), "Action": "output", "Package": pkg, "Output": line}),
    );
    let elapsed = (r.elapsed * 1000.0).round() / 1000.0;
    events.push(
        serde_json::json!({"Time": now(), "Action": action, "Package": pkg, "Elapsed": elapsed}),
    );
    Ok(events)
}

/// go test's events for a package whose build failed (its vet): each
/// failed package's output as `build-output` events, its `build-fail`,
/// then the package's `FAIL pkg [build failed]`.
pub(crate) fn build_failed_events(
    pkg: &str,
    dir: &std::path::Path,
    failures: &[BuildFailure],
    now: impl Fn() -> String,
) -> Vec<Value> {
    let mut events = Vec::new();
    for f in failures {
        let ip = f.import_path.as_str();
        events.extend(
            relative_paths(&f.output, dir).split_inclusive('\n').map(
                |l| serde_json::json!({"ImportPath": ip, "Action": "build-output", "Output": l}),
            ),
        );
        events.push(serde_json::json!({"ImportPath": ip, "Action": "build-fail"}));
    }
    let failed = failures.first().map_or(pkg, |f| f.import_path.as_str());
    events.push(serde_json::json!({"Time": now(), "Action": "start", "Package": pkg}));
    events.push(serde_json::json!({"Time": now(), "Action": "output", "Package": pkg, "Output": format!("FAIL\t{pkg} [build failed]\n")}));
    events.push(serde_json::json!({"Time": now(), "Action": "fail", "Package": pkg, "Elapsed": 0, "FailedBuild": failed}));
    events
}

/// Drops the `build-output`/`build-fail` events of builds already shown
/// (`seen`): go test reports a failed package's build once, however many
/// tested packages needed it.
pub(crate) fn once_per_build(events: Vec<Value>, seen: &mut BTreeSet<String>) -> Vec<Value> {
    events
        .into_iter()
        .filter(|e| match (e["Action"].as_str(), e["ImportPath"].as_str()) {
            (Some("build-output"), Some(ip)) => !seen.contains(ip),
            (Some("build-fail"), Some(ip)) => seen.insert(ip.to_string()),
            _ => true,
        })
        .collect()
}

/// Prints a build failure's events as go test does without `-json`: the
/// build output on stderr (unless the build's reporter already showed every
/// failure: `all_reported`), the verdict on stdout.
pub(crate) fn print_build_failure(events: &[Value], all_reported: bool) {
    let mut err = String::new();
    for e in events {
        match e["Action"].as_str() {
            Some("build-output") if !all_reported => {
                err.push_str(e["Output"].as_str().unwrap_or(""))
            }
            Some("output") => print!("{}", e["Output"].as_str().unwrap_or("")),
            _ => {}
        }
    }
    eprint!("{err}");
}

/// Tool output naming files by absolute path, as cmd/go shows it
/// (`reportCmd`): the package directory and each of its parents replaced
/// by the path relative to the current directory where that is shorter.
pub(crate) fn relative_paths(text: &str, dir: &std::path::Path) -> String {
    let Ok(cwd) = std::env::current_dir() else {
        return text.to_string();
    };
    let mut out = text.to_string();
    for d in dir.ancestors() {
        let (Some(old), Some(rel)) = (d.to_str(), relative_to(&cwd, d)) else {
            continue;
        };
        if rel.len() < old.len() {
            out = replace_prefix(&out, old, &rel);
        }
    }
    out
}

/// `filepath.Rel(base, path)` for absolute paths.
pub(crate) fn relative_to(base: &std::path::Path, path: &std::path::Path) -> Option<String> {
    let b: Vec<_> = base.components().collect();
    let p: Vec<_> = path.components().collect();
    let common = b.iter().zip(&p).take_while(|(x, y)| x == y).count();
    let mut parts: Vec<String> = vec!["..".to_string(); b.len() - common];
    for c in &p[common..] {
        parts.push(c.as_os_str().to_str()?.to_string());
    }
    Some(if parts.is_empty() {
        ".".to_string()
    } else {
        parts.join("/")
    })
}

/// cmd/go's `replacePrefix`: `old` where a line or a word starts.
pub(crate) fn replace_prefix(s: &str, old: &str, new: &str) -> String {
    if !s.contains(old) {
        return s.to_string();
    }
    let mut s = s
        .replace(&format!(" {old}"), &format!(" {new}"))
        .replace(&format!("\n{old}"), &format!("\n{new}"))
        .replace(&format!("\n\t{old}"), &format!("\n\t{new}"));
    if let Some(rest) = s.strip_prefix(old) {
        s = format!("{new}{rest}");
    }
    s
}

/// Prints one package's results; returns whether it passed.
pub(crate) fn report_package(
    t: &TestRun,
    events: &[Value],
    json: bool,
    verbose: bool,
    tally: &mut Tally,
) -> bool {
    let Some(r) = &t.result else {
        return false;
    };
    let passed = r.exit_code == 0;
    if json {
        for e in events {
            print_event(e);
        }
    }
    // Per test: its outcome, and its output lines in order.
    let mut outcome: BTreeMap<String, String> = BTreeMap::new();
    let mut output: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut package_output = Vec::new();
    for e in events {
        let test = e["Test"].as_str().map(str::to_string);
        let action = e["Action"].as_str().unwrap_or("");
        match (action, test) {
            ("output", Some(name)) => output
                .entry(name)
                .or_default()
                .push(e["Output"].as_str().unwrap_or("").to_string()),
            ("output", None) => package_output.push(e["Output"].as_str().unwrap_or("").to_string()),
            ("pass" | "fail" | "skip", Some(name)) => {
                outcome.insert(name.clone(), action.to_string());
                if let Some(el) = e["Elapsed"].as_f64() {
                    tally.slow.push((el, format!("{} {name}", t.package)));
                }
            }
            _ => {}
        }
    }
    for (name, o) in &outcome {
        match o.as_str() {
            "pass" => tally.passed += 1,
            "fail" => {
                tally.failed += 1;
                tally.failed_tests.push(format!("{} {name}", t.package));
            }
            _ => tally.skipped += 1,
        }
    }
    if json {
        return passed;
    }
    if !r.build_failed.is_empty() {
        print_build_failure(events, r.build_failed.iter().all(|f| f.reported));
        return passed;
    }
    let mut out = String::new();
    if verbose {
        for e in events {
            if let Some(o) = e["Output"].as_str() {
                out.push_str(o);
            }
        }
    } else {
        // Like go test without -v: the failed tests' output, then the verdict.
        for (name, o) in &outcome {
            if o != "fail" {
                continue;
            }
            let lines = output.get(name).cloned().unwrap_or_default();
            for l in lines.iter().filter(|l| l.starts_with("--- FAIL")) {
                out.push_str(l);
            }
            for l in lines.iter().filter(|l| {
                !(l.starts_with("=== ")
                    || l.starts_with("--- FAIL")
                    || l.trim_start().starts_with("--- "))
            }) {
                out.push_str(l);
            }
        }
        for l in &package_output {
            let framing = l.starts_with("=== ") || l.starts_with("PASS");
            // The binary's coverage line is on go test's `ok` line.
            let quiet = l.starts_with("--- ") || l.starts_with("coverage: ");
            if !(framing || passed && quiet) {
                out.push_str(l);
            }
        }
    }
    print!("{out}");
    passed
}

/// What failed before a package's tests could run, for the summary:
/// `build` (a compile or link the reporter showed) or `vet`.
pub(crate) fn build_failure_kind(
    failures: &[pipeline::stages::outputs::BuildFailure],
) -> &'static str {
    if failures.iter().any(|f| f.reported) {
        "build"
    } else {
        "vet"
    }
}

pub(crate) fn summary(
    t: &Tally,
    packages: usize,
    cached: usize,
    failed_packages: &[String],
    build_failed: &BTreeMap<String, &'static str>,
) {
    let mut slow = t.slow.clone();
    slow.sort_by(|a, b| b.0.total_cmp(&a.0));
    eprintln!(
        "\n     Summary {packages} package(s) tested ({cached} cached), {} failed; {} tests: {} passed, {} failed, {} skipped",
        failed_packages.len(),
        t.passed + t.failed + t.skipped,
        t.passed,
        t.failed,
        t.skipped
    );
    for (el, name) in slow.iter().take(3).filter(|(el, _)| *el > 0.0) {
        eprintln!("        SLOW [{el:>7.3}s] {name}");
    }
    for name in &t.failed_tests {
        eprintln!("        FAIL {name}");
    }
    for name in &t.flaky {
        eprintln!("       FLAKY {name}");
    }
    for p in failed_packages {
        if !t
            .failed_tests
            .iter()
            .any(|f| f.starts_with(&format!("{p} ")))
        {
            if let Some(what) = build_failed.get(p) {
                eprintln!("        FAIL {p} ({what} failed; the tests did not run)");
            } else {
                eprintln!("        FAIL {p} (the test binary failed)");
            }
        }
    }
}
