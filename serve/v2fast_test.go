package serve

import (
	"encoding/json"
	"reflect"
	"testing"
)

// v2FastDocs are request headers for decodeV2Fast: the common shapes it
// must take, and shapes it must leave to encoding/json.
var v2FastDocs = []struct {
	doc  string
	fast bool // decodeV2Fast must answer (else it must report false)
}{
	{`{"inputs":[{"name":"x","shape":[1,32,32,3],"datatype":"FP32","parameters":{"binary_data_size":12288}}],"parameters":{"binary_data_output":true}}`, true},
	{` { "id" : "r-1" , "inputs" : [ { "name" : "a" , "shape" : [ 2 , -1 , 0 ] , "datatype" : "INT8" } ] , "outputs" : [ { "name" : "y" , "parameters" : { "binary_data" : false } } ] } `, true},
	{`{"inputs":[],"outputs":[],"parameters":{}}`, true},
	{`{}`, true},
	{`{"inputs":[{"name":"ünïcode","shape":[-0],"parameters":{"s":"str","n":-1.5e3,"f":false}}]}`, true},
	{`{"inputs":[{"name":"x","shape":[1],"datatype":"FP32","data":[1]}]}`, false}, // data: encoding/json's path
	{`{"ID":"a"}`, false},                   // another spelling
	{`{"id":"a","id":"b"}`, false},          // repeated key
	{`{"id":"a\"b"}`, false},                // escape
	{`{"id":null}`, false},                  // null
	{`{"id":"\xff"}`, false},                // invalid UTF-8
	{`{"id":"a` + "\x01" + `"}`, false},     // control character
	{`{"parameters":{"a":{"b":1}}}`, false}, // nested parameter
	{`{"parameters":{"a":1,"a":2}}`, false}, // repeated parameter
	{`{"parameters":{"a":01}}`, false},      // bad number
	{`{"parameters":{"a":tru}}`, false},     // bad literal
	{`{"inputs":[{"shape":[1.0]}]}`, false}, // not an integer
	{`{"inputs":[{"shape":[1e2]}]}`, false}, // not an integer
	{`{"inputs":[{"shape":[99999999999999999999]}]}`, false},
	{`{"inputs":[{"shape":[01]}]}`, false},
	{`{"inputs":[{"name":"x"},]}`, false},  // trailing comma
	{`{"inputs":[{"name":"x"}]} x`, false}, // trailing bytes
	{`{"inputs":[{"name":"x"}]`, false},    // truncated
	{`{"inputs":{"name":"x"}}`, false},     // wrong type
	{`{"extra":1}`, false},                 // unknown key
}

// checkV2Fast checks decodeV2Fast against encoding/json on doc: when the
// fast path answers, encoding/json must accept doc and decode the same
// request.
func checkV2Fast(t *testing.T, doc []byte) (fast bool) {
	got, ok := decodeV2Fast(doc)
	if !ok {
		return false
	}
	var want v2Request
	if err := json.Unmarshal(doc, &want); err != nil {
		t.Fatalf("%q: the fast path accepted what encoding/json refuses (%v)", doc, err)
	}
	if !reflect.DeepEqual(*got, want) {
		t.Fatalf("%q: fast path %#v, encoding/json %#v", doc, *got, want)
	}
	return true
}

func TestDecodeV2Fast(t *testing.T) {
	for _, c := range v2FastDocs {
		if fast := checkV2Fast(t, []byte(c.doc)); fast != c.fast {
			t.Errorf("%s: fast path answered %v, want %v", c.doc, fast, c.fast)
		}
	}
}

// The decoded request keeps no reference to the body (which the server
// recycles).
func TestDecodeV2FastCopies(t *testing.T) {
	doc := []byte(`{"id":"a","parameters":{"k":"v","n":12},"inputs":[{"name":"x","datatype":"FP32","shape":[1],"parameters":{"binary_data_size":4}}]}`)
	req, ok := decodeV2Fast(doc)
	if !ok {
		t.Fatal("not decoded")
	}
	want, _ := json.Marshal(req)
	for i := range doc {
		doc[i] = 'z'
	}
	if got, _ := json.Marshal(req); string(got) != string(want) {
		t.Fatalf("the request changed with the body: %s, was %s", got, want)
	}
}

// FuzzDecodeV2Fast checks decodeV2Fast against encoding/json on arbitrary
// documents.
func FuzzDecodeV2Fast(f *testing.F) {
	for _, c := range v2FastDocs {
		f.Add([]byte(c.doc))
	}
	f.Fuzz(func(t *testing.T, doc []byte) { checkV2Fast(t, doc) })
}

// appendString writes what encoding/json writes for every string.
func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "cifar_small", "input_layer_2", "a/b:c", "quote\"", "back\\slash", "<html>&", "tab\t", "ünï", "\xff", "\u2028"} {
		want, _ := json.Marshal(s)
		if got := appendString([]byte("x"), s); string(got) != "x"+string(want) {
			t.Errorf("%q: %s, want %s", s, got[1:], want)
		}
	}
}
