package keras

import (
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	kimport "github.com/kconv/kconv/importer/keras"
	onnximport "github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// nhwc returns an NCHW tensor laid out NHWC (other ranks unchanged).
func nhwc(x *ir.Tensor) *ir.Tensor {
	if len(x.Shape) != 4 {
		return x
	}
	n, c, h, w := x.Shape[0], x.Shape[1], x.Shape[2], x.Shape[3]
	out := ir.NewTensor(ir.Shape{n, h, w, c}, ir.ChannelsLast)
	for a := 0; a < n; a++ {
		for ch := 0; ch < c; ch++ {
			for y := 0; y < h; y++ {
				for z := 0; z < w; z++ {
					out.Data[((a*h+y)*w+z)*c+ch] = x.Data[((a*c+ch)*h+y)*w+z]
				}
			}
		}
	}
	return out
}

// k3Check writes m (NCHW, as importer/onnx makes PyTorch's models) as
// .keras and Keras 3 .h5, channels_last and channels_first, reads each
// back and checks it computes what m computes (NHWC inputs and image
// outputs for channels_last), within tol of the largest output.
func k3Check(t *testing.T, m *ir.Model, tol float64) []*ir.Model {
	t.Helper()
	in := randomInputs(m, 5)
	want := run(t, m, in)
	var backs []*ir.Model
	for _, c := range []struct {
		file string
		cf   bool
	}{{"m.keras", false}, {"m.h5", false}, {"m_cf.keras", true}} {
		path := filepath.Join(t.TempDir(), c.file)
		var err error
		if strings.HasSuffix(c.file, ".keras") {
			err = WriteKeras3(m, path, K3Options{ChannelsFirst: c.cf})
		} else {
			err = WriteKeras3H5(m, path, K3Options{ChannelsFirst: c.cf})
		}
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		back, err := kimport.Load(path, kimport.Options{})
		if err != nil {
			t.Fatalf("%s: %v", c.file, err)
		}
		bin := in
		if !c.cf {
			bin = make([]*ir.Tensor, len(in))
			for i, x := range in {
				bin[i] = x
				if m.InputTypes()[i].Layout == ir.ChannelsFirst {
					bin[i] = nhwc(x)
				}
			}
		}
		got := run(t, back, bin)
		for k := range want {
			w := want[k]
			if !c.cf && isCFTensor(m.Node(m.Outputs[k]).Out) {
				w = nhwc(w)
			}
			if !got[k].Shape.Equal(w.Shape) {
				t.Fatalf("%s: output %d shape %v, want %v", c.file, k, got[k].Shape, w.Shape)
			}
			worst, big := 0.0, 0.0
			for i := range w.Data {
				worst = math.Max(worst, math.Abs(float64(got[k].Data[i]-w.Data[i])))
				big = math.Max(big, math.Abs(float64(w.Data[i])))
			}
			if worst > tol*math.Max(big, 1) {
				t.Errorf("%s: output %d differs by %g (largest value %g)", c.file, k, worst, big)
			}
		}
		backs = append(backs, back)
	}
	return backs
}

// TestKeras3ChannelsLastGraphs builds NCHW graphs of the forms PyTorch
// exports (ResNet's stem, ShuffleNet's channel shuffle and split,
// MobileNetV3's squeeze-excite with torch's hard_sigmoid, a classifier
// head whose Flatten feeds a Dense, a channel softmax) and checks the
// Keras 3 files compute the same, channels_last and channels_first.
func TestKeras3ChannelsLastGraphs(t *testing.T) {
	const cf = ir.ChannelsFirst
	b := ir.NewBuilder("torch_like")
	x := b.Input("x", ir.Shape{4, 10, 10}, cf)
	conv := b.Add("stem/conv", &ir.Conv2D{Filters: 8, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadExplicit, Pads: [4]int{1, 1, 1, 1}},
		UseBias: true, Activation: ir.Act{Name: ir.ActReLU}, DataFormat: cf}, x)
	pool := b.Add("stem/pool", &ir.Pool2D{Max: true, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 2, SW: 2, Padding: ir.PadExplicit, Pads: [4]int{1, 1, 1, 1}}, DataFormat: cf}, conv)
	// ShuffleNet: reshape (N, 2, 4, H, W), swap, reshape back; split.
	r1 := b.Add("shuffle/r1", &ir.Reshape{Target: ir.Shape{2, 4, 5, 5}}, pool)
	tr := b.Add("shuffle/t", &ir.Transpose{Perm: []int{0, 2, 1, 3, 4}}, r1)
	r2 := b.Add("shuffle/r2", &ir.Reshape{Target: ir.Shape{8, 5, 5}}, tr)
	lo := b.Add("split/lo", &ir.Slice{Axes: []int{1}, Starts: []int{0}, Ends: []int{4}, Steps: []int{1}}, r2)
	hi := b.Add("split/hi", &ir.Slice{Axes: []int{1}, Starts: []int{4}, Ends: []int{8}, Steps: []int{1}}, r2)
	dw := b.Add("branch/dw", &ir.DepthwiseConv2D{Multiplier: 1, Window2D: ir.Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: ir.PadExplicit, Pads: [4]int{1, 1, 1, 1}},
		UseBias: true, DataFormat: cf}, hi)
	bn := b.Add("branch/bn", &ir.BatchNorm{Axis: 1, Epsilon: 1e-5, Center: true, Scale: true}, dw)
	cat := b.Add("cat", &ir.Concat{Axis: 1}, lo, bn)
	// Squeeze-excite with torch's hard_sigmoid and a per-channel scale.
	se := b.Add("se/pool", &ir.GlobalPool2D{KeepDims: true, DataFormat: cf}, cat)
	sec := b.Add("se/fc", &ir.Conv2D{Filters: 8, Window2D: ir.Window2D{KH: 1, KW: 1, SH: 1, SW: 1, Padding: ir.PadValid}, UseBias: true, DataFormat: cf}, se)
	hs := b.Add("se/hsig", &ir.Activation{Act: ir.Act{Name: ir.ActHardSigmoid, Alpha: float64(float32(1.0 / 6)), Beta: 0.5}}, sec)
	mul := b.Add("se/mul", &ir.Binary{Op: ir.BinaryMul}, cat, hs)
	k := b.Add("scale", &ir.Constant{Shape: ir.Shape{1, 8, 1, 1}}, x)
	sc := b.Add("scaled", &ir.Binary{Op: ir.BinaryMul}, mul, k)
	hsw := b.Add("hswish", &ir.Activation{Act: ir.Act{Name: ir.ActHardSwish}}, sc)
	sm := b.Add("chan_softmax", &ir.Activation{Act: ir.Act{Name: ir.ActSoftmax, Axis: 1}}, hsw)
	fl := b.Add("head/flatten", &ir.Flatten{}, hsw)
	w := b.Add("head/w", &ir.Constant{Shape: ir.Shape{200, 3}}, x)
	fc := b.Add("head/fc", &ir.MatMul{}, fl, w)
	// A Flatten feeding only a Dense: the kernel rows are reordered.
	fl2 := b.Add("head2/flatten", &ir.Flatten{}, hsw)
	d2 := b.Add("head2/fc", &ir.Dense{Units: 4, UseBias: true}, fl2)
	m, err := b.Build(fc, sm, d2)
	if err != nil {
		t.Fatal(err)
	}
	zoo.RandomWeights(m, 11)
	backs := k3Check(t, m, 1e-5)
	// Readable names: ONNX node names made valid Keras names.
	for _, name := range []string{"stem_conv", "stem_pool", "stem_pool_pad", "split_lo", "se_hsig", "head_fc"} {
		if backs[0].Node(name) == nil {
			t.Errorf("no layer %s in the .keras file", name)
		}
	}
	if n := backs[0].Node("head_flatten"); n == nil || backs[0].Node(n.Inputs[0]).Class != "Permute" {
		t.Errorf("channels_last: the Flatten before the MatMul does not take a Permute back to NCHW")
	}
	if n := backs[0].Node("head2_flatten"); n == nil || backs[0].Node(n.Inputs[0]).Class == "Permute" {
		t.Errorf("channels_last: the Flatten before a Dense takes a Permute (its kernel rows should be reordered)")
	}
}

