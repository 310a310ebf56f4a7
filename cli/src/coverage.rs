//! go test `-cover`'s reporting: the percentage a test binary printed,
//! appended to go test's `ok` line (`coveragePercentage` in
//! `cmd/go/internal/test/test.go`); the line of a package without tests,
//! from its meta-data file through `go tool covdata percent` (cmd/go's
//! `WriteCoveragePercent`); and `-coverprofile`, the `mode:` line then every
//! package's profile without its own (`mergeCoverProfile`).

use std::path::{Path, PathBuf};
use std::time::Instant;

use crate::exit::{Failure, Kind};

/// go test's suffix of the `ok` line: `\tcoverage: …` from the first
/// `coverage: …` line the binary printed.
pub(crate) fn percentage(output: &[u8]) -> Option<String> {
    let text = String::from_utf8_lossy(output);
    let at = text.find("coverage: ")?;
    let rest = &text[at + "coverage: ".len()..];
    let line = rest.split_once('\n')?.0;
    Some(format!("\tcoverage: {line}"))
}

/// What a package without tests reports under `-cover`.
pub(crate) struct Untested {
    /// go test's line (`\tP\t\tcoverage: 0.0% of statements\n`).
    pub(crate) line: String,
    /// Its profile, without the `mode:` line (`-coverprofile`).
    pub(crate) profile: Option<Vec<u8>>,
    /// Seconds it took (the package event's `Elapsed`).
    pub(crate) elapsed: f64,
}

fn covdata(go: &Path, args: &[&str], dir: &Path) -> Result<Vec<u8>, Failure> {
    let out = std::process::Command::new(go)
        .args(["tool", "covdata"])
        .args(args)
        .current_dir(dir)
        .output()
        .map_err(|e| Failure::new(Kind::Unexpected, format!("{}: {e}", go.display())))?;
    if !out.status.success() {
        return Err(Failure::new(
            Kind::Unexpected,
            format!(
                "`go tool covdata {}` failed: {}{}",
                args.join(" "),
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr).trim()
            ),
        ));
    }
    Ok(out.stdout)
}

/// The report of package `import_path` (without tests) from its meta-data
/// file `meta`, as go test makes it: `covdata percent` (and `textfmt` for
/// a profile) over a directory holding the file under cmd/go's name;
/// `None` when the file is empty (no functions: `[no test files]`).
pub(crate) fn untested(
    go: &Path,
    import_path: &str,
    meta: &Path,
    scratch: &Path,
    profile: bool,
) -> Result<Option<Untested>, Failure> {
    let start = Instant::now();
    let io = |p: &Path, e: std::io::Error| {
        Failure::new(Kind::Unexpected, format!("{}: {e}", p.display()))
    };
    if std::fs::metadata(meta).map_err(|e| io(meta, e))?.len() == 0 {
        return Ok(None);
    }
    let name = pipeline::load::cover::meta_file_name(import_path);
    let dir = scratch.join(&name[8..40]);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).map_err(|e| io(&dir, e))?;
    std::fs::copy(meta, dir.join(&name)).map_err(|e| io(meta, e))?;
    let line = String::from_utf8_lossy(&covdata(go, &["percent", "-i", "."], &dir)?).into_owned();
    let profile = if profile {
        let out = dir.join("profile.out");
        covdata(go, &["textfmt", "-i", ".", "-o", "profile.out"], &dir)?;
        let data = std::fs::read(&out).map_err(|e| io(&out, e))?;
        Some(strip_mode(&data).to_vec())
    } else {
        None
    };
    let _ = std::fs::remove_dir_all(&dir);
    Ok(Some(Untested {
        line,
        profile,
        elapsed: start.elapsed().as_secs_f64(),
    }))
}

fn strip_mode(data: &[u8]) -> &[u8] {
    if data.starts_with(b"mode: ") {
        let end = data
            .iter()
            .position(|b| *b == b'\n')
            .map_or(data.len(), |i| i + 1);
        &data[end..]
    } else {
        data
    }
}

/// `-coverprofile`: the merged profile of every package.
pub(crate) struct Profile {
    path: PathBuf,
    mode: String,
    body: Vec<u8>,
}

impl Profile {
    /// A profile for `path` (relative to the current directory, as go
    /// test's) in `mode`.
    pub(crate) fn new(path: &Path, mode: &str) -> Profile {
        Profile {
            path: path.to_path_buf(),
            mode: mode.to_string(),
            body: Vec::new(),
        }
    }

    /// Adds one test binary's profile (an empty one adds nothing; one with
    /// another mode line is an error, as go test's).
    pub(crate) fn merge(&mut self, pkg: &str, data: &[u8]) -> Result<(), Failure> {
        if data.is_empty() {
            return Ok(());
        }
        let expect = format!("mode: {}\n", self.mode);
        if !data.starts_with(expect.as_bytes()) {
            return Err(Failure::new(
                Kind::BuildFailed,
                format!(
                    "{pkg}: test wrote malformed coverage profile: header {:?}, expected {expect:?}",
                    String::from_utf8_lossy(&data[..data.len().min(expect.len())])
                ),
            ));
        }
        self.body.extend_from_slice(&data[expect.len()..]);
        Ok(())
    }

    /// Adds a fragment without its mode line (a package without tests).
    pub(crate) fn merge_body(&mut self, data: &[u8]) {
        self.body.extend_from_slice(data);
    }

    /// Writes the profile.
    pub(crate) fn write(&self) -> Result<(), Failure> {
        let mut data = format!("mode: {}\n", self.mode).into_bytes();
        data.extend_from_slice(&self.body);
        std::fs::write(&self.path, data)
            .map_err(|e| Failure::new(Kind::Unexpected, format!("{}: {e}", self.path.display())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_ok_line_gets_the_first_coverage_line() {
        let out = b"\x16=== RUN   TestAbs\nPASS\ncoverage: 28.6% of statements\n";
        assert_eq!(
            percentage(out).as_deref(),
            Some("\tcoverage: 28.6% of statements")
        );
        assert_eq!(percentage(b"PASS\n"), None);
    }

    #[test]
    fn profiles_merge_without_their_mode_lines() {
        let mut p = Profile::new(Path::new("/nonexistent/c.out"), "set");
        p.merge("a", b"mode: set\na.go:1.1,2.2 1 1\n").unwrap();
        p.merge("b", b"").unwrap();
        p.merge_body(b"b.go:3.1,3.9 1 0\n");
        assert_eq!(p.body, b"a.go:1.1,2.2 1 1\nb.go:3.1,3.9 1 0\n");
        assert!(p.merge("c", b"mode: count\nx 1 1\n").is_err());
        assert_eq!(strip_mode(b"mode: set\nx\n"), b"x\n");
    }
}
