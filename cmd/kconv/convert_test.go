package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/protobuf/proto"

	"github.com/kconv/kconv/exec"
	kimport "github.com/kconv/kconv/importer/keras"
	onnximport "github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
)

var onnxTD = filepath.Join("..", "..", "importer", "onnx", "testdata", "onnx-pytorch")

// TestConvertONNXToH5 converts ONNX files to Keras h5: a PyTorch export
// (NCHW: a channels_first Keras model) and, when ../shared is there, a
// Keras 3 export. The file read back computes what the ONNX model does.
func TestConvertONNXToH5(t *testing.T) {
	files := []string{filepath.Join(onnxTD, "test_Conv2d_strided", "model.onnx"), filepath.Join(onnxTD, "test_BatchNorm2d_eval", "model.onnx")}
	if k := filepath.Join("..", "..", "..", "shared", "fixtures", "keras3", "cifar_small.onnx"); fileExists(k) {
		files = append(files, k)
	} else {
		t.Logf("%s not found: skipped", k)
	}
	for _, in := range files {
		t.Run(filepath.Base(filepath.Dir(in))+"/"+filepath.Base(in), func(t *testing.T) {
			out := filepath.Join(t.TempDir(), "model.h5")
			code, stdout, stderr := kconv(t, "convert", in, out)
			if code != 0 || strings.TrimSpace(stdout) != "wrote "+out {
				t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
			}
			m, err := onnximport.Load(in)
			if err != nil {
				t.Fatal(err)
			}
			back, err := kimport.Load(out, kimport.Options{})
			if err != nil {
				t.Fatal(err)
			}
			in := ir.NewTensor(m.InputTypes()[0].Shape.Clone(), m.InputTypes()[0].Layout)
			if in.Shape[0] < 0 {
				in = ir.NewTensor(append(ir.Shape{2}, in.Shape[1:]...), in.Layout)
			}
			for i := range in.Data {
				in.Data[i] = float32(i%17)/8 - 1
			}
			want, got := runModel(t, m, in), runModel(t, back, in)
			if !want.Shape.Equal(got.Shape) {
				t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
			}
			for i := range want.Data {
				if got.Data[i] != want.Data[i] {
					t.Fatalf("output[%d] = %g, want %g", i, got.Data[i], want.Data[i])
				}
			}
		})
	}
}

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}

func runModel(t *testing.T, m *ir.Model, x *ir.Tensor) *ir.Tensor {
	t.Helper()
	p, err := exec.Compile(m, exec.Options{})
	if err != nil {
		t.Fatal(err)
	}
	outs, err := p.Run(context.Background(), []*ir.Tensor{x})
	if err != nil {
		t.Fatal(err)
	}
	return outs[0]
}

func TestConvertONNX(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "cifar.onnx")
	in := filepath.Join(kerasTD, "cifar_small.h5")
	code, stdout, stderr := kconv(t, "convert", in, out, "--opset", "17", "--batch", "2", "--input-nchw")
	if code != 0 || strings.TrimSpace(stdout) != "wrote "+out {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	data, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	var m onnxpb.ModelProto
	if err := proto.Unmarshal(data, &m); err != nil {
		t.Fatal(err)
	}
	if got := m.OpsetImport[0].GetVersion(); got != 17 {
		t.Errorf("opset %d, want 17", got)
	}
	var dims []int64
	for _, d := range m.Graph.Input[0].GetType().GetTensorType().GetShape().GetDim() {
		dims = append(dims, d.GetDimValue())
	}
	if len(dims) != 4 || dims[0] != 2 || dims[1] != 3 || dims[2] != 32 || dims[3] != 32 {
		t.Errorf("input dims %v, want [2 3 32 32]", dims)
	}

	// OUT exists: refused without --force, replaced with it.
	code, _, stderr = kconv(t, "convert", in, out)
	if code != 1 || !strings.Contains(stderr, "exists") {
		t.Errorf("overwrite without --force: exit %d %s", code, stderr)
	}
	if code, stdout, stderr = kconv(t, "convert", in, out, "--force"); code != 0 {
		t.Errorf("--force: exit %d %s%s", code, stdout, stderr)
	}
}

