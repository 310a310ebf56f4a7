//! The assembler's preprocessor and token stream, modelled on
//! `cmd/asm/internal/lex` (`input.go`, `stack.go`, `slice.go`, `tokenizer.go`).
//!
//! A stack of token readers (files and macro expansions) feeds [`Input`], which
//! handles `#` directives and macro invocation exactly like the Go lexer, quirks
//! included: `#line` is processed inside disabled `#ifdef` blocks, macros are
//! expanded even inside disabled blocks, a function-like macro name not followed by
//! `(` is returned as a `macroName` token followed by the peeked token (which carries
//! the *previous* token's text), and `#include` paths are searched relative to the
//! process (work) directory, then the directory of the top-level `.s` file, then the
//! `-I` directories.
//!
//! Plain lines take a fast path ([`Input`]'s `fast_line`) that produces the same
//! tokens and scanner state in one pass.
//!
//! Where the Go lexer would exhaust memory (exponentially growing function-like macro
//! expansions) we stop with [`ScanError::ExpansionTooLarge`].

use std::collections::HashMap;
use std::rc::Rc;

use crate::scanner::{self, Scanner, Source, Tok};
use crate::util;
use crate::{CachingLoader, Error, ScanError};

/// The most tokens one macro expansion may produce (our bound, not Go's; the largest
/// expansion in GOROOT is 312 tokens).
const MAX_EXPANSION_TOKENS: usize = 1 << 14;
/// The most bytes of token text one macro expansion may hold (long string tokens
/// would otherwise multiply memory).
const MAX_EXPANSION_BYTES: usize = 1 << 20;
/// The most tokens all macro expansions of one file may produce in total (GOROOT: 37k).
const MAX_TOTAL_EXPANSION_TOKENS: usize = 1 << 23;
/// The most bytes of token text all macro expansions of one file may produce.
const MAX_TOTAL_EXPANSION_BYTES: usize = 1 << 27;

/// A token as `lex.Make` builds it: text with `·` → `.` and `∕` → `/`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Token {
    pub(crate) tok: Tok,
    /// Shared: expanding a macro clones its tokens.
    pub(crate) text: Rc<[u8]>,
}

/// `lex.Make`.
pub(crate) fn make(tok: Tok, text: &[u8]) -> Token {
    if text.is_ascii() {
        return Token {
            tok,
            text: text.into(),
        };
    }
    let mut out = Vec::with_capacity(text.len());
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with("\u{00B7}".as_bytes()) {
            out.push(b'.');
            i += 2;
        } else if text[i..].starts_with("\u{2215}".as_bytes()) {
            out.push(b'/');
            i += 3;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
    Token {
        tok,
        text: out.into(),
    }
}

/// ASCII bytes that continue an identifier: letters, digits, `_`.
static IDENT_CONT: [bool; 256] = {
    let mut t = [false; 256];
    let mut i = 0;
    while i < 256 {
        let b = i as u8;
        t[i] = b.is_ascii_alphanumeric() || b == b'_';
        i += 1;
    }
    t
};

fn filter_bit(name: &[u8]) -> usize {
    let first = name.first().copied().unwrap_or(0) as usize;
    let last = name.last().copied().unwrap_or(0) as usize;
    (first.wrapping_mul(31) ^ last.wrapping_mul(7) ^ name.len().wrapping_mul(131)) & 255
}

fn filter_add(f: &mut [u64; 4], name: &[u8]) {
    let b = filter_bit(name);
    f[b >> 6] |= 1 << (b & 63);
}

#[inline]
fn filter_has(f: &[u64; 4], name: &[u8]) -> bool {
    let b = filter_bit(name);
    f[b >> 6] & (1 << (b & 63)) != 0
}

/// `lex.Make`, appending the text to `out`.
#[inline]
pub(crate) fn make_into(out: &mut Vec<u8>, text: &[u8]) {
    if text.is_ascii() {
        out.extend(text.iter().copied());
        return;
    }
    let mut i = 0;
    while i < text.len() {
        if text[i..].starts_with("\u{00B7}".as_bytes()) {
            out.push(b'.');
            i += 2;
        } else if text[i..].starts_with("\u{2215}".as_bytes()) {
            out.push(b'/');
            i += 3;
        } else {
            out.push(text[i]);
            i += 1;
        }
    }
}

/// `constraint.IsGoBuild`.
fn is_go_build(text: &[u8]) -> bool {
    let mut line = text;
    if let Some(l) = line.strip_suffix(b"\n") {
        line = l;
    }
    if line.contains(&b'\n') {
        return false;
    }
    let Some(rest) = line.strip_prefix(b"//go:build") else {
        return false;
    };
    // TrimSpace of the whole line removed only trailing space (it starts with "//").
    let rest = trim_space_end(rest);
    let trimmed = trim_space_start(rest);
    rest.len() != trimmed.len() || rest.is_empty()
}

fn is_space_at(b: &[u8]) -> Option<usize> {
    let (r, w) = scanner::decode_rune(b);
    if w == 1 && r == 0xFFFD {
        return None;
    }
    let c = char::from_u32(r as u32)?;
    c.is_whitespace().then_some(w)
}

fn trim_space_start(mut b: &[u8]) -> &[u8] {
    while let Some(w) = is_space_at(b) {
        b = &b[w..];
    }
    b
}

fn trim_space_end(b: &[u8]) -> &[u8] {
    let mut end = b.len();
    'outer: while end > 0 {
        for w in 1..=4.min(end) {
            let start = end - w;
            let (r, width) = scanner::decode_rune(&b[start..end]);
            if width == w && !(w == 1 && r == 0xFFFD) {
                if is_space_at(&b[start..end]).is_some() {
                    end = start;
                    continue 'outer;
                }
                break 'outer;
            }
        }
        break;
    }
    &b[..end]
}

