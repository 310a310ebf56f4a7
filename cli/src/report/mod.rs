//! Reporters: the only consumers of events. They render the engine's
//! events ([`pipeline::events::Event`]) and the watch mode's
//! ([`WatchEvent`]) and know nothing else of the engine or of the
//! subcommands:
//! - [`human`]: cargo-style status lines on stderr (an indicatif progress
//!   bar on a TTY), styled from the one table in [`style`];
//! - [`json`]: one JSON object per event, one per line, on stdout;
//! - [`watch`]: the watch mode's event type, which both render;
//! - [`timings`]: `--timings`, a copy of the events kept during a build and
//!   written after it as an HTML page and a Chrome trace.
//!
//! This module imports nothing from the rest of the CLI, and from the
//! engine only `pipeline::events`.

pub mod human;
pub mod json;
pub mod style;
pub mod timings;
pub mod watch;

use pipeline::events::EventSink;

pub use human::{HumanReporter, HumanWatchReporter};
pub use json::{JsonReporter, JsonWatchReporter};
pub use watch::{StopReason, WatchEvent, WatchReporter};

/// `--message-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MessageFormat {
    /// Status lines for people.
    Human,
    /// One JSON object per line on stdout.
    Json,
}

/// `--color`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    /// Color on a terminal (honours `CARGO_TERM_COLOR`, `NO_COLOR`).
    Auto,
    /// Always color.
    Always,
    /// Never color.
    Never,
}

/// How chatty the human reporter is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Verbosity {
    /// `-q`: errors only.
    Quiet,
    /// Status lines.
    Normal,
    /// `-v`: also every command and why it ran.
    Verbose,
}

/// The reporter of engine events `--message-format` asks for.
pub fn reporter(
    format: MessageFormat,
    verbosity: Verbosity,
    color: ColorChoice,
) -> Box<dyn EventSink> {
    match format {
        MessageFormat::Json => Box::new(JsonReporter::new()),
        MessageFormat::Human => Box::new(HumanReporter::new(verbosity, color)),
    }
}

/// The reporter of watch events `--message-format` asks for (`clear`:
/// clear the screen before each cycle; human output only).
pub fn watch_reporter(
    format: MessageFormat,
    verbosity: Verbosity,
    color: ColorChoice,
    clear: bool,
) -> Box<dyn WatchReporter> {
    match format {
        MessageFormat::Json => Box::new(JsonWatchReporter::new()),
        MessageFormat::Human => Box::new(HumanWatchReporter::new(verbosity, color, clear)),
    }
}
