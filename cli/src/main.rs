//! `cargo-gobuild`: the command line of cargo gobuild. Parsing flags only
//! validates them; [`settings`] turns them into the engine's request; the
//! engine (crate `pipeline`) builds; [`report`] renders its events.
//!
//! Exit codes: 0 ok, 101 build or check failed, 102 workspace/config could
//! not be loaded, 1 anything unexpected.

mod abi;
mod nosplit;
mod report;
mod settings;
mod symabis;
mod watch;
mod workspace;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use pipeline::build;
use pipeline::events::EventSink;

use report::{ColorChoice, HumanReporter, JsonReporter, MessageFormat, Verbosity};

/// Build Go programs — Go, Go assembly and the standard library — with the Go
/// toolchain's own tools (asm, compile, pack, link), cached and in parallel.
#[derive(Debug, Parser)]
#[command(name = "cargo gobuild", bin_name = "cargo gobuild", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build main packages into <target-dir>/gobuild/<profile>/<goos>_<goarch>/,
    /// or one program to -o OUT.
    ///
    /// Packages are patterns as `go build` takes them (default ./...), relative
    /// to the current directory. Non-main packages are compiled and checked.
    Build(BuildArgs),
    /// Remove the build outputs and the cache of this workspace (<target-dir>/gobuild).
    Clean(CommonArgs),
    /// Print the symabis of Go assembly files exactly as `asm -gensymabis` would
    /// (native scanner: the def/ref lines, in order, duplicates kept).
    Symabis(symabis::SymabisArgs),
    /// Check the NOSPLIT stack budget of main packages without linking.
    ///
    /// Builds the archives, then runs the linker's stack check
    /// (cmd/link/internal/ld/stackcheck.go) over each link set: violations in
    /// the linker's chain format (exit 101), the deepest chains with their
    /// margin (--top N), every edge as -ldflags=-debugnosplit prints it
    /// (--edges), or JSON (--json). The profile's nosplit.headroom applies.
    Nosplit(nosplit::NosplitArgs),
    /// Report assembly, ABI wrappers and calls crossing an ABI boundary.
    ///
    /// Builds and links the requested main packages, then per package: what
    /// its assembly defines and references (symabis), the wrappers the
    /// compiler generated in each direction (ABIInternal→ABI0 for Go
    /// declarations implemented in assembly, ABI0→ABIInternal for Go
    /// functions that assembly calls or that are linknamed) with their
    /// frames, and the direct calls that cross an ABI boundary; totals per
    /// package and program; then the program's symbol table checks and its
    /// wrapper sizes. ABI lints are printed with file:line (levels:
    /// lints.abi in the profile). The standard library is summarized unless
    /// --all; --json prints one JSON document.
    Abi(abi::AbiArgs),
    /// List the profiles and their effective settings.
    ///
    /// Profiles come from the built-in default config, the shipped
    /// configs/*.toml, [workspace.metadata.gobuild] (or gobuild.toml) and
    /// [package.metadata.gobuild], later layers winning.
    Profiles(ProfilesArgs),
    /// Rebuild on every save, and with --run restart the program.
    ///
    /// Watches the directories of the workspace's packages (from the loaded
    /// package graph: Go, assembly, headers, embedded files, go.mod/go.sum,
    /// gobuild.toml/Cargo.toml; never the target directory or .git). Each
    /// build reruns only the actions whose inputs changed. A change during a
    /// build cancels it and starts over, so the last saved state is what gets
    /// built. With --run, a successful build stops the previous program
    /// (SIGTERM to its process group, --stop-timeout, SIGKILL) and starts the
    /// new one with ARGS; a failed build leaves it running. Ctrl-C stops
    /// everything.
    Watch(watch::WatchArgs),
}

#[derive(Debug, Args)]
struct ProfilesArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// Say where each value comes from (file:line:col, or the command line).
    #[arg(long)]
    explain: bool,
}

/// Flags shared by every command.
#[derive(Debug, Args, Clone)]
pub(crate) struct CommonArgs {
    /// Profile to build with (default: $GOBUILD_PROFILE, else `dev`).
    #[arg(long, value_name = "NAME")]
    pub(crate) profile: Option<String>,
    /// Parallel actions (default: number of CPUs).
    #[arg(short = 'j', long = "jobs", value_name = "N")]
    pub(crate) jobs: Option<usize>,
    /// Print every tool command (copy-pasteable) and why each action ran.
    #[arg(short, long, conflicts_with = "quiet")]
    pub(crate) verbose: bool,
    /// Print errors only.
    #[arg(short, long)]
    pub(crate) quiet: bool,
    /// Coloring of human output.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto, value_name = "WHEN")]
    pub(crate) color: ColorChoice,
    /// `human`: status lines on stderr; `json`: one JSON object per event on stdout.
    #[arg(long, value_enum, default_value_t = MessageFormat::Human, value_name = "FMT")]
    pub(crate) message_format: MessageFormat,
    /// Path to the Cargo.toml of the workspace.
    #[arg(long, value_name = "PATH")]
    pub(crate) manifest_path: Option<PathBuf>,
    /// Directory for outputs and the cache (also CARGO_TARGET_DIR).
    #[arg(long, value_name = "DIR")]
    pub(crate) target_dir: Option<PathBuf>,
    /// Target operating system (GOOS), overriding the profile's.
    #[arg(long, value_name = "GOOS")]
    pub(crate) goos: Option<String>,
    /// Target architecture (GOARCH), overriding the profile's.
    #[arg(long, value_name = "GOARCH")]
    pub(crate) goarch: Option<String>,
}

