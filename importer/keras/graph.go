package keras

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/kconv/kconv/ir"
)

// graph is an architecture translated to IR nodes, with what the weight
// loaders need to find each node's weights.
type graph struct {
	m     *ir.Model
	major int // Keras major version whose config conventions apply
	// top lists the model's layers as its weight files list them: one
	// entry per top-level layer; a nested model is one entry holding all
	// the nodes it was flattened into.
	top []*layerRec
	// deconvs are Keras 1 Deconvolution2D nodes with a stated output size.
	deconvs []deconvFix
}

// layerRec is one entry of a legacy HDF5 file's layer_names.
type layerRec struct {
	name  string
	nodes []*nodeRec
}

// nodeRec is an IR node built from one Keras layer.
type nodeRec struct {
	node   *ir.Node
	kname  string // the Keras layer name (node names may be prefixed)
	k3path string // group of its Keras 3 weights: "layers/conv2d", "layers/sequential/layers/dense"
	k1     bool   // Keras 1 layer: Keras 1 kernel layouts apply
	copies []*ir.Node
}

type deconvFix struct {
	node *ir.Node
	h, w int
}

// builder turns a Keras config into a graph.
type builder struct {
	g       *graph
	layout  ir.Layout // image layout of layers that do not state one
	lambdas map[string]string
	used    map[string]bool
	names   map[string]bool
	// pendingDeconv is the output size the Keras 1 Deconvolution2D being
	// converted states.
	pendingDeconv *deconvFix
	// uids numbers implicit inputs as Keras's name counters do.
	uids map[string]int
}

// buildGraph translates the model config top (with its "class_name" and
// "config") written by Keras major version major.
func buildGraph(top obj, major int, lambdas map[string]string) (*graph, error) {
	b := &builder{
		g:       &graph{m: &ir.Model{}, major: major},
		lambdas: lambdas,
		used:    map[string]bool{},
		names:   map[string]bool{},
		uids:    map[string]int{},
	}
	b.layout = prevailingLayout(top, major)
	class := top.str("class_name")
	cfg := top["config"]
	m := b.g.m
	switch class {
	case "Sequential":
		layers, name := seqLayers(cfg)
		if layers == nil {
			return nil, errors.New("Sequential model config has no layers")
		}
		m.Name = name
		if m.Name == "" {
			m.Name = map[bool]string{true: "sequential", false: "sequential_1"}[major >= 3]
		}
		m.Meta.Sequential = true
		outs, err := b.sequential(m.Name, layers, asObj(cfg), nil, "", &b.g.top)
		if err != nil {
			return nil, err
		}
		m.Outputs = outs
	case "Model", "Functional":
		c := asObj(cfg)
		if c == nil {
			return nil, fmt.Errorf("%s model config has no layers", class)
		}
		m.Name = c.str("name")
		if m.Name == "" {
			m.Name = "model_1"
		}
		outs, err := b.functional(m.Name, c, nil, "", &b.g.top)
		if err != nil {
			return nil, err
		}
		m.Outputs = outs
	default:
		return nil, fmt.Errorf("architecture class %q is not a Keras model (Sequential, Model or Functional)", class)
	}
	for layer := range b.lambdas {
		if !b.used[layer] {
			return nil, fmt.Errorf("--lambda %s=%s: the model has no Lambda layer '%s'", layer, b.lambdas[layer], layer)
		}
	}
	return b.g, nil
}

// seqLayers returns a Sequential config's layers (a bare list in Keras 1
// and Keras 2 <= 2.2.2, a dict later) and its name.
func seqLayers(cfg any) ([]any, string) {
	if l, ok := cfg.([]any); ok {
		return l, ""
	}
	c := asObj(cfg)
	if c == nil {
		return nil, ""
	}
	return asList(c["layers"]), c.str("name")
}

func isModelClass(class string) bool {
	return class == "Sequential" || class == "Model" || class == "Functional"
}

// layerName returns a layer entry's name.
func layerName(lc obj) string {
	if s := lc.str("name"); s != "" {
		return s
	}
	if c := asObj(lc["config"]); c != nil {
		return c.str("name")
	}
	return ""
}

