package ir

import (
	"fmt"
	"sync"
)

// WeightSource reads a weight's data, in the canonical layout of its op,
// into dst (whose length is the weight's element count). Importers return
// sources that read from the file on demand, so that inspecting a model
// reads no weight data.
type WeightSource interface {
	ReadInto(dst []float32) error
}

// SourceFunc adapts a function to WeightSource.
type SourceFunc func(dst []float32) error

// ReadInto calls f.
func (f SourceFunc) ReadInto(dst []float32) error { return f(dst) }

// Weight is one named parameter tensor of a node. Its data is read lazily,
// once, on the first call to Data.
type Weight struct {
	Name  string // Keras's name for it: "kernel", "bias", "gamma", "moving_mean", …
	Shape Shape  // canonical shape (no batch axis)
	DType DType  // element type in the source file; data is always float32 in memory
	// Origin says where the data comes from, for messages
	// (e.g. "model.h5:/model_weights/dense_1/dense_1/kernel:0").
	Origin string
	// Provenance, when not nil, names the tensors of the source file the
	// weight's values are read or computed from: Model.Params counts each
	// of them once, however many weights read it (see Model.Params). Nil
	// for a weight that is its node's own (every Keras weight).
	Provenance *Provenance

	src  WeightSource
	mu   sync.Mutex
	data []float32
	err  error
}

// NewWeight returns a lazy weight that reads from src on first use.
func NewWeight(name string, shape Shape, dtype DType, origin string, src WeightSource) *Weight {
	return &Weight{Name: name, Shape: shape, DType: dtype, Origin: origin, src: src}
}

// ConstWeight returns a float32 weight holding data (which it keeps).
func ConstWeight(name string, shape Shape, data []float32) *Weight {
	w := &Weight{Name: name, Shape: shape, DType: Float32, Origin: "memory"}
	if int64(len(data)) != shape.Elements() {
		w.err = fmt.Errorf("weight %s: %d values for shape %v", name, len(data), shape)
		return w
	}
	w.data = data
	return w
}

// Elements is the number of values of the weight.
func (w *Weight) Elements() int64 { return w.Shape.Elements() }

// Data returns the weight's values, reading them on first call. It is safe
// for concurrent use.
func (w *Weight) Data() ([]float32, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.data != nil || w.err != nil {
		return w.data, w.err
	}
	if w.src == nil {
		w.err = fmt.Errorf("weight %s has no data", w.Name)
		return nil, w.err
	}
	buf := make([]float32, w.Shape.Elements())
	if err := w.src.ReadInto(buf); err != nil {
		w.err = err
		return nil, err
	}
	w.data = buf
	return buf, nil
}

// ReadInto copies the weight's values into dst, whose length must be the
// weight's element count: from memory when they are there, else straight
// from its source, without keeping them. A consumer that transforms the
// values (packs a convolution kernel) reads them so into a buffer it
// reuses, and the model never holds a copy of its own. It is safe for
// concurrent use.
func (w *Weight) ReadInto(dst []float32) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if int64(len(dst)) != w.Shape.Elements() {
		return fmt.Errorf("weight %s: %d values for shape %v", w.Name, len(dst), w.Shape)
	}
	switch {
	case w.data != nil:
		copy(dst, w.data)
		return nil
	case w.err != nil:
		return w.err
	case w.src == nil:
		return fmt.Errorf("weight %s has no data", w.Name)
	}
	return w.src.ReadInto(dst)
}

// Release drops the in-memory values of a weight that can read them again
// from its source (a file), so that a consumer that has transformed them
// (e.g. an execution plan packing convolution kernels) does not keep two
// copies. A later Data call reads the values again. Weights held only in
// memory are kept.
func (w *Weight) Release() {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.src != nil && w.err == nil {
		w.data = nil
	}
}

// StoredTensor is one tensor as a model file stores it (an ONNX
// initializer or Constant value), for parameter accounting.
type StoredTensor struct {
	// Name is unique within the file: "initializer fc.weight",
	// "constant /blocks/Constant_3_output_0".
	Name     string
	Elements int64 // its element count in the file
}

// Provenance lists the stored tensors a weight's values come from: one for
// a weight read from an initializer (transposed or scaled as its op needs),
// every stored input of a value folded at import (a Gather of a table by
// constant indices, a reshaped bias), none for a weight the importer makes
// that the file does not hold (a zero bias). Provenances are shared, never
// written after import.
type Provenance struct {
	Tensors []StoredTensor
}

// WeightSpec is what an op expects of one weight: its Keras name, canonical
// shape, and whether Keras counts it as trainable.
type WeightSpec struct {
	Name      string
	Shape     Shape
	Trainable bool
}
