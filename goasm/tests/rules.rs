//! Def/ref rules, preprocessor and tokenizer behaviour, through the public API on
//! in-memory sources. Expected outputs were checked against `asm -gensymabis` of
//! go1.26.8.

use goasm::{gensymabis_source, Error, MemLoader, Options, ScanError};

fn opts(goarch: &str, pkg: &str) -> Options {
    Options {
        goos: "linux".into(),
        goarch: goarch.into(),
        pkgpath: Some(pkg.into()),
        ..Default::default()
    }
}

fn scan(o: &Options, src: &str) -> Result<String, Error> {
    gensymabis_source(o, "x.s", src.as_bytes(), &MemLoader::new())
}

fn ok(goarch: &str, pkg: &str, src: &str) -> String {
    scan(&opts(goarch, pkg), src).unwrap_or_else(|e| panic!("{e}"))
}

fn err(o: &Options, src: &str) -> (usize, ScanError) {
    match scan(o, src) {
        Err(Error::Scan { line, kind, .. }) => (line, kind),
        other => panic!("expected a scan error, got {other:?}"),
    }
}

#[test]
fn defs_and_refs_in_order_with_duplicates() {
    let src = "\
#include \"textflag.h\"
TEXT ·Add(SB),NOSPLIT,$0-24
\tCALL ·callback(SB)
\tCALL ·callback(SB)
\tJMP runtime·foo(SB)
\tMOVQ $·f(SB), AX
\tMOVQ ·data+8(SB), AX
\tLEAQ ·local<>(SB), AX
\tMOVQ x+0(FP), AX
\tRET
";
    let mut l = MemLoader::new();
    l.insert("x.s", src)
        .insert("textflag.h", "#define NOSPLIT 4\n");
    let got = goasm::gensymabis_with(&opts("amd64", "example.com/demo/sum"), &["x.s".into()], &l)
        .unwrap();
    assert_eq!(
        got,
        "def example.com/demo/sum.Add ABI0\n\
         ref example.com/demo/sum.callback ABI0\n\
         ref example.com/demo/sum.callback ABI0\n\
         ref runtime.foo ABI0\n\
         ref example.com/demo/sum.f ABI0\n\
         ref example.com/demo/sum.data ABI0\n"
    );
}

#[test]
fn middle_dot_division_slash_and_prefix_escaping() {
    assert_eq!(
        ok(
            "amd64",
            "a.b/c.d",
            "CALL runtime∕debug·setGCPercent(SB)\nCALL ·x(SB)\n"
        ),
        "ref runtime/debug.setGCPercent ABI0\nref a.b/c%2ed.x ABI0\n"
    );
    // Without -p the assembler qualifies with "<unlinkable>".
    let o = Options {
        goos: "linux".into(),
        goarch: "amd64".into(),
        ..Default::default()
    };
    assert_eq!(
        scan(&o, "CALL ·x(SB)\n").unwrap(),
        "ref <unlinkable>.x ABI0\n"
    );
}

#[test]
fn abi_selectors_only_for_runtime_like_packages() {
    let src = "TEXT ·f<ABIInternal>(SB),0,$0\nCALL ·g<ABIInternal>(SB)\nCALL ·h<ABI0>(SB)\nCALL ·k<Bogus>(SB)\n";
    assert_eq!(
        ok("amd64", "runtime", src),
        "def runtime.f ABIInternal\nref runtime.g ABIInternal\nref runtime.h ABI0\nref runtime.k ABI0\n"
    );
    // Elsewhere the selector is ignored (the real assembly would reject it later).
    assert_eq!(
        ok("amd64", "example.com/p", src),
        "def example.com/p.f ABI0\nref example.com/p.g ABI0\nref example.com/p.h ABI0\nref example.com/p.k ABI0\n"
    );
    // A selector without its closing '>' is a syntax error.
    let (line, kind) = err(&opts("amd64", "runtime"), "\nCALL ·g<ABIInternal(SB)\n");
    assert_eq!(line, 2);
    assert_eq!(kind.to_string(), "expected '>', found (");
}

