//! Human output: cargo-style status lines on stderr (`    Compiling pkg`),
//! with an indicatif progress bar on a TTY, for the engine's events
//! ([`HumanReporter`]) and the watch mode's ([`HumanWatchReporter`]).
//! Every style comes from [`super::style`].

use std::collections::BTreeMap;
use std::io::Write;
use std::sync::Mutex;

use anstyle::Style;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use pipeline::events::{Event, EventKind, EventSink, Level, Outcome};

use super::style::{CYAN, GREEN, RED, YELLOW};
use super::watch::{StopReason, WatchEvent, WatchReporter};
use super::{ColorChoice, Verbosity};

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
                ..
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
                cache,
                remote_miss,
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
                if verbose && cache == Some("remote") {
                    self.status(GREEN, "Remote", &format!("{action} {what}: remote hit"));
                }
                if verbose && outcome != Outcome::Cached {
                    if let Some(d) = &dirty {
                        let remote = if remote_miss { " (remote miss)" } else { "" };
                        self.status(YELLOW, "Dirty", &format!("{action} {what}: {d}{remote}"));
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
                remote,
                ..
            } => {
                if let Some(b) = &self.bar {
                    b.finish_and_clear();
                }
                if normal && success {
                    let (profile, target) = self.current.lock().unwrap().clone();
                    let remote = match remote {
                        Some(r) => format!(
                            "; remote: {} hits, {} misses, {} down, {} up",
                            r.hits,
                            r.misses,
                            bytes(r.bytes_down),
                            bytes(r.bytes_up)
                        ),
                        None => String::new(),
                    };
                    self.status(
                        GREEN,
                        "Finished",
                        &format!(
                            "`{profile}` profile [{target}] in {duration:.2}s ({ran} actions run, {cached} cached{remote})"
                        ),
                    );
                }
            }
        }
    }
}

/// Bytes for people (`1.2 MiB`).
pub fn bytes(n: u64) -> String {
    const UNITS: [&str; 4] = ["B", "KiB", "MiB", "GiB"];
    let mut v = n as f64;
    let mut u = 0;
    while v >= 1024.0 && u < UNITS.len() - 1 {
        v /= 1024.0;
        u += 1;
    }
    if u == 0 {
        format!("{n} B")
    } else {
        format!("{v:.1} {}", UNITS[u])
    }
}

/// Watch events as status lines on stderr: one `Watching` line, then per
/// cycle `Changed` and `Rebuilt`/`Failed`/`Cancelled`, and the program's
/// `Exited`/`Killed`. Errors print even with `-q`.
pub struct HumanWatchReporter {
    /// Status lines only: no progress bar of its own (with -v each cycle's
    /// build reporter draws one).
    out: HumanReporter,
    verbosity: Verbosity,
    clear: bool,
}

impl HumanWatchReporter {
    /// A reporter; `clear` clears the screen before each cycle.
    pub fn new(verbosity: Verbosity, color: ColorChoice, clear: bool) -> Self {
        HumanWatchReporter {
            out: HumanReporter::new(Verbosity::Quiet, color),
            verbosity,
            clear,
        }
    }

    fn status(&self, style: Style, status: &str, message: &str) {
        if self.verbosity > Verbosity::Quiet {
            self.out.status(style, status, message);
        }
    }
}

