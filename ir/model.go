package ir

import (
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"
)

// Node is one named layer of a model: an op applied to the outputs of other
// nodes.
type Node struct {
	Name string
	// Class is the layer's class name in its source (e.g. Keras 1's
	// "Convolution2D" for a Conv2D op); summaries show it.
	Class  string
	Op     Op
	Inputs []string // names of the nodes whose outputs this node takes
	// Weights in the order of Op.Weights (or, for Unknown ops, as stored).
	Weights []*Weight

	// Out is the output type, set by the infer-shapes pass.
	Out TensorType
	// Specs are the weights the op expects, set by the infer-shapes pass.
	Specs []WeightSpec
}

// Params returns the node's trainable and non-trainable parameter counts as
// Keras counts them.
func (n *Node) Params() (trainable, nonTrainable int64) {
	for _, s := range n.Specs {
		if s.Trainable {
			trainable += s.Shape.Elements()
		} else {
			nonTrainable += s.Shape.Elements()
		}
	}
	return
}

// Weight returns the node's weight with the given name, or nil.
func (n *Node) Weight(name string) *Weight {
	for _, w := range n.Weights {
		if w.Name == name {
			return w
		}
	}
	return nil
}

// Meta describes where a model came from.
type Meta struct {
	Format       string // "keras-h5", "keras-zip", "keras-json", "onnx", "builtin", "go"
	KerasVersion string // e.g. "1.2.2", "2.1.3", "3.16.0"; "" when unknown
	Backend      string // "theano", "tensorflow", "torch", …
	Source       string // file path or builtin name
	// Sequential is true for Keras Sequential models (summaries then omit
	// the input layer and, in Keras 2/3 styles, the Connected-to column).
	Sequential bool
	// Arch says how the architecture of a weights-only file was found
	// when the user gave none ("builtin vgg16 (fast.ai, matched 16/16
	// weighted layers)"); "" otherwise.
	Arch string
	// Preprocess is the image preprocessing the architecture expects of
	// RGB pixels in 0–255, when known: "caffe", "tf", "torch" (Keras's
	// preprocess_input modes) or "none" (e.g. fast.ai's VGG16, whose
	// Lambda layer preprocesses); "" when unknown.
	Preprocess string
}

// KerasMajor returns the major Keras version (1, 2, 3) or 0 if unknown.
func (m Meta) KerasMajor() int {
	if m.KerasVersion == "" {
		return 0
	}
	c := m.KerasVersion[0]
	if c >= '1' && c <= '9' {
		return int(c - '0')
	}
	return 0
}

// Model is a DAG of nodes. Nodes are kept in a topological order (the
// order-nodes pass establishes it), inputs first.
type Model struct {
	Name    string
	Nodes   []*Node
	Inputs  []string // names of Input nodes
	Outputs []string // names of output nodes
	Meta    Meta
	// Warnings collects non-fatal findings (e.g. a Lambda whose shape is
	// guessed).
	Warnings []string
	// Passes records the passes of the model's pipeline that ran, in
	// order (see Pipeline).
	Passes []PassStat
}

// Node returns the node named name, or nil.
func (m *Model) Node(name string) *Node {
	for _, n := range m.Nodes {
		if n.Name == name {
			return n
		}
	}
	return nil
}

// Index returns a name → node map.
func (m *Model) Index() map[string]*Node {
	idx := make(map[string]*Node, len(m.Nodes))
	for _, n := range m.Nodes {
		idx[n.Name] = n
	}
	return idx
}

