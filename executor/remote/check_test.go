package remote

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/refeval/refeval/engine"
)

// TestCheck checks that a job names the first folder its machine cannot
// see, and says what must be shared.
func TestCheck(t *testing.T) {
	dir := t.TempDir()
	pipeline := filepath.Join(dir, "p.hcl")
	cacheDir := filepath.Join(dir, "cache")
	out := filepath.Join(cacheDir, "tmp", "out-1")
	up := filepath.Join(cacheDir, "out", "abc")
	for _, d := range []string{filepath.Join(cacheDir, "index"), out, up} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(pipeline, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	good := Spec{Pipeline: pipeline, Cache: cacheDir, Out: out, Upstream: map[string]engine.Upstream{"stage.exec.a": {Dir: up}}}
	tests := []struct {
		name    string
		edit    func(s *Spec)
		wantErr string
	}{
		{"all visible", func(s *Spec) {}, ""},
		{"pipeline", func(s *Spec) { s.Pipeline = "/elsewhere/p.hcl" }, "cannot see the pipeline file /elsewhere/p.hcl"},
		{"cache", func(s *Spec) { s.Cache = dir }, "cannot see the cache folder " + dir},
		{"upstream", func(s *Spec) { s.Upstream = map[string]engine.Upstream{"stage.exec.a": {Dir: "/nope/out/abc"}} }, "cannot see the upstream output folder /nope/out/abc"},
		{"out", func(s *Spec) { s.Out = filepath.Join(dir, "gone") }, "cannot see the output folder"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := good
			tt.edit(&s)
			err := s.Check()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "must be on a file system that the build's machine and the cluster's nodes share") {
				t.Errorf("wrong error\ngot:  %v\nwant: %s, and what must be shared", err, tt.wantErr)
			}
		})
	}
}
