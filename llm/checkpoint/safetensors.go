package checkpoint

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"os"
	"sort"

	"github.com/refeval/refeval/internal/atomicfile"
)

// maxHeaderBytes bounds a safetensors header; the reference implementation
// refuses headers over 100 MB too.
const maxHeaderBytes = 100 << 20

// tensorInfo is one entry of a safetensors header.
type tensorInfo struct {
	DType       string   `json:"dtype"`
	Shape       []int    `json:"shape"`
	DataOffsets [2]int64 `json:"data_offsets"`
}

// safetensorsFile is an open safetensors file whose header has been parsed;
// tensors are read on demand with ReadAt, so loading never holds more than
// one raw tensor beyond the float32 results.
type safetensorsFile struct {
	path    string
	f       *os.File
	base    int64 // file offset of the data section
	entries map[string]tensorInfo
}

func openSafetensors(path string) (*safetensorsFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("opening weights: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, fmt.Errorf("opening weights: %w", err)
	}
	bad := func(format string, args ...any) (*safetensorsFile, error) {
		f.Close()
		return nil, fmt.Errorf("%s: %s; the file is truncated or not a safetensors file: re-download or re-export it", path, fmt.Sprintf(format, args...))
	}
	var n8 [8]byte
	if _, err := io.ReadFull(f, n8[:]); err != nil {
		return bad("cannot read the 8-byte header length")
	}
	n := binary.LittleEndian.Uint64(n8[:])
	if n > maxHeaderBytes || int64(n) > st.Size()-8 {
		return bad("header length %d does not fit in a file of %d bytes", n, st.Size())
	}
	hdr := make([]byte, n)
	if _, err := io.ReadFull(f, hdr); err != nil {
		return bad("cannot read the header")
	}
	var raw map[string]json.RawMessage
	if err := json.Unmarshal(hdr, &raw); err != nil {
		return bad("bad JSON header: %v", err)
	}
	sf := &safetensorsFile{path: path, f: f, base: 8 + int64(n), entries: map[string]tensorInfo{}}
	dataLen := st.Size() - sf.base
	for name, r := range raw {
		if name == "__metadata__" {
			continue
		}
		var ti tensorInfo
		if err := json.Unmarshal(r, &ti); err != nil {
			return bad("tensor %q: bad header entry: %v", name, err)
		}
		size, ok := dtypeSize(ti.DType)
		if !ok {
			f.Close()
			return nil, fmt.Errorf("%s: tensor %q has dtype %s; refeval reads F32, F16 and BF16", path, name, ti.DType)
		}
		want := int64(size)
		for _, d := range ti.Shape {
			if d < 0 {
				return bad("tensor %q: negative dimension in shape %v", name, ti.Shape)
			}
			want *= int64(d)
		}
		if ti.DataOffsets[0] < 0 || ti.DataOffsets[1]-ti.DataOffsets[0] != want {
			return bad("tensor %q: data offsets %v do not match shape %v of %s", name, ti.DataOffsets, ti.Shape, ti.DType)
		}
		if ti.DataOffsets[1] > dataLen {
			return bad("tensor %q ends at byte %d of a %d-byte data section", name, ti.DataOffsets[1], dataLen)
		}
		sf.entries[name] = ti
	}
	return sf, nil
}

func (sf *safetensorsFile) Close() error { return sf.f.Close() }

// read returns the named tensor converted to float32.
func (sf *safetensorsFile) read(name string) (*Tensor, error) {
	ti, ok := sf.entries[name]
	if !ok {
		return nil, fmt.Errorf("%s: no tensor %q", sf.path, name)
	}
	raw := make([]byte, ti.DataOffsets[1]-ti.DataOffsets[0])
	if _, err := sf.f.ReadAt(raw, sf.base+ti.DataOffsets[0]); err != nil {
		return nil, fmt.Errorf("%s: reading tensor %q: %v", sf.path, name, err)
	}
	t := &Tensor{Shape: append([]int{}, ti.Shape...)}
	switch ti.DType {
	case "F32":
		t.Data = make([]float32, len(raw)/4)
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(binary.LittleEndian.Uint32(raw[4*i:]))
		}
	case "BF16":
		t.Data = make([]float32, len(raw)/2)
		for i := range t.Data {
			t.Data[i] = math.Float32frombits(uint32(binary.LittleEndian.Uint16(raw[2*i:])) << 16)
		}
	case "F16":
		t.Data = make([]float32, len(raw)/2)
		for i := range t.Data {
			t.Data[i] = FromFloat16(binary.LittleEndian.Uint16(raw[2*i:]))
		}
	}
	return t, nil
}

