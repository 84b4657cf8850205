// Package exec runs ir models natively on the CPU.
//
// Compile turns a model into a Program: the nodes in topological order are
// lowered to steps over float32 buffers, with
//
//   - a storage layout chosen per value: spatial ops (convolution, pooling,
//     padding, …) work in NHWC, so a channels-first tensor is kept
//     transposed (N,H,W,C) between them and converted to its logical
//     (Keras) order only where an op needs it (Flatten, Reshape, Lambda, …);
//   - fusions: a convolution or dense layer absorbs a following
//     BatchNormalization (folded into its kernel and bias) and a following
//     activation (applied in the kernel's epilogue); Dropout and
//     SpatialDropout2D are the identity and Flatten/Reshape are views;
//   - buffer reuse: every value gets a buffer at an offset in one arena,
//     planned per batch size so that buffers never live at the same step
//     share memory; a run allocates nothing per layer, and element-wise
//     steps work in place when their input dies with them.
//
// A Program is safe for concurrent use: the plan is read-only and each Run
// takes its own arena from a pool (one pool per batch size).
//
// Kernels live in exec/internal/kernels (each with a naive reference twin);
// matrix products in exec/internal/gemm (OpenBLAS through cgo, or pure Go with
// the purego build tag).
package exec
