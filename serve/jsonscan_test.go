package serve

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strings"
	"testing"
)

// checkCut compares cutData's fast path with encoding/json on doc: when
// encoding/json accepts doc, the fast path must give the same request
// (data byte for byte); when it refuses doc, the fast path must refuse it
// too, in encoding/json or in parseArray on a cut value.
func checkCut(t *testing.T, doc []byte) {
	var want v2Request
	wantErr := json.Unmarshal(doc, &want)
	rest, data, ok := cutData(doc)
	if !ok {
		if wantErr == nil && topInputs(doc) < 2 {
			t.Fatalf("%q: cutData refused a document encoding/json accepts", doc)
		}
		return
	}
	var got v2Request
	gotErr := json.Unmarshal(rest, &got)
	if gotErr == nil {
		for k := range got.Inputs {
			if k < len(data) && data[k] != nil {
				got.Inputs[k].Data = data[k]
			}
		}
	}
	if wantErr == nil {
		if gotErr != nil {
			t.Fatalf("%q: fast path refused it (%v) after the cut %q", doc, gotErr, rest)
		}
		if !reflect.DeepEqual(normalize(got), normalize(want)) {
			t.Fatalf("%q: fast path gave %+v, encoding/json %+v", doc, got, want)
		}
		return
	}
	if gotErr != nil {
		return
	}
	for _, d := range data {
		if d == nil || bytes.Equal(d, []byte("null")) {
			continue
		}
		if _, _, err := parseArray(d, datatypes["FP64"], 0); err != nil {
			return
		}
	}
	t.Fatalf("%q: encoding/json refuses it (%v), the fast path accepts it", doc, wantErr)
}

// topInputs counts the top-level keys of doc that encoding/json matches to
// "inputs" (cutData declines documents that repeat it).
func topInputs(doc []byte) int {
	d := json.NewDecoder(bytes.NewReader(doc))
	if t, err := d.Token(); err != nil || t != json.Delim('{') {
		return 0
	}
	n := 0
	for d.More() {
		k, err := d.Token()
		if err != nil {
			return n
		}
		if s, ok := k.(string); ok && strings.EqualFold(s, "inputs") {
			n++
		}
		var skip json.RawMessage
		if err := d.Decode(&skip); err != nil {
			return n
		}
	}
	return n
}

// normalize makes empty and nil raw messages compare alike.
func normalize(r v2Request) v2Request {
	for k := range r.Inputs {
		if len(r.Inputs[k].Data) == 0 {
			r.Inputs[k].Data = nil
		}
	}
	return r
}

var cutSeeds = []string{
	`{"inputs":[{"name":"a","shape":[1,4],"datatype":"FP32","data":[1,2,3,4]},{"name":"b","shape":[1,4],"datatype":"INT8","data":[[1,2],[3,4]]}]}`,
	`{"id":"x\"data\":[","inputs":[{"name":"a","data":[1.5e-3, -0.25 ,0] , "shape":[1,3]}],"outputs":[{"name":"o","parameters":{"data":[1]}}]}`,
	`{"INPUTS":[{"Data":[1,2]}],"inputs":[{"data":[3],"data":[4,5]}]}`,
	`{"inputs":[{"d\u0061ta":[7,8]}],"parameters":{"inputs":[{"data":[9]}]}}`,
	`{"inputs":[{"data":null},{"data":"str"},{"data":{"x":1}},[1],2]}`,
	`{"inputs":[{"data":[1,2}]}`,
	`{"inputs":[{"data":[1,2]]]}`,
	`{"inputs":[{"data":[01]}]}`,
	`{"inputs":[{"data":[.5]}]}`,
	`{"inputs":[{"data":[1.]}]}`,
	`{"inputs":[{"data":[1,]}]}`,
	`{"inputs":[{"data":[1] "name":"a"}]}`,
	`{"inputs":[{"data" [1]}]}`,
	`{"inputs":[{"data":[1]}]} x`,
	`{"inputs":[{"data":[tru]}]}`,
	`{"inputs":[{"name":"a\\","data":[1]}]}`,
	` {"inputs":[]} `,
	`[1,2]`,
	``,
	// The bracket-to-bracket skip of numeric data (skipNumbers).
	`{"inputs":[{"data":[[1,2],[3,[4]]],"name":"a"}]}`,
	`{"inputs":[{"data":[[1,2]}]}`,
	`{"inputs":[{"data":[1,2}]}`,
	`{"inputs":[{"data":[[1,2],]]}]}`,
	`{"inputs":[{"data":[1,"]"]}]}`,
	`{"inputs":[{"data":[[1],[2]]]}]}`,
	`{"inputs":[{"data":[[[1]]`,
}

func TestCutData(t *testing.T) {
	for _, s := range cutSeeds {
		checkCut(t, []byte(s))
	}
}

// FuzzCutData checks cutData against encoding/json on arbitrary documents.
func FuzzCutData(f *testing.F) {
	for _, s := range cutSeeds {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { checkCut(t, doc) })
}
