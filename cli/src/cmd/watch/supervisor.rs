//! The program supervisor of `watch --run`: the only owner of the running
//! program. Process control is a queue of [`Order`]s (`Stop`, `Start`)
//! applied in order by [`Supervisor::apply`], so a restart is
//! `[Stop, Start]` and nothing else touches the child (watchexec's model).
//! The orders are applied on the controller's thread, which keeps the
//! reported order of events the order things happened in (the program's
//! `program-started` before the `watch-cycle` that started it).
//!
//! The program runs in its own process group; stopping is SIGTERM to the
//! group, `--stop-timeout` (cut short by a second Ctrl-C), then SIGKILL, and
//! the child is always reaped — never leaked. A program that exited on its
//! own is reaped and reported by [`Supervisor::reap_exited`].
//!
//! The process is behind two small traits ([`Launcher`], [`ChildProcess`]),
//! implemented for real processes here and by a fake in the tests.

use std::collections::VecDeque;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::report::{StopReason, WatchEvent, WatchReporter};

/// A signal the supervisor sends to the program's process group.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Signal {
    /// Please stop.
    Term,
    /// Stop now.
    Kill,
}

impl Signal {
    /// Its number (SIGTERM, SIGKILL).
    pub(crate) fn number(self) -> i32 {
        match self {
            Signal::Term => libc::SIGTERM,
            Signal::Kill => libc::SIGKILL,
        }
    }
}

/// How a program ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) struct Exit {
    pub(crate) exit_code: Option<i32>,
    pub(crate) signal: Option<i32>,
}

/// A running program.
pub(crate) trait ChildProcess: Send {
    /// Its pid (and process group id).
    fn id(&self) -> u32;
    /// Sends `signal` to its whole process group.
    fn signal(&mut self, signal: Signal);
    /// Has it exited? Never reaps: while it is not reaped its pid, and so
    /// its process group id, cannot be reused.
    fn try_wait(&mut self) -> bool;
    /// Waits for it to exit and reaps it.
    fn wait(&mut self) -> Exit;
}

/// Starts programs.
pub(crate) trait Launcher: Send {
    /// Starts `program` with `args` in its own process group.
    fn spawn(&mut self, program: &Path, args: &[String]) -> std::io::Result<Box<dyn ChildProcess>>;
}

/// One order to the supervisor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Order {
    /// Stop the running program, if any.
    Stop(StopReason),
    /// Start `program` with `args`.
    Start { program: PathBuf, args: Vec<String> },
}

/// Owns the running program and applies orders to it.
pub(crate) struct Supervisor {
    launcher: Box<dyn Launcher>,
    child: Option<Box<dyn ChildProcess>>,
    orders: VecDeque<Order>,
    stop_timeout: Duration,
    /// Set by a second Ctrl-C: a stop in progress goes to SIGKILL at once.
    force: Arc<AtomicBool>,
}

impl Supervisor {
    /// A supervisor with no program.
    pub(crate) fn new(
        launcher: Box<dyn Launcher>,
        stop_timeout: Duration,
        force: Arc<AtomicBool>,
    ) -> Supervisor {
        Supervisor {
            launcher,
            child: None,
            orders: VecDeque::new(),
            stop_timeout,
            force,
        }
    }

    /// The pid of the program, if one runs (or exited, not yet reaped).
    pub(crate) fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// Queues orders and applies every queued order, in order.
    pub(crate) fn order(&mut self, orders: Vec<Order>, report: &dyn WatchReporter) {
        self.orders.extend(orders);
        while let Some(o) = self.orders.pop_front() {
            match o {
                Order::Stop(why) => self.stop(why, report),
                Order::Start { program, args } => self.start(&program, &args, report),
            }
        }
    }

