package engine

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/refeval/refeval/cache"
)

// Sealed outputs. A committed output must never change: downstream stages
// are cached against its OutputID, so a stage that writes into an upstream
// output folder would leave every stage that read the damaged content
// cached under the intact OutputID. Two defences (docs/engine.md):
//
//   - Kinds that start processes mount the cache's out/ folder read-only for
//     them where the system allows (RunContext.ReadOnly; stages/exec.go).
//   - Always, after each stage ran (succeeded or failed), the engine checks
//     every output the stage could reach — the outputs of all its upstream
//     stages, transitively — against the stat record taken at commit
//     (cache.CheckSealed: size, mtime, ctime, inode of every file and
//     folder). A stage that changed one fails with a message naming both
//     stages; the changed output is marked damaged for the rest of the
//     build, so that no stage reading it runs, and the next build finds it
//     damaged (Get) and reruns its stage.

// seals holds, for one build, the outputs stages may read and those found
// changed.
type seals struct {
	mu      sync.Mutex
	outs    map[cache.ID]sealedOut
	damaged map[cache.ID]string // why, for the message of blocked stages
}

// sealedOut is a committed output in use by the build.
type sealedOut struct {
	files []cache.File
	addr  string // the stage that produced it (the first seen)
}

// add records that output id (with manifest files) of stage addr is in use.
func (s *seals) add(id cache.ID, files []cache.File, addr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.outs == nil {
		s.outs = map[cache.ID]sealedOut{}
	}
	if _, ok := s.outs[id]; !ok {
		s.outs[id] = sealedOut{files: files, addr: addr}
	}
}

// reach returns the outputs of every upstream stage of n, transitively,
// each once.
func reach(n *node) []cache.ID {
	seen := map[*node]bool{}
	ids := map[cache.ID]bool{}
	var out []cache.ID
	var walk func(n *node)
	walk = func(n *node) {
		for _, d := range n.deps {
			if seen[d] {
				continue
			}
			seen[d] = true
			if id := d.res.OutputID; id != (cache.ID{}) && !ids[id] {
				ids[id] = true
				out = append(out, id)
			}
			walk(d)
		}
	}
	walk(n)
	return out
}

// blocked returns an error if one of ids, the outputs a stage could read
// (reach), was changed earlier in this build: the stage must not run on it.
func (s *seals) blocked(ids []cache.ID) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, id := range ids {
		if why, ok := s.damaged[id]; ok {
			return fmt.Errorf("not run: %s", why)
		}
	}
	return nil
}

// check checks ids, every output n could reach (reach), before n runs
// (before true) or after. It marks those that changed as damaged and
// returns an error naming n and their stages: before n ran, a change is
// the work of a stage that does not read the output (it found the folder
// by path) or of something outside refeval, and n is not run on it.
func (s *seals) check(c *cache.Cache, n *node, ids []cache.ID, before bool) error {
	var msgs []string
	for _, id := range ids {
		s.mu.Lock()
		o, ok := s.outs[id]
		s.mu.Unlock()
		if !ok {
			continue // never in use in this build (cannot happen)
		}
		err := c.CheckSealed(id, o.files)
		if err == nil {
			continue
		}
		if !errors.Is(err, cache.ErrCorrupt) {
			return fmt.Errorf("checking the output of %s after %s ran: %w", o.addr, n.res.name(), err)
		}
		what := sealDamage(err, c.OutputDir(id))
		s.mu.Lock()
		if s.damaged == nil {
			s.damaged = map[cache.ID]string{}
		}
		if _, ok := s.damaged[id]; !ok {
			when := "while " + n.res.name() + " ran"
			if before {
				when = "before " + n.res.name() + " started"
			}
			s.damaged[id] = fmt.Sprintf("the output of %s, which it reads, was changed %s (%s)", o.addr, when, what)
		}
		s.mu.Unlock()
		msgs = append(msgs, fmt.Sprintf("the output of %s (%s)", o.addr, what))
	}
	if len(msgs) == 0 {
		return nil
	}
	if before {
		return fmt.Errorf("not run: %s changed before %s started, by a stage that does not read it or by something outside refeval; a stage must not write into the output folder of another stage (copy what it needs into its own). The next build reruns that stage if its content changed", strings.Join(msgs, " and "), n.res.name())
	}
	return fmt.Errorf("%s changed while %s ran; a stage must not write into the output folder of another stage (copy what it needs into its own). Nothing that read it is kept, and the next build reruns that stage if its content changed", strings.Join(msgs, " and "), n.res.name())
}

// sealDamage shortens CheckSealed's error to what changed.
func sealDamage(err error, dir string) string {
	s := strings.TrimSuffix(err.Error(), ": "+cache.ErrCorrupt.Error())
	s = strings.TrimPrefix(s, "output "+dir+": ")
	return s + " in " + filepath.Base(dir)[:12] + "…"
}

// runSealed runs a stage (b.run) unless an output it could read was
// changed earlier in the build (found by an earlier check, or by checking
// them all now), then checks that it changed none: before its output is
// committed when it succeeded, after it failed otherwise. Such a change is
// the stage's error even if it succeeded, and its output is not committed.
func (b *builder) runSealed(ctx context.Context, n *node, a *action, devs []int) (cache.ID, []cache.File, time.Duration, error) {
	ids := reach(n)
	if err := b.seals.blocked(ids); err != nil {
		return cache.ID{}, nil, 0, err
	}
	if err := b.seals.check(b.opt.Cache, n, ids, true); err != nil {
		return cache.ID{}, nil, 0, err
	}
	checked := false
	check := func() error {
		checked = true
		return b.seals.check(b.opt.Cache, n, ids, false)
	}
	oid, files, dur, err := b.run(ctx, n.res, a, devs, check)
	if !checked {
		if serr := check(); serr != nil {
			err = serr
		}
	}
	return oid, files, dur, err
}
