package refcheck

import (
	"encoding/json"
	"fmt"

	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

// readDL4J reads DL4J's Keras reference layout (`*_inputs_and_outputs.h5`,
// written by the Keras scripts that made its test models): root
// attributes inputs / outputs name the model's input and output layers;
// inputs/<name> is the batch fed to the model, predictions/<name> what
// model.predict returned (the reference), activations/<layer> every
// layer's output. outputs/<name> is not used: in some files it holds the
// training targets, not the model's output. A file without predictions/
// holds no usable reference and is refused.
func readDL4J(root *h5.Group) (*Reference, error) {
	names := func(attr, key string) ([]string, error) {
		s, err := root.AttrString(attr)
		if err != nil {
			return nil, err
		}
		var m map[string][]string
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return nil, fmt.Errorf("attribute %s: %w", attr, err)
		}
		return m[key], nil
	}
	read := func(p string) (*ir.Tensor, error) { return readTensor(root, p) }
	ins, err := names("inputs", "inputs")
	if err != nil {
		return nil, err
	}
	outs, err := names("outputs", "outputs")
	if err != nil {
		return nil, err
	}
	if len(ins) != 1 || len(outs) != 1 {
		return nil, fmt.Errorf("expected one input and one output, the file names %v and %v", ins, outs)
	}
	if !root.Has("predictions/" + outs[0]) {
		return nil, fmt.Errorf("no predictions/%s: the file holds no model output to compare with (outputs/ may be training targets)", outs[0])
	}
	ref := &Reference{Layers: map[string]*ir.Tensor{}}
	if ref.Input, err = read("inputs/" + ins[0]); err != nil {
		return nil, err
	}
	if ref.Output, err = read("predictions/" + outs[0]); err != nil {
		return nil, err
	}
	if err := readLayers(root, "activations", ref); err != nil {
		return nil, err
	}
	return ref, nil
}
