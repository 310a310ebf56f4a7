//! Workspace configuration: sources layered in order (built-in default <
//! shipped `configs/*.toml` < workspace < package < environment < command
//! line), profiles with `inherits`, targets, package rules — validated before
//! anything is built, every value kept with where it came from.
//!
//! A source is a TOML text and the key path of its gobuild table (the whole
//! file for `gobuild.toml`, `workspace.metadata.gobuild` for a Cargo
//! workspace). Errors carry `file:line:col`, unknown keys a suggestion.

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use toml_edit::{Item, Table, Value};

pub mod experiments;
pub mod lints;
mod parse;
pub mod profile;

pub use parse::{check_flags, check_pattern};
use parse::{
    expect_list, expect_str, key_span, merge_profile, merge_remote, parse_package_rule,
    parse_target,
};

use crate::error::{Error, Result};
use crate::util::did_you_mean;
use profile::{BuildMode, HeaderValue, PackageRule, Profile, SymabisMode};

/// The built-in default configuration, fully commented.
pub const DEFAULT_CONFIG: &str = include_str!("../../../configs/default.toml");

/// The shipped profiles (`configs/*.toml`), compiled in.
pub const SHIPPED: &[(&str, &str)] = &[
    (
        "configs/dev.toml",
        include_str!("../../../configs/dev.toml"),
    ),
    (
        "configs/release.toml",
        include_str!("../../../configs/release.toml"),
    ),
    (
        "configs/debug.toml",
        include_str!("../../../configs/debug.toml"),
    ),
    (
        "configs/abiwrap-debug.toml",
        include_str!("../../../configs/abiwrap-debug.toml"),
    ),
    (
        "configs/regabi-s390x.toml",
        include_str!("../../../configs/regabi-s390x.toml"),
    ),
    (
        "configs/noregabi-s390x.toml",
        include_str!("../../../configs/noregabi-s390x.toml"),
    ),
];

/// Keys of a `[profile.NAME]` table.
pub const PROFILE_KEYS: &[&str] = &[
    "inherits",
    "experiments",
    "goos",
    "goarch",
    "goamd64",
    "goarm64",
    "goarm",
    "go386",
    "goppc64",
    "goriscv64",
    "gomips",
    "gomips64",
    "gowasm",
    "gcflags",
    "asmflags",
    "ldflags",
    "tags",
    "trimpath",
    "symabis",
    "buildmode",
    "nosplit",
    "lints",
    "remote",
];
const TOP_KEYS: &[&str] = &["go", "modules", "profile", "target", "package", "remote"];
const REMOTE_KEYS: &[&str] = &["cache", "instance_name", "headers", "upload", "timeout"];
const TARGET_KEYS: &[&str] = &["package", "name", "profile", "experiments"];
const PACKAGE_KEYS: &[&str] = &["match", "gcflags", "asmflags", "experiments"];
const NOSPLIT_KEYS: &[&str] = &["headroom"];

/// Per-arch level keys and the environment variable each sets.
pub const LEVEL_KEYS: &[(&str, &str)] = &[
    ("goamd64", "GOAMD64"),
    ("goarm64", "GOARM64"),
    ("goarm", "GOARM"),
    ("go386", "GO386"),
    ("goppc64", "GOPPC64"),
    ("goriscv64", "GORISCV64"),
    ("gomips", "GOMIPS"),
    ("gomips64", "GOMIPS64"),
    ("gowasm", "GOWASM"),
];

/// One configuration source.
#[derive(Debug, Clone)]
pub struct ConfigSource {
    /// How it is named in messages (`gobuild.toml`, `configs/release.toml`…).
    pub label: String,
    /// The file, when it is one.
    pub path: Option<PathBuf>,
    /// Its TOML text.
    pub text: String,
    /// The key path of the gobuild table inside it (empty: the whole file).
    pub table_path: Vec<String>,
}

impl ConfigSource {
    /// The built-in default and the shipped profiles, in layer order.
    pub fn builtin() -> Vec<ConfigSource> {
        let mut v = vec![ConfigSource {
            label: "built-in default config".into(),
            path: None,
            text: DEFAULT_CONFIG.into(),
            table_path: vec![],
        }];
        for (label, text) in SHIPPED {
            v.push(ConfigSource {
                label: (*label).into(),
                path: None,
                text: (*text).into(),
                table_path: vec![],
            });
        }
        v
    }

