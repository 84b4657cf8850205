package zoo

import (
	"fmt"
	"math"
	"regexp"
	"sort"
	"strconv"
	"strings"

	"github.com/kconv/kconv/ir"
)

// FileLayer is one layer of a weights-only file as the file lists it (an
// entry of layer_names with its weights' stored shapes, in weight_names
// order).
type FileLayer struct {
	Name   string
	Shapes [][]int
}

// Match is the builtin architecture a weights-only file was identified as.
type Match struct {
	// Name is the builtin name to load the file with ("resnet50_notop").
	Name string
	// Description says which model it is ("keras.applications ResNet50,
	// include_top=False").
	Description string
	// Matched of Total weighted layers agree in name (or position) and
	// shapes; a match has Matched == Total.
	Matched, Total int
	// ByOrder reports that the file's layer names differ from the
	// builtin's, so layers were paired by position.
	ByOrder bool
	// Theano reports Theano ordering (Keras 1 "th" kernels (out, in, rows,
	// cols)): keras.applications' th_kernels files and fast.ai's vgg16.h5
	// hold Theano (flipped) convolution kernels.
	Theano bool
	// Preprocess is the input preprocessing the architecture expects (see
	// Preprocessing).
	Preprocess string

	firstDiff string
	build     func() (*ir.Model, error)
}

// Build makes the matched architecture (without weights), with the class
// count and input size the file implies.
func (m Match) Build() (*ir.Model, error) {
	if m.build == nil {
		return Lookup(m.Name)
	}
	return m.build()
}

// String is the one-line account of the match: "builtin vgg16 (fast.ai,
// matched 16/16 weighted layers)".
func (m Match) String() string {
	s := fmt.Sprintf("builtin %s (%s, matched %d/%d weighted layers", m.Name, m.Description, m.Matched, m.Total)
	if m.ByOrder {
		s += " by position: the file's layer names differ"
	}
	return s + ")"
}

// candidate is one builtin variant a file may hold.
type candidate struct {
	name, desc, preprocess string
	theano                 bool
	build                  func() (*ir.Model, error)
	layout                 []FileLayer // the builtin's Layout, once built
	// fit, for models with a top, adapts the candidate to the class count
	// (and, for the VGGs, the input size) the file's classifier implies;
	// nil when the file implies the defaults or nothing usable.
	fit func(file []FileLayer) *candidate
}

func candidates() []candidate {
	cs := []candidate{{name: "vgg16", desc: "fast.ai", preprocess: "none", theano: true, build: VGG16}}
	for _, a := range apps {
		for _, th := range []bool{false, true} {
			if th && !a.Theano {
				continue
			}
			for _, topped := range []bool{true, false} {
				cfg := AppConfig{IncludeTop: topped, Theano: th}
				cs = append(cs, appCandidate(a, cfg))
			}
		}
	}
	return cs
}

func appCandidate(a App, cfg AppConfig) candidate {
	d := "keras.applications " + a.Keras
	if a.Legacy != "" {
		d += " (" + a.Legacy + ")"
	}
	if !cfg.IncludeTop {
		d += ", include_top=False"
	}
	if cfg.Classes != 0 && cfg.Classes != 1000 {
		d += fmt.Sprintf(", classes=%d", cfg.Classes)
	}
	if cfg.Height != 0 && cfg.Height != a.Size {
		d += fmt.Sprintf(", input %dx%d", cfg.Height, cfg.Width)
	}
	if cfg.Theano {
		d += ", Theano ordering"
	}
	c := candidate{name: VariantName(a, cfg), desc: d, preprocess: a.Preprocess, theano: cfg.Theano,
		build: func() (*ir.Model, error) { return a.Build(cfg) }}
	if cfg.IncludeTop && cfg.Classes == 0 {
		c.fit = func(file []FileLayer) *candidate {
			fit := cfg
			// A classifier: Dense (in, N) or 1×1 Conv2D (1, 1, in, N), bias (N).
			last := file[len(file)-1].Shapes
			if len(last) == 2 && len(last[1]) == 1 {
				k, n := last[0], last[1][0]
				dense := len(k) == 2 && k[1] == n
				conv := len(k) == 4 && k[0] == 1 && k[1] == 1 && k[3] == n
				if (dense || conv) && n != 1000 && n > 0 {
					fit.Classes = n
				}
			}
			if strings.HasPrefix(a.Name, "vgg") {
				for _, l := range file {
					if normName(l.Name) == "fc1" && len(l.Shapes) > 0 && len(l.Shapes[0]) == 2 {
						// fc1 reads (H/32)·(W/32)·512 values; assume a square input.
						k := l.Shapes[0][0] / 512
						s := int(math.Round(math.Sqrt(float64(k))))
						if l.Shapes[0][0]%512 == 0 && s*s == k && s*32 != a.Size {
							fit.Height, fit.Width = s*32, s*32
						}
					}
				}
			}
			if fit == cfg {
				return nil
			}
			c := appCandidate(a, fit)
			return &c
		}
	}
	return c
}

