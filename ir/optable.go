package ir

import "slices"

// Capability is something kconv does with an op outside package ir. The op
// table (AllOps) marks each op that lacks one with the reason; the test in
// ir/optable tries every capability of every op and fails both when an
// unmarked one fails and when a marked one starts working, so the marks
// cannot go stale.
type Capability string

// Capabilities checked for every op.
const (
	// CapExec: exec.Compile lowers the op and Program.Run runs it.
	CapExec Capability = "exec"
	// CapKerasExport: exporter/keras writes the op into a Keras 2 full
	// model (WriteH5Model) that importer/keras reads back to the same
	// outputs.
	CapKerasExport Capability = "keras-export"
	// CapONNXExport: exporter/onnx writes the op into an ONNX model.
	// (exporter/onnx's own tests check its files with ONNX Runtime.)
	CapONNXExport Capability = "onnx-export"
	// CapONNXReadBack: importer/onnx reads exporter/onnx's file back to the
	// same outputs (a gap here is usually an ONNX op the importer lacks).
	CapONNXReadBack Capability = "onnx-read-back"
)

// Capabilities lists every Capability, in the order the test checks them.
func Capabilities() []Capability {
	return []Capability{CapExec, CapKerasExport, CapONNXExport, CapONNXReadBack}
}

// OpExample is a small valid use of an op: the op, the model inputs it
// reads (dim 0 is the batch, -1), then constant inputs (no batch axis),
// which follow the model inputs in the node's input list.
type OpExample struct {
	Op     Op
	Inputs []TensorType
	Consts []Shape
	// Indices, when > 0, says the model inputs hold indices below it
	// (Embedding) rather than arbitrary values.
	Indices int
	// From, when set, is an op applied to the model inputs first, whose
	// output the op reads: for ops defined only on another op's output
	// (RecurrentState reads a Recurrent returning its states).
	From Op
}

// OpInfo is one row of the op table: one op kind (an Op's Kind value; a Go
// type such as Pool2D or Merge gives several kinds).
//
// The attributes, the shape rule (Infer) and the parameter rule (Weights)
// are the Op's own fields and methods; the table adds what other packages
// do with the op. Those packages own their code (importer/keras's class
// switch, importer/onnx's op switch, the exporters' and exec's type
// switches); the test in ir/optable checks this table against that code.
type OpInfo struct {
	// Kind is Example().Op.Kind().
	Kind string
	// Example builds a small valid instance (a new one on every call).
	Example func() OpExample
	// KerasClasses are the Keras layer class names importer/keras reads
	// into this kind (every vintage's spelling); nil: no Keras layer is
	// read as this op (an ONNX-only op).
	KerasClasses []string
	// KerasExport is the class exporter/keras writes for it; "" when it
	// writes another layer (named in Notes) or refuses it.
	KerasExport string
	// ONNX are the ONNX op types importer/onnx may translate into this
	// kind; nil: no ONNX node becomes it (a Keras-only op).
	ONNX []string
	// KerasKeys are the Keras config keys of the row's classes and the
	// attributes they carry (see KerasKey): importer/keras reads and
	// exporter/keras writes each through these values.
	KerasKeys []KerasKey
	// Unsupported marks the capabilities the op lacks, with why.
	Unsupported map[Capability]string
	// Notes explains a mapping that is not one-to-one.
	Notes string
}

// Supports reports whether the table claims capability c for the op.
func (o OpInfo) Supports(c Capability) bool {
	_, no := o.Unsupported[c]
	return !no
}

func img(c, h, w int) TensorType {
	return TensorType{Shape: Shape{-1, h, w, c}, Layout: ChannelsLast}
}

func seq(steps, feat int) TensorType { return TensorType{Shape: Shape{-1, steps, feat}} }

func vec(n int) TensorType { return TensorType{Shape: Shape{-1, n}} }

