#!/bin/sh
# run.sh measures llm/tokenizer's encode throughput next to the Rust Hugging Face
# tokenizers on the same documents, for each real tokenizer file, and prints the
# ratio Go/Rust (above 1: Go is faster), in MB per second of wall time and in MB
# per second of process CPU time (steadier on a loaded machine). Both encode one
# document at a time, after a warm-up pass that fills their word caches.
#
# Usage, from the repository root:
#
#	NODE_MODULES=/tmp/tok/node_modules [TOKENIZERS="qwen2_5 llama2"] sh bench/tokenizer/run.sh [TEXT FILES...]
#
# NODE_MODULES must hold @anush008/tokenizers@0.6.0 (llm/tokenizer/scripts/README.md).
# Without TEXT FILES it uses English prose and HTML (the Go spec), Go source
# (net/http) and the multilingual golden strings. Last it times
# `refeval tokenizer train` for 2000 and 8000 ids on the first 1 MB of the text.
set -eu
: "${NODE_MODULES:=/tmp/tok/node_modules}"
export NODE_PATH=$NODE_MODULES GOEXPERIMENT=simd GOFLAGS=-mod=mod GOMLX_NO_AUTO_INSTALL=1
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
root=$(pwd)
if [ $# -eq 0 ]; then
	goroot=$(go env GOROOT)
	cat "$goroot"/src/net/http/*.go | head -c 1000000 > "$work/code.txt"
	node -e 'const g=require(process.argv[1]); process.stdout.write(g.encodings.map(e=>e.text).join("\n"))' \
		"$root/llm/tokenizer/testdata/qwen2_5.golden.json" > "$work/multilingual.txt"
	set -- "$goroot/doc/go_spec.html" "$work/code.txt" "$work/multilingual.txt"
fi
node bench/tokenizer/bench.js prepare "$work/docs.jsonl" "$@"
go test -c -o "$work/tokenizer.test" ./llm/tokenizer
# metric NAME: the best value of a metric over the Go benchmark's runs.
metric() {
	awk -v name="$1" '/^BenchmarkEncode/ { for (i = 1; i < NF; i++) if ($(i+1) == name && $i + 0 > best) best = $i + 0 } END { print best }'
}
ratio() { echo "$1 $2" | awk '{ printf "%.2f", $1 / $2 }'; }
printf '%-10s %8s %8s %8s   %8s %8s %8s\n' tokenizer "Go MB/s" "Rust" "Go/Rust" "Go CPU" "Rust CPU" "Go/Rust"
for name in ${TOKENIZERS:-qwen2_5 llama3_2 gpt2 llama2 gemma3}; do
	file=$root/models/tokenizers/$name/tokenizer.json
	if [ ! -f "$file" ] && [ ! -f "$file.gz" ]; then
		echo "$name: no tokenizer file (models/tokenizers/fetch.sh fetches the large ones)" >&2
		continue
	fi
	if [ -f "$file.gz" ]; then
		gunzip -c "$file.gz" > "$work/$name.json"
		file=$work/$name.json
	fi
	rust=$(node bench/tokenizer/bench.js rust "$file" "$work/docs.jsonl")
	gores=$(cd llm/tokenizer && GOMAXPROCS=1 REFEVAL_TOKENIZER_BENCH_FILE=$file REFEVAL_TOKENIZER_BENCH_TEXT=$work/docs.jsonl \
		"$work/tokenizer.test" -test.run '^$' -test.bench '^BenchmarkEncode$' -test.benchtime 3x -test.count 3)
	gombs=$(echo "$gores" | metric MB/s)
	gocpu=$(echo "$gores" | metric cpu-MB/s)
	gotok=$(echo "$gores" | metric tokens)
	rustmbs=$(echo "$rust" | awk '{ print $2 }')
	rusttok=$(echo "$rust" | awk '{ print $4 }')
	rustcpu=$(echo "$rust" | awk '{ print $6 }')
	if [ "$gotok" != "$rusttok" ]; then
		echo "$name: token counts differ: Go $gotok, Rust $rusttok" >&2
		exit 1
	fi
	printf '%-10s %8s %8s %8s   %8s %8s %8s\n' "$name" "$gombs" "$rustmbs" "$(ratio "$gombs" "$rustmbs")" \
		"$gocpu" "$rustcpu" "$(ratio "$gocpu" "$rustcpu")"
done
go build -o "$work/refeval" ./cmd/refeval
cat "$@" | head -c 1000000 > "$work/train.txt"
for n in 2000 8000; do
	"$work/refeval" tokenizer train --vocab $n --out "$work/trained.json" "$work/train.txt" 2>&1 | sed 's/^refeval: /train: /'
done