// TestKeras3Refusals: Keras 2's hard_sigmoid has no Keras 3 activation;
// padded max pooling of a possibly negative input has no exact Keras form.
func TestKeras3Refusals(t *testing.T) {
	m := poolModel(t, ir.Act{Name: ir.ActTanh}, [4]int{1, 1, 1, 1}, false, 12)
	err := WriteKeras3(m, filepath.Join(t.TempDir(), "m.keras"), K3Options{})
	if err == nil || !strings.Contains(err.Error(), "layer 'pool'") || !strings.Contains(err.Error(), "non-negative") {
		t.Errorf("padded max pooling after tanh: %v", err)
	}
	m = poolModel(t, ir.Act{Name: ir.ActHardSigmoid, Alpha: 0.2, Beta: 0.5}, [4]int{}, false, 12)
	err = WriteKeras3(m, filepath.Join(t.TempDir(), "m.keras"), K3Options{})
	if err == nil || !strings.Contains(err.Error(), "layer 'conv'") || !strings.Contains(err.Error(), "Keras 3's is x/6+0.5") {
		t.Errorf("Keras 2 hard_sigmoid: %v", err)
	}
}

// TestKeras3Zoo converts the torchvision ONNX files of the folders in
// KCONV_ZOO (colon-separated; written by ../shared/bench/export_zoo.py:
// NAME.onnx, NAME.in.npy, NAME.torch.npy) to .keras, channels_last, and
// checks each runs in kconv to torch's output (rtol 1e-3; atol 1e-4, or
// 1e-6 of the largest output magnitude where larger; and within 1e-4 of
// that magnitude overall).
func TestKeras3Zoo(t *testing.T) {
	dirs := os.Getenv("KCONV_ZOO")
	if dirs == "" {
		t.Skip("KCONV_ZOO not set (e.g. KCONV_ZOO=/work/zoo:/work/zoo2): torchvision conversion skipped")
	}
	for _, dir := range filepath.SplitList(dirs) {
		files, _ := filepath.Glob(filepath.Join(dir, "*.onnx"))
		if len(files) == 0 {
			t.Errorf("%s: no .onnx files", dir)
		}
		for _, f := range files {
			name := strings.TrimSuffix(filepath.Base(f), ".onnx")
			t.Run(name, func(t *testing.T) {
				m, err := onnximport.Load(f)
				if err != nil {
					t.Fatal(err)
				}
				out := filepath.Join(t.TempDir(), name+".keras")
				if err := WriteKeras3(m, out, K3Options{}); err != nil {
					t.Fatal(err)
				}
				back, err := kimport.Load(out, kimport.Options{})
				if err != nil {
					t.Fatal(err)
				}
				xs, xd, _, err := tensorio.ReadNPY(filepath.Join(dir, name+".in.npy"))
				if err != nil {
					t.Fatal(err)
				}
				ws, wd, _, err := tensorio.ReadNPY(filepath.Join(dir, name+".torch.npy"))
				if err != nil {
					t.Fatal(err)
				}
				x := &ir.Tensor{Shape: ir.Shape(xs), Layout: ir.ChannelsFirst, Data: xd}
				got := run(t, back, []*ir.Tensor{nhwc(x)})[0]
				if got.Shape.Elements() != int64(len(wd)) {
					t.Fatalf("output %v, torch's %v", got.Shape, ws)
				}
				big := 0.0
				for _, v := range wd {
					big = math.Max(big, math.Abs(float64(v)))
				}
				atol := math.Max(1e-4, 1e-6*big)
				worst := 0.0
				for i, v := range wd {
					d := math.Abs(float64(got.Data[i] - v))
					worst = math.Max(worst, d)
					if d > atol+1e-3*math.Abs(float64(v)) {
						t.Fatalf("output[%d] = %g, torch %g", i, got.Data[i], v)
					}
				}
				// Randomly initialized exports can have tiny outputs
				// (efficientnet_b0: 5e-14), which atol alone would not
				// check: the error must also be small against them.
				if worst > 1e-4*big {
					t.Errorf("max abs diff %g is more than 1e-4 of the largest output %g", worst, big)
				}
				t.Logf("%s: %d layers, max abs diff %g (largest output %g)", name, len(back.Nodes), worst, big)
			})
		}
	}
}