// Params returns the model's trainable and non-trainable parameter counts.
//
// A weight without Provenance counts on each node that holds it, as
// Node.Params counts it (Keras models: a Keras layer's weights are its own;
// summaries are checked against Keras's). A weight with Provenance counts
// the stored tensors it names instead, each once in the model however many
// weights read it: the count of an ONNX model is thus the number of values
// in the float initializers the model reads, what onnx's
// `sum(numel for initializer)` gives, and does not change when an exporter
// spells a layer out (opset 13's LayerNorm as Mul and Add of shared
// constants) or shares one initializer between many nodes. Rows of a
// summary (Node.Params) still show a shared tensor on every node reading
// it, as Keras shows a shared layer's weights on each of its rows.
//
// ONNX does not say which tensors a framework trains. A stored tensor is
// counted trainable when a node holds it as a trainable weight (a kernel, a
// LayerNorm's γ) or reads it as a Constant operand of arithmetic (ViT's
// position embedding, a spelled-out LayerNorm's γ and β), and
// non-trainable only when every node holding it holds it so (a
// BatchNormalization's moving statistics).
func (m *Model) Params() (trainable, nonTrainable int64) {
	type stored struct {
		elements  int64
		trainable bool
	}
	var seen map[string]*stored
	for _, n := range m.Nodes {
		_, constant := n.Op.(*Constant)
		for i, s := range n.Specs {
			var p *Provenance
			if i < len(n.Weights) && n.Weights[i] != nil {
				p = n.Weights[i].Provenance
			}
			if p == nil {
				if s.Trainable {
					trainable += s.Shape.Elements()
				} else {
					nonTrainable += s.Shape.Elements()
				}
				continue
			}
			if seen == nil {
				seen = map[string]*stored{}
			}
			for _, t := range p.Tensors {
				st := seen[t.Name]
				if st == nil {
					st = &stored{elements: t.Elements}
					seen[t.Name] = st
				}
				st.trainable = st.trainable || s.Trainable || constant
			}
		}
	}
	for _, st := range seen {
		if st.trainable {
			trainable += st.elements
		} else {
			nonTrainable += st.elements
		}
	}
	return
}

// InputTypes returns the types of the model's inputs.
func (m *Model) InputTypes() []TensorType {
	idx := m.Index()
	var ts []TensorType
	for _, name := range m.Inputs {
		if n := idx[name]; n != nil {
			ts = append(ts, n.Out)
		}
	}
	return ts
}

// LoadWeights reads every weight of the model (each once, in parallel).
// Errors name the layer and the weight.
func (m *Model) LoadWeights() error { return m.LoadWeightsProgress(nil) }

// LayerError is an error about one node of a model.
type LayerError struct {
	Layer string
	Err   error
}

func (e *LayerError) Error() string { return fmt.Sprintf("layer '%s': %v", e.Layer, e.Err) }
func (e *LayerError) Unwrap() error { return e.Err }

func layerErr(name string, format string, args ...any) error {
	return &LayerError{Layer: name, Err: fmt.Errorf(format, args...)}
}

// WeightBytes returns the float32 size of all the model's weights.
func (m *Model) WeightBytes() int64 {
	var n int64
	for _, node := range m.Nodes {
		for _, w := range node.Weights {
			n += 4 * w.Elements()
		}
	}
	return n
}

// LoadWeightsProgress is LoadWeights calling progress(bytesDone) after each
// weight is read (from one goroutine at a time). Weights are read by up to
// GOMAXPROCS goroutines: the cost of reading a large model is mostly the
// first touch of fresh memory, which spreads over cores. The first error in
// layer order is returned.
func (m *Model) LoadWeightsProgress(progress func(done int64)) error {
	type job struct {
		node *Node
		w    *Weight
	}
	var jobs []job
	for _, n := range m.Nodes {
		for _, w := range n.Weights {
			jobs = append(jobs, job{n, w})
		}
	}
	errs := make([]error, len(jobs))
	var (
		mu   sync.Mutex
		done int64
		next atomic.Int64
		wg   sync.WaitGroup
	)
	workers := min(runtime.GOMAXPROCS(0), len(jobs))
	for g := 0; g < workers; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1) - 1)
				if i >= len(jobs) {
					return
				}
				j := jobs[i]
				if _, err := j.w.Data(); err != nil {
					errs[i] = fmt.Errorf("layer '%s': weight %s: %w", j.node.Name, j.w.Name, err)
					continue
				}
				mu.Lock()
				done += 4 * j.w.Elements()
				if progress != nil {
					progress(done)
				}
				mu.Unlock()
			}
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}
