//! The cargo gobuild engine, in layers: a module imports only modules of
//! lower layers (`tests/layering.rs` keeps it so; `ARCHITECTURE.md` is the
//! map).
//!
//! - L0 [`error`], [`events`] (the one event type reporters consume),
//!   [`util`].
//! - L1 [`toolchain`] (finds Go, reads `go env -json` once, names the tools
//!   and the target), [`fshash`] (source digests with an mtime memo),
//!   [`cache`] (the action cache and object store traits, typed sized
//!   digests, the local directory, the lock on the target directory).
//! - L2 [`load`] (package patterns → [`load::PackageGraph`] with
//!   `go list -e -deps -json`, and the load snapshot), [`config`] (workspace
//!   config, profiles, experiments, lint levels), [`modinfo`] (the build info
//!   `go version -m` reads back).
//! - L3 [`plan`] (an intent over the graph → [`plan::ActionGraph`], with
//!   declared inputs and link units; runs nothing).
//! - L4 [`abi`] (symabis, scanners, ABI lints, the ABI report, ELF checks:
//!   reads facts, emits nothing).
//! - L5 [`stages`] (one module per stage: the exact tool command `go build`
//!   would run, or an in-process step, and the named inputs of its key).
//! - L6 [`exec`] (the scheduler: `-j N` workers, cache lookups, steps run
//!   through a [`exec::ToolRunner`]; knows no stage).
//! - L7 [`build`] (the orchestrator: lock, load, plan, execute, install,
//!   the post-build checks; the outcome callers read).
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
