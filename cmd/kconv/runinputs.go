package main

import (
	"fmt"
	"os"
	"slices"
	"strings"

	"github.com/kconv/kconv/feed"
	"github.com/kconv/kconv/ir"
)

// tensors builds every input of m from the --input flags. A model with
// one input takes what tensor reads (a .npy file, FILE.h5:DATASET, images
// or folders), optionally written NAME=… with the input's name. A model
// with several inputs takes one tensor file per input: --input NAME=FILE
// for each (any order), or one plain FILE per input in the model's input
// order; each is checked against its input's shape, and their batch
// sizes must agree. Images feed single-input models only.
func (f *inputFlags) tensors(m *ir.Model) ([]*ir.Tensor, string, error) {
	names := m.Inputs
	named := map[string]string{} // input name → file
	var plain []string
	for _, in := range f.inputs {
		name, file, ok := strings.Cut(in, "=")
		switch {
		case ok && slices.Contains(names, name):
			if _, dup := named[name]; dup {
				return nil, "", usagef("--input %s is given twice", name)
			}
			named[name] = file
		case ok && !strings.Contains(name, "/") && !strings.Contains(in, ".h5:") && !exists(in):
			// NAME=FILE with a name the model lacks (not a path, nor an
			// HDF5 dataset, that holds "=").
			return nil, "", usagef("--input %s: the model has no input %q (its inputs: %s), and no file has that name", in, name, strings.Join(names, ", "))
		default:
			plain = append(plain, in)
		}
	}
	if len(names) == 1 {
		if len(named) > 0 {
			if len(plain) > 0 {
				return nil, "", usagef("--input %s=… and unnamed inputs %s cannot be combined for a single-input model", names[0], strings.Join(plain, " "))
			}
			f.inputs = []string{named[names[0]]}
		}
		x, note, err := f.tensor(m)
		if err != nil {
			return nil, "", err
		}
		return []*ir.Tensor{x}, note, nil
	}
	files := make([]string, len(names))
	switch {
	case len(named) > 0 && len(plain) > 0:
		return nil, "", usagef("--input: give every input as NAME=FILE, or every one as a plain FILE in the model's order (%s), not a mix", strings.Join(names, ", "))
	case len(named) > 0:
		for i, n := range names {
			if files[i] = named[n]; files[i] == "" {
				return nil, "", usagef("no --input for the model's input %q (give --input %s=FILE; its inputs: %s)", n, n, strings.Join(names, ", "))
			}
		}
	case len(plain) != len(names):
		return nil, "", usagef("the model has %d inputs (%s): give --input NAME=FILE for each, or %d files in that order (got %d)",
			len(names), strings.Join(names, ", "), len(names), len(plain))
	default:
		copy(files, plain)
	}
	types := m.InputTypes()
	var notes []string
	xs := make([]*ir.Tensor, len(names))
	for i, file := range files {
		if !feed.IsTensorFile([]string{file}) {
			return nil, "", usagef("--input %s=%s: a model with several inputs takes a .npy file or FILE.h5:DATASET per input (images feed single-input models)", names[i], file)
		}
		var err error
		var note string
		if h5file, ds, ok := strings.Cut(file, ".h5:"); ok {
			xs[i], err = feed.H5(h5file+".h5", ds, types[i], f.budget)
		} else {
			xs[i], note, err = feed.NPY(file, types[i])
		}
		if err != nil {
			return nil, "", fmt.Errorf("input %q: %w", names[i], err)
		}
		if note != "" {
			notes = append(notes, note)
		}
		if i > 0 && len(xs[i].Shape) > 0 && len(xs[0].Shape) > 0 && xs[i].Shape[0] != xs[0].Shape[0] {
			return nil, "", fmt.Errorf("input %q (%s) has batch %d, input %q (%s) %d: every input needs the same batch", names[i], file, xs[i].Shape[0], names[0], files[0], xs[0].Shape[0])
		}
	}
	return xs, strings.Join(notes, "; "), nil
}

// exists reports whether path names an existing file or folder.
func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}