/// `lex.Tokenizer`: one source file.
struct Tokenizer {
    sc: Scanner,
    tok: Tok,
    file: Rc<Vec<u8>>,
    line: usize,
}

impl Tokenizer {
    fn new(name: &[u8], src: Source) -> Self {
        Tokenizer {
            sc: Scanner::new(src),
            tok: scanner::EOF,
            file: Rc::new(name.to_vec()),
            line: 1,
        }
    }

    fn next(&mut self) -> Tok {
        loop {
            self.tok = self.sc.scan();
            if self.tok != scanner::COMMENT {
                break;
            }
            let text = self.sc.token_text();
            self.line += text.iter().filter(|&&b| b == b'\n').count();
            if is_go_build(text) {
                self.tok = scanner::BUILD_COMMENT;
                break;
            }
        }
        let (second, combined) = match self.tok {
            0x0A => {
                self.line += 1;
                return self.tok;
            }
            0x2D => (0x3E, scanner::ARR),
            0x40 => (0x3E, scanner::ROT),
            0x3C => (0x3C, scanner::LSH),
            0x3E => (0x3E, scanner::RSH),
            _ => return self.tok,
        };
        if self.sc.peek() == second {
            self.sc.next_char();
            self.tok = combined;
        }
        self.tok
    }

    fn text(&self) -> &[u8] {
        match self.tok {
            scanner::LSH => b"<<",
            scanner::RSH => b">>",
            scanner::ARR => b"->",
            scanner::ROT => b"@>",
            _ => self.sc.token_text(),
        }
    }
}

/// `lex.Slice`: the tokens of one macro expansion.
struct Slice {
    tokens: Rc<[Token]>,
    file: Rc<Vec<u8>>,
    line: usize,
    /// Index of the current token plus one (Go's `pos` starts at -1).
    pos1: usize,
}

/// A token's text without a copy: a range of a file's source, a macro token's
/// text, or a constant.
#[derive(Clone)]
enum Text {
    Static(&'static [u8]),
    Src(Source, usize, usize),
    Shared(Rc<[u8]>),
    /// A range of `Input::fast_src` (a token of the fast path's current line).
    Fast(usize, usize),
}

enum Reader {
    File(Tokenizer),
    Slice(Slice),
}

impl Reader {
    #[inline]
    fn next(&mut self) -> Tok {
        match self {
            Reader::File(t) => t.next(),
            Reader::Slice(s) => {
                if s.pos1 <= s.tokens.len() {
                    s.pos1 += 1;
                }
                match s.tokens.get(s.pos1.wrapping_sub(1)) {
                    Some(t) => t.tok,
                    None => scanner::EOF,
                }
            }
        }
    }

    fn text(&self) -> &[u8] {
        match self {
            Reader::File(t) => t.text(),
            Reader::Slice(s) => s
                .tokens
                .get(s.pos1.wrapping_sub(1))
                .map(|t| &t.text[..])
                .unwrap_or(&[]),
        }
    }

    /// The current token's text as a cheap handle.
    fn text_handle(&self) -> Text {
        match self {
            Reader::File(t) => match t.tok {
                scanner::LSH => Text::Static(b"<<"),
                scanner::RSH => Text::Static(b">>"),
                scanner::ARR => Text::Static(b"->"),
                scanner::ROT => Text::Static(b"@>"),
                _ => {
                    let (start, end) = t.sc.token_range();
                    Text::Src(t.sc.src().clone(), start, end)
                }
            },
            Reader::Slice(s) => match s.tokens.get(s.pos1.wrapping_sub(1)) {
                Some(t) => Text::Shared(t.text.clone()),
                None => Text::Static(b""),
            },
        }
    }

    fn file(&self) -> &Rc<Vec<u8>> {
        match self {
            Reader::File(t) => &t.file,
            Reader::Slice(s) => &s.file,
        }
    }

    fn set_file(&mut self, f: Rc<Vec<u8>>) {
        match self {
            Reader::File(t) => t.file = f,
            Reader::Slice(s) => s.file = f,
        }
    }

    fn line(&self) -> usize {
        match self {
            Reader::File(t) => t.line,
            Reader::Slice(s) => s.line,
        }
    }

