package conformance

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"

	"github.com/kconv/kconv/exec"
	onnxexport "github.com/kconv/kconv/exporter/onnx"
	"github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
)

// TestVariableLengthReadBack: the variable-length keras-seq file 22
// ((None, None, 3) input; Bidirectional LSTMs around a RepeatVector),
// exported to ONNX with its time axis unknown, reads back with that axis
// unknown and runs at several lengths to the Keras model's kconv output.
func TestVariableLengthReadBack(t *testing.T) {
	m, err := load.Model(filepath.Join("..", "..", "keras", "testdata", "seq22_tfk_bilstm_repeatvector_varlen.h5"), load.Options{})
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "varlen.onnx")
	if err := onnxexport.Write(m, path, onnxexport.Options{}); err != nil {
		t.Fatal(err)
	}
	back, err := onnx.Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if s := back.InputTypes()[0].Shape; !s.Equal(ir.Shape{-1, -1, 3}) {
		t.Errorf("read back with input %v, want (None, None, 3)", s)
	}
	p1, err := exec.Compile(m, exec.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	p2, err := exec.Compile(back, exec.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	for _, T := range []int{1, 4, 9} {
		x := ir.NewTensor(ir.Shape{2, T, 3}, ir.LayoutNone)
		for i := range x.Data {
			x.Data[i] = float32((i*37)%11)/5 - 1
		}
		want, err := p1.Run(context.Background(), []*ir.Tensor{x})
		if err != nil {
			t.Fatal(err)
		}
		got, err := p2.Run(context.Background(), []*ir.Tensor{x})
		if err != nil {
			t.Fatalf("length %d: %v", T, err)
		}
		if err := allCloseTol(got[0], want[0], 1e-5, 1e-6); err != nil {
			t.Errorf("length %d: %v", T, fmt.Errorf("read back vs Keras: %w", err))
		}
	}
}
