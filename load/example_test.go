package load_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kconv/kconv/exec"
	"github.com/kconv/kconv/exporter/onnx"
	"github.com/kconv/kconv/feed"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/load"
	"github.com/kconv/kconv/summary"
)

// The model these examples use: a small VGG16-like Keras 3 model with
// weights, from exec's testdata.
var modelPath = filepath.Join("..", "exec", "testdata", "vgg16_mini.h5")

// Load a model from any file kconv reads (Keras .h5/.keras/.json, ONNX) or
// a builtin name, and look at its inputs and outputs.
func ExampleModel() {
	m, err := load.Model(modelPath, load.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(m.Meta.Format, len(m.Nodes), "nodes")
	fmt.Println("input", m.InputTypes()[0].Shape, "output", m.Node(m.Outputs[0]).Out.Shape)
	// Output:
	// keras-h5 39 nodes
	// input (None, 64, 64, 3) output (None, 10)
}

// Print the model's summary as Keras would (here only its totals).
func ExampleModel_summary() {
	m, err := load.Model(modelPath, load.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	var b strings.Builder
	if err := summary.Render(&b, m, summary.StyleFor(m)); err != nil {
		fmt.Println(err)
		return
	}
	for _, line := range strings.Split(b.String(), "\n") {
		if strings.Contains(line, "params:") {
			fmt.Println(strings.TrimSpace(line))
		}
	}
	// Output:
	// Total params: 281,266 (1.07 MB)
	// Trainable params: 281,266 (1.07 MB)
	// Non-trainable params: 0 (0.00 B)
}

// Run the model on a tensor: compile it once into a Program (safe for
// concurrent Runs), then run it on a batch.
func ExampleModel_run() {
	m, err := load.Model(modelPath, load.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := m.LoadWeights(); err != nil {
		fmt.Println(err)
		return
	}
	p, err := exec.Compile(m, exec.Options{Threads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	x := ir.NewTensor(ir.Shape{2, 64, 64, 3}, ir.ChannelsLast) // a batch of two
	for i := range x.Data {
		x.Data[i] = float32(i%255) / 255
	}
	out, err := p.Run(context.Background(), []*ir.Tensor{x})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(out[0].Shape)
	// Output:
	// (2, 10)
}

// Run the model on an image: package feed decodes it, resizes it to the
// model's input and preprocesses it (here explicitly with Keras's "tf"
// mode; by default, as the architecture expects when kconv knows it).
func ExampleModel_image() {
	m, err := load.Model(modelPath, load.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	if err := m.LoadWeights(); err != nil {
		fmt.Println(err)
		return
	}
	tf, err := feed.Preprocessing("tf")
	if err != nil {
		fmt.Println(err)
		return
	}
	x, _, err := feed.Read(m, []string{filepath.Join("..", "feed", "testdata", "gradient.png")}, feed.Options{Normalize: &tf})
	if err != nil {
		fmt.Println(err)
		return
	}
	p, err := exec.Compile(m, exec.Options{Threads: 1})
	if err != nil {
		fmt.Println(err)
		return
	}
	out, err := p.Run(context.Background(), []*ir.Tensor{x})
	if err != nil {
		fmt.Println(err)
		return
	}
	var sum float32
	for _, v := range out[0].Data {
		sum += v
	}
	fmt.Printf("input %v, %d class scores summing to %.2f\n", x.Shape, len(out[0].Data), sum)
	// Output:
	// input (1, 64, 64, 3), 10 class scores summing to 1.00
}

// Convert the model to ONNX and read the file back.
func ExampleModel_onnx() {
	m, err := load.Model(modelPath, load.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	dir, err := os.MkdirTemp("", "kconv-example")
	if err != nil {
		fmt.Println(err)
		return
	}
	defer os.RemoveAll(dir)
	path := filepath.Join(dir, "model.onnx")
	if err := onnx.Write(m, path, onnx.Options{}); err != nil {
		fmt.Println(err)
		return
	}
	back, err := load.Model(path, load.Options{})
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(back.Meta.Format, "input", back.InputTypes()[0].Shape, "output", back.Node(back.Outputs[0]).Out.Shape)
	// Output:
	// onnx input (None, 64, 64, 3) output (None, 10)
}
