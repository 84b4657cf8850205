package serve

import (
	"bytes"
	"encoding/json"
	"errors"
)

// cutData is the fast path for large JSON inference requests. encoding/json
// would scan every number of every "data" array twice (validating the
// document, then copying the array into a json.RawMessage) before
// parseArray reads it a third time. cutData walks the document once at
// byte speed, finds the value of "data" in each element of the top-level
// "inputs" array, and returns a copy of the document with those values
// replaced by null (small: encoding/json decodes it as before) and the
// values themselves, views of doc indexed like the inputs, for parseArray
// to validate and read.
//
// Keys match as encoding/json matches struct fields (case-insensitively;
// the last of repeated keys wins); a document with "inputs" more than once
// is declined (encoding/json merges the arrays' elements). Nothing is lost in validation: every
// byte outside the cut values stays in the copy that encoding/json checks,
// and parseArray accepts a cut value only if it is a valid JSON array (or
// number) of numbers. On a document it cannot walk (malformed), cutData
// reports false and the caller decodes doc with encoding/json, which
// reports the error.
func cutData(doc []byte) (rest []byte, data [][]byte, ok bool) {
	s := &cutter{b: doc}
	s.ws()
	if bytes.HasPrefix(s.b[s.i:], []byte("null")) {
		// A JSON null decodes to the empty request, as encoding/json has it
		// (which the request's checks then refuse for its missing inputs).
		s.i += 4
		if s.ws(); s.i == len(s.b) {
			return doc, nil, true
		}
		return nil, nil, false
	}
	if s.i >= len(s.b) || s.b[s.i] != '{' {
		return nil, nil, false
	}
	if err := s.object(ctxTop, 0); err != nil {
		return nil, nil, false
	}
	s.ws()
	if s.i != len(s.b) {
		return nil, nil, false
	}
	// With "inputs" repeated, encoding/json decodes the later array into
	// the earlier one's elements (a field the later element lacks keeps
	// the earlier value): decline, and let it decode the whole document.
	if s.inputs > 1 {
		return nil, nil, false
	}
	// Cut values that no input keeps (an earlier "inputs", a repeated
	// "data") are never parsed: they must be valid JSON themselves, or the
	// cut would hide what encoding/json refuses.
	kept := make(map[int]bool, len(s.dataAt))
	for k, at := range s.dataAt {
		if s.data[k] != nil {
			kept[at] = true
		}
	}
	for _, c := range s.cuts {
		if !kept[c[0]] && !json.Valid(doc[c[0]:c[1]]) {
			return nil, nil, false
		}
	}
	rest = make([]byte, 0, len(doc)-s.cutBytes+4*len(s.cuts))
	prev := 0
	for _, c := range s.cuts {
		rest = append(rest, doc[prev:c[0]]...)
		rest = append(rest, "null"...)
		prev = c[1]
	}
	rest = append(rest, doc[prev:]...)
	return rest, s.data, true
}

const (
	ctxTop   = iota // the request object
	ctxInput        // an element of its "inputs" array
	ctxOther
)

var errCut = errors.New("malformed")

// cutter is cutData's state: a cursor over b, the cut spans, and the data
// values of the current "inputs" array.
type cutter struct {
	b        []byte
	i        int
	depth    int
	cuts     [][2]int
	cutBytes int
	data     [][]byte
	dataAt   []int // where each data value starts in b
	inputs   int   // top-level "inputs" keys seen
}

func (s *cutter) ws() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// str skips a string starting at s.i (a quote) and returns its raw
// contents and whether they hold escapes.
func (s *cutter) str() ([]byte, bool, error) {
	start := s.i + 1
	esc := false
	for j := start; j < len(s.b); j++ {
		switch s.b[j] {
		case '\\':
			esc = true
			j++
		case '"':
			s.i = j + 1
			return s.b[start:j], esc, nil
		}
	}
	return nil, false, errCut
}

// keyIs reports whether a raw key names field, as encoding/json matches.
func keyIs(raw []byte, esc bool, field string) bool {
	if esc {
		var k string
		if json.Unmarshal(append(append([]byte{'"'}, raw...), '"'), &k) != nil {
			return false
		}
		raw = []byte(k)
	}
	return bytes.EqualFold(raw, []byte(field))
}

