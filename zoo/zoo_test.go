package zoo

import "testing"

func TestVGG16Params(t *testing.T) {
	m, err := VGG16()
	if err != nil {
		t.Fatal(err)
	}
	tr, nt := m.Params()
	if tr != 138357544 || nt != 0 {
		t.Fatalf("params = %d + %d, want 138357544 + 0", tr, nt)
	}
	if got := m.Node("maxpooling2d_5").Out.Shape.String(); got != "(None, 512, 7, 7)" {
		t.Errorf("maxpooling2d_5 shape %s", got)
	}
	if len(m.Nodes) != 1+1+13*2+5+1+5 {
		t.Errorf("%d nodes", len(m.Nodes))
	}
}

func TestVGG16TorchvisionParams(t *testing.T) {
	m, err := VGG16Torchvision()
	if err != nil {
		t.Fatal(err)
	}
	if tr, _ := m.Params(); tr != 138357544 {
		t.Fatalf("params = %d", tr)
	}
	if got := m.Node("features.30").Out.Shape.String(); got != "(None, 512, 7, 7)" {
		t.Errorf("last pool %s", got)
	}
}
