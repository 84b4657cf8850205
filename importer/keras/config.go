package keras

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
	"unicode/utf8"

	"github.com/kconv/kconv/ir"
	"gopkg.in/yaml.v3"
)

// maxConfigSize bounds the architecture text kconv reads (JSON, YAML,
// model_config attributes, config.json members).
const maxConfigSize = 64 << 20

// maxYAMLNodes bounds the values a YAML document may expand to through
// aliases ("billion laughs").
const maxYAMLNodes = 5_000_000

// obj is one decoded JSON/YAML mapping of a Keras config.
type obj map[string]any

// parseText decodes a Keras architecture in JSON or YAML into generic values.
func parseText(data []byte) (obj, error) {
	if len(data) > maxConfigSize {
		return nil, fmt.Errorf("architecture text is %d bytes, more than the %d MiB kconv accepts", len(data), maxConfigSize>>20)
	}
	data = bytes.TrimPrefix(data, []byte("\xef\xbb\xbf"))
	trimmed := bytes.TrimSpace(data)
	if len(trimmed) == 0 {
		return nil, errors.New("empty architecture")
	}
	if bytes.IndexByte(trimmed, 0) >= 0 {
		return nil, errors.New("not a Keras model file (binary data that is neither HDF5 nor a .keras zip)")
	}
	if !utf8.Valid(trimmed) {
		// JSON decoding would silently turn the bad bytes into U+FFFD,
		// so names would differ from what Keras (which refuses) sees.
		i := 0
		for i < len(trimmed) {
			r, n := utf8.DecodeRune(trimmed[i:])
			if r == utf8.RuneError && n <= 1 {
				break
			}
			i += n
		}
		return nil, fmt.Errorf("architecture is not valid UTF-8 (byte %d)", i)
	}
	var v any
	if trimmed[0] == '{' || trimmed[0] == '[' {
		if err := json.Unmarshal(trimmed, &v); err != nil {
			return nil, fmt.Errorf("architecture is not valid JSON: %v", err)
		}
	} else {
		var err error
		v, err = parseYAML(data)
		if err != nil {
			return nil, err
		}
	}
	m, ok := v.(map[string]any)
	if !ok || m["class_name"] == nil {
		return nil, errors.New("not a Keras model file (neither HDF5, a .keras zip, nor a JSON/YAML architecture with a class_name)")
	}
	return obj(m), nil
}

// parseYAML decodes YAML as written by Keras 1/2 to_yaml, whose PyYAML
// output tags tuples (!!python/tuple) and may use anchors and aliases.
// Python-specific tags are ignored: a tagged sequence is a list, a tagged
// scalar its text.
func parseYAML(data []byte) (any, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("architecture is neither JSON nor valid YAML: %s", oneLine(err.Error()))
	}
	budget := maxYAMLNodes
	return yamlValue(&doc, &budget, 0)
}

func yamlValue(n *yaml.Node, budget *int, depth int) (any, error) {
	*budget--
	if *budget < 0 {
		return nil, errors.New("YAML architecture expands to too many values")
	}
	if depth > 512 {
		return nil, errors.New("YAML architecture is nested too deeply")
	}
	switch n.Kind {
	case yaml.DocumentNode:
		if len(n.Content) == 0 {
			return nil, nil
		}
		return yamlValue(n.Content[0], budget, depth+1)
	case yaml.AliasNode:
		if n.Alias == nil {
			return nil, errors.New("YAML alias without anchor")
		}
		return yamlValue(n.Alias, budget, depth+1)
	case yaml.SequenceNode:
		out := make([]any, 0, len(n.Content))
		for _, c := range n.Content {
			v, err := yamlValue(c, budget, depth+1)
			if err != nil {
				return nil, err
			}
			out = append(out, v)
		}
		return out, nil
	case yaml.MappingNode:
		out := make(map[string]any, len(n.Content)/2)
		for i := 0; i+1 < len(n.Content); i += 2 {
			k, err := yamlValue(n.Content[i], budget, depth+1)
			if err != nil {
				return nil, err
			}
			v, err := yamlValue(n.Content[i+1], budget, depth+1)
			if err != nil {
				return nil, err
			}
			out[fmt.Sprint(k)] = v
		}
		return out, nil
	case yaml.ScalarNode:
		if strings.Contains(n.Tag, "python/") || (strings.HasPrefix(n.Tag, "!") && !strings.HasPrefix(n.Tag, "!!")) {
			return n.Value, nil
		}
		var v any
		if err := n.Decode(&v); err != nil {
			return n.Value, nil
		}
		return v, nil
	}
	return nil, nil
}

