//! `-pgo=auto`: which packages are compiled with which `default.pgo`.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::load::PackageGraph;

/// `-pgo=auto` as cmd/go applies it (`setPGOProfilePath`): a main package
/// with a `default.pgo` in its directory is built, with all its
/// dependencies, with that profile. When the requested mains do not all
/// share one profile, `go list` names the copies built for one main
/// `pkg [main]`; those get that main's profile and the plain ones none.
pub fn pgo_profiles(graph: &PackageGraph, mains: &[usize]) -> HashMap<usize, PathBuf> {
    let profile = |m: usize| {
        let f = Path::new(&graph.packages[m].dir).join("default.pgo");
        f.is_file().then_some(f)
    };
    let by_main: Vec<(usize, Option<PathBuf>)> = mains.iter().map(|&m| (m, profile(m))).collect();
    let mut out = HashMap::new();
    if by_main.iter().all(|(_, p)| p.is_none()) {
        return out;
    }
    let shared = by_main
        .first()
        .and_then(|(_, p)| p.clone())
        .filter(|p| by_main.iter().all(|(_, q)| q.as_ref() == Some(p)));
    for (m, p) in &by_main {
        if let Some(p) = p {
            out.insert(*m, p.clone());
            for d in graph.deps(*m) {
                let dp = &graph.packages[d];
                let mine = match dp.variant_of() {
                    Some(v) => v == graph.packages[*m].import_path,
                    None => shared.is_some(),
                };
                if mine {
                    out.insert(d, p.clone());
                }
            }
        }
    }
    out
}
