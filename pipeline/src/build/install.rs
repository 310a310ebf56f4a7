//! Installing programs: where each goes (`-o`, else
//! `<target>/gobuild/<profile>/<goos>_<goarch>/<name>`), and the atomic copy
//! out of the object store.

use std::path::{Path, PathBuf};

use crate::build::BuildRequest;
use crate::cache::{ContentDigest, ObjectStore};
use crate::config::profile::BuildMode;
use crate::error::{Error, IoContext, Result};
use crate::fshash::FileHasher;
use crate::load;
use crate::toolchain::Toolchain;

/// Where a program goes: `-o`, else `<target>/gobuild/<profile>/<goos>_<goarch>/<name>`.
pub fn output_path(
    req: &BuildRequest,
    tc: &Toolchain,
    pkg: &load::GoPackage,
    mains: usize,
) -> PathBuf {
    let base = match (&req.exe_name, mains) {
        (Some(n), 1) => n.clone(),
        _ => exec_name(&pkg.import_path),
    };
    let name = match req.profile.buildmode {
        BuildMode::CArchive => format!("lib{base}.a"),
        BuildMode::CShared => format!("lib{base}.so"),
        _ => format!("{base}{}", exe_suffix(tc.goos())),
    };
    match &req.output {
        Some(o) if o.is_dir() || mains > 1 => o.join(name),
        Some(o) => o.clone(),
        None => req
            .gobuild_dir()
            .join(&req.profile.name)
            .join(format!("{}_{}", tc.goos(), tc.goarch()))
            .join(name),
    }
}

/// Where the cgo export header of a C library goes: beside it, its
/// extension replaced by `.h` (`libdemo.a` → `libdemo.h`), as go build
/// installs it.
pub fn header_path(library: &Path) -> PathBuf {
    library.with_extension("h")
}

fn exe_suffix(goos: &str) -> &'static str {
    if goos == "windows" {
        ".exe"
    } else {
        ""
    }
}

/// The program name for a main package (`load.DefaultExecName`): the last
/// path element, or the one before a major-version suffix like `/v2`.
pub fn exec_name(import_path: &str) -> String {
    let mut parts: Vec<&str> = import_path.split('/').collect();
    if parts.len() > 1 {
        let last = parts[parts.len() - 1];
        let is_major = last.len() > 1
            && last.starts_with('v')
            && last[1..].chars().all(|c| c.is_ascii_digit())
            && !last[1..].starts_with('0')
            && last != "v1";
        if is_major {
            parts.pop();
        }
    }
    parts.last().copied().unwrap_or(import_path).to_string()
}

/// Copies a cache object to `dest` (atomically, executable), unless `dest`
/// already has that content. Returns whether it was written.
pub fn install(
    objects: &dyn ObjectStore,
    hasher: &FileHasher,
    obj: &ContentDigest,
    dest: &Path,
) -> Result<bool> {
    if dest.is_file() && hasher.digest(dest).ok().as_ref() == Some(obj) {
        return Ok(false);
    }
    let dir = dest.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir).at(dir)?;
    let tmp = tempfile::NamedTempFile::new_in(dir).at(dir)?;
    std::fs::copy(objects.local_path(obj)?, tmp.path()).at(tmp.path().to_path_buf())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(tmp.path(), std::fs::Permissions::from_mode(0o755))
            .at(tmp.path().to_path_buf())?;
    }
    tmp.persist(dest).map_err(|e| Error::io(dest, e.error))?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_names() {
        assert_eq!(exec_name("example.com/demo/cmd/demo"), "demo");
        assert_eq!(exec_name("example.com/tool/v2"), "tool");
        assert_eq!(exec_name("cmd/gofmt"), "gofmt");
        assert_eq!(exec_name("example.com/v1"), "v1");
        assert_eq!(exec_name("gofmt"), "gofmt");
    }

    #[test]
    fn headers_go_beside_the_library() {
        assert_eq!(
            header_path(Path::new("out/libdemo.a")),
            PathBuf::from("out/libdemo.h")
        );
        assert_eq!(
            header_path(Path::new("libdemo.so")),
            PathBuf::from("libdemo.h")
        );
        assert_eq!(header_path(Path::new("out/x")), PathBuf::from("out/x.h"));
    }
}
