package engine

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/refeval/refeval/cache"
)

// fakeRemote is a Remote whose store is another open cache folder.
type fakeRemote struct {
	from, to *cache.Cache // from: the "remote"; to: the local cache
	mu       sync.Mutex
	uploaded []string
}

func (r *fakeRemote) Fetch(ctx context.Context, action cache.ID, pipeline, addr string) (*cache.Entry, error) {
	if r.from == nil {
		return nil, cache.ErrNotFound
	}
	e, err := r.from.Get(action)
	if err != nil {
		return nil, cache.ErrNotFound
	}
	tmp, err := r.to.NewOutputDir()
	if err != nil {
		return nil, err
	}
	for _, f := range e.Files {
		b, err := os.ReadFile(filepath.Join(r.from.OutputDir(e.OutputID), f.Name))
		if err != nil {
			return nil, err
		}
		os.WriteFile(filepath.Join(tmp, f.Name), b, 0o644)
	}
	if err := r.to.CommitVerified(tmp, e.OutputID, e.Files); err != nil {
		return nil, err
	}
	local := *e
	local.Scope, local.Name = pipeline, addr
	return &local, r.to.Put(action, &local)
}

func (r *fakeRemote) Upload(action cache.ID, e *cache.Entry) {
	r.mu.Lock()
	r.uploaded = append(r.uploaded, e.Name)
	r.mu.Unlock()
}

func (r *fakeRemote) Memo(ns string, local Memo) Memo { return local }

func TestBuildWithRemote(t *testing.T) {
	src := `
stage "probe" "a" { text = "a" }
stage "probe" "b" { text = stage.probe.a.out }
`
	all := []string{"stage.probe.a", "stage.probe.b"}
	pa := &probe{held: map[int]string{}}
	plA, cA := loadProbe(t, pa, src)
	ra := &fakeRemote{to: cA}
	rep := Build(context.Background(), []Selection{{Pipeline: plA, Stages: plA.Stages}}, BuildOptions{Cache: cA, Jobs: 1, Remote: ra})
	if err := rep.Err(); err != nil {
		t.Fatal(err)
	}
	slices.Sort(ra.uploaded)
	if diff := cmp.Diff(all, ra.uploaded); diff != "" {
		t.Errorf("wrong uploads (-want +got):\n%s", diff)
	}

	tests := []struct {
		name  string
		from  *cache.Cache
		noRun bool
		want  Summary
		ran   int
	}{
		{"hit", cA, false, Summary{Ran: []string{}, Cached: []string{}, Failed: []string{}, Skipped: []string{}, Remote: all}, 0},
		{"miss runs", nil, false, Summary{Ran: all, Cached: []string{}, Failed: []string{}, Skipped: []string{}}, 2},
		{"miss with NoRun", nil, true, Summary{Ran: []string{}, Cached: []string{}, Failed: []string{}, Skipped: all}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pb := &probe{held: map[int]string{}}
			plB, cB := loadProbe(t, pb, src)
			rb := &fakeRemote{from: tt.from, to: cB}
			rep := Build(context.Background(), []Selection{{Pipeline: plB, Stages: plB.Stages}}, BuildOptions{Cache: cB, Jobs: 1, Remote: rb, NoRun: tt.noRun})
			if diff := cmp.Diff(tt.want, rep.Summary()); diff != "" {
				t.Errorf("wrong summary (-want +got):\n%s", diff)
			}
			if len(pb.ran) != tt.ran {
				t.Errorf("wrong number of runs\ngot:  %v\nwant: %d", pb.ran, tt.ran)
			}
			if tt.from != nil {
				// The remote hit is now a local hit.
				rep := Build(context.Background(), []Selection{{Pipeline: plB, Stages: plB.Stages}}, BuildOptions{Cache: cB, Jobs: 1})
				if got := rep.Summary().Cached; !slices.Equal(got, all) {
					t.Errorf("second build: cached %v, want %v", got, all)
				}
			}
		})
	}
}
