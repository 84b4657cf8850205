package keras

import (
	"fmt"

	"github.com/kconv/kconv/internal/atomicfile"
	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

// Keras2WeightsOptions controls WriteKeras2Weights.
type Keras2WeightsOptions struct {
	// KerasVersion is the keras_version attribute (default "2.2.4").
	KerasVersion string
	// Force replaces an existing file.
	Force bool
}

// WriteKeras2Weights writes m's weights as Keras 2's save_weights does
// (the layout of keras.applications' weight files): root attributes
// layer_names (every layer, the input included, in model order), backend
// and keras_version; a group per layer whose weight_names attribute lists
// "<layer>/<weight>:0", each stored at <layer>/<layer>/<weight>:0 in its
// canonical shape. Layers without weights get an empty group. Each
// weight's data is released after it is written (weights that can re-read
// it, such as lazily generated ones, then do not stay in memory).
func WriteKeras2Weights(m *ir.Model, path string, opt Keras2WeightsOptions) error {
	version := opt.KerasVersion
	if version == "" {
		version = "2.2.4"
	}
	for _, n := range m.Nodes {
		if len(n.Weights) != len(n.Specs) {
			return fmt.Errorf("layer '%s': has %d weights, expects %d", n.Name, len(n.Weights), len(n.Specs))
		}
	}
	return atomicfile.Write(path, opt.Force, func(tmp string) (err error) {
		f, err := h5.Create(tmp)
		if err != nil {
			return err
		}
		defer func() {
			if cerr := f.Close(); err == nil {
				err = cerr
			}
		}()
		root := f.Root()
		names := make([]string, len(m.Nodes))
		for i, n := range m.Nodes {
			names[i] = n.Name
		}
		if err := root.SetAttrStringsFixed("layer_names", names); err != nil {
			return err
		}
		if err := root.SetAttrString("backend", "tensorflow"); err != nil {
			return err
		}
		if err := root.SetAttrString("keras_version", version); err != nil {
			return err
		}
		for _, n := range m.Nodes {
			g, err := root.CreateGroup(n.Name)
			if err != nil {
				return err
			}
			wn := make([]string, len(n.Weights))
			for i := range n.Weights {
				wn[i] = n.Name + "/" + n.Specs[i].Name + ":0"
			}
			if err := g.SetAttrStringsFixed("weight_names", wn); err != nil {
				return err
			}
			if len(n.Weights) == 0 {
				continue
			}
			sub, err := g.CreateGroup(n.Name)
			if err != nil {
				return err
			}
			for i, w := range n.Weights {
				d, err := w.Data()
				if err != nil {
					return fmt.Errorf("layer '%s': weight %s: %w", n.Name, w.Name, err)
				}
				if err := sub.WriteFloat32(n.Specs[i].Name+":0", n.Specs[i].Shape, d); err != nil {
					return fmt.Errorf("layer '%s': %w", n.Name, err)
				}
				w.Release()
			}
		}
		return nil
	})
}