// k3Refused are the ONNX test models with no faithful Keras 3 model and
// the error WriteKeras3 gives.
var k3Refused = map[string]string{
	"test_ConstantPad2d":  "op Pad has no Keras layer", // pads with a value (3.5)
	"test_Conv2d_dilated": "does not allow strides > 1 with dilation > 1",
	"test_ELU":            "ELU with alpha 2: Keras 3's ELU layer does not save alpha",
	// log_softmax on an axis other than the last: Keras 3 has the
	// activation, on the last axis only, and no LogSoftmax layer.
	"test_log_softmax_dim3": "activation log_softmax has no Keras 3 equivalent",
}

// TestKeras3FromONNX converts PyTorch's ONNX test models (importer/onnx
// testdata) to Keras 3 files, channels_last and channels_first; each must
// compute what the imported ONNX model computes.
func TestKeras3FromONNX(t *testing.T) {
	ms, _ := filepath.Glob(filepath.Join("..", "..", "importer", "onnx", "testdata", "onnx-pytorch", "*", "model.onnx"))
	if len(ms) == 0 {
		t.Fatal("no onnx-pytorch cases in importer/onnx/testdata")
	}
	// Keras 3's own ONNX exports: NHWC inputs, Transposes around NCHW
	// convolutions.
	ks, _ := filepath.Glob(filepath.Join(sharedKeras3, "*.onnx"))
	if len(ks) == 0 {
		t.Logf("%s not found: Keras 3 ONNX fixtures skipped", sharedKeras3)
	}
	for _, p := range append(ms, ks...) {
		id := filepath.Base(filepath.Dir(p))
		if strings.HasPrefix(p, sharedKeras3) {
			id = "keras3_" + strings.TrimSuffix(filepath.Base(p), ".onnx")
		}
		t.Run(id, func(t *testing.T) {
			m, err := onnximport.Load(p)
			if err != nil {
				t.Fatal(err)
			}
			if want, ok := k3Refused[id]; ok {
				err := WriteKeras3(m, filepath.Join(t.TempDir(), "m.keras"), K3Options{})
				if err == nil || !strings.Contains(err.Error(), want) {
					t.Fatalf("error %v, want one containing %q", err, want)
				}
				return
			}
			k3Check(t, m, 1e-5)
		})
	}
}

// TestKeras3BuiltChannelsFirst writes the NCHW model of every layer kind
// WriteH5Model knows (channelsFirstModel: depthwise, separable, dilated
// and transposed convolutions, PReLU, upsampling, cropping, padding,
// pooling, merges, Permute, Reshape, Dense, Dropout, ELU) as Keras 3
// files; the ELU with alpha 0.5, which Keras 3 cannot save, is refused.
func TestKeras3BuiltChannelsFirst(t *testing.T) {
	m := channelsFirstModel(t)
	err := WriteKeras3(m, filepath.Join(t.TempDir(), "m.keras"), K3Options{})
	if err == nil || !strings.Contains(err.Error(), "ELU with alpha 0.5") {
		t.Errorf("ELU alpha 0.5: %v", err)
	}
	m = channelsFirstModel(t)
	m.Node("deconv_onnx").Op.(*ir.Conv2DTranspose).Activation.Alpha = 1
	k3Check(t, m, 1e-5)
}
