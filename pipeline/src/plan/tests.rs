//! The planner over made-up package graphs: which actions an intent plans,
//! and that every action declares what it reads.

use super::*;
use crate::load::synthetic_graph;

fn demo() -> PackageGraph {
    synthetic_graph(&[
        ("runtime", &[], &["asm_amd64.s"]),
        ("sum", &["runtime"], &["sum_amd64.s", "stub.s"]),
        ("example.com/cmd/demo", &["sum", "runtime"], &[]),
    ])
}

fn plan(g: &PackageGraph, intent: Intent) -> ActionGraph {
    let roots: Vec<usize> = g.roots().collect();
    ActionGraph::plan(
        g,
        &roots,
        PlanOptions {
            intent,
            nosplit: true,
            pgo: HashMap::new(),
            preprofile: false,
            run_tests: true,
            vet: false,
        },
    )
}

fn kinds(a: &ActionGraph) -> Vec<&'static str> {
    a.actions.iter().map(|x| x.kind.name()).collect()
}

fn inputs(a: &ActionGraph, id: ActionId) -> Vec<Input> {
    a.actions[id.0]
        .deps
        .iter()
        .map(|d| d.input.clone())
        .collect()
}

#[test]
fn build_plans_archives_then_check_report_and_link() {
    let g = demo();
    let a = plan(&g, Intent::Build);
    assert_eq!(
        kinds(&a),
        [
            "symabis",
            "compile",
            "asm",
            "pack", // runtime
            "symabis",
            "compile",
            "asm",
            "asm",
            "pack",    // sum
            "compile", // demo
            "nosplit",
            "abi-report",
            "link",
        ]
    );
    let (rt, sum, demo) = (0, 1, 2);
    // Deps point to earlier actions, so the graph is a DAG in index order.
    for (i, x) in a.actions.iter().enumerate() {
        assert!(
            x.deps.iter().all(|d| d.id.0 < i),
            "action {i} depends forward"
        );
    }
    // compile declares its imports by package and its own symabis.
    assert_eq!(
        inputs(&a, a.compile[&sum]),
        [Input::Import(rt), Input::Symabis]
    );
    // pack reads the compile and each object by file, not by position.
    assert_eq!(
        inputs(&a, a.archive[&sum]),
        [
            Input::Compiled,
            Input::AsmObject("sum_amd64.s".into()),
            Input::AsmObject("stub.s".into())
        ]
    );
    let unit = &a.link_units[&demo];
    assert_eq!(unit.packages, [demo, rt, sum]);
    let link = a.links[0];
    assert_eq!(
        inputs(&a, link),
        [
            Input::Archive(demo),
            Input::Archive(rt),
            Input::Archive(sum),
        ]
    );
    // The link runs beside the check, which gates its program.
    assert_eq!(a.gates[&link], a.nosplits[0]);
    assert_eq!(
        a.actions[a.nosplits[0].0].kind,
        ActionKind::Nosplit {
            mode: NosplitMode::Gate
        }
    );
    // The abi-report declares the symabis it reads.
    let report = inputs(&a, a.abi_reports[&demo]);
    assert!(report.contains(&Input::LinkSymabis(rt)));
    assert!(report.contains(&Input::LinkSymabis(sum)));
    assert!(
        !report.contains(&Input::LinkSymabis(demo)),
        "demo has no assembly"
    );
}

#[test]
fn check_plans_the_report_mode_check_and_no_link() {
    let g = demo();
    let a = plan(&g, Intent::Check);
    assert!(a.links.is_empty() && a.abi_reports.is_empty());
    assert_eq!(a.nosplits.len(), 1);
    assert_eq!(
        a.actions[a.nosplits[0].0].kind,
        ActionKind::Nosplit {
            mode: NosplitMode::Report
        }
    );
    assert_eq!(a.mains(), [2]);
}

#[test]
fn archives_plans_neither_check_nor_link() {
    let g = demo();
    let a = plan(&g, Intent::Archives);
    assert!(a.links.is_empty() && a.nosplits.is_empty());
    // The unit is still known: callers read the archives through it.
    assert_eq!(a.link_units[&2].packages, [2, 0, 1]);
    assert_eq!(a.actions.len(), 10);
}

#[test]
fn a_toolchain_the_check_cannot_read_still_links() {
    let g = demo();
    let roots: Vec<usize> = g.roots().collect();
    let a = ActionGraph::plan(
        &g,
        &roots,
        PlanOptions {
            intent: Intent::Build,
            nosplit: false,
            pgo: HashMap::new(),
            preprofile: false,
            run_tests: true,
            vet: false,
        },
    );
    assert!(a.nosplits.is_empty());
    assert_eq!(a.links.len(), 1);
    assert!(!inputs(&a, a.links[0]).contains(&Input::Nosplit));
}

#[test]
fn priorities_favour_the_long_chain() {
    let g = demo();
    let a = plan(&g, Intent::Build);
    let p = a.priorities();
    // runtime's symabis starts the longest chain; the link ends it.
    assert!(p[0] > p[a.compile[&2].0]);
    assert_eq!(p[a.links[0].0], 0);
    assert!(p[a.nosplits[0].0] > p[a.links[0].0]);
}

