//! The tables of a config source, read and checked where their values are
//! (so every error has a `file:line:col`): profile tables with their
//! `nosplit`, `lints` and `remote` sub-tables, `[[target]]`, `[[package]]`,
//! flag lists and package patterns.

use toml_edit::{Item, Table};

use super::*;

pub(super) fn key_span(table: &Table, key: &str) -> Option<std::ops::Range<usize>> {
    table.get_key_value(key).and_then(|(k, _)| k.span())
}

/// Where `key = item` of a table-like is: the key's span, else the item's.
pub(super) fn entry_origin(
    src: &ConfigSource,
    t: &dyn toml_edit::TableLike,
    key: &str,
    item: &Item,
) -> Origin {
    src.location(
        t.get_key_value(key)
            .and_then(|(k, _)| k.span())
            .or_else(|| item.span()),
    )
}

pub(super) fn item_origin(src: &ConfigSource, item: &Item) -> Origin {
    src.location(item.span())
}

pub(super) fn expect_str(src: &ConfigSource, item: &Item, key: &str) -> Result<String> {
    item.as_str()
        .map(str::to_string)
        .ok_or_else(|| config_error(&item_origin(src, item), format!("`{key}` must be a string")))
}

pub(super) fn expect_list(src: &ConfigSource, item: &Item, key: &str) -> Result<Vec<String>> {
    match item.as_value() {
        Some(Value::Array(a)) => a
            .iter()
            .map(|v| {
                v.as_str().map(str::to_string).ok_or_else(|| {
                    config_error(
                        &src.location(v.span()),
                        format!(
                            "`{key}` must be a list of strings; found {}",
                            v.to_string().trim()
                        ),
                    )
                })
            })
            .collect(),
        _ => Err(config_error(
            &item_origin(src, item),
            format!("`{key}` must be a list of strings"),
        )),
    }
}

/// A flags value: a list, or a string split like a shell would.
pub(super) fn expect_flags(src: &ConfigSource, item: &Item, key: &str) -> Result<Vec<String>> {
    let origin = item_origin(src, item);
    let flags = match item.as_str() {
        Some(s) => shell_split(s)
            .ok_or_else(|| config_error(&origin, format!("`{key}` = {s:?}: unbalanced quotes")))?,
        None => expect_list(src, item, key)?,
    };
    check_flags(&flags, key).map_err(|m| config_error(&origin, m))?;
    Ok(flags)
}

/// Rejects flags that cannot be right: empty words, a first word that is
/// not a flag, and the flags cargo gobuild itself sets.
pub fn check_flags(flags: &[String], key: &str) -> std::result::Result<(), String> {
    const OURS: &[&str] = &[
        "-o",
        "-p",
        "-importcfg",
        "-pack",
        "-asmhdr",
        "-symabis",
        "-buildid",
        "-trimpath",
        "-embedcfg",
        "-goversion",
        "-lang",
        "-buildmode",
        "-gensymabis",
    ];
    if let Some(f) = flags.first() {
        if !f.starts_with('-') {
            return Err(format!(
                "bad flag `{f}` in {key} (hint: flags start with `-`, e.g. [\"-N\", \"-l\"])"
            ));
        }
    }
    for f in flags {
        if f.is_empty() {
            return Err(format!("empty flag in {key}"));
        }
        let name = f.split('=').next().unwrap_or(f);
        if OURS.contains(&name) {
            return Err(format!(
                "flag `{f}` in {key} is set by cargo gobuild itself (hint: remove it; see the profile settings for what can be changed)"
            ));
        }
    }
    Ok(())
}

pub(super) fn shell_split(s: &str) -> Option<Vec<String>> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in s.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => cur.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut cur));
                    in_word = false;
                }
            }
            (None, c) => {
                cur.push(c);
                in_word = true;
            }
        }
    }
    if quote.is_some() {
        return None;
    }
    if in_word {
        out.push(cur);
    }
    Some(out)
}

