//! Benchmark driver for scripts/bench-symabis: scans a corpus of packages
//! in-process with the native scanner, the way the build runs it (one call
//! per package), and prints the total wall time in seconds.
//!
//! Input (stdin): one JSON object per line:
//! `{"pkg": "...", "dir": "...", "files": ["/abs/a.s"], "goos": "...",
//!   "goarch": "...", "includes": ["..."], "defines": ["GOOS_linux", ...]}`.
//! Output: `packages=N files=M seconds=S` and, with `--out DIR`, each
//! package's symabis in DIR/<index>.symabis (for a byte comparison).

use std::io::BufRead;
use std::path::PathBuf;
use std::time::Instant;

#[derive(serde::Deserialize)]
struct Job {
    pkg: String,
    dir: PathBuf,
    files: Vec<PathBuf>,
    goos: String,
    goarch: String,
    includes: Vec<PathBuf>,
    defines: Vec<String>,
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let out_dir = args
        .iter()
        .position(|a| a == "--out")
        .and_then(|i| args.get(i + 1))
        .map(PathBuf::from);
    let jobs: Vec<Job> = std::io::stdin()
        .lock()
        .lines()
        .map(|l| serde_json::from_str(&l.expect("stdin")).expect("a JSON job per line"))
        .collect();
    let files: usize = jobs.iter().map(|j| j.files.len()).sum();
    // The assembler's rules differ per Go release: model the `go` on PATH.
    let go_version = std::process::Command::new("go")
        .args(["env", "GOVERSION"])
        .output()
        .ok()
        .and_then(|o| goasm::parse_go_version(&String::from_utf8_lossy(&o.stdout)));
    let start = Instant::now();
    let mut outputs = Vec::with_capacity(jobs.len());
    for j in &jobs {
        let opts = goasm::Options {
            goos: j.goos.clone(),
            goarch: j.goarch.clone(),
            include_dirs: j.includes.clone(),
            defines: j.defines.clone(),
            pkgpath: Some(j.pkg.clone()),
            goexperiment: None,
            shared: false,
            work_dir: Some(j.dir.clone()),
            go_version,
        };
        outputs
            .push(goasm::gensymabis(&opts, &j.files).unwrap_or_else(|e| format!("error: {e}\n")));
    }
    let secs = start.elapsed().as_secs_f64();
    if let Some(d) = out_dir {
        for (i, o) in outputs.iter().enumerate() {
            std::fs::write(d.join(format!("{i}.symabis")), o).expect("write output");
        }
    }
    println!("packages={} files={files} seconds={secs:.6}", jobs.len());
}