#[test]
fn file_local_symbols_and_non_sb_operands_are_not_refs() {
    assert_eq!(
        ok(
            "amd64",
            "p",
            "TEXT ·s<>(SB),0,$0\nCALL ·s<>(SB)\nMOVQ ·v(FP), AX\nCALL AX\nJMP ·t+8(SB)\nJMP ·u-8(SB)\nMOVQ $·w(SB)/8, AX\n"
        ),
        "ref p.t ABI0\n"
    );
}

#[test]
fn data_funcdata_skip_first_operand_glob_pcdata_do_not() {
    assert_eq!(
        ok(
            "amd64",
            "p",
            "DATA ·a(SB)/8, $·b(SB)\nGLOBL ·a(SB), 8, $8\nFUNCDATA $0, ·c(SB)\nPCDATA $0, ·d(SB)\nDATA ·only(SB)\n"
        ),
        "ref p.b ABI0\nref p.a ABI0\nref p.c ABI0\nref p.d ABI0\n"
    );
}

#[test]
fn registers_are_not_symbols_per_arch() {
    // AX is a register on amd64 but an ordinary name on arm64; R(…) is a register on arm64.
    assert_eq!(ok("amd64", "p", "CALL AX(SB)\n"), "");
    assert_eq!(ok("arm64", "p", "CALL AX(SB)\n"), "ref AX ABI0\n");
    assert_eq!(ok("arm64", "p", "CALL R(SB)\n"), "");
    assert_eq!(ok("amd64", "p", "CALL R(SB)\n"), "ref R ABI0\n");
    // riscv64: X3 is a register unless -shared.
    assert_eq!(ok("riscv64", "p", "CALL X3(SB)\n"), "");
    let mut o = opts("riscv64", "p");
    o.shared = true;
    assert_eq!(scan(&o, "CALL X3(SB)\n").unwrap(), "ref X3 ABI0\n");
}

#[test]
fn labels_suffixes_semicolons_and_colon_operands() {
    assert_eq!(
        ok(
            "arm64",
            "p",
            "loop: BL ·a(SB); B.EQ ·b(SB)\nlbl:\n\tCALL ·c(SB)\n"
        ),
        "ref p.a ABI0\nref p.b ABI0\nref p.c ABI0\n"
    );
    // '.' suffixes are only syntax on some architectures.
    assert_eq!(ok("s390x", "p", "BL ·a(SB)\n"), "ref p.a ABI0\n");
    let (_, kind) = err(&opts("amd64", "p"), "MOVQ. 1, ·a(SB)\n");
    assert_eq!(kind, ScanError::SuffixExpectedIdentifier("1".into()));
}

#[test]
fn macros_object_and_function_like() {
    let src = "\
#define CALLIT(f) CALL f(SB)
#define FUNC(name, frame) TEXT name(SB),0,frame
#define TWO \\
\tCALL ·one(SB); \\
\tCALL ·two(SB)
FUNC(·m, $0)
CALLIT(·x)
TWO
#undef TWO
#define TWO CALL ·three(SB)
TWO
";
    assert_eq!(
        ok("amd64", "p", src),
        "def p.m ABI0\nref p.x ABI0\nref p.one ABI0\nref p.two ABI0\nref p.three ABI0\n"
    );
    // An empty argument leaves the parameter name in place.
    assert_eq!(
        ok("amd64", "p", "#define F(a,b) CALL a(SB)\nF(,x)\n"),
        "ref a ABI0\n"
    );
    // A function-like macro needs '(' right after its name: this G is object-like.
    assert_eq!(
        err(&opts("amd64", "p"), "#define G (x) CALL x(SB)\nG\n").1,
        ScanError::ExpectedIdentifier {
            found: "\"(\"".into()
        }
    );
    // A function-like macro name without arguments is not expanded (a `macroName`
    // token, not an identifier; the newline peeked after it already counted).
    assert_eq!(
        err(&opts("amd64", "p"), "#define H(x) x\nH\n"),
        (
            3,
            ScanError::ExpectedIdentifier {
                found: "\"H\"".into()
            }
        )
    );
}

