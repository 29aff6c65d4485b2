// Package data holds refeval's demo data set and embeds it in the binary:
// short instructions with short reference answers (arithmetic, unit
// conversion, capitals, antonyms, plurals, word reversal, definitions,
// sorting, rewriting, letter counting, yes/no facts, number names,
// calendar), written for this project so that a tiny model trained for
// seconds can learn something.
//
// The files are train.prompts.jsonl and train.references.jsonl (525
// items), test.prompts.jsonl and test.references.jsonl (105 items), in the
// JSON Lines formats of docs/stages.md, and corpus.txt (the training
// prompts and references, one per line, for training a tiny tokenizer).
// The program in gen/ writes them all from a seed; do not edit them by
// hand. What a pipeline does with them is the stages' business.
package data
