package graph

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/kconv/kconv/ir"
)

// Options control how a model is drawn and rendered.
type Options struct {
	// RankDir is the direction layers flow in: "TB" (top to bottom, the
	// default when empty) or "LR" (left to right); Graphviz's "BT" and
	// "RL" are accepted too.
	RankDir string
	// Timeout bounds the dot program when Render makes svg or png output;
	// zero means DefaultTimeout.
	Timeout time.Duration
}

// DefaultTimeout is how long Render lets the dot program run.
const DefaultTimeout = 60 * time.Second

func (o Options) rankDir() (string, error) {
	switch d := strings.ToUpper(o.RankDir); d {
	case "":
		return "TB", nil
	case "TB", "LR", "BT", "RL":
		return d, nil
	}
	return "", fmt.Errorf("unknown rank direction %q (want TB or LR)", o.RankDir)
}

// Header colours by kind of layer.
const (
	colorLayer   = "#dae8fc" // convolutions, Dense
	colorNorm    = "#e1d5e7" // normalization
	colorAct     = "#f8cecc" // activations
	colorPool    = "#d5e8d4" // pooling
	colorMerge   = "#fff2cc" // Add, Concatenate, …
	colorShape   = "#eeeeee" // reshaping, padding, dropout
	colorCustom  = "#ffe6cc" // Lambda, unknown layers
	colorInput   = "#c8e6c9" // InputLayer header
	colorBorder  = "#666666"
	borderInput  = "#2e7d32"
	borderOutput = "#c62828"
)

// WriteDOT writes m as a Graphviz digraph to w. The model must be typed
// (its nodes' output shapes inferred), as every loaded or built model is;
// unknown shapes are drawn as "?".
func WriteDOT(w io.Writer, m *ir.Model, opts Options) error {
	if m == nil {
		return errors.New("graph: no model")
	}
	rankdir, err := opts.rankDir()
	if err != nil {
		return err
	}
	idx := make(map[string]bool, len(m.Nodes))
	for _, n := range m.Nodes {
		idx[n.Name] = true
	}
	for _, n := range m.Nodes {
		for _, in := range n.Inputs {
			if !idx[in] {
				return fmt.Errorf("layer '%s': input '%s' is not a layer of the model", n.Name, in)
			}
		}
	}
	role := make(map[string]string) // "input" or "output"
	for _, name := range m.Inputs {
		if !idx[name] {
			return fmt.Errorf("model input '%s' is not a layer of the model", name)
		}
		role[name] = "input"
	}
	for _, name := range m.Outputs {
		if !idx[name] {
			return fmt.Errorf("model output '%s' is not a layer of the model", name)
		}
		role[name] = "output"
	}

	var b bytes.Buffer
	b.WriteString("// Drawn by kconv graph. Render with: dot -Tsvg FILE.dot -o FILE.svg\n")
	fmt.Fprintf(&b, "digraph %s {\n", quoteID(m.Name))
	t, nt := m.Params()
	title := commas(t+nt) + " params"
	if m.Name != "" {
		title = "<B>" + htmlEscape(m.Name) + "</B><BR/>" + title
	}
	if nt > 0 {
		title += " (" + commas(nt) + " non-trainable)"
	}
	fmt.Fprintf(&b, "\tgraph [rankdir=%s, fontname=\"Helvetica\", fontsize=12, labelloc=t, nodesep=0.3, ranksep=0.35, label=<%s>];\n", rankdir, title)
	b.WriteString("\tnode [shape=plain, fontname=\"Helvetica\", fontsize=10];\n")
	b.WriteString("\tedge [color=\"#555555\", arrowsize=0.7];\n")
	for _, n := range m.Nodes {
		fmt.Fprintf(&b, "\t%s [label=<%s>];\n", quoteID(n.Name), nodeLabel(n, role[n.Name]))
	}
	for _, n := range m.Nodes {
		for _, in := range n.Inputs {
			fmt.Fprintf(&b, "\t%s -> %s;\n", quoteID(in), quoteID(n.Name))
		}
	}
	b.WriteString("}\n")
	_, err = w.Write(b.Bytes())
	return err
}