    fn col(&self) -> i64 {
        match self {
            Reader::File(t) => t.sc.column() as i64,
            Reader::Slice(s) => s.pos1 as i64 - 1,
        }
    }
}

struct Macro {
    name: Vec<u8>,
    /// `None` for an object-like macro; `Some(vec![])` for `NAME()`.
    args: Option<Vec<Vec<u8>>>,
    tokens: Rc<[Token]>,
}

/// Tokenize a `-D` name or value (`lex.Tokenize`).
pub(crate) fn tokenize(s: &[u8]) -> Vec<Token> {
    let mut t = Tokenizer::new(b"command line", s.to_vec().into());
    let mut out = Vec::new();
    loop {
        let tok = t.next();
        if tok == scanner::EOF {
            return out;
        }
        out.push(make(tok, t.text()));
    }
}

/// Predefined macros from `-D NAME[=VALUE]` (`lex.predefine`).
/// A predefined macro: name and body.
pub(crate) type Predefined = (Vec<u8>, Vec<Token>);

pub(crate) fn predefine(defines: &[String]) -> Result<Vec<Predefined>, Error> {
    let mut out = Vec::new();
    for d in defines {
        let (name, value) = match d.find('=') {
            Some(i) if i > 0 => (&d[..i], &d[i + 1..]),
            _ => (d.as_str(), "1"),
        };
        let tokens = tokenize(name.as_bytes());
        if tokens.len() != 1 || tokens[0].tok != scanner::IDENT {
            let first = tokens.first().map(|t| &t.text[..]).unwrap_or(b"");
            return Err(Error::BadDefine(util::quote(first)));
        }
        out.push((name.as_bytes().to_vec(), tokenize(value.as_bytes())));
    }
    Ok(out)
}

/// `lex.Input`: the preprocessed token stream of one top-level `.s` file.
pub(crate) struct Input<'a> {
    stack: Vec<Reader>,
    includes: Vec<Vec<u8>>,
    beginning_of_line: bool,
    ifdef_stack: Vec<bool>,
    macros: HashMap<Vec<u8>, Rc<Macro>, util::FxBuild>,
    /// A filter over the names ever defined: most identifiers are not macros.
    macro_filter: [u64; 4],
    /// The text of the last token, held without copying.
    text: Text,
    /// The fast path's tokens of the current line (kind, text range in
    /// `fast_src`), and how many were returned.
    fast: Vec<(Tok, u32, u32)>,
    fast_pos: usize,
    fast_src: Source,
    peek: Option<(Tok, Text)>,
    loader: &'a CachingLoader<'a>,
    expanded: usize,
    expanded_bytes: usize,
}

impl<'a> Input<'a> {
    pub(crate) fn new(
        name: &[u8],
        src: Source,
        include_dirs: &[Vec<u8>],
        predefined: &[Predefined],
        loader: &'a CachingLoader<'a>,
    ) -> Self {
        let mut includes = vec![util::dir(name)];
        includes.extend(include_dirs.iter().cloned());
        let mut macro_filter = [0; 4];
        for (n, _) in predefined {
            filter_add(&mut macro_filter, n);
        }
        let macros = predefined
            .iter()
            .map(|(n, toks)| {
                (
                    n.clone(),
                    Rc::new(Macro {
                        name: n.clone(),
                        args: None,
                        tokens: toks.clone().into(),
                    }),
                )
            })
            .collect();
        Input {
            stack: vec![Reader::File(Tokenizer::new(name, src))],
            includes,
            beginning_of_line: true,
            ifdef_stack: Vec::new(),
            macros,
            macro_filter,
            text: Text::Static(b""),
            fast: Vec::new(),
            fast_pos: 0,
            fast_src: Source::default(),
            peek: None,
            loader,
            expanded: 0,
            expanded_bytes: 0,
        }
    }

    fn top(&self) -> Option<&Reader> {
        self.stack.last()
    }

    /// The file name of the current reader (after `#line`, the name it gave).
    pub(crate) fn file(&self) -> String {
        self.top()
            .map(|r| util::lossy(r.file()))
            .unwrap_or_default()
    }

    /// The line of the current reader.
    pub(crate) fn line(&self) -> usize {
        let line = self.top().map(Reader::line).unwrap_or(0);
        // The fast path has already scanned the newline ending its line; until that
        // newline is returned, report the line the ordinary way would.
        if self.fast_pos < self.fast.len() {
            line.saturating_sub(1)
        } else {
            line
        }
    }

    /// Text of the last token returned by [`Input::next`].
    pub(crate) fn text(&self) -> &[u8] {
        match &self.text {
            Text::Static(s) => s,
            Text::Src(src, start, end) => &src[*start..*end],
            Text::Shared(t) => t,
            Text::Fast(start, end) => &self.fast_src[*start..*end],
        }
    }