    fn start(&mut self, program: &Path, args: &[String], report: &dyn WatchReporter) {
        // Never two programs: a Start while one runs stops it first.
        self.stop(StopReason::Restart, report);
        match self.launcher.spawn(program, args) {
            Ok(child) => {
                report.watch(WatchEvent::ProgramStarted {
                    pid: child.id(),
                    path: program.to_path_buf(),
                    args: args.to_vec(),
                });
                self.child = Some(child);
            }
            Err(e) => report.watch(WatchEvent::Error {
                message: format!("starting {}: {e}", program.display()),
            }),
        }
    }

    /// SIGTERM to the group, wait up to the stop timeout (less if `force`
    /// is set meanwhile), SIGKILL, then reap.
    fn stop(&mut self, why: StopReason, report: &dyn WatchReporter) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let mut killed = false;
        if !child.try_wait() {
            child.signal(Signal::Term);
            let deadline = Instant::now() + self.stop_timeout;
            while !child.try_wait() {
                if Instant::now() >= deadline || self.force.load(Ordering::Relaxed) {
                    child.signal(Signal::Kill);
                    killed = true;
                    break;
                }
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        self.reap(child, why, killed, report);
    }

    /// A program that ended by itself is reaped and reported.
    pub(crate) fn reap_exited(&mut self, report: &dyn WatchReporter) {
        if let Some(mut child) = self.child.take() {
            if child.try_wait() {
                self.reap(child, StopReason::Exited, false, report);
            } else {
                self.child = Some(child);
            }
        }
    }

    /// Kills what is left of the group (the program's own children), reaps
    /// the program and reports how it ended.
    fn reap(
        &self,
        mut child: Box<dyn ChildProcess>,
        why: StopReason,
        killed: bool,
        report: &dyn WatchReporter,
    ) {
        child.signal(Signal::Kill);
        let exit = child.wait();
        report.watch(WatchEvent::ProgramStopped {
            pid: child.id(),
            why,
            exit_code: exit.exit_code,
            signal: exit.signal,
            killed,
            stop_timeout: self.stop_timeout,
        });
    }
}

/// Starts real processes.
pub(crate) struct Processes;

impl Launcher for Processes {
    fn spawn(&mut self, program: &Path, args: &[String]) -> std::io::Result<Box<dyn ChildProcess>> {
        let mut cmd = Command::new(program);
        cmd.args(args)
            // Its own group: a terminal's Ctrl-C reaches only us, and a stop
            // reaches everything the program started.
            .process_group(0)
            // A background group reading the terminal would be stopped (SIGTTIN).
            .stdin(Stdio::null());
        // SAFETY: prctl and getppid are async-signal-safe; nothing is allocated.
        unsafe {
            cmd.pre_exec(|| {
                // If the watcher dies without cleaning up (SIGKILL), the
                // program is told to stop too. The main thread spawns, so the
                // "parent thread" is the process's lifetime.
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                if libc::getppid() == 1 {
                    libc::_exit(1);
                }
                Ok(())
            });
        }
        let child = cmd.spawn()?;
        Ok(Box::new(Process {
            pid: child.id(),
            child,
        }))
    }
}

/// A real program, in its own process group.
struct Process {
    child: Child,
    pid: u32,
}

impl ChildProcess for Process {
    fn id(&self) -> u32 {
        self.pid
    }

    fn signal(&mut self, signal: Signal) {
        // SAFETY: plain syscall; ESRCH (group gone) is fine.
        unsafe {
            libc::kill(-(self.pid as i32), signal.number());
        }
    }

    fn try_wait(&mut self) -> bool {
        // SAFETY: waitid with a zeroed siginfo_t; WNOWAIT leaves the child waitable.
        unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            let r = libc::waitid(
                libc::P_PID,
                self.pid as libc::id_t,
                &mut info,
                libc::WEXITED | libc::WNOHANG | libc::WNOWAIT,
            );
            // An error (ECHILD: already reaped) counts as exited.
            r != 0 || info.si_pid() != 0
        }
    }

