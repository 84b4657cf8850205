package summary

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"

	"github.com/kconv/kconv/ir"
)

// absPositions turns relative column ends into absolute ones, as Keras 1/2
// did: int(line_length * p).
func absPositions(lineLength int, rel []float64) []int {
	pos := make([]int, len(rel))
	for i, p := range rel {
		pos[i] = int(float64(lineLength) * p)
	}
	return pos
}

// textRow lays fields out at the column ends positions, as Keras 1.1.2–2.x's
// print_row: each field is appended, cut at its column end and padded to
// it; before the next field the last character is replaced by a space.
func textRow(fields []string, positions []int) string {
	var line []rune
	for i, f := range fields {
		if i > 0 && len(line) > 0 {
			line[len(line)-1] = ' '
		}
		line = append(line, []rune(f)...)
		if len(line) > positions[i] {
			line = line[:positions[i]]
		}
		for len(line) < positions[i] {
			line = append(line, ' ')
		}
	}
	return string(line)
}

func checkPositions(positions []int) error {
	prev := 0
	for _, p := range positions {
		if p <= prev {
			return fmt.Errorf("summary: line length too small for the columns (%v)", positions)
		}
		prev = p
	}
	return nil
}

func renderKeras1(w *bufio.Writer, m *ir.Model, lineLength int) error {
	if lineLength == 0 {
		lineLength = 100
	}
	pos := absPositions(lineLength, []float64{.33, .55, .67, 1.})
	if err := checkPositions(pos); err != nil {
		return err
	}
	nrows := rowCount(m)
	line := func(s string) { w.WriteString(s); w.WriteByte('\n') }
	line(strings.Repeat("_", lineLength))
	line(textRow([]string{"Layer (type)", "Output Shape", "Param #", "Connected to"}, pos))
	line(strings.Repeat("=", lineLength))
	for i, r := range rows(m) {
		first := ""
		if len(r.conns) > 0 {
			first = r.conns[0]
		}
		line(textRow([]string{r.name + " (" + r.class + ")", r.shapeText(tupleShape), strconv.FormatInt(r.params(), 10), first}, pos))
		for _, c := range r.conns[min(1, len(r.conns)):] {
			line(textRow([]string{"", "", "", c}, pos))
		}
		if i == nrows-1 {
			line(strings.Repeat("=", lineLength))
		} else {
			line(strings.Repeat("_", lineLength))
		}
	}
	total, _, _ := totals(m)
	line("Total params: " + strconv.FormatInt(total, 10))
	line(strings.Repeat("_", lineLength))
	return nil
}

func renderKeras2(w *bufio.Writer, m *ir.Model, lineLength int) error {
	seq := sequentialLike(m)
	var pos []int
	var header []string
	if seq {
		if lineLength == 0 {
			lineLength = 65
		}
		pos = absPositions(lineLength, []float64{.45, .85, 1.})
		header = []string{"Layer (type)", "Output Shape", "Param #"}
	} else {
		if lineLength == 0 {
			lineLength = 98
		}
		pos = absPositions(lineLength, []float64{.33, .55, .67, 1.})
		header = []string{"Layer (type)", "Output Shape", "Param #", "Connected to"}
	}
	if err := checkPositions(pos); err != nil {
		return err
	}
	nrows := rowCount(m)
	line := func(s string) { w.WriteString(s); w.WriteByte('\n') }
	line(`Model: "` + m.Name + `"`)
	line(strings.Repeat("_", lineLength))
	line(textRow(header, pos))
	line(strings.Repeat("=", lineLength))
	for i, r := range rows(m) {
		fields := []string{r.name + " (" + r.class + ")", r.shapeText(tupleShape), strconv.FormatInt(r.params(), 10)}
		if seq {
			line(textRow(fields, pos))
		} else {
			first := ""
			if len(r.conns) > 0 {
				first = r.conns[0]
			}
			line(textRow(append(fields, first), pos))
			for _, c := range r.conns[min(1, len(r.conns)):] {
				line(textRow([]string{"", "", "", c}, pos))
			}
		}
		if i == nrows-1 {
			line(strings.Repeat("=", lineLength))
		} else {
			line(strings.Repeat("_", lineLength))
		}
	}
	total, tr, nt := totals(m)
	line("Total params: " + commas(total))
	line("Trainable params: " + commas(tr))
	line("Non-trainable params: " + commas(nt))
	line(strings.Repeat("_", lineLength))
	return nil
}
