package summary

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/kconv/kconv/ir"
)

// Diff fields.
const (
	FieldName         = "name"
	FieldClass        = "class"
	FieldShape        = "output shape"
	FieldParams       = "params"
	FieldInputs       = "inputs"
	FieldMissing      = "missing" // a reference row the model lacks
	FieldExtra        = "extra"   // a model layer the reference lacks
	FieldTotal        = "total params"
	FieldTrainable    = "trainable params"
	FieldNonTrainable = "non-trainable params"
)

// Diff is one difference between a model and a reference summary.
type Diff struct {
	// Row is the 1-based position of the layer among the compared rows:
	// the model's, or the reference's for FieldMissing; 0 for totals.
	Row int
	// Layer is the layer's name: the model's, or the reference's for
	// FieldMissing; "" for totals.
	Layer string
	Field string
	// Got is the model's value, Want the reference's. For FieldExtra and
	// FieldMissing they describe the row that has no counterpart.
	Got, Want string
}

func (d Diff) String() string {
	switch d.Field {
	case FieldMissing:
		return fmt.Sprintf("reference layer %d '%s': not in the model (reference: %s)", d.Row, d.Layer, d.Want)
	case FieldExtra:
		return fmt.Sprintf("layer %d '%s': not in the reference (%s)", d.Row, d.Layer, d.Got)
	case FieldTotal, FieldTrainable, FieldNonTrainable:
		return fmt.Sprintf("%s %s, reference %s", d.Field, d.Got, d.Want)
	}
	return fmt.Sprintf("layer %d '%s': %s %s, reference %s", d.Row, d.Layer, d.Field, d.Got, d.Want)
}

// matches compares a model's value with a reference's, by prefix when the
// reference's was cut short.
func matches(got, want string) bool {
	if p, ok := strings.CutSuffix(want, Ellipsis); ok {
		return strings.HasPrefix(got, p)
	}
	return got == want
}

func (r layerRow) classMatches(want string) bool {
	if want == "" {
		return true
	}
	return matches(r.class, want) || (r.node.Op != nil && matches(r.node.Op.Kind(), want))
}

// countDiffs counts the fields (name, class, shape, params) that differ.
func countDiffs(r layerRow, l RefLayer) int {
	n := 0
	if !matches(r.name, l.Name) {
		n++
	}
	if !r.classMatches(l.Class) {
		n++
	}
	if !matches(r.normShape, l.OutputShape) {
		n++
	}
	if l.Params >= 0 && r.params() != l.Params {
		n++
	}
	return n
}

// fieldDiffs lists the fields (name, class, shape, params) that differ.
func fieldDiffs(r layerRow, l RefLayer) []Diff {
	var ds []Diff
	if !matches(r.name, l.Name) {
		ds = append(ds, Diff{Field: FieldName, Got: r.name, Want: l.Name})
	}
	if !r.classMatches(l.Class) {
		ds = append(ds, Diff{Field: FieldClass, Got: r.class, Want: l.Class})
	}
	if s := r.normShape; !matches(s, l.OutputShape) {
		ds = append(ds, Diff{Field: FieldShape, Got: s, Want: l.OutputShape})
	}
	if l.Params >= 0 && r.params() != l.Params {
		ds = append(ds, Diff{Field: FieldParams, Got: strconv.FormatInt(r.params(), 10), Want: strconv.FormatInt(l.Params, 10)})
	}
	return ds
}

func describeRef(l RefLayer) string {
	s := l.Name
	if l.Class != "" {
		s += " (" + l.Class + ")"
	}
	return fmt.Sprintf("%s %s %d params, line %d", s, l.OutputShape, l.Params, l.Line)
}

func describeRow(r layerRow) string {
	return fmt.Sprintf("%s %s %d params", r.class, r.normShape, r.params())
}

