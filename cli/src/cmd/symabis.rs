//! `cargo gobuild symabis`: print the symabis of Go assembly files exactly as
//! `asm -gensymabis` would, using the native scanner (crate `goasm`).
//!
//! ```text
//! cargo gobuild symabis [--goos O] [--goarch A] [-I DIR]... [-D NAME[=V]]... [-p PKG] [-o FILE] FILE.s...
//! ```
//! Flag parsing only validates; [`SymabisArgs::options`] turns the flags into
//! [`goasm::Options`]. GOOS/GOARCH default to `go env GOOS`/`go env GOARCH` (which honour
//! the environment), or to the host when `go` is not installed; GOEXPERIMENT comes from
//! the environment (or `go env`, which includes the toolchain's default) like the
//! assembler's. Relative paths are resolved against the
//! current directory, as for `asm`.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;

/// Exit code of a scan error (a bad `.s` file), like a failed build.
pub const EXIT_SCAN_ERROR: i32 = 101;

/// Arguments of `cargo gobuild symabis`.
#[derive(Debug, Clone, clap::Args)]
pub struct SymabisArgs {
    /// Target operating system (default: `go env GOOS`, else the host).
    #[arg(long, value_name = "GOOS")]
    pub goos: Option<String>,
    /// Target architecture (default: `go env GOARCH`, else the host).
    #[arg(long, value_name = "GOARCH")]
    pub goarch: Option<String>,
    /// Include directory, searched after the directory of each file (repeatable).
    #[arg(short = 'I', value_name = "DIR")]
    pub include_dirs: Vec<PathBuf>,
    /// Predefined macro NAME or NAME=VALUE (repeatable).
    #[arg(short = 'D', value_name = "NAME[=VALUE]")]
    pub defines: Vec<String>,
    /// Import path of the package (`·name` becomes `IMPORTPATH.name`).
    #[arg(short = 'p', value_name = "IMPORTPATH")]
    pub pkgpath: Option<String>,
    /// Scan as asm -shared/-dynlink would (riscv64: X3 is not a register name).
    #[arg(long)]
    pub shared: bool,
    /// Go release whose assembler to model, e.g. `go1.24` (default: `go env GOVERSION`,
    /// else the release goasm's tables come from).
    #[arg(long, value_name = "GOVERSION")]
    pub go_version: Option<String>,
    /// Write the symabis to FILE instead of stdout.
    #[arg(short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Assembly files, in the order the assembler gets them.
    #[arg(value_name = "FILE.s", required = true)]
    pub files: Vec<PathBuf>,
}

/// The Go name of the host operating system.
pub fn host_goos() -> &'static str {
    match std::env::consts::OS {
        "macos" => "darwin",
        other => other,
    }
}

/// The Go name of the host architecture.
pub fn host_goarch() -> &'static str {
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

