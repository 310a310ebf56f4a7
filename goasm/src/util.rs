//! Small Go-library lookalikes the scanner's messages and path handling depend on:
//! `strconv.Quote`/`QuoteRune`/`Unquote`, `path/filepath.Clean`/`Dir`/`Join`, and the
//! `ScanToken.String` of `cmd/asm/internal/lex`.

use crate::scanner::{self, Tok};

/// `strconv.IsPrint` (generated table).
fn is_print(c: char) -> bool {
    let c = c as u32;
    let table = if crate::scanner::unicode17() {
        crate::tables_versions::PRINT_GO127
    } else {
        crate::tables::PRINT
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

fn quote_with(s: &[u8], quote: char) -> String {
    let mut out = String::new();
    out.push(quote);
    let mut rest = s;
    while !rest.is_empty() {
        let (r, w) = scanner::decode_rune(rest);
        let w = w.max(1);
        if w == 1 && r == 0xFFFD {
            out.push_str(&format!("\\x{:02x}", rest[0]));
            rest = &rest[1..];
            continue;
        }
        rest = rest.get(w..).unwrap_or(&[]);
        let c = char::from_u32(r as u32).unwrap_or('\u{FFFD}');
        if c == quote || c == '\\' {
            out.push('\\');
            out.push(c);
        } else if is_print(c) {
            out.push(c);
        } else {
            match c {
                '\x07' => out.push_str("\\a"),
                '\x08' => out.push_str("\\b"),
                '\x0C' => out.push_str("\\f"),
                '\n' => out.push_str("\\n"),
                '\r' => out.push_str("\\r"),
                '\t' => out.push_str("\\t"),
                '\x0B' => out.push_str("\\v"),
                _ if (c as u32) < 0x20 || c == '\x7F' => {
                    out.push_str(&format!("\\x{:02x}", c as u32))
                }
                _ if (c as u32) > 0xFFFF => out.push_str(&format!("\\U{:08x}", c as u32)),
                _ => out.push_str(&format!("\\u{:04x}", c as u32)),
            }
        }
    }
    out.push(quote);
    out
}

/// `strconv.Quote`.
pub(crate) fn quote(s: &[u8]) -> String {
    quote_with(s, '"')
}

/// `ScanToken.String` (`cmd/asm/internal/lex/lex.go`).
pub(crate) fn tok_string(t: Tok) -> String {
    match t {
        scanner::EOF => "EOF".into(),
        scanner::IDENT => "identifier".into(),
        scanner::INT => "integer constant".into(),
        scanner::FLOAT => "float constant".into(),
        scanner::CHAR => "rune constant".into(),
        scanner::STRING => "string constant".into(),
        scanner::RAW_STRING => "raw string constant".into(),
        scanner::COMMENT => "comment".into(),
        _ => {
            let c = u32::try_from(t)
                .ok()
                .and_then(char::from_u32)
                .unwrap_or('\u{FFFD}');
            let mut buf = [0u8; 4];
            quote_with(c.encode_utf8(&mut buf).as_bytes(), '\'')
        }
    }
}

/// `strconv.Unquote` for a double-quoted Go string literal (the only kind the
/// assembler's tokenizer produces as `String`). `None` is `ErrSyntax`.
pub(crate) fn unquote(s: &[u8]) -> Option<Vec<u8>> {
    if s.len() < 2 || s[0] != b'"' || s[s.len() - 1] != b'"' {
        return None;
    }
    let body = &s[1..s.len() - 1];
    if !body.contains(&b'\\')
        && !body.contains(&b'\n')
        && !body.contains(&b'"')
        && std::str::from_utf8(body).is_ok()
    {
        return Some(body.to_vec());
    }
    let mut out = Vec::new();
    let mut rest = body;
    while let Some(&c) = rest.first() {
        if c == b'"' || c == b'\n' {
            return None;
        }
        if c >= 0x80 {
            let (r, w) = scanner::decode_rune(rest);
            let ch = char::from_u32(r as u32).unwrap_or('\u{FFFD}');
            let mut buf = [0u8; 4];
            out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
            rest = rest.get(w.max(1)..).unwrap_or(&[]);
            continue;
        }
        if c != b'\\' {
            out.push(c);
            rest = &rest[1..];
            continue;
        }
        let e = *rest.get(1)?;
        rest = &rest[2..];
        let simple = match e {
            b'a' => Some(7u8),
            b'b' => Some(8),
            b'f' => Some(12),
            b'n' => Some(b'\n'),
            b'r' => Some(b'\r'),
            b't' => Some(b'\t'),
            b'v' => Some(11),
            b'\\' => Some(b'\\'),
            b'"' => Some(b'"'),
            _ => None,
        };
        if let Some(b) = simple {
            out.push(b);
            continue;
        }
        match e {
            b'x' | b'u' | b'U' => {
                let n = match e {
                    b'x' => 2,
                    b'u' => 4,
                    _ => 8,
                };
                let digits = rest.get(..n)?;
                let mut v: u32 = 0;
                for &d in digits {
                    v = v * 16 + (d as char).to_digit(16)?;
                }
                rest = &rest[n..];
                if e == b'x' {
                    out.push(v as u8);
                } else {
                    let ch = char::from_u32(v)?;
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                }
            }
            b'0'..=b'7' => {
                let digits = rest.get(..2)?;
                let mut v: u32 = u32::from(e - b'0');
                for &d in digits {
                    if !(b'0'..=b'7').contains(&d) {
                        return None;
                    }
                    v = v * 8 + u32::from(d - b'0');
                }
                if v > 255 {
                    return None;
                }
                rest = &rest[2..];
                out.push(v as u8);
            }
            _ => return None,
        }
    }
    Some(out)
}

/// `filepath.Clean` (Unix).
pub(crate) fn clean(path: &[u8]) -> Vec<u8> {
    if path.is_empty() {
        return b".".to_vec();
    }
    let rooted = path[0] == b'/';
    let mut parts: Vec<&[u8]> = Vec::new();
    for part in path.split(|&b| b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                if parts.last().is_some_and(|p| *p != b"..") {
                    parts.pop();
                } else if !rooted {
                    parts.push(part);
                }
            }
            _ => parts.push(part),
        }
    }
    let mut out = Vec::new();
    if rooted {
        out.push(b'/');
    }
    out.extend_from_slice(&parts.join(&b'/'));
    if out.is_empty() {
        out.push(b'.');
    }
    out
}

