// Package chat holds chat templates: it renders the Jinja chat_template of a Hugging Face
// tokenizer_config.json over a list of messages, byte for byte as @huggingface/jinja 0.5.11
// (the renderer of transformers.js) does, and provides a built-in ChatML template for
// checkpoints that ship none.
//
// The Jinja engine here is a port of that renderer's lexer, parser and interpreter, with its
// quirks kept (string methods such as strip('\n') ignore their argument and trim all
// whitespace, as JavaScript's trim does; lstrip_blocks and trim_blocks are always on).
// The goldens under testdata/ were rendered by @huggingface/jinja under node (see
// scripts/); the tests compare with them byte for byte and need no node.
//
// Tokenizing the rendered text, and choosing which template a model uses, are left to
// others (llm/tokenizer, the stage kinds).
package chat
