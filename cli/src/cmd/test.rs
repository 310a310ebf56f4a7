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
use std::time::Duration;

use clap::Args;
use pipeline::build;
use pipeline::plan::Intent;
use pipeline::stages::outputs::BuildFailure;
use pipeline::stages::test_run::{CoverSettings, TestSettings};
use serde_json::Value;

use crate::args::BuildArgs;
use crate::exit::{Failure, Kind};
use crate::report::MessageFormat;
use crate::settings;
use crate::testreport::{
    build_failed_events, build_failure_kind, events_of, once_per_build, print_build_failure,
    print_event, report_package, summary, test2json_for, Tally,
};

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
    /// Measure test coverage, as `go test -cover`: each tested package is
    /// compiled instrumented (the cover tool rewrites its non-test files),
    /// and its `ok` line ends with the percentage of its statements the
    /// tests ran (`coverage: 75.0% of statements`); a package without tests
    /// reports 0.0%.
    #[arg(long)]
    cover: bool,
    /// What coverage counts (`-covermode`; implies --cover): `set` whether
    /// each statement ran, `count` how many times, `atomic` counts safe
    /// with parallel goroutines (slower).
    #[arg(long, value_name = "set|count|atomic", value_parser = ["set", "count", "atomic"])]
    covermode: Option<String>,
    /// Write the coverage profile of every tested package to FILE, as `go
    /// test -coverprofile` does (implies --cover): a `mode:` line, then a
    /// `file:line.col,line.col statements count` line per block; for `go
    /// tool cover -html=FILE`. Restored with cached results.
    #[arg(long, value_name = "FILE")]
    coverprofile: Option<std::path::PathBuf>,
    /// The race detector (`-race`): not built by cargo gobuild yet (refused).
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
    /// `--cover`, `--covermode`, `--coverprofile`: how test binaries are
    /// instrumented (go test's default mode is `set`).
    fn cover(&self) -> Option<CoverSettings> {
        let on = self.cover || self.covermode.is_some() || self.coverprofile.is_some();
        on.then(|| CoverSettings {
            mode: self.covermode.clone().unwrap_or_else(|| "set".into()),
            profile: self.coverprofile.is_some(),
        })
    }

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
                cover: args.cover(),
            });
            let outcome = build::build(&req, sink, None)?;
            let test2json = test2json_for(&outcome, &req.gobuild_dir())?;
            for t in outcome.test_runs() {
                let events = events_of(&test2json, &t, args.cover().is_some())?;
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
        crate::report::timings::TimedSink::new(
            Box::new(crate::report::HumanReporter::new(
                args.build.common.verbosity(),
                args.build.common.color,
            )),
            args.build.timings.as_deref(),
        )
    } else {
        args.build.reporter()
    };
    let r = run_with(args, json, &sink);
    // --timings: every build of the run (a retry too), also a failed one.
    settings::finish_timings(&args.build, &sink);
    r
}

