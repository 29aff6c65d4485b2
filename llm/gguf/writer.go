package gguf

import (
	"bufio"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"sort"

	"github.com/refeval/refeval/llm/checkpoint"
)

// Builder collects metadata and tensors and writes them as one GGUF file.
// Metadata keys are written in the order they were set; tensors in the
// order they were added.
type Builder struct {
	kv      []keyValue
	keys    map[string]int
	tensors []tensorEntry
	names   map[string]bool
}

type keyValue struct {
	key string
	val any
}

type tensorEntry struct {
	name  string
	shape []int // Row-major, outermost first (Hugging Face order).
	typ   Type
	data  []float32
}

// NewBuilder returns an empty Builder.
func NewBuilder() *Builder {
	return &Builder{keys: map[string]int{}, names: map[string]bool{}}
}

// Set sets a metadata key. v is one of uint8, int8, uint16, int16, uint32,
// int32, uint64, int64, float32, float64, bool, string, or a slice of one
// of them ([]string, []int32, []float32 …). Setting a key again replaces
// its value in place.
func (b *Builder) Set(key string, v any) error {
	if _, err := typeOf(v); err != nil {
		return fmt.Errorf("metadata key %s: %w", key, err)
	}
	if i, ok := b.keys[key]; ok {
		b.kv[i].val = v
		return nil
	}
	b.keys[key] = len(b.kv)
	b.kv = append(b.kv, keyValue{key, v})
	return nil
}

// AddTensor adds a tensor named name with the row-major shape (outermost
// dimension first, as Hugging Face and numpy write it; the file stores
// dimensions innermost first, as ggml does), stored as typ. data is not
// copied: keep it unchanged until WriteTo returns.
func (b *Builder) AddTensor(name string, shape []int, typ Type, data []float32) error {
	if b.names[name] {
		return fmt.Errorf("tensor %s added twice", name)
	}
	if typ != F32 && typ != F16 {
		return fmt.Errorf("tensor %s: unsupported type %v (want f32 or f16)", name, typ)
	}
	n := 1
	for _, d := range shape {
		if d <= 0 {
			return fmt.Errorf("tensor %s: bad shape %v", name, shape)
		}
		n *= d
	}
	if len(shape) == 0 || len(shape) > 4 || n != len(data) {
		return fmt.Errorf("tensor %s: shape %v does not fit %d values (ggml takes 1 to 4 dimensions)", name, shape, len(data))
	}
	b.names[name] = true
	b.tensors = append(b.tensors, tensorEntry{name, append([]int{}, shape...), typ, data})
	return nil
}

// Size returns the number of bytes WriteTo writes.
func (b *Builder) Size() int64 {
	var cw countWriter
	b.writeHeader(&cw)
	n := align(cw.n)
	for _, t := range b.tensors {
		n = align(n + int64(len(t.data)*t.typ.size()))
	}
	return n
}

// WriteTo writes the file: header, metadata, tensor infos, then the
// tensor data, each tensor aligned to Alignment bytes.
func (b *Builder) WriteTo(w io.Writer) (int64, error) {
	cw := &countWriter{w: bufio.NewWriterSize(w, 1<<20)}
	b.writeHeader(cw)
	pad(cw)
	buf := make([]byte, 0, 1<<16)
	for _, t := range b.tensors {
		for start := 0; start < len(t.data); start += 1 << 14 {
			buf = buf[:0]
			for _, v := range t.data[start:min(start+1<<14, len(t.data))] {
				if t.typ == F16 {
					buf = binary.LittleEndian.AppendUint16(buf, checkpoint.ToFloat16(v))
				} else {
					buf = binary.LittleEndian.AppendUint32(buf, math.Float32bits(v))
				}
			}
			cw.Write(buf)
		}
		pad(cw)
	}
	if cw.err == nil {
		cw.err = cw.w.(*bufio.Writer).Flush()
	}
	return cw.n, cw.err
}

// writeHeader writes everything before the data section's padding.
func (b *Builder) writeHeader(cw *countWriter) {
	cw.u32(Magic)
	cw.u32(Version)
	cw.u64(uint64(len(b.tensors)))
	cw.u64(uint64(len(b.kv)))
	for _, kv := range b.kv {
		cw.str(kv.key)
		t, _ := typeOf(kv.val)
		cw.u32(uint32(t))
		cw.value(kv.val)
	}
	var offset int64
	for _, t := range b.tensors {
		cw.str(t.name)
		cw.u32(uint32(len(t.shape)))
		for i := len(t.shape) - 1; i >= 0; i-- {
			cw.u64(uint64(t.shape[i]))
		}
		cw.u32(uint32(t.typ))
		cw.u64(uint64(offset))
		offset = align(offset + int64(len(t.data)*t.typ.size()))
	}
}

