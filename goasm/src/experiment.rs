//! The enabled GOEXPERIMENTs of a target (`internal/buildcfg/exp.go`
//! `ParseGOEXPERIMENT` and `Enabled`): the assembler predefines
//! `GOEXPERIMENT_<name>` for each when assembling a package allowed to use ABI
//! selectors (the runtime and a few others).

/// The fields of `internal/goexperiment.Flags`, lowercased, in declaration order.
const FLAGS: &[&str] = &[
    "staticlockranking",
    "regabiwrappers",
    "regabiargs",
    "heapminimum512kib",
    "arenas",
    "cgocheck2",
    "loopvar",
    "newinliner",
    "dwarf5",
    "jsonv2",
    "greenteagc",
    "randomizedheapbase64",
    "runtimefreegc",
    "sizespecializedmalloc",
    "goroutineleakprofile",
    "simd",
    "runtimesecret",
];

/// The enabled experiments for `goos`/`goarch` under the `GOEXPERIMENT` setting
/// `goexp`, in declaration order.
pub(crate) fn enabled(
    goos: &str,
    goarch: &str,
    goexp: Option<&str>,
) -> Result<Vec<String>, String> {
    let (regabi_supported, regabi_always_on) = match goarch {
        "amd64" | "arm64" | "loong64" | "ppc64le" | "ppc64" | "riscv64" => (true, true),
        "s390x" => (true, false),
        _ => (false, false),
    };
    let dwarf5 = !matches!(goos, "darwin" | "ios" | "aix");
    let mut on: Vec<bool> = FLAGS
        .iter()
        .map(|f| match *f {
            "regabiwrappers" | "regabiargs" => regabi_supported,
            "dwarf5" => dwarf5,
            "randomizedheapbase64" | "greenteagc" => true,
            _ => false,
        })
        .collect();
    let idx = |name: &str| FLAGS.iter().position(|f| *f == name);
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
    Ok(FLAGS
        .iter()
        .zip(on)
        .filter(|(_, v)| *v)
        .map(|(f, _)| f.to_string())
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn baselines() {
        assert_eq!(
            enabled("linux", "amd64", None).unwrap(),
            [
                "regabiwrappers",
                "regabiargs",
                "dwarf5",
                "greenteagc",
                "randomizedheapbase64"
            ]
        );
        assert_eq!(
            enabled("darwin", "386", None).unwrap(),
            ["greenteagc", "randomizedheapbase64"]
        );
        assert_eq!(
            enabled("linux", "s390x", Some("noregabi,arenas")).unwrap(),
            ["arenas", "dwarf5", "greenteagc", "randomizedheapbase64"]
        );
        assert!(enabled("linux", "amd64", Some("bogus")).is_err());
    }
}
