package ir

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"
)

// A Pass is one named IR→IR step of a model's pipeline: a check, an
// inference or a transformation. Run returns how many nodes it changed
// (added, removed, rewritten or retyped); a pass that only checks returns 0.
type Pass struct {
	Name string
	Run  func(*Model) (changed int, err error)
	// After is the stage the model has reached once the pass has run.
	// Stages only grow along a pipeline: a pass after infer-shapes must
	// leave every node typed (see InferNode).
	After Stage

	// indexed, when set, is Run for a Pipeline: it uses the pipeline's
	// graph index instead of building its own and reports whether it left
	// the graph's structure (see graphIndex) as it was.
	indexed func(m *Model, gi *graphIndex) (changed int, keptGraph bool, err error)
}

// graphIndex is what the invariant check learns of a model's structure —
// its node names, their order and inputs, the model's inputs and outputs —
// kept by a Pipeline for the passes after it while none of them changes
// that structure. On a huge graph this map is most of a pass's cost: one
// per pipeline instead of one per pass and per check.
type graphIndex struct {
	pos     map[string]int // node name → position in m.Nodes
	ordered bool           // every node comes after its inputs
	// in[off[i]:off[i+1]] are the positions of node i's inputs (-1: not
	// a node of the model), so that the passes follow edges without a
	// lookup by name.
	in  []int32
	off []int32
}

// inputs returns the positions of the inputs of node i.
func (gi *graphIndex) inputs(i int) []int32 { return gi.in[gi.off[i]:gi.off[i+1]] }

// positions indexes m's nodes by name (the last of equal names wins).
func positions(m *Model) *graphIndex {
	gi := newGraphIndex(m)
	for i, n := range m.Nodes {
		gi.pos[n.Name] = i
	}
	for i, n := range m.Nodes {
		for _, in := range n.Inputs {
			j, ok := gi.pos[in]
			if !ok {
				j = -1
			}
			gi.addInput(i, j)
		}
		gi.endNode(i)
	}
	return gi
}

// newGraphIndex returns an empty index sized for m.
func newGraphIndex(m *Model) *graphIndex {
	edges := 0
	for _, n := range m.Nodes {
		edges += len(n.Inputs)
	}
	gi := &graphIndex{pos: make(map[string]int, len(m.Nodes)), ordered: true, in: make([]int32, 0, edges), off: make([]int32, len(m.Nodes)+1)}
	return gi
}

// addInput records the next input of node i, at position j (-1: none).
// Nodes add their inputs in order, then call endNode.
func (gi *graphIndex) addInput(i, j int) {
	if j < 0 || j >= i {
		gi.ordered = false
	}
	gi.in = append(gi.in, int32(j))
}

// endNode closes the inputs of node i.
func (gi *graphIndex) endNode(i int) { gi.off[i+1] = int32(len(gi.in)) }

// indexedRun is a Pass's Run made of its indexed form: it indexes the
// model itself.
func indexedRun(f func(*Model, *graphIndex) (int, bool, error)) func(*Model) (int, error) {
	return func(m *Model) (int, error) {
		changed, _, err := f(m, positions(m))
		return changed, err
	}
}

// PassStat records one pass that ran on a model.
type PassStat struct {
	Name    string
	Time    time.Duration
	Changed int
}

// Pipeline runs a list of named passes on a model and checks the model's
// invariants after each one, as the Go compiler's ssa package does with its
// pass list and check. What ran is recorded in Model.Passes.
type Pipeline struct {
	Passes []Pass
	// StopAfter, when not empty, names the pass after which the pipeline
	// stops (kconv ir --after). It must name one of Passes.
	StopAfter string
}

// Names returns the names of the pipeline's passes in order.
func (p Pipeline) Names() []string {
	names := make([]string, len(p.Passes))
	for i, q := range p.Passes {
		names[i] = q.Name
	}
	return names
}

