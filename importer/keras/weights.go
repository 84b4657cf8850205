package keras

import (
	"errors"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/kconv/kconv/internal/h5"
	"github.com/kconv/kconv/ir"
)

// fileWeight is one weight dataset of a file, as stored.
type fileWeight struct {
	name  string // weight name as listed (weight_names entry, or "vars/0")
	path  string // absolute dataset path
	shape []int
	dtype ir.DType
}

// shortName is the weight's own name: "dense_1/kernel:0" → "kernel".
func (w fileWeight) shortName() string {
	s := w.name
	if i := strings.LastIndexByte(s, '/'); i >= 0 {
		s = s[i+1:]
	}
	if i := strings.LastIndexByte(s, ':'); i > 0 {
		s = s[:i]
	}
	return s
}

// dtypeOf maps an HDF5 element class and size to a DType.
func dtypeOf(class string, size int) ir.DType {
	switch class {
	case "float":
		switch size {
		case 2:
			return ir.Float16
		case 8:
			return ir.Float64
		}
		return ir.Float32
	case "integer":
		switch size {
		case 8:
			return ir.Int64
		case 4:
			return ir.Int32
		case 1:
			return ir.Int8
		}
		return ir.Int64
	case "enum":
		if size == 1 {
			return ir.Bool // h5py's bool
		}
		return ir.Int64
	case "string":
		return ir.String
	}
	return ir.String // compound, opaque, …: not numbers either way
}

func readFileWeight(g *h5.Group, name string) (fileWeight, error) {
	d, err := g.Dataset(name)
	if err != nil {
		return fileWeight{}, err
	}
	return fileWeight{name: name, path: d.Path(), shape: d.Shape(), dtype: dtypeOf(d.Class(), d.ElemSize())}, nil
}

// fileLayer is one entry of a legacy file's layer_names with its weights.
type fileLayer struct {
	name    string
	weights []fileWeight
}

// readLegacy lists the layers and weights of a Keras 1/2 (or Keras 3
// legacy) weights group: layer_names, then each layer's weight_names, the
// datasets resolved through the names (which may contain '/').
func readLegacy(g *h5.Group) ([]fileLayer, error) {
	names, err := g.AttrStringsChunked("layer_names")
	if err != nil {
		return nil, err
	}
	out := make([]fileLayer, 0, len(names))
	for _, name := range names {
		lg, err := g.Group(name)
		if err != nil {
			return nil, fmt.Errorf("layer '%s': %w", name, err)
		}
		fl := fileLayer{name: name}
		var wnames []string
		if lg.HasAttr("weight_names") || lg.HasAttr("weight_names0") {
			if wnames, err = lg.AttrStringsChunked("weight_names"); err != nil {
				return nil, fmt.Errorf("layer '%s': %w", name, err)
			}
		}
		for _, wn := range wnames {
			fw, err := readFileWeight(lg, wn)
			if err != nil {
				return nil, fmt.Errorf("layer '%s': weight %s: %w", name, wn, err)
			}
			fl.weights = append(fl.weights, fw)
		}
		out = append(out, fl)
	}
	return out, nil
}

// readK3Vars lists the weights of a Keras 3 layer group (".../vars/0..n").
func readK3Vars(root *h5.Group, group string) ([]fileWeight, bool, error) {
	vp := group + "/vars"
	if !root.IsGroup(vp) {
		return nil, false, nil
	}
	vg, err := root.Group(vp)
	if err != nil {
		return nil, false, err
	}
	kids, err := vg.Children()
	if err != nil {
		return nil, false, err
	}
	idx := make([]int, 0, len(kids))
	for _, k := range kids {
		n, err := strconv.Atoi(k)
		if err != nil || n < 0 {
			return nil, true, fmt.Errorf("%s: unexpected entry %q", vp, k)
		}
		idx = append(idx, n)
	}
	sort.Ints(idx)
	var out []fileWeight
	for i, n := range idx {
		if n != i {
			return nil, true, fmt.Errorf("%s: variable %d is missing", vp, i)
		}
		fw, err := readFileWeight(vg, strconv.Itoa(n))
		if err != nil {
			return nil, true, err
		}
		fw.name = "vars/" + strconv.Itoa(n)
		out = append(out, fw)
	}
	return out, true, nil
}

