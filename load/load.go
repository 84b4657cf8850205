// Package load opens a model of any kind kconv reads — a builtin name, a
// Keras file of any vintage, or an ONNX file — as a prepared ir.Model.
package load

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kconv/kconv/importer/keras"
	"github.com/kconv/kconv/importer/onnx"
	"github.com/kconv/kconv/ir"
	"github.com/kconv/kconv/zoo"
)

// Options are the choices a user can make when loading.
type Options struct {
	// Arch is the architecture for weights-only files: a JSON or YAML file,
	// or a builtin name such as "vgg16".
	Arch string
	// Lambdas maps Lambda layer names to registered Go implementations.
	Lambdas map[string]string
	// TheanoFlip is "auto" (default), "on" or "off".
	TheanoFlip string
	// StopAfter, when not empty, names the pass of the model's pipeline
	// after which loading stops (kconv ir --after; see ir.Pipeline). The
	// pipelines of Keras files and builtins only order, type and check
	// (they transform nothing), so their model is the same after each of
	// their passes: there the name is only checked.
	StopAfter string
}

// Model loads path. A path that names no file but a builtin architecture
// ("vgg16") gives that architecture without weights.
func Model(path string, opt Options) (*ir.Model, error) {
	m, err := model(path, opt)
	if err != nil || opt.StopAfter == "" || m.Meta.Format == "onnx" {
		return m, err
	}
	var names []string
	for _, p := range m.Passes {
		if p.Name == opt.StopAfter {
			return m, nil
		}
		names = append(names, p.Name)
	}
	return nil, fmt.Errorf("%s: no pass named %q (passes: %s)", path, opt.StopAfter, strings.Join(names, ", "))
}

func model(path string, opt Options) (*ir.Model, error) {
	if _, err := os.Stat(path); err != nil {
		if m, berr := zoo.Lookup(path); berr == nil {
			return m, nil
		}
		return nil, fmt.Errorf("%s: %w", path, cleanErr(err))
	}
	if isONNX(path) {
		return onnx.LoadWith(path, onnx.Options{StopAfter: opt.StopAfter})
	}
	return keras.Load(path, keras.Options{
		Arch:        opt.Arch,
		Lambdas:     opt.Lambdas,
		TheanoFlip:  opt.TheanoFlip,
		ArchBuiltin: zoo.Lookup,
	})
}

func cleanErr(err error) error {
	if pe, ok := err.(*os.PathError); ok {
		return pe.Err
	}
	return err
}

// isONNX tells ONNX files by extension, or by content for other names: an
// ONNX model is a protobuf whose first field is ir_version (tag 0x08); HDF5,
// zip and JSON/YAML files start otherwise.
func isONNX(path string) bool {
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		return true
	}
	f, err := os.Open(path)
	if err != nil {
		return false
	}
	defer f.Close()
	var b [1]byte
	if _, err := f.Read(b[:]); err != nil {
		return false
	}
	return b[0] == 0x08
}