// addNode appends a node, prefixing its name with the enclosing model's
// when a layer of that name already exists.
func (b *builder) addNode(n *ir.Node, prefix string) error {
	if b.names[n.Name] && prefix != "" {
		n.Name = prefix + "/" + n.Name
	}
	if b.names[n.Name] {
		return &ir.LayerError{Layer: n.Name, Err: errors.New("name is used twice")}
	}
	b.names[n.Name] = true
	b.g.m.Nodes = append(b.g.m.Nodes, n)
	return nil
}

// addInput adds a model input of the given full shape.
func (b *builder) addInput(name string, shape ir.Shape) error {
	if len(shape) < 2 {
		return &ir.LayerError{Layer: name, Err: fmt.Errorf("input shape %v needs a batch axis and at least one more", shape)}
	}
	for _, d := range shape[1:] {
		if d == 0 || d < -1 {
			return &ir.LayerError{Layer: name, Err: fmt.Errorf("input shape %v has a bad dimension", shape)}
		}
	}
	l := ir.LayoutNone
	if len(shape) == 4 {
		l = b.layout
	}
	n := &ir.Node{Name: name, Class: "InputLayer", Op: &ir.Input{Type: ir.TensorType{Shape: shape, Layout: l}}}
	if err := b.addNode(n, ""); err != nil {
		return err
	}
	b.g.m.Inputs = append(b.g.m.Inputs, n.Name)
	return nil
}

// sequential builds the layers of a Sequential model fed by inputs (nil at
// the top level: the model makes its own input). It returns the outputs.
func (b *builder) sequential(name string, layers []any, cfg obj, inputs []string, k3prefix string, recs *[]*layerRec) ([]string, error) {
	counters := map[string]int{}
	prev := inputs
	for i, l := range layers {
		lc := asObj(l)
		if lc == nil {
			return nil, fmt.Errorf("model '%s': layer %d is not a mapping", name, i)
		}
		class := lc.str("class_name")
		lname := layerName(lc)
		if lname == "" {
			return nil, fmt.Errorf("model '%s': layer %d (%s) has no name", name, i, class)
		}
		if class == "InputLayer" {
			if prev == nil {
				shape, err := inputShape(lc)
				if err != nil {
					return nil, &ir.LayerError{Layer: lname, Err: err}
				}
				if err := b.addInput(lname, shape); err != nil {
					return nil, err
				}
				prev = []string{lname}
			}
			continue
		}
		if prev == nil && !(class == "Merge" && asObj(lc["config"]) != nil && asList(asObj(lc["config"])["layers"]) != nil) {
			in, shape, err := b.implicitInput(lc, cfg)
			if err != nil {
				return nil, err
			}
			if err := b.addInput(in, shape); err != nil {
				return nil, err
			}
			prev = []string{in}
		}
		outs, err := b.layer(lc, lname, prev, k3prefix+"layers/"+k3key(counters, class), prefixOf(inputs, name), recs)
		if err != nil {
			return nil, err
		}
		if len(outs) > 1 && !isModelClass(class) {
			return nil, &ir.LayerError{Layer: lname, Err: errors.New("a layer with several outputs (return_state) in a Sequential model: Keras refuses it too")}
		}
		prev = outs
	}
	if prev == nil {
		return nil, fmt.Errorf("model '%s' has no layers", name)
	}
	return prev, nil
}

// prefixOf is the name prefix for the layers of a nested model (none at
// the top level).
func prefixOf(inputs []string, name string) string {
	if inputs == nil {
		return ""
	}
	return name
}

// implicitInput names and shapes the input Keras creates for a Sequential
// model without an InputLayer, from its first layer's batch_input_shape
// (or input_shape, input_dim, or the model's build_input_shape).
func (b *builder) implicitInput(first obj, seq obj) (string, ir.Shape, error) {
	lname := layerName(first)
	class := first.str("class_name")
	shape, err := inputShape(first)
	if err != nil && seq != nil {
		if v, ok := seq.get("build_input_shape"); ok {
			if s, e := toInts(v, "build_input_shape"); e == nil {
				shape, err = ir.Shape(s), nil
			}
		}
	}
	if err != nil {
		return "", nil, &ir.LayerError{Layer: lname, Err: fmt.Errorf("first layer of a Sequential model: %v", err)}
	}
	switch {
	case b.g.major == 1:
		// Keras 1: Layer.create_input_layer names it <class>_input_<uid>.
		prefix := strings.ToLower(class) + "_input_"
		b.uids[prefix]++
		return fmt.Sprintf("%s%d", prefix, b.uids[prefix]), shape, nil
	case b.g.major >= 3:
		n := b.uids["input_layer"]
		b.uids["input_layer"]++
		if n > 0 {
			return fmt.Sprintf("input_layer_%d", n), shape, nil
		}
		return "input_layer", shape, nil
	}
	return lname + "_input", shape, nil
}

