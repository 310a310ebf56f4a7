//! `cargo gobuild watch --run` driven like a person would: edits on a copy of
//! tests/fixtures/watchme (a program that prints its version and runs until
//! stopped), read back from the JSON events and the program's own output,
//! with the process table checked through /proc for leaked programs and
//! unreaped children.

mod common;

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

use common::*;

/// Long enough for a cold standard library build on 2 cores, shared with
/// the other tests of the run.
const FIRST_BUILD: Duration = Duration::from_secs(300);
const CYCLE: Duration = Duration::from_secs(90);

/// A running `cargo gobuild watch`, its stdout collected line by line.
struct Watcher {
    child: Child,
    lines: Arc<(Mutex<Vec<String>>, Condvar)>,
    /// Its stdout closed (it exited).
    eof: Arc<AtomicBool>,
    stderr: Arc<Mutex<String>>,
}

impl Watcher {
    fn spawn(dir: &Path, args: &[&str]) -> Watcher {
        let mut child = Command::new(bin())
            .arg("gobuild")
            .arg("watch")
            .args(args)
            .current_dir(dir)
            .env_remove("CARGO_TARGET_DIR")
            .env_remove("GOBUILD_PROFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run cargo-gobuild watch");
        let lines = Arc::new((Mutex::new(Vec::new()), Condvar::new()));
        let out = child.stdout.take().unwrap();
        let l = lines.clone();
        let eof = Arc::new(AtomicBool::new(false));
        let e = eof.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(out).lines() {
                let Ok(line) = line else { break };
                l.0.lock().unwrap().push(line);
                l.1.notify_all();
            }
            let _guard = l.0.lock().unwrap();
            e.store(true, Ordering::SeqCst);
            l.1.notify_all();
        });
        let stderr = Arc::new(Mutex::new(String::new()));
        let mut err = child.stderr.take().unwrap();
        let e = stderr.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = err.read(&mut buf) {
                if n == 0 {
                    break;
                }
                e.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        Watcher {
            child,
            lines,
            eof,
            stderr,
        }
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }

    fn lines(&self) -> Vec<String> {
        self.lines.0.lock().unwrap().clone()
    }

    fn events(&self) -> Vec<Value> {
        self.lines()
            .iter()
            .filter(|l| l.starts_with('{'))
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("bad JSON line {l}: {e}")))
            .collect()
    }

    fn dump(&self) -> String {
        format!(
            "--- stdout\n{}\n--- stderr\n{}",
            self.lines().join("\n"),
            self.stderr.lock().unwrap()
        )
    }

    /// Waits until `pred` holds for the lines so far; returns its value.
    fn wait_for<T>(
        &self,
        what: &str,
        timeout: Duration,
        pred: impl Fn(&[String]) -> Option<T>,
    ) -> T {
        let deadline = Instant::now() + timeout;
        let mut lines = self.lines.0.lock().unwrap();
        loop {
            if let Some(v) = pred(&lines) {
                return v;
            }
            let now = Instant::now();
            if now >= deadline || self.eof.load(Ordering::SeqCst) {
                drop(lines);
                std::thread::sleep(Duration::from_millis(100));
                let why = if now >= deadline {
                    "timed out"
                } else {
                    "the watcher exited"
                };
                panic!("{why} waiting for {what}\n{}", self.dump());
            }
            lines = self.lines.1.wait_timeout(lines, deadline - now).unwrap().0;
        }
    }

    /// Waits for a line equal to `line` (after the first `skip` lines).
    fn wait_line(&self, line: &str, skip: usize, timeout: Duration) -> usize {
        self.wait_for(&format!("line {line:?}"), timeout, |ls| {
            ls.iter()
                .skip(skip)
                .position(|l| l.starts_with(line))
                .map(|i| i + skip)
        })
    }

    /// The first finished (not cancelled) `watch-cycle` event after line `skip`.
    fn wait_cycle(&self, skip: usize) -> Value {
        self.wait_cycle_where(skip, |_| true)
    }

    /// The first finished `watch-cycle` event after line `skip` that `pred` accepts.
    fn wait_cycle_where(&self, skip: usize, pred: impl Fn(&Value) -> bool) -> Value {
        self.wait_for("a watch cycle", CYCLE, |ls| {
            ls.iter()
                .skip(skip)
                .filter(|l| l.starts_with('{'))
                .map(|l| serde_json::from_str::<Value>(l).unwrap())
                .find(|e| e["reason"] == "watch-cycle" && e["cancelled"] == false && pred(e))
        })
    }

    /// SIGINT, then the exit status (the watcher must exit by itself).
    fn interrupt(&mut self) -> std::process::ExitStatus {
        unsafe {
            libc::kill(self.pid() as i32, libc::SIGINT);
        }
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                // Let the reader threads drain the pipes.
                std::thread::sleep(Duration::from_millis(100));
                return s;
            }
            assert!(
                Instant::now() < deadline,
                "watcher did not exit on SIGINT\n{}",
                self.dump()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Watcher {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            unsafe {
                libc::kill(self.pid() as i32, libc::SIGINT);
            }
            std::thread::sleep(Duration::from_secs(3));
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// `(pid, state, ppid, argv)` of every process, from /proc.
fn processes() -> Vec<(u32, char, u32, Vec<String>)> {
    let mut v = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<u32>() else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        // `pid (comm) S ppid ...`; comm may hold spaces and parentheses.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 2..]) else {
            continue;
        };
        let mut f = rest.split(' ');
        let state = f.next().and_then(|s| s.chars().next()).unwrap_or('?');
        let ppid = f.next().and_then(|s| s.parse().ok()).unwrap_or(0);
        let argv = std::fs::read(e.path().join("cmdline"))
            .map(|b| {
                b.split(|c| *c == 0)
                    .filter(|s| !s.is_empty())
                    .map(|s| String::from_utf8_lossy(s).into_owned())
                    .collect()
            })
            .unwrap_or_default();
        v.push((pid, state, ppid, argv));
    }
    v
}

