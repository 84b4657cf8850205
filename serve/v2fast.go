package serve

import (
	"encoding/json"
	"strconv"
	"unicode/utf8"
)

// decodeV2Fast decodes the common shape of a v2 inference request header
// without encoding/json's reflection: the binary-data header a client sends
// with every request ({"inputs":[{"name":…,"shape":[…],"datatype":…,
// "parameters":{"binary_data_size":…}}],"parameters":{…},"outputs":[…]})
// cost about a third of the server's handler time through encoding/json.
//
// It is strict on purpose and reports false for anything outside that
// shape (a key spelled other than in the protocol, a repeated key, a string
// with escapes or not valid UTF-8, a null, a nested parameter value, a
// "data" array, malformed JSON); the caller then decodes the document with
// encoding/json, which gives the same result or the error message. So the
// fast path never decides what a request means: when it answers, its
// answer is encoding/json's (TestDecodeV2Fast and FuzzDecodeV2Fast check
// it). Parameter values are copied: the result keeps no reference to doc.
func decodeV2Fast(doc []byte) (*v2Request, bool) {
	d := &v2dec{b: doc}
	req := &v2Request{}
	if !d.object(func(key []byte) bool {
		switch string(key) {
		case "id":
			s, ok := d.str()
			req.ID = s
			return ok
		case "parameters":
			req.Parameters = map[string]json.RawMessage{}
			return d.params(req.Parameters)
		case "inputs":
			req.Inputs = []v2Input{}
			return d.array(func() bool {
				var in v2Input
				ok := d.object(func(key []byte) bool {
					switch string(key) {
					case "name":
						s, ok := d.str()
						in.Name = s
						return ok
					case "datatype":
						s, ok := d.rawStr()
						in.Datatype = intern(s)
						return ok
					case "shape":
						in.Shape = make([]int64, 0, 4) // one allocation for up to rank 4
						return d.array(func() bool {
							n, ok := d.int()
							in.Shape = append(in.Shape, n)
							return ok
						})
					case "parameters":
						in.Parameters = map[string]json.RawMessage{}
						return d.params(in.Parameters)
					}
					return false
				})
				req.Inputs = append(req.Inputs, in)
				return ok
			})
		case "outputs":
			req.Outputs = []v2RequestOutput{}
			return d.array(func() bool {
				var out v2RequestOutput
				ok := d.object(func(key []byte) bool {
					switch string(key) {
					case "name":
						s, ok := d.str()
						out.Name = s
						return ok
					case "parameters":
						out.Parameters = map[string]json.RawMessage{}
						return d.params(out.Parameters)
					}
					return false
				})
				req.Outputs = append(req.Outputs, out)
				return ok
			})
		}
		return false
	}) {
		return nil, false
	}
	d.ws()
	if d.i != len(d.b) {
		return nil, false
	}
	return req, true
}

// v2dec is decodeV2Fast's cursor.
type v2dec struct {
	b []byte
	i int
}

func (d *v2dec) ws() {
	for d.i < len(d.b) {
		switch d.b[d.i] {
		case ' ', '\t', '\n', '\r':
			d.i++
		default:
			return
		}
	}
}

// next skips white space and reports whether the next byte is c (and
// consumes it if so).
func (d *v2dec) next(c byte) bool {
	d.ws()
	if d.i < len(d.b) && d.b[d.i] == c {
		d.i++
		return true
	}
	return false
}

// rawStr reads a string without escapes or control characters, in valid
// UTF-8, and returns its contents (a view of the document).
func (d *v2dec) rawStr() ([]byte, bool) {
	if !d.next('"') {
		return nil, false
	}
	start := d.i
	ascii := true
	for ; d.i < len(d.b); d.i++ {
		c := d.b[d.i]
		switch {
		case c == '"':
			s := d.b[start:d.i]
			d.i++
			return s, ascii || utf8.Valid(s)
		case c == '\\' || c < 0x20:
			return nil, false
		case c >= 0x80:
			ascii = false
		}
	}
	return nil, false
}

