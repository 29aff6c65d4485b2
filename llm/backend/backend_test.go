package backend

import (
	"strings"
	"testing"
)

func TestConfig(t *testing.T) {
	tests := []struct {
		name, arg, env, want string
	}{
		{"default", "", "", Default},
		{"env", "", "xla:cpu", "xla:cpu"},
		{"argument wins", "go:ops_sequential", "xla:cpu", "go:ops_sequential"},
		{"bare go is sequential", "go", "", Default},
		{"bare go from env", "", "go", Default},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv("GOMLX_BACKEND", tc.env)
			if got := Config(tc.arg); got != tc.want {
				t.Errorf("wrong config\ngot:  %#v\nwant: %#v", got, tc.want)
			}
		})
	}
}

func TestNew(t *testing.T) {
	t.Setenv("GOMLX_BACKEND", "")
	b, err := New("")
	if err != nil {
		t.Fatal(err)
	}
	if got := Class(b); got != "go" {
		t.Errorf("wrong class\ngot:  %#v\nwant: %#v", got, "go")
	}
	b.Finalize()
	for _, bad := range []string{"nosuchbackend", "go:no_such_option", "xla:/nonexistent/pjrt_plugin.so"} {
		t.Run(bad, func(t *testing.T) {
			_, err := New(bad)
			if err == nil {
				t.Fatal("no error, want one")
			}
			if !strings.Contains(err.Error(), bad) {
				t.Errorf("wrong error\ngot:  %#v\nwant it to name %#v", err.Error(), bad)
			}
		})
	}
}