// store reads a dataset's data, in its file layout, on demand.
type store interface {
	read(path string, dst []float32) error
}

// h5Store opens its file on the first read and closes it once every weight
// that reads from it has been read. Nothing stays open while no weight data
// is wanted (summaries read no weight data at all).
type h5Store struct {
	path    string
	mu      sync.Mutex
	f       *h5.File
	pending int
}

func (s *h5Store) read(path string, dst []float32) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	defer func() {
		s.pending--
		if s.pending <= 0 && s.f != nil {
			s.f.Close()
			s.f = nil
		}
	}()
	if s.f == nil {
		f, err := h5.Open(s.path)
		if err != nil {
			return err
		}
		s.f = f
	}
	d, err := s.f.Root().Dataset(path)
	if err != nil {
		return err
	}
	if d.Len() != len(dst) {
		return fmt.Errorf("%s holds %d values, expected %d", path, d.Len(), len(dst))
	}
	return d.ReadFloat32(dst)
}

// xform converts a weight from its file layout to the canonical one.
type xform struct {
	perm []int // canonical axis i is file axis perm[i]; nil: same order
	flip bool  // reverse canonical axes 0 and 1 (Theano kernel flip)
}

func (x xform) identity() bool { return x.perm == nil && !x.flip }

// shape returns the canonical shape of a weight stored with shape fs.
func (x xform) shape(fs []int) ir.Shape {
	if x.perm == nil {
		return ir.Shape(append([]int(nil), fs...))
	}
	out := make(ir.Shape, len(x.perm))
	for i, p := range x.perm {
		out[i] = fs[p]
	}
	return out
}

// apply writes src (file layout, shape fs) to dst in the canonical layout.
func (x xform) apply(src []float32, fs []int, dst []float32) {
	r := len(fs)
	perm := x.perm
	if perm == nil {
		perm = make([]int, r)
		for i := range perm {
			perm[i] = i
		}
	}
	fstride := make([]int, r)
	st := 1
	for i := r - 1; i >= 0; i-- {
		fstride[i] = st
		st *= fs[i]
	}
	// Canonical axis i steps the source by stride[i] from base; flipped
	// axes start at their end and step backwards.
	cs := x.shape(fs)
	stride := make([]int, r)
	base := 0
	for i := 0; i < r; i++ {
		stride[i] = fstride[perm[i]]
		if x.flip && i < 2 {
			base += (cs[i] - 1) * stride[i]
			stride[i] = -stride[i]
		}
	}
	if r == 4 {
		o := 0
		for a := 0; a < cs[0]; a++ {
			for b := 0; b < cs[1]; b++ {
				off := base + a*stride[0] + b*stride[1]
				for c := 0; c < cs[2]; c++ {
					p := off + c*stride[2]
					for d := 0; d < cs[3]; d++ {
						dst[o] = src[p]
						o++
						p += stride[3]
					}
				}
			}
		}
		return
	}
	idx := make([]int, r)
	for o := range dst {
		off := base
		for i := 0; i < r; i++ {
			off += idx[i] * stride[i]
		}
		dst[o] = src[off]
		for i := r - 1; i >= 0; i-- {
			idx[i]++
			if idx[i] < cs[i] {
				break
			}
			idx[i] = 0
		}
	}
}

// attacher attaches file weights to the nodes of a graph.
type attacher struct {
	label string // file label for origins
	st    store
	flip  bool // apply the Theano kernel flip to convolution kernels
	n     int  // weights attached
	paths []string
	warn  []string // findings for the model's warnings
}

