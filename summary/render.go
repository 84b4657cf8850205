package summary

import (
	"bufio"
	"fmt"
	"io"
	"iter"
	"strconv"
	"strings"

	"github.com/kconv/kconv/ir"
)

// Style is a Keras generation's summary format.
type Style int

// Styles. The zero value, Auto, means StyleFor(model).
const (
	Auto   Style = 0
	Keras1 Style = 1
	Keras2 Style = 2
	Keras3 Style = 3
)

// Keras3LineLength is the default table width of the Keras3 style: the
// width the project's Keras 3 fixtures were printed at.
const Keras3LineLength = 110

func (s Style) String() string {
	switch s {
	case Auto:
		return "auto"
	case Keras1, Keras2, Keras3:
		return "keras" + strconv.Itoa(int(s))
	}
	return fmt.Sprintf("Style(%d)", int(s))
}

// ParseStyle reads a style name: "keras1", "keras2", "keras3" (or "1", "2",
// "3", "k1", …), or "auto" / "".
func ParseStyle(s string) (Style, error) {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "", "auto":
		return Auto, nil
	case "keras1", "k1", "1":
		return Keras1, nil
	case "keras2", "k2", "2":
		return Keras2, nil
	case "keras3", "k3", "3":
		return Keras3, nil
	}
	return Auto, fmt.Errorf("unknown summary style %q (want keras1, keras2, keras3 or auto)", s)
}

// StyleFor returns the style of the Keras generation that wrote m: its
// major version, Keras3 when unknown and for ONNX models.
func StyleFor(m *ir.Model) Style {
	if m == nil || m.Meta.Format == "onnx" {
		return Keras3
	}
	switch m.Meta.KerasMajor() {
	case 1:
		return Keras1
	case 2:
		return Keras2
	}
	return Keras3
}

// Options tune Render.
type Options struct {
	Style Style // Auto: StyleFor(m)
	// LineLength is the total width; 0 means the style's default (Keras1
	// 100; Keras2 65 or 98; Keras3 Keras3LineLength).
	LineLength int
}

// Render writes m's summary in the given style (Auto: StyleFor(m)).
func Render(w io.Writer, m *ir.Model, style Style) error {
	return RenderWith(w, m, Options{Style: style})
}

// RenderWith writes m's summary with the given options.
func RenderWith(w io.Writer, m *ir.Model, o Options) error {
	if m == nil {
		return fmt.Errorf("summary: no model")
	}
	style := o.Style
	if style == Auto {
		style = StyleFor(m)
	}
	if o.LineLength < 0 {
		return fmt.Errorf("summary: negative line length %d", o.LineLength)
	}
	bw := bufio.NewWriter(w)
	var err error
	switch style {
	case Keras1:
		err = renderKeras1(bw, m, o.LineLength)
	case Keras2:
		err = renderKeras2(bw, m, o.LineLength)
	case Keras3:
		err = renderKeras3(bw, m, o.LineLength)
	default:
		return fmt.Errorf("summary: unknown style %v", style)
	}
	if err != nil {
		return err
	}
	return bw.Flush()
}

// layerRow is one layer as summaries show it.
type layerRow struct {
	node         *ir.Node
	name, class  string
	shape        ir.Shape
	more         []ir.Shape // further outputs (return_state), printed as Keras prints a list of shapes
	normShape    string     // NormalizeShape of the shape, for checks
	trainable    int64
	nonTrainable int64
	conns        []string // "name[0][0]" per input
}

func (r layerRow) params() int64 { return r.trainable + r.nonTrainable }

func isInput(n *ir.Node) bool {
	_, ok := n.Op.(*ir.Input)
	return ok
}

func nodeClass(n *ir.Node) string {
	if n.Class != "" {
		return n.Class
	}
	if n.Op != nil {
		return n.Op.Kind()
	}
	return ""
}

// rows yields, one at a time, the layers a summary of m shows (with their
// position): every node, except the InputLayers of a Sequential model. A
// summary of a million-layer model thus holds one row, not a million, and
// streams its text out through the caller's buffered writer.
func rows(m *ir.Model) iter.Seq2[int, layerRow] {
	return func(yield func(int, layerRow) bool) {
		i := 0
		st := stateRefs(m)
		for _, n := range m.Nodes {
			if m.Meta.Sequential && isInput(n) || isState(n) {
				continue
			}
			if !yield(i, newRow(n, st)) {
				return
			}
			i++
		}
	}
}

// rowCount returns the number of rows rows yields.
func rowCount(m *ir.Model) int {
	k := len(m.Nodes)
	for _, n := range m.Nodes {
		if m.Meta.Sequential && isInput(n) || isState(n) {
			k--
		}
	}
	return k
}

