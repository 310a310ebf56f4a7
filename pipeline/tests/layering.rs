//! Layers that only point down, read from the code: every `crate::` path in
//! the sources of `pipeline`, `goobj`, `goasm` and `cli` (comments left out),
//! checked against the layer of each `pipeline` module, a list of imports
//! that must never exist, and the rule that no crate has an import circle
//! between its modules. The checker is tested on made-up sources too, so a
//! forbidden import is shown to fail.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// The layer of each top-level module of `pipeline` (see `lib.rs`).
const LAYERS: &[(&str, u8)] = &[
    ("error", 0),
    ("events", 0),
    ("util", 0),
    ("toolchain", 1),
    ("fshash", 1),
    ("cache", 1),
    ("load", 2),
    ("config", 2),
    ("modinfo", 2),
    ("plan", 3),
    ("abi", 4),
    ("stages", 5),
    ("exec", 6),
    ("build", 7),
];

/// The parts of `stages` every stage may read.
const STAGE_SHARED: &[&str] = &[
    "step", "outputs", "key", "flags", "archive", "cflags", "security",
];

/// The stage bodies: one module per stage; none imports another.
const STAGE_BODIES: &[&str] = &[
    "symabis",
    "compile",
    "asm",
    "pack",
    "preprofile",
    "nosplit",
    "abi_report",
    "link",
    "test_run",
    "cgo",
    "cc",
    "dynimport",
    "vet",
    "cover",
];

/// What the executor may read of `stages`: the prepared step and the outputs.
const EXEC_SEES: &[&str] = &["step", "outputs"];

/// One source file: its module path inside its crate and its code.
struct Source {
    module: Vec<String>,
    file: String,
    code: String,
}

/// One import: from which module, to which path (`crate::` stripped, or an
/// external crate's path with the crate name first).
#[derive(Debug, Clone)]
struct Import {
    from: Vec<String>,
    file: String,
    to: Vec<String>,
}

fn strip_comments(code: &str) -> String {
    code.lines()
        .map(|l| match l.find("//") {
            // Not inside a string literal with `//` (URLs): good enough for
            // import lines, which never hold strings.
            Some(i) if !l[..i].contains('"') => &l[..i],
            _ => l,
        })
        .collect::<Vec<_>>()
        .join("\n")
}

fn is_ident(c: char) -> bool {
    c.is_ascii_alphanumeric() || c == '_'
}

/// Expands one path after a prefix (`a::b::{c, d::e}` → `[a,b,c]`, `[a,b,d,e]`).
fn expand(s: &[char], mut i: usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) -> usize {
    let mut segs = prefix;
    loop {
        while i < s.len() && s[i].is_whitespace() {
            i += 1;
        }
        if i < s.len() && s[i] == '{' {
            i += 1;
            loop {
                i = expand(s, i, segs.clone(), out);
                while i < s.len() && s[i].is_whitespace() {
                    i += 1;
                }
                match s.get(i) {
                    Some(',') => i += 1,
                    Some('}') => return i + 1,
                    _ => return i,
                }
                while i < s.len() && s[i].is_whitespace() {
                    i += 1;
                }
                if s.get(i) == Some(&'}') {
                    return i + 1;
                }
            }
        }
        let start = i;
        while i < s.len() && is_ident(s[i]) {
            i += 1;
        }
        if i > start {
            let seg: String = s[start..i].iter().collect();
            if seg != "self" {
                segs.push(seg);
            }
        }
        if i + 1 < s.len() && s[i] == ':' && s[i + 1] == ':' {
            i += 2;
            continue;
        }
        out.push(segs);
        return i;
    }
}

/// Every path a source names after `crate::` and `super::`, and after the
/// external crate names in `externs`.
fn imports(src: &Source, externs: &[&str]) -> Vec<Import> {
    let code: Vec<char> = strip_comments(&src.code).chars().collect();
    let text: String = code.iter().collect();
    let mut out = Vec::new();
    let mut roots: Vec<(String, Vec<String>)> = vec![
        ("crate::".into(), vec![]),
        ("super::".into(), {
            // The parent of a file module; `mod.rs` stands for its directory.
            let mut m = src.module.clone();
            m.pop();
            m
        }),
    ];
    for e in externs {
        roots.push((format!("{e}::"), vec![e.to_string()]));
    }
    for (root, prefix) in roots {
        let mut from = 0;
        while let Some(pos) = text[from..].find(&root) {
            let at = from + pos;
            from = at + root.len();
            if at > 0 && is_ident(text[..at].chars().last().unwrap_or(' ')) {
                continue; // `mycrate::`, not `crate::`
            }
            let start = text[..from].chars().count();
            let mut paths = Vec::new();
            expand(&code, start, prefix.clone(), &mut paths);
            for to in paths.into_iter().filter(|p| !p.is_empty()) {
                out.push(Import {
                    from: src.module.clone(),
                    file: src.file.clone(),
                    to,
                });
            }
        }
    }
    out
}

