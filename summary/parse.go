package summary

import (
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"unicode"
)

// Reference is a summary Keras printed, read back by Parse.
type Reference struct {
	// Style is the format the summary was printed in: Keras3 for the boxed
	// table, Keras2 for text with a `Model: "name"` line, else Keras1.
	Style Style
	// Model is the name on the `Model: "name"` line ("" without one).
	Model  string
	Layers []RefLayer
	// HasConnections reports whether the table has a Connected-to column.
	HasConnections bool
	// Total, Trainable and NonTrainable are the printed totals, -1 where
	// the summary does not print them (Keras 1.0–1.1 print only the total).
	Total, Trainable, NonTrainable int64
}

// RefLayer is one row of a reference summary. A string Keras printed cut
// short ends in "…" (Keras 3's ellipsis, or a Keras 1/2 field cut at its
// column end); it compares by prefix.
type RefLayer struct {
	Name  string
	Class string // "" when the row has none
	// OutputShape is normalized by NormalizeShape: "(None, 3, 224, 224)".
	OutputShape string
	Params      int64 // -1 when the printed count was cut short
	// Inputs are the Connected-to entries as printed, e.g.
	// "conv2d_1[0][0]" (none for an input layer).
	Inputs []string
	Line   int // 1-based line of the row in the reference
}

// Ellipsis marks a truncated string in a RefLayer.
const Ellipsis = "…"

var (
	reModel = regexp.MustCompile(`^\s*Model:\s*"(.*)"\s*$`)
	reTotal = regexp.MustCompile(`^\s*(Total|Trainable|Non-trainable) params:\s*([0-9][0-9,]*)`)
	reConn  = regexp.MustCompile(`^(.*)(\[\d+\]\[\d+\])$`)
	reNum   = regexp.MustCompile(`^[0-9][0-9,]*$`)
	reSpace = regexp.MustCompile(`\s+`)
	// reColumns matches a Keras 1/2 header that keeps its columns (runs of
	// spaces not collapsed).
	reColumns = regexp.MustCompile(`Layer \(type\)\s{2,}Output`)
)

// NormalizeShape puts a printed output shape in one form: no space
// differences ("(None, 3, 224, 224)"), a one-element tuple without its
// trailing comma ("(None,)" and Keras 3's "(None)" both become "(None)"),
// and a one-element list "[(None, 3)]" (tf.keras's InputLayer) as its tuple.
func NormalizeShape(s string) string {
	s = reSpace.ReplaceAllString(s, "")
	if strings.HasPrefix(s, "[(") && strings.HasSuffix(s, ")]") && strings.Count(s, "(") == 1 {
		s = s[1 : len(s)-1]
	}
	s = strings.ReplaceAll(s, ",)", ")")
	return strings.ReplaceAll(s, ",", ", ")
}

// Parse reads a Keras model summary of any vintage (see the package
// documentation).
func Parse(r io.Reader) (*Reference, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, err
	}
	text := strings.ReplaceAll(string(data), "\r\n", "\n")
	lines := strings.Split(text, "\n")
	ref := &Reference{Total: -1, Trainable: -1, NonTrainable: -1}
	hasModelLine := false
	for _, l := range lines {
		if m := reModel.FindStringSubmatch(l); m != nil && !hasModelLine {
			ref.Model, hasModelLine = m[1], true
		}
		if m := reTotal.FindStringSubmatch(l); m != nil {
			n, err := strconv.ParseInt(strings.ReplaceAll(m[2], ",", ""), 10, 64)
			if err != nil {
				return nil, fmt.Errorf("summary: %q: %v", strings.TrimSpace(l), err)
			}
			p := map[string]*int64{"Total": &ref.Total, "Trainable": &ref.Trainable, "Non-trainable": &ref.NonTrainable}[m[1]]
			if *p < 0 {
				*p = n
			}
		}
	}
	boxed := false
	for _, l := range lines {
		if strings.ContainsAny(l, "┃│┏┡") {
			boxed = true
			break
		}
	}
	switch {
	case boxed:
		ref.Style = Keras3
		err = parseBoxed(lines, ref)
	default:
		ref.Style = Keras1
		if hasModelLine {
			ref.Style = Keras2
		}
		err = parseText(lines, ref)
	}
	if err != nil {
		return nil, err
	}
	return ref, nil
}

