package engine

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/hashicorp/hcl/v2"
	"github.com/hashicorp/hcl/v2/gohcl"
)

// scribble is an in-process stage kind for seal tests (no read-only mount
// can protect from one): it writes text to result.txt, and first does how
// to the folder target, or to the folder named in via/result.txt.
type scribble struct {
	Text   string  `hcl:"text"`
	Target *string `hcl:"target"`
	Via    *string `hcl:"via"`
	How    *string `hcl:"how"`
}

var scribbleKind = &Kind{Name: "scribble", Version: "1",
	Schema: &hcl.BodySchema{Attributes: []hcl.AttributeSchema{{Name: "text", Required: true}, {Name: "target"}, {Name: "via"}, {Name: "how"}}},
	Decode: func(body hcl.Body, ctx *hcl.EvalContext) (Stage, hcl.Diagnostics) {
		s := &scribble{}
		diags := gohcl.DecodeBody(body, ctx, s)
		return s, diags
	}}

func scribbleLookup(name string) (*Kind, bool) { return scribbleKind, name == "scribble" }

func (s *scribble) Inputs() []string { return nil }

func (s *scribble) Run(ctx context.Context, rc *RunContext) error {
	target := ""
	if s.Target != nil {
		target = *s.Target
	}
	if s.Via != nil {
		b, err := os.ReadFile(filepath.Join(*s.Via, "result.txt"))
		if err != nil {
			return err
		}
		target = string(b)
	}
	if target != "" && s.How != nil {
		f := filepath.Join(target, "result.txt")
		var err error
		switch *s.How {
		case "read":
			_, err = os.ReadFile(f)
		case "append":
			os.Chmod(f, 0o644)
			var fh *os.File
			if fh, err = os.OpenFile(f, os.O_APPEND|os.O_WRONLY, 0); err == nil {
				fh.WriteString("EVIL")
				err = fh.Close()
			}
		case "touch":
			err = os.Chtimes(f, time.Now(), time.Unix(1, 0))
		case "add":
			err = os.WriteFile(filepath.Join(target, "evil.txt"), nil, 0o644)
		case "mkdir":
			err = os.Mkdir(filepath.Join(target, "evil"), 0o755)
		case "remove":
			err = os.Remove(f)
		}
		if err != nil {
			return err
		}
	}
	return os.WriteFile(filepath.Join(rc.Out, "result.txt"), []byte(s.Text), 0o644)
}

// TestSealCheck checks that a stage that changes the output of an upstream
// stage, direct or not, fails naming both, that a stage below it does not
// run, and that the next build reruns the upstream stage when its content
// changed.
func TestSealCheck(t *testing.T) {
	tests := []struct {
		how     string
		via     bool   // c finds a's folder through b's output (a is not a direct upstream)
		wantErr string // "" if c must succeed
		aReruns bool   // in the next build
	}{
		{how: "read"},
		{how: "read", via: true},
		{how: "append", wantErr: "result.txt modified", aReruns: true},
		{how: "append", via: true, wantErr: "result.txt modified", aReruns: true},
		{how: "touch", wantErr: "result.txt modified"},
		{how: "add", wantErr: "evil.txt added", aReruns: true},
		{how: "mkdir", wantErr: "evil/ added", aReruns: true},
		{how: "remove", wantErr: "result.txt removed", aReruns: true},
	}
	for _, tt := range tests {
		name := tt.how
		if tt.via {
			name += " via b"
		}
		t.Run(name, func(t *testing.T) {
			target := `target = stage.scribble.a.out`
			if tt.via {
				target = `via = stage.scribble.b.out`
			}
			src := `
stage "scribble" "a" { text = "alpha" }
stage "scribble" "b" { text = stage.scribble.a.out }
stage "scribble" "c" {
  text = "c"
  ` + target + `
  how  = "` + tt.how + `"
  depends_on = [stage.scribble.b]
}
stage "scribble" "d" {
  text       = "d"
  depends_on = [stage.scribble.c]
}
`
			pl, c := loadWith(t, src, scribbleLookup)
			build := func() (*Report, map[string]*Result) {
				rep := Build(context.Background(), []Selection{{Pipeline: pl, Stages: pl.Stages}}, BuildOptions{Cache: c, Jobs: 1})
				by := map[string]*Result{}
				for _, r := range rep.Results {
					by[strings.TrimPrefix(r.Instance.Addr, "stage.scribble.")] = r
				}
				return rep, by
			}
			rep, by := build()
			if tt.wantErr == "" {
				if err := rep.Err(); err != nil {
					t.Fatal(err)
				}
				return
			}
			want := "the output of stage.scribble.a (" + tt.wantErr
			if by["c"].Status != StatusFailed || !strings.Contains(by["c"].Err.Error(), want) || !strings.Contains(by["c"].Err.Error(), "changed while stage.scribble.c ran") {
				t.Errorf("wrong result of c\ngot:  %s %v\nwant: failed with …%s… changed while stage.scribble.c ran", by["c"].Status, by["c"].Err, want)
			}
			if by["d"].Status != StatusSkipped {
				t.Errorf("wrong status of d\ngot:  %s\nwant: %s", by["d"].Status, StatusSkipped)
			}
			_, by = build()
			if got := by["a"].Status == StatusRan; got != tt.aReruns {
				t.Errorf("wrong status of a in the next build\ngot:  %s\nwant ran: %v", by["a"].Status, tt.aReruns)
			}
			if by["c"].Status != StatusFailed {
				t.Errorf("wrong status of c in the next build\ngot:  %s\nwant: %s", by["c"].Status, StatusFailed)
			}
		})
	}
}

// TestSealCheckRemote checks that an upstream output fetched from the
// remote cache is checked too.
func TestSealCheckRemote(t *testing.T) {
	src := `
stage "scribble" "a" { text = "alpha" }
stage "scribble" "c" {
  text   = "c"
  target = stage.scribble.a.out
  how    = "append"
}
`
	plA, cA := loadWith(t, src, scribbleLookup)
	var only []*Instance
	for _, in := range plA.Stages {
		if in.Addr == "stage.scribble.a" {
			only = append(only, in)
		}
	}
	if rep := Build(context.Background(), []Selection{{Pipeline: plA, Stages: only}}, BuildOptions{Cache: cA, Jobs: 1}); rep.Err() != nil {
		t.Fatal(rep.Err())
	}
	plB, cB := loadWith(t, src, scribbleLookup)
	rep := Build(context.Background(), []Selection{{Pipeline: plB, Stages: plB.Stages}}, BuildOptions{Cache: cB, Jobs: 1, Remote: &fakeRemote{from: cA, to: cB}})
	got := rep.Summary()
	if len(got.Remote) != 1 || len(got.Failed) != 1 || got.Failed[0] != "stage.scribble.c" {
		t.Fatalf("wrong summary\ngot:  %#v\nwant: a from the remote, c failed", got)
	}
	if err := rep.Results[1].Err; err == nil || !strings.Contains(err.Error(), "the output of stage.scribble.a (result.txt modified") {
		t.Errorf("wrong error of c\ngot:  %v\nwant: …the output of stage.scribble.a (result.txt modified…", err)
	}
}
