//! Minimal scanners for locations: top-level Go func declarations and
//! `//go:linkname`s, and assembly TEXT symbols and calls, with line numbers.

/// A top-level function declaration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoFunc {
    /// Its name.
    pub name: String,
    /// Is it a method?
    pub method: bool,
    /// Does it have a body?
    pub has_body: bool,
    /// 1-based line of `func`.
    pub line: usize,
}

/// A `//go:linkname local [remote]` directive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GoLinkname {
    /// The Go name in this package.
    pub local: String,
    /// The link symbol, when given.
    pub remote: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Punct(char),
    Newline,
    Other,
}

fn tokenize(src: &str, linknames: &mut Vec<GoLinkname>) -> Vec<(Tok, usize)> {
    let b: Vec<char> = src.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < b.len() {
        let c = b[i];
        if c == '\n' {
            toks.push((Tok::Newline, line));
            line += 1;
            i += 1;
        } else if c.is_whitespace() {
            i += 1;
        } else if c == '/' && b.get(i + 1) == Some(&'/') {
            let start = i;
            while i < b.len() && b[i] != '\n' {
                i += 1;
            }
            let text: String = b[start..i].iter().collect();
            if let Some(rest) = text.strip_prefix("//go:linkname ") {
                let mut f = rest.split_whitespace();
                if let Some(local) = f.next() {
                    linknames.push(GoLinkname {
                        local: local.to_string(),
                        remote: f.next().map(str::to_string),
                    });
                }
            }
        } else if c == '/' && b.get(i + 1) == Some(&'*') {
            i += 2;
            let mut nl = false;
            while i < b.len() && !(b[i] == '*' && b.get(i + 1) == Some(&'/')) {
                if b[i] == '\n' {
                    line += 1;
                    nl = true;
                }
                i += 1;
            }
            i += 2;
            if nl {
                // A comment spanning lines acts like a newline.
                toks.push((Tok::Newline, line));
            }
        } else if c == '"' || c == '\'' {
            i += 1;
            while i < b.len() && b[i] != c && b[i] != '\n' {
                if b[i] == '\\' {
                    i += 1;
                }
                i += 1;
            }
            i += 1;
            toks.push((Tok::Other, line));
        } else if c == '`' {
            i += 1;
            while i < b.len() && b[i] != '`' {
                if b[i] == '\n' {
                    line += 1;
                }
                i += 1;
            }
            i += 1;
            toks.push((Tok::Other, line));
        } else if c.is_alphabetic() || c == '_' {
            let start = i;
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '_') {
                i += 1;
            }
            toks.push((Tok::Ident(b[start..i].iter().collect()), line));
        } else if c.is_ascii_digit() {
            while i < b.len() && (b[i].is_alphanumeric() || b[i] == '.' || b[i] == '_') {
                i += 1;
            }
            toks.push((Tok::Other, line));
        } else {
            toks.push((Tok::Punct(c), line));
            i += 1;
        }
    }
    toks
}

/// Skips a balanced group starting at `toks[i]` (an opening bracket);
/// returns the index after it.
fn skip_group(toks: &[(Tok, usize)], mut i: usize) -> usize {
    let mut depth = 0i32;
    while i < toks.len() {
        match toks[i].0 {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => {
                depth -= 1;
                if depth <= 0 {
                    return i + 1;
                }
            }
            _ => {}
        }
        i += 1;
    }
    i
}