// inputShape returns the full input shape (batch first) a layer entry
// declares.
func inputShape(lc obj) (ir.Shape, error) {
	c := asObj(lc["config"])
	if c == nil {
		return nil, errors.New("no config")
	}
	if isModelClass(lc.str("class_name")) {
		layers, _ := seqLayers(lc["config"])
		if len(layers) > 0 {
			if fl := asObj(layers[0]); fl != nil {
				return inputShape(fl)
			}
		}
	}
	if v, ok := c.get(ir.KeyBatchInputShape.Read()...); ok {
		s, err := toInts(v, ir.KeyBatchInputShape.Name)
		return ir.Shape(s), err
	}
	if v, ok := c.get(ir.KeyInputShape.Read()...); ok {
		s, err := toInts(v, ir.KeyInputShape.Name)
		return append(ir.Shape{-1}, s...), err
	}
	if v, ok := c.get(ir.KeyFirstInputDim.Read()...); ok {
		if n, ok := toInt(v); ok {
			return ir.Shape{-1, n}, nil
		}
	}
	return nil, errors.New("no input shape (batch_input_shape, batch_shape or input_shape)")
}

// layer builds one layer entry (a plain layer, a nested model, or a
// Keras 1 Merge of Sequential branches) applied to inputs.
func (b *builder) layer(lc obj, name string, inputs []string, k3path, prefix string, recs *[]*layerRec) ([]string, error) {
	class := lc.str("class_name")
	if isModelClass(class) {
		return b.nested(lc, name, inputs, k3path, recs)
	}
	c := asObj(lc["config"])
	if class == "Merge" && c != nil && asList(c["layers"]) != nil {
		// Keras 1 Sequential whose first layer merges Sequential branches:
		// each branch has its own inputs; Keras 1 lists the branch layers
		// as layers of the outer model.
		var outs []string
		for i, br := range asList(c["layers"]) {
			bc := asObj(br)
			if bc == nil || !isModelClass(bc.str("class_name")) {
				return nil, &ir.LayerError{Layer: name, Err: fmt.Errorf("branch %d of the Merge is not a model", i)}
			}
			o, err := b.model(bc, nil, "", recs)
			if err != nil {
				return nil, err
			}
			outs = append(outs, o...)
		}
		inputs = outs
	}
	nr, err := b.simple(lc, name, inputs, k3path)
	if err != nil {
		return nil, err
	}
	if err := b.addNode(nr.node, prefix); err != nil {
		return nil, err
	}
	*recs = append(*recs, &layerRec{name: name, nodes: []*nodeRec{nr}})
	return b.outputs(nr.node)
}

// model builds a (nested or branch) model entry; inputs nil makes it
// create its own inputs.
func (b *builder) model(lc obj, inputs []string, k3prefix string, recs *[]*layerRec) ([]string, error) {
	class := lc.str("class_name")
	name := layerName(lc)
	if class == "Sequential" {
		layers, n := seqLayers(lc["config"])
		if name == "" {
			name = n
		}
		return b.sequential(name, layers, asObj(lc["config"]), inputs, k3prefix, recs)
	}
	c := asObj(lc["config"])
	if c == nil {
		return nil, fmt.Errorf("model '%s' has no config", name)
	}
	if name == "" {
		name = c.str("name")
	}
	return b.functional(name, c, inputs, k3prefix, recs)
}

// nested flattens a model used as a layer into the graph: its layers
// become nodes of the outer model (names kept; prefixed with the nested
// model's name only on a clash), and the whole model is one entry of the
// outer model's weight list.
func (b *builder) nested(lc obj, name string, inputs []string, k3path string, recs *[]*layerRec) ([]string, error) {
	var sub []*layerRec
	outs, err := b.model(lc, inputs, k3path+"/", &sub)
	if err != nil {
		return nil, err
	}
	rec := &layerRec{name: name}
	for _, s := range sub {
		rec.nodes = append(rec.nodes, s.nodes...)
	}
	*recs = append(*recs, rec)
	return outs, nil
}

