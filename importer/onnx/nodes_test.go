package onnx

import (
	"testing"

	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/kconv/kconv/internal/onnxpb"
)

// The node decoder gives what proto.Unmarshal gives, on the nodes it
// decodes itself and on those it leaves to protobuf.
func TestNodeDecoderMatchesProtobuf(t *testing.T) {
	s := proto.String
	nodes := map[string]*onnxpb.NodeProto{
		"plain":      {Input: []string{"x"}, Output: []string{"y"}, OpType: s("Relu")},
		"named":      {Input: []string{"a", "", "b"}, Output: []string{"y", "z"}, Name: s("n"), OpType: s("Add"), Domain: s("")},
		"no inputs":  {Output: []string{"c"}, OpType: s("Constant")},
		"empty":      {},
		"domain":     {Input: []string{"x"}, Output: []string{"y"}, OpType: s("Foo"), Domain: s("com.example")},
		"attribute":  {Input: []string{"x"}, Output: []string{"y"}, OpType: s("LeakyRelu"), Attribute: []*onnxpb.AttributeProto{{Name: s("alpha"), F: proto.Float32(0.1), Type: onnxpb.AttributeProto_FLOAT.Enum()}}},
		"doc string": {Input: []string{"x"}, Output: []string{"y"}, OpType: s("Relu"), DocString: s("doc")},
	}
	cases := map[string][]byte{}
	for name, n := range nodes {
		b, err := proto.Marshal(n)
		if err != nil {
			t.Fatal(err)
		}
		cases[name] = b
	}
	// A repeated optional field: the last one wins.
	b := protowire.AppendTag(cases["plain"], fNodeName, protowire.BytesType)
	b = protowire.AppendString(b, "first")
	b = protowire.AppendTag(b, fNodeName, protowire.BytesType)
	cases["name twice"] = protowire.AppendString(b, "second")
	// An unknown field, a varint where a string belongs, a cut string.
	cases["unknown"] = protowire.AppendVarint(protowire.AppendTag(cases["plain"], 99, protowire.VarintType), 7)
	cases["wrong type"] = protowire.AppendVarint(protowire.AppendTag(cases["plain"], fNodeInput, protowire.VarintType), 7)
	cases["truncated"] = cases["named"][:len(cases["named"])-1]

	var d nodeDecoder
	for name, b := range cases {
		var want onnxpb.NodeProto
		werr := proto.Unmarshal(b, &want)
		got, err := d.decode(b)
		if (err != nil) != (werr != nil) {
			t.Errorf("%s: error %v, protobuf's %v", name, err, werr)
			continue
		}
		if err == nil && !proto.Equal(got, &want) {
			t.Errorf("%s: decoded %v, protobuf decodes %v", name, got, &want)
		}
	}
	if d.fast(cases["attribute"]) != nil || d.fast(cases["unknown"]) != nil {
		t.Error("the fast path took a node with fields it does not decode")
	}
	if d.fast(cases["named"]) == nil {
		t.Error("the fast path refused a plain node")
	}
}

// splitNodes keeps protobuf's merge of repeated graph fields: the nodes of
// both, in order, and the rest merged as protobuf merges it.
func TestSplitNodesMergesGraphs(t *testing.T) {
	g1 := &onnxpb.GraphProto{Name: proto.String("first"), Node: []*onnxpb.NodeProto{{OpType: proto.String("A")}}}
	g2 := &onnxpb.GraphProto{Name: proto.String("second"), Node: []*onnxpb.NodeProto{{OpType: proto.String("B")}, {OpType: proto.String("C")}}}
	var b []byte
	b = protowire.AppendVarint(protowire.AppendTag(b, 1, protowire.VarintType), 8)
	for _, g := range []*onnxpb.GraphProto{g1, g2} {
		gb, err := proto.Marshal(g)
		if err != nil {
			t.Fatal(err)
		}
		b = protowire.AppendBytes(protowire.AppendTag(b, fModelGraph, protowire.BytesType), gb)
	}
	var want onnxpb.ModelProto
	if err := proto.Unmarshal(b, &want); err != nil {
		t.Fatal(err)
	}
	rest, raw, err := splitNodes(b)
	if err != nil {
		t.Fatal(err)
	}
	var got onnxpb.ModelProto
	if err := proto.Unmarshal(rest, &got); err != nil {
		t.Fatal(err)
	}
	var d nodeDecoder
	for _, r := range raw {
		n, err := d.decode(r)
		if err != nil {
			t.Fatal(err)
		}
		got.Graph.Node = append(got.Graph.Node, n)
	}
	if !proto.Equal(&got, &want) {
		t.Errorf("split and decoded: %v\nprotobuf: %v", &got, &want)
	}
}
