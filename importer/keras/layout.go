package keras

import (
	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

// StoredLayer is one layer of a weights-only file as stored: its name (a
// Keras 1/2 layer_names entry, or a Keras 3 key such as "conv2d_1") and its
// weights' names and stored shapes, in order (no data is read).
type StoredLayer struct {
	Name    string
	Weights []string
	Shapes  [][]int
}

// StoredLayout lists the layers of a weights-only file.
type StoredLayout struct {
	Layers []StoredLayer
	// Keras3 is set for Keras 3 .weights.h5 files, whose layers are named
	// by Keras 3 keys (see Keras3Keys), listed in key order.
	Keras3 bool
}

// WeightsOnlyLayout lists the layers of a weights-only HDF5 file: Keras
// 1/2's save_weights layout (root layer_names) or a Keras 3 .weights.h5
// (layers/<key>/vars/<i>), so that its architecture can be identified. It
// returns nil, with a nil error, for every other file (full models, zips,
// text, non-HDF5 files); the error reports a weights-only file that cannot
// be listed.
func WeightsOnlyLayout(path string) (*StoredLayout, error) {
	kind, err := sniff(path)
	if err != nil || kind != kindHDF5 {
		return nil, nil
	}
	f, err := h5.Open(path)
	if err != nil {
		return nil, nil
	}
	defer f.Close()
	root := f.Root()
	if root.HasAttr("model_config") || root.IsGroup("model_weights") {
		return nil, nil
	}
	switch {
	case root.HasAttr("layer_names") || root.HasAttr("layer_names0"):
		fls, err := readLegacy(root)
		if err != nil {
			return nil, wrapErr(path, err)
		}
		out := &StoredLayout{}
		for _, fl := range fls {
			out.Layers = append(out.Layers, storedLayer(fl.name, fl.weights))
		}
		return out, nil
	case root.IsGroup("layers"):
		lg, err := root.Group("layers")
		if err != nil {
			return nil, wrapErr(path, err)
		}
		keys, err := lg.Children()
		if err != nil {
			return nil, wrapErr(path, err)
		}
		out := &StoredLayout{Keras3: true}
		for _, k := range keys {
			fws, _, err := readK3Vars(root, "layers/"+k)
			if err != nil {
				return nil, wrapErr(path, &ir.LayerError{Layer: k, Err: err})
			}
			out.Layers = append(out.Layers, storedLayer(k, fws))
		}
		return out, nil
	}
	return nil, nil
}

func storedLayer(name string, ws []fileWeight) StoredLayer {
	sl := StoredLayer{Name: name}
	for _, w := range ws {
		sl.Weights = append(sl.Weights, w.name)
		sl.Shapes = append(sl.Shapes, append([]int(nil), w.shape...))
	}
	return sl
}

// Keras3Keys maps the layers of a model used as an architecture (a builtin)
// to the keys under which a Keras 3 .weights.h5 file stores their weights
// ("layers/<key>/vars"): the snake_case class name with a counter per class,
// in the model's layer order, as Load pairs them.
func Keras3Keys(m *ir.Model) map[string]string {
	keys := map[string]string{}
	counters := map[string]int{}
	for _, n := range m.Nodes {
		if _, ok := n.Op.(*ir.Input); ok {
			continue
		}
		keys[n.Name] = k3key(counters, n.Class)
	}
	return keys
}
