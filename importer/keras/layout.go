package keras

import (
	"github.com/kconv/kconv/internal/h5"
)

// StoredLayer is one entry of a weights-only file's layer_names: the
// layer's name and its weights' names and stored shapes, in weight_names
// order (no data is read).
type StoredLayer struct {
	Name    string
	Weights []string
	Shapes  [][]int
}

// WeightsOnlyLayout lists the layers of a Keras 1/2 weights-only HDF5 file
// (root layer_names, no model_config: what save_weights writes), so that
// its architecture can be identified. ok is false, with a nil error, for
// every other file (full models, Keras 3 .weights.h5, zips, text,
// non-HDF5 files); err reports a weights-only file that cannot be listed.
func WeightsOnlyLayout(path string) (layers []StoredLayer, ok bool, err error) {
	kind, err := sniff(path)
	if err != nil || kind != kindHDF5 {
		return nil, false, nil
	}
	f, err := h5.Open(path)
	if err != nil {
		return nil, false, nil
	}
	defer f.Close()
	root := f.Root()
	if root.HasAttr("model_config") || root.IsGroup("model_weights") || !(root.HasAttr("layer_names") || root.HasAttr("layer_names0")) {
		return nil, false, nil
	}
	fls, err := readLegacy(root)
	if err != nil {
		return nil, true, wrapErr(path, err)
	}
	for _, fl := range fls {
		sl := StoredLayer{Name: fl.name}
		for _, w := range fl.weights {
			sl.Weights = append(sl.Weights, w.name)
			sl.Shapes = append(sl.Shapes, append([]int(nil), w.shape...))
		}
		layers = append(layers, sl)
	}
	return layers, true, nil
}
