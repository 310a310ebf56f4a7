//! `cargo gobuild cache verify|gc|info`: check every cache object against
//! its digest and remove what is damaged; trim entries unused for an age
//! (default 5 days, like go's cache) or down to a size; show what the cache
//! holds. Each takes the build lock, so it never cuts a running build.

use std::time::{Duration, SystemTime};

use clap::{Args, Subcommand};
use pipeline::cache::trim::TrimPolicy;
use pipeline::cache::{DirLock, LocalCache};

use crate::args::CommonArgs;
use crate::exit::{Failure, Kind};
use crate::report::human::bytes;
use crate::report::{style, HumanReporter};
use crate::workspace;

/// Arguments of `cargo gobuild cache`.
#[derive(Debug, Args)]
pub(crate) struct CacheArgs {
    #[command(subcommand)]
    command: CacheCommand,
}

#[derive(Debug, Subcommand)]
enum CacheCommand {
    /// Hash every object and read every entry; remove objects whose content
    /// does not match their digest and entries that are unreadable or name a
    /// missing object (the next build reruns those actions).
    Verify(CacheCommon),
    /// Remove entries unused for --max-age (default 5d, or
    /// $GOBUILD_CACHE_MAX_AGE) and the objects only they named; with
    /// --max-size, then the least recently used objects until the objects fit.
    ///
    /// Builds do this by themselves at most once a day with the default age.
    Gc(GcArgs),
    /// Show what the cache holds: entries, objects and their size, the
    /// memos beside them, the least recent use, the last trim.
    Info(CacheCommon),
}

#[derive(Debug, Args)]
struct CacheCommon {
    #[command(flatten)]
    common: CommonArgs,
    /// Print the result as one JSON object.
    #[arg(long)]
    json: bool,
}

#[derive(Debug, Args)]
struct GcArgs {
    #[command(flatten)]
    cache: CacheCommon,
    /// Remove entries unused for this long (`5d`, `36h`, `30m`).
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    max_age: Option<Duration>,
    /// Then trim the objects down to this size (`2GiB`, `500MB`, bytes).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    max_size: Option<u64>,
}

fn parse_age(s: &str) -> Result<Duration, String> {
    humantime::parse_duration(s).map_err(|e| format!("{e} (a duration like 5d, 36h or 30m)"))
}

/// `123`, `500KB`, `2MiB`, `1.5GB`…
fn parse_size(s: &str) -> Result<u64, String> {
    let t = s.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (num, unit) = t.split_at(split);
    let n: f64 = num
        .parse()
        .map_err(|_| format!("`{s}` is not a size (like 2GiB, 500MB or 1048576)"))?;
    let mult: f64 = match unit.trim().to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "k" | "kb" => 1e3,
        "kib" => 1024.0,
        "m" | "mb" => 1e6,
        "mib" => 1024.0 * 1024.0,
        "g" | "gb" => 1e9,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        u => {
            return Err(format!(
                "unknown size unit `{u}` (B, KB, KiB, MB, MiB, GB, GiB)"
            ))
        }
    };
    Ok((n * mult) as u64)
}

fn ago(t: Option<SystemTime>) -> String {
    match t.and_then(|t| SystemTime::now().duration_since(t).ok()) {
        Some(d) => {
            let secs = d.as_secs();
            let rounded = Duration::from_secs(if secs >= 3600 { secs / 60 * 60 } else { secs });
            format!("{} ago", humantime::format_duration(rounded))
        }
        None => "never".into(),
    }
}

fn print_json(v: &impl serde::Serialize) -> Result<(), Failure> {
    let line = serde_json::to_string(v)
        .map_err(|e| Failure::new(Kind::Unexpected, format!("JSON: {e}")))?;
    println!("{line}");
    Ok(())
}

/// Runs the command.
pub(crate) fn run(args: &CacheArgs) -> Result<(), Failure> {
    let c = match &args.command {
        CacheCommand::Verify(c) | CacheCommand::Info(c) => c,
        CacheCommand::Gc(g) => &g.cache,
    };
    let cwd = workspace::current_dir().map_err(Failure::loading)?;
    let ws = workspace::locate(
        &cwd,
        c.common.manifest_path.as_deref(),
        c.common.target_dir.as_deref(),
    )
    .map_err(Failure::loading)?;
    let dir = ws.target_dir.join("gobuild");
    let r = HumanReporter::new(c.common.verbosity(), c.common.color);
    let _lock = DirLock::acquire(&dir, || {
        r.status(
            style::PLAIN,
            "Blocking",
            "waiting for a running build to finish",
        )
    })?;
    let cache = LocalCache::open(dir.join("cache"))?;
    match &args.command {
        CacheCommand::Verify(_) => {
            let v = cache.verify_all()?;
            if c.json {
                return print_json(&v);
            }
            r.status(
                if v.bad_objects + v.bad_entries > 0 {
                    style::YELLOW
                } else {
                    style::GREEN
                },
                "Verified",
                &format!(
                    "{} objects ({} damaged, removed), {} entries ({} unusable, removed)",
                    v.objects, v.bad_objects, v.entries, v.bad_entries
                ),
            );
        }
        CacheCommand::Gc(g) => {
            let mut policy = TrimPolicy::from_env().map_err(|e| Failure::new(Kind::Config, e))?;
            if let Some(a) = g.max_age {
                policy.max_age = a;
            }
            policy.max_size = g.max_size;
            let t = cache.trim(&policy, SystemTime::now())?;
            if c.json {
                return print_json(&t);
            }
            r.status(
                style::GREEN,
                "Trimmed",
                &format!(
                    "{} entries, {} objects, {} memo files ({} freed)",
                    t.entries,
                    t.objects,
                    t.memos,
                    bytes(t.bytes)
                ),
            );
        }
        CacheCommand::Info(_) => {
            let i = cache.info();
            if c.json {
                return print_json(&i);
            }
            println!("cache:        {}", i.dir.display());
            println!("entries:      {}", i.entries);
            println!("objects:      {} ({})", i.objects, bytes(i.object_bytes));
            for (name, n, size) in &i.memos {
                println!("{:<13} {n} files ({})", format!("{name}/:"), bytes(*size));
            }
            println!("least recent: {}", ago(i.oldest_use));
            println!("last trim:    {}", ago(i.last_trim));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_units() {
        assert_eq!(parse_size("1048576"), Ok(1048576));
        assert_eq!(parse_size("2GiB"), Ok(2 << 30));
        assert_eq!(parse_size("500MB"), Ok(500_000_000));
        assert_eq!(parse_size("1.5 KiB"), Ok(1536));
        assert!(parse_size("lots").is_err());
        assert!(parse_size("5XB").unwrap_err().contains("unknown size unit"));
    }

    #[test]
    fn bytes_render_for_people() {
        use crate::report::human::bytes;
        assert_eq!(bytes(12), "12 B");
        assert_eq!(bytes(3 << 20), "3.0 MiB");
    }
}
