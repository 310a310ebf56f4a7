//! From parsed flags to the engine's requests: locate the workspace, load its
//! configuration layers, resolve the profile (command-line flags last), and
//! turn targets or package patterns into [`BuildRequest`]s. The `profiles`
//! command ([`crate::cmd::profiles`]) shows the same resolution. Every
//! failure here is a loading failure: exit 102 ([`Failure::loading`]).

use std::path::PathBuf;

use pipeline::build::{BuildRequest, PackageExperiments};
use pipeline::cache::remote::RemoteSettings;
use pipeline::config::{Config, ConfigSource, ConfigValue, Origin, ResolvedProfile, Setting};
use pipeline::toolchain::ToolchainRequest;

use crate::args::{BuildArgs, CommonArgs};
use crate::exit::{Failure, Kind};
use crate::report::timings::TimedSink;
use crate::workspace::{self, RootKind, Workspace};

fn config_failure(message: String) -> Failure {
    Failure::new(Kind::Config, message)
}

/// The workspace and its merged configuration.
pub struct Loaded {
    pub cwd: PathBuf,
    pub ws: Workspace,
    pub config: Config,
}

/// Locates the workspace and loads every configuration layer that applies
/// to the current directory.
pub(crate) fn load(c: &CommonArgs) -> Result<Loaded, Failure> {
    let cwd = workspace::current_dir().map_err(Failure::loading)?;
    let ws = workspace::locate(&cwd, c.manifest_path.as_deref(), c.target_dir.as_deref())
        .map_err(Failure::loading)?;
    let go_dir = cwd
        .ancestors()
        .find(|d| d.join("go.mod").is_file())
        .unwrap_or(&cwd)
        .to_path_buf();
    let config = config_for(&ws, &go_dir)?;
    Ok(Loaded { cwd, ws, config })
}

/// The configuration for the Go module at `go_dir`: built-in layers, the
/// workspace's, then the containing Cargo package's.
fn config_for(ws: &Workspace, go_dir: &std::path::Path) -> Result<Config, Failure> {
    let mut sources = ConfigSource::builtin();
    sources.extend(ws.config_sources.iter().cloned());
    if let Some(p) = workspace::package_source(ws, go_dir).map_err(Failure::loading)? {
        sources.push(p);
    }
    Config::load(&sources).map_err(Failure::loading)
}

/// The selected profile name and where it came from.
pub(crate) fn profile_name(c: &CommonArgs) -> (String, Origin) {
    if let Some(p) = &c.profile {
        return (p.clone(), Origin::other("command line (--profile)"));
    }
    match std::env::var("GOBUILD_PROFILE") {
        Ok(p) if !p.is_empty() => (p, Origin::other("GOBUILD_PROFILE")),
        _ => ("dev".into(), Origin::other("default")),
    }
}

fn cli(flag: &str) -> Origin {
    Origin::other(format!("command line ({flag})"))
}

/// Applies the command-line flags that override profile settings.
pub(crate) fn apply_overrides(
    r: &mut ResolvedProfile,
    c: &CommonArgs,
    b: Option<&BuildArgs>,
) -> Result<(), Failure> {
    let mut set = |key: &str, flag: &str, value: ConfigValue| -> Result<(), Failure> {
        r.set(
            key,
            Setting {
                value,
                origin: cli(flag),
            },
        )
        .map_err(Failure::loading)
    };
    if let Some(v) = &c.goos {
        set("goos", "--goos", ConfigValue::Str(v.clone()))?;
    }
    if let Some(v) = &c.goarch {
        set("goarch", "--goarch", ConfigValue::Str(v.clone()))?;
    }
    let Some(b) = b else { return Ok(()) };
    for (key, flag, v) in [
        ("gcflags", "--gcflags", &b.gcflags),
        ("asmflags", "--asmflags", &b.asmflags),
        ("ldflags", "--ldflags", &b.ldflags),
    ] {
        if let Some(s) = v {
            let words =
                shell_words::split(s).map_err(|e| config_failure(format!("{flag} {s:?}: {e}")))?;
            pipeline::config::check_flags(&words, flag).map_err(config_failure)?;
            set(key, flag, ConfigValue::List(words))?;
        }
    }
    if let Some(t) = &b.tags {
        let tags = t
            .split(',')
            .filter(|s| !s.is_empty())
            .map(String::from)
            .collect();
        set("tags", "--tags", ConfigValue::List(tags))?;
    }
    if b.trimpath {
        set("trimpath", "--trimpath", ConfigValue::Bool(true))?;
    }
    if let Some(m) = &b.symabis {
        set("symabis", "--symabis", ConfigValue::Str(m.clone()))?;
    }
    if let Some(m) = &b.buildmode {
        set("buildmode", "--buildmode", ConfigValue::Str(m.clone()))?;
    }
    Ok(())
}

