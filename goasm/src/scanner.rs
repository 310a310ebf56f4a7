//! A byte-for-byte model of Go's `text/scanner` in the mode `cmd/asm/internal/lex`
//! configures it (`tokenizer.go`): chars, floats, identifiers (with the assembler's
//! identifier runes), ints, strings and comments, whitespace `\t \r ' '` (newline is a
//! token). Raw strings are *not* scanned (a backquote is a single-char token).
//!
//! Scanner errors (unterminated literals, bad escapes, invalid UTF-8, ...) are only
//! printed by the Go assembler and never fail it, so they are not reported here; what
//! matters is that tokens, their text and the column bookkeeping match exactly,
//! including the recovery after such errors.

use crate::tables::{DIGIT, LETTER};
use crate::tables_versions::{DIGIT_GO127, LETTER_GO127};
use std::cell::Cell;

thread_local! {
    /// Whether the Unicode 17 tables (Go 1.27) are in effect on this thread.
    static UNICODE17: Cell<bool> = const { Cell::new(false) };
}

/// Selects the Unicode tables for the duration of one scan (restored on drop).
pub(crate) struct UnicodeGuard(bool);

impl UnicodeGuard {
    pub(crate) fn set(unicode17: bool) -> UnicodeGuard {
        UnicodeGuard(UNICODE17.with(|c| c.replace(unicode17)))
    }
}

impl Drop for UnicodeGuard {
    fn drop(&mut self) {
        UNICODE17.with(|c| c.set(self.0));
    }
}

pub(crate) fn unicode17() -> bool {
    UNICODE17.with(|c| c.get())
}

/// A token kind: a Unicode code point for single-character tokens, or one of the
/// negative constants below (`text/scanner` and `cmd/asm/internal/lex` values).
pub(crate) type Tok = i32;

pub(crate) const EOF: Tok = -1;
pub(crate) const IDENT: Tok = -2;
pub(crate) const INT: Tok = -3;
pub(crate) const FLOAT: Tok = -4;
pub(crate) const CHAR: Tok = -5;
pub(crate) const STRING: Tok = -6;
pub(crate) const RAW_STRING: Tok = -7;
pub(crate) const COMMENT: Tok = -8;

pub(crate) const LSH: Tok = -1000;
pub(crate) const RSH: Tok = -1001;
pub(crate) const ARR: Tok = -1002;
pub(crate) const ROT: Tok = -1003;
#[allow(dead_code)]
pub(crate) const INCLUDE: Tok = -1004;
pub(crate) const BUILD_COMMENT: Tok = -1005;
pub(crate) const MACRO_NAME: Tok = -1006;

const RUNE_ERROR: i32 = 0xFFFD;
const BOM: i32 = 0xFEFF;
/// `Scanner.ch` before the first `Peek`.
const NO_CHAR: i32 = -2;

pub(crate) fn in_table(table: &[(u32, u32)], ch: i32) -> bool {
    let Ok(c) = u32::try_from(ch) else {
        return false;
    };
    table
        .binary_search_by(|&(lo, hi)| {
            if hi < c {
                std::cmp::Ordering::Less
            } else if lo > c {
                std::cmp::Ordering::Greater
            } else {
                std::cmp::Ordering::Equal
            }
        })
        .is_ok()
}

/// `unicode.IsLetter` of the toolchain's Unicode version.
pub(crate) fn is_letter(ch: i32) -> bool {
    if ch < 0x80 {
        return (0x41..=0x5A).contains(&ch) || (0x61..=0x7A).contains(&ch);
    }
    in_table(if unicode17() { LETTER_GO127 } else { LETTER }, ch)
}

/// `unicode.IsDigit`.
pub(crate) fn is_digit(ch: i32) -> bool {
    if ch < 0x80 {
        return (0x30..=0x39).contains(&ch);
    }
    in_table(if unicode17() { DIGIT_GO127 } else { DIGIT }, ch)
}

/// `isIdentRune` of `cmd/asm/internal/lex/tokenizer.go`: letters, `_`, the middle dot
/// `·` (U+00B7, the package separator) and the division slash `∕` (U+2215, the path
/// separator), and digits after the first rune.
pub(crate) fn is_ident_rune(ch: i32, i: usize) -> bool {
    if ch == EOF {
        return false;
    }
    if is_letter(ch) {
        return true;
    }
    match ch {
        0x5F | 0xB7 | 0x2215 => true,
        _ => i > 0 && is_digit(ch),
    }
}