// tensorRef is a reference to a layer output: [layer, node_index,
// tensor_index] in Keras configs.
type tensorRef struct {
	layer        string
	node, tensor int
}

func (r tensorRef) String() string { return fmt.Sprintf("%s[%d][%d]", r.layer, r.node, r.tensor) }

// parseRef reads [name, node, tensor, ...] (Keras 1/2) or a Keras 3
// __keras_tensor__ (whose keras_history is that list).
func parseRef(v any) (tensorRef, bool) {
	if o := asObj(v); o != nil {
		if o.str("class_name") != "__keras_tensor__" {
			return tensorRef{}, false
		}
		c := asObj(o["config"])
		if c == nil {
			return tensorRef{}, false
		}
		return parseRef(c["keras_history"])
	}
	l := asList(v)
	if len(l) < 1 {
		return tensorRef{}, false
	}
	name, ok := l[0].(string)
	if !ok {
		return tensorRef{}, false
	}
	r := tensorRef{layer: name}
	if len(l) > 1 {
		r.node, _ = toInt(l[1])
	}
	if len(l) > 2 {
		r.tensor, _ = toInt(l[2])
	}
	return r, true
}

// parseRefs reads input_layers/output_layers: a list of refs, or (Keras 3,
// single tensor) one ref.
func parseRefs(v any) ([]tensorRef, error) {
	if r, ok := parseRef(v); ok {
		return []tensorRef{r}, nil
	}
	var out []tensorRef
	for _, e := range asList(v) {
		r, ok := parseRef(e)
		if !ok {
			return nil, fmt.Errorf("bad layer reference %s", show(e))
		}
		out = append(out, r)
	}
	return out, nil
}

// callInputs returns the tensors one inbound node (one call of a layer)
// takes: Keras 1/2 [[name, node, tensor, kwargs], ...]; Keras 3
// {"args": [...], "kwargs": {...}} with __keras_tensor__ values.
func callInputs(call any) ([]tensorRef, error) {
	if o := asObj(call); o != nil {
		var out []tensorRef
		var walk func(v any)
		walk = func(v any) {
			if r, ok := parseRef(v); ok && asObj(v) != nil {
				out = append(out, r)
				return
			}
			for _, e := range asList(v) {
				walk(e)
			}
		}
		walk(o["args"])
		return append(out, kwargTensors(o["kwargs"])...), nil
	}
	var out []tensorRef
	for _, e := range asList(call) {
		r, ok := parseRef(e)
		if !ok {
			return nil, fmt.Errorf("bad inbound node %s", show(e))
		}
		out = append(out, r)
		if l := asList(e); len(l) > 3 {
			out = append(out, kwargTensors(l[3])...)
		}
	}
	return out, nil
}