    fn wait(&mut self) -> Exit {
        let status = self.child.wait().ok();
        Exit {
            exit_code: status.and_then(|s| s.code()),
            signal: status.and_then(|s| s.signal()),
        }
    }
}

#[cfg(test)]
pub(crate) mod fake {
    //! A fake program: records what was done to it, and exits the way it
    //! is told to.

    use std::sync::{Arc, Mutex};

    use super::*;

    /// What happened, in order: `spawn 1 demo`, `term 1`, `kill 1`, `wait 1`.
    #[derive(Default, Clone)]
    pub(crate) struct Log(pub(crate) Arc<Mutex<Vec<String>>>);

    impl Log {
        fn push(&self, s: String) {
            self.0.lock().unwrap().push(s);
        }
        pub(crate) fn take(&self) -> Vec<String> {
            std::mem::take(&mut self.0.lock().unwrap())
        }
    }

    /// A fake program's exit, once it exited (shared with the launcher).
    type ExitFlag = Arc<Mutex<Option<Exit>>>;

    /// How the fake programs it starts behave.
    #[derive(Clone, Default)]
    pub(crate) struct FakeLauncher {
        pub(crate) log: Log,
        /// They ignore SIGTERM (only SIGKILL stops them).
        pub(crate) ignore_term: bool,
        /// The fake children's shared "has exited" flags, by pid.
        pub(crate) exits: Arc<Mutex<Vec<ExitFlag>>>,
        pub(crate) fail_spawn: bool,
    }

    impl FakeLauncher {
        /// Makes the program with pid `pid` exit on its own with `code`.
        pub(crate) fn exit(&self, pid: u32, code: i32) {
            *self.exits.lock().unwrap()[pid as usize - 1].lock().unwrap() = Some(Exit {
                exit_code: Some(code),
                signal: None,
            });
        }
    }

    impl Launcher for FakeLauncher {
        fn spawn(
            &mut self,
            program: &Path,
            _args: &[String],
        ) -> std::io::Result<Box<dyn ChildProcess>> {
            if self.fail_spawn {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::NotFound,
                    "no such file",
                ));
            }
            let exited = Arc::new(Mutex::new(None));
            let mut exits = self.exits.lock().unwrap();
            exits.push(exited.clone());
            let pid = exits.len() as u32;
            self.log.push(format!("spawn {pid} {}", program.display()));
            Ok(Box::new(FakeChild {
                pid,
                log: self.log.clone(),
                ignore_term: self.ignore_term,
                exited,
                reaped: false,
            }))
        }
    }

    struct FakeChild {
        pid: u32,
        log: Log,
        ignore_term: bool,
        exited: ExitFlag,
        reaped: bool,
    }

    impl ChildProcess for FakeChild {
        fn id(&self) -> u32 {
            self.pid
        }

        fn signal(&mut self, signal: Signal) {
            let mut exited = self.exited.lock().unwrap();
            // Signals to an exited group are not logged (nothing is there).
            if exited.is_some() {
                return;
            }
            let name = match signal {
                Signal::Term => "term",
                Signal::Kill => "kill",
            };
            self.log.push(format!("{name} {}", self.pid));
            if signal == Signal::Kill || !self.ignore_term {
                *exited = Some(Exit {
                    exit_code: None,
                    signal: Some(signal.number()),
                });
            }
        }

        fn try_wait(&mut self) -> bool {
            self.exited.lock().unwrap().is_some()
        }

        fn wait(&mut self) -> Exit {
            assert!(!self.reaped, "pid {} reaped twice", self.pid);
            let exit = self
                .exited
                .lock()
                .unwrap()
                .expect("wait would block: the fake program still runs");
            self.reaped = true;
            self.log.push(format!("wait {}", self.pid));
            exit
        }
    }
}

#[cfg(test)]
mod tests {
    use super::fake::FakeLauncher;
    use super::*;
    use crate::report::watch::WatchRecorder;