    /// A file source (`gobuild.toml`, or a Cargo.toml with its table path).
    pub fn file(path: &Path, table_path: &[&str]) -> Result<ConfigSource> {
        let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
        Ok(ConfigSource {
            label: path.display().to_string(),
            path: Some(path.to_path_buf()),
            text,
            table_path: table_path.iter().map(|s| s.to_string()).collect(),
        })
    }

    fn location(&self, span: Option<std::ops::Range<usize>>) -> Origin {
        let (line, col) = match span {
            Some(s) => line_col(&self.text, s.start),
            None => (0, 0),
        };
        Origin {
            label: self.label.clone(),
            line,
            col,
        }
    }
}

/// `(line, col)`, both 1-based, of a byte offset.
fn line_col(text: &str, offset: usize) -> (usize, usize) {
    let before = &text[..offset.min(text.len())];
    let line = before.matches('\n').count() + 1;
    let col = before
        .rsplit('\n')
        .next()
        .map(|l| l.chars().count())
        .unwrap_or(0)
        + 1;
    (line, col)
}

/// Where a value came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// The source's label.
    pub label: String,
    /// 1-based line (0: not in a file).
    pub line: usize,
    /// 1-based column.
    pub col: usize,
}

impl Origin {
    /// An origin outside any file (`command line (--trimpath)`).
    pub fn other(label: impl Into<String>) -> Origin {
        Origin {
            label: label.into(),
            line: 0,
            col: 0,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            f.write_str(&self.label)
        } else {
            write!(f, "{}:{}:{}", self.label, self.line, self.col)
        }
    }
}

/// A config value, typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigValue {
    /// A string.
    Str(String),
    /// A list of strings.
    List(Vec<String>),
    /// A boolean.
    Bool(bool),
    /// An integer.
    Int(i64),
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Str(s) => write!(f, "{s:?}"),
            ConfigValue::List(l) => write!(f, "{l:?}"),
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::Int(i) => write!(f, "{i}"),
        }
    }
}

/// How a setting is shown to people: header values of the remote cache
/// are secrets, shown as `<secret>` (or the variable that holds them).
pub fn shown_value(key: &str, value: &ConfigValue) -> String {
    match value {
        ConfigValue::Str(v) if key.starts_with("remote.headers.") => match v.split_once(':') {
            Some(("env", var)) => format!("{{ env = {var:?} }}"),
            _ => "<secret>".into(),
        },
        v => v.to_string(),
    }
}

/// A value and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    /// The value.
    pub value: ConfigValue,
    /// Its origin.
    pub origin: Origin,
}

/// A profile as the sources define it (before `inherits` is followed).
#[derive(Debug, Clone, Default)]
pub struct ProfileDef {
    /// Key (`gcflags`, `nosplit.headroom`…) → setting; later sources override.
    pub values: BTreeMap<String, Setting>,
    /// Where the profile was (last) defined.
    pub defined_at: Vec<Origin>,
}

/// A `[[target]]`.
#[derive(Debug, Clone)]
pub struct TargetDef {
    /// The main package (pattern or import path).
    pub package: String,
    /// Program name (default: from the package path).
    pub name: Option<String>,
    /// Profile (default: the selected one).
    pub profile: Option<String>,
    /// Experiment set overriding the profile's.
    pub experiments: Option<String>,
    /// Where it was defined.
    pub origin: Origin,
}

/// A `[[package]]` rule.
#[derive(Debug, Clone)]
pub struct PackageRuleDef {
    /// The rule.
    pub rule: PackageRule,
    /// An experiment set the rule asks for (only valid if equal to the target's).
    pub experiments: Option<(String, Origin)>,
    /// Where it was defined.
    pub origin: Origin,
}

