package errorfile

import (
	"bufio"
	"os"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/hashicorp/hcl/v2"
)

// Want reads the "# ERROR: Summary" comments of file by line; a comment
// reading "# ERROR@0: Summary" stands for a diagnostic with no range, at
// key 0. A file with no such comment fails the test: an error file must
// say which error it expects.
func Want(t testing.TB, file string) map[int]string {
	t.Helper()
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	want := map[int]string{}
	sc := bufio.NewScanner(f)
	for line := 1; sc.Scan(); line++ {
		text := sc.Text()
		if _, s, ok := strings.Cut(text, "# ERROR@0: "); ok {
			want[0] = strings.TrimSpace(s)
		} else if _, s, ok := strings.Cut(text, "# ERROR: "); ok {
			want[line] = strings.TrimSpace(s)
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatalf("reading %s: %v", file, err)
	}
	if len(want) == 0 {
		t.Fatalf("%s has no \"# ERROR: Summary\" comment; an error file must say which error it expects", file)
	}
	return want
}

// Check fails the test unless diags hold exactly the summaries Want reads
// from file, each on its line.
func Check(t testing.TB, file string, diags hcl.Diagnostics) {
	t.Helper()
	want := Want(t, file)
	got := map[int]string{}
	for _, d := range diags {
		if d.Subject == nil {
			got[0] = d.Summary
			continue
		}
		got[d.Subject.Start.Line] = d.Summary
	}
	if diff := cmp.Diff(want, got); diff != "" {
		for _, d := range diags {
			t.Logf("%s", d)
		}
		t.Errorf("wrong diagnostics (-want +got):\n%s", diff)
	}
}
