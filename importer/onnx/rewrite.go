package onnx

import (
	"github.com/kconv/kconv/internal/onnxpb"
)

// rewrite replaces an exporter's decomposition of softsign, which kconv
// has as one op, before translation:
//
//	Div(x, Add(Abs(x), 1))  → Softsign(x)   (PyTorch's Softsign, Keras's softsign)
//
// only when the intermediate values have no other use. It works on the
// protobuf nodes because Abs has no IR op; idioms made of ops the IR has are
// IR passes (see Passes: fuse-swish).
func (im *importer) rewrite(nodes []*onnxpb.NodeProto) []*onnxpb.NodeProto {
	hasDiv := false
	for _, n := range nodes {
		hasDiv = hasDiv || n.GetOpType() == "Div"
	}
	if !hasDiv {
		return nodes // no producer map for a graph without Div
	}
	producer := map[string]*onnxpb.NodeProto{}
	consts := map[string]*onnxpb.NodeProto{}
	for _, n := range nodes {
		for _, o := range n.GetOutput() {
			producer[o] = n
		}
		if n.GetOpType() == "Constant" && n.GetDomain() == "" {
			consts[n.GetOutput()[0]] = n
		}
	}
	single := func(name string) bool { return im.useCount(name) == 1 }
	isOne := func(name string) bool {
		if t := im.inits[name]; t != nil {
			v, err := t.scalar()
			return err == nil && v == 1
		}
		if n := consts[name]; n != nil {
			for _, a := range n.GetAttribute() {
				switch a.GetName() {
				case "value":
					t, err := im.initTensor(a.GetT())
					if err != nil {
						return false
					}
					v, err := t.scalar()
					return err == nil && v == 1
				case "value_float":
					return a.GetF() == 1
				}
			}
		}
		return false
	}
	// of returns the producer of name if it is an op of the ONNX domain
	// with one output used once.
	of := func(name, op string) *onnxpb.NodeProto {
		n := producer[name]
		if n == nil || n.GetOpType() != op || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") || len(n.GetOutput()) != 1 || !single(name) {
			return nil
		}
		return n
	}
	drop := map[*onnxpb.NodeProto]bool{}
	repl := map[*onnxpb.NodeProto]*onnxpb.NodeProto{}
	for _, n := range nodes {
		in := n.GetInput()
		if len(in) != 2 || (n.GetDomain() != "" && n.GetDomain() != "ai.onnx") || len(n.GetAttribute()) > 0 {
			continue
		}
		switch n.GetOpType() {
		case "Div":
			add := of(in[1], "Add")
			if add == nil || len(add.GetInput()) != 2 {
				break
			}
			a, b := add.GetInput()[0], add.GetInput()[1]
			if !isOne(b) {
				a, b = b, a
			}
			abs := of(a, "Abs")
			if abs == nil || !isOne(b) || len(abs.GetInput()) != 1 || abs.GetInput()[0] != in[0] {
				break
			}
			drop[add], drop[abs] = true, true
			repl[n] = &onnxpb.NodeProto{Name: n.Name, OpType: ptr("Softsign"), Input: []string{in[0]}, Output: n.GetOutput()}
		}
	}
	if len(repl) == 0 {
		return nodes
	}
	var out []*onnxpb.NodeProto
	for _, n := range nodes {
		switch {
		case drop[n]:
			for _, i := range n.GetInput() {
				im.addUses(i, -1)
			}
		case repl[n] != nil:
			out = append(out, repl[n])
		default:
			out = append(out, n)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }
