//! `cargo gobuild nosplit`: build the archives of the requested main
//! packages (no link), then run the linker's NOSPLIT stack check over each
//! link set and report: violations in the linker's chain format, `--top N`
//! deepest chains with their margins (ABI wrapper frames marked), `--edges`
//! in exactly the format of `-ldflags=-debugnosplit`, or `--json`.

use clap::Args;
use pipeline::build;

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
        req.link = false;
        req.nosplit = false;
        let outcome = build::build(&req, sink, None)?;
        let mains = outcome.mains();
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
            let pkg = outcome.session.graph.packages[m].import_path.clone();
            let (main, libs) = outcome.link_set(m).ok_or_else(|| Failure {
                kind: Kind::Unexpected,
                message: Some(format!("internal: no archives for {pkg}")),
            })?;
            let summaries = outcome.cache.root().join("nosplit");
            let set =
                goobj::load_link_set_cached(&main, &libs, &summaries).map_err(|e| Failure {
                    kind: Kind::BuildFailed,
                    message: Some(format!("{pkg}: nosplit check: {e}")),
                })?;
            let tc = &outcome.session.toolchain;
            let opts = goobj::StackCheckOptions {
                goarch: tc.goarch().to_string(),
                goos: tc.goos().to_string(),
                race: false,
                headroom: req.profile.nosplit_headroom,
                entry: String::new(),
            };
            let report = goobj::stack_check(&set, &opts);
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
                    if opts.headroom > 0 {
                        format!(" (headroom {}: {} usable)", opts.headroom, report.effective_limit)
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
