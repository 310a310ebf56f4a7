//! Per-package flags as go build applies them (profile flags for the
//! workspace's own packages, then package rules), `-trimpath`, and the
//! assembler's common arguments (`asmArgs` in gc.go), shared by the symabis
//! and asm stages.

use std::path::PathBuf;

use crate::load::GoPackage;
use crate::stages::step::{ToolCommand, WORK};
use crate::stages::BuildFacts;
use crate::toolchain::{GoVersion, Tool};

/// Which tool's flags.
#[derive(Clone, Copy)]
pub enum FlagKind {
    /// `-gcflags`.
    Gc,
    /// `-asmflags`.
    Asm,
}

impl BuildFacts<'_> {
    /// Flags that apply to a package: the profile's for the requested
    /// packages, then every matching package rule.
    pub fn package_flags(&self, pkg: usize, which: FlagKind) -> Vec<String> {
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
    pub fn trimpath_arg(&self, p: &GoPackage) -> String {
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

    /// asm's arguments up to the mode flags (`asmArgs` in gc.go).
    pub fn asm_args(&self, pkg: usize) -> Vec<String> {
        let p = &self.graph.packages[pkg];
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
        // The build mode's code generation flag (forcedAsmflags).
        args.extend(self.mode().codegen_arg.map(String::from));
        args.extend(self.package_flags(pkg, FlagKind::Asm));
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

    /// A command of one of the toolchain's tools, in `cwd`.
    pub fn tool_command(&self, tool: Tool, args: Vec<String>, cwd: &str) -> ToolCommand {
        ToolCommand {
            program: self.tc.tool(tool),
            args,
            env: self.tc.tool_env(),
            cwd: PathBuf::from(cwd),
        }
    }
}
