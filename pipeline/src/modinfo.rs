//! The build info a program carries (`go version -m` reads it back): the
//! text of `runtime/debug.BuildInfo.String`, framed by cmd/go's 16-byte
//! markers (cmd/go/internal/modload `ModInfoData`) and written into the link
//! importcfg as `modinfo "<Go-quoted string>"`.

use std::collections::BTreeMap;

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
}

/// The `BuildInfo.String()` text for main package `main` of `graph`.
pub fn build_info(graph: &PackageGraph, main: usize, s: &BuildSettings) -> String {
    let p = &graph.packages[main];
    let mut out = String::new();
    out.push_str(&format!("path\t{}\n", p.import_path));
    let main_mod = p.module.as_ref().map(|m| m.path.clone());
    if let Some(m) = &p.module {
        format_mod(&mut out, "mod", m);
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
    set("-buildmode", "exe");
    set("-compiler", "gc");
    if !s.gcflags.is_empty() {
        set("-gcflags", &s.gcflags);
    }
    if !s.ldflags.is_empty() && !s.trimpath {
        set("-ldflags", &s.ldflags);
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
    set("CGO_ENABLED", "0");
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