    /// The fast path for a plain line: when the top reader is a file, the rest of
    /// its current line is plain ASCII that the scanner would split into simple
    /// tokens (identifiers that are not macros, decimal and hex integers,
    /// punctuation, a trailing non-`//go:build` line comment), tokenize it here in
    /// one pass into `fast`, and leave the scanner just before the line's newline
    /// in exactly the state it would be in had it scanned those tokens. Anything
    /// else (`#`, strings, other numbers, block comments, non-ASCII, macros, an
    /// unterminated last line) goes the general way.
    fn fast_line(&mut self) -> bool {
        self.fast.clear();
        self.fast_pos = 0;
        let ok = self.fast_line_tokens();
        if !ok {
            self.fast.clear();
        }
        ok
    }

    fn fast_line_tokens(&mut self) -> bool {
        if self.peek.is_some() || !self.enabled() {
            return false;
        }
        let Some(Reader::File(t)) = self.stack.last() else {
            return false;
        };
        let Some(start) = t.sc.lookahead_start() else {
            return false;
        };
        let src = t.sc.src();
        let Some(nl) = src[start..].iter().position(|&b| b == b'\n') else {
            return false;
        };
        let nl = start + nl;
        let line = &src[..nl];
        let at = |i: usize| -> u8 {
            if i < nl {
                src[i]
            } else {
                b'\n'
            }
        };
        let mut i = start;
        while i < nl {
            let b = line[i];
            match b {
                b' ' | b'\t' | b'\r' => {
                    i += 1;
                    continue;
                }
                b'a'..=b'z' | b'A'..=b'Z' | b'_' => {
                    let mut j = i + 1;
                    while j < nl && IDENT_CONT[usize::from(line[j])] {
                        j += 1;
                    }
                    if at(j) >= 0x80 {
                        return false;
                    }
                    let name = &line[i..j];
                    if filter_has(&self.macro_filter, name) && self.macros.contains_key(name) {
                        return false;
                    }
                    self.fast.push((scanner::IDENT, i as u32, j as u32));
                    i = j;
                    continue;
                }
                b'0'..=b'9' => {
                    let mut j;
                    if b == b'0' && (at(i + 1) | 0x20) == b'x' {
                        j = i + 2;
                        while j < nl && line[j].is_ascii_hexdigit() {
                            j += 1;
                        }
                        if j == i + 2 {
                            return false;
                        }
                    } else {
                        j = i + 1;
                        while j < nl && line[j].is_ascii_digit() {
                            j += 1;
                        }
                    }
                    let c = at(j);
                    if c.is_ascii_alphanumeric() || c == b'_' || c == b'.' || c >= 0x80 {
                        return false;
                    }
                    self.fast.push((scanner::INT, i as u32, j as u32));
                    i = j;
                    continue;
                }
                b'.' => {
                    if at(i + 1).is_ascii_digit() {
                        return false;
                    }
                }
                b'/' => match at(i + 1) {
                    b'/' => {
                        if is_go_build(&line[i..nl]) || !line[i..nl].is_ascii() {
                            return false;
                        }
                        break;
                    }
                    b'*' => return false,
                    _ => {}
                },
                b'-' | b'@' | b'>' | b'<' => {
                    let (second, combined) = match b {
                        b'-' => (b'>', scanner::ARR),
                        b'@' => (b'>', scanner::ROT),
                        b'<' => (b'<', scanner::LSH),
                        _ => (b'>', scanner::RSH),
                    };
                    if at(i + 1) == second {
                        self.fast.push((combined, i as u32, i as u32 + 2));
                        i += 2;
                        continue;
                    }
                }
                b'#' | b'"' | b'\'' | b'`' | b'\\' => return false,
                0x21..=0x7E => {}
                _ => return false,
            }
            self.fast.push((i32::from(b), i as u32, i as u32 + 1));
            i += 1;
        }
        self.fast.push((0x0A, nl as u32, nl as u32 + 1));
        self.fast_src = src.clone();
        let Some(Reader::File(t)) = self.stack.last_mut() else {
            return false;
        };
        if nl > start {
            t.sc.skip_to_newline(nl);
        }
        // The newline itself the ordinary way (line count, the next lookahead).
        let tok = t.next();
        debug_assert_eq!(tok, 0x0A);
        tok == 0x0A
    }

    fn error(&self, kind: ScanError) -> Error {
        Error::Scan {
            file: self.file(),
            line: self.line(),
            kind,
        }
    }

    #[inline]
    fn stack_next(&mut self) -> Tok {
        loop {
            let Some(top) = self.stack.last_mut() else {
                return scanner::EOF;
            };
            let tok = top.next();
            if tok == scanner::EOF && self.stack.len() > 1 {
                self.stack.pop();
                continue;
            }
            return tok;
        }
    }

    fn stack_text(&self) -> Vec<u8> {
        self.top().map(|r| r.text().to_vec()).unwrap_or_default()
    }

    fn stack_col(&self) -> i64 {
        self.top().map(Reader::col).unwrap_or(0)
    }