// Layout lists m's weighted layers as a weights-only file stores them:
// Keras 1 "th" convolution kernels (Convolution2D in a channels-first model)
// as (out, in, rows, cols), every other weight in its canonical shape.
func Layout(m *ir.Model) []FileLayer {
	var out []FileLayer
	for _, n := range m.Nodes {
		if len(n.Specs) == 0 {
			continue
		}
		fl := FileLayer{Name: n.Name}
		for i, s := range n.Specs {
			fl.Shapes = append(fl.Shapes, fileShape(n, i, s.Shape))
		}
		out = append(out, fl)
	}
	return out
}

// fileShape is the stored shape of weight i of n.
func fileShape(n *ir.Node, i int, s ir.Shape) []int {
	if i == 0 && len(s) == 4 && n.Class == "Convolution2D" {
		if op, ok := n.Op.(*ir.Conv2D); ok && op.DataFormat == ir.ChannelsFirst {
			return []int{s[3], s[2], s[0], s[1]}
		}
	}
	return append([]int(nil), s...)
}

// Identify finds the builtin architecture whose weighted layers a
// weights-only file holds: the same layers (by name, or by position when
// the file's names differ, as Keras's load_weights pairs them) with the
// same weight shapes, in Theano or TensorFlow kernel ordering, with or
// without the top. Layers without weights are not compared. A model
// without top matches its "_notop" variant (global pooling has no weights,
// so "_avg" and "_max" cannot be told apart from it). When several
// builtins match every layer, the one with more equal layer names wins; a
// tie is an error, and so is no match: both name the nearest candidates
// and the first layer that differs.
func Identify(file []FileLayer) (Match, error) {
	return identifyAmong(file, candidates(), nil)
}

// IdentifyKeyed is Identify for files that store layers under keys of
// their own rather than layer names (Keras 3 .weights.h5:
// "layers/conv2d_1"): keys gives each builtin layer's key, and layers pair
// by key only. Classifiers are not refitted.
func IdentifyKeyed(file []FileLayer, keys func(*ir.Model) map[string]string) (Match, error) {
	return identifyAmong(file, candidates(), keys)
}