func (d *v2dec) str() (string, bool) {
	s, ok := d.rawStr()
	return string(s), ok
}

// int reads an integer that fits int64 (what encoding/json accepts for an
// int64 field: no fraction, no exponent).
func (d *v2dec) int() (int64, bool) {
	d.ws()
	start := d.i
	if d.i < len(d.b) && d.b[d.i] == '-' {
		d.i++
	}
	digits := d.i
	for d.i < len(d.b) && d.b[d.i] >= '0' && d.b[d.i] <= '9' {
		d.i++
	}
	if d.i == digits || (d.b[digits] == '0' && d.i-digits > 1) {
		return 0, false
	}
	if d.i < len(d.b) {
		switch d.b[d.i] {
		case '.', 'e', 'E':
			return 0, false
		}
	}
	n, err := strconv.ParseInt(string(d.b[start:d.i]), 10, 64)
	return n, err == nil
}

// scalar reads a number, a string (as str reads it) or true/false, and
// returns a copy of its JSON text.
func (d *v2dec) scalar() (json.RawMessage, bool) {
	d.ws()
	if d.i >= len(d.b) {
		return nil, false
	}
	start := d.i
	switch c := d.b[d.i]; {
	case c == '"':
		if _, ok := d.rawStr(); !ok {
			return nil, false
		}
	case c == 't' || c == 'f':
		for d.i < len(d.b) && d.b[d.i] >= 'a' && d.b[d.i] <= 'z' {
			d.i++
		}
		if w := string(d.b[start:d.i]); w != "true" && w != "false" {
			return nil, false
		}
	case c == '-' || (c >= '0' && c <= '9'):
		for d.i < len(d.b) {
			c := d.b[d.i]
			if (c < '0' || c > '9') && c != '-' && c != '+' && c != '.' && c != 'e' && c != 'E' {
				break
			}
			d.i++
		}
		if !jsonNumber(string(d.b[start:d.i])) {
			return nil, false
		}
	default:
		return nil, false
	}
	return append(json.RawMessage(nil), d.b[start:d.i]...), true
}

// object reads an object whose keys field reads (after the colon), each at
// most once; field returns false for a key it does not take.
func (d *v2dec) object(field func(key []byte) bool) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	var seen [8][]byte
	n := 0
	for {
		key, ok := d.rawStr()
		if !ok || !d.next(':') {
			return false
		}
		for _, k := range seen[:n] {
			if string(k) == string(key) {
				return false
			}
		}
		if n == len(seen) {
			return false
		}
		seen[n] = key
		n++
		if !field(key) {
			return false
		}
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// params reads a parameters object of scalar values into m.
func (d *v2dec) params(m map[string]json.RawMessage) bool {
	if !d.next('{') {
		return false
	}
	if d.next('}') {
		return true
	}
	for {
		key, ok := d.rawStr()
		if !ok || !d.next(':') {
			return false
		}
		if _, dup := m[string(key)]; dup {
			return false
		}
		v, ok := d.scalar()
		if !ok {
			return false
		}
		m[intern(key)] = v
		if d.next('}') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}

// intern returns b as a string: a constant, without allocating, for the
// strings a request header repeats (datatypes, parameter names), else a
// copy.
func intern(b []byte) string {
	switch string(b) {
	case "FP32":
		return "FP32"
	case "UINT8":
		return "UINT8"
	case "FP16":
		return "FP16"
	case "binary_data_size":
		return "binary_data_size"
	case "binary_data":
		return "binary_data"
	case "binary_data_output":
		return "binary_data_output"
	}
	return string(b)
}

// array reads an array, calling elem for each element.
func (d *v2dec) array(elem func() bool) bool {
	if !d.next('[') {
		return false
	}
	if d.next(']') {
		return true
	}
	for {
		if !elem() {
			return false
		}
		if d.next(']') {
			return true
		}
		if !d.next(',') {
			return false
		}
	}
}
