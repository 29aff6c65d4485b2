package main

import (
	"encoding/json"
	"math/rand"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// crashPipeline has a diamond of stages that write a few hundred kilobytes
// each, slowly enough that a kill lands in the middle of runs and commits.
const crashPipeline = `
stage "exec" "a" {
  command = ["sh", "-c", "for i in 1 2 3 4 5 6 7 8; do cat in.txt; done > $OUT/a.txt; sleep 0.03"]
  inputs  = ["in.txt"]
}

stage "exec" "b" {
  for_each = toset(["1", "2", "3"])
  command  = ["sh", "-c", "sed s/x/${each.key}/g ${stage.exec.a.out}/a.txt > $OUT/b.txt; sleep 0.02; cp $OUT/b.txt $OUT/b2.txt"]
}

stage "exec" "c" {
  command = ["sh", "-c", "cat ${join(" ", [for b in stage.exec.b : "${b.out}/b.txt"])} | wc -c > $OUT/c.txt"]
}
`

// TestCrash kills builds with SIGKILL at random moments and checks that the
// next build finishes, the cache verifies clean and every cached output
// holds the content a clean build gives.
func TestCrash(t *testing.T) {
	if _, err := exec.LookPath("refeval"); err != nil {
		t.Fatalf("refeval not on PATH: %v (TestMain's testscript.Main should have put it there)", err)
	}
	trials := 20
	if testing.Short() {
		trials = 5
	}
	inputs := []string{strings.Repeat("x y z\n", 4000), strings.Repeat("x x y\n", 5000)}

	// Reference outputs of a clean build, one per input version.
	want := make([]map[string]map[string]string, len(inputs))
	for i, in := range inputs {
		dir := t.TempDir()
		writeCrashFiles(t, dir, in)
		refevalOK(t, dir, "build", "p.hcl")
		want[i] = cachedOutputs(t, dir)
	}

	dir := t.TempDir()
	rng := rand.New(rand.NewSource(1))
	for trial := 0; trial < trials; trial++ {
		v := rng.Intn(len(inputs))
		writeCrashFiles(t, dir, inputs[v])
		cmd := exec.Command("refeval", "build", "-j", "4", "p.hcl")
		cmd.Dir = dir
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Intn(250)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()

		refevalOK(t, dir, "build", "p.hcl")
		if out := refevalOK(t, dir, "cache", "verify", "p.hcl"); !strings.Contains(out, " 0 corrupt") {
			t.Fatalf("trial %d: cache verify found damage:\n%s", trial, out)
		}
		got := cachedOutputs(t, dir)
		for addr, files := range want[v] {
			for name, content := range files {
				if got[addr][name] != content {
					t.Fatalf("trial %d: wrong content of %s %s after a crash\ngot:  %q\nwant: %q", trial, addr, name, trunc(got[addr][name]), trunc(content))
				}
			}
		}
	}
}

func trunc(s string) string {
	if len(s) > 60 {
		return s[:60] + "..."
	}
	return s
}

func writeCrashFiles(t *testing.T, dir, in string) {
	t.Helper()
	if err := os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(crashPipeline), 0o666); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte(in), 0o666); err != nil {
		t.Fatal(err)
	}
}

// refevalOK runs refeval in dir and fails the test if it fails.
func refevalOK(t *testing.T, dir string, args ...string) string {
	t.Helper()
	cmd := exec.Command("refeval", args...)
	cmd.Dir = dir
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("refeval %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return string(out)
}

// cachedOutputs asks plan for every stage's output folder (all must be
// cached) and reads the files in them.
func cachedOutputs(t *testing.T, dir string) map[string]map[string]string {
	t.Helper()
	res, notCached := plannedOutputs(t, dir, nil)
	if len(notCached) > 0 {
		t.Fatalf("after a full build, %s would run", notCached[0])
	}
	return res
}

// plannedOutputs runs plan in dir with env (nil: this process's) and
// reads the files of every stage it reports cached; it also returns the
// stages it reports not cached.
func plannedOutputs(t *testing.T, dir string, env []string) (res map[string]map[string]string, notCached []string) {
	t.Helper()
	cmd := exec.Command("refeval", "plan", "--json", "p.hcl")
	cmd.Dir, cmd.Env = dir, env
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("refeval plan: %v", err)
	}
	var items []struct {
		Stage, Action, Out string
	}
	if err := json.Unmarshal(out, &items); err != nil {
		t.Fatalf("plan --json: %v\n%s", err, out)
	}
	res = map[string]map[string]string{}
	for _, it := range items {
		if it.Action != "cached" {
			notCached = append(notCached, it.Stage)
			continue
		}
		entries, err := os.ReadDir(it.Out)
		if err != nil {
			t.Fatal(err)
		}
		res[it.Stage] = map[string]string{}
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(it.Out, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			res[it.Stage][e.Name()] = string(data)
		}
	}
	return res, notCached
}

