//! `cargo gobuild test [PKGS] [-- ARGS]`: Go tests built and run through the
//! pipeline, as go test does (test variants, test mains, the nosplit check,
//! cached results), reported like go test (`ok`/`FAIL` per package, the
//! output of failed tests) with a nextest-style summary, or as exactly
//! `go test -json`'s events (`--message-format json`; build events go to
//! stderr then, so stdout is a test2json stream).
//!
//! Each test binary's output (run with `-test.v=test2json`) goes through the
//! toolchain's own `test2json`, so per-test outcomes are go test's.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::process::Stdio;
use std::time::Duration;

use clap::Args;
use pipeline::build::{self, TestRun};
use pipeline::plan::Intent;
use pipeline::stages::outputs::BuildFailure;
use pipeline::stages::test_run::TestSettings;
use serde_json::Value;

use crate::args::BuildArgs;
use crate::exit::{Failure, Kind};
use crate::report::MessageFormat;
use crate::settings;

/// Arguments of `cargo gobuild test`.
#[derive(Debug, Args)]
pub(crate) struct TestArgs {
    #[command(flatten)]
    pub(crate) build: BuildArgs,
    /// Run only tests (and examples, fuzz seeds) matching REGEX (`-test.run`).
    #[arg(long, value_name = "REGEX")]
    run: Option<String>,
    /// Skip tests matching REGEX (`-test.skip`).
    #[arg(long, value_name = "REGEX")]
    skip: Option<String>,
    /// Run each test N times (`-test.count`); 1 also turns result caching off.
    #[arg(long, value_name = "N")]
    count: Option<u32>,
    /// Tell long tests to shorten themselves (`-test.short`).
    #[arg(long)]
    short: bool,
    /// Panic a test binary that runs longer (`-test.timeout`; `10m`, `30s`).
    #[arg(long, value_name = "D", default_value = "10m", value_parser = parse_timeout)]
    timeout: Duration,
    /// Stop a package's tests after its first failure (`-test.failfast`).
    #[arg(long)]
    failfast: bool,
    /// Run benchmarks matching REGEX (`-test.bench`).
    #[arg(long, value_name = "REGEX")]
    bench: Option<String>,
    /// Benchmark time (`-test.benchtime`).
    #[arg(long, value_name = "T")]
    benchtime: Option<String>,
    /// Randomize test order (`-test.shuffle`: off, on or a seed).
    #[arg(long, value_name = "off|on|N")]
    shuffle: Option<String>,
    /// List tests, benchmarks, fuzz targets and examples matching REGEX (`-test.list`).
    #[arg(long, value_name = "REGEX")]
    list: Option<String>,
    /// Print every test's output, as `go test -v` does (not only failures').
    #[arg(long)]
    test_verbose: bool,
    /// Build the test binaries but do not run them.
    #[arg(long)]
    no_run: bool,
    /// Run every test binary even when an earlier result would do.
    #[arg(long)]
    no_cache: bool,
    /// Rerun failed tests up to N times (only those, `-test.run` anchored);
    /// a test that passes on a retry is reported as flaky, not failed.
    #[arg(long, value_name = "N", default_value_t = 0)]
    retries: u32,
    /// Write the results as JUnit XML (like gotestsum's) to FILE.
    #[arg(long, value_name = "FILE")]
    junit: Option<std::path::PathBuf>,
    /// Vet the tested packages first, as go test does (`-vet`): `default`
    /// runs go test's default checks, `off` none.
    #[arg(long, value_name = "off|default", default_value = "default")]
    vet: VetMode,
    /// The race detector (`-race`) needs cgo, which cargo gobuild does not build yet.
    #[arg(long)]
    race: bool,
    /// Arguments after `--` go to every test binary unchanged.
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

/// `--vet`: which vet go test runs before the tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum VetMode {
    /// No vet.
    Off,
    /// go test's default checks (`-atomic -bool … -tests`).
    Default,
}

fn parse_timeout(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (a duration like 10m or 30s)"))
}