/// `utf8.DecodeRune`: the rune at the start of `b` and its width; invalid encodings
/// decode as (U+FFFD, 1).
pub(crate) fn decode_rune(b: &[u8]) -> (i32, usize) {
    let Some(&b0) = b.first() else {
        return (RUNE_ERROR, 0);
    };
    if b0 < 0x80 {
        return (i32::from(b0), 1);
    }
    let n = match b0 {
        0xC2..=0xDF => 2,
        0xE0..=0xEF => 3,
        0xF0..=0xF4 => 4,
        _ => return (RUNE_ERROR, 1),
    };
    match b.get(..n).map(std::str::from_utf8) {
        Some(Ok(s)) => match s.chars().next() {
            Some(c) => (c as i32, n),
            None => (RUNE_ERROR, 1),
        },
        _ => (RUNE_ERROR, 1),
    }
}

fn is_decimal(ch: i32) -> bool {
    (0x30..=0x39).contains(&ch)
}

fn lower(ch: i32) -> i32 {
    0x20 | ch
}

fn is_hex(ch: i32) -> bool {
    is_decimal(ch) || (0x61..=0x66).contains(&lower(ch))
}

/// A file's contents, shared by its scanner and the token texts taken from it.
pub(crate) type Source = std::rc::Rc<Vec<u8>>;

/// The scanner state over one in-memory source.
pub(crate) struct Scanner {
    src: Source,
    pos: usize,
    last_char_len: usize,
    column: usize,
    line: usize,
    last_line_len: usize,
    ch: i32,
    tok_pos: Option<usize>,
    tok_end: usize,
}

impl Scanner {
    pub(crate) fn new(src: Source) -> Self {
        Scanner {
            src,
            pos: 0,
            last_char_len: 0,
            column: 0,
            line: 1,
            last_line_len: 0,
            ch: NO_CHAR,
            tok_pos: None,
            tok_end: 0,
        }
    }

    #[inline]
    fn next(&mut self) -> i32 {
        // ASCII fast path (everything but newline bookkeeping is the same).
        if let Some(&b) = self.src.get(self.pos) {
            if b < 0x80 && b != b'\n' {
                self.pos += 1;
                self.last_char_len = 1;
                self.column += 1;
                return i32::from(b);
            }
        }
        self.next_slow()
    }

    #[inline(never)]
    fn next_slow(&mut self) -> i32 {
        let rest = self.src.get(self.pos..).unwrap_or(&[]);
        if rest.is_empty() {
            if self.last_char_len > 0 {
                self.column += 1;
            }
            self.last_char_len = 0;
            return EOF;
        }
        let (ch, width) = decode_rune(rest);
        self.pos += width;
        self.last_char_len = width;
        self.column += 1;
        if ch == i32::from(b'\n') {
            self.line += 1;
            self.last_line_len = self.column;
            self.column = 0;
        }
        ch
    }

    /// `Scanner.Peek`.
    pub(crate) fn peek(&mut self) -> i32 {
        if self.ch == NO_CHAR {
            self.ch = self.next();
            if self.ch == BOM {
                self.ch = self.next();
            }
        }
        self.ch
    }

    /// `Scanner.Next`: consume one character outside of `Scan`.
    pub(crate) fn next_char(&mut self) -> i32 {
        self.tok_pos = None;
        let ch = self.peek();
        if ch != EOF {
            self.ch = self.next();
        }
        ch
    }

    fn scan_identifier(&mut self) -> i32 {
        // ASCII fast path: letters, digits and `_` continue an identifier.
        let src = &self.src[..];
        let mut p = self.pos;
        while let Some(&b) = src.get(p) {
            if b.is_ascii_alphanumeric() || b == b'_' {
                p += 1;
            } else {
                break;
            }
        }
        if p > self.pos {
            self.column += p - self.pos;
            self.pos = p;
            self.last_char_len = 1;
        }
        let mut ch = self.next();
        let mut i = 1;
        while is_ident_rune(ch, i) {
            ch = self.next();
            i += 1;
        }
        ch
    }

    fn digits(&mut self, ch0: i32, base: i32, track_invalid: bool) -> (i32, u8) {
        let mut ch = ch0;
        let mut digsep = 0u8;
        let _ = track_invalid;
        if base <= 10 {
            while is_decimal(ch) || ch == 0x5F {
                digsep |= if ch == 0x5F { 2 } else { 1 };
                ch = self.next();
            }
        } else {
            while is_hex(ch) || ch == 0x5F {
                digsep |= if ch == 0x5F { 2 } else { 1 };
                ch = self.next();
            }
        }
        (ch, digsep)
    }