    fn enabled(&self) -> bool {
        self.ifdef_stack.last().copied().unwrap_or(true)
    }

    fn got(&self) -> String {
        util::quote(&self.stack_text())
    }

    fn push(&mut self, r: Reader) -> Result<(), Error> {
        if self.stack.len() > 100 {
            return Err(self.error(ScanError::InputRecursion));
        }
        self.stack.push(r);
        Ok(())
    }

    /// `Input.Next`.
    #[inline]
    pub(crate) fn next(&mut self) -> Result<Tok, Error> {
        if let Some(&(tok, start, end)) = self.fast.get(self.fast_pos) {
            self.fast_pos += 1;
            self.beginning_of_line = tok == 0x0A;
            self.text = Text::Fast(start as usize, end as usize);
            return Ok(tok);
        }
        self.next_general()
    }

    #[inline(never)]
    fn next_general(&mut self) -> Result<Tok, Error> {
        if let Some((tok, text)) = self.peek.take() {
            self.text = text;
            return Ok(tok);
        }
        if self.beginning_of_line && self.fast_line() {
            let (tok, start, end) = self.fast[0];
            self.fast_pos = 1;
            self.beginning_of_line = tok == 0x0A;
            self.text = Text::Fast(start as usize, end as usize);
            return Ok(tok);
        }
        let mut nesting = 0;
        while nesting < 100 {
            let tok = self.stack_next();
            if tok == i32::from(b'#') {
                if !self.beginning_of_line {
                    return Err(self.error(ScanError::HashNotFirst));
                }
                self.beginning_of_line = self.hash()?;
                self.text = Text::Static(b"#");
                return Ok(tok);
            }
            if tok == scanner::IDENT {
                let m = match self.stack.last() {
                    Some(r) => {
                        let name = r.text();
                        if filter_has(&self.macro_filter, name) {
                            self.macros.get(name).cloned()
                        } else {
                            None
                        }
                    }
                    None => None,
                };
                if let Some(m) = m {
                    nesting += 1;
                    self.invoke_macro(&m)?;
                    continue;
                }
            }
            if tok == scanner::EOF && !self.ifdef_stack.is_empty() {
                return Err(self.error(ScanError::UnclosedIfdef));
            }
            self.beginning_of_line = tok == 0x0A;
            if self.enabled() {
                self.text = self.top().map_or(Text::Static(b""), Reader::text_handle);
                return Ok(tok);
            }
        }
        Err(self.error(ScanError::RecursiveMacro))
    }

    fn hash(&mut self) -> Result<bool, Error> {
        let tok = self.stack_next();
        if tok != scanner::IDENT {
            return Err(self.error(ScanError::ExpectedDirective { got: self.got() }));
        }
        let directive = self.stack_text();
        if !self.enabled()
            && !matches!(
                directive.as_slice(),
                b"else" | b"endif" | b"ifdef" | b"ifndef" | b"line"
            )
        {
            return Ok(false);
        }
        match directive.as_slice() {
            b"define" => self.define()?,
            b"else" => self.else_()?,
            b"endif" => self.endif()?,
            b"ifdef" => self.ifdef(true)?,
            b"ifndef" => self.ifdef(false)?,
            b"include" => self.include()?,
            b"line" => self.line_directive()?,
            b"undef" => self.undef()?,
            _ => {
                return Err(self.error(ScanError::UnknownDirective(util::lossy(&directive))));
            }
        }
        Ok(true)
    }

    fn macro_name(&mut self) -> Result<Vec<u8>, Error> {
        let tok = self.stack_next();
        if tok != scanner::IDENT {
            return Err(self.error(ScanError::ExpectedMacroName { got: self.got() }));
        }
        Ok(self.stack_text())
    }

    fn define(&mut self) -> Result<(), Error> {
        let name = self.macro_name()?;
        let (args, tokens) = self.macro_definition(&name)?;
        if self.macros.contains_key(&name) {
            return Err(self.error(ScanError::MacroRedefinition(util::lossy(&name))));
        }
        filter_add(&mut self.macro_filter, &name);
        self.macros.insert(
            name.clone(),
            Rc::new(Macro {
                name,
                args,
                tokens: tokens.into(),
            }),
        );
        Ok(())
    }