func oneLine(s string) string {
	s = strings.ReplaceAll(s, "\r", "")
	parts := strings.Split(s, "\n")
	for i := range parts {
		parts[i] = strings.TrimSpace(parts[i])
	}
	return strings.Join(parts, "; ")
}

// asObj returns v as a mapping, or nil.
func asObj(v any) obj {
	if m, ok := v.(map[string]any); ok {
		return obj(m)
	}
	if m, ok := v.(obj); ok {
		return m
	}
	return nil
}

// asList returns v as a list, or nil.
func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

// get returns the first of keys that is present and not null.
func (o obj) get(keys ...string) (any, bool) {
	for _, k := range keys {
		if v, ok := o[k]; ok && v != nil {
			return v, true
		}
	}
	return nil, false
}

// has reports whether any of keys is present (even as null).
func (o obj) has(keys ...string) bool {
	for _, k := range keys {
		if _, ok := o[k]; ok {
			return true
		}
	}
	return false
}

// val returns the value of key k under its first present spelling (nil if
// absent or null).
func (o obj) val(k ir.KerasKey) any {
	v, _ := o.get(k.Read()...)
	return v
}

func (o obj) str(keys ...string) string {
	v, ok := o.get(keys...)
	if !ok {
		return ""
	}
	if s, ok := v.(string); ok {
		return s
	}
	return ""
}

// toFloat converts a decoded JSON/YAML number.
func toFloat(v any) (float64, bool) {
	switch x := v.(type) {
	case float64:
		return x, true
	case float32:
		return float64(x), true
	case int:
		return float64(x), true
	case int64:
		return float64(x), true
	case uint64:
		return float64(x), true
	case json.Number:
		f, err := x.Float64()
		return f, err == nil
	}
	return 0, false
}

// toInt converts a decoded integral number.
func toInt(v any) (int, bool) {
	f, ok := toFloat(v)
	if !ok || f != math.Trunc(f) || math.Abs(f) > 1<<40 {
		return 0, false
	}
	return int(f), true
}

// num returns the number under keys, def if absent.
func (o obj) num(def float64, keys ...string) (float64, error) {
	v, ok := o.get(keys...)
	if !ok {
		return def, nil
	}
	f, ok := toFloat(v)
	if !ok {
		return 0, fmt.Errorf("%s must be a number, got %s", keys[0], show(v))
	}
	return f, nil
}

// integer returns the integer under keys, def if absent.
func (o obj) integer(def int, keys ...string) (int, error) {
	v, ok := o.get(keys...)
	if !ok {
		return def, nil
	}
	// A one-element list stands for its element (e.g. axis: [3]).
	if l := asList(v); len(l) == 1 {
		v = l[0]
	}
	n, ok := toInt(v)
	if !ok {
		return 0, fmt.Errorf("%s must be an integer, got %s", keys[0], show(v))
	}
	return n, nil
}

// boolean returns the boolean under keys, def if absent.
func (o obj) boolean(def bool, keys ...string) (bool, error) {
	v, ok := o.get(keys...)
	if !ok {
		return def, nil
	}
	b, ok := v.(bool)
	if !ok {
		return false, fmt.Errorf("%s must be true or false, got %s", keys[0], show(v))
	}
	return b, nil
}

// pair reads an int or a pair of ints (kernel sizes, strides, …).
func (o obj) pair(def [2]int, keys ...string) ([2]int, error) {
	v, ok := o.get(keys...)
	if !ok {
		return def, nil
	}
	if n, ok := toInt(v); ok {
		return [2]int{n, n}, nil
	}
	l := asList(v)
	if len(l) == 2 {
		a, ok1 := toInt(l[0])
		b, ok2 := toInt(l[1])
		if ok1 && ok2 {
			return [2]int{a, b}, nil
		}
	}
	return def, fmt.Errorf("%s must be an integer or a pair of integers, got %s", keys[0], show(v))
}

// ints reads a list of integers (null entries become -1).
func toInts(v any, what string) ([]int, error) {
	if n, ok := toInt(v); ok {
		return []int{n}, nil
	}
	l, ok := v.([]any)
	if !ok {
		return nil, fmt.Errorf("%s must be a list of integers, got %s", what, show(v))
	}
	out := make([]int, len(l))
	for i, e := range l {
		if e == nil {
			out[i] = -1
			continue
		}
		n, ok := toInt(e)
		if !ok {
			return nil, fmt.Errorf("%s must be a list of integers, got %s", what, show(v))
		}
		out[i] = n
	}
	return out, nil
}

// show prints a config value briefly for messages.
func show(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	if len(b) > 60 {
		return string(b[:57]) + "..."
	}
	return string(b)
}