    fn scan_number(&mut self, mut ch: i32, mut seen_dot: bool) -> (Tok, i32) {
        let mut base = 10;
        let mut prefix = 0;
        let mut tok = INT;
        if !seen_dot {
            if ch == 0x30 {
                ch = self.next();
                match lower(ch) {
                    0x78 => {
                        ch = self.next();
                        base = 16;
                        prefix = 0x78;
                    }
                    0x6F => {
                        ch = self.next();
                        base = 8;
                        prefix = 0x6F;
                    }
                    0x62 => {
                        ch = self.next();
                        base = 2;
                        prefix = 0x62;
                    }
                    _ => {
                        base = 8;
                    }
                }
            }
            let (c, _) = self.digits(ch, base, true);
            ch = c;
            if ch == 0x2E {
                ch = self.next();
                seen_dot = true;
            }
        }
        if seen_dot {
            tok = FLOAT;
            let (c, _) = self.digits(ch, base, true);
            ch = c;
        }
        let e = lower(ch);
        if e == 0x65 || e == 0x70 {
            ch = self.next();
            tok = FLOAT;
            if ch == 0x2B || ch == 0x2D {
                ch = self.next();
            }
            let (c, _) = self.digits(ch, 10, false);
            ch = c;
        }
        let _ = prefix;
        (tok, ch)
    }

    fn scan_digits(&mut self, mut ch: i32, base: i32, mut n: u32) -> i32 {
        let digit_val = |ch: i32| -> i32 {
            if is_decimal(ch) {
                ch - 0x30
            } else if (0x61..=0x66).contains(&lower(ch)) {
                lower(ch) - 0x61 + 10
            } else {
                16
            }
        };
        while n > 0 && digit_val(ch) < base {
            ch = self.next();
            n -= 1;
        }
        ch
    }

    fn scan_escape(&mut self, quote: i32) -> i32 {
        let ch = self.next();
        match ch {
            _ if ch == quote => self.next(),
            0x61 | 0x62 | 0x66 | 0x6E | 0x72 | 0x74 | 0x76 | 0x5C => self.next(),
            0x30..=0x37 => self.scan_digits(ch, 8, 3),
            0x78 => {
                let c = self.next();
                self.scan_digits(c, 16, 2)
            }
            0x75 => {
                let c = self.next();
                self.scan_digits(c, 16, 4)
            }
            0x55 => {
                let c = self.next();
                self.scan_digits(c, 16, 8)
            }
            _ => ch,
        }
    }

    fn scan_string(&mut self, quote: i32) -> usize {
        let mut n = 0;
        let mut ch = self.next();
        while ch != quote {
            if ch == 0x0A || ch < 0 {
                return n;
            }
            if ch == 0x5C {
                ch = self.scan_escape(quote);
            } else {
                ch = self.next();
            }
            n += 1;
        }
        n
    }

    fn scan_comment(&mut self, mut ch: i32) -> i32 {
        if ch == 0x2F {
            // Fast path: an all-ASCII line comment ends at the next newline.
            let src = &self.src[..];
            let rest = &src[self.pos..];
            let end = rest.iter().position(|&b| b == b'\n').unwrap_or(rest.len());
            if end > 0 && rest[..end].is_ascii() {
                self.pos += end;
                self.column += end;
                self.last_char_len = 1;
            }
            ch = self.next();
            while ch != 0x0A && ch >= 0 {
                ch = self.next();
            }
            return ch;
        }
        ch = self.next();
        loop {
            if ch < 0 {
                break;
            }
            let ch0 = ch;
            ch = self.next();
            if ch0 == 0x2A && ch == 0x2F {
                ch = self.next();
                break;
            }
        }
        ch
    }

    /// `Scanner.Scan`.
    pub(crate) fn scan(&mut self) -> Tok {
        let mut ch = self.peek();
        self.tok_pos = None;
        while ch == 0x09 || ch == 0x0D || ch == 0x20 {
            ch = self.next();
        }
        self.tok_pos = Some(self.pos - self.last_char_len);
        let mut tok = ch;
        if is_ident_rune(ch, 0) {
            tok = IDENT;
            ch = self.scan_identifier();
        } else if is_decimal(ch) {
            (tok, ch) = self.scan_number(ch, false);
        } else {
            match ch {
                EOF => {}
                0x22 => {
                    self.scan_string(0x22);
                    tok = STRING;
                    ch = self.next();
                }
                0x27 => {
                    self.scan_string(0x27);
                    tok = CHAR;
                    ch = self.next();
                }
                0x2E => {
                    ch = self.next();
                    if is_decimal(ch) {
                        (tok, ch) = self.scan_number(ch, true);
                    }
                }
                0x2F => {
                    ch = self.next();
                    if ch == 0x2F || ch == 0x2A {
                        ch = self.scan_comment(ch);
                        tok = COMMENT;
                    }
                }
                _ => {
                    ch = self.next();
                }
            }
        }
        self.tok_end = self.pos - self.last_char_len;
        self.ch = ch;
        tok
    }