/// Live processes running the program at `exe`.
fn running(exe: &Path) -> Vec<u32> {
    let exe = exe.to_str().unwrap();
    processes()
        .into_iter()
        .filter(|(_, state, _, argv)| *state != 'Z' && argv.first().is_some_and(|a| a == exe))
        .map(|(pid, ..)| pid)
        .collect()
}

/// Zombie children of `ppid`.
fn zombies_of(ppid: u32) -> Vec<u32> {
    processes()
        .into_iter()
        .filter(|(_, state, pp, _)| *state == 'Z' && *pp == ppid)
        .map(|(pid, ..)| pid)
        .collect()
}

fn by_reason<'a>(ev: &'a [Value], reason: &str) -> Vec<&'a Value> {
    ev.iter().filter(|e| e["reason"] == reason).collect()
}

fn set_version(dir: &Path, v: &str) {
    let f = dir.join("leaf/leaf.go");
    let s = std::fs::read_to_string(&f).unwrap();
    let i = s
        .find("const Version = ")
        .expect("const Version in leaf.go");
    let end = i + s[i..].find('\n').unwrap();
    std::fs::write(
        &f,
        format!("{}const Version = \"{v}\"{}", &s[..i], &s[end..]),
    )
    .unwrap();
}

fn edit(path: &Path, from: &str, to: &str) {
    let s = std::fs::read_to_string(path).unwrap();
    assert!(s.contains(from), "{from:?} not in {}", path.display());
    std::fs::write(path, s.replacen(from, to, 1)).unwrap();
}

