//! Parity with the real assembler: for every standard-library package with assembly
//! on linux/amd64, linux/arm64 and linux/s390x, run `$(go env GOTOOLDIR)/asm
//! -gensymabis` with the flags cmd/go passes (`cmd/go/internal/work/gc.go` asmArgs)
//! in the package directory, and require our output to be byte-identical.
//!
//! This test needs the Go toolchain and fails (it does not skip) without it.
//! `scripts/symabis-parity` runs the same comparison over std and cmd for more targets.

use std::path::{Path, PathBuf};
use std::process::Command;

struct Pkg {
    import_path: String,
    dir: PathBuf,
    s_files: Vec<String>,
}

fn go(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = Command::new("go")
        .args(args)
        .envs(env.iter().copied())
        .output()
        .unwrap_or_else(|e| {
            panic!(
                "running `go {}` (the Go toolchain is required): {e}",
                args.join(" ")
            )
        });
    assert!(
        out.status.success(),
        "`go {}` failed:\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("go output is UTF-8")
}

/// The packages with `.s` files `go list -json` selects for the target.
fn asm_packages(goos: &str, goarch: &str) -> Vec<Pkg> {
    let env = [("GOOS", goos), ("GOARCH", goarch), ("CGO_ENABLED", "0")];
    let text = go(&["list", "-e", "-json", "std"], &env);
    serde_json::Deserializer::from_str(&text)
        .into_iter::<serde_json::Value>()
        .map(|v| v.expect("go list -json output parses"))
        .filter_map(|v| {
            let s_files: Vec<String> = v
                .get("SFiles")?
                .as_array()?
                .iter()
                .filter_map(|f| Some(format!("./{}", f.as_str()?)))
                .collect();
            if s_files.is_empty() {
                return None;
            }
            Some(Pkg {
                import_path: v.get("ImportPath")?.as_str()?.to_string(),
                dir: PathBuf::from(v.get("Dir")?.as_str()?),
                s_files,
            })
        })
        .collect()
}

/// The architecture-level `-D` cmd/go adds (defaults of GOAMD64, GOARM, ...).
fn arch_level_defines(goarch: &str) -> Vec<String> {
    match goarch {
        "amd64" => vec!["GOAMD64_v1".into()],
        "386" => vec!["GO386_sse2".into()],
        "arm" => vec!["GOARM_7".into(), "GOARM_6".into(), "GOARM_5".into()],
        "ppc64" | "ppc64le" => vec!["GOPPC64_power8".into()],
        "riscv64" => vec!["GORISCV64_rva20u64".into()],
        "mips" | "mipsle" => vec!["GOMIPS_hardfloat".into()],
        "mips64" | "mips64le" => vec!["GOMIPS64_hardfloat".into()],
        _ => vec![],
    }
}

fn check_target(goos: &str, goarch: &str, asm: &Path, work: &Path) -> (usize, Vec<String>) {
    let objdir = work.join(format!("{goos}_{goarch}"));
    std::fs::create_dir_all(&objdir).unwrap();
    std::fs::write(objdir.join("go_asm.h"), "").unwrap();
    let goroot = PathBuf::from(go(&["env", "GOROOT"], &[]).trim());
    let include = goroot.join("pkg").join("include");
    let mut defines = vec![format!("GOOS_{goos}"), format!("GOARCH_{goarch}")];
    defines.extend(arch_level_defines(goarch));

    let pkgs = asm_packages(goos, goarch);
    assert!(
        pkgs.len() >= 20,
        "{goos}/{goarch}: only {} packages with assembly?",
        pkgs.len()
    );
    let mut failures = Vec::new();
    for p in &pkgs {
        let want_path = objdir.join("want");
        let mut cmd = Command::new(asm);
        cmd.current_dir(&p.dir)
            .env("GOOS", goos)
            .env("GOARCH", goarch)
            .args([
                "-p",
                &p.import_path,
                "-trimpath",
                &format!("{}=>", objdir.display()),
            ])
            .arg("-I")
            .arg(&objdir)
            .arg("-I")
            .arg(&include);
        for d in &defines {
            cmd.args(["-D", d]);
        }
        cmd.arg("-gensymabis")
            .arg("-o")
            .arg(&want_path)
            .args(&p.s_files);
        let out = cmd.output().expect("running asm");
        assert!(
            out.status.success(),
            "asm failed on {}: {}",
            p.import_path,
            String::from_utf8_lossy(&out.stderr)
        );
        let want = std::fs::read_to_string(&want_path).unwrap();

        let opts = goasm::Options {
            goos: goos.into(),
            goarch: goarch.into(),
            include_dirs: vec![objdir.clone(), include.clone()],
            defines: defines.clone(),
            pkgpath: Some(p.import_path.clone()),
            work_dir: Some(p.dir.clone()),
            goexperiment: std::env::var("GOEXPERIMENT").ok().filter(|s| !s.is_empty()),
            go_version: goasm::parse_go_version(&go(&["env", "GOVERSION"], &[])),
            ..Default::default()
        };
        let files: Vec<PathBuf> = p.s_files.iter().map(PathBuf::from).collect();
        match goasm::gensymabis(&opts, &files) {
            Ok(got) if got == want => {}
            Ok(got) => {
                let first = want
                    .lines()
                    .zip(got.lines())
                    .position(|(a, b)| a != b)
                    .unwrap_or(want.lines().count().min(got.lines().count()));
                failures.push(format!(
                    "{goos}/{goarch} {}: differs at line {}: want {:?}, got {:?}",
                    p.import_path,
                    first + 1,
                    want.lines().nth(first),
                    got.lines().nth(first)
                ));
            }
            Err(e) => failures.push(format!("{goos}/{goarch} {}: {e}", p.import_path)),
        }
    }
    (pkgs.len(), failures)
}

#[test]
fn std_symabis_match_asm() {
    let tooldir = go(&["env", "GOTOOLDIR"], &[]);
    let asm = PathBuf::from(tooldir.trim()).join("asm");
    assert!(asm.exists(), "{} does not exist", asm.display());
    let work = std::env::temp_dir().join(format!("goasm-parity-{}", std::process::id()));
    let mut all = Vec::new();
    let mut summary = Vec::new();
    for (goos, goarch) in [("linux", "amd64"), ("linux", "arm64"), ("linux", "s390x")] {
        let (n, failures) = check_target(goos, goarch, &asm, &work);
        summary.push(format!(
            "{goos}/{goarch}: {}/{n} byte-identical",
            n - failures.len()
        ));
        all.extend(failures);
    }
    let _ = std::fs::remove_dir_all(&work);
    eprintln!("{}", summary.join("\n"));
    assert!(all.is_empty(), "symabis mismatches:\n{}", all.join("\n"));
}
