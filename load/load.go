// Package load opens a model of any kind kconv reads — a builtin name, a
// Keras file of any vintage, or an ONNX file — as a prepared ir.Model.
package load

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/kconv/kconv/importer/keras"
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
}

// Model loads path. A path that names no file but a builtin architecture
// ("vgg16") gives that architecture without weights.
func Model(path string, opt Options) (*ir.Model, error) {
	if _, err := os.Stat(path); err != nil {
		if m, berr := zoo.Lookup(path); berr == nil {
			return m, nil
		}
		return nil, fmt.Errorf("%s: %w", path, cleanErr(err))
	}
	if strings.EqualFold(filepath.Ext(path), ".onnx") {
		return nil, fmt.Errorf("%s: ONNX import is not available yet", path)
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
