//! Debugging tool: show how symbols of a link set resolve.
//! `goobj-sym MAIN.a IMPORTCFG.LINK NAME...`
fn main() {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 2 {
        eprintln!("usage: goobj-sym MAIN.a IMPORTCFG.LINK NAME...");
        std::process::exit(2);
    }
    let libs = goobj::parse_importcfg(&std::fs::read_to_string(&a[1]).expect("importcfg"));
    let set = goobj::load_link_set(a[0].as_ref(), &libs).expect("load");
    for n in &a[2..] {
        for s in set.find_all(n) {
            let o = set.osym(s);
            println!(
                "{} id={} pkg={:?} size={} type={:?} flags={:?} wrapper={} nosplit={}",
                set.display(s),
                s,
                set.defining_package(s),
                set.size(s),
                o.map(|o| o.typ),
                o.map(|o| (o.flag, o.flag2)),
                set.is_abi_wrapper(s),
                set.is_nosplit(s)
            );
            for (r, t) in set.relocs_of(s) {
                println!(
                    "    reloc off={} type={} add={} ref={:?} -> {}",
                    r.off,
                    set.reloc_table().name(r.typ),
                    r.add,
                    r.sym,
                    if t == 0 {
                        "0".to_string()
                    } else {
                        set.display(t)
                    }
                );
            }
        }
    }
}
