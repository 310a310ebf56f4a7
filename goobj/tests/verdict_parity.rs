//! Verdict parity: on generated programs with chains of NOSPLIT and splittable assembly
//! functions around the limit (recursion, indirect calls, Go nosplit callers, ABI
//! wrappers), the real linker (through `go build`) rejects exactly the programs our check
//! rejects, and for rejected ones the linker's report text equals ours.
//!
//! All cases are packages of ONE module, built by one `go build -o DIR/ ./cmd/...` per
//! GOARCH (the standard library comes from the shared GOCACHE). `go build` keeps linking
//! the other mains when one fails, so a binary in DIR means "the linker accepted it".

mod common;
use common::*;
use std::collections::HashMap;
use std::fmt::Write as _;

const NCASES: usize = 81;

#[derive(Clone, Debug)]
enum Call {
    Direct(usize),
    Indirect(usize),
}

#[derive(Clone, Debug)]
struct Func {
    nosplit: bool,
    frame: u32,
    calls: Vec<Call>,
}

#[derive(Clone, Debug)]
struct Case {
    funcs: Vec<Func>,
    /// Entry through a `//go:nosplit` Go function instead of calling F0 directly.
    go_entry: bool,
    /// Functions the Go `Entry` calls (usually just F0).
    entries: Vec<usize>,
    kind: usize,
}

struct Lcg(u64);
impl Lcg {
    fn next(&mut self) -> u64 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        self.0 >> 33
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + (self.next() % (hi - lo + 1) as u64) as i64
    }
}

/// Frame sizes must be 8 mod 16 (arm64 alignment with the saved LR; a multiple of 8 on amd64).
fn frame(x: i64) -> u32 {
    let x = x.max(8);
    (((x - 8) / 16) * 16 + 8) as u32
}

/// Splits `total` bytes over `n` NOSPLIT frames (each frame costs ~16 bytes of overhead).
fn split(rng: &mut Lcg, total: i64, n: usize) -> Vec<u32> {
    let budget = total - 16 * n as i64;
    let mut cuts: Vec<i64> = (0..n - 1).map(|_| rng.range(0, budget.max(0))).collect();
    cuts.sort();
    let mut prev = 0;
    let mut v = Vec::new();
    for c in cuts.into_iter().chain([budget]) {
        v.push(frame(c - prev));
        prev = c;
    }
    v
}

fn gen_case(i: usize) -> Case {
    let mut rng = Lcg(i as u64 * 7919 + 17);
    let kind = i % 9;
    let target = 792 + rng.range(-6, 6) * 8;
    let nosplit = |frame: u32| Func {
        nosplit: true,
        frame,
        calls: vec![],
    };
    let mut funcs: Vec<Func>;
    match kind {
        0 => funcs = vec![nosplit(frame(target - 8))],
        1 | 3 => {
            let n = rng.range(2, 4) as usize;
            funcs = split(&mut rng, target, n)
                .into_iter()
                .map(nosplit)
                .collect();
            for (k, f) in funcs.iter_mut().enumerate().take(n - 1) {
                f.calls.push(if kind == 3 && k == n - 2 {
                    Call::Indirect(k + 1)
                } else {
                    Call::Direct(k + 1)
                });
            }
        }
        2 => {
            let n = rng.range(2, 3) as usize;
            funcs = split(&mut rng, target, n)
                .into_iter()
                .map(nosplit)
                .collect();
            for (k, f) in funcs.iter_mut().enumerate().take(n - 1) {
                f.calls.push(Call::Direct(k + 1));
            }
            funcs.push(Func {
                nosplit: false,
                frame: frame(rng.range(200, 2000)),
                calls: vec![],
            });
            funcs[n - 1].calls.push(Call::Direct(n));
        }
        4 => {
            funcs = vec![nosplit(frame(rng.range(8, 200)))];
            funcs[0].calls.push(Call::Direct(0));
        }
        5 => {
            funcs = vec![
                nosplit(frame(rng.range(8, 100))),
                nosplit(frame(rng.range(8, 100))),
            ];
            funcs[0].calls.push(Call::Direct(1));
            funcs[1].calls.push(Call::Direct(0));
        }
        6 => {
            funcs = vec![
                nosplit(frame(target - 300)),
                Func {
                    nosplit: false,
                    frame: frame(rng.range(200, 600)),
                    calls: vec![],
                },
            ];
            funcs[0].calls.push(Call::Direct(1));
            funcs[1].calls.push(Call::Direct(0));
        }
        8 => {
            // Two independent chains (two roots; the report orders them by height, then
            // by symbol index), entered one after the other from Go.
            let a = split(&mut rng, target + 40, 2);
            let t2 = target + 40 + rng.range(0, 2) * 16;
            let b = split(&mut rng, t2, 2);
            funcs = vec![nosplit(a[0]), nosplit(a[1]), nosplit(b[0]), nosplit(b[1])];
            funcs[0].calls.push(Call::Direct(1));
            funcs[2].calls.push(Call::Direct(3));
        }
        _ => {
            // Branching: F0 calls a deep F1 and a shallow F2 that also reaches F1.
            let v = split(&mut rng, target, 2);
            funcs = vec![
                nosplit(v[0]),
                nosplit(v[1]),
                nosplit(frame(rng.range(8, 120))),
            ];
            funcs[0].calls.push(Call::Direct(2));
            funcs[0].calls.push(Call::Direct(1));
            funcs[2].calls.push(Call::Direct(1));
        }
    }
    let entries = if kind == 8 { vec![0, 2] } else { vec![0] };
    Case {
        funcs,
        go_entry: i % 3 == 1,
        entries,
        kind,
    }
}