// identifyAmong is Identify over the given candidates; a candidate's layout
// is built once and kept in it (tests reuse them). keys, if not nil, renames
// the builtin's layers for pairing (IdentifyKeyed).
func identifyAmong(file []FileLayer, cands []candidate, keys func(*ir.Model) map[string]string) (Match, error) {
	var weighted []FileLayer
	for _, l := range file {
		if len(l.Shapes) > 0 {
			weighted = append(weighted, l)
		}
	}
	if len(weighted) == 0 {
		return Match{}, fmt.Errorf("the file holds no weights")
	}
	type scored struct {
		Match
		names int
	}
	var all []scored
	for i := range cands {
		c := &cands[i]
		if c.fit != nil && keys == nil {
			if f := c.fit(weighted); f != nil {
				c = f
			}
		}
		if c.layout == nil {
			m, err := c.build()
			if err != nil {
				continue // e.g. an input size the architecture cannot take
			}
			c.layout = Layout(m)
			if keys != nil {
				k := keys(m)
				for i := range c.layout {
					c.layout[i].Name = k[c.layout[i].Name]
				}
			}
		}
		want := c.layout
		best := scoreView(weighted, want, want, c.name)
		if keys != nil {
			if best.byOrder {
				// Keys pair only by key.
				best.matched, best.diff = 0, "the file's keys are not this builtin's"
			}
		} else if k20 := keras20Names(want); k20 != nil {
			if v := scoreView(weighted, k20, want, c.name); v.better(best) {
				best = v
			}
		}
		build := c.build
		if len(best.renames) > 0 {
			build = func() (*ir.Model, error) {
				m, err := c.build()
				if err != nil {
					return nil, err
				}
				return m, renameNodes(m, best.renames)
			}
		}
		all = append(all, scored{Match{Name: c.name, Description: c.desc, Matched: best.matched, Total: len(want), ByOrder: best.byOrder,
			Theano: c.theano, Preprocess: c.preprocess, firstDiff: best.diff, build: build}, best.names})
	}
	if len(all) == 0 {
		return Match{}, fmt.Errorf("no builtin architecture could be built")
	}
	sort.SliceStable(all, func(i, j int) bool {
		fi, fj := all[i].Matched == all[i].Total && all[i].firstDiff == "", all[j].Matched == all[j].Total && all[j].firstDiff == ""
		if fi != fj {
			return fi
		}
		if all[i].Matched != all[j].Matched {
			return all[i].Matched > all[j].Matched
		}
		return all[i].names > all[j].names
	})
	full := func(s scored) bool { return s.Matched == s.Total && s.firstDiff == "" }
	if full(all[0]) {
		if len(all) > 1 && full(all[1]) && all[1].names == all[0].names {
			return Match{}, fmt.Errorf("weights-only file: its %d weighted layers fit several builtin architectures equally (%s, %s); give one with --arch", len(weighted), all[0].Name, all[1].Name)
		}
		return all[0].Match, nil
	}
	var near []string
	for _, s := range all[:min(3, len(all))] {
		near = append(near, fmt.Sprintf("%s %d/%d (%s)", s.Name, s.Matched, s.Total, s.firstDiff))
	}
	return Match{}, fmt.Errorf("weights-only file: its %d weighted layers match no builtin architecture; give one with --arch FILE.json (nearest: %s)", len(weighted), strings.Join(near, "; "))
}

// view is the comparison of a file with one naming of a builtin.
type view struct {
	matched, names int
	byOrder        bool
	diff           string
	renames        map[string]string // builtin layer → file layer name
}

func (v view) better(o view) bool {
	if v.diff == "" != (o.diff == "") {
		return v.diff == ""
	}
	if v.matched != o.matched {
		return v.matched > o.matched
	}
	return v.names > o.names
}

// scoreView compares file with named (want renamed, or want itself); a full
// match by name records the renames that give the builtin the file's
// layer names, so that the importer pairs layers by name.
func scoreView(file, named, want []FileLayer, builtin string) view {
	var v view
	var pairs []int
	v.matched, v.names, v.byOrder, v.diff, pairs = compare(file, named, builtin)
	if !v.byOrder && v.diff == "" {
		for i, j := range pairs {
			if file[i].Name != want[j].Name {
				if v.renames == nil {
					v.renames = map[string]string{}
				}
				v.renames[want[j].Name] = file[i].Name
			}
		}
	}
	return v
}

// autoName matches the names Keras gives weighted layers automatically.
var autoName = regexp.MustCompile(`^(conv2d|batch_normalization|dense|separable_conv2d|depthwise_conv2d)(?:_([0-9]+))?$`)

