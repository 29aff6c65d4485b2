package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/refeval/refeval/internal/tmpfs"
)

// TestWatchDiskFull runs `refeval watch` with its cache on a real 40 MB
// tmpfs (as root; skipped elsewhere) and a stage that fills that file
// system with a file outside its output folder, then stops watch with
// Ctrl-C. Watch must exit as build does on a full disk, saying so and
// leaving Badger's flush to the next run (before, its Close flushed
// through mmap and the process could die of SIGBUS), and once space is
// freed the next build must find the first stage's entry (the second
// failed: its output could not be recorded on the full disk).
func TestWatchDiskFull(t *testing.T) {
	if _, err := exec.LookPath("refeval"); err != nil {
		t.Fatalf("refeval not on PATH: %v (TestMain's testscript.Main should have put it there)", err)
	}
	mnt := tmpfs.Mount(t)
	dir := t.TempDir()
	hog := filepath.Join(mnt, "hog")
	pipeline := `
stage "exec" "small" {
  command = ["sh", "-c", "echo small > $OUT/s.txt"]
}

stage "exec" "fill" {
  command = ["sh", "-c", "cat ${stage.exec.small.out}/s.txt > $OUT/f.txt; head -c 100m /dev/zero > ` + hog + `; true"]
}
`
	if err := os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(pipeline), 0o644); err != nil {
		t.Fatal(err)
	}
	cache := filepath.Join(mnt, "cache")
	var stderr bytes.Buffer
	cmd := exec.Command("refeval", "watch", "--cache", cache, "p.hcl")
	cmd.Dir = dir
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() { done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for !strings.Contains(stderr.String(), "watching ") && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	cmd.Process.Signal(os.Interrupt)
	var err error
	select {
	case err = <-done:
	case <-time.After(30 * time.Second):
		cmd.Process.Kill()
		t.Fatalf("watch did not stop after Ctrl-C:\n%s", stderr.String())
	}
	out := stderr.String()
	if ee, ok := err.(*exec.ExitError); ok {
		if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
			t.Fatalf("watch on a full disk died of %v:\n%s", ws.Signal(), out)
		}
	}
	if i := strings.Index(out, "fatal error"); i >= 0 {
		t.Fatalf("watch on a full disk crashed:\n%.2000s", out[i:])
	}
	if !strings.Contains(out, "refeval: 1 ran, 0 cached, 1 failed") {
		t.Fatalf("watch did not finish its build (small runs, fill fails on the full disk):\n%s", out)
	}
	if !strings.Contains(out, "disk full: ") || !strings.Contains(out, "left for the next run to recover") {
		t.Errorf("watch on a full disk said:\n%s\nwant the disk-full warning", out)
	}
	if err := os.Remove(hog); err != nil {
		t.Fatal(err)
	}
	small := pipeline[:strings.Index(pipeline, `stage "exec" "fill"`)]
	if err := os.WriteFile(filepath.Join(dir, "p.hcl"), []byte(small), 0o644); err != nil {
		t.Fatal(err)
	}
	if got := refevalOK(t, dir, "build", "--json", "--cache", cache, "p.hcl"); !strings.Contains(got, `"ran":[],"cached":["stage.exec.small"]`) {
		t.Errorf("build after the disk was freed:\n%s\nwant small cached", got)
	}
}
