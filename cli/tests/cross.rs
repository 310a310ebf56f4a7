//! Cross builds are go build's programs: the demo fixture built for other
//! targets by cargo gobuild (`--goos/--goarch`) and by `GOOS=… GOARCH=… go
//! build` (both `CGO_ENABLED=0`, each with its default build mode: pie on
//! windows and darwin) are the same file but for the build ID; and the
//! `nosplit` and `abi` subcommands work on PE and Mach-O programs.
//!
//! Needs `go`; fails (does not skip) without it.

mod common;

use std::ops::Range;
use std::path::{Path, PathBuf};

use common::*;
use object::read::macho::{LoadCommandVariant, MachHeader, MachOFile64};
use object::{Endianness, Object, ObjectSection};

/// Non-host ports the byte comparison covers: PE, Mach-O, ELF.
const TARGETS: &[(&str, &str)] = &[
    ("windows", "amd64"),
    ("darwin", "arm64"),
    ("linux", "arm64"),
];

/// Builds the fixture's `./cmd/demo` for `goos/goarch` with both tools;
/// (ours, go's).
fn build_both(dir: &Path, goos: &str, goarch: &str) -> (PathBuf, PathBuf) {
    let ours = dir.join(format!("demo-ours-{goos}-{goarch}"));
    let theirs = dir.join(format!("demo-go-{goos}-{goarch}"));
    ok(&gobuild(
        dir,
        &[
            "build",
            "-q",
            "--goos",
            goos,
            "--goarch",
            goarch,
            "--target-dir",
            shared_target().to_str().unwrap(),
            "-o",
            ours.to_str().unwrap(),
            "./cmd/demo",
        ],
    ));
    ok(&go(
        dir,
        &["build", "-o", theirs.to_str().unwrap(), "./cmd/demo"],
        &[("GOOS", goos), ("GOARCH", goarch)],
    ));
    (ours, theirs)
}

/// The byte ranges of `data` that hold its build ID or something derived
/// from it, each named:
/// - every occurrence of the Go build ID, which is found in the ELF
///   `.note.go.buildid` note (the desc after the `Go\0\0` name), and for
///   PE and Mach-O in the `\xff Go build ID: "…"` blob at the start of the
///   text (cmd/link's `textbuildid`, which ELF does without);
/// - ELF: `.note.gnu.build-id` (cmd/link derives it from the Go build ID,
///   `-B gobuildid`);
/// - Mach-O: the `LC_UUID` (derived from the Go build ID likewise) and the
///   `LC_CODE_SIGNATURE` data (the ad-hoc signature hashes every page, the
///   build ID's page too).
fn build_id_ranges(data: &[u8]) -> Vec<(String, Range<usize>)> {
    let kind = object::FileKind::parse(data).unwrap();
    let id: &[u8] = match kind {
        object::FileKind::Elf32 | object::FileKind::Elf64 => {
            let file = object::File::parse(data).unwrap();
            let note = file
                .section_by_name(".note.go.buildid")
                .expect("no .note.go.buildid")
                .data()
                .unwrap();
            // namesz, descsz, type (4 bytes each, in the file's byte
            // order), the name padded to 4.
            let le = file.is_little_endian();
            let u32_at = |i: usize| {
                let b: [u8; 4] = note[i..i + 4].try_into().unwrap();
                (if le {
                    u32::from_le_bytes(b)
                } else {
                    u32::from_be_bytes(b)
                }) as usize
            };
            let (namesz, descsz) = (u32_at(0), u32_at(4));
            let desc = 12 + namesz.div_ceil(4) * 4;
            &note[desc..desc + descsz]
        }
        _ => {
            let marker = b"\xff Go build ID: \"";
            let start = find(data, marker, 0).expect("no Go build ID blob") + marker.len();
            let len = data[start..]
                .iter()
                .position(|&b| b == b'"')
                .expect("unterminated Go build ID");
            &data[start..start + len]
        }
    };
    assert!(
        id.len() > 40 && id.iter().filter(|&&b| b == b'/').count() == 3,
        "not a program's build ID: {:?}",
        String::from_utf8_lossy(id)
    );
    let mut ranges = Vec::new();
    let mut at = 0;
    while let Some(i) = find(data, id, at) {
        ranges.push(("Go build ID".to_string(), i..i + id.len()));
        at = i + id.len();
    }
    match kind {
        object::FileKind::Elf32 | object::FileKind::Elf64 => {
            let file = object::File::parse(data).unwrap();
            if let Some(s) = file.section_by_name(".note.gnu.build-id") {
                let (off, size) = s.file_range().unwrap();
                ranges.push((
                    ".note.gnu.build-id".into(),
                    off as usize..(off + size) as usize,
                ));
            }
        }
        object::FileKind::MachO64 => {
            let file = MachOFile64::<Endianness>::parse(data).unwrap();
            let header = file.macho_header();
            let endian = file.endian();
            let mut commands = header.load_commands(endian, data, 0).unwrap();
            // Load commands follow the 32-byte header.
            let mut off = std::mem::size_of::<object::macho::MachHeader64<Endianness>>();
            while let Some(cmd) = commands.next().unwrap() {
                match cmd.variant().unwrap() {
                    LoadCommandVariant::Uuid(_) => {
                        // cmd, cmdsize, then the 16-byte uuid.
                        ranges.push(("LC_UUID".into(), off + 8..off + 24));
                    }
                    LoadCommandVariant::LinkeditData(c)
                        if c.cmd.get(endian) == object::macho::LC_CODE_SIGNATURE =>
                    {
                        let o = c.dataoff.get(endian) as usize;
                        let n = c.datasize.get(endian) as usize;
                        ranges.push(("LC_CODE_SIGNATURE".into(), o..o + n));
                    }
                    _ => {}
                }
                off += cmd.cmdsize() as usize;
            }
        }
        _ => {}
    }
    ranges
}

