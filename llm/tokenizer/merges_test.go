package tokenizer

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestMergeList(t *testing.T) {
	for _, tc := range []struct {
		name, in string
		want     mergeList
		err      string
	}{
		{name: "empty", in: `[]`, want: nil},
		{name: "strings", in: `["a b", "Ġ t"]`, want: mergeList{{"a", "b"}, {"Ġ", "t"}}},
		{name: "pairs", in: ` [ ["a b", "c"] ,["\"", "\\"]] `, want: mergeList{{"a b", "c"}, {`"`, `\`}}},
		{name: "escapes", in: `["\u0120a b\"c"]`, want: mergeList{{"Ġa", `b"c`}}},
		{name: "no space", in: `["ab"]`, err: `merge 0 "ab" is not two tokens`},
		{name: "number", in: `["a b", 1]`, err: "merge 1 is neither"},
		{name: "short pair", in: `[["a"]]`, err: "merge 0: want"},
		{name: "long pair", in: `[["a", "b", "c"]]`, err: "merge 0: want"},
		{name: "not an array", in: `{}`, err: "want an array"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got mergeList
			err := json.Unmarshal([]byte(tc.in), &got)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Errorf("wrong error\ngot:  %v\nwant: something with %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tc.want, got); diff != "" {
				t.Errorf("wrong merges (-want +got):\n%s", diff)
			}
		})
	}
}
