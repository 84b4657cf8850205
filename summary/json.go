package summary

import (
	"encoding/json"
	"fmt"
	"io"

	"github.com/kconv/kconv/ir"
)

// JSONSummary is what RenderJSON writes.
type JSONSummary struct {
	Model string `json:"model"`
	// Style is the Keras style the model's text summary uses by default.
	Style string `json:"style"`
	// Sequential is true for a Keras Sequential model (its text summaries
	// hide the InputLayer rows, which Layers still lists).
	Sequential bool        `json:"sequential"`
	Layers     []JSONLayer `json:"layers"`
	Totals     JSONTotals  `json:"totals"`
}

// JSONLayer is one node of the model, in the model's order.
type JSONLayer struct {
	Name  string `json:"name"`
	Class string `json:"class"`
	// OutputShape has the batch axis first; null stands for None.
	OutputShape        []*int   `json:"output_shape"`
	Params             int64    `json:"params"`
	TrainableParams    int64    `json:"trainable_params"`
	NonTrainableParams int64    `json:"non_trainable_params"`
	Inputs             []string `json:"inputs"`
}

// JSONTotals are the model's parameter counts.
type JSONTotals struct {
	Params             int64 `json:"params"`
	TrainableParams    int64 `json:"trainable_params"`
	NonTrainableParams int64 `json:"non_trainable_params"`
}

// Summarize returns the facts of m's summary: every node (InputLayers
// included), its class, output shape, parameters and inputs, and the totals.
func Summarize(m *ir.Model) JSONSummary {
	s := JSONSummary{Model: m.Name, Style: StyleFor(m).String(), Sequential: m.Meta.Sequential, Layers: []JSONLayer{}}
	for _, n := range m.Nodes {
		t, nt := n.Params()
		l := JSONLayer{Name: n.Name, Class: nodeClass(n), Params: t + nt, TrainableParams: t, NonTrainableParams: nt, Inputs: []string{}}
		if n.Out.Shape != nil {
			l.OutputShape = make([]*int, len(n.Out.Shape))
			for i, d := range n.Out.Shape {
				if d >= 0 {
					d := d
					l.OutputShape[i] = &d
				}
			}
		}
		l.Inputs = append(l.Inputs, n.Inputs...)
		s.Layers = append(s.Layers, l)
	}
	total, tr, nt := totals(m)
	s.Totals = JSONTotals{Params: total, TrainableParams: tr, NonTrainableParams: nt}
	return s
}

// RenderJSON writes Summarize(m) as indented JSON.
func RenderJSON(w io.Writer, m *ir.Model) error {
	if m == nil {
		return fmt.Errorf("summary: no model")
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(Summarize(m))
}
