package gguf

import "strconv"

// Magic is the first four bytes of a GGUF file ("GGUF" read as a
// little-endian uint32).
const Magic = 0x46554747

// Version is the GGUF version written: 3, the one llama.cpp has read and
// written since 2023 (64-bit counts and lengths).
const Version = 3

// Alignment is the alignment of the tensor data section and of each
// tensor in it; llama.cpp's default (general.alignment is not written).
const Alignment = 32

// valueType is the type tag of a metadata value.
type valueType uint32

// Metadata value types of the GGUF specification.
const (
	typeUint8   valueType = 0
	typeInt8    valueType = 1
	typeUint16  valueType = 2
	typeInt16   valueType = 3
	typeUint32  valueType = 4
	typeInt32   valueType = 5
	typeFloat32 valueType = 6
	typeBool    valueType = 7
	typeString  valueType = 8
	typeArray   valueType = 9
	typeUint64  valueType = 10
	typeInt64   valueType = 11
	typeFloat64 valueType = 12
)

// Type is a tensor's element type (ggml_type).
type Type uint32

// Tensor types refeval writes.
const (
	F32 Type = 0 // 32-bit IEEE float.
	F16 Type = 1 // 16-bit IEEE float.
)

// String returns "f32" or "f16".
func (t Type) String() string {
	switch t {
	case F32:
		return "f32"
	case F16:
		return "f16"
	}
	return "ggml_type(" + strconv.Itoa(int(t)) + ")"
}

// ParseType parses "f32" or "f16".
func ParseType(s string) (Type, bool) {
	switch s {
	case "f32", "F32":
		return F32, true
	case "f16", "F16":
		return F16, true
	}
	return 0, false
}

// size returns the bytes per element.
func (t Type) size() int {
	if t == F16 {
		return 2
	}
	return 4
}

// File types (general.file_type, llama_ftype) of an all-F32 and a mostly-F16 file.
const (
	fileTypeAllF32    = 0
	fileTypeMostlyF16 = 1
)
