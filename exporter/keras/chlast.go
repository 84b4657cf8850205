package keras

import (
	"fmt"
	"slices"

	"github.com/kconv/kconv/ir"
)

// nchwToNHWC maps an NCHW axis to its NHWC position.
var nchwToNHWC = [4]int{0, 3, 1, 2}

// ChannelsLast returns a copy of m in which every channels_first (NCHW)
// image tensor is channels_last (NHWC), the layout TensorFlow-backend
// Keras, TFLite and TF.js run. m itself is not changed; a model without
// channels_first tensors is returned as is.
//
// Image inputs become NHWC, and so do the outputs of the layers that state
// a data format (convolutions, pooling, padding, cropping, upsampling),
// of BatchNormalization on the channel axis, and of the ops that work on
// any layout (activations without an axis, Dropout, Clip, merges and
// Concat, Binary with a per-channel constant, which is permuted too;
// Slice, whose axes are renumbered, softmax, whose axis is). Every other op that takes a rank-4
// tensor (Flatten, Reshape, Transpose, Gemm, Pad, …) sees exactly the NCHW
// tensor it saw before: a Transpose (a Keras Permute layer) back to NCHW
// is put before it. A Flatten whose only consumer is a Dense (PyTorch's
// classifier heads) instead flattens the NHWC tensor, and the Dense's
// kernel rows are reordered from C, H, W to H, W, C order. A tensor in NCHW
// that feeds an NHWC layer is transposed to NHWC the same way, and a
// Transpose that only moves channels between first and last disappears.
// Rank-4 model outputs are NHWC.
func ChannelsLast(m *ir.Model) (*ir.Model, error) {
	idx := m.Index()
	isCF := func(name string) bool {
		t := idx[name].Out
		return len(t.Shape) == 4 && t.Layout == ir.ChannelsFirst
	}
	any4 := false
	for _, n := range m.Nodes {
		any4 = any4 || isCF(n.Name)
	}
	if !any4 {
		return m, nil
	}
	c := &chl{m: m, idx: idx, out: &ir.Model{Name: m.Name, Meta: m.Meta, Outputs: nil}, name: map[string]string{},
		cl: map[string]bool{}, cache: map[string]string{}, taken: map[string]bool{},
		consumers: map[string][]*ir.Node{}, isOut: map[string]bool{}, hwcFlat: map[string][3]int{}}
	for _, n := range m.Nodes {
		c.taken[n.Name] = true
		for _, in := range n.Inputs {
			c.consumers[in] = append(c.consumers[in], n)
		}
	}
	for _, o := range m.Outputs {
		c.isOut[o] = true
	}
	for _, n := range m.Nodes {
		if err := c.node(n); err != nil {
			return nil, err
		}
	}
	for _, in := range m.Inputs {
		c.out.Inputs = append(c.out.Inputs, c.name[in])
	}
	for _, o := range m.Outputs {
		if isCFTensor(idx[o].Out) {
			c.out.Outputs = append(c.out.Outputs, c.nhwc(o))
		} else {
			c.out.Outputs = append(c.out.Outputs, c.name[o])
		}
	}
	if err := ir.Prepare(c.out); err != nil {
		return nil, fmt.Errorf("channels_last: %w", err)
	}
	return c.out, nil
}

// chl rewrites a model to channels_last.
type chl struct {
	m     *ir.Model
	idx   map[string]*ir.Node
	out   *ir.Model
	name  map[string]string // original node → node giving its value
	cl    map[string]bool   // original node whose value is now NHWC
	cache map[string]string // inserted transposes
	taken map[string]bool
	// consumers and isOut describe the original graph; hwcFlat holds
	// the (C, H, W) of a Flatten now flattening NHWC, whose Dense
	// takes its kernel rows reordered to match.
	consumers map[string][]*ir.Node
	isOut     map[string]bool
	hwcFlat   map[string][3]int
}

func (c *chl) add(n *ir.Node) string {
	c.out.Nodes = append(c.out.Nodes, n)
	c.taken[n.Name] = true
	return n.Name
}

func (c *chl) fresh(base string) string {
	return uniqueName(base, c.taken)
}

// rank4 reports whether original node name gives a rank-4 tensor.
func (c *chl) rank4(name string) bool { return len(c.idx[name].Out.Shape) == 4 }

