package onnx

import (
	"errors"
	"fmt"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"unicode"
	"unicode/utf8"

	"github.com/kconv/kconv/internal/memory"
	"github.com/kconv/kconv/internal/onnxpb"
	"github.com/kconv/kconv/ir"
	"google.golang.org/protobuf/proto"
)

// Versions kconv's op mapping knows. Files outside these ranges are read
// with a warning.
const (
	minOpset = 6
	maxOpset = 25
	maxIR    = 13
)

// Options tune an import.
type Options struct {
	// Constants gives values to graph inputs by name: each such input
	// becomes a constant of the model (folded at import where it feeds
	// shape arithmetic, a weight where an op needs one) instead of a model
	// input. Inputs of an integer ONNX type are rounded to int64. ONNX's
	// node tests, for example, pass Reshape's target shape and Conv's
	// kernel as inputs.
	Constants map[string]*ir.Tensor
	// StopAfter, when not empty, stops the import pipeline (see Passes)
	// after the pass of that name, leaving the model as that pass left it
	// (kconv ir --after). The model may then not be ready to run.
	StopAfter string
	// MemoryBudget bounds, in bytes, the constants the import builds
	// (ConstantOfShape); 0 means the default, half of the machine's memory
	// (see internal/memory).
	MemoryBudget int64
	// Batch, when positive, fixes a symbolic dimension 0 of every float
	// model input to this size; the model then runs at that batch only.
	// Graphs that fold the batch into other axes import only so:
	// torchvision's Swin reshapes (B, H, W, C) into (B·windows, 49, C) and
	// MaxViT permutes the batch away from axis 0.
	Batch int
}

// ErrNotConstant is wrapped by import errors about an op input that must be
// known at import time (a Conv kernel, a Reshape target, …) but is a graph
// input or a computed tensor.
var ErrNotConstant = errors.New("must be a constant")

// Load reads an ONNX model file. Only its structure is read at import:
// weights are read from the file (kept open while they are referenced),
// or from external data in the file's folder, when a weight's data is
// first needed.
func Load(path string) (*ir.Model, error) { return LoadWith(path, Options{}) }

// LoadWith is Load with options.
func LoadWith(path string, opts Options) (*ir.Model, error) {
	f, size, err := openFile(path)
	if err != nil {
		return nil, err
	}
	stripped, refs, err := scanFile(f, size)
	if err != nil {
		f.Close()
		return nil, &fileError{path, err}
	}
	mf := &modelFile{size: size, refs: refs}
	for _, r := range refs {
		if r.inline == nil {
			mf.r = f
			break
		}
	}
	if mf.r == nil {
		f.Close()
	}
	m, err := decode(stripped, mf, filepath.Dir(path), opts)
	if err != nil {
		if mf.r != nil {
			f.Close()
		}
		return nil, &fileError{path, err}
	}
	m.Meta.Source = path
	return m, nil
}

// Decode imports a serialized ModelProto. dir is the folder external data
// is confined to ("" when the model may not use external data). The
// model's weights are copies: data may change after Decode returns.
func Decode(data []byte, dir string) (*ir.Model, error) { return DecodeWith(data, dir, Options{}) }

// DecodeWith is Decode with options.
func DecodeWith(data []byte, dir string, opts Options) (*ir.Model, error) {
	stripped, refs, err := strip(data, true)
	if err != nil {
		return nil, &fileError{"onnx", fmt.Errorf("not an ONNX model: %v", err)}
	}
	m, err := decode(stripped, &modelFile{size: int64(len(data)), refs: refs}, dir, opts)
	if err != nil {
		return nil, &fileError{"onnx", err}
	}
	return m, nil
}

// fileError is an import error: the file, then the cause on one line
// (names from the file may hold any bytes; they are shown escaped).
type fileError struct {
	file string
	err  error
}

func (e *fileError) Error() string { return e.file + ": " + oneLine(e.err.Error()) }
func (e *fileError) Unwrap() error { return e.err }

