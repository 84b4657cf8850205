package ir

import (
	"fmt"
	"strings"
)

// Layout says how a rank-4 (or rank-3 spatial) tensor orders its axes.
type Layout uint8

const (
	// LayoutNone is the layout of tensors without spatial axes (vectors,
	// matrices) or whose layout does not matter.
	LayoutNone Layout = iota
	// ChannelsLast is NHWC (Keras "channels_last", Keras 1 "tf").
	ChannelsLast
	// ChannelsFirst is NCHW (Keras "channels_first", Keras 1 "th", ONNX).
	ChannelsFirst
)

func (l Layout) String() string {
	switch l {
	case ChannelsLast:
		return "channels_last"
	case ChannelsFirst:
		return "channels_first"
	}
	return "none"
}

// ParseLayout reads Keras's data_format / dim_ordering spellings.
func ParseLayout(s string) (Layout, error) {
	switch s {
	case "channels_last", "tf", "NHWC":
		return ChannelsLast, nil
	case "channels_first", "th", "NCHW":
		return ChannelsFirst, nil
	}
	return LayoutNone, fmt.Errorf("unknown data format %q", s)
}

// DType is an element type.
type DType uint8

// Element types. Models compute in Float32; other types appear in files.
const (
	Float32 DType = iota
	Float16
	Float64
	Int64
	Int32
	Int8
	Uint8
	Bool
	String
)

var dtypeNames = [...]string{"float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool", "string"}

func (d DType) String() string {
	if int(d) < len(dtypeNames) {
		return dtypeNames[d]
	}
	return fmt.Sprintf("dtype(%d)", d)
}

// IsFloat reports whether d is a floating-point type.
func (d DType) IsFloat() bool { return d == Float32 || d == Float16 || d == Float64 }

// Batch is the value of an unknown (dynamic) dimension, Keras's None.
const Batch = -1

// Shape is a tensor's dimensions, batch first; -1 marks an unknown size.
type Shape []int

// Elements returns the number of elements, treating unknown (negative)
// dims as 1.
func (s Shape) Elements() int64 {
	n := int64(1)
	for _, d := range s {
		if d >= 0 {
			n *= int64(d)
		}
	}
	return n
}

// Known reports whether every dimension except the first (batch) is known.
func (s Shape) Known() bool {
	for i, d := range s {
		if i > 0 && d < 0 {
			return false
		}
	}
	return true
}

// Equal reports whether s and t are the same shape.
func (s Shape) Equal(t Shape) bool {
	if len(s) != len(t) {
		return false
	}
	for i := range s {
		if s[i] != t[i] {
			return false
		}
	}
	return true
}

// Clone returns a copy of s.
func (s Shape) Clone() Shape { return append(Shape(nil), s...) }

// String prints s as Keras does: (None, 3, 224, 224).
func (s Shape) String() string {
	parts := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			parts[i] = "None"
		} else {
			parts[i] = fmt.Sprint(d)
		}
	}
	if len(parts) == 1 {
		return "(" + parts[0] + ",)"
	}
	return "(" + strings.Join(parts, ", ") + ")"
}

// TensorType is what a node produces: shape, layout and element type.
type TensorType struct {
	Shape  Shape
	Layout Layout
	DType  DType
}

func (t TensorType) String() string {
	if t.Layout == LayoutNone {
		return t.Shape.String()
	}
	return t.Shape.String() + " " + t.Layout.String()
}

// Spatial returns the (channels, height, width) of a rank-4 tensor type.
func (t TensorType) Spatial() (c, h, w int, err error) {
	if len(t.Shape) != 4 {
		return 0, 0, 0, fmt.Errorf("expected a rank-4 input, got %v", t.Shape)
	}
	if t.Layout == ChannelsFirst {
		return t.Shape[1], t.Shape[2], t.Shape[3], nil
	}
	return t.Shape[3], t.Shape[1], t.Shape[2], nil
}

// image4 makes a rank-4 shape from batch, c, h, w in layout l.
func image4(n, c, h, w int, l Layout) Shape {
	if l == ChannelsFirst {
		return Shape{n, c, h, w}
	}
	return Shape{n, h, w, c}
}

// Tensor is a dense float32 tensor: the values models take and produce.
type Tensor struct {
	Shape  Shape
	Layout Layout
	Data   []float32
}

// NewTensor allocates a zero tensor of the given shape (all dims known).
func NewTensor(shape Shape, layout Layout) *Tensor {
	return &Tensor{Shape: shape.Clone(), Layout: layout, Data: make([]float32, shape.Elements())}
}
