package chat

import (
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func writeConfig(t *testing.T, body string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tokenizer_config.json")
	if err := os.WriteFile(p, []byte(body), 0o666); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestLoadTemplate(t *testing.T) {
	msgs := []Message{{Role: "user", Content: "hi"}}
	tests := []struct {
		name, config string
		gen          bool
		want         string
		wantBOS      string
		wantEOS      string
	}{
		{"string", `{"chat_template": "{{ bos_token }}{{ messages[0].content }}{{ eos_token }}", "bos_token": "<s>", "eos_token": "</s>"}`,
			false, "<s>hi</s>", "<s>", "</s>"},
		{"token objects", `{"chat_template": "{{ bos_token }}|{{ eos_token }}", "bos_token": {"content": "<s>", "lstrip": false}, "eos_token": {"__type": "AddedToken", "content": "</s>"}}`,
			false, "<s>|</s>", "<s>", "</s>"},
		{"null and absent tokens", `{"chat_template": "[{{ bos_token }}][{{ eos_token }}][{{ bos_token is none }}][{{ eos_token is defined }}]", "bos_token": null}`,
			false, "[][][true][false]", "", ""},
		{"named list", `{"chat_template": [{"name": "tool_use", "template": "tools"}, {"name": "default", "template": "default {{ add_generation_prompt }}"}]}`,
			true, "default true", "", ""},
		{"no template: chatml", `{"eos_token": "<|im_end|>"}`,
			true, "<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n", "", "<|im_end|>"},
		{"null template: chatml", `{"chat_template": null}`,
			false, "<|im_start|>user\nhi<|im_end|>\n", "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := LoadTemplate(writeConfig(t, tt.config))
			if err != nil {
				t.Fatal(err)
			}
			got, err := tmpl.Render(msgs, tt.gen)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("wrong rendering\ngot:  %#v\nwant: %#v", got, tt.want)
			}
			if tmpl.BOS() != tt.wantBOS || tmpl.EOS() != tt.wantEOS {
				t.Errorf("wrong special tokens\ngot:  %#v, %#v\nwant: %#v, %#v", tmpl.BOS(), tmpl.EOS(), tt.wantBOS, tt.wantEOS)
			}
		})
	}
}

func TestLoadTemplateErrors(t *testing.T) {
	tests := []struct {
		name, config string
		want         []string // substrings of the error
	}{
		{"not json", `{"chat_template": `, []string{"tokenizer_config.json", "not a tokenizer_config.json"}},
		{"no default", `{"chat_template": [{"name": "tool_use", "template": "x"}]}`, []string{"chat_template", `no template named "default"`, "tool_use"}},
		{"wrong type", `{"chat_template": 3}`, []string{"chat_template", "want a string"}},
		{"syntax", `{"chat_template": "{% if x %}never closed"}`, []string{"tokenizer_config.json", "not closed", "remove it to use ChatML"}},
		{"bad token", `{"chat_template": "x", "bos_token": 1}`, []string{"bos_token", "want a string"}},
		{"token without content", `{"chat_template": "x", "eos_token": {"lstrip": true}}`, []string{"eos_token", "content"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadTemplate(writeConfig(t, tt.config))
			if err == nil {
				t.Fatal("no error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("wrong error\ngot:  %#v\nwant it to contain: %#v", err.Error(), w)
				}
			}
		})
	}
	if _, err := LoadTemplate(filepath.Join(t.TempDir(), "missing.json")); err == nil || !strings.Contains(err.Error(), "missing.json") {
		t.Errorf("wrong error for a missing file\ngot:  %v\nwant: one naming missing.json", err)
	}
}

func TestRenderErrors(t *testing.T) {
	defer func(n int) { maxSteps = n }(maxSteps)
	maxSteps = 10_000
	tests := []struct {
		name, src, want string
	}{
		{"raise_exception", `{{ raise_exception("Conversation roles must alternate") }}`, "raise_exception: Conversation roles must alternate"},
		{"undefined arithmetic", `{{ nope + 1 }}`, "undefined values"},
		{"break outside loop", `{% break %}`, "outside a loop"},
		{"recursion", `{% macro f(n) %}{{ f(n) }}{% endmacro %}{{ f(1) }}`, "nested more than"},
		{"not a function", `{{ messages() }}`, "not a function: messages"},
		{"runaway loop", `{% for i in range(100000) %}{% for j in range(100000) %}{% endfor %}{% endfor %}`, "loop iterations"},
		{"runaway string", `{% set ns = namespace(s="ab") %}{% for i in range(40) %}{% set ns.s = ns.s + ns.s %}{% endfor %}`, "bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tmpl, err := Parse(tt.src)
			if err != nil {
				t.Fatal(err)
			}
			out, err := tmpl.Render([]Message{{Role: "user", Content: "x"}}, false)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("wrong error\ngot:  %v (output %q)\nwant: one containing %#v", err, out, tt.want)
			}
		})
	}
}

func TestParseErrors(t *testing.T) {
	for _, src := range []string{"{% if x %}", "{{ 1 + }}", "{{ 'open }}", "{% frobnicate %}", "{% for %}{% endfor %}", "{{ (1, }}", "{# never closed"} {
		t.Run(src, func(t *testing.T) {
			if _, err := Parse(src); err == nil {
				t.Errorf("no error parsing %q", src)
			}
		})
	}
}

