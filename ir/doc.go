// Package ir is kconv's intermediate representation of a neural network: a
// directed acyclic graph of named nodes, each applying one Op to the outputs
// of other nodes.
//
// Every importer (Keras of every vintage, ONNX) translates its source's
// conventions into this one canonical form, once, at the border:
//
//   - Tensors carry an explicit Layout (channels-first or channels-last) and
//     a Shape whose first dimension is the batch (-1 when unknown).
//   - Weights are held in one canonical layout per op (documented on each
//     op type), e.g. Conv2D kernels as (kh, kw, in/groups, out), Dense kernels
//     as (in, out). Importers convert other layouts, and the Theano kernel flip
//     is an explicit importer step recorded on the op (Conv2D.TheanoFlipped).
//   - Weights are lazy: a Weight knows its name, shape and where its data
//     lives, and reads it on first use, once, into its final float32 buffer.
//
// Each op is defined once, in ops.go: its attributes, its output-shape rule
// (Op.Infer) and its parameter rule (Op.Weights, which also says which
// weights are trainable, as Keras counts them).
//
// # The op table
//
// AllOps is the table of every op kind (a Kind value; Pool2D, Merge,
// Binary, Dropout and Recurrent each give several): a small Example per
// kind, the Keras class names importer/keras reads into it and the class
// exporter/keras writes, the ONNX op types importer/onnx translates into
// it, the Keras config keys of its classes (KerasKeys: each key's Keras
// 1/2/3 spellings and the typed attributes it carries; see KerasKey), and
// the capabilities (exec, Keras export, ONNX export, ONNX read back) it
// lacks, each with the reason. The attributes, the shape rule and
// the parameter rule stay the op's own fields and methods. The code that
// maps ops stays in the packages that own it; the test in ir/optable checks
// the table against that code, tries every capability of every op, and
// fails on a gap without a mark as on a mark that is no longer true.
//
// # One name per concept
//
// Some concepts have two ops because Keras and ONNX state them with
// different facts; each pair has one rule for which op an importer makes,
// and the conversions between the two forms are written once, in
// pairs.go (Permute.Perm, Transpose.AsPermute, ReshapeTo.AsReshape,
// ZeroPaddingOf, BinaryOp.MergeMode, MergeModeOf, Concat.AsMerge,
// GemmIsDense, MatMulIsDense, GemmKernelRows, GemmBias), for importers and
// exporters alike:
//
//   - Merge vs Binary: Merge is Keras's merge layers (Add ... Concatenate),
//     n-ary over computed tensors of one shape; importer/onnx makes a Merge
//     from Add/Sub/Mul/Max/Min/Mean/Sum of such tensors and a Binary (a
//     chain of them for n-ary ops) when an operand is a Constant, shapes
//     broadcast, or the op is Div. exporter/keras writes a Binary
//     Add/Sub/Mul with a per-channel constant as a BatchNormalization, so
//     folding Binary into Merge would lose that.
//   - Permute vs Transpose: Permute keeps the batch axis first (Keras's
//     dims count from 1; importer/keras makes it); Transpose is any ONNX
//     permutation, batch axis included (importer/onnx makes it). Their
//     output types differ: Permute's has no layout, while a Transpose
//     swapping NCHW and NHWC relabels it, which exec runs as a storage
//     view and the fusion passes move and cancel; a Keras Permute read as
//     a Transpose would change both. exporter/keras writes a
//     batch-preserving Transpose as Permute.
//   - Reshape vs ReshapeTo: Reshape keeps the batch axis dynamic and infers
//     one -1 (Keras); ReshapeTo is a static shape, batch included, as ONNX's
//     folded shape arithmetic gives it, and may change dimension 0, which
//     only a static batch allows.
//   - ZeroPadding2D vs Pad: ZeroPadding2D is zero padding of an image's
//     height and width (what convolutions absorb); Pad is any axes, modes
//     and values (ONNX); fuse-pad and Keras take only the image form.
//     importer/onnx makes ZeroPadding2D when a Pad is one.
//   - Concatenate (Merge) vs Concat: Concat is ONNX's, with a resolved
//     non-negative axis and constant operands allowed.
//   - Dense vs Gemm vs MatMul: Dense is x·W+b with constant weights; ONNX
//     Gemm and MatMul with a constant right operand become Dense (and a
//     following constant Add its bias, pass fold-dense-bias). Gemm and
//     MatMul remain only for two computed operands (attention-style
//     products), which no Keras layer writes.
//
// Unifying these would change what summaries print and what exporter/keras
// writes for models that import today; the op table marks which of each
// pair exports where, and each pair's Notes say why it is two ops.
//
// # Keras config keys
//
// The Keras config keys are one table (KerasKey values, listed per row in
// OpInfo.KerasKeys): importer/keras reads every spelling of a key with
// KerasKey.Read and exporter/keras writes KerasKey.Name (Keras 2) or
// K3Name (Keras 3) of the same value, so a key is spelled once for every
// vintage (Keras 1's nb_filter, subsample, border_mode, dim_ordering …
// are a key's Old spellings). Keys the exporter writes with Keras's fixed
// training settings (initializers, regularizers, momentum …) are
// KerasFixedKey and not read. The test in ir/optable writes every
// exportable op with both Keras writers and fails when a key written is
// not a key of its class's row, or when importer/keras ignores it.
//
// Activations are typed (ActName), and one table (Activations) gives each
// its Keras spellings, its ONNX op, Keras's defaults and the name each
// Keras version writes.
//
// Every IR→IR step after an importer's translation is a named Pass run by a
// Pipeline that checks the model's invariants after each pass, in the style
// of the Go compiler's ssa package, and records each pass's time and
// changed-node count in Model.Passes. The fusion passes (FusePasses) are
// the optimizing pipeline exec compiles with, run on a copy of an imported
// model (Model.CopyForPasses): a fused node records what it absorbed in
// its op (Fusion, Activation), so summaries and exporters, which work on
// the imported model, never see them. WriteText prints a model in a stable
// text form, one line per node (kconv ir; the goldens in ir/golden). Builder
// builds models from Go code, like Keras's Sequential and functional APIs.
package ir