// orig returns a node giving original node name's value in its original
// layout.
func (c *chl) orig(name string) string {
	if !c.cl[name] {
		return c.name[name]
	}
	key := name + "\x00nchw"
	if s, ok := c.cache[key]; ok {
		return s
	}
	s := c.add(&ir.Node{Name: c.fresh(c.name[name] + "_nchw"), Class: "Permute", Op: &ir.Transpose{Perm: []int{0, 3, 1, 2}}, Inputs: []string{c.name[name]}})
	c.cache[key] = s
	return s
}

// nhwc returns a node giving rank-4 original node name's value as NHWC.
func (c *chl) nhwc(name string) string {
	if c.cl[name] || !c.rank4(name) {
		return c.name[name]
	}
	key := name + "\x00nhwc"
	if s, ok := c.cache[key]; ok {
		return s
	}
	s := c.add(&ir.Node{Name: c.fresh(c.name[name] + "_nhwc"), Class: "Permute", Op: &ir.Transpose{Perm: []int{0, 2, 3, 1}}, Inputs: []string{c.name[name]}})
	c.cache[key] = s
	return s
}

// keep copies n with inputs in their original layout.
func (c *chl) keep(n *ir.Node) {
	ins := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		ins[i] = c.orig(in)
	}
	c.name[n.Name] = c.add(&ir.Node{Name: n.Name, Class: n.Class, Op: n.Op, Inputs: ins, Weights: n.Weights})
}

// conv copies n with op (a copy stating channels_last) and NHWC inputs.
func (c *chl) convert(n *ir.Node, op ir.Op, outCL bool) {
	ins := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		ins[i] = c.nhwc(in)
	}
	c.name[n.Name] = c.add(&ir.Node{Name: n.Name, Class: n.Class, Op: op, Inputs: ins, Weights: n.Weights})
	c.cl[n.Name] = outCL
}

// anyCL reports whether an input of n is NHWC now.
func (c *chl) anyCL(n *ir.Node) bool {
	for _, in := range n.Inputs {
		if c.cl[in] {
			return true
		}
	}
	return false
}