// set gives nr the weights fws (in the layer's Keras order), converting
// Keras 1 kernel layouts and flipping Theano kernels.
func (a *attacher) set(nr *nodeRec, fws []fileWeight) {
	n := nr.node
	if sw, ok, err := a.seqWeights(nr, fws); ok && err == nil {
		n.Weights = sw
		for _, c := range nr.copies {
			c.Weights = sw
		}
		return
	} else if err != nil {
		a.warn = append(a.warn, err.Error())
	}
	ws := make([]*ir.Weight, len(fws))
	for i, fw := range fws {
		var x xform
		if op, ok := n.Op.(*ir.SeparableConv2D); ok && i < 2 && len(fw.shape) == 4 && nr.k1 && op.DataFormat == ir.ChannelsFirst {
			// Keras 1 "th": depthwise (mult, in, kh, kw), pointwise
			// (filters, mult*in, 1, 1).
			x.perm = []int{2, 3, 1, 0}
		}
		if i == 0 && len(fw.shape) == 4 {
			switch op := n.Op.(type) {
			case *ir.Conv2D:
				if nr.k1 && op.DataFormat == ir.ChannelsFirst {
					x.perm = []int{2, 3, 1, 0} // (out, in, kh, kw) → (kh, kw, in, out)
				}
				if a.flip {
					x.flip, op.TheanoFlipped = true, true
				}
			case *ir.Conv2DTranspose:
				if nr.k1 {
					if op.DataFormat == ir.ChannelsFirst {
						x.perm = []int{2, 3, 0, 1} // (out, in, kh, kw) → (kh, kw, out, in)
					} else {
						x.perm = []int{0, 1, 3, 2} // (kh, kw, in, out) → (kh, kw, out, in)
					}
				}
				x.flip = a.flip
			}
		}
		name := fw.shortName()
		if _, unknown := n.Op.(*ir.Unknown); !unknown && i < len(n.Specs) {
			name = n.Specs[i].Name
		}
		ws[i] = ir.NewWeight(name, x.shape(fw.shape), fw.dtype, a.label+":"+fw.path, a.source(fw, x))
		a.n++
		a.paths = append(a.paths, fw.path)
	}
	n.Weights = ws
	for _, c := range nr.copies {
		c.Weights = ws
	}
}

func (a *attacher) source(fw fileWeight, x xform) ir.WeightSource {
	st, path, fs := a.st, fw.path, fw.shape
	return ir.SourceFunc(func(dst []float32) error {
		if x.identity() {
			return st.read(path, dst)
		}
		tmp := make([]float32, len(dst))
		if err := st.read(path, tmp); err != nil {
			return err
		}
		x.apply(tmp, fs, dst)
		return nil
	})
}

// expects reports whether a node's op takes weights.
func expects(nr *nodeRec) int {
	if _, ok := nr.node.Op.(*ir.Unknown); ok {
		return -1
	}
	return len(nr.node.Specs)
}

// attachLegacy attaches the weights of a layer_names/weight_names group.
// File layers are matched to the architecture's layers by name, or, when
// the names differ, in order among the layers that have weights (as Keras's
// load_weights does).
func (a *attacher) attachLegacy(g *graph, layers []fileLayer) error {
	byName := map[string]*layerRec{}
	for _, r := range g.top {
		byName[r.name] = r
	}
	var withW []fileLayer
	named := true
	for _, fl := range layers {
		if len(fl.weights) == 0 {
			continue
		}
		withW = append(withW, fl)
		if byName[fl.name] == nil {
			named = false
		}
	}
	pairs := map[*layerRec]fileLayer{}
	if named {
		for _, fl := range withW {
			pairs[byName[fl.name]] = fl
		}
	} else {
		// Layers that take weights; unknown layers may or may not.
		pick := func(withUnknown bool) []*layerRec {
			var recs []*layerRec
			for _, r := range g.top {
				for _, nr := range r.nodes {
					if e := expects(nr); e > 0 || (withUnknown && e < 0) {
						recs = append(recs, r)
						break
					}
				}
			}
			return recs
		}
		recs := pick(false)
		if len(recs) != len(withW) {
			recs = pick(true)
		}
		if len(recs) != len(withW) {
			return fmt.Errorf("the weights file has %d layers with weights, the architecture %d, and their names differ (file layer '%s' is not in the architecture)", len(withW), len(recs), firstMissing(withW, byName))
		}
		for i, r := range recs {
			pairs[r] = withW[i]
		}
		g.m.Warnings = append(g.m.Warnings, "weights matched to layers by order: the layer names of the weights file differ from the architecture's")
	}
	for _, r := range g.top {
		fl, ok := pairs[r]
		if !ok {
			continue
		}
		if len(r.nodes) == 1 {
			a.set(r.nodes[0], fl.weights)
			continue
		}
		if err := a.distribute(r, fl); err != nil {
			return err
		}
	}
	return nil
}

