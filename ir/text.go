package ir

import (
	"bufio"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"strings"
)

// WriteText writes m in kconv's stable text form (what kconv ir prints and
// the IR goldens hold): a header, then one line per node in model order:
//
//	name = Op{Attr=value …}(input, …) -> output type [class C] [params N] [frozen N] [weights name shape, …]
//
// Attributes are the op's struct fields that differ from their zero value
// (Go names, embedded structs flattened); an input is followed by its type
// in brackets. Weight data is never read. Lines end in "\n"; nothing in the
// text depends on the machine, the time or the file's path.
func (m *Model) WriteText(w io.Writer) error {
	bw := bufio.NewWriter(w)
	fmt.Fprintf(bw, "model %s", m.Name)
	if m.Meta.Format != "" {
		fmt.Fprintf(bw, " format=%s", m.Meta.Format)
	}
	if m.Meta.KerasVersion != "" {
		fmt.Fprintf(bw, " keras=%s", m.Meta.KerasVersion)
	}
	if m.Meta.Sequential {
		bw.WriteString(" sequential")
	}
	fmt.Fprintf(bw, "\ninputs %s\noutputs %s\n", strings.Join(m.Inputs, ", "), strings.Join(m.Outputs, ", "))
	for _, s := range m.Warnings {
		fmt.Fprintf(bw, "warning %s\n", oneLineText(s))
	}
	idx := m.Index()
	for _, n := range m.Nodes {
		bw.WriteString(NodeText(n, idx))
		bw.WriteByte('\n')
	}
	return bw.Flush()
}

// Format returns m's text form (see WriteText).
func Format(m *Model) string {
	var b strings.Builder
	m.WriteText(&b) // a strings.Builder does not fail
	return b.String()
}

// NodeText is one node's line of the text form (see WriteText); idx gives
// the types of its inputs (Model.Index), nil to leave them out.
func NodeText(n *Node, idx map[string]*Node) string {
	var b strings.Builder
	b.WriteString(n.Name)
	b.WriteString(" = ")
	b.WriteString(opText(n.Op))
	b.WriteByte('(')
	for i, in := range n.Inputs {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(in)
		if p := idx[in]; p != nil {
			b.WriteString(" [" + typeText(p.Out) + "]")
		}
	}
	b.WriteString(") -> ")
	b.WriteString(typeText(n.Out))
	if n.Op != nil && n.Class != "" && n.Class != n.Op.Kind() {
		b.WriteString(" class " + n.Class)
	}
	t, nt := n.Params()
	if t > 0 {
		fmt.Fprintf(&b, " params %d", t)
	}
	if nt > 0 {
		fmt.Fprintf(&b, " frozen %d", nt)
	}
	if len(n.Weights) > 0 {
		b.WriteString(" weights ")
		for i, w := range n.Weights {
			if i > 0 {
				b.WriteString(", ")
			}
			b.WriteString(w.Name + " " + w.Shape.String())
			if w.DType != Float32 {
				b.WriteString(" " + w.DType.String())
			}
		}
	}
	return b.String()
}

// typeText prints a tensor type; "?" before infer-shapes.
func typeText(t TensorType) string {
	if len(t.Shape) == 0 {
		return "?"
	}
	s := t.String()
	if t.DType != Float32 {
		s += " " + t.DType.String()
	}
	return s
}

// opText prints an op as its Go type name and its non-zero attributes.
func opText(op Op) string {
	if op == nil {
		return "<nil>"
	}
	v := reflect.ValueOf(op)
	for v.Kind() == reflect.Pointer {
		if v.IsNil() {
			return "<nil>"
		}
		v = v.Elem()
	}
	var b strings.Builder
	b.WriteString(v.Type().Name())
	if v.Kind() != reflect.Struct {
		return b.String()
	}
	var attrs []string
	structAttrs(v, &attrs)
	if len(attrs) > 0 {
		b.WriteString("{" + strings.Join(attrs, " ") + "}")
	}
	return b.String()
}

// structAttrs appends Name=value for every non-zero exported field of the
// struct v, flattening embedded structs.
func structAttrs(v reflect.Value, attrs *[]string) {
	t := v.Type()
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		fv := v.Field(i)
		if fv.IsZero() && !isEnum(fv.Type()) {
			continue
		}
		if f.Anonymous && fv.Kind() == reflect.Struct {
			structAttrs(fv, attrs)
			continue
		}
		*attrs = append(*attrs, f.Name+"="+valueText(fv))
	}
}

var (
	stringerType = reflect.TypeFor[fmt.Stringer]()
	actType      = reflect.TypeFor[Act]()
	mergeType    = reflect.TypeFor[MergeMode]()
)

// isEnum reports whether t is a named integer type with names for its
// values (Padding, Layout, BinaryOp, MergeMode): those are shown even when
// zero, since their zero is a choice (Add, valid).
func isEnum(t reflect.Type) bool {
	switch t.Kind() {
	case reflect.Uint8, reflect.Int, reflect.Uint, reflect.Int32, reflect.Uint32:
		return t == mergeType || t.Implements(stringerType)
	}
	return false
}

// valueText prints one attribute value.
func valueText(v reflect.Value) string {
	switch {
	case v.Type() == actType:
		a := v.Interface().(Act)
		var attrs []string
		a.Name = ""
		structAttrs(reflect.ValueOf(a), &attrs)
		s := v.Interface().(Act).String()
		if len(attrs) > 0 {
			s += "{" + strings.Join(attrs, " ") + "}"
		}
		return s
	case v.Type() == mergeType:
		if m := v.Interface().(MergeMode); int(m) < len(mergeKinds) {
			return mergeKinds[m]
		}
	case v.Type().Implements(stringerType):
		return v.Interface().(fmt.Stringer).String()
	}
	switch v.Kind() {
	case reflect.Float32, reflect.Float64:
		return strconv.FormatFloat(v.Float(), 'g', -1, 64)
	case reflect.String:
		return strconv.Quote(v.String())
	case reflect.Slice, reflect.Array:
		parts := make([]string, v.Len())
		for i := range parts {
			parts[i] = valueText(v.Index(i))
		}
		return "[" + strings.Join(parts, ",") + "]"
	case reflect.Struct:
		var attrs []string
		structAttrs(v, &attrs)
		return "{" + strings.Join(attrs, " ") + "}"
	case reflect.Interface, reflect.Pointer:
		if v.IsNil() {
			return "nil"
		}
		return valueText(v.Elem())
	}
	// Booleans, integers and maps (fmt sorts map keys).
	return oneLineText(fmt.Sprint(v.Interface()))
}

// oneLineText escapes line breaks so that every node stays on one line.
func oneLineText(s string) string {
	return strings.NewReplacer("\n", `\n`, "\r", `\r`).Replace(s)
}
