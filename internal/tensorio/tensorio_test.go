package tensorio

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"os"
	"path/filepath"
	"testing"

	"codeberg.org/sbinet/npyio"
)

func TestNPYRoundTrip(t *testing.T) {
	data := []float32{1, -2, 3.5, 4, 5, 6}
	path := filepath.Join(t.TempDir(), "x.npy")
	var b bytes.Buffer
	if err := EncodeNPY(&b, []int{1, 2, 3}, data); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(path, b.Bytes(), 0o644)
	// npyio (the maintained reader) must agree with our header.
	r, err := npyio.NewReader(bytes.NewReader(b.Bytes()))
	if err != nil {
		t.Fatal(err)
	}
	if got := r.Header.Descr.Shape; len(got) != 3 || got[0] != 1 || got[1] != 2 || got[2] != 3 {
		t.Fatalf("npyio shape %v", got)
	}
	shape, got, note, err := ReadNPY(path)
	if err != nil || note != "" || len(shape) != 3 {
		t.Fatal(shape, note, err)
	}
	for i := range data {
		if got[i] != data[i] {
			t.Fatalf("value %d: %v != %v", i, got[i], data[i])
		}
	}
}

func TestNPYConversionAndErrors(t *testing.T) {
	dir := t.TempDir()
	// float64 and int64 arrays written by npyio are converted with a note.
	for name, v := range map[string]any{"f8.npy": []float64{1.5, 2, 3}, "i8.npy": []int64{1, 2, 3}} {
		var b bytes.Buffer
		if err := npyio.Write(&b, v); err != nil {
			t.Fatal(err)
		}
		p := filepath.Join(dir, name)
		os.WriteFile(p, b.Bytes(), 0o644)
		_, got, note, err := ReadNPY(p)
		if err != nil || note == "" || got[1] != 2 {
			t.Fatalf("%s: %v %q %v", name, got, note, err)
		}
	}
	var b bytes.Buffer
	EncodeNPY(&b, []int{100, 100}, make([]float32, 10000))
	full := b.Bytes()
	bad := map[string][]byte{
		"empty.npy":     nil,
		"text.npy":      []byte("hello"),
		"truncated.npy": full[:len(full)/2],
	}
	for name, data := range bad {
		p := filepath.Join(dir, name)
		os.WriteFile(p, data, 0o644)
		if _, _, _, err := ReadNPY(p); err == nil {
			t.Errorf("%s: no error", name)
		}
	}
}

func TestReadImage(t *testing.T) {
	dir := t.TempDir()
	img := image.NewRGBA(image.Rect(0, 0, 8, 4))
	for y := 0; y < 4; y++ {
		for x := 0; x < 8; x++ {
			img.Set(x, y, color.RGBA{R: 200, G: 100, B: 50, A: 255})
		}
	}
	var pb, jb bytes.Buffer
	png.Encode(&pb, img)
	jpeg.Encode(&jb, img, &jpeg.Options{Quality: 100})
	pp, jp := filepath.Join(dir, "a.png"), filepath.Join(dir, "b.jpg")
	os.WriteFile(pp, pb.Bytes(), 0o644)
	os.WriteFile(jp, jb.Bytes(), 0o644)
	for _, p := range []string{pp, jp} {
		px, err := ReadImage(p, 3, 5)
		if err != nil {
			t.Fatal(err)
		}
		if len(px) != 3*5*3 {
			t.Fatalf("%d values", len(px))
		}
		// A flat color stays that color (RGB order, 0–255) after resizing.
		if d := px[0] - 200; d < -3 || d > 3 || px[1] < 97 || px[1] > 103 || px[2] < 47 || px[2] > 53 {
			t.Errorf("%s: pixel %v", p, px[:3])
		}
	}
	list, err := ListImages(dir)
	if err != nil || len(list) != 2 {
		t.Fatal(list, err)
	}
	os.WriteFile(filepath.Join(dir, "broken.png"), []byte("not a png"), 0o644)
	if _, err := ReadImage(filepath.Join(dir, "broken.png"), 3, 5); err == nil {
		t.Error("broken image: no error")
	}
}
