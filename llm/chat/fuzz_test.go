package chat

import (
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
)

// FuzzRender checks that no template text makes Parse or Render panic or hang: bad
// templates must come back as errors. Its seeds are the snippet and golden templates.
func FuzzRender(f *testing.F) {
	var file struct {
		Cases []struct {
			Template string `json:"template"`
		} `json:"cases"`
	}
	data, err := os.ReadFile(filepath.Join("testdata", "snippets.json"))
	if err != nil {
		f.Fatal(err)
	}
	if err := json.Unmarshal(data, &file); err != nil {
		f.Fatal(err)
	}
	for _, c := range file.Cases {
		f.Add(c.Template)
	}
	for _, tmpl := range loadGoldenTemplates(f) {
		f.Add(tmpl.Source())
	}
	msgs := []Message{{Role: "system", Content: "s"}, {Role: "user", Content: " u "}, {Role: "assistant", Content: "<think>r</think>a"}}
	f.Fuzz(func(t *testing.T, src string) {
		tmpl, err := Parse(src)
		if err != nil {
			return
		}
		_, _ = tmpl.Render(msgs, true)
	})
}
