//! `asm -gensymabis`, natively: a small debugging front end to `goasm`.
//!
//! ```text
//! gensymabis [--goos OS] [--goarch ARCH] [--shared] [-I DIR]... [-D NAME[=VALUE]]... [-p PKG] [-o FILE] FILE.s...
//! ```
//! GOOS/GOARCH default to `$GOOS`/`$GOARCH`, then the host; `GOEXPERIMENT` is read
//! from the environment. The Go release to model is `--go-version go1.N`, else
//! `$GOVERSION`, else what `go env GOVERSION` prints (if `go` runs). `-flag=value` works too. Exit status 1 on a scan error.

use std::path::PathBuf;
use std::process::ExitCode;

fn host_goarch() -> &'static str {
    match std::env::consts::ARCH {
        "x86_64" => "amd64",
        "x86" => "386",
        "aarch64" => "arm64",
        "arm" => "arm",
        "loongarch64" => "loong64",
        "powerpc64" if cfg!(target_endian = "little") => "ppc64le",
        "powerpc64" => "ppc64",
        "riscv64" => "riscv64",
        "s390x" => "s390x",
        "mips64" if cfg!(target_endian = "little") => "mips64le",
        "mips64" => "mips64",
        "mips" if cfg!(target_endian = "little") => "mipsle",
        "mips" => "mips",
        "wasm32" => "wasm",
        other => other,
    }
}

fn main() -> ExitCode {
    let mut opts = goasm::Options {
        goos: std::env::var("GOOS").unwrap_or_else(|_| match std::env::consts::OS {
            "macos" => "darwin".into(),
            o => o.into(),
        }),
        goarch: std::env::var("GOARCH").unwrap_or_else(|_| host_goarch().into()),
        goexperiment: std::env::var("GOEXPERIMENT").ok().filter(|s| !s.is_empty()),
        ..Default::default()
    };
    let mut go_version: Option<String> = std::env::var("GOVERSION").ok();
    let mut out: Option<PathBuf> = None;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(a) = args.next() {
        let (flag, inline) = match a.split_once('=') {
            Some((f, v)) if a.starts_with('-') => (f.to_string(), Some(v.to_string())),
            _ => (a.clone(), None),
        };
        let flag = flag.trim_start_matches('-').to_string();
        if !a.starts_with('-') || a == "-" {
            files.push(PathBuf::from(a));
            continue;
        }
        match flag.as_str() {
            "gensymabis" => continue,
            "shared" | "dynlink" => {
                opts.shared = true;
                continue;
            }
            _ => {}
        }
        let mut value = || inline.clone().or_else(|| args.next());
        let Some(v) = value() else {
            eprintln!("gensymabis: flag -{flag} needs a value");
            return ExitCode::from(2);
        };
        match flag.as_str() {
            "goos" => opts.goos = v,
            "goarch" => opts.goarch = v,
            "I" => opts.include_dirs.push(v.into()),
            "D" => opts.defines.push(v),
            "p" => opts.pkgpath = Some(v),
            "o" => out = Some(v.into()),
            "trimpath" => {}
            "go-version" => go_version = Some(v),
            _ => {
                eprintln!("gensymabis: unknown flag -{flag}");
                return ExitCode::from(2);
            }
        }
    }
    let go_version = go_version.or_else(|| {
        let out = std::process::Command::new("go")
            .args(["env", "GOVERSION"])
            .output()
            .ok()?;
        Some(String::from_utf8_lossy(&out.stdout).into_owned())
    });
    opts.go_version = go_version.as_deref().and_then(goasm::parse_go_version);
    match goasm::gensymabis(&opts, &files) {
        Ok(s) => {
            let r = match out {
                Some(p) => std::fs::write(&p, s),
                None => {
                    use std::io::Write;
                    std::io::stdout().write_all(s.as_bytes())
                }
            };
            if let Err(e) = r {
                eprintln!("gensymabis: {e}");
                return ExitCode::from(1);
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{e}");
            ExitCode::from(1)
        }
    }
}