fn write_module(root: &std::path::Path, cases: &[Case]) {
    let mut files = HashMap::new();
    files.insert("go.mod".to_string(), go_mod("example.com/vcases"));
    for (i, c) in cases.iter().enumerate() {
        let pkg = format!("c{i:03}");
        let mut go = format!("package {pkg}\n\n");
        for k in 0..c.funcs.len() {
            let _ = writeln!(go, "func F{k}()");
        }
        if c.go_entry {
            go.push_str("\n//go:nosplit");
        }
        go.push_str("\nfunc Entry() {\n");
        for e in &c.entries {
            let _ = writeln!(go, "\tF{e}()");
        }
        go.push_str("}\n");
        files.insert(format!("{pkg}/c.go"), go);
        for arch in ["amd64", "arm64"] {
            let mut s = String::from("#include \"textflag.h\"\n");
            for (k, f) in c.funcs.iter().enumerate() {
                let flag = if f.nosplit { "NOSPLIT, " } else { "" };
                let _ = write!(s, "\nTEXT ·F{k}(SB), {flag}${}-0\n", f.frame);
                for call in &f.calls {
                    match (call, arch) {
                        (Call::Direct(t), "amd64") => {
                            let _ = writeln!(s, "\tCALL ·F{t}(SB)");
                        }
                        (Call::Direct(t), _) => {
                            let _ = writeln!(s, "\tBL ·F{t}(SB)");
                        }
                        (Call::Indirect(t), "amd64") => {
                            let _ = writeln!(s, "\tMOVQ $·F{t}(SB), AX\n\tCALL AX");
                        }
                        (Call::Indirect(t), _) => {
                            let _ = writeln!(s, "\tMOVD $·F{t}(SB), R0\n\tCALL (R0)");
                        }
                    }
                }
                s.push_str("\tRET\n");
            }
            files.insert(format!("{pkg}/c_{arch}.s"), s);
        }
        files.insert(
            format!("cmd/{pkg}/main.go"),
            format!("package main\n\nimport \"example.com/vcases/{pkg}\"\n\nfunc main() {{\n\t{pkg}.Entry()\n}}\n"),
        );
    }
    write_files(root, &files);
}

fn run(goarch: &str) {
    let cases: Vec<Case> = (0..NCASES).map(gen_case).collect();
    let dir = tempfile::tempdir().expect("tempdir");
    write_module(dir.path(), &cases);
    let out = dir.path().join("bin");
    std::fs::create_dir_all(&out).expect("mkdir");
    let b = go_build(
        dir.path(),
        goarch,
        &["-o", &format!("{}/", out.display()), "./cmd/..."],
    );
    let steps: HashMap<String, LinkStep> = b
        .links
        .iter()
        .map(|l| (l.main_pkg.clone(), l.clone()))
        .collect();
    let (mut accepted, mut rejected, mut texts, mut multi) = (0, 0, 0, 0);
    let mut failures = Vec::new();
    for (i, c) in cases.iter().enumerate() {
        let pkg = format!("example.com/vcases/cmd/c{i:03}");
        let step = steps
            .get(&pkg)
            .unwrap_or_else(|| panic!("no link step for {pkg}; go build output:\n{}", b.stderr));
        let linker_ok = out.join(format!("c{i:03}")).exists();
        let set = step.load();
        let report = goobj::stack_check(&set, &goobj::StackCheckOptions::default());
        // Through per-archive summaries (shared by all cases: only the main archive and
        // the case's package are new each time).
        let (cset, _) = step.load_cached(&dir.path().join("summaries"));
        let creport = goobj::stack_check(&cset, &goobj::StackCheckOptions::default());
        assert_eq!(
            (creport.format_violations(), creport.format_edges()),
            (report.format_violations(), report.format_edges()),
            "c{i:03}: report through summaries differs"
        );
        if linker_ok != report.ok() {
            failures.push(format!(
                "c{i:03} (kind {}, {:?}): linker {} but we say {}\n{}",
                c.kind,
                c.funcs,
                if linker_ok { "accepts" } else { "rejects" },
                if report.ok() { "ok" } else { "violation" },
                report.format_violations()
            ));
            continue;
        }
        if linker_ok {
            accepted += 1;
        } else {
            rejected += 1;
            let (ok, text) = run_linker(step, goarch, &dir.path().join("relink.out"));
            assert!(!ok, "c{i:03}: direct relink succeeded but go build failed");
            if text == report.format_violations() {
                texts += 1;
                if report.violations.len() > 1 {
                    multi += 1;
                }
                if c.kind == 8 && std::env::var_os("GOOBJ_DEBUG").is_some() {
                    eprintln!("c{i:03} {:?}\n{text}", c.funcs);
                }
            } else {
                failures.push(format!(
                    "c{i:03}: report text differs\n--- linker ---\n{text}--- ours ---\n{}",
                    report.format_violations()
                ));
            }
        }
    }
    eprintln!("{goarch}: {NCASES} cases, {accepted} accepted, {rejected} rejected ({texts} with identical report text, {multi} with several roots)");
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
    assert!(
        accepted >= 10 && rejected >= 10,
        "generator should produce both verdicts ({accepted}/{rejected})"
    );
    let _ = std::fs::remove_dir_all(&b.work);
}

#[test]
fn verdicts_amd64() {
    run("amd64");
}

#[test]
fn verdicts_arm64() {
    run("arm64");
}