// splitNameClass splits "name (Class)". A class cut short gets Ellipsis.
func splitNameClass(s string) (name, class string) {
	s = strings.TrimSpace(s)
	i := strings.LastIndex(s, "(")
	if i < 0 { // Keras prints "name (Class)": the name filled the column
		if !strings.HasSuffix(s, Ellipsis) {
			s += Ellipsis
		}
		return s, ""
	}
	name = strings.TrimSpace(s[:i])
	class = s[i+1:]
	switch {
	case strings.HasSuffix(class, ")"):
		class = strings.TrimSuffix(class, ")")
	case strings.HasSuffix(class, Ellipsis):
	default:
		class += Ellipsis
	}
	if name == "" { // "(Class)" alone: not a name/class pair
		return s, ""
	}
	return name, class
}

// parseParams reads "1,234", "1234" or "0 (unbuilt)"; a count cut short
// ("1,2…") is -1, unknown.
func parseParams(s string) (int64, error) {
	if strings.Contains(s, Ellipsis) {
		return -1, nil
	}
	s = strings.ReplaceAll(strings.TrimSpace(s), ",", "")
	end := 0
	for end < len(s) && s[end] >= '0' && s[end] <= '9' {
		end++
	}
	if end == 0 {
		return 0, fmt.Errorf("no parameter count in %q", s)
	}
	return strconv.ParseInt(s[:end], 10, 64)
}

// splitConns splits a Connected-to cell: Keras 3's "a[0][0], b[0][0]",
// tf.keras 2.13's "['a[0][0]', 'b[0][0]']" or Keras 1/2's entries one per
// line (joined by spaces).
func splitConns(s string) []string {
	s = strings.TrimSpace(s)
	if s == "" || s == "-" {
		return nil
	}
	if strings.HasPrefix(s, "[") && !reConn.MatchString(strings.Fields(s)[0]) {
		s = strings.TrimSuffix(strings.TrimPrefix(s, "["), "]")
	}
	var out []string
	for _, part := range strings.FieldsFunc(s, func(r rune) bool { return r == ',' || unicode.IsSpace(r) }) {
		part = strings.Trim(part, `'"`)
		if part == "" || part == "-" {
			continue
		}
		if !reConn.MatchString(part) && !strings.HasSuffix(part, Ellipsis) {
			part += Ellipsis // cut at the column end
		}
		out = append(out, part)
	}
	return out
}

// ---- Keras 3: the boxed table.

func parseBoxed(lines []string, ref *Reference) error {
	cols := map[string]int{"name": 0, "shape": 1, "params": 2, "conns": -1}
	var header [][]string
	var cur [][]string
	curLine := 0
	inTable := false
	add := func(dst [][]string, cells []string) [][]string {
		for len(dst) < len(cells) {
			dst = append(dst, nil)
		}
		for i, c := range cells {
			if c != "" {
				dst[i] = append(dst[i], c)
			}
		}
		return dst
	}
	flush := func() error {
		if cur == nil {
			return nil
		}
		cell := func(key, sep string) string {
			i := cols[key]
			if i < 0 || i >= len(cur) {
				return ""
			}
			return strings.Join(cur[i], sep)
		}
		nameCell := strings.TrimLeft(cell("name", " "), "└ ")
		l := RefLayer{Line: curLine}
		l.Name, l.Class = splitNameClass(nameCell)
		l.OutputShape = NormalizeShape(cell("shape", " "))
		p, err := parseParams(cell("params", ""))
		if err != nil {
			return fmt.Errorf("summary: line %d: %v", curLine, err)
		}
		l.Params = p
		if cols["conns"] >= 0 {
			// Entries are "a[0][0], b[0][0]"; one cut short ("re_lu_…")
			// loses its comma, so split at spaces too.
			l.Inputs = splitConns(cell("conns", " "))
		}
		ref.Layers = append(ref.Layers, l)
		cur = nil
		return nil
	}
	for i, raw := range lines {
		l := strings.TrimSpace(raw)
		switch {
		case strings.HasPrefix(l, "┏"):
			inTable = true
			header = nil
		case strings.HasPrefix(l, "┃"):
			header = add(header, splitCells(l, "┃"))
		case strings.HasPrefix(l, "┡"):
			cols = map[string]int{"name": -1, "shape": -1, "params": -1, "conns": -1}
			// Titles by their first letter: a narrow table cuts them
			// ("P… #").
			for j, h := range header {
				title := strings.Join(h, " ")
				if title == "" {
					continue
				}
				if key := map[byte]string{'L': "name", 'O': "shape", 'P': "params", 'C': "conns"}[title[0]]; key != "" && cols[key] < 0 {
					cols[key] = j
				}
			}
			if cols["name"] < 0 || cols["shape"] < 0 || cols["params"] < 0 {
				return fmt.Errorf("summary: line %d: unrecognized table header", i+1)
			}
			ref.HasConnections = cols["conns"] >= 0
		case strings.HasPrefix(l, "│"):
			if !inTable {
				continue
			}
			if cur == nil {
				curLine = i + 1
			}
			cur = add(cur, splitCells(l, "│"))
		case strings.HasPrefix(l, "├"), strings.HasPrefix(l, "└"):
			if err := flush(); err != nil {
				return err
			}
			if strings.HasPrefix(l, "└") {
				return nil // the first table only
			}
		}
	}
	if err := flush(); err != nil {
		return err
	}
	if len(ref.Layers) == 0 && header == nil {
		return fmt.Errorf("summary: no summary table found")
	}
	return nil
}