#[test]
fn pgo_adds_a_preprofile_input_to_every_compile_of_the_program() {
    let g = demo();
    let roots: Vec<usize> = g.roots().collect();
    let profile = PathBuf::from("/src/example.com/cmd/demo/default.pgo");
    let pgo: HashMap<usize, PathBuf> = (0..3).map(|p| (p, profile.clone())).collect();
    let a = ActionGraph::plan(
        &g,
        &roots,
        PlanOptions {
            intent: Intent::Archives,
            nosplit: true,
            pgo,
            preprofile: true,
            run_tests: true,
            vet: false,
        },
    );
    assert_eq!(
        a.actions[0].kind,
        ActionKind::Preprofile {
            profile: profile.clone()
        }
    );
    for pkg in 0..3 {
        assert!(inputs(&a, a.compile[&pkg]).contains(&Input::Preprofile));
    }
}

#[test]
fn a_cgo_package_plans_cgo_one_cc_per_file_dynimport_compile_and_pack() {
    let mut g = synthetic_graph(&[
        ("runtime", &[], &[]),
        ("syscall", &["runtime"], &[]),
        ("runtime/cgo", &["runtime"], &[]),
        ("clib", &["runtime/cgo", "syscall"], &["gcc_x.S"]),
        ("example.com/cmd/demo", &["clib"], &[]),
    ]);
    let clib = g.get("clib").unwrap();
    let p = &mut g.packages[clib];
    p.imports = vec!["C".into()];
    p.go_files = vec!["plain.go".into()];
    p.cgo_files = vec!["a.go".into(), "b.go".into()];
    p.c_files = vec!["x.c".into()];
    let a = plan(&g, Intent::Archives);
    let of = |pkg: usize| -> Vec<&ActionKind> {
        a.actions
            .iter()
            .filter(|x| x.pkg == pkg)
            .map(|x| &x.kind)
            .collect()
    };
    let cc: Vec<(String, String, bool)> = of(clib)
        .into_iter()
        .filter_map(|k| match k {
            ActionKind::CCompile {
                file,
                object,
                generated,
            } => Some((file.clone(), object.clone(), *generated)),
            _ => None,
        })
        .collect();
    let t = |f: &str, o: &str, g: bool| (f.to_string(), o.to_string(), g);
    assert_eq!(
        cc,
        [
            t("_cgo_export.c", "_x001.o", true),
            t("a.cgo2.c", "_x002.o", true),
            t("b.cgo2.c", "_x003.o", true),
            t("gcc_x.S", "_x004.o", false),
            t("x.c", "_x005.o", false),
            t("_cgo_main.c", "_cgo_main.o", true),
        ]
    );
    // No Go assembly in a cgo package: no symabis, no asm.
    assert!(!of(clib)
        .iter()
        .any(|k| matches!(k, ActionKind::Symabis | ActionKind::Asm { .. })));
    let compile = a.compile[&clib];
    let ins = inputs(&a, compile);
    assert!(ins.contains(&Input::CgoGenerated) && ins.contains(&Input::Dynimport));
    // The implicit imports of cgo's generated Go.
    for i in ["runtime/cgo", "syscall"] {
        assert!(
            ins.contains(&Input::Import(g.get(i).unwrap())),
            "{i}: {ins:?}"
        );
    }
    let pack = a.archive[&clib];
    assert_eq!(a.actions[pack.0].kind, ActionKind::Pack);
    let pack_in = inputs(&a, pack);
    let objects: Vec<&Input> = pack_in
        .iter()
        .filter(|i| matches!(i, Input::CObject(_)))
        .collect();
    assert_eq!(objects.len(), 5, "{pack_in:?}"); // not _cgo_main.o
    assert_eq!(pack_in.last(), Some(&Input::Dynimport));
    // Every action's inputs come before it.
    for (i, x) in a.actions.iter().enumerate() {
        assert!(x.deps.iter().all(|d| d.id.0 < i));
    }
}

fn test_graph() -> PackageGraph {
    let mut g = synthetic_graph(&[
        ("runtime", &[], &[]),
        ("fmt", &["runtime"], &[]),
        ("example.com/p", &["fmt"], &[]),
        ("example.com/p [example.com/p.test]", &["fmt"], &[]),
        (
            "example.com/p_test [example.com/p.test]",
            &["example.com/p [example.com/p.test]", "fmt"],
            &[],
        ),
        (
            "example.com/p.test",
            &[
                "example.com/p [example.com/p.test]",
                "example.com/p_test [example.com/p.test]",
            ],
            &[],
        ),
    ]);
    let n = g.packages.len();
    g.packages[n - 1].name = "main".into();
    g
}

fn plan_test(g: &PackageGraph, vet: bool) -> ActionGraph {
    let roots: Vec<usize> = g.roots().collect();
    ActionGraph::plan(
        g,
        &roots,
        PlanOptions {
            intent: Intent::Test,
            nosplit: false,
            pgo: HashMap::new(),
            preprofile: false,
            run_tests: true,
            vet,
        },
    )
}

