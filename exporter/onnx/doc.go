// Package onnx writes kconv models as ONNX files that ONNX Runtime (and any
// other conforming runtime) runs with the same results as kconv's own
// executor.
//
// Encode and Write translate a prepared ir.Model with its weights into a
// single ModelProto: default-domain opset Options.Opset (13 unless set;
// 11–20 supported), the matching IR version, producer "kconv", graph inputs
// and outputs with their shapes (batch dimension "N", or static with
// Options.Batch), weights as float32 little-endian raw_data initializers
// (never also graph inputs).
//
// Layout. ONNX's convolutions, pooling and resizing work on NCHW tensors, so
// every rank-4 value is kept NCHW inside the graph. A channels_last (Keras
// NHWC) model takes its input as Keras does, NHWC, followed by a Transpose
// (0,3,1,2) — or NCHW directly with Options.InputNCHW — and values are
// transposed back (0,2,3,1) only where Keras semantics depend on the NHWC
// order: Flatten, Reshape, Permute and Dense on rank-4 values, merges of a
// rank-4 value with one of another rank, and rank-4 model outputs, which
// keep the Keras layout. Axes of Concatenate, softmax and BatchNormalization
// are mapped to their NCHW positions and PReLU slopes permuted instead.
// Transposes are emitted only where a value is needed in the other layout,
// once per value: a channels-first model (VGG16) needs none.
//
// ONNX Runtime's PadFusion moves a zero Pad into a following MaxPool, whose
// padding is -inf (a bug of its optimizer): a ZeroPadding2D that feeds a
// pooling layer pads with -0.0, which it does not fuse.
//
// A static dimension 0 (models imported from ONNX often have one) is
// written as it is; only a dynamic one is "N" or Options.Batch.
//
// Ops: Conv2D (Conv; grouped), DepthwiseConv2D (Conv with group = channels),
// SeparableConv2D (depthwise Conv + 1×1 Conv), Conv2DTranspose
// (ConvTranspose), Dense (Gemm, or MatMul + Add above rank 2),
// BatchNormalization (BatchNormalization on the channel axis, else Mul +
// Add), Pool2D (MaxPool, AveragePool with count_include_pad from the op),
// GlobalPool2D, ZeroPadding2D (Pad), Cropping2D (Slice), UpSampling2D
// (Resize: nearest asymmetric/floor, or linear half_pixel), Flatten,
// Reshape, Permute, merges (Add, Sub, Mul, Mean, Max, Min, Concat), PReLU,
// Dropout (dropped), activations (as layers or folded into the op that
// carries them, emitted as the following ONNX op: Relu, Clip, LeakyRelu,
// ThresholdedRelu, HardSigmoid, Softmax, Gelu at opset 20 or its erf/tanh
// formula below, …; Keras's relu with threshold, slope and maximum as
// ThresholdedRelu/Relu, Clip, Sub, Relu, Mul and Sub, ops importer/onnx
// reads back), the vgg_preprocess Lambda (Sub of the mean, then a Slice
// with step -1 reversing the channels) and the general ops importer/onnx
// produces, as the ONNX ops they stand for, on values in their logical
// order: Constant (an initializer), Binary (Add, Sub, Mul, Div, Max, Min),
// Transpose, ReshapeTo (Reshape), Concat, Pad, Slice, Gather, ReduceMean
// (axes as attribute before opset 18, as input from it), LRN, Clip, Gemm
// and MatMul. Pooling with dilations is MaxPool's dilations, or
// AveragePool's from opset 19. Any other op is an error naming the layer.
//
// Every ONNX node-test and PyTorch conformance case that importer/onnx and
// exec run goes back through this exporter to ONNX Runtime with the
// reference outputs (importer/onnx/conformance's TestRoundTrip).
//
// Write is atomic and never replaces an existing file without
// Options.Force. Weights are streamed into the file from the model's own
// buffers (kernels that need a new layout are transposed once), so memory
// stays near one copy of the weights even for VGG16's 553 MB.
package onnx