func dtypeSize(dt string) (int, bool) {
	switch dt {
	case "F32":
		return 4, true
	case "F16", "BF16":
		return 2, true
	}
	return 0, false
}

// floatToBF16 converts float32 to bfloat16, rounding to nearest even.
func floatToBF16(f float32) uint16 {
	b := math.Float32bits(f)
	if b&0x7f800000 == 0x7f800000 && b&0x7fffff != 0 {
		return uint16(b>>16) | 0x40
	}
	b += 0x7fff + (b>>16)&1
	return uint16(b >> 16)
}

// safetensorsDType maps a torch_dtype name to its safetensors dtype.
func safetensorsDType(torchDType string) (string, error) {
	switch torchDType {
	case "", "float32":
		return "F32", nil
	case "bfloat16":
		return "BF16", nil
	case "float16":
		return "F16", nil
	}
	return "", fmt.Errorf("unsupported dtype %q (want float32, bfloat16 or float16)", torchDType)
}

// WriteSafetensors writes tensors to path in dtype ("F32", "BF16" or
// "F16"), as the reference implementation does: names sorted, metadata
// {"format":"pt"}, the header padded with spaces to a multiple of 8 bytes.
func WriteSafetensors(path string, tensors map[string]*Tensor, dtype string) error {
	size, ok := dtypeSize(dtype)
	if !ok {
		return fmt.Errorf("writing %s: unsupported dtype %s", path, dtype)
	}
	names := make([]string, 0, len(tensors))
	for n := range tensors {
		names = append(names, n)
	}
	sort.Strings(names)
	var hdr bytes.Buffer
	hdr.WriteString(`{"__metadata__":{"format":"pt"}`)
	var off int64
	for _, n := range names {
		t := tensors[n]
		if t.Len() != len(t.Data) {
			return fmt.Errorf("writing %s: tensor %q has shape %v but %d values", path, n, t.Shape, len(t.Data))
		}
		shape := t.Shape
		if shape == nil {
			shape = []int{}
		}
		entry, _ := json.Marshal(tensorInfo{DType: dtype, Shape: shape, DataOffsets: [2]int64{off, off + int64(size*len(t.Data))}})
		name, _ := json.Marshal(n)
		hdr.WriteByte(',')
		hdr.Write(name)
		hdr.WriteByte(':')
		hdr.Write(entry)
		off += int64(size * len(t.Data))
	}
	hdr.WriteByte('}')
	for hdr.Len()%8 != 0 {
		hdr.WriteByte(' ')
	}
	return atomicfile.Write(path, func(w io.Writer) error {
		var n8 [8]byte
		binary.LittleEndian.PutUint64(n8[:], uint64(hdr.Len()))
		if _, err := w.Write(n8[:]); err != nil {
			return err
		}
		if _, err := w.Write(hdr.Bytes()); err != nil {
			return err
		}
		var buf [4]byte
		for _, n := range names {
			for _, v := range tensors[n].Data {
				var b []byte
				switch dtype {
				case "F32":
					b = binary.LittleEndian.AppendUint32(buf[:0], math.Float32bits(v))
				case "BF16":
					b = binary.LittleEndian.AppendUint16(buf[:0], floatToBF16(v))
				case "F16":
					b = binary.LittleEndian.AppendUint16(buf[:0], ToFloat16(v))
				}
				if _, err := w.Write(b); err != nil {
					return err
				}
			}
		}
		return nil
	})
}

// Len returns the number of values the shape holds.
func (t *Tensor) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}
