//! `cargo gobuild symabis` as a standalone binary: compiles the CLI module
//! `cli/src/cmd/symabis.rs` so it can be run and tested from this crate
//! (`cargo test -p goasm --example symabis_cli`).

#[path = "../../cli/src/cmd/symabis.rs"]
#[allow(dead_code)]
mod symabis;

use clap::Parser;

/// Print symabis exactly as `asm -gensymabis` would.
#[derive(Parser)]
#[command(name = "symabis")]
struct Cli {
    #[command(flatten)]
    args: symabis::SymabisArgs,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    match symabis::run(&cli.args) {
        Ok(code) => std::process::ExitCode::from(u8::try_from(code).unwrap_or(1)),
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::from(1)
        }
    }
}