// functional builds a Model/Functional config fed by inputs (nil at the top
// level) and returns its outputs.
func (b *builder) functional(name string, c obj, inputs []string, k3prefix string, recs *[]*layerRec) ([]string, error) {
	layers := asList(c["layers"])
	if len(layers) == 0 {
		return nil, fmt.Errorf("model '%s' has no layers", name)
	}
	inRefs, err := parseRefs(c["input_layers"])
	if err != nil {
		return nil, fmt.Errorf("model '%s': input_layers: %v", name, err)
	}
	outRefs, err := parseRefs(c["output_layers"])
	if err != nil {
		return nil, fmt.Errorf("model '%s': output_layers: %v", name, err)
	}
	if len(outRefs) == 0 {
		return nil, fmt.Errorf("model '%s' has no output_layers", name)
	}
	tensors := map[tensorRef]string{}
	if inputs != nil {
		if len(inputs) != len(inRefs) {
			return nil, fmt.Errorf("model '%s' takes %d inputs, it is given %d", name, len(inRefs), len(inputs))
		}
		for i, r := range inRefs {
			tensors[r] = inputs[i]
		}
	}
	prefix := prefixOf(inputs, name)

	type pending struct {
		lc     obj
		name   string
		class  string
		k3path string
		calls  [][]tensorRef
		done   []bool
		rec    *nodeRec
	}
	counters := map[string]int{}
	var todo []*pending
	for i, l := range layers {
		lc := asObj(l)
		if lc == nil {
			return nil, fmt.Errorf("model '%s': layer %d is not a mapping", name, i)
		}
		p := &pending{lc: lc, name: layerName(lc), class: lc.str("class_name")}
		if p.name == "" {
			return nil, fmt.Errorf("model '%s': layer %d (%s) has no name", name, i, p.class)
		}
		p.k3path = k3prefix + "layers/" + k3key(counters, p.class)
		if p.class == "InputLayer" {
			if inputs == nil {
				shape, err := inputShape(lc)
				if err != nil {
					return nil, &ir.LayerError{Layer: p.name, Err: err}
				}
				if err := b.addInput(p.name, shape); err != nil {
					return nil, err
				}
				tensors[tensorRef{layer: p.name}] = p.name
			}
			continue
		}
		for _, call := range asList(lc["inbound_nodes"]) {
			refs, err := callInputs(call)
			if err != nil {
				return nil, &ir.LayerError{Layer: p.name, Err: err}
			}
			p.calls = append(p.calls, refs)
		}
		p.done = make([]bool, len(p.calls))
		todo = append(todo, p)
	}

	// Build calls as their inputs become available (configs list layers
	// in a topological order, but do not promise it).
	for left := true; left; {
		left = false
		progress := false
		var missing error
		for _, p := range todo {
			for k, refs := range p.calls {
				if p.done[k] {
					continue
				}
				ins := make([]string, len(refs))
				ready := true
				for i, r := range refs {
					t, ok := tensors[r]
					if !ok {
						ready = false
						if missing == nil {
							missing = &ir.LayerError{Layer: p.name, Err: fmt.Errorf("input %s is not an output of a layer of model '%s'", r, name)}
						}
						break
					}
					ins[i] = t
				}
				if !ready {
					left = true
					continue
				}
				if len(ins) == 0 {
					return nil, &ir.LayerError{Layer: p.name, Err: errors.New("call without inputs")}
				}
				outs, err := b.call(p.lc, p.name, p.class, k, ins, p.k3path, prefix, recs, &p.rec)
				if err != nil {
					return nil, err
				}
				for t, o := range outs {
					tensors[tensorRef{layer: p.name, node: k, tensor: t}] = o
				}
				p.done[k] = true
				progress = true
			}
		}
		if left && !progress {
			return nil, missing
		}
	}

	if inputs == nil {
		// Model inputs in input_layers order.
		var ins []string
		for _, r := range inRefs {
			t, ok := tensors[r]
			if !ok {
				return nil, fmt.Errorf("model '%s': input %s is not an InputLayer", name, r)
			}
			ins = append(ins, t)
		}
		if len(ins) > 0 {
			b.g.m.Inputs = ins
		}
	}
	var outs []string
	for _, r := range outRefs {
		t, ok := tensors[r]
		if !ok {
			return nil, fmt.Errorf("model '%s': output %s is not a layer output", name, r)
		}
		outs = append(outs, t)
	}
	return outs, nil
}

// call builds call k of a layer of a functional model. A layer called
// several times (a shared layer) becomes one node per call, named
// "<name>@<k>" after the first, sharing the weights of the first.
func (b *builder) call(lc obj, name, class string, k int, ins []string, k3path, prefix string, recs *[]*layerRec, first **nodeRec) ([]string, error) {
	if *first == nil {
		n := len(*recs)
		outs, err := b.layer(lc, name, ins, k3path, prefix, recs)
		if err != nil {
			return nil, err
		}
		if !isModelClass(class) && len(*recs) > n {
			*first = (*recs)[len(*recs)-1].nodes[0]
		}
		return outs, nil
	}
	if isModelClass(class) || (*first).node == nil {
		return nil, &ir.LayerError{Layer: name, Err: errors.New("a nested model called more than once is not supported")}
	}
	nr, err := b.simple(lc, name, ins, k3path)
	if err != nil {
		return nil, err
	}
	nr.node.Name = fmt.Sprintf("%s@%d", (*first).node.Name, k)
	if err := b.addNode(nr.node, ""); err != nil {
		return nil, err
	}
	(*first).copies = append((*first).copies, nr.node)
	b.g.m.Warnings = append(b.g.m.Warnings, fmt.Sprintf("layer '%s' is shared: call %d is node '%s', sharing its weights; parameter totals count them again", name, k, nr.node.Name))
	return b.outputs(nr.node)
}