#[test]
fn macro_errors() {
    let o = opts("amd64", "p");
    assert_eq!(
        err(&o, "#define A 1\n#define A 2\n").1,
        ScanError::MacroRedefinition("A".into())
    );
    assert_eq!(
        err(&o, "#define F(a,a) a\n").1,
        ScanError::DuplicateMacroArgument {
            arg: "a".into(),
            name: "F".into()
        }
    );
    assert_eq!(
        err(&o, "#define F(a) a\nF(1,2)\n").1,
        ScanError::WrongArgCount("F".into())
    );
    assert_eq!(
        err(&o, "#define F(a) a\nF(1\n").1,
        ScanError::UnterminatedMacroArgs("F".into())
    );
    assert_eq!(
        err(&o, "#define A x \\ y\n").1,
        ScanError::BadMacroEscape("A".into())
    );
    assert_eq!(err(&o, "#define A A\nA\n").1, ScanError::RecursiveMacro);
    assert_eq!(err(&o, "#define A x A\nA\n").1, ScanError::InputRecursion);
    // Exponential growth is cut off instead of exhausting memory.
    assert!(matches!(
        err(&o, "#define A(x) A(x x)\nA(y)\n").1,
        ScanError::ExpansionTooLarge(_) | ScanError::RecursiveMacro
    ));
    assert_eq!(
        err(&o, "#undef Q\n").1,
        ScanError::UndefUndefined("Q".into())
    );
    assert_eq!(
        err(&o, "#define A x").1,
        ScanError::MacroMissingNewline("A".into())
    );
    // A definition may end at EOF when it has no body.
    assert_eq!(scan(&o, "#define A").unwrap(), "");
}

#[test]
fn ifdef_else_endif_and_command_line_defines() {
    let src = "\
#ifdef GOARCH_amd64
CALL ·amd(SB)
#else
CALL ·other(SB)
#endif
#ifndef NOPE
CALL ·nope(SB)
#endif
#ifdef OUTER
#ifdef INNER
CALL ·hidden(SB)
#else
CALL ·hidden2(SB)
#endif
#endif
CALL VAL(SB)
";
    let mut o = opts("amd64", "p");
    o.defines = vec!["GOARCH_amd64".into(), "VAL=·val".into()];
    assert_eq!(
        scan(&o, src).unwrap(),
        "ref p.amd ABI0\nref p.nope ABI0\nref p.val ABI0\n"
    );
    // -D NAME means NAME=1.
    o.defines = vec!["VAL".into()];
    assert_eq!(scan(&o, "CALL VAL(SB)\n").unwrap(), "");
    assert_eq!(err(&o, "#ifdef X\n").1, ScanError::UnclosedIfdef);
    assert_eq!(err(&o, "#endif\n").1, ScanError::UnmatchedEndif);
    assert_eq!(err(&o, "#else\n").1, ScanError::UnmatchedElse);
    o.defines = vec!["1X".into()];
    assert!(matches!(scan(&o, ""), Err(Error::BadDefine(_))));
}

#[test]
fn include_search_order_and_errors() {
    let mut l = MemLoader::new();
    l.insert("dir/x.s", "#include \"h.h\"\n#include \"only_inc.h\"\n")
        .insert("dir/h.h", "CALL ·fromdir(SB)\n")
        .insert("inc/h.h", "CALL ·frominc(SB)\n")
        .insert("inc/only_inc.h", "CALL ·inc2(SB)\n")
        .insert("inc2/only_inc.h", "CALL ·inc3(SB)\n");
    let mut o = opts("amd64", "p");
    o.include_dirs = vec!["inc".into(), "inc2".into()];
    assert_eq!(
        goasm::gensymabis_with(&o, &["dir/x.s".into()], &l).unwrap(),
        "ref p.fromdir ABI0\nref p.inc2 ABI0\n"
    );
    let mut l = MemLoader::new();
    l.insert("x.s", "\n#include \"missing.h\"\n");
    let e = goasm::gensymabis_with(&o, &["x.s".into()], &l).unwrap_err();
    assert_eq!(
        e.to_string(),
        // The line after the directive, and the last path tried, as in Go.
        "x.s:3: #include: open inc2/missing.h: no such file or directory"
    );
    // Self-inclusion is bounded.
    let mut l = MemLoader::new();
    l.insert("x.s", "#include \"x.s\"\n");
    assert!(matches!(
        goasm::gensymabis_with(&o, &["x.s".into()], &l),
        Err(Error::Scan {
            kind: ScanError::InputRecursion,
            ..
        })
    ));
}

