package data

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
)

// TestFiles checks that every data file in the folder is embedded, so that
// a file added here but not to the go:embed line fails.
func TestFiles(t *testing.T) {
	entries, err := os.ReadDir(".")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, e := range entries {
		name := e.Name()
		if e.IsDir() || filepath.Ext(name) == ".go" {
			continue
		}
		n++
		t.Run(name, func(t *testing.T) {
			got, err := Files.ReadFile(name)
			if err != nil {
				t.Fatalf("data/%s is not embedded: add it to the go:embed line in embed.go (%v)", name, err)
			}
			want, err := os.ReadFile(name)
			if err != nil {
				t.Fatal(err)
			}
			if len(got) == 0 || !bytes.Equal(got, want) {
				t.Errorf("wrong embedded %s: %d bytes, file has %d", name, len(got), len(want))
			}
		})
	}
	if n == 0 {
		t.Error("no data files found next to embed.go")
	}
}
