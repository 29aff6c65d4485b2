package stages

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"reflect"
	"strings"

	"github.com/refeval/refeval/internal/atomicfile"
)

// The JSON Lines formats that flow between the RefEval stages. Every file
// holds one JSON object per line, in prompt order; docs/stages.md shows each
// line shape with an example.

// File names the RefEval stages write inside their output folders, and the
// stages downstream read.
const (
	SamplesFile  = "samples.jsonl"  // sample: one Sample per prompt
	ScoresFile   = "scores.jsonl"   // score: one ScoreLine per prompt
	PairsFile    = "pairs.jsonl"    // pairs: one Pair per kept prompt
	LogprobsFile = "logprobs.jsonl" // logprobs: one LogprobPair per pair
	MetricsFile  = "metrics.json"   // pairs, eval: one JSON object of counts and statistics
)

// A PromptLine is one line of a prompts file: {"prompt": …}.
type PromptLine struct {
	Prompt string `json:"prompt"`
}

// A TextLine is one line of a references file ({"text": …}, one per prompt,
// in the same order) and one candidate of a Sample.
type TextLine struct {
	Text string `json:"text"`
}

// A Sample is one line of samples.jsonl: a prompt and the policy's
// candidate answers to it.
type Sample struct {
	Prompt     string     `json:"prompt"`
	Candidates []TextLine `json:"candidates"`
}

// A Comparison is the judge's verdict on one ordered pair of candidates:
// candidate I shown as output (a), candidate J as output (b).
type Comparison struct {
	I int `json:"i"` // index of the candidate shown as output (a)
	J int `json:"j"` // index of the candidate shown as output (b)
	// LogprobA and LogprobB are the judge's log-probs of the labels "a" and
	// "b" at the label position; nil (JSON null) when the label was not
	// among the judge's top log-probs.
	LogprobA *float64 `json:"logprob_a"`
	LogprobB *float64 `json:"logprob_b"`
	// PA is LabelProb(LogprobA, LogprobB), written for readers of the file.
	// The pairs stage recomputes it and rejects a file where the two differ.
	PA float64 `json:"p_a"`
}

// A ScoreLine is one line of scores.jsonl: a prompt, its candidates, and the
// judge's verdict on every ordered pair (i, j), i ≠ j.
type ScoreLine struct {
	Prompt      string       `json:"prompt"`
	Reference   string       `json:"reference,omitempty"` // the reference the judge saw, if any
	Candidates  []TextLine   `json:"candidates"`
	Comparisons []Comparison `json:"comparisons"`
}

// A Message is one chat turn.
type Message struct {
	Role    string `json:"role"` // "user" or "assistant"
	Content string `json:"content"`
}

// Conversation returns the two-turn chat of a prompt and a response, the
// shape of the chosen and rejected fields of a Pair.
func Conversation(prompt, response string) []Message {
	return []Message{{Role: "user", Content: prompt}, {Role: "assistant", Content: response}}
}

// A Pair is one line of pairs.jsonl: the best and the worst candidate of a
// prompt under the judge, as chats, with their scores.
type Pair struct {
	Prompt        string    `json:"prompt"`
	Chosen        []Message `json:"chosen"`
	Rejected      []Message `json:"rejected"`
	ScoreChosen   float64   `json:"score_chosen"`
	ScoreRejected float64   `json:"score_rejected"`
}

// A LogprobPair is one line of logprobs.jsonl: a Pair with the reference
// model's log-probs of each response, summed over the response tokens.
type LogprobPair struct {
	Pair
	ChosenLogprob   float64 `json:"chosen_logprob"`
	RejectedLogprob float64 `json:"rejected_logprob"`
}

// ReadJSONL reads a JSON Lines file into a slice of T. Blank lines are
// skipped and extra keys are ignored (the original RefEval scripts' files
// may carry more), but every key of T that is not tagged omitempty must be
// present, so that a file of the wrong kind is not read as empty records.
// Errors name the file and line.
func ReadJSONL[T any](path string) ([]T, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	items, err := DecodeJSONL[T](f)
	if err != nil {
		return nil, fmt.Errorf("%s:%w", path, err)
	}
	return items, nil
}

// DecodeJSONL reads JSON Lines from r into a slice of T. An error starts
// with the line number ("3: …") so that callers can prefix a file name.
func DecodeJSONL[T any](r io.Reader) ([]T, error) {
	var items []T
	required := requiredKeys(reflect.TypeFor[T]())
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 64*1024), 1<<30) // a line holds whole candidate lists
	line := 0
	for sc.Scan() {
		line++
		b := bytes.TrimSpace(sc.Bytes())
		if len(b) == 0 {
			continue
		}
		var v T
		dec := json.NewDecoder(bytes.NewReader(b))
		if err := dec.Decode(&v); err != nil {
			return nil, fmt.Errorf("%d: %v; each line must be one JSON object (see docs/stages.md)", line, err)
		}
		if dec.More() {
			return nil, fmt.Errorf("%d: more than one JSON value on the line; put one object per line", line)
		}
		if err := checkKeys(b, required); err != nil {
			return nil, fmt.Errorf("%d: %v", line, err)
		}
		items = append(items, v)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%d: %v", line+1, err)
	}
	return items, nil
}

// requiredKeys lists the JSON keys of a struct type that are not tagged
// omitempty, following embedded structs; nil for other types.
func requiredKeys(t reflect.Type) []string {
	if t.Kind() != reflect.Struct {
		return nil
	}
	var keys []string
	for f := range t.Fields() {
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, opts, _ := strings.Cut(tag, ",")
		if f.Anonymous && tag == "" {
			keys = append(keys, requiredKeys(f.Type)...)
			continue
		}
		if name == "-" || strings.Contains(opts, "omitempty") {
			continue
		}
		if name == "" {
			name = f.Name
		}
		keys = append(keys, name)
	}
	return keys
}

// checkKeys reports the first required key missing from the JSON object b.
func checkKeys(b []byte, required []string) error {
	if len(required) == 0 {
		return nil
	}
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(b, &obj); err != nil {
		return err
	}
	var missing []string
	for _, k := range required {
		if _, ok := obj[k]; !ok {
			missing = append(missing, fmt.Sprintf("%q", k))
		}
	}
	if len(missing) > 0 {
		return fmt.Errorf("missing key %s; is this the right file? (line shapes are in docs/stages.md)", strings.Join(missing, ", "))
	}
	return nil
}

// EncodeJSONL writes items to w, one JSON object per line, without HTML
// escaping so that prompts with < and > stay readable.
func EncodeJSONL[T any](w io.Writer, items []T) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	enc.SetEscapeHTML(false)
	for _, it := range items {
		if err := enc.Encode(it); err != nil {
			return err
		}
	}
	return bw.Flush()
}

// WriteJSONL writes items to path, one JSON object per line. It writes a
// temporary file in the same folder and renames it, so that a reader never
// sees half a file.
func WriteJSONL[T any](path string, items []T) error {
	return atomicfile.Write(path, func(w io.Writer) error { return EncodeJSONL(w, items) })
}

// WriteJSON writes v to path as indented JSON followed by a newline.
func WriteJSON(path string, v any) error {
	return atomicfile.Write(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}