impl TestArgs {
    /// The flags every test binary gets, as go test translates them.
    fn binary_args(&self) -> Vec<String> {
        let mut a = Vec::new();
        let mut push = |flag: &str, v: &Option<String>| {
            if let Some(v) = v {
                a.push(format!("-test.{flag}={v}"));
            }
        };
        push("run", &self.run);
        push("skip", &self.skip);
        push("bench", &self.bench);
        push("benchtime", &self.benchtime);
        push("shuffle", &self.shuffle);
        push("list", &self.list);
        if let Some(n) = self.count {
            a.push(format!("-test.count={n}"));
        }
        if self.short {
            a.push("-test.short=true".into());
        }
        if self.failfast {
            a.push("-test.failfast=true".into());
        }
        a.extend(self.args.iter().cloned());
        a
    }
}

/// One package's outcome, for the summary.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    skipped: usize,
    failed_tests: Vec<String>,
    slow: Vec<(f64, String)>,
    flaky: Vec<String>,
}

/// Reruns the failed tests (top-level names, `-test.run=^(A|B)$`, never
/// from the cache) up to `--retries` times; those that pass are flaky.
fn retry(
    args: &TestArgs,
    mut req: pipeline::build::BuildRequest,
    sink: &dyn pipeline::events::EventSink,
    tally: &mut Tally,
    failed_packages: &mut Vec<String>,
) -> Result<(), Failure> {
    for attempt in 1..=args.retries {
        let mut by_pkg: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for f in &tally.failed_tests {
            if let Some((pkg, test)) = f.split_once(' ') {
                let top = test.split('/').next().unwrap_or(test);
                by_pkg
                    .entry(pkg.to_string())
                    .or_default()
                    .insert(regex_quote(top));
            }
        }
        if by_pkg.is_empty() {
            return Ok(());
        }
        for (pkg, tests) in by_pkg {
            req.patterns = vec![pkg.clone()];
            let mut targs: Vec<String> = args
                .binary_args()
                .into_iter()
                .filter(|a| !a.starts_with("-test.run="))
                .collect();
            targs.push(format!(
                "-test.run=^({})$",
                tests.iter().cloned().collect::<Vec<_>>().join("|")
            ));
            req.test = Some(TestSettings {
                args: targs,
                timeout: args.timeout,
                cache: false,
                memo_dir: Default::default(),
                run: true,
                vet: args.vet == VetMode::Default,
            });
            let outcome = build::build(&req, sink, None)?;
            let test2json = test2json(&outcome.session.toolchain.go)?;
            for t in outcome.test_runs() {
                let events = events_of(&test2json, &t)?;
                let mut still = BTreeSet::new();
                for e in &events {
                    if let (Some("fail"), Some(test)) = (e["Action"].as_str(), e["Test"].as_str()) {
                        still.insert(format!("{} {test}", t.package));
                    }
                }
                let now_passing: Vec<String> = tally
                    .failed_tests
                    .iter()
                    .filter(|f| f.starts_with(&format!("{} ", t.package)) && !still.contains(*f))
                    .cloned()
                    .collect();
                for f in now_passing {
                    eprintln!("       FLAKY {f} (passed on retry {attempt})");
                    tally.failed_tests.retain(|x| x != &f);
                    tally.failed -= 1;
                    tally.passed += 1;
                    tally.flaky.push(f);
                }
                if t.result.as_ref().is_some_and(|r| r.exit_code == 0) {
                    failed_packages.retain(|p| p != &t.package);
                }
            }
        }
    }
    Ok(())
}

fn regex_quote(s: &str) -> String {
    s.chars()
        .flat_map(|c| {
            let special = "\\.+*?()|[]{}^$".contains(c);
            special
                .then_some('\\')
                .into_iter()
                .chain(std::iter::once(c))
        })
        .collect()
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .chars()
        .filter(|c| !c.is_control() || *c == '\n' || *c == '\t')
        .collect()
}

