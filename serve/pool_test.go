package serve

import "testing"

// TestBufPoolClasses: a buffer given back serves every later request of
// its size class, whatever size it was taken for, and never one larger
// than its capacity.
func TestBufPoolClasses(t *testing.T) {
	var p bufPool
	for _, n := range []int{1, 2, 3, 511, 512, 513, 3072, 4096, 4097, 100000} {
		f := p.getFloats(n)
		if len(f) != n || cap(f) < n {
			t.Fatalf("getFloats(%d): len %d cap %d", n, len(f), cap(f))
		}
		p.putFloats(f)
		if g := p.getFloats(n); len(g) != n || cap(g) < n {
			t.Fatalf("getFloats(%d) after a put: len %d cap %d", n, len(g), cap(g))
		}
		b := p.getBytes(n)
		if len(b) != 0 || cap(b) < n {
			t.Fatalf("getBytes(%d): len %d cap %d", n, len(b), cap(b))
		}
		p.putBytes(append(b, make([]byte, cap(b)-len(b)+1)...)) // grown past its class
		if c := p.getBytes(n); len(c) != 0 || cap(c) < n {
			t.Fatalf("getBytes(%d) after a put: len %d cap %d", n, len(c), cap(c))
		}
	}
	// Beyond maxPooled nothing is kept, and sizes are exact.
	huge := maxPooled/4 + 1
	if f := p.getFloats(huge); len(f) != huge || cap(f) != huge {
		t.Fatalf("getFloats(%d): len %d cap %d, want exact", huge, len(f), cap(f))
	}
}