    #[allow(clippy::type_complexity)]
    fn macro_definition(
        &mut self,
        name: &[u8],
    ) -> Result<(Option<Vec<Vec<u8>>>, Vec<Token>), Error> {
        let lname = || util::lossy(name);
        let prev_col = self.stack_col();
        let mut tok = self.stack_next();
        if tok == 0x0A || tok == scanner::EOF {
            return Ok((None, Vec::new()));
        }
        let mut args = None;
        if tok == i32::from(b'(') && self.stack_col() == prev_col + 1 {
            let mut accept_arg = true;
            let mut list: Vec<Vec<u8>> = Vec::new();
            loop {
                tok = self.stack_next();
                match tok {
                    0x29 => {
                        tok = self.stack_next();
                        break;
                    }
                    0x2C => {
                        if accept_arg {
                            return Err(self.error(ScanError::BadMacroSyntax(lname())));
                        }
                        accept_arg = true;
                    }
                    scanner::IDENT => {
                        if !accept_arg {
                            return Err(self.error(ScanError::BadMacroSyntax(lname())));
                        }
                        let arg = self.stack_text();
                        if list.contains(&arg) {
                            return Err(self.error(ScanError::DuplicateMacroArgument {
                                arg: util::lossy(&arg),
                                name: lname(),
                            }));
                        }
                        list.push(arg);
                        accept_arg = false;
                    }
                    _ => return Err(self.error(ScanError::BadMacroDefinition(lname()))),
                }
            }
            args = Some(list);
        }
        let mut tokens = Vec::new();
        while tok != 0x0A {
            if tok == scanner::EOF {
                return Err(self.error(ScanError::MacroMissingNewline(lname())));
            }
            if tok == i32::from(b'\\') {
                tok = self.stack_next();
                if tok != 0x0A && tok != i32::from(b'\\') {
                    return Err(self.error(ScanError::BadMacroEscape(lname())));
                }
            }
            tokens.push(make(tok, &self.stack_text()));
            if tokens.len() > MAX_EXPANSION_TOKENS {
                return Err(self.error(ScanError::ExpansionTooLarge(lname())));
            }
            tok = self.stack_next();
        }
        Ok((args, tokens))
    }

    fn slice(&self, tokens: Rc<[Token]>) -> Reader {
        Reader::Slice(Slice {
            tokens,
            file: self.top().map(|r| r.file().clone()).unwrap_or_default(),
            line: self.line(),
            pos1: 0,
        })
    }

    fn account(&mut self, tokens: &[Token], name: &[u8]) -> Result<(), Error> {
        let n = tokens.len();
        let bytes: usize = tokens.iter().map(|t| t.text.len()).sum();
        self.expanded = self.expanded.saturating_add(n);
        self.expanded_bytes = self.expanded_bytes.saturating_add(bytes);
        if n > MAX_EXPANSION_TOKENS
            || bytes > MAX_EXPANSION_BYTES
            || self.expanded > MAX_TOTAL_EXPANSION_TOKENS
            || self.expanded_bytes > MAX_TOTAL_EXPANSION_BYTES
        {
            return Err(self.error(ScanError::ExpansionTooLarge(util::lossy(name))));
        }
        Ok(())
    }

    fn invoke_macro(&mut self, m: &Macro) -> Result<(), Error> {
        let Some(params) = &m.args else {
            self.account(&m.tokens, &m.name)?;
            let r = self.slice(m.tokens.clone());
            return self.push(r);
        };
        let tok = self.stack_next();
        if tok != i32::from(b'(') {
            let text = match &self.text {
                Text::Fast(start, end) => Text::Src(self.fast_src.clone(), *start, *end),
                t => t.clone(),
            };
            self.peek = Some((tok, text));
            let r = self.slice(vec![make(scanner::MACRO_NAME, &m.name)].into());
            return self.push(r);
        }
        let actuals = self.args_for(m, params)?;
        let mut tokens = Vec::new();
        let mut sub_bytes = 0usize;
        for t in m.tokens.iter() {
            if t.tok == scanner::IDENT {
                if let Some(sub) = actuals.get(&t.text[..]).filter(|s| !s.is_empty()) {
                    sub_bytes += sub.iter().map(|t| t.text.len()).sum::<usize>();
                    if tokens.len() + sub.len() > MAX_EXPANSION_TOKENS
                        || sub_bytes > MAX_EXPANSION_BYTES
                    {
                        return Err(self.error(ScanError::ExpansionTooLarge(util::lossy(&m.name))));
                    }
                    tokens.extend(sub.iter().cloned());
                    continue;
                }
            }
            tokens.push(t.clone());
        }
        self.account(&tokens, &m.name)?;
        let r = self.slice(tokens.into());
        self.push(r)
    }

    fn args_for(
        &mut self,
        m: &Macro,
        params: &[Vec<u8>],
    ) -> Result<HashMap<Vec<u8>, Vec<Token>, util::FxBuild>, Error> {
        let mut args: Vec<Vec<Token>> = Vec::new();
        loop {
            let (tokens, tok) = self.collect_argument(m)?;
            args.push(tokens);
            if tok == 0x29 {
                break;
            }
        }
        if params.is_empty() && args.len() == 1 && args[0].is_empty() {
            args.clear();
        } else if args.len() != params.len() {
            return Err(self.error(ScanError::WrongArgCount(util::lossy(&m.name))));
        }
        Ok(params.iter().cloned().zip(args).collect())
    }

