//! `cargo gobuild abi`: build the requested main packages (linking them),
//! then report per package what its assembly defines and references, the
//! ABI wrappers the compiler generated in each direction with their frames,
//! and the calls that cross an ABI boundary; then check each program's
//! symbol table (the same check `build` runs last) and print the size of
//! its wrappers. Lint findings are printed by the build (file:line).
//!
//! Everything comes from the build's own outputs: symabis, the package
//! archives (goobj), the link set and the linked program (ELF, PE or
//! Mach-O).

use clap::Args;
use pipeline::abi::{self, ElfCheck, Finding, LintLevel, ProgramReport};
use pipeline::build;
use pipeline::events::{Event, EventSink};
use pipeline::plan::Intent;

use crate::args::BuildArgs;
use crate::exit::{Failure, Kind};
use crate::settings;

/// Arguments of `cargo gobuild abi`.
#[derive(Debug, Args)]
pub struct AbiArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Print the whole report as one JSON document on stdout.
    #[arg(long)]
    pub json: bool,
    /// Detail every package (default: the standard library is summarized).
    #[arg(long)]
    pub all: bool,
}

/// A sink that drops events (a second, fully cached build whose events were
/// already reported).
struct Discard;

impl EventSink for Discard {
    fn emit(&self, _: Event) {}
}

#[derive(serde::Serialize)]
struct Program<'a> {
    profile: &'a str,
    #[serde(flatten)]
    report: &'a ProgramReport,
    #[serde(skip_serializing_if = "Option::is_none")]
    elf: Option<&'a ElfCheck>,
}

fn internal(m: impl std::fmt::Display) -> Failure {
    Failure {
        kind: Kind::Unexpected,
        message: Some(m.to_string()),
    }
}

/// Runs the command.
pub fn run(args: &AbiArgs, sink: &dyn EventSink) -> Result<(), Failure> {
    let mut programs: Vec<(String, ProgramReport, Option<ElfCheck>)> = Vec::new();
    let mut lints: Vec<Finding> = Vec::new();
    let mut failure: Option<Failure> = None;
    let cwd = std::env::current_dir().map_err(internal)?;
    for mut req in settings::build_requests(&args.build)? {
        req.intent = Intent::Report;
        let outcome = match build::build(&req, sink, None) {
            Ok(o) => o,
            Err(e @ (pipeline::Error::BuildFailed { .. } | pipeline::Error::Check { .. })) => {
                // The link (or a check) failed: report what the archives
                // say, which usually explains it. Everything is cached.
                let mut r = req.clone();
                r.intent = Intent::Archives;
                r.output = None;
                failure.get_or_insert(Failure::from(e));
                match build::build(&r, &Discard, None) {
                    Ok(o) => o,
                    Err(_) => continue,
                }
            }
            Err(e) => return Err(e.into()),
        };
        let mains = outcome.mains();
        if mains.is_empty() {
            return Err(Failure {
                kind: Kind::BuildFailed,
                message: Some(format!(
                    "no main package among {:?}: the ABI report covers a program's link set (hint: name a main package)",
                    req.patterns
                )),
            });
        }
        lints.extend(abi::lint_build(&outcome.built(), &req.profile.lints));
        for m in mains {
            let report = outcome.program_report(m).map_err(|e| Failure {
                kind: Kind::BuildFailed,
                message: Some(e.to_string()),
            })?;
            let pkg = &outcome.session.graph.packages[m].import_path;
            let elf = match outcome.artifacts.iter().find(|a| &a.package == pkg) {
                Some(a) => Some(abi::check_elf(&a.path, &report.expectations())?),
                None => None,
            };
            programs.push((req.profile.name.clone(), report, elf));
        }
    }
    lints.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
    lints.dedup();
    if args.json {
        let doc = serde_json::json!({
            "programs": programs
                .iter()
                .map(|(profile, report, elf)| Program { profile, report, elf: elf.as_ref() })
                .collect::<Vec<_>>(),
            "lints": lints,
        });
        println!("{}", serde_json::to_string(&doc).map_err(internal)?);
    } else {
        for (profile, report, elf) in &programs {
            print!("{}", render(profile, report, elf.as_ref(), args.all));
        }
        if !lints.is_empty() {
            let denied = lints.iter().filter(|l| l.level == LintLevel::Deny).count();
            println!(
                "lints: {} finding(s), {} denied (printed above with file:line)",
                lints.len(),
                denied
            );
            for l in &lints {
                println!("  {}: {}", l.level.as_str(), l.render(&cwd));
            }
        }
    }
    let failed_checks: Vec<String> = programs
        .iter()
        .filter_map(|(_, _, e)| e.as_ref().filter(|e| !e.ok()))
        .map(|e| format!("{}:\n  {}", e.program.display(), e.problems.join("\n  ")))
        .collect();
    if let Some(f) = failure {
        return Err(f);
    }
    if !failed_checks.is_empty() {
        return Err(Failure {
            kind: Kind::BuildFailed,
            message: Some(format!(
                "ABI check of the linked program failed: {}",
                failed_checks.join("\n")
            )),
        });
    }
    Ok(())
}