func TestConvertErrors(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(kerasTD, "cifar_small.h5")
	cases := []struct {
		args []string
		code int
		want string
	}{
		{[]string{"convert", "vgg16", filepath.Join(dir, "v.onnx")}, 1, "--random-weights"},
		{[]string{"convert", in, filepath.Join(dir, "m.keras"), "--keras", "2"}, 2, ".keras files are Keras 3"},
		{[]string{"convert", in, filepath.Join(dir, "m.h5"), "--keras", "4"}, 2, "kconv writes Keras 2 and 3"},
		{[]string{"convert", in, filepath.Join(dir, "m.h5"), "--channels-first"}, 2, "--channels-first applies to Keras 3 output"},
		{[]string{"convert", in, filepath.Join(dir, "m.onnx"), "--channels-first"}, 2, "--channels-first applies to Keras output"},
		{[]string{"convert", filepath.Join(onnxTD, "test_ConstantPad2d", "model.onnx"), filepath.Join(dir, "m.keras")}, 1, "op Pad has no Keras layer"},
		{[]string{"convert", in, filepath.Join(dir, "m.h5"), "--opset", "13"}, 2, "--opset applies to .onnx output"},
		{[]string{"convert", in, filepath.Join(dir, "m.h5"), "--input-nchw"}, 2, "--input-nchw applies to .onnx output"},
		{[]string{"convert", filepath.Join(onnxTD, "test_ConstantPad2d", "model.onnx"), filepath.Join(dir, "m.h5")}, 1, "op Pad has no Keras layer"},
		{[]string{"convert", in, filepath.Join(dir, "m.pb")}, 2, "unknown format"},
		{[]string{"convert", in, filepath.Join(dir, "m.onnx"), "--batch", "0"}, 2, "--batch"},
		{[]string{"convert", in, filepath.Join(dir, "m.onnx"), "--batch", "x"}, 2, "--batch"},
		{[]string{"convert", in, filepath.Join(dir, "m.onnx"), "--opset", "9"}, 2, "--opset"},
		{[]string{"convert", in}, 2, "needs"},
		{[]string{"convert", filepath.Join(dir, "missing.h5"), filepath.Join(dir, "m.onnx")}, 1, "missing.h5"},
	}
	for _, c := range cases {
		code, stdout, stderr := kconv(t, c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("%v: exit %d (want %d), stderr %q (want %q)%s", c.args[1:], code, c.code, stderr, c.want, stdout)
		}
		if n := strings.Count(strings.TrimSpace(strings.Split(stderr, "Run 'kconv")[0]), "\n"); n != 0 {
			t.Errorf("%v: error is not one line: %q", c.args[1:], stderr)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 0 {
		t.Errorf("files left behind: %v", ents)
	}
}

// TestConvertBuiltinRandom converts a builtin with random weights. The full
// VGG16 writes 553 MB, so it runs only without -short.
func TestConvertBuiltinRandom(t *testing.T) {
	if testing.Short() {
		t.Skip("writes the 553 MB VGG16")
	}
	out := filepath.Join(t.TempDir(), "vgg16.onnx")
	code, stdout, stderr := kconv(t, "convert", "vgg16", out, "--random-weights", "--seed", "3")
	if code != 0 {
		t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
	}
	st, err := os.Stat(out)
	if err != nil {
		t.Fatal(err)
	}
	if st.Size() < 138357544*4 {
		t.Errorf("%s has %d bytes, less than VGG16's weights", out, st.Size())
	}
}

// toNHWC returns an NCHW tensor's values laid out NHWC (other ranks as
// they are).
func toNHWC(x *ir.Tensor) *ir.Tensor {
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

// TestConvertONNXToKeras3 converts PyTorch ONNX exports to .keras and
// Keras 3 .h5, channels_last by default (NHWC input, NHWC image outputs)
// and channels_first with --channels-first; each file read back computes
// what the ONNX model does.
func TestConvertONNXToKeras3(t *testing.T) {
	for _, name := range []string{"test_Conv2d_strided", "test_BatchNorm2d_eval", "test_MaxPool2d", "test_ConvTranspose2d"} {
		in := filepath.Join(onnxTD, name, "model.onnx")
		if !fileExists(in) {
			continue
		}
		for _, c := range []struct {
			out   string
			flags []string
			cl    bool
		}{{"m.keras", nil, true}, {"m.h5", []string{"--keras", "3"}, true}, {"m.keras", []string{"--channels-first"}, false}} {
			t.Run(name+"/"+c.out+strings.Join(c.flags, ""), func(t *testing.T) {
				out := filepath.Join(t.TempDir(), c.out)
				code, stdout, stderr := kconv(t, append([]string{"convert", in, out}, c.flags...)...)
				if code != 0 {
					t.Fatalf("exit %d\n%s%s", code, stdout, stderr)
				}
				m, err := onnximport.Load(in)
				if err != nil {
					t.Fatal(err)
				}
				back, err := kimport.Load(out, kimport.Options{})
				if err != nil {
					t.Fatal(err)
				}
				x := ir.NewTensor(m.InputTypes()[0].Shape.Clone(), m.InputTypes()[0].Layout)
				if x.Shape[0] < 0 {
					x = ir.NewTensor(append(ir.Shape{2}, x.Shape[1:]...), x.Layout)
				}
				for i := range x.Data {
					x.Data[i] = float32(i%17)/8 - 1
				}
				want := runModel(t, m, x)
				bx := x
				if c.cl {
					bx, want = toNHWC(x), toNHWC(want)
					if l := back.InputTypes()[0].Layout; l != ir.ChannelsLast {
						t.Errorf("input layout %s, want channels_last", l)
					}
				}
				got := runModel(t, back, bx)
				if !want.Shape.Equal(got.Shape) {
					t.Fatalf("shape %v, want %v", got.Shape, want.Shape)
				}
				for i := range want.Data {
					if d := got.Data[i] - want.Data[i]; d > 1e-5 || d < -1e-5 {
						t.Fatalf("output[%d] = %g, want %g", i, got.Data[i], want.Data[i])
					}
				}
			})
		}
	}
}
