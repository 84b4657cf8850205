package keras

import (
	"errors"
	"fmt"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kconv/kconv/internal/atomicfile"
	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

// H5Options controls WriteH5Model.
type H5Options struct {
	// Force replaces an existing file.
	Force bool
	// KerasVersion is the Keras 2 version the file claims (root and
	// model_weights attribute keras_version); it also selects the config
	// keys that version knows. Default "2.11.0".
	KerasVersion string
	// keras3 builds the layers of a Keras 3 file (WriteKeras3,
	// WriteKeras3H5): Keras 3 activation names, weight names without ":0".
	keras3 bool
}

// DefaultH5KerasVersion is the keras_version WriteH5Model writes by default.
const DefaultH5KerasVersion = "2.11.0"

// WriteH5Model writes m as a Keras 2 (tf.keras) full-model HDF5 file, as
// model.save("x.h5") does: root attributes keras_version, backend and
// model_config (a Functional model with InputLayers), and /model_weights
// with layer_names, each layer's weight_names and its float32 datasets
// <layer>/<layer>/<weight>:0. Keras 2 and kconv's importer read it back.
//
// Every node needs a Keras layer: ops without one (unknown layers, the
// ONNX-only ops and forms listed in h5model_onnx.go as having none) are
// errors naming the node. Constants are taken in by the layer they feed
// (a Dense kernel, a BatchNormalization standing for a per-channel
// arithmetic op). Some nodes become several layers:
//
//   - padding Keras cannot state ("valid" and "same" only) becomes a
//     ZeroPadding2D "<layer>_pad" before a convolution or an average
//     pooling that counts the padding (ONNX count_include_pad); explicit
//     padding of other pooling is "same" when it equals Keras's "same"
//     for the input size; else, for max pooling of a provably
//     non-negative input (after a ReLU), a ZeroPadding2D "<layer>_pad"
//     (zeros stand exactly for ONNX's -inf padding there), which also
//     completes the last window of a ceil_mode that changes the output
//     size; other explicit or ceil-mode pooling padding is an error;
//   - an activation that a layer's "activation" argument cannot name in
//     Keras 2 (relu with parameters, relu6, leaky_relu, elu with
//     alpha != 1, softmax on another axis) becomes a separate ReLU,
//     LeakyReLU, ELU or Softmax layer "<layer>_act"; activations Keras 2
//     lacks (log_softmax, hard_swish, Keras 3's hard_sigmoid, tanh-gelu)
//     are errors;
//   - a transposed convolution with explicit (ONNX), same_lower or full
//     padding becomes a "valid" Conv2DTranspose whose output_padding gives
//     the full output, then a Cropping2D "<layer>_crop".
//
// Lambda layers must use a registered function (ir.RegisterLambda). They
// are written with function_type "function", function the registered name
// and module "kconv": kconv reads the name back, and Keras loads the model
// only when given the function, as load_model(path,
// custom_objects={"vgg_preprocess": fn}).
//
// Layers are listed (in model_config and layer_names) in the order Keras
// gives a functional model's layers, by which it loads weights. Node names
// that are not valid Keras layer names are changed (see H5LayerNames).
// Nodes that no model output depends on are left out. Keras 2 InputLayers
// state no data format (readers take the model's first data_format), so a
// rank-4 input whose layout differs from it is an error when the model has
// a Lambda layer (which reads its input's layout). The file is
// written atomically; an existing file is replaced only with opts.Force.
func WriteH5Model(m *ir.Model, path string, opts H5Options) error {
	b, err := buildH5(m, opts)
	if err != nil {
		return err
	}
	return atomicfile.Write(path, opts.Force, b.write)
}

// H5LayerNames returns the Keras layer name WriteH5Model gives each node of
// m. Names already valid (letters, digits, '_', '.', '-', starting with a
// letter or digit) and unique are kept; in others every other character
// becomes '_' (so "block1/conv:0" becomes "block1_conv_0", and PyTorch's
// "/layer1/layer1.0/conv1/Conv" "layer1_layer1.0_conv1_Conv": leading
// characters that are not letters or digits are dropped), a name left
// empty becomes "layer", and a name taken already gets a suffix "_1", "_2", …
func H5LayerNames(m *ir.Model) map[string]string {
	names, _ := assignNames(m.Nodes)
	return names
}

var reBadName = regexp.MustCompile(`[^A-Za-z0-9_.\-]`)

// cleanName makes s a valid Keras 2 layer name (a TensorFlow name scope
// that is also a plain HDF5 link name).
func cleanName(s string) string {
	s = reBadName.ReplaceAllString(s, "_")
	s = strings.TrimLeftFunc(s, func(c rune) bool { return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9') })
	if s == "" {
		return "layer"
	}
	return s
}

// reservedNames are group names of /model_weights that are not layers.
var reservedNames = []string{"top_level_model_weights"}

// assignNames gives each node a unique valid Keras name and returns the
// names taken.
func assignNames(nodes []*ir.Node) (map[string]string, map[string]bool) {
	names := make(map[string]string, len(nodes))
	taken := make(map[string]bool, len(nodes)+1)
	for _, r := range reservedNames {
		taken[r] = true
	}
	for _, n := range nodes {
		if cleanName(n.Name) == n.Name && !taken[n.Name] {
			names[n.Name] = n.Name
			taken[n.Name] = true
		}
	}
	for _, n := range nodes {
		if _, ok := names[n.Name]; ok {
			continue
		}
		name := uniqueName(cleanName(n.Name), taken)
		names[n.Name] = name
		taken[name] = true
	}
	return names, taken
}

func uniqueName(base string, taken map[string]bool) string {
	name := base
	for i := 1; taken[name]; i++ {
		name = base + "_" + strconv.Itoa(i)
	}
	return name
}

// kweight is one weight dataset of a layer.
type kweight struct {
	name  string // "conv2d/kernel:0"
	shape []int
	data  []float32
}

// klayer is one Keras layer of the written model.
type klayer struct {
	class   string
	name    string
	cfg     jobj
	inputs  []string // Keras names of the layers whose output it takes
	weights []kweight
	shape   ir.Shape // output shape (Keras 3 files; see k3Shapes)
}

// h5build translates a model to Keras layers.
type h5build struct {
	m            *ir.Model
	version      string
	major, minor int
	tf           bool // a tf.keras version string ("2.2.4-tf")
	idx          map[string]*ir.Node
	names        map[string]string // node → Keras layer name
	taken        map[string]bool
	out          map[string]string // node → Keras layer giving its output
	layers       []*klayer
	modelConfig  string
	// k3 selects Keras 3's forms (H5Options.keras3).
	k3 bool
	// nonneg memoizes nonNegative.
	nonneg map[string]bool
}

func parseKerasVersion(v string) (major, minor int, err error) {
	parts := strings.SplitN(v, ".", 3)
	major, err = strconv.Atoi(parts[0])
	if err != nil {
		return 0, 0, fmt.Errorf("keras version %q is not a version number", v)
	}
	if len(parts) > 1 {
		m := parts[1]
		if i := strings.IndexFunc(m, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
			m = m[:i]
		}
		if minor, err = strconv.Atoi(m); err != nil {
			return 0, 0, fmt.Errorf("keras version %q is not a version number", v)
		}
	}
	if major != 2 {
		return 0, 0, fmt.Errorf("keras version %q: WriteH5Model writes Keras 2 files", v)
	}
	return major, minor, nil
}

// atLeast reports whether the target version is 2.minor or later.
func (b *h5build) atLeast(minor int) bool { return b.minor >= minor }

func buildH5(m *ir.Model, opts H5Options) (*h5build, error) {
	if m == nil {
		return nil, errors.New("no model")
	}
	if err := ir.CheckInvariants(m, ir.StageTyped); err != nil {
		return nil, fmt.Errorf("model is not prepared (run ir.Prepare): %w", err)
	}
	b := &h5build{m: m, version: opts.KerasVersion, idx: m.Index(), out: map[string]string{},
		nonneg: map[string]bool{}}
	if b.version == "" {
		b.version = DefaultH5KerasVersion
	}
	var err error
	if opts.keras3 {
		// Keras 3 has every feature the Keras 2 minor versions gate.
		b.k3, b.version, b.major, b.minor = true, Keras3Version, 2, 1<<30
	} else if b.major, b.minor, err = parseKerasVersion(b.version); err != nil {
		return nil, err
	}
	b.tf = strings.Contains(b.version, "-tf")
	b.names, b.taken = assignNames(m.Nodes)

	// Keep what the outputs depend on (Keras's model.layers), plus the
	// model inputs.
	live := map[string]bool{}
	var visit func(name string)
	visit = func(name string) {
		if live[name] {
			return
		}
		live[name] = true
		for _, in := range b.idx[name].Inputs {
			visit(in)
		}
	}
	for _, o := range m.Outputs {
		visit(o)
	}
	isInput := map[string]bool{}
	for _, in := range m.Inputs {
		isInput[in] = true
		if err := b.node(b.idx[in]); err != nil {
			return nil, err
		}
	}
	for _, n := range m.Nodes {
		if !live[n.Name] || isInput[n.Name] {
			continue
		}
		if _, ok := n.Op.(*ir.Input); ok {
			return nil, &ir.LayerError{Layer: n.Name, Err: errors.New("input layer is not one of the model's inputs")}
		}
		if err := b.node(n); err != nil {
			return nil, err
		}
	}
	for _, o := range m.Outputs {
		if b.out[o] == "" {
			return nil, &ir.LayerError{Layer: o, Err: errors.New("a Constant is a model output: a Keras model computes its outputs from its inputs")}
		}
	}
	b.kerasOrder()
	if err := b.checkInputLayouts(); err != nil {
		return nil, err
	}
	if err := b.buildConfig(); err != nil {
		return nil, err
	}
	return b, nil
}

// kerasOrder sorts the layers as Keras 2 orders a functional model's
// layers (functional._map_graph_network): by decreasing depth from the
// outputs, ties in the order a depth-first walk from the outputs first
// meets them. Keras writes the config and layer_names in this order and
// loads legacy weights by it, so a file in any other order could load
// weights into the wrong layers.
func (b *h5build) kerasOrder() {
	byName := make(map[string]*klayer, len(b.layers))
	for _, l := range b.layers {
		byName[l.name] = l
	}
	finished := map[string]bool{}
	index := map[string]int{}
	var order []string // nodes from the inputs to the outputs
	var walk func(name string)
	walk = func(name string) {
		if finished[name] {
			return
		}
		if _, ok := index[name]; !ok {
			index[name] = len(index)
		}
		for _, in := range byName[name].inputs {
			walk(in)
		}
		finished[name] = true
		order = append(order, name)
	}
	for _, o := range b.m.Outputs {
		walk(b.out[o])
	}
	depth := map[string]int{}
	for i := len(order) - 1; i >= 0; i-- {
		name := order[i]
		d := depth[name]
		for _, in := range byName[name].inputs {
			depth[in] = max(depth[in], d+1)
		}
	}
	for _, in := range b.m.Inputs {
		if _, ok := index[b.out[in]]; !ok {
			depth[b.out[in]], index[b.out[in]] = 0, -1
		}
	}
	sort.SliceStable(b.layers, func(i, j int) bool {
		a, c := b.layers[i].name, b.layers[j].name
		if depth[a] != depth[c] {
			return depth[a] > depth[c]
		}
		return index[a] < index[c]
	})
}

// checkInputLayouts verifies that the image layout of each rank-4 input is
// the one a reader infers: Keras 2 InputLayers state none, so readers take
// the first data_format of the config (channels_last if none). It matters
// only to Lambda functions, which read their input's layout (every other
// layer states its own data_format or works on the axes as they are), so
// models without a Lambda pass.
func (b *h5build) checkInputLayouts() error {
	hasLambda := false
	for _, l := range b.layers {
		hasLambda = hasLambda || l.class == "Lambda"
	}
	if !hasLambda {
		return nil
	}
	prevailing := ir.ChannelsLast
	found := false
	for _, l := range b.layers {
		for _, kv := range l.cfg {
			if kv.k == "data_format" {
				prevailing, _ = ir.ParseLayout(kv.v.(string))
				found = true
				break
			}
		}
		if found {
			break
		}
	}
	for _, name := range b.m.Inputs {
		t := b.idx[name].Out
		if len(t.Shape) == 4 && t.Layout != ir.LayoutNone && t.Layout != prevailing {
			return &ir.LayerError{Layer: name, Err: fmt.Errorf("input layout %s cannot be stated in a Keras 2 config: readers take the first data_format of the model (%s)", t.Layout, prevailing)}
		}
	}
	return nil
}

func (b *h5build) buildConfig() error {
	ref := func(name string) []any { return []any{name, 0, 0} }
	layers := make([]any, len(b.layers))
	for i, l := range b.layers {
		inbound := []any{}
		if len(l.inputs) > 0 {
			call := make([]any, len(l.inputs))
			for j, in := range l.inputs {
				call[j] = []any{in, 0, 0, obj()}
			}
			inbound = []any{call}
		}
		layers[i] = obj("class_name", l.class, "config", l.cfg, "name", l.name, "inbound_nodes", inbound)
	}
	var ins, outs []any
	for _, n := range b.m.Inputs {
		ins = append(ins, ref(b.out[n]))
	}
	for _, n := range b.m.Outputs {
		outs = append(outs, ref(b.out[n]))
	}
	name := b.m.Name
	if name == "" {
		name = "model"
	}
	class := "Model"
	if b.atLeast(4) {
		class = "Functional"
	}
	cfg := obj("name", cleanName(name), "layers", layers, "input_layers", ins, "output_layers", outs)
	s, err := pyJSON(obj("class_name", class, "config", cfg))
	if err != nil {
		return err
	}
	b.modelConfig = s
	return nil
}

// hdf5HeaderLimit is the attribute size above which Keras splits a string
// list into numbered attributes (HDF5_OBJECT_HEADER_LIMIT).
const hdf5HeaderLimit = 64512

// setStrings writes a list of names as Keras's
// save_attributes_to_hdf5_group does: one fixed-length string attribute,
// or name0, name1, … when it would exceed the object header limit.
func setStrings(g *h5.WGroup, name string, vals []string) error {
	size := 1
	for _, v := range vals {
		size = max(size, len(v))
	}
	if size > hdf5HeaderLimit {
		return fmt.Errorf("attribute %s: a name is longer than %d bytes", name, hdf5HeaderLimit)
	}
	if len(vals)*size <= hdf5HeaderLimit {
		return g.SetAttrStringsFixed(name, vals)
	}
	n := 1
	for (len(vals)+n-1)/n*size > hdf5HeaderLimit {
		n++
	}
	// numpy.array_split: the first len%n chunks get one more element.
	start := 0
	for i := 0; i < n; i++ {
		k := len(vals) / n
		if i < len(vals)%n {
			k++
		}
		if err := g.SetAttrStringsFixed(fmt.Sprintf("%s%d", name, i), vals[start:start+k]); err != nil {
			return err
		}
		start += k
	}
	return nil
}

// write writes the file at tmp.
func (b *h5build) write(tmp string) (err error) {
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
	for _, kv := range [][2]string{{"keras_version", b.version}, {"backend", "tensorflow"}, {"model_config", b.modelConfig}} {
		if err := root.SetAttrString(kv[0], kv[1]); err != nil {
			return err
		}
	}
	g, err := root.CreateGroup("model_weights")
	if err != nil {
		return err
	}
	names := make([]string, len(b.layers))
	for i, l := range b.layers {
		names[i] = l.name
	}
	if err := setStrings(g, "layer_names", names); err != nil {
		return err
	}
	if err := g.SetAttrString("backend", "tensorflow"); err != nil {
		return err
	}
	if err := g.SetAttrString("keras_version", b.version); err != nil {
		return err
	}
	// Keras creates the layer groups in name order.
	sorted := append([]*klayer(nil), b.layers...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].name < sorted[j].name })
	for _, l := range sorted {
		lg, err := g.CreateGroup(l.name)
		if err != nil {
			return err
		}
		wn := make([]string, len(l.weights))
		for i, w := range l.weights {
			wn[i] = w.name
			if b.k3 {
				// Keras 3: "conv2d/kernel".
				wn[i] = strings.TrimSuffix(w.name, ":0")
			}
			if err := lg.WriteFloat32(wn[i], w.shape, w.data); err != nil {
				return fmt.Errorf("layer '%s': %w", l.name, err)
			}
		}
		if err := setStrings(lg, "weight_names", wn); err != nil {
			return err
		}
	}
	if b.atLeast(7) {
		// tf.keras 2.7+ also saves the model's own (top-level) weights.
		tg, err := g.CreateGroup("top_level_model_weights")
		if err != nil {
			return err
		}
		if err := tg.SetAttrStringsFixed("weight_names", nil); err != nil {
			return err
		}
	}
	return nil
}
