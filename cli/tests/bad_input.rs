//! Bad input (issue 14, point 4): a workspace that cannot be loaded exits 102
//! with a message saying what is wrong; an import cycle is named by its
//! chain like go build names it; a file whose name is not UTF-8 builds; an
//! interrupted build leaves no tool running.

mod common;

use std::path::Path;

use common::*;

/// `build` in `dir` with a private target directory, in plain colors.
fn build_in(dir: &Path) -> std::process::Output {
    let target = dir.join("target");
    gobuild(
        dir,
        &[
            "build",
            "--color",
            "never",
            "--target-dir",
            target.to_str().unwrap(),
        ],
    )
}

/// Asserts exit 102 and returns stderr.
fn load_failure(out: &std::process::Output) -> String {
    assert_eq!(out.status.code(), Some(102), "{}", text(out));
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn go_mod_for_a_newer_go_is_a_load_failure_located_at_its_go_line() {
    let tmp = temp_module(
        "example.com/newgo",
        &[("main.go", "package main\n\nfunc main() {}\n")],
    );
    std::fs::write(
        tmp.path().join("go.mod"),
        "module example.com/newgo\n\ngo 1.99\n",
    )
    .unwrap();
    let err = load_failure(&build_in(tmp.path()));
    let go_mod = tmp.path().join("go.mod");
    assert!(
        err.contains(&format!("{}:3: ", go_mod.display())),
        "located at the go line: {err}"
    );
    // go build's words, then the hint.
    assert!(err.contains("go.mod requires go >= 1.99"), "{err}");
    assert!(err.contains("hint: install Go 1.99 or newer"), "{err}");
}

/// Asserts that `err` says `dir` is in no Go module, with the hint.
fn assert_names_no_go_mod(err: &str, dir: &Path) {
    let what = format!(
        "no go.mod found in {} or any parent directory",
        dir.display()
    );
    assert!(err.contains(&what), "{err}");
    assert!(err.contains("hint: run `go mod init"), "{err}");
}

#[test]
fn an_empty_directory_is_a_load_failure_naming_go_mod() {
    let tmp = tempfile::tempdir().unwrap();
    let err = load_failure(&build_in(tmp.path()));
    assert_names_no_go_mod(&err, tmp.path());
}

#[test]
fn go_files_without_go_mod_are_a_load_failure_naming_go_mod() {
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("main.go"),
        "package main\n\nfunc main() {}\n",
    )
    .unwrap();
    let err = load_failure(&build_in(tmp.path()));
    assert_names_no_go_mod(&err, tmp.path());
    // Named packages too (go list fails as a whole then).
    let out = gobuild(
        tmp.path(),
        &[
            "build",
            "--target-dir",
            tmp.path().join("target").to_str().unwrap(),
            ".",
        ],
    );
    let err = load_failure(&out);
    assert!(err.contains("no go.mod found in"), "{err}");
}

#[test]
fn an_import_cycle_is_named_by_its_chain_like_go_build() {
    let tmp = temp_module(
        "example.com/cyc",
        &[
            (
                "main.go",
                "package main\n\nimport \"example.com/cyc/a\"\n\nfunc main() { a.A() }\n",
            ),
            (
                "a/a.go",
                "package a\n\nimport \"example.com/cyc/b\"\n\nfunc A() { b.B() }\n",
            ),
            (
                "b/b.go",
                "package b\n\nimport (\n\t\"fmt\"\n\n\tc \"example.com/cyc/c\"\n)\n\nfunc B() { fmt.Println(); c.C() }\n",
            ),
            (
                "c/c.go",
                "package c\n\nimport \"example.com/cyc/a\"\n\nfunc C() { a.A() }\n",
            ),
        ],
    );
    let out = build_in(tmp.path());
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let ours = String::from_utf8_lossy(&out.stderr).into_owned();
    let chain = "package example.com/cyc\n\
                 \timports example.com/cyc/a from main.go\n\
                 \timports example.com/cyc/b from a.go\n\
                 \timports example.com/cyc/c from b.go\n\
                 \timports example.com/cyc/a from c.go: import cycle not allowed";
    assert!(ours.contains(chain), "ours:\n{ours}");
    // Word for word what go build says.
    let theirs = go(tmp.path(), &["build", "-o", "/dev/null", "."], &[]);
    assert!(!theirs.status.success());
    assert!(
        String::from_utf8_lossy(&theirs.stderr).contains(chain),
        "go build:\n{}",
        text(&theirs)
    );
}