#[derive(Debug, Args)]
pub(crate) struct BuildArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// Write the program to this file (or into this directory).
    #[arg(short = 'o', value_name = "OUT")]
    pub(crate) output: Option<PathBuf>,
    /// Compile flags for the named packages (space-separated, like -gcflags).
    #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
    pub(crate) gcflags: Option<String>,
    /// Assembler flags for the named packages.
    #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
    pub(crate) asmflags: Option<String>,
    /// Linker flags.
    #[arg(long, value_name = "FLAGS", allow_hyphen_values = true)]
    pub(crate) ldflags: Option<String>,
    /// Build tags (comma-separated).
    #[arg(long, value_name = "TAGS")]
    pub(crate) tags: Option<String>,
    /// Remove file system paths from the program.
    #[arg(long)]
    pub(crate) trimpath: bool,
    /// How symabis are produced: `toolchain` (asm -gensymabis) or `native`.
    #[arg(long, value_name = "MODE")]
    pub(crate) symabis: Option<String>,
    /// Package patterns (default ./...).
    #[arg(value_name = "PKGS")]
    pub(crate) packages: Vec<String>,
}

/// A failure with its exit code, already worded for the user.
pub(crate) struct Failure {
    pub(crate) code: u8,
    pub(crate) message: Option<String>,
}

impl From<pipeline::Error> for Failure {
    fn from(e: pipeline::Error) -> Self {
        let code = e.exit_code() as u8;
        let message = match e {
            // Its diagnostics were already reported.
            pipeline::Error::BuildFailed { .. } => None,
            e => Some(e.to_string()),
        };
        Failure { code, message }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure {
            code: 102,
            message: Some(format!("{e:#}")),
        }
    }
}

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `cargo gobuild ...` runs `cargo-gobuild gobuild ...`.
    if args.get(1).is_some_and(|a| a == "gobuild") {
        args.remove(1);
    }
    let cli = Cli::parse_from(args);
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(f) => {
            if let Some(m) = f.message {
                let r = HumanReporter::new(Verbosity::Quiet, ColorChoice::Auto);
                r.error(&m);
            }
            ExitCode::from(f.code)
        }
    }
}

fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Build(args) => cmd_build(args),
        Command::Clean(common) => cmd_clean(common),
        Command::Profiles(args) => settings::cmd_profiles(&args.common, args.explain),
        Command::Nosplit(args) => {
            let sink = reporter(&args.build.common);
            nosplit::run(&args, sink.as_ref())
        }
        Command::Abi(args) => {
            let sink = reporter(&args.build.common);
            abi::run(&args, sink.as_ref())
        }
        Command::Watch(args) => watch::run(args),
        Command::Symabis(args) => match symabis::run(&args) {
            Ok(0) => Ok(()),
            Ok(code) => Err(Failure {
                code: code as u8,
                message: None,
            }),
            Err(e) => Err(Failure {
                code: 1,
                message: Some(format!("{e:#}")),
            }),
        },
    }
}

fn verbosity(c: &CommonArgs) -> Verbosity {
    if c.quiet {
        Verbosity::Quiet
    } else if c.verbose {
        Verbosity::Verbose
    } else {
        Verbosity::Normal
    }
}

fn reporter(c: &CommonArgs) -> Box<dyn EventSink> {
    match c.message_format {
        MessageFormat::Json => Box::new(JsonReporter::new()),
        MessageFormat::Human => Box::new(HumanReporter::new(verbosity(c), c.color)),
    }
}

fn cmd_build(args: BuildArgs) -> Result<(), Failure> {
    let sink = reporter(&args.common);
    let requests = settings::build_requests(&args)?;
    for req in &requests {
        build::build(req, sink.as_ref(), None)?;
    }
    Ok(())
}

fn cmd_clean(c: CommonArgs) -> Result<(), Failure> {
    let cwd = std::env::current_dir().map_err(|e| anyhow::anyhow!("current directory: {e}"))?;
    let ws = workspace::locate(&cwd, c.manifest_path.as_deref(), c.target_dir.as_deref())?;
    let dir = ws.target_dir.join("gobuild");
    if !dir.exists() {
        return Ok(());
    }
    let r = HumanReporter::new(verbosity(&c), c.color);
    // Take the build lock so a running build is not cut from under it.
    let lock = pipeline::cache::DirLock::acquire(&dir, || {
        r.status(
            anstyle::Style::new(),
            "Blocking",
            "waiting for a running build to finish",
        )
    })?;
    let mut removed = 0u64;
    for e in std::fs::read_dir(&dir).map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))? {
        let e = e.map_err(|e| anyhow::anyhow!("{}: {e}", dir.display()))?;
        if e.file_name() == ".lock" {
            continue;
        }
        let p = e.path();
        let res = if p.is_dir() {
            std::fs::remove_dir_all(&p)
        } else {
            std::fs::remove_file(&p)
        };
        res.map_err(|e| anyhow::anyhow!("removing {}: {e}", p.display()))?;
        removed += 1;
    }
    drop(lock);
    r.status(
        anstyle::AnsiColor::Green.on_default().bold(),
        "Removed",
        &format!("{} ({removed} entries)", dir.display()),
    );
    Ok(())
}
