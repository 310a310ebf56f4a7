//! Reader tests on real archives: every archive of the demo fixture's link set parses,
//! symbol lists equal `go tool nm`'s, flags and relocations of known symbols are right;
//! truncated, foreign, newer-format and garbage inputs give located errors, not panics.

mod common;
use common::*;
use goobj::reader::{aux, GoObject};
use goobj::{parse_archive_objects, Error, ObjErrorKind};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

struct Demo {
    _dir: tempfile::TempDir,
    step: LinkStep,
}

fn demo() -> &'static Demo {
    static D: OnceLock<Demo> = OnceLock::new();
    D.get_or_init(|| {
        let dir = tempfile::tempdir().expect("tempdir");
        copy_dir(
            &PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/demo"),
            dir.path(),
        );
        let bin = dir.path().join("demo.bin");
        let b = go_build(
            dir.path(),
            "amd64",
            &["-o", bin.to_str().expect("utf8"), "./cmd/demo"],
        );
        assert!(b.ok, "go build failed:\n{}", b.stderr);
        Demo {
            step: b.links[0].clone(),
            _dir: dir,
        }
    })
}

fn archive_of(pkg: &str) -> PathBuf {
    demo()
        .step
        .libs()
        .into_iter()
        .find(|(p, _)| p == pkg)
        .map(|(_, f)| f)
        .unwrap_or_else(|| panic!("{pkg} not in link set"))
}

/// Our version of `go tool nm -size -sort none` for the defined symbols of an archive:
/// (member, address, size, code, name).
fn our_nm(path: &Path) -> Vec<(String, String, String, char, String)> {
    let data = std::fs::read(path).expect("read");
    let loc = path.display().to_string();
    let mut out = Vec::new();
    for m in goobj::reader::archive_members(&data, &loc).expect("members") {
        if !goobj::reader::is_object_member(&m.name) {
            continue;
        }
        let o = GoObject::parse_member(m.data, m.offset).expect("parse");
        for i in 0..o.nalldef() {
            let s = o.sym(i).expect("sym");
            if s.name.is_empty() {
                continue;
            }
            let mut code = match s.typ {
                1 | 2 => 'T',
                3 | 4 => 'R',
                5..=8 => 'D',
                9..=11 => 'B',
                _ => '?',
            };
            let mut name = s.name.to_string();
            if s.is_static() {
                code = code.to_ascii_lowercase();
                name.push_str("<1>");
            }
            let addr = o.data_offset(i).expect("data offset");
            out.push((
                m.name.clone(),
                format!("{addr:x}"),
                s.size.to_string(),
                code,
                name,
            ));
        }
    }
    out
}

