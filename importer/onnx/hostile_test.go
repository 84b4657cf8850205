package onnx

import (
	"math/rand"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/kconv/kconv/internal/onnxpb"
	"google.golang.org/protobuf/proto"
)

// convModel is a small valid model: Conv (with weights) → Relu.
func convModel() *gb {
	return newGraph(13).input("x", -1, 2, 5, 5).output("y").
		init(floatT("w", []int64{3, 2, 3, 3}, seq(54))).
		init(floatT("b", []int64{3}, seq(3))).
		node("Conv", "conv_1", []string{"x", "w", "b"}, []string{"c"}, aInts("pads", 1, 1, 1, 1)).
		node("Relu", "relu_1", []string{"c"}, []string{"y"})
}

// TestHostile feeds broken and malicious files: each must give a clean
// one-line error naming the file and the node or initializer, never a panic.
func TestHostile(t *testing.T) {
	valid := convModel().bytes(t)
	cases := []struct {
		name string
		data func(t *testing.T, dir string) []byte
		want []string // substrings of the error
	}{
		{"empty file", func(*testing.T, string) []byte { return nil }, []string{"not an ONNX model"}},
		{"random bytes", func(*testing.T, string) []byte {
			b := make([]byte, 4096)
			rand.New(rand.NewSource(1)).Read(b)
			return b
		}, []string{"not an ONNX model"}},
		{"truncated model", func(*testing.T, string) []byte { return valid[:len(valid)*2/3] }, []string{"not an ONNX model"}},
		{"undefined input", func(t *testing.T, _ string) []byte {
			return newGraph(13).input("x", -1, 4).output("y").
				node("Relu", "relu_1", []string{"nope"}, []string{"y"}).bytes(t)
		}, []string{"node 'relu_1' (op Relu)", "input 'nope' is not defined"}},
		{"cycle", func(t *testing.T, _ string) []byte {
			return newGraph(13).input("x", -1, 4).output("y").
				node("Add", "add_1", []string{"x", "b"}, []string{"a"}).
				node("Relu", "relu_1", []string{"a"}, []string{"b"}).
				node("Relu", "relu_2", []string{"a"}, []string{"y"}).bytes(t)
		}, []string{"is part of a cycle", "(op "}},
		{"unknown op", func(t *testing.T, _ string) []byte {
			return newGraph(13).input("x", -1, 4).output("y").
				node("Foo", "conv_3", []string{"x"}, []string{"y"}).bytes(t)
		}, []string{"node 'conv_3' (op Foo): unsupported op"}},
		{"unknown domain", func(t *testing.T, _ string) []byte {
			b := newGraph(13).input("x", -1, 4).output("y").node("Relu", "r", []string{"x"}, []string{"y"})
			b.g.Node[0].Domain = proto.String("com.example")
			return b.bytes(t)
		}, []string{"node 'r' (op com.example.Relu): unsupported op"}},
		{"huge initializer without data", func(t *testing.T, _ string) []byte {
			b := convModel()
			b.g.Initializer[0] = &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{1000000, 1000000}, DataType: proto.Int32(dtFloat)}
			return b.bytes(t)
		}, []string{"initializer 'w'", "claim"}},
		{"initializer without data", func(t *testing.T, _ string) []byte {
			b := convModel()
			b.g.Initializer[0] = &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{3, 2, 3, 3}, DataType: proto.Int32(dtFloat)}
			return b.bytes(t)
		}, []string{"initializer 'w'", "has no data"}},
		{"raw_data shorter than dims", func(t *testing.T, _ string) []byte {
			b := convModel()
			b.g.Initializer[0].RawData = b.g.Initializer[0].RawData[:40]
			return b.bytes(t)
		}, []string{"initializer 'w'", "raw_data has 40 bytes"}},
		{"negative dims", func(t *testing.T, _ string) []byte {
			b := convModel()
			b.g.Initializer[1].Dims = []int64{-3}
			return b.bytes(t)
		}, []string{"initializer 'b'", "negative dimension"}},
		{"zero strides", func(t *testing.T, _ string) []byte {
			b := convModel()
			b.g.Node[0].Attribute = append(b.g.Node[0].Attribute, aInts("strides", 0, 0))
			return b.bytes(t)
		}, []string{"node 'conv_1' (op Conv)", "strides"}},
		{"kernel of the wrong shape", func(t *testing.T, _ string) []byte {
			b := convModel()
			b.g.Initializer[0] = floatT("w", []int64{3, 4, 3, 3}, seq(108))
			return b.bytes(t)
		}, []string{"node 'conv_1' (op Conv)", "kernel"}},
		{"external data outside the folder", func(t *testing.T, dir string) []byte {
			b := convModel()
			w := b.g.Initializer[0]
			w.RawData = nil
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			w.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("../outside.bin")}}
			os.WriteFile(filepath.Join(dir, "..", "outside.bin"), make([]byte, 216), 0o644)
			return b.bytes(t)
		}, []string{"initializer 'w'", "outside the model's folder"}},
		{"external data at an absolute path", func(t *testing.T, dir string) []byte {
			b := convModel()
			w := b.g.Initializer[0]
			w.RawData = nil
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			w.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("/etc/passwd")}}
			return b.bytes(t)
		}, []string{"initializer 'w'", "outside the model's folder"}},
		{"external data through a symlink out", func(t *testing.T, dir string) []byte {
			out := filepath.Join(filepath.Dir(dir), "secret.bin")
			os.WriteFile(out, make([]byte, 216), 0o644)
			if err := os.Symlink(out, filepath.Join(dir, "w.bin")); err != nil {
				t.Skip("no symlinks:", err)
			}
			b := convModel()
			w := b.g.Initializer[0]
			w.RawData = nil
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			w.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}
			return b.bytes(t)
		}, []string{"initializer 'w'", "external data \"w.bin\""}},
		{"external data is a FIFO", func(t *testing.T, dir string) []byte {
			if err := syscall.Mkfifo(filepath.Join(dir, "w.bin"), 0o644); err != nil {
				t.Skip("no FIFOs:", err)
			}
			return externalW(t, "w.bin")
		}, []string{"initializer 'w'", "external data \"w.bin\"", "not a regular file"}},
		{"external data is a directory", func(t *testing.T, dir string) []byte {
			os.Mkdir(filepath.Join(dir, "w.bin"), 0o755)
			return externalW(t, "w.bin")
		}, []string{"initializer 'w'", "not a regular file"}},
		{"external data is a symlink to a device", func(t *testing.T, dir string) []byte {
			if err := os.Symlink("/dev/zero", filepath.Join(dir, "w.bin")); err != nil {
				t.Skip("no symlinks:", err)
			}
			return externalW(t, "w.bin")
		}, []string{"initializer 'w'", "external data \"w.bin\""}},
		{"external data is a symlink inside the folder", func(t *testing.T, dir string) []byte {
			os.WriteFile(filepath.Join(dir, "real.bin"), make([]byte, 216), 0o644)
			if err := os.Symlink("real.bin", filepath.Join(dir, "w.bin")); err != nil {
				t.Skip("no symlinks:", err)
			}
			return externalW(t, "w.bin")
		}, []string{"initializer 'w'", "symbolic link"}},
		{"external data too short", func(t *testing.T, dir string) []byte {
			os.WriteFile(filepath.Join(dir, "w.bin"), make([]byte, 100), 0o644)
			b := convModel()
			w := b.g.Initializer[0]
			w.RawData = nil
			w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
			w.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String("w.bin")}}
			return b.bytes(t)
		}, []string{"initializer 'w'", "has 100 bytes"}},
		{"value defined twice", func(t *testing.T, _ string) []byte {
			return newGraph(13).input("x", -1, 4).output("y").
				node("Relu", "r1", []string{"x"}, []string{"y"}).
				node("Relu", "r2", []string{"x"}, []string{"y"}).bytes(t)
		}, []string{"node 'r2' (op Relu)", "already defined"}},
		{"symbolic spatial size flattened", func(t *testing.T, _ string) []byte {
			return newGraph(13).input("x", -1, 2, -1, 5).output("y").
				node("Flatten", "flat", []string{"x"}, []string{"y"}, aInt("axis", 2)).bytes(t)
		}, []string{"node 'flat' (op Flatten)", "unknown dimensions"}},
		{"symbolic size in arithmetic", func(t *testing.T, _ string) []byte {
			return newGraph(13).input("x", -1, -1, 4).output("y").
				init(intT("two", 2)).init(intT("shape_rest", 4)).
				node("Shape", "shape", []string{"x"}, []string{"s"}).
				node("Slice", "steps", []string{"s", "one", "two"}, []string{"t"}).
				init(intT("one", 1)).
				node("Mul", "double", []string{"t", "two"}, []string{"t2"}).
				node("Concat", "target", []string{"t2", "shape_rest"}, []string{"shp"}, aInt("axis", 0)).
				node("Reshape", "reshape", []string{"x", "shp"}, []string{"y"}).bytes(t)
		}, []string{"node 'double' (op Mul)", "unknown input dimension"}},
		{"maxpool indices", func(t *testing.T, _ string) []byte {
			return newGraph(13).input("x", -1, 1, 4, 4).output("y", "i").
				node("MaxPool", "pool", []string{"x"}, []string{"y", "i"}, aInts("kernel_shape", 2, 2)).bytes(t)
		}, []string{"node 'pool' (op MaxPool)", "indices"}},
		{"batchnorm training outputs", func(t *testing.T, _ string) []byte {
			b := newGraph(9).input("x", -1, 2, 3, 3).output("y", "m")
			for _, n := range []string{"s", "b", "mu", "v"} {
				b.init(floatT(n, []int64{2}, seq(2)))
			}
			return b.node("BatchNormalization", "bn", []string{"x", "s", "b", "mu", "v"}, []string{"y", "m"}).bytes(t)
		}, []string{"node 'bn' (op BatchNormalization)", "training outputs"}},
		{"conv kernel from an input", func(t *testing.T, _ string) []byte {
			return newGraph(13).input("x", -1, 1, 4, 4).input("w", 1, 1, 3, 3).output("y").
				node("Conv", "conv", []string{"x", "w"}, []string{"y"}).bytes(t)
		}, []string{"node 'conv' (op Conv)", "must be a constant"}},
		{"reshape moving the batch", func(t *testing.T, _ string) []byte {
			return newGraph(13).input("x", -1, 4).output("y").init(intT("s", 2, -1)).
				node("Reshape", "rs", []string{"x", "s"}, []string{"y"}).bytes(t)
		}, []string{"node 'rs' (op Reshape)", "dynamic batch"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "model")
			if err := os.Mkdir(dir, 0o755); err != nil {
				t.Fatal(err)
			}
			data := c.data(t, dir)
			path := filepath.Join(dir, "model.onnx")
			if err := os.WriteFile(path, data, 0o644); err != nil {
				t.Fatal(err)
			}
			m, err := Load(path)
			if err == nil {
				t.Fatalf("imported (%d nodes), expected an error", len(m.Nodes))
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error spans lines: %q", msg)
			}
			if !strings.HasPrefix(msg, path+": ") {
				t.Errorf("error does not name the file: %q", msg)
			}
			for _, w := range c.want {
				if !strings.Contains(msg, w) {
					t.Errorf("error %q lacks %q", msg, w)
				}
			}
		})
	}
}

