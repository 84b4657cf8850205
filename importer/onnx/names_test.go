package onnx

import "testing"

// addNew on a known name returns -1 and leaves every name's record as it
// was.
func TestNamesAddNew(t *testing.T) {
	tab := newNames(0)
	for i, name := range []string{"a", "b", "c"} {
		r := tab.addNew(name)
		if r != int32(i) {
			t.Fatalf("%s: new name got record %d", name, r)
		}
		tab.recs[r].uses = int32(10 + i)
	}
	if tab.addNew("b") != -1 {
		t.Fatal("known name b accepted")
	}
	for i, name := range []string{"a", "b", "c"} {
		if r := tab.lookup(name); r == nil || r.uses != int32(10+i) {
			t.Errorf("%s: record %+v after a refused addNew", name, r)
		}
	}
	if len(tab.recs) != 3 || len(tab.ids) != 3 {
		t.Errorf("%d records, %d names", len(tab.recs), len(tab.ids))
	}
}
