//! Exit codes, decided here and nowhere else.

use crate::report::{ColorChoice, HumanReporter, Verbosity};

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

/// Prints the failure's message (if not reported yet) and turns the result
/// into the process's exit code.
pub(crate) fn finish(result: Result<(), Failure>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(f) => {
            if let Some(m) = f.message {
                let r = HumanReporter::new(Verbosity::Quiet, ColorChoice::Auto);
                r.error(&m);
            }
            std::process::ExitCode::from(f.code)
        }
    }
}