/// Scans Go source for its top-level function declarations (with or
/// without a body) and its `//go:linkname` directives.
pub fn scan_go(src: &str) -> (Vec<GoFunc>, Vec<GoLinkname>) {
    let mut linknames = Vec::new();
    let toks = tokenize(src, &mut linknames);
    let mut funcs = Vec::new();
    let mut depth = 0i32;
    let mut i = 0;
    while i < toks.len() {
        let at_line_start = i == 0 || toks[i - 1].0 == Tok::Newline;
        match &toks[i].0 {
            Tok::Punct('(' | '[' | '{') => depth += 1,
            Tok::Punct(')' | ']' | '}') => depth -= 1,
            Tok::Ident(k) if k == "func" && depth == 0 && at_line_start => {
                let line = toks[i].1;
                let mut j = i + 1;
                let mut method = false;
                if toks.get(j).map(|t| &t.0) == Some(&Tok::Punct('(')) {
                    method = true;
                    j = skip_group(&toks, j);
                }
                let Some((Tok::Ident(name), _)) = toks.get(j) else {
                    i += 1;
                    continue;
                };
                let name = name.clone();
                j += 1;
                if toks.get(j).map(|t| &t.0) == Some(&Tok::Punct('[')) {
                    j = skip_group(&toks, j);
                }
                if toks.get(j).map(|t| &t.0) == Some(&Tok::Punct('(')) {
                    j = skip_group(&toks, j);
                }
                // The result, up to the body or the end of the declaration.
                let mut has_body = false;
                let mut nest = 0i32;
                while j < toks.len() {
                    match &toks[j].0 {
                        Tok::Punct('{') if nest == 0 => {
                            let type_literal = matches!(&toks[j - 1].0, Tok::Ident(k) if k == "struct" || k == "interface");
                            if type_literal {
                                j = skip_group(&toks, j);
                                continue;
                            }
                            has_body = true;
                            break;
                        }
                        Tok::Punct('(' | '[') => nest += 1,
                        Tok::Punct(')' | ']') => nest -= 1,
                        Tok::Newline | Tok::Punct(';') if nest == 0 => break,
                        _ => {}
                    }
                    j += 1;
                }
                funcs.push(GoFunc {
                    name,
                    method,
                    has_body,
                    line,
                });
                // Continue from the body's brace (depth tracking picks it up).
                i = j;
                continue;
            }
            _ => {}
        }
        i += 1;
    }
    (funcs, linknames)
}

// ---------------------------------------------------------------------------
// Minimal assembly scanning, for locations.

/// A line of assembly that defines or references a symbol.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AsmSite {
    /// The `.s` file (relative to the package directory).
    pub file: String,
    /// 1-based line.
    pub line: usize,
    /// The full symbol name (`example.com/p.F`), ABI selector removed.
    pub symbol: String,
    /// Is it a TEXT line?
    pub text: bool,
    /// Did it name `<ABIInternal>`?
    pub abi_internal: bool,
}

/// Scans one `.s` file for the symbols its lines define (TEXT) and refer to
/// (`sym(SB)`), with `·` and `∕` normalized and `·F` completed with `pkg`.
pub fn scan_asm(file: &str, src: &str, pkg: &str) -> Vec<AsmSite> {
    let mut v = Vec::new();
    for (n, raw) in src.lines().enumerate() {
        let line = raw.split("//").next().unwrap_or("");
        let norm = line.replace('·', ".").replace('∕', "/");
        let is_text = norm.trim_start().starts_with("TEXT");
        let mut rest = norm.as_str();
        while let Some(p) = rest.find("(SB)") {
            let mut before = &rest[..p];
            // `sym+8(SB)`: drop the offset.
            let digits = before.trim_end_matches(|c: char| c.is_ascii_digit());
            if digits.len() < before.len() && (digits.ends_with('+') || digits.ends_with('-')) {
                before = &digits[..digits.len() - 1];
            }
            let start = before
                .rfind(|c: char| !(c.is_alphanumeric() || "_./<>$".contains(c)))
                .map(|i| i + before[i..].chars().next().map(char::len_utf8).unwrap_or(1))
                .unwrap_or(0);
            let mut sym = before[start..].to_string();
            let abi_internal = sym.contains("<ABIInternal>");
            if let Some(i) = sym.find('<') {
                sym.truncate(i);
            }
            if sym.starts_with('.') {
                sym = format!("{pkg}{sym}");
            }
            if !sym.is_empty() && !sym.starts_with('$') {
                let text = is_text && v.iter().all(|s: &AsmSite| !(s.line == n + 1 && s.text));
                v.push(AsmSite {
                    file: file.to_string(),
                    line: n + 1,
                    symbol: sym,
                    text,
                    abi_internal,
                });
            }
            rest = &rest[p + 4..];
        }
    }
    v
}
