//! The enabled GOEXPERIMENTs of a target (`internal/buildcfg/exp.go`
//! `ParseGOEXPERIMENT` and `Enabled`): the assembler predefines
//! `GOEXPERIMENT_<name>` for each when assembling a package allowed to use ABI
//! selectors (the runtime and a few others).

use crate::version::GoVersion;

/// The enabled experiments for `goos`/`goarch` under the `GOEXPERIMENT` setting
/// `goexp` in Go release `ver`, in declaration order.
pub(crate) fn enabled(
    goos: &str,
    goarch: &str,
    goexp: Option<&str>,
    ver: GoVersion,
) -> Result<Vec<String>, String> {
    let spec = ver.experiments();
    let flags = spec.flags;
    let regabi_supported = spec.regabi_supported.contains(&goarch);
    let regabi_always_on = spec.regabi_always_on.contains(&goarch);
    let dwarf5 = ver.dwarf5_baseline(goos);
    let spinbit = ver.spinbit_baseline(goarch);
    let mut on: Vec<bool> = flags
        .iter()
        .map(|f| match *f {
            "regabiwrappers" | "regabiargs" => regabi_supported,
            "dwarf5" => dwarf5,
            "spinbitmutex" => spinbit,
            f => spec.baseline.contains(&f),
        })
        .collect();
    let idx = |name: &str| flags.iter().position(|f| *f == name);
    for f in goexp.unwrap_or("").split(',') {
        if f.is_empty() {
            continue;
        }
        if f == "none" {
            on.iter_mut().for_each(|v| *v = false);
            continue;
        }
        let (name, val) = match f.strip_prefix("no") {
            Some(rest) => (rest, false),
            None => (f, true),
        };
        if name == "regabi" {
            for n in ["regabiwrappers", "regabiargs"] {
                if let Some(i) = idx(n) {
                    on[i] = val;
                }
            }
            continue;
        }
        match idx(name) {
            Some(i) => on[i] = val,
            None => return Err(format!("unknown GOEXPERIMENT {name}")),
        }
    }
    for n in ["regabiwrappers", "regabiargs"] {
        if let Some(i) = idx(n) {
            if regabi_always_on {
                on[i] = true;
            }
            if !regabi_supported {
                on[i] = false;
            }
        }
    }
    if let (Some(a), Some(w)) = (idx("regabiargs"), idx("regabiwrappers")) {
        if on[a] && !on[w] {
            return Err("GOEXPERIMENT regabiargs requires regabiwrappers".into());
        }
    }
    Ok(flags
        .iter()
        .zip(on)
        .filter(|(_, v)| *v)
        .map(|(f, _)| f.to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    const V: GoVersion = GoVersion::DEFAULT;

    #[test]
    fn baselines() {
        assert_eq!(
            enabled("linux", "amd64", None, V).unwrap(),
            [
                "regabiwrappers",
                "regabiargs",
                "dwarf5",
                "greenteagc",
                "randomizedheapbase64"
            ]
        );
        assert_eq!(
            enabled("darwin", "386", None, V).unwrap(),
            ["greenteagc", "randomizedheapbase64"]
        );
        assert_eq!(
            enabled("linux", "s390x", Some("noregabi,arenas"), V).unwrap(),
            ["arenas", "dwarf5", "greenteagc", "randomizedheapbase64"]
        );
        assert!(enabled("linux", "amd64", Some("bogus"), V).is_err());
    }
}