// oneLine escapes control characters and invalid UTF-8.
func oneLine(s string) string {
	var b strings.Builder
	for i, r := range s {
		switch {
		case r == utf8.RuneError:
			fmt.Fprintf(&b, "\\x%02x", s[i])
		case unicode.IsPrint(r) || r == ' ':
			b.WriteRune(r)
		default:
			q := strconv.QuoteRune(r)
			b.WriteString(q[1 : len(q)-1])
		}
	}
	return b.String()
}

// val is an ONNX value (a tensor name) during import: a computed tensor
// (node != "") and/or a constant (c != nil).
type val struct {
	node string        // ir node computing it
	t    ir.TensorType // that node's type (when node != "")
	c    *tensor
	// zero, when set, marks a zero-filled tensor whose shape depends on
	// symbols (ConstantOfShape of a Shape: PyTorch's default recurrent
	// states): a recurrent node's initial state given so is its default
	// (ONNX's is zero), Slice and Identity pass it on, and any other use
	// fails with this error.
	zero error
	// bax is the ONNX axis holding the batch when it is not 0 (the
	// time-major layout of recurrent nodes); the ir node's shape is the
	// ONNX shape with that axis moved to the front (timemajor.go).
	bax int
}

type importer struct {
	dir    string
	mf     *modelFile // where stripped raw_data lies
	opset  int64
	opts   Options
	m      *ir.Model
	names  names               // ONNX values and ir node names (see names.go)
	nodes  map[string]*ir.Node // the Transpose ir nodes by name (transpose folds pairs); only those: a map of every node costs tens of MB on huge graphs
	consts map[*tensor]string  // materialized Constant nodes
	// inTypes is emit's scratch slice of input types.
	inTypes []ir.TensorType
	// lastName is the ir node act last returned, of type lastType.
	lastName string
	lastType ir.TensorType
	anchor   string
	inits    map[string]*tensor
	budget   int64 // opts.MemoryBudget resolved
}

// decode imports a ModelProto stripped of its raw_data (see strip).
func decode(data []byte, mf *modelFile, dir string, opts Options) (*ir.Model, error) {
	// The nodes are decoded apart from the rest (see nodes.go).
	rest, raw, err := splitNodes(data)
	if err != nil {
		return nil, fmt.Errorf("not an ONNX model: %v", err)
	}
	var mp onnxpb.ModelProto
	if err := proto.Unmarshal(rest, &mp); err != nil {
		return nil, fmt.Errorf("not an ONNX model: %v", err)
	}
	g := mp.GetGraph()
	if g == nil {
		return nil, fmt.Errorf("not an ONNX model: no graph")
	}
	if len(raw) > 0 {
		var d nodeDecoder
		g.Node = make([]*onnxpb.NodeProto, len(raw))
		for i, b := range raw {
			if g.Node[i], err = d.decode(b); err != nil {
				return nil, fmt.Errorf("not an ONNX model: %v", err)
			}
		}
	}
	// The maps are sized for the graph at once: growing a map of a
	// million names rehashes it about twenty times.
	nv := len(g.GetNode()) + len(g.GetInput()) + len(g.GetInitializer())
	im := &importer{
		dir: dir, mf: mf, opts: opts,
		names:  newNames(nv),
		nodes:  map[string]*ir.Node{},
		consts: map[*tensor]string{},
		inits:  make(map[string]*tensor, len(g.GetInitializer())),
		budget: memory.Resolve(opts.MemoryBudget),
	}
	name := g.GetName()
	if name == "" {
		name = "onnx_model"
	}
	im.m = &ir.Model{Name: name, Meta: ir.Meta{Format: "onnx", Backend: strings.TrimSpace(mp.GetProducerName() + " " + mp.GetProducerVersion())}}
	if err := im.versions(&mp); err != nil {
		return nil, err
	}
	if err := im.graph(g); err != nil {
		if opts.Batch == 0 && strings.Contains(err.Error(), "dynamic batch") { // every such error says so
			err = fmt.Errorf("%w (graphs that fold the batch into other axes, like torchvision's Swin and ViT, import at a fixed batch: kconv --fixed-batch N, onnx.Options.Batch)", err)
		}
		return nil, err
	}
	// The translation's maps (several entries per ONNX value) and the
	// decoded protobuf are garbage from here on: dropping the references
	// lets the collector free them before the passes build their indexes.
	m := im.m
	im, g = nil, nil
	mp.Reset()
	if err := (ir.Pipeline{Passes: Passes(m), StopAfter: opts.StopAfter}).Run(m); err != nil {
		return nil, err
	}
	return m, nil
}

