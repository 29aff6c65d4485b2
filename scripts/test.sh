#!/usr/bin/env bash
# The test command (README, .ci/run): starts every service the integration tests need, then
# runs go vet and go test. Each scripts/services/NAME.sh defines start_NAME (install if missing,
# configure, start, wait until ready, export the variables its tests read) and stop_NAME.
# Under CI (CI=true) an integration test that finds no service fails instead of skipping.
set -euo pipefail
cd "$(dirname "$0")/.."
export GOMLX_NO_AUTO_INSTALL=1 GOEXPERIMENT=simd

services=()
for f in scripts/services/*.sh; do
	[[ -e $f ]] || continue
	# shellcheck source=/dev/null
	source "$f"
	services+=("$(basename "$f" .sh)")
done
stop_all() {
	for s in "${services[@]}"; do "stop_$s" || true; done
}
trap stop_all EXIT
for s in "${services[@]}"; do
	echo "test.sh: starting $s"
	"start_$s"
done

go vet ./...
go test -timeout 60m "$@" ./...

# Fuzz the index entry decoder and the pipeline loader for a short, fixed time (docs/cache.md,
# "Guarantees"); a crasher is saved under the package's testdata/fuzz and fails the run.
go test -run '^$' -fuzz '^FuzzDecodeEntry$' -fuzztime 20s ./cache
go test -run '^$' -fuzz '^FuzzDecodeEntryFast$' -fuzztime 20s ./cache
go test -run '^$' -fuzz '^FuzzLoad$' -fuzztime 20s ./engine
