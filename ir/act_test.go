package ir_test

import (
	"testing"

	"github.com/kconv/kconv/ir"
)

// The activation table is the one place names are translated: every row
// must be complete and every spelling must lead to exactly one row.
func TestActivationTable(t *testing.T) {
	keras, onnx := map[string]ir.ActName{}, map[string]ir.ActName{}
	for _, a := range ir.Activations() {
		if a.Default.Name != a.Name {
			t.Errorf("%s: default is %s", a.Name, a.Default.Name)
		}
		if err := a.Default.Check(); err != nil {
			t.Errorf("%s: default does not check: %v", a.Name, err)
		}
		switch {
		case len(a.Keras) == 0 && a.ONNX == "":
			t.Errorf("%s: neither Keras nor ONNX names it", a.Name)
		case len(a.Keras) > 0 && a.Keras[0] != string(a.Name):
			t.Errorf("%s: Keras spellings %v do not start with the name", a.Name, a.Keras)
		}
		for _, k := range a.Keras {
			if prev, dup := keras[k]; dup {
				t.Errorf("Keras name %q maps to %s and %s", k, prev, a.Name)
			}
			keras[k] = a.Name
			if got, ok := ir.LookupKerasAct(k); !ok || got.Name != a.Name {
				t.Errorf("LookupKerasAct(%q) = %s, %v", k, got.Name, ok)
			}
		}
		if a.ONNX != "" {
			if prev, dup := onnx[a.ONNX]; dup {
				t.Errorf("ONNX op %s maps to %s and %s", a.ONNX, prev, a.Name)
			}
			onnx[a.ONNX] = a.Name
			if got, ok := ir.LookupONNXAct(a.ONNX); !ok || got.Name != a.Name {
				t.Errorf("LookupONNXAct(%q) = %s, %v", a.ONNX, got.Name, ok)
			}
		}
		if got, ok := a.Name.Info(); !ok || got.Name != a.Name {
			t.Errorf("%s.Info() = %s, %v", a.Name, got.Name, ok)
		}
	}
	// 18 Keras activations (20 spellings) and ONNX's Erf.
	if len(keras) != 20 || len(ir.Activations()) != 19 {
		t.Errorf("table has %d rows and %d Keras names", len(ir.Activations()), len(keras))
	}
	if err := (ir.Act{Name: "rleu"}).Check(); err == nil {
		t.Error("a misspelt activation checks")
	}
	if _, ok := ir.LookupKerasAct("Relu"); ok {
		t.Error("Keras names are case-sensitive")
	}
}