func (im *importer) warn(format string, args ...any) {
	im.m.Warnings = append(im.m.Warnings, fmt.Sprintf(format, args...))
}

// versions reads the IR version and the default-domain opset.
func (im *importer) versions(mp *onnxpb.ModelProto) error {
	irv := mp.GetIrVersion()
	if irv > maxIR {
		im.warn("IR version %d is newer than kconv knows (%d)", irv, maxIR)
	}
	found := false
	for _, o := range mp.GetOpsetImport() {
		switch o.GetDomain() {
		case "", "ai.onnx":
			if found && o.GetVersion() != im.opset {
				return fmt.Errorf("opset_import lists the ONNX domain twice (%d and %d)", im.opset, o.GetVersion())
			}
			im.opset, found = o.GetVersion(), true
		}
	}
	if !found {
		if irv >= 3 && len(mp.GetOpsetImport()) > 0 {
			return fmt.Errorf("the model imports no ONNX opset")
		}
		im.opset = 1 // IR < 3 files predate opset_import
	}
	if im.opset < 1 {
		return fmt.Errorf("bad opset version %d", im.opset)
	}
	if im.opset < minOpset || im.opset > maxOpset {
		im.warn("opset %d is outside the range kconv was tested with (%d–%d)", im.opset, minOpset, maxOpset)
	}
	return nil
}

// graph imports the main graph into im.m.
func (im *importer) graph(g *onnxpb.GraphProto) error {
	if len(g.GetSparseInitializer()) > 0 {
		return fmt.Errorf("initializer '%s': sparse initializers are not supported", g.GetSparseInitializer()[0].GetValues().GetName())
	}
	for _, tp := range g.GetInitializer() {
		name := tp.GetName()
		if name == "" {
			return fmt.Errorf("an initializer has no name")
		}
		if im.value(name) != nil {
			return fmt.Errorf("initializer '%s' is defined twice", name)
		}
		t, err := im.initTensor(tp)
		if err != nil {
			return fmt.Errorf("initializer '%s': %w", name, err)
		}
		t.prov = storedProv("initializer "+name, t)
		im.inits[name] = t
		im.setValue(name, &val{c: t})
	}
	for _, vi := range g.GetInput() {
		if err := im.input(vi, g); err != nil {
			return err
		}
	}
	nodes, hints, err := im.order(g)
	if err != nil {
		return err
	}
	ordered := nodes
	for _, o := range g.GetOutput() {
		im.addUses(o.GetName(), 1)
	}
	nodes = im.rewrite(nodes)
	nodes = im.batchFirstRecurrent(nodes)
	// Each node is dropped once translated, so that the collector can
	// free the protobuf nodes as the ir nodes are made: on a huge graph
	// the two together would double the import's peak memory.
	g.Node = nil
	for i, n := range nodes {
		// The record of the node's first output, found by order, saves
		// the translation a lookup by name (the first touch of that
		// name's entry since order: a cache miss on a huge graph).
		var h nodeHint
		if hints != nil && i < len(ordered) && ordered[i] == n {
			h = hints.node(i)
		}
		if err := im.node(n, h); err != nil {
			return fmt.Errorf("node '%s' (op %s): %w", nodeName(n), opName(n), err)
		}
		nodes[i] = nil
	}
	if len(g.GetOutput()) == 0 {
		return fmt.Errorf("the graph has no outputs")
	}
	for _, o := range g.GetOutput() {
		v := im.value(o.GetName())
		if v == nil {
			return fmt.Errorf("graph output '%s' is not computed by any node", o.GetName())
		}
		if v.bax != 0 {
			if v, err = im.timeMajorOutput(o.GetName(), v); err != nil {
				return fmt.Errorf("graph output '%s': %w", o.GetName(), err)
			}
		}
		name, err := im.nodeOf(o.GetName(), v)
		if err != nil {
			return fmt.Errorf("graph output '%s': %w", o.GetName(), err)
		}
		im.m.Outputs = append(im.m.Outputs, name)
	}
	return nil
}

