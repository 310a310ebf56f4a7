//! The drift check: every tool command cargo gobuild runs for a package
//! equals the one `go build -a -n` prints for the same package and Go
//! version, once work directories, build IDs and the scheduling-only `-c=N`
//! are normalised. Used by `drift.rs` (the Go on PATH) and `go_versions.rs`
//! (the oldest and newest supported Go).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;

use super::{events, go, gobuild_env, text};

/// `(tool, package, output)` → normalised arguments.
pub type Plan = BTreeMap<(String, String, String), Vec<String>>;

/// What one drift check saw.
pub struct Drift {
    /// The directories of the tools cargo gobuild ran (one GOROOT's tool dir).
    pub our_tool_dirs: BTreeSet<PathBuf>,
    /// The directories of the tools `go build -a -n` printed.
    pub go_tool_dirs: BTreeSet<PathBuf>,
}

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
        // go links to `exe/a.out` (`a.out.exe` for windows), we to `exe`:
        // the name of a file in the work directory, not in the program.
        a = a.replace("$WORK/exe/a.out.exe", "$WORK/exe");
        a = a.replace("$WORK/exe/a.out", "$WORK/exe");
        if buildid.is_match(&a) {
            a = buildid.replace(&a, "${1}ID").into_owned();
        }
        if let Some(rel) = a.strip_prefix("./") {
            a = cwd.join(rel).display().to_string();
        }
        if a == "." {
            a = cwd.display().to_string();
        }
        if let Some(seed) = a.strip_prefix("-frandom-seed=") {
            if !seed.is_empty() {
                a = "-frandom-seed=SEED".into();
            }
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
    // compile/asm/link name the package with -p, cgo with -importpath, a
    // C compile with its first -I (the package directory).
    let pkg = match value("-p") {
        p if !p.is_empty() => p,
        _ => match value("-importpath") {
            p if !p.is_empty() => p,
            _ => value("-I"),
        },
    };
    let o = value("-o");
    let out = Path::new(&o)
        .file_name()
        .map(|f| f.to_string_lossy().into_owned())
        .unwrap_or_default();
    (tool.to_string(), pkg, out)
}

fn tool_of(program: &str) -> Option<&'static str> {
    for cc in ["gcc", "g++"] {
        if program == cc || program.ends_with(&format!("/{cc}")) {
            return Some(cc);
        }
    }
    ["compile", "asm", "link", "cgo"]
        .into_iter()
        .find(|t| program.ends_with(&format!("/{t}")))
}

/// Is this one of the Go toolchain's tools (not the C compiler)?
fn go_tool(tool: &str) -> bool {
    tool != "gcc" && tool != "g++"
}

fn tool_dir(program: &str) -> PathBuf {
    Path::new(program)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default()
}

/// Parses `go build -n` output: `cd DIR` lines set the directory of the
/// tool lines that follow.
pub fn go_plan(text: &str) -> (Plan, BTreeSet<PathBuf>) {
    let work = Regex::new(r"\$WORK/b\d+").unwrap();
    let mut cwd = PathBuf::from("/");
    let mut plan = Plan::new();
    let mut dirs = BTreeSet::new();
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
        if go_tool(tool) {
            dirs.insert(tool_dir(&program));
        }
        let args: Vec<String> = words.collect();
        let norm = normalise(&args, &cwd, &work);
        let key = plan_key(tool, &norm);
        plan.insert(key, norm);
    }
    (plan, dirs)
}

/// Reads the tool commands of cargo gobuild's JSON events.
pub fn our_plan(events: &[serde_json::Value]) -> (Plan, BTreeSet<PathBuf>) {
    let work = Regex::new(r"/\S*?/gobuild/cache/tmp/w[A-Za-z0-9]+").unwrap();
    let mut plan = Plan::new();
    let mut dirs = BTreeSet::new();
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
        if go_tool(tool) {
            dirs.insert(tool_dir(program));
        }
        let args: Vec<String> = rest.cloned().collect();
        let norm = normalise(&args, &cwd, &work);
        plan.insert(plan_key(tool, &norm), norm);
    }
    (plan, dirs)
}

/// Builds `pkg` of `dir` with cargo gobuild (into `target`, toolchain
/// symabis, JSON events, with `env`; for `cross`, `--goos GOOS --goarch
/// GOARCH`); the tool commands it ran, or what it printed when it failed.
fn run_ours(
    dir: &Path,
    target: &Path,
    pkg: &str,
    env: &[(&str, &str)],
    cross: Option<(&str, &str)>,
) -> Result<(Plan, BTreeSet<PathBuf>), String> {
    let mut args = vec![
        "build",
        "--message-format",
        "json",
        "--symabis",
        "toolchain",
        "--target-dir",
        target.to_str().unwrap(),
    ];
    if let Some((goos, goarch)) = cross {
        args.extend(["--goos", goos, "--goarch", goarch]);
    }
    args.push(pkg);
    let out = gobuild_env(dir, &args, env);
    if !out.status.success() {
        return Err(format!("cargo gobuild failed: {}", text(&out)));
    }
    Ok(our_plan(&events(&out)))
}

