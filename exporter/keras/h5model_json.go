package keras

import (
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"unicode/utf8"
)

// jobj is a JSON object whose keys keep their insertion order, as Python
// dicts (and so Keras configs) do.
type jobj []jkv

type jkv struct {
	k string
	v any
}

// obj builds a jobj from alternating keys and values.
func obj(kv ...any) jobj {
	o := make(jobj, 0, len(kv)/2)
	for i := 0; i+1 < len(kv); i += 2 {
		o = append(o, jkv{kv[i].(string), kv[i+1]})
	}
	return o
}

// add appends keys and values (alternating) to o.
func (o *jobj) add(kv ...any) {
	*o = append(*o, obj(kv...)...)
}

// pyJSON encodes v as Python's json.dumps does with its default settings
// (", " and ": " separators, ASCII output, floats as repr prints them), the
// form of Keras's model_config attribute.
func pyJSON(v any) (string, error) {
	var b strings.Builder
	if err := encodeJSON(&b, v, 0); err != nil {
		return "", err
	}
	return b.String(), nil
}

func encodeJSON(b *strings.Builder, v any, depth int) error {
	if depth > 100 {
		return fmt.Errorf("config nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case bool:
		if x {
			b.WriteString("true")
		} else {
			b.WriteString("false")
		}
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float32:
		b.WriteString(pyFloat(float64(x)))
	case float64:
		b.WriteString(pyFloat(x))
	case string:
		pyString(b, x)
	case jobj:
		b.WriteByte('{')
		for i, kv := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			pyString(b, kv.k)
			b.WriteString(": ")
			if err := encodeJSON(b, kv.v, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte('}')
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		o := make(jobj, len(keys))
		for i, k := range keys {
			o[i] = jkv{k, x[k]}
		}
		return encodeJSON(b, o, depth)
	case []any:
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteString(", ")
			}
			if err := encodeJSON(b, e, depth+1); err != nil {
				return err
			}
		}
		b.WriteByte(']')
	case []int:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = e
		}
		return encodeJSON(b, l, depth)
	case [][]int:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = e
		}
		return encodeJSON(b, l, depth)
	case json.Number:
		if _, err := strconv.ParseFloat(string(x), 64); err != nil {
			return fmt.Errorf("bad number %q in a Keras config", x)
		}
		b.WriteString(string(x))
	case []string:
		l := make([]any, len(x))
		for i, e := range x {
			l[i] = e
		}
		return encodeJSON(b, l, depth)
	default:
		// Other values (named map or slice types, …): through
		// encoding/json's generic form.
		data, err := json.Marshal(x)
		if err != nil {
			return fmt.Errorf("cannot encode %T in a Keras config: %v", v, err)
		}
		d := json.NewDecoder(strings.NewReader(string(data)))
		d.UseNumber()
		var g any
		if err := d.Decode(&g); err != nil {
			return err
		}
		return encodeJSON(b, g, depth+1)
	}
	return nil
}

// pyFloat prints f as Python's repr: shortest round-trip digits, with
// ".0" on integral values and exponent form below 1e-4 and from 1e16.
func pyFloat(f float64) string {
	switch {
	case math.IsNaN(f):
		return "NaN"
	case math.IsInf(f, 1):
		return "Infinity"
	case math.IsInf(f, -1):
		return "-Infinity"
	}
	if f == 0 {
		if math.Signbit(f) {
			return "-0.0"
		}
		return "0.0"
	}
	e := strconv.FormatFloat(f, 'e', -1, 64)
	exp, _ := strconv.Atoi(e[strings.IndexByte(e, 'e')+1:])
	if exp < -4 || exp >= 16 {
		return e // Go and Python both write at least two exponent digits
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsRune(s, '.') {
		s += ".0"
	}
	return s
}

// pyString writes s as json.dumps does with ensure_ascii: non-ASCII
// characters as \uXXXX escapes (surrogate pairs beyond the BMP).
func pyString(b *strings.Builder, s string) {
	b.WriteByte('"')
	for _, r := range s {
		switch r {
		case '"':
			b.WriteString(`\"`)
		case '\\':
			b.WriteString(`\\`)
		case '\n':
			b.WriteString(`\n`)
		case '\r':
			b.WriteString(`\r`)
		case '\t':
			b.WriteString(`\t`)
		case '\b':
			b.WriteString(`\b`)
		case '\f':
			b.WriteString(`\f`)
		default:
			switch {
			case r < 0x20 || (r >= 0x7f && r < 0x10000) || r == utf8.RuneError:
				fmt.Fprintf(b, `\u%04x`, r)
			case r >= 0x10000:
				r -= 0x10000
				fmt.Fprintf(b, `\u%04x\u%04x`, 0xd800+(r>>10), 0xdc00+(r&0x3ff))
			default:
				b.WriteRune(r)
			}
		}
	}
	b.WriteByte('"')
}
