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
// Activations are typed (ActName), and one table (Activations) gives each
// its Keras spellings, its ONNX op and Keras's defaults.
//
// Every IR→IR step after an importer's translation is a named Pass run by a
// Pipeline that checks the model's invariants after each pass, in the style
// of the Go compiler's ssa package, and records each pass's time and
// changed-node count in Model.Passes. WriteText prints a model in a stable
// text form, one line per node (kconv ir; the goldens in ir/golden). Builder
// builds models from Go code, like Keras's Sequential and functional APIs.
package ir