// Run checks the graph invariants, then runs each pass followed by the
// invariant check of the furthest stage reached so far (skipped after a
// pass that reports no change and reaches no new stage), appending a
// PassStat per pass to m.Passes. Errors name the pass and, through
// LayerError, the layer.
func (p Pipeline) Run(m *Model) error {
	if p.StopAfter != "" && !slices.Contains(p.Names(), p.StopAfter) {
		return fmt.Errorf("no pass named %q (passes: %s)", p.StopAfter, strings.Join(p.Names(), ", "))
	}
	gi, err := checkInvariants(m, StageGraph, nil)
	if err != nil {
		return err
	}
	stage := StageGraph
	for _, q := range p.Passes {
		start := time.Now()
		var changed int
		kept := false
		if q.indexed != nil {
			if gi == nil {
				gi = positions(m)
			}
			changed, kept, err = q.indexed(m, gi)
		} else {
			changed, err = q.Run(m)
			kept = changed == 0
		}
		if err != nil {
			return err
		}
		if !kept {
			gi = nil
		}
		m.Passes = append(m.Passes, PassStat{Name: q.Name, Time: time.Since(start), Changed: changed})
		// A pass that changed nothing and reached no new stage left a
		// model that was already checked: checking it again would only
		// cost a full-graph map per pass (seconds on a million nodes).
		// One that kept the graph's structure needs only the new stage's
		// checks.
		if changed > 0 || q.After > stage {
			stage = max(stage, q.After)
			if gi, err = checkInvariants(m, stage, gi); err != nil {
				return fmt.Errorf("after pass %s: %w", q.Name, err)
			}
		}
		if q.Name == p.StopAfter {
			return nil
		}
	}
	return nil
}

// Stage is how far a model has come through the pipeline; each stage has
// invariants that CheckInvariants verifies.
type Stage uint8

const (
	// StageGraph: names unique and non-empty, every input defined, every
	// model input an Input node, outputs defined.
	StageGraph Stage = iota
	// StageOrdered: StageGraph, and every node comes after its inputs
	// (so the graph is acyclic).
	StageOrdered
	// StageTyped: StageOrdered, and every node has an output type.
	StageTyped
	// StageWeighted: StageTyped, and every node's weights match its specs.
	StageWeighted
)

// Passes.
var (
	PassOrder   = Pass{Name: "order-nodes", Run: indexedRun(orderNodes), After: StageOrdered, indexed: orderNodes}
	PassInfer   = Pass{Name: "infer-shapes", Run: indexedRun(inferShapes), After: StageTyped, indexed: inferShapes}
	PassWeights = Pass{Name: "check-weights", Run: checkWeights, After: StageWeighted}
)

// PreparePasses is the standard pipeline for a freshly built or imported
// model: order-nodes, infer-shapes, and check-weights when the model has
// weights (an architecture-only model has none).
func PreparePasses(m *Model) []Pass {
	passes := []Pass{PassOrder, PassInfer}
	if HasWeights(m) {
		passes = append(passes, PassWeights)
	}
	return passes
}

// Prepare runs PreparePasses as a Pipeline (recorded in m.Passes).
func Prepare(m *Model) error { return Pipeline{Passes: PreparePasses(m)}.Run(m) }

// HasWeights reports whether any node of m carries weights.
func HasWeights(m *Model) bool {
	for _, n := range m.Nodes {
		if len(n.Weights) > 0 {
			return true
		}
	}
	return false
}

// RunPasses runs passes like a Pipeline but without recording them in
// m.Passes: importers use it for the inference their own translation needs
// before the model's pipeline runs.
func RunPasses(m *Model, passes ...Pass) error {
	saved := len(m.Passes)
	err := Pipeline{Passes: passes}.Run(m)
	m.Passes = m.Passes[:saved]
	return err
}

// CheckInvariants verifies the invariants of stage s.
func CheckInvariants(m *Model, s Stage) error {
	_, err := checkInvariants(m, s, nil)
	return err
}