func (c *chl) node(n *ir.Node) error {
	cf := func(l ir.Layout) bool { return l == ir.ChannelsFirst }
	switch op := n.Op.(type) {
	case *ir.Input:
		if len(n.Out.Shape) == 4 && cf(n.Out.Layout) {
			s := n.Out.Shape
			o := *op
			o.Type = ir.TensorType{Shape: ir.Shape{s[0], s[2], s[3], s[1]}, Layout: ir.ChannelsLast}
			c.name[n.Name] = c.add(&ir.Node{Name: n.Name, Class: n.Class, Op: &o})
			c.cl[n.Name] = true
			return nil
		}
	case *ir.Conv2D:
		if cf(op.DataFormat) {
			o := *op
			o.DataFormat = ir.ChannelsLast
			c.convert(n, &o, true)
			return nil
		}
	case *ir.DepthwiseConv2D:
		if cf(op.DataFormat) {
			o := *op
			o.DataFormat = ir.ChannelsLast
			c.convert(n, &o, true)
			return nil
		}
	case *ir.SeparableConv2D:
		if cf(op.DataFormat) {
			o := *op
			o.DataFormat = ir.ChannelsLast
			c.convert(n, &o, true)
			return nil
		}
	case *ir.Conv2DTranspose:
		if cf(op.DataFormat) {
			o := *op
			o.DataFormat = ir.ChannelsLast
			c.convert(n, &o, true)
			return nil
		}
	case *ir.Pool2D:
		if cf(op.DataFormat) {
			o := *op
			o.DataFormat = ir.ChannelsLast
			c.convert(n, &o, true)
			return nil
		}
	case *ir.GlobalPool2D:
		if cf(op.DataFormat) {
			o := *op
			o.DataFormat = ir.ChannelsLast
			c.convert(n, &o, op.KeepDims)
			return nil
		}
	case *ir.ZeroPadding2D:
		if cf(op.DataFormat) {
			o := *op
			o.DataFormat = ir.ChannelsLast
			c.convert(n, &o, true)
			return nil
		}
	case *ir.Cropping2D:
		if cf(op.DataFormat) {
			o := *op
			o.DataFormat = ir.ChannelsLast
			c.convert(n, &o, true)
			return nil
		}
	case *ir.UpSampling2D:
		if cf(op.DataFormat) {
			o := *op
			o.DataFormat = ir.ChannelsLast
			c.convert(n, &o, true)
			return nil
		}
	case *ir.BatchNorm:
		if c.rank4(n.Inputs[0]) && (c.cl[n.Inputs[0]] || isCFTensor(c.idx[n.Inputs[0]].Out)) && op.Axis == 1 {
			o := *op
			o.Axis = -1
			c.convert(n, &o, true)
			return nil
		}
	case *ir.Activation:
		if c.cl[n.Inputs[0]] {
			o := *op
			if axisAct(op.Act) {
				a := op.Act.Axis
				if a < 0 {
					a += 4
				}
				if a < 0 || a > 3 {
					break
				}
				o.Act.Axis = nchwToNHWC[a]
			}
			c.convert(n, &o, true)
			return nil
		}
	case *ir.Dropout, *ir.Clip:
		if c.cl[n.Inputs[0]] {
			c.convert(n, op, true)
			return nil
		}
	case *ir.Merge:
		if c.anyCL(n) && c.all4(n) {
			o := *op
			if op.Mode == ir.MergeConcat {
				o.Axis = nchwToNHWC[(op.Axis+4)%4]
			}
			c.convert(n, &o, true)
			return nil
		}
	case *ir.Concat:
		if c.anyCL(n) && c.all4(n) {
			c.convert(n, &ir.Concat{Axis: nchwToNHWC[op.Axis]}, true)
			return nil
		}
	case *ir.Slice:
		if c.rank4(n.Inputs[0]) && isCFTensor(c.idx[n.Inputs[0]].Out) || c.cl[n.Inputs[0]] {
			o := *op
			o.Axes = make([]int, len(op.Axes))
			for i, a := range op.Axes {
				if a < 0 {
					a += 4
				}
				if a < 0 || a > 3 {
					c.keep(n)
					return nil
				}
				o.Axes[i] = nchwToNHWC[a]
			}
			c.convert(n, &o, true)
			return nil
		}
	case *ir.Binary:
		if c.anyCL(n) {
			return c.binary(n, op)
		}
	case *ir.Flatten:
		// A Flatten feeding only a Dense flattens NHWC, and the Dense's
		// kernel rows are reordered from C, H, W to H, W, C: no Permute.
		in := n.Inputs[0]
		s := c.idx[in].Out.Shape
		cons := c.consumers[n.Name]
		if c.cl[in] && c.rank4(in) && !op.ChannelsFirst && !c.isOut[n.Name] && len(cons) == 1 && s[1] > 0 && s[2] > 0 && s[3] > 0 {
			if _, ok := cons[0].Op.(*ir.Dense); ok && len(cons[0].Inputs) == 1 {
				c.name[n.Name] = c.add(&ir.Node{Name: n.Name, Class: n.Class, Op: op, Inputs: []string{c.name[in]}})
				c.hwcFlat[n.Name] = [3]int{s[1], s[2], s[3]}
				return nil
			}
		}
	case *ir.Dense:
		if chw, ok := c.hwcFlat[n.Inputs[0]]; ok {
			return c.denseHWC(n, chw)
		}
	case *ir.Transpose:
		// Transposes between NHWC and NCHW (Keras 3's and tf2onnx's
		// exports put them around NCHW convolutions) cancel against the
		// layout change: to NHWC of an NHWC value is that value, and to
		// NCHW of an NHWC value is that value standing for the NCHW one.
		in := n.Inputs[0]
		if c.rank4(in) && slices.Equal(op.Perm, []int{0, 2, 3, 1}) && c.cl[in] {
			c.name[n.Name] = c.name[in]
			return nil
		}
		if c.rank4(in) && slices.Equal(op.Perm, []int{0, 3, 1, 2}) && !c.cl[in] {
			c.name[n.Name] = c.name[in]
			c.cl[n.Name] = true
			return nil
		}
	case *ir.Constant:
		// Copied as is; binary makes NHWC copies where needed.
	}
	c.keep(n)
	return nil
}

// isCFTensor reports whether t is a rank-4 tensor in NCHW: stated so, or
// without a layout in a model whose images are NCHW (after a Reshape).
func isCFTensor(t ir.TensorType) bool {
	return len(t.Shape) == 4 && t.Layout != ir.ChannelsLast
}

// all4 reports whether every input of n is rank 4.
func (c *chl) all4(n *ir.Node) bool {
	for _, in := range n.Inputs {
		if !c.rank4(in) {
			return false
		}
	}
	return true
}

// axisAct reports whether an activation depends on an axis.
func axisAct(a ir.Act) bool { return a.Name == ir.ActSoftmax || a.Name == ir.ActLogSoftmax }