/// The whole configuration, all sources merged.
#[derive(Debug, Clone, Default)]
pub struct Config {
    /// Profiles by name.
    pub profiles: BTreeMap<String, ProfileDef>,
    /// Targets, in order.
    pub targets: Vec<TargetDef>,
    /// Package rules, in order.
    pub package_rules: Vec<PackageRuleDef>,
    /// The `go` binary.
    pub go: Option<(PathBuf, Origin)>,
    /// Go module directories (relative to the workspace root).
    pub modules: Vec<(String, Origin)>,
    /// Labels of the sources read, in order.
    pub sources: Vec<String>,
}

fn config_error(origin: &Origin, message: impl fmt::Display) -> Error {
    Error::Config(format!("{origin}: {message}"))
}

/// "unknown key `x` in [profile.dev] (hint: did you mean `y`?)"
fn unknown_key(origin: &Origin, key: &str, table: &str, known: &[&str]) -> Error {
    let hint = match did_you_mean(key, known.iter().copied()) {
        Some(s) => format!("did you mean `{s}`?"),
        None => format!("known keys: {}", known.join(", ")),
    };
    config_error(
        origin,
        format!("unknown key `{key}` in {table} (hint: {hint})"),
    )
}

impl Config {
    /// Reads and merges sources, in layer order.
    pub fn load(sources: &[ConfigSource]) -> Result<Config> {
        let mut cfg = Config::default();
        for src in sources {
            cfg.merge(src)?;
        }
        Ok(cfg)
    }

    fn merge(&mut self, src: &ConfigSource) -> Result<()> {
        let doc = toml_edit::Document::parse(src.text.as_str()).map_err(|e| {
            let o = src.location(e.span());
            config_error(&o, format!("invalid TOML: {}", e.message().trim()))
        })?;
        let mut table: &Table = doc.as_table();
        for part in &src.table_path {
            match table.get(part).and_then(Item::as_table_like) {
                Some(_) => match table.get(part) {
                    Some(Item::Table(t)) => table = t,
                    _ => {
                        let o = src.location(table.get(part).and_then(Item::span));
                        return Err(config_error(
                            &o,
                            format!("`{}` must be a table", src.table_path.join(".")),
                        ));
                    }
                },
                None => return Ok(()), // this source has no gobuild table
            }
        }
        self.sources.push(src.label.clone());
        let prefix = if src.table_path.is_empty() {
            String::new()
        } else {
            format!("{}.", src.table_path.join("."))
        };
        for (key, item) in table.iter() {
            let origin = src.location(key_span(table, key).or_else(|| item.span()));
            match key {
                "go" => {
                    let s = expect_str(src, item, &format!("{prefix}go"))?;
                    self.go = Some((PathBuf::from(s), origin));
                }
                "modules" => {
                    for m in expect_list(src, item, &format!("{prefix}modules"))? {
                        self.modules.push((m, origin.clone()));
                    }
                }
                "profile" => {
                    let profiles = item.as_table().ok_or_else(|| {
                        config_error(
                            &origin,
                            format!("`{prefix}profile` must be a table of profiles"),
                        )
                    })?;
                    for (name, p) in profiles.iter() {
                        let porigin = src.location(key_span(profiles, name).or_else(|| p.span()));
                        let pt = p.as_table_like().ok_or_else(|| {
                            config_error(&porigin, format!("[profile.{name}] must be a table"))
                        })?;
                        if name.is_empty() || name.contains(['/', '\\']) {
                            return Err(config_error(
                                &porigin,
                                format!("bad profile name {name:?}"),
                            ));
                        }
                        let def = self.profiles.entry(name.to_string()).or_default();
                        def.defined_at.push(porigin);
                        merge_profile(src, name, pt, def)?;
                    }
                }
                "remote" => {
                    // `[remote]` is the default profile's: every profile
                    // inherits it and may override it.
                    let rt = item.as_table_like().ok_or_else(|| {
                        config_error(&origin, format!("`{prefix}remote` must be a table"))
                    })?;
                    let def = self.profiles.entry("default".to_string()).or_default();
                    merge_remote(src, "remote", rt, def)?;
                }
                "target" => {
                    let arr = item.as_array_of_tables().ok_or_else(|| {
                        config_error(&origin, "`target` must be an array of tables ([[target]])")
                    })?;
                    for t in arr.iter() {
                        self.targets.push(parse_target(src, t)?);
                    }
                }
                "package" => {
                    let arr = item.as_array_of_tables().ok_or_else(|| {
                        config_error(
                            &origin,
                            "`package` must be an array of tables ([[package]])",
                        )
                    })?;
                    for t in arr.iter() {
                        self.package_rules.push(parse_package_rule(src, t)?);
                    }
                }
                other => {
                    let table_name = if prefix.is_empty() {
                        "the top level".to_string()
                    } else {
                        format!("[{}]", src.table_path.join("."))
                    };
                    return Err(unknown_key(&origin, other, &table_name, TOP_KEYS));
                }
            }
        }
        Ok(())
    }

