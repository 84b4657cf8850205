package onnx

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"
	"math"
	"os"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/kconv/kconv/internal/atomicfile"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// Options control an export.
type Options struct {
	// Opset is the default-domain operator set version (0: DefaultOpset).
	// MinOpset through MaxOpset are supported.
	Opset int
	// Batch fixes the batch dimension of the graph's inputs and outputs;
	// 0 leaves it dynamic (dim_param "N").
	Batch int
	// InputNCHW makes the graph of a channels_last model take its rank-4
	// inputs as NCHW instead of Keras's NHWC (no Transpose after the
	// input). Channels-first models take NCHW anyway. Outputs keep the
	// Keras layout.
	InputNCHW bool
	// Force lets Write replace an existing file.
	Force bool
}

// Supported opsets.
const (
	DefaultOpset = 13
	MinOpset     = 11
	MaxOpset     = 20
)

// maxProto is protobuf's limit on a serialized message (2 GiB - 1).
const maxProto = math.MaxInt32

// irVersion returns the ONNX IR version that goes with an opset of the
// default domain (onnx/onnx docs/Versioning.md).
func irVersion(opset int) int64 {
	switch {
	case opset <= 11:
		return 6
	case opset <= 14:
		return 7
	case opset <= 18:
		return 8
	case opset <= 20:
		return 9
	}
	return 10
}

// Encode returns m as a serialized ONNX ModelProto.
func Encode(m *ir.Model, opts Options) ([]byte, error) {
	f, err := build(m, opts)
	if err != nil {
		return nil, err
	}
	var buf bytes.Buffer
	buf.Grow(int(f.size))
	if err := f.encode(&buf); err != nil {
		return nil, err
	}
	return buf.Bytes(), nil
}

// Write writes m as an ONNX file at path, atomically. An existing file is
// replaced only with opts.Force.
func Write(m *ir.Model, path string, opts Options) error {
	if !opts.Force {
		if _, err := os.Lstat(path); err == nil {
			return fmt.Errorf("%s: %w", path, atomicfile.ErrExists)
		}
	}
	f, err := build(m, opts)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, opts.Force, func(tmp string) error {
		out, err := os.Create(tmp)
		if err != nil {
			return err
		}
		w := bufio.NewWriterSize(out, 1<<20)
		if err := f.encode(w); err != nil {
			out.Close()
			return err
		}
		if err := w.Flush(); err != nil {
			out.Close()
			return err
		}
		return out.Close()
	})
}

// file is a model ready to serialize: everything but the initializers'
// data is a small protobuf message; the data is streamed from the weights.
type file struct {
	head  []byte // ModelProto without its graph
	graph []byte // GraphProto without its initializers
	inits []*initializer
	size  int64 // total serialized size
}

// initializer is a graph initializer whose raw data is written on encode.
type initializer struct {
	name string
	dims []int64
	f32  []float32 // float32 data, or
	i64  []int64   // int64 data
	head []byte    // TensorProto without raw_data
	size int64     // serialized TensorProto size
}

func (t *initializer) rawLen() int64 {
	if t.i64 != nil {
		return int64(len(t.i64)) * 8
	}
	return int64(len(t.f32)) * 4
}

// finish serializes the parts of m and computes the sizes.
func (b *builder) finish() (*file, error) {
	f := &file{inits: b.inits}
	var graphSize int64
	for _, t := range b.inits {
		dt := int32(onnxpb.TensorProto_FLOAT)
		if t.i64 != nil {
			dt = int32(onnxpb.TensorProto_INT64)
		}
		head, err := proto.MarshalOptions{Deterministic: true}.Marshal(&onnxpb.TensorProto{
			Dims: t.dims, DataType: &dt, Name: proto.String(t.name),
		})
		if err != nil {
			return nil, err
		}
		t.head = head
		n := t.rawLen()
		t.size = int64(len(head)) + int64(protowire.SizeTag(9)) + int64(protowire.SizeVarint(uint64(n))) + n
		graphSize += int64(protowire.SizeTag(5)) + int64(protowire.SizeVarint(uint64(t.size))) + t.size
	}
	g, err := proto.MarshalOptions{Deterministic: true}.Marshal(b.graph)
	if err != nil {
		return nil, err
	}
	f.graph = g
	graphSize += int64(len(g))
	head, err := proto.MarshalOptions{Deterministic: true}.Marshal(b.model)
	if err != nil {
		return nil, err
	}
	f.head = head
	f.size = int64(len(head)) + int64(protowire.SizeTag(7)) + int64(protowire.SizeVarint(uint64(graphSize))) + graphSize
	if f.size > maxProto {
		return nil, fmt.Errorf("the model needs %d MB, more than ONNX's 2 GB limit for a single file (external data is not supported)", f.size>>20)
	}
	return f, nil
}

// encode writes the ModelProto: the model's fields, then its graph (field
// 7) as the graph's small fields followed by each initializer (field 5)
// with its raw_data (field 9). Protobuf allows fields in any order.
func (f *file) encode(w io.Writer) error {
	graphSize := int64(len(f.graph))
	for _, t := range f.inits {
		graphSize += int64(protowire.SizeTag(5)) + int64(protowire.SizeVarint(uint64(t.size))) + t.size
	}
	var hdr []byte
	hdr = append(hdr, f.head...)
	hdr = protowire.AppendTag(hdr, 7, protowire.BytesType)
	hdr = protowire.AppendVarint(hdr, uint64(graphSize))
	hdr = append(hdr, f.graph...)
	if _, err := w.Write(hdr); err != nil {
		return err
	}
	buf := make([]byte, 0, 1<<18)
	for _, t := range f.inits {
		buf = buf[:0]
		buf = protowire.AppendTag(buf, 5, protowire.BytesType)
		buf = protowire.AppendVarint(buf, uint64(t.size))
		buf = append(buf, t.head...)
		buf = protowire.AppendTag(buf, 9, protowire.BytesType)
		buf = protowire.AppendVarint(buf, uint64(t.rawLen()))
		if _, err := w.Write(buf); err != nil {
			return err
		}
		if err := writeRaw(w, t, buf[:cap(buf)]); err != nil {
			return err
		}
	}
	return nil
}

// writeRaw writes an initializer's values little-endian through buf.
func writeRaw(w io.Writer, t *initializer, buf []byte) error {
	if t.i64 != nil {
		per := len(buf) / 8
		for i := 0; i < len(t.i64); i += per {
			chunk := t.i64[i:min(i+per, len(t.i64))]
			b := buf[:len(chunk)*8]
			for j, v := range chunk {
				binary.LittleEndian.PutUint64(b[j*8:], uint64(v))
			}
			if _, err := w.Write(b); err != nil {
				return err
			}
		}
		return nil
	}
	per := len(buf) / 4
	for i := 0; i < len(t.f32); i += per {
		chunk := t.f32[i:min(i+per, len(t.f32))]
		b := buf[:len(chunk)*4]
		for j, v := range chunk {
			binary.LittleEndian.PutUint32(b[j*4:], math.Float32bits(v))
		}
		if _, err := w.Write(b); err != nil {
			return err
		}
	}
	return nil
}
