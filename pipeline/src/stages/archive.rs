//! Go archives (`!<arch>` files) as cmd/go handles them: appending members
//! like `packInternal`, and the two digests the cache keys read from an
//! archive's `__.PKGDEF` — its export data (what importers compile against)
//! and its content modulo the build ID (what the link unit keys on).

use crate::cache::{ContentDigest, ExportDigest};
use crate::stages::step::Derived;

/// The digests of a compiled archive: export data and code (compile).
pub fn derive_compiled(data: &[u8]) -> Result<Derived, String> {
    Ok(Derived {
        export: Some(export_digest(data).ok_or("compile wrote an archive without export data")?),
        code: archive_code_digest(data),
    })
}

/// The code digest of a packed archive (pack: its export data is the
/// compiled archive's, which importers already read).
pub fn derive_packed(data: &[u8]) -> Result<Derived, String> {
    Ok(Derived {
        export: None,
        code: archive_code_digest(data),
    })
}

/// Appends objects to a Go archive exactly as cmd/go's `packInternal` does:
/// a 60-byte header (name truncated or padded to 16 bytes, zero date, uid,
/// gid, mode 0644, size), the content, and a pad byte to even length.
pub fn pack_append(archive: &mut Vec<u8>, name: &str, data: &[u8]) {
    let mut n = name.as_bytes().to_vec();
    n.truncate(16);
    n.resize(16, b' ');
    archive.extend_from_slice(&n);
    archive.extend_from_slice(
        format!(
            "{:<12}{:<6}{:<6}{:<8o}{:<10}`\n",
            0,
            0,
            0,
            0o644,
            data.len()
        )
        .as_bytes(),
    );
    archive.extend_from_slice(data);
    if data.len() % 2 == 1 {
        archive.push(b'\n');
    }
}

/// The digest of a package archive with its build ID blanked: the ID
/// (`build id "..."` in `__.PKGDEF`, derived from the action key) is
/// replaced by zeros wherever it occurs. Two archives with equal digests
/// differ at most in their build IDs, which no linked program contains.
pub fn archive_code_digest(archive: &[u8]) -> Option<ContentDigest> {
    let def = pkgdef(archive)?;
    let id = def
        .split(|b| *b == b'\n')
        .find_map(|line| line.strip_prefix(b"build id \""))
        .and_then(|rest| rest.strip_suffix(b"\""))
        .map(<[u8]>::to_vec);
    let id = id.filter(|i| !i.is_empty())?;
    let mut blanked = archive.to_vec();
    let mut i = 0;
    while i + id.len() <= blanked.len() {
        if blanked[i..i + id.len()] == id[..] {
            blanked[i..i + id.len()].fill(0);
            i += id.len();
        } else {
            i += 1;
        }
    }
    Some(ContentDigest::of(&blanked))
}

/// The digest of a package archive's export data (`__.PKGDEF`) with its
/// `build id` line blanked: equal digests mean importers compile the same.
pub fn export_digest(archive: &[u8]) -> Option<ExportDigest> {
    let data = pkgdef(archive)?;
    let mut h = blake3::Hasher::new();
    let mut off = 0;
    // Header lines up to `$$B`; the build ID line is the one that changes
    // with the key and nothing else.
    for line in data.split_inclusive(|b| *b == b'\n') {
        off += line.len();
        if !line.starts_with(b"build id ") {
            h.update(line);
        }
        if line.starts_with(b"$$") {
            break;
        }
    }
    h.update(data.get(off..).unwrap_or(&[]));
    Some(ExportDigest::from_bytes(*h.finalize().as_bytes()))
}

/// The `__.PKGDEF` member of a package archive (its export data and the
/// header lines with the build ID).
fn pkgdef(archive: &[u8]) -> Option<Vec<u8>> {
    let mut ar = ar::Archive::new(archive);
    while let Some(entry) = ar.next_entry() {
        let mut entry = entry.ok()?;
        if entry.header().identifier() == b"__.PKGDEF" {
            let mut data = Vec::new();
            std::io::Read::read_to_end(&mut entry, &mut data).ok()?;
            return Some(data);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pack_header_matches_cmd_go() {
        let mut a = b"!<arch>\n".to_vec();
        pack_append(&mut a, "sum_amd64.o", b"abc");
        let hdr = std::str::from_utf8(&a[8..68]).unwrap();
        assert_eq!(
            hdr,
            "sum_amd64.o     0           0     0     644     3         `\n"
        );
        assert_eq!(a.len(), 8 + 60 + 3 + 1, "odd sizes are padded");
        let mut ar = ar::Archive::new(&a[..]);
        let e = ar.next_entry().unwrap().unwrap();
        assert_eq!(e.header().identifier(), b"sum_amd64.o");
    }

    #[test]
    fn export_digest_ignores_build_id() {
        let mk = |id: &str, export: &[u8]| {
            let mut a = b"!<arch>\n".to_vec();
            let mut def =
                format!("go object linux amd64 go1.26.8 X:none\nbuild id \"{id}\"\n\n$$B\n")
                    .into_bytes();
            def.extend_from_slice(export);
            pack_append(&mut a, "__.PKGDEF", &def);
            pack_append(&mut a, "_go_.o", id.as_bytes());
            a
        };
        let a = export_digest(&mk("aaa/aaa", b"export1")).unwrap();
        let b = export_digest(&mk("bbb/bbb", b"export1")).unwrap();
        let c = export_digest(&mk("aaa/aaa", b"export2")).unwrap();
        assert_eq!(a, b);
        assert_ne!(a, c);
        assert!(export_digest(b"!<arch>\n").is_none());
    }
}
