//! The build info a program carries (`go version -m` reads it back): the
//! text of `runtime/debug.BuildInfo.String`, framed by cmd/go's 16-byte
//! markers (cmd/go/internal/modload `ModInfoData`) and written into the link
//! importcfg as `modinfo "<Go-quoted string>"`.

use std::collections::BTreeMap;
use std::path::Path;

use crate::load::{GoModule, PackageGraph};

const INFO_START: [u8; 16] = [
    0x30, 0x77, 0xaf, 0x0c, 0x92, 0x74, 0x08, 0x02, 0x41, 0xe1, 0xc1, 0x07, 0xe6, 0xd6, 0x18, 0xe6,
];
const INFO_END: [u8; 16] = [
    0xf9, 0x32, 0x43, 0x31, 0x86, 0x18, 0x20, 0x72, 0x00, 0x82, 0x42, 0x10, 0x41, 0x16, 0xd8, 0xf2,
];

/// Build settings recorded as `build\tKEY=VALUE`, in cmd/go's order.
#[derive(Debug, Clone, Default)]
pub struct BuildSettings {
    /// `-buildmode` (empty: exe).
    pub buildmode: String,
    /// `-asmflags`, when given.
    pub asmflags: String,
    /// `-gcflags`, when given.
    pub gcflags: String,
    /// `-ldflags`, when given (omitted under trimpath, as cmd/go does).
    pub ldflags: String,
    /// `-tags`.
    pub tags: Vec<String>,
    /// `-trimpath`.
    pub trimpath: bool,
    /// `-cover` (recorded by Go 1.23+, golang/go#67366).
    pub cover: bool,
    /// GOARCH.
    pub goarch: String,
    /// GOOS.
    pub goos: String,
    /// The per-arch level (`GOAMD64`, `v1`).
    pub arch_level: Option<(String, String)>,
    /// The raw GOEXPERIMENT, when set.
    pub goexperiment: String,
    /// The PGO profile the program was built with (`-pgo`; its base name under trimpath).
    pub pgo: Option<String>,
    /// The version control state of the main module's repository.
    pub vcs: Option<VcsInfo>,
    /// With cgo on: the `CGO_*` settings recorded after `CGO_ENABLED=1`
    /// (none under `-trimpath`); `None`: `CGO_ENABLED=0`.
    pub cgo: Option<Vec<(String, String)>>,
}

/// What go build stamps about the repository (`-buildvcs=auto`, git only).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VcsInfo {
    /// `vcs.revision`: the commit hash ("" in a repository without commits).
    pub revision: String,
    /// `vcs.time`: the commit time, RFC 3339 in UTC.
    pub time: String,
    /// `vcs.modified`: uncommitted changes (untracked files count).
    pub modified: bool,
    /// The main module's version at this revision (Go 1.24+ records it
    /// instead of `(devel)`): a semver tag at HEAD, else a pseudo-version
    /// on the latest tag below it; `+dirty` when modified.
    pub module_version: Option<String>,
}

