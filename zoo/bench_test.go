package zoo

import "testing"

// BenchmarkIdentify times identifying a weights-only file's layer list
// (every builtin variant is built and compared).
func BenchmarkIdentify(b *testing.B) {
	m, err := Lookup("densenet121")
	if err != nil {
		b.Fatal(err)
	}
	lay := Layout(m)
	for i := 0; i < b.N; i++ {
		if _, err := Identify(lay); err != nil {
			b.Fatal(err)
		}
	}
}
