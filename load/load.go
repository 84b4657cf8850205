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
	"github.com/kconv/kconv/internal/regfile"
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
	// MemoryBudget bounds, in bytes, what an ONNX import may build (see
	// onnx.Options.MemoryBudget); 0 means the default.
	MemoryBudget int64
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
	if isONNX(path) {
		return onnx.LoadWith(path, onnx.Options{MemoryBudget: opt.MemoryBudget})
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
	f, _, err := regfile.Open(path)
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
