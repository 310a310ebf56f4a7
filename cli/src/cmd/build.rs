//! `cargo gobuild build`: one engine build per request (per `[[target]]`,
//! else per Go module), rendered by the `--message-format` reporter (and
//! `--timings`' after them).

use pipeline::build;

use crate::args::BuildArgs;
use crate::exit::Failure;
use crate::settings;

/// Runs the command.
pub(crate) fn run(args: &BuildArgs) -> Result<(), Failure> {
    let sink = args.reporter();
    let built = (|| {
        for req in &settings::build_requests(args)? {
            build::build(req, &sink, None)?;
        }
        Ok(())
    })();
    // --timings: also after a failed build.
    settings::finish_timings(args, &sink);
    built
}
