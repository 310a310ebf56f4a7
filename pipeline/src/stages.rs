//! Per action kind: the exact tool command `go build` would run for the same
//! package and Go version (mirroring `cmd/go/internal/work/gc.go`: `gc`,
//! `asmArgs`, `symabis`, `asm`, `pack`, `ld`), the files to lay out in the
//! action's work directory, and the named inputs of its cache key.
//!
//! A command is data ([`ToolCommand`]) before it is a process: `-v`, cache
//! keys and the drift test against `go build -n` all read the same value.
//! Commands name the action's private work directory as `$WORK` and cache
//! objects by their real path; keys see neither path (see [`crate::cache`]).
//!
//! What enters a key, per kind:
//! - symabis: the tool, its normalized arguments and environment, the digests
//!   of the `.s` files, of the package's `.h` files and of `GOROOT/pkg/include`.
//! - compile: the tool, arguments (minus `-buildid`, which is derived from the
//!   key, and the scheduling-only `-c=N`), environment, the Go and embedded
//!   files, the **symabis content** (not the `.s` files: editing an assembly
//!   function body does not recompile Go), and per import its **export data**
//!   digest (early cut-off).
//! - asm: like symabis plus the `go_asm.h` the compile wrote.
//! - pack: the digests of the archive and objects it joins.
//! - link: the tool, arguments, environment, every archive of the link set by
//!   content, and the build info (modinfo).
//!
//! Absolute paths enter a key only where the tool writes them into its
//! output: the package directory of a non-GOROOT package without trimpath
//! (file names in line tables), and GOROOT for link without trimpath
//! (`runtime.GOROOT`).

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use crate::cache::{Cache, ContentDigest, ExportDigest, KeyInputs};
use crate::config::profile::{Profile, SymabisMode};
use crate::error::{Error, Result};
use crate::fshash::FileHasher;
use crate::load::{self, GoPackage, PackageGraph};
use crate::modinfo;
use crate::plan::{compile_imports, link_deps, Action, ActionGraph, ActionId, ActionKind};
use crate::toolchain::{GoVersion, Tool, Toolchain};

/// The placeholder for an action's private work directory in commands.
pub const WORK: &str = "$WORK";

/// A tool invocation as data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolCommand {
    /// The tool.
    pub program: PathBuf,
    /// Its arguments (may contain [`WORK`]).
    pub args: Vec<String>,
    /// Environment set on top of the inherited one.
    pub env: Vec<(String, String)>,
    /// Working directory.
    pub cwd: PathBuf,
}

impl ToolCommand {
    /// The command with `$WORK` replaced by `work`.
    pub fn in_work_dir(&self, work: &Path) -> ToolCommand {
        let w = work.display().to_string();
        ToolCommand {
            program: self.program.clone(),
            args: self.args.iter().map(|a| a.replace(WORK, &w)).collect(),
            env: self.env.clone(),
            cwd: self.cwd.clone(),
        }
    }

    /// A copy-pasteable shell line: `cd DIR && VAR=... tool args`.
    pub fn shell_line(&self) -> String {
        let mut s = format!("cd {} && ", shell_quote(&self.cwd.display().to_string()));
        for (k, v) in &self.env {
            s.push_str(&format!("{k}={} ", shell_quote(v)));
        }
        s.push_str(&shell_quote(&self.program.display().to_string()));
        for a in &self.args {
            s.push(' ');
            s.push_str(&shell_quote(a));
        }
        s
    }
}

/// Quotes a word for a POSIX shell only when it needs it (`-lang=go1.22`
/// stays bare; `$WORK=>` is single-quoted).
pub fn shell_quote(w: &str) -> String {
    let safe = |c: char| c.is_ascii_alphanumeric() || "-_./=:,+@%^".contains(c);
    if !w.is_empty() && w.chars().all(safe) {
        w.to_string()
    } else {
        format!("'{}'", w.replace('\'', "'\\''"))
    }
}

/// How a work-directory file gets its content before the step runs.
#[derive(Debug, Clone)]
pub enum WorkFile {
    /// Literal content.
    Content(Vec<u8>),
    /// A cache object, linked or copied in.
    Object(ContentDigest),
}

/// What an action does once its key missed.
#[derive(Debug, Clone)]
pub enum Step {
    /// Run a Go tool.
    Tool(ToolCommand),
    /// Append objects to an archive (cmd/go does this in-process too).
    Pack {
        /// The compiled archive.
        archive: ContentDigest,
        /// `(member name, object)` in order.
        objects: Vec<(String, ContentDigest)>,
    },
    /// The nosplit stack check over a link set, in-process.
    Nosplit {
        /// The main package's archive.
        main: ContentDigest,
        /// `(import path, archive)` of the rest of the link set.
        libs: Vec<(String, ContentDigest)>,
        /// GOOS, GOARCH and the headroom.
        options: goobj::StackCheckOptions,
    },
    /// The expectations of the post-link ABI check, in-process.
    AbiReport {
        /// The main package.
        main: usize,
    },
    /// Scan assembly for symabis in-process.
    NativeSymabis {
        /// The scanner's options, as `asm -gensymabis` gets them, but for the
        /// work directory (with the empty go_asm.h) that goes first in the
        /// include path at run time.
        options: goasm::Options,
        /// The `.s` files.
        files: Vec<PathBuf>,
    },
}