impl VcsInfo {
    /// Reads the state of the git repository containing the main module,
    /// as cmd/go does (`vcs.FromDir` from the current directory, the package
    /// and its module in the same repository, `git status --porcelain` and
    /// `git log -1 --format=%H:%ct`). `None` when not in a git repository,
    /// git is not installed, or git fails (cmd/go would stop; we build
    /// without the stamp and the caller warns).
    pub fn for_main(cwd: &Path, p: &crate::load::GoPackage) -> Result<Option<VcsInfo>, String> {
        let Some(m) = p
            .module
            .as_ref()
            .filter(|m| m.version.is_empty() && !p.standard)
        else {
            return Ok(None);
        };
        let Some(repo) = git_root(cwd) else {
            return Ok(None);
        };
        let mdir = Path::new(&m.dir);
        if !(mdir.starts_with(&repo) || repo.starts_with(mdir)) {
            return Ok(None);
        }
        if git_root(Path::new(&p.dir)).as_ref() != Some(&repo)
            || git_root(mdir).as_ref() != Some(&repo)
        {
            return Ok(None);
        }
        let Ok(git) = which::which("git") else {
            return Ok(None);
        };
        let run = |args: &[&str]| {
            duct::cmd(&git, args)
                .dir(&repo)
                .stdout_capture()
                .stderr_capture()
                .unchecked()
                .run()
                .map_err(|e| format!("running git: {e}"))
        };
        let status = run(&["status", "--porcelain"])?;
        if !status.status.success() {
            return Err(format!(
                "git status: {}",
                String::from_utf8_lossy(&status.stderr).trim()
            ));
        }
        let modified = !status.stdout.is_empty();
        let log = run(&[
            "-c",
            "log.showsignature=false",
            "log",
            "-1",
            "--format=%H:%ct",
        ])?;
        let (mut revision, mut time) = (String::new(), String::new());
        if log.status.success() {
            let out = String::from_utf8_lossy(&log.stdout);
            let (rev, secs) = out
                .trim()
                .split_once(':')
                .ok_or("unexpected git log output")?;
            let secs: u64 = secs.parse().map_err(|_| "unexpected git log time")?;
            revision = rev.to_string();
            time = humantime::format_rfc3339_seconds(
                std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
            )
            .to_string();
        } else if !modified {
            return Err(format!(
                "git log: {}",
                String::from_utf8_lossy(&log.stderr).trim()
            ));
        }
        let module_version = if revision.is_empty() {
            None
        } else {
            let secs = log_secs(&String::from_utf8_lossy(&log.stdout));
            main_module_version(&run, &repo, mdir, &m.path, &revision, secs, modified)
        };
        Ok(Some(VcsInfo {
            revision,
            time,
            modified,
            module_version,
        }))
    }
}

fn log_secs(out: &str) -> u64 {
    out.trim()
        .split_once(':')
        .and_then(|(_, s)| s.parse().ok())
        .unwrap_or(0)
}

/// `codeRepo.Stat` for the local repository, for the common cases: the tag
/// prefix of a module in a subdirectory, a major-version suffix (`/vN`), a
/// semver tag at HEAD, else a pseudo-version (`vX.Y.(Z+1)-0.TIME-HASH`,
/// `vX.Y.Z-pre.0.TIME-HASH`, or `vN.0.0-TIME-HASH` without a tag below).
fn main_module_version(
    run: &dyn Fn(&[&str]) -> Result<std::process::Output, String>,
    repo: &Path,
    mdir: &Path,
    mod_path: &str,
    revision: &str,
    secs: u64,
    modified: bool,
) -> Option<String> {
    let sub = mdir
        .strip_prefix(repo)
        .ok()?
        .to_str()?
        .trim_matches('/')
        .to_string();
    let prefix = if sub.is_empty() {
        String::new()
    } else {
        format!("{sub}/")
    };
    // The major version the module path allows (`/v2` → 2; else 0 or 1).
    let major: Option<u64> = mod_path
        .rsplit('/')
        .next()
        .and_then(|last| last.strip_prefix('v'))
        .and_then(|n| n.parse().ok())
        .filter(|n| *n >= 2);
    let fits = |v: &Semver| match major {
        Some(m) => v.major == m,
        None => v.major <= 1,
    };
    let tags = |args: &[&str]| -> Vec<(Semver, String)> {
        let Ok(out) = run(args) else { return vec![] };
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .filter_map(|t| t.trim().strip_prefix(prefix.as_str()))
            .filter_map(|t| {
                Semver::parse(t)
                    .filter(|v| fits(v))
                    .map(|v| (v, t.to_string()))
            })
            .collect()
    };
    let dirty = |v: String| if modified { format!("{v}+dirty") } else { v };
    let at_head = tags(&["tag", "--points-at", "HEAD"]);
    if let Some((_, t)) = at_head.into_iter().max_by(|a, b| a.0.cmp(&b.0)) {
        return Some(dirty(t));
    }
    let stamp = humantime::format_rfc3339_seconds(
        std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs),
    )
    .to_string()
    .replace(['-', ':', 'T', 'Z'], "");
    let hash: String = revision.chars().take(12).collect();
    let below = tags(&["tag", "--merged", "HEAD"]);
    let v = match below.into_iter().max_by(|a, b| a.0.cmp(&b.0)) {
        Some((v, _)) if v.pre.is_empty() => {
            format!("v{}.{}.{}-0.{stamp}-{hash}", v.major, v.minor, v.patch + 1)
        }
        Some((_, t)) => format!("{t}.0.{stamp}-{hash}"),
        None => format!("v{}.0.0-{stamp}-{hash}", major.unwrap_or(0)),
    };
    Some(dirty(v))
}