#[test]
fn a_go_file_whose_name_is_not_utf8_builds_like_go_build() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let tmp = temp_module(
        "example.com/utf",
        &[(
            "main.go",
            "package main\n\nimport \"fmt\"\n\nfunc main() { fmt.Printf(\"%s %q\\n\", hello(), where()) }\n",
        )],
    );
    // The compiler records the file's name: the program prints it.
    std::fs::write(
        tmp.path().join(OsStr::from_bytes(b"ok_\xff.go")),
        "package main\n\nimport (\n\t\"path/filepath\"\n\t\"runtime\"\n)\n\nfunc hello() string { return \"hello\" }\n\nfunc where() string {\n\t_, file, _, _ := runtime.Caller(0)\n\treturn filepath.Base(file)\n}\n",
    )
    .unwrap();
    let dir = tmp.path();
    let theirs = dir.join("theirs");
    ok(&go(
        dir,
        &["build", "-o", theirs.to_str().unwrap(), "."],
        &[],
    ));
    let expected = run_program(&mut std::process::Command::new(&theirs));
    assert_eq!(expected, "hello \"ok_\\xff.go\"\n");
    let ours = dir.join("ours");
    let target = dir.join("target");
    // Builds with us and runs what we built.
    let ours_prints = || {
        ok(&gobuild(
            dir,
            &[
                "build",
                "--target-dir",
                target.to_str().unwrap(),
                "-o",
                ours.to_str().unwrap(),
            ],
        ));
        run_program(&mut std::process::Command::new(&ours))
    };
    // Twice: the second build loads through the snapshot.
    assert_eq!(ours_prints(), expected);
    assert_eq!(ours_prints(), expected);
    // An edit of the file is seen.
    let f = dir.join(OsStr::from_bytes(b"ok_\xff.go"));
    let src = std::fs::read_to_string(&f).unwrap();
    std::fs::write(&f, src.replace("\"hello\"", "\"hello again\"")).unwrap();
    assert_eq!(ours_prints(), "hello again \"ok_\\xff.go\"\n");
}

#[test]
fn go_file_names_that_read_the_same_are_an_error_not_a_guess() {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    let tmp = temp_module(
        "example.com/utf2",
        &[("main.go", "package main\n\nfunc main() { a(); b() }\n")],
    );
    for (name, f) in [(&b"x_\xfe.go"[..], "a"), (&b"x_\xff.go"[..], "b")] {
        std::fs::write(
            tmp.path().join(OsStr::from_bytes(name)),
            format!("package main\n\nfunc {f}() {{}}\n"),
        )
        .unwrap();
    }
    let out = build_in(tmp.path());
    assert_eq!(out.status.code(), Some(101), "{}", text(&out));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("cannot tell which file `go list` means by x_\u{FFFD}.go"),
        "{err}"
    );
    assert!(!err.contains("panicked"), "{err}");
}

/// Processes (not zombies) whose command line mentions `needle`, but `except`.
fn processes_mentioning(needle: &str, except: u32) -> Vec<(u32, u32, String)> {
    let mut found = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        if pid == except {
            continue;
        }
        let Ok(cmdline) = std::fs::read(e.path().join("cmdline")) else {
            continue;
        };
        let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
        if !cmdline.contains(needle) {
            continue;
        }
        // `pid (comm) S ppid ...`: skip zombies, read the parent.
        let Ok(stat) = std::fs::read_to_string(e.path().join("stat")) else {
            continue;
        };
        let Some((_, rest)) = stat.rsplit_once(") ") else {
            continue;
        };
        let mut f = rest.split(' ');
        let state = f.next().unwrap_or("");
        let ppid = f.next().and_then(|p| p.parse().ok()).unwrap_or(0);
        if state != "Z" {
            found.push((pid, ppid, cmdline));
        }
    }
    found
}

#[test]
fn tools_die_with_an_interrupted_build() {
    use std::time::{Duration, Instant};
    let (_tmp, dir) = fixture("demo");
    // A cold target directory: the standard library is compiled, slowly.
    let target = dir.join("cold-target");
    let needle = target.display().to_string();
    let mut cmd = std::process::Command::new(bin());
    cmd.args(["gobuild", "build", "-j", "2", "--target-dir", &needle])
        .current_dir(&dir)
        .env_remove("CARGO_TARGET_DIR")
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null());
    // SAFETY: signal() is async-signal-safe. A harness started in the
    // background may ignore SIGINT; the build must see it as from a terminal.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, || {
            libc::signal(libc::SIGINT, libc::SIG_DFL);
            Ok(())
        });
    }
    let mut child = cmd.spawn().unwrap();
    let pid = child.id();
    // About a second in, while our compile of the runtime (seconds long) runs.
    let start = Instant::now();
    loop {
        let tools = processes_mentioning(&needle, pid);
        if start.elapsed() > Duration::from_secs(1)
            && tools
                .iter()
                .any(|(_, pp, c)| *pp == pid && c.contains(" -p runtime "))
        {
            break;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no tool of ours ever ran"
        );
        if let Some(status) = child.try_wait().unwrap() {
            panic!("the build finished ({status}) before it could be interrupted");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    // SIGINT to our pid only, not to the process group.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGINT) }, 0);
    let status = child.wait().unwrap();
    assert!(!status.success(), "{status}");
    let died = Instant::now();
    let mut left = processes_mentioning(&needle, pid);
    while !left.is_empty() && died.elapsed() < Duration::from_millis(300) {
        std::thread::sleep(Duration::from_millis(10));
        left = processes_mentioning(&needle, pid);
    }
    let left: Vec<String> = left
        .iter()
        .map(|(pid, ppid, c)| format!("{pid} (parent {ppid}): {}", &c[..c.len().min(200)]))
        .collect();
    assert!(
        left.is_empty(),
        "tools outlived the build by 300 ms: {left:#?}"
    );
}
