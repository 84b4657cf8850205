package serve

import (
	"strconv"
	"testing"
)

// FuzzParseV2 feeds arbitrary bodies and header lengths to the v2 request
// parser: it must never panic, and what it accepts must fit the model.
func FuzzParseV2(f *testing.F) {
	e, err := newEntry(Model{Name: "two", Program: twoProgram(f)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(-1, []byte(`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"b","shape":[1,4],"datatype":"INT8","data":[[1,2],[3,4]]}]}`))
	f.Add(96, []byte(`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP16","parameters":{"binary_data_size":8}},{"name":"b","shape":[1,4],"datatype":"UINT8","parameters":{"binary_data_size":4}}]}123456789012`))
	f.Add(-1, []byte(`{"inputs":[{"name":"a","shape":[2,4],"datatype":"FP64","data":[1e308,2,3,4,5,6,7,8]}]}`))
	f.Fuzz(func(t *testing.T, hlen int, body []byte) {
		h := ""
		if hlen >= 0 {
			h = strconv.Itoa(hlen)
		}
		_, inputs, rows, err := parseV2(h, body, e)
		if err != nil {
			return
		}
		for k, in := range inputs {
			if in.Shape[0] != rows || int64(len(in.Data)) != in.Shape.Elements() || len(in.Shape) != len(e.inputs[k].shape) {
				t.Fatalf("accepted input %d: shape %v, %d values, rows %d", k, in.Shape, len(in.Data), rows)
			}
		}
	})
}

// FuzzTFPredict does the same for TF Serving's row and columnar formats.
func FuzzTFPredict(f *testing.F) {
	e, err := newEntry(Model{Name: "two", Program: twoProgram(f)})
	if err != nil {
		f.Fatal(err)
	}
	f.Add(true, []byte(`[{"a":[1,2,3,4],"b":[1,2,3,4]}]`))
	f.Add(false, []byte(`{"a":[[1,2,3,4]],"b":[[1,2,3,4]]}`))
	f.Add(false, []byte(`[[[1]]]`))
	f.Fuzz(func(t *testing.T, rowsFormat bool, raw []byte) {
		var err error
		if rowsFormat {
			_, err = tfRows(raw, e)
		} else {
			_, err = tfColumns(raw, e)
		}
		_ = err
	})
}
