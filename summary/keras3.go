package summary

import (
	"bufio"
	"fmt"
	"math"
	"strconv"
	"strings"
	"unicode"

	"github.com/kconv/kconv/ir"
)

// Keras 3 prints its summary as a rich table (rich.table.Table with the
// HEAVY_HEAD box, show_lines, one fixed-width column per field and the
// table width set to the line length). This file reproduces the parts of
// rich that table uses: column widths, word wrapping, justification and the
// box lines.

// keras3ColumnWidths returns the widths (cell padding included, borders
// excluded) rich gives Keras's columns in a table lineLength wide.
func keras3ColumnWidths(lineLength int, positions []float64) ([]int, error) {
	n := len(positions)
	// Keras: each column's width is its share of the line length.
	want := make([]int, n)
	current := 0
	for i, p := range positions {
		width := int(p*float64(lineLength)) - current
		if width < 4 {
			return nil, fmt.Errorf("summary: insufficient width %d to print the Keras 3 summary", lineLength)
		}
		want[i] = width
		current += width
	}
	// rich: the space for cells is the table width less the borders; a
	// fixed-width column measures its width plus the padding (1+1), capped
	// at that space.
	maxWidth := lineLength - (n + 1)
	widths := make([]int, n)
	for i, w := range want {
		widths[i] = min(w+2, maxWidth)
	}
	total := sum(widths)
	if total > maxWidth {
		// No column may wrap (all have fixed widths): reduce evenly.
		ones := make([]int, n)
		for i := range ones {
			ones[i] = 1
		}
		widths = ratioReduce(total-maxWidth, ones, widths, widths)
		total = sum(widths)
		for i, w := range want {
			widths[i] = min(w+2, widths[i])
		}
	}
	if total < maxWidth { // a table with a width expands to it
		pad := ratioDistribute(maxWidth-total, widths)
		for i := range widths {
			widths[i] += pad[i]
		}
	}
	for _, w := range widths {
		if w < 3 {
			return nil, fmt.Errorf("summary: insufficient width %d to print the Keras 3 summary", lineLength)
		}
	}
	return widths, nil
}

func sum(xs []int) int {
	s := 0
	for _, x := range xs {
		s += x
	}
	return s
}

// ratioReduce is rich's ratio_reduce: take total away from values in
// proportion to ratios, at most maximums[i] from each (Python's round).
func ratioReduce(total int, ratios, maximums, values []int) []int {
	rs := make([]int, len(ratios))
	totalRatio := 0
	for i, r := range ratios {
		if maximums[i] != 0 {
			rs[i] = r
		}
		totalRatio += rs[i]
	}
	out := append([]int(nil), values...)
	if totalRatio == 0 {
		return out
	}
	remaining := total
	for i, r := range rs {
		if r != 0 && totalRatio > 0 {
			d := int(math.RoundToEven(float64(r*remaining) / float64(totalRatio)))
			d = min(maximums[i], d)
			out[i] = values[i] - d
			remaining -= d
			totalRatio -= r
		}
	}
	return out
}

// ratioDistribute is rich's ratio_distribute without minimums: split total
// in proportion to ratios, rounding each share up.
func ratioDistribute(total int, ratios []int) []int {
	totalRatio := sum(ratios)
	out := make([]int, len(ratios))
	if totalRatio <= 0 {
		if len(out) > 0 {
			out[len(out)-1] = total
		}
		return out
	}
	remaining := total
	for i, r := range ratios {
		var d int
		if totalRatio > 0 {
			d = ceilDiv(r*remaining, totalRatio)
		} else {
			d = remaining
		}
		out[i] = d
		totalRatio -= r
		remaining -= d
	}
	return out
}

func ceilDiv(a, b int) int {
	q := a / b
	if (a%b != 0) && ((a < 0) == (b < 0)) {
		q++
	}
	return q
}

// wrapCell lays text out in lines exactly width cells wide as rich does for
// a cell with overflow "ellipsis": words (with their trailing spaces) are
// wrapped at spaces, a word longer than the width goes on a line of its own
// and is cut to width-1 characters plus "…".
func wrapCell(text string, width int, right bool) []string {
	if len(text) <= width && printableASCII(text) {
		// Fits on one line (the words' lengths sum to at most width, so
		// nothing breaks): the common case, without the rune and word
		// slices, which a summary of a million layers would make per cell.
		if right {
			text = strings.TrimRight(text, " ")
		}
		pad := strings.Repeat(" ", width-len(text))
		if right {
			return []string{pad + text}
		}
		return []string{text + pad}
	}
	rs := []rune(text)
	var breaks []int
	offset := 0
	for _, wd := range splitWords(rs) {
		start, end := wd[0], wd[1]
		word := rs[start:end]
		wordLen := len(trimRightSpace(word))
		if width-offset >= wordLen {
			offset += len(word)
			continue
		}
		if wordLen > width {
			if start > 0 {
				breaks = append(breaks, start)
			}
			offset = len(word)
		} else if offset > 0 && start > 0 {
			breaks = append(breaks, start)
			offset = len(word)
		}
	}
	var lines []string
	prev := 0
	for _, b := range append(breaks, len(rs)) {
		line := rs[prev:b]
		prev = b
		// rstrip_end: drop trailing spaces beyond the width.
		if len(line) > width {
			excess := len(line) - width
			sp := len(line) - len(trimRightSpace(line))
			line = line[:len(line)-min(sp, excess)]
		}
		if right {
			line = trimRightSpace(line)
		}
		if len(line) > width {
			line = append(append([]rune(nil), line[:max(width-1, 0)]...), '…')
		}
		pad := strings.Repeat(" ", width-len(line))
		if right {
			lines = append(lines, pad+string(line))
		} else {
			lines = append(lines, string(line)+pad)
		}
	}
	return lines
}

