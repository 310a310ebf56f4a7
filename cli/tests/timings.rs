//! `--timings`: the HTML page of a fixture build, rendered by headless
//! Chromium (the DOM after its script ran, the console checked), compared
//! with the build's own JSON events — one bar per action, the critical path
//! computed here from the events, the summary's counts — and the Chrome
//! trace parsed as such. Fails (does not skip) without Chromium: `.ci/run`
//! installs it.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

use common::*;

/// Headless Chromium (`$CHROMIUM`, else /usr/bin/chromium).
fn chromium() -> PathBuf {
    let p = std::env::var_os("CHROMIUM")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromium"));
    assert!(
        p.is_file(),
        "{} is missing: these tests need headless Chromium (apt-get install chromium; .ci/run installs it)",
        p.display()
    );
    p
}

/// The DOM of `page` after its scripts ran, and what the browser logged.
fn render(page: &Path) -> (String, String) {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(chromium())
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--enable-logging=stderr",
            "--v=0",
            "--no-first-run",
            "--virtual-time-budget=5000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("run chromium");
    let dom = String::from_utf8_lossy(&out.stdout).into_owned();
    let log = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success() && dom.contains("</html>"),
        "chromium failed: {:?}\n{log}",
        out.status
    );
    (dom, log)
}

/// The paths `Timing report|trace saved to PATH` lines name.
fn saved(stderr: &str, what: &str) -> Vec<PathBuf> {
    let needle = format!("Timing {what} saved to ");
    stderr
        .lines()
        .filter_map(|l| l.split_once(&needle))
        .map(|(_, p)| PathBuf::from(p.split(" (written").next().unwrap().trim()))
        .collect()
}

/// An action as the events tell it: `(deps, finished at)`.
fn actions(ev: &[Value]) -> BTreeMap<u64, (Vec<u64>, f64)> {
    let mut deps = BTreeMap::new();
    let mut out = BTreeMap::new();
    for e in ev {
        let id = e["id"].as_u64();
        match e["reason"].as_str() {
            Some("action-started") => {
                let d: Vec<u64> = e["deps"]
                    .as_array()
                    .expect("action-started has deps")
                    .iter()
                    .map(|v| v.as_u64().unwrap())
                    .collect();
                deps.insert(id.unwrap(), d);
            }
            Some("action-finished") => {
                let id = id.unwrap();
                out.insert(id, (deps[&id].clone(), e["elapsed"].as_f64().unwrap()));
            }
            _ => {}
        }
    }
    out
}

/// The critical path, computed here: from the action that finished last,
/// back through the dependency that finished last (ties: the lower id).
fn critical_path(a: &BTreeMap<u64, (Vec<u64>, f64)>) -> Vec<u64> {
    let last = |ids: &mut dyn Iterator<Item = u64>| {
        ids.filter(|i| a.contains_key(i))
            .max_by(|x, y| a[x].1.total_cmp(&a[y].1).then(y.cmp(x)))
    };
    let mut path = Vec::new();
    let mut cur = last(&mut a.keys().copied());
    while let Some(c) = cur {
        path.push(c);
        cur = last(&mut a[&c].0.iter().copied());
    }
    path.reverse();
    path
}

/// The value of `attr="…"` in the first tag that starts with `tag`.
fn attr<'a>(dom: &'a str, tag: &str, attr: &str) -> Option<&'a str> {
    let start = dom.find(tag)?;
    let end = start + dom[start..].find('>')?;
    let t = &dom[start..end];
    let needle = format!(" {attr}=\"");
    let i = t.find(&needle)? + needle.len();
    Some(&t[i..i + t[i..].find('"')?])
}

/// The summary's value for `key` (`<tr data-k="KEY"><th>…</th><td data-v="V">`).
fn summary(dom: &str, key: &str) -> u64 {
    let tag = format!("<tr data-k=\"{key}\">");
    let i = dom
        .find(&tag)
        .unwrap_or_else(|| panic!("no summary row {key}"));
    attr(&dom[i..], "<td", "data-v")
        .unwrap()
        .parse()
        .unwrap_or_else(|e| panic!("{key}: {e}"))
}