// isState reports whether n is a further output of a several-output layer
// (ir.RecurrentState): summaries show it in its layer's row and as
// "layer[0][k]" where it is used, not as a row of its own.
func isState(n *ir.Node) bool {
	_, ok := n.Op.(*ir.RecurrentState)
	return ok
}

// stateRefs maps the RecurrentState nodes of m to the connection Keras
// prints for them ("lstm[0][1]"); nil when m has none.
func stateRefs(m *ir.Model) map[string]string {
	var st map[string]string
	for _, n := range m.Nodes {
		if s, ok := n.Op.(*ir.RecurrentState); ok && len(n.Inputs) == 1 {
			if st == nil {
				st = map[string]string{}
			}
			st[n.Name] = fmt.Sprintf("%s[0][%d]", n.Inputs[0], s.Index)
		}
	}
	return st
}

// newRow returns n's summary row (without normShape, which only checks
// need); st is stateRefs of the model.
func newRow(n *ir.Node, st map[string]string) layerRow {
	t, nt := n.Params()
	r := layerRow{node: n, name: n.Name, class: nodeClass(n), shape: n.Out.Shape, trainable: t, nonTrainable: nt}
	if rec, ok := n.Op.(*ir.Recurrent); ok && rec.ReturnState && len(n.Out.Shape) > 0 {
		for range rec.States() {
			r.more = append(r.more, ir.Shape{n.Out.Shape[0], rec.Units})
		}
	}
	if len(n.Inputs) > 0 {
		r.conns = make([]string, len(n.Inputs))
		for i, in := range n.Inputs {
			if c, ok := st[in]; ok {
				r.conns[i] = c
				continue
			}
			r.conns[i] = in + "[0][0]"
		}
	}
	return r
}

// shapeText prints the row's output shape(s) with one as the printer of
// a single shape: a list of several as Python prints a list,
// "[(None, 4), (None, 2)]".
func (r layerRow) shapeText(one func(ir.Shape) string) string {
	if len(r.more) == 0 {
		return one(r.shape)
	}
	parts := []string{one(r.shape)}
	for _, s := range r.more {
		parts = append(parts, one(s))
	}
	return "[" + strings.Join(parts, ", ") + "]"
}

// nodeRows returns m's nodes as summary rows, without the InputLayers if
// hideInputs, with their normShape (for Check).
func nodeRows(m *ir.Model, hideInputs bool) []layerRow {
	rs := make([]layerRow, 0, len(m.Nodes))
	st := stateRefs(m)
	for _, n := range m.Nodes {
		if hideInputs && isInput(n) || isState(n) {
			continue
		}
		r := newRow(n, st)
		r.normShape = NormalizeShape(r.shapeText(tupleShape))
		rs = append(rs, r)
	}
	return rs
}

// sequentialLike reports whether Keras 2/3 would print m without the
// Connected-to column: a Sequential model, or a functional chain (one
// input, every other layer fed by exactly one layer, no layer feeding two).
func sequentialLike(m *ir.Model) bool {
	if m.Meta.Sequential {
		return true
	}
	inputs := 0
	consumers := make(map[string]int, len(m.Nodes))
	// A state output counts as its layer's: Keras looks at layers, and a
	// layer's several outputs are one node of its graph.
	producer := map[string]string{}
	for _, n := range m.Nodes {
		if isState(n) && len(n.Inputs) == 1 {
			producer[n.Name] = n.Inputs[0]
		}
	}
	for _, n := range m.Nodes {
		if isInput(n) {
			inputs++
			continue
		}
		if isState(n) {
			continue
		}
		if len(n.Inputs) != 1 {
			return false
		}
		in := n.Inputs[0]
		if p, ok := producer[in]; ok {
			in = p
		}
		consumers[in]++
		if consumers[in] > 1 {
			return false
		}
	}
	return inputs == 1
}

// totals returns the model's parameter counts.
func totals(m *ir.Model) (total, trainable, nonTrainable int64) {
	trainable, nonTrainable = m.Params()
	return trainable + nonTrainable, trainable, nonTrainable
}

// commas formats n with thousands separators, as Python's "{:,}".
func commas(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	if neg {
		s = s[1:]
	}
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// tupleShape prints a shape as Python prints a tuple: (None, 3), (None,).
func tupleShape(s ir.Shape) string {
	if len(s) == 0 {
		return "multiple"
	}
	return s.String()
}

// keras3Shape prints a shape as Keras 3's summary does: (None, 3), (None).
func keras3Shape(s ir.Shape) string {
	if len(s) == 0 {
		return "?"
	}
	parts := make([]string, len(s))
	for i, d := range s {
		if d < 0 {
			parts[i] = "None"
		} else {
			parts[i] = strconv.Itoa(d)
		}
	}
	return "(" + strings.Join(parts, ", ") + ")"
}
