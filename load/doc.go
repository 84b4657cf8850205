// Package load opens a model of any kind kconv reads — a builtin name, a
// Keras file of any vintage, or an ONNX file — as a prepared ir.Model.
// Weights-only Keras files without an architecture get the builtin one
// they match (zoo.Identify); Meta.Arch says which.
package load
