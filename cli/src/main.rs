//! `cargo-gobuild`: the command line of cargo gobuild. Parsing flags only
//! validates them ([`args`], [`cmd`]); [`settings`] turns them into the
//! engine's requests; the engine (crate `pipeline`) builds; [`report`]
//! renders its events; [`exit`] decides the exit code.
//!
//! Exit codes: 0 ok, 101 build or check failed, 102 workspace/config could
//! not be loaded, 1 anything unexpected.

mod args;
mod cmd;
mod coverage;
mod exit;
mod report;
mod settings;
mod testreport;
mod workspace;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let mut args: Vec<std::ffi::OsString> = std::env::args_os().collect();
    // `cargo gobuild ...` runs `cargo-gobuild gobuild ...`.
    if args.get(1).is_some_and(|a| a == "gobuild") {
        args.remove(1);
    }
    let cli = cmd::Cli::parse_from(args);
    exit::finish(cmd::run(cli))
}