    /// Resolves a profile: follows `inherits` (default: `default`), later
    /// definitions overriding earlier ones.
    pub fn resolve(&self, name: &str) -> Result<ResolvedProfile> {
        let mut chain = Vec::new();
        let mut cur = name.to_string();
        loop {
            if chain.contains(&cur) {
                chain.push(cur);
                let def = &self.profiles[&chain[0]];
                let at = def
                    .defined_at
                    .last()
                    .cloned()
                    .unwrap_or(Origin::other("config"));
                return Err(config_error(
                    &at,
                    format!("profile inheritance cycle: {}", chain.join(" -> ")),
                ));
            }
            let def = self.profiles.get(&cur).ok_or_else(|| {
                let hint = match did_you_mean(&cur, self.profiles.keys().map(String::as_str)) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!(
                        "known profiles: {}",
                        self.profiles.keys().cloned().collect::<Vec<_>>().join(", ")
                    ),
                };
                match chain.last() {
                    None => Error::Config(format!("unknown profile `{cur}` (hint: {hint})")),
                    Some(child) => {
                        let at = &self.profiles[child].values["inherits"].origin;
                        config_error(
                            at,
                            format!(
                                "profile `{child}` inherits unknown profile `{cur}` (hint: {hint})"
                            ),
                        )
                    }
                }
            })?;
            chain.push(cur.clone());
            match def.values.get("inherits") {
                Some(Setting {
                    value: ConfigValue::Str(parent),
                    ..
                }) => cur = parent.clone(),
                _ if cur != "default" => cur = "default".into(),
                _ => break,
            }
        }
        // Apply from the root of the chain down to the profile itself.
        let mut values: BTreeMap<String, Setting> = BTreeMap::new();
        for p in chain.iter().rev() {
            for (k, v) in &self.profiles[p].values {
                if k != "inherits" {
                    values.insert(k.clone(), v.clone());
                }
            }
        }
        ResolvedProfile::from_values(name, chain, values, self)
    }
}

/// A profile with `inherits` followed and every value checked.
#[derive(Debug, Clone)]
pub struct ResolvedProfile {
    /// Its name.
    pub name: String,
    /// The inheritance chain, the profile first.
    pub chain: Vec<String>,
    /// Every effective setting (dotted keys), with its origin.
    pub values: BTreeMap<String, Setting>,
    /// The engine's settings.
    pub profile: Profile,
    /// GOOS override.
    pub goos: Option<String>,
    /// GOARCH override.
    pub goarch: Option<String>,
    /// Per-arch level overrides (`GOAMD64` → `v3`).
    pub levels: BTreeMap<String, String>,
    /// GOEXPERIMENT (the profile's syntax, validated later against the toolchain).
    pub experiments: String,
    /// `nosplit.headroom`.
    pub nosplit_headroom: u32,
}

impl ResolvedProfile {
    fn from_values(
        name: &str,
        chain: Vec<String>,
        values: BTreeMap<String, Setting>,
        cfg: &Config,
    ) -> Result<ResolvedProfile> {
        let mut r = ResolvedProfile {
            name: name.to_string(),
            chain,
            values: BTreeMap::new(),
            profile: Profile {
                name: name.to_string(),
                ..Profile::default()
            },
            goos: None,
            goarch: None,
            levels: BTreeMap::new(),
            experiments: String::new(),
            nosplit_headroom: 0,
        };
        r.profile.package_rules = cfg.package_rules.iter().map(|d| d.rule.clone()).collect();
        for (k, v) in values {
            r.set(&k, v)?;
        }
        Ok(r)
    }

