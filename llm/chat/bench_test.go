package chat

import (
	"strings"
	"testing"
)

// BenchmarkRender renders a judge-sized prompt (a system message and a 3 KB user turn)
// with each template; the judge renders thousands of these. The handwritten case builds
// the ChatML text with a strings.Builder: the floor to compare the others with.
func BenchmarkRender(b *testing.B) {
	templates := loadGoldenTemplates(b)
	msgs := []Message{
		{Role: "system", Content: "You are a helpful and precise assistant for checking the quality of the answer."},
		{Role: "user", Content: strings.Repeat("Which output follows the instruction better? ", 70)},
	}
	b.Run("handwritten", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			var sb strings.Builder
			for _, m := range msgs {
				sb.WriteString("<|im_start|>" + m.Role + "\n")
				sb.WriteString(m.Content)
				sb.WriteString("<|im_end|>\n")
			}
			sb.WriteString("<|im_start|>assistant\n")
			_ = sb.String()
		}
	})
	for _, name := range []string{"chatml", "qwen2_5", "llama3_2", "qwen3"} {
		tmpl := templates[name]
		b.Run(name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tmpl.Render(msgs, true); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkParse parses the Qwen3 template, done once per LoadTemplate.
func BenchmarkParse(b *testing.B) {
	src := loadGoldenTemplates(b)["qwen3"].Source()
	for b.Loop() {
		if _, err := Parse(src); err != nil {
			b.Fatal(err)
		}
	}
}
