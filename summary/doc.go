// Package summary prints a model the way Keras's model.summary() did, in the
// style of each Keras generation, as JSON, and checks a model against a
// summary Keras printed (kconv summary --check REF).
//
// # Styles
//
// Keras1 reproduces Keras 1.1.2's print_summary (the fast.ai course's Keras
// printed the same table; only a field that overflows its column differs in
// 1.1.0/1.1.1, which did not force a space between columns): line length 100,
// columns ending at 33/55/67/100, header "Layer (type)  Output Shape  Param #
// Connected to", a '_' rule above the header and a '=' rule below it, every
// layer followed by a '_' rule (the last by '='), fields cut at their column
// end with the last kept character replaced by a space, parameter counts
// without separators, the Connected-to column on every model (one entry per
// line, "name[node][tensor]"; a Sequential model's first layer connects to
// its hidden InputLayer), and the totals as Keras 1.0–1.1 printed them: a
// single "Total params: 138357544" line, then a '_' rule. (Keras 1.2 added
// comma separators and Trainable/Non-trainable lines; the project's
// reference, testdata/vgg16_summary.txt, has the 1.1 line, so Keras1 prints
// that.)
//
// Keras2 reproduces Keras 2.2.5–2.3.1's print_summary, which tf.keras 2.0–2.7
// also printed for models without nested submodels: a `Model: "name"` line,
// sequential-like models (Sequential, or a functional chain: one input, every
// layer fed by exactly one layer, no layer feeding two) at line length 65
// with columns ending at 29/55/65 and no Connected-to column, other models
// at 98 with columns 32/53/65/98 and the Connected-to column; "Total params:
// 1,234", "Trainable params:", "Non-trainable params:" with thousands
// separators, then a '_' rule. An InputLayer's output shape is printed as a
// tuple, as standalone Keras did (tf.keras printed a one-element list).
//
// Keras3 reproduces Keras 3 (3.16)'s rich table byte for byte: the boxed
// heavy-head table, the column widths rich computes from Keras's positions
// (0.45/0.80/1.0 sequential-like, 0.3/0.56/0.74/1.0 otherwise) for a table as
// wide as the line length (rich's ratio_reduce / ratio_distribute, integer
// arithmetic and Python's rounding included), cells word-wrapped at spaces
// and cut with "…" when a word does not fit, parameter counts right-aligned
// with thousands separators, and the totals with their size in memory
// (4 bytes per float32 parameter; B, KB, MB, GB, TB, PB by powers of 1024).
// Keras's own default line length is 88 (sequential-like) or 108, capped at
// the terminal width minus 4; the project's fixtures were printed at 110, so
// that is Keras3LineLength, the default here; Options.LineLength overrides it.
//
// In every style a Sequential model (Meta.Sequential) hides its InputLayer
// rows; functional models show them. StyleFor picks the model's own Keras
// generation (Keras3 for unknown versions and ONNX models).
//
// # Parameter counts
//
// A row counts the weights its node reads; the totals are ir.Model.Params.
// For Keras models the two agree as in Keras (each layer's weights are its
// own). For an ONNX model the totals count each initializer once, however
// many nodes read it (onnx's sum(numel for initializer)), while every row
// reading a shared initializer shows it, as Keras shows a shared layer's
// weights on each of its rows: such a model's rows add up to more than
// its total. Constant literals (ε, exponents) show on their rows and count
// in no total.
//
// # Checking against a reference
//
// Parse reads a summary of any vintage: the Keras 3 boxed table (wrapped
// cells re-joined), Keras 1/2 column text (cells sliced at the header's
// column starts, including tf.keras 2.13+'s wrapped rows), and Keras 1/2
// text whose runs of spaces were collapsed (parsed by tokens). Output shapes
// are normalized (no spacing differences, "(None,)" equals "(None)", a
// one-element list "[(None, 3)]" equals its tuple); parameter counts may
// have separators or not. Cells Keras truncated ("…", or a Keras 1/2 field
// cut at its column end) compare by prefix.
//
// Check compares the model's summary rows with the reference's in order,
// after aligning the two sequences (an edit-distance alignment, so one
// missing or extra row is reported once instead of shifting every later
// row). When the reference has no InputLayer row (a Sequential summary), the
// model's InputLayer rows are skipped. For every aligned pair it compares the
// layer name (auto-generated names differ between sessions, but a name
// difference is still a difference: it is reported, like every other one),
// the class (equal to the node's Class or to its op's canonical Kind, so a
// Keras 1 "Convolution2D" matches a "Conv2D" op), the output shape and the
// parameter count, and, when the reference has a Connected-to column, the
// inputs, with the reference's names translated through the alignment so a
// renamed layer is reported once, not again at each consumer. Then it
// compares the totals the reference prints (total, and trainable and
// non-trainable when present). The model's name is not compared.
package summary