// simple builds the node of a plain layer (not yet added to the model).
func (b *builder) simple(lc obj, name string, inputs []string, k3path string) (*nodeRec, error) {
	class := lc.str("class_name")
	c := asObj(lc["config"])
	if c == nil {
		c = obj{}
	}
	op, k1, err := b.convert(class, name, c)
	if err != nil {
		return nil, &ir.LayerError{Layer: name, Err: err}
	}
	n := &ir.Node{Name: name, Class: class, Op: op, Inputs: inputs}
	if b.pendingDeconv != nil {
		b.pendingDeconv.node = n
		b.g.deconvs = append(b.g.deconvs, *b.pendingDeconv)
		b.pendingDeconv = nil
	}
	return &nodeRec{node: n, kname: name, k3path: k3path, k1: k1}, nil
}

var (
	reNonWord = regexp.MustCompile(`\W+`)
	reCap1    = regexp.MustCompile(`(.)([A-Z][a-z]+)`)
	reCap2    = regexp.MustCompile(`([a-z])([A-Z])`)
)

// snakeCase is Keras 3's naming.to_snake_case.
func snakeCase(s string) string {
	s = reNonWord.ReplaceAllString(s, "")
	s = reCap1.ReplaceAllString(s, "${1}_${2}")
	return strings.ToLower(reCap2.ReplaceAllString(s, "${1}_${2}"))
}

// k3key returns the Keras 3 weights-file key of the next layer of class in
// a container: the snake_case class name, then _1, _2, … for later ones.
func k3key(counters map[string]int, class string) string {
	s := snakeCase(class)
	n, seen := counters[s]
	if !seen {
		counters[s] = 0
		return s
	}
	counters[s] = n + 1
	return fmt.Sprintf("%s_%d", s, n+1)
}

// prevailingLayout is the image layout of layers that state none: the first
// data_format/dim_ordering found in the config, else Keras 1's default "th"
// or Keras 2/3's "channels_last".
func prevailingLayout(top obj, major int) ir.Layout {
	var found ir.Layout
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if found != ir.LayoutNone || depth > 64 {
			return
		}
		if o := asObj(v); o != nil {
			for _, k := range []string{"data_format", "dim_ordering"} {
				if s, ok := o[k].(string); ok {
					if l, err := ir.ParseLayout(s); err == nil {
						found = l
						return
					}
				}
			}
			// Visit layers in order.
			for _, k := range []string{"config", "layers"} {
				walk(o[k], depth+1)
			}
			return
		}
		for _, e := range asList(v) {
			walk(e, depth+1)
		}
	}
	walk(top, 0)
	if found != ir.LayoutNone {
		return found
	}
	if major == 1 {
		return ir.ChannelsFirst
	}
	return ir.ChannelsLast
}

// guessMajor tells the Keras major version that wrote a config without a
// keras_version, from its keys.
func guessMajor(top obj) int {
	k1, k3 := false, false
	var walk func(v any, depth int)
	walk = func(v any, depth int) {
		if depth > 64 || k3 {
			return
		}
		if o := asObj(v); o != nil {
			for k, e := range o {
				switch k {
				// Keras 1 spellings of table keys, and two Keras 1 keys
				// kconv does not read (input_dtype, W_regularizer).
				case ir.KeyUnits.Old[0], ir.KeyFilters.Old[0], ir.KeyPadding.Old[0], ir.KeyDataFormat.Old[0], ir.KeyStrides.Old[0],
					"input_dtype", "W_regularizer":
					k1 = true
				case ir.KeyBatchInputShape.K3:
					k3 = true
				}
				if s, ok := e.(string); ok && (s == "__keras_tensor__" || s == "DTypePolicy") {
					k3 = true
				}
				walk(e, depth+1)
			}
			return
		}
		for _, e := range asList(v) {
			walk(e, depth+1)
		}
	}
	walk(top, 0)
	switch {
	case k3:
		return 3
	case k1:
		return 1
	}
	return 2
}

// majorOf returns the major version of a Keras version string, 0 if none.
func majorOf(v string) int {
	if v == "" || v[0] < '1' || v[0] > '9' {
		return 0
	}
	return int(v[0] - '0')
}
