#!/bin/sh
# Regenerates testdata/golden/*.json: writes the golden checkpoints with the
# Go test, then scores them with the independent torch reference.
# Needs Debian's python3-torch and python3-numpy (/usr/bin/python3).
set -eu
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
GOEXPERIMENT=simd GOMLX_NO_AUTO_INSTALL=1 go test -count=1 -run 'TestGolden$' . -args -write-checkpoints "$tmp" >/dev/null
for d in "$tmp"/*/; do
	name=$(basename "$d")
	/usr/bin/python3 scripts/reference.py "$d" "testdata/golden/$name.json"
	echo "wrote testdata/golden/$name.json"
done
