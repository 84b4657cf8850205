package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/kconv/kconv/internal/h5"
)

// TestHostileReadsOutside is class 1 of issue 16: files that would make
// kconv read something other than the files the user named (HDF5 external
// storage, external and soft links, virtual datasets, shape bombs; FIFOs
// and devices named as models or inputs). Every entry point must refuse
// them with one line naming the file and the dataset, and write nothing.
func TestHostileReadsOutside(t *testing.T) {
	cfg := seq(input(8), dense("fc", 4, nil))
	// model writes a Keras 2 model whose fc/kernel:0 hook makes.
	model := func(d string, hook func(fc *h5.WGroup) error) string {
		p := filepath.Join(d, "m.h5")
		writeKeras2With(t, p, cfg, map[string]map[string][]int{"fc": {"bias:0": {4}}}, map[string][]string{"fc": {"fc/kernel:0"}},
			func(mw *h5.WGroup) error {
				g, err := mw.CreateGroup("fc")
				if err != nil {
					return err
				}
				return hook(g)
			})
		return p
	}
	secret := func(d string) string {
		p := filepath.Join(d, "passwd")
		if err := os.WriteFile(p, make([]byte, 128), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	other := func(d string) string {
		p := filepath.Join(d, "other.h5")
		w, err := h5.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		defer w.Close()
		if err := w.WriteFloat32("/k", []int{8, 4}, make([]float32, 32)); err != nil {
			t.Fatal(err)
		}
		return p
	}
	x := func(d string) string {
		p := filepath.Join(d, "x.npy")
		if err := os.WriteFile(p, npy(t, []int{1, 8}), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	fifo := func(d, name string) string {
		p := filepath.Join(d, name)
		if err := syscall.Mkfifo(p, 0o644); err != nil {
			t.Skip("no FIFOs:", err)
		}
		return p
	}
	runArgs := func(hook func(d string) func(fc *h5.WGroup) error) func(d string) []string {
		return func(d string) []string { return []string{"run", model(d, hook(d)), "--input", x(d)} }
	}
	const kernel = "/model_weights/fc/fc/kernel:0"
	cases := []hostile{
		{"external storage", runArgs(func(d string) func(*h5.WGroup) error {
			s := secret(d)
			return func(g *h5.WGroup) error { return g.WriteExternal("fc/kernel:0", []int{8, 4}, s) }
		}), 1, []string{"m.h5", kernel, "external file"}},
		{"external storage /dev/zero", runArgs(func(d string) func(*h5.WGroup) error {
			return func(g *h5.WGroup) error { return g.WriteExternal("fc/kernel:0", []int{8, 4}, "/dev/zero") }
		}), 1, []string{"m.h5", kernel, "external file"}},
		{"external link", runArgs(func(d string) func(*h5.WGroup) error {
			o := other(d)
			return func(g *h5.WGroup) error { return g.ExternalLink("fc/kernel:0", o, "/k") }
		}), 1, []string{"m.h5", kernel, "external link"}},
		{"soft link", runArgs(func(d string) func(*h5.WGroup) error {
			return func(g *h5.WGroup) error {
				if err := g.WriteFloat32("/elsewhere", []int{8, 4}, make([]float32, 32)); err != nil {
					return err
				}
				return g.SoftLink("fc/kernel:0", "/elsewhere")
			}
		}), 1, []string{"m.h5", kernel, "soft link"}},
		{"virtual dataset", runArgs(func(d string) func(*h5.WGroup) error {
			o := other(d)
			return func(g *h5.WGroup) error { return g.WriteVirtual("fc/kernel:0", []int{8, 4}, o, "/k") }
		}), 1, []string{"m.h5", kernel, "virtual"}},
		{"shape bomb", runArgs(func(d string) func(*h5.WGroup) error {
			return func(g *h5.WGroup) error { return g.WriteUnallocated("fc/kernel:0", []int{1 << 20, 1 << 20}) }
		}), 1, []string{"m.h5", kernel}},
		{"convert external storage", func(d string) []string {
			s := secret(d)
			return []string{"convert", model(d, func(g *h5.WGroup) error { return g.WriteExternal("fc/kernel:0", []int{8, 4}, s) }), filepath.Join(d, "out.onnx")}
		}, 1, []string{"m.h5", kernel, "external file"}},
		{"model is a FIFO", func(d string) []string { return []string{"summary", fifo(d, "m.h5")} }, 1, []string{"m.h5", "not a regular file"}},
		{"onnx model is a FIFO", func(d string) []string { return []string{"summary", fifo(d, "m.onnx")} }, 1, []string{"m.onnx", "not a regular file"}},
		{"keras model is a FIFO", func(d string) []string { return []string{"summary", fifo(d, "m.keras")} }, 1, []string{"m.keras", "not a regular file"}},
		{"input is a FIFO", func(d string) []string {
			return []string{"run", filepath.Join(kerasTD, "cifar_small.h5"), "--input", fifo(d, "x.npy")}
		}, 1, []string{"x.npy", "not a regular file"}},
		{"input is a device", func(d string) []string {
			p := filepath.Join(d, "zero.npy")
			if err := os.Symlink("/dev/zero", p); err != nil {
				t.Skip("no symlinks:", err)
			}
			return []string{"run", filepath.Join(kerasTD, "cifar_small.h5"), "--input", p}
		}, 1, []string{"zero.npy", "not a regular file"}},
	}
	runHostile(t, cases)
	// Nothing was written by the convert case: runHostile's folders are
	// gone, so check in a fresh one.
	d := t.TempDir()
	s := secret(d)
	out := filepath.Join(d, "out.onnx")
	if code, _, _ := kconv(t, "convert", model(d, func(g *h5.WGroup) error { return g.WriteExternal("fc/kernel:0", []int{8, 4}, s) }), out); code == 0 {
		t.Error("convert succeeded")
	}
	if ents := mustReadDir(t, d); len(ents) != 2 {
		t.Errorf("convert left files behind: %v", ents)
	}
}

// TestMessages is class 8 of issue 16: messages say what is wrong with
// what the user named. A bool weight is called bool; an input error names
// the input once; an unwritable output names the user's path, not the
// hidden temporary file.
func TestMessages(t *testing.T) {
	cases := []hostile{
		{"h5py enum weight", func(d string) []string {
			p := filepath.Join(d, "b.h5")
			writeKeras2With(t, p, seq(input(8), dense("fc", 4, nil)), map[string]map[string][]int{}, map[string][]string{"fc": {"fc/kernel:0", "fc/bias:0"}},
				func(mw *h5.WGroup) error {
					if err := mw.WriteFloat32("fc/fc/bias:0", []int{4}, make([]float32, 4)); err != nil {
						return err
					}
					return mw.WriteBool("fc/fc/kernel:0", []int{8, 4})
				})
			return []string{"run", p, "--input", file(t, d, "x.npy", npy(t, []int{1, 8}))}
		}, 1, []string{"b.h5", "kernel", "bool"}},
		{"output in a missing folder", func(d string) []string {
			return []string{"run", filepath.Join(kerasTD, "cifar_small.h5"), "--input", file(t, d, "x.npy", npy(t, []int{1, 32, 32, 3})), "--out", filepath.Join(d, "no", "y.npy")}
		}, 1, []string{filepath.Join("no", "y.npy")}},
	}
	runHostile(t, cases)
}

// TestHostileLinkedGroups: a layer's weight group reached through a soft or
// external link is refused too (the link check covers groups, not only
// datasets).
func TestHostileLinkedGroups(t *testing.T) {
	cfg := seq(input(8), dense("fc", 4, nil))
	build := func(d string, link func(mw *h5.WGroup, other string) error) string {
		other := filepath.Join(d, "other.h5")
		w, err := h5.Create(other)
		if err != nil {
			t.Fatal(err)
		}
		w.WriteFloat32("/fc/fc/kernel:0", []int{8, 4}, make([]float32, 32))
		w.WriteFloat32("/fc/fc/bias:0", []int{4}, make([]float32, 4))
		w.Close()
		p := filepath.Join(d, "m.h5")
		writeKeras2With(t, p, cfg, map[string]map[string][]int{"real": {"kernel:0": {8, 4}, "bias:0": {4}}}, nil, func(mw *h5.WGroup) error {
			if err := link(mw, other); err != nil {
				return err
			}
			return mw.SetAttrStringsFixed("layer_names", []string{"fc"})
		})
		return p
	}
	x := func(d string) string { return file(t, d, "x.npy", npy(t, []int{1, 8})) }
	cases := []hostile{
		{"layer group is a soft link", func(d string) []string {
			return []string{"run", build(d, func(mw *h5.WGroup, _ string) error { return mw.SoftLink("fc", "/model_weights/real") }), "--input", x(d)}
		}, 1, []string{"m.h5", "fc", "soft link"}},
		{"layer group is an external link", func(d string) []string {
			return []string{"run", build(d, func(mw *h5.WGroup, o string) error { return mw.ExternalLink("fc", o, "/fc") }), "--input", x(d)}
		}, 1, []string{"m.h5", "fc", "external link"}},
	}
	runHostile(t, cases)
}

// TestHostileLinkedModelWeights: model_weights itself as a soft link is
// refused, not taken for a weights-only file.
func TestHostileLinkedModelWeights(t *testing.T) {
	cases := []hostile{{"model_weights is a soft link", func(d string) []string {
		p := filepath.Join(d, "m.h5")
		w, err := h5.Create(p)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := json.Marshal(seq(input(8), dense("fc", 4, nil)))
		root := w.Root()
		root.SetAttrString("model_config", string(b))
		root.SetAttrString("keras_version", "2.4.0")
		mw, _ := root.CreateGroup("real")
		mw.SetAttrStringsFixed("layer_names", []string{"fc"})
		fc, _ := mw.CreateGroup("fc")
		fc.SetAttrStringsFixed("weight_names", []string{"fc/kernel:0", "fc/bias:0"})
		fc.WriteFloat32("fc/kernel:0", []int{8, 4}, make([]float32, 32))
		fc.WriteFloat32("fc/bias:0", []int{4}, make([]float32, 4))
		if err := root.SoftLink("model_weights", "/real"); err != nil {
			t.Fatal(err)
		}
		w.Close()
		return []string{"run", p, "--input", file(t, d, "x.npy", npy(t, []int{1, 8}))}
	}, 1, []string{"m.h5", "model_weights", "soft link"}}}
	runHostile(t, cases)
}
