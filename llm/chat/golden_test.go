package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// goldens is testdata/goldens.json, written by scripts/goldens.cjs under node with
// @huggingface/jinja 0.5.11.
type goldens struct {
	Generator  string `json:"generator"`
	DateString string `json:"date_string"`
	Cases      []struct {
		Template            string         `json:"template"`
		Conversation        string         `json:"conversation"`
		AddGenerationPrompt bool           `json:"add_generation_prompt"`
		Vars                map[string]any `json:"vars"`
		Text                string         `json:"text"`
		Error               string         `json:"error"`
	} `json:"cases"`
}

type conversation struct {
	Name     string    `json:"name"`
	Messages []Message `json:"messages"`
}

func readJSON(t testing.TB, path string, v any) {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(data, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

func loadConversations(t testing.TB) map[string][]Message {
	var convs []conversation
	readJSON(t, filepath.Join("testdata", "conversations.json"), &convs)
	m := map[string][]Message{}
	for _, c := range convs {
		m[c.Name] = c.Messages
	}
	return m
}

func loadGoldenTemplates(t testing.TB) map[string]*Template {
	m := map[string]*Template{"chatml": ChatML()}
	for _, name := range []string{"qwen2_5", "llama3_2", "qwen3", "llama3_1", "gemma3", "deepseek_v3"} {
		tmpl, err := LoadTemplate(filepath.Join("testdata", name+".tokenizer_config.json"))
		if err != nil {
			t.Fatal(err)
		}
		m[name] = tmpl
	}
	return m
}

// TestGoldens renders every conversation with every template and compares the text with
// @huggingface/jinja's byte for byte. Qwen2.5, Llama-3.2 and Qwen3 are the templates
// refeval's models use; Llama-3.1, Gemma 3 and DeepSeek-V3 add other features (Gemma's
// raise_exception on turns that do not alternate, DeepSeek's namespaces and tool syntax).
func TestGoldens(t *testing.T) {
	var g goldens
	readJSON(t, filepath.Join("testdata", "goldens.json"), &g)
	if g.Generator != "@huggingface/jinja@0.5.11" {
		t.Fatalf("wrong generator\ngot:  %#v\nwant: %#v", g.Generator, "@huggingface/jinja@0.5.11")
	}
	if got := strftime(DefaultDate, "%d %b %Y"); got != g.DateString {
		t.Fatalf("wrong date string\ngot:  %#v\nwant: %#v", got, g.DateString)
	}
	convs := loadConversations(t)
	templates := loadGoldenTemplates(t)
	counts := map[string]int{}
	for _, c := range g.Cases {
		name := c.Template + "/" + c.Conversation
		if c.AddGenerationPrompt {
			name += "/gen"
		}
		if c.Vars != nil {
			name += "/vars"
		}
		t.Run(name, func(t *testing.T) {
			tmpl, msgs := templates[c.Template], convs[c.Conversation]
			if tmpl == nil || msgs == nil && c.Conversation != "no-messages" {
				t.Fatalf("golden names unknown template %q or conversation %q", c.Template, c.Conversation)
			}
			got, err := tmpl.RenderVars(msgs, c.AddGenerationPrompt, c.Vars)
			if c.Error != "" {
				// The goldens' errors come from raise_exception, whose message both keep.
				if err == nil || !strings.Contains(err.Error(), c.Error) {
					t.Fatalf("wrong error\ngot:  %v\nwant: one containing %q", err, c.Error)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != c.Text {
				t.Errorf("wrong rendering\ngot:  %#v\nwant: %#v", got, c.Text)
			}
		})
		counts[c.Template]++
	}
	for name := range templates {
		if counts[name] < 60 {
			t.Errorf("only %d golden cases for %s, want at least 60", counts[name], name)
		}
	}
}
