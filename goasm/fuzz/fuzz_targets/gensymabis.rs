//! Fuzz the in-memory symabis scanner: it must never panic, overflow the stack or
//! run away on any input. The first byte picks GOARCH, package and `-shared`; the rest
//! is split at the first NUL byte into the `.s` source and an include file `inc.h`
//! (reachable as `#include "inc.h"`), so macros and includes interact.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let arches = goasm::GOARCHES;
    let goarch = arches[usize::from(sel) % arches.len()];
    let pkg = match (sel >> 4) & 3 {
        0 => "runtime",
        1 => "example.com/p",
        2 => "a.b/c d%",
        _ => "",
    };
    let (src, inc) = match rest.iter().position(|&b| b == 0) {
        Some(i) => (&rest[..i], &rest[i + 1..]),
        None => (rest, &[][..]),
    };
    let opts = goasm::Options {
        goos: "linux".into(),
        goarch: goarch.into(),
        pkgpath: (!pkg.is_empty()).then(|| pkg.to_string()),
        defines: vec!["GOOS_linux".into(), format!("GOARCH_{goarch}"), "V=·v".into()],
        shared: sel & 0x40 != 0,
        // The top bit also varies the modelled Go release.
        go_version: match (sel >> 7, rest.len() % 3) {
            (0, _) => None,
            (_, 0) => Some((1, 22)),
            (_, 1) => Some((1, 24)),
            _ => Some((1, 27)),
        },
        ..Default::default()
    };
    let mut loader = goasm::MemLoader::new();
    loader.insert("inc.h", inc.to_vec());
    if let Ok(out) = goasm::gensymabis_source(&opts, "x.s", src, &loader) {
        for line in out.lines() {
            assert!(line.starts_with("def ") || line.starts_with("ref "), "{line:?}");
        }
    }
});
