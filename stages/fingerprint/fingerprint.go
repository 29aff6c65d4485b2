package fingerprint

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/refeval/refeval/llm/checkpoint"
)

// Volatile lists the JSON keys whose values depend on when and where a
// stage ran, not on its inputs: they are left out of fingerprints.
var Volatile = map[string]bool{
	"seconds":          true,
	"tokens_per_sec":   true,
	"examples_per_sec": true,
}

// Tolerance for two fingerprints' numbers: relative, plus an absolute floor
// for values near zero. Another CPU (SIMD width, FMA) moves float32 results
// by about 1e-6 relative; a change in what a kind computes moves them far
// more. Two whole numbers below exactBelow (counts: tokens, pairs, max_len)
// must be equal: float32 noise never moves one whole number to another
// there, and a count off by one is a change the relative tolerance would
// let through (2048 against 2049).
const (
	relTol     = 1e-3
	absTol     = 1e-6
	exactBelow = 1 << 24
)

// A Fingerprint describes files so that two runs of the same action
// compare equal and a change in what they hold does not: Digest hashes
// everything but the numbers, which are kept in Numbers (in file, then
// key, order) and compared with a tolerance.
type Fingerprint struct {
	Digest  string    `json:"digest"`
	Numbers []float64 `json:"numbers"`
}

// Of fingerprints files and folders (every file under a folder, in path
// order). Each file's path relative to its root is part of the digest.
// JSON and JSON Lines files are parsed, keys sorted, Volatile keys
// dropped, numbers moved to Numbers; a safetensors file counts
// per tensor (name, dtype, shape; sum and sum of squares of its values to
// Numbers); an image (a loss plot, drawn from numbers the JSON holds) by
// name only; any other file by its bytes.
func Of(paths ...string) (Fingerprint, error) {
	h := sha256.New()
	var nums []float64
	for _, root := range paths {
		var files []string
		err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			files = append(files, path)
			return nil
		})
		if err != nil {
			return Fingerprint{}, err
		}
		sort.Strings(files)
		for _, path := range files {
			rel, err := filepath.Rel(root, path)
			if err != nil {
				return Fingerprint{}, err
			}
			b, err := os.ReadFile(path)
			if err != nil {
				return Fingerprint{}, err
			}
			c := &canon{}
			if err := c.file(rel, b); err != nil {
				return Fingerprint{}, fmt.Errorf("%s: %w", path, err)
			}
			fmt.Fprintf(h, "%s %d\n", filepath.ToSlash(rel), c.buf.Len())
			h.Write(c.buf.Bytes())
			nums = append(nums, c.nums...)
		}
	}
	return Fingerprint{Digest: hex.EncodeToString(h.Sum(nil)), Numbers: nums}, nil
}

// Diff says how g differs from f ("" when they match): a different digest
// or a number out of tolerance.
func (f Fingerprint) Diff(g Fingerprint) string {
	if f.Digest != g.Digest {
		return fmt.Sprintf("digest %.12s… is now %.12s…", f.Digest, g.Digest)
	}
	if len(f.Numbers) != len(g.Numbers) {
		return fmt.Sprintf("%d numbers are now %d", len(f.Numbers), len(g.Numbers))
	}
	for i, a := range f.Numbers {
		b := g.Numbers[i]
		if a != b && whole(a) && whole(b) {
			return fmt.Sprintf("number %d was %g and is now %g", i, a, b)
		}
		if math.Abs(a-b) > relTol*max(math.Abs(a), math.Abs(b))+absTol {
			return fmt.Sprintf("number %d was %g and is now %g", i, a, b)
		}
	}
	return ""
}

// whole reports whether x is a whole number small enough to compare
// exactly.
func whole(x float64) bool {
	return x == math.Trunc(x) && math.Abs(x) < exactBelow
}

// canon is one file's canonical form: bytes for the digest and numbers.
type canon struct {
	buf  bytes.Buffer
	nums []float64
}

