#!/bin/sh
# make_goldens.sh regenerates testdata/llamacpp_*.json: refeval writes the
# random models of models.json as GGUF files (with the seed search that
# keeps greedy argmax meaningful), llama.cpp (node-llama-cpp 3.21.1, CPU,
# offline) runs them, and llamacpp.mjs writes what it computed.
#
#	NODE_DIR=/tmp/gguf_node sh llm/gguf/scripts/make_goldens.sh
#
# Gemma 3's tokenizer is not committed: run models/tokenizers/fetch.sh first.
# NODE_DIR holds node_modules with node-llama-cpp, installed once with
#	NODE_LLAMA_CPP_SKIP_DOWNLOAD=true npm install -E node-llama-cpp@3.21.1
set -eu
here=$(cd "$(dirname "$0")" && pwd)
pkg=$(dirname "$here")
node_dir=${NODE_DIR:-/tmp/gguf_node}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export GOEXPERIMENT=simd GOMLX_NO_AUTO_INSTALL=1
(cd "$pkg" && go test -count=1 -timeout 20m -run 'TestWriteLlamaCppModels$' -v . -args -gguf-out "$work")
# Two of them also as F16 files.
(cd "$pkg" && go test -count=1 -timeout 20m -run 'TestWriteLlamaCppModels$' -v . -args -gguf-out "$work" \
	-gguf-type f16 -gguf-models qwen2_gqa_tied,llama_kv1_tied)
cp "$here/llamacpp.mjs" "$node_dir/llamacpp.mjs"   # ES modules resolve node_modules from the script's folder.
node "$node_dir/llamacpp.mjs" "$work" "$pkg/testdata"
cp "$here/tokenize.mjs" "$node_dir/tokenize.mjs"
node "$node_dir/tokenize.mjs" "$pkg/testdata" \
	models/tokenizers/qwen2_5/tokenizer.json.gz="$work/qwen2_gqa_tied.gguf" \
	models/tokenizers/llama3_2/tokenizer.json.gz="$work/llama_kv1_tied.gguf" \
	models/tokenizers/qwen3/tokenizer.json.gz="$work/qwen3_hd24_tied.gguf" \
	models/tokenizers/llama2/tokenizer.json.gz="$work/mistral_kv2_untied.gguf" \
	models/tokenizers/gemma3/tokenizer.json="$work/gemma3_swa8_6layers.gguf"
