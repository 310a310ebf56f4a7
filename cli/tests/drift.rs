//! Drift test: every tool command cargo gobuild runs for the fixture equals
//! the one `go build -a -n` prints for the same package and Go version,
//! once work directories, build IDs and the scheduling-only `-c=N` are
//! normalised. A new Go version that changes a flag fails this test.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use common::*;
use regex::Regex;

/// `(tool, package, output)` → normalised arguments.
type Plan = BTreeMap<(String, String, String), Vec<String>>;

fn normalise(args: &[String], cwd: &Path, work: &Regex) -> Vec<String> {
    let buildid = Regex::new(r"^(-buildid[= ]?|-X=cmd/internal/objabi\.buildID=)\S+$").unwrap();
    let mut out = Vec::new();
    let mut it = args.iter().peekable();
    while let Some(a) = it.next() {
        if a.starts_with("-c=") {
            continue;
        }
        if a == "-buildid" {
            it.next();
            out.push("-buildid".into());
            out.push("ID".into());
            continue;
        }
        let mut a = work.replace_all(a, "$$WORK").into_owned();
        a = a.replace("$WORK/exe/a.out", "$WORK/exe");
        if buildid.is_match(&a) {
            a = buildid.replace(&a, "${1}ID").into_owned();
        }
        if let Some(rel) = a.strip_prefix("./") {
            a = cwd.join(rel).display().to_string();
        }
        out.push(a);
    }
    out
}

fn plan_key(tool: &str, args: &[String]) -> (String, String, String) {
    let value = |flag: &str| {
        args.iter()
            .position(|a| a == flag)
            .and_then(|i| args.get(i + 1))
            .cloned()
            .unwrap_or_default()
    };
    let pkg = value("-p");
    let o = value("-o");
    let out = Path::new(&o)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    (tool.to_string(), pkg, out)
}

fn tool_of(program: &str) -> Option<&'static str> {
    ["compile", "asm", "link"]
        .into_iter()
        .find(|t| program.ends_with(&format!("/{t}")))
}

/// Parses `go build -n` output: `cd DIR` lines set the directory of the
/// tool lines that follow.
fn go_plan(text: &str) -> Plan {
    let work = Regex::new(r"\$WORK/b\d+").unwrap();
    let mut cwd = PathBuf::from("/");
    let mut plan = Plan::new();
    for line in text.lines() {
        if let Some(d) = line.strip_prefix("cd ") {
            cwd = PathBuf::from(d.trim());
            continue;
        }
        let words = match shell_words::split(line) {
            Ok(w) => w,
            Err(_) => continue,
        };
        let mut words = words
            .into_iter()
            .skip_while(|w| w.contains('=') && !w.starts_with('-'));
        let Some(program) = words.next() else {
            continue;
        };
        let Some(tool) = tool_of(&program) else {
            continue;
        };
        let args: Vec<String> = words.collect();
        let norm = normalise(&args, &cwd, &work);
        let key = plan_key(tool, &norm);
        plan.insert(key, norm);
    }
    plan
}

fn our_plan(events: &[serde_json::Value]) -> Plan {
    let work = Regex::new(r"/\S*?/gobuild/cache/tmp/w[A-Za-z0-9]+").unwrap();
    let mut plan = Plan::new();
    for e in events {
        let Some(cmd) = e["command"].as_str() else {
            continue;
        };
        let words = shell_words::split(cmd).expect("our command lines are valid shell");
        assert_eq!(words[0], "cd");
        let cwd = PathBuf::from(&words[1]);
        let mut rest = words[3..]
            .iter()
            .skip_while(|w| w.contains('=') && !w.starts_with('-'));
        let program = rest.next().unwrap();
        let tool = tool_of(program).unwrap_or_else(|| panic!("unknown tool {program}"));
        let args: Vec<String> = rest.cloned().collect();
        let norm = normalise(&args, &cwd, &work);
        plan.insert(plan_key(tool, &norm), norm);
    }
    plan
}

#[test]
fn commands_match_go_build_dash_n() {
    let (_tmp, dir) = fixture("demo");
    let target = tempfile::tempdir().unwrap();
    let out = gobuild(
        &dir,
        &[
            "build",
            "--message-format",
            "json",
            "--symabis",
            "toolchain",
            "--target-dir",
            target.path().to_str().unwrap(),
            "./cmd/demo",
        ],
    );
    ok(&out);
    let ours = our_plan(&events(&out));

    let go_out = go(
        &dir,
        &["build", "-a", "-n", "-o", "demo", "./cmd/demo"],
        &[],
    );
    assert!(go_out.status.success(), "{}", text(&go_out));
    let theirs = go_plan(&String::from_utf8_lossy(&go_out.stderr));

    assert!(
        theirs.len() > 100,
        "parsed only {} go commands",
        theirs.len()
    );
    let mut problems = Vec::new();
    for (k, v) in &theirs {
        match ours.get(k) {
            None => problems.push(format!("missing: {k:?}\n  go:   {}", v.join(" "))),
            Some(o) if o != v => problems.push(format!(
                "differs: {k:?}\n  go:   {}\n  ours: {}",
                v.join(" "),
                o.join(" ")
            )),
            _ => {}
        }
    }
    for k in ours.keys() {
        if !theirs.contains_key(k) {
            problems.push(format!("extra: {k:?}"));
        }
    }
    assert!(
        problems.is_empty(),
        "{} of {} commands drifted from go build -n:\n{}",
        problems.len(),
        theirs.len(),
        problems.join("\n")
    );
}