/// A prepared action: its key inputs and what to do on a miss.
#[derive(Debug, Clone)]
pub struct Prepared {
    /// Stable name of the action across builds (for `-v`'s "why").
    pub identity: String,
    /// Named key inputs.
    pub inputs: KeyInputs,
    /// What to run.
    pub step: Step,
    /// Files to lay out in the work directory first.
    pub work_files: Vec<(String, WorkFile)>,
    /// Names of the outputs the step writes in the work directory.
    pub outputs: Vec<String>,
}

/// What a finished action produced.
#[derive(Debug, Clone, Default)]
pub struct ActionOutput {
    /// Output name → object.
    pub outputs: BTreeMap<String, ContentDigest>,
    /// For compile: digest of the export data.
    pub export: Option<ExportDigest>,
    /// For a package archive: its digest with the build ID blanked.
    pub code: Option<ContentDigest>,
}

impl ActionOutput {
    /// The digest the link-set stages key an archive on: the archive
    /// modulo its build ID (an edit that leaves the generated code alone,
    /// such as a comment, then reuses the check and the link), else its
    /// content digest.
    fn archive_key(&self) -> Result<ContentDigest> {
        match self.code {
            Some(d) => Ok(d),
            None => self.get("_pkg_.a"),
        }
    }

    fn get(&self, name: &str) -> Result<ContentDigest> {
        self.outputs.get(name).copied().ok_or_else(|| Error::Tool {
            program: "cargo gobuild".into(),
            message: format!("internal: action output {name} missing"),
        })
    }
}

/// Digests of the tools, and of `GOROOT/pkg/include/*` by file name.
pub type ToolchainDigests = (HashMap<Tool, ContentDigest>, Vec<(String, ContentDigest)>);

/// The static inputs of a build: what every action reads and nobody changes.
pub struct BuildContext<'a> {
    /// The toolchain of the target.
    pub tc: &'a Toolchain,
    /// The loaded packages.
    pub graph: &'a PackageGraph,
    /// The planned actions.
    pub actions: &'a ActionGraph,
    /// The resolved profile.
    pub profile: &'a Profile,
    /// The action cache.
    pub cache: &'a Cache,
    /// Source digests.
    pub hasher: &'a FileHasher,
    /// Packages named by the patterns (profile flags apply to them and to the main modules' packages).
    pub roots: HashSet<usize>,
    /// `-c=N` for compile (scheduling only; not in keys).
    pub compile_concurrency: usize,
    /// Digests of the tools, computed once.
    pub tool_digests: HashMap<Tool, ContentDigest>,
    /// Digests of `GOROOT/pkg/include/*`.
    pub include_digests: Vec<(String, ContentDigest)>,
    /// Per main package: the repository state go build would stamp.
    pub vcs: HashMap<usize, modinfo::VcsInfo>,
}

impl<'a> BuildContext<'a> {
    /// Hashes the tools and GOROOT's assembly headers.
    pub fn digest_toolchain(tc: &Toolchain, hasher: &FileHasher) -> Result<ToolchainDigests> {
        let mut tools = HashMap::new();
        let mut wanted = vec![Tool::Asm, Tool::Compile, Tool::Link];
        if tc.has_preprofile() && tc.tool(Tool::Preprofile).is_file() {
            wanted.push(Tool::Preprofile);
        }
        for t in wanted {
            let path = tc.tool(t);
            let d = hasher.digest(&path).map_err(|_| Error::Toolchain {
                message: format!(
                    "the Go tool {} is missing (hint: is GOROOT {} a complete Go installation?)",
                    path.display(),
                    tc.goroot().display()
                ),
            })?;
            tools.insert(t, d);
        }
        let inc = tc.include_dir();
        let mut includes = Vec::new();
        if let Ok(rd) = std::fs::read_dir(&inc) {
            for e in rd.flatten() {
                let p = e.path();
                if p.is_file() {
                    includes.push((
                        e.file_name().to_string_lossy().into_owned(),
                        hasher.digest(&p)?,
                    ));
                }
            }
        }
        includes.sort();
        Ok((tools, includes))
    }

    /// The action a map of the plan holds for a package (an internal error,
    /// not a panic, if the plan lacks it).
    fn planned(&self, map: &HashMap<usize, ActionId>, pkg: usize) -> Result<ActionId> {
        map.get(&pkg).copied().ok_or_else(|| Error::Tool {
            program: "cargo gobuild".into(),
            message: format!(
                "internal: no planned action for {}",
                self.graph.packages[pkg].import_path
            ),
        })
    }