#[test]
fn the_page_shows_every_action_and_the_critical_path_of_the_events() {
    let chromium = chromium();
    let (_tmp, dir) = fixture("demo");
    let t = shared_target();
    let out = gobuild(
        &dir,
        &[
            "build",
            "--message-format",
            "json",
            "--timings=html,json",
            "--target-dir",
            t.to_str().unwrap(),
        ],
    );
    ok(&out);
    let ev = events(&out);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let pages = saved(&stderr, "report");
    assert_eq!(pages.len(), 1, "{stderr}");
    let page = &pages[0];
    let timings = t.join("gobuild/timings");
    assert_eq!(page.parent().unwrap(), timings);
    let name = page.file_name().unwrap().to_str().unwrap();
    assert!(
        name.starts_with("gobuild-timing-") && name.ends_with(".html"),
        "{name}"
    );
    assert!(timings.join("gobuild-timing.html").is_file());

    let html = std::fs::read_to_string(page).unwrap();
    // Self-contained: a policy that allows inline style and script only,
    // and no address anything could be fetched from.
    assert!(
        html.contains("<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"),
        "no CSP meta"
    );
    for scheme in ["http://", "https://", "//cdn", "src=\"", "href=\""] {
        assert!(!html.contains(scheme), "the page names {scheme}");
    }

    let (dom, log) = render(page);
    let _ = chromium;
    // The script ran to its end without an error, and the console is clean
    // (a thrown error is logged as `Uncaught …`, a blocked load as `Refused …`).
    assert_eq!(
        attr(&dom, "<body", "data-errors"),
        Some("0"),
        "the page's script did not finish cleanly\n{log}"
    );
    let console: Vec<&str> = log
        .lines()
        .filter(|l| l.contains(":CONSOLE") || l.contains("Refused") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console output: {console:?}");

    // One bar per action that ran or was cached, with its id.
    let acts = actions(&ev);
    let finished = finished(&ev);
    let n = acts.len() as u64;
    assert_eq!(
        n,
        finished["ran"].as_u64().unwrap() + finished["cached"].as_u64().unwrap()
    );
    let bars: BTreeSet<u64> = dom
        .match_indices("<rect class=\"bar ")
        .map(|(i, _)| {
            attr(&dom[i..], "<rect", "data-id")
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(dom.matches("<rect class=\"bar ").count() as u64, n);
    assert_eq!(bars, acts.keys().copied().collect::<BTreeSet<_>>());
    let section = "<section class=\"build\"";
    assert_eq!(
        attr(&dom, section, "data-bars"),
        Some(n.to_string().as_str())
    );

    // The critical path: marked on exactly its bars, in its order.
    let path = critical_path(&acts);
    assert!(path.len() >= 3, "a link waits for more than that: {path:?}");
    let want = path
        .iter()
        .map(u64::to_string)
        .collect::<Vec<_>>()
        .join(",");
    assert_eq!(attr(&dom, section, "data-critical"), Some(want.as_str()));
    let marked: BTreeSet<u64> = dom
        .match_indices("<rect class=\"bar ")
        .filter(|(i, _)| {
            attr(&dom[*i..], "<rect", "class")
                .unwrap()
                .split(' ')
                .any(|c| c == "critical")
        })
        .map(|(i, _)| {
            attr(&dom[i..], "<rect", "data-id")
                .unwrap()
                .parse()
                .unwrap()
        })
        .collect();
    assert_eq!(marked, path.iter().copied().collect::<BTreeSet<_>>());
    // It ends with the link, the last action of a build.
    let link = ev
        .iter()
        .find(|e| e["reason"] == "action-finished" && e["action"] == "link")
        .unwrap();
    assert_eq!(path.last().copied(), link["id"].as_u64());

    // The summary's counts are the build-finished event's.
    for k in ["ran", "cached", "failed"] {
        assert_eq!(summary(&dom, k), finished[k].as_u64().unwrap(), "{k}");
    }
    let planned = ev.iter().find(|e| e["reason"] == "build-started").unwrap();
    assert_eq!(
        summary(&dom, "planned"),
        planned["actions"].as_u64().unwrap()
    );
    let remote = ev
        .iter()
        .filter(|e| e["reason"] == "action-finished" && e["cache"] == "remote")
        .count() as u64;
    assert_eq!(summary(&dom, "cached-remote"), remote);
    assert_eq!(
        summary(&dom, "cached-local"),
        finished["cached"].as_u64().unwrap() - remote
    );

    // The trace: Chrome's trace event format, one complete event per
    // action, on a worker slot lane, the critical path flagged.
    let traces = saved(&stderr, "trace");
    assert_eq!(traces.len(), 1, "{stderr}");
    let trace: Value =
        serde_json::from_slice(&std::fs::read(&traces[0]).unwrap()).expect("the trace is JSON");
    let jobs = planned["jobs"].as_u64().unwrap();
    let x: Vec<&Value> = trace["traceEvents"]
        .as_array()
        .expect("traceEvents")
        .iter()
        .filter(|e| e["ph"] == "X")
        .collect();
    assert_eq!(x.len() as u64, n);
    let mut ids = BTreeSet::new();
    let mut flagged = BTreeSet::new();
    for e in &x {
        assert!(e["name"].is_string() && e["cat"].is_string(), "{e}");
        assert!(e["ts"].as_f64().unwrap() >= 0.0 && e["dur"].as_f64().unwrap() >= 0.0);
        assert!(e["pid"].is_u64());
        assert!(e["tid"].as_u64().unwrap() < jobs, "{e}");
        let id = e["args"]["id"].as_u64().unwrap();
        ids.insert(id);
        if e["args"]["critical"] == true {
            flagged.insert(id);
        }
    }
    assert_eq!(ids, acts.keys().copied().collect::<BTreeSet<_>>());
    assert_eq!(flagged, path.iter().copied().collect::<BTreeSet<_>>());
}

#[test]
fn nosplit_and_test_write_timings_too() {
    let (_tmp, dir) = fixture("demo");
    let t = shared_target();
    let t = t.to_str().unwrap();
    for args in [
        &[
            "nosplit",
            "-q",
            "--timings=json",
            "--target-dir",
            t,
            "./cmd/demo",
        ][..],
        &[
            "test",
            "-q",
            "--timings=json",
            "--target-dir",
            t,
            "--no-run",
        ][..],
    ] {
        let out = gobuild(&dir, args);
        ok(&out);
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let traces = saved(&stderr, "trace");
        assert_eq!(traces.len(), 1, "{args:?}: {stderr}");
        let trace: Value = serde_json::from_slice(&std::fs::read(&traces[0]).unwrap()).unwrap();
        let x = trace["traceEvents"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|e| e["ph"] == "X")
            .count();
        assert!(x > 0, "{args:?}: an empty trace");
        assert!(
            saved(&stderr, "report").is_empty(),
            "--timings=json writes no page"
        );
    }
}
