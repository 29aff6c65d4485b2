package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/rogpeppe/go-internal/testscript"

	"github.com/refeval/refeval/cache"
	"github.com/refeval/refeval/cache/remote"
)

// TestRemoteScripts runs the scripts in testdata/remote against the S3
// store that scripts/services/s3.sh starts. Each script gets its own
// prefix in the test bucket and the store's credentials in the standard
// AWS variables. Without a store the test is skipped, or fails under CI.
func TestRemoteScripts(t *testing.T) {
	ep := os.Getenv("REFEVAL_TEST_S3_ENDPOINT")
	if ep == "" {
		if os.Getenv("CI") == "true" {
			t.Fatal("REFEVAL_TEST_S3_ENDPOINT is not set: scripts/services/s3.sh must start the S3 store under CI")
		}
		t.Skip("no S3 store: run scripts/test.sh, or source scripts/services/s3.sh and start_s3")
	}
	bucket := os.Getenv("REFEVAL_TEST_S3_BUCKET")
	if bucket == "" {
		bucket = "refeval-test"
	}
	testscript.Run(t, testscript.Params{
		Dir: "testdata/remote",
		Setup: func(env *testscript.Env) error {
			b := make([]byte, 6)
			rand.Read(b)
			env.Setenv("REFEVAL_CACHE", "")
			env.Setenv("REFEVAL_DEBUG", "")
			env.Setenv("REFEVAL_REMOTE", "s3://"+bucket+"/script-"+hex.EncodeToString(b))
			env.Setenv("REFEVAL_REMOTE_ENDPOINT", ep)
			env.Setenv("REFEVAL_REMOTE_MODE", "")
			env.Setenv("AWS_ACCESS_KEY_ID", os.Getenv("REFEVAL_TEST_S3_ACCESS_KEY"))
			env.Setenv("AWS_SECRET_ACCESS_KEY", os.Getenv("REFEVAL_TEST_S3_SECRET_KEY"))
			env.Setenv("AWS_CONFIG_FILE", os.DevNull)
			env.Setenv("AWS_SHARED_CREDENTIALS_FILE", os.DevNull)
			env.Setenv("AWS_EC2_METADATA_DISABLED", "true")
			env.Setenv("HOME", env.WorkDir)
			return nil
		},
		Cmds: map[string]func(ts *testscript.TestScript, neg bool, args []string){
			"sameout":  cmdSameOut,
			"nosecret": cmdNoSecret,
			"s3damage": cmdS3Damage,
		},
	})
}

// cmdSameOut checks that two cache folders hold byte-identical outputs:
// sameout DIR1 DIR2.
func cmdSameOut(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 2 {
		ts.Fatalf("usage: sameout DIR1 DIR2")
	}
	read := func(dir string) map[string][]byte {
		files := map[string][]byte{}
		root := filepath.Join(ts.MkAbs(dir), "out")
		filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			rel, _ := filepath.Rel(root, p)
			files[rel] = b
			return nil
		})
		return files
	}
	a, b := read(args[0]), read(args[1])
	var diffs []string
	for name, data := range a {
		if other, ok := b[name]; !ok {
			diffs = append(diffs, name+" only in "+args[0])
		} else if !bytes.Equal(data, other) {
			diffs = append(diffs, name+" differs")
		}
	}
	for name := range b {
		if _, ok := a[name]; !ok {
			diffs = append(diffs, name+" only in "+args[1])
		}
	}
	if len(a) == 0 {
		diffs = append(diffs, "no outputs in "+args[0])
	}
	if (len(diffs) > 0) != neg {
		ts.Fatalf("outputs of %s and %s: %v", args[0], args[1], diffs)
	}
}

// cmdNoSecret checks that no file under the given folders holds the
// access key id or the secret key: nosecret DIR...
func cmdNoSecret(ts *testscript.TestScript, neg bool, args []string) {
	secrets := []string{ts.Getenv("AWS_SECRET_ACCESS_KEY"), ts.Getenv("AWS_ACCESS_KEY_ID")}
	for _, s := range secrets {
		if len(s) < 8 {
			ts.Fatalf("test credentials too short to search for: %q", s)
		}
	}
	n := 0
	for _, dir := range args {
		filepath.WalkDir(ts.MkAbs(dir), func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return nil
			}
			b, err := os.ReadFile(p)
			if err != nil {
				return nil
			}
			n++
			for _, s := range secrets {
				if bytes.Contains(b, []byte(s)) {
					ts.Fatalf("%s holds a credential", p)
				}
			}
			return nil
		})
	}
	if n == 0 {
		ts.Fatalf("no files under %v", args)
	}
}

// cmdS3Damage overwrites, in the script's remote, the blob holding the
// content of FILE: s3damage FILE.
func cmdS3Damage(ts *testscript.TestScript, neg bool, args []string) {
	if len(args) != 1 {
		ts.Fatalf("usage: s3damage FILE")
	}
	data, err := os.ReadFile(ts.MkAbs(args[0]))
	ts.Check(err)
	for _, k := range []string{"AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_CONFIG_FILE", "AWS_SHARED_CREDENTIALS_FILE", "AWS_EC2_METADATA_DISABLED"} {
		os.Setenv(k, ts.Getenv(k))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := remote.NewS3(ctx, ts.Getenv("REFEVAL_REMOTE"), remote.S3Options{Endpoint: ts.Getenv("REFEVAL_REMOTE_ENDPOINT")})
	ts.Check(err)
	key := "blob/" + cache.DigestBytes(data).String()
	if _, err := s.Stat(ctx, key); err != nil {
		ts.Fatalf("no blob for %s in the remote: %v", args[0], err)
	}
	// Same size, other bytes: a longer blob with the right prefix would
	// still give the right content through a ranged read.
	bad := bytes.Clone(data)
	bad[0] ^= 0x20
	ts.Check(s.Put(ctx, key, bytes.NewReader(bad), int64(len(bad))))
	fmt.Fprintf(ts.Stdout(), "damaged %s\n", key)
}
