package checkpoint

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// TokenizerInfo is what a model folder needs to know about its tokenizer:
// how many ids it uses and which special tokens end or begin a sequence.
// Encoding text is left to package tokenizer.
type TokenizerInfo struct {
	VocabSize    int            // 1 + the largest id of the vocabulary and added tokens.
	Special      map[string]int // Added tokens marked special, by content.
	EOSTokenIDs  []int          // Ids of the end-of-turn and end-of-text tokens found, in EOSTokens order.
	BOSTokenID   int            // tokenizer_config.json's bos_token, else <|begin_of_text|>, <s> or <bos> when present, else -1.
	ChatTemplate string         // tokenizer_config.json's chat_template next to tokenizer.json, or "".
	BOSToken     string         // tokenizer_config.json's bos_token, or "".
	EOSToken     string         // tokenizer_config.json's eos_token, or "".
}

// EOSTokens are the special tokens that end generation, in the order their
// ids are listed in generation_config.json.
var EOSTokens = []string{"<|im_end|>", "<|eot_id|>", "<|eom_id|>", "<|endoftext|>", "<|end_of_text|>", "</s>", "<end_of_turn>", "<eos>"}

// ReadTokenizerInfo reads path (a tokenizer.json, or tokenizer.json.gz) and, when present, the
// tokenizer_config.json next to it.
func ReadTokenizerInfo(path string) (TokenizerInfo, error) {
	data, err := readMaybeGzip(path)
	if err != nil {
		return TokenizerInfo{}, err
	}
	var tj struct {
		AddedTokens []struct {
			ID      int    `json:"id"`
			Content string `json:"content"`
			Special bool   `json:"special"`
		} `json:"added_tokens"`
		Model struct {
			Vocab json.RawMessage `json:"vocab"`
		} `json:"model"`
	}
	if err := json.Unmarshal(data, &tj); err != nil {
		return TokenizerInfo{}, fmt.Errorf("%s: bad JSON: %v", path, err)
	}
	info := TokenizerInfo{Special: map[string]int{}, BOSTokenID: -1}
	var vocab map[string]int
	if len(tj.Model.Vocab) > 0 {
		if err := json.Unmarshal(tj.Model.Vocab, &vocab); err != nil {
			return TokenizerInfo{}, fmt.Errorf("%s: model.vocab is not a token→id map (only BPE tokenizers are supported): %v", path, err)
		}
	}
	for _, id := range vocab {
		info.VocabSize = max(info.VocabSize, id+1)
	}
	for _, t := range tj.AddedTokens {
		info.VocabSize = max(info.VocabSize, t.ID+1)
		if t.Special {
			info.Special[t.Content] = t.ID
		}
	}
	if info.VocabSize == 0 {
		return TokenizerInfo{}, fmt.Errorf("%s: empty vocabulary", path)
	}
	for _, s := range EOSTokens {
		if id, ok := info.Special[s]; ok {
			info.EOSTokenIDs = append(info.EOSTokenIDs, id)
		}
	}
	for _, s := range []string{"<|begin_of_text|>", "<s>", "<bos>"} {
		if id, ok := info.Special[s]; ok {
			info.BOSTokenID = id
			break
		}
	}
	cpath := filepath.Join(filepath.Dir(path), "tokenizer_config.json")
	cdata, err := os.ReadFile(cpath)
	switch {
	case errors.Is(err, os.ErrNotExist):
	case err != nil:
		return TokenizerInfo{}, fmt.Errorf("reading tokenizer config: %w", err)
	default:
		var tc map[string]any
		if err := json.Unmarshal(cdata, &tc); err != nil {
			return TokenizerInfo{}, fmt.Errorf("%s: bad JSON: %v", cpath, err)
		}
		info.ChatTemplate, _ = tc["chat_template"].(string)
		info.BOSToken = TokenString(tc["bos_token"])
		info.EOSToken = TokenString(tc["eos_token"])
		if id, ok := info.Special[info.BOSToken]; ok {
			info.BOSTokenID = id
		}
	}
	return info, nil
}

// readMaybeGzip reads path, gunzipping it when its name ends in .gz.
func readMaybeGzip(path string) ([]byte, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading tokenizer: %w", err)
	}
	if !strings.HasSuffix(path, ".gz") {
		return data, nil
	}
	zr, err := gzip.NewReader(bytes.NewReader(data))
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	out, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", path, err)
	}
	return out, nil
}

// TokenString reads a special token of tokenizer_config.json (bos_token,
// eos_token, pad_token…) given as a string or as {"content": "..."}; ""
// for anything else.
func TokenString(v any) string {
	switch t := v.(type) {
	case string:
		return t
	case map[string]any:
		s, _ := t["content"].(string)
		return s
	}
	return ""
}

// ChatMLTemplate is the Jinja chat template refeval writes for tokenizers
// that ship none (the ChatML format Qwen uses).
const ChatMLTemplate = "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + '<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"

// InstTemplate is the chat template refeval writes for SentencePiece-style
// tokenizers that ship none and have no ChatML tokens (Llama 2 and Mistral
// files): Mistral's [INST] format, a system message sent as a user turn.
const InstTemplate = "{{ bos_token }}{% for message in messages %}{% if message['role'] == 'assistant' %}{{ message['content'] + eos_token }}{% else %}{{ '[INST] ' + message['content'] + ' [/INST]' }}{% endif %}{% endfor %}"
