//! Exit codes, decided here and nowhere else: every failure a subcommand
//! returns is a [`Failure`] of one [`Kind`], and the kind is the code.
//!
//! - 0: ok;
//! - 101 [`Kind::BuildFailed`]: a build or a check failed (compile error,
//!   package error, a pattern matching nothing, a stack overflow, bad `.s`);
//! - 102 [`Kind::Config`]: the workspace, its config or the toolchain could
//!   not be loaded ([`Failure::loading`] for everything
//!   [`crate::workspace`] and [`crate::settings`] load);
//! - 1 [`Kind::Unexpected`]: anything else (I/O errors outside loading,
//!   JSON serialization, internal errors). Every `anyhow::Error` is this.
//!
//! Engine errors keep the code the engine gives them
//! ([`pipeline::Error::exit_code`]).

use crate::report::{ColorChoice, HumanReporter, Verbosity};

/// What kind of failure, which is what the exit code says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    /// 101: a build or a check failed.
    BuildFailed,
    /// 102: the workspace, its config or the toolchain could not be loaded.
    Config,
    /// 1: anything unexpected.
    Unexpected,
}

impl Kind {
    /// The process exit code.
    pub(crate) fn code(self) -> u8 {
        match self {
            Kind::BuildFailed => 101,
            Kind::Config => 102,
            Kind::Unexpected => 1,
        }
    }
}

impl From<pipeline::ExitCode> for Kind {
    fn from(c: pipeline::ExitCode) -> Kind {
        match c {
            pipeline::ExitCode::BuildFailed => Kind::BuildFailed,
            pipeline::ExitCode::Config => Kind::Config,
            pipeline::ExitCode::Internal => Kind::Unexpected,
        }
    }
}

/// A failure with its kind, already worded for the user (no message: it
/// was reported already, e.g. the compiler's diagnostics).
#[derive(Debug)]
pub(crate) struct Failure {
    pub(crate) kind: Kind,
    pub(crate) message: Option<String>,
}

impl Failure {
    /// A failure of `kind` with a message.
    pub(crate) fn new(kind: Kind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: Some(message.into()),
        }
    }

    /// A failure whose message was already reported.
    pub(crate) fn reported(kind: Kind) -> Failure {
        Failure {
            kind,
            message: None,
        }
    }

    /// The workspace or its configuration could not be loaded: 102,
    /// whatever the engine's error (an unreadable `Cargo.toml` too).
    pub(crate) fn loading(e: pipeline::Error) -> Failure {
        Failure::new(Kind::Config, e.to_string())
    }

    /// The process exit code.
    pub(crate) fn code(&self) -> u8 {
        self.kind.code()
    }
}

impl From<pipeline::Error> for Failure {
    fn from(e: pipeline::Error) -> Self {
        let kind = Kind::from(e.exit_code());
        match e {
            // Its diagnostics were already reported.
            pipeline::Error::BuildFailed { .. } => Failure::reported(kind),
            e => Failure::new(kind, e.to_string()),
        }
    }
}

impl From<anyhow::Error> for Failure {
    fn from(e: anyhow::Error) -> Self {
        Failure::new(Kind::Unexpected, format!("{e:#}"))
    }
}

/// Prints the failure's message (if not reported yet) and turns the result
/// into the process's exit code.
pub(crate) fn finish(result: Result<(), Failure>) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(f) => {
            if let Some(m) = &f.message {
                let r = HumanReporter::new(Verbosity::Quiet, ColorChoice::Auto);
                r.error(m);
            }
            std::process::ExitCode::from(f.code())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn code(e: pipeline::Error) -> u8 {
        Failure::from(e).code()
    }

    #[test]
    fn engine_errors_keep_the_engines_code() {
        assert_eq!(code(pipeline::Error::BuildFailed { failed: 2 }), 101);
        assert_eq!(code(pipeline::Error::NoPackages { patterns: vec![] }), 101);
        assert_eq!(code(pipeline::Error::Packages { errors: vec![] }), 101);
        assert_eq!(
            code(pipeline::Error::Check {
                message: "x".into()
            }),
            101
        );
        assert_eq!(code(pipeline::Error::Config("bad".into())), 102);
        assert_eq!(
            code(pipeline::Error::Toolchain {
                message: "no go".into()
            }),
            102
        );
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        assert_eq!(code(pipeline::Error::io("/x", io)), 1);
        assert_eq!(
            code(pipeline::Error::Tool {
                program: "go".into(),
                message: "x".into()
            }),
            1
        );
    }

    #[test]
    fn a_failed_build_has_no_message_of_its_own() {
        let f = Failure::from(pipeline::Error::BuildFailed { failed: 1 });
        assert_eq!(f.message, None);
        let f = Failure::from(pipeline::Error::Config("unknown key `x`".into()));
        assert_eq!(f.message.as_deref(), Some("unknown key `x`"));
    }

    #[test]
    fn loading_errors_are_config_even_when_they_are_io() {
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let f = Failure::loading(pipeline::Error::io("/ws/Cargo.toml", io));
        assert_eq!(f.code(), 102);
        assert!(f.message.unwrap().contains("denied"));
    }

    #[test]
    fn anything_else_is_unexpected() {
        // An I/O error in `clean`, a JSON serialization error: exit 1, not 102.
        let io = std::io::Error::new(std::io::ErrorKind::PermissionDenied, "denied");
        let f = Failure::from(anyhow::Error::new(io).context("removing /t/gobuild/dev"));
        assert_eq!(f.code(), 1);
        assert_eq!(
            f.message.as_deref(),
            Some("removing /t/gobuild/dev: denied")
        );
        let json = serde_json::from_str::<u8>("x").unwrap_err();
        assert_eq!(Failure::from(anyhow::Error::new(json)).code(), 1);
    }

    #[test]
    fn kinds_are_the_contracts_codes() {
        assert_eq!(Kind::BuildFailed.code(), 101);
        assert_eq!(Kind::Config.code(), 102);
        assert_eq!(Kind::Unexpected.code(), 1);
    }
}