// binary converts a Binary with an NHWC input: two rank-4 computed
// tensors, or one and a constant broadcast against it (permuted to NHWC).
func (c *chl) binary(n *ir.Node, op *ir.Binary) error {
	ins := make([]string, len(n.Inputs))
	for i, in := range n.Inputs {
		k := c.idx[in]
		if _, ok := k.Op.(*ir.Constant); ok {
			s, err := c.constNHWC(k)
			if err != nil || s == "" {
				c.keep(n)
				return err
			}
			ins[i] = s
			continue
		}
		if !c.rank4(in) {
			c.keep(n)
			return nil
		}
		ins[i] = c.nhwc(in)
	}
	c.name[n.Name] = c.add(&ir.Node{Name: n.Name, Class: n.Class, Op: op, Inputs: ins, Weights: n.Weights})
	c.cl[n.Name] = true
	return nil
}

// constNHWC adds a copy of Constant node k broadcast against an NCHW
// tensor, permuted to broadcast against its NHWC form ("" when k has a
// rank above 4).
func (c *chl) constNHWC(k *ir.Node) (string, error) {
	op := k.Op.(*ir.Constant)
	s := op.Shape
	if len(s) > 4 {
		return "", nil
	}
	key := k.Name + "\x00nhwc"
	if name, ok := c.cache[key]; ok {
		return name, nil
	}
	full := make(ir.Shape, 4)
	for i := range full {
		full[i] = 1
	}
	copy(full[4-len(s):], s)
	ns := ir.Shape{full[0], full[2], full[3], full[1]}
	var ws []*ir.Weight
	if len(k.Weights) == 1 {
		d, err := k.Weights[0].Data()
		if err != nil {
			return "", &ir.LayerError{Layer: k.Name, Err: err}
		}
		nd := make([]float32, len(d))
		N, C, H, W := full[0], full[1], full[2], full[3]
		if N*C*H*W != len(d) {
			return "", &ir.LayerError{Layer: k.Name, Err: fmt.Errorf("constant of shape %v has %d values", s, len(d))}
		}
		for a := 0; a < N; a++ {
			for ch := 0; ch < C; ch++ {
				for y := 0; y < H; y++ {
					for x := 0; x < W; x++ {
						nd[((a*H+y)*W+x)*C+ch] = d[((a*C+ch)*H+y)*W+x]
					}
				}
			}
		}
		ws = []*ir.Weight{ir.ConstWeight(k.Weights[0].Name, ns, nd)}
	}
	name := c.add(&ir.Node{Name: c.fresh(k.Name + "_nhwc"), Class: k.Class, Op: &ir.Constant{Shape: ns}, Weights: ws})
	c.cache[key] = name
	return name, nil
}

// denseHWC copies Dense node n, which takes a Flatten of an NCHW tensor of
// (C, H, W) = chw now flattened NHWC, with its kernel rows reordered: row
// (y·W + x)·C + c of the new kernel is row c·H·W + y·W + x of the old.
func (c *chl) denseHWC(n *ir.Node, chw [3]int) error {
	if len(n.Weights) < 1 || len(n.Specs) < 1 || n.Specs[0].Name != "kernel" {
		return &ir.LayerError{Layer: n.Name, Err: fmt.Errorf("dense has no kernel")}
	}
	k, err := n.Weights[0].Data()
	if err != nil {
		return &ir.LayerError{Layer: n.Name, Err: err}
	}
	C, H, W := chw[0], chw[1], chw[2]
	ks := n.Specs[0].Shape
	if len(ks) != 2 || ks[0] != C*H*W || int64(len(k)) != ks.Elements() {
		return &ir.LayerError{Layer: n.Name, Err: fmt.Errorf("kernel %v does not take %d inputs", ks, C*H*W)}
	}
	units := ks[1]
	nk := make([]float32, len(k))
	for ch := 0; ch < C; ch++ {
		for y := 0; y < H; y++ {
			for x := 0; x < W; x++ {
				copy(nk[((y*W+x)*C+ch)*units:][:units], k[((ch*H+y)*W+x)*units:][:units])
			}
		}
	}
	ws := append([]*ir.Weight{ir.ConstWeight(n.Weights[0].Name, ks.Clone(), nk)}, n.Weights[1:]...)
	c.name[n.Name] = c.add(&ir.Node{Name: n.Name, Class: n.Class, Op: n.Op, Inputs: []string{c.name[n.Inputs[0]]}, Weights: ws})
	return nil
}