/// JUnit XML of the packages' events: a testsuite per package, a testcase
/// per test (with its output in a failure or skipped element).
fn junit(suites: &[(String, Vec<Value>)]) -> String {
    let mut x = String::from("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>\n");
    for (pkg, events) in suites {
        let mut cases: Vec<(String, String, f64)> = Vec::new();
        let mut output: BTreeMap<String, String> = BTreeMap::new();
        for e in events {
            let Some(test) = e["Test"].as_str() else {
                continue;
            };
            match e["Action"].as_str() {
                Some("output") => output
                    .entry(test.to_string())
                    .or_default()
                    .push_str(e["Output"].as_str().unwrap_or("")),
                Some(a @ ("pass" | "fail" | "skip")) => cases.push((
                    test.to_string(),
                    a.to_string(),
                    e["Elapsed"].as_f64().unwrap_or(0.0),
                )),
                _ => {}
            }
        }
        let failures = cases.iter().filter(|c| c.1 == "fail").count();
        let skipped = cases.iter().filter(|c| c.1 == "skip").count();
        let time: f64 = cases.iter().map(|c| c.2).sum();
        x.push_str(&format!(
            "  <testsuite name=\"{}\" tests=\"{}\" failures=\"{failures}\" errors=\"0\" skipped=\"{skipped}\" time=\"{time:.3}\">\n",
            xml_escape(pkg),
            cases.len()
        ));
        for (name, action, el) in &cases {
            x.push_str(&format!(
                "    <testcase classname=\"{}\" name=\"{}\" time=\"{el:.3}\"",
                xml_escape(pkg),
                xml_escape(name)
            ));
            let out = xml_escape(output.get(name).map(String::as_str).unwrap_or(""));
            match action.as_str() {
                "fail" => x.push_str(&format!(
                    ">\n      <failure message=\"Failed\"><![CDATA[{}]]></failure>\n    </testcase>\n",
                    out.replace("]]>", "]]]]><![CDATA[>")
                )),
                "skip" => x.push_str(&format!(
                    ">\n      <skipped message=\"{}\"></skipped>\n    </testcase>\n",
                    out.lines().last().unwrap_or("").trim()
                )),
                _ => x.push_str("></testcase>\n"),
            }
        }
        x.push_str("  </testsuite>\n");
    }
    x.push_str("</testsuites>\n");
    x
}

/// Runs the command.
pub(crate) fn run(args: &TestArgs) -> Result<(), Failure> {
    let json = args.build.common.message_format == MessageFormat::Json;
    // JSON: stdout is go test's event stream; build status goes to stderr.
    let sink = if json {
        Box::new(crate::report::HumanReporter::new(
            args.build.common.verbosity(),
            args.build.common.color,
        )) as Box<dyn pipeline::events::EventSink>
    } else {
        args.build.common.reporter()
    };
    if args.race {
        return Err(Failure::new(
            Kind::Config,
            "--race needs cgo (the race runtime is C), which cargo gobuild does not build yet (hint: run `go test -race` for now)",
        ));
    }
    let mut tally = Tally::default();
    let mut failed_packages = Vec::new();
    let mut build_failed = Vec::new();
    let mut packages = 0usize;
    let mut cached = 0usize;
    let mut suites: Vec<(String, Vec<Value>)> = Vec::new();
    let mut first_req = None;
    for mut req in settings::build_requests(&args.build)? {
        req.intent = Intent::Test;
        req.test = Some(TestSettings {
            args: args.binary_args(),
            timeout: args.timeout,
            cache: !args.no_cache && args.count != Some(1),
            memo_dir: Default::default(),
            run: !args.no_run,
            vet: args.vet == VetMode::Default,
        });
        first_req.get_or_insert_with(|| req.clone());
        let outcome = build::build(&req, sink.as_ref(), None)?;
        let graph = &outcome.session.graph;
        let test2json = test2json(&outcome.session.toolchain.go)?;
        // Packages named by the patterns that have no tests.
        let mut no_tests: Vec<&str> = graph
            .roots()
            .map(|r| &graph.packages[r])
            .filter(|p| p.variant_of().is_none() && !p.is_test_main())
            .filter(|p| graph.get(&format!("{}.test", p.import_path)).is_none())
            .map(|p| p.import_path.as_str())
            .collect();
        no_tests.sort();
        let vet_failures = outcome.untested_vet_failures();
        for p in no_tests {
            // go test vets a package without tests, and fails it if vet does.
            let failed: Vec<BuildFailure> = vet_failures
                .iter()
                .filter(|f| f.import_path == p)
                .cloned()
                .collect();
            if !failed.is_empty() {
                let dir = graph
                    .get(p)
                    .map(|i| std::path::PathBuf::from(&graph.packages[i].dir))
                    .unwrap_or_default();
                let now =
                    || humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
                let events = build_failed_events(p, &dir, &failed, now);
                if json {
                    events.iter().for_each(print_event);
                } else {
                    print_build_failure(&events);
                }
                failed_packages.push(p.to_string());
                build_failed.push(p.to_string());
                continue;
            }
            let line = format!("?   \t{p}\t[no test files]\n");
            if json {
                print_event(&serde_json::json!({"Action": "start", "Package": p}));
                print_event(&serde_json::json!({"Action": "output", "Package": p, "Output": line}));
                print_event(&serde_json::json!({"Action": "skip", "Package": p, "Elapsed": 0}));
            } else {
                print!("{line}");
            }
        }
        for t in outcome.test_runs() {
            packages += 1;
            cached += t.cached as usize;
            let events = events_of(&test2json, &t)?;
            if !report_package(&t, &events, json, args.test_verbose, &mut tally) {
                failed_packages.push(t.package.clone());
            }
            if t.result
                .as_ref()
                .is_some_and(|r| !r.build_failed.is_empty())
            {
                build_failed.push(t.package.clone());
            }
            suites.push((t.package.clone(), events));
        }
    }
    if let (Some(req), true) = (first_req, args.retries > 0) {
        retry(args, req, sink.as_ref(), &mut tally, &mut failed_packages)?;
    }
    let _ = std::io::stdout().flush();
    if let Some(path) = &args.junit {
        std::fs::write(path, junit(&suites))
            .map_err(|e| Failure::new(Kind::Unexpected, format!("{}: {e}", path.display())))?;
    }
    if !json && !args.no_run {
        summary(&tally, packages, cached, &failed_packages, &build_failed);
    }
    if failed_packages.is_empty() && tally.failed == 0 {
        Ok(())
    } else {
        Err(Failure::reported(Kind::BuildFailed))
    }
}

