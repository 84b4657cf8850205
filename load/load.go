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
	// or a builtin name such as "vgg16". Without it, a Keras 1/2
	// weights-only file is matched against the builtin architectures by
	// its layer names, order and weight shapes (zoo.Identify; a Keras 3
	// .weights.h5 by its layer keys, zoo.IdentifyKeyed); the model's
	// Meta.Arch then says which builtin was used.
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
	// MemoryBudget bounds, in bytes, what an ONNX import may build (see
	// onnx.Options.MemoryBudget); 0 means the default.
	MemoryBudget int64
	// Batch fixes an ONNX model's dynamic batch size (see
	// onnx.Options.Batch); 0 keeps it dynamic.
	Batch int
}

// Model loads path. A path that names no file but a builtin architecture
// ("vgg16") gives that architecture without weights.
//
// A weights-only file (Keras 1/2 or Keras 3) loaded without Options.Arch
// gets the builtin architecture it matches (see zoo.Identify), with the
// class count and input size the file implies. One identified in Theano
// ordering is read as holding Theano (flipped) kernels unless
// Options.TheanoFlip says otherwise: keras.applications' th_kernels files
// and fast.ai's vgg16.h5 do, and the former keep TensorFlow's ":0" weight
// names, which would otherwise make "auto" keep their kernels unflipped.
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
		return onnx.LoadWith(path, onnx.Options{StopAfter: opt.StopAfter, MemoryBudget: opt.MemoryBudget, Batch: opt.Batch})
	}
	kopt := keras.Options{
		Arch:        opt.Arch,
		Lambdas:     opt.Lambdas,
		TheanoFlip:  opt.TheanoFlip,
		ArchBuiltin: zoo.Lookup,
	}
	var match *zoo.Match
	if opt.Arch == "" {
		lay, err := keras.WeightsOnlyLayout(path)
		if err != nil {
			return nil, err
		}
		if lay != nil {
			mt, err := identify(lay, &kopt)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			match = &mt
		}
	}
	m, err := keras.Load(path, kopt)
	if err != nil {
		return nil, err
	}
	if match != nil {
		m.Meta.Arch = match.String()
	}
	if m.Meta.Preprocess == "" && kopt.Arch != "" {
		m.Meta.Preprocess = zoo.PreprocessOf(kopt.Arch)
	}
	return m, nil
}

// identify picks the builtin architecture of a weights-only file's layers
// and sets the Keras options to load the file with it.
func identify(lay *keras.StoredLayout, kopt *keras.Options) (zoo.Match, error) {
	fl := make([]zoo.FileLayer, len(lay.Layers))
	for i, l := range lay.Layers {
		fl[i] = zoo.FileLayer{Name: l.Name, Shapes: l.Shapes}
	}
	var mt zoo.Match
	var err error
	if lay.Keras3 {
		mt, err = zoo.IdentifyKeyed(fl, keras.Keras3Keys)
	} else {
		mt, err = zoo.Identify(fl)
	}
	if err != nil {
		return mt, err
	}
	kopt.Arch = mt.Name
	// The match may have another class count or input size than the
	// builtin of that name.
	kopt.ArchBuiltin = func(name string) (*ir.Model, error) {
		if name == mt.Name {
			return mt.Build()
		}
		return zoo.Lookup(name)
	}
	if mt.Theano && (kopt.TheanoFlip == "" || kopt.TheanoFlip == "auto") {
		kopt.TheanoFlip = "on"
	}
	return mt, nil
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
