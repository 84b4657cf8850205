package zoo

import (
	"fmt"
	"sort"

	"github.com/kconv/kconv/ir"
)

// net wraps ir.Builder for the keras.applications builders: it infers each
// node's output type as it is added (the builders need channel counts and
// spatial sizes, e.g. for MobileNetV2's correct_pad and DenseNet's
// transitions), names unnamed layers as Keras 3 does ("conv2d",
// "conv2d_1", …), and picks Keras 1 class names in Theano ordering.
type net struct {
	b      *ir.Builder
	df     ir.Layout
	theano bool // Keras 1 th: Convolution2D (out, in, kh, kw) kernels
	types  map[string]ir.TensorType
	auto   map[string]int
	last   string
	err    error
}

func newNet(name string, df ir.Layout, theano bool) *net {
	return &net{b: ir.NewBuilder(name), df: df, theano: theano, types: map[string]ir.TensorType{}, auto: map[string]int{}}
}

// name returns name, or Keras 3's automatic name for base when name is "".
func (n *net) name(name, base string) string {
	if name != "" {
		return name
	}
	k := n.auto[base]
	n.auto[base]++
	if k == 0 {
		return base
	}
	return fmt.Sprintf("%s_%d", base, k)
}

func (n *net) input(name string, c, h, w int) string {
	s := ir.Shape{h, w, c}
	if n.df == ir.ChannelsFirst {
		s = ir.Shape{c, h, w}
	}
	n.b.Input(name, s, n.df)
	n.types[name] = ir.TensorType{Shape: append(ir.Shape{ir.Batch}, s...), Layout: n.df}
	n.last = name
	return name
}

// add appends op (display class, "" for the op's own) reading ins (default:
// the last node).
func (n *net) add(name, class string, op ir.Op, ins ...string) string {
	if len(ins) == 0 {
		ins = []string{n.last}
	}
	in := make([]ir.TensorType, len(ins))
	for i, s := range ins {
		in[i] = n.types[s]
	}
	t, err := op.Infer(in)
	if err != nil && n.err == nil {
		n.err = fmt.Errorf("layer '%s': %v", name, err)
	}
	n.b.AddClass(name, class, op, ins...)
	n.types[name] = t
	n.last = name
	return name
}

// channels returns the channel count of a node's output.
func (n *net) channels(name string) int {
	c, _, _, _ := n.types[name].Spatial()
	return c
}

// hw returns the spatial size of a node's output.
func (n *net) hw(name string) (int, int) {
	_, h, w, _ := n.types[name].Spatial()
	return h, w
}

func (n *net) convClass() string {
	if n.theano {
		return "Convolution2D"
	}
	return "Conv2D"
}

// conv adds a Conv2D; pad is "same" or "valid".
func (n *net) conv(name string, filters, kh, kw, sh, sw int, same, bias bool, act ir.ActName, ins ...string) string {
	p := ir.PadValid
	if same {
		p = ir.PadSame
	}
	op := &ir.Conv2D{Filters: filters, Window2D: ir.Window2D{KH: kh, KW: kw, SH: sh, SW: sw, Padding: p}, UseBias: bias, DataFormat: n.df}
	if act != "" {
		op.Activation = ir.Act{Name: act}
	}
	return n.add(n.name(name, "conv2d"), n.convClass(), op, ins...)
}

func (n *net) axis() int {
	if n.df == ir.ChannelsFirst {
		return 1
	}
	return -1
}

// bn adds a BatchNormalization on the channel axis.
func (n *net) bn(name string, eps float64, scale bool, ins ...string) string {
	return n.add(n.name(name, "batch_normalization"), "", &ir.BatchNorm{Axis: n.axis(), Epsilon: eps, Center: true, Scale: scale}, ins...)
}

func (n *net) relu(name string, ins ...string) string {
	return n.add(n.name(name, "activation"), "", &ir.Activation{Act: ir.Act{Name: "relu"}}, ins...)
}

