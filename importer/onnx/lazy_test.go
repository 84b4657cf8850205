package onnx

import (
	"encoding/binary"
	"fmt"
	"math"
	"math/rand"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"

	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"
)

// smallLimits makes every raw_data lazy and every conversion go through
// many small chunks, for the duration of a test.
func smallLimits(t *testing.T) {
	im, ce, cr, cb := inlineMax, chunkElems, chunkMinRows, chunkBytes
	inlineMax, chunkElems, chunkMinRows, chunkBytes = 0, 5, 1, 6
	t.Cleanup(func() { inlineMax, chunkElems, chunkMinRows, chunkBytes = im, ce, cr, cb })
}

// weightsOf returns every weight's data by node and weight name.
func weightsOf(t *testing.T, m *ir.Model) map[string][]float32 {
	t.Helper()
	out := map[string][]float32{}
	for _, n := range m.Nodes {
		for _, w := range n.Weights {
			d, err := w.Data()
			if err != nil {
				t.Fatalf("%s/%s: %v", n.Name, w.Name, err)
			}
			out[n.Name+"/"+w.Name] = d
		}
	}
	return out
}

func randT(rng *rand.Rand, name string, dims ...int64) *onnxpb.TensorProto {
	n := int64(1)
	for _, d := range dims {
		n *= d
	}
	v := make([]float32, n)
	for i := range v {
		v[i] = float32(rng.Intn(200) - 100)
	}
	return floatT(name, dims, v)
}

