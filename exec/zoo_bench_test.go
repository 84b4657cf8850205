package exec_test

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/internal/tensorio"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
)

// zooDir returns the folder of torchvision exports named by KCONV_ZOO
// (made by ../shared/bench/export_zoo.py: NAME.onnx, NAME.in.npy,
// NAME.torch.npy), skipping the test when it is unset or holds none.
func zooDir(tb testing.TB) (string, []string) {
	tb.Helper()
	// The first folder of KCONV_ZOO's colon-separated list.
	dir, _, _ := strings.Cut(os.Getenv("KCONV_ZOO"), ":")
	if dir == "" {
		tb.Skip("KCONV_ZOO is not set: no torchvision zoo to compare with (make one with ../shared/bench/export_zoo.py DIR)")
	}
	files, _ := filepath.Glob(filepath.Join(dir, "*.onnx"))
	var names []string
	for _, f := range files {
		name := strings.TrimSuffix(filepath.Base(f), ".onnx")
		if _, err := os.Stat(filepath.Join(dir, name+".torch.npy")); err == nil {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		tb.Skipf("KCONV_ZOO=%s holds no NAME.onnx with NAME.torch.npy", dir)
	}
	return dir, names
}

// zooTensor reads an .npy file as a tensor.
func zooTensor(tb testing.TB, path string) *ir.Tensor {
	tb.Helper()
	shape, data, _, err := tensorio.ReadNPY(path)
	if err != nil {
		tb.Fatal(err)
	}
	return &ir.Tensor{Shape: ir.Shape(shape), Data: data}
}

// BenchmarkZoo times batch-1 runs of every exported model (KCONV_ZOO),
// with the default thread budget; use -cpuprofile to see where time goes.
func BenchmarkZoo(b *testing.B) {
	dir, names := zooDir(b)
	for _, name := range names {
		if only := os.Getenv("KCONV_ZOO_MODEL"); only != "" && only != name {
			continue
		}
		b.Run(name, func(b *testing.B) {
			m, err := load.Model(filepath.Join(dir, name+".onnx"), load.Options{})
			if err != nil {
				b.Fatal(err)
			}
			p, err := exec.Compile(m, exec.Options{Threads: zooThreads()})
			if err != nil {
				b.Fatal(err)
			}
			in := zooTensor(b, filepath.Join(dir, name+".in.npy"))
			in.Shape[0] = 1
			in.Data = in.Data[:in.Shape.Elements()]
			ctx := context.Background()
			if _, err := p.Run(ctx, []*ir.Tensor{in}); err != nil {
				b.Fatal(err)
			}
			b.ResetTimer()
			for range b.N {
				if _, err := p.Run(ctx, []*ir.Tensor{in}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// zooThreads is BenchmarkZoo's thread budget: KCONV_ZOO_THREADS, else 2.
func zooThreads() int {
	if n, err := strconv.Atoi(os.Getenv("KCONV_ZOO_THREADS")); err == nil && n > 0 {
		return n
	}
	return 2
}