/// The toolchain's test2json (Go 1.24+ builds it on demand: `go tool -n`
/// says where).
fn test2json(go: &std::path::Path) -> Result<std::path::PathBuf, Failure> {
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
    Ok(path.into())
}

fn print_event(v: &Value) {
    println!("{}", serde_json::to_string(v).expect("event serializes"));
}

/// The package's go test JSON events: the binary's output and go test's
/// final `ok`/`FAIL` line, through the toolchain's test2json.
fn events_of(test2json: &std::path::Path, t: &TestRun) -> Result<Vec<Value>, Failure> {
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

/// go test's events for a package whose build failed (its vet): each
/// failed package's output as `build-output` events, its `build-fail`,
/// then the package's `FAIL pkg [build failed]`.
fn build_failed_events(
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

/// Prints a build failure's events as go test does without `-json`: the
/// build output on stderr, the verdict on stdout.
fn print_build_failure(events: &[Value]) {
    let mut err = String::new();
    for e in events {
        match e["Action"].as_str() {
            Some("build-output") => err.push_str(e["Output"].as_str().unwrap_or("")),
            Some("output") => print!("{}", e["Output"].as_str().unwrap_or("")),
            _ => {}
        }
    }
    eprint!("{err}");
}

/// Tool output naming files by absolute path, as cmd/go shows it
/// (`reportCmd`): the package directory and each of its parents replaced
/// by the path relative to the current directory where that is shorter.
fn relative_paths(text: &str, dir: &std::path::Path) -> String {
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
fn relative_to(base: &std::path::Path, path: &std::path::Path) -> Option<String> {
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
fn replace_prefix(s: &str, old: &str, new: &str) -> String {
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
fn report_package(
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
        print_build_failure(events);
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

fn summary(
    t: &Tally,
    packages: usize,
    cached: usize,
    failed_packages: &[String],
    build_failed: &[String],
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
            if build_failed.contains(p) {
                eprintln!("        FAIL {p} (vet failed; the tests did not run)");
            } else {
                eprintln!("        FAIL {p} (the test binary failed)");
            }
        }
    }
}