    fn pkg(&self, action: &Action) -> &'a GoPackage {
        &self.graph.packages[action.pkg]
    }

    /// Flags that apply to a package: the profile's for the requested
    /// packages, then every matching package rule.
    fn package_flags(&self, pkg: usize, which: FlagKind) -> Vec<String> {
        let p = &self.graph.packages[pkg];
        let mut flags = Vec::new();
        // Profile flags apply to the workspace's own packages: those of its
        // main modules, and the packages named on the command line.
        let own = p.module.as_ref().is_some_and(|m| m.main);
        if own || self.roots.contains(&pkg) {
            flags.extend(match which {
                FlagKind::Gc => self.profile.gcflags.iter().cloned(),
                FlagKind::Asm => self.profile.asmflags.iter().cloned(),
            });
        }
        for rule in &self.profile.package_rules {
            if rule.matches(p.base_path(), p.goroot) {
                flags.extend(match which {
                    FlagKind::Gc => rule.gcflags.iter().cloned(),
                    FlagKind::Asm => rule.asmflags.iter().cloned(),
                });
            }
        }
        flags
    }

    /// The `-trimpath` argument (`a.trimpath()` in gc.go).
    fn trimpath_arg(&self, p: &GoPackage) -> String {
        let mut rewrite = String::new();
        if self.profile.trimpath {
            let to = match &p.module {
                Some(m) if !m.version.is_empty() => format!(
                    "{}@{}{}",
                    m.path,
                    m.version,
                    p.base_path().strip_prefix(&m.path).unwrap_or("")
                ),
                _ => p.base_path().to_string(),
            };
            rewrite.push_str(&format!("{}=>{};", p.dir, to));
        }
        rewrite.push_str(WORK);
        rewrite.push_str("=>");
        rewrite
    }

    fn common_key(&self, tool: Option<Tool>, p: &GoPackage) -> KeyInputs {
        let mut k = KeyInputs::default();
        if let Some(t) = tool {
            k.add("tool", self.tool_digests[&t].to_hex());
        }
        for (name, v) in self.tc.tool_env() {
            if name != "GOROOT" {
                k.add(format!("env {name}"), v);
            }
        }
        if !p.goroot && !self.profile.trimpath {
            k.add("dir", p.dir.clone());
        }
        k
    }

    /// Adds the normalized arguments (paths replaced by placeholders) to a key.
    fn add_args(&self, k: &mut KeyInputs, p: &GoPackage, args: &[String], skip: &[&str]) {
        let goroot = self.tc.var("GOROOT");
        let mut out = Vec::new();
        let mut it = args.iter().peekable();
        while let Some(a) = it.next() {
            if skip.iter().any(|s| a == s) {
                it.next(); // and its value
                continue;
            }
            if a.starts_with("-c=") || a.starts_with("-buildid=") {
                continue;
            }
            let mut a = a.replace(&p.dir, "$DIR");
            if !goroot.is_empty() {
                a = a.replace(goroot, "$GOROOT");
            }
            out.push(a);
        }
        k.add("args", out.join("\x1f"));
    }

    fn add_files<'f>(
        &self,
        k: &mut KeyInputs,
        p: &GoPackage,
        files: impl IntoIterator<Item = &'f String>,
    ) -> Result<()> {
        for f in files {
            k.add(
                format!("file {f}"),
                self.hasher.digest(&p.file(f))?.to_hex(),
            );
        }
        Ok(())
    }

    fn add_asm_includes(&self, k: &mut KeyInputs, p: &GoPackage) -> Result<()> {
        self.add_files(k, p, &p.h_files)?;
        for (name, d) in &self.include_digests {
            k.add(format!("include {name}"), d.to_hex());
        }
        Ok(())
    }

    /// asm's arguments up to the mode flags (`asmArgs` in gc.go).
    fn asm_args(&self, action: &Action) -> Vec<String> {
        let p = self.pkg(action);
        let defines = self.tc.asm_defines();
        let mut args = vec![
            "-p".to_string(),
            p.compile_path().to_string(),
            "-trimpath".into(),
            self.trimpath_arg(p),
            "-I".into(),
            format!("{WORK}/"),
            "-I".into(),
            self.tc.include_dir().display().to_string(),
        ];
        for d in &defines[..2] {
            args.push("-D".into());
            args.push(d.clone());
        }
        args.extend(self.package_flags(action.pkg, FlagKind::Asm));
        // Go 1.27+ marks standard-library assembly (linkname checks read it).
        if p.standard
            && self.tc.version
                >= (GoVersion {
                    major: 1,
                    minor: 27,
                    patch: 0,
                })
        {
            args.push("-std".into());
        }
        for d in &defines[2..] {
            args.push("-D".into());
            args.push(d.clone());
        }
        args
    }

    fn tool_command(&self, tool: Tool, args: Vec<String>, cwd: &str) -> ToolCommand {
        ToolCommand {
            program: self.tc.tool(tool),
            args,
            env: self.tc.tool_env(),
            cwd: PathBuf::from(cwd),
        }
    }

    fn identity(&self, action: &Action) -> String {
        let p = self.pkg(action);
        let file = match &action.kind {
            ActionKind::Asm { file } => format!(" {file}"),
            _ => String::new(),
        };
        // Two checkouts of one module are different actions.
        let place = if p.goroot {
            String::new()
        } else {
            format!(" in {}", p.dir)
        };
        format!(
            "{} {}{}{} {}/{} {}",
            action.kind.name(),
            p.import_path,
            file,
            place,
            self.tc.goos(),
            self.tc.goarch(),
            self.profile.name
        )
    }

    /// Prepares an action whose dependencies are done (`done` holds their outputs).
    pub fn prepare(&self, id: ActionId, done: &[OnceLock<ActionOutput>]) -> Result<Prepared> {
        let action = &self.actions.actions[id.0];
        let out = |a: ActionId| -> Result<&ActionOutput> {
            done[a.0].get().ok_or_else(|| Error::Tool {
                program: "cargo gobuild".into(),
                message: format!("internal: dependency {} of {} not done", a.0, id.0),
            })
        };
        let identity = self.identity(action);
        match &action.kind {
            ActionKind::Symabis => self.prepare_symabis(action, identity),
            ActionKind::Compile => self.prepare_compile(action, identity, &out),
            ActionKind::Asm { file } => self.prepare_asm(action, file, identity, &out),
            ActionKind::Pack => {
                let p = self.pkg(action);
                let archive = out(action.deps[0])?.get("_pkg_.a")?;
                let mut objects = Vec::new();
                let mut k = KeyInputs::default();
                k.add("step", "pack r (cmd/go packInternal)");
                k.add("archive", archive.to_hex());
                for (dep, f) in action.deps[1..].iter().zip(&p.s_files) {
                    let name = object_name(f);
                    let d = out(*dep)?.get(&name)?;
                    k.add(format!("object {name}"), d.to_hex());
                    objects.push((name, d));
                }
                Ok(Prepared {
                    identity,
                    inputs: k,
                    step: Step::Pack { archive, objects },
                    work_files: vec![],
                    outputs: vec!["_pkg_.a".into()],
                })
            }
            ActionKind::Link => self.prepare_link(action, identity, &out),
            ActionKind::AbiReport => {
                let mut k = KeyInputs::default();
                k.add("step", format!("abi-report {}", env!("CARGO_PKG_VERSION")));
                k.add("target", format!("{}/{}", self.tc.goos(), self.tc.goarch()));
                for (path, d) in self.link_set_keys(action, &out)? {
                    k.add(format!("archive {path}"), d.to_hex());
                }
                // The report reads the symabis of the link set's packages too.
                for p in std::iter::once(action.pkg).chain(link_deps(self.graph, action.pkg)) {
                    if let Some(sid) = self.actions.symabis.get(&p) {
                        let d = out(*sid)?.get("symabis")?;
                        k.add(
                            format!("symabis {}", self.graph.packages[p].import_path),
                            d.to_hex(),
                        );
                    }
                }
                Ok(Prepared {
                    identity,
                    inputs: k,
                    step: Step::AbiReport { main: action.pkg },
                    work_files: vec![],
                    outputs: vec!["abi-expect.json".into()],
                })
            }
            ActionKind::Preprofile => {
                let profile = self
                    .actions
                    .preprofile
                    .iter()
                    .find(|(_, a)| **a == id)
                    .map(|(f, _)| f.clone())
                    .ok_or_else(|| Error::Tool {
                        program: "cargo gobuild".into(),
                        message: "internal: preprofile action without a profile".into(),
                    })?;
                let mut k = KeyInputs::default();
                k.add(
                    "tool",
                    self.tool_digests
                        .get(&Tool::Preprofile)
                        .map(|d| d.to_hex())
                        .unwrap_or_default(),
                );
                k.add("profile", self.hasher.digest(&profile)?.to_hex());
                let args = vec![
                    "-o".to_string(),
                    format!("{WORK}/pgo.preprofile"),
                    "-i".into(),
                    profile.display().to_string(),
                ];
                Ok(Prepared {
                    identity: format!("preprofile {}", profile.display()),
                    inputs: k,
                    step: Step::Tool(self.tool_command(
                        Tool::Preprofile,
                        args,
                        &self.pkg(action).dir,
                    )),
                    work_files: vec![],
                    outputs: vec!["pgo.preprofile".into()],
                })
            }
            ActionKind::Nosplit => {
                let (main, libs) = self.link_set(action, &out)?;
                let mut k = KeyInputs::default();
                k.add(
                    "step",
                    format!("nosplit (goobj {})", env!("CARGO_PKG_VERSION")),
                );
                for (path, d) in self.link_set_keys(action, &out)? {
                    k.add(format!("archive {path}"), d.to_hex());
                }
                let options = goobj::StackCheckOptions {
                    goarch: self.tc.goarch().to_string(),
                    goos: self.tc.goos().to_string(),
                    race: false,
                    headroom: self.profile.nosplit_headroom,
                    entry: String::new(),
                };
                k.add("options", format!("{options:?}"));
                Ok(Prepared {
                    identity,
                    inputs: k,
                    step: Step::Nosplit {
                        main,
                        libs,
                        options,
                    },
                    work_files: vec![],
                    outputs: vec!["report.json".into()],
                })
            }
        }
    }

    fn prepare_symabis(&self, action: &Action, identity: String) -> Result<Prepared> {
        let p = self.pkg(action);
        let files: Vec<PathBuf> = p.s_files.iter().map(|f| p.file(f)).collect();
        let mut args = self.asm_args(action);
        args.extend(["-gensymabis".into(), "-o".into(), format!("{WORK}/symabis")]);
        args.extend(files.iter().map(|f| f.display().to_string()));
        let native = self.profile.symabis == SymabisMode::Native;
        let mut k = self.common_key(if native { None } else { Some(Tool::Asm) }, p);
        if native {
            k.add(
                "scanner",
                format!(
                    "goasm {} r{}",
                    env!("CARGO_PKG_VERSION"),
                    goasm::SCANNER_REVISION
                ),
            );
        }
        self.add_args(&mut k, p, &args, &[]);
        self.add_files(&mut k, p, &p.s_files)?;
        self.add_asm_includes(&mut k, p)?;
        let step = if native {
            let defines = self.tc.asm_defines();
            let mut include_dirs = vec![self.tc.include_dir()];
            let flags = self.package_flags(action.pkg, FlagKind::Asm);
            let mut extra_defines = Vec::new();
            let mut it = flags.iter();
            while let Some(f) = it.next() {
                match f.as_str() {
                    "-D" => extra_defines.extend(it.next().cloned()),
                    "-I" => include_dirs.extend(it.next().map(PathBuf::from)),
                    s if s.starts_with("-D") => {
                        extra_defines.push(s[2..].trim_start_matches('=').to_string())
                    }
                    s if s.starts_with("-I") => {
                        include_dirs.push(PathBuf::from(s[2..].trim_start_matches('=')))
                    }
                    _ => {}
                }
            }
            let mut all_defines: Vec<String> = defines[..2].to_vec();
            all_defines.extend(extra_defines);
            all_defines.extend(defines[2..].iter().cloned());
            Step::NativeSymabis {
                options: goasm::Options {
                    goos: self.tc.goos().to_string(),
                    goarch: self.tc.goarch().to_string(),
                    include_dirs,
                    defines: all_defines,
                    pkgpath: Some(p.compile_path().to_string()),
                    goexperiment: Some(self.tc.goexperiment().to_string())
                        .filter(|e| !e.is_empty()),
                    shared: false,
                    // asm runs in the package directory.
                    work_dir: Some(PathBuf::from(&p.dir)),
                    go_version: Some((self.tc.version.major, self.tc.version.minor)),
                },
                files,
            }
        } else {
            Step::Tool(self.tool_command(Tool::Asm, args, &p.dir))
        };
        Ok(Prepared {
            identity,
            inputs: k,
            step,
            // cmd/go scans with an empty go_asm.h (the real one does not exist yet).
            work_files: vec![("go_asm.h".into(), WorkFile::Content(Vec::new()))],
            outputs: vec!["symabis".into()],
        })
    }

    fn prepare_compile<'o>(
        &self,
        action: &Action,
        identity: String,
        out: &dyn Fn(ActionId) -> Result<&'o ActionOutput>,
    ) -> Result<Prepared> {
        let p = self.pkg(action);
        let has_asm = !p.s_files.is_empty();
        let tc = self.tc;
        let mut k = self.common_key(Some(Tool::Compile), p);

        // -lang: the module's go version, else the toolchain's (gc.go).
        let lang = match &p.module {
            Some(m) if !p.standard => {
                let v = if m.go_version.is_empty() {
                    "1.16"
                } else {
                    &m.go_version
                };
                let v = GoVersion::parse(&format!("go{v}"))
                    .filter(|v| *v <= tc.version)
                    .unwrap_or(tc.version);
                v.lang()
            }
            _ => tc.version.lang(),
        };
        let mut args = vec![
            "-o".to_string(),
            format!("{WORK}/_pkg_.a"),
            "-trimpath".into(),
            self.trimpath_arg(p),
            "-p".into(),
            p.compile_path().to_string(),
        ];
        // Go 1.22 passes -lang only for packages in a module; 1.23+ always.
        if p.module.is_some()
            || tc.version
                >= (GoVersion {
                    major: 1,
                    minor: 23,
                    patch: 0,
                })
        {
            args.push(format!("-lang={lang}"));
        }
        if p.standard {
            args.push("-std".into());
        }
        let mut ext = p.non_go_files() + p.s_files.len() + p.syso_files.len();
        if p.standard && COMPLETE_EXCEPTIONS.contains(&p.base_path()) {
            ext += 1;
        }
        if ext == 0 {
            args.push("-complete".into());
        }
        // Placeholder: the build ID is derived from the key, below.
        args.extend(["-buildid".into(), "BUILDID".into()]);
        if tc.goarch() == "wasm" || tc.goos() == "plan9" {
            args.push("-dwarf=false".into());
        }
        if tc.goversion().starts_with("go1") {
            args.extend(["-goversion".into(), tc.goversion().to_string()]);
        }
        let mut work_files = Vec::new();
        if let Some(profile) = self.actions.pgo.get(&action.pkg) {
            match self.actions.preprofile.get(profile) {
                Some(pp) => {
                    let d = out(*pp)?.get("pgo.preprofile")?;
                    k.add("pgo", d.to_hex());
                    args.push(format!("-pgoprofile={WORK}/pgo.preprofile"));
                    work_files.push(("pgo.preprofile".to_string(), WorkFile::Object(d)));
                }
                None => {
                    // Go 1.22: the compiler reads default.pgo itself.
                    k.add("pgo", self.hasher.digest(profile)?.to_hex());
                    args.push(format!("-pgoprofile={}", profile.display()));
                }
            }
        }
        if has_asm {
            args.extend(["-symabis".into(), format!("{WORK}/symabis")]);
            let sid = self
                .actions
                .symabis
                .get(&action.pkg)
                .ok_or_else(|| Error::Tool {
                    program: "cargo gobuild".into(),
                    message: format!("internal: no symabis action for {}", p.import_path),
                })?;
            let s = out(*sid)?.get("symabis")?;
            // The compile key holds the symabis *content*, not the .s files.
            k.add("symabis", s.to_hex());
            work_files.push(("symabis".to_string(), WorkFile::Object(s)));
        }
        if self.compile_concurrency > 1 {
            args.push(format!("-c={}", self.compile_concurrency));
        }
        args.extend(self.package_flags(action.pkg, FlagKind::Gc));
        args.push("-nolocalimports".into());
        args.extend(["-importcfg".into(), format!("{WORK}/importcfg")]);

        // importcfg: importmap lines, then packagefile per import (sorted), then
        // the linker's implicit runtime dependency for main packages.
        let mut cfg = String::from("# import config\n");
        for (from, to) in &p.import_map {
            // A PGO variant (`fmt [cmd/compile]`) is `fmt` to the compiler.
            let to = to.split_once(" [").map_or(to.as_str(), |(base, _)| base);
            if from != to {
                cfg.push_str(&format!("importmap {from}={to}\n"));
                k.add(format!("importmap {from}"), to.to_string());
            }
        }
        let imports = compile_imports(self.graph, action.pkg);
        for dep_pkg in &imports {
            let dep = out(self.planned(&self.actions.compile, *dep_pkg)?)?;
            let dp = &self.graph.packages[*dep_pkg];
            let archive = dep.get("_pkg_.a")?;
            cfg.push_str(&format!(
                "packagefile {}={}\n",
                dp.base_path(),
                self.cache.object_path(&archive).display()
            ));
            let export = dep.export.ok_or_else(|| Error::Tool {
                program: "cargo gobuild".into(),
                message: format!("internal: no export data digest for {}", dp.import_path),
            })?;
            k.add(format!("import {}", dp.import_path), export.to_hex());
        }
        work_files.push(("importcfg".into(), WorkFile::Content(cfg.into_bytes())));

        if let Some(embed) = load::embedcfg(p) {
            args.extend(["-embedcfg".into(), format!("{WORK}/embedcfg")]);
            for pat in &p.embed_patterns {
                k.add(format!("embed pattern {pat}"), "");
            }
            self.add_files(&mut k, p, &p.embed_files)?;
            work_files.push(("embedcfg".into(), WorkFile::Content(embed.into_bytes())));
        }
        args.push("-pack".into());
        let mut outputs = vec!["_pkg_.a".to_string()];
        if has_asm {
            args.extend(["-asmhdr".into(), format!("{WORK}/go_asm.h")]);
            outputs.push("go_asm.h".into());
        }
        args.extend(p.go_files.iter().map(|f| p.file(f).display().to_string()));
        self.add_files(&mut k, p, &p.go_files)?;
        self.add_args(&mut k, p, &args, &["-buildid"]);

        let key = crate::cache::ActionKey::compute(&k);
        let id = build_id_part(&key.to_hex());
        for a in args.iter_mut() {
            if a == "BUILDID" {
                *a = format!("{id}/{id}");
            }
        }
        Ok(Prepared {
            identity,
            inputs: k,
            step: Step::Tool(self.tool_command(Tool::Compile, args, &p.dir)),
            work_files,
            outputs,
        })
    }

    fn prepare_asm<'o>(
        &self,
        action: &Action,
        file: &str,
        identity: String,
        out: &dyn Fn(ActionId) -> Result<&'o ActionOutput>,
    ) -> Result<Prepared> {
        let p = self.pkg(action);
        let hdr = out(action.deps[0])?.get("go_asm.h")?;
        let name = object_name(file);
        let mut args = self.asm_args(action);
        args.extend([
            "-o".into(),
            format!("{WORK}/{name}"),
            p.file(file).display().to_string(),
        ]);
        let mut k = self.common_key(Some(Tool::Asm), p);
        self.add_args(&mut k, p, &args, &[]);
        self.add_files(&mut k, p, [&file.to_string()])?;
        self.add_asm_includes(&mut k, p)?;
        k.add("asmhdr", hdr.to_hex());
        Ok(Prepared {
            identity,
            inputs: k,
            step: Step::Tool(self.tool_command(Tool::Asm, args, &p.dir)),
            work_files: vec![("go_asm.h".into(), WorkFile::Object(hdr))],
            outputs: vec![name],
        })
    }

    /// The key digests (archives modulo build IDs) of a main package's link
    /// set, in the order of [`Self::link_set`].
    fn link_set_keys<'o>(
        &self,
        action: &Action,
        out: &dyn Fn(ActionId) -> Result<&'o ActionOutput>,
    ) -> Result<Vec<(String, ContentDigest)>> {
        let mut v = Vec::new();
        for p in std::iter::once(action.pkg).chain(link_deps(self.graph, action.pkg)) {
            let d = out(self.planned(&self.actions.archive, p)?)?.archive_key()?;
            v.push((self.graph.packages[p].base_path().to_string(), d));
        }
        Ok(v)
    }

    /// The archives of a main package's link set: its own, and per link
    /// dependency (import path, archive).
    fn link_set<'o>(
        &self,
        action: &Action,
        out: &dyn Fn(ActionId) -> Result<&'o ActionOutput>,
    ) -> Result<(ContentDigest, Vec<(String, ContentDigest)>)> {
        let main = out(self.planned(&self.actions.archive, action.pkg)?)?.get("_pkg_.a")?;
        let mut libs = Vec::new();
        for dep_pkg in link_deps(self.graph, action.pkg) {
            libs.push((
                self.graph.packages[dep_pkg].base_path().to_string(),
                out(self.planned(&self.actions.archive, dep_pkg)?)?.get("_pkg_.a")?,
            ));
        }
        Ok((main, libs))
    }

    fn prepare_link<'o>(
        &self,
        action: &Action,
        identity: String,
        out: &dyn Fn(ActionId) -> Result<&'o ActionOutput>,
    ) -> Result<Prepared> {
        let p = self.pkg(action);
        let tc = self.tc;
        let mut k = self.common_key(Some(Tool::Link), p);
        let (main_archive, libs) = self.link_set(action, out)?;
        let mut cfg = String::new();
        let mut members = vec![(p.import_path.clone(), main_archive)];
        members.extend(libs);
        for (path, d) in &members {
            cfg.push_str(&format!(
                "packagefile {path}={}\n",
                self.cache.object_path(d).display()
            ));
        }
        // Keyed on the archives modulo their build IDs, which the program
        // does not contain: an edit that leaves the code alone relinks nothing.
        for (path, d) in self.link_set_keys(action, out)? {
            k.add(format!("archive {path}"), d.to_hex());
        }
        let info = modinfo::build_info(self.graph, action.pkg, &self.build_settings(action.pkg));
        cfg.push_str(&modinfo::importcfg_line(&info));
        k.add("modinfo", info);

        let mut args = vec![
            "-o".to_string(),
            format!("{WORK}/exe"),
            "-importcfg".into(),
            format!("{WORK}/importcfg.link"),
        ];
        if p.goroot && p.import_path.starts_with("cmd/") {
            args.push("-X=cmd/internal/objabi.buildID=BUILDID".into());
        }
        if !p.default_godebug.is_empty() {
            args.push(format!("-X=runtime.godebugDefault={}", p.default_godebug));
        }
        args.push("-buildmode=exe".into());
        args.push("-buildid=BUILDID".into());
        args.extend(self.profile.ldflags.iter().cloned());
        if !args
            .iter()
            .any(|a| a == "-extld" || a.starts_with("-extld="))
        {
            args.push(format!("-extld={}", tc.extld()));
        }
        args.push(format!("{WORK}/_pkg_.a"));
        let mut env = tc.tool_env();
        for (name, v) in env.iter_mut() {
            if name == "GOROOT" && self.profile.trimpath {
                v.clear();
            }
        }
        if !self.profile.trimpath {
            k.add("goroot", tc.var("GOROOT"));
        }
        self.add_args(&mut k, p, &args, &[]);
        let key = crate::cache::ActionKey::compute(&k);
        let hex = key.to_hex();
        let main_hex = main_archive.to_hex();
        let build_id = format!(
            "{}/{}/{}/{}",
            build_id_part(&hex),
            build_id_part(&main_hex),
            build_id_part(&main_hex[20..]),
            build_id_part(&hex[20..])
        );
        for a in args.iter_mut() {
            *a = a.replace("BUILDID", &build_id);
        }
        Ok(Prepared {
            identity,
            inputs: k,
            step: Step::Tool(ToolCommand {
                program: tc.tool(Tool::Link),
                args,
                env,
                cwd: PathBuf::from(&p.dir),
            }),
            work_files: vec![
                ("importcfg.link".into(), WorkFile::Content(cfg.into_bytes())),
                ("_pkg_.a".into(), WorkFile::Object(main_archive)),
            ],
            outputs: vec!["exe".into()],
        })
    }

    /// The build settings recorded in the build info of main package `main`.
    pub fn build_settings(&self, main: usize) -> modinfo::BuildSettings {
        let tc = self.tc;
        let pgo = self.actions.pgo.get(&main).map(|f| {
            if self.profile.trimpath {
                f.file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default()
            } else {
                f.display().to_string()
            }
        });
        modinfo::BuildSettings {
            asmflags: self.profile.asmflags.join(" "),
            gcflags: self.profile.gcflags.join(" "),
            ldflags: self.profile.ldflags.join(" "),
            tags: self.profile.tags.clone(),
            trimpath: self.profile.trimpath,
            goarch: tc.goarch().to_string(),
            goos: tc.goos().to_string(),
            arch_level: tc.arch_level().map(|(k, v)| (k.to_string(), v.to_string())),
            goexperiment: tc.goexperiment().to_string(),
            pgo,
            vcs: self.vcs.get(&main).cloned(),
        }
    }
}