func ex(op Op, in ...TensorType) func() OpExample {
	// The op is shared by the closure's calls; AllOps builds a new table
	// (and so new ops) on every call.
	return func() OpExample { return OpExample{Op: op, Inputs: in} }
}

var win3 = Window2D{KH: 3, KW: 3, SH: 1, SW: 1, Padding: PadSame}
var win2 = Window2D{KH: 2, KW: 2, SH: 2, SW: 2, Padding: PadValid}

const noKerasONNXOp = "an ONNX-level op: exporter/keras writes it only where it is part of an idiom it recognises (see exporter/keras's doc)"

// AllOps returns the op table, one row per op kind, in a fixed order. Each
// call builds a new table.
func AllOps() []OpInfo {
	mergeModes := []struct {
		mode  MergeMode
		onnx  []string
		extra []string
	}{
		{MergeAdd, []string{"Add", "Sum"}, nil},
		{MergeSubtract, []string{"Sub"}, nil},
		{MergeMultiply, []string{"Mul"}, nil},
		{MergeAverage, []string{"Mean"}, nil},
		{MergeMaximum, []string{"Max"}, nil},
		{MergeMinimum, []string{"Min"}, nil},
		{MergeConcat, []string{"Concat"}, nil},
	}
	var acts []string
	for _, a := range Activations() {
		if a.ONNX != "" && !slices.Contains(acts, a.ONNX) {
			acts = append(acts, a.ONNX)
		}
	}
	acts = append(acts, "Clip", "ThresholdedRelu") // relu6, relu with max_value or threshold
	t := []OpInfo{
		{Kind: "InputLayer", Example: ex(&Input{}, vec(4)), KerasClasses: []string{"InputLayer"}, KerasExport: "InputLayer",
			Notes: "ONNX graph inputs; the Example's Op is replaced by the model input itself"},
		{Kind: "Lambda", Example: ex(&Lambda{Function: "vgg_preprocess"}, img(3, 4, 4)),
			KerasClasses: []string{"Lambda"}, KerasExport: "Lambda",
			Notes: "only registered functions (RegisterLambda) run; ONNX writes their computation"},
		{Kind: "ZeroPadding2D", Example: ex(&ZeroPadding2D{Pads: [4]int{1, 0, 2, 1}, DataFormat: ChannelsLast}, img(2, 3, 3)),
			KerasClasses: []string{"ZeroPadding2D"}, KerasExport: "ZeroPadding2D", ONNX: []string{"Pad"},
			Notes: "ONNX Pad with zeros on the spatial axes of an image (ZeroPaddingOf decides, the one conversion); other pads are Pad. " +
				"Two ops because fuse-pad folds only this image form into a convolution and Keras writes only it; Pad has any rank, mode and value"},
		{Kind: "Cropping2D", Example: ex(&Cropping2D{Crops: [4]int{1, 0, 0, 1}, DataFormat: ChannelsLast}, img(2, 4, 4)),
			KerasClasses: []string{"Cropping2D"}, KerasExport: "Cropping2D"},
		{Kind: "Conv2D", Example: ex(&Conv2D{Filters: 3, Window2D: win3, UseBias: true, Activation: Act{Name: ActReLU}, DataFormat: ChannelsLast}, img(2, 5, 5)),
			KerasClasses: []string{"Conv2D", "Convolution2D", "AtrousConvolution2D"}, KerasExport: "Conv2D", ONNX: []string{"Conv"}},
		{Kind: "DepthwiseConv2D", Example: ex(&DepthwiseConv2D{Multiplier: 2, Window2D: win3, UseBias: true, DataFormat: ChannelsLast}, img(2, 5, 5)),
			KerasClasses: []string{"DepthwiseConv2D"}, KerasExport: "DepthwiseConv2D", ONNX: []string{"Conv"}},
		{Kind: "SeparableConv2D", Example: ex(&SeparableConv2D{Filters: 3, Multiplier: 1, Window2D: win3, UseBias: true, DataFormat: ChannelsLast}, img(2, 5, 5)),
			KerasClasses: []string{"SeparableConv2D", "SeparableConvolution2D"}, KerasExport: "SeparableConv2D"},
		{Kind: "Conv2DTranspose", Example: ex(&Conv2DTranspose{Filters: 3, Window2D: Window2D{KH: 3, KW: 3, SH: 2, SW: 2, Padding: PadSame}, UseBias: true, DataFormat: ChannelsLast}, img(2, 3, 3)),
			KerasClasses: []string{"Conv2DTranspose", "Deconvolution2D", "Deconv2D"}, KerasExport: "Conv2DTranspose", ONNX: []string{"ConvTranspose"}},
		{Kind: "MaxPooling2D", Example: ex(&Pool2D{Max: true, Window2D: win2, DataFormat: ChannelsLast}, img(2, 4, 4)),
			KerasClasses: []string{"MaxPooling2D", "MaxPool2D"}, KerasExport: "MaxPooling2D", ONNX: []string{"MaxPool"}},
		{Kind: "AveragePooling2D", Example: ex(&Pool2D{Window2D: win2, DataFormat: ChannelsLast}, img(2, 4, 4)),
			KerasClasses: []string{"AveragePooling2D", "AvgPool2D"}, KerasExport: "AveragePooling2D", ONNX: []string{"AveragePool"}},
		{Kind: "GlobalMaxPooling2D", Example: ex(&GlobalPool2D{Max: true, DataFormat: ChannelsLast}, img(2, 3, 3)),
			KerasClasses: []string{"GlobalMaxPooling2D", "GlobalMaxPool2D"}, KerasExport: "GlobalMaxPooling2D", ONNX: []string{"GlobalMaxPool"}},
		{Kind: "GlobalAveragePooling2D", Example: ex(&GlobalPool2D{DataFormat: ChannelsLast}, img(2, 3, 3)),
			KerasClasses: []string{"GlobalAveragePooling2D", "GlobalAvgPool2D"}, KerasExport: "GlobalAveragePooling2D", ONNX: []string{"GlobalAveragePool", "ReduceMean"}},
		{Kind: "Flatten", Example: ex(&Flatten{}, img(2, 2, 2)),
			KerasClasses: []string{"Flatten"}, KerasExport: "Flatten", ONNX: []string{"Flatten", "Reshape"}},
		{Kind: "Dense", Example: ex(&Dense{Units: 3, UseBias: true, Activation: Act{Name: ActTanh}}, vec(4)),
			KerasClasses: []string{"Dense", "TimeDistributedDense", "TimeDistributed"}, KerasExport: "Dense", ONNX: []string{"Gemm", "MatMul"},
			Notes: "Gemm or MatMul with a constant (in, out) right operand (GemmIsDense, MatMulIsDense, and GemmKernelRows, GemmBias " +
				"for alpha, transB and beta·C: importer/onnx, and exporter/keras for hand-built IR); TimeDistributed only around Dense"},
		{Kind: "Dropout", Example: ex(&Dropout{Rate: 0.5}, vec(4)),
			KerasClasses: []string{"Dropout", "GaussianNoise", "GaussianDropout", "AlphaDropout", "ActivityRegularization"}, KerasExport: "Dropout",
			ONNX: []string{"Dropout", "Identity"}},
		{Kind: "SpatialDropout2D", Example: ex(&Dropout{Rate: 0.5, Spatial: true}, img(2, 3, 3)),
			KerasClasses: []string{"SpatialDropout2D"}, KerasExport: "SpatialDropout2D"},
		{Kind: "Activation", Example: ex(&Activation{Act: Act{Name: ActSigmoid}}, vec(4)),
			KerasClasses: []string{"Activation", "ReLU", "LeakyReLU", "ELU", "Softmax", "ThresholdedReLU"}, KerasExport: "Activation", ONNX: acts,
			Notes: "ONNX ops from the activation table (Activations); Keras advanced-activation layers are written back as their class where the Act needs it"},
		{Kind: "PReLU", Example: ex(&PReLU{SharedAxes: []int{1, 2}}, img(2, 3, 3)),
			KerasClasses: []string{"PReLU"}, KerasExport: "PReLU", ONNX: []string{"PRelu"}},
		{Kind: "BatchNormalization", Example: ex(&BatchNorm{Axis: -1, Epsilon: 1e-3, Center: true, Scale: true}, img(2, 3, 3)),
			KerasClasses: []string{"BatchNormalization"}, KerasExport: "BatchNormalization", ONNX: []string{"BatchNormalization"}},
	}
	for _, mm := range mergeModes {
		m := &Merge{Mode: mm.mode}
		in := []TensorType{vec(3), vec(3)}
		if mm.mode == MergeConcat {
			m.Axis = -1
			in[1] = vec(2)
		}
		k := m.Kind()
		t = append(t, OpInfo{Kind: k, Example: ex(m, in...), KerasClasses: []string{k}, KerasExport: k, ONNX: mm.onnx,
			Notes: "n computed tensors of one shape; the Keras 1 Merge layer's modes map here too. " +
				"Not a Binary: Binary takes a Constant or broadcasts, and exporter/keras writes it as a BatchNormalization; " +
				"BinaryOp.MergeMode is the one mapping between them"})
	}
	t = append(t, []OpInfo{
		{Kind: "Reshape", Example: ex(&Reshape{Target: Shape{2, -1}}, vec(6)),
			KerasClasses: []string{"Reshape"}, KerasExport: "Reshape", ONNX: []string{"Reshape"},
			Notes: "ONNX Reshape keeping the batch axis dynamic; a static one is ReshapeTo. Two ops because Reshape runs at any batch size " +
				"while ReshapeTo may change dimension 0 and so needs a static one; ReshapeTo.AsReshape is the one conversion"},
		{Kind: "Permute", Example: ex(&Permute{Dims: []int{2, 1}}, seq(2, 3)),
			KerasClasses: []string{"Permute"}, KerasExport: "Permute",
			Notes: "importer/onnx makes Transpose, exporter/keras writes a batch-preserving Transpose as Permute. " +
				"Two ops because their output types differ: Permute's output has no layout (Keras layers state theirs by data_format), " +
				"Transpose relabels an NCHW<->NHWC change, which exec runs as a storage view and sink-transpose/cancel-transposes move; " +
				"Permute.Perm and Transpose.AsPermute are the one conversion"},
		{Kind: "UpSampling2D", Example: ex(&UpSampling2D{SH: 2, SW: 2, Interpolation: "nearest", DataFormat: ChannelsLast}, img(2, 2, 2)),
			KerasClasses: []string{"UpSampling2D"}, KerasExport: "UpSampling2D", ONNX: []string{"Resize", "Upsample"}},
		{Kind: "Unknown", Example: ex(&Unknown{ClassName: "Unknown"}, vec(3)),
			Notes: "a Keras layer kconv does not know (Kind is its class name): summaries only",
		},
		{Kind: "Attention", Example: ex(&Attention{}, seq(2, 4), seq(3, 4)),
			KerasClasses: []string{"Attention"}, KerasExport: "Attention"},
		{Kind: "LayerNormalization", Example: ex(&LayerNormalization{Axes: []int{-1}, Epsilon: 1e-3, Center: true, Scale: true}, seq(2, 4)),
			KerasClasses: []string{"LayerNormalization"}, KerasExport: "LayerNormalization", ONNX: []string{"LayerNormalization"}},
		{Kind: "MultiHeadAttention", Example: ex(&MultiHeadAttention{Heads: 2, KeyDim: 2, ValueDim: 2, UseBias: true}, seq(2, 4), seq(3, 4)),
			KerasClasses: []string{"MultiHeadAttention"}, KerasExport: "MultiHeadAttention"},
		{Kind: "Constant", Example: func() OpExample { return OpExample{Op: &Constant{Shape: Shape{1, 3}}} },
			ONNX: []string{"Constant", "ConstantOfShape"}, Notes: "also every initializer used as a computed input"},
	}...)
	for b := BinaryAdd; b <= BinaryPow; b++ {
		on := b.String()
		t = append(t, OpInfo{Kind: (&Binary{Op: b}).Kind(), Example: func() OpExample {
			return OpExample{Op: &Binary{Op: b}, Inputs: []TensorType{vec(3)}, Consts: []Shape{{1, 3}}}
		}, ONNX: []string{on}, KerasExport: "BatchNormalization",
			Notes: "an operand is a Constant (or the shapes broadcast); exporter/keras writes a per-channel Add, Sub or Mul as a BatchNormalization " +
				"and one of two computed tensors as the merge layer of BinaryOp.MergeMode (see the merge rows for why two ops)"})
	}
	for u := UnarySqrt; int(u) < len(unaryNames); u++ {
		t = append(t, OpInfo{Kind: (&Unary{Op: u}).Kind(), Example: func() OpExample {
			return OpExample{Op: &Unary{Op: u}, Inputs: []TensorType{vec(3)}}
		}, ONNX: []string{u.String()}, Notes: "ONNX arithmetic no framework calls an activation (transformer graphs: LayerNorm, GELU pieces)"})
	}
	t = append(t, OpInfo{Kind: "Expand", Example: func() OpExample {
		return OpExample{Op: &Expand{Shape: Shape{2, 3}}, Inputs: []TensorType{{Shape: Shape{1, 3}}}}
	}, ONNX: []string{"Expand"}})
	t = append(t, []OpInfo{
		{Kind: "Transpose", Example: ex(&Transpose{Perm: []int{0, 2, 1}}, seq(2, 3)), ONNX: []string{"Transpose"}, KerasExport: "Permute",
			Notes: "any permutation, batch axis included; an NCHW<->NHWC one relabels the layout. " +
				"exporter/keras writes a batch-preserving one as Permute (Transpose.AsPermute; see Permute's Notes for why two ops)"},
		{Kind: "ReshapeTo", Example: func() OpExample {
			return OpExample{Op: &ReshapeTo{Shape: Shape{2, 3, 2}}, Inputs: []TensorType{{Shape: Shape{2, 6}}}}
		}, ONNX: []string{"Reshape", "Flatten", "Squeeze", "Unsqueeze"}, KerasExport: "Reshape",
			Notes: "a static target shape, batch axis included; exporter/keras writes a batch-preserving one as Reshape " +
				"(ReshapeTo.AsReshape; see Reshape's Notes for why two ops)"},
		{Kind: "Concat", Example: func() OpExample {
			return OpExample{Op: &Concat{Axis: 1}, Inputs: []TensorType{{Shape: Shape{2, 3}}, {Shape: Shape{2, 2}}}}
		}, ONNX: []string{"Concat", "Tile"}, KerasExport: "Concatenate",
			Notes: "a non-negative axis, any input may be constant; exporter/keras writes one of computed tensors as Concatenate. " +
				"Two ops because Merge Concatenate takes computed tensors only (a Keras layer) and Concat takes constants (ONNX); " +
				"importer/onnx makes Concatenate when no input is constant and the axis is not the batch; a Tile of a computed tensor by constant repeats is read as a Concat of copies"},
		{Kind: "Pad", Example: ex(&Pad{Pads: []int{0, 1, 0, 0, 2, 0}, Mode: "constant"}, seq(2, 3)), ONNX: []string{"Pad"},
			Notes: noKerasONNXOp + "; zero padding of an image's height and width is ZeroPadding2D (ZeroPaddingOf)"},
		{Kind: "Slice", Example: ex(&Slice{Axes: []int{2}, Starts: []int{1}, Ends: []int{3}, Steps: []int{1}}, seq(2, 4)), ONNX: []string{"Slice"}, Notes: noKerasONNXOp},
		{Kind: "Gather", Example: ex(&Gather{Axis: 2, Indices: []int{2, 0}, IndicesShape: Shape{2}}, seq(2, 4)), ONNX: []string{"Gather"}, Notes: noKerasONNXOp},
		{Kind: "ReduceMean", Example: ex(&ReduceMean{Axes: []int{2}, KeepDims: true}, seq(2, 4)), ONNX: []string{"ReduceMean"}, Notes: noKerasONNXOp},
		{Kind: "LRN", Example: ex(&LRN{Size: 3, Alpha: 1e-4, Beta: 0.75, Bias: 1}, TensorType{Shape: Shape{-1, 4, 3, 3}, Layout: ChannelsFirst}), ONNX: []string{"LRN"}, Notes: noKerasONNXOp},
		{Kind: "Clip", Example: ex(&Clip{Min: -0.5, Max: 0.5}, vec(4)), ONNX: []string{"Clip"}, Notes: noKerasONNXOp},
		{Kind: "Gemm", Example: func() OpExample {
			return OpExample{Op: &Gemm{TransB: true, Alpha: 1, Beta: 1}, Inputs: []TensorType{{Shape: Shape{2, 4}}, {Shape: Shape{3, 4}}}}
		}, ONNX: []string{"Gemm"}, Notes: "two computed operands (a constant right operand is Dense: see Dense's Notes); " + noKerasONNXOp},
		{Kind: "MatMul", Example: func() OpExample {
			return OpExample{Op: &MatMul{}, Inputs: []TensorType{{Shape: Shape{2, 2, 4}}, {Shape: Shape{2, 4, 3}}}}
		}, ONNX: []string{"MatMul"}, Notes: "two computed operands (a constant right operand is Dense: see Dense's Notes); " + noKerasONNXOp},
		{Kind: "Conv1D", Example: ex(&Conv1D{Filters: 3, Window1D: Window1D{K: 3, Stride: 1, Padding: PadSame}, UseBias: true, DataFormat: ChannelsLast}, seq(5, 2)),
			KerasClasses: []string{"Conv1D", "Convolution1D", "AtrousConvolution1D"}, KerasExport: "Conv1D", ONNX: []string{"Conv"}},
		{Kind: "MaxPooling1D", Example: ex(&Pool1D{Max: true, Window1D: Window1D{K: 2, Stride: 2, Padding: PadValid}, DataFormat: ChannelsLast}, seq(4, 2)),
			KerasClasses: []string{"MaxPooling1D", "MaxPool1D"}, KerasExport: "MaxPooling1D", ONNX: []string{"MaxPool"}},
		{Kind: "AveragePooling1D", Example: ex(&Pool1D{Window1D: Window1D{K: 2, Stride: 2, Padding: PadValid}, DataFormat: ChannelsLast}, seq(4, 2)),
			KerasClasses: []string{"AveragePooling1D", "AvgPool1D"}, KerasExport: "AveragePooling1D", ONNX: []string{"AveragePool"}},
		{Kind: "GlobalMaxPooling1D", Example: ex(&GlobalPool1D{Max: true, DataFormat: ChannelsLast}, seq(4, 2)),
			KerasClasses: []string{"GlobalMaxPooling1D", "GlobalMaxPool1D"}, KerasExport: "GlobalMaxPooling1D", ONNX: []string{"GlobalMaxPool"}},
		{Kind: "GlobalAveragePooling1D", Example: ex(&GlobalPool1D{DataFormat: ChannelsLast}, seq(4, 2)),
			KerasClasses: []string{"GlobalAveragePooling1D", "GlobalAvgPool1D"}, KerasExport: "GlobalAveragePooling1D", ONNX: []string{"GlobalAveragePool"}},
		{Kind: "Embedding", Example: func() OpExample {
			return OpExample{Op: &Embedding{InputDim: 5, OutputDim: 3}, Inputs: []TensorType{vec(4)}, Indices: 5}
		}, KerasClasses: []string{"Embedding"}, KerasExport: "Embedding", ONNX: []string{"Gather"},
			Notes: "ONNX Gather of a constant table by computed indices"},
		{Kind: "RepeatVector", Example: ex(&RepeatVector{N: 3}, vec(2)), KerasClasses: []string{"RepeatVector"}, KerasExport: "RepeatVector"},
		{Kind: "Masking", Example: ex(&Masking{}, seq(3, 2)), KerasClasses: []string{"Masking"}, KerasExport: "Masking"},
	}...)
	for _, cell := range []string{CellSimpleRNN, CellLSTM, CellGRU} {
		classes := []string{cell}
		if cell != CellSimpleRNN {
			classes = append(classes, "CuDNN"+cell)
		}
		onnx := map[string]string{CellSimpleRNN: "RNN", CellLSTM: "LSTM", CellGRU: "GRU"}[cell]
		t = append(t, OpInfo{Kind: cell, Example: ex(&Recurrent{Cell: cell, Units: 3, Activation: Act{Name: ActTanh},
			RecurrentActivation: Act{Name: ActSigmoid}, UseBias: true, ResetAfter: cell == CellGRU}, seq(3, 2)),
			KerasClasses: classes, KerasExport: cell, ONNX: []string{onnx}})
	}
	t = append(t, OpInfo{Kind: "Bidirectional", Example: ex(&Recurrent{Cell: CellLSTM, Units: 2, Activation: Act{Name: ActTanh},
		RecurrentActivation: Act{Name: ActSigmoid}, UseBias: true, Bidirectional: true, Merge: "concat"}, seq(3, 2)),
		KerasClasses: []string{"Bidirectional"}, KerasExport: "Bidirectional", ONNX: []string{"RNN", "LSTM", "GRU"}})
	t = append(t, OpInfo{Kind: "RecurrentState", Example: func() OpExample {
		return OpExample{Op: &RecurrentState{Index: 4, Units: 2}, Inputs: []TensorType{seq(3, 2)},
			From: &Recurrent{Cell: CellLSTM, Units: 2, Activation: Act{Name: ActTanh}, RecurrentActivation: Act{Name: ActSigmoid},
				UseBias: true, Bidirectional: true, Merge: "concat", ReturnSequences: true, ReturnState: true}}
	}, ONNX: []string{"RNN", "LSTM", "GRU"},
		Notes: "a final state of a recurrent layer with return_state (Keras's tensor index k of the layer), made by importer/keras from the layer's outputs and by importer/onnx from Y_h, Y_c"})
	for i := range t {
		t[i].KerasKeys = kerasKeys(t[i].Kind)
		for c, why := range unsupported[t[i].Kind] {
			if t[i].Unsupported == nil {
				t[i].Unsupported = map[Capability]string{}
			}
			t[i].Unsupported[c] = why
		}
		if !t[i].Supports(CapKerasExport) {
			t[i].KerasExport = ""
		}
	}
	return t
}