impl WatchReporter for HumanWatchReporter {
    fn watch(&self, event: WatchEvent) {
        match event {
            WatchEvent::WatchStarted {
                directories,
                packages,
                poll_interval,
                ..
            } => {
                let how = match poll_interval {
                    Some(i) => format!("polling every {}ms", i.as_millis()),
                    None => "inotify".to_string(),
                };
                self.status(
                    CYAN,
                    "Watching",
                    &format!(
                        "{} in {} ({how}); Ctrl-C to stop",
                        plural(packages, "package"),
                        plural(directories, "directory")
                    ),
                );
            }
            WatchEvent::CycleStarted {
                cycle,
                changed,
                rescan,
            } => {
                if self.clear {
                    let _ = std::io::stderr().write_all(b"\x1b[H\x1b[2J\x1b[3J");
                }
                if cycle > 1 {
                    self.status(CYAN, "Changed", &changed_list(&changed, rescan));
                }
            }
            WatchEvent::WatchCycle {
                success,
                cancelled,
                duration,
                restarted,
                actions,
                note,
                program,
                ..
            } => {
                if cancelled {
                    self.status(
                        YELLOW,
                        "Cancelled",
                        "files changed during the build; starting over",
                    );
                } else if success {
                    let tail = if note.is_empty() {
                        String::new()
                    } else {
                        format!("; {note}")
                    };
                    self.status(
                        GREEN,
                        "Rebuilt",
                        &format!("in {duration:.2}s ({}){tail}", action_counts(&actions)),
                    );
                } else {
                    let tail = match program {
                        Some(pid) if restarted => format!(
                            "; the program (pid {pid}) had started as soon as it was linked, before the checks that failed"
                        ),
                        Some(pid) => format!("; the previous program keeps running (pid {pid})"),
                        None => String::new(),
                    };
                    self.status(
                        RED,
                        "Failed",
                        &format!("after {duration:.2}s{tail}; waiting for changes"),
                    );
                }
            }
            WatchEvent::ProgramStopped {
                pid,
                why,
                exit_code,
                signal,
                killed,
                stop_timeout,
            } => {
                if why == StopReason::Exited {
                    let how = match (exit_code, signal) {
                        (Some(c), _) => format!("with status {c}"),
                        (None, Some(sig)) => format!("on signal {sig}"),
                        _ => String::new(),
                    };
                    self.status(
                        CYAN,
                        "Exited",
                        &format!("program (pid {pid}) {how}; waiting for changes"),
                    );
                } else if killed {
                    self.status(
                        YELLOW,
                        "Killed",
                        &format!(
                            "program (pid {pid}) did not stop within {stop_timeout:?} of SIGTERM"
                        ),
                    );
                }
            }
            WatchEvent::Warning { message } => self.status(YELLOW, "Warning", &message),
            WatchEvent::Error { message } => self.out.error(&message),
            WatchEvent::ProgramStarted { .. } | WatchEvent::WatchFinished { .. } => {}
        }
    }
}

/// `a.go, b.s and 3 more (rescan)`: at most five paths.
fn changed_list(changed: &[String], rescan: bool) -> String {
    let mut what = changed
        .iter()
        .take(5)
        .cloned()
        .collect::<Vec<_>>()
        .join(", ");
    if changed.len() > 5 {
        what.push_str(&format!(" and {} more", changed.len() - 5));
    }
    if rescan {
        what = if what.is_empty() {
            "(rescan)".into()
        } else {
            format!("{what} (rescan)")
        };
    }
    what
}

/// `4 actions ran: compile, link ×3`, or `nothing to do`.
fn action_counts(counts: &BTreeMap<String, usize>) -> String {
    if counts.is_empty() {
        return "nothing to do".to_string();
    }
    let list: Vec<String> = counts
        .iter()
        .map(|(a, n)| {
            if *n > 1 {
                format!("{a} ×{n}")
            } else {
                a.to_string()
            }
        })
        .collect();
    format!(
        "{} actions ran: {}",
        counts.values().sum::<usize>(),
        list.join(", ")
    )
}

fn plural(n: usize, what: &str) -> String {
    match (n, what.strip_suffix('y')) {
        (1, _) => format!("1 {what}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {what}s"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn watch_lines() {
        assert_eq!(plural(1, "directory"), "1 directory");
        assert_eq!(plural(3, "directory"), "3 directories");
        assert_eq!(plural(2, "package"), "2 packages");
        let seven: Vec<String> = (0..7).map(|i| format!("f{i}.go")).collect();
        assert_eq!(
            changed_list(&seven, true),
            "f0.go, f1.go, f2.go, f3.go, f4.go and 2 more (rescan)"
        );
        assert_eq!(changed_list(&[], true), "(rescan)");
        assert_eq!(action_counts(&BTreeMap::new()), "nothing to do");
        let counts = BTreeMap::from([("asm".to_string(), 1), ("link".to_string(), 3)]);
        assert_eq!(action_counts(&counts), "4 actions ran: asm, link ×3");
    }
}
