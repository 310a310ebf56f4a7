//! Lint levels, as profiles set them (`lints.abi`, `lints.<name>`): which
//! ABI lints exist and how each is treated. The lints themselves run in
//! [`crate::abi`]; this is only the setting, so the config layer does not
//! depend on the checks.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::util::did_you_mean;

/// How a lint finding is treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum LintLevel {
    /// Not reported.
    Allow,
    /// Reported as a warning.
    #[default]
    Warn,
    /// Reported as an error; the build fails (exit 101).
    Deny,
}

impl LintLevel {
    /// Parses a config value.
    pub fn parse(s: &str) -> Option<LintLevel> {
        match s {
            "allow" => Some(LintLevel::Allow),
            "warn" => Some(LintLevel::Warn),
            "deny" => Some(LintLevel::Deny),
            _ => None,
        }
    }

    /// The config spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LintLevel::Allow => "allow",
            LintLevel::Warn => "warn",
            LintLevel::Deny => "deny",
        }
    }
}

/// The ABI lints.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub enum Lint {
    /// A Go declaration without a body that no assembly for the target defines
    /// (the linker would say "relocation target … not defined").
    #[serde(rename = "abi-missing-asm")]
    MissingAsm,
    /// An assembly TEXT symbol without a Go declaration: no argument stack
    /// map, no wrapper (like `go vet`'s asmdecl).
    #[serde(rename = "abi-missing-decl")]
    MissingDecl,
    /// An `<ABIInternal>` definition outside the standard library.
    #[serde(rename = "abi-internal-def")]
    InternalDef,
    /// Assembly referencing an unexported Go function of another package
    /// (no ABI0 wrapper is generated for it there).
    #[serde(rename = "abi-unexported-ref")]
    UnexportedRef,
}

impl Lint {
    /// Every lint.
    pub const ALL: [Lint; 4] = [
        Lint::MissingAsm,
        Lint::MissingDecl,
        Lint::InternalDef,
        Lint::UnexportedRef,
    ];

    /// Its name, as in `lints.<name>`.
    pub fn name(self) -> &'static str {
        match self {
            Lint::MissingAsm => "abi-missing-asm",
            Lint::MissingDecl => "abi-missing-decl",
            Lint::InternalDef => "abi-internal-def",
            Lint::UnexportedRef => "abi-unexported-ref",
        }
    }

    /// Looks a lint up by name.
    pub fn from_name(s: &str) -> Option<Lint> {
        Lint::ALL.into_iter().find(|l| l.name() == s)
    }
}

/// The keys of a `[profile.X.lints]` table: the group `abi`, then each lint.
pub const LINT_KEYS: &[&str] = &[
    "abi",
    "abi-missing-asm",
    "abi-missing-decl",
    "abi-internal-def",
    "abi-unexported-ref",
];

/// Lint levels of a profile: the group level (`lints.abi`) and per-lint
/// overrides (`lints.abi-missing-decl = "deny"`).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LintLevels {
    /// `lints.abi`.
    pub abi: LintLevel,
    /// `lints.<name>`, overriding the group.
    pub overrides: BTreeMap<Lint, LintLevel>,
}

impl LintLevels {
    /// The level of one lint.
    pub fn level(&self, l: Lint) -> LintLevel {
        self.overrides.get(&l).copied().unwrap_or(self.abi)
    }

    /// Sets `lints.<key>`; `Err` names the problem.
    pub fn set(&mut self, key: &str, value: &str) -> std::result::Result<(), String> {
        let level = LintLevel::parse(value).ok_or_else(|| {
            let hint = match did_you_mean(value, ["allow", "warn", "deny"].into_iter()) {
                Some(s) => format!("did you mean \"{s}\"?"),
                None => "\"allow\", \"warn\" or \"deny\"".to_string(),
            };
            format!("bad value {value:?} for `lints.{key}` (hint: {hint})")
        })?;
        if key == "abi" {
            self.abi = level;
        } else {
            let lint = Lint::from_name(key).ok_or_else(|| format!("unknown lint `{key}`"))?;
            self.overrides.insert(lint, level);
        }
        Ok(())
    }
}
