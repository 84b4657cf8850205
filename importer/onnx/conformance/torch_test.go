package conformance

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
)

// torchDir holds the PyTorch exports of ../testdata/torch/make.py: small
// recurrent, text and fully convolutional models with unknown batch and
// sequence (or height and width) dimensions, each with inputs and torch's
// outputs at two shapes.
var torchDir = filepath.Join("..", "testdata", "torch")

// torchTol: torch computes in float32 too, with other summation orders.
const (
	torchRtol = 1e-4
	torchAtol = 1e-5
)

// TestTorchExports imports each PyTorch export (time-major LSTM, GRU and
// RNN nodes between PyTorch's transposes, squeezes and reshapes; multi-
// layer and bidirectional stacks; zero default states and h0/c0 graph
// inputs whose batch is on axis 1; time-major graph inputs and outputs
// (nn.LSTM without batch_first); GRU linear_before_reset=1; nn.Embedding
// over int64 ids; a Conv1D text model; a fully convolutional CNN), runs one
// compiled Program at both saved shapes and compares every output with
// torch's.
func TestTorchExports(t *testing.T) {
	for _, name := range []string{"lstm2bi", "gru_h0", "rnn_relu", "rnn_relu_opset9", "lstm_states", "textcnn", "embed_lstm", "fcn", "lstm_time_major", "gru_time_major_states"} {
		t.Run(name, func(t *testing.T) {
			m, err := onnx.Load(filepath.Join(torchDir, name+".onnx"))
			if err != nil {
				t.Fatal(err)
			}
			// The summary's count is torch's (recurrent biases kept
			// apart, ir.Recurrent.SplitBias).
			b, err := os.ReadFile(filepath.Join(torchDir, name+".params.txt"))
			if err != nil {
				t.Fatal(err)
			}
			if total, _ := m.Params(); fmt.Sprint(total) != strings.TrimSpace(string(b)) {
				t.Errorf("%d parameters, torch counts %s", total, strings.TrimSpace(string(b)))
			}
			p, err := exec.Compile(m, exec.Options{Threads: 2})
			if err != nil {
				t.Fatal(err)
			}
			for _, set := range []string{"a", "b"} {
				ins := readSet(t, name, set, "in")
				if len(ins) == 0 {
					t.Fatalf("no inputs for shape %s", set)
				}
				want := readSet(t, name, set, "out")
				got, err := p.Run(context.Background(), ins)
				if err != nil {
					t.Fatalf("shape %s (%v): %v", set, ins[0].Shape, err)
				}
				if len(got) != len(want) {
					t.Fatalf("shape %s: %d outputs, torch gave %d", set, len(got), len(want))
				}
				for i := range want {
					if err := allCloseTol(got[i], want[i], torchRtol, torchAtol); err != nil {
						t.Errorf("shape %s (%v), output %d: %v", set, ins[0].Shape, i, err)
					}
				}
			}
		})
	}
}

// readSet reads NAME.SET.KIND0.npy, NAME.SET.KIND1.npy, … while they exist.
func readSet(t *testing.T, name, set, kind string) []*ir.Tensor {
	t.Helper()
	var ts []*ir.Tensor
	for i := 0; ; i++ {
		path := filepath.Join(torchDir, fmt.Sprintf("%s.%s.%s%d.npy", name, set, kind, i))
		if _, err := os.Stat(path); err != nil {
			return ts
		}
		shape, data, _, err := tensorio.ReadNPY(path)
		if err != nil {
			t.Fatal(err)
		}
		ts = append(ts, &ir.Tensor{Shape: shape, Data: data})
	}
}

// TestTorchStateBatchMismatch: an h0 whose batch differs from x's is a
// run error, not a crash.
func TestTorchStateBatchMismatch(t *testing.T) {
	m, err := onnx.Load(filepath.Join(torchDir, "gru_h0.onnx"))
	if err != nil {
		t.Fatal(err)
	}
	p, err := exec.Compile(m, exec.Options{Threads: 1})
	if err != nil {
		t.Fatal(err)
	}
	a, b := readSet(t, "gru_h0", "a", "in"), readSet(t, "gru_h0", "b", "in")
	if _, err := p.Run(context.Background(), []*ir.Tensor{a[0], b[1]}); err == nil {
		t.Errorf("x of batch %d with h0 of batch %d: no error", a[0].Shape[0], b[1].Shape[1])
	} else {
		t.Log(err)
	}
}