fn layer(m: &str) -> Option<u8> {
    LAYERS.iter().find(|(n, _)| *n == m).map(|(_, l)| *l)
}

fn is_stage_body(sub: &str) -> bool {
    STAGE_BODIES.contains(&sub)
}

/// The rules for `pipeline`: layers and the explicit never-imports.
fn pipeline_violations(imports: &[Import]) -> Vec<String> {
    let mut v = Vec::new();
    for i in imports {
        let Some(from) = i.from.first().map(String::as_str) else {
            continue; // lib.rs declares every module
        };
        let to = i.to[0].as_str();
        let to_sub = i.to.get(1).map(String::as_str);
        let mut bad = |why: &str| {
            v.push(format!(
                "{}: {} imports {} ({why})",
                i.file,
                i.from.join("::"),
                i.to.join("::")
            ))
        };
        if to == "goobj" || to == "goasm" {
            if from == "exec" {
                bad("the executor knows prepared steps only");
            }
            continue;
        }
        let Some(lt) = layer(to) else { continue };
        let Some(lf) = layer(from) else {
            bad("module without a layer: add it to LAYERS");
            continue;
        };
        if from == to {
            // Inside one module: stage bodies never import each other.
            if from == "stages" {
                let fs = i.from.get(1).map(String::as_str);
                if let (Some(fs), Some(ts)) = (fs, to_sub) {
                    if fs != ts && is_stage_body(fs) && is_stage_body(ts) {
                        bad("a stage imports a sibling stage");
                    }
                }
            }
            continue;
        }
        if lt > lf {
            bad("a lower layer imports a higher one");
        }
        match (from, to) {
            (_, "build") => bad("nothing imports the orchestrator"),
            ("exec", "stages") if !to_sub.is_some_and(|m| EXEC_SEES.contains(&m)) => {
                bad("the executor sees only stages::step and stages::outputs")
            }
            ("exec", "abi" | "config") => bad("the executor knows prepared steps only"),
            ("abi", "exec" | "stages" | "cache" | "events") => {
                bad("abi reads facts and emits nothing")
            }
            ("config" | "load" | "plan" | "cache", "abi" | "stages" | "exec") => {
                bad("config, load, plan and cache sit below the checks and stages")
            }
            _ => {}
        }
    }
    v
}

/// Circles between a crate's top-level modules.
fn circles(imports: &[Import]) -> Vec<String> {
    let mut edges: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for i in imports {
        let (Some(f), Some(t)) = (i.from.first(), i.to.first()) else {
            continue;
        };
        if f != t {
            edges.entry(f.clone()).or_default().insert(t.clone());
        }
    }
    let mut found = Vec::new();
    // A DFS per node: a path back to the start is a circle.
    for start in edges.keys() {
        let mut stack = vec![(start.clone(), vec![start.clone()])];
        let mut seen = BTreeSet::new();
        while let Some((n, path)) = stack.pop() {
            for next in edges.get(&n).into_iter().flatten() {
                if next == start {
                    let mut c = path.clone();
                    c.push(start.clone());
                    found.push(c.join(" -> "));
                } else if seen.insert(next.clone()) {
                    let mut p = path.clone();
                    p.push(next.clone());
                    stack.push((next.clone(), p));
                }
            }
        }
    }
    found.sort();
    found.dedup();
    found
}

fn read_crate(src_dir: &Path) -> Vec<Source> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap().flatten() {
            let p = e.path();
            if p.is_dir() {
                walk(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    let mut files = Vec::new();
    walk(src_dir, &mut files);
    files.sort();
    files
        .into_iter()
        .map(|p| {
            let rel = p.strip_prefix(src_dir).unwrap();
            let mut module: Vec<String> = rel
                .with_extension("")
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                module.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                module.pop();
            }
            Source {
                module,
                file: p.display().to_string(),
                code: std::fs::read_to_string(&p).unwrap(),
            }
        })
        .collect()
}

fn crate_imports(name: &str, externs: &[&str]) -> Vec<Import> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .join(name)
        .join("src");
    read_crate(&dir)
        .iter()
        .flat_map(|s| imports(s, externs))
        .collect()
}

#[test]
fn pipeline_layers_point_down() {
    let imports = crate_imports("pipeline", &["goobj", "goasm"]);
    assert!(
        imports.len() > 100,
        "the scan found only {} imports",
        imports.len()
    );
    let v = pipeline_violations(&imports);
    assert!(v.is_empty(), "forbidden imports:\n{}", v.join("\n"));
}