// Reasons shared by several rows of unsupported.
const (
	noKerasSeq   = "exporter/keras does not write sequence and attention layers yet (they import, run and export to ONNX)"
	noKerasLayer = "no Keras layer computes it"
)

// unsupported holds the op table's marks: kind → capability → why. The test
// in ir/optable fails when a marked capability starts working, so remove a
// mark when its gap is closed.
var unsupported = map[string]map[Capability]string{
	"Unknown": {
		CapExec:         "an unknown layer has no semantics to run",
		CapKerasExport:  "an unknown layer has no config to write",
		CapONNXExport:   "an unknown layer has no ONNX computation",
		CapONNXReadBack: "not exported",
	},
	"Constant":               {CapKerasExport: "a Constant is written only inside the layer it folds into (a BatchNormalization for Binary Add/Sub/Mul, a Dense kernel); on its own it is no Keras layer"},
	"BinaryDiv":              {CapKerasExport: "with a Constant operand it has no exact Keras layer (Add, Sub and Mul become a BatchNormalization)"},
	"BinaryMax":              {CapKerasExport: "with a Constant operand it has no exact Keras layer (Add, Sub and Mul become a BatchNormalization)"},
	"BinaryMin":              {CapKerasExport: "with a Constant operand it has no exact Keras layer (Add, Sub and Mul become a BatchNormalization)"},
	"BinaryPow":              {CapKerasExport: noKerasLayer},
	"UnarySqrt":              {CapKerasExport: noKerasLayer},
	"UnaryReciprocal":        {CapKerasExport: noKerasLayer},
	"UnaryNeg":               {CapKerasExport: noKerasLayer},
	"UnaryAbs":               {CapKerasExport: noKerasLayer},
	"UnaryLog":               {CapKerasExport: noKerasLayer},
	"Expand":                 {CapKerasExport: noKerasLayer},
	"Pad":                    {CapKerasExport: noKerasLayer + " (zero padding of an image's height and width is ZeroPadding2D)"},
	"Gather":                 {CapKerasExport: noKerasLayer},
	"ReduceMean":             {CapKerasExport: noKerasLayer + " (a mean over an image's height and width is GlobalAveragePooling2D)"},
	"LRN":                    {CapKerasExport: noKerasLayer},
	"Slice":                  {CapKerasExport: "only a step-1 slice of an image's height and width (Cropping2D) or of its channels (a 1x1 Conv2D) has a Keras layer"},
	"Clip":                   {CapKerasExport: "only Clip [0, max] has a Keras layer (ReLU max_value)"},
	"Gemm":                   {CapKerasExport: "of two computed tensors it has no Keras layer (Dense needs a constant right operand)"},
	"MatMul":                 {CapKerasExport: "of two computed tensors it has no Keras layer (Dense needs a constant right operand)"},
	"Conv1D":                 {CapKerasExport: noKerasSeq},
	"MaxPooling1D":           {CapKerasExport: noKerasSeq},
	"AveragePooling1D":       {CapKerasExport: noKerasSeq},
	"GlobalMaxPooling1D":     {CapKerasExport: noKerasSeq},
	"GlobalAveragePooling1D": {CapKerasExport: noKerasSeq},
	"SimpleRNN":              {CapKerasExport: noKerasSeq},
	"LSTM":                   {CapKerasExport: noKerasSeq},
	"GRU":                    {CapKerasExport: noKerasSeq},
	"Bidirectional":          {CapKerasExport: noKerasSeq},
	"RecurrentState":         {CapKerasExport: noKerasSeq},
	"Attention":              {CapKerasExport: noKerasSeq},
	"MultiHeadAttention":     {CapKerasExport: noKerasSeq},
	"LayerNormalization": {
		CapKerasExport: noKerasSeq,
	},
	"Embedding": {
		CapKerasExport:  noKerasSeq,
		CapONNXReadBack: "exporter/onnx casts the float indices to INT64, and importer/onnx reads no Cast of a computed tensor",
	},
	"RepeatVector": {
		CapKerasExport: noKerasSeq,
	},
	"Masking": {
		CapKerasExport:  noKerasSeq,
		CapONNXReadBack: "importer/onnx reads no Equal of a computed tensor (the step mask), nor the masked recurrences' TopK, GatherElements and computed sequence_lens",
	},
}

// OpByKind returns the op table's row for kind.
func OpByKind(kind string) (OpInfo, bool) {
	for _, o := range AllOps() {
		if o.Kind == kind {
			return o, true
		}
	}
	return OpInfo{}, false
}