/// Each command of `theirs` that `ours` lacks or has with other arguments.
pub fn drift_problems(theirs: &Plan, ours: &Plan) -> Vec<String> {
    let mut problems = Vec::new();
    for (k, v) in theirs {
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
    problems
}

/// Builds `./cmd/demo` of the fixture copy `dir` with cargo gobuild (into
/// `target`, toolchain symabis, JSON events) and asserts that its tool
/// commands equal `go build -a -n`'s, both run with `env`. `label` names
/// the Go in failure messages. The host target; [`check_drift`] takes one.
pub fn assert_no_drift(dir: &Path, target: &Path, env: &[(&str, &str)], label: &str) -> Drift {
    check_drift(dir, target, env, None, label).unwrap_or_else(|e| panic!("{e}"))
}

/// The drift check of [`assert_no_drift`] for a target: with `cross`
/// `(GOOS, GOARCH)`, go runs with `GOOS`/`GOARCH` in its environment and
/// cargo gobuild with `--goos`/`--goarch`. What drifted (every command, in
/// one message), as an error, so a caller can check several targets and
/// report them all.
pub fn check_drift(
    dir: &Path,
    target: &Path,
    env: &[(&str, &str)],
    cross: Option<(&str, &str)>,
    label: &str,
) -> Result<Drift, String> {
    let (ours, our_tool_dirs) =
        run_ours(dir, target, "./cmd/demo", env, cross).map_err(|e| format!("{label}: {e}"))?;

    let mut go_env = env.to_vec();
    if let Some((goos, goarch)) = cross {
        go_env.extend([("GOOS", goos), ("GOARCH", goarch)]);
    }
    let go_out = go(
        dir,
        &["build", "-a", "-n", "-o", "demo", "./cmd/demo"],
        &go_env,
    );
    if !go_out.status.success() {
        return Err(format!("{label}: go build -n failed: {}", text(&go_out)));
    }
    let (theirs, go_tool_dirs) = go_plan(&String::from_utf8_lossy(&go_out.stderr));

    if theirs.len() <= 100 {
        return Err(format!("{label}: parsed only {} go commands", theirs.len()));
    }
    let mut problems = drift_problems(&theirs, &ours);
    for k in ours.keys() {
        if !theirs.contains_key(k) {
            problems.push(format!("extra: {k:?}"));
        }
    }
    if !problems.is_empty() {
        return Err(format!(
            "{label}: {} of {} commands drifted from go build -n:\n{}",
            problems.len(),
            theirs.len(),
            problems.join("\n")
        ));
    }
    Ok(Drift {
        our_tool_dirs,
        go_tool_dirs,
    })
}

/// The drift check for a cgo fixture: builds `pkg` of `dir` with cargo
/// gobuild and with `go build -x` (both with `CGO_ENABLED=1`), and asserts
/// that every command go ran for the fixture's own packages and the link
/// (the cgo tool, each C compile, `_cgo_main.c`, compile, link) equals
/// ours, work directories and `-frandom-seed` normalised.
///
/// `-x`, not `-n`: under `-n` cmd/go runs none of its C compiler flag
/// probes and leaves out every flag they would add (`-ffile-prefix-map`,
/// `-frandom-seed`, `-gno-record-gcc-switches`…). Not `-a`: the standard
/// library comes from go's cache (the fixture copy is new, so its
/// packages are rebuilt); and the dynimport probe's link and `cgo
/// -dynimport`, which cargo gobuild runs inside one step, are left out.
pub fn assert_cgo_no_drift(dir: &Path, target: &Path, pkg: &str) {
    assert_cgo_no_drift_env(dir, target, pkg, &[]);
}

/// The same with more environment (`CC`, `CGO_CFLAGS`…) for both tools.
pub fn assert_cgo_no_drift_env(dir: &Path, target: &Path, pkg: &str, extra: &[(&str, &str)]) {
    let mut env = vec![("CGO_ENABLED", "1")];
    env.extend_from_slice(extra);
    let (ours, _) = run_ours(dir, target, pkg, &env, None).unwrap_or_else(|e| panic!("{e}"));
    let go_out = go(dir, &["build", "-x", "-o", "prog-go", pkg], &env);
    assert!(go_out.status.success(), "{}", text(&go_out));
    let (mut theirs, _) = go_plan(&String::from_utf8_lossy(&go_out.stderr));
    theirs.retain(|(tool, _, out), args| {
        !(out == "_cgo_.o" || tool == "cgo" && args.iter().any(|a| a == "-dynimport"))
    });
    let count = |t: &str| theirs.keys().filter(|k| k.0 == t).count();
    assert!(
        count("cgo") >= 1 && count("gcc") >= 2 && count("compile") >= 2 && count("link") == 1,
        "parsed too few go commands: {theirs:?}"
    );
    let problems = drift_problems(&theirs, &ours);
    assert!(
        problems.is_empty(),
        "{} of {} cgo commands drifted from go build -x:\n{}",
        problems.len(),
        theirs.len(),
        problems.join("\n")
    );
}