fn find(hay: &[u8], needle: &[u8], from: usize) -> Option<usize> {
    hay.get(from..)?
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|i| i + from)
}

fn masked(data: &[u8], ranges: &[(String, Range<usize>)]) -> Vec<u8> {
    let mut out = data.to_vec();
    for (_, r) in ranges {
        out[r.clone()].fill(0);
    }
    out
}

fn differing(a: &[u8], b: &[u8]) -> usize {
    a.iter().zip(b).filter(|(x, y)| x != y).count()
}

/// For each target: ours and go's program have the same size, and once the
/// build ID and what is derived from it are masked in both
/// ([`build_id_ranges`]: the ranges are located in each file on its own,
/// by the build ID blob and by parsing the ELF sections or Mach-O load
/// commands with the `object` crate, and must be the same ranges), they are
/// equal byte for byte. Prints the sizes and the differing byte counts
/// before and after masking.
#[test]
fn cross_builds_equal_go_build_but_the_build_id() {
    let (_tmp, dir) = fixture("demo");
    let mut failures = Vec::new();
    for &(goos, goarch) in TARGETS {
        let label = format!("{goos}/{goarch}");
        let (ours, theirs) = build_both(&dir, goos, goarch);
        let a = std::fs::read(&ours).unwrap();
        let b = std::fs::read(&theirs).unwrap();
        if a.len() != b.len() {
            failures.push(format!(
                "{label}: ours is {} bytes, go's {} bytes",
                a.len(),
                b.len()
            ));
            continue;
        }
        let ra = build_id_ranges(&a);
        let rb = build_id_ranges(&b);
        let spans = |r: &[(String, Range<usize>)]| -> Vec<Range<usize>> {
            r.iter().map(|(_, r)| r.clone()).collect()
        };
        if spans(&ra) != spans(&rb) {
            failures.push(format!(
                "{label}: the build ID is in other places: ours {ra:?}, go's {rb:?}"
            ));
            continue;
        }
        let (ma, mb) = (masked(&a, &ra), masked(&b, &ra));
        let before = differing(&a, &b);
        let after = differing(&ma, &mb);
        eprintln!(
            "{label}: {} bytes each; {before} bytes differ, {after} after masking {}",
            a.len(),
            ra.iter()
                .map(|(n, r)| format!("{n} [{:#x}, {} bytes]", r.start, r.len()))
                .collect::<Vec<_>>()
                .join(", ")
        );
        if after != 0 {
            let first = ma.iter().zip(&mb).position(|(x, y)| x != y).unwrap();
            failures.push(format!(
                "{label}: {after} bytes differ outside the build ID (first at {first:#x})"
            ));
        }
        // The build info reads back the same (`-buildmode=exe` for the
        // default mode, PIE or not).
        let m = ok(&go(&dir, &["version", "-m", ours.to_str().unwrap()], &[]));
        let g = ok(&go(&dir, &["version", "-m", theirs.to_str().unwrap()], &[]));
        let tail = |s: &str| s.lines().skip(1).collect::<Vec<_>>().join("\n");
        if tail(&m) != tail(&g) {
            failures.push(format!("{label}: go version -m differs:\n{m}\n{g}"));
        }
        assert!(m.contains("build\t-buildmode=exe"), "{label}: {m}");
        assert!(m.contains(&format!("build\tGOOS={goos}")), "{label}: {m}");
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// `nosplit` and `abi` on PE (windows/amd64) and Mach-O (darwin/arm64)
/// programs: `nosplit --edges` equals the linker's `-debugnosplit` lines
/// for the same target, and `abi` checks the program's symbol table (PE,
/// Mach-O) with no problem and finds the fixture's wrappers in it, with
/// sizes (measured to the next symbol: these symbol tables carry none).
#[test]
fn nosplit_and_abi_work_for_windows_and_darwin() {
    let (_tmp, dir) = fixture("demo");
    for (goos, goarch, format) in [("windows", "amd64", "PE"), ("darwin", "arm64", "Mach-O")] {
        let label = format!("{goos}/{goarch}");
        let target = ["--goos", goos, "--goarch", goarch];
        let t = shared_target();
        let t = t.to_str().unwrap();

        let go_out = go(
            &dir,
            &[
                "build",
                "-ldflags=-debugnosplit",
                "-o",
                "/dev/null",
                "./cmd/demo",
            ],
            &[("GOOS", goos), ("GOARCH", goarch)],
        );
        assert!(go_out.status.success(), "{label}: {}", text(&go_out));
        let mut theirs: Vec<String> = text(&go_out)
            .lines()
            .filter(|l| l.starts_with("nosplit: "))
            .map(str::to_string)
            .collect();
        theirs.sort();
        let mut args = vec!["nosplit", "-q", "--edges", "--target-dir", t];
        args.extend(target);
        args.push("./cmd/demo");
        let mut ours: Vec<String> = ok(&gobuild(&dir, &args))
            .lines()
            .map(str::to_string)
            .collect();
        ours.sort();
        assert!(
            theirs.len() > 500,
            "{label}: only {} linker edges",
            theirs.len()
        );
        assert_eq!(
            ours, theirs,
            "{label}: nosplit edges differ from the linker's"
        );

        let mut args = vec!["abi", "-q", "--json", "--target-dir", t];
        args.extend(target);
        args.push("./cmd/demo");
        let out = gobuild(&dir, &args);
        let doc: serde_json::Value = serde_json::from_str(&ok(&out))
            .unwrap_or_else(|e| panic!("{label}: abi --json: {e}\n{}", text(&out)));
        let elf = &doc["programs"][0]["elf"];
        assert!(elf["skipped"].is_null(), "{label}: skipped: {elf}");
        assert_eq!(elf["format"], format, "{label}: {elf}");
        assert_eq!(
            elf["problems"].as_array().unwrap().len(),
            0,
            "{label}: {elf}"
        );
        assert!(
            elf["text_symbols"].as_u64().unwrap() > 1000,
            "{label}: {elf}"
        );
        assert!(elf["pairs_checked"].as_u64().unwrap() > 0, "{label}: {elf}");
        let wrappers = elf["wrappers"].as_array().unwrap();
        // The ABI0 wrapper of the Go callback the assembly calls, under
        // its mangled name.
        assert!(
            wrappers
                .iter()
                .any(|w| w["elf_name"] == "example.com/demo/sum.callback.abi0"
                    && w["size"].as_u64() > Some(0)),
            "{label}: no sized sum.callback.abi0 wrapper: {elf}"
        );

        // The human report names the format and passes.
        let mut args = vec!["abi", "-q", "--target-dir", t];
        args.extend(target);
        args.push("./cmd/demo");
        let h = ok(&gobuild(&dir, &args));
        assert!(
            h.contains(&format!(", {format}): ")) && h.contains("wrappers present: ok"),
            "{label}: {h}"
        );
    }
}
