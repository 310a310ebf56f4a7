//! The one style table of human output: every status word and label that
//! cargo gobuild colors takes its style from here.

use anstyle::{AnsiColor, Style};

/// Progress and success: `Compiling`, `Finished`, `Rebuilt`, `Writing`.
pub const GREEN: Style = AnsiColor::Green.on_default().bold();
/// Information: `Running`, `Note`, `Watching`, `Changed`, `Exited`.
pub const CYAN: Style = AnsiColor::Cyan.on_default().bold();
/// Errors: `error`, `Failed`.
pub const RED: Style = AnsiColor::Red.on_default().bold();
/// Warnings: `warning`, `Dirty`, `Cancelled`, `Killed`.
pub const YELLOW: Style = AnsiColor::Yellow.on_default().bold();
/// No style: `Blocking`.
pub const PLAIN: Style = Style::new();