func nodeName(n *onnxpb.NodeProto) string {
	if n.GetName() != "" {
		return n.GetName()
	}
	if len(n.GetOutput()) > 0 {
		return n.GetOutput()[0]
	}
	return "?"
}

func opName(n *onnxpb.NodeProto) string {
	switch n.GetDomain() {
	case "", "ai.onnx":
		return n.GetOpType()
	}
	return n.GetDomain() + "." + n.GetOpType()
}

// initTensor wraps an initializer (or Constant value) as a lazy tensor.
func (im *importer) initTensor(tp *onnxpb.TensorProto) (*tensor, error) {
	td, err := newTData(tp, im.dir, im.mf)
	if err != nil {
		return nil, err
	}
	origin := "initializer " + tp.GetName()
	if td.location != "" {
		origin = td.location
	}
	return &tensor{shape: td.dims, isInt: !isFloatType(td.dtype), src: td, origin: origin}, nil
}

// input declares a graph input: a model input, a weight (initializer also
// listed as input, as IR < 4 files do) or a bound constant.
func (im *importer) input(vi *onnxpb.ValueInfoProto, g *onnxpb.GraphProto) error {
	name := vi.GetName()
	if name == "" {
		return fmt.Errorf("a graph input has no name")
	}
	if _, ok := im.inits[name]; ok {
		return nil
	}
	if im.value(name) != nil {
		return fmt.Errorf("input '%s' is declared twice", name)
	}
	tt := vi.GetType().GetTensorType()
	if tt == nil {
		return fmt.Errorf("input '%s' is not a tensor", name)
	}
	if c, ok := im.opts.Constants[name]; ok {
		t := &tensor{shape: slices.Clone([]int(c.Shape)), origin: "bound input " + name}
		if len(c.Data) != t.n() || slices.ContainsFunc(t.shape, func(d int) bool { return d < 0 }) {
			return fmt.Errorf("input '%s': bound value has %d values for shape %v", name, len(c.Data), c.Shape)
		}
		if isFloatType(tt.GetElemType()) {
			t.f = c.Data
		} else {
			t.isInt = true
			t.i = make([]int64, len(c.Data))
			for k, v := range c.Data {
				t.i[k] = int64(v)
			}
		}
		t.prov = storedProv("input "+name, t)
		im.setValue(name, &val{c: t})
		return nil
	}
	if !isFloatType(tt.GetElemType()) && !indexInput(name, tt.GetElemType(), g, im.inits) {
		return fmt.Errorf("input '%s' has element type %s: kconv's model inputs are float, others %w (bind it with Options.Constants)", name, dtypeName(tt.GetElemType()), ErrNotConstant)
	}
	if tt.GetShape() == nil {
		return fmt.Errorf("input '%s' has no shape", name)
	}
	var shape ir.Shape
	for i, d := range tt.GetShape().GetDim() {
		_, isValue := d.GetValue().(*onnxpb.TensorShapeProto_Dimension_DimValue)
		switch {
		case isValue:
			v := d.GetDimValue()
			if v < 0 || v > maxElements {
				return fmt.Errorf("input '%s': bad dimension %d", name, v)
			}
			if v == 0 && i > 0 {
				return fmt.Errorf("input '%s': dimension %d is 0", name, i)
			}
			shape = append(shape, int(v))
		case i == 0 && im.opts.Batch > 0:
			shape = append(shape, im.opts.Batch)
		case i == 0:
			shape = append(shape, ir.Batch)
		default:
			// An unknown (symbolic or missing) dimension after the batch
			// stays -1: exec compiles the model for each input shape met
			// at run time (variable-length sequences, fully
			// convolutional images), as for Keras's None dimensions.
			shape = append(shape, ir.Batch)
		}
	}
	if len(shape) == 0 {
		return fmt.Errorf("input '%s' is a scalar: kconv's model inputs have a batch axis, scalars %w (bind it with Options.Constants)", name, ErrNotConstant)
	}
	layout := ir.LayoutNone
	if len(shape) == 4 {
		layout = ir.ChannelsFirst
		if channelsLastInput(name, g) {
			layout = ir.ChannelsLast
		}
	}
	t := ir.TensorType{Shape: shape, Layout: layout}
	if err := im.unique(name); err != nil {
		return err
	}
	im.m.Nodes = append(im.m.Nodes, &ir.Node{Name: name, Class: "InputLayer", Op: &ir.Input{Type: t}})
	im.m.Inputs = append(im.m.Inputs, name)
	im.setIRType(name, t)
	im.setValue(name, &val{node: name, t: t})
	if im.anchor == "" {
		im.anchor = name
	}
	return nil
}

