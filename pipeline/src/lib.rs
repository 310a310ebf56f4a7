//! The cargo gobuild engine.
//!
//! Who owns what:
//! - [`toolchain`] finds Go, reads `go env -json` once and names the tools
//!   (`asm`, `compile`, `link`) and the target (GOOS, GOARCH, the per-arch level).
//! - [`load`] turns package patterns into a [`load::PackageGraph`] with
//!   `go list -e -deps -json`, and keeps a snapshot so a no-op build does not
//!   pay for `go list` again.
//! - [`plan`] turns the graph into an [`plan::ActionGraph`]: per package
//!   symabis → compile → asm (one per `.s`) → pack, per main package link.
//!   Planning runs nothing.
//! - [`stages`] knows, per action kind, the exact tool command (as `go build`
//!   would run it) and the named inputs of its cache key.
//! - [`exec`] drains the action graph with `-j N` workers, asks the [`cache`]
//!   first, and reports every step as an [`events::Event`].
//! - [`cache`] is the content-addressed action cache, with typed digests,
//!   atomic writes and the lock on the target directory.
//! - [`profile`] is the resolved profile the engine reads (flags, tags,
//!   trimpath, symabis mode, per-package rules).
//! - [`build`] ties it together: lock, load, plan, execute, install.
//! - [`modinfo`] renders the build info that `go version -m` reads back.
//! - [`abi`] reports assembly, ABI wrappers and cross-ABI calls, lints
//!   ABI mistakes, and checks the linked program's symbol table.
//!
//! Reporters (progress bar, JSON lines) live in the CLI and only consume events.
#![warn(missing_docs)]

pub mod abi;
pub mod build;
pub mod cache;
pub mod config;
pub mod error;
pub mod events;
pub mod exec;
pub mod fshash;
pub mod load;
pub mod modinfo;
pub mod plan;
pub mod stages;
pub mod toolchain;
pub mod util;

pub use error::{Error, ExitCode, Result};
