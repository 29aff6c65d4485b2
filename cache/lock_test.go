package cache

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"
)

// holdEnv names the cache directory a re-executed test binary holds open
// until its stdin closes (see TestMain).
const holdEnv = "REFEVAL_CACHE_TEST_HOLD"

func TestMain(m *testing.M) {
	if dir := os.Getenv(holdEnv); dir != "" {
		c, err := Open(dir, Options{NoWait: true})
		if err != nil {
			fmt.Println("error:", err)
			os.Exit(1)
		}
		fmt.Println("locked")
		bufio.NewReader(os.Stdin).ReadString('\n') // until the parent closes stdin
		c.Close()
		os.Exit(0)
	}
	if dir := os.Getenv(getExitEnv); dir != "" {
		os.Exit(getAndExit(dir))
	}
	if dir := os.Getenv(fullExitEnv); dir != "" {
		os.Exit(fillAndExit(dir))
	}
	os.Exit(m.Run())
}

func TestLockSameProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	c, err := Open(dir, Options{})
	must(t, err)

	_, err = Open(dir, Options{NoWait: true})
	want := fmt.Sprintf("%s (pid %d)", c.Dir(), os.Getpid())
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), want) {
		t.Fatalf("wrong error from a second Open\ngot:  %v\nwant: …%s…: %v", err, want, ErrLocked)
	}

	// Without NoWait, a second Open waits, says so once, and gets the
	// cache when the first one closes it.
	var waits atomic.Int32
	var msg atomic.Value
	done := make(chan error)
	go func() {
		c2, err := Open(dir, Options{Waiting: func(m string) { waits.Add(1); msg.Store(m) }})
		if err == nil {
			err = c2.Close()
		}
		done <- err
	}()
	time.Sleep(300 * time.Millisecond)
	select {
	case err := <-done:
		t.Fatalf("second Open returned while the cache was held: %v", err)
	default:
	}
	must(t, c.Close())
	select {
	case err := <-done:
		must(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("second Open still waiting 10 s after Close")
	}
	if wantMsg := "waiting for another refeval using " + want; waits.Load() != 1 || msg.Load() != wantMsg {
		t.Errorf("wrong Waiting calls\ngot:  %d × %v\nwant: 1 × %q", waits.Load(), msg.Load(), wantMsg)
	}
}

func TestLockOtherProcess(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "cache")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdEnv+"="+dir)
	stdin, err := cmd.StdinPipe()
	must(t, err)
	stdout, err := cmd.StdoutPipe()
	must(t, err)
	must(t, cmd.Start())
	defer cmd.Process.Kill()
	line, _ := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("child did not take the lock: %q", line)
	}

	_, err = Open(dir, Options{NoWait: true})
	want := "(pid " + strconv.Itoa(cmd.Process.Pid) + ")"
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), want) {
		t.Fatalf("wrong error while another process holds the cache\ngot:  %v\nwant: …%s…: %v", err, want, ErrLocked)
	}

	waited := make(chan string, 1)
	go func() {
		time.Sleep(200 * time.Millisecond)
		stdin.Close() // the child closes the cache and exits
	}()
	c, err := Open(dir, Options{Waiting: func(m string) { waited <- m }})
	must(t, err)
	defer c.Close()
	select {
	case m := <-waited:
		if !strings.Contains(m, want) {
			t.Errorf("wrong waiting message\ngot:  %q\nwant: …%s…", m, want)
		}
	default:
		t.Errorf("Open got the lock without waiting for the other process")
	}
	cmd.Wait()
}
