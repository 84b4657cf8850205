package tensorio

import (
	"encoding/binary"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// rawNPY builds a .npy of the given version with header dict and float32
// payload, as numpy writes it.
func rawNPY(version byte, dict string, data []float32) []byte {
	lenBytes := 2
	if version >= 2 {
		lenBytes = 4
	}
	total := 8 + lenBytes + len(dict) + 1
	hdr := dict + strings.Repeat(" ", (64-total%64)%64) + "\n"
	b := []byte("\x93NUMPY")
	b = append(b, version, 0)
	if lenBytes == 2 {
		b = binary.LittleEndian.AppendUint16(b, uint16(len(hdr)))
	} else {
		b = binary.LittleEndian.AppendUint32(b, uint32(len(hdr)))
	}
	b = append(b, hdr...)
	for _, v := range data {
		b = binary.LittleEndian.AppendUint32(b, math.Float32bits(v))
	}
	return b
}

// TestNPYVariants: Fortran-ordered arrays and format versions 2.0 and 3.0,
// all of which numpy writes, read as the same C-ordered array; an
// unsupported dtype in a valid file is called a dtype problem, not "not a
// .npy file".
func TestNPYVariants(t *testing.T) {
	dir := t.TempDir()
	// a = np.arange(6, dtype='<f4').reshape(2, 3): C order 0..5; in Fortran
	// order the file holds columns: 0 3 1 4 2 5.
	want := []float32{0, 1, 2, 3, 4, 5}
	cases := map[string][]byte{
		"c_v1.npy":       rawNPY(1, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", want),
		"c_v2.npy":       rawNPY(2, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", want),
		"c_v3.npy":       rawNPY(3, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", want),
		"fortran_v1.npy": rawNPY(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", []float32{0, 3, 1, 4, 2, 5}),
		"fortran_v3.npy": rawNPY(3, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3), }", []float32{0, 3, 1, 4, 2, 5}),
	}
	for name, b := range cases {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, b, 0o644); err != nil {
			t.Fatal(err)
		}
		shape, got, _, err := ReadNPY(p)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if len(shape) != 2 || shape[0] != 2 || shape[1] != 3 {
			t.Errorf("%s: shape %v", name, shape)
			continue
		}
		for i := range want {
			if got[i] != want[i] {
				t.Errorf("%s: got %v, want %v", name, got, want)
				break
			}
		}
	}
	// A 3-D Fortran array: element (i, j, k) at i + 2j + 6k.
	var f3 []float32
	for k := 0; k < 4; k++ {
		for j := 0; j < 3; j++ {
			for i := 0; i < 2; i++ {
				f3 = append(f3, float32(100*i+10*j+k))
			}
		}
	}
	p := filepath.Join(dir, "f3.npy")
	os.WriteFile(p, rawNPY(1, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 3, 4), }", f3), 0o644)
	_, got, _, err := ReadNPY(p)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 2; i++ {
		for j := 0; j < 3; j++ {
			for k := 0; k < 4; k++ {
				if v := got[i*12+j*4+k]; v != float32(100*i+10*j+k) {
					t.Fatalf("(%d,%d,%d) = %v", i, j, k, v)
				}
			}
		}
	}
	// Valid .npy, unsupported dtype.
	p = filepath.Join(dir, "c16.npy")
	os.WriteFile(p, rawNPY(1, "{'descr': '<c8', 'fortran_order': False, 'shape': (3,), }", make([]float32, 6)), 0o644)
	if _, _, _, err := ReadNPY(p); err == nil || strings.Contains(err.Error(), "not a") || !strings.Contains(err.Error(), "dtype") {
		t.Errorf("complex dtype: %v, want an unsupported-dtype error", err)
	}
}