func (s *cutter) value(ctx, index int) error {
	s.ws()
	if s.i >= len(s.b) {
		return errCut
	}
	switch s.b[s.i] {
	case '{':
		return s.object(ctx, index)
	case '[':
		return s.array(false)
	case '"':
		_, _, err := s.str()
		return err
	}
	// A number or literal: encoding/json checks it in the copy, unless it
	// is empty ("data":,) — cut, it would become a valid null.
	start := s.i
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ',', ']', '}', ' ', '\t', '\n', '\r':
			if s.i == start {
				return errCut
			}
			return nil
		case '{', '[', '"', ':':
			return errCut
		}
		s.i++
	}
	return nil
}

func (s *cutter) enter() error {
	s.depth++
	if s.depth > 10000 {
		return errCut
	}
	return nil
}

func (s *cutter) object(ctx, index int) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	s.i++ // {
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == '}' {
		s.i++
		return nil
	}
	for {
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != '"' {
			return errCut
		}
		key, esc, err := s.str()
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) || s.b[s.i] != ':' {
			return errCut
		}
		s.i++
		s.ws()
		switch {
		case ctx == ctxTop && keyIs(key, esc, "inputs"):
			s.inputs++
			s.data, s.dataAt = s.data[:0], s.dataAt[:0] // the last "inputs" wins
			if s.i < len(s.b) && s.b[s.i] == '[' {
				err = s.array(true)
			} else {
				err = s.value(ctxOther, 0)
			}
		case ctx == ctxInput && keyIs(key, esc, "data"):
			start := s.i
			if err = s.skipValue(); err == nil {
				for len(s.data) <= index {
					s.data, s.dataAt = append(s.data, nil), append(s.dataAt, 0)
				}
				// A repeated "data" key: the last wins; both are cut.
				s.data[index], s.dataAt[index] = s.b[start:s.i], start
				s.cuts = append(s.cuts, [2]int{start, s.i})
				s.cutBytes += s.i - start
			}
		default:
			err = s.value(ctxOther, 0)
		}
		if err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return errCut
		}
		c := s.b[s.i]
		s.i++
		if c == '}' {
			return nil
		}
		if c != ',' {
			return errCut
		}
	}
}

// array skips an array; inputs marks the top-level "inputs" array, whose
// object elements are walked as inputs.
func (s *cutter) array(inputs bool) error {
	if err := s.enter(); err != nil {
		return err
	}
	defer func() { s.depth-- }()
	s.i++ // [
	s.ws()
	if s.i < len(s.b) && s.b[s.i] == ']' {
		s.i++
		return nil
	}
	for k := 0; ; k++ {
		ctx := ctxOther
		if inputs {
			ctx = ctxInput
		}
		if err := s.value(ctx, k); err != nil {
			return err
		}
		s.ws()
		if s.i >= len(s.b) {
			return errCut
		}
		c := s.b[s.i]
		s.i++
		if c == ']' {
			return nil
		}
		if c != ',' {
			return errCut
		}
	}
}

// skipValue skips a "data" value at byte speed: brackets are counted
// whatever their kind and strings skipped. The cut value need not be
// checked here: parseArray accepts only a valid JSON array of numbers, and
// a valid value cut from a document whose rest encoding/json accepts
// makes a valid document.
func (s *cutter) skipValue() error {
	if s.i >= len(s.b) || (s.b[s.i] != '[' && s.b[s.i] != '{') {
		return s.value(ctxOther, 0)
	}
	if s.b[s.i] == '[' && s.skipNumbers() {
		return nil
	}
	depth := 0
	for j := s.i; j < len(s.b); j++ {
		switch s.b[j] {
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				s.i = j + 1
				return nil
			}
		case '"':
			s.i = j
			if _, _, err := s.str(); err != nil {
				return err
			}
			j = s.i - 1
		}
	}
	return errCut
}

// skipNumbers skips an array at s.i that holds no strings or objects (a
// data array of numbers, flat or nested) from closing bracket to closing
// bracket with the vector searches of package bytes, counting the opening
// brackets of each stretch: a flat array of 150,528 numbers (an image)
// went byte by byte through skipValue's switch, ~12 ns a number. A
// stretch with a quote or a brace, or a closing bracket short of the end,
// reports false with s.i unchanged, for skipValue's byte loop.
func (s *cutter) skipNumbers() bool {
	depth := 0
	for j := s.i; ; {
		k := bytes.IndexByte(s.b[j:], ']')
		if k < 0 {
			return false
		}
		seg := s.b[j : j+k]
		if bytes.IndexByte(seg, '"') >= 0 || bytes.IndexByte(seg, '{') >= 0 || bytes.IndexByte(seg, '}') >= 0 {
			return false
		}
		depth += bytes.Count(seg, openBracket) - 1
		j += k + 1
		if depth <= 0 {
			s.i = j
			return true
		}
	}
}

var openBracket = []byte{'['}
