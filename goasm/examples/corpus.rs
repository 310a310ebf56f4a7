//! Profiling driver: scans a corpus of packages in-process (one `gensymabis` call
//! per package, like the build) and prints the best wall time of `--repeat N` runs.
//!
//! Input (stdin): the JSON lines `pipeline/examples/symabis_corpus.rs` reads
//! (`{"pkg", "dir", "files", "goos", "goarch", "includes", "defines"}`), e.g. as
//! `scripts/bench-symabis` writes them. `--out DIR` writes DIR/<index>.symabis.

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

fn strs(v: &serde_json::Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let flag = |name: &str| {
        args.iter()
            .position(|a| a == name)
            .and_then(|i| args.get(i + 1))
            .cloned()
    };
    let out_dir = flag("--out").map(PathBuf::from);
    let repeat: usize = flag("--repeat").and_then(|s| s.parse().ok()).unwrap_or(1);
    let go_version = flag("--go-version").and_then(|s| goasm::parse_go_version(&s));
    let jobs: Vec<(goasm::Options, Vec<PathBuf>)> = std::io::stdin()
        .lock()
        .lines()
        .map(|l| serde_json::from_str::<serde_json::Value>(&l.expect("stdin")).expect("JSON"))
        .map(|j| {
            let opts = goasm::Options {
                goos: j["goos"].as_str().unwrap_or_default().into(),
                goarch: j["goarch"].as_str().unwrap_or_default().into(),
                include_dirs: strs(&j["includes"])
                    .into_iter()
                    .map(PathBuf::from)
                    .collect(),
                defines: strs(&j["defines"]),
                pkgpath: j["pkg"].as_str().map(String::from),
                work_dir: j["dir"].as_str().map(PathBuf::from),
                go_version,
                ..Default::default()
            };
            let files = strs(&j["files"]).into_iter().map(PathBuf::from).collect();
            (opts, files)
        })
        .collect();
    let mut best = f64::INFINITY;
    let mut outputs = Vec::new();
    for _ in 0..repeat.max(1) {
        let start = Instant::now();
        outputs = jobs
            .iter()
            .map(|(o, f)| goasm::gensymabis(o, f).unwrap_or_else(|e| format!("error: {e}\n")))
            .collect();
        best = best.min(start.elapsed().as_secs_f64());
    }
    if let Some(d) = out_dir {
        for (i, o) in outputs.iter().enumerate() {
            std::fs::write(d.join(format!("{i}.symabis")), o).expect("write output");
        }
    }
    let bytes: usize = outputs.iter().map(String::len).sum();
    println!(
        "packages={} out_bytes={bytes} seconds={best:.6}",
        jobs.len()
    );
}
