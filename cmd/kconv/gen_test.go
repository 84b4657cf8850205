package main

import (
	"image"
	"image/png"
	"os"

	"github.com/kconv/kconv/internal/tensorio"
	"path/filepath"
	"strings"
	"testing"
)

// TestGenIdentify: a file kconv gen writes is identified by every command
// that loads it, which says so in one line on stderr; --arch overrides.
func TestGenIdentify(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mobilenet_notop.h5")
	if code, out, errs := kconv(t, "gen", "mobilenet_notop", path); code != 0 || !strings.Contains(out, "keras2 layout") {
		t.Fatalf("gen: exit %d\n%s%s", code, out, errs)
	}
	code, out, errs := kconv(t, "summary", path)
	if code != 0 || !strings.Contains(out, "3,228,864") {
		t.Fatalf("summary: exit %d\n%s%s", code, out, errs)
	}
	if want := "architecture: builtin mobilenet_notop (keras.applications MobileNet, include_top=False, matched 54/54 weighted layers)\n"; errs != want {
		t.Errorf("stderr %q, want %q", errs, want)
	}
	if code, _, errs := kconv(t, "summary", path, "--arch", "mobilenet_notop"); code != 0 || errs != "" {
		t.Errorf("--arch: exit %d, stderr %q", code, errs)
	}
	if code, _, errs := kconv(t, "gen", "mobilenet_th", path+"2"); code != 2 || !strings.Contains(errs, "no Theano-ordering variant") {
		t.Errorf("gen mobilenet_th: exit %d, stderr %q", code, errs)
	}
}

// TestRunPreprocess: `kconv run FILE.h5 --input img.png` on a weights-only
// keras.applications file preprocesses as the architecture expects (MobileNet:
// "tf" mode), says so, and --preprocess overrides it.
func TestRunPreprocess(t *testing.T) {
	dir := t.TempDir()
	model := filepath.Join(dir, "mobilenet.h5")
	if code, out, errs := kconv(t, "gen", "mobilenet", model); code != 0 {
		t.Fatalf("gen: exit %d\n%s%s", code, out, errs)
	}
	img := image.NewRGBA(image.Rect(0, 0, 40, 30))
	for i := range img.Pix {
		img.Pix[i] = uint8(i * 7)
	}
	pic := filepath.Join(dir, "x.png")
	f, err := os.Create(pic)
	if err != nil {
		t.Fatal(err)
	}
	if err := png.Encode(f, img); err != nil {
		t.Fatal(err)
	}
	f.Close()
	outputs := map[string][]float32{}
	for _, mode := range []string{"auto", "tf", "none"} {
		y := filepath.Join(dir, mode+".npy")
		code, out, errs := kconv(t, "run", model, "--input", pic, "--preprocess", mode, "--out", y)
		if code != 0 {
			t.Fatalf("%s: exit %d\n%s%s", mode, code, out, errs)
		}
		if hasNote := strings.Contains(errs, `images preprocessed in "tf" mode`); hasNote != (mode == "auto") {
			t.Errorf("%s: stderr %q", mode, errs)
		}
		_, data, _, err := tensorio.ReadNPY(y)
		if err != nil {
			t.Fatal(err)
		}
		outputs[mode] = data
	}
	same := func(a, b []float32) bool {
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return len(a) == len(b)
	}
	if !same(outputs["auto"], outputs["tf"]) {
		t.Error("auto preprocessing differs from --preprocess tf")
	}
	if same(outputs["auto"], outputs["none"]) {
		t.Error("--preprocess none gives the same output as tf")
	}
	if code, _, errs := kconv(t, "run", model, "--input", pic, "--preprocess", "tf", "--bgr"); code != 2 || !strings.Contains(errs, "cannot be combined") {
		t.Errorf("--preprocess with --bgr: exit %d %q", code, errs)
	}
}
