package zoo

import (
	"fmt"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/kconv/kconv/ir"
)

// Builtins maps a builtin name to its constructor.
var builtins = map[string]func() (*ir.Model, error){
	"vgg16":             VGG16,
	"vgg16_torchvision": VGG16Torchvision,
}

// Names lists the builtin architectures: fast.ai's vgg16, torchvision's
// VGG16 and the keras.applications models by their base names (each also
// exists as NAME_notop, NAME_avg and NAME_max without its top, and, where
// keras.applications had Theano files, with a "_th" suffix; see
// ParseVariant).
func Names() []string {
	var ns []string
	for n := range builtins {
		ns = append(ns, n)
	}
	for _, a := range apps {
		ns = append(ns, a.Name)
	}
	sort.Strings(ns)
	return ns
}

// Lookup returns the builtin architecture name (without weights).
func Lookup(name string) (*ir.Model, error) {
	if f, ok := builtins[name]; ok {
		return f()
	}
	if a, cfg, ok := ParseVariant(name); ok {
		return a.Build(cfg)
	}
	return nil, fmt.Errorf("no builtin model %q (have %v; keras.applications ones also as NAME_notop, NAME_avg, NAME_max, NAME_th)", name, Names())
}

// VGG16 is fast.ai's Keras 1 VGG16 (vgg16.py), exactly as its summary in
// testdata/vgg16_summary.txt shows it: a vgg_preprocess Lambda on a
// channels-first (3, 224, 224) input, 13 × (ZeroPadding2D(1) +
// Convolution2D 3×3 relu) in five blocks each closed by MaxPooling2D 2×2,
// Flatten, Dense 4096 relu, Dropout 0.5, Dense 4096 relu, Dropout 0.5, Dense
// 1000 softmax: 138,357,544 parameters. It has no weights; see RandomWeights.
func VGG16() (*ir.Model, error) {
	const df = ir.ChannelsFirst
	b := ir.NewBuilder("sequential_1")
	b.Input("lambda_input_1", ir.Shape{3, 224, 224}, df)
	b.Add("lambda_1", &ir.Lambda{Function: "vgg_preprocess", OutputShape: ir.Shape{3, 224, 224}})
	conv, pad, pool := 0, 0, 0
	for _, block := range []struct{ layers, filters int }{{2, 64}, {2, 128}, {3, 256}, {3, 512}, {3, 512}} {
		for i := 0; i < block.layers; i++ {
			pad++
			b.Add(fmt.Sprintf("zeropadding2d_%d", pad), &ir.ZeroPadding2D{Pads: [4]int{1, 1, 1, 1}, DataFormat: df})
			conv++
			b.AddClass(fmt.Sprintf("convolution2d_%d", conv), "Convolution2D", &ir.Conv2D{
				Filters:    block.filters,
				Window2D:   ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadValid},
				UseBias:    true,
				Activation: ir.Act{Name: "relu"},
				DataFormat: df,
			})
		}
		pool++
		b.Add(fmt.Sprintf("maxpooling2d_%d", pool), &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 2, KW: 2, SH: 2, SW: 2}, DataFormat: df})
	}
	b.Add("flatten_1", &ir.Flatten{})
	b.Add("dense_1", &ir.Dense{Units: 4096, UseBias: true, Activation: ir.Act{Name: "relu"}})
	b.Add("dropout_1", &ir.Dropout{Rate: 0.5})
	b.Add("dense_2", &ir.Dense{Units: 4096, UseBias: true, Activation: ir.Act{Name: "relu"}})
	b.Add("dropout_2", &ir.Dropout{Rate: 0.5})
	b.Add("dense_3", &ir.Dense{Units: 1000, UseBias: true, Activation: ir.Act{Name: "softmax", Axis: -1}})
	m, err := b.Build()
	if err != nil {
		return nil, err
	}
	m.Meta = ir.Meta{Format: "builtin", KerasVersion: "1.2.2", Backend: "theano", Source: "vgg16", Sequential: true, Preprocess: "none"}
	return m, nil
}