    fn collect_argument(&mut self, m: &Macro) -> Result<(Vec<Token>, Tok), Error> {
        let mut nesting = 0i64;
        let mut tokens = Vec::new();
        loop {
            let tok = self.stack_next();
            if tok == scanner::EOF || tok == 0x0A {
                return Err(self.error(ScanError::UnterminatedMacroArgs(util::lossy(&m.name))));
            }
            if nesting == 0 && (tok == 0x29 || tok == 0x2C) {
                return Ok((tokens, tok));
            }
            if tok == 0x28 {
                nesting += 1;
            }
            if tok == 0x29 {
                nesting -= 1;
            }
            tokens.push(make(tok, &self.stack_text()));
            if tokens.len() > MAX_EXPANSION_TOKENS {
                return Err(self.error(ScanError::ExpansionTooLarge(util::lossy(&m.name))));
            }
        }
    }

    fn expect_newline(&mut self, directive: &str) -> Result<(), Error> {
        if self.stack_next() != 0x0A {
            return Err(self.error(ScanError::ExpectedNewline {
                directive: directive.into(),
                got: self.got(),
            }));
        }
        Ok(())
    }

    fn ifdef(&mut self, mut truth: bool) -> Result<(), Error> {
        let name = self.macro_name()?;
        self.expect_newline("#if[n]def")?;
        if !self.enabled() {
            truth = false;
        } else if !self.macros.contains_key(&name) {
            truth = !truth;
        }
        self.ifdef_stack.push(truth);
        Ok(())
    }

    fn else_(&mut self) -> Result<(), Error> {
        self.expect_newline("#else")?;
        let n = self.ifdef_stack.len();
        if n == 0 {
            return Err(self.error(ScanError::UnmatchedElse));
        }
        if n == 1 || self.ifdef_stack[n - 2] {
            self.ifdef_stack[n - 1] = !self.ifdef_stack[n - 1];
        }
        Ok(())
    }

    fn endif(&mut self) -> Result<(), Error> {
        self.expect_newline("#endif")?;
        if self.ifdef_stack.pop().is_none() {
            return Err(self.error(ScanError::UnmatchedEndif));
        }
        Ok(())
    }

    fn include(&mut self) -> Result<(), Error> {
        if self.stack_next() != scanner::STRING {
            return Err(self.error(ScanError::ExpectedIncludeFile { got: self.got() }));
        }
        let Some(name) = util::unquote(&self.stack_text()) else {
            return Err(self.error(ScanError::BadIncludeFile));
        };
        self.expect_newline("#include")?;
        let mut result = self.loader.load(&name).map_err(|why| (name.clone(), why));
        if result.is_err() {
            for dir in &self.includes {
                let path = util::join(dir, &name);
                result = self.loader.load(&path).map_err(|why| (path, why));
                if result.is_ok() {
                    break;
                }
            }
        }
        match result {
            Ok(src) => self.push(Reader::File(Tokenizer::new(&name, src))),
            Err((path, why)) => Err(self.error(ScanError::IncludeNotFound {
                path: util::lossy(&path),
                why,
            })),
        }
    }

    fn line_directive(&mut self) -> Result<(), Error> {
        if self.stack_next() != scanner::INT {
            return Err(self.error(ScanError::ExpectedLineNumber { got: self.got() }));
        }
        let num = self.stack_text();
        let ok = num.iter().all(u8::is_ascii_digit)
            && std::str::from_utf8(&num)
                .ok()
                .and_then(|s| s.parse::<i64>().ok())
                .is_some();
        if !ok {
            let all_digits = !num.is_empty() && num.iter().all(u8::is_ascii_digit);
            return Err(self.error(ScanError::BadLineNumber {
                text: util::quote(&num),
                out_of_range: all_digits,
            }));
        }
        if self.stack_next() != scanner::STRING {
            return Err(self.error(ScanError::ExpectedLineFile { got: self.got() }));
        }
        let Some(file) = util::unquote(&self.stack_text()) else {
            return Err(self.error(ScanError::BadLineFile));
        };
        let tok = self.stack_next();
        if tok != 0x0A {
            return Err(self.error(ScanError::LineTrailingToken(util::tok_string(tok))));
        }
        if let Some(top) = self.stack.last_mut() {
            top.set_file(Rc::new(file));
        }
        Ok(())
    }