/// `watch --run --message-format json` of the fixture copy, the program
/// written to `<copy>/watchme.bin`; waits for the first program to start.
fn start(dir: &Path, extra: &[&str]) -> (Watcher, PathBuf) {
    // Fails (does not skip) without Go.
    ok(&go(dir, &["version"], &[]));
    let exe = dir.join("watchme.bin");
    let t = shared_target();
    let mut args = vec![
        "--run",
        "--message-format",
        "json",
        "--target-dir",
        t.to_str().unwrap(),
        "-o",
        exe.to_str().unwrap(),
        "./cmd/watchme",
    ];
    args.extend_from_slice(extra);
    let w = Watcher::spawn(dir, &args);
    w.wait_line("version: v0", 0, FIRST_BUILD);
    w.wait_for("the first cycle", CYCLE, |ls| {
        ls.iter()
            .any(|l| l.contains("\"reason\":\"watch-cycle\""))
            .then_some(())
    });
    (w, exe)
}

#[test]
fn fifty_quick_edits_end_in_the_last_version_with_nothing_leaked() {
    let (_tmp, dir) = fixture("watchme");
    let (mut w, exe) = start(&dir, &["--", "tag-fifty"]);
    let started = by_reason(&w.events(), "build-started").len();

    const EDITS: usize = 50;
    for i in 1..=EDITS {
        set_version(&dir, &format!("v{i}"));
        // Mostly under the debounce; every 10th pause is longer, so builds
        // start mid-burst and the next edits cancel them.
        let pause = if i % 10 == 0 {
            150
        } else {
            15 + (i as u64 % 4) * 10
        };
        std::thread::sleep(Duration::from_millis(pause));
    }
    let v = w.wait_line(&format!("version: v{EDITS} "), 0, CYCLE);
    // The program shares stdout with the events and starts as soon as it is
    // linked, so its first line may come before or after the cycle's event:
    // wait for the cycle from the event that started it.
    let started_at = w.lines()[..v]
        .iter()
        .rposition(|l| l.contains("\"reason\":\"program-started\""))
        .unwrap_or(0);
    w.wait_cycle(started_at);
    // Settled: the last cycle succeeded and nothing ran for a while.
    std::thread::sleep(Duration::from_millis(1500));
    let ev = w.events();
    let cycles = by_reason(&ev, "watch-cycle");
    let last = cycles.last().unwrap();
    assert_eq!(last["success"], true, "{}", w.dump());

    // The program running is the last version, and only it.
    let versions: Vec<String> = w
        .lines()
        .into_iter()
        .filter(|l| l.starts_with("version: "))
        .collect();
    assert!(
        versions
            .last()
            .unwrap()
            .starts_with(&format!("version: v{EDITS} ")),
        "{versions:?}"
    );
    let live = running(&exe);
    assert_eq!(
        live.len(),
        1,
        "exactly one program runs: {live:?}\n{}",
        w.dump()
    );
    let starts = by_reason(&ev, "program-started");
    assert_eq!(starts.last().unwrap()["pid"], live[0], "{}", w.dump());
    assert_eq!(
        starts.last().unwrap()["args"],
        serde_json::json!(["tag-fifty"])
    );

    // Fewer builds than edits: bursts are debounced, stale builds cancelled.
    let builds = by_reason(&ev, "build-started").len() - started;
    assert!(
        (1..=EDITS).contains(&builds),
        "{builds} builds for {EDITS} edits"
    );
    let cancelled = cycles.iter().filter(|c| c["cancelled"] == true).count();
    eprintln!(
        "{builds} builds for {EDITS} edits ({cancelled} cancelled), {} restarts",
        starts.len() - 1
    );

    // Every stopped program was reaped: no zombie children of the watcher.
    assert_eq!(zombies_of(w.pid()), Vec::<u32>::new(), "{}", w.dump());

    let status = w.interrupt();
    assert!(status.success(), "exit {status:?}\n{}", w.dump());
    assert_eq!(
        running(&exe),
        Vec::<u32>::new(),
        "a program outlived the watcher"
    );
    let ev = w.events();
    let started: Vec<&Value> = by_reason(&ev, "program-started")
        .iter()
        .map(|e| &e["pid"])
        .collect();
    let stopped: Vec<&Value> = by_reason(&ev, "program-stopped")
        .iter()
        .map(|e| &e["pid"])
        .collect();
    assert_eq!(
        started, stopped,
        "every program started was stopped and reaped"
    );
    let last_stop = (*by_reason(&ev, "program-stopped").last().unwrap()).clone();
    assert_eq!(last_stop["why"], "shutdown");
    assert_eq!(
        last_stop["killed"], false,
        "SIGTERM was enough: {last_stop}"
    );
    assert!(
        w.lines()
            .iter()
            .any(|l| l.starts_with(&format!("stopping v{EDITS} on terminated"))),
        "the program got SIGTERM\n{}",
        w.dump()
    );
    assert_eq!(by_reason(&ev, "watch-finished").len(), 1);
}