// splitCells splits a table line at sep, dropping the outer borders.
func splitCells(l, sep string) []string {
	l = strings.TrimSuffix(strings.TrimPrefix(l, sep), sep)
	parts := strings.Split(l, sep)
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return parts
}

// ---- Keras 1/2: text.

// textHeaders are the column titles of Keras 1/2 text summaries, by the
// prefixes that survive a narrow line length.
var textHeaders = []string{"Layer", "Output", "Param", "Connected", "Trainable"}

func isRule(l string) bool {
	l = strings.TrimSpace(l)
	return strings.Trim(l, "_=¯| ") == ""
}

func parseText(lines []string, ref *Reference) error {
	h := -1
	for i, l := range lines {
		if strings.HasPrefix(strings.TrimSpace(l), "Layer (type)") {
			h = i
			break
		}
	}
	if h < 0 {
		return fmt.Errorf("summary: no summary table found (no \"Layer (type)\" header)")
	}
	header := []rune(lines[h])
	ref.HasConnections = strings.Contains(lines[h], "Connected to")
	// Column starts, when the text keeps Keras's columns.
	var starts []int // per textHeaders entry, -1 if absent
	columnar := reColumns.MatchString(lines[h])
	if columnar {
		from := 0
		for _, name := range textHeaders {
			i := runeIndex(header, name, from)
			starts = append(starts, i)
			if i >= 0 {
				from = i
			}
		}
		if starts[1] < 0 || starts[2] < 0 {
			columnar = false
		}
	}
	// Group the body's lines into rows: rows are separated by rules or
	// blank lines; the body ends at the totals.
	var group []string
	groupLine := 0
	flush := func() error {
		if len(group) == 0 {
			return nil
		}
		defer func() { group = nil }()
		if columnar {
			return parseColumnRow(group, groupLine, starts, ref)
		}
		return parseTokenRows(group, groupLine, ref)
	}
	for i := h + 1; i < len(lines); i++ {
		l := lines[i]
		if reTotal.MatchString(l) || reModel.MatchString(l) {
			break
		}
		if isRule(l) {
			if err := flush(); err != nil {
				return err
			}
			continue
		}
		if len(group) == 0 {
			groupLine = i + 1
		}
		group = append(group, l)
	}
	return flush()
}

// runeIndex is the rune offset of sub in rs at or after rune offset from,
// or -1.
func runeIndex(rs []rune, sub string, from int) int {
	i := strings.Index(string(rs[from:]), sub)
	if i < 0 {
		return -1
	}
	return from + len([]rune(string(rs[from:])[:i]))
}

// slice returns the text of rs in the column [from, to), trimmed.
func slice(rs []rune, from, to int) string {
	if from < 0 || from >= len(rs) {
		return ""
	}
	if to < 0 || to > len(rs) {
		to = len(rs)
	}
	return strings.TrimSpace(string(rs[from:to]))
}

// parseColumnRow reads one row whose lines keep Keras's columns (Keras 1/2,
// and tf.keras 2.13+, which wraps long fields onto more lines).
func parseColumnRow(group []string, line int, starts []int, ref *Reference) error {
	next := func(i int) int { // where column i ends
		for j := i + 1; j < len(starts); j++ {
			if starts[j] >= 0 {
				return starts[j]
			}
		}
		return -1
	}
	var name, shape, params, conns []string
	for _, l := range group {
		rs := []rune(l)
		name = append(name, slice(rs, 0, starts[1]))
		shape = append(shape, slice(rs, starts[1], next(1)))
		params = append(params, slice(rs, starts[2], next(2)))
		if starts[3] >= 0 {
			conns = append(conns, slice(rs, starts[3], next(3)))
		}
	}
	nameCell := strings.Join(name, "")
	if nameCell == "" && len(ref.Layers) > 0 {
		// Only more Connected-to entries (a continuation without a rule).
		last := &ref.Layers[len(ref.Layers)-1]
		last.Inputs = append(last.Inputs, splitConns(strings.Join(conns, " "))...)
		return nil
	}
	l := RefLayer{Line: line}
	l.Name, l.Class = splitNameClass(nameCell)
	sh := strings.Join(shape, "")
	if strings.Count(sh, "(")+strings.Count(sh, "[") != strings.Count(sh, ")")+strings.Count(sh, "]") {
		sh += Ellipsis
	}
	l.OutputShape = NormalizeShape(sh)
	p, err := parseParams(strings.Join(params, ""))
	if err != nil {
		return fmt.Errorf("summary: line %d: %v", line, err)
	}
	l.Params = p
	sep := " "
	if len(conns) > 0 && strings.HasPrefix(conns[0], "[") {
		sep = "" // tf.keras 2.13+: a list repr cut anywhere
	}
	l.Inputs = splitConns(strings.Join(conns, sep))
	ref.Layers = append(ref.Layers, l)
	return nil
}