pub(super) fn merge_profile(
    src: &ConfigSource,
    name: &str,
    t: &dyn toml_edit::TableLike,
    def: &mut ProfileDef,
) -> Result<()> {
    for (key, item) in t.iter() {
        let origin = entry_origin(src, t, key, item);
        let full = format!("profile.{name}.{key}");
        let value = match key {
            "inherits" | "experiments" | "goos" | "goarch" | "symabis" | "buildmode" => {
                if key == "experiments" && item.as_array().is_some() {
                    ConfigValue::Str(expect_list(src, item, &full)?.join(","))
                } else {
                    ConfigValue::Str(expect_str(src, item, &full)?)
                }
            }
            k if LEVEL_KEYS.iter().any(|(l, _)| *l == k) => {
                ConfigValue::Str(expect_str(src, item, &full)?)
            }
            "gcflags" | "asmflags" | "ldflags" => {
                ConfigValue::List(expect_flags(src, item, &full)?)
            }
            "tags" => match item.as_str() {
                Some(s) => ConfigValue::List(
                    s.split(',')
                        .filter(|t| !t.is_empty())
                        .map(str::to_string)
                        .collect(),
                ),
                None => ConfigValue::List(expect_list(src, item, &full)?),
            },
            "trimpath" => ConfigValue::Bool(item.as_bool().ok_or_else(|| {
                config_error(
                    &item_origin(src, item),
                    format!("`{full}` must be true or false"),
                )
            })?),
            "nosplit" => {
                let nt = item.as_table_like().ok_or_else(|| {
                    config_error(
                        &origin,
                        format!("`{full}` must be a table (nosplit.headroom = N)"),
                    )
                })?;
                for (nk, nv) in nt.iter() {
                    let norigin = entry_origin(src, nt, nk, nv);
                    if nk != "headroom" {
                        return Err(unknown_key(
                            &norigin,
                            nk,
                            &format!("[profile.{name}.nosplit]"),
                            NOSPLIT_KEYS,
                        ));
                    }
                    let n = nv.as_integer().filter(|n| *n >= 0).ok_or_else(|| {
                        config_error(
                            &item_origin(src, nv),
                            format!("`profile.{name}.nosplit.headroom` must be a non-negative integer (bytes); found {}", nv.to_string().trim()),
                        )
                    })?;
                    def.values.insert(
                        "nosplit.headroom".into(),
                        Setting {
                            value: ConfigValue::Int(n),
                            origin: norigin,
                        },
                    );
                }
                continue;
            }
            "remote" => {
                let rt = item
                    .as_table_like()
                    .ok_or_else(|| config_error(&origin, format!("`{full}` must be a table")))?;
                merge_remote(src, &full, rt, def)?;
                continue;
            }
            "lints" => {
                let lt = item.as_table_like().ok_or_else(|| {
                    config_error(
                        &origin,
                        format!("`{full}` must be a table (lints.abi = \"warn\")"),
                    )
                })?;
                for (lk, lv) in lt.iter() {
                    let lorigin = entry_origin(src, lt, lk, lv);
                    if !crate::config::lints::LINT_KEYS.contains(&lk) {
                        return Err(unknown_key(
                            &lorigin,
                            lk,
                            &format!("[profile.{name}.lints]"),
                            crate::config::lints::LINT_KEYS,
                        ));
                    }
                    let v = expect_str(src, lv, &format!("profile.{name}.lints.{lk}"))?;
                    // Checked here, where the value's position is known.
                    crate::config::lints::LintLevels::default()
                        .set(lk, &v)
                        .map_err(|m| config_error(&item_origin(src, lv), m))?;
                    def.values.insert(
                        format!("lints.{lk}"),
                        Setting {
                            value: ConfigValue::Str(v),
                            origin: lorigin,
                        },
                    );
                }
                continue;
            }
            other => {
                return Err(unknown_key(
                    &origin,
                    other,
                    &format!("[profile.{name}]"),
                    PROFILE_KEYS,
                ));
            }
        };
        def.values
            .insert(key.to_string(), Setting { value, origin });
    }
    Ok(())
}

/// A `remote` table (`[remote]` or `[profile.X.remote]`, named `table`).
pub(super) fn merge_remote(
    src: &ConfigSource,
    table: &str,
    t: &dyn toml_edit::TableLike,
    def: &mut ProfileDef,
) -> Result<()> {
    for (key, item) in t.iter() {
        let origin = entry_origin(src, t, key, item);
        let full = format!("{table}.{key}");
        let value = match key {
            "cache" => {
                let v = expect_str(src, item, &full)?;
                if !(v.is_empty() || v.starts_with("grpc://") || v.starts_with("grpcs://")) {
                    return Err(config_error(
                        &item_origin(src, item),
                        format!("`{full}` must be a grpc://HOST:PORT or grpcs://HOST:PORT address (or \"\" for none); found {v:?}"),
                    ));
                }
                ConfigValue::Str(v)
            }
            "instance_name" => ConfigValue::Str(expect_str(src, item, &full)?),
            "timeout" => {
                let v = expect_str(src, item, &full)?;
                humantime::parse_duration(&v).map_err(|e| {
                    config_error(
                        &item_origin(src, item),
                        format!("`{full}` must be a duration like \"30s\": {e}"),
                    )
                })?;
                ConfigValue::Str(v)
            }
            "upload" => ConfigValue::Bool(item.as_bool().ok_or_else(|| {
                config_error(
                    &item_origin(src, item),
                    format!("`{full}` must be true or false"),
                )
            })?),
            "headers" => {
                let ht = item.as_table_like().ok_or_else(|| {
                    config_error(
                        &origin,
                        format!("`{full}` must be a table of header = \"value\" or header = {{ env = \"VAR\" }}"),
                    )
                })?;
                for (hk, hv) in ht.iter() {
                    let horigin = entry_origin(src, ht, hk, hv);
                    let v = if let Some(s) = hv.as_str() {
                        format!("value:{s}")
                    } else if let Some(env) = hv
                        .as_table_like()
                        .and_then(|e| e.get("env"))
                        .and_then(Item::as_str)
                    {
                        format!("env:{env}")
                    } else {
                        return Err(config_error(
                            &item_origin(src, hv),
                            format!("`{full}.{hk}` must be a string or {{ env = \"VAR\" }}"),
                        ));
                    };
                    def.values.insert(
                        format!("remote.headers.{hk}"),
                        Setting {
                            value: ConfigValue::Str(v),
                            origin: horigin,
                        },
                    );
                }
                continue;
            }
            other => {
                return Err(unknown_key(
                    &origin,
                    other,
                    &format!("[{table}]"),
                    REMOTE_KEYS,
                ));
            }
        };
        def.values
            .insert(format!("remote.{key}"), Setting { value, origin });
    }
    Ok(())
}