#[test]
fn test_vets_the_tested_variants_after_a_facts_pass_over_their_dependencies() {
    let g = test_graph();
    let a = plan_test(&g, true);
    let vet_of = |path: &str| a.vets[&g.get(path).unwrap()];
    let kind = |id: ActionId| a.actions[id.0].kind.clone();
    for dep in ["runtime", "fmt"] {
        assert_eq!(kind(vet_of(dep)), ActionKind::Vet { facts_only: true });
    }
    let ptest = vet_of("example.com/p [example.com/p.test]");
    let pxtest = vet_of("example.com/p_test [example.com/p.test]");
    assert_eq!(kind(ptest), ActionKind::Vet { facts_only: false });
    assert_eq!(kind(pxtest), ActionKind::Vet { facts_only: false });
    // The plain package is not vetted (its tests' variant is).
    assert!(!a.vets.contains_key(&g.get("example.com/p").unwrap()));
    assert!(a.untested_vets.is_empty());
    // The external test reads the variant's archive and facts.
    let p = g.get("example.com/p [example.com/p.test]").unwrap();
    let xi = inputs(&a, pxtest);
    assert!(
        xi.contains(&Input::Import(p)) && xi.contains(&Input::Vetx(p)),
        "{xi:?}"
    );
    assert!(xi.contains(&Input::Compiled), "{xi:?}");
    // The test run waits for both vets.
    let run = inputs(&a, a.test_runs[0]);
    let pxt = g.get("example.com/p_test [example.com/p.test]").unwrap();
    assert!(
        run.contains(&Input::Vet(p)) && run.contains(&Input::Vet(pxt)),
        "{run:?}"
    );
    // Every vet reads only what it declared, after it is planned.
    for id in a.vets.values() {
        assert!(a.actions[id.0].deps.iter().all(|d| d.id < *id));
    }
}

#[test]
fn vet_off_plans_no_vet() {
    let g = test_graph();
    let a = plan_test(&g, false);
    assert!(a.vets.is_empty());
    assert!(!kinds(&a).contains(&"vet"));
}

#[test]
fn a_cgo_package_is_vetted_with_what_cgo_generated() {
    let mut g = test_graph();
    let p = g.get("example.com/p [example.com/p.test]").unwrap();
    g.packages[p].cgo_files = vec!["c.go".into()];
    let a = plan_test(&g, true);
    let i = inputs(&a, a.vets[&p]);
    assert!(
        i.contains(&Input::CgoGenerated) && i.contains(&Input::Dynimport),
        "{i:?}"
    );
}

#[test]
fn a_package_without_tests_is_vetted_too() {
    let g = synthetic_graph(&[
        ("runtime", &[], &[]),
        ("example.com/notests", &["runtime"], &[]),
    ]);
    let a = plan_test(&g, true);
    let id = a.vets[&g.get("example.com/notests").unwrap()];
    assert_eq!(a.untested_vets, vec![id]);
    assert_eq!(a.actions[id.0].kind, ActionKind::Vet { facts_only: false });
}

#[test]
fn covered_packages_are_compiled_from_their_cover_run() {
    let mut g = synthetic_graph(&[
        ("runtime", &[], &[]),
        ("sync/atomic", &["runtime"], &[]),
        ("runtime/coverage", &["runtime"], &[]),
        ("lib", &["runtime"], &[]),
        ("example.com/cmd/demo", &["lib", "runtime"], &[]),
    ]);
    let cover = |mode: &str| {
        Some(crate::load::cover::CoverSetup {
            mode: mode.into(),
            gen_meta: false,
        })
    };
    let (lib, demo) = (
        g.get("lib").unwrap(),
        g.get("example.com/cmd/demo").unwrap(),
    );
    g.packages[lib].cover = cover("atomic");
    g.packages[demo].cover = cover("set");
    let a = plan(&g, Intent::Archives);
    let covered: Vec<usize> = a
        .actions
        .iter()
        .filter(|x| x.kind == ActionKind::Cover)
        .map(|x| x.pkg)
        .collect();
    assert_eq!(covered, [lib, demo], "{:?}", kinds(&a));
    for p in [lib, demo] {
        let compile = a.compile[&p];
        let cover = a.covers[&p];
        assert!(cover < compile, "cover runs first");
        assert!(inputs(&a, compile).contains(&Input::Cover));
    }
    // The imports the cover tool adds: sync/atomic (atomic counters),
    // runtime/coverage (a main package).
    let name = |v: Vec<usize>| -> Vec<String> {
        v.into_iter()
            .map(|i| g.packages[i].import_path.clone())
            .collect()
    };
    assert_eq!(name(compile_imports(&g, lib)), ["runtime", "sync/atomic"]);
    assert_eq!(
        name(compile_imports(&g, demo)),
        ["lib", "runtime", "runtime/coverage"]
    );
    // Not covered: no cover action, the sources compiled.
    let rt = g.get("runtime").unwrap();
    assert!(!a.covers.contains_key(&rt));
    assert!(!inputs(&a, a.compile[&rt]).contains(&Input::Cover));
}
