"""Split cargo-fuzz inputs (goasm/fuzz/fuzz_targets/gensymabis.rs layout) into
case directories: x.s, inc.h and meta (GOARCH, package path, shared flag)."""
import glob
import os
import sys

ARCHES = ["386", "amd64", "arm", "arm64", "loong64", "mips", "mipsle", "mips64",
          "mips64le", "ppc64", "ppc64le", "riscv64", "s390x", "wasm"]
PKGS = ["runtime", "example.com/p", "a.b/c d%", ""]

src_dir, out = sys.argv[1], sys.argv[2]
os.makedirs(out, exist_ok=True)
for i, f in enumerate(sorted(glob.glob(os.path.join(src_dir, "*")))):
    data = open(f, "rb").read()
    if not data:
        continue
    sel, rest = data[0], data[1:]
    src, _, inc = rest.partition(b"\x00")
    d = os.path.join(out, f"c{i}")
    os.makedirs(d, exist_ok=True)
    open(os.path.join(d, "x.s"), "wb").write(src)
    open(os.path.join(d, "inc.h"), "wb").write(inc)
    with open(os.path.join(d, "meta"), "w") as m:
        m.write(f"{ARCHES[sel % 14]}\n{PKGS[(sel >> 4) & 3]}\n{int(bool(sel & 0x40))}\n{os.path.basename(f)}\n")