/// `filepath.Dir`.
pub(crate) fn dir(path: &[u8]) -> Vec<u8> {
    match path.iter().rposition(|&b| b == b'/') {
        Some(i) => clean(&path[..=i]),
        None => b".".to_vec(),
    }
}

/// `filepath.Join` of two elements.
pub(crate) fn join(a: &[u8], b: &[u8]) -> Vec<u8> {
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Vec::new(),
        (true, false) => clean(b),
        (false, true) => clean(a),
        (false, false) => {
            let mut s = a.to_vec();
            s.push(b'/');
            s.extend_from_slice(b);
            clean(&s)
        }
    }
}

/// Lossy text of a byte string, for messages.
pub(crate) fn lossy(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// `objabi.PathToPrefix`: the symbol prefix of a package path (`%xx`-escapes control
/// characters, space, `%`, `"`, non-ASCII, and dots after the last slash).
pub(crate) fn path_to_prefix(s: &str) -> String {
    let b = s.as_bytes();
    let slash = b.iter().rposition(|&c| c == b'/');
    let mut out = String::with_capacity(b.len());
    for (i, &c) in b.iter().enumerate() {
        let after_slash = slash.is_none_or(|sl| i > sl);
        if c <= b' ' || (c == b'.' && after_slash) || c == b'%' || c == b'"' || c >= 0x7F {
            out.push_str(&format!("%{c:02x}"));
        } else {
            out.push(c as char);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting() {
        assert_eq!(quote(b"a\"b\n\x01\xff\xc2\xb7"), "\"a\\\"b\\n\\x01\\xff·\"");
        assert_eq!(tok_string(i32::from(b'>')), "'>'");
        assert_eq!(tok_string(scanner::IDENT), "identifier");
        assert_eq!(tok_string(scanner::LSH), "'\u{FFFD}'");
        assert_eq!(
            quote("\u{D374E}\u{E71}é\u{A0}".as_bytes()),
            "\"\\U000d374e\\u0e71é\\u00a0\""
        );
    }

    #[test]
    fn unquoting() {
        assert_eq!(unquote(b"\"a.h\"").unwrap(), b"a.h");
        assert_eq!(
            unquote(b"\"a\\x41\\101\\u00b7\"").unwrap(),
            "aAA·".as_bytes()
        );
        assert!(unquote(b"\"a").is_none());
        assert!(unquote(b"\"a\n\"").is_none());
        assert!(unquote(b"\"\\q\"").is_none());
        assert!(unquote(b"\"\\400\"").is_none());
    }

    #[test]
    fn paths() {
        assert_eq!(clean(b"a/../b/./c/"), b"b/c");
        assert_eq!(clean(b"/../a"), b"/a");
        assert_eq!(clean(b"../a/.."), b"..");
        assert_eq!(dir(b"x.s"), b".");
        assert_eq!(dir(b"./sub/x.s"), b"sub");
        assert_eq!(join(b".", b"x.h"), b"x.h");
        assert_eq!(join(b"/inc", b"../x.h"), b"/x.h");
        assert_eq!(
            path_to_prefix("example.com/a.b/c.d"),
            "example.com/a.b/c%2ed"
        );
        assert_eq!(path_to_prefix("x y"), "x%20y");
    }
}

/// A small, fast hasher for short byte-string keys (FxHash's mixing; the keys are
/// macro names from the sources, so HashDoS resistance is not a concern here).
#[derive(Default, Clone, Copy)]
pub(crate) struct FxHasher(u64);

const FX_K: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl std::hash::Hasher for FxHasher {
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        let mut h = self.0;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let v = u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]);
            h = (h.rotate_left(5) ^ v).wrapping_mul(FX_K);
        }
        for &b in chunks.remainder() {
            h = (h.rotate_left(5) ^ u64::from(b)).wrapping_mul(FX_K);
        }
        self.0 = h;
    }

    #[inline]
    fn write_u8(&mut self, i: u8) {
        self.0 = (self.0.rotate_left(5) ^ u64::from(i)).wrapping_mul(FX_K);
    }

    #[inline]
    fn write_usize(&mut self, i: usize) {
        self.0 = (self.0.rotate_left(5) ^ i as u64).wrapping_mul(FX_K);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}

/// `BuildHasher` for [`FxHasher`].
pub(crate) type FxBuild = std::hash::BuildHasherDefault<FxHasher>;