#[test]
fn line_directive_renames_the_file_in_errors() {
    let o = opts("amd64", "p");
    match scan(&o, "#line 100 \"gen.s\"\nCALL ·a(SB)\n?\n") {
        Err(e) => assert_eq!(e.to_string(), "gen.s:3: expected identifier, found \"?\""),
        Ok(s) => panic!("{s}"),
    }
}

#[test]
fn comments_strings_and_build_lines() {
    assert_eq!(
        ok(
            "amd64",
            "p",
            "//go:build amd64\n// CALL ·no(SB)\n/* CALL ·no2(SB)\n */ CALL ·yes(SB) // trailing\nMOVQ $\"CALL ·x(SB)\", AX\n"
        ),
        "ref p.yes ABI0\n"
    );
    // Reported at the line of the statement before it, like the assembler does.
    let (line, kind) = err(&opts("amd64", "p"), "CALL ·a(SB)\n//go:build amd64\n");
    assert_eq!((line, kind), (1, ScanError::MisplacedBuildComment));
}

#[test]
fn statement_errors() {
    let o = opts("amd64", "p");
    assert_eq!(err(&o, "CALL ·a(SB)").1, ScanError::UnexpectedEof);
    assert_eq!(err(&o, "MOVQ a, , b\n").1, ScanError::MissingOperand);
    assert_eq!(err(&o, "MOVQ a::b\n").1, ScanError::InvalidColon);
    assert_eq!(
        err(&o, "$x\n").1,
        ScanError::ExpectedIdentifier {
            found: "\"$\"".into()
        }
    );
    assert_eq!(err(&o, "CALL # define X\n").1, ScanError::HashNotFirst);
    // Blanks before '#' are fine.
    assert_eq!(scan(&o, "  # define X\n").unwrap(), "");
}

#[test]
fn error_lines_on_plain_lines_and_version_rules() {
    // Lines the lexer's fast path takes: errors still carry their own line (checked
    // against asm -gensymabis of go1.26).
    let o = opts("amd64", "p");
    assert_eq!(
        err(&o, "TEXT a(SB),0,$0\n\tMOVQ AX,\n"),
        (2, ScanError::MissingOperand)
    );
    assert_eq!(
        err(&o, "// c\n\nx:\n\tMOVQ AX, BX:CX:DX\n"),
        (4, ScanError::InvalidColon)
    );
    assert_eq!(
        err(&o, "TEXT b(SB),0,$0\n\tMOVQ AX, BX"),
        (2, ScanError::UnexpectedEof)
    );
    let (line, _) = err(&o, "\n  $1\n");
    assert_eq!(line, 2);
    assert_eq!(
        ok("amd64", "p", "TEXT ·c(SB),0,$0 // x\n\tCALL x<>(SB)\n\tMOVQ $-1, y+8(SB) // y\n\tJMP 0x10(PC); RET\n"),
        "def p.c ABI0\nref y ABI0\n"
    );
    // Go-version rules: runtime/internal/syscall could use ABI selectors in 1.22
    // only; loong64 took instruction suffixes from 1.24.
    let src = "TEXT ·f<ABIInternal>(SB),0,$0\n";
    let mut o = opts("amd64", "runtime/internal/syscall");
    o.go_version = Some((1, 22));
    assert_eq!(
        scan(&o, src).unwrap(),
        "def runtime/internal/syscall.f ABIInternal\n"
    );
    o.go_version = Some((1, 26));
    assert_eq!(
        scan(&o, src).unwrap(),
        "def runtime/internal/syscall.f ABI0\n"
    );
    let mut o = opts("loong64", "p");
    o.go_version = Some((1, 23));
    assert_eq!(scan(&o, "VADDV.B ·x(SB)\n").unwrap(), "");
    o.go_version = Some((1, 24));
    assert_eq!(scan(&o, "VADDV.B ·x(SB)\n").unwrap(), "ref p.x ABI0\n");
}