pub(super) fn parse_target(src: &ConfigSource, t: &Table) -> Result<TargetDef> {
    let origin = src.location(t.span());
    let mut def = TargetDef {
        package: String::new(),
        name: None,
        profile: None,
        experiments: None,
        origin: origin.clone(),
    };
    for (key, item) in t.iter() {
        let korigin = src.location(key_span(t, key).or_else(|| item.span()));
        let v = match key {
            "package" | "name" | "profile" | "experiments" => {
                expect_str(src, item, &format!("target.{key}"))?
            }
            other => return Err(unknown_key(&korigin, other, "[[target]]", TARGET_KEYS)),
        };
        match key {
            "package" => def.package = v,
            "name" => {
                if v.is_empty() || v.contains('/') {
                    return Err(config_error(
                        &item_origin(src, item),
                        format!("bad target name {v:?} (hint: a file name, without `/`)"),
                    ));
                }
                def.name = Some(v)
            }
            "profile" => def.profile = Some(v),
            _ => def.experiments = Some(v),
        }
    }
    if def.package.is_empty() {
        return Err(config_error(
            &origin,
            "[[target]] needs `package` (the main package to build)",
        ));
    }
    Ok(def)
}

pub(super) fn parse_package_rule(src: &ConfigSource, t: &Table) -> Result<PackageRuleDef> {
    let origin = src.location(t.span());
    let mut rule = PackageRule {
        pattern: String::new(),
        gcflags: vec![],
        asmflags: vec![],
    };
    let mut experiments = None;
    for (key, item) in t.iter() {
        let korigin = src.location(key_span(t, key).or_else(|| item.span()));
        match key {
            "match" => {
                let p = expect_str(src, item, "package.match")?;
                check_pattern(&p).map_err(|m| config_error(&item_origin(src, item), m))?;
                rule.pattern = p;
            }
            "gcflags" => rule.gcflags = expect_flags(src, item, "package.gcflags")?,
            "asmflags" => rule.asmflags = expect_flags(src, item, "package.asmflags")?,
            "experiments" => {
                experiments = Some((
                    expect_str(src, item, "package.experiments")?,
                    item_origin(src, item),
                ))
            }
            other => return Err(unknown_key(&korigin, other, "[[package]]", PACKAGE_KEYS)),
        }
    }
    if rule.pattern.is_empty() {
        return Err(config_error(
            &origin,
            "[[package]] needs `match` (a package pattern such as \"example.com/mod/...\")",
        ));
    }
    Ok(PackageRuleDef {
        rule,
        experiments,
        origin,
    })
}

/// Validates a package pattern (`example.com/mod/...`, `./internal/...`, `std`).
pub fn check_pattern(p: &str) -> std::result::Result<(), String> {
    let bad = |why: &str| Err(format!("bad package pattern {p:?}: {why}"));
    if p.is_empty() {
        return bad("empty");
    }
    if p.starts_with('-') {
        return bad("patterns do not start with `-`");
    }
    if p.starts_with('.') {
        return bad(
            "use an import path pattern such as \"example.com/mod/...\", not a relative one",
        );
    }
    if p.chars()
        .any(|c| c.is_whitespace() || c == '\\' || c == '"' || c == '\'')
    {
        return bad("no spaces, quotes or backslashes");
    }
    if p.contains("//") || (p.ends_with('/') && p != "/") {
        return bad("empty path element");
    }
    if p.contains("....") {
        return bad("`...` is the only wildcard");
    }
    Ok(())
}
