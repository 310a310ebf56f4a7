//! The flags shared by several subcommands: [`CommonArgs`] (every command)
//! and [`BuildArgs`] (every command that builds). Parsing only validates;
//! [`crate::settings`] turns them into the engine's requests.

use std::path::PathBuf;

use clap::Args;
use pipeline::events::EventSink;

use crate::report::timings::{TimedSink, TimingsFormat};
use crate::report::{self, ColorChoice, MessageFormat, Verbosity};

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
    /// Remote cache (grpc://HOST:PORT or grpcs://HOST:PORT), overriding
    /// `[remote] cache` and $GOBUILD_REMOTE_CACHE.
    #[arg(long, value_name = "URL", conflicts_with = "no_remote")]
    pub(crate) remote_cache: Option<String>,
    /// Build without the remote cache, whatever the config says.
    #[arg(long)]
    pub(crate) no_remote: bool,
}

impl CommonArgs {
    /// `-q` / `-v`.
    pub(crate) fn verbosity(&self) -> Verbosity {
        if self.quiet {
            Verbosity::Quiet
        } else if self.verbose {
            Verbosity::Verbose
        } else {
            Verbosity::Normal
        }
    }

    /// The reporter `--message-format` asks for.
    pub(crate) fn reporter(&self) -> Box<dyn EventSink> {
        report::reporter(self.message_format, self.verbosity(), self.color)
    }
}

/// Flags of every command that builds (`build`, `nosplit`, `abi`, `watch`).
#[derive(Debug, Args, Clone)]
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
    /// What the link writes: `exe`, `pie`, `c-archive` or `c-shared`
    /// (unset or `default`: go build's default for the target, pie on
    /// windows and darwin, else exe).
    #[arg(long, value_name = "MODE")]
    pub(crate) buildmode: Option<String>,
    /// Report where the build spent its time, like cargo's --timings:
    /// `html` (the default) writes a self-contained page — summary, a
    /// timeline of every action on its worker slot with the critical path
    /// marked, concurrency over time, tables per stage and per package —
    /// to <target-dir>/gobuild/timings/gobuild-timing-<timestamp>.html (and
    /// a copy, gobuild-timing.html); `json` writes a Chrome trace
    /// (gobuild-timing-<timestamp>.json) for Perfetto or chrome://tracing.
    /// Both: --timings=html,json. The page is written after the build.
    #[arg(
        long,
        value_enum,
        value_name = "FMTS",
        num_args = 0..=1,
        require_equals = true,
        default_missing_value = "html",
        value_delimiter = ','
    )]
    pub(crate) timings: Option<Vec<TimingsFormat>>,
    /// Package patterns (default ./...).
    #[arg(value_name = "PKGS")]
    pub(crate) packages: Vec<String>,
}

impl BuildArgs {
    /// The `--message-format` reporter, collecting a copy of the events
    /// when `--timings` asks; [`crate::settings::finish_timings`] writes
    /// the reports after the builds.
    pub(crate) fn reporter(&self) -> TimedSink {
        TimedSink::new(self.common.reporter(), self.timings.as_deref())
    }
}