func firstMissing(fls []fileLayer, byName map[string]*layerRec) string {
	for _, fl := range fls {
		if byName[fl.name] == nil {
			return fl.name
		}
	}
	return ""
}

// distribute splits the weights of a nested model's entry among its
// layers, by the layer name each weight name contains
// ("conv2d_1/kernel:0", "outer/conv2d_1/kernel", Keras 1 "dense_1_W").
func (a *attacher) distribute(r *layerRec, fl fileLayer) error {
	by := map[string]*nodeRec{}
	for _, nr := range r.nodes {
		by[nr.kname] = nr
	}
	got := map[*nodeRec][]fileWeight{}
	for _, fw := range fl.weights {
		parts := strings.Split(fw.name, "/")
		var owner *nodeRec
		for i := len(parts) - 2; i >= 0 && owner == nil; i-- {
			owner = by[parts[i]]
		}
		if owner == nil {
			last := parts[len(parts)-1]
			for _, nr := range r.nodes {
				if strings.HasPrefix(last, nr.kname+"_") && (owner == nil || len(nr.kname) > len(owner.kname)) {
					owner = nr
				}
			}
		}
		if owner == nil {
			return &ir.LayerError{Layer: r.name, Err: fmt.Errorf("cannot tell which layer of the nested model weight %s belongs to", fw.name)}
		}
		got[owner] = append(got[owner], fw)
	}
	for _, nr := range r.nodes {
		if fws, ok := got[nr]; ok {
			a.set(nr, fws)
		}
	}
	return nil
}

// attachK3 attaches Keras 3 weights (layers/<key>/vars/<i>).
func (a *attacher) attachK3(g *graph, root *h5.Group) error {
	found := 0
	for _, r := range g.top {
		for _, nr := range r.nodes {
			fws, ok, err := readK3LayerVars(root, nr)
			if err != nil {
				return &ir.LayerError{Layer: nr.node.Name, Err: err}
			}
			if !ok {
				if expects(nr) > 0 {
					return &ir.LayerError{Layer: nr.node.Name, Err: fmt.Errorf("no weights in the file (expected group /%s/vars)", nr.k3path)}
				}
				continue
			}
			found++
			if len(fws) > 0 || expects(nr) > 0 {
				a.set(nr, fws)
			}
		}
	}
	if found == 0 {
		return errors.New("no layer of the architecture has a group in the weights file (layers/<key>/vars)")
	}
	return nil
}

// fixDeconvs makes Keras 1 Deconvolution2D nodes produce the output size
// their config states (Keras 1 takes it as given) by output padding.
func fixDeconvs(g *graph) (bool, error) {
	changed := false
	idx := g.m.Index()
	for _, f := range g.deconvs {
		n := f.node
		op, ok := n.Op.(*ir.Conv2DTranspose)
		if !ok || len(n.Inputs) != 1 || len(n.Out.Shape) != 4 || f.h < 1 || f.w < 1 {
			continue
		}
		t := n.Out
		_, oh, ow, _ := t.Spatial()
		if oh == f.h && ow == f.w {
			continue
		}
		in := idx[n.Inputs[0]].Out
		in.Layout = op.DataFormat
		_, ih, iw, err := in.Spatial()
		if err != nil || ih < 1 || iw < 1 {
			continue
		}
		pads := [2]int{}
		ok = op.Padding != ir.PadSame && op.Padding != ir.PadSameLower
		for i, a := range [][4]int{{ih, op.KH, op.SH, op.DH}, {iw, op.KW, op.SW, op.DW}} {
			d := max(a[3], 1)
			ek := (a[1]-1)*d + 1
			base := (a[0]-1)*a[2] + ek
			if op.Padding == ir.PadFull {
				base -= 2 * (ek - 1)
			}
			want := []int{f.h, f.w}[i]
			pads[i] = want - base
			if pads[i] < 0 {
				ok = false
			}
		}
		if !ok {
			g.m.Warnings = append(g.m.Warnings, fmt.Sprintf("layer '%s': Keras 1 output_shape %dx%d differs from the computed %dx%d; kconv uses the computed size", n.Name, f.h, f.w, oh, ow))
			continue
		}
		op.OutputPadding, op.HasOutputPadding = pads, true
		changed = true
	}
	return changed, nil
}
