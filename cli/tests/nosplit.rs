//! The nosplit stage end to end: our edges equal the linker's
//! `-debugnosplit` lines for real programs on amd64 and arm64; a program over
//! the budget fails before link with the linker's report; headroom works.

mod common;

use std::path::Path;

use common::*;

/// Sorted `nosplit:` lines printed by the real linker for `pkg`.
fn linker_edges(dir: &Path, pkg: &str, goarch: &str) -> Vec<String> {
    let out = go(
        dir,
        &["build", "-ldflags=-debugnosplit", "-o", "/dev/null", pkg],
        &[("GOARCH", goarch)],
    );
    assert!(out.status.success(), "{}", text(&out));
    let mut v: Vec<String> = text(&out)
        .lines()
        .filter(|l| l.starts_with("nosplit: "))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

fn our_edges(dir: &Path, pkg: &str, goarch: &str) -> Vec<String> {
    let t = shared_target();
    let out = gobuild(
        dir,
        &[
            "nosplit",
            "-q",
            "--edges",
            "--goarch",
            goarch,
            "--target-dir",
            t.to_str().unwrap(),
            pkg,
        ],
    );
    let mut v: Vec<String> = ok(&out).lines().map(str::to_string).collect();
    v.sort();
    v
}

fn assert_same_edges(dir: &Path, pkg: &str, goarch: &str) {
    let theirs = linker_edges(dir, pkg, goarch);
    let ours = our_edges(dir, pkg, goarch);
    assert!(
        theirs.len() > 500,
        "{pkg}/{goarch}: only {} linker edges",
        theirs.len()
    );
    if ours != theirs {
        let missing: Vec<_> = theirs
            .iter()
            .filter(|e| !ours.contains(e))
            .take(10)
            .collect();
        let extra: Vec<_> = ours
            .iter()
            .filter(|e| !theirs.contains(e))
            .take(10)
            .collect();
        panic!(
            "{pkg} on {goarch}: {} linker edges, {} ours\nmissing: {missing:#?}\nextra: {extra:#?}",
            theirs.len(),
            ours.len()
        );
    }
}

#[test]
fn edges_equal_the_linkers_for_the_fixture_gofmt_and_net_http() {
    let (_tmp, dir) = fixture("demo");
    // A small net/http program next to the fixture.
    std::fs::create_dir_all(dir.join("cmd/web")).unwrap();
    std::fs::write(
        dir.join("cmd/web/main.go"),
        "package main\n\nimport (\n\t\"fmt\"\n\t\"net/http\"\n)\n\nfunc main() {\n\thttp.HandleFunc(\"/\", func(w http.ResponseWriter, r *http.Request) { fmt.Fprint(w, \"hi\") })\n\tfmt.Println(http.ListenAndServe(\"127.0.0.1:0\", nil) != nil)\n}\n",
    )
    .unwrap();
    for goarch in ["amd64", "arm64"] {
        for pkg in ["./cmd/demo", "cmd/gofmt", "./cmd/web"] {
            assert_same_edges(&dir, pkg, goarch);
        }
    }
}

#[test]
fn over_budget_fails_with_the_linkers_report_and_writes_no_program() {
    for goarch in ["amd64", "arm64"] {
        let (_tmp, dir) = fixture("overflow");
        let out = go(
            &dir,
            &["build", "-o", "/dev/null", "."],
            &[("GOARCH", goarch)],
        );
        assert!(!out.status.success());
        let linker = text(&out);
        assert!(linker.contains("nosplit stack over"), "{linker}");

        let t = shared_target();
        let out = gobuild(
            &dir,
            &[
                "build",
                "--message-format",
                "json",
                "--goarch",
                goarch,
                "--target-dir",
                t.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(101), "{}", text(&out));
        let ev = events(&out);
        // One error, the check's, worded as the linker's; the link runs
        // beside the check but its failure is not reported again, and no
        // program is written.
        let errors: Vec<&serde_json::Value> = ev
            .iter()
            .filter(|e| e["reason"] == "diagnostic" && e["level"] == "error")
            .collect();
        assert_eq!(errors.len(), 1, "{errors:?}");
        assert_eq!(
            errors[0]["message"].as_str().unwrap().trim_end(),
            linker.trim_end(),
            "{goarch}"
        );
        for e in &ev {
            if e["action"] == "link" && e["reason"] == "action-finished" {
                assert_eq!(e["outcome"], "discarded", "{e}");
            }
        }
        assert!(ev.iter().all(|e| e["reason"] != "artifact"));
        let finished = ev.iter().find(|e| e["reason"] == "build-finished").unwrap();
        assert_eq!(finished["failed"], 1, "{finished}");
        // The nosplit command says the same and exits 101.
        let out = gobuild(
            &dir,
            &[
                "nosplit",
                "-q",
                "--goarch",
                goarch,
                "--target-dir",
                t.to_str().unwrap(),
            ],
        );
        assert_eq!(out.status.code(), Some(101));
        assert!(text(&out).contains(linker.trim_end()), "{}", text(&out));
    }
}

#[test]
fn headroom_fails_chains_near_the_limit_and_top_reports_margins() {
    let (_tmp, dir) = fixture("demo");
    let t = shared_target();
    let t = t.to_str().unwrap();
    let out = gobuild(
        &dir,
        &["nosplit", "-q", "--json", "--target-dir", t, "./cmd/demo"],
    );
    let report: serde_json::Value = serde_json::from_str(ok(&out).trim()).unwrap();
    let margin = report["deepest"][0]["margin"].as_i64().unwrap();
    let limit = report["limit"].as_i64().unwrap();
    assert!(margin > 0 && margin < limit, "{margin} {limit}");

    let top = ok(&gobuild(
        &dir,
        &[
            "nosplit",
            "-q",
            "--top",
            "3",
            "--target-dir",
            t,
            "./cmd/demo",
        ],
    ));
    assert!(top.contains(&format!("margin {margin}")), "{top}");
    assert!(
        top.contains("[wrapper]"),
        "ABI wrapper frames are marked:\n{top}"
    );

    // A headroom equal to the margin passes; one byte more fails, before link.
    for (headroom, code) in [(margin, 0), (margin + 1, 101)] {
        std::fs::write(
            dir.join("gobuild.toml"),
            format!("[profile.tight]\nnosplit.headroom = {headroom}\n"),
        )
        .unwrap();
        let out = gobuild(
            &dir,
            &[
                "build",
                "--profile",
                "tight",
                "--color",
                "never",
                "--target-dir",
                t,
            ],
        );
        assert_eq!(
            out.status.code(),
            Some(code),
            "headroom {headroom}: {}",
            text(&out)
        );
        if code != 0 {
            let e = text(&out);
            assert!(e.contains("nosplit stack over"), "{e}");
            assert!(e.contains(&format!("nosplit.headroom = {headroom}")), "{e}");
        }
    }
}