func isNum(t string) bool { return reNum.MatchString(t) }

// isConnToken reports whether a token is (part of) a Connected-to entry.
func isConnToken(t string) bool {
	if isNum(t) || strings.HasPrefix(t, "(") || !strings.Contains(t, "[") {
		return false
	}
	if strings.HasPrefix(t, "[(") || strings.HasSuffix(t, ")]") || strings.HasSuffix(t, ")],") || strings.HasSuffix(t, ")") {
		return false // a list of shapes
	}
	return true
}

// isClassToken reports whether a token starts "(Class".
func isClassToken(t string) bool {
	if t == "(" { // a class cut right after its parenthesis
		return true
	}
	if !strings.HasPrefix(t, "(") || len(t) < 2 {
		return false
	}
	if strings.HasPrefix(t, "(None") {
		return false
	}
	c := rune(t[1])
	return unicode.IsLetter(c) || c == '_'
}

// parseTokenRows reads rows whose runs of spaces were collapsed, by tokens:
// name, (Class), the shape, the parameter count, Connected-to entries. A
// line of Connected-to entries alone continues the previous row.
func parseTokenRows(group []string, line int, ref *Reference) error {
	for k, l := range group {
		toks := strings.Fields(l)
		if len(toks) == 0 {
			continue
		}
		all := true
		for _, t := range toks {
			all = all && isConnToken(t)
		}
		if all {
			if len(ref.Layers) == 0 {
				return fmt.Errorf("summary: line %d: Connected-to entries without a layer", line+k)
			}
			last := &ref.Layers[len(ref.Layers)-1]
			last.Inputs = append(last.Inputs, splitConns(strings.Join(toks, " "))...)
			continue
		}
		if err := parseTokenRow(toks, line+k, ref); err != nil {
			return err
		}
	}
	return nil
}

func parseTokenRow(toks []string, line int, ref *Reference) error {
	l := RefLayer{Line: line}
	// From the right: Connected-to entries, then the parameter count.
	end := len(toks)
	for end > 0 && isConnToken(toks[end-1]) {
		end--
	}
	conns := toks[end:]
	if end > 0 && (toks[end-1] == "(unused)" || toks[end-1] == "(unbuilt)") {
		end--
	}
	if end >= 2 && !isNum(toks[end-1]) && isNum(toks[end-2]) && !strings.HasPrefix(toks[end-1], "(") {
		// A Connected-to entry cut before its "[".
		conns = append([]string{toks[end-1]}, conns...)
		end--
	}
	if end < 2 || !isNum(toks[end-1]) {
		return fmt.Errorf("summary: line %d: cannot read the row %q", line, strings.Join(toks, " "))
	}
	p, err := parseParams(toks[end-1])
	if err != nil {
		return fmt.Errorf("summary: line %d: %v", line, err)
	}
	l.Params = p
	end--
	// From the left: the name and its class.
	i := 1
	l.Name = toks[0]
	if i < end && isClassToken(toks[i]) {
		_, l.Class = splitNameClass("x " + toks[i])
		i++
	} else {
		l.Name += Ellipsis // the name filled its column and the class was cut
	}
	sh := strings.Join(toks[i:end], " ")
	if sh == "" {
		return fmt.Errorf("summary: line %d: no output shape in %q", line, strings.Join(toks, " "))
	}
	if strings.Count(sh, "(")+strings.Count(sh, "[") != strings.Count(sh, ")")+strings.Count(sh, "]") {
		sh += Ellipsis
	}
	l.OutputShape = NormalizeShape(sh)
	l.Inputs = splitConns(strings.Join(conns, " "))
	ref.Layers = append(ref.Layers, l)
	return nil
}
