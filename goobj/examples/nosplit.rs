//! Debugging tool: run the nosplit check on a link set.
//!
//! `cargo run -p goobj --release --example nosplit -- MAIN.a IMPORTCFG.LINK [--edges] [--top N] [--json] [--headroom N] [--race] [--time] [--cache DIR] [--memo DIR]`
//!
//! `--cache DIR` loads through per-archive summaries kept in DIR (`goobj::SummaryCache`);
//! `--memo DIR` runs the incremental check (`goobj::stack_check_memo`: summaries and
//! memoized reports in DIR).
//!
//! Prints violations in the linker's format (exit 1 if any), `--edges` prints every edge
//! like `-ldflags=-debugnosplit`, `--top N` the N deepest NOSPLIT chains.
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut pos = Vec::new();
    let (mut edges, mut json, mut timing) = (false, false, false);
    let mut top = 0usize;
    let mut cache: Option<PathBuf> = None;
    let mut memo: Option<PathBuf> = None;
    let mut opts = goobj::StackCheckOptions::default();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--edges" => edges = true,
            "--json" => json = true,
            "--time" => timing = true,
            "--race" => opts.race = true,
            "--cache" => cache = it.next().map(PathBuf::from),
            "--memo" => memo = it.next().map(PathBuf::from),
            "--top" => top = it.next().and_then(|s| s.parse().ok()).unwrap_or(10),
            "--headroom" => opts.headroom = it.next().and_then(|s| s.parse().ok()).unwrap_or(0),
            _ => pos.push(a.clone()),
        }
    }
    if pos.len() != 2 {
        eprintln!("usage: nosplit MAIN.a IMPORTCFG.LINK [--edges] [--top N] [--json] [--headroom N] [--race] [--time] [--cache DIR] [--memo DIR]");
        std::process::exit(2);
    }
    let t0 = Instant::now();
    let cfg = match std::fs::read_to_string(&pos[1]) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{}: {e}", pos[1]);
            std::process::exit(2);
        }
    };
    let libs = goobj::parse_importcfg(&cfg);
    let main = PathBuf::from(&pos[0]);
    if let Some(dir) = &memo {
        let m = match goobj::stack_check_memo(&main, &libs, dir, &opts) {
            Ok(m) => m,
            Err(e) => {
                eprintln!("error: {e}");
                std::process::exit(2);
            }
        };
        let t1 = Instant::now();
        if json || edges || top > 0 {
            let report = m.report().expect("memoized report parses");
            print_report(&report, json, edges, top);
        } else {
            print!("{}", m.violations);
        }
        if timing {
            eprintln!(
                "memo check {:.2} ms ({}), {} archives digested, summaries {:?}",
                (t1 - t0).as_secs_f64() * 1e3,
                match m.stats.hit {
                    Some(true) => "hit, normalized digests",
                    Some(false) => "hit, exact digests",
                    None => "miss: full check",
                },
                m.stats.digested,
                m.stats.summaries
            );
        }
        std::process::exit(if m.ok { 0 } else { 1 });
    }
    let mut stats = None;
    let loaded = match &cache {
        Some(dir) => goobj::SummaryCache::new(dir)
            .load_link_set(&main, &libs)
            .map(|(s, st)| {
                stats = Some(st);
                s
            }),
        None => goobj::load_link_set(&main, &libs),
    };
    let set = match loaded {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            std::process::exit(2);
        }
    };
    let t1 = Instant::now();
    let report = goobj::stack_check(&set, &opts);
    let t2 = Instant::now();
    print_report(&report, json, edges, top);
    if timing {
        eprintln!(
            "load {:.1} ms, check {:.1} ms, {} objects, {} symbols, {} functions",
            (t1 - t0).as_secs_f64() * 1e3,
            (t2 - t1).as_secs_f64() * 1e3,
            set.num_objects(),
            set.num_symbols(),
            report.functions
        );
        if let Some(st) = stats {
            eprintln!(
                "summaries: {} reused, {} built, {} read directly",
                st.reused, st.built, st.direct
            );
        }
        if let Ok(st) = std::fs::read_to_string("/proc/self/status") {
            let f: Vec<&str> = st
                .lines()
                .filter(|l| {
                    l.starts_with("VmHWM") || l.starts_with("RssAnon") || l.starts_with("RssFile")
                })
                .collect();
            eprintln!(
                "{}",
                f.join(", ")
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ")
            );
        }
    }
    std::process::exit(if report.ok() { 0 } else { 1 });
}

/// The report as JSON, or the edges, the deepest chains and the violations.
fn print_report(report: &goobj::StackReport, json: bool, edges: bool, top: usize) {
    if json {
        println!("{}", serde_json::to_string_pretty(report).expect("json"));
        return;
    }
    if edges {
        print!("{}", report.format_edges());
    }
    if top > 0 {
        print!("{}", report.format_top(top));
    }
    print!("{}", report.format_violations());
}