// externalW is convModel with the weight 'w' in the external file loc.
func externalW(t *testing.T, loc string) []byte {
	b := convModel()
	w := b.g.Initializer[0]
	w.RawData = nil
	w.DataLocation = onnxpb.TensorProto_EXTERNAL.Enum()
	w.ExternalData = []*onnxpb.StringStringEntryProto{{Key: proto.String("location"), Value: proto.String(loc)}}
	return b.bytes(t)
}

// TestMissingFile names the file.
func TestMissingFile(t *testing.T) {
	p := filepath.Join(t.TempDir(), "none.onnx")
	if _, err := Load(p); err == nil || !strings.HasPrefix(err.Error(), p+": ") {
		t.Fatalf("error %v", err)
	}
	if _, err := ReadTensor(p); err == nil || !strings.HasPrefix(err.Error(), p+": ") {
		t.Fatalf("error %v", err)
	}
}

// FuzzDecode checks that no input makes Decode panic.
func FuzzDecode(f *testing.F) {
	f.Add(convModel().bytes(f))
	f.Add([]byte{})
	f.Add(newGraph(9).input("x", -1, 4).output("y").init(intT("s", 0, -1)).
		node("Reshape", "rs", []string{"x", "s"}, []string{"y"}).bytes(f))
	f.Fuzz(func(t *testing.T, data []byte) {
		Decode(data, "")
	})
}

// TestMutatedModels flips bytes of real models: imports may fail but must
// not panic, and their errors must stay one line.
func TestMutatedModels(t *testing.T) {
	paths, _ := filepath.Glob(filepath.Join("testdata", "*", "*", "model.onnx"))
	if len(paths) == 0 {
		t.Skip("no models in testdata")
	}
	rng := rand.New(rand.NewSource(3))
	for _, p := range paths {
		data, err := os.ReadFile(p)
		if err != nil {
			t.Fatal(err)
		}
		for k := 0; k < 20; k++ {
			b := append([]byte(nil), data...)
			for n := 1 + rng.Intn(4); n > 0; n-- {
				b[rng.Intn(len(b))] = byte(rng.Intn(256))
			}
			func() {
				defer func() {
					if r := recover(); r != nil {
						t.Fatalf("%s mutation %d: panic: %v", p, k, r)
					}
				}()
				if _, err := Decode(b, ""); err != nil && strings.Contains(err.Error(), "\n") {
					t.Errorf("%s: multi-line error %q", p, err)
				}
			}()
		}
	}
}
