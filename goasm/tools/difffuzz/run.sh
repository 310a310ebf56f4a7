#!/usr/bin/env bash
# Differential check of goasm against the real `asm -gensymabis` over the cargo-fuzz
# corpus: same output bytes and same success/failure for every input; first error
# lines are compared too (they differ only where Go prints invalid UTF-8 raw).
#
# usage: goasm/tools/difffuzz/run.sh [CORPUS_DIR]   (default goasm/fuzz/corpus/gensymabis)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../../.." && pwd)
corpus=${1:-$root/goasm/fuzz/corpus/gensymabis}
asm="$(go env GOTOOLDIR)/asm"
(cd "$root" && cargo build -q --release -p goasm --example gensymabis)
ours="${CARGO_TARGET_DIR:-$root/target}/release/examples/gensymabis"
work=$(mktemp -d); trap 'rm -rf "$work"' EXIT
python3 "$here/corpus2cases.py" "$corpus" "$work"
total=0 ok=0 mism=0 msg=0
for c in "$work"/c*; do
  total=$((total + 1))
  { read -r arch; read -r pkg; read -r shared; } <"$c/meta"
  flags=(-D GOOS_linux -D "GOARCH_$arch" -D "V=·v")
  [ -n "$pkg" ] && flags+=(-p "$pkg")
  [ "$shared" = 1 ] && flags+=(-shared)
  wrc=0 grc=0
  (cd "$c" && GOOS=linux GOARCH=$arch timeout 20 "$asm" "${flags[@]}" -gensymabis -o want x.s) >"$c/want.err" 2>&1 || wrc=1
  oflags=("${flags[@]/#-shared/--shared}")
  (cd "$c" && timeout 20 "$ours" --goos linux --goarch "$arch" "${oflags[@]}" -o got x.s) >"$c/got.err" 2>&1 || grc=1
  if [ $wrc != $grc ] || { [ $wrc = 0 ] && ! cmp -s "$c/want" "$c/got"; }; then
    mism=$((mism + 1)); echo "MISMATCH $(sed -n 4p "$c/meta") ($arch, -p '$pkg'): asm rc=$wrc ours rc=$grc"
  elif [ $wrc = 0 ]; then
    ok=$((ok + 1))
  else
    w=$(grep -av '^asm: \|:[0-9]*:[0-9]*: ' "$c/want.err" | head -1 || true)
    g=$(head -1 "$c/got.err")
    [ "$w" != "$g" ] && msg=$((msg + 1))
  fi
done
echo "cases=$total ok=$ok output-mismatches=$mism error-message-differences=$msg"
[ $mism = 0 ]