    /// Sets one value (from config or the command line), checking it.
    pub fn set(&mut self, key: &str, s: Setting) -> Result<()> {
        let err = |m: String| config_error(&s.origin, m);
        match (key, &s.value) {
            ("experiments", ConfigValue::Str(v)) => self.experiments = v.clone(),
            ("goos", ConfigValue::Str(v)) => self.goos = (!v.is_empty()).then(|| v.clone()),
            ("goarch", ConfigValue::Str(v)) => self.goarch = (!v.is_empty()).then(|| v.clone()),
            ("symabis", ConfigValue::Str(v)) => {
                self.profile.symabis = SymabisMode::parse(v).ok_or_else(|| {
                    err(format!(
                        "bad value {v:?} for `symabis` (hint: \"native\" or \"toolchain\")"
                    ))
                })?
            }
            ("buildmode", ConfigValue::Str(v)) => {
                self.profile.buildmode = BuildMode::parse(v).ok_or_else(|| {
                    err(format!(
                        "bad value {v:?} for `buildmode` (hint: \"default\", \"exe\", \"pie\", \"c-archive\" or \"c-shared\")"
                    ))
                })?
            }
            ("gcflags", ConfigValue::List(v)) => self.profile.gcflags = v.clone(),
            ("asmflags", ConfigValue::List(v)) => self.profile.asmflags = v.clone(),
            ("ldflags", ConfigValue::List(v)) => self.profile.ldflags = v.clone(),
            ("tags", ConfigValue::List(v)) => self.profile.tags = v.clone(),
            ("trimpath", ConfigValue::Bool(b)) => self.profile.trimpath = *b,
            ("nosplit.headroom", ConfigValue::Int(n)) => {
                self.nosplit_headroom = u32::try_from(*n)
                    .map_err(|_| err(format!("nosplit.headroom {n} is out of range")))?;
                self.profile.nosplit_headroom = self.nosplit_headroom;
            }
            ("remote.cache", ConfigValue::Str(v)) => {
                self.profile.remote.cache = (!v.is_empty()).then(|| v.clone())
            }
            ("remote.instance_name", ConfigValue::Str(v)) => {
                self.profile.remote.instance_name = v.clone()
            }
            ("remote.upload", ConfigValue::Bool(b)) => self.profile.remote.upload = *b,
            ("remote.timeout", ConfigValue::Str(v)) => {
                self.profile.remote.timeout = humantime::parse_duration(v)
                    .map_err(|e| err(format!("bad remote.timeout {v:?}: {e}")))?
            }
            (k, ConfigValue::Str(v)) if k.starts_with("remote.headers.") => {
                let name = k["remote.headers.".len()..].to_string();
                let hv = match v.split_once(':') {
                    Some(("env", var)) => HeaderValue::Env(var.to_string()),
                    Some(("value", lit)) => HeaderValue::Literal(lit.to_string()),
                    _ => HeaderValue::Literal(v.clone()),
                };
                self.profile.remote.headers.insert(name, hv);
            }
            (k, ConfigValue::Str(v)) if k.starts_with("lints.") => self
                .profile
                .lints
                .set(&k["lints.".len()..], v)
                .map_err(err)?,
            (k, ConfigValue::Str(v)) if LEVEL_KEYS.iter().any(|(l, _)| *l == k) => {
                let env = LEVEL_KEYS
                    .iter()
                    .find(|(l, _)| *l == k)
                    .map(|(_, e)| *e)
                    .unwrap_or_default();
                if v.is_empty() {
                    self.levels.remove(env);
                } else {
                    self.levels.insert(env.to_string(), v.clone());
                }
            }
            (k, v) => return Err(err(format!("bad value {v} for `{k}`"))),
        }
        self.values.insert(key.to_string(), s);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(text: &str) -> ConfigSource {
        ConfigSource {
            label: "gobuild.toml".into(),
            path: None,
            text: text.into(),
            table_path: vec![],
        }
    }

    fn load(extra: &str) -> Result<Config> {
        let mut s = ConfigSource::builtin();
        s.push(src(extra));
        Config::load(&s)
    }

    #[test]
    fn default_config_has_no_unknown_keys_and_every_shipped_profile_resolves() {
        let cfg = Config::load(&ConfigSource::builtin()).unwrap();
        for p in [
            "default",
            "dev",
            "release",
            "debug",
            "abiwrap-debug",
            "regabi-s390x",
            "noregabi-s390x",
        ] {
            cfg.resolve(p).unwrap_or_else(|e| panic!("{p}: {e}"));
        }
        let rel = cfg.resolve("release").unwrap();
        assert!(rel.profile.trimpath);
        assert_eq!(rel.profile.ldflags, ["-s", "-w"]);
        assert_eq!(rel.values["trimpath"].origin.label, "configs/release.toml");
        let s = cfg.resolve("noregabi-s390x").unwrap();
        assert_eq!(s.goarch.as_deref(), Some("s390x"));
        assert_eq!(s.experiments, "noregabi");
        // The default config documents every profile key.
        let d = cfg.resolve("default").unwrap();
        for k in PROFILE_KEYS
            .iter()
            .filter(|k| !["inherits", "nosplit", "lints", "remote"].contains(*k))
        {
            assert!(d.values.contains_key(*k), "default config lacks `{k}`");
        }
        for k in REMOTE_KEYS.iter().filter(|k| **k != "headers") {
            assert!(
                d.values.contains_key(&format!("remote.{k}")),
                "default config lacks `remote.{k}`"
            );
        }
        assert_eq!(
            d.profile.remote,
            crate::config::profile::RemoteProfile::default()
        );
        assert!(d.values.contains_key("nosplit.headroom"));
        assert!(d.values.contains_key("lints.abi"));
    }

    #[test]
    fn later_layers_win_and_inherits_chains() {
        let cfg = load(
            "[profile.mine]\ninherits = \"release\"\ngcflags = \"-N -l\"\n\n[profile.release]\nldflags = [\"-s\"]\n",
        )
        .unwrap();
        let r = cfg.resolve("mine").unwrap();
        assert_eq!(r.chain, ["mine", "release", "default"]);
        assert_eq!(r.profile.gcflags, ["-N", "-l"]);
        assert_eq!(
            r.profile.ldflags,
            ["-s"],
            "workspace overrides the shipped release"
        );
        assert!(r.profile.trimpath, "inherited from the shipped release");
        assert_eq!(r.values["ldflags"].origin.to_string(), "gobuild.toml:6:1");
    }

    #[test]
    fn cycles_are_errors() {
        let cfg = load("[profile.a]\ninherits = \"b\"\n[profile.b]\ninherits = \"a\"\n").unwrap();
        let e = cfg.resolve("a").unwrap_err().to_string();
        assert!(e.contains("inheritance cycle: a -> b -> a"), "{e}");
    }

    #[test]
    fn unknown_keys_get_a_suggestion_and_a_location() {
        let e = load("[profile.dev]\ngcflag = [\"-N\"]\n")
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "gobuild.toml:2:1: unknown key `gcflag` in [profile.dev] (hint: did you mean `gcflags`?)"
        );
    }

