package keras

import (
	"fmt"
	"strings"

	"github.com/kconv/kconv/internal/h5"

	"github.com/kconv/kconv/ir"
)

// k1Gates lists, per cell, the gate suffixes of Keras 1's separate
// weights in Keras 2's fused gate order (LSTM i, f, c, o; GRU z, r, h).
var k1Gates = map[string][]string{
	ir.CellLSTM: {"i", "f", "c", "o"},
	ir.CellGRU:  {"z", "r", "h"},
}

// seqWeights builds the weights of sequence layers whose file layout
// differs from the canonical one: Keras 1 LSTM/GRU store each gate's W, U
// and b separately (W_i, U_i, b_i, W_c, …; found by name, never by
// position, since weight_names order gates i, c, f, o), which are fused
// into kernel, recurrent_kernel and bias in Keras 2 gate order; Keras 1
// Convolution1D stores its kernel 4-D. ok is false when the weights need
// no conversion.
func (a *attacher) seqWeights(nr *nodeRec, fws []fileWeight) (ws []*ir.Weight, ok bool, err error) {
	n := nr.node
	switch op := n.Op.(type) {
	case *ir.Recurrent:
		if len(fws) == len(n.Specs) {
			return a.flatGRUBias(n, fws)
		}
		gates := k1Gates[op.Cell]
		if gates == nil || len(n.Specs) == 0 {
			return nil, false, nil
		}
		dirs := []string{""}
		if op.Bidirectional {
			dirs = []string{"forward_", "backward_"}
		}
		per := len(n.Specs) / len(dirs)
		for di, dir := range dirs {
			for k, kind := range []string{"W", "U", "b"}[:per] {
				spec := n.Specs[di*per+k]
				parts := make([]fileWeight, len(gates))
				for g, gate := range gates {
					fw, found := findK1(fws, dir, kind+"_"+gate)
					if !found {
						return nil, true, &ir.LayerError{Layer: n.Name, Err: fmt.Errorf("Keras 1 weight %s%s_%s is missing (file has %s)", dir, kind, gate, weightNames(fws))}
					}
					parts[g] = fw
				}
				w, err := a.fuseGates(spec, parts)
				if err != nil {
					return nil, true, &ir.LayerError{Layer: n.Name, Err: err}
				}
				ws = append(ws, w)
			}
		}
		return ws, true, nil
	case *ir.Conv1D:
		if len(fws) == 0 || len(fws[0].shape) != 4 || len(n.Specs) == 0 {
			return nil, false, nil
		}
		// Keras 1 Convolution1D is a Convolution2D over (steps, 1):
		// kernel (k, 1, in, filters) with TensorFlow, (filters, in, k, 1)
		// with Theano.
		fw, spec := fws[0], n.Specs[0]
		fs := fw.shape
		var x xform
		switch {
		case fs[1] == 1 && fs[0] == spec.Shape[0]:
			x.perm = []int{0, 2, 3}
		case fs[3] == 1 && fs[2] == spec.Shape[0]:
			x.perm = []int{2, 1, 0}
		default:
			return nil, true, &ir.LayerError{Layer: n.Name, Err: fmt.Errorf("Keras 1 Convolution1D kernel has shape %v, expected (%d, 1, %d, %d)", fs, spec.Shape[0], spec.Shape[1], spec.Shape[2])}
		}
		sq := squeeze1(fs, x.perm)
		flip := a.flip
		st, path := a.st, fw.path
		src := ir.SourceFunc(func(dst []float32) error {
			tmp := make([]float32, len(dst))
			if err := st.read(path, tmp); err != nil {
				return err
			}
			x.apply(tmp, sq, dst)
			if flip {
				flipAxis0(dst, spec.Shape)
			}
			return nil
		})
		ws = append(ws, ir.NewWeight(spec.Name, x.shape(sq), fw.dtype, a.label+":"+fw.path, src))
		for i, fw := range fws {
			if i > 0 && i < len(n.Specs) {
				ws = append(ws, ir.NewWeight(n.Specs[i].Name, ir.Shape(append([]int(nil), fw.shape...)), fw.dtype, a.label+":"+fw.path, a.source(fw, xform{})))
			}
		}
		a.n += len(ws)
		for _, fw := range fws[:len(ws)] {
			a.paths = append(a.paths, fw.path)
		}
		return ws, true, nil
	}
	return nil, false, nil
}

// squeeze1 drops the size-1 axis of a 4-D shape that perm does not use,
// renumbering perm in place to index the 3-D result.
func squeeze1(fs []int, perm []int) []int {
	used := map[int]bool{}
	for _, p := range perm {
		used[p] = true
	}
	drop := -1
	for i := range fs {
		if !used[i] {
			drop = i
		}
	}
	out := make([]int, 0, 3)
	for i, d := range fs {
		if i != drop {
			out = append(out, d)
		}
	}
	for i, p := range perm {
		if p > drop {
			perm[i] = p - 1
		}
	}
	return out
}