#[derive(Clone, Copy)]
enum FlagKind {
    Gc,
    Asm,
}

/// Standard packages that are never `-complete`: they have declarations
/// supplied behind the scenes by the runtime (the list in gc.go).
const COMPLETE_EXCEPTIONS: &[&str] = &[
    "bytes",
    "internal/poll",
    "net",
    "os",
    "runtime/metrics",
    "runtime/pprof",
    "runtime/trace",
    "sync",
    "syscall",
    "time",
];

/// The object file an `.s` file assembles to (`x.s` → `x.o`).
pub fn object_name(sfile: &str) -> String {
    let base = sfile.rsplit('/').next().unwrap_or(sfile);
    format!("{}.o", base.strip_suffix(".s").unwrap_or(base))
}

/// A 20-character build ID part from a hex digest.
fn build_id_part(hex: &str) -> String {
    hex.chars().take(20).collect()
}

/// Appends objects to a Go archive exactly as cmd/go's `packInternal` does:
/// a 60-byte header (name truncated or padded to 16 bytes, zero date, uid,
/// gid, mode 0644, size), the content, and a pad byte to even length.
pub fn pack_append(archive: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut n = name.as_bytes().to_vec();
    n.truncate(16);
    n.resize(16, b' ');
    archive.extend_from_slice(&n);
    archive.extend_from_slice(
        format!(
            "{:<12}{:<6}{:<6}{:<8o}{:<10}`\n",
            0,
            0,
            0,
            0o644,
            data.len()
        )
        .as_bytes(),
    );
    archive.extend_from_slice(data);
    if data.len() % 2 == 1 {
        archive.push(b'\n');
    }
}