// TestLazyLayouts reads every converted kernel layout from the file, in
// chunks that split rows, and compares with an in-memory import.
func TestLazyLayouts(t *testing.T) {
	rng := rand.New(rand.NewSource(5))
	half := func(name string, dims []int64, v []float32) *onnxpb.TensorProto {
		raw := make([]byte, 2*len(v))
		for i, x := range v {
			// Small integers are exact in float16: bits from float32.
			b := math.Float32bits(x)
			h := uint16(b>>16)&0x8000 | uint16((b>>23&0xff-112)<<10) | uint16(b>>13&0x3ff)
			if x == 0 {
				h = 0
			}
			binary.LittleEndian.PutUint16(raw[2*i:], h)
		}
		return &onnxpb.TensorProto{Name: proto.String(name), Dims: dims, DataType: proto.Int32(dtFloat16), RawData: raw}
	}
	models := map[string]*gb{
		"conv": newGraph(13).input("x", -1, 4, 5, 5).output("y").
			init(randT(rng, "w", 6, 2, 3, 2)).init(randT(rng, "b", 6)).
			node("Conv", "conv", []string{"x", "w", "b"}, []string{"y"}, aInt("group", 2)),
		"depthwise": newGraph(13).input("x", -1, 3, 5, 5).output("y").
			init(randT(rng, "w", 6, 1, 2, 3)).
			node("Conv", "conv", []string{"x", "w"}, []string{"y"}, aInt("group", 3)),
		"conv transpose": newGraph(13).input("x", -1, 3, 3, 3).output("y").
			init(randT(rng, "w", 3, 4, 2, 3)).
			node("ConvTranspose", "ct", []string{"x", "w"}, []string{"y"}),
		"gemm transB": newGraph(13).input("a", -1, 7).output("y").
			init(randT(rng, "b", 3, 7)).init(randT(rng, "c", 3)).
			node("Gemm", "gemm", []string{"a", "b", "c"}, []string{"y"}, aInt("transB", 1), aFloat("alpha", 2), aFloat("beta", 0.5)),
		"gemm alpha": newGraph(13).input("a", -1, 7).output("y").
			init(randT(rng, "b", 7, 3)).
			node("Gemm", "gemm", []string{"a", "b"}, []string{"y"}, aFloat("alpha", 3)),
		"matmul float16": newGraph(13).input("a", -1, 7).output("y").
			init(half("b", []int64{7, 3}, seq(21))).
			node("MatMul", "mm", []string{"a", "b"}, []string{"y"}),
		"gemm float16 transB": newGraph(13).input("a", -1, 7).output("y").
			init(half("b", []int64{3, 7}, seq(21))).
			node("Gemm", "gemm", []string{"a", "b"}, []string{"y"}, aInt("transB", 1)),
	}
	for name, b := range models {
		t.Run(name, func(t *testing.T) {
			want := weightsOf(t, decodeT(t, b))
			path := b.write(t, t.TempDir())
			smallLimits(t)
			m, err := Load(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := weightsOf(t, m); !reflect.DeepEqual(got, want) {
				t.Errorf("from the file:\n%v\nin memory:\n%v", got, want)
			}
		})
	}
}

// TestRawDataIsLazy: Load reads no weight data; weights read the file when
// first needed, from the file Load opened.
func TestRawDataIsLazy(t *testing.T) {
	smallLimits(t)
	dir := t.TempDir()
	b := convModel()
	path := b.write(t, dir)
	m, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	// Rewrite the kernel's bytes in place: a lazy weight sees the change.
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	raw := b.g.Initializer[0].RawData
	at := strings.Index(string(data), string(raw))
	if at < 0 {
		t.Fatal("raw_data not found in the file")
	}
	f, err := os.OpenFile(path, os.O_WRONLY, 0)
	if err != nil {
		t.Fatal(err)
	}
	var four [4]byte
	binary.LittleEndian.PutUint32(four[:], math.Float32bits(-7))
	if _, err := f.WriteAt(four[:], int64(at)); err != nil {
		t.Fatal(err)
	}
	f.Close()
	// A file replaced under the path is not the one the weights read.
	if err := os.Rename(path, path+".old"); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	k, err := m.Node("conv_1").Weights[0].Data()
	if err != nil {
		t.Fatal(err)
	}
	// Kernel (kh, kw, in, out)[0,0,0,0] = ONNX W[0,0,0,0].
	if k[0] != -7 || k[1] != 19 {
		t.Errorf("kernel[0,0,0,:2] = %v, want [-7 19]", k[:2])
	}
	// Truncated since: a clean error.
	if err := os.Truncate(path+".old", int64(at)+8); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Node("conv_1").Weights[1].Data(); err == nil || !strings.Contains(err.Error(), "raw_data") {
		t.Errorf("bias from a truncated file: %v", err)
	}
}

// TestRawDataWire covers wire forms strip must treat as protobuf does.
func TestRawDataWire(t *testing.T) {
	tensor := func(tp *onnxpb.TensorProto, extra ...byte) []byte {
		b, err := proto.Marshal(tp)
		if err != nil {
			t.Fatal(err)
		}
		return append(b, extra...)
	}
	// model builds convModel with initializer w's bytes replaced.
	model := func(w []byte) []byte {
		b := convModel()
		b.g.Initializer = b.g.Initializer[1:]
		g, err := proto.Marshal(b.g)
		if err != nil {
			t.Fatal(err)
		}
		g = protowire.AppendTag(g, fGraphInit, protowire.BytesType)
		g = protowire.AppendBytes(g, w)
		b.m.Graph = nil
		m, err := proto.Marshal(b.m)
		if err != nil {
			t.Fatal(err)
		}
		m = protowire.AppendTag(m, fModelGraph, protowire.BytesType)
		return protowire.AppendBytes(m, g)
	}
	w := floatT("w", []int64{3, 2, 3, 3}, seq(54))
	wrong := floatT("w", []int64{3, 2, 3, 3}, make([]float32, 54))
	marker := protowire.AppendVarint(protowire.AppendTag(nil, fTensorRawIndex, protowire.VarintType), 0)
	noData := &onnxpb.TensorProto{Name: proto.String("w"), Dims: []int64{3, 2, 3, 3}, DataType: proto.Int32(dtFloat)}
	cases := map[string]struct {
		data []byte
		err  string // "" for kernel = seq(54)
	}{
		// Protobuf keeps the last raw_data.
		"raw_data twice": {data: model(tensor(wrong, tensor(&onnxpb.TensorProto{RawData: w.RawData})...))},
		// A marker in the file is not strip's: the tensor has no data.
		"forged marker":                {data: model(tensor(noData, marker...)), err: "has no data"},
		"forged marker after raw_data": {data: model(tensor(w, marker...))},
	}
	for name, c := range cases {
		t.Run(name, func(t *testing.T) {
			for _, lazy := range []bool{false, true} {
				if lazy {
					smallLimits(t)
				}
				path := filepath.Join(t.TempDir(), "model.onnx")
				if err := os.WriteFile(path, c.data, 0o644); err != nil {
					t.Fatal(err)
				}
				var want onnxpb.ModelProto
				if err := proto.Unmarshal(c.data, &want); err != nil {
					t.Fatal(err)
				}
				m, err := Load(path)
				if c.err != "" {
					if err == nil || !strings.Contains(err.Error(), c.err) {
						t.Fatalf("lazy %v: error %v, want %q", lazy, err, c.err)
					}
					continue
				}
				if err != nil {
					t.Fatalf("lazy %v: %v", lazy, err)
				}
				raw := want.GetGraph().GetInitializer()[1].GetRawData()
				k, err := m.Node("conv_1").Weights[0].Data()
				if err != nil {
					t.Fatal(err)
				}
				// Kernel (kh, kw, in, out)[0,0,0,1] = ONNX W[1,0,0,0].
				if v := math.Float32frombits(binary.LittleEndian.Uint32(raw[4*18:])); k[1] != v || v != 19 {
					t.Errorf("lazy %v: kernel[0,0,0,1] = %v, protobuf's raw_data says %v", lazy, k[1], v)
				}
			}
		})
	}
}

// TestConcurrentReads reads lazy weights from many goroutines (run with
// -race).
func TestConcurrentReads(t *testing.T) {
	smallLimits(t)
	rng := rand.New(rand.NewSource(9))
	b := newGraph(13).input("x", -1, 4, 5, 5).output("y")
	in := "x"
	for i := 0; i < 8; i++ {
		w, out := fmt.Sprintf("w%d", i), fmt.Sprintf("c%d", i)
		b.init(randT(rng, w, 4, 4, 3, 3)).node("Conv", out, []string{in, w}, []string{out}, aInts("pads", 1, 1, 1, 1))
		in = out
	}
	b.node("Relu", "relu", []string{in}, []string{"y"})
	want := weightsOf(t, decodeT(t, b))
	m, err := Load(b.write(t, t.TempDir()))
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	errs := make(chan error, 64)
	for g := 0; g < 8; g++ {
		for _, n := range m.Nodes {
			for _, w := range n.Weights {
				wg.Go(func() {
					d, err := w.Data()
					if err == nil && !reflect.DeepEqual(d, want[n.Name+"/"+w.Name]) {
						err = fmt.Errorf("%s: wrong data", n.Name)
					}
					if err != nil {
						errs <- err
					}
				})
			}
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Error(err)
	}
}