// flipAxis0 reverses a kernel along its first (window) axis.
func flipAxis0(k []float32, s ir.Shape) {
	row := int(ir.Shape(s[1:]).Elements())
	for i, j := 0, s[0]-1; i < j; i, j = i+1, j-1 {
		for e := 0; e < row; e++ {
			k[i*row+e], k[j*row+e] = k[j*row+e], k[i*row+e]
		}
	}
}

// findK1 finds the Keras 1 weight <dir...>_<suffix> ("lstm_1_W_i",
// "forward_lstm_1_U_c").
func findK1(fws []fileWeight, dir, suffix string) (fileWeight, bool) {
	for _, fw := range fws {
		s := fw.shortName()
		if strings.HasSuffix(s, "_"+suffix) && (dir == "" || strings.HasPrefix(s, dir)) {
			return fw, true
		}
	}
	return fileWeight{}, false
}

func weightNames(fws []fileWeight) string {
	s := make([]string, len(fws))
	for i, fw := range fws {
		s[i] = fw.shortName()
	}
	return strings.Join(s, ", ")
}

// fuseGates makes one weight of spec's shape whose last axis is the gate
// parts' last axes side by side.
func (a *attacher) fuseGates(spec ir.WeightSpec, parts []fileWeight) (*ir.Weight, error) {
	g := len(parts)
	cols := spec.Shape[len(spec.Shape)-1] / g
	rows := int(spec.Shape.Elements()) / (cols * g)
	var origins []string
	for _, p := range parts {
		if ir.Shape(p.shape).Elements() != int64(rows*cols) || p.shape[len(p.shape)-1] != cols {
			return nil, fmt.Errorf("Keras 1 weight %s has shape %v, expected (%d, %d)", p.shortName(), p.shape, rows, cols)
		}
		origins = append(origins, p.path)
		a.n++
		a.paths = append(a.paths, p.path)
	}
	st := a.st
	src := ir.SourceFunc(func(dst []float32) error {
		tmp := make([]float32, rows*cols)
		for gi, p := range parts {
			if err := st.read(p.path, tmp); err != nil {
				return err
			}
			for r := 0; r < rows; r++ {
				copy(dst[r*g*cols+gi*cols:r*g*cols+(gi+1)*cols], tmp[r*cols:(r+1)*cols])
			}
		}
		return nil
	})
	return ir.NewWeight(spec.Name, spec.Shape.Clone(), parts[0].dtype, a.label+":"+strings.Join(origins, "+"), src), nil
}

// flatGRUBias reads CuDNNGRU's bias, stored flat (6·units: input bias then
// recurrent bias), as the (2, 3·units) bias of a reset-after GRU; other
// recurrent weights need no conversion.
func (a *attacher) flatGRUBias(n *ir.Node, fws []fileWeight) ([]*ir.Weight, bool, error) {
	flat := false
	for i, fw := range fws {
		s := n.Specs[i].Shape
		if len(s) == 2 && len(fw.shape) == 1 && int64(fw.shape[0]) == s.Elements() {
			flat = true
		}
	}
	if !flat {
		return nil, false, nil
	}
	ws := make([]*ir.Weight, len(fws))
	for i, fw := range fws {
		shape := ir.Shape(append([]int(nil), fw.shape...))
		if s := n.Specs[i].Shape; len(s) == 2 && len(fw.shape) == 1 && int64(fw.shape[0]) == s.Elements() {
			shape = s.Clone()
		}
		ws[i] = ir.NewWeight(n.Specs[i].Name, shape, fw.dtype, a.label+":"+fw.path, a.source(fw, xform{}))
		a.n++
		a.paths = append(a.paths, fw.path)
	}
	return ws, true, nil
}

// readK3LayerVars lists a node's Keras 3 weights. A recurrent layer keeps
// its variables in its cell (layers/lstm/cell/vars), a Bidirectional one
// in its two layers' cells (…/forward_layer/cell/vars, then
// …/backward_layer/cell/vars), as Keras 3 saves sublayers; when those
// groups are absent the layer's own vars group is read.
func readK3LayerVars(root *h5.Group, nr *nodeRec) ([]fileWeight, bool, error) {
	r, ok := nr.node.Op.(*ir.Recurrent)
	if !ok {
		return readK3Vars(root, nr.k3path)
	}
	subs := []string{"/cell"}
	if r.Bidirectional {
		subs = []string{"/forward_layer/cell", "/backward_layer/cell"}
	}
	var all []fileWeight
	for _, sub := range subs {
		fws, ok, err := readK3Vars(root, nr.k3path+sub)
		if err != nil {
			return nil, true, err
		}
		if !ok {
			return readK3Vars(root, nr.k3path)
		}
		for i := range fws {
			fws[i].name = strings.TrimPrefix(sub, "/") + "/" + fws[i].name
		}
		all = append(all, fws...)
	}
	return all, true, nil
}
