//! Statement splitting and the def/ref rules of `asm -gensymabis`, modelled on
//! `cmd/asm/internal/asm/parse.go` (`line`, `symDefRef`, `funcAddress`,
//! `symRefAttrs`, `qualifySymbol`).
//!
//! The Go parser keeps going after an error and fails at the end; any error means no
//! output, so we stop at the first one (the first line the assembler would print).

use crate::arch::Arch;
use crate::lex::{make_into, Input};
use crate::scanner::{self, Tok};
use crate::util;
use crate::{Error, ScanError};

pub(crate) struct Parser<'a, 'b> {
    lex: Input<'a>,
    arch: &'b Arch,
    pkg_prefix: &'b str,
    allow_abi: bool,
    line_num: usize,
    saw_code: bool,
    /// The current statement, in reused buffers: its word, its operand tokens
    /// (texts in `text`, as `lex.Make` builds them) and each operand's token range.
    word: Vec<u8>,
    toks: Vec<Tk>,
    text: Vec<u8>,
    operands: Vec<(usize, usize)>,
}

/// One operand token: kind and text range in `Parser::text`.
#[derive(Clone, Copy)]
struct Tk {
    tok: Tok,
    start: u32,
    end: u32,
}

impl<'a, 'b> Parser<'a, 'b> {
    pub(crate) fn new(
        lex: Input<'a>,
        arch: &'b Arch,
        pkg_prefix: &'b str,
        allow_abi: bool,
    ) -> Self {
        Parser {
            lex,
            arch,
            pkg_prefix,
            allow_abi,
            line_num: 0,
            saw_code: false,
            word: Vec::new(),
            toks: Vec::new(),
            text: Vec::new(),
            operands: Vec::new(),
        }
    }

    fn errorf(&self, kind: ScanError) -> Error {
        Error::Scan {
            file: self.lex.file(),
            line: self.line_num,
            kind,
        }
    }

    /// `Parser.ParseSymABIs`: append one `def`/`ref` line per symbol to `out`.
    pub(crate) fn parse_symabis(&mut self, out: &mut String) -> Result<(), Error> {
        while self.line()? {
            self.sym_def_ref(out)?;
        }
        Ok(())
    }

    #[inline(always)]
    fn next_token(&mut self) -> Result<Tok, Error> {
        loop {
            let tok = self.lex.next()?;
            if tok == scanner::BUILD_COMMENT {
                // errorf drops an error on the line of the previous one, which starts
                // out as 0: a misplaced //go:build before the first statement is silent.
                if self.saw_code && self.line_num != 0 {
                    return Err(self.errorf(ScanError::MisplacedBuildComment));
                }
                continue;
            }
            if tok != 0x0A {
                self.saw_code = true;
            }
            if tok == i32::from(b'#') {
                continue;
            }
            return Ok(tok);
        }
    }

