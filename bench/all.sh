#!/bin/sh
# all.sh runs every benchmark whose figures README.md and docs/ quote and
# prints their tables, one section each, with the load average before and
# after (the development machine is shared: figures taken under load say
# so next to them). Sections whose tools are missing say what to install
# and are skipped. Not run in CI; the whole set takes tens of minutes.
#
#	sh bench/all.sh                       # every section
#	sh bench/all.sh noop llm endpoint     # some of them
#
# Sections, and the pages quoting them:
#	noop      bench/noop.sh 5 256: no-op build vs make -q / go-task, hashing vs sha256sum (README, docs/engine.md)
#	plan      bench/plan.sh 3: plan and no-op build vs make -q at 200/2,000/10,000 stages (docs/engine.md)
#	cache     go test -bench 'DigestFirstTime|DigestNoOp|Open' ./cache (README, docs/cache.md)
#	endpoint  go test -bench EndpointThroughput ./stages (docs/openai.md)
#	stages    go run ./bench/stages: judge one-forward vs generate (README, docs/stages-models.md)
#	llm       go test -bench . ./llm: tiny/small prefill, decode, score (README, docs/llm.md)
#	dpo       go run ./bench/gpu -size small …: one CPU DPO step (docs/train.md)
#	dpotorch  bench/dpo/run.sh: DPO step and forward vs PyTorch + OpenBLAS (docs/train.md)
#	gpu       sh bench/gpu/check.sh --tiny, or with $GPU_PLUGIN the GPU check (docs/llm.md)
#	model     bench/model/run.sh: decode/prefill vs llama.cpp, needs $NODE_DIR (README, docs/gguf.md)
#	tokenizer bench/tokenizer/run.sh, needs $NODE_MODULES (README, docs/tokenizer.md)
#	remote    bench/remote_pull.sh 3 1024, starts SeaweedFS (README, docs/cache.md)
#	demo      wall and CPU time of the README's main job on a clean copy (README)
set -u
cd "$(dirname "$0")/.."
export GOEXPERIMENT=simd GOMLX_NO_AUTO_INSTALL=1
all="noop plan cache endpoint stages llm dpo dpotorch gpu model tokenizer remote demo"
sections=${*:-$all}
failed=""

section() {
	echo
	echo "=== $1 ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg), $(nproc) CPUs)"
}

run() { # run NAME COMMAND...: runs the command, remembers a failure.
	name=$1
	shift
	if ! "$@"; then
		failed="$failed $name"
	fi
}

for s in $sections; do
	section "$s"
	case $s in
	noop) run noop sh bench/noop.sh 5 256 ;;
	plan) run plan sh bench/plan.sh 3 ;;
	cache) run cache go test -run '^$' -bench 'DigestFirstTime|DigestNoOp|Open' -benchtime 3x ./cache ;;
	endpoint) run endpoint go test -run '^$' -bench EndpointThroughput -benchtime 2x ./stages ;;
	stages) run stages go run ./bench/stages ;;
	llm) run llm go test -run '^$' -bench . -benchtime 3x -timeout 30m ./llm ;;
	dpo) run dpo go run ./bench/gpu -size small -vocab 2048 -pairs 2 -accum 2 -seq 100 -steps 2 -batch 4 -tokens 16 ;;
	dpotorch)
		if /usr/bin/python3 -c 'import torch' 2>/dev/null && [ -f /usr/lib/x86_64-linux-gnu/openblas-pthread/libblas.so.3 ]; then
			run dpotorch sh bench/dpo/run.sh
		else
			echo "skipped: apt-get install -y python3-torch libopenblas0-pthread (see bench/dpo/run.sh)"
		fi
		;;
	gpu)
		if [ -n "${GPU_PLUGIN:-}" ]; then
			run gpu sh bench/gpu/check.sh "$GPU_PLUGIN"
		else
			run gpu sh bench/gpu/check.sh --tiny
		fi
		;;
	model)
		if [ -d "${NODE_DIR:-/tmp/gguf_node}/node_modules/node-llama-cpp" ]; then
			run model sh bench/model/run.sh
		else
			echo "skipped: set NODE_DIR to a folder whose node_modules holds node-llama-cpp@3.21.1 (see bench/model/run.sh)"
		fi
		;;
	tokenizer)
		if [ -d "${NODE_MODULES:-/tmp/tok/node_modules}/@anush008/tokenizers" ]; then
			run tokenizer sh bench/tokenizer/run.sh
		else
			echo "skipped: set NODE_MODULES to a node_modules holding @anush008/tokenizers@0.6.0 (llm/tokenizer/scripts/README.md)"
		fi
		;;
	remote) run remote sh bench/remote_pull.sh 3 1024 ;;
	demo)
		work=$(mktemp -d)
		git archive HEAD | tar -x -C "$work"
		go build -o "$work/refeval" ./cmd/refeval
		echo "refeval build pipelines/self_improve.hcl on a clean copy ($work), empty cache:"
		(cd "$work" && /usr/bin/time -f "wall %e s, CPU %U s user + %S s system, max RSS %M KB" ./refeval build pipelines/self_improve.hcl >"$work/build.log" 2>&1) || failed="$failed demo"
		tail -n 3 "$work/build.log"
		rm -rf "$work"
		;;
	*)
		echo "unknown section $s (want one of: $all)" >&2
		exit 1
		;;
	esac
done
echo
echo "=== done ($(date -u +%H:%M:%S) UTC, load $(cut -d' ' -f1-3 /proc/loadavg))"
if [ -n "$failed" ]; then
	echo "failed:$failed" >&2
	exit 1
fi
