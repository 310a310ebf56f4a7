//! symabis as the assembler writes them, parsed: what a package's assembly
//! defines and references, per ABI.

use std::collections::HashSet;

/// ABI0 or ABIInternal, as symabis and object files name them.
pub fn abi_name(abi: u16) -> &'static str {
    match abi {
        0 => "ABI0",
        1 => "ABIInternal",
        _ => "static",
    }
}

/// A parsed symabis file (`asm -gensymabis`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Symabis {
    /// `def NAME ABI`, in order, first occurrence.
    pub defs: Vec<(String, String)>,
    /// `ref NAME ABI`, in order, first occurrence.
    pub refs: Vec<(String, String)>,
}

impl Symabis {
    /// Parses the text; malformed lines are skipped (the compiler would
    /// have refused them already).
    pub fn parse(text: &str) -> Symabis {
        let mut s = Symabis::default();
        let mut seen = HashSet::new();
        for line in text.lines() {
            let f: Vec<&str> = line.split_whitespace().collect();
            if f.len() != 3 || !seen.insert((f[0], f[1], f[2])) {
                continue;
            }
            let e = (f[1].to_string(), f[2].to_string());
            match f[0] {
                "def" => s.defs.push(e),
                "ref" => s.refs.push(e),
                _ => {}
            }
        }
        s
    }

    /// Is `name` defined by the assembly (any ABI)?
    pub fn defines(&self, name: &str) -> bool {
        self.defs.iter().any(|(n, _)| n == name)
    }
}

/// Splits a link symbol name into (package, name): the package ends at the
/// first `.` after the last `/`.
pub fn split_symbol(sym: &str) -> (&str, &str) {
    let after_slash = sym.rfind('/').map(|i| i + 1).unwrap_or(0);
    match sym[after_slash..].find('.') {
        Some(d) => (&sym[..after_slash + d], &sym[after_slash + d + 1..]),
        None => ("", sym),
    }
}
