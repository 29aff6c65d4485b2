package checkpoint

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"github.com/refeval/refeval/internal/atomicfile"
)

// InitOptions describes a random model for Init.
type InitOptions struct {
	Arch      string // "qwen2", "qwen3", "llama", "mistral" or "gemma3".
	Size      string // "tiny", "small" or a parameter count (see SizedConfig).
	Tokenizer string // Path of a tokenizer.json (or .json.gz, written out uncompressed); its vocabulary sizes the model.
	Seed      uint64 // Seed of the weights.
	Out       string // Folder to write.
}

// Init writes a deterministic random model folder: the real architecture
// sized by opt.Size, weights from Random, the tokenizer.json copied, and a
// tokenizer_config.json (the one next to the tokenizer when it has a chat
// template, else one with ChatMLTemplate, or InstTemplate for a tokenizer
// without ChatML tokens that names its BOS and EOS). End-of-sequence ids come from the
// tokenizer's special tokens.
func Init(opt InitOptions) (Config, error) {
	info, err := ReadTokenizerInfo(opt.Tokenizer)
	if err != nil {
		return Config{}, err
	}
	cfg, err := SizedConfig(opt.Arch, opt.Size, info.VocabSize)
	if err != nil {
		return Config{}, err
	}
	cfg.EOSTokenIDs = info.EOSTokenIDs
	cfg.BOSTokenID = info.BOSTokenID
	if err := Save(opt.Out, cfg, Random(cfg, opt.Seed), SaveOptions{}); err != nil {
		return Config{}, err
	}
	tokData, err := readMaybeGzip(opt.Tokenizer)
	if err != nil {
		return Config{}, err
	}
	if err := atomicfile.WriteBytes(filepath.Join(opt.Out, "tokenizer.json"), tokData); err != nil {
		return Config{}, err
	}
	tcPath := filepath.Join(filepath.Dir(opt.Tokenizer), "tokenizer_config.json")
	if info.ChatTemplate != "" {
		if err := copyFile(tcPath, filepath.Join(opt.Out, "tokenizer_config.json")); err != nil {
			return Config{}, fmt.Errorf("copying tokenizer config: %w", err)
		}
		return cfg, nil
	}
	tc := map[string]any{}
	if data, err := os.ReadFile(tcPath); err == nil {
		json.Unmarshal(data, &tc) // ReadTokenizerInfo has already checked it parses.
	}
	tc["chat_template"] = ChatMLTemplate
	if _, ok := info.Special["<|im_start|>"]; !ok && info.BOSToken != "" && info.EOSToken != "" {
		tc["chat_template"] = InstTemplate
	}
	if _, ok := tc["eos_token"]; !ok || info.EOSToken == "" {
		for _, s := range EOSTokens {
			if _, ok := info.Special[s]; ok {
				tc["eos_token"] = s
				break
			}
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // Keep <|im_start|> readable, as transformers writes it.
	enc.SetIndent("", "  ")
	enc.Encode(tc)
	if err := atomicfile.WriteBytes(filepath.Join(opt.Out, "tokenizer_config.json"), buf.Bytes()); err != nil {
		return Config{}, err
	}
	return cfg, nil
}