    fn undef(&mut self) -> Result<(), Error> {
        let name = self.macro_name()?;
        if !self.macros.contains_key(&name) {
            return Err(self.error(ScanError::UndefUndefined(util::lossy(&name))));
        }
        if self.stack_next() != 0x0A {
            return Err(self.error(ScanError::UndefSyntax(util::lossy(&name))));
        }
        self.macros.remove(&name);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::MemLoader;

    fn tokens_with(
        src: &str,
        defines: &[&str],
        loader: &MemLoader,
    ) -> Result<Vec<(Tok, String)>, Error> {
        let defines: Vec<String> = defines.iter().map(|s| s.to_string()).collect();
        let pre = predefine(&defines)?;
        let loader = CachingLoader::new(loader);
        let mut input = Input::new(b"x.s", src.as_bytes().to_vec().into(), &[], &pre, &loader);
        let mut out = Vec::new();
        loop {
            let t = input.next()?;
            if t == scanner::EOF {
                return Ok(out);
            }
            out.push((t, util::lossy(input.text())));
        }
    }

    fn tokens(src: &str) -> Vec<(Tok, String)> {
        tokens_with(src, &[], &MemLoader::new()).unwrap()
    }

    fn texts(src: &str) -> Vec<String> {
        tokens(src).into_iter().map(|(_, s)| s).collect()
    }

    #[test]
    fn two_char_operators() {
        let toks: Vec<Tok> = tokens("<< >> -> @> < - @\n")
            .into_iter()
            .map(|t| t.0)
            .collect();
        assert_eq!(
            toks,
            [
                scanner::LSH,
                scanner::RSH,
                scanner::ARR,
                scanner::ROT,
                0x3C,
                0x2D,
                0x40,
                0x0A
            ]
        );
        assert_eq!(texts("a<<b\n"), ["a", "<<", "b", "\n"]);
    }

    #[test]
    fn build_comments() {
        assert!(is_go_build(b"//go:build linux"));
        assert!(is_go_build(b"//go:build"));
        assert!(is_go_build(b"//go:build\t!x  "));
        assert!(!is_go_build(b"//go:buildx"));
        assert!(!is_go_build(b"// go:build x"));
        assert!(!is_go_build(b"/*go:build x*/"));
        assert_eq!(tokens("//go:build x\n")[0].0, scanner::BUILD_COMMENT);
        // Other comments vanish, block comments without their newlines.
        assert_eq!(
            texts("a // c\nb /* x\ny */ c\n"),
            ["a", "\n", "b", "c", "\n"]
        );
    }

    #[test]
    fn file_tokens_keep_middle_dot_macro_tokens_do_not() {
        // The stream returns raw text; lex.Make (in the parser and in macro bodies)
        // rewrites · and ∕.
        assert_eq!(texts("a·b\n"), ["a·b", "\n"]);
        assert_eq!(texts("#define M x·y∕z\nM\n"), ["#", "x.y/z", "\n"]);
        assert_eq!(
            tokens_with("V\n", &["V=·v"], &MemLoader::new()).unwrap()[0].1,
            ".v"
        );
    }

    #[test]
    fn function_like_macro_without_arguments_yields_macro_name_then_stale_text() {
        let t = tokens("x\n#define F(a) a\nF + y\n");
        let kinds: Vec<Tok> = t.iter().map(|t| t.0).collect();
        assert_eq!(
            kinds,
            [
                scanner::IDENT,
                0x0A,
                i32::from(b'#'),
                scanner::MACRO_NAME,
                i32::from(b'+'),
                scanner::IDENT,
                0x0A
            ]
        );
        // The '+' peeked after F carries the text of the token before F.
        assert_eq!(t[3].1, "F");
        assert_eq!(t[4].1, "#");
    }

    #[test]
    fn disabled_blocks_still_expand_macros_and_process_line() {
        let o = MemLoader::new();
        let e = tokens_with("#define F(a) a\n#ifdef NO\nF(\n#endif\n", &[], &o).unwrap_err();
        assert_eq!(
            e.to_string(),
            "x.s:4: unterminated arg list invoking macro: F"
        );
        let e = tokens_with("#ifdef NO\n#line 7 \"y.s\"\n#endif\n#bogus\n", &[], &o).unwrap_err();
        assert_eq!(e.to_string(), "y.s:4: unexpected token after '#': bogus");
        // Unknown directives are skipped when disabled.
        assert_eq!(
            texts("#ifdef NO\n#bogus\n#include nothing\n#endif\nz\n"),
            ["#", "#", "#", "#", "z", "\n"]
        );
    }

    #[test]
    fn define_with_value_and_without() {
        let o = MemLoader::new();
        assert_eq!(
            tokens_with("A B\n", &["A", "B=x y"], &o)
                .unwrap()
                .into_iter()
                .map(|t| t.1)
                .collect::<Vec<_>>(),
            ["1", "x", "y", "\n"]
        );
        // "-D =x" is not a name.
        assert!(matches!(
            predefine(&["=x".into()]),
            Err(Error::BadDefine(_))
        ));
        assert!(matches!(predefine(&["".into()]), Err(Error::BadDefine(_))));
    }

    #[test]
    fn include_uses_the_include_name_for_positions() {
        let mut l = MemLoader::new();
        l.insert("sub/h.h", "\n\n#undef NOPE\n");
        let defines: Vec<String> = Vec::new();
        let pre = predefine(&defines).unwrap();
        let dirs = vec![b"sub".to_vec()];
        let l = CachingLoader::new(&l);
        let mut input = Input::new(
            b"x.s",
            b"#include \"h.h\"\n".to_vec().into(),
            &dirs,
            &pre,
            &l,
        );
        let e = loop {
            match input.next() {
                Ok(scanner::EOF) => panic!("no error"),
                Ok(_) => {}
                Err(e) => break e,
            }
        };
        assert_eq!(e.to_string(), "h.h:3: #undef for undefined macro: NOPE");
    }
}