// checkInvariants verifies the invariants of stage s and returns the graph
// index it made. Given gi, the index of an earlier check of a model whose
// structure no pass has changed since, it checks only what stage s adds to
// the structure's invariants (order, types, weights).
func checkInvariants(m *Model, s Stage, gi *graphIndex) (*graphIndex, error) {
	if gi != nil && (s < StageOrdered || gi.ordered) {
		if err := checkStage(m, s); err != nil {
			return nil, err
		}
		return gi, nil
	}
	if len(m.Nodes) == 0 {
		return nil, errors.New("model has no layers")
	}
	if len(m.Nodes) > math.MaxInt32 {
		return nil, fmt.Errorf("model has %d layers", len(m.Nodes))
	}
	gi = newGraphIndex(m)
	pos := gi.pos
	for i, n := range m.Nodes {
		if n.Name == "" {
			return nil, fmt.Errorf("layer %d has no name", i)
		}
		if n.Op == nil {
			return nil, layerErr(n.Name, "has no op")
		}
		// One map operation per node: a name seen before leaves the
		// map's size as it was.
		if pos[n.Name] = i; len(pos) != i+1 {
			return nil, layerErr(n.Name, "name is used twice")
		}
	}
	for i, n := range m.Nodes {
		_, isInput := n.Op.(*Input)
		if isInput && len(n.Inputs) > 0 {
			return nil, layerErr(n.Name, "input layer has inputs")
		}
		if !isInput && len(n.Inputs) == 0 {
			switch n.Op.(type) {
			case *Unknown, *Constant:
			default:
				return nil, layerErr(n.Name, "has no inputs")
			}
		}
		for _, in := range n.Inputs {
			j, ok := pos[in]
			if !ok {
				return nil, layerErr(n.Name, "input '%s' is not a layer of the model", in)
			}
			if j >= i && s >= StageOrdered {
				return nil, layerErr(n.Name, "comes before its input '%s'", in)
			}
			gi.addInput(i, j)
		}
		gi.endNode(i)
	}
	// A model without inputs (an ONNX graph of constants) is valid: it
	// computes the same outputs on every run.
	for _, name := range m.Inputs {
		i, ok := pos[name]
		if !ok {
			return nil, fmt.Errorf("model input '%s' is not a layer", name)
		}
		if _, ok := m.Nodes[i].Op.(*Input); !ok {
			return nil, layerErr(name, "is a model input but not an Input layer")
		}
	}
	if len(m.Outputs) == 0 {
		return nil, errors.New("model has no outputs")
	}
	for _, name := range m.Outputs {
		if _, ok := pos[name]; !ok {
			return nil, fmt.Errorf("model output '%s' is not a layer", name)
		}
	}
	if err := checkStage(m, s); err != nil {
		return nil, err
	}
	return gi, nil
}

// checkStage verifies what stages past StageOrdered add: output types and
// weights.
func checkStage(m *Model, s Stage) error {
	if s >= StageTyped {
		for _, n := range m.Nodes {
			if len(n.Out.Shape) == 0 {
				return layerErr(n.Name, "has no output type")
			}
		}
	}
	if s >= StageWeighted {
		for _, n := range m.Nodes {
			if err := matchWeights(n); err != nil {
				return err
			}
		}
	}
	return nil
}

// orderNodes sorts the nodes topologically, keeping the given order where it
// is already valid; a cycle is an error naming a layer on it. It counts the
// nodes that moved. It is linear in nodes plus edges: one name→position
// map, an explicit stack instead of recursion (a chain of a million layers
// would otherwise need a goroutine stack of hundreds of megabytes), and no
// copy at all when the order is already valid (as gi, the graph's index,
// tells).
func orderNodes(m *Model, gi *graphIndex) (int, bool, error) {
	if gi.ordered {
		return 0, true, nil
	}
	const (
		unseen = iota
		active
		done
	)
	state := make([]uint8, len(m.Nodes))
	out := make([]*Node, 0, len(m.Nodes))
	// frame is a node being visited and the next of its inputs to visit.
	type frame struct{ i, next int }
	var stack []frame
	for root := range m.Nodes {
		if state[root] != unseen {
			continue
		}
		state[root] = active
		stack = append(stack[:0], frame{i: root})
		for len(stack) > 0 {
			f := &stack[len(stack)-1]
			n, ins := m.Nodes[f.i], gi.inputs(f.i)
			if f.next == len(ins) {
				state[f.i] = done
				out = append(out, n)
				stack = stack[:len(stack)-1]
				continue
			}
			j := int(ins[f.next])
			f.next++
			if j < 0 {
				continue // CheckInvariants names the undefined input
			}
			switch state[j] {
			case active:
				return 0, false, layerErr(m.Nodes[j].Name, "is part of a cycle")
			case unseen:
				state[j] = active
				stack = append(stack, frame{i: j})
			}
		}
	}
	moved := 0
	for i, n := range out {
		if m.Nodes[i] != n {
			moved++
		}
	}
	m.Nodes = out
	return moved, moved == 0, nil
}

