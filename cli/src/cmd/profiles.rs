//! `cargo gobuild profiles [--explain]`: the table of profiles with their
//! effective settings (the toolchain probed for each), and with `--explain`
//! where every value comes from. The resolution itself is
//! [`crate::settings`]'s, the same a build uses.

use clap::Args;
use pipeline::toolchain::Toolchain;

use crate::args::CommonArgs;
use crate::exit::Failure;
use crate::settings;

/// Arguments of `cargo gobuild profiles`.
#[derive(Debug, Args)]
pub(crate) struct ProfilesArgs {
    #[command(flatten)]
    pub(crate) common: CommonArgs,
    /// Say where each value comes from (file:line:col, or the command line).
    #[arg(long)]
    explain: bool,
}

/// Runs the command.
pub(crate) fn run(args: &ProfilesArgs) -> Result<(), Failure> {
    let (c, explain) = (&args.common, args.explain);
    let l = settings::load(c)?;
    let (selected, selected_origin) = settings::profile_name(c);
    let mut rows = Vec::new();
    let mut details = Vec::new();
    for name in l.config.profiles.keys() {
        let mut r = l.config.resolve(name).map_err(Failure::loading)?;
        settings::apply_overrides(&mut r, c, None)?;
        let tc = Toolchain::probe(&settings::toolchain_request(&l.config, &r));
        let (target, effective) = match &tc {
            Ok(tc) => (
                format!("{}/{}", tc.goos(), tc.goarch()),
                match pipeline::config::experiments::effective(tc) {
                    Ok(x) if x.is_empty() => "(baseline)".to_string(),
                    Ok(x) => x,
                    Err(e) => format!("error: {e}"),
                },
            ),
            Err(e) => (
                format!(
                    "{}/{}",
                    r.goos.as_deref().unwrap_or("?"),
                    r.goarch.as_deref().unwrap_or("?")
                ),
                format!("error: {}", e.to_string().lines().next().unwrap_or("")),
            ),
        };
        let mark = if *name == selected { "*" } else { " " };
        let flags = |v: &[String]| {
            if v.is_empty() {
                "-".to_string()
            } else {
                v.join(" ")
            }
        };
        rows.push(vec![
            format!("{mark}{name}"),
            r.chain[1..].join(" < "),
            target,
            if r.experiments.is_empty() {
                "-".into()
            } else {
                r.experiments.clone()
            },
            effective,
            flags(&r.profile.gcflags),
            flags(&r.profile.ldflags),
            r.profile.trimpath.to_string(),
            format!("{:?}", r.profile.symabis).to_lowercase(),
            r.nosplit_headroom.to_string(),
        ]);
        if explain {
            let mut d = format!("[profile.{name}] inherits {}\n", r.chain.join(" < "));
            for (k, s) in &r.values {
                d.push_str(&format!(
                    "  {k:<17} = {:<28} # {}\n",
                    pipeline::config::shown_value(k, &s.value),
                    s.origin
                ));
            }
            details.push(d);
        }
    }
    let header = [
        " PROFILE",
        "INHERITS",
        "TARGET",
        "EXPERIMENTS",
        "EFFECTIVE",
        "GCFLAGS",
        "LDFLAGS",
        "TRIMPATH",
        "SYMABIS",
        "HEADROOM",
    ];
    let mut widths: Vec<usize> = header.iter().map(|h| h.len()).collect();
    for row in &rows {
        for (i, cell) in row.iter().enumerate() {
            widths[i] = widths[i].max(cell.len());
        }
    }
    let line = |cells: Vec<String>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, s)| format!("{s:<w$}", w = widths[i]))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    println!("{}", line(header.iter().map(|s| s.to_string()).collect()));
    for row in rows {
        println!("{}", line(row));
    }
    println!("\n* selected: `{selected}` (from {selected_origin})");
    println!(
        "config sources, later wins: {}",
        l.config.sources.join(" < ")
    );
    if !l.config.targets.is_empty() {
        println!("targets:");
        for t in &l.config.targets {
            println!(
                "  {} ({}){}{}  # {}",
                t.name.as_deref().unwrap_or("-"),
                t.package,
                t.profile
                    .as_deref()
                    .map(|p| format!(" profile {p}"))
                    .unwrap_or_default(),
                t.experiments
                    .as_deref()
                    .map(|e| format!(" experiments {e}"))
                    .unwrap_or_default(),
                t.origin
            );
        }
    }
    if explain {
        println!();
        for d in details {
            println!("{d}");
        }
    }
    Ok(())
}
