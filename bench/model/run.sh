#!/bin/sh
# run.sh measures prefill (one 128-token prompt) and decode (32 greedy
# tokens after a 16-token prompt) tokens/s on CPU for a ~25M- and a
# ~125M-parameter (124M) Qwen2-shaped model (Qwen2.5's 151,665-token vocabulary,
# tied embeddings), with refeval's pure-Go backend and with llama.cpp on
# the same weights exported as F32 GGUF, in one run, and prints a table
# with the ratios and the GFLOP/s each reaches. With PROFILE=1 it also
# writes a CPU profile of the Go side and prints where the time goes.
#
#	NODE_DIR=/tmp/gguf_node sh bench/model/run.sh
#
# NODE_DIR holds node_modules with node-llama-cpp, installed once (offline,
# prebuilt CPU binary) with
#	NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install -E node-llama-cpp@3.21.1
set -eu
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
node_dir=${NODE_DIR:-/tmp/gguf_node}
work=${WORK:-$(mktemp -d)}
export GOEXPERIMENT=simd GOMLX_NO_AUTO_INSTALL=1 GOFLAGS=-mod=mod
cd "$root"
go build -o "$work/refeval" ./cmd/refeval
models=""
for size in 25M 124M; do # 125M picks 7 heads and 3 key/value heads, which Validate refuses.
	dir="$work/qwen2-$size"
	if [ ! -f "$dir/model.gguf" ]; then
		"$work/refeval" model init --arch qwen2 --size "$size" --seed 1 \
			--tokenizer models/tokenizers/qwen2_5/tokenizer.json.gz --out "$dir"
		"$work/refeval" model export --type f32 --gguf "$dir/model.gguf" "$dir"
	fi
	models="$models${models:+,}$size=$dir"
done
mhz=$(awk -F: '/cpu MHz/ {print $2; exit}' /proc/cpuinfo)
cores=$(nproc)
echo "CPU: $(awk -F: '/model name/ {print $2; exit}' /proc/cpuinfo), $cores vCPUs at$mhz MHz;" \
	"estimated fp32 peak = vCPUs × GHz × 32 FLOP/cycle (AVX-512 FMA, 2 units of 256 bits on Zen 4) =" \
	"$(awk -v c="$cores" -v m="$mhz" 'BEGIN {printf "%.0f", c * m / 1000 * 32}') GFLOP/s"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
profile=""
if [ "${PROFILE:-0}" = 1 ]; then
	profile="-cpuprofile $work/cpu.prof"
fi
REFEVAL_BENCH_MODELS=$models go test -run '^$' -bench . -benchtime "${BENCHTIME:-3x}" -timeout 30m $profile \
	-o "$work/bench.test" ./bench/model | tee "$work/go.txt"
cp "$here/llamacpp.mjs" "$node_dir/bench_model.mjs" # ES modules resolve node_modules from the script's folder.
node "$node_dir/bench_model.mjs" "$work/go.txt" $(echo "$models" | tr ',' ' ')
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$profile" ]; then
	echo
	echo "Go CPU profile ($work/cpu.prof), flat time by function:"
	go tool pprof -top -nodecount 25 "$work/bench.test" "$work/cpu.prof" 2>/dev/null | sed -n '1,35p'
fi