#[test]
fn assembly_body_edit_reruns_symabis_asm_pack_link_only() {
    let (_tmp, dir) = fixture("watchme");
    let (mut w, exe) = start(&dir, &[]);
    w.wait_line("magic: 41", 0, CYCLE);
    let before = w.events().len();
    let skip = w.lines().len();

    // The body changes; the def line (and so the symabis) does not.
    edit(
        &dir.join("leaf/magic_amd64.s"),
        "MOVQ $41, AX",
        "MOVQ $42, AX",
    );
    w.wait_line("magic: 42", skip, CYCLE);
    // The program starts as soon as it is linked; the cycle ends after the checks.
    w.wait_cycle(skip);
    let ev: Vec<Value> = w.events().split_off(before);
    // `nosplit` (the pre-link stack check) and `abi-report` (what the
    // post-link check expects, beside the link) read the new archive, like
    // link does; they finish in either order.
    let mut got: Vec<(String, String)> = ran(&ev)
        .into_iter()
        .filter(|(a, _, _)| a != "nosplit" && a != "abi-report")
        .map(|(a, _, f)| (a, f))
        .collect();
    got.sort();
    let mut want: Vec<(String, String)> = [
        ("symabis", ""),
        ("asm", "magic_amd64.s"),
        ("pack", ""),
        ("link", ""),
    ]
    .iter()
    .map(|(a, f)| (a.to_string(), f.to_string()))
    .collect();
    want.sort();
    assert_eq!(
        got,
        want,
        "an assembly body edit must not recompile Go\n{}",
        w.dump()
    );
    let cycle = by_reason(&ev, "watch-cycle");
    assert_eq!(cycle.len(), 1, "one cycle: {cycle:?}");
    assert_eq!(
        cycle[0]["changed"],
        serde_json::json!(["leaf/magic_amd64.s"])
    );
    assert_eq!(cycle[0]["restarted"], true);

    assert!(w.interrupt().success(), "{}", w.dump());
    assert_eq!(running(&exe), Vec::<u32>::new());
}

#[test]
fn compile_error_keeps_the_old_program_then_the_fix_restarts_it() {
    let (_tmp, dir) = fixture("watchme");
    let (mut w, exe) = start(&dir, &[]);
    let first = running(&exe);
    assert_eq!(first.len(), 1);
    let before = w.events().len();
    let skip = w.lines().len();

    let leaf = dir.join("leaf/leaf.go");
    let good = std::fs::read_to_string(&leaf).unwrap();
    std::fs::write(
        &leaf,
        format!("{good}\nfunc broken() int {{ return \"no\" }}\n"),
    )
    .unwrap();
    let cycle = w.wait_cycle(skip);
    assert_eq!(cycle["success"], false, "{}", w.dump());
    assert_eq!(cycle["restarted"], false);
    let ev: Vec<Value> = w.events().split_off(before);
    let errors: Vec<&Value> = by_reason(&ev, "diagnostic")
        .into_iter()
        .filter(|e| e["level"] == "error")
        .collect();
    assert!(
        errors
            .iter()
            .any(|e| e["message"].as_str().unwrap().contains("leaf.go:7")),
        "the compiler's error, located: {errors:?}\n{}",
        w.dump()
    );
    // The old program is untouched.
    assert_eq!(by_reason(&ev, "program-stopped").len(), 0, "{}", w.dump());
    assert_eq!(running(&exe), first, "the old program keeps running");

    // The fix: a new version, and the watcher restarts the program.
    let skip = w.lines().len();
    std::fs::write(&leaf, good.replace("\"v0\"", "\"v2\"")).unwrap();
    w.wait_line("version: v2 ", 0, CYCLE);
    w.wait_cycle(skip);
    let ev = w.events();
    let stop = by_reason(&ev, "program-stopped");
    assert_eq!(stop.len(), 1, "{}", w.dump());
    assert_eq!(stop[0]["pid"], first[0]);
    assert_eq!(stop[0]["why"], "restart");
    assert_eq!(
        by_reason(&ev, "watch-cycle").last().unwrap()["success"],
        true
    );

    assert!(w.interrupt().success(), "{}", w.dump());
    assert_eq!(running(&exe), Vec::<u32>::new());
}