#[test]
fn every_stages_module_is_a_stage_or_a_shared_part() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/stages");
    for s in read_crate(&dir) {
        let Some(m) = s.module.first() else { continue };
        assert!(
            STAGE_BODIES.contains(&m.as_str()) || STAGE_SHARED.contains(&m.as_str()),
            "stages/{m}.rs is neither a stage body nor a shared part: list it in layering.rs"
        );
    }
}

#[test]
fn no_crate_has_an_import_circle() {
    for name in ["pipeline", "goobj", "goasm", "cli"] {
        let c = circles(&crate_imports(name, &[]));
        assert!(c.is_empty(), "import circles in {name}:\n{}", c.join("\n"));
    }
}

#[test]
fn goobj_linkset_does_not_import_the_summaries() {
    let bad: Vec<String> = crate_imports("goobj", &[])
        .into_iter()
        .filter(|i| i.from == ["linkset"] && i.to[0] == "summary")
        .map(|i| format!("{}: {}", i.file, i.to.join("::")))
        .collect();
    assert!(
        bad.is_empty(),
        "goobj::linkset imports goobj::summary:\n{}",
        bad.join("\n")
    );
}

#[test]
fn cli_reporters_read_only_events() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../cli/src");
    let sources = read_crate(&dir);
    let mut bad = Vec::new();
    let mut seen = 0;
    for s in sources
        .iter()
        .filter(|s| s.module.first().is_some_and(|m| m == "report"))
    {
        seen += 1;
        for i in imports(s, &["pipeline"]) {
            let ok = match i.to[0].as_str() {
                "pipeline" => i.to.get(1).is_some_and(|m| m == "events"),
                // Inside the reporters only.
                "report" => true,
                _ => false,
            };
            if !ok {
                bad.push(format!("{}: {}", i.file, i.to.join("::")));
            }
        }
    }
    assert!(
        seen >= 3,
        "found {seen} reporter files under cli/src/report"
    );
    assert!(
        bad.is_empty(),
        "reporters import more than events:\n{}",
        bad.join("\n")
    );
}

// The checker itself, on made-up sources: each rule catches what it must.

fn fake(module: &str, code: &str) -> Source {
    Source {
        module: module
            .split("::")
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect(),
        file: format!("{module}.rs"),
        code: code.to_string(),
    }
}

fn violations_of(srcs: &[Source]) -> Vec<String> {
    let imports: Vec<Import> = srcs.iter().flat_map(|s| imports(s, &["goobj"])).collect();
    pipeline_violations(&imports)
}

#[test]
fn checker_catches_forbidden_imports() {
    let cases = [
        (
            "exec",
            "use crate::stages::compile;",
            "the executor sees only",
        ),
        (
            "exec",
            "use crate::stages::{step::Step, nosplit::Nosplit};",
            "the executor sees only",
        ),
        (
            "exec",
            "fn f() { goobj::stack_check(); }",
            "prepared steps only",
        ),
        (
            "stages::link",
            "use crate::stages::compile::prepare;",
            "sibling stage",
        ),
        (
            "abi::report",
            "use crate::cache::LocalCache;",
            "abi reads facts",
        ),
        (
            "plan",
            "use crate::abi::Symabis;",
            "lower layer imports a higher",
        ),
        (
            "cache::local",
            "let x = crate::build::output_path();",
            "orchestrator",
        ),
        (
            "config::profile",
            "use crate::{util, stages::outputs::Output};",
            "lower layer",
        ),
    ];
    for (module, code, why) in cases {
        let v = violations_of(&[fake(module, code)]);
        assert!(
            v.iter().any(|m| m.contains(why)),
            "{module}: `{code}` not caught as `{why}`: {v:?}"
        );
    }
    // And what is allowed stays allowed.
    let ok = [
        ("exec", "use crate::stages::step::{PrepareAction, Step};\nuse crate::stages::outputs::ActionOutput;"),
        ("stages::link", "use crate::stages::{key::UnitArchives, outputs::Output};"),
        ("abi", "use crate::load::PackageGraph; // crate::build::x in a comment"),
        ("build", "use crate::exec::execute;"),
    ];
    for (module, code) in ok {
        let v = violations_of(&[fake(module, code)]);
        assert!(v.is_empty(), "{module}: `{code}` rejected: {v:?}");
    }
}

#[test]
fn checker_finds_circles() {
    let srcs = [
        fake("linkset", "use crate::summary::Summary;"),
        fake("summary", "use crate::reader::Reader;"),
        fake("reader", "use crate::linkset::LinkSet;"),
        fake("arch", "use super::reader;"),
    ];
    let imports: Vec<Import> = srcs.iter().flat_map(|s| imports(s, &[])).collect();
    let c = circles(&imports);
    assert!(
        c.iter()
            .any(|x| x == "linkset -> summary -> reader -> linkset"),
        "{c:?}"
    );
}
