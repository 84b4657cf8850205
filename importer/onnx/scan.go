package onnx

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"sync"

	"google.golang.org/protobuf/encoding/protowire"
)

// A model's weights are most of its bytes. The file is therefore not
// unmarshalled as it is: strip scans its wire format and copies everything
// but the raw_data of the tensors the importer reads (the main graph's
// initializers and node attributes' tensors), recording where each
// raw_data lies instead. The copy, a few kilobytes for a CNN, is what
// proto.Unmarshal sees; each stripped TensorProto carries a marker field
// (unknown to the schema) with the index of its record. Weights later read
// their bytes from the file with ReadAt, straight into their float32
// buffers.

// Field numbers of onnx.proto that strip follows.
const (
	fModelGraph     = 7
	fGraphNode      = 1
	fGraphInit      = 5
	fNodeAttr       = 5
	fAttrTensor     = 5
	fTensorRawData  = 9
	fTensorRawIndex = protowire.MaxValidNumber // the marker, never an ONNX field
)

// inlineMax is the raw_data size up to which strip keeps a copy in memory
// (shape operands and the like, read during import).
var inlineMax = 4 << 10

// rawRef is where one stripped raw_data lies in the model's bytes.
type rawRef struct {
	off, n int64
	inline []byte // a copy of small data (or of all, when there is no file)
}

// wire message kinds strip descends into.
type wireKind int

const (
	kModel wireKind = iota
	kGraph
	kNode
	kAttr
	kTensor
)

// wireChild gives the kind of the embedded message at field num of a
// message of kind k (-1: not followed).
func wireChild(k wireKind, num protowire.Number) wireKind {
	switch {
	case k == kModel && num == fModelGraph:
		return kGraph
	case k == kGraph && num == fGraphNode:
		return kNode
	case k == kGraph && num == fGraphInit:
		return kTensor
	case k == kNode && num == fNodeAttr:
		return kAttr
	case k == kAttr && num == fAttrTensor:
		return kTensor
	}
	return -1
}

// stripper rewrites a serialized ModelProto without its raw_data.
type stripper struct {
	inlineAll bool // keep every raw_data in memory (no file to read later)
	refs      []rawRef
}

// strip returns a copy of the ModelProto b with the raw_data fields of
// the tensors the importer reads replaced by markers, and their records.
// Stripping every occurrence of raw_data (a TensorProto may be split
// across occurrences of its field, which protobuf merges) keeps
// protobuf's rule: the last marker, like the last raw_data, wins.
func strip(b []byte, inlineAll bool) ([]byte, []rawRef, error) {
	s := &stripper{inlineAll: inlineAll}
	// The copy is at most as long as b, and as long when the model has
	// no weights (a huge graph of small nodes): sized so, up to 64 MiB,
	// it does not grow by doubling. A copy much shorter than its buffer
	// (a model of large weights) is moved to one of its own size.
	out, err := s.message(make([]byte, 0, min(len(b), 64<<20)), b, 0, kModel)
	if err != nil {
		return nil, nil, err
	}
	if cap(out) > 2*len(out)+64<<10 {
		out = append([]byte(nil), out...)
	}
	return out, s.refs, nil
}