// channelsLastInput reports whether every use of a rank-4 input ends in a
// Transpose to NCHW, as in models exported from channels-last frameworks
// (Keras, TensorFlow), possibly through ops that keep the axis order and
// that such exporters put before it: Cast, Identity, element-wise
// arithmetic (preprocessing such as x - mean), Slice (x[..., ::-1]) and Pad
// (ZeroPadding2D). Nodes are in file order, which the exporters keep
// topological.
func channelsLastInput(name string, g *onnxpb.GraphProto) bool {
	names := map[string]bool{name: true}
	seen := false
	for _, n := range g.GetNode() {
		hit := false
		for i, in := range n.GetInput() {
			// Only the data input of Slice and Pad keeps the layout.
			if names[in] && (i == 0 || !(n.GetOpType() == "Slice" || n.GetOpType() == "Pad")) {
				hit = true
			}
		}
		if !hit {
			continue
		}
		if n.GetDomain() != "" && n.GetDomain() != "ai.onnx" {
			return false
		}
		switch n.GetOpType() {
		case "Cast", "Identity", "Add", "Sub", "Mul", "Div", "Slice", "Pad":
			for _, o := range n.GetOutput() {
				names[o] = true
			}
		case "Transpose":
			var perm []int64
			for _, a := range n.GetAttribute() {
				if a.GetName() == "perm" {
					perm = a.GetInts()
				}
			}
			if !slices.Equal(perm, []int64{0, 3, 1, 2}) {
				return false
			}
			seen = true
		default:
			return false
		}
	}
	return seen
}

