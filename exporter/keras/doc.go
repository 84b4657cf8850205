// Package keras writes models in Keras's file formats.
//
// WriteKeras3 writes a Keras 3 .keras archive and WriteKeras3H5 Keras 3's
// legacy full-model .h5, following what Keras 3.16 writes group by group
// and key by key (checked against Keras's own files in
// ../shared/fixtures/keras3). An NCHW model (ONNX from PyTorch) is made
// channels_last first (ChannelsLast) unless K3Options.ChannelsFirst.
//
// WriteKeras1Weights writes a weights-only file exactly as Keras 1.x
// save_weights did (the layout of fast.ai's vgg16.h5): root attribute
// layer_names, one group per layer with attribute weight_names, datasets
// <layer>/<layer>_W and <layer>_b, convolution kernels as
// (filters, channels, rows, cols).
//
// WriteH5Model writes a full model as Keras 2 (tf.keras) model.save does:
// a Functional model_config and /model_weights with layer_names,
// weight_names and <layer>/<layer>/<weight>:0 datasets, readable by Keras 2
// and by kconv's importer. Padding, activations and transposed-convolution
// crops that Keras cannot state become extra ZeroPadding2D ("<layer>_pad"),
// activation ("<layer>_act") and Cropping2D ("<layer>_crop") layers; node
// names are made valid Keras names (H5LayerNames); Lambda layers name their
// registered kconv function (function_type "function", module "kconv").
//
// # ONNX models
//
// WriteH5Model also writes models imported from ONNX (kconv convert IN.onnx
// OUT.h5), as the Keras model of the same layout: an NCHW model becomes a
// channels_first Keras model (its convolutions, pooling, padding and
// upsampling state data_format "channels_first"), and a Keras 3 export,
// whose NHWC tensors go through Transposes around NCHW convolutions,
// becomes a channels_last input, Permute layers and channels_first
// convolutions. The Keras-style ops the importer uses are written as
// above; of the ONNX-only ops (ir/ops_onnx.go) those with a faithful Keras
// layer are written, the rest are errors naming the node:
//
//   - Transpose keeping axis 0 → Permute; ReshapeTo keeping dimension 0 →
//     Reshape; Concat of computed tensors on an axis >= 1 → Concatenate;
//   - Clip(0, max) → ReLU(max_value) (also Clip(0, +inf));
//   - Gemm with a computed A (no transA) and Constant B and C, MatMul with
//     a rank-2 Constant B → Dense (alpha and beta folded in);
//   - Binary of two computed tensors → Add, Subtract, Multiply, Maximum or
//     Minimum (Div has no layer); Binary Add, Sub or Mul of a computed
//     tensor and a Constant that varies along one axis at most (a bias, a
//     per-channel scale, a mean) → BatchNormalization on that axis whose
//     moving statistics make it that exact arithmetic (see bnEpsilon);
//   - Slice with step 1 on an image's height and width → Cropping2D.
//
// The exporter translates the IR alone and recognises no source idioms:
// the Sub of the VGG mean and channel-reversing Slice that PyTorch and
// tf2onnx make of fast.ai's vgg_preprocess reach it as a Lambda
// vgg_preprocess, folded by ir.PassFoldVGGPreprocess in importer/onnx's
// pipeline (the ir.AllOps table lists what each op is written as).
//
// Constant nodes are not layers: a Constant feeding a merge or any other
// layer, or being a model output, is an error. Pad (other than the
// ZeroPadding2D the importer makes), Gather, ReduceMean (other than global
// pooling), LRN, Gemm or MatMul of computed operands, Binary Div or Max/Min
// with a Constant, Slice in other forms, Transpose or ReshapeTo moving
// dimension 0 have no Keras layer. So do activations Keras 2 lacks
// (log_softmax, Keras 3's and PyTorch's hard_sigmoid) and geometry it
// refuses (dilated strided convolutions). Max pooling with explicit or
// ceil-mode padding becomes ZeroPadding2D + MaxPooling2D when its input is
// provably non-negative (after a ReLU, ReLU6, sigmoid, …), where a zero
// pad gives ONNX's -inf-padded result; otherwise it is an error. A Slice
// of an image's channels (ShuffleNet's split) becomes a 1x1 Conv2D
// selecting them.
//
// Converted and checked (read back by importer/keras, identical outputs in
// exec): ONNX's PyTorch-exported conv, depthwise and grouped conv,
// transposed conv, batch norm, pooling, PReLU, zero padding, linear and
// activation cases, and the Keras 3 fixtures exported to ONNX (bn_net,
// cifar_small, cifar_deep, conv_relu_fc, linear, vgg16_mini; activations
// has Keras 3's hard_sigmoid).
//
// Files are written atomically and never replace an existing file without
// Force.
package keras