// nodeLabel is the HTML-like table drawn for n; role is "input", "output"
// or "".
func nodeLabel(n *ir.Node, role string) string {
	border, color, style := "1", colorBorder, ""
	switch role {
	case "input":
		border, color, style = "2", borderInput, ` STYLE="ROUNDED"`
	case "output":
		border, color, style = "2", borderOutput, ` STYLE="ROUNDED"`
	}
	class := n.Class
	if class == "" && n.Op != nil {
		class = n.Op.Kind()
	}
	var s strings.Builder
	fmt.Fprintf(&s, `<TABLE BORDER="%s" COLOR="%s"%s CELLBORDER="0" CELLSPACING="0" CELLPADDING="3">`, border, color, style)
	fmt.Fprintf(&s, `<TR><TD COLSPAN="2" BGCOLOR="%s"><B>%s</B><BR/>%s</TD></TR><HR/>`, headerColor(n.Op), htmlEscape(n.Name), htmlEscape(class))
	if act := activation(n.Op); act != "" {
		row(&s, "activation", htmlEscape(act))
	}
	shape := "?"
	if len(n.Out.Shape) > 0 {
		shape = n.Out.Shape.String()
	}
	row(&s, "output", shape)
	t, nt := n.Params()
	params := commas(t + nt)
	if nt > 0 {
		params += " (" + commas(nt) + " non-trainable)"
	}
	row(&s, "params", params)
	s.WriteString(`</TABLE>`)
	return s.String()
}

func row(s *strings.Builder, key, value string) {
	fmt.Fprintf(s, `<TR><TD ALIGN="LEFT">%s</TD><TD ALIGN="LEFT">%s</TD></TR>`, key, value)
}

func headerColor(op ir.Op) string {
	switch op.(type) {
	case *ir.Input:
		return colorInput
	case *ir.Conv2D, *ir.DepthwiseConv2D, *ir.SeparableConv2D, *ir.Conv2DTranspose, *ir.Dense:
		return colorLayer
	case *ir.BatchNorm:
		return colorNorm
	case *ir.Activation, *ir.PReLU:
		return colorAct
	case *ir.Pool2D, *ir.GlobalPool2D:
		return colorPool
	case *ir.Merge:
		return colorMerge
	case *ir.Flatten, *ir.Reshape, *ir.Permute, *ir.ZeroPadding2D, *ir.Cropping2D, *ir.UpSampling2D, *ir.Dropout:
		return colorShape
	}
	return colorCustom
}

// activation returns the non-linear activation an op applies, or "".
func activation(op ir.Op) string {
	var a ir.Act
	switch o := op.(type) {
	case *ir.Conv2D:
		a = o.Activation
	case *ir.DepthwiseConv2D:
		a = o.Activation
	case *ir.SeparableConv2D:
		a = o.Activation
	case *ir.Conv2DTranspose:
		a = o.Activation
	case *ir.Dense:
		a = o.Activation
	case *ir.Activation:
		a = o.Act
	default:
		return ""
	}
	if a.IsLinear() {
		return ""
	}
	return a.String()
}

// quoteID makes s a quoted DOT identifier. Inside quotes DOT treats only \"
// specially; backslashes are doubled so that a trailing one cannot escape
// the closing quote, and control characters and invalid UTF-8 are written
// as \xNN, so the mapping stays one-to-one.
func quoteID(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == utf8.RuneError && size == 1, r < 0x20, r == 0x7f:
			fmt.Fprintf(&b, `\x%02x`, s[i])
		default:
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	b.WriteByte('"')
	return b.String()
}

// htmlEscape makes s safe as text in a Graphviz HTML-like label. Control
// characters (which XML forbids) and invalid UTF-8 become U+FFFD.
func htmlEscape(s string) string {
	var b strings.Builder
	for _, r := range strings.ToValidUTF8(s, "\uFFFD") {
		switch {
		case r == '&':
			b.WriteString("&amp;")
		case r == '<':
			b.WriteString("&lt;")
		case r == '>':
			b.WriteString("&gt;")
		case r == '"':
			b.WriteString("&quot;")
		case r < 0x20, r == 0x7f:
			b.WriteRune('\uFFFD')
		default:
			b.WriteRune(r)
		}
	}
	return b.String()
}

// commas prints n with thousands separators, as Keras's summaries do.
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