// Check compares m with a reference summary, layer by layer in order, then
// the totals, and returns every difference (none when they agree). See the
// package documentation for what is compared.
func Check(m *ir.Model, ref *Reference) []Diff {
	refHasInput := false
	for _, l := range ref.Layers {
		if l.Class != "" && matches("InputLayer", l.Class) {
			refHasInput = true
		}
	}
	rs := nodeRows(m, !refHasInput)

	var diffs []Diff
	pairs := align(rs, ref.Layers)
	rename := map[string]string{} // reference name → model name
	for _, p := range pairs {
		if p.i >= 0 && p.j >= 0 {
			rename[ref.Layers[p.j].Name] = rs[p.i].name
		}
	}
	for _, p := range pairs {
		switch {
		case p.j < 0:
			r := rs[p.i]
			diffs = append(diffs, Diff{Row: p.i + 1, Layer: r.name, Field: FieldExtra, Got: describeRow(r)})
		case p.i < 0:
			l := ref.Layers[p.j]
			diffs = append(diffs, Diff{Row: p.j + 1, Layer: l.Name, Field: FieldMissing, Want: describeRef(l)})
		default:
			r, l := rs[p.i], ref.Layers[p.j]
			for _, d := range fieldDiffs(r, l) {
				d.Row, d.Layer = p.i+1, r.name
				diffs = append(diffs, d)
			}
			if ref.HasConnections && !inputsMatch(r.conns(), l.Inputs, rename) {
				diffs = append(diffs, Diff{Row: p.i + 1, Layer: r.name, Field: FieldInputs,
					Got: listOrNone(r.conns()), Want: listOrNone(l.Inputs)})
			}
		}
	}

	total, tr, nt := totals(m)
	for _, t := range []struct {
		field     string
		got, want int64
	}{{FieldTotal, total, ref.Total}, {FieldTrainable, tr, ref.Trainable}, {FieldNonTrainable, nt, ref.NonTrainable}} {
		if t.want >= 0 && t.got != t.want {
			diffs = append(diffs, Diff{Field: t.field, Got: strconv.FormatInt(t.got, 10), Want: strconv.FormatInt(t.want, 10)})
		}
	}
	return diffs
}

func listOrNone(xs []string) string {
	if len(xs) == 0 {
		return "(none)"
	}
	return strings.Join(xs, ", ")
}

// inputsMatch compares a model layer's inputs ("name[0][0]") with the
// reference's Connected-to entries, translating the reference's layer names
// to the model's through the alignment.
func inputsMatch(got, want []string, rename map[string]string) bool {
	if len(got) != len(want) {
		return false
	}
	for k, w := range want {
		if m := reConn.FindStringSubmatch(w); m != nil {
			if n, ok := rename[m[1]]; ok {
				w = n + m[2]
			}
		}
		if !matches(got[k], w) {
			return false
		}
	}
	return true
}

// pair is one step of an alignment: model row i with reference row j;
// i < 0 or j < 0 when the other side has no counterpart.
type pair struct{ i, j int }

const (
	fieldCost = 2 // per differing field of a paired row
	gapCost   = 5 // a row without a counterpart
	// maxCells bounds the alignment table; larger inputs pair rows in order.
	maxCells = 4 << 20
)

// align pairs the model's rows with the reference's by minimal edit cost,
// so that one missing or extra row does not shift every later one.
func align(rs []layerRow, ls []RefLayer) []pair {
	n, m := len(rs), len(ls)
	if (n+1)*(m+1) > maxCells {
		var ps []pair
		for k := 0; k < max(n, m); k++ {
			p := pair{-1, -1}
			if k < n {
				p.i = k
			}
			if k < m {
				p.j = k
			}
			ps = append(ps, p)
		}
		return ps
	}
	w := m + 1
	dp := make([]int, (n+1)*w)
	cost := func(i, j int) int { return fieldCost * countDiffs(rs[i], ls[j]) }
	for i := 0; i <= n; i++ {
		for j := 0; j <= m; j++ {
			switch {
			case i == 0:
				dp[j] = j * gapCost
			case j == 0:
				dp[i*w] = i * gapCost
			default:
				dp[i*w+j] = min(dp[(i-1)*w+j-1]+cost(i-1, j-1), dp[(i-1)*w+j]+gapCost, dp[i*w+j-1]+gapCost)
			}
		}
	}
	var rev []pair
	i, j := n, m
	for i > 0 || j > 0 {
		switch {
		case i > 0 && j > 0 && dp[i*w+j] == dp[(i-1)*w+j-1]+cost(i-1, j-1):
			rev = append(rev, pair{i - 1, j - 1})
			i, j = i-1, j-1
		case i > 0 && dp[i*w+j] == dp[(i-1)*w+j]+gapCost:
			rev = append(rev, pair{i - 1, -1})
			i--
		default:
			rev = append(rev, pair{-1, j - 1})
			j--
		}
	}
	ps := make([]pair, len(rev))
	for k, p := range rev {
		ps[len(rev)-1-k] = p
	}
	return ps
}
