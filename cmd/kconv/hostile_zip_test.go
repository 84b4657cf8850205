package main

import (
	"archive/zip"
	"bytes"
	"io"
	"os"
	"path/filepath"
	"testing"
)

// kerasZipWith rebuilds testdata's cifar_small.keras through edit, which
// gets each member (name, data) and writes what it wants to zw.
func kerasZipWith(t *testing.T, edit func(zw *zip.Writer, name string, data []byte)) []byte {
	t.Helper()
	src, err := os.ReadFile(filepath.Join(kerasTD, "cifar_small.keras"))
	if err != nil {
		t.Fatal(err)
	}
	zr, err := zip.NewReader(bytes.NewReader(src), int64(len(src)))
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	zw := zip.NewWriter(&b)
	for _, m := range zr.File {
		rc, err := m.Open()
		if err != nil {
			t.Fatal(err)
		}
		data, err := io.ReadAll(rc)
		rc.Close()
		if err != nil {
			t.Fatal(err)
		}
		edit(zw, m.Name, data)
	}
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func put(t *testing.T, zw *zip.Writer, h *zip.FileHeader, data []byte) {
	t.Helper()
	w, err := zw.CreateHeader(h)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Write(data); err != nil {
		t.Fatal(err)
	}
}

// TestHostileZip is class 4 of issue 16: .keras archives that readers
// would read differently, encrypted members, decompression bombs, and a
// weights member that is not HDF5 (refused before it is inflated).
func TestHostileZip(t *testing.T) {
	x := func(d string) string { return file(t, d, "x.npy", npy(t, []int{1, 32, 32, 3})) }
	zipCase := func(name string, edit func(zw *zip.Writer, member string, data []byte)) func(d string) []string {
		return func(d string) []string {
			return []string{"run", file(t, d, name, kerasZipWith(t, edit)), "--input", x(d)}
		}
	}
	cases := []hostile{
		{"two config.json", zipCase("dup.keras", func(zw *zip.Writer, m string, data []byte) {
			put(t, zw, &zip.FileHeader{Name: m, Method: zip.Deflate}, data)
			if m == "config.json" {
				put(t, zw, &zip.FileHeader{Name: m, Method: zip.Deflate}, bytes.ReplaceAll(data, []byte(`"relu"`), []byte(`"sigmoid"`)))
			}
		}), 1, []string{"dup.keras", "config.json", "twice"}},
		{"two weights members", zipCase("dupw.keras", func(zw *zip.Writer, m string, data []byte) {
			put(t, zw, &zip.FileHeader{Name: m, Method: zip.Store}, data)
			if m == "model.weights.h5" {
				put(t, zw, &zip.FileHeader{Name: m, Method: zip.Store}, data)
			}
		}), 1, []string{"dupw.keras", "model.weights.h5", "twice"}},
		{"encrypted config", zipCase("enc.keras", func(zw *zip.Writer, m string, data []byte) {
			h := &zip.FileHeader{Name: m, Method: zip.Store}
			if m == "config.json" {
				h.Flags |= 0x1
			}
			put(t, zw, h, data)
		}), 1, []string{"enc.keras", "config.json", "encrypted"}},
		{"weights bomb", zipCase("bomb.keras", func(zw *zip.Writer, m string, data []byte) {
			if m == "model.weights.h5" {
				data = append(append([]byte{}, data[:8]...), make([]byte, 64<<20)...)
			}
			put(t, zw, &zip.FileHeader{Name: m, Method: zip.Deflate}, data)
		}), 1, []string{"bomb.keras", "model.weights.h5", "decompression bomb"}},
		{"weights not HDF5", zipCase("nothdf.keras", func(zw *zip.Writer, m string, data []byte) {
			if m == "model.weights.h5" {
				data = bytes.Repeat([]byte("not an hdf5 file at all\n"), 1<<16)
			}
			put(t, zw, &zip.FileHeader{Name: m, Method: zip.Deflate}, data)
		}), 1, []string{"nothdf.keras", "model.weights.h5", "not an HDF5 file"}},
	}
	runHostile(t, cases)
}
