//! The subcommands: the clap definition of the command line ([`Cli`]) and
//! one module per subcommand, each owning its arguments and its `run`.
//! [`run`] dispatches a parsed command line to them.
//!
//! A subcommand module may use [`crate::report`], [`crate::settings`],
//! [`crate::workspace`] and [`crate::exit`]; subcommands do not use each
//! other (they share only [`crate::args`]).

pub(crate) mod abi;
pub(crate) mod build;
pub(crate) mod cache;
pub(crate) mod clean;
pub(crate) mod nosplit;
pub(crate) mod profiles;
pub(crate) mod run;
pub(crate) mod symabis;
pub(crate) mod test;
pub(crate) mod watch;

use clap::{Parser, Subcommand};

use crate::args::{BuildArgs, CommonArgs};
use crate::exit::{Failure, Kind};

/// Build Go programs — Go, Go assembly and the standard library — with the Go
/// toolchain's own tools (asm, compile, pack, link), cached and in parallel.
#[derive(Debug, Parser)]
#[command(name = "cargo gobuild", bin_name = "cargo gobuild", version, about, long_about = None)]
pub(crate) struct Cli {
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
    /// Build and run Go tests like `go test` (test variants, the nosplit
    /// check, results cached like go test's), reported like go test with a
    /// summary, or as `go test -json`'s events with --message-format json.
    ///
    /// Packages are patterns (default ./...). Flags are go test's, spelled
    /// --run, --skip, --count, --short, --timeout, --failfast, --bench,
    /// --benchtime, --shuffle, --list; --test-verbose prints every test's
    /// output (go test -v); arguments after `--` go to every test binary.
    /// A package's result is reused while its test binary, the flags and
    /// the files and environment variables the tests read are unchanged
    /// (`(cached)`); --count 1 or --no-cache runs it again. Exit 101 when a
    /// test or a build failed.
    Test(test::TestArgs),
    /// Build one main package (default .) and run it with ARGS; its exit
    /// code is returned.
    Run(run::RunArgs),
    /// Verify, trim or inspect the cache (`cache verify`, `cache gc`, `cache info`).
    ///
    /// Every object is checked against its digest before a build uses it (a
    /// damaged one is a miss: the action reruns and replaces it); `verify`
    /// checks them all at once. Builds trim entries unused for 5 days (or
    /// $GOBUILD_CACHE_MAX_AGE) at most once a day; `gc` trims on demand.
    Cache(cache::CacheArgs),
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
    Profiles(profiles::ProfilesArgs),
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

/// Runs the parsed command line.
pub(crate) fn run(cli: Cli) -> Result<(), Failure> {
    match cli.command {
        Command::Build(args) => build::run(&args),
        Command::Clean(common) => clean::run(&common),
        Command::Cache(args) => cache::run(&args),
        Command::Test(args) => test::run(&args),
        Command::Run(args) => run::run(&args),
        Command::Profiles(args) => profiles::run(&args),
        Command::Nosplit(args) => {
            let sink = args.build.reporter();
            let r = nosplit::run(&args, &sink);
            crate::settings::finish_timings(&args.build, &sink);
            r
        }
        Command::Abi(args) => {
            let sink = args.build.reporter();
            let r = abi::run(&args, &sink);
            crate::settings::finish_timings(&args.build, &sink);
            r
        }
        Command::Watch(args) => watch::run(args),
        Command::Symabis(args) => match symabis::run(&args)? {
            0 => Ok(()),
            // The scan errors were printed.
            symabis::EXIT_SCAN_ERROR => Err(Failure::reported(Kind::BuildFailed)),
            _ => Err(Failure::reported(Kind::Unexpected)),
        },
    }
}
