//! Fuzzes the archive and object readers: any input must give Ok or an Err, never a panic.
//! The input is tried both as a whole archive and as a bare archive member, and through
//! the archive summarizer and the summary reader.
#![no_main]
use goobj::reader::{parse_archive_objects, GoObject};
use libfuzzer_sys::fuzz_target;

fn walk(o: &GoObject<'_>) {
    let _ = o.autolib();
    let _ = o.pkglist();
    let _ = o.files();
    let _ = o.ref_names();
    o.ref_flags().for_each(drop);
    for i in 0..o.nallsym().min(4096) {
        let _ = o.sym(i);
        let _ = o.sym_flags(i);
        let _ = o.sym_name_bytes(i);
        let _ = o.sym_abi(i);
        let _ = o.sym_size(i);
    }
    for i in 0..o.nalldef().min(4096) {
        if let Ok(r) = o.relocs(i) {
            r.for_each(drop);
        }
        if let Ok(a) = o.auxs(i) {
            a.for_each(drop);
        }
        let _ = o.data(i);
        let _ = o.data_offset(i);
        let _ = o.hash64(i);
        let _ = o.hash(i);
        let _ = o.func_info(i);
        if let Ok(Some(t)) = o.pcsp(i) {
            for s in goobj::pcvalue::PcIter::new(t, 4).take(10_000) {
                if s.is_err() {
                    break;
                }
            }
        }
    }
}

fuzz_target!(|data: &[u8]| {
    if let Ok(objs) = parse_archive_objects(data, "fuzz.a") {
        for o in &objs {
            walk(o);
        }
    }
    if let Ok(o) = GoObject::parse_member(data, 0) {
        walk(&o);
    }
    let _ = goobj::reader::cgo_directives(data);
    // Archive summaries: building one from arbitrary archives, and reading summary files.
    goobj::summary::fuzz_summary(data);
});