/// A semantic version tag `vMAJOR.MINOR.PATCH[-PRE]` (no build metadata).
#[derive(Debug, Clone, PartialEq, Eq)]
struct Semver {
    major: u64,
    minor: u64,
    patch: u64,
    pre: String,
}

impl Semver {
    fn parse(t: &str) -> Option<Semver> {
        let rest = t.strip_prefix('v')?;
        if rest.contains('+') {
            return None;
        }
        let (nums, pre) = rest.split_once('-').unwrap_or((rest, ""));
        let mut it = nums.split('.');
        let num = |s: Option<&str>| -> Option<u64> {
            let s = s?;
            if s.is_empty() || (s.len() > 1 && s.starts_with('0')) {
                return None;
            }
            s.parse().ok()
        };
        let v = Semver {
            major: num(it.next())?,
            minor: num(it.next())?,
            patch: num(it.next())?,
            pre: pre.to_string(),
        };
        it.next().is_none().then_some(v)
    }
}

impl PartialOrd for Semver {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Semver {
    fn cmp(&self, o: &Self) -> std::cmp::Ordering {
        (self.major, self.minor, self.patch)
            .cmp(&(o.major, o.minor, o.patch))
            // A release sorts after its pre-releases.
            .then_with(|| match (self.pre.is_empty(), o.pre.is_empty()) {
                (true, true) => std::cmp::Ordering::Equal,
                (true, false) => std::cmp::Ordering::Greater,
                (false, true) => std::cmp::Ordering::Less,
                (false, false) => self.pre.cmp(&o.pre),
            })
    }
}

/// The root of the git repository containing `dir` (a `.git` directory or file).
fn git_root(dir: &Path) -> Option<std::path::PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// The `BuildInfo.String()` text for main package `main` of `graph`.
pub fn build_info(graph: &PackageGraph, main: usize, s: &BuildSettings) -> String {
    let p = &graph.packages[main];
    let mut out = String::new();
    out.push_str(&format!("path\t{}\n", p.import_path));
    let main_mod = p.module.as_ref().map(|m| m.path.clone());
    if let Some(m) = &p.module {
        match s.vcs.as_ref().and_then(|v| v.module_version.clone()) {
            Some(version) => {
                let mut m = m.clone();
                m.version = version;
                format_mod(&mut out, "mod", &m);
            }
            None => format_mod(&mut out, "mod", m),
        }
    }
    let mut deps: BTreeMap<(String, String), &GoModule> = BTreeMap::new();
    for d in graph.deps(main) {
        if let Some(m) = &graph.packages[d].module {
            if Some(&m.path) != main_mod.as_ref() {
                deps.entry((m.path.clone(), m.version.clone())).or_insert(m);
            }
        }
    }
    let mut deps: Vec<_> = deps.into_iter().collect();
    // gover.ModSort: by path, then by semantic version.
    deps.sort_by(|a, b| {
        a.0 .0
            .cmp(&b.0 .0)
            .then_with(|| cmp_semver(&a.0 .1, &b.0 .1))
    });
    for (_, m) in deps {
        format_mod(&mut out, "dep", m);
    }
    let mut settings: Vec<(String, String)> = Vec::new();
    let mut set = |k: &str, v: &str| settings.push((k.to_string(), v.to_string()));
    if !s.asmflags.is_empty() {
        set("-asmflags", &s.asmflags);
    }
    set(
        "-buildmode",
        if s.buildmode.is_empty() {
            "exe"
        } else {
            &s.buildmode
        },
    );
    set("-compiler", "gc");
    if !s.gcflags.is_empty() {
        set("-gcflags", &s.gcflags);
    }
    if !s.ldflags.is_empty() && !s.trimpath {
        set("-ldflags", &s.ldflags);
    }
    if s.cover {
        set("-cover", "true");
    }
    if !s.tags.is_empty() {
        set("-tags", &s.tags.join(","));
    }
    if s.trimpath {
        set("-trimpath", "true");
    }
    if !p.default_godebug.is_empty() {
        set("DefaultGODEBUG", &p.default_godebug);
    }
    match &s.cgo {
        None => set("CGO_ENABLED", "0"),
        Some(vars) => {
            set("CGO_ENABLED", "1");
            for (k, v) in vars {
                set(k, v);
            }
        }
    }
    set("GOARCH", &s.goarch);
    if !s.goexperiment.is_empty() {
        set("GOEXPERIMENT", &s.goexperiment);
    }
    set("GOOS", &s.goos);
    if let Some((k, v)) = &s.arch_level {
        if !v.is_empty() {
            set(k, v);
        }
    }
    if let Some(v) = &s.vcs {
        set("vcs", "git");
        if !v.revision.is_empty() {
            set("vcs.revision", &v.revision);
        }
        if !v.time.is_empty() {
            set("vcs.time", &v.time);
        }
        set("vcs.modified", if v.modified { "true" } else { "false" });
    }
    if let Some(pgo) = &s.pgo {
        // cmd/go appends -pgo last, then sorts the settings by key.
        set("-pgo", pgo);
        settings.sort_by(|a, b| a.0.cmp(&b.0));
    }
    for (k, v) in settings {
        let k = if quote_key(&k) {
            go_quote(k.as_bytes())
        } else {
            k
        };
        let v = if quote_value(&v) {
            go_quote(v.as_bytes())
        } else {
            v
        };
        out.push_str(&format!("build\t{k}={v}\n"));
    }
    out
}

fn format_mod(out: &mut String, word: &str, m: &GoModule) {
    let version = if m.version.is_empty() {
        "(devel)"
    } else {
        &m.version
    };
    out.push_str(&format!("{word}\t{}\t{version}", m.path));
    match &m.replace {
        None => out.push_str(&format!("\t{}", m.sum)),
        Some(r) => {
            out.push('\n');
            format_mod_inline(out, r);
        }
    }
    out.push('\n');
}

fn format_mod_inline(out: &mut String, r: &GoModule) {
    let version = if r.version.is_empty() {
        "(devel)"
    } else {
        &r.version
    };
    out.push_str(&format!("=>\t{}\t{version}\t{}", r.path, r.sum));
}

fn cmp_semver(a: &str, b: &str) -> std::cmp::Ordering {
    let parse = |v: &str| -> Vec<u64> {
        v.trim_start_matches('v')
            .split(['.', '-', '+'])
            .take(3)
            .map(|x| x.parse().unwrap_or(0))
            .collect()
    };
    parse(a).cmp(&parse(b)).then_with(|| a.cmp(b))
}

fn quote_key(k: &str) -> bool {
    k.is_empty() || k.contains(['=', ' ', '\t', '\r', '\n', '"', '`'])
}

fn quote_value(v: &str) -> bool {
    v.contains([' ', '\t', '\r', '\n', '"', '`'])
}

/// A Go double-quoted string literal for `data` (what `strconv.Unquote` reads back).
pub fn go_quote(data: &[u8]) -> String {
    let mut s = String::with_capacity(data.len() + 2);
    s.push('"');
    for &b in data {
        match b {
            b'"' => s.push_str("\\\""),
            b'\\' => s.push_str("\\\\"),
            b'\n' => s.push_str("\\n"),
            b'\t' => s.push_str("\\t"),
            b'\r' => s.push_str("\\r"),
            0x20..=0x7e => s.push(b as char),
            _ => s.push_str(&format!("\\x{b:02x}")),
        }
    }
    s.push('"');
    s
}

/// The `modinfo` line of the link importcfg.
pub fn importcfg_line(info: &str) -> String {
    let mut data = Vec::with_capacity(info.len() + 32);
    data.extend_from_slice(&INFO_START);
    data.extend_from_slice(info.as_bytes());
    data.extend_from_slice(&INFO_END);
    format!("modinfo {}\n", go_quote(&data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_like_strconv() {
        assert_eq!(go_quote(b"a\tb\"c\\"), r#""a\tb\"c\\""#);
        assert_eq!(go_quote(&[0x30, 0xaf, 0x00]), r#""0\xaf\x00""#);
    }

    #[test]
    fn settings_with_spaces_are_quoted() {
        assert!(quote_value("-s -w"));
        assert!(!quote_value("v1"));
        assert!(quote_key("a=b"));
    }

    #[test]
    fn semver_order() {
        assert_eq!(cmp_semver("v1.10.0", "v1.9.0"), std::cmp::Ordering::Greater);
    }
}