// crashSealPipeline has a stage, c, that writes into the output of a. The
// e instances read a's output while c runs; d reads it after c.
const crashSealPipeline = `
stage "exec" "a" {
  command = ["sh", "-c", "cat in.txt > $OUT/a.txt; sleep 0.02"]
  inputs  = ["in.txt"]
}

stage "exec" "c" {
  command = ["sh", "-c", "sleep 0.02; echo EVIL >> ${stage.exec.a.out}/a.txt; echo c > $OUT/c.txt"]
}

stage "exec" "e" {
  for_each = toset(["1", "2", "3", "4"])
  command  = ["sh", "-c", "sleep 0.0${each.key}; cat ${stage.exec.a.out}/a.txt > $OUT/copy.txt"]
}

stage "exec" "d" {
  depends_on = [stage.exec.c]
  command    = ["sh", "-c", "cat ${stage.exec.a.out}/a.txt > $OUT/copy.txt"]
}
`

// TestCrashSeal kills builds of a pipeline whose stage c writes into an
// upstream output at random moments, with and without the read-only mount,
// and checks that whatever the cache keeps is right: no stage that read the
// damaged output is ever cached, a is cached only intact, and once c is
// fixed a build gives every right output and `cache verify` is clean.
func TestCrashSeal(t *testing.T) {
	trials := 16
	if testing.Short() {
		trials = 6
	}
	in := strings.Repeat("alpha\n", 2000)
	dir := t.TempDir()
	write := func(pipeline string) {
		t.Helper()
		if err := os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(pipeline), 0o666); err != nil {
			t.Fatal(err)
		}
	}
	if err := os.WriteFile(filepath.Join(dir, "in.txt"), []byte(in), 0o666); err != nil {
		t.Fatal(err)
	}
	// check asserts that every cached stage holds content read from an
	// intact a.
	check := func(trial int, env []string) {
		t.Helper()
		cached, _ := plannedOutputs(t, dir, env)
		for addr, files := range cached {
			for name, content := range files {
				if (name == "a.txt" || name == "copy.txt") && content != in {
					t.Fatalf("trial %d: %s is cached with damaged content in %s: %q", trial, addr, name, trunc(content))
				}
			}
		}
	}
	write(crashSealPipeline)
	rng := rand.New(rand.NewSource(2))
	for trial := 0; trial < trials; trial++ {
		env := os.Environ()
		if rng.Intn(4) != 0 {
			env = append(env, "REFEVAL_DEBUG=nosandbox=1") // the check alone
		}
		cmd := exec.Command("refeval", "build", "-k", "-j", "4", "p.hcl")
		cmd.Dir, cmd.Env = dir, env
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		time.Sleep(time.Duration(rng.Intn(150)) * time.Millisecond)
		cmd.Process.Kill()
		cmd.Wait()
		check(trial, env)

		// A full build: c fails without the read-only mount, and nothing
		// damaged is kept either way.
		cmd = exec.Command("refeval", "build", "-k", "-j", "4", "p.hcl")
		cmd.Dir, cmd.Env = dir, env
		cmd.Run()
		check(trial, env)
	}

	write(strings.Replace(crashSealPipeline, "echo EVIL >> ${stage.exec.a.out}/a.txt; ", "", 1))
	refevalOK(t, dir, "build", "p.hcl")
	if out := refevalOK(t, dir, "cache", "verify", "p.hcl"); !strings.Contains(out, " 0 corrupt") {
		t.Fatalf("cache verify found damage after the fixed build:\n%s", out)
	}
	got := cachedOutputs(t, dir)
	for _, addr := range []string{"stage.exec.a", "stage.exec.d", `stage.exec.e["1"]`, `stage.exec.e["4"]`} {
		name := "copy.txt"
		if addr == "stage.exec.a" {
			name = "a.txt"
		}
		if got[addr][name] != in {
			t.Errorf("wrong content of %s %s after the fixed build\ngot:  %q\nwant: %q", addr, name, trunc(got[addr][name]), trunc(in))
		}
	}
}
