package onnx

import (
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/kconv/kconv/internal/onnxpb"
)

// A graph of a million small nodes spends most of its unmarshalling in
// protobuf's generic, reflection-driven decoder: a string and a slice per
// input and output, a pointer per optional string, a growing slice of
// node pointers. The nodes are therefore split off the model's bytes
// (splitNodes) and decoded by decodeNode, which reads the fields a node of
// such a graph has with protowire into one string per node and one slice
// for its inputs and outputs. A node with any other field (or a malformed
// one) is left to proto.Unmarshal, so that what the import sees is what
// protobuf would decode.

// Field numbers of onnx.proto that decodeNode reads.
const (
	fNodeInput  = 1
	fNodeOutput = 2
	fNodeName   = 3
	fNodeOpType = 4
	fNodeDomain = 7
)

// splitNodes returns the ModelProto b without its graph's nodes, and the
// serialized nodes (sub-slices of b) in order. Protobuf merges repeated
// occurrences of the graph field: their nodes are returned in order, as
// protobuf would append them, and the rest is left to protobuf to merge.
func splitNodes(b []byte) (rest []byte, nodes [][]byte, err error) {
	for len(b) > 0 {
		num, typ, n := protowire.ConsumeTag(b)
		if n < 0 {
			return nil, nil, protowire.ParseError(n)
		}
		m := protowire.ConsumeFieldValue(num, typ, b[n:])
		if m < 0 {
			return nil, nil, protowire.ParseError(m)
		}
		if num != fModelGraph || typ != protowire.BytesType {
			rest = append(rest, b[:n+m]...)
			b = b[n+m:]
			continue
		}
		g, _ := protowire.ConsumeBytes(b[n:])
		if nodes == nil {
			// Sized at once: a million nodes would grow it twenty times.
			nodes = make([][]byte, 0, countNodes(g))
		}
		var graph []byte
		for len(g) > 0 {
			gnum, gtyp, k := protowire.ConsumeTag(g)
			if k < 0 {
				return nil, nil, protowire.ParseError(k)
			}
			l := protowire.ConsumeFieldValue(gnum, gtyp, g[k:])
			if l < 0 {
				return nil, nil, protowire.ParseError(l)
			}
			if gnum == fGraphNode && gtyp == protowire.BytesType {
				v, _ := protowire.ConsumeBytes(g[k:])
				nodes = append(nodes, v)
			} else {
				graph = append(graph, g[:k+l]...)
			}
			g = g[k+l:]
		}
		rest = protowire.AppendTag(rest, fModelGraph, protowire.BytesType)
		rest = protowire.AppendBytes(rest, graph)
		b = b[n+m:]
	}
	return rest, nodes, nil
}

// countNodes returns the number of node fields of the GraphProto g (as far
// as it is well formed).
func countNodes(g []byte) int {
	k := 0
	for len(g) > 0 {
		num, typ, n := protowire.ConsumeTag(g)
		if n < 0 {
			break
		}
		m := protowire.ConsumeFieldValue(num, typ, g[n:])
		if m < 0 {
			break
		}
		if num == fGraphNode && typ == protowire.BytesType {
			k++
		}
		g = g[n+m:]
	}
	return k
}

// nodeDecoder decodes NodeProtos, sharing the op type and domain strings
// of every node with the same ones.
type nodeDecoder struct {
	interned map[string]*string
	last     *string // the last string interned: graphs repeat an op
}

func (d *nodeDecoder) intern(s string) *string {
	if d.last != nil && *d.last == s {
		return d.last
	}
	if p, ok := d.interned[s]; ok {
		d.last = p
		return p
	}
	if d.interned == nil {
		d.interned = map[string]*string{}
	}
	v := s // the slow path only: a pointer to s would move s to the heap on every call
	p := &v
	d.interned[s] = p
	d.last = p
	return p
}

// decode decodes the serialized NodeProto b.
func (d *nodeDecoder) decode(b []byte) (*onnxpb.NodeProto, error) {
	if n := d.fast(b); n != nil {
		return n, nil
	}
	n := &onnxpb.NodeProto{}
	if err := proto.Unmarshal(b, n); err != nil {
		return nil, err
	}
	return n, nil
}

// fast decodes b when it holds only inputs, outputs, a name, an op type
// and a domain, well formed; otherwise it returns nil.
func (d *nodeDecoder) fast(b []byte) *onnxpb.NodeProto {
	// First pass: check the fields and count the inputs and outputs.
	nin, nout := 0, 0
	for p := b; len(p) > 0; {
		num, typ, n := protowire.ConsumeTag(p)
		if n < 0 || typ != protowire.BytesType {
			return nil
		}
		_, m := protowire.ConsumeBytes(p[n:])
		if m < 0 {
			return nil
		}
		switch num {
		case fNodeInput:
			nin++
		case fNodeOutput:
			nout++
		case fNodeName, fNodeOpType, fNodeDomain:
		default:
			return nil
		}
		p = p[n+m:]
	}
	// Every string is a substring of one copy of the node's bytes.
	s := string(b)
	var names []string
	if nin+nout > 0 {
		names = make([]string, 0, nin+nout)
	}
	node := &onnxpb.NodeProto{}
	var ins, outs []string
	if nin > 0 {
		ins = names[0:0:nin]
	}
	if nout > 0 {
		outs = names[nin : nin : nin+nout]
	}
	off := 0
	for off < len(s) {
		num, _, n := protowire.ConsumeTag(b[off:])
		v, m := protowire.ConsumeBytes(b[off+n:])
		start := off + n + m - len(v)
		str := s[start : start+len(v)]
		switch num {
		case fNodeInput:
			ins = append(ins, str)
		case fNodeOutput:
			outs = append(outs, str)
		case fNodeName:
			name := str
			node.Name = &name
		case fNodeOpType:
			node.OpType = d.intern(str)
		case fNodeDomain:
			node.Domain = d.intern(str)
		}
		off += n + m
	}
	node.Input, node.Output = ins, outs
	return node
}
