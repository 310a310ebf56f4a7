//! Test results as go test reports them, shared by `cargo gobuild test`
//! and `watch --test`: a test binary's output through the toolchain's own
//! test2json (per-test outcomes are go test's), go test's final lines, the
//! human rendering (failures' output, `ok`/`FAIL`), and a nextest-style
//! summary.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::Stdio;

use pipeline::build::TestRun;
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
/// final `ok`/`FAIL` line, through the toolchain's test2json.
pub(crate) fn events_of(test2json: &std::path::Path, t: &TestRun) -> Result<Vec<Value>, Failure> {
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
        (format!("ok  \t{pkg}\t{took}\n"), "pass")
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
            if !(framing || passed && l.starts_with("--- ")) {
                out.push_str(l);
            }
        }
    }
    print!("{out}");
    passed
}

pub(crate) fn summary(t: &Tally, packages: usize, cached: usize, failed_packages: &[String]) {
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
            eprintln!("        FAIL {p} (the test binary failed)");
        }
    }
}
