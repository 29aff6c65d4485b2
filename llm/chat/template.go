package chat

import (
	_ "embed"
	"fmt"
	"math"
	"runtime"
	"slices"
	"time"
)

// Message is one turn of a conversation.
type Message struct {
	Role    string `json:"role"`
	Content string `json:"content"`
}

// A Template is a parsed chat template. It is immutable once made: Render may be called
// from many goroutines at once.
type Template struct {
	name     string // the file it came from, for error messages
	source   string
	body     []node
	bos, eos value // string, null (JSON null) or undefined (absent)
	date     time.Time
}

// DefaultDate is the date templates see, through date_string and strftime_now, unless
// WithDate says otherwise: a fixed date keeps renderings (and so cache keys) the same
// from day to day. It is the date Llama-3.x templates fall back to themselves.
var DefaultDate = time.Date(2024, time.July, 26, 0, 0, 0, 0, time.UTC)

//go:embed chatml.jinja
var chatMLSource string

var chatML = mustParse("chatml", chatMLSource)

func mustParse(name, src string) *Template {
	t, err := parseTemplate(name, src)
	if err != nil {
		panic(err) // only for templates compiled into refeval
	}
	return t
}

// ChatML returns the built-in ChatML template, for tokenizers that ship no chat_template:
// each message is "<|im_start|>role\ncontent<|im_end|>\n", and the generation prompt is
// "<|im_start|>assistant\n".
func ChatML() *Template { return chatML }

// Parse parses a Jinja chat template. It has no bos_token or eos_token; LoadTemplate sets
// them from a tokenizer_config.json.
func Parse(source string) (*Template, error) {
	return parseTemplate("chat template", source)
}

func parseTemplate(name, src string) (*Template, error) {
	toks, pre, err := tokenize(src)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	body, err := parse(toks, pre)
	if err != nil {
		return nil, fmt.Errorf("%s: %v", name, err)
	}
	return &Template{name: name, source: src, body: body, bos: undefined, eos: undefined, date: DefaultDate}, nil
}

// Source returns the template's Jinja text (for cache keys).
func (t *Template) Source() string { return t.source }

// BOS returns the bos_token the template is rendered with ("" if none).
func (t *Template) BOS() string { s, _ := t.bos.(string); return s }

// EOS returns the eos_token the template is rendered with ("" if none).
func (t *Template) EOS() string { s, _ := t.eos.(string); return s }

// WithDate returns a copy of t that renders with the date d instead of DefaultDate.
func (t *Template) WithDate(d time.Time) *Template {
	c := *t
	c.date = d
	return &c
}

// maxDepth bounds macro recursion, which would otherwise overflow the Go stack.
const maxDepth = 200

// Render renders the conversation. The template sees messages (a list of {role, content}
// dicts), add_generation_prompt, bos_token, eos_token and date_string (the template's date
// as "26 Jul 2024"), as transformers and transformers.js provide them; tools is undefined.
func (t *Template) Render(msgs []Message, addGenerationPrompt bool) (string, error) {
	return t.RenderVars(msgs, addGenerationPrompt, nil)
}

// RenderVars is Render with more variables for the template, such as
// {"enable_thinking": false} for Qwen3. Values may be nil, bool, string, integers,
// float64 (integral ones are integers, as in JavaScript), Message, []Message, []any and
// map[string]any (its keys in sorted order). vars may set bos_token, eos_token and
// date_string, but not messages, add_generation_prompt or a built-in name (true, none,
// range, namespace, ...).
func (t *Template) RenderVars(msgs []Message, addGenerationPrompt bool, vars map[string]any) (out string, err error) {
	top := &env{parent: globals, vars: map[string]value{
		"messages":              messagesValue(msgs),
		"add_generation_prompt": addGenerationPrompt,
		"bos_token":             t.bos,
		"eos_token":             t.eos,
		"date_string":           strftime(t.date, "%d %b %Y"),
	}}
	for k, v := range vars {
		_, global := globals.vars[k]
		if global || k == "namespace" || k == "messages" || k == "add_generation_prompt" {
			return "", fmt.Errorf("%s: variable %q is set by the renderer; pick another name", t.name, k)
		}
		tv, err := toValue(v)
		if err != nil {
			return "", fmt.Errorf("%s: variable %q: %v", t.name, k, err)
		}
		top.vars[k] = tv
	}
	r := &renderer{t: t}
	size := 256
	for _, m := range msgs {
		size += len(m.Content) + 64
	}
	b := outBuf{buf: make([]byte, 0, size)}
	defer func() {
		if x := recover(); x != nil {
			switch e := x.(type) {
			case *runError:
				err = fmt.Errorf("%s: %s", t.name, e.msg)
			case loopControl:
				err = fmt.Errorf("%s: break or continue outside a loop", t.name)
			case runtime.Error:
				err = fmt.Errorf("%s: internal error rendering the template (please report it): %v", t.name, e)
			default:
				panic(x)
			}
			out = ""
		}
	}()
	r.block(t.body, top, &b)
	return b.String(), nil
}

func messagesValue(msgs []Message) *arrayV {
	list := make([]value, len(msgs))
	for i, m := range msgs {
		list[i] = &objectV{keys: messageKeys, vals: []value{m.Role, m.Content}}
	}
	return &arrayV{items: list}
}

// toValue converts a Go value for RenderVars.
func toValue(v any) (value, error) {
	switch x := v.(type) {
	case nil:
		return null, nil
	case bool:
		return x, nil
	case string:
		return x, nil
	case int:
		return int64(x), nil
	case int32:
		return int64(x), nil
	case int64:
		return x, nil
	case float64:
		if x == math.Trunc(x) && math.Abs(x) < 1<<53 {
			return int64(x), nil
		}
		return x, nil
	case Message:
		return &objectV{keys: messageKeys, vals: []value{x.Role, x.Content}}, nil
	case []Message:
		return messagesValue(x), nil
	case []any:
		arr := &arrayV{items: make([]value, len(x))}
		for i, it := range x {
			tv, err := toValue(it)
			if err != nil {
				return nil, err
			}
			arr.items[i] = tv
		}
		return arr, nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		obj := newObject(objPlain, len(keys))
		for _, k := range keys {
			tv, err := toValue(x[k])
			if err != nil {
				return nil, err
			}
			obj.set(k, tv)
		}
		return obj, nil
	}
	return nil, fmt.Errorf("unsupported type %T", v)
}

// messageKeys is shared by every message dict; a template cannot add keys to a dict.
var messageKeys = []string{"role", "content"}