// VGG16Torchvision is VGG16 as torchvision lays it out (the usual ONNX
// VGG16): channels-first (3, 224, 224) input without preprocessing, 13
// 3×3 convolutions with padding 1 and ReLU, five 2×2 max pools, flatten,
// Linear 4096 + ReLU + Dropout twice, Linear 1000 (logits, no softmax);
// 138,357,544 parameters, 30.9 GFLOP per image. Names follow torchvision's
// modules (features.N, classifier.N).
func VGG16Torchvision() (*ir.Model, error) {
	const df = ir.ChannelsFirst
	b := ir.NewBuilder("vgg16")
	b.Input("input", ir.Shape{3, 224, 224}, df)
	idx := 0
	for _, block := range []struct{ layers, filters int }{{2, 64}, {2, 128}, {3, 256}, {3, 512}, {3, 512}} {
		for i := 0; i < block.layers; i++ {
			b.Add(fmt.Sprintf("features.%d", idx), &ir.Conv2D{
				Filters:    block.filters,
				Window2D:   ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadExplicit, Pads: [4]int{1, 1, 1, 1}},
				UseBias:    true,
				Activation: ir.Act{Name: "relu"},
				DataFormat: df,
			})
			idx += 2 // torchvision numbers the Conv and its ReLU
		}
		b.Add(fmt.Sprintf("features.%d", idx), &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 2, KW: 2, SH: 2, SW: 2}, DataFormat: df})
		idx++
	}
	b.Add("flatten", &ir.Flatten{})
	b.Add("classifier.0", &ir.Dense{Units: 4096, UseBias: true, Activation: ir.Act{Name: "relu"}})
	b.Add("classifier.2", &ir.Dropout{Rate: 0.5})
	b.Add("classifier.3", &ir.Dense{Units: 4096, UseBias: true, Activation: ir.Act{Name: "relu"}})
	b.Add("classifier.5", &ir.Dropout{Rate: 0.5})
	b.Add("classifier.6", &ir.Dense{Units: 1000, UseBias: true})
	m, err := b.Build()
	if err != nil {
		return nil, err
	}
	m.Meta = ir.Meta{Format: "builtin", Source: "vgg16_torchvision", Preprocess: "torch"}
	return m, nil
}

// RandomWeights attaches seeded random weights to every weighted node of m:
// kernels uniform in ±sqrt(6/(fan_in+fan_out)) (Glorot), biases small,
// batch-norm statistics near their identity. The same seed gives the same
// weights.
func RandomWeights(m *ir.Model, seed uint64) {
	r := rand.New(rand.NewPCG(seed, 0x6b636f6e76))
	for _, n := range m.Nodes {
		n.Weights = n.Weights[:0]
		for _, s := range n.Specs {
			data := make([]float32, s.Shape.Elements())
			fill(r, s, data)
			n.Weights = append(n.Weights, ir.ConstWeight(s.Name, s.Shape.Clone(), data))
		}
	}
}

// LazyRandomWeights is RandomWeights with weights generated when first
// read (and again after a Release), each from its own stream of the seed
// (so its values differ from RandomWeights'): writing a large model then
// needs memory for one weight at a time.
func LazyRandomWeights(m *ir.Model, seed uint64) {
	for ni, n := range m.Nodes {
		n.Weights = n.Weights[:0]
		for wi, s := range n.Specs {
			stream := uint64(ni)<<8 | uint64(wi)
			n.Weights = append(n.Weights, ir.NewWeight(s.Name, s.Shape.Clone(), ir.Float32, fmt.Sprintf("random(seed %d)", seed),
				ir.SourceFunc(func(dst []float32) error {
					fill(rand.New(rand.NewPCG(seed, stream)), s, dst)
					return nil
				})))
		}
	}
}

// fill draws one weight's values from r.
func fill(r *rand.Rand, s ir.WeightSpec, data []float32) {
	switch s.Name {
	case "moving_variance", "gamma":
		for i := range data {
			data[i] = 0.5 + r.Float32()
		}
	case "bias", "beta", "moving_mean":
		for i := range data {
			data[i] = (r.Float32()*2 - 1) * 0.1
		}
	default:
		fanIn, fanOut := fans(s.Shape)
		lim := float32(math.Sqrt(6 / float64(fanIn+fanOut)))
		for i := range data {
			data[i] = (r.Float32()*2 - 1) * lim
		}
	}
}

func fans(s ir.Shape) (in, out int64) {
	switch len(s) {
	case 0:
		return 1, 1
	case 1:
		return int64(s[0]), int64(s[0])
	case 2:
		return int64(s[0]), int64(s[1])
	}
	rf := int64(1)
	for _, d := range s[:len(s)-2] {
		rf *= int64(d)
	}
	return rf * int64(s[len(s)-2]), rf * int64(s[len(s)-1])
}