// keras20Names renames want's automatically named layers as Keras 2.0–2.2
// numbered them (from 1: conv2d_1, conv2d_2, …, where Keras 3 and tf.keras
// have conv2d, conv2d_1, …); nil when want has no such names.
func keras20Names(want []FileLayer) []FileLayer {
	out := make([]FileLayer, len(want))
	changed := false
	for i, l := range want {
		out[i] = l
		if m := autoName.FindStringSubmatch(l.Name); m != nil {
			k := 0
			if m[2] != "" {
				k, _ = strconv.Atoi(m[2])
			}
			out[i].Name = fmt.Sprintf("%s_%d", m[1], k+1)
			changed = true
		}
	}
	if !changed {
		return nil
	}
	return out
}

// renameNodes renames m's nodes (and the references to them).
func renameNodes(m *ir.Model, renames map[string]string) error {
	taken := map[string]bool{}
	for _, n := range m.Nodes {
		taken[n.Name] = true
	}
	for old, nw := range renames {
		if taken[nw] && renames[nw] == "" {
			return fmt.Errorf("cannot rename layer '%s' to '%s': the name is taken", old, nw)
		}
	}
	ren := func(s string) string {
		if r, ok := renames[s]; ok {
			return r
		}
		return s
	}
	for _, n := range m.Nodes {
		n.Name = ren(n.Name)
		for i := range n.Inputs {
			n.Inputs[i] = ren(n.Inputs[i])
		}
	}
	for i := range m.Inputs {
		m.Inputs[i] = ren(m.Inputs[i])
	}
	for i := range m.Outputs {
		m.Outputs[i] = ren(m.Outputs[i])
	}
	return nil
}

// normName compares Keras 2 names ("conv1/conv") with Keras 3's
// ("conv1_conv").
func normName(s string) string { return strings.ReplaceAll(s, "/", "_") }

// compare pairs the file's weighted layers with the builtin's, by name when
// every file name is a builtin layer, else by position. It returns how many
// pairs agree in shapes, how many names are equal, whether pairing was by
// position and the first disagreement ("" if none).
func compare(file, want []FileLayer, builtin string) (matched, names int, byOrder bool, diff string, pairs []int) {
	idx := map[string]int{}
	for i, l := range want {
		idx[normName(l.Name)] = i
	}
	byOrder = false
	for _, l := range file {
		if _, ok := idx[normName(l.Name)]; !ok {
			byOrder = true
			break
		}
	}
	note := func(s string) {
		if diff == "" {
			diff = s
		}
	}
	for i, l := range file {
		j := i
		if !byOrder {
			j = idx[normName(l.Name)]
		}
		if j >= len(want) {
			note(fmt.Sprintf("file layer '%s' is beyond the builtin's %d weighted layers", l.Name, len(want)))
			continue
		}
		pairs = append(pairs, j)
		w := want[j]
		if normName(w.Name) == normName(l.Name) {
			names++
		}
		if !sameShapes(l.Shapes, w.Shapes) {
			note(fmt.Sprintf("file layer '%s' holds %s, %s's '%s' expects %s", l.Name, shapesString(l.Shapes), builtin, w.Name, shapesString(w.Shapes)))
			continue
		}
		matched++
	}
	if len(file) < len(want) {
		note(fmt.Sprintf("the file has %d weighted layers, the builtin %d (first missing: '%s')", len(file), len(want), firstUnpaired(file, want, byOrder)))
	}
	return matched, names, byOrder, diff, pairs
}

func firstUnpaired(file, want []FileLayer, byOrder bool) string {
	if byOrder {
		return want[len(file)].Name
	}
	have := map[string]bool{}
	for _, l := range file {
		have[normName(l.Name)] = true
	}
	for _, w := range want {
		if !have[normName(w.Name)] {
			return w.Name
		}
	}
	return ""
}

func sameShapes(a, b [][]int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if len(a[i]) != len(b[i]) {
			return false
		}
		for k := range a[i] {
			if a[i][k] != b[i][k] {
				return false
			}
		}
	}
	return true
}

func shapesString(ss [][]int) string {
	parts := make([]string, len(ss))
	for i, s := range ss {
		d := make([]string, len(s))
		for k, v := range s {
			d[k] = fmt.Sprint(v)
		}
		parts[i] = "(" + strings.Join(d, ", ") + ")"
	}
	return "[" + strings.Join(parts, " ") + "]"
}
