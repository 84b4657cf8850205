package onnx

import (
	"fmt"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

// node converts one ONNX node, given the name records of its values when
// known.
func (im *importer) node(n *onnxpb.NodeProto, h nodeHint) error {
	c := &nctx{im: im, n: n, op: n.GetOpType(), out0: -1}
	c.name = nodeName(n)
	if h.known {
		c.ins = h.ins
		if h.out0 >= 0 && c.name == n.GetOutput()[0] {
			c.out0 = h.out0
		}
	}
	if len(n.GetAttribute()) > 0 { // no map for the many nodes without attributes
		c.attrs = make(map[string]*onnxpb.AttributeProto, len(n.GetAttribute()))
	}
	for _, a := range n.GetAttribute() {
		if a.GetRefAttrName() != "" {
			return fmt.Errorf("attribute %s refers to a function attribute", a.GetName())
		}
		c.attrs[a.GetName()] = a
	}
	if d := n.GetDomain(); d != "" && d != "ai.onnx" {
		return errUnsupported
	}
	if len(n.GetOutput()) == 0 {
		return fmt.Errorf("node has no outputs")
	}
	switch c.op {
	case "Slice", "Identity", "RNN", "LSTM", "GRU":
	default:
		for i := range n.GetInput() {
			if v := c.in(i); v != nil && v.zero != nil {
				return v.zero
			}
		}
	}
	if v, i := c.batchAxisIn(); v != nil {
		if done, err := c.batchAxisNode(v, i); done {
			return err
		}
	}
	return im.nodeTranslate(c)
}

// nodeTranslate translates the node by its op.
func (im *importer) nodeTranslate(c *nctx) error {
	switch c.op {
	case "Constant":
		return c.constant()
	case "Identity":
		v, err := c.need(0)
		if err != nil {
			return err
		}
		c.setOut(0, v)
		return nil
	case "Cast":
		to, err := c.int("to", 0)
		if err != nil {
			return err
		}
		return c.castTo(int32(to))
	case "CastLike":
		// Cast to the type of input 1: a constant's own type (integer
		// tensors fold as int64), otherwise float (kconv computes floats).
		like, err := c.need(1)
		if err != nil {
			return err
		}
		to := int32(onnxpb.TensorProto_FLOAT)
		if like.c != nil && like.node == "" && like.c.isInt {
			to = int32(onnxpb.TensorProto_INT64)
		}
		return c.castTo(to)
	case "Shape":
		return c.shape()
	case "ConstantOfShape":
		return c.constantOfShape()
	case "Gather":
		return c.gather()
	case "Slice":
		return c.slice()
	case "Concat":
		return c.concat()
	case "Unsqueeze", "Squeeze":
		return c.squeeze(c.op == "Unsqueeze")
	case "Reshape":
		return c.reshapeOp()
	case "Flatten":
		return c.flatten()
	case "Transpose":
		return c.transpose()
	case "Add", "Sub", "Mul", "Div", "Sum", "Max", "Min", "Mean", "Pow":
		return c.elementwise()
	case "Relu", "Sigmoid", "Tanh", "Softplus", "Softsign", "HardSwish", "Exp", "Erf", "Mish":
		// Attribute-less ops: ir's activation table maps them.
		a, _ := ir.LookupONNXAct(c.op)
		return c.activation(ir.Act{Name: a.Name})
	case "Swish":
		if a, err := c.float("alpha", 1); err != nil || a != 1 {
			return fmtErr(err, "Swish with alpha %g is not supported", a)
		}
		return c.activation(ir.Act{Name: ir.ActSwish})
	case "ThresholdedRelu":
		a, err := c.float("alpha", 1)
		if err != nil {
			return err
		}
		// x where x > alpha, else 0: Keras's ThresholdedReLU (relu with
		// threshold alpha, any sign).
		return c.activation(ir.Act{Name: ir.ActReLU, Threshold: a})
	case "LeakyRelu":
		a, err := c.float("alpha", 0.01)
		if err != nil {
			return err
		}
		return c.activation(ir.Act{Name: ir.ActLeakyReLU, Alpha: a})
	case "Elu":
		a, err := c.float("alpha", 1)
		if err != nil {
			return err
		}
		return c.activation(ir.Act{Name: ir.ActELU, Alpha: a})
	case "Selu":
		return c.selu()
	case "HardSigmoid":
		a, err := c.float("alpha", 0.2)
		if err != nil {
			return err
		}
		b, err := c.float("beta", 0.5)
		if err != nil {
			return err
		}
		return c.activation(ir.Act{Name: ir.ActHardSigmoid, Alpha: a, Beta: b})
	case "Gelu":
		s, err := c.str("approximate", "none")
		if err != nil {
			return err
		}
		if s != "none" && s != "tanh" {
			return fmt.Errorf("unknown approximate %q", s)
		}
		return c.activation(ir.Act{Name: ir.ActGELU, Approximate: s == "tanh"})
	case "Expand":
		return c.expand()
	case "Tile":
		return c.tile()
	case "Range":
		return c.rangeOp()
	case "Equal", "Less", "Greater", "LessOrEqual", "GreaterOrEqual", "And", "Or", "Xor":
		return c.compare()
	case "Where":
		return c.where()
	case "ScatterND":
		return c.scatterND()
	case "Not":
		return c.not()
	case "Einsum":
		return c.einsum()
	case "LayerNormalization":
		return c.layerNorm()
	case "Mod":
		return c.mod()
	case "Sqrt", "Reciprocal", "Neg", "Abs", "Log":
		return c.unary()
	case "Softmax", "LogSoftmax":
		return c.softmax()
	case "PRelu":
		return c.prelu()
	case "Clip":
		return c.clip()
	case "Dropout":
		return c.dropout()
	case "BatchNormalization":
		return c.batchNorm()
	case "LRN":
		return c.lrn()
	case "ReduceMean":
		return c.reduceMean()
	case "Conv":
		return c.conv()
	case "ConvTranspose":
		return c.convTranspose()
	case "MaxPool", "AveragePool":
		return c.pool()
	case "GlobalAveragePool", "GlobalMaxPool":
		return c.globalPool()
	case "Gemm":
		return c.gemm()
	case "MatMul":
		return c.matmul()
	case "Pad":
		return c.pad()
	case "Resize", "Upsample":
		return c.resize()
	case "RNN", "LSTM", "GRU":
		return c.recurrent()
	}
	return errUnsupported
}

func fmtErr(err error, format string, args ...any) error {
	if err != nil {
		return err
	}
	return fmt.Errorf(format, args...)
}
