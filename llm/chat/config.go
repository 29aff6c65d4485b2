package chat

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
)

// This file reads the chat template and special tokens out of a tokenizer_config.json.

// LoadTemplate reads the chat_template of a Hugging Face tokenizer_config.json: a string,
// or a list of {"name", "template"} from which it takes "default". bos_token and eos_token
// may be strings or {"content": …} objects. A file without chat_template gets ChatML
// (with the file's special tokens).
func LoadTemplate(tokenizerConfigPath string) (*Template, error) {
	data, err := os.ReadFile(tokenizerConfigPath)
	if err != nil {
		return nil, err
	}
	var cfg struct {
		ChatTemplate json.RawMessage `json:"chat_template"`
		BOS          json.RawMessage `json:"bos_token"`
		EOS          json.RawMessage `json:"eos_token"`
	}
	if err := json.Unmarshal(data, &cfg); err != nil {
		return nil, fmt.Errorf("%s: not a tokenizer_config.json: %v", tokenizerConfigPath, err)
	}
	src, err := templateSource(cfg.ChatTemplate)
	if err != nil {
		return nil, fmt.Errorf("%s: chat_template: %v", tokenizerConfigPath, err)
	}
	var t *Template
	if src == "" {
		c := *chatML
		t = &c
	} else if t, err = parseTemplate(tokenizerConfigPath, src); err != nil {
		return nil, fmt.Errorf("%w; fix the chat_template or remove it to use ChatML", err)
	}
	if t.bos, err = specialToken(cfg.BOS); err != nil {
		return nil, fmt.Errorf("%s: bos_token: %v", tokenizerConfigPath, err)
	}
	if t.eos, err = specialToken(cfg.EOS); err != nil {
		return nil, fmt.Errorf("%s: eos_token: %v", tokenizerConfigPath, err)
	}
	return t, nil
}

// templateSource returns the template text of a chat_template value ("" if absent).
func templateSource(raw json.RawMessage) (string, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return "", nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var named []struct {
		Name     string `json:"name"`
		Template string `json:"template"`
	}
	if err := json.Unmarshal(raw, &named); err != nil {
		return "", fmt.Errorf("want a string or a list of {\"name\", \"template\"} objects")
	}
	var names []string
	for _, n := range named {
		if n.Name == "default" {
			return n.Template, nil
		}
		names = append(names, n.Name)
	}
	return "", fmt.Errorf("no template named \"default\" among %q; add one", names)
}

// specialToken reads a bos_token or eos_token: a string, a {"content": …} object or null.
func specialToken(raw json.RawMessage) (value, error) {
	if len(raw) == 0 {
		return undefined, nil
	}
	if string(raw) == "null" {
		return null, nil
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s, nil
	}
	var obj struct {
		Content *string `json:"content"`
	}
	if err := json.Unmarshal(raw, &obj); err != nil || obj.Content == nil {
		return nil, fmt.Errorf("want a string or an object with a \"content\" string, got %s", strings.TrimSpace(string(raw)))
	}
	return *obj.Content, nil
}