// SortedKeys returns the metadata keys in sorted order (for printing).
func (b *Builder) SortedKeys() []string {
	keys := make([]string, 0, len(b.kv))
	for _, kv := range b.kv {
		keys = append(keys, kv.key)
	}
	sort.Strings(keys)
	return keys
}

func align(n int64) int64 { return (n + Alignment - 1) / Alignment * Alignment }

func pad(cw *countWriter) {
	var zeros [Alignment]byte
	cw.Write(zeros[:align(cw.n)-cw.n])
}

// typeOf returns the GGUF type of a metadata value.
func typeOf(v any) (valueType, error) {
	switch v.(type) {
	case uint8:
		return typeUint8, nil
	case int8:
		return typeInt8, nil
	case uint16:
		return typeUint16, nil
	case int16:
		return typeInt16, nil
	case uint32:
		return typeUint32, nil
	case int32:
		return typeInt32, nil
	case uint64:
		return typeUint64, nil
	case int64:
		return typeInt64, nil
	case float32:
		return typeFloat32, nil
	case float64:
		return typeFloat64, nil
	case bool:
		return typeBool, nil
	case string:
		return typeString, nil
	case []uint8, []int8, []uint16, []int16, []uint32, []int32, []uint64, []int64, []float32, []float64, []bool, []string:
		return typeArray, nil
	}
	return 0, fmt.Errorf("unsupported metadata value type %T", v)
}

// countWriter writes little-endian values and counts bytes; it keeps the
// first error.
type countWriter struct {
	w   io.Writer
	n   int64
	err error
	buf [8]byte
}

func (c *countWriter) Write(p []byte) (int, error) {
	c.n += int64(len(p))
	if c.w == nil || c.err != nil {
		return len(p), nil
	}
	_, c.err = c.w.Write(p)
	return len(p), nil
}

func (c *countWriter) u32(v uint32) {
	binary.LittleEndian.PutUint32(c.buf[:4], v)
	c.Write(c.buf[:4])
}

func (c *countWriter) u64(v uint64) {
	binary.LittleEndian.PutUint64(c.buf[:8], v)
	c.Write(c.buf[:8])
}

func (c *countWriter) str(s string) {
	c.u64(uint64(len(s)))
	c.Write([]byte(s))
}

// value writes v's payload (its type tag is written by the caller).
func (c *countWriter) value(v any) {
	switch x := v.(type) {
	case uint8:
		c.Write([]byte{x})
	case int8:
		c.Write([]byte{byte(x)})
	case uint16:
		binary.LittleEndian.PutUint16(c.buf[:2], x)
		c.Write(c.buf[:2])
	case int16:
		c.value(uint16(x))
	case uint32:
		c.u32(x)
	case int32:
		c.u32(uint32(x))
	case uint64:
		c.u64(x)
	case int64:
		c.u64(uint64(x))
	case float32:
		c.u32(math.Float32bits(x))
	case float64:
		c.u64(math.Float64bits(x))
	case bool:
		if x {
			c.Write([]byte{1})
		} else {
			c.Write([]byte{0})
		}
	case string:
		c.str(x)
	case []string:
		array(c, typeString, x)
	case []uint8:
		array(c, typeUint8, x)
	case []int8:
		array(c, typeInt8, x)
	case []uint16:
		array(c, typeUint16, x)
	case []int16:
		array(c, typeInt16, x)
	case []uint32:
		array(c, typeUint32, x)
	case []int32:
		array(c, typeInt32, x)
	case []uint64:
		array(c, typeUint64, x)
	case []int64:
		array(c, typeInt64, x)
	case []float32:
		array(c, typeFloat32, x)
	case []float64:
		array(c, typeFloat64, x)
	case []bool:
		array(c, typeBool, x)
	}
}

func array[T any](c *countWriter, t valueType, xs []T) {
	c.u32(uint32(t))
	c.u64(uint64(len(xs)))
	for _, x := range xs {
		c.value(x)
	}
}