/// `go env GOOS GOARCH GOEXPERIMENT`, if `go` runs.
fn go_env_target() -> Option<(String, String, String)> {
    let out = Command::new("go")
        .args(["env", "GOOS", "GOARCH", "GOEXPERIMENT"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let text = String::from_utf8(out.stdout).ok()?;
    let mut lines = text.lines().map(str::trim);
    let goos = lines.next().filter(|s| !s.is_empty())?.to_string();
    let goarch = lines.next().filter(|s| !s.is_empty())?.to_string();
    let goexperiment = lines.next().unwrap_or("").to_string();
    Some((goos, goarch, goexperiment))
}

/// `go env GOVERSION`, if `go` runs.
fn go_env_version() -> Option<String> {
    let out = Command::new("go")
        .args(["env", "GOVERSION"])
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    String::from_utf8(out.stdout).ok()
}

impl SymabisArgs {
    /// The scanner options these flags mean (asks `go env` only for what is missing).
    pub fn options(&self) -> goasm::Options {
        let env_exp = std::env::var("GOEXPERIMENT").ok();
        let (goos, goarch, goexperiment) = match (&self.goos, &self.goarch) {
            (Some(o), Some(a)) => (o.clone(), a.clone(), env_exp.unwrap_or_default()),
            (o, a) => {
                let (eo, ea, ee) = go_env_target().unwrap_or_else(|| {
                    let e = env_exp.unwrap_or_default();
                    (host_goos().to_string(), host_goarch().to_string(), e)
                });
                (o.clone().unwrap_or(eo), a.clone().unwrap_or(ea), ee)
            }
        };
        goasm::Options {
            goos,
            goarch,
            include_dirs: self.include_dirs.clone(),
            defines: self.defines.clone(),
            pkgpath: self.pkgpath.clone(),
            goexperiment: Some(goexperiment).filter(|s| !s.is_empty()),
            shared: self.shared,
            work_dir: None,
            go_version: self
                .go_version
                .clone()
                .or_else(go_env_version)
                .as_deref()
                .and_then(goasm::parse_go_version),
        }
    }
}

/// Run `cargo gobuild symabis`: 0 when the symabis were written, 101 on a scan
/// error (reported on stderr as `error: file:line: message`). Failing to write the
/// output is an `Err`.
pub fn run(args: &SymabisArgs) -> anyhow::Result<i32> {
    let opts = args.options();
    match goasm::gensymabis(&opts, &args.files) {
        Ok(text) => {
            match &args.output {
                Some(path) => std::fs::write(path, text.as_bytes())
                    .with_context(|| format!("writing {}", path.display()))?,
                None => {
                    let mut stdout = std::io::stdout().lock();
                    stdout
                        .write_all(text.as_bytes())
                        .and_then(|()| stdout.flush())
                        .context("writing symabis to stdout")?;
                }
            }
            Ok(0)
        }
        Err(e) => {
            eprintln!("error: {e}");
            Ok(EXIT_SCAN_ERROR)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        args: SymabisArgs,
    }

    #[test]
    fn parses_asm_like_flags() {
        let cli = Cli::parse_from([
            "x",
            "--goos",
            "linux",
            "--goarch",
            "arm64",
            "-I",
            "inc",
            "-I",
            "inc2",
            "-D",
            "GOOS_linux",
            "-D",
            "X=1",
            "-p",
            "example.com/m",
            "-o",
            "out",
            "a.s",
            "b.s",
        ]);
        let opts = cli.args.options();
        assert_eq!(opts.goos, "linux");
        assert_eq!(opts.goarch, "arm64");
        assert_eq!(
            opts.include_dirs,
            [PathBuf::from("inc"), PathBuf::from("inc2")]
        );
        assert_eq!(opts.defines, ["GOOS_linux", "X=1"]);
        assert_eq!(opts.pkgpath.as_deref(), Some("example.com/m"));
        assert_eq!(cli.args.files, [PathBuf::from("a.s"), PathBuf::from("b.s")]);
    }

    #[test]
    fn scan_error_exits_101() {
        let dir = std::env::temp_dir().join(format!("symabis-cli-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.s");
        std::fs::write(&bad, "#include \"missing.h\"\n").unwrap();
        let cli = Cli::parse_from([
            "x".as_ref(),
            "--goos".as_ref(),
            "linux".as_ref(),
            "--goarch".as_ref(),
            "amd64".as_ref(),
            bad.as_os_str(),
        ]);
        assert_eq!(run(&cli.args).unwrap(), EXIT_SCAN_ERROR);
        let good = dir.join("good.s");
        std::fs::write(&good, "TEXT ·f(SB),0,$0\n\tCALL ·g(SB)\n\tRET\n").unwrap();
        let out = dir.join("out");
        let cli = Cli::parse_from([
            "x".as_ref(),
            "--goos".as_ref(),
            "linux".as_ref(),
            "--goarch".as_ref(),
            "amd64".as_ref(),
            "-p".as_ref(),
            "m".as_ref(),
            "-o".as_ref(),
            out.as_os_str(),
            good.as_os_str(),
        ]);
        assert_eq!(run(&cli.args).unwrap(), 0);
        assert_eq!(
            std::fs::read_to_string(&out).unwrap(),
            "def m.f ABI0\nref m.g ABI0\n"
        );
        let _ = std::fs::remove_dir_all(&dir);
    }
}
