//! `cargo gobuild build`: one engine build per request (per `[[target]]`,
//! else per Go module), rendered by the `--message-format` reporter.

use pipeline::build;

use crate::args::BuildArgs;
use crate::exit::Failure;
use crate::settings;

/// Runs the command.
pub(crate) fn run(args: &BuildArgs) -> Result<(), Failure> {
    let sink = args.common.reporter();
    let requests = settings::build_requests(args)?;
    for req in &requests {
        build::build(req, sink.as_ref(), None)?;
    }
    Ok(())
}