/// The digest of a package archive with its build ID blanked: the ID
/// (`build id "..."` in `__.PKGDEF`, derived from the action key) is
/// replaced by zeros wherever it occurs. Two archives with equal digests
/// differ at most in their build IDs, which no linked program contains.
pub fn archive_code_digest(archive: &[u8]) -> Option<ContentDigest> {
    let def = pkgdef(archive)?;
    let id = def
        .split(|b| *b == b'\n')
        .find_map(|line| line.strip_prefix(b"build id \""))
        .and_then(|rest| rest.strip_suffix(b"\""))
        .map(<[u8]>::to_vec);
    let id = id.filter(|i| !i.is_empty())?;
    let mut blanked = archive.to_vec();
    let mut i = 0;
    while i + id.len() <= blanked.len() {
        if blanked[i..i + id.len()] == id[..] {
            blanked[i..i + id.len()].fill(0);
            i += id.len();
        } else {
            i += 1;
        }
    }
    Some(ContentDigest::of(&blanked))
}

/// The digest of a package archive's export data (`__.PKGDEF`) with its
/// `build id` line blanked: equal digests mean importers compile the same.
pub fn export_digest(archive: &[u8]) -> Option<ExportDigest> {
    let data = pkgdef(archive)?;
    let mut h = blake3::Hasher::new();
    let mut off = 0;
    // Header lines up to `$$B`; the build ID line is the one that changes
    // with the key and nothing else.
    for line in data.split_inclusive(|b| *b == b'\n') {
        off += line.len();
        if !line.starts_with(b"build id ") {
            h.update(line);
        }
        if line.starts_with(b"$$") {
            break;
        }
    }
    h.update(data.get(off..).unwrap_or(&[]));
    Some(ExportDigest::from_bytes(*h.finalize().as_bytes()))
}