pub(crate) fn toolchain_request(cfg: &Config, r: &ResolvedProfile) -> ToolchainRequest {
    ToolchainRequest {
        go: cfg.go.as_ref().map(|(p, _)| p.clone()),
        goos: r.goos.clone(),
        goarch: r.goarch.clone(),
        goexperiment: (!r.experiments.is_empty()).then(|| r.experiments.clone()),
        levels: r.levels.clone(),
    }
}

fn jobs(c: &CommonArgs) -> usize {
    c.jobs.unwrap_or_else(|| {
        std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
    })
}

/// The builds `cargo gobuild build` runs: one per `[[target]]` when the
/// config has targets and no packages were named, else one per Go module.
pub(crate) fn build_requests(args: &BuildArgs) -> Result<Vec<BuildRequest>, Failure> {
    let c = &args.common;
    let l = load(c)?;
    let (name, _) = profile_name(c);
    let mut resolved = l.config.resolve(&name).map_err(Failure::loading)?;
    apply_overrides(&mut resolved, c, Some(args))?;
    let output = args.output.as_ref().map(|o| {
        if o.is_absolute() {
            o.clone()
        } else {
            l.cwd.join(o)
        }
    });
    let package_experiments: Vec<PackageExperiments> = l
        .config
        .package_rules
        .iter()
        .filter_map(|r| {
            r.experiments.as_ref().map(|(e, o)| PackageExperiments {
                rule: r.rule.clone(),
                experiments: e.clone(),
                origin: o.to_string(),
            })
        })
        .collect();
    let remote = remote_settings(c, &resolved.profile.remote)?;
    let base =
        |r: &ResolvedProfile, dir: PathBuf, patterns: Vec<String>, label: String| BuildRequest {
            dir,
            patterns,
            target_dir: l.ws.target_dir.clone(),
            profile: r.profile.clone(),
            toolchain: toolchain_request(&l.config, r),
            jobs: jobs(c),
            output: output.clone(),
            intent: pipeline::plan::Intent::Build,
            exe_name: None,
            keep_work_dirs: c.verbose,
            label,
            experiments_origin: r.values.get("experiments").map(|s| s.origin.to_string()),
            package_experiments: package_experiments.clone(),
            remote: remote.clone(),
            test: None,
        };

    let dirs = module_dirs(&l)?;
    if args.packages.is_empty() && !l.config.targets.is_empty() {
        let dir = dirs.first().cloned().unwrap_or_else(|| l.cwd.clone());
        let mut reqs = Vec::new();
        for t in &l.config.targets {
            let mut r = match &t.profile {
                Some(p) => {
                    let mut r = l.config.resolve(p).map_err(|e| {
                        config_failure(format!("{}: [[target]] {}: {e}", t.origin, t.package))
                    })?;
                    apply_overrides(&mut r, c, Some(args))?;
                    r
                }
                None => resolved.clone(),
            };
            if let Some(e) = &t.experiments {
                r.set(
                    "experiments",
                    Setting {
                        value: ConfigValue::Str(e.clone()),
                        origin: t.origin.clone(),
                    },
                )
                .map_err(Failure::loading)?;
            }
            let label = format!("target `{}`", t.name.as_deref().unwrap_or(&t.package));
            let mut req = base(&r, dir.clone(), vec![t.package.clone()], label);
            req.exe_name = t.name.clone();
            reqs.push(req);
        }
        return Ok(reqs);
    }
    let mut reqs = Vec::new();
    for d in dirs {
        // Each Go module of a Cargo workspace gets its package's metadata layer.
        let r = if d == l.cwd {
            resolved.clone()
        } else {
            let cfg = config_for(&l.ws, &d)?;
            let mut r = cfg.resolve(&name).map_err(Failure::loading)?;
            apply_overrides(&mut r, c, Some(args))?;
            r
        };
        let label = format!("profile `{}`", r.name);
        reqs.push(base(&r, d, args.packages.clone(), label));
    }
    Ok(reqs)
}