    #[test]
    fn toml_syntax_errors_have_line_and_column() {
        let e = load("[profile.dev]\ngcflags = [\"-N\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("gobuild.toml:2:"), "{e}");
        assert!(e.contains("invalid TOML"), "{e}");
    }

    #[test]
    fn bad_values_are_named() {
        let e = load("[profile.dev]\ngcflags = [\"N\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad flag `N` in profile.dev.gcflags"), "{e}");
        let e = load("[[package]]\nmatch = \"a b\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("bad package pattern \"a b\""), "{e}");
        let e = load("[profile.dev]\ngcflags = [\"-o=x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("set by cargo gobuild itself"), "{e}");
        let cfg = load("[profile.dev]\nsymabis = \"fast\"\n").unwrap();
        let e = cfg.resolve("dev").unwrap_err().to_string();
        assert!(e.contains("bad value \"fast\" for `symabis`"), "{e}");
        let cfg = load("[profile.dev]\nbuildmode = \"bogus\"\n").unwrap();
        let e = cfg.resolve("dev").unwrap_err().to_string();
        assert!(e.contains("bad value \"bogus\" for `buildmode`"), "{e}");
        assert!(e.contains(":2:"), "located: {e}");
        let cfg = load("[profile.dev]\nbuildmode = \"c-archive\"\n").unwrap();
        assert_eq!(
            cfg.resolve("dev").unwrap().profile.buildmode,
            BuildMode::CArchive
        );
        // Unset is the target's default; `exe` given stays exe.
        let cfg = load("[profile.dev]\n").unwrap();
        assert_eq!(
            cfg.resolve("dev").unwrap().profile.buildmode,
            BuildMode::Default
        );
        let cfg = load("[profile.dev]\nbuildmode = \"exe\"\n").unwrap();
        assert_eq!(
            cfg.resolve("dev").unwrap().profile.buildmode,
            BuildMode::Exe
        );
    }