// inferShapes sets every node's output type and weight specs. It counts the
// nodes whose output type changed (all of them on a fresh model); the
// graph's structure stays as it is.
func inferShapes(m *Model, gi *graphIndex) (int, bool, error) {
	changed := 0
	var in []TensorType // reused: ops read their input types, never keep them
	for i, n := range m.Nodes {
		before := n.Out
		in = in[:0]
		for k, j := range gi.inputs(i) {
			if j < 0 {
				return 0, true, layerErr(n.Name, "input '%s' is not a layer of the model", n.Inputs[k])
			}
			in = append(in, m.Nodes[j].Out)
		}
		if err := inferWith(n, in); err != nil {
			return 0, true, err
		}
		if !sameType(before, n.Out) {
			changed++
		}
	}
	return changed, true, nil
}

// InferNode sets n's output type and weight specs from its inputs' types,
// which must be set: passes that rewrite a node of a typed model call it.
// It indexes the whole model: a pass that retypes many nodes calls
// InferNodeIndexed with one Index instead.
func (m *Model) InferNode(n *Node) error { return inferNode(m.Index(), n) }

// InferNodeIndexed is InferNode with idx, m.Index() of the node's model,
// made once by the caller (the nodes' names must not have changed since).
func InferNodeIndexed(idx map[string]*Node, n *Node) error { return inferNode(idx, n) }

func inferNode(idx map[string]*Node, n *Node) error {
	in := make([]TensorType, len(n.Inputs))
	for i, name := range n.Inputs {
		x := idx[name]
		if x == nil {
			return layerErr(n.Name, "input '%s' is not a layer of the model", name)
		}
		in[i] = x.Out
	}
	return inferWith(n, in)
}

// InferNodeWith is InferNode given the types of n's inputs, for a pass that
// knows them without a name → node index.
func InferNodeWith(n *Node, in []TensorType) error { return inferWith(n, in) }

// inferWith sets n's output type and weight specs given its input types.
func inferWith(n *Node, in []TensorType) error {
	out, err := n.Op.Infer(in)
	if err != nil {
		return &LayerError{Layer: n.Name, Err: err}
	}
	n.Out = out
	if _, ok := n.Op.(*Unknown); ok {
		n.Specs = n.Specs[:0]
		for _, w := range n.Weights {
			n.Specs = append(n.Specs, WeightSpec{Name: w.Name, Shape: w.Shape, Trainable: true})
		}
	} else {
		n.Specs = n.Op.Weights(in)
	}
	if n.Class == "" {
		n.Class = n.Op.Kind()
	}
	return nil
}

// checkWeights verifies that every node carries exactly the weights its op
// expects, with the expected shapes and float types.
func checkWeights(m *Model) (int, error) {
	for _, n := range m.Nodes {
		if err := matchWeights(n); err != nil {
			return 0, err
		}
	}
	return 0, nil
}

func matchWeights(n *Node) error {
	if _, ok := n.Op.(*Unknown); ok {
		return nil
	}
	if len(n.Weights) != len(n.Specs) {
		names := make([]string, len(n.Specs))
		for i, s := range n.Specs {
			names[i] = s.Name
		}
		return layerErr(n.Name, "expects %d weight(s) %v, the file has %d", len(n.Specs), names, len(n.Weights))
	}
	for i, s := range n.Specs {
		w := n.Weights[i]
		if w == nil {
			return layerErr(n.Name, "weight %s is missing", s.Name)
		}
		if !w.Shape.Equal(s.Shape) {
			return layerErr(n.Name, "weight %s has shape %v, expected %v", s.Name, w.Shape, s.Shape)
		}
		if !w.DType.IsFloat() {
			return layerErr(n.Name, "weight %s has type %v, expected a float type", s.Name, w.DType)
		}
	}
	return nil
}

func sameType(a, b TensorType) bool {
	return a.Layout == b.Layout && a.DType == b.DType && a.Shape.Equal(b.Shape)
}
