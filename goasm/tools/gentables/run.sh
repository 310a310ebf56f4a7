#!/bin/sh
# Regenerates goasm/src/tables.rs from the installed Go toolchain (no GOROOT changes:
# the generator is overlaid into GOROOT/src/cmd so it may import cmd/asm/internal/arch).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
goroot=$(go env GOROOT)
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
printf '{"Replace":{"%s/src/cmd/asm/internal/gentables/main.go":"%s/main.go"}}' "$goroot" "$here" > "$tmp/overlay.json"
cd "$goroot/src/cmd"
go run -overlay="$tmp/overlay.json" cmd/asm/internal/gentables > "$here/../../src/tables.rs"
