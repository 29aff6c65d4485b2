#!/bin/sh
# check_trained.sh trains a small tokenizer with `refeval tokenizer train` on
# testdata/train_corpus.txt (the golden strings, one per line), then has the Rust
# Hugging Face tokenizers encode the golden strings with the file it wrote. It
# regenerates testdata/trained.tokenizer.json and testdata/trained.golden.json.
#
# Usage: NODE_MODULES=/tmp/tok/node_modules sh llm/tokenizer/scripts/check_trained.sh
# (run from the repository root; see README.md for the npm install).
set -eu
: "${NODE_MODULES:=/tmp/tok/node_modules}"
td=llm/tokenizer/testdata
export GOEXPERIMENT=simd GOFLAGS=-mod=mod
go build -o /tmp/refeval-check-trained ./cmd/refeval
node -e '
const g = require("./'$td'/qwen2_5.golden.json");
const s = g.encodings.map((e) => e.text);
require("fs").writeFileSync("'$td'/train_corpus.txt", s.join("\n") + "\n");
require("fs").writeFileSync("/tmp/trained-strings.json", JSON.stringify(s));
'
/tmp/refeval-check-trained tokenizer train --vocab 700 --out $td/trained.tokenizer.json $td/train_corpus.txt
NODE_PATH=$NODE_MODULES node llm/tokenizer/scripts/gen_goldens.js trained \
  $td/trained.tokenizer.json $td/trained.golden.json /tmp/trained-strings.json