fn run_with(
    args: &TestArgs,
    json: bool,
    sink: &crate::report::timings::TimedSink,
) -> Result<(), Failure> {
    if args.race {
        return Err(Failure::new(
            Kind::Config,
            "--race is not supported by cargo gobuild yet: every package would be compiled with -race against runtime/race's C runtime, which the pipeline does not do (hint: run `go test -race` for now)",
        ));
    }
    let cover = args.cover();
    let mut profile = match (&args.coverprofile, &cover) {
        (Some(path), Some(c)) => Some(crate::coverage::Profile::new(path, &c.mode)),
        _ => None,
    };
    let mut tally = Tally::default();
    let mut failed_packages = Vec::new();
    let mut build_failed = BTreeMap::new();
    let mut packages = 0usize;
    let mut cached = 0usize;
    let mut suites: Vec<(String, Vec<Value>)> = Vec::new();
    let mut first_req = None;
    // The failed builds already reported (each once, as go test does).
    let mut shown = BTreeSet::new();
    for mut req in settings::build_requests(&args.build)? {
        req.intent = Intent::Test;
        // Test binaries are programs of the target's default mode, whatever
        // the profile builds (as go test ignores -buildmode=c-archive).
        req.profile.buildmode = pipeline::config::profile::BuildMode::Default;
        req.test = Some(TestSettings {
            args: args.binary_args(),
            timeout: args.timeout,
            cache: !args.no_cache && args.count != Some(1),
            memo_dir: Default::default(),
            run: !args.no_run,
            vet: args.vet == VetMode::Default,
            cover: cover.clone(),
        });
        first_req.get_or_insert_with(|| req.clone());
        let outcome = build::build(&req, sink, None)?;
        let graph = &outcome.session.graph;
        let test2json = test2json_for(&outcome, &req.gobuild_dir())?;
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
            // go test builds and vets a package without tests, and fails it
            // if either fails.
            let mut failed: Vec<BuildFailure> = graph
                .get(p)
                .map(|i| outcome.package_build_failures(i))
                .unwrap_or_default();
            if failed.is_empty() {
                failed = vet_failures
                    .iter()
                    .filter(|f| f.import_path == p)
                    .cloned()
                    .collect();
            }
            if !failed.is_empty() {
                let dir = graph
                    .get(p)
                    .map(|i| std::path::PathBuf::from(&graph.packages[i].dir))
                    .unwrap_or_default();
                let now =
                    || humantime::format_rfc3339_nanos(std::time::SystemTime::now()).to_string();
                let events = once_per_build(build_failed_events(p, &dir, &failed, now), &mut shown);
                if json {
                    events.iter().for_each(print_event);
                } else {
                    print_build_failure(&events, failed.iter().all(|f| f.reported));
                }
                failed_packages.push(p.to_string());
                build_failed.insert(p.to_string(), build_failure_kind(&failed));
                continue;
            }
            // -cover: the package's coverage (0.0%, nothing ran) from its
            // meta-data file, instead of `[no test files]`.
            let meta = graph.get(p).and_then(|i| outcome.cover_meta(i));
            let untested = match meta.filter(|_| cover.is_some() && !args.no_run) {
                Some(meta) => crate::coverage::untested(
                    &outcome.session.toolchain.go,
                    p,
                    &meta,
                    &req.gobuild_dir().join("cover"),
                    profile.is_some(),
                )?,
                None => None,
            };
            if let Some(u) = untested {
                if let (Some(prof), Some(data)) = (profile.as_mut(), &u.profile) {
                    prof.merge_body(data);
                }
                if json {
                    let elapsed = (u.elapsed * 1000.0).round() / 1000.0;
                    print_event(&serde_json::json!({"Action": "start", "Package": p}));
                    print_event(
                        &serde_json::json!({"Action": "output", "Package": p, "Output": u.line}),
                    );
                    print_event(
                        &serde_json::json!({"Action": "pass", "Package": p, "Elapsed": elapsed}),
                    );
                } else {
                    print!("{}", u.line);
                }
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
            let events = once_per_build(events_of(&test2json, &t, cover.is_some())?, &mut shown);
            if let (Some(prof), Some(data)) = (profile.as_mut(), &t.cover_profile) {
                prof.merge(&t.package, data)?;
            }
            if !report_package(&t, &events, json, args.test_verbose, &mut tally) {
                failed_packages.push(t.package.clone());
            }
            if let Some(r) = t.result.as_ref().filter(|r| !r.build_failed.is_empty()) {
                build_failed.insert(t.package.clone(), build_failure_kind(&r.build_failed));
            }
            suites.push((t.package.clone(), events));
        }
        // A failure no package accounts for still fails the run.
        if outcome.summary.failed > 0 && failed_packages.is_empty() {
            failed_packages.push(req.label.clone());
        }
    }
    if let (Some(req), true) = (first_req, args.retries > 0) {
        retry(args, req, sink, &mut tally, &mut failed_packages)?;
    }
    let _ = std::io::stdout().flush();
    if let Some(p) = &profile {
        p.write()?;
    }
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