// order sorts the nodes topologically (keeping the file's order where it is
// valid), checks that every input is defined and no value is defined
// twice, and counts each value's consumers. When the file's order is kept
// it also returns the name records of the nodes' inputs and first outputs.
func (im *importer) order(g *onnxpb.GraphProto) ([]*onnxpb.NodeProto, *nodeHints, error) {
	nodes := g.GetNode()
	if len(nodes) > math.MaxInt32 {
		return nil, nil, fmt.Errorf("the graph has %d nodes", len(nodes))
	}
	first := make([]int32, len(nodes))
	off := make([]int32, len(nodes)+1)
	var ins []int32
	for i, n := range nodes {
		first[i] = -1
		for k, o := range n.GetOutput() {
			if o == "" {
				continue
			}
			// Before order, the table holds only values (initializers,
			// inputs, outputs): a known name is defined twice.
			r := im.names.addNew(o)
			if r < 0 {
				return nil, nil, fmt.Errorf("node '%s' (op %s): output '%s' is already defined", nodeName(n), opName(n), o)
			}
			im.names.recs[r].prod = int32(i)
			if k == 0 {
				first[i] = r
			}
		}
	}
	ordered := true
	for i, n := range nodes {
		for _, in := range n.GetInput() {
			if in == "" {
				ins = append(ins, -1)
				continue
			}
			id, ok := im.names.ids[in]
			ins = append(ins, id)
			var r *nameRec
			if ok {
				r = &im.names.recs[id]
			}
			if r == nil || (r.prod < 0 && r.v == nil) {
				return nil, nil, fmt.Errorf("node '%s' (op %s): input '%s' is not defined", nodeName(n), opName(n), in)
			}
			r.uses++
			if int(r.prod) >= i {
				ordered = false
			}
		}
		off[i+1] = int32(len(ins))
	}
	if ordered {
		return nodes, &nodeHints{first: first, ins: ins, off: off}, nil
	}
	const (
		unseen = iota
		active
		done
	)
	state := make([]uint8, len(nodes))
	out := make([]*onnxpb.NodeProto, 0, len(nodes))
	// An explicit stack, not recursion: a chain of a million nodes would
	// need a goroutine stack of hundreds of megabytes.
	type frame struct{ i, next int }
	var stack []frame
	for root := range nodes {
		if state[root] != unseen {
			continue
		}
		state[root] = active
		stack = append(stack[:0], frame{i: root})
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			ins := nodes[f.i].GetInput()
			if f.next == len(ins) {
				state[f.i] = done
				out = append(out, nodes[f.i])
				stack = stack[:len(stack)-1]
				continue
			}
			r := im.names.lookup(ins[f.next])
			f.next++
			if r == nil || r.prod < 0 {
				continue
			}
			j := int(r.prod)
			switch state[j] {
			case active:
				return nil, nil, fmt.Errorf("node '%s' (op %s) is part of a cycle", nodeName(nodes[j]), opName(nodes[j]))
			case unseen:
				state[j] = active
				stack = append(stack, frame{i: j})
			}
		}
	}
	return out, nil, nil
}

// constantsNeedAnchor reports whether ir's invariant check still requires
// every non-Input node to have an input. Constant nodes then take the first
// model input as an ordering-only input (ir.Constant ignores its inputs).
var constantsNeedAnchor = sync.OnceValue(func() bool {
	m := &ir.Model{
		Nodes: []*ir.Node{
			{Name: "x", Op: &ir.Input{Type: ir.TensorType{Shape: ir.Shape{-1, 1}}}},
			{Name: "c", Op: &ir.Constant{Shape: ir.Shape{1}}},
		},
		Inputs: []string{"x"}, Outputs: []string{"c"},
	}
	return ir.CheckInvariants(m, ir.StageGraph) != nil
})

// constNode returns the Constant node holding t, making it on first use.
func (im *importer) constNode(base string, t *tensor) (string, error) {
	if name, ok := im.consts[t]; ok {
		return name, nil
	}
	if t.n() == 0 {
		return "", fmt.Errorf("constant '%s' is empty (shape %v)", base, t.shape)
	}
	shape := ir.Shape(slices.Clone(t.shape))
	if len(shape) == 0 {
		shape = ir.Shape{1}
	}
	if t.isInt {
		if _, err := t.floats(); err != nil {
			return "", fmt.Errorf("constant '%s': %w", base, err)
		}
	}
	name := im.fresh(base)
	w := ir.NewWeight("value", shape, ir.Float32, t.origin, ir.SourceFunc(func(dst []float32) error {
		return t.readFloatsAt(dst, 0)
	}))
	w.Provenance = provOf(t)
	n := &ir.Node{Name: name, Class: "Constant", Op: &ir.Constant{Shape: shape}, Weights: []*ir.Weight{w}}
	if constantsNeedAnchor() {
		if im.anchor == "" {
			return "", fmt.Errorf("constant '%s': the model has no inputs", base)
		}
		n.Inputs = []string{im.anchor}
	}
	im.m.Nodes = append(im.m.Nodes, n)
	im.setIRType(name, ir.TensorType{Shape: shape})
	im.consts[t] = name
	return name, nil
}

// nodeOf returns the ir node computing value name (a Constant node for a
// constant).
func (im *importer) nodeOf(name string, v *val) (string, error) {
	if v.node != "" {
		return v.node, nil
	}
	if v.zero != nil {
		return "", v.zero
	}
	return im.constNode(name, v.c)
}