func TestChatML(t *testing.T) {
	tests := []struct {
		name string
		msgs []Message
		gen  bool
		want string
	}{
		{"empty", nil, true, "<|im_start|>assistant\n"},
		{"turns", []Message{{"system", "s"}, {"user", "u"}, {"assistant", "a"}}, false,
			"<|im_start|>system\ns<|im_end|>\n<|im_start|>user\nu<|im_end|>\n<|im_start|>assistant\na<|im_end|>\n"},
		{"content kept verbatim", []Message{{"user", "  {{ x }}\n"}}, true,
			"<|im_start|>user\n  {{ x }}\n<|im_end|>\n<|im_start|>assistant\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ChatML().Render(tt.msgs, tt.gen)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("wrong rendering\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

func TestWithDate(t *testing.T) {
	tmpl, err := Parse(`{{ date_string }}|{{ strftime_now("%Y-%m-%d %H:%M %B %% %j") }}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		tmpl *Template
		want string
	}{
		{"default", tmpl, "26 Jul 2024|2024-07-26 00:00 July % %j"},
		{"with date", tmpl.WithDate(time.Date(2025, time.March, 5, 9, 7, 0, 0, time.UTC)), "05 Mar 2025|2025-03-05 09:07 March % %j"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.tmpl.Render(nil, false)
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("wrong rendering\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
}

// TestConcurrentRender renders from many goroutines at once (run with -race to check
// that rendering shares no mutable state).
func TestConcurrentRender(t *testing.T) {
	templates := loadGoldenTemplates(t)
	convs := loadConversations(t)
	msgs := convs["think-history"]
	want := map[string]string{}
	for name, tmpl := range templates {
		s, err := tmpl.Render(msgs, true)
		if err != nil {
			t.Fatal(err)
		}
		want[name] = s
	}
	var wg sync.WaitGroup
	errs := make(chan string, 64)
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := 0; j < 50; j++ {
				for name, tmpl := range templates {
					if s, err := tmpl.Render(msgs, true); err != nil || s != want[name] {
						errs <- name
						return
					}
				}
			}
		}()
	}
	wg.Wait()
	close(errs)
	for name := range errs {
		t.Errorf("concurrent rendering with %s gave a different result", name)
	}
}

func TestRenderVars(t *testing.T) {
	tmpl, err := Parse(`{{ x | tojson }}|{{ x is integer }}`)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		x    any
		want string
	}{
		{"nil", nil, "null|false"},
		{"bool", false, "false|false"},
		{"int", 3, "3|true"},
		{"integral float", 2.0, "2|true"},
		{"float", 2.5, "2.5|false"},
		{"string", "é\"", `"é\""|false`},
		{"list", []any{1, "a", nil}, `[1, "a", null]|false`},
		{"map keys sorted", map[string]any{"b": 1, "a": []any{true}}, `{"a": [true], "b": 1}|false`},
		{"messages", []Message{{Role: "user", Content: "hi"}}, `[{"role": "user", "content": "hi"}]|false`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tmpl.RenderVars(nil, false, map[string]any{"x": tt.x})
			if err != nil {
				t.Fatal(err)
			}
			if got != tt.want {
				t.Errorf("wrong rendering\ngot:  %#v\nwant: %#v", got, tt.want)
			}
		})
	}
	for _, vars := range []map[string]any{{"messages": nil}, {"add_generation_prompt": true}, {"range": 1}, {"namespace": 1}, {"x": struct{}{}}} {
		if _, err := tmpl.RenderVars(nil, false, vars); err == nil {
			t.Errorf("no error for vars %v", vars)
		}
	}
	over, err := Parse(`{{ bos_token }}{{ date_string }}`)
	if err != nil {
		t.Fatal(err)
	}
	got, err := over.RenderVars(nil, false, map[string]any{"bos_token": "<s>", "date_string": "1 Jan 2000"})
	if want := "<s>1 Jan 2000"; err != nil || got != want {
		t.Errorf("wrong rendering with overridden variables\ngot:  %#v, %v\nwant: %#v", got, err, want)
	}
}

// TestWriteSum checks that a + chain written straight to the output (writeSum) renders
// and fails as the same chain evaluated to a value first (set).
func TestWriteSum(t *testing.T) {
	for _, expr := range []string{
		`'a' + 'b' + 'c'`, `1 + 2 + 'a' + [1, 'x'] + 2.0 + true`, `1 + 2`, `1.5 + 2`, `[1] + [2] + 'z'`,
		`'a' + {'k': 1}`, `messages[0].role + ': ' + messages[0].content`, `'a' + nope`, `'a' + none + 'b'`, `nope + 'a'`,
		`'x' + (1 + 2) + 'y'`, `true + 'a'`,
	} {
		t.Run(expr, func(t *testing.T) {
			direct, err1 := Parse("{{ " + expr + " }}")
			viaSet, err2 := Parse("{% set v = " + expr + " %}{{ v }}")
			if err1 != nil || err2 != nil {
				t.Fatal(err1, err2)
			}
			msgs := []Message{{Role: "user", Content: "hi"}}
			got, gotErr := direct.Render(msgs, false)
			want, wantErr := viaSet.Render(msgs, false)
			if got != want || (gotErr == nil) != (wantErr == nil) {
				t.Errorf("wrong rendering\ngot:  %#v, %v\nwant: %#v, %v", got, gotErr, want, wantErr)
			}
		})
	}
}
