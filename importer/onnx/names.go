package onnx

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/kconv/kconv/ir"
)

// The importer's names — the ONNX values (what each one is, which node
// computes it, how many nodes consume it) and the ir nodes it has made
// (their types) — live in one table: one map from name to a record, since
// an ir node is mostly named after the ONNX value it computes. On a graph
// of a million nodes each name-keyed map costs about a second and a hundred
// megabytes; a map per concept (values, consumers, producers, ir names, ir
// types) made the translation spend most of its time in them.

// nameRec is what the importer knows of one name.
type nameRec struct {
	v    *val          // the ONNX value of that name, once defined
	t    ir.TensorType // the type of the ir node of that name, once emitted
	prod int32         // the index of the ONNX node computing the value, -1 if none
	uses int32         // the ONNX value's consumers (graph outputs count once)
	ir   bool          // an ir node has this name
}

// names is the importer's name table.
type names struct {
	ids  map[string]int32
	recs []nameRec
	next map[string]int // fresh: the next suffix to try per base name
}

func newNames(n int) names {
	return names{ids: make(map[string]int32, n), recs: make([]nameRec, 0, n), next: map[string]int{}}
}

// lookup returns name's record, nil when the name is unknown. The pointer
// is valid until the next add.
func (t *names) lookup(name string) *nameRec {
	if i, ok := t.ids[name]; ok {
		return &t.recs[i]
	}
	return nil
}

// add returns name's record, making an empty one for a new name. The
// pointer is valid until the next add.
func (t *names) add(name string) *nameRec {
	i, ok := t.ids[name]
	if !ok {
		i = int32(len(t.recs))
		t.ids[name] = i
		t.recs = append(t.recs, nameRec{prod: -1})
	}
	return &t.recs[i]
}

// addNew makes a record for name and returns its index, or returns -1 when
// the name is known. It costs one map operation where add costs two (a lookup,
// then an insert): order registers every node's outputs so.
func (t *names) addNew(name string) int32 {
	i := int32(len(t.recs))
	if t.ids[name] = i; len(t.ids) == len(t.recs) {
		// The name was known: the assignment replaced its index, which is
		// the one no name maps to now (a full scan, on this error path
		// only).
		held := make([]bool, len(t.recs))
		for _, j := range t.ids {
			if j < i {
				held[j] = true
			}
		}
		t.ids[name] = int32(slices.Index(held, false))
		return -1
	}
	t.recs = append(t.recs, nameRec{prod: -1})
	return i
}

// nodeHints are the name records of the nodes' values, found by order in
// one pass over the graph, so that the translation reaches a node's values
// without a lookup by name (on a huge graph the first touch of a name's
// map entry since order is a cache miss).
type nodeHints struct {
	first []int32 // per node: the record of output 0, -1 if none
	ins   []int32 // ins[off[i]:off[i+1]]: the records of node i's inputs (-1: empty)
	off   []int32
}

// nodeHint is one node's nodeHints (the zero value: none known).
type nodeHint struct {
	known bool
	out0  int32
	ins   []int32
}

func (h *nodeHints) node(i int) nodeHint {
	return nodeHint{known: true, out0: h.first[i], ins: h.ins[h.off[i]:h.off[i+1]]}
}

// value returns the ONNX value name, nil when it is not defined (yet).
func (im *importer) value(name string) *val {
	if r := im.names.lookup(name); r != nil {
		return r.v
	}
	return nil
}

// setValue defines the ONNX value name.
func (im *importer) setValue(name string, v *val) { im.names.add(name).v = v }

// useCount returns the number of consumers of the ONNX value name.
func (im *importer) useCount(name string) int {
	if r := im.names.lookup(name); r != nil {
		return int(r.uses)
	}
	return 0
}

// addUses adds d consumers to the ONNX value name.
func (im *importer) addUses(name string, d int) { im.names.add(name).uses += int32(d) }

// irType returns the type of the ir node name.
func (im *importer) irType(name string) ir.TensorType {
	if r := im.names.lookup(name); r != nil {
		return r.t
	}
	return ir.TensorType{}
}

// setIRType records the type of the ir node name.
func (im *importer) setIRType(name string, t ir.TensorType) { im.names.add(name).t = t }

// unique reserves an ir node name.
func (im *importer) unique(name string) error {
	r := im.names.add(name)
	if r.ir {
		return fmt.Errorf("name '%s' is used twice", name)
	}
	r.ir = true
	return nil
}

// fresh returns an unused ir node name based on base.
func (im *importer) fresh(base string) string {
	name, _ := im.freshRec(base, -1)
	return name
}

// freshRec is fresh, also returning the name's record (valid until the
// next add). hint, when not -1, is the index of base's record.
func (im *importer) freshRec(base string, hint int32) (string, *nameRec) {
	if base == "" {
		base = "node"
	}
	r := (*nameRec)(nil)
	if hint >= 0 {
		r = &im.names.recs[hint]
	} else {
		r = im.names.add(base)
	}
	if !r.ir {
		r.ir = true
		return base, r
	}
	// Suffixes resume where the last name from base stopped, so n nodes
	// sharing one name cost n lookups, not n²/2.
	k := max(im.names.next[base], 1)
	for {
		name := base + "_" + strconv.Itoa(k)
		if r := im.names.add(name); !r.ir {
			r.ir = true
			im.names.next[base] = k + 1
			return name, r
		}
		k++
	}
}