/// The `__.PKGDEF` member of a package archive (its export data and the
/// header lines with the build ID).
fn pkgdef(archive: &[u8]) -> Option<Vec<u8>> {
    let mut ar = ar::Archive::new(archive);
    while let Some(entry) = ar.next_entry() {
        let mut entry = entry.ok()?;
        if entry.header().identifier() == b"__.PKGDEF" {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).ok()?;
            return Some(data);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_header_matches_cmd_go() {
        let mut a = b"!<arch>\n".to_vec();
        pack_append(&mut a, "sum_amd64.o", b"abc");
        let hdr = std::str::from_utf8(&a[8..68]).unwrap();
        assert_eq!(
            hdr,
            "sum_amd64.o     0           0     0     644     3         `\n"
        );
        assert_eq!(a.len(), 8 + 60 + 3 + 1, "odd sizes are padded");
        let mut ar = ar::Archive::new(&a[..]);
        let e = ar.next_entry().unwrap().unwrap();
        assert_eq!(e.header().identifier(), b"sum_amd64.o");
    }

    #[test]
    fn object_names() {
        assert_eq!(object_name("sum_amd64.s"), "sum_amd64.o");
    }

    #[test]
    fn export_digest_ignores_build_id() {
        let mk = |id: &str, export: &[u8]| {
            let mut a = b"!<arch>\n".to_vec();
            let mut def =
                format!("go object linux amd64 go1.26.8 X:none\nbuild id \"{id}\"\n\n$$B\n")
                    .into_bytes();
            def.extend_from_slice(export);
            pack_append(&mut a, "__.PKGDEF", &def);
            pack_append(&mut a, "_go_.o", id.as_bytes());
            a
        };
        let a = export_digest(&mk("aaa/aaa", b"export1")).unwrap();
        let b = export_digest(&mk("bbb/bbb", b"export1")).unwrap();
        let c = export_digest(&mk("aaa/aaa", b"export2")).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(export_digest(b"!<arch>\n").is_none());
    }

    #[test]
    fn shell_line_quotes() {
        let c = ToolCommand {
            program: "/go/pkg/tool/compile".into(),
            args: vec!["-trimpath".into(), "$WORK=>".into()],
            env: vec![("GOOS".into(), "linux".into())],
            cwd: "/src dir".into(),
        };
        assert_eq!(
            c.shell_line(),
            "cd '/src dir' && GOOS=linux /go/pkg/tool/compile -trimpath '$WORK=>'"
        );
    }
}
