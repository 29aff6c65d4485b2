package stages

import (
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeJSONL(t *testing.T) {
	src := `{"prompt": "p1", "candidates": [{"text": "a"}, {"text": "b"}]}

{"prompt": "p2", "candidates": [], "id": 7}
`
	got, err := DecodeJSONL[Sample](strings.NewReader(src))
	if err != nil {
		t.Fatal(err)
	}
	want := []Sample{{Prompt: "p1", Candidates: textLines("a", "b")}, {Prompt: "p2", Candidates: []TextLine{}}}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("wrong samples (-want +got):\n%s", d)
	}
}

func TestDecodeJSONLErrors(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"missing key", `{"text": "r"}` + "\n" + `{"prompt": "p"}`, `2: missing key "text"`},
		{"wrong file", `{"prompt": "p"}`, `1: missing key "text"`},
		{"two values", `{"text": "a"} {"text": "b"}`, "1: more than one JSON value"},
		{"not json", `text: a`, "1: invalid character"},
		{"wrong type", `{"text": 3}`, "1: json: cannot unmarshal number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := DecodeJSONL[TextLine](strings.NewReader(tt.src))
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Errorf("wrong error\ngot:  %v\nwant: %s…", err, tt.want)
			}
		})
	}
}

func TestRequiredKeys(t *testing.T) {
	tests := []struct {
		name string
		got  []string
		want []string
	}{
		{"score line", requiredKeys(typeOf[ScoreLine]()), []string{"prompt", "candidates", "comparisons"}},
		{"embedded", requiredKeys(typeOf[LogprobPair]()), []string{"prompt", "chosen", "rejected", "score_chosen", "score_rejected", "chosen_logprob", "rejected_logprob"}},
		{"comparison", requiredKeys(typeOf[Comparison]()), []string{"i", "j", "logprob_a", "logprob_b", "p_a"}},
		{"not a struct", requiredKeys(typeOf[map[string]any]()), nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if d := cmp.Diff(tt.want, tt.got); d != "" {
				t.Errorf("wrong keys (-want +got):\n%s", d)
			}
		})
	}
}

func TestEncodeJSONL(t *testing.T) {
	var b strings.Builder
	lp := LogprobPair{Pair: Pair{Prompt: "<b>&", Chosen: Conversation("<b>&", "x")}, ChosenLogprob: -1.5}
	if err := EncodeJSONL(&b, []LogprobPair{lp}); err != nil {
		t.Fatal(err)
	}
	want := `{"prompt":"<b>&","chosen":[{"role":"user","content":"<b>&"},{"role":"assistant","content":"x"}],"rejected":null,"score_chosen":0,"score_rejected":0,"chosen_logprob":-1.5,"rejected_logprob":0}` + "\n"
	if b.String() != want {
		t.Errorf("wrong line\ngot:  %s\nwant: %s", b.String(), want)
	}
}

func TestWriteReadJSONL(t *testing.T) {
	path := filepath.Join(t.TempDir(), ScoresFile)
	lines := []ScoreLine{{Prompt: "p", Candidates: textLines("a", "b"), Comparisons: []Comparison{judged(0, 1, nil, logp(0.5)), judged(1, 0, logp(0.25), logp(0.75))}}}
	if err := WriteJSONL(path, lines); err != nil {
		t.Fatal(err)
	}
	got, err := ReadJSONL[ScoreLine](path)
	if err != nil {
		t.Fatal(err)
	}
	if d := cmp.Diff(lines, got); d != "" {
		t.Errorf("wrong round trip (-want +got):\n%s", d)
	}
	if _, err := ReadJSONL[TextLine](path); err == nil || !strings.HasPrefix(err.Error(), path+`:1: missing key "text"`) {
		t.Errorf("wrong error\ngot:  %v\nwant: %s:1: missing key \"text\"…", err, path)
	}
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