/// The remote cache of a build: the profile's `[remote]`, then
/// `GOBUILD_REMOTE_CACHE`, then `--remote-cache`; `--no-remote` (or an empty
/// URL) turns it off. Header values named by an environment variable are
/// read here; a variable that is not set is a config error.
pub fn remote_settings(
    c: &CommonArgs,
    p: &pipeline::config::profile::RemoteProfile,
) -> Result<Option<RemoteSettings>, Failure> {
    use pipeline::config::profile::HeaderValue;
    let mut url = p.cache.clone();
    if let Ok(v) = std::env::var("GOBUILD_REMOTE_CACHE") {
        url = (!v.is_empty()).then_some(v);
    }
    if let Some(v) = &c.remote_cache {
        url = (!v.is_empty()).then(|| v.clone());
    }
    let Some(endpoint) = url.filter(|_| !c.no_remote) else {
        return Ok(None);
    };
    if !(endpoint.starts_with("grpc://") || endpoint.starts_with("grpcs://")) {
        return Err(config_failure(format!(
            "remote cache `{endpoint}`: not a grpc://HOST:PORT or grpcs://HOST:PORT address"
        )));
    }
    let mut headers = Vec::new();
    for (name, v) in &p.headers {
        let value = match v {
            HeaderValue::Literal(s) => s.clone(),
            HeaderValue::Env(var) => std::env::var(var).map_err(|_| {
                config_failure(format!(
                    "remote.headers.{name} names ${var}, which is not set (hint: export it, or drop the header)"
                ))
            })?,
        };
        headers.push((name.clone(), value));
    }
    Ok(Some(RemoteSettings {
        server: pipeline::cache::remote::RemoteServer {
            endpoint,
            instance_name: p.instance_name.clone(),
            headers,
            timeout: p.timeout,
        },
        upload: p.upload,
    }))
}

/// Where `go list` runs: the current directory when it is inside a Go
/// module (or not in a Cargo workspace); else each Go module of the Cargo
/// workspace.
fn module_dirs(l: &Loaded) -> Result<Vec<PathBuf>, Failure> {
    let in_module = l.cwd.ancestors().any(|d| d.join("go.mod").is_file());
    if l.ws.kind != RootKind::Cargo || in_module {
        return Ok(vec![l.cwd.clone()]);
    }
    let configured: Vec<String> = l.config.modules.iter().map(|(m, _)| m.clone()).collect();
    let mods = workspace::go_modules(&l.ws, &configured);
    for m in &mods {
        if !m.join("go.mod").is_file() {
            return Err(config_failure(format!(
                "configured Go module {} has no go.mod",
                m.display()
            )));
        }
    }
    if mods.is_empty() {
        return Err(config_failure(format!(
            "no Go module found in the Cargo workspace at {} (hint: run cargo gobuild inside a Go module, or list them with `modules = [\"path\"]` in [workspace.metadata.gobuild])",
            l.ws.root.display()
        )));
    }
    Ok(mods)
}

/// After the builds of a command: the `--timings` reports of `sink` go to
/// `<target-dir>/gobuild/timings` (the target directory found as the
/// builds found it), and their paths to stderr. Nothing without `--timings`.
pub(crate) fn finish_timings(b: &BuildArgs, sink: &TimedSink) {
    if b.timings.is_none() {
        return;
    }
    let dir = load(&b.common)
        .ok()
        .map(|l| l.ws.target_dir.join("gobuild").join("timings"));
    sink.finish(dir.as_deref(), b.common.verbose);
}
