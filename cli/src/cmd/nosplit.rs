//! `cargo gobuild nosplit`: build the archives of the requested main
//! packages and run the linker's NOSPLIT stack check over each link unit
//! (the engine's nosplit action in report mode, no link), then report from
//! each check's output: violations in the linker's chain format, `--top N`
//! deepest chains with their margins (ABI wrapper frames marked), `--edges`
//! in exactly the format of `-ldflags=-debugnosplit`, or `--json`.

use clap::Args;
use pipeline::build;
use pipeline::plan::Intent;

use crate::args::BuildArgs;
use crate::exit::{Failure, Kind};
use crate::settings;

/// Arguments of `cargo gobuild nosplit`.
#[derive(Debug, Args)]
pub struct NosplitArgs {
    #[command(flatten)]
    pub build: BuildArgs,
    /// Print the N deepest NOSPLIT chains with their margin to the limit.
    #[arg(long, value_name = "N")]
    pub top: Option<usize>,
    /// Print every edge of the call graph as the linker's -debugnosplit does.
    #[arg(long, conflicts_with = "json")]
    pub edges: bool,
    /// Print the whole report as JSON (one object per main package, one per line).
    #[arg(long)]
    pub json: bool,
}

/// Runs the command.
pub fn run(args: &NosplitArgs, sink: &dyn pipeline::events::EventSink) -> Result<(), Failure> {
    let mut over = Vec::new();
    for mut req in settings::build_requests(&args.build)? {
        // The check in report mode, no link: its report is the output of
        // each program's nosplit action.
        req.intent = Intent::Check;
        let outcome = build::build(&req, sink, None)?;
        let graph = &outcome.session.graph;
        let mains: Vec<usize> = graph
            .roots()
            .filter(|r| graph.packages[*r].is_main())
            .collect();
        if mains.is_empty() {
            return Err(Failure {
                kind: Kind::BuildFailed,
                message: Some(format!(
                    "no main package among {:?}: the nosplit check runs over a program's link set (hint: name a main package)",
                    req.patterns
                )),
            });
        }
        for m in mains {
            let pkg = graph.packages[m].import_path.clone();
            let report = match outcome.nosplit_report(m) {
                Some(r) => r?,
                None => {
                    return Err(Failure {
                        kind: Kind::BuildFailed,
                        message: Some(format!(
                            "{pkg}: the nosplit check did not run for {} (see the warning above)",
                            outcome.session.toolchain.goversion()
                        )),
                    })
                }
            };
            let headroom = req.profile.nosplit_headroom;
            if args.json {
                #[derive(serde::Serialize)]
                struct Out<'a> {
                    package: &'a str,
                    #[serde(flatten)]
                    report: &'a goobj::StackReport,
                }
                let line = serde_json::to_string(&Out {
                    package: &pkg,
                    report: &report,
                })
                .map_err(|e| Failure {
                    kind: Kind::Unexpected,
                    message: Some(e.to_string()),
                })?;
                println!("{line}");
            } else if args.edges {
                print!("{}", report.format_edges());
            } else {
                let deepest = report.deepest.first();
                println!(
                    "{pkg} ({}/{}): {} functions; limit {} bytes{}; deepest NOSPLIT chain {} bytes (margin {})",
                    report.goos,
                    report.goarch,
                    report.functions,
                    report.limit,
                    if headroom > 0 {
                        format!(" (headroom {headroom}: {} usable)", report.effective_limit)
                    } else {
                        String::new()
                    },
                    deepest.map(|c| c.height).unwrap_or(0),
                    deepest.map(|c| c.margin).unwrap_or(report.effective_limit),
                );
                if let Some(n) = args.top {
                    print!("{}", report.format_top(n));
                }
            }
            if !report.ok() {
                over.push(format!(
                    "# {pkg}\n{}",
                    report.format_violations().trim_end()
                ));
            }
        }
    }
    if over.is_empty() {
        Ok(())
    } else {
        // The linker's own format, as `go build` would print it.
        eprintln!("{}", over.join("\n"));
        Err(Failure {
            kind: Kind::BuildFailed,
            message: None,
        })
    }
}
