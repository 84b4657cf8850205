// Package onnx imports ONNX models (IR versions 3–13, opsets 6–25) into
// kconv's canonical ir.Model.
//
// Load reads a .onnx file, Decode a serialized ModelProto; LoadWith and
// DecodeWith take Options (Constants gives graph inputs fixed values, as
// ONNX's node tests need for Reshape targets or Conv kernels passed as
// inputs). ReadTensor and ReadTensorProto read serialized TensorProtos such
// as the input_N.pb/output_N.pb files of ONNX's test data sets. The
// protobuf types are generated into onnxpb from a trimmed copy of ONNX's
// schema (go generate ./onnxpb).
//
// # Import
//
// The graph is checked (every input defined, no value defined twice, no
// cycle) and walked in topological order. Each value is either computed (an
// ir node) or a constant known at import time: an initializer, a Constant,
// a bound input, or the result of folding. Shape arithmetic — Shape, Gather,
// Slice, Concat, Unsqueeze, Squeeze, Reshape, Transpose, Cast,
// ConstantOfShape, Add/Sub/Mul/Div on constants — is evaluated at import, with
// the dynamic batch size carried as a symbol (a mark beside the int64
// value, so that no value, INT64_MIN included, is mistaken for it), so that
// for example PyTorch's x.view(x.size(0), -1) becomes a static ir.Reshape.
// Exporters' spellings of single activations (x/(1+|x|), x·sigmoid(x))
// become that activation; ThresholdedRelu is relu with a threshold.
//
// Resize (opsets 10+, scales or sizes) and Upsample become ir.UpSampling2D
// when they upsample height and width by integer factors (batch and
// channel factors 1) in a way UpSampling2D computes: nearest that repeats
// pixels (asymmetric/floor as PyTorch and kconv write it, Upsample and
// Resize-10 nearest, or any coordinate transformation and rounding that
// picks the same pixels for the factors given) or linear with half-pixel
// centres (half_pixel, pytorch_half_pixel). Other forms (fractional
// factors, cubic, align_corners or asymmetric linear, crop and resize) are
// errors naming the node.
//
// Conventions are converted once, here: ONNX tensors are NCHW (rank-4
// inputs are ChannelsFirst, or ChannelsLast when every path from them ends
// in a Transpose to NCHW through ops that keep the axis order —
// arithmetic, Slice, Pad — as in models exported from Keras); convolution kernels
// are transposed to ir's layouts ((M, C/g, kh, kw) → (kh, kw, C/g, M),
// depthwise when group equals the input channels, ConvTranspose's
// (C, M, kh, kw) → (kh, kw, M, C)); Gemm and MatMul with a constant right
// operand become Dense (alpha folded into the kernel, a vector C or a
// following Add of a constant vector into the bias); operands that moved
// from attributes to inputs across opsets (Clip, Squeeze, Unsqueeze, Pad,
// Slice, ReduceMean, Dropout) and opset-dependent semantics (Softmax before
// opset 13, legacy broadcasting before opset 7) are handled. 1-D
// convolution and pooling run as 2-D with height 1.
//
// Keras-style ir ops are used wherever their semantics match exactly; the
// rest use the general ops of ir/ops_onnx.go (Constant, Binary, Transpose,
// ReshapeTo, Concat, Pad, Slice, Gather, ReduceMean, LRN, Clip, Gemm,
// MatMul). A graph input's symbolic (or missing) dimensions stay -1: its
// dimension 0 is the dynamic batch, the others unknown sizes that exec fixes
// per input shape at run time (variable-length sequences, fully
// convolutional images). Shape of such a value marks them as symbols too
// (symUnknown), which data movement carries and which any op needing their
// value refuses, naming the node; a Reshape may leave one dimension unknown.
//
// # Time-major values
//
// kconv keeps the batch on axis 0, but ONNX's recurrent nodes default to
// time-major tensors and PyTorch writes them so. A value whose batch is on
// another axis (val.bax: X after Transpose(1,0,2), Y, the states) is carried
// as the ir value with its batch moved to the front, through the ops PyTorch
// writes around recurrences (timemajor.go); a time-major graph input or
// output gets a Transpose to or from that form (ir.Transpose.MovesDim0 when
// it moves a dynamic dimension 0: exec then compiles per input shape,
// dimension 0 included); any other use is an error naming the node.
//
// # Reading
//
// Load reads only a model's structure: it scans the ModelProto's wire
// format (the file mapped where the platform allows), copies everything
// but the raw_data of the graph's initializers and of node attributes'
// tensors, and unmarshals that copy, so that import time and memory do not
// grow with the weights (kconv summary reads none). Each stripped
// TensorProto keeps the offset and length of its raw_data in the file.
// Weights read them when their data is first needed, with ReadAt on the
// file Load opened (kept open while weights refer to it, so that a file
// replaced under the same path is not mixed in): float32 data straight into
// the weight's buffer on little-endian hosts, other types and byte orders
// through a small buffer, and kernels whose layout changes (Conv,
// ConvTranspose, Gemm with transB or alpha) a few rows at a time, so that
// the importer never holds a second copy of a large weight. Raw data of at
// most 4 KiB (shape operands and the like, read during import) is copied
// at the scan. Decode, given bytes, copies all raw data.
//
// # Untrusted files
//
// Sizes are checked before anything is allocated: dims must be
// non-negative and their product bounded, and each tensor must hold (or
// point at) exactly the bytes its dims claim. External data is resolved
// through an os.Root on the model's folder, so absolute paths, ".." and
// symbolic links leading out of it are refused; it is read lazily, when a
// weight's data is first needed. Errors are one line naming the file and
// the node (with its op) or initializer:
//
//	model.onnx: node 'conv_3' (op Foo): unsupported op
//
// # Files
//
// Reading: onnx.go (the API, the graph walk: inputs, order, Constant
// nodes), scan.go (raw_data stripped at the scan), nodes.go (nodes split
// off and decoded), names.go (the table of value and node names),
// tensor.go (TensorProto data, external data). Idiom rewriting before
// translation: rewrite.go (Softsign), rnn.go (batch-first recurrences
// between kconv's exporter's transposes).
// Node translation: convert.go (the op dispatch), attrs.go (a node's
// attributes, inputs and outputs), constants.go (constants and shape
// arithmetic), reshape.go, elementwise.go, norm.go, matmul.go, pad.go,
// spatial.go (Conv, ConvTranspose, pooling), resize.go, rnn.go,
// timemajor.go (values with their batch off axis 0), tensorops.go (the
// transformer ops). Constant folding: fold.go. The IR
// passes after translation, pruning included: passes.go.
package onnx