// relu6 adds Keras's ReLU(6.0) layer.
func (n *net) relu6(name string, ins ...string) string {
	return n.add(n.name(name, "re_lu"), "ReLU", &ir.Activation{Act: ir.Act{Name: "relu", MaxValue: 6, HasMax: true}}, ins...)
}

func (n *net) pad(name string, t, b, l, r int, ins ...string) string {
	return n.add(n.name(name, "zero_padding2d"), "", &ir.ZeroPadding2D{Pads: [4]int{t, b, l, r}, DataFormat: n.df}, ins...)
}

func (n *net) pool(name string, max bool, k, s int, same bool, ins ...string) string {
	p := ir.PadValid
	if same {
		p = ir.PadSame
	}
	base := "average_pooling2d"
	if max {
		base = "max_pooling2d"
	}
	return n.add(n.name(name, base), "", &ir.Pool2D{Max: max, Window2D: ir.Window2D{KH: k, KW: k, SH: s, SW: s, Padding: p}, DataFormat: n.df}, ins...)
}

func (n *net) global(name string, max, keep bool, ins ...string) string {
	base := "global_average_pooling2d"
	if max {
		base = "global_max_pooling2d"
	}
	return n.add(n.name(name, base), "", &ir.GlobalPool2D{Max: max, KeepDims: keep, DataFormat: n.df}, ins...)
}

func (n *net) dense(name string, units int, act ir.ActName, ins ...string) string {
	op := &ir.Dense{Units: units, UseBias: true}
	if act != "" {
		op.Activation = ir.Act{Name: act}
		if act == "softmax" {
			op.Activation.Axis = -1
		}
	}
	return n.add(n.name(name, "dense"), "", op, ins...)
}

func (n *net) addMerge(name string, ins ...string) string {
	return n.add(n.name(name, "add"), "", &ir.Merge{Mode: ir.MergeAdd}, ins...)
}

func (n *net) concat(name string, ins ...string) string {
	return n.add(n.name(name, "concatenate"), "", &ir.Merge{Mode: ir.MergeConcat, Axis: n.axis()}, ins...)
}

func (n *net) build() (*ir.Model, error) {
	if n.err != nil {
		return nil, n.err
	}
	m, err := n.b.Build()
	if err != nil {
		return nil, err
	}
	kerasOrder(m)
	return m, nil
}

// kerasOrder puts m's nodes in the order Keras gives a functional model's
// layers (model.layers, which summaries print, save_weights writes and
// load_weights pairs by): by decreasing depth (the longest path to an
// output), ties by their index in a depth-first, pre-order walk from the
// outputs that visits each layer's inputs in order. Decreasing depth is a
// topological order.
func kerasOrder(m *ir.Model) {
	idx := m.Index()
	pre := map[string]int{}
	var post []*ir.Node
	done := map[string]bool{}
	var walk func(n *ir.Node)
	walk = func(n *ir.Node) {
		if done[n.Name] {
			return
		}
		if _, ok := pre[n.Name]; !ok {
			pre[n.Name] = len(pre)
		}
		for _, in := range n.Inputs {
			walk(idx[in])
		}
		done[n.Name] = true
		post = append(post, n)
	}
	for _, o := range m.Outputs {
		walk(idx[o])
	}
	if len(post) != len(m.Nodes) {
		return // nodes that feed no output: keep the builder's order
	}
	depth := map[string]int{}
	for i := len(post) - 1; i >= 0; i-- {
		n := post[i]
		for _, in := range n.Inputs {
			depth[in] = max(depth[in], depth[n.Name]+1)
		}
	}
	sort.SliceStable(m.Nodes, func(i, j int) bool {
		a, b := m.Nodes[i].Name, m.Nodes[j].Name
		if depth[a] != depth[b] {
			return depth[a] > depth[b]
		}
		return pre[a] < pre[b]
	})
}