fn table(rows: &[Vec<String>], indent: &str) -> String {
    let mut widths = vec![0; rows.iter().map(Vec::len).max().unwrap_or(0)];
    for r in rows {
        for (i, c) in r.iter().enumerate() {
            widths[i] = widths[i].max(c.chars().count());
        }
    }
    let mut s = String::new();
    for r in rows {
        let line: Vec<String> = r
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths[i]))
            .collect();
        s.push_str(indent);
        s.push_str(line.join("  ").trim_end());
        s.push('\n');
    }
    s
}

fn totals_line(t: &abi::Totals) -> String {
    format!(
        "{} asm definitions, {} asm references, wrappers {} ABIInternal→ABI0 + {} ABI0→ABIInternal ({} linked, {} bytes), cross-ABI calls {} via wrapper + {} direct",
        t.asm_defs,
        t.asm_refs,
        t.wrappers_to_abi0,
        t.wrappers_to_abiinternal,
        t.wrappers_linked,
        t.wrapper_bytes_linked,
        t.calls_via_wrapper,
        t.calls_direct
    )
}

/// The human report of one program.
fn render(profile: &str, r: &ProgramReport, elf: Option<&ElfCheck>, all: bool) -> String {
    let mut s = format!("{} ({}, profile `{profile}`)\n", r.package, r.target);
    let s_ = |x: &str| x.to_string();
    for p in &r.packages {
        if p.goroot && !all {
            continue;
        }
        s.push_str(&format!("\n  package {}\n", p.package));
        if !p.asm_defs.is_empty() {
            s.push_str("    assembly definitions (symabis):\n");
            let mut rows = vec![vec![s_("ABI"), s_("SYMBOL"), s_("AT"), s_("WRAPPED")]];
            for d in &p.asm_defs {
                rows.push(vec![
                    d.abi.clone(),
                    d.symbol.clone(),
                    d.at.clone().unwrap_or_else(|| "-".into()),
                    if d.wrapped { "yes" } else { "no" }.into(),
                ]);
            }
            s.push_str(&table(&rows, "      "));
        }
        if !p.asm_refs.is_empty() {
            s.push_str("    Go functions the assembly references (symabis):\n");
            let mut rows = vec![vec![s_("ABI"), s_("SYMBOL"), s_("RESOLVES TO")]];
            for d in &p.asm_refs {
                rows.push(vec![d.abi.clone(), d.symbol.clone(), d.resolves_to.clone()]);
            }
            s.push_str(&table(&rows, "      "));
        }
        if !p.wrappers.is_empty() {
            s.push_str("    ABI wrappers (compiler-generated):\n");
            let mut rows = vec![vec![
                s_("DIRECTION"),
                s_("FUNCTION"),
                s_("SIZE"),
                s_("FRAME"),
                s_("ARGS"),
                s_("MAXSP"),
                s_("NOSPLIT"),
                s_("LINKED"),
            ]];
            for w in &p.wrappers {
                rows.push(vec![
                    w.direction.clone(),
                    w.go_name.clone(),
                    w.size.to_string(),
                    w.frame.to_string(),
                    w.args.to_string(),
                    w.max_sp.to_string(),
                    if w.nosplit { "yes" } else { "no" }.into(),
                    if w.linked { "yes" } else { "no" }.into(),
                ]);
            }
            s.push_str(&table(&rows, "      "));
        }
        if !p.cross_calls.is_empty() {
            s.push_str("    calls crossing an ABI boundary:\n");
            let mut rows = vec![vec![
                s_("CALLER"),
                s_("→ CALLEE"),
                s_("THROUGH"),
                s_("CALLS"),
            ]];
            for c in &p.cross_calls {
                rows.push(vec![
                    format!("{} <{}>", c.caller, c.caller_abi),
                    format!("→ {} <{}>", c.callee, c.callee_abi),
                    c.via
                        .clone()
                        .unwrap_or_else(|| "direct (caller uses the callee's ABI)".into()),
                    c.calls.to_string(),
                ]);
            }
            s.push_str(&table(&rows, "      "));
        }
        s.push_str(&format!("    totals: {}\n", totals_line(&p.totals)));
    }
    let std: Vec<&abi::PackageReport> = r.packages.iter().filter(|p| p.goroot).collect();
    if !all && !std.is_empty() {
        s.push_str(&format!(
            "\n  standard library ({} packages; --all for details):\n",
            std.len()
        ));
        let mut rows = vec![vec![
            s_("PACKAGE"),
            s_("ASM DEFS"),
            s_("→ABI0"),
            s_("→ABIInternal"),
            s_("LINKED"),
            s_("BYTES"),
            s_("VIA WRAPPER"),
            s_("DIRECT"),
        ]];
        for p in std {
            let t = &p.totals;
            rows.push(vec![
                p.package.clone(),
                t.asm_defs.to_string(),
                t.wrappers_to_abi0.to_string(),
                t.wrappers_to_abiinternal.to_string(),
                t.wrappers_linked.to_string(),
                t.wrapper_bytes_linked.to_string(),
                t.calls_via_wrapper.to_string(),
                t.calls_direct.to_string(),
            ]);
        }
        s.push_str(&table(&rows, "    "));
    }
    s.push_str(&format!("\n  program totals: {}\n", totals_line(&r.totals)));
    match elf {
        None => s.push_str("  program checks: not linked\n"),
        Some(e) if e.skipped.is_some() => s.push_str(&format!(
            "  program checks: skipped ({})\n",
            e.skipped.as_deref().unwrap_or("")
        )),
        Some(e) => {
            s.push_str(&format!(
                "  program checks ({}, {}): {} text symbols, {} ABI pairs named NAME/NAME.abi0, {} wrappers present: {}\n",
                e.program.display(),
                e.format,
                e.text_symbols,
                e.pairs_checked,
                e.wrappers.len(),
                if e.ok() { "ok".to_string() } else { format!("{} problem(s)", e.problems.len()) }
            ));
            for p in &e.problems {
                s.push_str(&format!("    error: {p}\n"));
            }
            let own: Vec<&abi::ElfWrapper> = e
                .wrappers
                .iter()
                .filter(|w| {
                    all || r
                        .packages
                        .iter()
                        .any(|p| !p.goroot && p.wrappers.iter().any(|x| x.symbol == w.symbol))
                })
                .collect();
            if !own.is_empty() {
                s.push_str(if e.sizes == "symbol table" {
                    "    wrapper sizes in the program:\n"
                } else {
                    "    wrapper sizes in the program (to the next symbol, padding included: its symbols have no size):\n"
                });
                let mut rows = vec![vec![s_("SYMBOL"), s_("DIRECTION"), s_("SIZE")]];
                for w in own {
                    rows.push(vec![
                        w.elf_name.clone(),
                        w.direction.clone(),
                        w.size.to_string(),
                    ]);
                }
                s.push_str(&table(&rows, "      "));
            }
            let total: u64 = e.wrappers.iter().map(|w| w.size).sum();
            s.push_str(&format!(
                "    all wrappers: {} symbols, {total} bytes\n",
                e.wrappers.len()
            ));
        }
    }
    s.push('\n');
    s
}