// printableASCII reports whether s holds only the bytes ' ' to '~' (so one
// rune per byte, and ' ' the only space).
func printableASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < ' ' || s[i] > '~' {
			return false
		}
	}
	return true
}

// splitWords returns the [start, end) spans of the matches of rich's word
// pattern \s*\S+\s* in sequence.
func splitWords(rs []rune) [][2]int {
	var spans [][2]int
	i := 0
	for i < len(rs) {
		start := i
		for i < len(rs) && unicode.IsSpace(rs[i]) {
			i++
		}
		if i == len(rs) {
			break
		}
		for i < len(rs) && !unicode.IsSpace(rs[i]) {
			i++
		}
		for i < len(rs) && unicode.IsSpace(rs[i]) {
			i++
		}
		spans = append(spans, [2]int{start, i})
	}
	return spans
}

func trimRightSpace(rs []rune) []rune {
	n := len(rs)
	for n > 0 && unicode.IsSpace(rs[n-1]) {
		n--
	}
	return rs[:n]
}

// boxLine draws a horizontal box line.
func boxLine(widths []int, left, fill, cross, right string) string {
	var b strings.Builder
	b.WriteString(left)
	for i, w := range widths {
		if i > 0 {
			b.WriteString(cross)
		}
		b.WriteString(strings.Repeat(fill, w))
	}
	b.WriteString(right)
	return b.String()
}

// tableRow draws one table row (possibly several lines high).
func tableRow(cells []string, widths []int, right []bool, vertical string) []string {
	cols := make([][]string, len(cells))
	height := 1
	for i, c := range cells {
		cols[i] = wrapCell(c, widths[i]-2, right[i])
		height = max(height, len(cols[i]))
	}
	out := make([]string, height)
	for l := 0; l < height; l++ {
		var b strings.Builder
		b.WriteString(vertical)
		for i := range cells {
			if i > 0 {
				b.WriteString(vertical)
			}
			b.WriteByte(' ')
			if l < len(cols[i]) {
				b.WriteString(cols[i][l])
			} else {
				b.WriteString(strings.Repeat(" ", widths[i]-2))
			}
			b.WriteByte(' ')
		}
		b.WriteString(vertical)
		out[l] = b.String()
	}
	return out
}

// memorySize formats a byte count as Keras 3's readable_memory_size.
func memorySize(bytes float64) string {
	units := []string{"B", "KB", "MB", "GB", "TB", "PB"}
	for _, u := range units {
		if bytes/1024 < 1 {
			return strconv.FormatFloat(bytes, 'f', 2, 64) + " " + u
		}
		bytes /= 1024
	}
	return strconv.FormatFloat(bytes, 'f', 2, 64) + " " + units[len(units)-1]
}

// bytesPerParam is the size of a float32 parameter.
const bytesPerParam = 4

func renderKeras3(w *bufio.Writer, m *ir.Model, lineLength int) error {
	if lineLength == 0 {
		lineLength = Keras3LineLength
	}
	seq := sequentialLike(m)
	header := []string{"Layer (type)", "Output Shape", "Param #"}
	right := []bool{false, false, true}
	positions := []float64{0.45, 0.80, 1.0}
	if !seq {
		header = append(header, "Connected to")
		right = append(right, false)
		positions = []float64{0.3, 0.56, 0.74, 1.0}
	}
	widths, err := keras3ColumnWidths(lineLength, positions)
	if err != nil {
		return err
	}
	line := func(s string) { w.WriteString(s); w.WriteByte('\n') }
	line(`Model: "` + m.Name + `"`)
	line(boxLine(widths, "┏", "━", "┳", "┓"))
	for _, l := range tableRow(header, widths, right, "┃") {
		line(l)
	}
	line(boxLine(widths, "┡", "━", "╇", "┩"))
	nrows := rowCount(m)
	for i, r := range rows(m) {
		cells := []string{r.name + " (" + r.class + ")", r.shapeText(keras3Shape), commas(r.params())}
		if !seq {
			conn := strings.Join(r.conns, ", ")
			if conn == "" {
				conn = "-"
			}
			cells = append(cells, conn)
		}
		for _, l := range tableRow(cells, widths, right, "│") {
			line(l)
		}
		if i < nrows-1 {
			line(boxLine(widths, "├", "─", "┼", "┤"))
		}
	}
	line(boxLine(widths, "└", "─", "┴", "┘"))
	total, tr, nt := totals(m)
	line(" Total params: " + commas(total) + " (" + memorySize(float64(total*bytesPerParam)) + ")")
	line(" Trainable params: " + commas(tr) + " (" + memorySize(float64(tr*bytesPerParam)) + ")")
	line(" Non-trainable params: " + commas(nt) + " (" + memorySize(float64(nt*bytesPerParam)) + ")")
	// Keras hands rich's captured output to print, which ends it with one
	// more newline.
	line("")
	return nil
}
