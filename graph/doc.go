// Package graph draws a model as a Graphviz graph, in the manner of Keras's
// plot_model(show_shapes=True) and Netron: one box per layer, showing the
// layer's name, class, activation (when it has a non-linear one), output
// shape and parameter count, with an edge from each input to the layer that
// takes it.
//
// WriteDOT writes the DOT text; Render writes a .dot, .svg or .png file, the
// latter two by piping the DOT text through Graphviz's dot program.
//
// # Appearance
//
// Each layer is an HTML-like table whose header is coloured by the kind of
// layer: blue for weighted layers (convolutions, Dense), purple for
// normalization, red for activations, green for pooling, yellow for merges
// (Add, Concatenate, …), grey for reshaping and dropout, orange for Lambda
// and unknown layers. The model's inputs have a rounded, thick green border
// and its outputs a rounded, thick red border (a layer that is both gets
// the output's). The graph's label names the model and its parameter total.
// Layers flow top to bottom unless Options.RankDir says otherwise.
//
// # Escaping and determinism
//
// Layer names become DOT node identifiers (quoted, with '"' and '\'
// escaped and control characters or invalid UTF-8 written as \xNN, so
// distinct names stay distinct) and are printed in the tables with HTML
// escaping (&, <, >, "), so any name, including ones with '/' or ':' as
// TensorFlow and ONNX produce, is safe. Output depends only on the model:
// nodes and edges follow the model's node order, and nothing is taken from
// a map or the environment.
package graph