    /// Where the lookahead character starts, if it is a plain ASCII character (the
    /// state between tokens the fast path starts from).
    pub(crate) fn lookahead_start(&self) -> Option<usize> {
        if self.last_char_len != 1 || !(0..0x80).contains(&self.ch) {
            return None;
        }
        self.pos.checked_sub(1)
    }

    /// Consume the plain ASCII characters from the lookahead up to the newline at
    /// `nl`, and the newline as the new lookahead: the state `next` would leave.
    /// The caller checked that `src[lookahead_start()..nl]` is ASCII without a
    /// newline and `src[nl]` is one.
    pub(crate) fn skip_to_newline(&mut self, nl: usize) {
        let before_newline = self.column + (nl - self.pos);
        self.line += 1;
        self.last_line_len = before_newline + 1;
        self.column = 0;
        self.pos = nl + 1;
        self.last_char_len = 1;
        self.ch = 0x0A;
    }

    pub(crate) fn src(&self) -> &Source {
        &self.src
    }

    /// The byte range of `token_text` in the source.
    pub(crate) fn token_range(&self) -> (usize, usize) {
        let Some(start) = self.tok_pos else {
            return (0, 0);
        };
        let end = self.tok_end.max(start).min(self.src.len());
        if start > end {
            return (0, 0);
        }
        (start, end)
    }

    /// `Scanner.TokenText`.
    pub(crate) fn token_text(&self) -> &[u8] {
        let Some(start) = self.tok_pos else {
            return &[];
        };
        let end = self.tok_end.max(start);
        self.src.get(start..end).unwrap_or(&[])
    }

    /// `Scanner.Pos().Column`.
    pub(crate) fn column(&self) -> usize {
        if self.column > 0 {
            self.column
        } else if self.last_line_len > 0 {
            self.last_line_len
        } else {
            1
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<(Tok, String)> {
        let mut sc = Scanner::new(s.as_bytes().to_vec().into());
        let mut out = vec![];
        loop {
            let t = sc.scan();
            if t == EOF {
                break;
            }
            out.push((t, String::from_utf8_lossy(sc.token_text()).into_owned()));
        }
        out
    }

    #[test]
    fn idents_with_middle_dot_and_division_slash() {
        assert_eq!(
            toks("runtime·exit ·f runtime∕debug·x a1 1a"),
            vec![
                (IDENT, "runtime·exit".into()),
                (IDENT, "·f".into()),
                (IDENT, "runtime∕debug·x".into()),
                (IDENT, "a1".into()),
                (INT, "1".into()),
                (IDENT, "a".into()),
            ]
        );
    }

    #[test]
    fn numbers_strings_comments() {
        assert_eq!(
            toks("0x1F 1.5e3 .5 0b101 'a' \"s\\\"x\" // c\n/* a\nb */`"),
            vec![
                (INT, "0x1F".into()),
                (FLOAT, "1.5e3".into()),
                (FLOAT, ".5".into()),
                (INT, "0b101".into()),
                (CHAR, "'a'".into()),
                (STRING, "\"s\\\"x\"".into()),
                (COMMENT, "// c".into()),
                (0x0A, "\n".into()),
                (COMMENT, "/* a\nb */".into()),
                (0x60, "`".into()),
            ]
        );
    }

    #[test]
    fn unterminated_string_swallows_newline() {
        assert_eq!(
            toks("\"abc\nX"),
            vec![(STRING, "\"abc\n".into()), (IDENT, "X".into())]
        );
    }

    #[test]
    fn bom_and_invalid_utf8() {
        let mut sc = Scanner::new(b"\xEF\xBB\xBFa\xFFb".to_vec().into());
        assert_eq!(sc.scan(), IDENT);
        assert_eq!(sc.token_text(), b"a");
        assert_eq!(sc.scan(), RUNE_ERROR);
        assert_eq!(sc.token_text(), b"\xFF");
        assert_eq!(sc.scan(), IDENT);
        assert_eq!(sc.scan(), EOF);
    }
}