#[test]
fn run_needs_exactly_one_main_package() {
    let (_tmp, dir) = fixture("watchme");
    std::fs::create_dir_all(dir.join("cmd/other")).unwrap();
    std::fs::write(
        dir.join("cmd/other/main.go"),
        "package main\n\nfunc main() {}\n",
    )
    .unwrap();
    let t = shared_target();
    let out = gobuild(
        &dir,
        &["watch", "--run", "--target-dir", t.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let msg = text(&out);
    assert!(
        msg.contains("--run runs one program")
            && msg.contains("example.com/watchme/cmd/other")
            && msg.contains("example.com/watchme/cmd/watchme"),
        "{msg}"
    );
}

#[test]
fn poll_mode_sees_edits_too() {
    let (_tmp, dir) = fixture("watchme");
    let (mut w, exe) = start(&dir, &["--poll", "--poll-interval", "100ms"]);
    let ev = w.events();
    assert_eq!(by_reason(&ev, "watch-started")[0]["poll"], true);
    let skip = w.lines().len();
    // Same size, and likely within the same second as the last write: the
    // poller must compare contents, not only whole-second mtimes.
    set_version(&dir, "v7");
    w.wait_line("version: v7 ", skip, CYCLE);
    let skip = w.lines().len();
    set_version(&dir, "v8");
    w.wait_line("version: v8 ", skip, CYCLE);
    let cycle = w.wait_cycle(skip);
    assert_eq!(
        cycle["changed"],
        serde_json::json!(["leaf/leaf.go"]),
        "{}",
        w.dump()
    );
    assert!(w.interrupt().success(), "{}", w.dump());
    assert_eq!(running(&exe), Vec::<u32>::new());
}

#[test]
fn watch_set_follows_embedded_files_and_new_packages() {
    let (_tmp, dir) = fixture("watchme");
    let (mut w, exe) = start(&dir, &[]);

    // An embedded file is watched.
    let skip = w.lines().len();
    std::fs::write(dir.join("cmd/watchme/banner.txt"), "hello again\n").unwrap();
    w.wait_line("banner: hello again", skip, CYCLE);
    let c = w.wait_cycle_where(skip, |c| c["restarted"] == true);
    assert_eq!(
        c["changed"],
        serde_json::json!(["cmd/watchme/banner.txt"]),
        "{}",
        w.dump()
    );

    // A new package, then an import of it: the graph grows and so does the
    // watch set, so an edit of the new package restarts the program.
    let skip = w.lines().len();
    std::fs::create_dir_all(dir.join("extra")).unwrap();
    std::fs::write(
        dir.join("extra/extra.go"),
        "package extra\n\nconst Name = \"x1\"\n",
    )
    .unwrap();
    let main = dir.join("cmd/watchme/main.go");
    edit(
        &main,
        "\"example.com/watchme/leaf\"\n",
        "\"example.com/watchme/extra\"\n\t\"example.com/watchme/leaf\"\n",
    );
    edit(
        &main,
        "fmt.Println(\"magic:\", leaf.Magic())",
        "fmt.Println(\"magic:\", leaf.Magic(), extra.Name)",
    );
    w.wait_line("magic: 41 x1", skip, CYCLE);
    w.wait_cycle_where(skip, |c| c["restarted"] == true);
    let skip = w.lines().len();
    edit(&dir.join("extra/extra.go"), "x1", "x2");
    w.wait_line("magic: 41 x2", skip, CYCLE);
    let c = w.wait_cycle_where(skip, |c| c["restarted"] == true);
    assert_eq!(
        c["changed"],
        serde_json::json!(["extra/extra.go"]),
        "{}",
        w.dump()
    );

    assert!(w.interrupt().success(), "{}", w.dump());
    assert_eq!(running(&exe), Vec::<u32>::new());
}

#[test]
fn watch_test_reruns_the_tests_a_change_affects() {
    let (_tmp, dir) = fixture("gotests");
    let t = shared_target();
    let w = Watcher::spawn(
        &dir,
        &[
            "--test",
            "-q",
            "--target-dir",
            t.to_str().unwrap(),
            "./calc",
            "./withmain",
        ],
    );
    // The first cycle runs both packages' tests.
    let a = w.wait_line("ok  \texample.com/gotests/calc", 0, FIRST_BUILD);
    let b = w.wait_line("ok  \texample.com/gotests/withmain", 0, CYCLE);
    let first = a.max(b);
    // Break calc: only calc's tests run again, and fail.
    edit(&dir.join("calc/calc.go"), "return a + b", "return a - b");
    let fail = w.wait_line("FAIL\texample.com/gotests/calc", first + 1, CYCLE);
    assert!(
        !w.lines()[first + 1..=fail]
            .iter()
            .any(|l| l.contains("withmain")),
        "withmain's test binary did not change: {}",
        w.dump()
    );
    // Fix it: calc passes again.
    edit(&dir.join("calc/calc.go"), "return a - b", "return a + b");
    w.wait_line("ok  \texample.com/gotests/calc", fail + 1, CYCLE);
}

/// The `Timing trace saved to PATH` lines on stderr so far.
fn traces_saved(w: &Watcher) -> Vec<PathBuf> {
    w.stderr
        .lock()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_once("Timing trace saved to "))
        .map(|(_, p)| PathBuf::from(p.trim()))
        .collect()
}

#[test]
fn timings_are_written_for_every_cycle() {
    let (_tmp, dir) = fixture("watchme");
    let (mut w, _exe) = start(&dir, &["--timings=json"]);
    let wait_traces = |n: usize| {
        let deadline = Instant::now() + CYCLE;
        loop {
            let t = traces_saved(&w);
            if t.len() >= n {
                return t;
            }
            assert!(
                Instant::now() < deadline,
                "no timing trace for cycle {n}\n{}",
                w.dump()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    };
    wait_traces(1);
    let before = w.events().len();
    let skip = w.lines().len();
    set_version(&dir, "v7");
    w.wait_line("version: v7", skip, CYCLE);
    w.wait_cycle(skip);
    let traces = wait_traces(2);
    assert_eq!(traces.len(), 2, "{}", w.dump());
    assert_ne!(traces[0], traces[1], "one report per cycle");
    // The second cycle's trace has exactly that cycle's actions.
    let ev: Vec<Value> = w.events().split_off(before);
    let finished = by_reason(&ev, "action-finished").len();
    let trace: Value = serde_json::from_slice(&std::fs::read(&traces[1]).unwrap()).unwrap();
    let x = trace["traceEvents"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|e| e["ph"] == "X")
        .count();
    assert!(finished > 0);
    assert_eq!(x, finished, "{}", w.dump());
    assert!(w.interrupt().success(), "{}", w.dump());
}
