package labels

import "testing"

func TestImageNet(t *testing.T) {
	n := ImageNet()
	if len(n) != 1000 || n[0] != "tench" || n[999] != "toilet_tissue" || n[281] != "tabby" {
		t.Fatalf("got %d names: %q … %q", len(n), n[0], n[len(n)-1])
	}
}
