//! GOEXPERIMENT settings: the names the toolchain knows (the fields of
//! `goexperiment.Flags` in GOROOT `src/internal/goexperiment/flags.go`, plus
//! the `regabi` alias and `none`), validation with a did-you-mean, the
//! register-ABI rule of `src/internal/buildcfg/exp.go`, and the effective set
//! as the toolchain itself reports it (`compile -V`: the `X:` part is what
//! goes into every object header, so two sets in one link unit fail).

use std::path::Path;

use crate::toolchain::{Tool, Toolchain};
use crate::util::did_you_mean;

/// The experiment names of a GOROOT, lowercase, sorted.
pub fn known(goroot: &Path) -> Result<Vec<String>, String> {
    let path = goroot.join("src/internal/goexperiment/flags.go");
    let src = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read the experiment list {}: {e}", path.display()))?;
    let mut names = parse_flags_struct(&src);
    if names.is_empty() {
        return Err(format!("no experiments found in {}", path.display()));
    }
    names.push("regabi".into());
    names.sort();
    names.dedup();
    Ok(names)
}

/// The `bool` fields of `type Flags struct { ... }`, lowercased.
fn parse_flags_struct(src: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut inside = false;
    for line in src.lines() {
        let t = line.trim();
        if t.starts_with("type Flags struct") {
            inside = true;
            continue;
        }
        if inside {
            if t.starts_with('}') {
                break;
            }
            let mut words = t.split_whitespace();
            if let (Some(name), Some("bool")) = (words.next(), words.next()) {
                if name.chars().next().is_some_and(|c| c.is_ascii_uppercase()) {
                    names.push(name.to_ascii_lowercase());
                }
            }
        }
    }
    names
}

/// Checks a GOEXPERIMENT value against the known names.
pub fn check(spec: &str, known: &[String]) -> Result<(), String> {
    for item in spec.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        if item == "none" {
            continue;
        }
        let name = item
            .strip_prefix("no")
            .filter(|n| known.iter().any(|k| k == n))
            .unwrap_or(item);
        if !known.iter().any(|k| k == name) {
            let hint = match did_you_mean(name, known.iter().map(String::as_str)) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            return Err(format!(
                "unknown experiment `{item}` (hint: {hint}valid experiments: {})",
                known.join(", ")
            ));
        }
    }
    Ok(())
}

/// Architectures where the register ABI cannot be turned off (exp.go's
/// `regabiAlwaysOn`).
pub const REGABI_ALWAYS_ON: &[&str] = &["amd64", "arm64", "loong64", "ppc64", "ppc64le", "riscv64"];

/// A warning when the spec turns the register ABI off where the toolchain
/// forces it on.
pub fn forced_on_warning(spec: &str, goarch: &str) -> Option<String> {
    let off = spec
        .split(',')
        .map(str::trim)
        .find(|s| matches!(*s, "noregabi" | "noregabiwrappers" | "noregabiargs"))?;
    REGABI_ALWAYS_ON.contains(&goarch).then(|| {
        format!(
            "`{off}` has no effect on GOARCH={goarch}: the register ABI is always on there (internal/buildcfg/exp.go); only s390x can turn it off"
        )
    })
}

/// The effective experiment set as the compiler reports it for this
/// toolchain's target (`X:noregabiwrappers,noregabiargs`, or `""` for the
/// baseline).
pub fn effective(tc: &Toolchain) -> Result<String, String> {
    let mut cmd = duct::cmd(tc.tool(Tool::Compile), ["-V"]);
    for (k, v) in tc.tool_env() {
        cmd = cmd.env(k, v);
    }
    let out = cmd
        .stderr_to_stdout()
        .stdout_capture()
        .unchecked()
        .run()
        .map_err(|e| format!("running compile -V: {e}"))?;
    let text = String::from_utf8_lossy(&out.stdout).trim().to_string();
    if !out.status.success() {
        return Err(text);
    }
    Ok(text
        .split_whitespace()
        .find(|w| w.starts_with("X:"))
        .unwrap_or("")
        .to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_flags_struct() {
        let src = "package goexperiment\n\ntype Flags struct {\n\tFieldTrack        bool\n\t// doc\n\tRegabiWrappers bool\n\tLoopVar bool\n}\n\nvar x bool\n";
        assert_eq!(
            parse_flags_struct(src),
            ["fieldtrack", "regabiwrappers", "loopvar"]
        );
    }

    #[test]
    fn checks_names_with_no_prefix_and_suggests() {
        let known: Vec<String> = ["loopvar", "regabi", "regabiwrappers", "nocheck"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        assert!(check("loopvar,noregabi,none,nocheck", &known).is_ok());
        let e = check("loopvr", &known).unwrap_err();
        assert!(
            e.starts_with("unknown experiment `loopvr` (hint: did you mean `loopvar`?"),
            "{e}"
        );
        assert!(e.contains("valid experiments: loopvar, regabi"), "{e}");
    }

    #[test]
    fn regabi_is_forced_on_amd64_not_s390x() {
        assert!(forced_on_warning("noregabi", "amd64").is_some());
        assert!(forced_on_warning("noregabi", "s390x").is_none());
        assert!(forced_on_warning("regabi", "amd64").is_none());
    }

    #[test]
    fn the_installed_goroot_lists_regabi() {
        let goroot = std::process::Command::new("go")
            .args(["env", "GOROOT"])
            .output()
            .expect("go must be installed for this test");
        let goroot = String::from_utf8(goroot.stdout).unwrap();
        let names = known(Path::new(goroot.trim())).unwrap();
        for n in ["regabi", "regabiwrappers", "regabiargs", "fieldtrack"] {
            assert!(names.iter().any(|k| k == n), "{n} missing from {names:?}");
        }
    }
}
