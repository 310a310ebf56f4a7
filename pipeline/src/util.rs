//! Small helpers every layer may use (L0): nothing here knows Go or the build.

/// The closest candidate, if close enough.
pub fn did_you_mean<'a>(word: &str, candidates: impl Iterator<Item = &'a str>) -> Option<&'a str> {
    candidates
        .map(|c| (strsim::jaro_winkler(word, c), c))
        .filter(|(s, _)| *s > 0.8)
        .max_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, c)| c)
}

/// The path on disk that `path` names when it is the lossy UTF-8 form of a
/// path that is not UTF-8 (`go list -json` reports such names with U+FFFD,
/// and tool commands carry `String` arguments). Every component with a
/// U+FFFD that does not exist as written is replaced by the one entry of
/// its directory whose lossy form it is; a relative `path` is looked up in
/// `base` and stays relative. `None` when there is nothing to resolve, no
/// such entry, or more than one (see [`lossy_matches`]).
pub fn resolve_lossy(base: &std::path::Path, path: &std::path::Path) -> Option<std::path::PathBuf> {
    use std::path::Component;
    if !path.to_string_lossy().contains('\u{FFFD}') {
        return None;
    }
    let mut out = std::path::PathBuf::new();
    let mut changed = false;
    for c in path.components() {
        let name = match c {
            Component::Normal(n) => n,
            other => {
                out.push(other.as_os_str());
                continue;
            }
        };
        let dir = base.join(&out);
        let lossy = name.to_string_lossy();
        if lossy.contains('\u{FFFD}') && std::fs::symlink_metadata(dir.join(name)).is_err() {
            match lossy_matches(&dir, &lossy).as_slice() {
                [real] => {
                    out.push(real);
                    changed = true;
                    continue;
                }
                _ => return None,
            }
        }
        out.push(name);
    }
    changed.then_some(out)
}

/// The entries of `dir` whose names read as `lossy` once made UTF-8.
pub fn lossy_matches(dir: &std::path::Path, lossy: &str) -> Vec<std::ffi::OsString> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .map(|e| e.file_name())
        .filter(|n| n.to_string_lossy() == lossy)
        .collect()
}

/// Makes the child `cmd` spawns die (SIGKILL) when the thread that spawns
/// it exits, which for the tools we run is when we die: each is spawned and
/// waited for by one thread (a scheduler worker, or the loading thread),
/// so the thread outlives its child unless the process is going away (a
/// SIGINT sent to our pid alone must not leave a `compile` running).
/// Linux only (`PR_SET_PDEATHSIG`); elsewhere a no-op.
pub fn die_with_parent(cmd: &mut std::process::Command) {
    #[cfg(target_os = "linux")]
    {
        use std::os::unix::process::CommandExt;
        let parent = std::process::id();
        // SAFETY: prctl and getppid are async-signal-safe; the closure
        // allocates nothing.
        unsafe {
            cmd.pre_exec(move || {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                // Died between fork and prctl: the signal was missed.
                if libc::getppid() as u32 != parent {
                    return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
                }
                Ok(())
            });
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = cmd;
}

/// Runs `cmd` to completion as the in-process steps run a program (a test
/// binary, vet): it dies with us ([`die_with_parent`]), its stderr merged
/// into its captured stdout, its exit status left to the caller.
pub fn run_captured(cmd: duct::Expression) -> std::io::Result<std::process::Output> {
    cmd.before_spawn(|c| {
        die_with_parent(c);
        Ok(())
    })
    .stderr_to_stdout()
    .stdout_capture()
    .unchecked()
    .run()
}

#[cfg(test)]
mod tests {
    use std::ffi::OsStr;
    use std::os::unix::ffi::OsStrExt;
    use std::path::Path;

    use super::*;

    #[test]
    fn lossy_names_resolve_to_the_file_on_disk() {
        let tmp = tempfile::tempdir().unwrap();
        let real = OsStr::from_bytes(b"ok_\xff.go");
        std::fs::write(tmp.path().join(real), "package main\n").unwrap();
        let lossy = tmp.path().join("ok_\u{FFFD}.go");
        assert_eq!(
            resolve_lossy(Path::new("/"), &lossy),
            Some(tmp.path().join(real))
        );
        // Relative to a base, it stays relative.
        assert_eq!(
            resolve_lossy(tmp.path(), Path::new("ok_\u{FFFD}.go")),
            Some(Path::new(real).to_path_buf())
        );
        // Nothing to resolve: UTF-8 names, and a real U+FFFD in a name.
        assert_eq!(resolve_lossy(tmp.path(), Path::new("main.go")), None);
        std::fs::write(tmp.path().join("u_\u{FFFD}.go"), "").unwrap();
        assert_eq!(resolve_lossy(tmp.path(), Path::new("u_\u{FFFD}.go")), None);
        // Two names that read the same: ambiguous, not guessed.
        std::fs::write(tmp.path().join(OsStr::from_bytes(b"ok_\xfe.go")), "").unwrap();
        assert_eq!(resolve_lossy(tmp.path(), Path::new("ok_\u{FFFD}.go")), None);
        assert_eq!(lossy_matches(tmp.path(), "ok_\u{FFFD}.go").len(), 2);
    }
}

/// A path cleaned lexically, as Go's `filepath.Clean` does: repeated and
/// trailing separators, `.` elements and `..` after a name are removed
/// (`/usr/local/go/bin/../` → `/usr/local/go`).
pub fn clean_path(p: &str) -> String {
    let abs = p.starts_with('/');
    let mut out: Vec<&str> = Vec::new();
    for part in p.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if out.last().is_some_and(|l| *l != "..") {
                    out.pop();
                } else if !abs {
                    out.push("..");
                }
            }
            name => out.push(name),
        }
    }
    let joined = out.join("/");
    match (abs, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

#[cfg(test)]
mod clean_tests {
    use super::clean_path;

    #[test]
    fn cleans_like_filepath_clean() {
        for (i, want) in [
            ("/usr/local/go/bin/../", "/usr/local/go"),
            ("/a//b/./c/", "/a/b/c"),
            ("/..", "/"),
            ("a/../..", ".."),
            ("", "."),
            ("./x", "x"),
            ("/work/cli/../target/go", "/work/target/go"),
        ] {
            assert_eq!(clean_path(i), want, "{i}");
        }
    }
}