fn go_nm(path: &Path) -> Vec<(String, String, String, char, String)> {
    let out = Command::new(go())
        .args(["tool", "nm", "-size", "-sort", "none"])
        .arg(path)
        .output()
        .expect("go tool nm");
    assert!(
        out.status.success(),
        "go tool nm failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let prefix = format!("{}(", path.display());
    let mut v = Vec::new();
    for line in text.lines() {
        let (member, rest) = match line
            .strip_prefix(&prefix)
            .and_then(|r| r.split_once("):\t"))
        {
            Some((m, r)) => (m.to_string(), r),
            None => ("_go_.o".to_string(), line),
        };
        let mut it = rest.split_whitespace();
        let (Some(a), Some(b), Some(c)) = (it.next(), it.next(), it.next()) else {
            continue;
        };
        if b == "U" {
            continue; // reference
        }
        // name = everything after the code column (type names contain spaces)
        let idx = rest.find(&format!(" {c} ")).expect("code column") + 3;
        v.push((
            member,
            a.to_string(),
            b.to_string(),
            c.chars().next().expect("code"),
            rest[idx..].to_string(),
        ));
    }
    v
}

#[test]
fn symbols_match_go_tool_nm() {
    for pkg in ["example.com/demo/sum", "runtime", "fmt", "internal/bytealg"] {
        let p = archive_of(pkg);
        let mut ours = our_nm(&p);
        let mut theirs = go_nm(&p);
        ours.sort();
        theirs.sort();
        assert!(ours.len() > 3, "{pkg}: too few symbols");
        assert_eq!(ours.len(), theirs.len(), "{pkg}: number of defined symbols");
        for (a, b) in ours.iter().zip(&theirs) {
            assert_eq!(a, b, "{pkg}: symbol differs");
        }
    }
}

#[test]
fn every_archive_of_the_link_set_parses() {
    let minor = go_minor();
    let mut objects = 0;
    let mut funcs = 0;
    for (pkg, path) in demo().step.libs() {
        let data = std::fs::read(&path).expect("read");
        let objs = parse_archive_objects(&data, &path.display().to_string())
            .unwrap_or_else(|e| panic!("{pkg}: {e}"));
        assert!(!objs.is_empty(), "{pkg}: no objects");
        for o in &objs {
            objects += 1;
            assert!(
                o.header_line.starts_with("go object linux amd64 go1."),
                "{}",
                o.header_line
            );
            o.autolib().expect("autolib");
            o.pkglist().expect("pkglist");
            o.files().expect("files");
            o.ref_names().expect("refnames");
            for i in 0..o.nallsym() {
                o.sym(i).expect("sym");
            }
            for i in 0..o.nalldef() {
                let s = o.sym(i).expect("sym");
                o.relocs(i).expect("relocs").for_each(drop);
                o.auxs(i).expect("auxs").for_each(drop);
                o.data(i).expect("data");
                if goobj::reloc::is_text_kind(s.typ, minor)
                    && o.func_info(i).expect("funcinfo").is_some()
                {
                    funcs += 1;
                    if let Some(t) = o.pcsp(i).expect("pcsp") {
                        for span in goobj::pcvalue::PcIter::new(t, 1) {
                            span.unwrap_or_else(|e| panic!("{pkg} {}: {e}", s.name));
                        }
                    }
                }
            }
        }
    }
    assert!(
        objects > 50 && funcs > 1000,
        "{objects} objects, {funcs} functions"
    );
}

#[test]
fn flags_and_relocations_of_known_symbols() {
    let set = demo().step.load();
    let look = |name: &str, v: i32| {
        let s = set.lookup(name, v);
        assert_ne!(s, 0, "{name}<{v}> not found");
        s
    };
    // sum.Add is `TEXT ·Add(SB), NOSPLIT`; the compiler adds an ABIInternal wrapper.
    let add0 = look("example.com/demo/sum.Add", 0);
    let add1 = look("example.com/demo/sum.Add", 1);
    assert!(set.is_nosplit(add0) && !set.is_abi_wrapper(add0));
    assert!(set.is_abi_wrapper(add1));
    // sum.Apply is splittable and calls callback through the ABI0 -> ABIInternal wrapper.
    let apply = look("example.com/demo/sum.Apply", 0);
    assert!(!set.is_nosplit(apply));
    let cb0 = look("example.com/demo/sum.callback", 0);
    assert!(set.is_abi_wrapper(cb0));
    let calls: Vec<(String, String)> = set
        .relocs_of(apply)
        .into_iter()
        .filter(|(_, t)| *t != 0)
        .map(|(r, t)| (set.reloc_table().name(r.typ), set.display(t)))
        .collect();
    assert!(
        calls.contains(&("R_CALL".into(), "example.com/demo/sum.callback<0>".into())),
        "{calls:?}"
    );
    assert!(
        calls.contains(&("R_CALL".into(), "runtime.morestack_noctxt<0>".into())),
        "{calls:?}"
    );
    // runtime.morestack is ABI0 assembly, NOSPLIT; dupok-free.
    let ms = look("runtime.morestack", 0);
    assert!(set.is_nosplit(ms) && !set.is_dupok(ms));
    assert_eq!(set.defining_package(ms), Some("runtime"));
    // The main package is loaded first and runtime is in the set.
    assert_eq!(set.libraries()[0].pkg, "main");
    assert!(set.libraries().iter().any(|l| l.pkg == "runtime"));
    assert_eq!((set.goos.as_str(), set.goarch.as_str()), ("linux", "amd64"));
}

/// Builds a `!<arch>` archive from (name, data) members.
fn make_ar(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut v = b"!<arch>\n".to_vec();
    for (name, data) in members {
        let hdr = format!(
            "{:<16}{:<12}{:<6}{:<6}{:<8}{:<10}`\n",
            name,
            0,
            0,
            0,
            644,
            data.len()
        );
        assert_eq!(hdr.len(), 60);
        v.extend_from_slice(hdr.as_bytes());
        v.extend_from_slice(data);
        if data.len() % 2 == 1 {
            v.push(b'\n');
        }
    }
    v
}

fn go_o_of(pkg: &str) -> Vec<u8> {
    let data = std::fs::read(archive_of(pkg)).expect("read");
    let m = goobj::reader::archive_members(&data, "x")
        .expect("members")
        .into_iter()
        .find(|m| m.name == "_go_.o")
        .expect("_go_.o");
    m.data.to_vec()
}

/// Parses everything reachable in archive bytes; any error is returned, panics are bugs.
fn parse_all(data: &[u8]) -> Result<usize, Error> {
    let mut n = 0;
    for o in parse_archive_objects(data, "t.a")? {
        let e = |e: goobj::RawErr| Error::Object {
            location: "t.a".into(),
            offset: e.offset,
            kind: e.kind,
        };
        o.autolib().map_err(e)?;
        o.pkglist().map_err(e)?;
        for i in 0..o.nallsym() {
            o.sym(i).map_err(e)?;
            n += 1;
        }
        for i in 0..o.nalldef() {
            o.relocs(i).map_err(e)?.for_each(drop);
            o.data(i).map_err(e)?;
            o.func_info(i).map_err(e)?;
        }
    }
    Ok(n)
}

#[test]
fn truncated_objects_give_located_errors() {
    let obj = go_o_of("example.com/demo/sum");
    let full = make_ar(&[("_go_.o", &obj)]);
    assert!(parse_all(&full).expect("full archive parses") > 5);
    let mut errors = 0;
    for cut in (1..obj.len()).step_by((obj.len() / 97).max(1)) {
        let ar = make_ar(&[("_go_.o", &obj[..cut])]);
        match parse_all(&ar) {
            Err(Error::Object {
                location, offset, ..
            }) => {
                assert_eq!(location, "t.a(_go_.o)");
                assert!(offset <= ar.len() as u64, "offset {offset} beyond file");
                errors += 1;
            }
            Err(e) => panic!("cut {cut}: unexpected error kind: {e}"),
            Ok(_) => {} // truncated inside a tools-only block (RefName) can still be readable
        }
    }
    assert!(errors > 80, "only {errors} truncations detected");
    // Truncating the archive itself (inside the member header or data).
    for cut in [9, 30, 67, full.len() - 3] {
        let err = parse_all(&full[..cut]).expect_err("truncated archive");
        assert!(
            matches!(err, Error::Archive { .. } | Error::Object { .. }),
            "{err}"
        );
    }
}

#[test]
fn foreign_newer_and_garbage_inputs() {
    // Not an archive at all: an ELF executable.
    let goexe = std::fs::read(go())
        .or_else(|_| std::fs::read("/usr/local/go/bin/go"))
        .expect("read go binary");
    let err = parse_all(&goexe[..4096.min(goexe.len())]).expect_err("ELF");
    assert!(matches!(err, Error::Archive { .. }), "{err}");
    assert!(err.to_string().contains("!<arch>"), "{err}");

    // An archive whose object member is an ELF file: a host object (a cgo
    // package's C code), skipped as the linker leaves it to the host linker.
    assert_eq!(
        parse_all(&make_ar(&[("x.o", &goexe[..256])])).expect("skipped"),
        0
    );
    // Read as a Go object, it is named for what it is.
    let err = goobj::GoObject::parse_member(&goexe[..256], 0x44)
        .map_err(|e| Error::Object {
            location: "t.a(x.o)".into(),
            offset: 0x44 + e.offset,
            kind: e.kind,
        })
        .expect_err("ELF member");
    match &err {
        Error::Object {
            location,
            kind: ObjErrorKind::Foreign { found },
            ..
        } => {
            assert_eq!(location, "t.a(x.o)");
            assert!(found.contains("ELF"), "{found}");
        }
        e => panic!("unexpected {e}"),
    }
    assert!(
        err.to_string()
            .starts_with("t.a(x.o) @0x44: not a Go object file (found an ELF file)"),
        "{err}"
    );

    // A newer object format.
    let mut obj = go_o_of("example.com/demo/sum");
    let at = obj
        .windows(8)
        .position(|w| w == b"\x00go120ld")
        .expect("magic");
    obj[at..at + 8].copy_from_slice(b"\x00go130ld");
    let err = parse_all(&make_ar(&[("_go_.o", &obj)])).expect_err("newer format");
    assert!(
        matches!(&err, Error::Object { kind: ObjErrorKind::UnsupportedFormat { .. }, offset, .. } if *offset == 68 + at as u64),
        "{err}"
    );

    // Garbage and header corruption never panic.
    let mut rng = 0x1234_5678_u64;
    let obj = go_o_of("example.com/demo/sum");
    for _ in 0..300 {
        let mut o = obj.clone();
        for _ in 0..8 {
            rng = rng.wrapping_mul(6364136223846793005).wrapping_add(1);
            let i = (rng >> 33) as usize % o.len();
            o[i] = (rng >> 17) as u8;
        }
        let _ = parse_all(&make_ar(&[("_go_.o", &o)]));
    }
    let garbage: Vec<u8> = (0..500u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
        .collect();
    let err = parse_all(&make_ar(&[("g.o", &garbage)])).expect_err("garbage");
    assert!(
        matches!(
            err,
            Error::Object {
                kind: ObjErrorKind::Foreign { .. },
                ..
            }
        ),
        "{err}"
    );
    // A short member name without .o/.syso is skipped like the linker does.
    assert_eq!(
        parse_all(&make_ar(&[("README", &garbage)])).expect("skipped"),
        0
    );

    // A link set whose main archive is not an archive.
    let tmp = tempfile::NamedTempFile::new().expect("tmp");
    std::fs::write(tmp.path(), b"\x7fELF\x02\x01\x01garbage").expect("write");
    let err = goobj::load_link_set(tmp.path(), &[]).expect_err("bad main");
    assert!(err.to_string().contains("malformed archive"), "{err}");
}

#[test]
fn funcinfo_and_pcsp_of_a_nosplit_function() {
    let data = std::fs::read(archive_of("example.com/demo/sum")).expect("read");
    let objs = parse_archive_objects(&data, "sum.a").expect("parse");
    let asm = objs
        .iter()
        .find(|o| o.header.from_assembly())
        .expect("assembly object");
    let i = (0..asm.nalldef())
        .find(|&i| {
            asm.sym(i)
                .is_ok_and(|s| s.name == "example.com/demo/sum.Apply")
        })
        .expect("Apply");
    let fi = asm.func_info(i).expect("funcinfo").expect("has funcinfo");
    assert_eq!(fi.args, 16);
    assert!(fi.func_flag & goobj::reader::funcflag::ASM != 0);
    let has_pcsp = asm.auxs(i).expect("auxs").any(|a| a.typ == aux::PCSP);
    assert!(has_pcsp);
    let spans =
        goobj::pcvalue::decode(asm.pcsp(i).expect("pcsp").expect("table"), 1).expect("decode");
    // `$16-16` on amd64: 16 bytes of locals + 8 saved BP at the call.
    assert_eq!(spans.iter().map(|s| s.value).max(), Some(24), "{spans:?}");
}
