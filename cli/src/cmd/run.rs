//! `cargo gobuild run [PKG] [-- ARGS]`: build one main package (default
//! `.`) and run it, like `cargo run` and `go run`: stdin, stdout and stderr
//! are the program's, and its exit code is ours (a build failure is 101).

use clap::Args;
use pipeline::build;

use crate::args::BuildArgs;
use crate::exit::{Failure, Kind};
use crate::settings;

/// Arguments of `cargo gobuild run`.
#[derive(Debug, Args)]
pub(crate) struct RunArgs {
    #[command(flatten)]
    pub(crate) build: BuildArgs,
    /// Arguments after `--` go to the program.
    #[arg(last = true, value_name = "ARGS")]
    args: Vec<String>,
}

/// Runs the command; on success the process exits with the program's code.
pub(crate) fn run(args: &RunArgs) -> Result<(), Failure> {
    let mut b = args.build.clone();
    if b.packages.is_empty() {
        b.packages = vec![".".into()];
    }
    let sink = b.reporter();
    let reqs = settings::build_requests(&b)?;
    let [req] = reqs.as_slice() else {
        return Err(Failure::new(
            Kind::BuildFailed,
            "cargo gobuild run builds one program: these settings build several (hint: name one package, or one target)",
        ));
    };
    let built = build::build(req, &sink, None);
    // --timings: written before the program runs (it may never return).
    settings::finish_timings(&b, &sink);
    let outcome = built?;
    let program = match outcome.artifacts.as_slice() {
        [one] => one.path.clone(),
        [] => {
            return Err(Failure::new(
                Kind::BuildFailed,
                format!(
                    "no main package among {:?} (hint: name a main package)",
                    b.packages
                ),
            ))
        }
        many => {
            return Err(Failure::new(
                Kind::BuildFailed,
                format!(
                    "{} main packages match {:?}: cargo gobuild run runs one (hint: name it)",
                    many.len(),
                    b.packages
                ),
            ))
        }
    };
    let status = std::process::Command::new(&program)
        .args(&args.args)
        .status()
        .map_err(|e| {
            Failure::new(
                Kind::Unexpected,
                format!("running {}: {e}", program.display()),
            )
        })?;
    #[cfg(unix)]
    if let Some(sig) = std::os::unix::process::ExitStatusExt::signal(&status) {
        // Like a shell: 128 + the signal.
        std::process::exit(128 + sig);
    }
    std::process::exit(status.code().unwrap_or(1));
}
