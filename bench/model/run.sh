#!/bin/sh
# run.sh measures prefill (one 128-token prompt) and decode (32 greedy
# tokens after a 16-token prompt) tokens/s on CPU for a ~25M- and a
# ~125M-parameter (124M) Qwen2-shaped model (Qwen2.5's 151,665-token vocabulary,
# tied embeddings), with refeval's pure-Go backend and with llama.cpp on
# the same weights exported as F32 GGUF, alternating the two sides for
# ROUNDS rounds (default 3), and prints a table of medians with the ratios
# and the GFLOP/s each reaches. With PROFILE=1 it also writes a CPU
# profile of the Go side's first round and prints where the time goes.
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
	profile=1
fi
cp "$here/llamacpp.mjs" "$node_dir/bench_model.mjs" # ES modules resolve node_modules from the script's folder.
go test -c -o "$work/bench.test" ./bench/model
rm -f "$work"/go_*.txt "$work"/llama_*.json
rounds=${ROUNDS:-3}
for r in $(seq "$rounds"); do
	# The two sides alternate round by round: this machine's load moves both by 2× within minutes.
	prof="" pattern='Prefill|Decode'
	if [ "$r" = 1 ]; then
		pattern=. # and BenchmarkMatMul, once
		if [ -n "$profile" ]; then
			prof="-test.cpuprofile $work/cpu.prof"
		fi
	fi
	(cd "$here" && REFEVAL_BENCH_MODELS=$models "$work/bench.test" -test.run '^$' -test.bench "$pattern" \
		-test.benchtime "${BENCHTIME:-3x}" -test.timeout 30m $prof) > "$work/go_$r.txt"
	node "$node_dir/bench_model.mjs" measure "$work/llama_$r.json" $(echo "$models" | tr ',' ' ')
	echo "round $r: load $(cut -d' ' -f1-3 /proc/loadavg); refeval tokens/s: $(awk '/^Benchmark(Prefill|Decode)/ {printf "%s %s  ", $1, $(NF-1)}' "$work/go_$r.txt")"
done
grep '^BenchmarkMatMul' "$work/go_1.txt" || true
node "$node_dir/bench_model.mjs" report "$work" $(echo "$models" | tr ',' ' ')
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
if [ -n "$profile" ]; then
	echo
	echo "Go CPU profile ($work/cpu.prof), flat time by function:"
	go tool pprof -top -nodecount 25 "$work/bench.test" "$work/cpu.prof" 2>/dev/null | sed -n '1,35p'
fi