    #[test]
    fn remote_tables_at_the_top_and_in_profiles() {
        let cfg = load(
            "[remote]\ncache = \"grpc://127.0.0.1:1\"\nheaders = { x-key = { env = \"K\" }, x-lit = \"s3cret\" }\n[profile.ci.remote]\nupload = false\ntimeout = \"5s\"\n",
        )
        .unwrap();
        let ci = cfg.resolve("ci").unwrap();
        let r = &ci.profile.remote;
        assert_eq!(r.cache.as_deref(), Some("grpc://127.0.0.1:1"));
        assert!(!r.upload);
        assert_eq!(r.timeout, std::time::Duration::from_secs(5));
        assert_eq!(r.headers["x-key"], HeaderValue::Env("K".into()));
        assert_eq!(r.headers["x-lit"], HeaderValue::Literal("s3cret".into()));
        // Shown without the secret.
        let v = &ci.values["remote.headers.x-lit"].value;
        assert_eq!(shown_value("remote.headers.x-lit", v), "<secret>");
        assert!(!format!("{:?}", ci.profile).contains("s3cret"));
        let e = load("[remote]\ncache = \"http://x\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("grpc://HOST:PORT") && e.contains(":2:"), "{e}");
        let e = load("[remote]\ncahce = \"grpc://x:1\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `cache`"), "{e}");
    }

    #[test]
    fn nosplit_headroom_dotted_and_table() {
        let cfg = load("[profile.a]\nnosplit.headroom = 64\n[profile.b.nosplit]\nheadroom = 32\n")
            .unwrap();
        assert_eq!(cfg.resolve("a").unwrap().nosplit_headroom, 64);
        assert_eq!(cfg.resolve("b").unwrap().nosplit_headroom, 32);
        let e = load("[profile.a]\nnosplit.headrom = 64\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("did you mean `headroom`"), "{e}");
    }

    #[test]
    fn unknown_profile_suggests() {
        let cfg = load("").unwrap();
        let e = cfg.resolve("relase").unwrap_err().to_string();
        assert!(
            e.contains("unknown profile `relase` (hint: did you mean `release`?)"),
            "{e}"
        );
    }

    #[test]
    fn cargo_metadata_table_path() {
        let s = ConfigSource {
            label: "Cargo.toml".into(),
            path: None,
            text: "[workspace]\nmembers = []\n\n[workspace.metadata.gobuild.profile.dev]\ntrimpath = true\n".into(),
            table_path: vec!["workspace".into(), "metadata".into(), "gobuild".into()],
        };
        let mut srcs = ConfigSource::builtin();
        srcs.push(s);
        let cfg = Config::load(&srcs).unwrap();
        let r = cfg.resolve("dev").unwrap();
        assert!(r.profile.trimpath);
        assert_eq!(r.values["trimpath"].origin.to_string(), "Cargo.toml:5:1");
    }

    #[test]
    fn targets_and_rules() {
        let cfg = load(
            "[[target]]\npackage = \"./cmd/demo\"\nname = \"demo-s\"\nprofile = \"noregabi-s390x\"\n\n[[package]]\nmatch = \"example.com/demo/...\"\ngcflags = [\"-d=abiwrap\"]\n",
        )
        .unwrap();
        assert_eq!(cfg.targets.len(), 1);
        assert_eq!(cfg.targets[0].name.as_deref(), Some("demo-s"));
        assert_eq!(cfg.package_rules[0].rule.gcflags, ["-d=abiwrap"]);
        let e = load("[[target]]\nname = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("needs `package`"), "{e}");
    }
}