func (c *canon) file(name string, b []byte) error {
	switch {
	case strings.HasSuffix(name, ".jsonl"):
		for _, line := range bytes.Split(b, []byte("\n")) {
			if len(bytes.TrimSpace(line)) == 0 {
				continue
			}
			if err := c.json(line); err != nil {
				return err
			}
			c.buf.WriteByte('\n')
		}
		return nil
	case strings.HasSuffix(name, ".json"):
		return c.json(b)
	case strings.HasSuffix(name, ".safetensors"):
		return c.tensors(b)
	case strings.HasSuffix(name, ".png"), strings.HasSuffix(name, ".svg"):
		return nil
	}
	c.buf.Write(b)
	return nil
}

func (c *canon) json(b []byte) error {
	d := json.NewDecoder(bytes.NewReader(b))
	d.UseNumber()
	var v any
	if err := d.Decode(&v); err != nil {
		return err
	}
	c.value(v)
	return nil
}

// value writes v with sorted keys, Volatile keys left out and "#" for each
// number, which goes to c.nums.
func (c *canon) value(v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			if !Volatile[k] {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		c.buf.WriteByte('{')
		for i, k := range keys {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			kb, _ := json.Marshal(k)
			c.buf.Write(kb)
			c.buf.WriteByte(':')
			c.value(x[k])
		}
		c.buf.WriteByte('}')
	case []any:
		c.buf.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				c.buf.WriteByte(',')
			}
			c.value(e)
		}
		c.buf.WriteByte(']')
	case json.Number:
		// Integers too: a float that is exactly 0 in one run (written "0")
		// may be 4e-7 in the next.
		f, err := x.Float64()
		if err != nil {
			c.buf.WriteString(x.String())
			return
		}
		c.buf.WriteByte('#')
		c.nums = append(c.nums, f)
	default:
		b, _ := json.Marshal(x)
		c.buf.Write(b)
	}
}

// tensors summarizes a safetensors file: per tensor, in name order, its
// name, dtype and shape, and the sum and sum of squares of its values.
func (c *canon) tensors(b []byte) error {
	if len(b) < 8 {
		return fmt.Errorf("not a safetensors file: %d bytes", len(b))
	}
	n := binary.LittleEndian.Uint64(b)
	if n > uint64(len(b)-8) {
		return fmt.Errorf("not a safetensors file: header of %d bytes in %d", n, len(b))
	}
	var header map[string]json.RawMessage
	if err := json.Unmarshal(b[8:8+n], &header); err != nil {
		return fmt.Errorf("safetensors header: %w", err)
	}
	data := b[8+n:]
	names := make([]string, 0, len(header))
	for k := range header {
		if k != "__metadata__" {
			names = append(names, k)
		}
	}
	sort.Strings(names)
	for _, name := range names {
		var t struct {
			Dtype   string   `json:"dtype"`
			Shape   []int    `json:"shape"`
			Offsets [2]int64 `json:"data_offsets"`
		}
		if err := json.Unmarshal(header[name], &t); err != nil {
			return fmt.Errorf("tensor %s: %w", name, err)
		}
		if t.Offsets[0] < 0 || t.Offsets[1] < t.Offsets[0] || t.Offsets[1] > int64(len(data)) {
			return fmt.Errorf("tensor %s: offsets %v outside the data", name, t.Offsets)
		}
		raw := data[t.Offsets[0]:t.Offsets[1]]
		var width int
		var value func([]byte) float64
		switch t.Dtype {
		case "F32":
			width, value = 4, func(p []byte) float64 { return float64(math.Float32frombits(binary.LittleEndian.Uint32(p))) }
		case "F16":
			width, value = 2, func(p []byte) float64 { return float64(checkpoint.FromFloat16(binary.LittleEndian.Uint16(p))) }
		case "BF16":
			width, value = 2, func(p []byte) float64 {
				return float64(math.Float32frombits(uint32(binary.LittleEndian.Uint16(p)) << 16))
			}
		default:
			sum := sha256.Sum256(raw)
			fmt.Fprintf(&c.buf, "%s %s %v %x\n", name, t.Dtype, t.Shape, sum)
			continue
		}
		var s, sq float64
		for k := 0; k+width <= len(raw); k += width {
			v := value(raw[k : k+width])
			s += v
			sq += v * v
		}
		fmt.Fprintf(&c.buf, "%s %s %v\n", name, t.Dtype, t.Shape)
		c.nums = append(c.nums, s, sq)
	}
	return nil
}

func sha256Sum(s string) [32]byte { return sha256.Sum256([]byte(s)) }