// message appends the rewritten message b (at offset off of the model) of
// kind k to out.
func (s *stripper) message(out, b []byte, off int64, k wireKind) ([]byte, error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, protowire.ParseError(m)
		}
		field := b[:n+m]
		switch {
		case k == kTensor && num == fTensorRawIndex:
			// A marker in the file itself: dropped, only strip's count.
		case typ != protowire.BytesType:
			out = append(out, field...)
		case k == kTensor && num == fTensorRawData:
			v, _ := protowire.ConsumeBytes(b[n:])
			start := off + int64(n+m-len(v))
			ref := rawRef{off: start, n: int64(len(v))}
			if s.inlineAll || len(v) <= inlineMax {
				ref.inline = append([]byte{}, v...)
			}
			out = protowire.AppendTag(out, fTensorRawIndex, protowire.VarintType)
			out = protowire.AppendVarint(out, uint64(len(s.refs)))
			s.refs = append(s.refs, ref)
		default:
			child := wireChild(k, num)
			if child < 0 || (child == kNode && !hasAttribute(b[n:n+m])) {
				// Nothing to strip inside: copied as it is (a node
				// without attributes, most of a huge graph's).
				out = append(out, field...)
				break
			}
			// The child is rewritten in place after room for the
			// longest length prefix, then moved down over the unused
			// room: one copy of a graph of a million nodes, not a
			// buffer of its own grown by doubling and then copied.
			v, _ := protowire.ConsumeBytes(b[n:])
			out = protowire.AppendTag(out, num, protowire.BytesType)
			lp := len(out)
			out = append(out, make([]byte, binary.MaxVarintLen64)...)
			var err error
			out, err = s.message(out, v, off+int64(n+m-len(v)), child)
			if err != nil {
				return nil, err
			}
			body := len(out) - lp - binary.MaxVarintLen64
			k := len(protowire.AppendVarint(out[:lp], uint64(body))) - lp
			copy(out[lp+k:], out[lp+binary.MaxVarintLen64:])
			out = out[:lp+k+body]
		}
		b = b[n+m:]
		off += int64(n + m)
	}
	return out, nil
}

// hasAttribute reports whether the serialized NodeProto field value (with
// its length prefix) has an attribute field, or is malformed (left to
// message to report).
func hasAttribute(lv []byte) bool {
	b, n := protowire.ConsumeBytes(lv)
	if n < 0 {
		return true
	}
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 || num == fNodeAttr {
			return true
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return true
		}
		b = b[n+m:]
	}
	return false
}

// rawIndex returns the record index a stripped TensorProto's marker holds:
// the last marker, as protobuf keeps the last raw_data.
func rawIndex(unknown []byte) (int, bool) {
	idx, found := 0, false
	for len(unknown) > 0 {
		num, typ, n := protowire.ConsumeTag(unknown)
		if n < 0 {
			return 0, false
		}
		m := protowire.ConsumeFieldValue(num, typ, unknown[n:])
		if m < 0 {
			return 0, false
		}
		if num == fTensorRawIndex && typ == protowire.VarintType {
			v, _ := protowire.ConsumeVarint(unknown[n:])
			idx, found = int(v), v <= uint64(maxInt)
		}
		unknown = unknown[n+m:]
	}
	return idx, found
}

const maxInt = int(^uint(0) >> 1)

// modelFile is a model's bytes: the open file (kept for lazy weights;
// closed by its finalizer once no weight refers to it) or a copy of
// Decode's input.
type modelFile struct {
	r    io.ReaderAt // nil when every raw_data is inline
	size int64
	refs []rawRef
	// scratch holds the buffers weights convert their rows through (see
	// weight): one per reader at a time, reused from weight to weight,
	// rather than a fresh buffer for each, whose first touch costs more
	// than the conversion on machines where page faults are slow.
	scratch sync.Pool
}

// errChanged reports a fault reading the mapped file: another process
// truncated it.
var errChanged = errors.New("the file changed while it was read")

// scanFile reads the structure of the model file f (size bytes): the
// ModelProto without raw_data, and where raw_data lies.
func scanFile(f *os.File, size int64) (stripped []byte, refs []rawRef, err error) {
	data, unmap, err := mapFile(f, size)
	if err != nil {
		return nil, nil, err
	}
	defer unmap()
	// A mapped file that shrinks under us faults: make that an error.
	defer debug.SetPanicOnFault(debug.SetPanicOnFault(true))
	defer func() {
		if r := recover(); r != nil {
			if _, ok := r.(interface{ Addr() uintptr }); !ok {
				panic(r)
			}
			stripped, refs, err = nil, nil, errChanged
		}
	}()
	stripped, refs, err = strip(data, false)
	if err != nil {
		return nil, nil, fmt.Errorf("not an ONNX model: %v", err)
	}
	return stripped, refs, nil
}