    fn supervisor(l: &FakeLauncher, timeout: Duration) -> Supervisor {
        Supervisor::new(
            Box::new(l.clone()),
            timeout,
            Arc::new(AtomicBool::new(false)),
        )
    }

    fn start(program: &str) -> Order {
        Order::Start {
            program: program.into(),
            args: vec!["-x".into()],
        }
    }

    /// `(pid, why, exit code, signal, killed)` of each stop.
    type Stop = (u32, StopReason, Option<i32>, Option<i32>, bool);

    fn stopped(events: &[WatchEvent]) -> Vec<Stop> {
        events
            .iter()
            .filter_map(|e| match e {
                WatchEvent::ProgramStopped {
                    pid,
                    why,
                    exit_code,
                    signal,
                    killed,
                    ..
                } => Some((*pid, *why, *exit_code, *signal, *killed)),
                _ => None,
            })
            .collect()
    }

    #[test]
    fn restart_is_stop_then_start() {
        let l = FakeLauncher::default();
        let r = WatchRecorder::default();
        let mut s = supervisor(&l, Duration::from_secs(2));
        s.order(vec![start("/bin/v1")], &r);
        assert_eq!(s.pid(), Some(1));
        assert_eq!(l.log.take(), ["spawn 1 /bin/v1"]);
        s.order(vec![Order::Stop(StopReason::Restart), start("/bin/v2")], &r);
        assert_eq!(
            l.log.take(),
            ["term 1", "wait 1", "spawn 2 /bin/v2"],
            "the old program is stopped and reaped before the new one starts"
        );
        assert_eq!(s.pid(), Some(2));
        let events = r.0.lock().unwrap();
        let kinds: Vec<&str> = events
            .iter()
            .map(|e| match e {
                WatchEvent::ProgramStarted { .. } => "started",
                WatchEvent::ProgramStopped { .. } => "stopped",
                _ => "other",
            })
            .collect();
        assert_eq!(kinds, ["started", "stopped", "started"]);
        assert_eq!(
            stopped(&events),
            [(1, StopReason::Restart, None, Some(15), false)]
        );
        match &events[2] {
            WatchEvent::ProgramStarted { pid, path, args } => {
                assert_eq!((*pid, path.as_path()), (2, Path::new("/bin/v2")));
                assert_eq!(args, &["-x"]);
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn a_start_while_one_runs_stops_it_first() {
        let l = FakeLauncher::default();
        let r = WatchRecorder::default();
        let mut s = supervisor(&l, Duration::from_secs(2));
        s.order(vec![start("/bin/v1")], &r);
        s.order(vec![start("/bin/v2")], &r);
        assert_eq!(
            l.log.take(),
            ["spawn 1 /bin/v1", "term 1", "wait 1", "spawn 2 /bin/v2"]
        );
    }

    #[test]
    fn a_program_that_ignores_sigterm_is_killed_after_the_timeout() {
        let l = FakeLauncher {
            ignore_term: true,
            ..Default::default()
        };
        let r = WatchRecorder::default();
        let timeout = Duration::from_millis(100);
        let mut s = supervisor(&l, timeout);
        s.order(vec![start("/bin/stubborn")], &r);
        l.log.take();
        let t = Instant::now();
        s.order(vec![Order::Stop(StopReason::Shutdown)], &r);
        let took = t.elapsed();
        assert!(took >= timeout, "killed after {took:?}, before the timeout");
        assert!(took < timeout * 20, "took {took:?}");
        assert_eq!(l.log.take(), ["term 1", "kill 1", "wait 1"]);
        assert_eq!(s.pid(), None);
        assert_eq!(
            stopped(&r.0.lock().unwrap()),
            [(1, StopReason::Shutdown, None, Some(9), true)]
        );
    }

    #[test]
    fn a_second_ctrl_c_kills_at_once() {
        let l = FakeLauncher {
            ignore_term: true,
            ..Default::default()
        };
        let r = WatchRecorder::default();
        let force = Arc::new(AtomicBool::new(true));
        let mut s = Supervisor::new(Box::new(l.clone()), Duration::from_secs(60), force);
        s.order(vec![start("/bin/stubborn")], &r);
        let t = Instant::now();
        s.order(vec![Order::Stop(StopReason::Shutdown)], &r);
        assert!(t.elapsed() < Duration::from_secs(5));
        assert_eq!(
            l.log.take(),
            ["spawn 1 /bin/stubborn", "term 1", "kill 1", "wait 1"]
        );
    }

    #[test]
    fn a_program_that_exited_on_its_own_is_reported_with_its_status() {
        let l = FakeLauncher::default();
        let r = WatchRecorder::default();
        let mut s = supervisor(&l, Duration::from_secs(2));
        s.order(vec![start("/bin/v1")], &r);
        s.reap_exited(&r);
        assert_eq!(s.pid(), Some(1), "still running: nothing to reap");
        l.exit(1, 3);
        s.reap_exited(&r);
        assert_eq!(s.pid(), None);
        assert_eq!(
            l.log.take(),
            ["spawn 1 /bin/v1", "wait 1"],
            "reaped, not signalled"
        );
        assert_eq!(
            stopped(&r.0.lock().unwrap()),
            [(1, StopReason::Exited, Some(3), None, false)]
        );
        // A later restart has nothing to stop.
        s.order(vec![Order::Stop(StopReason::Restart), start("/bin/v2")], &r);
        assert_eq!(l.log.take(), ["spawn 2 /bin/v2"]);
    }

    #[test]
    fn shutdown_stops_the_program() {
        let l = FakeLauncher::default();
        let r = WatchRecorder::default();
        let mut s = supervisor(&l, Duration::from_secs(2));
        s.order(vec![start("/bin/v1")], &r);
        s.order(vec![Order::Stop(StopReason::Shutdown)], &r);
        assert_eq!(l.log.take(), ["spawn 1 /bin/v1", "term 1", "wait 1"]);
        assert_eq!(s.pid(), None);
        assert_eq!(
            stopped(&r.0.lock().unwrap()),
            [(1, StopReason::Shutdown, None, Some(15), false)]
        );
        // Stopping nothing is a no-op.
        s.order(vec![Order::Stop(StopReason::Shutdown)], &r);
        assert!(l.log.take().is_empty());
    }

    #[test]
    fn a_program_that_cannot_start_is_an_error_not_a_program() {
        let l = FakeLauncher {
            fail_spawn: true,
            ..Default::default()
        };
        let r = WatchRecorder::default();
        let mut s = supervisor(&l, Duration::from_secs(2));
        s.order(vec![start("/bin/missing")], &r);
        assert_eq!(s.pid(), None);
        let events = r.0.lock().unwrap();
        match &events[..] {
            [WatchEvent::Error { message }] => {
                assert!(message.starts_with("starting /bin/missing: "), "{message}")
            }
            e => panic!("{e:?}"),
        }
    }

    #[test]
    fn real_processes_stop_with_sigterm_and_are_reaped() {
        let r = WatchRecorder::default();
        let mut s = Supervisor::new(
            Box::new(Processes),
            Duration::from_secs(5),
            Arc::new(AtomicBool::new(false)),
        );
        s.order(
            vec![Order::Start {
                program: "/bin/sleep".into(),
                args: vec!["30".into()],
            }],
            &r,
        );
        let pid = s.pid().expect("sleep started");
        s.order(vec![Order::Stop(StopReason::Shutdown)], &r);
        assert_eq!(
            stopped(&r.0.lock().unwrap()),
            [(pid, StopReason::Shutdown, None, Some(libc::SIGTERM), false)]
        );
        // Reaped: no such process any more.
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
}