    /// `Parser.line`: the next statement into `word`/`operands`; false at EOF.
    fn line(&mut self) -> Result<bool, Error> {
        'next: loop {
            let mut tok;
            loop {
                tok = self.next_token()?;
                self.line_num = self.lex.line();
                match tok {
                    0x0A | 0x3B => continue,
                    scanner::EOF => return Ok(false),
                    _ => break,
                }
            }
            if tok != scanner::IDENT {
                return Err(self.errorf(ScanError::ExpectedIdentifier {
                    found: util::quote(self.lex.text()),
                }));
            }
            self.word.clear();
            self.word.extend_from_slice(self.lex.text());
            self.toks.clear();
            self.text.clear();
            self.operands.clear();
            let mut nesting = 0i64;
            let mut colon: Option<usize> = None;
            while tok != 0x0A && tok != 0x3B {
                let first = self.toks.len();
                let mut saw_lt = false;
                loop {
                    tok = self.next_token()?;
                    if self.operands.is_empty() && self.toks.len() == first {
                        if self.arch.has_suffixes() && tok == i32::from(b'.') {
                            tok = self.next_token()?;
                            if tok != scanner::IDENT {
                                return Err(self.errorf(ScanError::SuffixExpectedIdentifier(
                                    util::lossy(self.lex.text()),
                                )));
                            }
                            continue;
                        }
                        if tok == i32::from(b':') {
                            // A label: the statement starts over.
                            continue 'next;
                        }
                    }
                    if tok == scanner::EOF {
                        return Err(self.errorf(ScanError::UnexpectedEof));
                    }
                    if tok == 0x0A
                        || tok == 0x3B
                        || (nesting == 0 && (tok == i32::from(b',') || tok == i32::from(b':')))
                    {
                        if tok == i32::from(b':') {
                            if colon.is_some() {
                                return Err(self.errorf(ScanError::InvalidColon));
                            }
                            colon = Some(self.operands.len());
                        }
                        break;
                    }
                    if tok == i32::from(b'(') || tok == i32::from(b'[') {
                        nesting += 1;
                    }
                    if tok == i32::from(b')') || tok == i32::from(b']') {
                        nesting -= 1;
                    }
                    // Only identifiers' texts, and those of tokens after a `<`, are
                    // ever looked at (names, `SB`, ABI names; symRefAttrs' error).
                    if tok == i32::from(b'<') {
                        saw_lt = true;
                    }
                    let start = self.text.len() as u32;
                    if tok == scanner::IDENT || saw_lt {
                        make_into(&mut self.text, self.lex.text());
                    }
                    self.toks.push(Tk {
                        tok,
                        start,
                        end: self.text.len() as u32,
                    });
                }
                if self.toks.len() > first {
                    self.operands.push((first, self.toks.len()));
                    if let Some(c) = colon {
                        if self.operands.len() == c + 2 {
                            self.operands.swap(c, c + 1);
                            colon = None;
                        }
                    }
                } else if !self.operands.is_empty() || tok == i32::from(b',') || colon.is_some() {
                    return Err(self.errorf(ScanError::MissingOperand));
                }
            }
            return Ok(true);
        }
    }

    fn sym_def_ref(&self, out: &mut String) -> Result<(), Error> {
        let mut operands = self.operands.as_slice();
        match self.word.as_slice() {
            b"TEXT" => {
                if let Some(&op) = operands.first() {
                    if let Some((name, abi)) = self.func_address(op)? {
                        push_line(out, "def", &name, abi);
                    }
                }
                return Ok(());
            }
            b"DATA" | b"FUNCDATA" => {
                if operands.len() < 2 {
                    return Ok(());
                }
                operands = &operands[1..];
            }
            _ => {}
        }
        for &op in operands {
            if let Some((name, abi)) = self.func_address(op)? {
                push_line(out, "ref", &name, abi);
            }
        }
        Ok(())
    }

    /// `Parser.funcAddress`: `[$*]NAME[<ABI>][+INT](SB)` and nothing more.
    fn func_address(
        &self,
        (from, to): (usize, usize),
    ) -> Result<Option<(String, &'static str)>, Error> {
        let mut c = Cursor {
            toks: &self.toks[from..to],
            text: &self.text,
            pos: 0,
        };
        if matches!(c.peek(), 0x24 | 0x2A) {
            c.next();
        }
        let (tok, text) = c.next();
        if tok != scanner::IDENT {
            return Ok(None);
        }
        // Cheap rejection first (the answer is the same, without errors, whichever
        // check rejects): the operand must end in `(SB)` unless `symRefAttrs` is
        // reached (it can fail only when a `<` follows the name).
        let n = c.toks.len();
        let ends_sb = n >= 3
            && c.toks[n - 1].tok == i32::from(b')')
            && c.toks[n - 3].tok == i32::from(b'(')
            && c.text_of(n - 2) == b"SB";
        if !ends_sb && c.peek() != i32::from(b'<') {
            return Ok(None);
        }
        if self.at_start_of_register(text, &c) {
            return Ok(None);
        }
        let (is_static, abi) = self.sym_ref_attrs(&mut c)?;
        if is_static {
            return Ok(None);
        }
        let mut t = c.next().0;
        if t == i32::from(b'+') {
            if c.next().0 != scanner::INT {
                return Ok(None);
            }
            t = c.next().0;
        }
        if t != i32::from(b'(') {
            return Ok(None);
        }
        let (reg, reg_text) = c.next();
        if reg != scanner::IDENT || reg_text != b"SB" {
            return Ok(None);
        }
        if c.next().0 != i32::from(b')') || c.peek() != scanner::EOF {
            return Ok(None);
        }
        Ok(Some((self.qualify(text), abi)))
    }

    /// `Parser.symRefAttrs` as `funcAddress` calls it: a bad ABI name is silently
    /// ABI0, but a missing `>` is still an error (`get('>')`).
    fn sym_ref_attrs(&self, c: &mut Cursor<'_>) -> Result<(bool, &'static str), Error> {
        let mut abi = "ABI0";
        let mut is_static = false;
        if c.peek() != i32::from(b'<') {
            return Ok((false, abi));
        }
        c.next();
        let tok = c.peek();
        if tok == i32::from(b'>') {
            is_static = true;
        } else if tok == scanner::IDENT {
            let (_, s) = c.next();
            if self.allow_abi {
                match s {
                    b"ABI0" => abi = "ABI0",
                    b"ABIInternal" => abi = "ABIInternal",
                    _ => {}
                }
            }
        }
        if c.peek() != i32::from(b'>') {
            let (found_tok, found) = c.next();
            let found = if found_tok == scanner::EOF {
                "EOF".to_string()
            } else {
                util::lossy(found)
            };
            return Err(self.errorf(ScanError::Expected {
                expected: util::tok_string(i32::from(b'>')),
                found,
            }));
        }
        c.next();
        Ok((is_static, abi))
    }

    fn at_start_of_register(&self, name: &[u8], c: &Cursor<'_>) -> bool {
        self.arch.is_register(name) || (self.arch.is_register_prefix(name) && c.peek() == 0x28)
    }

    fn qualify(&self, name: &[u8]) -> String {
        let name = util::lossy(name);
        if name.starts_with('.') {
            format!("{}{}", self.pkg_prefix, name)
        } else {
            name
        }
    }
}

fn push_line(out: &mut String, kind: &str, name: &str, abi: &str) {
    out.push_str(kind);
    out.push(' ');
    out.push_str(name);
    out.push(' ');
    out.push_str(abi);
    out.push('\n');
}

struct Cursor<'t> {
    toks: &'t [Tk],
    text: &'t [u8],
    pos: usize,
}

impl<'t> Cursor<'t> {
    fn peek(&self) -> Tok {
        self.toks.get(self.pos).map_or(scanner::EOF, |t| t.tok)
    }

    fn text_of(&self, i: usize) -> &'t [u8] {
        let t = self.toks[i];
        &self.text[t.start as usize..t.end as usize]
    }

    fn next(&mut self) -> (Tok, &'t [u8]) {
        match self.toks.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                (t.tok, &self.text[t.start as usize..t.end as usize])
            }
            None => (scanner::EOF, &[]),
        }
    }
}
