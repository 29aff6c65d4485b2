package chat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"path/filepath"
	"testing"
)

// decodeValue decodes JSON into template values the way @huggingface/jinja converts
// JavaScript values: integers to IntegerValue, other numbers to FloatValue, objects with
// their key order kept.
func decodeValue(d *json.Decoder) (value, error) {
	tok, err := d.Token()
	if err != nil {
		return nil, err
	}
	switch x := tok.(type) {
	case json.Delim:
		switch x {
		case '[':
			arr := &arrayV{}
			for d.More() {
				v, err := decodeValue(d)
				if err != nil {
					return nil, err
				}
				arr.items = append(arr.items, v)
			}
			_, err := d.Token()
			return arr, err
		case '{':
			obj := newObject(objPlain, 4)
			for d.More() {
				k, err := d.Token()
				if err != nil {
					return nil, err
				}
				v, err := decodeValue(d)
				if err != nil {
					return nil, err
				}
				obj.set(k.(string), v)
			}
			_, err := d.Token()
			return obj, err
		}
	case json.Number:
		if i, err := x.Int64(); err == nil {
			return i, nil
		}
		return x.Float64()
	case string:
		return x, nil
	case bool:
		return x, nil
	case nil:
		return null, nil
	}
	return nil, fmt.Errorf("unexpected JSON token %v", tok)
}

// renderContext renders t with the variables of ctx, as Template.render(ctx) does.
func renderContext(t *Template, ctx *objectV) (out string, err error) {
	top := &env{parent: globals, vars: map[string]value{}}
	for i, k := range ctx.keys {
		top.vars[k] = ctx.vals[i]
	}
	defer func() {
		if x := recover(); x != nil {
			switch e := x.(type) {
			case *runError:
				err = e
			case loopControl:
				err = fmt.Errorf("break outside loop")
			default:
				panic(x)
			}
		}
	}()
	r := &renderer{t: t}
	return r.blockString(t.body, top), nil
}

// TestSnippets renders the small templates of testdata/snippets.json (written by
// scripts/snippets.cjs) and the random expressions of testdata/random.json (written by
// scripts/random.cjs) and compares them with @huggingface/jinja's output, byte for byte;
// where it failed, Go must fail too.
func TestSnippets(t *testing.T) {
	var snippets struct {
		Context json.RawMessage `json:"context"`
	}
	readJSON(t, filepath.Join("testdata", "snippets.json"), &snippets)
	d := json.NewDecoder(bytes.NewReader(snippets.Context))
	d.UseNumber()
	ctx, err := decodeValue(d)
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"snippets", "random"} {
		var file struct {
			Cases []struct {
				Template string  `json:"template"`
				Text     *string `json:"text"`
				Error    string  `json:"error"`
			} `json:"cases"`
		}
		readJSON(t, filepath.Join("testdata", name+".json"), &file)
		for i, c := range file.Cases {
			t.Run(fmt.Sprintf("%s/%d", name, i), func(t *testing.T) {
				tmpl, err := Parse(c.Template)
				var got string
				if err == nil {
					got, err = renderContext(tmpl, ctx.(*objectV))
				}
				if c.Text == nil {
					if err == nil {
						t.Fatalf("template %q: no error, got %q; @huggingface/jinja failed with %q", c.Template, got, c.Error)
					}
					return
				}
				if err != nil {
					t.Fatalf("template %q: %v", c.Template, err)
				}
				if got != *c.Text {
					t.Errorf("template %q: wrong rendering\ngot:  %#v\nwant: %#v", c.Template, got, *c.Text)
				}
			})
		}
	}
}
