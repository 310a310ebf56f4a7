//! Reporters: consumers of the engine's events. Human output is cargo-style
//! status lines on stderr (with an indicatif progress bar on a TTY); JSON
//! output is one event object per line on stdout.

use std::io::Write;
use std::sync::Mutex;

use anstyle::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipeline::events::{Event, EventKind, EventSink, Level, Outcome};

pub mod style;

use style::{CYAN, GREEN, RED, YELLOW};

/// The reporter `--message-format` asks for.
pub fn reporter(format: MessageFormat, verbosity: Verbosity, color: ColorChoice) -> Box<dyn EventSink> {
    match format {
        MessageFormat::Json => Box::new(JsonReporter::new()),
        MessageFormat::Human => Box::new(HumanReporter::new(verbosity, color)),
    }
}

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

/// Prints JSON lines on stdout.
pub struct JsonReporter {
    out: Mutex<std::io::Stdout>,
}

impl JsonReporter {
    /// A reporter on stdout.
    pub fn new() -> Self {
        JsonReporter {
            out: Mutex::new(std::io::stdout()),
        }
    }
}

impl EventSink for JsonReporter {
    fn emit(&self, event: Event) {
        let mut out = self.out.lock().unwrap();
        if let Ok(line) = serde_json::to_string(&event) {
            let _ = writeln!(out, "{line}");
        }
    }
}

/// Cargo-style status lines on stderr.
pub struct HumanReporter {
    verbosity: Verbosity,
    color: bool,
    bar: Option<ProgressBar>,
    /// `(profile, goos/goarch)` of the running build, for the Finished line.
    current: Mutex<(String, String)>,
}


impl HumanReporter {
    /// A reporter; the progress bar only appears on a TTY and not with `-q`.
    pub fn new(verbosity: Verbosity, color: ColorChoice) -> Self {
        let tty = std::io::IsTerminal::is_terminal(&std::io::stderr());
        let color = match color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => match std::env::var("CARGO_TERM_COLOR").as_deref() {
                Ok("always") => true,
                Ok("never") => false,
                _ => tty && std::env::var_os("NO_COLOR").is_none(),
            },
        };
        let bar = (tty && verbosity != Verbosity::Quiet).then(|| {
            let b = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            b.set_style(
                ProgressStyle::with_template("    Building [{bar:25}] {pos}/{len}: {wide_msg}")
                    .unwrap_or_else(|_| ProgressStyle::default_bar())
                    .progress_chars("=> "),
            );
            b
        });
        HumanReporter {
            verbosity,
            color,
            bar,
            current: Mutex::new(Default::default()),
        }
    }

    /// Prints a `    Status message` line above the progress bar.
    pub fn status(&self, style: Style, status: &str, message: &str) {
        let line = if self.color {
            format!("{style}{status:>12}{style:#} {message}")
        } else {
            format!("{status:>12} {message}")
        };
        self.line(&line);
    }

    fn line(&self, line: &str) {
        match &self.bar {
            Some(b) => b.println(line),
            None => eprintln!("{line}"),
        }
    }

    fn styled(&self, style: Style, s: &str) -> String {
        if self.color {
            format!("{style}{s}{style:#}")
        } else {
            s.to_string()
        }
    }

    /// Prints an error.
    pub fn error(&self, message: &str) {
        self.line(&format!("{}: {message}", self.styled(RED, "error")));
    }
}

impl EventSink for HumanReporter {
    fn emit(&self, event: Event) {
        let normal = self.verbosity >= Verbosity::Normal;
        let verbose = self.verbosity >= Verbosity::Verbose;
        match event.kind {
            EventKind::BuildStarted {
                actions,
                profile,
                target,
            } => {
                *self.current.lock().unwrap() = (profile, target);
                if let Some(b) = &self.bar {
                    b.set_length(actions as u64);
                    b.set_position(0);
                }
            }
            EventKind::ActionStarted { .. } => {}
            EventKind::ActionFinished {
                action,
                package,
                file,
                outcome,
                dirty,
                command,
                goroot,
                ..
            } => {
                if let Some(b) = &self.bar {
                    b.inc(1);
                    b.set_message(format!("{action} {package}"));
                }
                let what = match &file {
                    Some(f) => format!("{package} ({f})"),
                    None => package.clone(),
                };
                if verbose && outcome != Outcome::Cached {
                    if let Some(d) = &dirty {
                        self.status(YELLOW, "Dirty", &format!("{action} {what}: {d}"));
                    }
                    if let Some(c) = &command {
                        self.status(CYAN, "Running", &format!("`{c}`"));
                    }
                }
                // The standard library's actions are counted, not listed (-v lists them).
                if normal && outcome == Outcome::Ran && (verbose || !goroot || action == "link") {
                    let status = match action {
                        "compile" => Some("Compiling"),
                        "asm" => Some("Assembling"),
                        "link" => Some("Linking"),
                        _ if verbose => Some("Running"),
                        _ => None,
                    };
                    if let Some(s) = status {
                        let msg = if action == "link" || action == "compile" || action == "asm" {
                            what
                        } else {
                            format!("{action} {what}")
                        };
                        self.status(GREEN, s, &msg);
                    }
                }
            }
            EventKind::Diagnostic {
                level,
                package,
                message,
            } => match level {
                Level::Error => self.line(message.trim_end()),
                Level::Warning => self.line(&format!(
                    "{}: {}",
                    self.styled(YELLOW, "warning"),
                    message.trim_end()
                )),
                Level::Output => {
                    if self.verbosity > Verbosity::Quiet {
                        let pkg = package.unwrap_or_default();
                        self.line(&format!("# {pkg}\n{}", message.trim_end()));
                    }
                }
                Level::Note => {
                    if normal {
                        self.status(CYAN, "Note", message.trim_end());
                    }
                }
            },
            EventKind::Artifact { path, fresh, .. } => {
                if verbose || (normal && fresh) {
                    self.status(GREEN, "Writing", &path.display().to_string());
                }
            }
            EventKind::BuildFinished {
                success,
                duration,
                ran,
                cached,
                ..
            } => {
                if let Some(b) = &self.bar {
                    b.finish_and_clear();
                }
                if normal && success {
                    let (profile, target) = self.current.lock().unwrap().clone();
                    self.status(
                        GREEN,
                        "Finished",
                        &format!(
                            "`{profile}` profile [{target}] in {duration:.2}s ({ran} actions run, {cached} cached)"
                        ),
                    );
                }
            }
        }
    }
}
