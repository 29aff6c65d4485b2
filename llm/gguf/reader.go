package gguf

import (
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"github.com/refeval/refeval/llm/checkpoint"
)

// File is a GGUF file read back: its metadata and tensors. Tests and
// `refeval model export` use it to check what was written.
type File struct {
	Version  uint32
	Metadata map[string]any // Values as Builder.Set takes them (arrays as typed slices).
	Keys     []string       // Metadata keys in file order.
	Tensors  []TensorInfo   // In file order.
	data     []byte         // The data section.
}

// TensorInfo describes one tensor of a File.
type TensorInfo struct {
	Name   string
	Shape  []int // Row-major, outermost first (the file's dimensions reversed).
	Type   Type
	Offset uint64 // From the start of the data section.
}

// ReadFile reads a whole GGUF file into memory.
func ReadFile(path string) (*File, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	f, err := Parse(data)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return f, nil
}

// Parse parses a GGUF file held in memory.
func Parse(data []byte) (f *File, err error) {
	r := &reader{b: data}
	defer func() {
		if e := recover(); e != nil {
			if re, ok := e.(readError); ok {
				f, err = nil, re
				return
			}
			panic(e)
		}
	}()
	if r.u32() != Magic {
		return nil, fmt.Errorf("not a GGUF file (bad magic)")
	}
	f = &File{Version: r.u32(), Metadata: map[string]any{}}
	if f.Version != 2 && f.Version != 3 {
		return nil, fmt.Errorf("unsupported GGUF version %d", f.Version)
	}
	nt, nkv := r.u64(), r.u64()
	if nt > uint64(len(data)) || nkv > uint64(len(data)) {
		return nil, fmt.Errorf("corrupt header: %d tensors, %d keys", nt, nkv)
	}
	for range nkv {
		k := r.str()
		f.Metadata[k] = r.value(valueType(r.u32()))
		f.Keys = append(f.Keys, k)
	}
	for range nt {
		ti := TensorInfo{Name: r.str()}
		nd := r.u32()
		if nd == 0 || nd > 4 {
			return nil, fmt.Errorf("tensor %s: %d dimensions", ti.Name, nd)
		}
		ti.Shape = make([]int, nd)
		for i := int(nd) - 1; i >= 0; i-- {
			ti.Shape[i] = int(r.u64())
		}
		ti.Type = Type(r.u32())
		ti.Offset = r.u64()
		f.Tensors = append(f.Tensors, ti)
	}
	align := uint64(Alignment)
	if a, ok := f.Metadata["general.alignment"].(uint32); ok && a > 0 {
		align = uint64(a)
	}
	start := (uint64(r.off) + align - 1) / align * align
	if start > uint64(len(data)) {
		return nil, fmt.Errorf("truncated before the data section")
	}
	f.data = data[start:]
	for _, t := range f.Tensors {
		if t.Type != F32 && t.Type != F16 {
			continue
		}
		if t.Offset+uint64(t.Len()*t.Type.size()) > uint64(len(f.data)) {
			return nil, fmt.Errorf("tensor %s runs past the end of the file", t.Name)
		}
	}
	return f, nil
}

// Len returns the number of elements of the tensor.
func (t TensorInfo) Len() int {
	n := 1
	for _, d := range t.Shape {
		n *= d
	}
	return n
}

// Tensor returns the named tensor's info and values converted to float32
// (F32 and F16 tensors only).
func (f *File) Tensor(name string) (TensorInfo, []float32, error) {
	for _, t := range f.Tensors {
		if t.Name != name {
			continue
		}
		if t.Type != F32 && t.Type != F16 {
			return t, nil, fmt.Errorf("tensor %s: type %v cannot be read", name, t.Type)
		}
		out := make([]float32, t.Len())
		b := f.data[t.Offset:]
		for i := range out {
			if t.Type == F16 {
				out[i] = checkpoint.FromFloat16(binary.LittleEndian.Uint16(b[2*i:]))
			} else {
				out[i] = math.Float32frombits(binary.LittleEndian.Uint32(b[4*i:]))
			}
		}
		return t, out, nil
	}
	return TensorInfo{}, nil, fmt.Errorf("no tensor %s", name)
}

type readError struct{ error }

type reader struct {
	b   []byte
	off int
}

func (r *reader) take(n uint64) []byte {
	if n > uint64(len(r.b)-r.off) {
		panic(readError{io.ErrUnexpectedEOF})
	}
	s := r.b[r.off : r.off+int(n)]
	r.off += int(n)
	return s
}

func (r *reader) u32() uint32 { return binary.LittleEndian.Uint32(r.take(4)) }
func (r *reader) u64() uint64 { return binary.LittleEndian.Uint64(r.take(8)) }
func (r *reader) str() string { return string(r.take(r.u64())) }

func (r *reader) value(t valueType) any {
	switch t {
	case typeUint8:
		return r.take(1)[0]
	case typeInt8:
		return int8(r.take(1)[0])
	case typeUint16:
		return binary.LittleEndian.Uint16(r.take(2))
	case typeInt16:
		return int16(binary.LittleEndian.Uint16(r.take(2)))
	case typeUint32:
		return r.u32()
	case typeInt32:
		return int32(r.u32())
	case typeUint64:
		return r.u64()
	case typeInt64:
		return int64(r.u64())
	case typeFloat32:
		return math.Float32frombits(r.u32())
	case typeFloat64:
		return math.Float64frombits(r.u64())
	case typeBool:
		return r.take(1)[0] != 0
	case typeString:
		return r.str()
	case typeArray:
		et := valueType(r.u32())
		n := r.u64()
		if n > uint64(len(r.b)) {
			panic(readError{fmt.Errorf("array of %d elements", n)})
		}
		return readArray(r, et, int(n))
	}
	panic(readError{fmt.Errorf("unknown metadata type %d", t)})
}

func readArray(r *reader, et valueType, n int) any {
	switch et {
	case typeString:
		return collect[string](r, et, n)
	case typeInt32:
		return collect[int32](r, et, n)
	case typeUint32:
		return collect[uint32](r, et, n)
	case typeFloat32:
		return collect[float32](r, et, n)
	case typeBool:
		return collect[bool](r, et, n)
	case typeUint8:
		return collect[uint8](r, et, n)
	case typeInt8:
		return collect[int8](r, et, n)
	case typeUint16:
		return collect[uint16](r, et, n)
	case typeInt16:
		return collect[int16](r, et, n)
	case typeUint64:
		return collect[uint64](r, et, n)
	case typeInt64:
		return collect[int64](r, et, n)
	case typeFloat64:
		return collect[float64](r, et, n)
	}
	panic(readError{fmt.Errorf("unsupported array element type %d", et)})
}

func collect[T any](r *reader, et valueType, n int) []T {
	out := make([]T, n)
	for i := range out {
		out[i] = r.value(et).(T)
	}
	return out
}
