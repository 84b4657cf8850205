// Package exec runs ir models natively on the CPU.
//
// Compile turns a model into a Program: the nodes in topological order are
// lowered to steps over float32 buffers, with
//
//   - a storage layout chosen per value: spatial ops (convolution, pooling,
//     padding, …) work in NHWC, so a channels-first tensor is kept
//     transposed (N,H,W,C) between them and converted to its logical
//     (Keras) order only where an op needs it (Flatten, Reshape, Lambda, …);
//   - fusions decided in the IR: Compile first runs Optimize, the fusion
//     passes of ir.FusePasses on a copy of the model (a ZeroPadding2D, a
//     following BatchNormalization, per-channel constant Adds, a residual
//     Add and an activation folded into a convolution or dense node, which
//     records them in its Fused attribute), and the lowering reads those
//     decisions: BN folded into kernel and bias here, at compile time,
//     the activation and residual in the kernel's epilogue, a 2×2 pooling
//     in SmallConv's step. Only what depends on a kernel stays a lowering
//     choice (the residual or pooling computed by a step of its own after
//     kernels that cannot). Dropout and
//     SpatialDropout2D are the identity and Flatten/Reshape are views;
//   - buffer reuse: every value gets a buffer at an offset in one arena,
//     planned per batch size so that buffers never live at the same step
//     share memory; a run allocates nothing per layer, and element-wise
//     steps work in place when their input dies with them;
//   - channel concatenations written in place (concat.go): producers write
//     into their slice of the concatenation's buffer, and DenseNet's
//     concatenations are prefixes of their block's buffer, read by the
//     convolution that normalizes them as it reads (preaffine.go).
//
// A Program is safe for concurrent use: the plan is read-only and each Run
// takes its own arena from a pool (one pool per batch size).
//
// Kernels live in exec/internal/kernels (each with a naive reference twin);
// matrix products in exec/internal/gemm (OpenBLAS through cgo, or pure Go with
// the purego build tag).
package exec
