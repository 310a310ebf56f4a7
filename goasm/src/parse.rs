//! Statement splitting and the def/ref rules of `asm -gensymabis`, modelled on
//! `cmd/asm/internal/asm/parse.go` (`line`, `symDefRef`, `funcAddress`,
//! `symRefAttrs`, `qualifySymbol`).
//!
//! The Go parser keeps going after an error and fails at the end; any error means no
//! output, so we stop at the first one (the first line the assembler would print).

use crate::arch::Arch;
use crate::lex::{make, Input, Token};
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
}

/// One statement: the instruction word and its comma-separated operands.
struct Line {
    word: Vec<u8>,
    operands: Vec<Vec<Token>>,
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
        while let Some(line) = self.line()? {
            self.sym_def_ref(out, &line)?;
        }
        Ok(())
    }

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

    fn line(&mut self) -> Result<Option<Line>, Error> {
        'next: loop {
            let mut tok;
            loop {
                tok = self.next_token()?;
                self.line_num = self.lex.line();
                match tok {
                    0x0A | 0x3B => continue,
                    scanner::EOF => return Ok(None),
                    _ => break,
                }
            }
            if tok != scanner::IDENT {
                return Err(self.errorf(ScanError::ExpectedIdentifier {
                    found: util::quote(self.lex.text()),
                }));
            }
            let word = self.lex.text().to_vec();
            let mut operands: Vec<Vec<Token>> = Vec::new();
            let mut nesting = 0i64;
            let mut colon: Option<usize> = None;
            while tok != 0x0A && tok != 0x3B {
                let mut items: Vec<Token> = Vec::new();
                loop {
                    tok = self.next_token()?;
                    if operands.is_empty() && items.is_empty() {
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
                            colon = Some(operands.len());
                        }
                        break;
                    }
                    if tok == i32::from(b'(') || tok == i32::from(b'[') {
                        nesting += 1;
                    }
                    if tok == i32::from(b')') || tok == i32::from(b']') {
                        nesting -= 1;
                    }
                    items.push(make(tok, self.lex.text()));
                }
                if !items.is_empty() {
                    operands.push(items);
                    if let Some(c) = colon {
                        if operands.len() == c + 2 {
                            operands.swap(c, c + 1);
                            colon = None;
                        }
                    }
                } else if !operands.is_empty() || tok == i32::from(b',') || colon.is_some() {
                    return Err(self.errorf(ScanError::MissingOperand));
                }
            }
            return Ok(Some(Line { word, operands }));
        }
    }

    fn sym_def_ref(&self, out: &mut String, line: &Line) -> Result<(), Error> {
        let mut operands = line.operands.as_slice();
        match line.word.as_slice() {
            b"TEXT" => {
                if let Some(op) = operands.first() {
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
        for op in operands {
            if let Some((name, abi)) = self.func_address(op)? {
                push_line(out, "ref", &name, abi);
            }
        }
        Ok(())
    }

    /// `Parser.funcAddress`: `[$*]NAME[<ABI>][+INT](SB)` and nothing more.
    fn func_address(&self, op: &[Token]) -> Result<Option<(String, &'static str)>, Error> {
        let mut c = Cursor { toks: op, pos: 0 };
        if matches!(c.peek(), 0x24 | 0x2A) {
            c.next();
        }
        let tok = c.next();
        if tok.tok != scanner::IDENT || self.at_start_of_register(&tok.text, &c) {
            return Ok(None);
        }
        let name = self.qualify(&tok.text);
        let (is_static, abi) = self.sym_ref_attrs(&mut c)?;
        if is_static {
            return Ok(None);
        }
        let mut t = c.next();
        if t.tok == i32::from(b'+') {
            if c.next().tok != scanner::INT {
                return Ok(None);
            }
            t = c.next();
        }
        if t.tok != i32::from(b'(') {
            return Ok(None);
        }
        let reg = c.next();
        if reg.tok != scanner::IDENT || reg.text != b"SB" {
            return Ok(None);
        }
        if c.next().tok != i32::from(b')') || c.peek() != scanner::EOF {
            return Ok(None);
        }
        Ok(Some((name, abi)))
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
            let s = c.next();
            if self.allow_abi {
                match s.text.as_slice() {
                    b"ABI0" => abi = "ABI0",
                    b"ABIInternal" => abi = "ABIInternal",
                    _ => {}
                }
            }
        }
        if c.peek() != i32::from(b'>') {
            let found = c.next();
            let found = if found.tok == scanner::EOF {
                "EOF".to_string()
            } else {
                util::lossy(&found.text)
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

static EOF_TOKEN: Token = Token {
    tok: scanner::EOF,
    text: Vec::new(),
};

struct Cursor<'t> {
    toks: &'t [Token],
    pos: usize,
}

impl<'t> Cursor<'t> {
    fn peek(&self) -> Tok {
        self.toks.get(self.pos).map_or(scanner::EOF, |t| t.tok)
    }

    fn next(&mut self) -> &'t Token {
        match self.toks.get(self.pos) {
            Some(t) => {
                self.pos += 1;
                t
            }
            None => &EOF_TOKEN,
        }
    }
}
